#!/usr/bin/env bash
# The second demo: builds xgrad and trains the CNN on Fashion-MNIST (Debian's dataset-fashion-mnist,
# installed by install-deps.sh) for 5 epochs on 2 threads; curves, a confusion matrix, misclassified
# images and a checkpoint go to out/fashion_mnist/ (--resume continues from it). Arguments go to
# the program (e.g. --model mlp --epochs 10).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh fashion_mnist >&2
exec ./build/examples/fashion_mnist --model cnn --epochs 5 --optimizer adam --learning-rate 0.001 --keep-prob 0.5 \
  --threads 2 --seed 0 --out out/fashion_mnist --json out/fashion_mnist/run.json "$@"
