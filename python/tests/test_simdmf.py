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

DATA_DIR = os.environ.get("SIMDMF_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))

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
        self.assertEqual(simdmf.version(), "0.2.0")
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

    def test_option_registry(self):
        reg = simdmf.options()
        self.assertGreater(len(reg), 20)
        self.assertIs(simdmf.options(), reg)  # read once
        lr, k, loss, tk = reg["lr"], reg["k"], reg["loss"], reg["tune_k"]
        self.assertEqual((lr.type, lr.group), ("real", "train"))
        self.assertEqual((lr.lower, lr.lower_open, lr.upper, lr.upper_open), (0, True, 10, False))
        self.assertFalse(lr.contains(0))
        self.assertTrue(lr.contains(10))
        self.assertTrue(lr.conditional_default)
        self.assertIn("0.05 if loss = logistic", lr.default_text)
        self.assertEqual((k.type, k.default, k.lower, k.upper), ("integer", 32, 1, 65536))
        self.assertEqual((loss.type, loss.allowed, loss.default), ("string", ["squared", "logistic", "implicit"], "squared"))
        self.assertEqual((tk.type, tk.element_type, tk.default, tk.group), ("array", "integer", [64, 128, 256, 512], "tune"))
        for o in reg.values():  # every key reads back through the call its registry type names
            self.assertTrue(o.doc, o.name)
            value = simdmf.Trainer().get(o.name)
            if o.type == "string":
                self.assertIn(value, o.allowed)
            elif o.type == "array":
                self.assertIsInstance(value, list)
            else:
                self.assertIsInstance(value, float)
        # Defaults in effect follow the other options; a value set does not change the default.
        t = simdmf.Trainer()
        self.assertEqual(t.default("lr"), 0.01)
        t.set(loss="logistic", lr=0.2)
        self.assertEqual(t.default("lr"), 0.05)
        self.assertEqual(t.get("lr"), 0.2)
        self.assertEqual(t.default("tune_lr"), [0.02, 0.05, 0.1])
        self.assertEqual(t.default("tune_method"), "grid")
        # Types come from the registry: a one-value array key, a string for a number.
        t.set(tune_epochs=[7])
        self.assertEqual(t.get("tune_epochs"), [7])
        for bad in (dict(k="8"), dict(loss=1), dict(nope=1)):
            with self.assertRaises(simdmf.SimdmfError) as cm:
                t.set(**bad)
            self.assertEqual(cm.exception.status, simdmf.ERR_UNKNOWN_OPTION, bad)
        with self.assertRaises(simdmf.SimdmfError):
            t.get("nope")

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

    def test_open_mmap(self):
        with tempfile.TemporaryDirectory(prefix="simdmf-py-") as tmp:
            path = os.path.join(tmp, "m.smf")
            self.model.save(path)
            want = self.model.predict_all().tobytes()
            for kw in ({"mmap": True}, {"mmap": True, "verify": False}, {"verify": False}, {}):
                m2 = simdmf.Model.open(path, **kw)
                self.assertEqual(want, m2.predict_all().tobytes())
                for a, b in zip(self.model.recommend(0, 3), m2.recommend(0, 3)):
                    self.assertEqual(a.tobytes(), b.tobytes())
            # a corrupted table: refused when verifying, served when not
            with open(path, "r+b") as f:
                data = bytearray(f.read())
                data[-1] ^= 0x40
                f.seek(0)
                f.write(data)
            with self.assertRaises(simdmf.SimdmfError) as cm:
                simdmf.Model.open(path, mmap=True)
            self.assertEqual(cm.exception.status, simdmf.ERR_CHECKSUM)
            simdmf.Model.open(path, mmap=True, verify=False).predict(0, 0)

    def test_logistic(self):
        d = simdmf.Dataset.from_dense(LABELS)
        m = simdmf.Trainer(loss="logistic", k=3, l2=0.001, init_std=0.5, lr=0.1, epochs=2000).fit(d)
        self.assertEqual(m.kind, "logistic")
        p = m.predict_all()
        self.assertTrue(np.all((p > 0) & (p < 1)))
        self.assertTrue(np.all(p[LABELS == 1] > 0.9))
        self.assertTrue(np.all(p[LABELS == -1] < 0.1))

    def test_als(self):
        # solver="als": the textbook matrix reproduced, the same model for 1 and 2 threads, the option.
        d = simdmf.Dataset.from_dense(RATINGS)
        opts = dict(solver="als", k=3, biases=0, l2=0.0001, als_weighted_lambda=0, init_std=1, epochs=200)
        t = simdmf.Trainer(**opts)
        self.assertEqual(t.get("solver"), "als")
        self.assertEqual(t.get("als_weighted_lambda"), 0)
        m = t.fit(d)
        p = m.predict_all()
        mask = RATINGS != 0
        self.assertLess(np.max(np.abs(p[mask] - RATINGS[mask])), 0.1)
        np.testing.assert_array_equal(simdmf.Trainer(threads=2, **opts).fit(d).predict_all(), p)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            t.set(als_weighted_lambda=2)
        self.assertEqual(cm.exception.status, simdmf.ERR_OUT_OF_RANGE)


class NeuralCFTest(unittest.TestCase):
    def test_gmf_mlp_neumf(self):
        # The neural models through the same Trainer / Model calls as MF.
        d = simdmf.Dataset.from_dense(RATINGS)
        mask = RATINGS != 0
        for name in ("gmf", "mlp", "neumf"):
            t = simdmf.Trainer(model=name, k=4, ncf_layers=[8, 8, 4], ncf_batch=4, ncf_init_std=0.3, lr=0.02,
                               epochs=150)
            self.assertEqual(t.get("model"), name)
            m = t.fit(d)
            self.assertEqual(m.name, name)
            p = m.predict_all()
            self.assertLess(np.max(np.abs(p[mask] - RATINGS[mask])), 0.5)
            self.assertEqual(len(t.history), 150)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "ncf.smf")
                m.save(path)
                np.testing.assert_array_equal(simdmf.Model.open(path, mmap=True).predict_all(), p)
            with self.assertRaises(simdmf.SimdmfError) as cm:
                m.similarity(0, 1)
            self.assertEqual(cm.exception.status, simdmf.ERR_UNSUPPORTED)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Trainer(model="gmf", ncf_activation="tanh")
        self.assertEqual(cm.exception.status, simdmf.ERR_OUT_OF_RANGE)

    def test_rows_input(self):
        # ncf_input = rows through the option keys: the models read the training matrix's rows and
        # columns, serve from a saved (and mapped) file, and fold in a user from its ratings.
        d = simdmf.Dataset.from_dense(RATINGS)
        mask = RATINGS != 0
        for name in ("gmf", "mlp", "neumf"):
            t = simdmf.Trainer(model=name, ncf_input="rows", ncf_input_leave_out=0, ncf_activation="leaky_relu", k=4,
                               ncf_layers=[8, 8, 4],
                               ncf_batch=4, lr=0.02, epochs=150)
            self.assertEqual(t.get("ncf_input"), "rows")
            m = t.fit(d)
            p = m.predict_all()
            self.assertLess(np.max(np.abs(p[mask] - RATINGS[mask])), 0.5)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "rows.smf")
                m.save(path)
                np.testing.assert_array_equal(simdmf.Model.open(path, mmap=True).predict_all(), p)
            row = np.nonzero(RATINGS[1])[0]
            u = m.fold_in_user(row, RATINGS[1, row])
            np.testing.assert_array_equal(m.predict_all()[u], p[1])  # the same row: the same input
        with self.assertRaises(simdmf.SimdmfError):
            simdmf.Trainer(model="gmf", ncf_input="columns")

    def test_neumf_from_pretrained(self):
        # NeuMF from pretrained GMF + MLP: alpha 1 scores as the GMF, alpha 0 as the MLP; fit(init=)
        # trains it on (the same start and options give the same model; the start is unchanged).
        d = simdmf.Dataset.from_dense(RATINGS)
        opts = dict(k=4, ncf_layers=[8, 8, 4], ncf_batch=4, ncf_init_std=0.3, epochs=20)
        g = simdmf.Trainer(model="gmf", **opts).fit(d)
        p = simdmf.Trainer(model="mlp", **opts).fit(d)
        np.testing.assert_allclose(simdmf.Model.neumf_from(g, p, alpha=1.0).predict_all(), g.predict_all(), atol=1e-4)
        np.testing.assert_allclose(simdmf.Model.neumf_from(g, p, alpha=0.0).predict_all(), p.predict_all(), atol=1e-4)
        start = simdmf.Model.neumf_from(g, p)
        self.assertEqual(start.name, "neumf")
        before = start.predict_all()
        t = simdmf.Trainer(model="neumf", **dict(opts, epochs=5))
        a = t.fit(d, init=start)
        self.assertEqual(a.name, "neumf")
        self.assertEqual(len(t.history), 5)
        self.assertFalse(np.array_equal(a.predict_all(), before))
        np.testing.assert_array_equal(t.fit(d, init=start).predict_all(), a.predict_all())
        np.testing.assert_array_equal(start.predict_all(), before)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Model.neumf_from(p, g)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            simdmf.Trainer(model="gmf", **opts).fit(d, init=start)  # option model is not init's kind
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)


