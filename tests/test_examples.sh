#!/usr/bin/env bash
# The example programs' file handling and command lines (issue #14): paths with quotes, semicolons
# and shell syntax are only ever file names (no shell runs them, not even gnuplot's `set output '|...'`);
# a write that fails (full disk, missing folder) is an error naming the file, never "wrote";
# numbers out of range are refused before any work; JSON stays valid whatever the names hold.
#
#   bash tests/test_examples.sh REGULARIZATION GRADIENT_CHECKING DROPOUT_STUDY [WORK_DIR]
#
# CTest runs it as `examples_io` with the built programs. Each case runs a few training steps at most.
set -uo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 REGULARIZATION GRADIENT_CHECKING DROPOUT_STUDY [WORK_DIR]" >&2
  exit 2
fi
regularization=$(realpath "$1") gradient_checking=$(realpath "$2") dropout_study=$(realpath "$3")
if [ $# -ge 4 ]; then
  work=$4
  rm -rf "$work" && mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
work=$(realpath "$work")
python=/usr/bin/python3
[ -x "$python" ] || python=python3

failures=0
pass() { echo "ok: $1"; }
fail() {
  echo "FAILED: $1" >&2
  [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    | /' >&2
  failures=$((failures + 1))
}

# run NAME COMMAND...: runs it (from $work, at most 60 s), output in $out, exit status in $rc.
run() {
  local name=$1
  shift
  out=$(cd "$work" && timeout 60 "$@" 2>&1)
  rc=$?
  [ "$rc" -eq 124 ] && fail "$name: still running after 60 s" "$out"
}

# expect_io_error NAME PATH COMMAND...: fails (status not 0), says "error", names PATH, says no "wrote".
expect_io_error() {
  local name=$1 path=$2
  shift 2
  run "$name" "$@"
  if [ "$rc" -eq 0 ]; then
    fail "$name: exit status 0 for a write that cannot succeed" "$out"
  elif ! grep -q "error: .*$(printf '%s' "$path" | sed 's/[][\.*^$/]/\\&/g')" <<<"$out"; then
    fail "$name: the error does not name $path" "$out"
  elif grep -q "wrote" <<<"$out"; then
    fail "$name: says 'wrote' although it failed" "$out"
  else
    pass "$name"
  fi
}

# expect_usage_error NAME OPTION COMMAND...: status 2 and a one-line error naming OPTION, before any work.
expect_usage_error() {
  local name=$1 option=$2
  shift 2
  run "$name" "$@"
  if [ "$rc" -ne 2 ]; then
    fail "$name: exit status $rc, not 2" "$(head -c 2000 <<<"$out")"
  elif [ "$(wc -l <<<"$out")" -ne 1 ] || ! grep -q -- "error: $option" <<<"$out"; then
    fail "$name: not one error line naming $option" "$out"
  else
    pass "$name"
  fi
}

# expect_json NAME FILE: FILE parses as JSON, and the Python expression CHECK (on `j`) holds.
expect_json() {
  local name=$1 file=$2 check=$3
  if [ "$rc" -ne 0 ]; then
    fail "$name: exit status $rc" "$out"
  elif ! err=$("$python" -c 'import json,sys; j = json.load(open(sys.argv[1])); assert eval(sys.argv[2]), sys.argv[2]' \
      "$file" "$check" 2>&1); then
    fail "$name: $file is not the expected JSON" "$err"
  else
    pass "$name"
  fi
}

# (a) Output folders with quotes, semicolons and shell syntax: pictures land there, nothing runs.
out_dir="$work/John's runs; \$HOME \"q\""
run "quoted --out" "$regularization" --iterations 2 --out "$out_dir"
pictures_ok=1
for f in no_regularization_costs.csv no_regularization_cost.png no_regularization_boundary.png; do
  [ -s "$out_dir/$f" ] || pictures_ok=0
done
if [ "$rc" -ne 0 ] || [ "$pictures_ok" -ne 1 ]; then
  fail "quoted --out: status $rc, or the CSV and both pictures are not all in $out_dir" "$out$(ls -la "$out_dir" 2>&1)"
elif ls "$out_dir" | grep -q '\.gp$\|\.dat$'; then
  fail "quoted --out: gnuplot side files left in $out_dir" "$(ls "$out_dir")"
else
  pass "quoted --out"
fi

# An --out that a shell (injection) or gnuplot (`set output '|command'` pipes to a shell) would run:
# the marker file must not appear, and the pictures must land in the folder of that very name.
check_not_run() {  # name, --out as given, the folder it names, marker file
  local name=$1 given=$2 folder=$3 marker=$4
  run "$name" "$regularization" --iterations 2 --out "$given"
  if [ -e "$marker" ]; then
    fail "$name: the output name was run as a command" "$out"
  elif [ "$rc" -ne 0 ] || [ ! -s "$folder/no_regularization_cost.png" ]; then
    fail "$name: status $rc or no picture" "$out"
  else
    pass "$name"
  fi
}
check_not_run "injection via --out" "$work/x';touch $work/PWNED;'" "$work/x';touch $work/PWNED;'" "$work/PWNED"
check_not_run "pipe via --out" "|touch PWNED_PIPE;x" "$work/|touch PWNED_PIPE;x" "$work/PWNED_PIPE"

# (b) Failed writes are errors naming the file, found before training where they can be.
touch "$work/not-a-folder"
expect_io_error "regularization --dot under a file" "$work/not-a-folder/d/g.dot" \
  "$regularization" --iterations 2 --out "" --dot "$work/not-a-folder/d/g.dot"
if [ "$(id -u)" -ne 0 ]; then  # root may create /nonexistent
  expect_io_error "regularization --dot /nonexistent" /nonexistent/d/g.dot \
    "$regularization" --iterations 2 --out "" --dot /nonexistent/d/g.dot
fi
expect_io_error "regularization --csv /dev/full" /dev/full "$regularization" --iterations 2 --out "" --csv /dev/full
expect_io_error "regularization --json /dev/full" /dev/full "$regularization" --iterations 2 --out "" --json /dev/full
expect_io_error "regularization --out under a file" "$work/not-a-folder/out" \
  "$regularization" --iterations 2 --out "$work/not-a-folder/out"

# (c) The same for gradient_checking (and dropout_study's --json).
expect_io_error "gradient_checking --json /dev/full" /dev/full "$gradient_checking" --json /dev/full
expect_io_error "gradient_checking --dot under a file" "$work/not-a-folder/x.dot" \
  "$gradient_checking" --dot "$work/not-a-folder/x.dot"
if [ "$(id -u)" -ne 0 ]; then
  expect_io_error "gradient_checking --dot /nonexistent" /nonexistent/x.dot "$gradient_checking" --dot /nonexistent/x.dot
fi
tiny_study=(--quick --seeds 2 --iterations 2 --keep-probs 0.5 --jobs 1)
expect_io_error "dropout_study --json /dev/full" /dev/full \
  "$dropout_study" "${tiny_study[@]}" --no-plots --out "$work/study" --json /dev/full

# (d) Numbers out of range: status 2, one line, before any work (a hang here is the old "run forever").
expect_usage_error "regularization --iterations -1" --iterations "$regularization" --iterations -1 --out ""
expect_usage_error "regularization --iterations=-1" --iterations "$regularization" --iterations=-1 --out ""
expect_usage_error "regularization --keep-prob 0" --keep-prob "$regularization" --keep-prob 0 --out ""
expect_usage_error "regularization --learning-rate nan" --learning-rate "$regularization" --learning-rate nan --out ""
expect_usage_error "regularization --seed 4294967296" --seed "$regularization" --seed 4294967296 --out ""
expect_usage_error "gradient_checking --epsilon -1e-7" --epsilon "$gradient_checking" --epsilon -1e-7
expect_usage_error "dropout_study --iterations -1" --iterations "$dropout_study" --iterations -1
expect_usage_error "dropout_study --keep-probs 0.5,1" --keep-probs "$dropout_study" --keep-probs 0.5,1

# (e) JSON whose names and paths hold quotes and backslashes stays valid JSON.
json_dir="$work/q\"uo\\te's"
mkdir -p "$json_dir"
run "regularization JSON" "$regularization" --iterations 2 --out "$json_dir" --no-plots --json "$json_dir/s\"u\\m.json"
expect_json "regularization JSON" "$json_dir/s\"u\\m.json" \
  'j[0]["mode"] == "no regularization" and j[0]["iterations"] == 2 and list(j[0])[0] == "mode"'
run "gradient_checking JSON" "$gradient_checking" --json "$json_dir/g\"r\\ad.json"
expect_json "gradient_checking JSON" "$json_dir/g\"r\\ad.json" \
  'j["correct"]["passed"] and not j["buggy"]["passed"] and j["epsilon"] == 1e-7'
# dropout_study's JSON names its data file: the course's data.mat, reached by a quoted name, when it is here.
football="$(dirname "$(realpath "$0")")/../../shared/data/football/data.mat"
data_check='True'
if [ -f "$football" ]; then
  ln -s "$(realpath "$football")" "$json_dir/da\"ta\\.mat"
  data_check='j["data"].endswith("da\"ta\\.mat")'
fi
run "dropout_study JSON" "$dropout_study" "${tiny_study[@]}" --no-plots --out "$json_dir/study" \
  --data "$json_dir/da\"ta\\.mat" --json "$json_dir/st\"u\\dy.json"
expect_json "dropout_study JSON" "$json_dir/st\"u\\dy.json" "j['seeds'] == 2 and len(j['cells']) == 5 and $data_check"

if [ "$failures" -ne 0 ]; then
  echo "examples_io: $failures case(s) failed" >&2
  exit 1
fi
echo "examples_io: all cases passed"
