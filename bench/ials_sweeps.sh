#!/bin/bash
# iALS figures of bench/README.md (issue 15). Usage:
#   bench/ials_sweeps.sh ndcg SIMDMF ROUNDS      # in a folder with pu.train.ev / pu.test.ev (docs/accuracy.md)
#   bench/ials_sweeps.sh lastfm SIMDMF [THREADS] [CONFIGS]   # in a folder with lastfm.smr (simdmf gen --preset
#                                                            # lastfm --to binary); CONFIGS e.g. "64:cg 128:cg 64:cholesky"
# ndcg: ML-100K binarised 80/20, alpha 5, l2 30, 10 sweeps; per config the wall ms per sweep with the set-up
#   (`seconds` of the 10-sweep fit / 10), the marginal ms per sweep without it ((seconds of 20 sweeps - seconds of
#   10) / 10: what a per-iteration timer such as implicit's reports), and the 10-sweep model's test NDCG@10 over
#   every item not in training; k, threads and solvers alternate.
# lastfm: CPU seconds per sweep = (CPU of 3 sweeps - CPU of 1) / 2 of the whole process (loading and set-up
#   cancel), the same for the training's wall seconds (`seconds` of --json), and the peak RSS of the 3-sweep
#   run; THREADS threads (default 1).
set -e
mode=$1; S=$2; export SIMDMF_SIMD=${SIMDMF_SIMD:-avx2}
B="--format delimited --delimiter tab --columns 0,1"
if [ "$mode" = ndcg ]; then
  for rep in $(seq ${3:-2}); do for k in 64 128; do for t in 1 2; do for sv in cg cholesky; do
    fit() { $S --json -q train pu.train.ev $B -o $2 --model ials -k $k --epochs $1 --set alpha=5 --l2 30 \
          --set ials_solver=$sv --threads $t | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'; }
    sec=$(fit 10 ib.smf); sec20=$(fit 20 ib20.smf)
    nd=$($S --json -q eval ib.smf pu.test.ev $B --train pu.train.ev --threshold 0 --no-baseline |
         /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["ndcg@10"])')
    echo "round $rep k $k threads $t $sv ms/sweep $(/usr/bin/python3 -c "print('%.1f' % ($sec * 100))")" \
         "marginal $(/usr/bin/python3 -c "print('%.1f' % (($sec20 - $sec) * 100))") ndcg@10 $nd"
  done; done; done; done
else
  T=${3:-1}
  for cfg in ${4:-64:cg 128:cg 64:cholesky}; do set -- ${cfg/:/ }
    for e in 1 3; do
      /usr/bin/time -f "%U %S %M %e" -o lf_t_$e.txt $S --json -q train lastfm.smr -o lf.smf --model ials -k $1 --epochs $e \
        --set alpha=5 --l2 30 --set ials_solver=$2 --threads $T > lf_j_$e.json
    done
    /usr/bin/python3 -c "
import json
a = open('lf_t_1.txt').read().split(); b = open('lf_t_3.txt').read().split()
w1 = json.load(open('lf_j_1.json'))['seconds']; w3 = json.load(open('lf_j_3.json'))['seconds']
c1 = float(a[0]) + float(a[1]); c3 = float(b[0]) + float(b[1])
print('k $1 $2 threads $T: CPU s/sweep %.2f, wall s/sweep %.2f (3 sweeps: %.1f s CPU, %.1f s training wall), peak RSS %.0f MiB' % ((c3 - c1) / 2, (w3 - w1) / 2, c3, w3, int(b[2]) / 1024))"
  done
fi
