#!/usr/bin/env bash
# Renders the regularization net's forward and backward graphs (one training step, dropout 0.86,
# after backward so gradient norms show) into docs/images/, with the regularization program itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh regularization >&2
for graph in forward backward; do
  ./build/examples/regularization --keep-prob 0.86 --reseed-each-step --iterations 1 --out "" \
    --graph "$graph" --dot "docs/images/regnet_${graph}.dot" --render "docs/images/regnet_${graph}.svg" >/dev/null
done
echo "wrote docs/images/regnet_forward.svg and docs/images/regnet_backward.svg"
