#!/usr/bin/env bash
# Builds xgrad (Release) with its benchmarks and runs bench/compare: xgrad beside numpy and (when
# Debian's libtorch-dev is installed) libtorch. Arguments go to bench/compare (--quick, --json FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh xgrad_bench regularization >&2
exec bench/compare "$@"
