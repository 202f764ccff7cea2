#!/usr/bin/env bash
# Cross-builds simdmf for AArch64 in build-aarch64 (cross/aarch64.ini) and runs the tests under
# qemu-aarch64: the NEON kernels must pass the same scalar-agreement tests as the x86 levels.
# Usage: scripts/check_aarch64.sh [--all | --levels | SUITE... (meson test arguments)]
#   --all (or no argument): every suite of the cross build with NEON selected (the plain runs: the
#            machine's best level, which is neon), the CLI tests (tests/test_cli.py through qemu),
#            python (python/tests in Debian's arm64 python3 under qemu), install (examples/ built by the
#            cross compiler against the installed library, run under qemu) and kernels_env_scalar; not
#            the per-level runs NAME@scalar / NAME@neon (the meson suite levels).
#   --levels: --all and the per-level runs too (everything `meson test` has).
#   SUITE...: those suites only.
# The Python tests' interpreter is scripts/aarch64_python.sh's (Debian 12's arm64 python3.11, numpy,
# scipy and pip unpacked into build-aarch64-python, run by qemu-aarch64; scripts/setup.sh --cross makes
# it, and this script when it is missing); when it cannot be made the suite is left out with a message.
# Under the emulator (SIMDMF_EMULATOR set below) the MovieLens 100K accuracy test of evaluate runs on
# u1 with a small search, as under the sanitizers. Exit status: 0 when all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-aarch64
tests=("$@")
if ((${#tests[@]} == 0)) || [[ ${tests[0]} == --all ]]; then
  tests=(--no-suite levels)
elif [[ ${tests[0]} == --levels ]]; then
  tests=()
fi
export SIMDMF_EMULATOR=qemu-user

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
# doctest, and the tool's CLI11 and nlohmann-json) through a folder of symlinks inside the build dir. Meson wants it relative to the source
# root (the build dir is inside the source tree).
inc_rel="$build/cross-include"
inc="$PWD/$inc_rel"
mkdir -p "$inc"
for h in xsimd doctest CLI nlohmann; do
  [[ -d /usr/include/$h ]] || { echo "check_aarch64: /usr/include/$h missing (scripts/setup.sh)" >&2; exit 1; }
  ln -sfn "/usr/include/$h" "$inc/$h"
done

# The AArch64 python for the Python tests (its path; empty: none, and the suite is not defined).
if ! py=$(bash scripts/aarch64_python.sh); then
  py=""
  echo "check_aarch64: SKIP python: no AArch64 python could be made (scripts/aarch64_python.sh, above)" >&2
fi

if [[ ! -f $build/build.ninja ]]; then
  rm -rf "$build/meson-private" "$build/meson-info"  # leftovers of a failed configure
  if ! meson setup "$build" --cross-file cross/aarch64.ini --buildtype=release \
      -Dbenchmarks=disabled -Dxsimd_include="$inc_rel" -Dtest_python="$py" \
      -Dcpp_args="-isystem$inc" > "$build/setup.log" 2>&1; then
    tail -20 "$build/setup.log" >&2
    exit 1
  fi
elif [[ $(/usr/bin/python3 -c 'import json,sys; o={o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}; print(o["tools"], o.get("test_python"))' \
          "$build/meson-info/intro-buildoptions.json") != "True $py" ]]; then
  # A build dir configured before the tool was cross-built (-Dtools=false) or with another python (or
  # before the option test_python existed: `meson configure` would not know it, --reconfigure does).
  meson setup --reconfigure "$build" -Dtools=true -Dtest_python="$py" > "$build/setup.log" 2>&1 ||
    { tail -20 "$build/setup.log" >&2; exit 1; }
fi
ninja -C "$build" -j2
# Emulation runs the programs several times slower than the suites' timeouts (set for native runs) allow.
meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier 4 "${tests[@]}"
# How many Python tests ran under qemu (unittest's summary), when the python suite ran.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["name"].split(" / ")[-1] == "python":
        out = (r.get("stdout") or "") + (r.get("stderr") or "")
        ran = re.search(r"^Ran (\d+ tests?) in (\S+)\s+^(OK.*|FAILED.*)$", out, re.M)
        print("python under qemu: " + ("%s in %s, %s" % ran.groups() if ran else r["result"] + ", no unittest summary"))
PY
[[ -n $py ]] || echo "check_aarch64: SKIP python (no AArch64 python; see above)"
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
