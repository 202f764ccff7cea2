"""Quantized tables on MovieLens 100K (issue 13): for u1..u5, an MF model (k = 64, 30 epochs of SGD),
its fp16 and int8 copies: test RMSE of each, and the top-10 overlap (training items excluded) of each
quantized model's lists with the fp32 model's, over every user.
Run: SIMDMF_LIBRARY=build/capi/libsimdmf.so /usr/bin/python3 bench/quant_ml100k.py [/work/shared/data/ml-100k]"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import simdmf  # noqa: E402

data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "ml-100k")
if not os.path.exists(os.path.join(data, "u1.base")):
    sys.exit("ML-100K not found at %s" % data)
print("fold   rmse fp32   fp16 (change)        int8 (change)        overlap@10 fp16  int8")
for f in range(1, 6):
    tr = simdmf.Dataset.load(os.path.join(data, "u%d.base" % f))
    m = simdmf.Trainer(k=64, epochs=30).fit(tr)
    te = simdmf.Dataset.load(os.path.join(data, "u%d.test" % f), like=m)
    path = "/tmp/quant_ml100k_%d.smf" % os.getpid()
    m.save(path)
    users = np.arange(m.shape[0])
    base = m.evaluate(te)["rmse"]
    ref, _ = m.recommend(users, n=10, exclude=tr)
    row = []
    for table in ("fp16", "int8"):
        q = simdmf.Model.load(path)
        q.quantize(table)
        rm = q.evaluate(te)["rmse"]
        ids, _ = q.recommend(users, n=10, exclude=tr)
        same = sum(len(set(a[a >= 0]) & set(b[b >= 0])) for a, b in zip(ref, ids))
        row.append((rm, same / float((ref >= 0).sum())))
    os.remove(path)
    print("u%d     %.6f    %.6f (%+.1e)   %.6f (%+.1e)   %.3f            %.3f" %
          (f, base, row[0][0], row[0][0] - base, row[1][0], row[1][0] - base, row[0][1], row[1][1]))
