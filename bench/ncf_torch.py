#!/usr/bin/python3
"""PyTorch reference of simdmf's GMF, MLP and NeuMF (bench/ncf_compare.py runs it beside
build/bench/ncf_time): learned embeddings, N(0, 0.01) embeddings, Glorot-uniform dense layers, zero
biases, MLP [64, 32, 16, 8] with ReLU, one linear output unit, Adam (lr 1e-3), batch 256, squared loss
on the ratings, samples shuffled each epoch, one thread. Prints one JSON line as ncf_time does.
With `logistic` (the ranking protocol of He et al.): TRAIN holds positive events (user item ...),
each epoch draws NEG (default 4, NCF_NEGATIVES) unseen items per positive (uniform, never an item the
user has in TRAIN; the drawing is inside the epoch's time, as it is in simdmf's), log loss on the
output unit (sigmoid), and the test events are each ranked against 99 distinct items the user has in
neither file (numpy seed 1): "hr" and "ndcg" at 10 in the JSON line; NCF_CANDIDATES=FILE ranks them
against the candidate sets of that file instead (bench/ncf_candidates.py; ncf_time reads the same).
NCF_SEED (default 42) seeds torch's initial draws and batch order and numpy's negatives.

    /usr/bin/python3 bench/ncf_torch.py TRAIN TEST gmf|mlp|neumf EPOCHS [squared|logistic] [k=8] [batch=256]
Environment (as ncf_time): NCF_LAYERS=60,30,30,30,30,30 the MLP widths, NCF_K and NCF_BATCH the
defaults of k and batch; NCF_ACT=relu|leaky_relu and NCF_SLOPE (0.3) the tower's activation;
NCF_LINK=identity|scaled (scaled: min + (max - min) sigmoid(z) on the training ratings' range, the
notebook's 1 + 4 sigmoid); NCF_L2 weight decay (PyTorch's coupled L2, as simdmf's ncf_l2_weights) on
every dense layer's weights and biases (default 0).
NCF_INPUT=rows: the notebook's input form instead of embeddings: the user's row of the training
matrix (raw ratings, missing 0) and the item's column, each through a dense layer (weights + bias) per
branch, with the pair's own rating left out of both while training (simdmf's ncf_input_leave_out = 1;
NCF_LEAVE_OUT=0 keeps it), each row and column divided by the root of its entry count (simdmf's
ncf_input_norm = sqrt; NCF_NORM=none: raw); NCF_TORCH_INPUT=dense (default: the rows as dense vectors through
nn.Linear, as the notebook fed them) or sparse (nn.EmbeddingBag, mode sum with the ratings as
per-sample weights, plus a bias: the same sparse x dense product simdmf computes).
"""
import json
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
SEED = int(os.environ.get("NCF_SEED", "42"))  # the initial draws, negatives and batch order (as ncf_time's)
torch.manual_seed(SEED)


def load(path, umap=None, imap=None):
    rows = np.loadtxt(path, dtype=np.int64, ndmin=2)
    if rows.shape[1] < 3:  # events: value 1
        rows = np.hstack([rows[:, :2], np.ones((len(rows), 1), dtype=np.int64)])
    if umap is None:
        umap = {u: j for j, u in enumerate(dict.fromkeys(rows[:, 0].tolist()))}
        imap = {i: j for j, i in enumerate(dict.fromkeys(rows[:, 1].tolist()))}
    keep = [j for j in range(len(rows)) if rows[j, 0] in umap and rows[j, 1] in imap]
    rows = rows[keep]
    u = torch.tensor([umap[x] for x in rows[:, 0].tolist()])
    i = torch.tensor([imap[x] for x in rows[:, 1].tolist()])
    return u, i, torch.tensor(rows[:, 2], dtype=torch.float32), umap, imap


