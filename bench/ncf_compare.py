#!/usr/bin/python3
"""simdmf's GMF / MLP / NeuMF against the PyTorch reference (bench/ncf_torch.py) on MovieLens u1,
the two sides run alternately (ROUNDS rounds of one run each per model), one thread each. Prints, per
model, the median seconds per epoch of each side and their ratio (wall clock, and CPU time: the
process's, which other processes sharing the cores do not inflate), the same for scoring every item for
one user, and the last epoch's test RMSE of each side (simdmf's biased MF beside them).
NCF_LEVELS=avx512,avx2 runs simdmf at each of those SIMD levels in every round (simdmf at each level,
then torch, alternating), so the ratios of both levels come from one run.

    SIMDMF_SIMD=avx2 /usr/bin/python3 bench/ncf_compare.py [build] [epochs=3] [rounds=3]
    NCF_LEVELS=avx512,avx2 /usr/bin/python3 bench/ncf_compare.py [build] [epochs=3] [rounds=3]
NCF_PROTOCOL=ranking: the ranking protocol instead (log loss, 4 sampled negatives per positive per
epoch, HR@10 / NDCG@10 of each held-out event against 99 sampled items) on NCF_TRAIN / NCF_TEST (the
events of `simdmf split --kind leave-one-out`); NCF_KINDS=gmf,mlp picks the models (default all three).
NCF_TORCH_INPUTS=dense,sparse (with NCF_INPUT=rows, the notebook's input form) runs the reference once
per listed input variant each round (ncf_torch.py's NCF_TORCH_INPUT) and prints simdmf's ratio to each.
Skips (exit 0, with a message) when ../shared/data/ml-100k/u1.base is absent.
"""
import json
import os
import statistics
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
epochs = sys.argv[2] if len(sys.argv) > 2 else "3"
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
data = os.environ.get("SIMDMF_DATA_DIR", os.path.join(root, "..", "shared", "data"))
base, test = os.path.join(data, "ml-100k", "u1.base"), os.path.join(data, "ml-100k", "u1.test")
ranking = os.environ.get("NCF_PROTOCOL", "rating") == "ranking"
if ranking:
    base, test = os.environ["NCF_TRAIN"], os.environ["NCF_TEST"]
kinds = os.environ.get("NCF_KINDS", "gmf,mlp,neumf").split(",")
loss = ["logistic"] if ranking else []
if not os.path.exists(base):
    print("skipped: %s is absent" % base)
    sys.exit(0)
env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


levels = [x for x in os.environ.get("NCF_LEVELS", "").split(",") if x] or [None]


def run(cmd, level=None, extra=None):
    e = dict(env, SIMDMF_SIMD=level) if level else dict(env)
    e.update(extra or {})
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=e).stdout.strip().splitlines()[-1])


ours = [os.path.join(build, "bench", "ncf_time")]
theirs = ["/usr/bin/python3", os.path.join(root, "bench", "ncf_torch.py")]
if not ranking:
    mf = run(ours + [base, test, "mf", "30"])
    print("simdmf %s; biased MF (k=64, 30 epochs) u1 RMSE %.4f" % (mf["simd"], mf["valid"][-1]))


def quality(r):
    return "HR@10 %.4f NDCG@10 %.4f" % (r["hr"], r["ndcg"]) if ranking else "RMSE %.4f" % r["valid"][-1]


for kind in kinds:
    s_ep, s_sc, s_rm, s_cpu = ({lv: [] for lv in levels} for _ in range(4))
    variants = [x for x in os.environ.get("NCF_TORCH_INPUTS", "").split(",") if x] or [None]
    T = {v: ([], [], [], [], [None]) for v in variants}
    for _ in range(rounds):
        for lv in levels:
            a = run(ours + [base, test, kind, epochs] + loss, lv)
            s_ep[lv] += a["epoch_seconds"]
            s_cpu[lv] += a["epoch_cpu_seconds"]
            s_sc[lv].append(a["score_user_seconds"])
            s_rm[lv].append(quality(a))
            s_ep[lv + "_name" if lv else "name"] = a["simd"]
        for v in variants:
            b = run(theirs + [base, test, kind, epochs] + loss, None, {"NCF_TORCH_INPUT": v} if v else None)
            t_ep, t_cpu, t_sc, t_rm, t_name = T[v]
            t_ep += b["epoch_seconds"]
            t_cpu += b["epoch_cpu_seconds"]
            t_sc.append(b["score_user_seconds"])
            t_rm.append(quality(b))
            t_name[0] = b["simd"]
    for v in variants:
        t_ep, t_cpu, t_sc, t_rm, t_name = T[v]
        te, ts, tc = statistics.median(t_ep), statistics.median(t_sc), statistics.median(t_cpu)
        for lv in levels:
            se, ss, sc = statistics.median(s_ep[lv]), statistics.median(s_sc[lv]), statistics.median(s_cpu[lv])
            print("%-6s %-7s epoch: simdmf %.4f s, torch %.4f s, ratio %.1fx | epoch CPU: simdmf %.4f s, torch %.4f s, "
                  "ratio %.1fx | score one user: simdmf %.1f us, torch %.1f us, ratio %.1fx | after %s epochs: simdmf %s, "
                  "torch %s (%s)"
                  % (kind, s_ep[lv + "_name" if lv else "name"], se, te, te / se, sc, tc, tc / sc, ss * 1e6, ts * 1e6,
                     ts / ss, epochs, s_rm[lv][-1], t_rm[-1], t_name[0]))
