#!/usr/bin/python3
"""Plot a learning curve written by `simdmf train --curve FILE.csv` as a PNG.

Usage: /usr/bin/python3 tools/plot_curve.py curve.csv [-o curve.png] [--title TEXT]

Draws the training error and the validation metric per epoch. The CSV names what its numbers are
(columns train_loss_name and valid_metric_name): a training loss "mse" (mean squared error) is drawn as its
square root, the training RMSE, so that both curves are on the same scale; "log_loss" is drawn as it is.
A CSV written before those columns existed is read as MSE / RMSE unless --logistic says otherwise.
Needs Debian's python3-matplotlib.
"""
import argparse
import csv
import math
import sys


LABELS = {"mse": "RMSE", "rmse": "RMSE", "log_loss": "log-loss", "bpr_loss": "BPR loss",
          "one_minus_auc": "1 - AUC", "one_minus_ndcg10": "1 - NDCG@10", "weighted_loss": "weighted loss"}


def read_curve(path, logistic=False):
    """(epochs, train, valid, train_label, valid_label) of a curve CSV; train as drawn (MSE -> RMSE).
    Raises OSError, KeyError or ValueError for a file that cannot be read as a curve."""
    epochs, train, valid = [], [], []
    loss_name = "log_loss" if logistic else "mse"
    metric_name = "log_loss" if logistic else "rmse"
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            epochs.append(int(row["epoch"]))
            loss_name = row.get("train_loss_name") or loss_name
            metric_name = row.get("valid_metric_name") or metric_name
            loss = float(row["train_loss"])
            train.append(math.sqrt(max(loss, 0.0)) if loss_name == "mse" else loss)
            v = float(row["valid_metric"])
            valid.append(v if math.isfinite(v) else float("nan"))
    return epochs, train, valid, LABELS.get(loss_name, loss_name), LABELS.get(metric_name, metric_name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="learning curve CSV (epoch,train_loss,valid_metric,learning_rate,elapsed_seconds)")
    ap.add_argument("-o", "--output", help="PNG to write (default: the CSV name with .png)")
    ap.add_argument("--title", default=None, help="plot title")
    ap.add_argument("--logistic", action="store_true",
                    help="old CSV without name columns: the curve is of a logistic model (log-loss, no square root)")
    args = ap.parse_args(argv)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_curve.py: matplotlib is missing (apt-get install python3-matplotlib)")

    try:
        epochs, train, valid, train_label, metric = read_curve(args.csv, args.logistic)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"plot_curve.py: cannot read {args.csv}: {e}")
    if not epochs:
        sys.exit(f"plot_curve.py: {args.csv} has no rows")

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    ax.plot(epochs, train, marker=".", label=f"train {train_label}")
    if any(math.isfinite(v) for v in valid):
        ax.plot(epochs, valid, marker=".", label=f"validation {metric}")
        best = min((v, e) for v, e in zip(valid, epochs) if math.isfinite(v))
        ax.axvline(best[1], color="grey", linestyle=":", linewidth=1)
        ax.annotate(f"best {best[0]:.4f} @ {best[1]}", (best[1], best[0]), textcoords="offset points",
                    xytext=(5, 10), fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric if train_label == metric else f"{train_label} / {metric}")
    ax.set_title(args.title or f"learning curve: {args.csv}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = args.output or (args.csv[:-4] if args.csv.endswith(".csv") else args.csv) + ".png"
    fig.savefig(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
