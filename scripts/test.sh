#!/usr/bin/env bash
# Quick start, part 2: install, build and run the whole test suite; ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --cross
bash scripts/build.sh
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?
read -r passed failed skipped < <(/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
if [[ -x scripts/check_aarch64.sh ]] || [[ -f scripts/check_aarch64.sh ]]; then
  if bash scripts/check_aarch64.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
