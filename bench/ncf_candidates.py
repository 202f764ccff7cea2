#!/usr/bin/python3
"""Candidate sets of the ranking protocol (He et al.'s HR@K / NDCG@K against sampled items), written once
so that simdmf's bench/ncf_time and the PyTorch reference bench/ncf_torch.py rank each held-out event
against the same items (both read the file given in NCF_CANDIDATES). One line per event of TEST:

    user held_out_item neg_1 ... neg_N        (the files' own ids, whitespace separated)

the negatives N (default 99) distinct items, uniform over the items of TRAIN that the user has in
neither TRAIN nor TEST (numpy's default_rng(SEED), seed 1: the draw ncf_torch.py made by itself before).

    /usr/bin/python3 bench/ncf_candidates.py TRAIN TEST OUT [negatives=99] [seed=1]
"""
import sys

import numpy as np


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    train, test, out = sys.argv[1:4]
    negatives = int(sys.argv[4]) if len(sys.argv) > 4 else 99
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    tr = np.loadtxt(train, dtype=np.int64, ndmin=2)[:, :2]
    te = np.loadtxt(test, dtype=np.int64, ndmin=2)[:, :2]
    items = list(dict.fromkeys(tr[:, 1].tolist()))  # the training file's items, first-seen order
    index = {i: j for j, i in enumerate(items)}
    users = set(tr[:, 0].tolist())
    seen = {}
    for u, i in np.vstack([tr, te]).tolist():
        if i in index:
            seen.setdefault(u, set()).add(index[i])
    rng = np.random.default_rng(seed)
    written = 0
    with open(out, "w") as f:
        for u, i in te.tolist():
            if u not in users or i not in index:
                continue  # a cold user or item: not ranked (as simdmf's sampled_ranking skips it)
            mask = np.ones(len(items), dtype=bool)
            mask[list(seen[u])] = False
            pool = np.nonzero(mask)[0]
            cand = rng.choice(pool, min(negatives, len(pool)), replace=False)
            f.write(" ".join(str(x) for x in [u, i] + [items[c] for c in cand]) + "\n")
            written += 1
    print("%d candidate sets of %d negatives -> %s" % (written, negatives, out))


if __name__ == "__main__":
    main()
