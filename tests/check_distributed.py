#!/usr/bin/python3
"""check_distributed.py MODE MPIRUN DRIVER: runs tests/distributed_driver.cpp under
`mpirun --allow-run-as-root --oversubscribe -np 2` and checks what one process cannot:

    masks  the two ranks' dropout masks differ, and a second run draws the very same ones;
    throw  a rank that throws ends the whole job within seconds, with its message, not a hang;
    kill   a rank killed by SIGKILL ends the whole job within seconds.
"""
import re
import subprocess
import sys
import time

mode, mpirun, driver = sys.argv[1:4]
LIMIT = 30  # seconds: a hang is killed here and reported as one


def run(arg):
    command = [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2", driver, arg]
    started = time.monotonic()
    try:
        p = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        sys.exit(f"check_distributed: {' '.join(command)} still running after {LIMIT} s: a hang")
    seconds = time.monotonic() - started
    print(f"$ {' '.join(command)}  (exit {p.returncode}, {seconds:.1f} s)\n{p.stdout}{p.stderr}")
    return p, seconds


def fail(message):
    sys.exit(f"check_distributed {mode}: {message}")


if mode == "masks":
    first, _ = run("masks")
    second, _ = run("masks")
    if first.returncode or second.returncode:
        fail("a run failed")
    lines = sorted(re.findall(r"rank \d+ kept \d+ digest \d+", first.stdout))
    if len(lines) != 2:
        fail(f"expected a line from each of 2 ranks, got {lines}")
    if lines != sorted(re.findall(r"rank \d+ kept \d+ digest \d+", second.stdout)):
        fail("the second run drew other masks")
    if lines[0].split("digest")[1] == lines[1].split("digest")[1]:
        fail("the two ranks drew the same mask")
    print("check_distributed masks: the ranks' masks differ and repeat run to run")
elif mode in ("throw", "kill"):
    p, seconds = run(mode)
    if p.returncode == 0:
        fail("the job exited 0")
    if "the collective returned" in p.stdout:
        fail("rank 0 left its collective")
    if mode == "throw" and "xgrad rank 1 of 2: rank 1 failed on purpose: keep_prob = 1.5 is outside (0, 1]" not in p.stderr:
        fail("the failing rank's message is not in stderr")
    if seconds > 15:
        fail(f"the job took {seconds:.1f} s to end")
    print(f"check_distributed {mode}: the job ended in {seconds:.1f} s")
else:
    fail("unknown mode (masks, throw or kill)")
