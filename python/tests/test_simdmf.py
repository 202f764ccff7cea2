"""Tests of the ctypes bindings. Run: /usr/bin/python3 -m unittest discover -s python/tests
(with SIMDMF_LIBRARY=/path/to/libsimdmf.so, or a build folder build*/ in the checkout)."""

import math
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import simdmf  # noqa: E402

RATINGS = np.array([
    [0, 0, 0, 0, 3, 4, 1, 2, 0, 0],
    [0, 0, 0, 0, 5, 0, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 4, 0, 0, 0, 3],
    [0, 0, 0, 0, 0, 0, 0, 4, 2, 0],
    [0, 0, 1, 0, 2, 0, 0, 0, 0, 2],
], dtype=np.float32)

LABELS = np.array([
    [1, 1, 0, 0, 0, 1, 0, 0, -1, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, -1, 0, 0, -1, 0, 0, 0, 0, -1],
    [0, 0, 0, -1, 1, -1, 0, 0, -1, -1],
    [0, 0, -1, 0, 0, 0, 0, 0, 0, 0],
], dtype=np.float32)

MF_OPTIONS = dict(k=3, biases=0, l2=0.001, init_std=0.5, lr=0.05, epochs=3000)


class TestBasics(unittest.TestCase):
    def test_version_and_simd(self):
        self.assertEqual(simdmf.version(), "0.1.0")
        level, name = simdmf.simd_level()
        self.assertGreaterEqual(level, 0)
        self.assertTrue(name)
        simdmf.set_simd_level("scalar")
        self.assertEqual(simdmf.simd_level()[0], 0)
        simdmf.set_simd_level(level)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.set_simd_level(42)
        self.assertEqual(cm.exception.status, simdmf.ERR_UNSUPPORTED)


class TestDataset(unittest.TestCase):
    def test_dense(self):
        d = simdmf.Dataset.from_dense(RATINGS)
        self.assertEqual(len(d), 13)
        self.assertEqual(d.shape, (5, 10))
        u, i, v = d.to_arrays()
        np.testing.assert_array_equal(RATINGS[u, i], v)
        self.assertTrue(np.all(v != 0))

    def test_triples(self):
        d = simdmf.Dataset.from_triples([0, 2, 1], [1, 0, 3], [1.5, -2.0, 3.0])
        self.assertEqual(len(d), 3)
        self.assertEqual((d.n_users, d.n_items), (3, 4))
        d2 = simdmf.Dataset.from_triples(np.array([0]), np.array([0]), np.array([1.0]), n_users=7, n_items=9)
        self.assertEqual(d2.shape, (7, 9))
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Dataset.from_triples([0, 5], [0, 0], [1, 1], n_users=3)
        self.assertEqual(cm.exception.status, simdmf.ERR_OUT_OF_RANGE)
        with self.assertRaises(simdmf.SimdmfError):
            simdmf.Dataset.from_triples([0, 1], [0], [1, 1])
        with self.assertRaises(simdmf.SimdmfError):
            simdmf.Dataset.from_triples([-1], [0], [1])

    def test_invalid(self):
        m = RATINGS.copy()
        m[0, 0] = np.inf
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Dataset.from_dense(m)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_DATA)
        self.assertIn("infinite", str(cm.exception))
        with self.assertRaises(simdmf.SimdmfError):
            simdmf.Dataset.from_dense(np.zeros(3, dtype=np.float32))

    def test_split(self):
        d = simdmf.Dataset.from_dense(RATINGS)
        train, test = d.split(0.2, seed=3)
        self.assertEqual(len(train) + len(test), 13)
        self.assertEqual(len(test), 3)
        self.assertEqual(train.shape, (5, 10))
        with self.assertRaises(simdmf.SimdmfError) as cm:
            d.split(1.5)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)

    def test_load(self):
        with tempfile.TemporaryDirectory(prefix="simdmf-py-") as tmp:
            path = os.path.join(tmp, "r.txt")
            with open(path, "w") as f:
                f.write("0 1 4\n2 0 3.5\n1 1 1\n")
            d = simdmf.Dataset.load(path, format="libmf")
            self.assertEqual(len(d), 3)
            with self.assertRaises(simdmf.SimdmfError) as cm:
                simdmf.Dataset.load(os.path.join(tmp, "missing.txt"), format="libmf")
            self.assertEqual(cm.exception.status, simdmf.ERR_IO)
            with open(path, "w") as f:
                f.write("0 1 4\n2 x 3.5\n")
            with self.assertRaises(simdmf.SimdmfError) as cm:
                simdmf.Dataset.load(path, format="libmf")
            self.assertEqual(cm.exception.status, simdmf.ERR_FORMAT)


