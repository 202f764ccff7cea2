#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan+UBSan) in build-fuzz and runs each for N seconds
# (default 60), starting from the seed corpus in fuzz/corpus/<target>/. Prints, per target, the
# executions run and the crashes found (crash, leak, timeout and out-of-memory reproducers are kept in
# build-fuzz/artifacts/<target>/; the growing corpus in build-fuzz/corpus/<target>/, not in the repo).
# Usage: scripts/fuzz.sh [seconds] [target...]     Exit status 1 when any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_text_loader fuzz_binary_ratings fuzz_model_file fuzz_capi_options)
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: installing clang and libclang-rt-14-dev"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang-14 clang libclang-rt-14-dev >/dev/null
fi
if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false -Dtools=false -Dbenchmarks=disabled >/dev/null
fi
ninja -C build-fuzz -j2 >/dev/null
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
total_crashes=0
printf '%-22s %12s %10s %8s\n' target executions exec/s crashes
for t in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$t"
  art="build-fuzz/artifacts/$t"
  mkdir -p "$corpus" "$art"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  log="build-fuzz/fuzz-$t.log"
  before=$(find "$art" -type f | wc -l)
  set +e
  build-fuzz/fuzz/"$t" "$corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$art/" >"$log" 2>&1
  set -e
  after=$(find "$art" -type f | wc -l)
  crashes=$((after - before))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf '%-22s %12s %10s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$crashes"
  if ((crashes)); then
    grep -m3 -E "ERROR|invariant|SUMMARY" "$log" | sed 's/^/    /' || true
    find "$art" -type f -newer "$log" -o -type f -name 'crash-*' | head -3 | sed 's/^/    reproducer: /'
  fi
  total_crashes=$((total_crashes + crashes))
done
echo "fuzz: ${total_crashes} crash(es) in ${#targets[@]} target(s), ${secs}s each"
((total_crashes == 0))
