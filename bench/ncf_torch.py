#!/usr/bin/python3
"""PyTorch reference of simdmf's GMF, MLP and NeuMF (bench/ncf_compare.py runs it beside
build/bench/ncf_time): learned embeddings, N(0, 0.01) embeddings, Glorot-uniform dense layers, zero
biases, MLP [64, 32, 16, 8] with ReLU, one linear output unit, Adam (lr 1e-3), batch 256, squared loss
on the ratings, samples shuffled each epoch, one thread. Prints one JSON line as ncf_time does.

    /usr/bin/python3 bench/ncf_torch.py TRAIN TEST gmf|mlp|neumf EPOCHS [k=8] [batch=256]
Environment (as ncf_time): NCF_LAYERS=60,30,30,30,30,30 the MLP widths, NCF_K and NCF_BATCH the
defaults of k and batch.
"""
import json
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
torch.manual_seed(42)


def load(path, umap=None, imap=None):
    rows = np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2))
    if umap is None:
        umap = {u: j for j, u in enumerate(dict.fromkeys(rows[:, 0].tolist()))}
        imap = {i: j for j, i in enumerate(dict.fromkeys(rows[:, 1].tolist()))}
    keep = [j for j in range(len(rows)) if rows[j, 0] in umap and rows[j, 1] in imap]
    rows = rows[keep]
    u = torch.tensor([umap[x] for x in rows[:, 0].tolist()])
    i = torch.tensor([imap[x] for x in rows[:, 1].tolist()])
    return u, i, torch.tensor(rows[:, 2], dtype=torch.float32), umap, imap


class NCF(torch.nn.Module):
    def __init__(self, kind, nu, ni, k=8, layers=(64, 32, 16, 8)):
        super().__init__()
        self.kind = kind
        width = 0
        if kind != "mlp":
            self.gP = torch.nn.Embedding(nu, k)
            self.gQ = torch.nn.Embedding(ni, k)
            width += k
        if kind != "gmf":
            self.mP = torch.nn.Embedding(nu, layers[0] // 2)
            self.mQ = torch.nn.Embedding(ni, layers[0] // 2)
            self.tower = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:]))
            width += layers[-1]
        self.out = torch.nn.Linear(width, 1)
        for mod in self.modules():
            if isinstance(mod, torch.nn.Embedding):
                torch.nn.init.normal_(mod.weight, 0.0, 0.01)
            elif isinstance(mod, torch.nn.Linear):
                torch.nn.init.xavier_uniform_(mod.weight)
                torch.nn.init.zeros_(mod.bias)

    def forward(self, u, i):
        parts = []
        if self.kind != "mlp":
            parts.append(self.gP(u) * self.gQ(i))
        if self.kind != "gmf":
            x = torch.cat([self.mP(u), self.mQ(i)], dim=1)
            for layer in self.tower:
                x = torch.relu(layer(x))
            parts.append(x)
        return self.out(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]).squeeze(1)


def main():
    train, test, kind, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    k = int(sys.argv[5]) if len(sys.argv) > 5 else int(os.environ.get("NCF_K", "8"))
    batch = int(sys.argv[6]) if len(sys.argv) > 6 else int(os.environ.get("NCF_BATCH", "256"))
    layers = tuple(int(w) for w in os.environ.get("NCF_LAYERS", "64,32,16,8").split(","))
    u, i, r, umap, imap = load(train)
    tu, ti, tr, _, _ = load(test, umap, imap)
    model = NCF(kind, len(umap), len(imap), k, layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_s, valid = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(r))
        for s in range(0, len(r), batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(u[idx], i[idx]), r[idx])
            loss.backward()
            opt.step()
        epoch_s.append(time.perf_counter() - t0)
    with torch.no_grad():
        p = model(tu, ti).clamp(1, 5)
        valid.append(float(torch.sqrt(torch.mean((p - tr) ** 2))))
    users = min(100, len(umap))
    items = torch.arange(len(imap))
    with torch.no_grad():
        t0 = time.perf_counter()
        for uu in range(users):
            model(torch.full((len(imap),), uu, dtype=torch.long), items)
        score_s = (time.perf_counter() - t0) / users
    print(json.dumps({"model": kind, "simd": "torch " + torch.__version__, "epoch_seconds": epoch_s,
                      "score_user_seconds": score_s, "valid": valid}))


if __name__ == "__main__":
    main()
