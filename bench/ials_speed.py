"""iALS sweep times, sides alternating in one run (bench/README.md, issue 15).

    /usr/bin/python3 bench/ials_speed.py TRAIN NEW/tools/simdmf [OLD/tools/simdmf] [--rounds 3] [--ks 64,128]
        [--threads 1,2] [--levels avx2,scalar] [--solver cg] [--sweeps 10] [--extra "--set alpha=5 --l2 1"]

Per round, k, thread count and side (level x build): the training seconds of (sweeps + 1) sweeps minus
those of 1 sweep, over `sweeps` (wall clock of training only, set-up cancels: the `seconds` of
`simdmf train --json`), and the same for the process's CPU time (user + sys). Prints the median and the
minimum of the rounds in ms per sweep, and per round the ratio of each side to the first level's scalar
side when present.
"""
import argparse, json, os, resource, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("train"); ap.add_argument("new"); ap.add_argument("old", nargs="?")
ap.add_argument("--rounds", type=int, default=3); ap.add_argument("--ks", default="64,128")
ap.add_argument("--threads", default="1,2"); ap.add_argument("--levels", default="avx2,scalar")
ap.add_argument("--solver", default="cg"); ap.add_argument("--sweeps", type=int, default=10)
ap.add_argument("--extra", default="--set alpha=5 --l2 1")
a = ap.parse_args()

def run(exe, level, k, t, epochs):
    env = dict(os.environ, SIMDMF_SIMD=level)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([exe, "--json", "-q", "train", a.train, "-o", "/tmp/ials_speed.smf", "-k", str(k), "--epochs",
                          str(epochs), "--set", "loss=implicit", "--set", "solver=als", "--set", "ials_solver=" + a.solver,
                          "--threads", str(t)] + a.extra.split(), env=env, capture_output=True, check=True, text=True).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return json.loads(out)["seconds"], r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime

sides = [(b, lv) for b in (["new", "old"] if a.old else ["new"]) for lv in a.levels.split(",")]
exe = {"new": a.new, "old": a.old}
res = {}
for _ in range(a.rounds):
    for k in a.ks.split(","):
        for t in a.threads.split(","):
            for b, lv in sides:
                w1, c1 = run(exe[b], lv, k, t, 1)
                wn, cn = run(exe[b], lv, k, t, a.sweeps + 1)
                res.setdefault((k, t, b, lv), []).append((1e3 * (wn - w1) / a.sweeps, 1e3 * (cn - c1) / a.sweeps))
for (k, t, b, lv), v in res.items():
    w = sorted(x[0] for x in v); c = sorted(x[1] for x in v)
    ref = res.get((k, t, b, "scalar"))
    ratio = " ".join("%.1f" % (r[0] / x[0]) for r, x in zip(ref, v)) if ref and lv != "scalar" else "-"
    print("k %s threads %s %s %-6s ms/sweep wall %s (median %.1f, min %.1f) cpu median %.1f | scalar/this per round %s" % (
        k, t, b, lv, " ".join("%.1f" % x[0] for x in v), w[len(w) // 2], w[0], c[len(c) // 2], ratio))
