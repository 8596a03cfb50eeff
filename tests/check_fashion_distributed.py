#!/usr/bin/python3
"""check_fashion_distributed.py MPIRUN PROGRAM WORKDIR ARGS...: fashion_mnist --distributed (--global-scale) under
`mpirun -np 2` (batch B/2 per process) reaches the accuracy band of one process with batch B, rank 0
alone prints and writes, and its checkpoint resumes on another number of processes (here one)."""
import json
import os
import shutil
import subprocess
import sys

mpirun, program, work, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
MPI = [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2"]


def run(prefix, name, extra):
    report = os.path.join(work, name + ".json")
    command = [*prefix, program, *args, "--json", report, "--no-plots", *extra]
    print("$", " ".join(command), flush=True)
    p = subprocess.run(command, capture_output=True, text=True, timeout=300)
    print(p.stdout + p.stderr)
    if p.returncode:
        sys.exit(f"check_fashion_distributed: {name} exited {p.returncode}")
    with open(report) as f:
        return json.load(f), p.stdout


single, _ = run([], "single", ["--batch-size", "64", "--epochs", "1", "--out", os.path.join(work, "single")])
out = os.path.join(work, "two")
two, stdout = run(MPI, "two", ["--distributed", "--global-scale", "--batch-size", "32", "--epochs", "1", "--out", out])
problems = []
if stdout.count("epoch 1: ") != 1:
    problems.append("expected one epoch line (rank 0's), got %d" % stdout.count("epoch 1: "))
if "distributed: 2 processes, 32 examples each per step (64 in all)" not in stdout:
    problems.append("the distributed line is missing")
if two["processes"] != 2:
    problems.append(f"the report says {two['processes']} processes")
a, b = single["epochs"][0]["test_accuracy"], two["epochs"][0]["test_accuracy"]
print(f"test accuracy: one process {a:.4f}, two processes {b:.4f}")
if min(a, b) < 0.6 or abs(a - b) > 0.05:
    problems.append(f"test accuracies {a:.4f} (one process) and {b:.4f} (two) are not in one band "
                    "(both >= 0.6, within 0.05)")
# Rank 0's checkpoint continued by one process: epoch 2 follows the two processes' epoch 1.
resumed, stdout = run([], "resumed", ["--batch-size", "64", "--epochs", "2", "--out", out, "--resume"])
if "resumed after epoch 1" not in stdout or len(resumed["epochs"]) != 2:
    problems.append("the resumed run did not continue after epoch 1")
elif resumed["epochs"][0] != two["epochs"][0]:
    problems.append("the resumed history's epoch 1 is not the two processes' epoch 1")
for p in problems:
    print("check_fashion_distributed:", p)
sys.exit(1 if problems else 0)
