#!/usr/bin/python3
"""expect_output.py REGEX -- PROGRAM ARGS...: runs the program and passes only when it exits 0 AND its
output (stdout then stderr) matches REGEX. CTest's PASS_REGULAR_EXPRESSION alone ignores the exit
status, so a program that printed the right lines and then failed (a write, a check) would pass."""
import re
import subprocess
import sys

split = sys.argv.index("--")
pattern, command = sys.argv[1], sys.argv[split + 1:]
run = subprocess.run(command, capture_output=True, text=True)
output = run.stdout + run.stderr
sys.stdout.write(output)
if run.returncode != 0:
    print(f"expect_output: {command[0]} exited with status {run.returncode}")
    sys.exit(1)
if not re.search(pattern, output):
    print(f"expect_output: the output does not match {pattern!r}")
    sys.exit(1)