class RowsInput(torch.nn.Module):
    """The notebook's input layer: a user's row of the training matrix R (or an item's column) times a
    dense weight matrix plus a bias. dense: the rows as dense vectors through nn.Linear; sparse: an
    EmbeddingBag summing the weight rows of the row's non-zeros scaled by the ratings."""

    def __init__(self, csr, n_in, width, sparse, dense_rows):
        super().__init__()
        self.sparse = sparse
        self.ptr, self.idx, self.val = csr
        self.dense_rows = dense_rows
        bound = (6.0 / (n_in + width)) ** 0.5  # Glorot uniform, as simdmf's and Keras's dense layers
        if sparse:
            self.bag = torch.nn.EmbeddingBag(n_in, width, mode="sum")
            torch.nn.init.uniform_(self.bag.weight, -bound, bound)
            self.bias = torch.nn.Parameter(torch.zeros(width))
        else:
            self.lin = torch.nn.Linear(n_in, width)
            torch.nn.init.uniform_(self.lin.weight, -bound, bound)
            torch.nn.init.zeros_(self.lin.bias)

    def forward(self, rows, skip):
        """rows: the batch's row ids; skip: per row the column left out (-1: none)."""
        if not self.sparse:
            x = self.dense_rows[rows]
            if skip is not None:
                x = x.clone()
                x[torch.arange(len(rows)), skip.clamp(min=0)] *= (skip < 0).float()
            return self.lin(x)
        starts, ends = self.ptr[rows], self.ptr[rows + 1]
        lens = ends - starts
        pos = torch.repeat_interleave(starts - torch.cumsum(lens, 0) + lens, lens) + torch.arange(int(lens.sum()))
        idx, w = self.idx[pos], self.val[pos]
        if skip is not None:
            w = w * (idx != torch.repeat_interleave(skip, lens)).float()
        offsets = torch.cumsum(lens, 0) - lens
        return self.bag(idx, offsets, per_sample_weights=w) + self.bias


def csr(a, b, v, n, norm):
    """Rows a of (b, v) as CSR; norm: each row's values divided by the root of its entry count."""
    order = np.lexsort((b, a))
    count = np.bincount(a, minlength=n)
    ptr = np.concatenate([[0], np.cumsum(count)])
    vals = v[order].astype(np.float32)
    if norm:
        vals = vals / np.sqrt(np.maximum(count[a[order]], 1)).astype(np.float32)
    return torch.from_numpy(ptr), torch.from_numpy(b[order]), torch.from_numpy(vals)


class NCF(torch.nn.Module):
    def __init__(self, kind, nu, ni, k=8, layers=(64, 32, 16, 8), act="relu", slope=0.3, rows=None, sparse=False,
                 norm=True):
        super().__init__()
        self.kind = kind
        self.act = (lambda x: torch.nn.functional.leaky_relu(x, slope)) if act == "leaky_relu" else torch.relu
        self.rows = rows is not None
        width = 0
        if rows is not None:  # (u, i, r) of the training data: the user rows and item columns
            u, i, r = (t.numpy() for t in rows)
            ucsr, icsr = csr(u, i, r, nu, norm), csr(i, u, r, ni, norm)
            R = torch.zeros(nu, ni)  # the user rows' input values
            RT = torch.zeros(ni, nu)  # the item columns'
            R[torch.from_numpy(u[np.lexsort((i, u))]), ucsr[1]] = ucsr[2]
            RT[torch.from_numpy(i[np.lexsort((u, i))]), icsr[1]] = icsr[2]

            def side(users, w):
                return RowsInput(ucsr if users else icsr, ni if users else nu, w, sparse, R if users else RT)
        if kind != "mlp":
            self.gP = side(True, k) if self.rows else torch.nn.Embedding(nu, k)
            self.gQ = side(False, k) if self.rows else torch.nn.Embedding(ni, k)
            width += k
        if kind != "gmf":
            self.mP = side(True, layers[0] // 2) if self.rows else torch.nn.Embedding(nu, layers[0] // 2)
            self.mQ = side(False, layers[0] // 2) if self.rows else torch.nn.Embedding(ni, layers[0] // 2)
            self.tower = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:]))
            width += layers[-1]
        self.out = torch.nn.Linear(width, 1)
        for mod in self.modules():
            if isinstance(mod, torch.nn.Embedding):
                torch.nn.init.normal_(mod.weight, 0.0, 0.01)
            elif isinstance(mod, torch.nn.Linear) and not (self.rows and mod.in_features in (nu, ni)):
                torch.nn.init.xavier_uniform_(mod.weight)
                torch.nn.init.zeros_(mod.bias)

    def forward(self, u, i, leave_out=False):
        if self.rows:  # the pair's own rating out of the user's row (its item) and the item's column (its user)
            su, si = (i, u) if leave_out else (None, None)
            P = lambda mod: mod(u, su)
            Q = lambda mod: mod(i, si)
        else:
            P = lambda mod: mod(u)
            Q = lambda mod: mod(i)
        parts = []
        if self.kind != "mlp":
            parts.append(P(self.gP) * Q(self.gQ))
        if self.kind != "gmf":
            x = torch.cat([P(self.mP), Q(self.mQ)], dim=1)
            for layer in self.tower:
                x = self.act(layer(x))
            parts.append(x)
        return self.out(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]).squeeze(1)


