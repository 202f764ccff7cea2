#!/usr/bin/env bash
# Installs a build into a temporary folder (meson install --destdir) and builds examples/recommend.c
# against it the way a user would, through pkg-config only: shared (`pkg-config --cflags --libs`) and
# static (`cc -static ... pkg-config --static`), then runs both. pkg-config sees only the installed
# simdmf.pc (PKG_CONFIG_LIBDIR), as on a machine without xsimd. examples/serve.c (serving calls only)
# is also linked against the archive with a shared libc (`-l:libsimdmf.a`): it must then need no
# libsimdmf.so, and with -Dstatic_cxx_runtime=true no libstdc++.so either (nor must libsimdmf.so).
# Usage: check_install.sh BUILD_DIR [CC] [training|serving-only] [static-cxx-runtime|shared-cxx-runtime]
# (meson runs it as the test 'install'; exit 77 = skipped). A serving-only build has no recommend.c
# (it trains). In a cross build CC is the cross compiler and SIMDMF_INSTALL_WRAPPER (the cross file's
# test_wrapper, e.g. qemu-aarch64 -L /usr/aarch64-linux-gnu) runs the programs.
set -euo pipefail
build=$(cd "$1" && pwd)
cc=${2:-cc}   # may be a command with a launcher, e.g. "ccache cc"
training=${3:-training}
runtime=${4:-shared-cxx-runtime}
wrapper=${SIMDMF_INSTALL_WRAPPER-}
# shellcheck disable=SC2086  # the wrapper is a command line: split on blanks
run() { ${wrapper} "$@"; }
src=$(cd "$(dirname "$0")/.." && pwd)
command -v pkg-config >/dev/null || { echo "pkg-config not installed: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null
pc=$(find "$tmp/root" -name simdmf.pc -print -quit)
[[ -n "$pc" ]] || { echo "simdmf.pc was not installed"; exit 1; }
if grep -q '^Requires' "$pc"; then echo "simdmf.pc has a Requires line:"; cat "$pc"; exit 1; fi
export PKG_CONFIG_LIBDIR=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root"
pkg-config --cflags --libs simdmf
libdir=$(pkg-config --libs-only-L simdmf); libdir=${libdir#-L}; libdir=${libdir%% *}
if [[ $training == training ]]; then
  $cc -std=c99 -Wall -Werror "$src/examples/recommend.c" $(pkg-config --cflags --libs simdmf) -lm -o "$tmp/recommend"
  LD_LIBRARY_PATH="$libdir" run "$tmp/recommend" "$tmp/shared.smf"
  # The static program must not need the shared library: run it without the install folder on the path.
  $cc -std=c99 -static "$src/examples/recommend.c" $(pkg-config --static --cflags --libs simdmf) -lm -o "$tmp/recommend-static"
  run "$tmp/recommend-static" "$tmp/static.smf"
  # readelf, not ldd: it reads a cross build's programs too.
  if readelf -d "$tmp/recommend-static" | grep -q 'NEEDED.*simdmf'; then echo "the static example links libsimdmf.so"; exit 1; fi
fi
$cc -std=c99 -Wall -Werror "$src/examples/serve.c" $(pkg-config --cflags --libs simdmf) -o "$tmp/serve"
LD_LIBRARY_PATH="$libdir" run "$tmp/serve" "$tmp/serve-shared.smf"
# Against the archive, libc shared: what the program needs at run time (readelf's NEEDED entries).
$cc -std=c99 -Wall -Werror "$src/examples/serve.c" \
  $(pkg-config --static --cflags --libs simdmf | sed 's/-lsimdmf /-l:libsimdmf.a /') -o "$tmp/serve-archive"
needed=$(readelf -d "$tmp/serve-archive" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "serve linked against libsimdmf.a needs: $needed"
if [[ $needed == *simdmf* ]]; then echo "serve-archive needs libsimdmf.so"; exit 1; fi
run "$tmp/serve-archive" "$tmp/serve-archive.smf"
if [[ $runtime == static-cxx-runtime ]]; then
  if [[ $needed == *libstdc++* || $needed == *libgcc_s* ]]; then
    echo "serve-archive needs the shared C++ runtime despite static_cxx_runtime"; exit 1
  fi
  so_needed=$(readelf -d "$libdir"/libsimdmf.so | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  echo "libsimdmf.so needs: $so_needed"
  if [[ $so_needed == *libstdc++* || $so_needed == *libgcc_s* ]]; then
    echo "libsimdmf.so needs the shared C++ runtime despite static_cxx_runtime"; exit 1
  fi
fi
echo "install: the examples built with pkg-config and run (${training}, ${runtime}${wrapper:+, run by $wrapper})"
