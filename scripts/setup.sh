#!/usr/bin/env bash
# Installs what simdmf needs to build, test and benchmark on Debian 12 (run as root).
# Usage: scripts/setup.sh [--cross]   (--cross adds the aarch64 cross compiler and qemu-user, and
# makes the AArch64 python3 with numpy and scipy that runs the Python tests under qemu: Debian's arm64
# packages unpacked into build-aarch64-python by scripts/aarch64_python.sh, not installed; reused when
# made before)
set -euo pipefail
pkgs=(g++ meson ninja-build ccache pkg-config cmake libxsimd-dev doctest-dev libbenchmark-dev
      libcli11-dev nlohmann-json3-dev python3-numpy python3-matplotlib)
# ccache (meson uses it when installed): the later build trees of scripts/test.sh (serving-only,
# sanitizers) reuse the objects they share with the first, even on a fresh machine.
# Sanitizer runtimes for the ASan/UBSan and TSan stages of scripts/test.sh; clang and libFuzzer for fuzz/.
pkgs+=(libasan8 libubsan1 libtsan2 clang-14 libclang-rt-14-dev)
if [[ "${1:-}" == "--cross" ]]; then
  pkgs+=(g++-aarch64-linux-gnu qemu-user)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ "${1:-}" == "--cross" ]]; then
  bash "$(dirname "$0")/aarch64_python.sh" >/dev/null
fi
