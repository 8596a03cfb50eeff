#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included) in
# build-asan/ and runs the whole test suite under them; any report fails. Skipped: the downstream
# package test (it links an uninstrumented program) and the Doxygen check (no code runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset asan >/dev/null
cmake --build --preset asan --parallel "$(nproc 2>/dev/null || echo 2)"
ctest --preset asan --timeout 2400 "$@"