def planted(n_users=40, n_items=30, density=0.5, logistic=False, seed=0):
    """A planted rank-2 matrix, about ``density`` of it observed: ratings in [1, 5] or +1/-1 labels."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, (n_users, 2))
    v = rng.uniform(-1, 1, (n_items, 2))
    score = u @ v.T
    users, items = np.nonzero(rng.uniform(size=score.shape) < density)
    s = score[users, items]
    values = np.where(s > 0, 1.0, -1.0) if logistic else np.clip(3 + 2 * s + rng.normal(0, 0.1, s.shape), 1, 5)
    return simdmf.Dataset.from_triples(users, items, values, n_users, n_items)


class TestEvaluation(unittest.TestCase):
    def test_evaluate(self):
        train, test = planted(seed=1).split(0.25, seed=2)
        m = simdmf.Trainer(k=4, epochs=40).fit(train)
        r = m.evaluate(test)
        self.assertEqual(list(r), ["rmse", "mae", "ratings", "cold_ratings", "left_out"])
        u, i, y = test.to_arrays()
        p = m.predict_batch(u, i).astype(np.float64)
        self.assertAlmostEqual(r["rmse"], math.sqrt(np.mean((p - y) ** 2)), places=12)
        self.assertAlmostEqual(r["mae"], np.mean(np.abs(p - y)), places=12)
        self.assertEqual(r["ratings"], len(test))

        r = m.evaluate(test, exclude=train, k=5, threshold=3.5)
        self.assertEqual(list(r), ["rmse", "mae", "precision@5", "recall@5", "ndcg@5", "map@5", "ratings",
                                   "cold_ratings", "left_out", "ranking_users"])
        self.assertTrue(all(0 <= r[name] <= 1 for name in ["precision@5", "recall@5", "ndcg@5", "map@5"]))
        self.assertGreater(r["ranking_users"], 0)

        # the model has no id maps (ids are indices): user 40 is a new user, scored by the fallback
        self.assertEqual(m.evaluate(simdmf.Dataset.from_triples([40], [0], [3.0]))["cold_ratings"], 1)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            m.evaluate(test, k=5, threshold=math.nan)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)

    def test_evaluate_logistic(self):
        train, test = planted(logistic=True, seed=3).split(0.25, seed=2)
        m = simdmf.Trainer(loss="logistic", k=4, epochs=60).fit(train)
        r = m.evaluate(test)
        self.assertEqual(list(r), ["log_loss", "auc", "accuracy", "ratings", "cold_ratings", "left_out"])
        self.assertGreater(r["auc"], 0.6)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            m.evaluate(planted(seed=1))  # ratings, not labels
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_DATA)

    def test_evaluate_ranking_protocol(self):
        data = planted(seed=6)
        train, test = data.split(kind="leave-one-out-random", seed=3)
        u, _, _ = test.to_arrays()
        self.assertEqual(len(set(u.tolist())), len(test))  # one event per user
        tr2, te2 = data.split(0.25, seed=3, kind="per-user-fraction")
        self.assertEqual(len(tr2) + len(te2), len(data))
        with self.assertRaises(simdmf.SimdmfError):  # no timestamps in a data set from arrays
            data.split(kind="leave-one-out")
        with self.assertRaises(ValueError):
            data.split(kind="nope")
        m = simdmf.Trainer(k=4, epochs=10).fit(train)
        r = m.evaluate_ranking(test, train, k=10, negatives=20, seed=4)
        for name in ("ndcg@10", "sampled_hr@10", "sampled_ndcg@10", "popularity.ndcg@10", "popularity.sampled_hr@10"):
            self.assertTrue(0 <= r[name] <= 1, name)
        self.assertEqual(r["sampled_cases"], len(test))
        self.assertEqual(r.notes, [])
        self.assertEqual(m.evaluate_ranking(test, train, negatives=20, seed=4), r)  # seeded
        # A test set of one class: AUC is undefined and the report says why.
        lm = simdmf.Trainer(loss="logistic", k=4, epochs=5).fit(planted(logistic=True, seed=3))
        pos = simdmf.Dataset.from_triples([0, 1], [1, 2], [1.0, 1.0])
        rep = lm.evaluate(pos)
        self.assertTrue(math.isnan(rep["auc"]))
        self.assertTrue(any("auc is undefined" in n for n in rep.notes))

    def test_cross_validate(self):
        data = planted(seed=4)
        t = simdmf.Trainer(k=4, epochs=8)
        epochs = []
        r = t.cross_validate(data, folds=3, seed=5, callback=lambda e: epochs.append(e.epoch))
        self.assertEqual(list(r)[:4], ["rmse", "rmse_std", "mae", "mae_std"])
        self.assertEqual(list(r)[4:7], ["fold1.rmse", "fold1.mae", "fold1.epochs"])
        self.assertEqual(len(r), 4 + 3 * 3)
        self.assertEqual(epochs, list(range(1, 9)) * 3)
        self.assertAlmostEqual(r["rmse"], np.mean([r["fold%d.rmse" % f] for f in (1, 2, 3)]), places=12)
        self.assertAlmostEqual(r["rmse_std"], np.std([r["fold%d.rmse" % f] for f in (1, 2, 3)], ddof=1), places=12)
        self.assertEqual(r["fold2.epochs"], 8)
        self.assertFalse(t.cancelled)

        r = t.cross_validate(data, folds=2, seed=5, k=4)
        self.assertIn("ndcg@4", r)
        self.assertIn("fold2.map@4", r)

        with self.assertRaises(simdmf.SimdmfError) as cm:
            t.cross_validate(data, folds=3, callback=lambda e: e.epoch < 3)
        self.assertEqual(cm.exception.status, simdmf.CANCELLED)
        self.assertTrue(t.cancelled)

        def boom(info):
            raise ValueError("from callback")
        with self.assertRaises(ValueError):
            t.cross_validate(data, callback=boom)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            t.cross_validate(data, folds=1)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)

    def test_tune(self):
        data = planted(seed=6)
        t = simdmf.Trainer()
        self.assertEqual(t.get("tune_k"), [64, 128, 256, 512])
        self.assertEqual(t.get("tune_method"), "grid")
        self.assertEqual(t.get("tune_valid_fraction"), 0.1)
        runs = []
        r = t.tune(data, k=[2, 4], lr=[0.01, 0.04], l2=0.02, epochs=[5, 10, 20], valid_fraction=0.2, extend=0,
                   callback=lambda e: runs.append((e.epoch, e.max_epochs, e.valid_metric)))
        keys = list(r)
        self.assertEqual(keys[:8], ["best.k", "best.lr", "best.l2", "best.epochs", "best.score", "trials",
                                    "train_ratings", "valid_ratings"])
        self.assertEqual(keys[8:13], ["trial1.k", "trial1.lr", "trial1.l2", "trial1.epochs", "trial1.score"])
        self.assertEqual(r["trials"], 4)
        self.assertEqual(len(r), 8 + 4 * 5 + 5)
        self.assertEqual(keys[-5:], ["edge.k", "edge.lr", "edge.l2", "edge.epochs", "extended"])
        self.assertEqual(r["extended"], 0)
        self.assertEqual(r["train_ratings"] + r["valid_ratings"], len(data))
        self.assertEqual([e for e, _, _ in runs], [1, 2, 3, 4])
        self.assertEqual(r["best.score"], min(r["trial%d.score" % j] for j in range(1, 5)))
        self.assertEqual(min(s for _, _, s in runs), r["best.score"])
        for name in ("k", "lr", "l2", "epochs"):
            self.assertEqual(t.get(name), r["best." + name], name)
        self.assertEqual(t.get("tune_k"), [2, 4])
        self.assertEqual(t.get("tune_l2"), [0.02])
        m = t.fit(data)
        self.assertEqual(m.k, r["best.k"])
        self.assertEqual(len(t.history), r["best.epochs"])
        # By default a best point on an edge extends the search past it (runs added last).
        e = simdmf.Trainer().tune(data, k=[1, 2], lr=[0.05], l2=[0.02], epochs=[3, 6], valid_fraction=0.2)
        self.assertGreater(e["extended"], 0)
        self.assertEqual(e["trials"], 2 + e["extended"])
        self.assertEqual(simdmf.Trainer().tune(data, k=[1, 2], lr=[0.05], l2=[0.02], epochs=[3, 6], extend=0)["trials"], 2)

        # random search, two runs at a time; None restores the default space
        r = t.tune(data, k=[3], lr=[0.01, 0.05], l2=[0.01, 0.1], epochs=[15], method="random", budget=3,
                   parallel=2)
        self.assertEqual(r["trials"], 3)
        self.assertTrue(0.01 <= r["trial2.lr"] <= 0.05)
        self.assertEqual(t.get("tune_method"), "random")
        t.set(tune_k=[])
        self.assertEqual(t.get("tune_k"), [64, 128, 256, 512])

        before = t.get("k")
        with self.assertRaises(simdmf.SimdmfError) as cm:
            t.tune(data, k=[5, 6], lr=[0.02], l2=[0.05], epochs=[5], callback=lambda e: False)
        self.assertEqual(cm.exception.status, simdmf.CANCELLED)
        self.assertTrue(t.cancelled)
        self.assertEqual(t.get("k"), before)

        for bad, status in [(dict(k=[0]), simdmf.ERR_OUT_OF_RANGE), (dict(valid_fraction=1.0), simdmf.ERR_OUT_OF_RANGE),
                            (dict(method="bayes"), simdmf.ERR_OUT_OF_RANGE), (dict(parallel=-1), simdmf.ERR_OUT_OF_RANGE)]:
            with self.assertRaises(simdmf.SimdmfError) as cm:
                t.tune(data, **bad)
            self.assertEqual(cm.exception.status, status, bad)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            t.get("tune_nothing")
        self.assertEqual(cm.exception.status, simdmf.ERR_UNKNOWN_OPTION)


class TestIdSpaces(unittest.TestCase):
    """A file loaded on its own has ids of its own: evaluation refuses it until it is aligned; users and
    items the model does not know are scored with its fallback (or left out) and counted."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.train_path = os.path.join(self.dir.name, "train.data")
        self.test_path = os.path.join(self.dir.name, "test.data")
        with open(self.train_path, "w") as f:
            for n, (u, i, r) in enumerate([(10, 1, 5), (20, 2, 3), (30, 3, 4), (10, 2, 4), (20, 3, 2), (30, 1, 5),
                                           (10, 3, 3), (20, 1, 4)]):
                f.write("%d\t%d\t%d\t%d\n" % (u, i, r, n))
        with open(self.test_path, "w") as f:  # user 30 first; user 40 and item 9 are new
            for n, (u, i, r) in enumerate([(30, 2, 4), (20, 1, 3), (40, 1, 5), (10, 9, 2), (40, 9, 3), (10, 1, 4)]):
                f.write("%d\t%d\t%d\t%d\n" % (u, i, r, n))
        self.train = simdmf.Dataset.load(self.train_path)
        self.model = simdmf.Trainer(k=2, epochs=30).fit(self.train)

    def tearDown(self):
        self.dir.cleanup()

    def test_unaligned_test_set_is_refused(self):
        test = simdmf.Dataset.load(self.test_path)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            self.model.evaluate(test, exclude=self.train, k=2)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)
        self.assertIn("id space", str(cm.exception))
        with self.assertRaises(simdmf.SimdmfError):
            self.model.recommend(0, 2, exclude=test)

    def test_aligned_cold_ratings_use_the_fallback(self):
        test = simdmf.Dataset.load(self.test_path, like=self.model)
        self.assertEqual(test.unknown, 3)
        pred, cold = self.model.predict_dataset(test)
        self.assertEqual(cold, 3)
        self.assertTrue(np.all(np.isfinite(pred)))
        _, bias_item1 = self.model.factors(0, side="items")
        self.assertAlmostEqual(float(pred[2] - pred[4]), bias_item1, places=5)  # new user: mu + b_i vs mu
        r = self.model.evaluate(test, exclude=self.train, k=2)
        self.assertEqual((r["ratings"], r["cold_ratings"], r["left_out"]), (6, 3, 0))
        y = np.array([4, 3, 5, 2, 3, 4], dtype=np.float64)
        self.assertAlmostEqual(r["rmse"], float(np.sqrt(np.mean((pred - y) ** 2))), places=6)
        r2 = self.model.evaluate(test, exclude=self.train, k=2, leave_out_cold=True)
        self.assertEqual((r2["ratings"], r2["cold_ratings"], r2["left_out"]), (3, 3, 3))
        known = [0, 1, 5]
        self.assertAlmostEqual(r2["rmse"], float(np.sqrt(np.mean((pred[known] - y[known]) ** 2))), places=6)
        kept, _ = self.model.predict_dataset(test, leave_out_cold=True)
        self.assertTrue(np.isnan(kept[2]) and kept[0] == pred[0])
        dropped = simdmf.Dataset.load(self.test_path).align(self.train, leave_out_cold=True)
        self.assertEqual((len(dropped), dropped.unknown), (3, 3))

    def test_equal_maps_from_separate_loads_match(self):
        again = simdmf.Dataset.load(self.train_path)
        r = self.model.evaluate(again, exclude=again, k=2)
        self.assertEqual(r["cold_ratings"], 0)
        with self.assertRaises(TypeError):
            again.align(None)

    def test_movielens_u1_aligned_figures(self):
        """The issue's repro: u1.test loaded on its own is refused; loaded like the model it gives the
        figures of the aligned protocol."""
        base = os.path.join(DATA_DIR, "ml-100k", "u1.base")
        test_path = os.path.join(DATA_DIR, "ml-100k", "u1.test")
        if not (os.path.exists(base) and os.path.exists(test_path)):
            self.skipTest("MovieLens 100K not found under %s" % DATA_DIR)
        tr = simdmf.Dataset.load(base)
        te = simdmf.Dataset.load(test_path)
        m = simdmf.Trainer(k=64).fit(tr)
        with self.assertRaises(simdmf.SimdmfError) as cm:
            m.evaluate(te, exclude=tr, k=10)
        self.assertEqual(cm.exception.status, simdmf.ERR_INVALID_ARGUMENT)
        te = simdmf.Dataset.load(test_path, like=m)
        r = m.evaluate(te, exclude=tr, k=10)
        self.assertLess(r["rmse"], 0.93)       # 1.2253 when the ids were silently misaligned
        self.assertGreater(r["ndcg@10"], 0.1)  # 0.027 then
        self.assertEqual(r["ratings"], 20000)
        self.assertEqual(r["cold_ratings"], te.unknown)


