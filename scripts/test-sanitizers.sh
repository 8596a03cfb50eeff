#!/usr/bin/env bash
# Builds with a sanitizer and runs the tests under it; any report fails.
#   bash scripts/test-sanitizers.sh        # AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
#                                          # included), build-asan/: the whole suite, except the downstream
#                                          # package test (it links an uninstrumented program) and Doxygen
#   bash scripts/test-sanitizers.sh tsan   # ThreadSanitizer, build-tsan/: the suites that use threads
# Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=asan
if [ "${1:-}" = asan ] || [ "${1:-}" = tsan ]; then preset=$1; shift; fi
bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --parallel "$(nproc 2>/dev/null || echo 2)"
ctest --preset "$preset" --timeout 2400 "$@"
