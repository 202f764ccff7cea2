#!/usr/bin/env bash
# The stripped size of libsimdmf.so for the build options that matter (bench/README.md, "Library size"):
# each configuration is set up once in build-size/NAME (library only: no tests, tools or benchmarks)
# and only the shared library is built (the core objects come from ccache after the first). Prints a
# Markdown table. Usage: scripts/size_table.sh [--aarch64]   (--aarch64 adds the cross builds; needs
# the cross toolchain of scripts/check_aarch64.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=build-size
mkdir -p "$root"
common=(--buildtype=release -Dtests=false -Dtools=false -Dbenchmarks=disabled)
x86=(
  "default (every level, training)|"
  "-Dsimd_levels=sse2,avx2|-Dsimd_levels=sse2,avx2"
  "-Dsimd_levels=avx2|-Dsimd_levels=avx2"
  "-Dtraining=false|-Dtraining=false"
  "-Dtraining=false -Dsimd_levels=sse2,avx2|-Dtraining=false -Dsimd_levels=sse2,avx2"
  "-Dtraining=false -Doptimization=s|-Dtraining=false -Doptimization=s"
  "-Dtraining=false -Doptimization=s -Dsimd_levels=sse2,avx2|-Dtraining=false -Doptimization=s -Dsimd_levels=sse2,avx2"
  "-Dtraining=false -Doptimization=s -Dsimd_levels=avx2|-Dtraining=false -Doptimization=s -Dsimd_levels=avx2"
  "-Dtraining=false -Doptimization=s -Dstatic_cxx_runtime=true|-Dtraining=false -Doptimization=s -Dstatic_cxx_runtime=true"
)
configs=("${x86[@]/#/x86_64|}")
if [[ ${1-} == --aarch64 ]]; then
  inc_rel="$root/cross-include"
  mkdir -p "$inc_rel"
  for h in xsimd doctest; do ln -sfn "/usr/include/$h" "$inc_rel/$h"; done
  cross=(--cross-file cross/aarch64.ini -Dxsimd_include="$inc_rel" -Dcpp_args="-isystem$PWD/$inc_rel")
  configs+=(
    "aarch64|default (neon, training)|"
    "aarch64|-Dtraining=false|-Dtraining=false"
    "aarch64|-Dtraining=false -Doptimization=s|-Dtraining=false -Doptimization=s"
  )
fi
echo "| target | meson options | stripped libsimdmf.so |"
echo "|---|---|---:|"
for c in "${configs[@]}"; do
  IFS='|' read -r target label opts <<<"$c"
  name=$(echo "$target $opts" | tr -c 'a-zA-Z0-9=,\n' '_')
  dir="$root/$name"
  extra=()
  [[ $target == aarch64 ]] && extra=("${cross[@]}")
  strip_cmd=strip
  [[ $target == aarch64 ]] && strip_cmd=aarch64-linux-gnu-strip
  if [[ ! -f $dir/build.ninja ]]; then
    # shellcheck disable=SC2086
    meson setup "$dir" "${common[@]}" "${extra[@]}" $opts >"$root/$name.setup.log" 2>&1 ||
      { tail -5 "$root/$name.setup.log" >&2; exit 1; }
  fi
  meson compile -C "$dir" -j 2 simdmf:shared_library >/dev/null
  "$strip_cmd" -o "$dir/libsimdmf.stripped.so" "$dir/capi/libsimdmf.so"
  bytes=$(stat -c %s "$dir/libsimdmf.stripped.so")
  printf '| %s | %s | %s KB |\n' "$target" "${label}" "$(( (bytes + 512) / 1024 ))"
done
