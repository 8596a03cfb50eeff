#!/usr/bin/env bash
# Installs everything xgrad needs from Debian 12 packages. Idempotent: packages already
# present are skipped, so the README commands can call it on every run.
set -euo pipefail

packages=(
  build-essential cmake ninja-build
  xtensor-dev libxtensor-blas-dev libxsimd-dev libopenblas-dev
  libboost-test-dev
  libmatio-dev            # reads the course's MATLAB v5 data.mat
  libcli11-dev            # command-line parsing for the examples
  nlohmann-json3-dev      # the examples' --json files (header-only)
  libfmt-dev
  zlib1g-dev              # .npz files (zip, CRC32, deflate)
  libmimalloc-dev         # the allocator behind nodes and array buffers (framework/memory.hpp)
  libdw-dev               # anomaly reports: the user's file:line from debug information, in-process
  python3-numpy           # the numpy interop test
  doxygen                 # API reference (checked for warnings by the tests)
  clang libclang-rt-14-dev  # libFuzzer targets
  libbenchmark-dev        # Google Benchmark (bench/)
  gnuplot-nox             # cost curves and decision boundaries
  graphviz libgraphviz-dev
  libopenmpi-dev openmpi-bin  # xgrad::distributed: data-parallel training over MPI, mpirun for its tests
  dataset-fashion-mnist   # Fashion-MNIST's IDX files in /usr/share/datasets/fashion-mnist (models/data/loader.hpp)
  wamerican               # /usr/share/dict/words
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "xgrad: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
