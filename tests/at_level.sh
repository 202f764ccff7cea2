#!/bin/sh
# at_level.sh PROBE LEVEL COMMAND [ARG...]: runs COMMAND with the kernels forced to LEVEL
# (SIMDMF_SIMD), or exits 77 (skipped) with a message when this machine cannot run LEVEL.
# In a cross build (tests/meson.build) SIMDMF_PROBE_WRAPPER runs the probe and SIMDMF_TEST_WRAPPER the
# command (the cross file's test_wrapper, e.g. qemu-aarch64; unset or empty: run them directly).
probe=$1
level=$2
shift 2
# shellcheck disable=SC2086  # the wrappers are command lines: split on blanks
${SIMDMF_PROBE_WRAPPER-} "$probe" "$level" || exit $?
SIMDMF_SIMD=$level
export SIMDMF_SIMD
# shellcheck disable=SC2086
exec ${SIMDMF_TEST_WRAPPER-} "$@"
