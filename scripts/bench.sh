#!/usr/bin/env bash
# Builds xgrad (Release) with its benchmarks and runs bench/compare: xgrad beside numpy and (when
# Debian's libtorch-dev is installed) libtorch.
#   --with-libtorch  install Debian's libtorch-dev first when it is missing (as scripts/install-deps.sh
#                    installs packages); libtorch is still skipped under --quick
#   --build DIR      build and benchmark in DIR (configured Release with Ninja when new) instead of build/
# Other arguments go to bench/compare (--quick, --json FILE). The report names the OpenBLAS core type
# and the thread counts each side ran with.
set -euo pipefail
cd "$(dirname "$0")/.."
with_libtorch=0
build=build
compare_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --with-libtorch) with_libtorch=1 ;;
    --build) build="${2:?--build needs a directory}"; shift ;;
    --build=*) build="${1#--build=}" ;;
    *) compare_args+=("$1") ;;
  esac
  shift
done

if [ "$with_libtorch" = 1 ] && ! dpkg-query -W -f='${Status}' libtorch-dev 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "bench.sh: installing libtorch-dev (several hundred MB)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends libtorch-dev >/dev/null
fi

if [ "$build" = build ]; then
  bash scripts/build.sh xgrad_bench regularization >&2
else
  bash scripts/install-deps.sh
  [ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" --target xgrad_bench regularization >&2
fi
exec bench/compare --build "$(realpath "$build")" "${compare_args[@]}"