def draw_unseen(seen, users, rng):
    """One uniform item per entry of users that the user has not seen (seen: users x items bool)."""
    items = rng.integers(0, seen.shape[1], len(users))
    bad = np.nonzero(seen[users, items])[0]
    while len(bad):
        items[bad] = rng.integers(0, seen.shape[1], len(bad))
        bad = bad[seen[users[bad], items[bad]]]
    return items


def read_candidates(path, umap, imap):
    """bench/ncf_candidates.py's file: per line a user, the held-out item, its negatives (the files' ids)."""
    out = []
    with open(path) as f:
        for line in f:
            x = [int(v) for v in line.split()]
            if x[0] in umap and all(v in imap for v in x[1:]):
                out.append((umap[x[0]], np.array([imap[v] for v in x[1:]], dtype=np.int64)))
    return out


def rank_metrics(model, cases, at=10):
    """HR@at and NDCG@at of each (user, [held-out item, negatives...]): the held-out item's rank is the
    number of negatives scoring above it."""
    hr = ndcg = 0.0
    with torch.no_grad():
        for uu, cand in cases:
            s = model(torch.full((len(cand),), uu, dtype=torch.long), torch.from_numpy(cand)).numpy()
            rank = int(np.sum(s[1:] > s[0]))
            if rank < at:
                hr += 1
                ndcg += 1 / np.log2(rank + 2)
    return hr / len(cases), ndcg / len(cases)


def hit_ndcg(model, u, i, tu, ti, n_items, at=10, negatives=99):
    """Each test event ranked against `negatives` distinct items the user has in neither set."""
    seen = np.zeros((int(max(u.max(), tu.max())) + 1, n_items), dtype=bool)
    seen[u.numpy(), i.numpy()] = True
    seen[tu.numpy(), ti.numpy()] = True
    rng = np.random.default_rng(1)
    cases = []
    for uu, ii in zip(tu.tolist(), ti.tolist()):
        pool = np.nonzero(~seen[uu])[0]
        cases.append((uu, np.concatenate([[ii], rng.choice(pool, min(negatives, len(pool)), replace=False)])))
    return rank_metrics(model, cases, at)


