#!/bin/sh
# at_level.sh PROBE LEVEL COMMAND [ARG...]: runs COMMAND with the kernels forced to LEVEL
# (SIMDMF_SIMD), or exits 77 (skipped) with a message when this machine cannot run LEVEL.
probe=$1
level=$2
shift 2
"$probe" "$level" || exit $?
SIMDMF_SIMD=$level
export SIMDMF_SIMD
exec "$@"
