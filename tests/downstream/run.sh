#!/usr/bin/env bash
# Installs the built xgrad into a scratch prefix, then builds and runs tests/downstream against it,
# once through find_package(xgrad) and once through pkg-config.
set -euo pipefail
build=$1 work=$2 src=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" | grep -v "^\[" || true
test -x "$work/build/tiny_model"
# The program's own checks decide (its exit status), and its output must show the XOR run.
"$work/build/tiny_model" | tee "$work/tiny_model.out"
grep -q "XOR cost after 2000 Adam steps" "$work/tiny_model.out"
"$work/build/probes"
"$work/build/custom_op"
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" c++ "$src/tiny_model.cpp" -o "$work/tiny_model_pc" \
  $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs xgrad)
"$work/tiny_model_pc"
if [ -x "$work/build/ddp_model" ]; then
  mpirun --allow-run-as-root --oversubscribe -np 2 "$work/build/ddp_model" | tee "$work/ddp_model.out"
  grep -q "ddp_model: 2 processes, one model" "$work/ddp_model.out"
fi
