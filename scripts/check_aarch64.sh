#!/usr/bin/env bash
# Cross-builds simdmf for AArch64 in build-aarch64 (cross/aarch64.ini) and runs the tests under
# qemu-aarch64: the NEON kernels must pass the same scalar-agreement tests as the x86 levels.
# Usage: scripts/check_aarch64.sh [meson test arguments, e.g. kernels]   Exit status: 0 when all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-aarch64

need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
if ((${#need[@]})); then
  echo "check_aarch64: installing ${need[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The cross compiler does not search /usr/include: expose the header-only dependencies (xsimd,
# doctest) through a folder of symlinks inside the build dir. Meson wants it relative to the source
# root (the build dir is inside the source tree).
inc_rel="$build/cross-include"
inc="$PWD/$inc_rel"
mkdir -p "$inc"
for h in xsimd doctest; do
  [[ -d /usr/include/$h ]] || { echo "check_aarch64: /usr/include/$h missing (scripts/setup.sh)" >&2; exit 1; }
  ln -sfn "/usr/include/$h" "$inc/$h"
done

if [[ ! -f $build/build.ninja ]]; then
  rm -rf "$build/meson-private" "$build/meson-info"  # leftovers of a failed configure
  if ! meson setup "$build" --cross-file cross/aarch64.ini --buildtype=release \
      -Dtools=false -Dbenchmarks=disabled -Dxsimd_include="$inc_rel" \
      -Dcpp_args="-isystem$inc" > "$build/setup.log" 2>&1; then
    tail -20 "$build/setup.log" >&2
    exit 1
  fi
fi
ninja -C "$build" -j2
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
# The kernel levels the AArch64 build offers and uses (the test prints them).
qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/tests/test_kernels" -s -tc='*table_for*' 2>&1 |
  grep -o 'levels supported here:.*' || true
# The int8 kernels choose sdot at run time (HWCAP_ASIMDDP): a CPU model with the dot-product extension
# (max) must take them, one without it (cortex-a53) the plain NEON ones, and both pass the quant kernel
# tests (every int8 result bit-identical to scalar).
for cpu in max:sdot cortex-a53:plain; do
  out=$(QEMU_CPU=${cpu%%:*} qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/tests/test_quant" -s -tc='quant kernels*' 2>&1) ||
    { echo "$out" | tail -20; echo "check_aarch64: the quant kernel tests fail on -cpu ${cpu%%:*}"; exit 1; }
  echo "$out" | grep -q "NEON int8 kernels: ${cpu##*:}" ||
    { echo "$out" | grep 'NEON int8' ; echo "check_aarch64: -cpu ${cpu%%:*} did not choose ${cpu##*:}"; exit 1; }
  echo "qemu -cpu ${cpu%%:*}: $(echo "$out" | grep -o 'NEON int8 kernels:.*' | head -1); quant kernel tests pass"
done
echo "check_aarch64: OK"
