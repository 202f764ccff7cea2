#!/usr/bin/env bash
# Quick start, part 2: install, build and run the whole test suite; ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --cross
bash scripts/build.sh
# Totals over every stage, from each build's meson-logs/testlog.json.
passed=0 failed=0 skipped=0
count_results() {  # testlog.json -> "passed failed skipped"
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
}
add_results() {
  local p f s
  read -r p f s < <(count_results "$1/meson-logs/testlog.json")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?
add_results build
# Which SIMD levels the suites ran at (the `levels` suite, tests/meson.build), and which this CPU lacks.
/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
ran, skipped = {}, set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "@" not in r["name"]:
        continue
    level = r["name"].rsplit("@", 1)[1]
    if r["result"] == "SKIP":
        skipped.add(level)
    else:
        ran.setdefault(level, []).append(r["result"] in ("OK", "EXPECTEDFAIL"))
print("SIMD levels run by every suite: " + (", ".join(
    f"{lv} ({sum(ok)}/{len(ok)} passed)" for lv, ok in ran.items()) or "none"))
print("SIMD levels skipped (not supported by this CPU): " + (", ".join(sorted(skipped - set(ran))) or "none"))
PY
# ---- Serving-only library with the C++ runtime linked in (issue 13; bench/README.md, "Library size") --
# -Dtraining=false -Dstatic_cxx_runtime=true -Dsimd_levels=sse2,avx2: the core objects are those of the
# build above (ccache), so this costs the C ABI, dispatch and two kernel levels. Its suites: the serving
# calls (and the training calls answering UNSUPPORTED, the left-out levels refused) at each level, and
# the install check (examples/serve.c against libsimdmf.a needs no libstdc++.so).
if [[ ! -f build-serving/build.ninja ]]; then
  meson setup build-serving --buildtype=release -Dtraining=false -Dstatic_cxx_runtime=true \
    -Dsimd_levels=sse2,avx2 >/dev/null
fi
if ninja -C build-serving -j2 >/dev/null; then
  meson test -C build-serving --no-rebuild --print-errorlogs --num-processes 2 || status=1
  add_results build-serving
  strip -o build-serving/libsimdmf.stripped.so build-serving/capi/libsimdmf.so
  echo "serving-only libsimdmf.so (sse2, avx2, C++ runtime inside), stripped: $(stat -c %s build-serving/libsimdmf.stripped.so) bytes"
else
  echo "the serving-only build failed"; failed=$((failed + 1)); status=1
fi

# AArch64 (NEON) under qemu: every suite of the cross build (--all: the 18 doctest and C suites, the
# CLI tests through qemu, the Python tests in Debian's arm64 python3 under qemu (made by setup.sh
# --cross above), install (examples/ cross-built, run under qemu), kernels_env_scalar; evaluate's ML-100K
# test on u1 only under the emulator), then the int8 kernels' sdot / plain choice on two CPU models.
# 213 s on the 2-core Zen 5 (the same without python and install: 195 s); cross/README.md has the
# figures. Not the per-level runs (NAME@scalar, NAME@neon: scripts/check_aarch64.sh --levels).
if bash scripts/check_aarch64.sh --all; then
  passed=$((passed + 1)); else failed=$((failed + 1)); status=1
fi

# ---- Sanitizers (issue 5; docs/reliability.md) -------------------------------------------------------
# The whole suite again in build-asan under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
# is part of ASan: a leak fails the test), then the concurrency tests in build-tsan under
# ThreadSanitizer. Their results are added to the totals below. build-asan is compiled by clang 14:
# it builds the tree in about half GCC's time (about 760 against 1,400 CPU seconds from cold), its UBSan
# checks more (enum values among others), and it is a second compiler's warnings over the whole code.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
if [[ ! -f build-asan/build.ninja ]]; then
  CC=clang-14 CXX=clang++-14 meson setup build-asan --buildtype=debugoptimized -Ddebug=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbenchmarks=disabled -Dtools=false >/dev/null
fi
# Every suite runs under ASan+UBSan (evaluate's ML-100K test on u1 only: SIMDMF_SANITIZER). SIMDMF_ASAN_SKIP="evaluate ..." leaves suites out (counted as skipped) for a quicker local run.
asan_skip=" ${SIMDMF_ASAN_SKIP-} "
if ninja -C build-asan -j2 >/dev/null; then
  asan_tests=()
  while read -r name; do
    name="${name##* }"
    # The per-level runs (NAME@LEVEL) are release-only: under ASan the plain runs cover the code.
    [[ "$name" == *@* ]] && continue
    if [[ "$asan_skip" == *" $name "* ]]; then skipped=$((skipped + 1)); else asan_tests+=("$name"); fi
  done < <(meson test -C build-asan --list --no-rebuild 2>/dev/null)
  # SIMDMF_SANITIZER: the ML-100K accuracy test runs one split (the release stage checked the targets).
  SIMDMF_SANITIZER=asan meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 2 \
    --timeout-multiplier 3 "${asan_tests[@]}" || status=1
  add_results build-asan
else
  echo "sanitizers: the ASan+UBSan build failed"; failed=$((failed + 1)); status=1
fi
if [[ ! -f build-tsan/build.ninja ]]; then
  meson setup build-tsan --buildtype=debugoptimized -Ddebug=false -Db_sanitize=thread -Db_lundef=false \
    -Dbenchmarks=disabled -Dtools=false >/dev/null
fi
if ninja -C build-tsan -j2 tests/test_concurrency >/dev/null; then
  meson test -C build-tsan --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 concurrency \
    || status=1
  add_results build-tsan
else
  echo "sanitizers: the TSan build failed"; failed=$((failed + 1)); status=1
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
