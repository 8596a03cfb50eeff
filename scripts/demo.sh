#!/usr/bin/env bash
# The main job: builds xgrad and runs the regularization demo in all four modes (no regularization,
# L2 0.7, dropout 0.86 constant scale, dropout 0.86 batch-measured scale) on the course's football
# data, then prints a comparison table. Pictures and CSV files go to out/regularization/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh regularization >&2
exec ./build/examples/regularization --compare --out out/regularization --csv out/regularization/summary.csv "$@"
