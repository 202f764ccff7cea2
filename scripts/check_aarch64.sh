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
echo "check_aarch64: OK"