class TestTextIds(unittest.TestCase):
    """Issue 10, items 14 and 15: string ids in and out, load warnings."""

    def test_string_ids_round_trip_through_a_model(self):
        users = ["USER_894", "USER_12", "USER_894", "USER_3", "USER_12"]
        items = ["LOC_1", "LOC_2", "LOC_2", "LOC_1", "LOC_3"]
        ds = simdmf.Dataset.from_ids(users, items, [4, 3, 5, 2, 1])
        self.assertEqual(ds.shape, (3, 3))
        self.assertEqual(ds.id_kind("users"), "string")
        self.assertEqual(ds.index("USER_12"), 1)
        self.assertEqual(ds.raw_id(2, "items"), "LOC_3")
        m = simdmf.Trainer(k=2, epochs=3).fit(ds)
        self.assertEqual(m.index("LOC_2", side="items"), 1)
        self.assertEqual(m.raw_id(0), "USER_894")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.smf")
            m.save(path)
            back = simdmf.Model.load(path)
        self.assertEqual(back.raw_id(1), "USER_12")
        self.assertEqual(back.id_kind(), "string")
        with self.assertRaises(simdmf.SimdmfError) as e:
            back.index("USER_0")
        self.assertEqual(e.exception.status, simdmf.ERR_NOT_FOUND)
        with self.assertRaises(ValueError):
            back.index("USER\0_12")

    def test_integer_ids_and_bad_ids(self):
        ds = simdmf.Dataset.from_ids([196, 186, 196], ["242", "302", "302"], [3, 3, 1])
        self.assertEqual(ds.id_kind("users"), "integer")
        self.assertEqual(ds.raw_id(1), 186)
        self.assertEqual(ds.index(196), 0)
        with self.assertRaises(simdmf.SimdmfError) as e:
            simdmf.Dataset.from_ids(["a", "a"], ["x", "x"], [1, 2])
        self.assertEqual(e.exception.status, simdmf.ERR_INVALID_DATA)
        with self.assertRaises(simdmf.SimdmfError):
            simdmf.Dataset.from_ids(["has space"], ["x"], [1])
        with self.assertRaises(TypeError):
            simdmf.Dataset.from_ids([None], ["x"], [1])

    def test_one_class_training_data_is_said(self):
        u = np.arange(40) % 8
        i = np.arange(40) // 8
        pos = simdmf.Dataset.from_triples(u, i, np.ones(40))
        t = simdmf.Trainer(loss="logistic", k=2, epochs=2)
        with self.assertWarns(UserWarning) as w:
            t.fit(pos)
        self.assertIn("one class only", str(w.warning))
        self.assertEqual(len(t.warnings), 1)
        mixed = simdmf.Dataset.from_triples(u, i, np.where(np.arange(40) % 3 == 0, -1.0, 1.0))
        t.fit(mixed)
        self.assertEqual(t.warnings, [])
        const = simdmf.Dataset.from_triples(u, i, np.full(40, 3.0))
        t2 = simdmf.Trainer(k=2, epochs=2)
        with self.assertWarns(UserWarning):
            t2.fit(const)
        self.assertIn("training values are 3", t2.warnings[0])

    def test_load_warnings(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "counts.data")
            with open(path, "w") as f:
                f.write("".join("%d\t%d\t%d\n" % (u, u % 5, 100 * u + 7) for u in range(40)))
            ds = simdmf.Dataset.load(path)
        self.assertTrue(any("counts" in w for w in ds.warnings), ds.warnings)
        self.assertEqual(simdmf.Dataset.from_dense(RATINGS).warnings, [])