def main():
    train, test, kind, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    args = sys.argv[5:]
    logistic = bool(args) and args[0] in ("squared", "logistic") and args.pop(0) == "logistic"
    k = int(args[0]) if len(args) > 0 else int(os.environ.get("NCF_K", "8"))
    batch = int(args[1]) if len(args) > 1 else int(os.environ.get("NCF_BATCH", "256"))
    layers = tuple(int(w) for w in os.environ.get("NCF_LAYERS", "64,32,16,8").split(","))
    neg = int(os.environ.get("NCF_NEGATIVES", "4"))
    act, slope = os.environ.get("NCF_ACT", "relu"), float(os.environ.get("NCF_SLOPE", "0.3"))
    scaled, l2 = os.environ.get("NCF_LINK", "identity") == "scaled", float(os.environ.get("NCF_L2", "0"))
    rows_form = os.environ.get("NCF_INPUT", "embedding") == "rows"
    leave_out = rows_form and os.environ.get("NCF_LEAVE_OUT", "1") == "1"
    sparse = os.environ.get("NCF_TORCH_INPUT", "dense") == "sparse"
    u, i, r, umap, imap = load(train)
    tu, ti, tr, _, _ = load(test, umap, imap)
    norm = os.environ.get("NCF_NORM", "sqrt") != "none"
    model = NCF(kind, len(umap), len(imap), k, layers, act, slope, (u, i, r) if rows_form else None, sparse, norm)
    lo, hi = float(r.min()), float(r.max())
    link = (lambda z: lo + (hi - lo) * torch.sigmoid(z)) if scaled else (lambda z: z)
    emb = [p for n, p in model.named_parameters() if isinstance(model.get_submodule(n.rsplit(".", 1)[0]), torch.nn.Embedding)]
    dense = [p for n, p in model.named_parameters() if not any(p is q for q in emb)]
    opt = torch.optim.Adam([{"params": emb}, {"params": dense, "weight_decay": l2}], lr=1e-3)
    epoch_s, epoch_cpu, valid = [], [], []
    rng = np.random.default_rng(SEED)
    if logistic:
        seen = np.zeros((len(umap), len(imap)), dtype=bool)
        seen[u.numpy(), i.numpy()] = True
        pu = np.repeat(u.numpy(), neg)
    for _ in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        if logistic:  # the positives and `neg` fresh unseen items per positive
            su = torch.cat([u, torch.from_numpy(pu)])
            si = torch.cat([i, torch.from_numpy(draw_unseen(seen, pu, rng))])
            y = torch.cat([torch.ones(len(u)), torch.zeros(len(pu))])
        else:
            su, si, y = u, i, r
        perm = torch.randperm(len(y))
        for s in range(0, len(y), batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            z = model(su[idx], si[idx], leave_out)
            if logistic:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y[idx])
            else:
                loss = torch.nn.functional.mse_loss(link(z), y[idx])
            loss.backward()
            opt.step()
        epoch_s.append(time.perf_counter() - t0)
        epoch_cpu.append(time.process_time() - c0)
    extra = {}
    if logistic:
        cand = os.environ.get("NCF_CANDIDATES")
        if cand:
            extra["hr"], extra["ndcg"] = rank_metrics(model, read_candidates(cand, umap, imap))
        else:
            extra["hr"], extra["ndcg"] = hit_ndcg(model, u, i, tu, ti, len(imap))
    else:
        with torch.no_grad():
            p = link(model(tu, ti)).clamp(1, 5)
            valid.append(float(torch.sqrt(torch.mean((p - tr) ** 2))))
    users = min(100, len(umap))
    items = torch.arange(len(imap))
    with torch.no_grad():
        t0 = time.perf_counter()
        for uu in range(users):
            model(torch.full((len(imap),), uu, dtype=torch.long), items)
        score_s = (time.perf_counter() - t0) / users
    name = "torch " + torch.__version__ + (" rows " + ("sparse" if sparse else "dense") if rows_form else "")
    print(json.dumps({"model": kind, "simd": name, "epoch_seconds": epoch_s, "epoch_cpu_seconds": epoch_cpu,
                      "score_user_seconds": score_s, "valid": valid, **extra}))


if __name__ == "__main__":
    main()
