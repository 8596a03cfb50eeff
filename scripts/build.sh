#!/usr/bin/env bash
# Installs the Debian packages xgrad needs (if missing), configures and builds it in build/.
# Used by the README's two commands; safe to run again (incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build --parallel "$jobs" -- "$@"
