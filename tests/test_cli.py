"""End-to-end tests of the simdmf command-line tool on generated data.

Run by meson (tests/meson.build) with SIMDMF_CLI set to the built tool; by hand:
    SIMDMF_CLI=build/tools/simdmf /usr/bin/python3 -m unittest tests/test_cli.py
A cross build's tool runs through SIMDMF_CLI_WRAPPER, the command that runs it (the cross file's
exe_wrapper, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu"; scripts/check_aarch64.sh).
The chain: gen -> train -> eval -> predict -> recommend -> similar -> split (every kind) -> convert round
trips -> cv -> tune (tiny budget) -> info, checking outputs, JSON and exit codes (2 bad usage, 1 errors).
"""
import json
import math
import os
import shlex
import shutil
import subprocess
import tempfile
import unittest

CLI = os.environ.get("SIMDMF_CLI", "")
WRAPPER = shlex.split(os.environ.get("SIMDMF_CLI_WRAPPER", ""))


def run(*args, ok=True, cwd=None):
    p = subprocess.run([*WRAPPER, CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)
    if ok and p.returncode != 0:
        raise AssertionError(f"simdmf {' '.join(map(str, args))} -> {p.returncode}\n{p.stderr}")
    return p


def run_json(*args):
    return json.loads(run("--json", "-q", *args).stdout)


@unittest.skipUnless(CLI and os.path.exists(CLI), "SIMDMF_CLI not set to the built simdmf tool")
class CliEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="simdmf-cli-")
        cls.p = lambda self, name: os.path.join(self.dir, name)
        # 300 users x 200 items, 20,000 integer ratings 1..5, 20% held out.
        out = run_json("gen", "-o", os.path.join(cls.dir, "g"), "--users", 300, "--items", 200, "--ratings", 20000,
                       "--test-fraction", 0.2, "--seed", 7)
        cls.gen = out
        cls.train = os.path.join(cls.dir, "g.train.txt")
        cls.test = os.path.join(cls.dir, "g.test.txt")
        cls.model = os.path.join(cls.dir, "g.smf")
        cls.curve = os.path.join(cls.dir, "curve.csv")
        cls.train_out = run_json("train", cls.train, "-o", cls.model, "--valid", cls.test, "--epochs", 25, "--lr", 0.03,
                                 "--curve", cls.curve, "-k", 16)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_gen(self):
        self.assertEqual([f["ratings"] for f in self.gen["files"]], [16000, 4000])
        with open(self.train) as f:
            first = f.readline().split()
        self.assertEqual(len(first), 3)  # LIBMF text: user item rating
        self.assertTrue(all(x.lstrip("-").replace(".", "", 1).isdigit() for x in first))

    def test_convert_model_quantized(self):
        for table in ("fp16", "int8"):
            out = self.p(f"q_{table}.smf")
            j = run_json("convert-model", self.model, out, "--quantize", table)
            self.assertEqual(j["table"], table)
            self.assertFalse(j["fp32"])
            info = run_json("info", out)
            self.assertEqual(info["table"], table)
            self.assertFalse(info["fp32_tables"])
            self.assertLess(os.path.getsize(out), os.path.getsize(self.model))
            rec = run("recommend", out, "--user", "1", "-n", "5", "--train", self.train)
            self.assertEqual(rec.returncode, 0)
        kept = run_json("convert-model", self.model, self.p("q_keep.smf"), "--quantize", "int8", "--keep-fp32")
        self.assertTrue(kept["fp32"])
        bad = run("convert-model", self.model, self.p("q_bad.smf"), "--quantize", "int4", ok=False)
        self.assertEqual(bad.returncode, 2)

    def test_rerank_flag_and_the_saved_factor(self):
        def lists(out):  # user -> its recommended items (as sets: re-ranked scores round like fp32's, not bit for bit)
            got = {}
            for line in out.splitlines():
                user, _rank, item, _score = line.split()
                got.setdefault(user, set()).add(item)
            return got
        saved, unsaved, only = self.p("rr_saved.smf"), self.p("rr_unsaved.smf"), self.p("rr_only.smf")
        j = run_json("convert-model", self.model, saved, "--quantize", "int8", "--keep-fp32", "--rerank", 1000)
        self.assertEqual(j["rerank"], 1000)
        self.assertEqual(run_json("info", saved)["rerank"], 1000)
        self.assertEqual(run_json("convert-model", self.model, unsaved, "--quantize", "int8", "--keep-fp32")["rerank"], 0)
        self.assertEqual(run_json("info", unsaved)["rerank"], 0)
        exact = lists(run("recommend", self.model, "--all", "-n", 5, "--train", self.train).stdout)
        self.assertEqual(len(exact), 300)
        # 1000 x 5 candidates cover the 200 items: every list is the fp32 model's, from the saved factor or the flag.
        self.assertEqual(lists(run("recommend", saved, "--all", "-n", 5, "--train", self.train).stdout), exact)
        flagged = run("recommend", unsaved, "--all", "-n", 5, "--train", self.train, "--rerank", 1000).stdout
        self.assertEqual(lists(flagged), exact)
        # --rerank 0 overrides the saved factor: the int8 scan's own lists, the same as the unsaved file's.
        off = run("recommend", saved, "--all", "-n", 5, "--train", self.train, "--rerank", 0).stdout
        self.assertEqual(off, run("recommend", unsaved, "--all", "-n", 5, "--train", self.train).stdout)
        self.assertNotEqual(lists(off), exact)  # (so the checks above could fail: int8 alone ranks some lists otherwise)
        # Without fp32 tables there is nothing to re-rank with: bad usage, for both commands.
        run_json("convert-model", self.model, only, "--quantize", "int8")
        self.assertEqual(run("recommend", only, "--user", 1, "--rerank", 4, ok=False).returncode, 2)
        self.assertEqual(run("recommend", self.model, "--user", 1, "--rerank", 4, ok=False).returncode, 2)
        bad = run("convert-model", self.model, self.p("rr_bad.smf"), "--quantize", "int8", "--rerank", 4, ok=False)
        self.assertEqual(bad.returncode, 2)
        self.assertEqual(run("recommend", saved, "--user", 1, "--rerank", 5000, ok=False).returncode, 2)

    def test_train_and_curve(self):
        t = self.train_out
        self.assertEqual(t["epochs"], 25)
        self.assertTrue(os.path.exists(self.model))
        self.assertLess(t["valid_metric"], 0.9)  # noise sd 0.5 plus clipping/rounding; the mean alone is ~1.1
        with open(self.curve) as f:
            rows = f.read().strip().splitlines()
        self.assertEqual(rows[0], "epoch,train_loss,valid_metric,learning_rate,elapsed_seconds,"
                                  "train_loss_name,valid_metric_name")
        self.assertEqual(len(rows), 26)
        self.assertTrue(all(math.isfinite(float(x)) for x in rows[-1].split(",")[:5]))
        self.assertEqual(rows[-1].split(",")[5:], ["mse", "rmse"])
        self.assertEqual((t["train_loss_name"], t["valid_metric_name"]), ("mse", "rmse"))
        # Text output names the file; early stopping with a validation fraction.
        p = run("train", self.train, "-o", self.p("es.smf"), "--valid-fraction", 0.1, "--patience", 2, "--epochs", 200,
                "--lr", 0.05, "-q")
        self.assertIn("Saved", p.stdout)
        self.assertIn("early stop", p.stdout)
        # Learning-rate list schedule, delimited input with chosen columns.
        run("train", self.train, "-o", self.p("l.smf"), "--schedule", "list", "--lr-list", "0.05,0.02", "--epochs", 3, "-q")
        with open(self.p("swapped.csv"), "w") as f:
            f.write("rating;item;user\n")
            with open(self.train) as src:
                for line in src:
                    u, i, r = line.split()
                    f.write(f"{r};{i};{u}\n")
        d = run_json("train", self.p("swapped.csv"), "-o", self.p("d.smf"), "--format", "delimited", "--delimiter", ";",
                     "--columns", "2,1,0", "--header", "--epochs", 2)
        self.assertEqual(d["train_ratings"], 16000)

    def test_train_als(self):
        # ALS from the command line: the chosen solver is reported, validation RMSE like SGD's, the model
        # serves predictions; the weighted-lambda option by --set.
        t = run_json("train", self.train, "-o", self.p("als.smf"), "--valid", self.test, "--solver", "als", "-k", 8,
                     "--epochs", 6, "--set", "als_weighted_lambda=0", "--l2", 2)
        self.assertEqual(t["options"]["solver"], "als")
        self.assertEqual(t["epochs"], 6)
        self.assertLess(t["valid_metric"], 0.9)
        self.assertLess(abs(t["valid_metric"] - self.train_out["valid_metric"]), 0.1)
        p = run("predict", self.p("als.smf"), self.test, "-q")
        self.assertGreater(len(p.stdout.splitlines()), 100)
        self.assertEqual(run("train", self.train, "-o", self.p("x.smf"), "--solver", "alsx", ok=False).returncode, 2)

    def test_train_neural(self):
        # simdmf train --model gmf|mlp|neumf: the ncf flags, a per-epoch status line, a model that eval,
        # recommend, predict and info serve; similar is UNSUPPORTED (exit 1) naming the kind.
        for kind in ("gmf", "mlp", "neumf"):
            path = self.p(kind + ".smf")
            p = run("train", self.train, "-o", path, "--valid", self.test, "--model", kind, "-k", 8, "--layers",
                    "16,8", "--batch", 64, "--epochs", 4, "--lr", 0.005)
            self.assertIn("Training model: " + kind, p.stderr)
            self.assertIn("epoch    4/4", p.stderr)
            t = run_json("train", self.train, "-o", path, "--valid", self.test, "--model", kind, "-k", 8,
                         "--layers", "16,8", "--batch", 64, "--epochs", 4, "--lr", 0.005)
            self.assertEqual(t["options"]["model"], kind)
            self.assertLess(t["valid_metric"], 1.0)  # the mean alone is ~1.1
            info = run_json("info", path)
            self.assertEqual(info["kind"], kind)
            e = run_json("eval", path, self.test, "--train", self.train, "--at", 5)
            self.assertLess(e["rmse"], 1.0)
            r = run("recommend", path, "--user", "1", "-n", 3, "--train", self.train, "-q")
            self.assertEqual(len(r.stdout.splitlines()), 3)
            s = run("similar", path, "--item", "1", ok=False)
            self.assertEqual(s.returncode, 1)
            self.assertIn(kind, s.stderr)
        self.assertEqual(run("train", self.train, "--model", "gmf", "--activation", "tanh", ok=False).returncode, 2)

    def test_train_neural_rows_input(self):
        # --ncf-input rows (the notebook's form): every model trains from the training matrix's rows and
        # columns, info names the form, eval and recommend serve it from the saved file.
        for kind in ("gmf", "mlp", "neumf"):
            path = self.p(kind + "_rows.smf")
            t = run_json("train", self.train, "-o", path, "--valid", self.test, "--model", kind, "--ncf-input", "rows",
                         "-k", 8, "--layers", "16,8", "--batch", 64, "--epochs", 4, "--lr", 0.002,
                         "--activation", "leaky_relu")
            self.assertLess(t["valid_metric"], 1.05)  # the mean alone is ~1.1
            info = run_json("info", path)
            self.assertEqual(info["kind"], kind)
            self.assertEqual(info["input"], "rows")
            self.assertGreater(info["input_ratings"], 1000)
            e = run_json("eval", path, self.test, "--train", self.train, "--at", 5)
            self.assertLess(e["rmse"], 1.05)
            r = run("recommend", path, "--user", "1", "-n", 3, "--train", self.train, "-q")
            self.assertEqual(len(r.stdout.splitlines()), 3)
        self.assertEqual(run("train", self.train, "--model", "gmf", "--ncf-input", "columns", ok=False).returncode, 2)

    def test_train_neumf_pretrained(self):
        # --pretrained-gmf / --pretrained-mlp / --pretrained-alpha: NeuMF starts from the two models (their
        # shape, not -k / --layers), trains on and serves; wrong combinations are usage errors (exit 2),
        # a file of the wrong kind an error naming it (exit 1).
        common = ["--batch", 64, "--epochs", 3, "--lr", 0.005]
        for kind in ("gmf", "mlp"):
            run("train", self.train, "-o", self.p("pre_" + kind + ".smf"), "--model", kind, "-k", 6, "--layers",
                "12,6", *common, "-q")
        pre = ["--pretrained-gmf", self.p("pre_gmf.smf"), "--pretrained-mlp", self.p("pre_mlp.smf")]
        path = self.p("pre_neumf.smf")
        t = run_json("train", self.train, "-o", path, "--valid", self.test, "--model", "neumf", "-k", 8, "--layers",
                     "16,8", *pre, "--pretrained-alpha", 0.3, *common)
        self.assertEqual(t["options"]["model"], "neumf")
        self.assertEqual(t["options"]["k"], 6)
        self.assertLess(t["valid_metric"], 1.0)
        info = run_json("info", path)
        self.assertEqual(info["kind"], "neumf")
        self.assertIn("12,6", json.dumps(info))
        e = run_json("eval", path, self.test, "--train", self.train)
        self.assertLess(e["rmse"], 1.0)
        self.assertEqual(run("train", self.train, "-o", self.p("x.smf"), "--model", "neumf", pre[0], pre[1],
                             ok=False).returncode, 2)  # --pretrained-mlp missing
        self.assertEqual(run("train", self.train, "-o", self.p("x.smf"), "--model", "mlp", *pre,
                             ok=False).returncode, 2)  # not --model neumf
        self.assertEqual(run("train", self.train, "-o", self.p("x.smf"), "--model", "neumf", *pre,
                             "--pretrained-alpha", 1.5, ok=False).returncode, 2)
        # --dropout: recorded with the model, changes it (same seed otherwise), out of range is exit 2.
        for rate in ("0", "0.3"):
            run("train", self.train, "-o", self.p("drop%s.smf" % rate), "--model", "mlp", "--layers", "12,6",
                "--dropout", rate, *common, "-q")
        info = run_json("info", self.p("drop0.3.smf"))
        self.assertEqual(float(info["train_options"]["ncf_dropout"]), 0.3)
        p0 = run("predict", self.p("drop0.smf"), self.test, "-q").stdout
        p3 = run("predict", self.p("drop0.3.smf"), self.test, "-q").stdout
        self.assertNotEqual(p0, p3)
        self.assertEqual(run("train", self.train, "-o", self.p("x.smf"), "--model", "mlp", "--dropout", 1.5,
                             ok=False).returncode, 2)
        swapped = ["--pretrained-gmf", self.p("pre_mlp.smf"), "--pretrained-mlp", self.p("pre_gmf.smf")]
        s = run("train", self.train, "-o", self.p("x.smf"), "--model", "neumf", *swapped, ok=False)
        self.assertEqual(s.returncode, 1)
        self.assertIn("not a gmf model", s.stderr)

    def test_eval(self):
        e = run_json("eval", self.model, self.test, "--train", self.train, "--at", 5)
        self.assertEqual(e["ratings"], 4000)
        self.assertAlmostEqual(e["rmse"], self.train_out["valid_metric"], places=5)
        for k in ("mae", "precision@5", "recall@5", "ndcg@5", "map@5"):
            self.assertTrue(0 <= e[k] <= 2, k)
        self.assertTrue(e["training_items_excluded"])
        text = run("eval", self.model, self.test, "-q").stdout
        self.assertRegex(text, r"rmse\s+0\.\d+")

    def test_import_export(self):
        # A Spark ALS output folder (part files, _SUCCESS, .crc) imported, then every export format back.
        users, items = self.p("userFactors"), self.p("itemFactors")
        for d, rows in ((users, [(11, [1.0, 2.0]), (12, [0.5, -1.0])]), (items, [(7, [2.0, 0.0]), (8, [1.0, 3.0])])):
            os.makedirs(d, exist_ok=True)
            open(os.path.join(d, "_SUCCESS"), "w").close()
            with open(os.path.join(d, "part-00000-ab12-c000.json"), "w") as f:
                for rid, feats in rows:
                    f.write(json.dumps({"id": rid, "features": feats}) + "\n")
            open(os.path.join(d, ".part-00000-ab12-c000.json.crc"), "w").close()
        als = self.p("als.smf")
        j = run_json("import", "--from", "spark-json", users, items, "-o", als)
        self.assertEqual((j["users"], j["items"], j["k"]), (2, 2, 2))
        pairs = self.p("als_pairs.txt")
        with open(pairs, "w") as f:
            f.write("12 8\n11 7\n")
        got = [float(line.split()[2]) for line in run("predict", als, pairs, "-q").stdout.split("\n") if line]
        self.assertEqual(got, [0.5 * 1.0 - 1.0 * 3.0, 2.0])  # Spark's u . v
        pairs = self.p("pairs_ie.txt")
        with open(pairs, "w") as f:
            f.write("0 1\n3 5\n10 20\n")
        want = run("predict", self.model, pairs, "-q").stdout
        for fmt in ("json", "csv", "npy", "npz"):
            out = self.p("exp." + fmt)
            run("export", self.model, "--to", fmt, "-o", out, "-q")
            back = self.p("back_" + fmt + ".smf")
            run("import", "--from", fmt, out, "-o", back, "-q")
            self.assertEqual(run("predict", back, pairs, "-q").stdout, want, fmt)
        p = run("import", "--from", "nosuch", users, items, "-o", als, ok=False)
        self.assertEqual(p.returncode, 2)
        p = run("export", self.model, "--to", "libmf", "-o", self.p("m.libmf"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("biases", p.stderr)

    def test_predict(self):
        pairs = self.p("pairs.txt")
        with open(pairs, "w") as f:
            f.write("# user item\n0 1\n5,7\n99999 1\n")
        lines = run("predict", self.model, pairs, "-q").stdout.strip().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(1.0 <= float(lines[0].split()[2]) <= 6.0)
        # user 99999 is unknown: the model's fallback (mu + b_i), a finite rating, and counted
        self.assertNotEqual(lines[2].split()[2], "nan")
        self.assertTrue(1.0 <= float(lines[2].split()[2]) <= 6.0)
        j = run_json("predict", self.model, pairs)
        self.assertEqual(j["unknown"], 1)
        self.assertTrue(j["predictions"][2]["cold"])
        self.assertIsNotNone(j["predictions"][2]["prediction"])
        kept = run("predict", self.model, pairs, "-q", "--leave-out-cold").stdout.strip().splitlines()
        self.assertEqual(kept, lines[:2])

    def test_eval_cold(self):
        # a test file with a user and an item the model does not know: scored by the fallback, or left out
        cold = self.p("cold.txt")
        with open(self.test) as f:
            head = [line for line in f.read().splitlines() if line.strip()][:50]
        extra = ["99999 1 4", "1 99999 3", "99998 99997 5"]
        with open(cold, "w") as f:
            f.write("\n".join(head + extra) + "\n")
        # read as the training file was (auto format: integer ids, id maps), so 99999 is an id it never saw
        e = run_json("eval", self.model, cold, "--at", 0)
        self.assertEqual((e["ratings"], e["cold_ratings"], e["left_out"]), (53, 3, 0))
        self.assertIsNotNone(e["rmse"])
        lo = run_json("eval", self.model, cold, "--at", 0, "--leave-out-cold")
        self.assertEqual((lo["ratings"], lo["cold_ratings"], lo["left_out"]), (50, 3, 3))
        self.assertNotEqual(lo["rmse"], e["rmse"])

    def test_recommend_and_similar(self):
        r = run_json("recommend", self.model, "--user", 3, "--user", 4, "-n", 5, "--train", self.train)
        recs = r["recommendations"]
        self.assertEqual([x["user"] for x in recs], [3, 4])
        seen = set()
        with open(self.train) as f:
            for line in f:
                u, i, _ = line.split()
                if u == "3":
                    seen.add(int(i))
        items = [x["item"] for x in recs[0]["items"]]
        self.assertEqual(len(items), 5)
        self.assertFalse(seen & set(items))
        scores = [x["score"] for x in recs[0]["items"]]
        self.assertEqual(scores, sorted(scores, reverse=True))
        all_lines = run("recommend", self.model, "--all", "-n", 2, "-q").stdout.strip().splitlines()
        self.assertEqual(len(all_lines), 600)
        s = run_json("similar", self.model, "--item", 3, "-n", 4)
        near = s["results"][0]["nearest"]
        self.assertEqual(len(near), 4)
        self.assertNotIn(3, [x["id"] for x in near])
        self.assertTrue(all(-1 <= x["cosine"] <= 1 for x in near))
        self.assertEqual(len(run("similar", self.model, "--user", 0, "-n", 3, "-q").stdout.strip().splitlines()), 3)

    def test_split_kinds(self):
        src = self.p("ml.data")  # MovieLens u.data layout with timestamps, raw ids starting at 1
        with open(self.train) as f, open(src, "w") as out:
            for n, line in enumerate(f):
                u, i, r = line.split()
                out.write(f"{int(u) + 1}\t{int(i) + 1}\t{r}\t{880000000 + n}\n")
        for kind, parts in (("random", 2), ("per-user", 2), ("by-time", 2), ("covering", 3), ("kfold", 6)):
            j = run_json("split", src, "--kind", kind, "--prefix", self.p("sp-" + kind), "--folds", 3)
            self.assertEqual(len(j["files"]), parts, kind)
            for f in j["files"]:
                self.assertTrue(os.path.exists(f["path"]))
            sizes = [f["ratings"] for f in j["files"]]
            total = sum(sizes) if kind != "kfold" else sum(sizes[1::2])
            self.assertEqual(total, 16000, kind)
        # by-time: every test timestamp is later than every train timestamp.
        def times(path):
            with open(path) as f:
                return [int(line.split()[3]) for line in f]
        self.assertLess(max(times(self.p("sp-by-time.train"))), min(times(self.p("sp-by-time.test"))))
        # leave-one-out: one event per user with two or more, the user's latest; --random a seeded one.
        def rows(path):
            with open(path) as f:
                return [tuple(int(float(x)) for x in line.split()) for line in f]
        for extra in ([], ["--random"]):
            j = run_json("split", src, "--kind", "leave-one-out", "--prefix", self.p("loo"), *extra)
            train, test = rows(self.p("loo.train")), rows(self.p("loo.test"))
            self.assertEqual(len(train) + len(test), 16000)
            users = [r[0] for r in test]
            self.assertEqual(len(users), len(set(users)))
            self.assertEqual(set(users), {r[0] for r in train})
            if not extra:
                latest = {}
                for r in train:
                    latest[r[0]] = max(latest.get(r[0], 0), r[3])
                self.assertTrue(all(r[3] > latest[r[0]] for r in test))
        j = run_json("split", src, "--kind", "per-user-fraction", "--test-fraction", 0.25, "--prefix", self.p("puf"))
        self.assertEqual(sum(f["ratings"] for f in j["files"]), 16000)
        self.assertAlmostEqual(j["files"][1]["ratings"] / 16000, 0.25, delta=0.02)

    def test_eval_sampled_and_popularity(self):
        # Leave-one-out on the generated training file, then the sampled protocol beside popularity.
        run("split", self.train, "--kind", "leave-one-out", "--random", "--prefix", self.p("ev"), "-q")
        m = self.p("ev.smf")
        run("train", self.p("ev.train"), "-o", m, "-k", 8, "--epochs", 5, "-q")
        j = run_json("eval", m, self.p("ev.test"), "--train", self.p("ev.train"), "--threshold", 0, "--negatives", 20)
        self.assertEqual(j["negatives"], 20)
        self.assertEqual(j["sampled_cases"], 300)
        for key in ("ndcg@10", "sampled_hr@10", "sampled_ndcg@10"):
            self.assertGreaterEqual(j[key], 0.0)
            self.assertGreaterEqual(j["popularity"][key], 0.0)
        self.assertIn("popularity on sampled_hr@10", j["versus_popularity"])
        text = run("eval", m, self.p("ev.test"), "--train", self.p("ev.train"), "--threshold", 0, "--negatives", 20).stdout
        self.assertIn("popularity", text)
        self.assertRegex(text, r"The model (beats|does NOT beat) popularity on sampled_hr@10")
        # Without --train there is no sampled protocol: a usage error.
        self.assertEqual(run("eval", m, self.p("ev.test"), "--negatives", 5, ok=False).returncode, 2)

    def test_implicit_solvers(self):
        # Two-column events (user item), BPR and lmf-neg: train, eval against popularity, recommend, similar.
        src = self.p("events.txt")
        with open(self.train) as f, open(src, "w") as out:
            for line in f:
                u, i, r = line.split()
                if float(r) >= 4:
                    out.write(f"{u} {i}\n")
        run("split", src, "--kind", "per-user-fraction", "--prefix", self.p("evs"), "-q")
        for solver in ("bpr", "lmf-neg"):
            m = self.p(solver + ".smf")
            j = run_json("train", self.p("evs.train"), "-o", m, "--solver", solver, "-k", 8, "--epochs", 5)
            self.assertEqual(j["epochs"], 5)
            e = run_json("eval", m, self.p("evs.test"), "--train", self.p("evs.train"), "--negatives", 20)
            self.assertGreaterEqual(e["ndcg@10"], 0.0)
            self.assertIn("popularity", e["versus_popularity"])
            self.assertIsNone(e["auc"])  # one class: undefined, with a note
            rec = run("recommend", m, "--user", 1, "-n", 3, "--train", self.p("evs.train"), "-q").stdout.strip().splitlines()
            self.assertEqual(len(rec), 3)
            self.assertEqual(len(run("similar", m, "--item", 1, "-n", 3, "-q").stdout.strip().splitlines()), 3)
        j = run_json("train", self.p("evs.train"), "-o", self.p("n8.smf"), "--solver", "lmf-neg", "--set", "ncf_negatives=8",
                     "-k", 4, "--epochs", 2)
        self.assertEqual(j["epochs"], 2)

    def test_tune_implicit_models_by_ranking(self):
        # tune on events: scored by 1 - NDCG@10 on the validation part; the test by the ranking protocol.
        src = self.p("tune-events.txt")
        with open(self.train) as f, open(src, "w") as out:
            for line in f:
                u, i, r = line.split()
                out.write(f"{u} {i}\n")
        run("split", src, "--kind", "per-user-fraction", "--prefix", self.p("tev"), "-q")
        for name in ("ials", "bpr"):
            j = run_json("tune", self.p("tev.train"), "--model", name, "-k", 4, "--l2", "1,30" if name == "ials" else "0.01",
                         "--lr", "0.05", "--epochs", "2,3", "--no-extend", "--test", self.p("tev.test"))
            self.assertEqual(j["metric"], "one_minus_ndcg10", name)
            self.assertTrue(0.0 <= j["valid_score"] <= 1.0, name)
            self.assertTrue(0.0 <= j["test"]["ndcg@10"] <= 1.0, name)
            self.assertIn("popularity.sampled_hr@10", j["test"])
        text = run("tune", self.p("tev.train"), "--model", "ials", "-k", 4, "--l2", "1", "--epochs", "2").stdout
        self.assertIn("validation 1 - NDCG@10", text)

    def test_gen_lastfm_preset(self):
        j = run_json("gen", "--preset", "lastfm", "--scale", 0.002, "-o", self.p("lf"))
        self.assertEqual((j["users"], j["items"], j["ratings"]), (720, 320, 35000))
        with open(self.p("lf.txt")) as f:
            rows = [line.split() for line in f]
        self.assertEqual(len(rows), 35000)
        self.assertEqual(len({(u, i) for u, i, _ in rows}), 35000)  # distinct pairs, a count each
        self.assertTrue(all(float(c) >= 1 for _, _, c in rows))
        self.assertEqual(run("gen", "--preset", "lastfm", "--scale", 2, "-o", self.p("x"), ok=False).returncode, 2)

    def test_model_names_of_the_implicit_solvers(self):
        # --model ials|bpr|lmf-neg name mf with the objective and solver: the same model as spelling them out.
        src = self.p("names.txt")
        with open(self.train) as f, open(src, "w") as out:
            for line in f:
                u, i, r = line.split()
                out.write(f"{u} {i} {r}\n")
        spelled = {"ials": ["--set", "loss=implicit", "--set", "solver=als"], "bpr": ["--solver", "bpr"],
                   "lmf-neg": ["--solver", "lmf-neg"]}
        for name, flags in spelled.items():
            a, b = self.p(f"name-{name}.smf"), self.p(f"spelled-{name}.smf")
            j = run_json("train", src, "--format", "libmf", "-o", a, "--model", name, "-k", 4, "--epochs", 2)
            run_json("train", src, "--format", "libmf", "-o", b, *flags, "-k", 4, "--epochs", 2)
            self.assertEqual(j["options"]["model"], "mf")
            self.assertEqual(j["options"]["solver"], spelled[name][-1].split("=")[-1])
            with open(a, "rb") as fa, open(b, "rb") as fb:
                self.assertEqual(fa.read(), fb.read(), name)
        self.assertEqual(run_json("train", src, "--format", "libmf", "-o", self.p("n.smf"), "--model", "ials", "-k", 4,
                                  "--epochs", 1)["options"]["loss"], "implicit")
        # The ials group's options apply after the name; an unknown name lists the names.
        j = run_json("train", src, "--format", "libmf", "-o", self.p("cg.smf"), "--model", "ials", "--set",
                     "ials_solver=cg", "-k", 4, "--epochs", 1)
        self.assertEqual(j["epochs"], 1)
        p = run("train", src, "--format", "libmf", "-o", self.p("x.smf"), "--model", "nope", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("ials, bpr or lmf-neg", p.stderr)

    def test_eval_undefined_metric_says_why(self):
        src = self.p("pos.txt")  # logistic labels, all +1 in the test file
        with open(src, "w") as f:
            for u in range(20):
                for i in range(10):
                    f.write(f"{u} {i} {1 if (u + i) % 3 else -1}\n")
        test = self.p("pos.test")
        with open(test, "w") as f:
            f.write("0 1 1\n1 2 1\n")
        m = self.p("pos.smf")
        run("train", src, "--format", "libmf", "-o", m, "--loss", "logistic", "-k", 4, "--epochs", 2, "-q")
        text = run("eval", m, test, "--format", "libmf", "--at", 0).stdout
        self.assertIn("auc", text)
        self.assertIn("undefined", text)
        self.assertIn("only positive labels", text)
        self.assertNotIn("nan", text)
        j = run_json("eval", m, test, "--format", "libmf", "--at", 0)
        self.assertIsNone(j["auc"])
        self.assertTrue(any("auc is undefined" in n for n in j["notes"]))

    def test_convert_round_trips(self):
        smr = self.p("g.smr")
        j = run_json("convert", self.train, smr, "--format", "libmf")  # gen's 0-based indices, named as such
        self.assertEqual(j["format"], "binary")
        back = self.p("g.back.txt")
        run("convert", smr, back, "--to", "libmf", "-q")
        with open(self.train) as a, open(back) as b:
            self.assertEqual(a.read(), b.read())
        # MovieLens text with raw ids keeps them through binary.
        src = self.p("raw.data")
        with open(src, "w") as f:
            f.write("10\t500\t4\n20\t501\t3\n10\t501\t5\n")
        run("convert", src, self.p("raw.smr"), "-q")
        run("convert", self.p("raw.smr"), self.p("raw.back.data"), "-q")
        with open(src) as a, open(self.p("raw.back.data")) as b:
            self.assertEqual(a.read(), b.read())
        info = run_json("info", self.p("raw.smr"))
        self.assertEqual((info["type"], info["ratings"], info["users"], info["items"]), ("ratings", 3, 2, 2))

    def test_cv(self):
        j = run_json("cv", self.train, "--folds", 3, "--epochs", 10, "--lr", 0.03, "-k", 8, "--parallel", 2, "--at", 5)
        self.assertEqual(len(j["per_fold"]), 3)
        s = j["summary"]
        for k in ("rmse", "mae", "ndcg@5"):
            self.assertTrue(math.isfinite(s[k]["mean"]) and s[k]["std"] >= 0, k)
        self.assertAlmostEqual(s["rmse"]["mean"], sum(f["rmse"] for f in j["per_fold"]) / 3, places=9)
        text = run("cv", self.train, "--folds", 2, "--epochs", 3, "-q").stdout
        self.assertRegex(text, r"rmse\s+\d\.\d+\s+\d\.\d+")

    def test_tune(self):
        model = self.p("tuned.smf")
        j = run_json("tune", self.train, "-k", "4,8", "--lr", "0.03", "--l2", "0.05", "--epochs", "5,10", "--budget", 2,
                     "--test", self.test, "-o", model, "--parallel", 2, "--no-extend")
        self.assertEqual(j["runs"], 2)
        self.assertIn(j["best"]["k"], (4, 8))
        self.assertIn(j["best"]["epochs"], (5, 10))
        self.assertEqual(j["valid_score"], min(t["score"] for t in j["trials"]))
        self.assertEqual(j["train_ratings"] + j["valid_ratings"], 16000)
        self.assertTrue(os.path.exists(model))
        self.assertTrue(0 < j["test"]["rmse"] < 1.2)
        r = run_json("tune", self.train, "--method", "random", "--budget", 2, "-k", 4, "--epochs", 5, "--no-extend")
        self.assertEqual(len(r["trials"]), 2)
        self.assertIn("Best:", run("tune", self.train, "--budget", 1, "-k", 4, "--epochs", 3, "-q").stdout)

    def test_tune_edges(self):
        # k 1 and 2 are too small for this data and 3, 6 epochs too few: the best is on two edges.
        args = ("tune", self.train, "-k", "1,2", "--lr", 0.05, "--l2", 0.05, "--epochs", "3,6")
        p = run(*args, "--no-extend", "-q")
        self.assertIn("Warning: the best k (2) is the largest value searched", p.stderr)
        self.assertIn("Warning: the best epochs (6)", p.stderr)
        fixed = run_json(*args, "--no-extend")
        self.assertEqual((fixed["runs"], fixed["extended"]), (2, 0))
        self.assertEqual(fixed["edges"]["k"], 1)
        self.assertTrue(fixed["warnings"])
        ext = run_json(*args)  # extension is the default
        self.assertGreater(ext["extended"], 0)
        self.assertEqual(ext["runs"], 2 + ext["extended"])
        self.assertTrue(any(t["k"] == 4 for t in ext["trials"]))
        self.assertLessEqual(ext["valid_score"], fixed["valid_score"])
        self.assertEqual(run_json(*args, "--extend", 1)["extended"] <= ext["extended"], True)
        self.assertEqual(run(*args, "--extend", 11, ok=False).returncode, 2)

    def test_info_and_demo_help(self):
        info = run_json("info", self.model)
        self.assertEqual((info["type"], info["kind"], info["k"], info["users"], info["items"]), ("model", "mf", 16, 300, 200))
        self.assertEqual(info["format_version"], 2)
        # how it was trained: every training option's value in effect, saved with the model
        self.assertEqual((info["train_options"]["k"], info["train_options"]["lr"], info["train_options"]["solver"]),
                         ("16", "0.03", "sgd"))
        self.assertTrue(info["simd"])
        self.assertIn("kind mf", run("info", self.model).stdout)
        for cmd in ("train", "predict", "eval", "cv", "tune", "recommend", "similar", "split", "convert", "info", "demo", "gen"):
            p = run(cmd, "--help")
            self.assertIn("Usage", p.stdout, cmd)

    def test_exit_codes(self):
        self.assertEqual(run(ok=False).returncode, 2)                                     # no subcommand
        self.assertEqual(run("train", ok=False).returncode, 2)                            # missing argument
        self.assertEqual(run("train", self.train, "--bogus", ok=False).returncode, 2)     # unknown flag
        self.assertEqual(run("similar", self.model, ok=False).returncode, 2)              # neither --item nor --user
        self.assertEqual(run("recommend", self.model, "--all", "--user", 1, ok=False).returncode, 2)
        self.assertEqual(run("train", self.train, "--columns", "0", ok=False).returncode, 2)
        p = run("train", self.p("missing.txt"), ok=False)
        self.assertEqual(p.returncode, 1)                                                  # missing file
        self.assertIn("missing.txt", p.stderr)
        self.assertEqual(run("eval", self.p("missing.smf"), self.test, ok=False).returncode, 1)
        self.assertEqual(run("info", self.train + ".nope", ok=False).returncode, 1)
        bad = self.p("bad.txt")
        with open(bad, "w") as f:
            f.write("1 2 3\n4 five 6\n")
        p = run("train", bad, "--format", "libmf", ok=False)
        self.assertEqual(p.returncode, 1)                                                  # malformed line
        self.assertIn("bad.txt:2", p.stderr)
        self.assertEqual(run("train", bad, "--format", "libmf", "--skip-bad-lines", "-o", self.p("b.smf"), "--epochs", 1,
                             "-q").returncode, 0)
        self.assertEqual(run("similar", self.model, "--item", 123456, ok=False).returncode, 1)  # unknown id
        # A learning rate that blows up in epoch 1: exit 1, the message names the epoch and the file, and
        # nothing is written (issue 10, item 4: the initial model is not a result).
        div = self.p("diverged.smf")
        p = run("train", self.train, "-o", div, "--lr", 10, "--init-std", 10, "--epochs", 5, "-q", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("epoch", p.stderr)
        self.assertIn("diverged.smf was not written", p.stderr)
        self.assertIn("Nothing saved", p.stdout)
        self.assertNotIn("train MSE", p.stdout)  # no epoch completed: no loss of 0.0000 to show
        self.assertFalse(os.path.exists(div))


@unittest.skipUnless(CLI and os.path.exists(CLI), "SIMDMF_CLI not set to the built simdmf tool")
class CliRobust(unittest.TestCase):
    """Issue 10: failed runs and clashing outputs lose no file (items 4, 5), thread limits (item 10)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="simdmf-cli-robust-")
        cls.train = os.path.join(cls.dir, "g.train.txt")
        cls.test = os.path.join(cls.dir, "g.test.txt")
        run("gen", "-o", os.path.join(cls.dir, "g"), "--users", 120, "--items", 80, "--ratings", 3000,
            "--test-fraction", 0.2, "--seed", 3, "-q")
        cls.model = os.path.join(cls.dir, "m.smf")
        run("train", cls.train, "-o", cls.model, "--epochs", 3, "-k", 4, "-q")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.dir, name)

    def test_diverged_run_never_replaces_a_file(self):
        out = self.p("keep.smf")
        shutil.copy(self.model, out)
        with open(out, "rb") as f:
            before = f.read()
        # Diverges in epoch 1: nothing learned, nothing written.
        p = run("train", self.train, "-o", out, "--lr", 10, "--init-std", 10, "--epochs", 3, "-q", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not written", p.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), before)
        # JSON says no model was saved.
        p = run("--json", "-q", "train", self.train, "-o", self.p("none.smf"), "--lr", 10, "--init-std", 10, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIsNone(json.loads(p.stdout)["model"])
        self.assertFalse(os.path.exists(self.p("none.smf")))
        # tune's final model diverging: no file either.
        p = run("tune", self.train, "-k", 4, "--lr", 10, "--l2", 0, "--epochs", 2, "--init-std", 10, "-o", out,
                "-q", ok=False)
        self.assertEqual(p.returncode, 1)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_outputs_naming_one_file_are_refused(self):
        same = self.p("same.smf")
        p = run("train", self.train, "-o", same, "--curve", same, "--epochs", 1, ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("same file", p.stderr)
        self.assertFalse(os.path.exists(same))
        # The same file through another spelling, a symbolic link and a hard link.
        os.makedirs(self.p("sub"), exist_ok=True)
        spelled = os.path.join(self.dir, "sub", "..", "same.smf")
        self.assertEqual(run("train", self.train, "-o", same, "--curve", spelled, "--epochs", 1, ok=False).returncode, 2)
        shutil.copy(self.model, self.p("a.smf"))
        os.symlink(self.p("a.smf"), self.p("link.csv"))
        os.link(self.p("a.smf"), self.p("hard.csv"))
        for curve in ("link.csv", "hard.csv"):
            self.assertEqual(run("train", self.train, "-o", self.p("a.smf"), "--curve", self.p(curve), "--epochs", 1,
                                 ok=False).returncode, 2, curve)
        # A model over its own training data would lose the data.
        data = self.p("data.txt")
        shutil.copy(self.train, data)
        self.assertEqual(run("train", data, "-o", data, "--epochs", 1, ok=False).returncode, 2)
        self.assertEqual(run("tune", data, "-o", data, "--budget", 1, "-k", 4, "--epochs", 1, ok=False).returncode, 2)
        with open(data) as f, open(self.train) as g:
            self.assertEqual(f.read(), g.read())
        # Distinct files are fine.
        run("train", self.train, "-o", self.p("ok.smf"), "--curve", self.p("ok.csv"), "--epochs", 1, "-q")
        self.assertTrue(os.path.exists(self.p("ok.smf")) and os.path.exists(self.p("ok.csv")))

    def test_thread_creation_failure_is_not_an_abort(self):
        import resource

        def limit():  # an address space too small for 900 thread stacks (8 MiB each)
            resource.setrlimit(resource.RLIMIT_AS, (768 << 20, 768 << 20))

        def limited(*args):
            return subprocess.run([*WRAPPER, CLI, *map(str, args)], capture_output=True, text=True, timeout=120,
                                  preexec_fn=limit)

        want = run("--json", "-q", "eval", self.model, self.test, "--train", self.train, "--threads", 1).stdout
        p = limited("--json", "-q", "eval", self.model, self.test, "--train", self.train, "--threads", 900)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), json.loads(want))
        p = limited("-q", "cv", self.train, "--folds", 3, "--parallel", 300, "--epochs", 2, "-k", 4)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"rmse\s+\d\.\d+")

    def test_data_formats_issue10(self):
        # Items 2, 9, 13, 14, 15: raw 1-based ids are mapped, string ids and two-column events load,
        # info says the format it read, a logistic count names its line, a folder as users file fails.
        txt = self.p("raw1.txt")
        with open(txt, "w") as f:
            f.write("1 1 4\n1 193 3.5\n10 50 2\n7 193 5\n")
        info = run_json("info", txt)
        self.assertEqual((info["users"], info["items"]), (3, 3))
        self.assertNotEqual(info["format"], "libmf")
        self.assertEqual(run_json("info", txt, "--format", "libmf")["format"], "libmf")
        ev = self.p("plays.tsv")
        with open(ev, "w") as f:
            f.write("USER_1\tLOC_12\nUSER_1\tLOC_12\nUSER_2\tLOC_12\nUSER_2\tLOC_9\n")
        j = run_json("info", ev)
        self.assertEqual((j["ratings"], j["max"]), (3, 2))
        j = run_json("info", ev, "--columns", "1,0", "--delimiter", "tab")
        self.assertEqual((j["users"], j["items"]), (2, 2))
        counts = self.p("counts.data")
        with open(counts, "w") as f:
            f.write("".join(f"{u}\t{u % 5}\t{100 * u + 7}\n" for u in range(40)))
        p = run("info", counts, "-q")
        self.assertIn("warning:", p.stderr)
        self.assertIn("look like counts", p.stderr)
        p = run("train", counts, "--loss", "logistic", "-o", self.p("never.smf"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("counts.data:1:", p.stderr)
        self.assertIn("binarise", p.stderr)
        p = run("recommend", self.model, "--users-file", self.dir, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Is a directory", p.stderr)
        if os.path.exists("/dev/zero"):
            p = run("predict", self.model, "/dev/zero", ok=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("64 KiB", p.stderr)


class CliOutputSaysWhatItIs(unittest.TestCase):
    """Issue 10, items 7 and 18: gen refuses values it cannot generate; output names what it reports."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="simdmf-cli-output-")
        cls.base = os.path.join(cls.dir, "g")
        run("gen", "-o", cls.base, "--users", 60, "--items", 40, "--ratings", 900, "--test-fraction", 0.2, "-q")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.dir, name)

    def test_gen_refuses_values_it_cannot_generate(self):
        for flags, says in ((("--noise", "nan"), "noise sd"), (("--mean", "inf"), "mean"),
                            (("--min", 5, "--max", 1), "above max rating"), (("--bias-std", -1), "bias sd"),
                            (("--popularity", "nan"), "popularity")):
            p = run("gen", "-o", self.p("never"), *flags, ok=False)
            self.assertEqual(p.returncode, 2, flags)
            self.assertIn(says, p.stderr, flags)
            self.assertFalse(os.path.exists(self.p("never.txt")), flags)

    def test_version(self):
        p = run("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^simdmf \d+\.\d+\.\d+ \(model file v2, SIMD level \w+")

    def test_loss_names_and_curve_labels(self):
        train, test = self.base + ".train.txt", self.base + ".test.txt"
        p = run("train", train, "--valid", test, "--epochs", 2, "-o", self.p("m.smf"), "--curve", self.p("c.csv"))
        self.assertIn("train MSE", p.stderr)
        self.assertIn("valid RMSE", p.stderr)
        self.assertIn("validation RMSE", p.stdout)
        self.assertNotIn("train loss", p.stderr + p.stdout)
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            "plot_curve", os.path.join(os.path.dirname(__file__), "..", "tools", "plot_curve.py"))
        plot = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(plot)
        epochs, tr, va, tl, vl = plot.read_curve(self.p("c.csv"))
        self.assertEqual((epochs, tl, vl), ([1, 2], "RMSE", "RMSE"))
        with open(self.p("c.csv")) as f:
            mse = float(f.read().splitlines()[1].split(",")[1])
        self.assertAlmostEqual(tr[0], math.sqrt(mse), places=6)  # MSE drawn as its root
        # A logistic model: log-loss by name, with no --logistic flag, and eval says what was relevant.
        lab = self.p("labels.txt")
        with open(train) as src, open(lab, "w") as f:
            for line in src:
                u, i, r = line.split()
                f.write(f"{u} {i} {1 if float(r) >= 4 else -1}\n")
        p = run("train", lab, "--loss", "logistic", "--valid-fraction", 0.2, "--epochs", 2, "-o", self.p("l.smf"),
                "--curve", self.p("l.csv"))
        self.assertIn("train log-loss", p.stderr)
        self.assertEqual(plot.read_curve(self.p("l.csv"))[3:], ("log-loss", "log-loss"))
        e = run("eval", self.p("l.smf"), lab)
        self.assertIn("test label +1", e.stdout)
        self.assertNotIn("rating >=", e.stdout)
        self.assertEqual(run_json("eval", self.p("l.smf"), lab)["relevance"], "label +1")
        self.assertIn("rating >= 4", run("eval", self.p("m.smf"), test).stdout)
        # The implicit solvers name their own measures.
        p = run("train", train, "--solver", "bpr", "--valid-fraction", 0.2, "--epochs", 2, "-o", self.p("b.smf"),
                "--curve", self.p("b.csv"))
        self.assertIn("train BPR loss", p.stderr)
        self.assertIn("valid 1 - NDCG@10", p.stderr)
        self.assertEqual(plot.read_curve(self.p("b.csv"))[3:], ("BPR loss", "1 - NDCG@10"))
        p = run("train", train, "--set", "loss=implicit", "--set", "solver=als", "--epochs", 2, "-o", self.p("i.smf"),
                "--valid-fraction", 0.2)
        self.assertIn("train weighted loss", p.stderr)
        self.assertIn("valid 1 - NDCG@10", p.stderr)

    def test_one_class_data_is_said(self):
        pos = self.p("pos.txt")
        with open(self.base + ".train.txt") as src, open(pos, "w") as f:
            for line in src:
                u, i, _ = line.split()
                f.write(f"{u} {i} 1\n")
        p = run("train", pos, "--loss", "logistic", "--epochs", 2, "-o", self.p("p.smf"), "-q")
        self.assertIn("warning: all", p.stderr)
        self.assertIn("one class only", p.stderr)
        j = run_json("train", pos, "--epochs", 2, "-o", self.p("c.smf"))
        self.assertTrue(any("training values are 1" in w for w in j["warnings"]), j["warnings"])
        self.assertEqual(run_json("train", self.base + ".train.txt", "--epochs", 2, "-o", self.p("n.smf"))["warnings"], [])

    def test_split_writes_here_and_keeps_columns(self):
        src = os.path.join(self.dir, "data")
        os.makedirs(src, exist_ok=True)
        csv = os.path.join(src, "r.csv")
        with open(csv, "w") as f:
            f.write("uid,iid,stars,when\n")
            for k in range(60):
                f.write(f"u{k % 7},i{k % 11},{1 + k % 5},{1000 + k}\n")
        work = os.path.join(self.dir, "work")
        os.makedirs(work, exist_ok=True)
        run("split", csv, "--test-fraction", 0.25, "-q", cwd=work)
        self.assertEqual(sorted(os.listdir(src)), ["r.csv"])  # nothing written beside the input
        with open(os.path.join(work, "r.csv.train.csv")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "uid,iid,stars,when")      # the header's names kept
        self.assertEqual(len(lines[1].split(",")), 4)          # and the timestamps
        run("split", os.path.join(work, "r.csv.train.csv"), "--kind", "by-time", "--prefix",
            os.path.join(work, "t"), "-q")
        self.assertTrue(os.path.exists(os.path.join(work, "t.test.csv")))
        run("convert", csv, os.path.join(work, "c.csv"), "-q")
        with open(os.path.join(work, "c.csv")) as f:
            self.assertEqual(f.readline().strip(), "uid,iid,stars,when")

    def test_errors_name_the_file_asked_for_and_no_control_bytes(self):
        train = self.base + ".train.txt"
        target = os.path.join(self.dir, "no", "such", "m.smf")
        p = run("train", train, "-o", target, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(target, p.stderr)
        self.assertNotIn(".tmp.", p.stderr)
        self.assertNotIn("epoch", p.stderr)  # refused before training
        bad = self.p("bad\x1b[31m.txt")
        with open(bad, "w") as f:
            f.write("1 2 3\n1 x\x1b]0;title\x07 4\n")
        p = run("train", bad, "-o", self.p("x.smf"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertNotIn("\x1b", p.stderr)
        self.assertNotIn("\x07", p.stderr)
        self.assertIn("\\x1b", p.stderr)


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(CLI and os.path.exists(CLI), "SIMDMF_CLI not set to the built simdmf tool")
class CliOptionRegistry(unittest.TestCase):
    """Issue 10, item 12 and issue 9: flags and --set go through the option registry; a value outside its
    bounds, an unknown key or a non-number is a usage error (exit 2) that names what was wrong."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="simdmf-cli-options-")
        cls.data = os.path.join(cls.dir, "d.txt")
        with open(cls.data, "w") as f:  # 40 users x 30 items, ratings 1..5, deterministic
            for u in range(40):
                for i in range(30):
                    if (u * 7 + i * 3) % 4 == 0:
                        f.write(f"{u} {i} {1 + (u * i) % 5}\n")
        cls.model = os.path.join(cls.dir, "m.smf")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def usage(self, *flags):
        p = run("train", self.data, "--format", "libmf", "-o", self.model, "-q", *flags, ok=False)
        self.assertEqual(p.returncode, 2, f"{flags}: {p.stderr}")
        self.assertFalse(os.path.exists(self.model), flags)
        return p.stderr

    def test_out_of_bounds_values_are_usage_errors_naming_the_bound(self):
        cases = {
            ("-k", "0"): "outside [1, 65536]: it must be >= 1",
            ("--epochs", "0"): "outside [1, 1e7]: it must be >= 1",
            ("--lr", "0"): "outside (0, 10]: it must be > 0",
            ("--lr", "-1"): "outside (0, 10]: it must be > 0",
            ("--lr", "nan"): "'lr' = nan is outside (0, 10]",
            ("--l2", "nan"): "'l2' = nan is outside [0, 1e6]",
            ("--l2", "-5"): "outside [0, 1e6]: it must be >= 0",
            ("--lr", "11"): "outside (0, 10]: it must be <= 10",
            ("-k", "2.5"): "must be an integer",
            ("--loss", "hinge"): "expected squared or logistic",
            ("--set", "tol=-1"): "'tol' = -1 is outside [0, 1e30]",
            ("--lr-list", "0.1,0"): "'lr_list' value = 0 is outside (0, 10]",
        }
        for flags, text in cases.items():
            self.assertIn(text, self.usage(*flags), flags)

    def test_set_unknown_key_and_non_number(self):
        self.assertIn("unknown option 'foo'", self.usage("--set", "foo=1"))
        err = self.usage("--set", "lr=abc")
        self.assertIn("'abc' is not a number for the real option 'lr'", err)
        self.assertNotIn("string option", err)
        self.assertIn("'x' is not a number for the integer option 'k'", self.usage("--set", "k=x"))
        self.assertIn("expects KEY=VALUE", self.usage("--set", "lr"))

    def test_values_in_bounds_train_and_are_used(self):
        j = run_json("train", self.data, "--format", "libmf", "-o", self.model, "-k", 1, "--epochs", 1, "--lr", 0.001,
                     "--l2", 0, "--set", "l2_bias=0", "--set", "loss=squared")
        self.assertEqual(j["options"]["k"], 1)
        self.assertEqual(j["options"]["epochs"], 1)
        self.assertEqual(j["options"]["lr"], 0.001)
        self.assertEqual(j["options"]["l2"], 0)
        self.assertEqual(j["options"]["l2_bias"], 0)
        os.remove(self.model)

    def test_tune_flags_are_registry_keys(self):
        p = run("tune", self.data, "--format", "libmf", "-k", "4,0", "-q", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("'tune_k' value = 0 is outside [1, 65536]", p.stderr)
        p = run("tune", self.data, "--format", "libmf", "--valid-fraction", 1, "-q", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("outside (0, 1)", p.stderr)
        p = run("tune", self.data, "--format", "libmf", "--method", "best", "-q", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("expected grid or random", p.stderr)

    def test_options_command_lists_the_registry(self):
        rows = run_json("options")
        names = [r["name"] for r in rows]
        for key in ("k", "lr", "loss", "lr_list", "tune_k", "tune_method"):
            self.assertIn(key, names)
        lr = rows[names.index("lr")]
        self.assertEqual((lr["type"], lr["group"]), ("real", "train"))
        self.assertEqual(lr["bounds"], {"lower": 0, "lower_open": True, "upper": 10, "upper_open": False})
        self.assertIn("0.05 if loss = logistic", lr["default"])
        self.assertEqual(rows[names.index("loss")]["allowed"], ["squared", "logistic"])
        tune = run_json("options", "--group", "tune")
        self.assertTrue(tune and all(r["group"] == "tune" for r in tune))
        # The help of a flag shows the row's bounds and default.
        self.assertIn("(0, 10]; default 0.5 if solver = gd", run("train", "--help").stdout)