class TestImplicit(unittest.TestCase):
    """Issue 15: a scipy.sparse matrix of counts into fit, as implicit's users pass it; iALS and BPR."""

    def test_fit_takes_a_sparse_count_matrix(self):
        try:
            import scipy.sparse as sp
        except ImportError:
            self.skipTest("scipy not installed (apt-get install python3-scipy)")
        rng = np.random.default_rng(3)
        users, items = 60, 40
        # Two taste groups: users of group g play items of group g, with counts.
        rows, cols, counts = [], [], []
        for u in range(users):
            g = u % 2
            for i in rng.choice(np.arange(g, items, 2), size=8, replace=False):
                rows.append(u)
                cols.append(int(i))
                counts.append(int(rng.integers(1, 20)))
        m = sp.csr_matrix((counts, (rows, cols)), shape=(users, items), dtype=np.float32)
        ds = simdmf.Dataset.from_sparse(m)
        self.assertEqual((len(ds), ds.shape), (m.nnz, (users, items)))
        self.assertEqual(simdmf.Dataset.from_sparse(m.tocsc()).to_arrays()[2].sum(), m.sum())
        for opts in (dict(loss="implicit", solver="als", alpha=2.0, l2=0.1, k=4, epochs=8),
                     dict(solver="bpr", k=4, epochs=30)):
            model = simdmf.Trainer(**opts).fit(m)
            # Each user's top items are of its own group (the planted structure), not the other's.
            right = 0
            for u in range(users):
                top, _ = model.recommend(u, n=3, exclude=ds)
                right += sum(int(i) % 2 == u % 2 for i in top)
            self.assertGreater(right / (3 * users), 0.9, opts)
        with self.assertRaises(TypeError):
            simdmf.Dataset.from_sparse([[1, 0]])


