#!/usr/bin/env bash
# Quick start, part 1: install, build, and run `simdmf demo` on the built-in data set.
# Extra arguments go to `simdmf demo` (e.g. a MovieLens u.data path).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh >/dev/null
exec build/tools/simdmf demo "$@"
