"""Batched and filtered serving, pickling, and `pip install ./python` (issue 13)."""
import os
import pickle
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import simdmf  # noqa: E402

PYTHON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def random_model(n_users=30, n_items=700, k=12, seed=3):
    rng = np.random.default_rng(seed)
    return simdmf.Model.from_factors(rng.normal(size=(n_users, k)).astype(np.float32),
                                     rng.normal(size=(n_items, k)).astype(np.float32),
                                     user_bias=rng.normal(scale=0.1, size=n_users).astype(np.float32),
                                     item_bias=rng.normal(scale=0.1, size=n_items).astype(np.float32),
                                     global_bias=3.0)


class TestBatchedServing(unittest.TestCase):
    def test_batch_matches_single_with_filters(self):
        m = random_model()
        rng = np.random.default_rng(1)
        users = rng.integers(0, 30, size=200)
        seen = simdmf.Dataset.from_triples(users, rng.integers(0, 700, size=200), np.ones(200, np.float32),
                                           n_users=30, n_items=700)
        users = np.arange(30)[::-1]
        deny = rng.choice(700, size=50, replace=False)
        ids, scores = m.recommend(users, n=15, exclude=seen, filter_items=deny)
        self.assertEqual(ids.shape, (30, 15))
        self.assertEqual(scores.dtype, np.float32)
        su, si, _ = seen.to_arrays()
        for b, u in enumerate(users):
            one, one_s = m.recommend(int(u), n=15, exclude=seen, filter_items=deny)
            np.testing.assert_allclose(scores[b], one_s, rtol=1e-5, atol=1e-5)
            self.assertFalse(set(ids[b]) & set(deny.tolist()))
            self.assertFalse(set(ids[b]) & set(si[su == u].tolist()))
            self.assertTrue(np.all(np.diff(scores[b]) <= 0))
            # the brute-force best scores (predictions) of the allowed items
            allowed = np.setdiff1d(np.setdiff1d(np.arange(700), deny), si[su == u])
            best = np.sort(m.predict_batch(np.full(len(allowed), u), allowed))[::-1][:15]
            np.testing.assert_allclose(scores[b], best, rtol=1e-4, atol=1e-4)

    def test_allow_list_and_short_lists(self):
        m = random_model()
        allow = [5, 3, 600, 3]  # unsorted, repeated: taken as the set {3, 5, 600}
        ids, scores = m.recommend(np.array([0, 1, 2]), n=5, items=allow)
        self.assertEqual(ids.shape, (3, 5))
        for b in range(3):
            self.assertEqual(set(ids[b, :3].tolist()), {3, 5, 600})
            self.assertTrue(np.all(ids[b, 3:] == -1))
            self.assertTrue(np.all(np.isnan(scores[b, 3:])))
        one, _ = m.recommend(0, n=5, items=allow)
        self.assertEqual(one.tolist(), ids[0, :3].tolist())

    def test_nearest_batch(self):
        m = random_model()
        ids, sims = m.nearest(np.array([4, 9]), n=6, side="items")
        for b, q in enumerate([4, 9]):
            one, one_s = m.nearest(q, n=6, side="items")
            self.assertNotIn(q, ids[b].tolist())
            np.testing.assert_allclose(sims[b], one_s, rtol=1e-5, atol=1e-5)
        d_ids, d = m.nearest(np.array([4]), n=3, side="items", metric="dot")
        q = m.item_factors
        want = np.sort(np.delete(q @ q[4], 4))[::-1][:3]
        np.testing.assert_allclose(d[0], want, rtol=1e-4, atol=1e-4)


class TestPickle(unittest.TestCase):
    def test_round_trip(self):
        m = random_model()
        m2 = pickle.loads(pickle.dumps(m))
        self.assertEqual(m2.shape, m.shape)
        np.testing.assert_array_equal(m2.predict_all(), m.predict_all())
        np.testing.assert_array_equal(m2.item_factors, m.item_factors)


class TestInstall(unittest.TestCase):
    def test_pip_install_offline(self):
        with tempfile.TemporaryDirectory() as target:
            r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--no-cache-dir",
                                "--disable-pip-version-check", "--target", target, PYTHON_DIR],
                               capture_output=True, text=True)
            if r.returncode != 0 and "No module named pip" in r.stderr:
                self.skipTest("pip is not installed for " + sys.executable)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(os.path.exists(os.path.join(target, "simdmf", "__init__.py")))
            code = ("import simdmf, numpy as np; m = simdmf.Model.from_factors(np.ones((2, 3), np.float32), "
                    "np.ones((4, 3), np.float32)); print(m.recommend(np.array([0, 1]), n=2)[0].shape, simdmf.__file__)")
            env = dict(os.environ, PYTHONPATH=target)
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=target)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("(2, 2)", r.stdout)
            self.assertIn(target, r.stdout)


if __name__ == "__main__":
    unittest.main()
