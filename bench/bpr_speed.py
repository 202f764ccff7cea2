"""BPR against squared SGD (and optionally an older build's BPR), alternating in one run (bench/README.md).

    /usr/bin/python3 bench/bpr_speed.py TRAIN BUILD/tools/simdmf [OLD/tools/simdmf] [--rounds 5] [-k 64] [--level avx2]

Per round and side the CPU seconds of 100 epochs = CPU(105 epochs) - CPU(5 epochs) of the whole process
(user + sys, so loading and set-up cancel out; on a shared machine wall time is mostly other processes).
TRAIN is any ratings file simdmf reads (e.g. the 80/20 per-user split of MovieLens 100K); one thread.
"""
import argparse, os, resource, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("train"); ap.add_argument("new"); ap.add_argument("old", nargs="?")
ap.add_argument("--rounds", type=int, default=5); ap.add_argument("-k", default="64"); ap.add_argument("--level", default="avx2")
a = ap.parse_args()
env = dict(os.environ, SIMDMF_SIMD=a.level)
events = sum(1 for _ in open(a.train))

def cpu(exe, solver, epochs):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([exe, "train", a.train, "-o", "/tmp/bpr_speed.smf", "--solver", solver, "-k", a.k, "--epochs", str(epochs),
                    "-q", "--threads", "1"], env=env, capture_output=True, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime

sides = [("squared SGD", a.new, "sgd"), ("BPR", a.new, "bpr")] + ([("BPR (old)", a.old, "bpr")] if a.old else [])
res = {n: [] for n, _, _ in sides}
for _ in range(a.rounds):
    for n, exe, s in sides:
        res[n].append(cpu(exe, s, 105) - cpu(exe, s, 5))
for n, v in res.items():
    m = sorted(v)[len(v) // 2]
    print("%-12s k=%s %s: CPU s / 100 epochs %s | median %.3f = %.1fM updates/s" % (
        n, a.k, a.level, " ".join("%.3f" % x for x in v), m, 100 * events / m / 1e6))
for n in res:
    if n != "squared SGD":
        print("%s / squared SGD speed per round:" % n, " ".join("%.2f" % (x / y) for x, y in zip(res["squared SGD"], res[n])))
