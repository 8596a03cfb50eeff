#!/usr/bin/env bash
# Builds the test suite with ThreadSanitizer in build-tsan/ and runs the suites that use threads
# (threads, engine, rng, dropout_op); any data race fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset tsan >/dev/null
cmake --build --preset tsan --parallel "$(nproc 2>/dev/null || echo 2)"
ctest --preset tsan --timeout 1200 "$@"
