#!/usr/bin/env bash
# Runs the full benchmark comparison and regenerates docs/performance.md and its growth plots.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh xgrad_bench regularization >&2
bench/compare --json build/bench.json
bench/report build/bench.json
