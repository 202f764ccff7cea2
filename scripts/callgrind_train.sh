#!/usr/bin/env bash
# Instructions per update of a fixed training run, counted by valgrind's callgrind: the machine-
# independent figure of a kernel change (bench/README.md, "Instruction counts"). bench/train_fixed
# trains a fixed 500,000-rating planted set (2 epochs, one thread, seed 42); callgrind counts only
# inside the SGD solver (--toggle-collect on train_sgd: the epochs, without train()'s set-up). Per level, k and
# kind it prints the instructions per update of the whole epoch loop and of the kernel functions alone.
# Valgrind emulates x86 up to AVX2 (no AVX-512): the avx512 level cannot be counted here.
#
# Usage: scripts/callgrind_train.sh [BUILD_DIR] (env: LEVELS="avx2 sse4.2 sse2 scalar", KS="32 64 128",
#        KINDS="squared logistic adagrad", EPOCHS=2). Needs valgrind and BUILD_DIR/bench/train_fixed.
set -euo pipefail
build=${1:-build}
levels=${LEVELS:-"avx2 sse4.2 sse2 scalar"}
ks=${KS:-"32 64 128"}
kinds=${KINDS:-"squared logistic adagrad"}
epochs=${EPOCHS:-2}
prog="$build/bench/train_fixed"
command -v valgrind >/dev/null || { echo "callgrind_train: valgrind not installed" >&2; exit 1; }
[[ -x $prog ]] || { echo "callgrind_train: $prog missing (ninja -C $build bench/train_fixed)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%-7s %-9s %4s %12s %14s %14s\n' level kind k updates "Ir/update" "kernel Ir/upd"
for level in $levels; do
  for kind in $kinds; do
    for k in $ks; do
      out="$tmp/cg.out"
      line=$(SIMDMF_SIMD=$level valgrind --tool=callgrind --callgrind-out-file="$out" \
               --toggle-collect='simdmf::train_sgd*' "$prog" "$k" "$epochs" "$kind" 2>/dev/null)
      got=$(awk '{print $2}' <<<"$line")
      if [[ $got != "$level" ]]; then echo "callgrind_train: asked for $level, ran $got" >&2; exit 1; fi
      updates=$(awk '{print $NF}' <<<"$line")
      total=$(awk '/^summary:|^totals:/ {print $2; exit}' "$out")
      # Self cost of the kernel functions (namespace simdmf::kernels), from the per-function listing.
      kern=$(callgrind_annotate --threshold=100 "$out" 2>/dev/null |
             awk '/simdmf::kernels::/ {gsub(",", "", $1); s += $1} END {print s + 0}')
      printf '%-7s %-9s %4s %12s %14.1f %14.1f\n' "$level" "$kind" "$k" "$updates" \
        "$(bc -l <<<"$total / $updates")" "$(bc -l <<<"$kern / $updates")"
    done
  done
done
