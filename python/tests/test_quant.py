"""Quantized tables through the Python binding (issue 13): quantize, table type, save / mmap, re-ranking."""
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import simdmf  # noqa: E402


def random_model(n_users=20, n_items=500, k=16, seed=5):
    rng = np.random.default_rng(seed)
    return simdmf.Model.from_factors(rng.normal(size=(n_users, k)).astype(np.float32),
                                     rng.normal(size=(n_items, k)).astype(np.float32), global_bias=0.0)


class TestQuantized(unittest.TestCase):
    def test_quantize_predicts_close_and_round_trips(self):
        ref = random_model()
        want = ref.predict_all()
        for table, tol in (("fp16", 0.02), ("int8", 0.5)):
            m = random_model()
            self.assertEqual(m.table, "fp32")
            m.quantize(table)
            self.assertEqual(m.table, table)
            self.assertFalse(m.has_fp32)
            got = m.predict_all()
            self.assertLess(np.abs(got - want).max(), tol)
            self.assertGreater(np.abs(got - want).max(), 0.0)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "q.smf")
                m.save(path)
                mm = simdmf.Model.open(path, mmap=True)
                self.assertEqual(mm.table, table)
                np.testing.assert_array_equal(mm.predict_all(), got)
            with self.assertRaises(simdmf.SimdmfError):
                m.quantize("fp16" if table == "int8" else "int8")
        with self.assertRaises(ValueError):
            ref.quantize("int4")

    def test_rerank_gives_the_fp32_ranking(self):
        ref = random_model()
        m = random_model()
        m.quantize("int8", keep_fp32=True)
        m.set_rerank(100)  # 5 x 100 candidates: every item re-scored in fp32
        users = np.arange(20)
        want, _ = ref.recommend(users, n=5)
        got, _ = m.recommend(users, n=5)
        np.testing.assert_array_equal(got, want)


if __name__ == "__main__":
    unittest.main()