class TestTrainer(unittest.TestCase):
    def test_options(self):
        t = simdmf.Trainer(k=8, loss="logistic", lr_list=[0.1, 0.01])
        self.assertEqual(t.get("k"), 8)
        self.assertEqual(t.get("loss"), "logistic")
        self.assertEqual(t.get("seed"), 42)
        for bad, status in [(dict(k=0), simdmf.ERR_OUT_OF_RANGE), (dict(lr=-1), simdmf.ERR_OUT_OF_RANGE),
                            (dict(l2=math.nan), simdmf.ERR_OUT_OF_RANGE),
                            (dict(nope=1), simdmf.ERR_UNKNOWN_OPTION), (dict(loss=1), simdmf.ERR_UNKNOWN_OPTION)]:
            with self.assertRaises(simdmf.SimdmfError) as cm:
                t.set(**bad)
            self.assertEqual(cm.exception.status, status, bad)
            self.assertTrue(cm.exception.message)
        self.assertEqual(t.get("k"), 8)

    def test_callback_and_cancel(self):
        d = simdmf.Dataset.from_dense(RATINGS)
        train, valid = d.split(0.2, seed=1)
        seen = []
        t = simdmf.Trainer(k=2, epochs=12)
        m = t.fit(train, valid, callback=lambda info: seen.append(info.epoch))
        self.assertFalse(t.cancelled)
        self.assertEqual(seen, list(range(1, 13)))
        hist = t.history
        self.assertEqual(len(hist), 12)
        self.assertTrue(all(math.isfinite(h.valid_metric) for h in hist))
        m.close()

        m = t.fit(train, callback=lambda info: info.epoch < 3)
        self.assertTrue(t.cancelled)
        self.assertIsNotNone(m)
        self.assertEqual(len(t.history), 3)
        self.assertTrue(math.isnan(t.history[0].valid_metric))
        self.assertTrue(math.isfinite(m.predict(0, 4)))

        def boom(info):
            raise ValueError("from callback")
        with self.assertRaises(ValueError):
            t.fit(train, callback=boom)

    def test_invalid_data(self):
        d = simdmf.Dataset.from_triples([0, 1], [1, 0], [1.0, math.nan])
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Trainer(k=2).fit(d)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_DATA)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Trainer(loss="logistic").fit(simdmf.Dataset.from_dense(RATINGS))
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_DATA)


class TestModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = simdmf.Dataset.from_dense(RATINGS)
        cls.model = simdmf.Trainer(**MF_OPTIONS).fit(cls.data)

    def test_reproduces_observed(self):
        m = self.model
        self.assertEqual(m.kind, "mf")
        self.assertEqual(m.k, 3)
        self.assertEqual(m.shape, (5, 10))
        self.assertFalse(m.has_biases)
        p = m.predict_all()
        self.assertEqual(p.shape, (5, 10))
        mask = RATINGS != 0
        self.assertLess(np.max(np.abs(p[mask] - RATINGS[mask])), 0.1)

    def test_consistency(self):
        m = self.model
        p = m.predict_all()
        for u in range(5):
            np.testing.assert_allclose(m.predict_row(u), p[u], rtol=1e-5, atol=1e-5)
        users = np.array([0, 4, 2, 3])
        items = np.array([5, 9, 0, 7])
        np.testing.assert_allclose(m.predict_batch(users, items), p[users, items], rtol=1e-5, atol=1e-5)
        self.assertAlmostEqual(m.predict(1, 4), float(p[1, 4]), places=5)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            m.predict(5, 0)
        self.assertEqual(cm.exception.status, simdmf.ERR_OUT_OF_RANGE)
        with self.assertRaises(simdmf.SimdmfError):
            m.predict_batch([0, 0], [0, 10])

    def test_prediction_range(self):
        m = simdmf.Trainer(**MF_OPTIONS).fit(self.data)
        self.assertEqual(m.prediction_range, (1.0, 5.0))  # the training values' range
        clamped = m.predict_all()
        m.prediction_range = (-np.inf, np.inf)
        raw = m.predict_all()
        np.testing.assert_array_equal(clamped, np.clip(raw, 1.0, 5.0))
        self.assertTrue(np.any(raw < 1.0))  # the clamp did something on this data
        m.prediction_range = (2.5, 3.0)
        p = m.predict_all()
        np.testing.assert_array_equal(p, np.clip(raw, 2.5, 3.0))
        with self.assertRaises(simdmf.SimdmfError) as cm:
            m.prediction_range = (3.0, 2.0)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)
        self.assertEqual(m.prediction_range, (2.5, 3.0))
        m.prediction_range = (-np.inf, np.inf)
        np.testing.assert_array_equal(m.predict_all(), raw)
        off = simdmf.Trainer(clip_predictions=0, **MF_OPTIONS).fit(self.data)
        self.assertEqual(off.prediction_range, (-np.inf, np.inf))

    def test_divergence_keeps_last_good_model(self):
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Trainer(lr=10, init_std=10, epochs=20).fit(self.data)
        self.assertEqual(cm.exception.status, simdmf.ERR_DIVERGED)
        self.assertIn("epoch", cm.exception.message)
        self.assertIsNotNone(cm.exception.model)
        self.assertTrue(np.all(np.isfinite(cm.exception.model.predict_all())))

    def test_fit_take(self):
        data = simdmf.Dataset.from_dense(RATINGS)
        m = simdmf.Trainer(**MF_OPTIONS).fit(data, take=True)
        np.testing.assert_array_equal(m.predict_all(), self.model.predict_all())
        self.assertEqual(len(data), 0)

    def test_fold_in(self):
        m = simdmf.Trainer(**MF_OPTIONS).fit(self.data)
        items = np.array([4, 5, 6, 7])
        u = m.fold_in_user(items, RATINGS[0, items], l2=0.001)
        self.assertEqual(u, 5)
        self.assertEqual(m.shape, (6, 10))
        np.testing.assert_allclose(m.predict_batch(np.full(4, u), items), RATINGS[0, items], atol=0.5)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            m.fold_in_user([10], [3.0])
        self.assertEqual(cm.exception.status, simdmf.ERR_OUT_OF_RANGE)

    def test_recommend_and_similarity(self):
        m = self.model
        items, scores = m.recommend(0, 10, exclude=self.data)
        self.assertEqual(len(items), 6)
        self.assertTrue(np.all(RATINGS[0, items] == 0))
        self.assertTrue(np.all(np.diff(scores) <= 0))
        items, _ = m.recommend(0, 3)
        self.assertEqual(len(items), 3)
        self.assertEqual(items[0], int(np.argmax(m.predict_row(0))))
        for side, count in (("users", 5), ("items", 10)):
            for a in range(count):
                for b in range(count):
                    s = m.similarity(a, b, side=side)
                    self.assertTrue(-1.0001 <= s <= 1.0001)
                idx, sims = m.nearest(a, count, side=side)
                self.assertEqual(len(idx), count - 1)
                self.assertNotIn(a, idx)
                self.assertTrue(np.all(np.diff(sims) <= 0))
        f, b = m.factors(2, side="items")
        self.assertEqual(f.shape, (3,))
        self.assertEqual(b, 0.0)
        self.assertEqual(m.index(3, side="users"), 3)
        self.assertEqual(m.raw_id(7, side="items"), 7)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            m.index(99)
        self.assertEqual(cm.exception.status, simdmf.ERR_NOT_FOUND)
        with self.assertRaises(simdmf.SimdmfError):
            m.similarity(0, 1, side="both")

    def test_save_load(self):
        with tempfile.TemporaryDirectory(prefix="simdmf-py-") as tmp:
            path = os.path.join(tmp, "m.smf")
            self.model.save(path)
            m2 = simdmf.Model.load(path)
            self.assertEqual(self.model.predict_all().tobytes(), m2.predict_all().tobytes())
            with self.assertRaises(simdmf.SimdmfError) as cm:
                simdmf.Model.load(os.path.join(tmp, "missing.smf"))
            self.assertEqual(cm.exception.status, simdmf.ERR_IO)
            bad = os.path.join(tmp, "bad.smf")
            with open(bad, "wb") as f:
                f.write(b"not a model file at all, just some bytes " * 4)
            with self.assertRaises(simdmf.SimdmfError) as cm:
                simdmf.Model.load(bad)
            self.assertEqual(cm.exception.status, simdmf.ERR_FORMAT)

    def test_logistic(self):
        d = simdmf.Dataset.from_dense(LABELS)
        m = simdmf.Trainer(loss="logistic", k=3, l2=0.001, init_std=0.5, lr=0.1, epochs=2000).fit(d)
        self.assertEqual(m.kind, "logistic")
        p = m.predict_all()
        self.assertTrue(np.all((p > 0) & (p < 1)))
        self.assertTrue(np.all(p[LABELS == 1] > 0.9))
        self.assertTrue(np.all(p[LABELS == -1] < 0.1))


if __name__ == "__main__":
    unittest.main()
