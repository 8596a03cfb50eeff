#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS (default 60), two at a
# time, starting from the committed seed corpus in fuzz/corpus/<target>. New inputs go to
# build-fuzz/corpus/<target>; crashes to build-fuzz/artifacts/. Exits non-zero on any finding.
#   bash scripts/fuzz.sh 600          # the 10-minute local run
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
bash scripts/install-deps.sh
CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --parallel "$(nproc 2>/dev/null || echo 2)" >build-fuzz/build.log 2>&1 ||
  { echo "the fuzz targets did not build:" >&2; tail -n 40 build-fuzz/build.log >&2; exit 1; }
mkdir -p build-fuzz/artifacts
run() {
  local target=$1
  mkdir -p "build-fuzz/corpus/$target"
  ASAN_OPTIONS=detect_leaks=1 "./build-fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/artifacts/${target}-" -print_final_stats=1 \
    "build-fuzz/corpus/$target" "fuzz/corpus/$target" >"build-fuzz/fuzz_$target.log" 2>&1
  local rc=$?
  local runs
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "build-fuzz/fuzz_$target.log" | grep -Eo '[0-9]+$' || echo '?')
  echo "fuzz_$target: ${seconds}s, $runs executions, exit $rc"
  return $rc
}
status=0
targets=(npy npz csv mat idx)
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" & a=$!
  pid_b=""
  if ((i + 1 < ${#targets[@]})); then run "${targets[i+1]}" & pid_b=$!; fi
  wait $a || status=1
  if [ -n "$pid_b" ]; then wait "$pid_b" || status=1; fi
done
if [ $status -ne 0 ]; then
  echo "fuzzing found a problem: see build-fuzz/fuzz_*.log and build-fuzz/artifacts/" >&2
  tail -n 40 build-fuzz/fuzz_*.log >&2
fi
exit $status
