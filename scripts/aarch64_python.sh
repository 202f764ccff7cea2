#!/usr/bin/env bash
# Makes an AArch64 Python 3.11 with numpy, scipy and pip from Debian 12's arm64 packages, for running the
# Python tests (python/tests) against the cross build's libsimdmf.so under qemu-aarch64
# (scripts/check_aarch64.sh; cross/README.md). Nothing is installed on the system: apt fetches the arm64
# package lists into a private folder (no `dpkg --add-architecture`, so the host's apt is unchanged and
# no root is needed), `apt-get download` fetches the .debs and `dpkg -x` unpacks them into DIR/root.
# Usage: scripts/aarch64_python.sh [DIR]   (default: $SIMDMF_AARCH64_PYTHON or build-aarch64-python)
# Prints the wrapper's path last: DIR/root/usr/bin/python3, a shell script of the build machine that runs
# DIR/root/usr/bin/python3.11 under qemu-aarch64 -L DIR/root (so a subprocess of sys.executable, as the
# pip test starts, runs under qemu too). Idempotent: a finished DIR (its stamp names this package list)
# is reused without network; otherwise it is made again from scratch. Exit status 1, with the reason on
# stderr, when it cannot be made (no network, a package missing, the emulated python failing).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-${SIMDMF_AARCH64_PYTHON:-build-aarch64-python}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
root=$dir/root
wrapper=$root/usr/bin/python3

# The interpreter and the libraries its modules load (ctypes: libffi8; hashlib, ssl: libssl3; the
# compression modules; uuid), numpy with the reference BLAS/LAPACK (Fortran runtime), scipy (the Python
# tests' sparse-matrix input; C++ and L-BFGS-B runtimes), pip with what it imports (the offline
# `pip install ./python` test). All of Debian 12 (bookworm), one version each.
pkgs=(libc6 libgcc-s1 libstdc++6 zlib1g libexpat1 libffi8 libbz2-1.0 liblzma5 libuuid1 libssl3 libcrypt1
      libpython3.11-minimal python3.11-minimal libpython3.11-stdlib
      python3-numpy python3-pkg-resources libblas3 liblapack3 libgfortran5
      python3-scipy liblbfgsb0
      python3-pip python3-setuptools python3-wheel python3-distutils python3-lib2to3)
stamp="debian bookworm arm64: ${pkgs[*]}"
if [[ -x $wrapper && -f $dir/stamp && $(cat "$dir/stamp") == "$stamp" ]]; then
  echo "$wrapper"
  exit 0
fi
fail() { echo "aarch64_python: $*" >&2; exit 1; }
command -v qemu-aarch64 >/dev/null || fail "qemu-aarch64 missing (scripts/setup.sh --cross)"
command -v apt-get >/dev/null || fail "needs Debian's apt-get"
command -v dpkg >/dev/null || fail "needs dpkg"
rm -rf "$root" "$dir/stamp" "$dir/debs"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
# apt with a private state: the arm64 lists of the host's own sources (/etc/apt/sources.list*).
apt_opts=(-qq -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
          -o Dir::State::Status=/dev/null -o APT::Architecture=arm64 -o APT::Architectures::=arm64
          -o APT::Sandbox::User="$(id -un)")
# (apt-get update exits 0 when a fetch fails: the lists must be there.)
if ! apt-get "${apt_opts[@]}" update > "$dir/apt.log" 2>&1 ||
   ! compgen -G "$dir/apt/lists/*_binary-arm64_Packages*" >/dev/null; then
  tail -5 "$dir/apt.log" >&2
  fail "apt-get update fetched no arm64 package list (network? the sources in /etc/apt)"
fi
(cd "$dir/debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}") >> "$dir/apt.log" 2>&1 ||
  { tail -5 "$dir/apt.log" >&2; fail "apt-get download of the arm64 packages failed"; }
debs=("$dir"/debs/*.deb)
((${#debs[@]} == ${#pkgs[@]})) || fail "downloaded ${#debs[@]} .debs for ${#pkgs[@]} packages"
mkdir -p "$root"
for deb in "${debs[@]}"; do dpkg -x "$deb" "$root"; done
# What dpkg would have done at install time: the BLAS/LAPACK alternatives (update-alternatives links
# libblas.so.3 to blas/libblas.so.3), and python3's link, here the wrapper.
ln -sfn blas/libblas.so.3 "$root/usr/lib/aarch64-linux-gnu/libblas.so.3"
ln -sfn lapack/liblapack.so.3 "$root/usr/lib/aarch64-linux-gnu/liblapack.so.3"
# -0: the program sees its argv[0] (so sys.executable) as this wrapper; -s: no user site-packages
# (the build machine's ~/.local holds x86-64 modules). python3.11 finds its prefix (root/usr) from
# argv[0]'s folder.
cat > "$wrapper" <<EOF
#!/bin/sh
# Debian 12's arm64 python3.11 under qemu-user (made by scripts/aarch64_python.sh).
exec qemu-aarch64 -L '$root' -0 "\$0" '$root/usr/bin/python3.11' -s "\$@"
EOF
chmod +x "$wrapper"
# It must run what the tests use, and start its own executable.
check='import ctypes, pickle, subprocess, sys, numpy, scipy.sparse, pip
assert numpy.allclose(numpy.linalg.solve(numpy.eye(3) * 2, numpy.ones(3)), 0.5)
assert scipy.sparse.csr_matrix(numpy.eye(3)).nnz == 3
assert sys.prefix.startswith(sys.argv[1]), sys.prefix
out = subprocess.run([sys.executable, "-c", "import platform; print(platform.machine())"],
                     capture_output=True, text=True, check=True).stdout.strip()
assert out == "aarch64", out
print("python", sys.version.split()[0], "numpy", numpy.__version__, "scipy", __import__("scipy").__version__,
      "pip", pip.__version__)'
versions=$("$wrapper" -c "$check" "$root" 2>&1) || { echo "$versions" | tail -5 >&2; fail "the emulated python failed its check"; }
echo "aarch64_python: $versions (qemu-aarch64, $(du -sh "$root" | cut -f1) in $root)" >&2
rm -rf "$dir/debs" "$dir/apt"
echo "$stamp" > "$dir/stamp"
echo "$wrapper"