class TestArgumentChecks(unittest.TestCase):
    """Issue 10, item 19: ids past 32 bits, paths with a NUL and missing datasets are refused."""

    @classmethod
    def setUpClass(cls):
        cls.data = simdmf.Dataset.from_dense(RATINGS)
        cls.model = simdmf.Trainer(k=2, epochs=5).fit(cls.data)

    def test_ids_past_32_bits(self):
        m = self.model
        big = 2 ** 32
        calls = [
            lambda: m.predict(big, 0), lambda: m.predict(0, big), lambda: m.predict(-1, 0),
            lambda: m.predict_row(big), lambda: m.recommend(big, n=2),
            lambda: m.factors(big), lambda: m.factors(big, side="items"),
            lambda: m.similarity(big, 0), lambda: m.similarity(0, big + 1, side="users"),
            lambda: m.nearest(big, n=2), lambda: m.raw_id(big),
            lambda: m.fold_in_user([big], [3.0]), lambda: m.index(2 ** 63),
        ]
        for j, call in enumerate(calls):
            with self.subTest(call=j):
                with self.assertRaises((OverflowError, ValueError, simdmf.SimdmfError)) as cm:
                    call()
                if isinstance(cm.exception, simdmf.SimdmfError):
                    self.assertEqual(cm.exception.status, simdmf.ERR_OUT_OF_RANGE)
        self.assertNotEqual(m.predict(0, 0), None)  # in-range ids still work
        self.assertEqual(m.predict(np.uint32(1), np.int64(2)), m.predict(1, 2))
        with self.assertRaises(TypeError):
            m.predict("1", 0)

    def test_path_with_nul(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "keep.smf")
            with self.assertRaises(ValueError):
                self.model.save(path + "\0.bak")
            self.assertFalse(os.path.exists(path))
            with self.assertRaises(ValueError):
                simdmf.Model.load(path + "\0x")
            with self.assertRaises(ValueError):
                simdmf.Dataset.load(os.path.join(d, "r.txt\0"))

    def test_fit_without_a_dataset(self):
        t = simdmf.Trainer(k=2, epochs=1)
        for bad in (None, RATINGS, "ratings.txt"):
            with self.subTest(bad=type(bad).__name__):
                with self.assertRaises(TypeError) as cm:
                    t.fit(bad)
                self.assertIn("Dataset", str(cm.exception))
        with self.assertRaises(TypeError):
            t.fit(self.data, valid=RATINGS)
        with self.assertRaises(TypeError):
            self.model.evaluate(None)


if __name__ == "__main__":
    unittest.main()
