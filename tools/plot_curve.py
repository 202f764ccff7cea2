#!/usr/bin/python3
"""Plot a learning curve written by `simdmf train --curve FILE.csv` as a PNG.

Usage: /usr/bin/python3 tools/plot_curve.py curve.csv [-o curve.png] [--title TEXT]

Draws the training error and the validation metric per epoch. The training loss in the CSV is the mean
squared error for MF models (its square root, the training RMSE, is drawn so that both curves are on the
same scale) or the mean log-loss for logistic models (drawn as it is). Needs Debian's python3-matplotlib.
"""
import argparse
import csv
import math
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="learning curve CSV (epoch,train_loss,valid_metric,learning_rate,elapsed_seconds)")
    ap.add_argument("-o", "--output", help="PNG to write (default: the CSV name with .png)")
    ap.add_argument("--title", default=None, help="plot title")
    ap.add_argument("--logistic", action="store_true", help="the curve is of a logistic model (log-loss, no square root)")
    args = ap.parse_args(argv)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_curve.py: matplotlib is missing (apt-get install python3-matplotlib)")

    epochs, train, valid = [], [], []
    try:
        with open(args.csv, newline="") as f:
            for row in csv.DictReader(f):
                epochs.append(int(row["epoch"]))
                loss = float(row["train_loss"])
                train.append(loss if args.logistic else math.sqrt(max(loss, 0.0)))
                v = float(row["valid_metric"])
                valid.append(v if math.isfinite(v) else float("nan"))
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"plot_curve.py: cannot read {args.csv}: {e}")
    if not epochs:
        sys.exit(f"plot_curve.py: {args.csv} has no rows")

    metric = "log-loss" if args.logistic else "RMSE"
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    ax.plot(epochs, train, marker=".", label=f"train {metric}")
    if any(math.isfinite(v) for v in valid):
        ax.plot(epochs, valid, marker=".", label=f"validation {metric}")
        best = min((v, e) for v, e in zip(valid, epochs) if math.isfinite(v))
        ax.axvline(best[1], color="grey", linestyle=":", linewidth=1)
        ax.annotate(f"best {best[0]:.4f} @ {best[1]}", (best[1], best[0]), textcoords="offset points",
                    xytext=(5, 10), fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
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
