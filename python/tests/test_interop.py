"""Factors in and out through the Python bindings: numpy arrays (zero copy both ways), implicit's saved
.npz (written here by numpy exactly as implicit's save does: np.savez with user_factors and
item_factors beside its hyper-parameters), .npy pairs in float64 and Fortran order, and exports that
numpy reads back."""

import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import simdmf  # noqa: E402


def tables(n_users=6, n_items=9, k=4, seed=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n_users, k)).astype(np.float32),
            rng.standard_normal((n_items, k)).astype(np.float32))


class FactorsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_from_factors_predicts_the_dot_product_plus_biases(self):
        u, v = tables()
        ub = np.linspace(-1, 1, 6, dtype=np.float32)
        ib = np.linspace(0, 2, 9, dtype=np.float32)
        m = simdmf.Model.from_factors(u, v, user_bias=ub, item_bias=ib, global_bias=3.0,
                                      user_ids=np.arange(100, 106), item_ids=np.arange(9) * 10)
        want = 3.0 + ub[:, None] + ib[None, :] + u @ v.T
        np.testing.assert_allclose(m.predict_all().reshape(6, 9), want, rtol=1e-5, atol=1e-5)
        self.assertEqual(m.index(103, side="users"), 3)
        np.testing.assert_array_equal(m.user_factors, u)
        np.testing.assert_array_equal(m.item_bias, ib)
        self.assertEqual(m.global_bias, 3.0)
        with self.assertRaises(ValueError):
            m.user_factors[0, 0] = 1.0  # read-only view

    def test_borrowed_tables_are_zero_copy(self):
        u, v = tables(k=16)
        m = simdmf.Model.from_factors(u, v, copy=False)
        self.assertTrue(np.shares_memory(m.user_factors, u))
        self.assertTrue(np.shares_memory(m.item_factors, v))
        np.testing.assert_allclose(m.predict_row(2), v @ u[2], rtol=1e-5, atol=1e-5)
        with self.assertRaises(simdmf.SimdmfError) as e:
            simdmf.Model.from_factors(*tables(k=5), copy=False)  # k not a multiple of 16
        self.assertEqual(e.exception.status, simdmf.ERR_INVALID_ARGUMENT)
        with self.assertRaises(ValueError):
            simdmf.Model.from_factors(u.astype(np.float64), v, copy=False)

    def test_bad_tables_are_refused(self):
        u, v = tables()
        u[1, 2] = np.nan
        with self.assertRaises(simdmf.SimdmfError) as e:
            simdmf.Model.from_factors(u, v)
        self.assertEqual(e.exception.status, simdmf.ERR_INVALID_DATA)
        with self.assertRaises(ValueError):
            simdmf.Model.from_factors(*tables(k=4)[:1], tables(k=3)[1])
        with self.assertRaises(simdmf.SimdmfError) as e:
            simdmf.Model.from_factors(*tables(), user_ids=[1, 1, 2, 3, 4, 5])
        self.assertEqual(e.exception.status, simdmf.ERR_INVALID_DATA)

    def test_implicit_npz(self):
        u, v = tables()
        # implicit's AlternatingLeastSquares.save: np.savez(file, **state) with the factors and the
        # hyper-parameters as 0-d arrays.
        np.savez(self.path("als.npz"), user_factors=u, item_factors=v, factors=np.array(4),
                 regularization=np.array(0.01), alpha=np.array(1.0), iterations=np.array(15))
        m = simdmf.Model.import_factors("npz", self.path("als.npz"))
        np.testing.assert_allclose(m.predict_all().reshape(6, 9), u @ v.T, rtol=1e-5, atol=1e-5)
        np.savez_compressed(self.path("c.npz"), user_factors=u, item_factors=v)
        with self.assertRaises(simdmf.SimdmfError) as e:
            simdmf.Model.import_factors("npz", self.path("c.npz"))
        self.assertEqual(e.exception.status, simdmf.ERR_UNSUPPORTED)
        self.assertIn("savez_compressed", str(e.exception))

    def test_npy_pair_float64_and_fortran_order(self):
        u, v = tables()
        np.save(self.path("u.npy"), u.astype(np.float64))
        np.save(self.path("v.npy"), np.asfortranarray(v))
        m = simdmf.Model.import_factors("npy", self.path("u.npy"), self.path("v.npy"))
        np.testing.assert_array_equal(m.user_factors, u)
        np.testing.assert_array_equal(m.item_factors, v)

    def test_npy_mapped_import_serves_from_the_file(self):
        u, v = tables(k=32)
        np.save(self.path("u.npy"), u)
        np.save(self.path("v.npy"), v)
        copied = simdmf.Model.import_factors("npy", self.path("u.npy"), self.path("v.npy"))
        mapped = simdmf.Model.import_factors("npy", self.path("u.npy"), self.path("v.npy"), map=True)
        np.testing.assert_array_equal(mapped.user_factors, u)
        self.assertEqual(mapped.predict(2, 5), copied.predict(2, 5))
        # The table's memory is the file's mapping (zero copy), as /proc/self/maps shows.
        addr = mapped.user_factors.ctypes.data
        spans = []
        with open("/proc/self/maps") as f:
            for line in f:
                if line.rstrip().endswith(os.path.realpath(self.path("u.npy"))):
                    lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                    spans.append((lo, hi))
        self.assertTrue(any(lo <= addr < hi for lo, hi in spans))
        bad = u.copy()
        bad[4, 7] = np.inf
        np.save(self.path("bad.npy"), bad)
        with self.assertRaises(simdmf.SimdmfError) as e:
            simdmf.Model.import_factors("npy", self.path("bad.npy"), self.path("v.npy"), map=True)
        self.assertIn("row 4", str(e.exception))

    def test_exports_read_by_numpy_and_round_trip(self):
        u, v = tables()
        m = simdmf.Model.from_factors(u, v, user_bias=np.ones(6), item_bias=np.zeros(9), global_bias=1.5,
                                      prediction_range=(1, 5), user_ids=np.arange(6) * 7)
        m.export_factors("npz", self.path("m.npz"))
        z = np.load(self.path("m.npz"))
        np.testing.assert_array_equal(z["user_factors"], u)
        np.testing.assert_array_equal(z["item_factors"], v)
        np.testing.assert_array_equal(z["user_ids"], np.arange(6) * 7)
        self.assertNotIn("item_ids", z.files)
        m.export_factors("npy", self.path("npy"))
        np.testing.assert_array_equal(np.load(os.path.join(self.path("npy"), "item_factors.npy")), v)
        for fmt, target in (("npz", "m.npz"), ("npy", "npy"), ("json", "json"), ("csv", "csv")):
            if fmt in ("json", "csv"):
                m.export_factors(fmt, self.path(target))
            back = simdmf.Model.import_factors(fmt, self.path(target))
            np.testing.assert_array_equal(back.predict_all(), m.predict_all())
            self.assertEqual(back.prediction_range, (1.0, 5.0))
            self.assertEqual(back.index(14, side="users"), 2)


if __name__ == "__main__":
    unittest.main()
