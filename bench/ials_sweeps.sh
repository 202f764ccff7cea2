#!/bin/bash
# iALS figures of bench/README.md (issue 15). Usage:
#   bench/ials_sweeps.sh ndcg SIMDMF ROUNDS      # in a folder with pu.train.ev / pu.test.ev (docs/accuracy.md)
#   bench/ials_sweeps.sh lastfm SIMDMF           # in a folder with lastfm.smr (simdmf gen --preset lastfm --to binary)
# ndcg: ML-100K binarised 80/20, alpha 5, l2 30, 10 sweeps; per config the wall ms per sweep (seconds / 10) and the
#   test NDCG@10 over every item not in training; k, threads and solvers alternate.
# lastfm: CPU seconds per sweep = (CPU of 3 sweeps - CPU of 1) / 2 of the whole process (loading and set-up
#   cancel), and the peak RSS of the 3-sweep run; one thread.
set -e
mode=$1; S=$2; export SIMDMF_SIMD=${SIMDMF_SIMD:-avx2}
B="--format delimited --delimiter tab --columns 0,1"
if [ "$mode" = ndcg ]; then
  for rep in $(seq ${3:-2}); do for k in 64 128; do for t in 1 2; do for sv in cg cholesky; do
    sec=$($S --json -q train pu.train.ev $B -o ib.smf --model ials -k $k --epochs 10 --set alpha=5 --l2 30 \
          --set ials_solver=$sv --threads $t | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
    nd=$($S --json -q eval ib.smf pu.test.ev $B --train pu.train.ev --threshold 0 --no-baseline |
         /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["ndcg@10"])')
    echo "round $rep k $k threads $t $sv ms/sweep $(/usr/bin/python3 -c "print('%.1f' % ($sec * 100))") ndcg@10 $nd"
  done; done; done; done
else
  for cfg in "64 cg" "128 cg" "64 cholesky"; do set -- $cfg
    for e in 1 3; do
      /usr/bin/time -f "%U %S %M %e" -o lf_t_$e.txt $S -q train lastfm.smr -o lf.smf --model ials -k $1 --epochs $e \
        --set alpha=5 --l2 30 --set ials_solver=$2 --threads 1 > /dev/null
    done
    /usr/bin/python3 -c "
a = open('lf_t_1.txt').read().split(); b = open('lf_t_3.txt').read().split()
c1 = float(a[0]) + float(a[1]); c3 = float(b[0]) + float(b[1])
print('k $1 $2: CPU s/sweep %.2f (1 sweep %.1f s CPU, 3 sweeps %.1f s CPU, wall %s s), peak RSS %.0f MiB' % ((c3 - c1) / 2, c1, c3, b[3], int(b[2]) / 1024))"
  done
fi
