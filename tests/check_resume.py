#!/usr/bin/python3
"""check_resume.py PROGRAM WORKDIR ARGS...: a run interrupted after one epoch and continued with
--resume must end exactly where an uninterrupted run ends: the same per-epoch losses and accuracies
(the timings aside) in its --json report. PROGRAM takes --epochs, --out, --json and --resume."""
import json
import os
import shutil
import subprocess
import sys

program, work, args = sys.argv[1], sys.argv[2], sys.argv[3:]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def run(out, epochs, resume=False):
    report = os.path.join(work, f"{os.path.basename(out)}-{epochs}.json")
    command = [program, *args, "--epochs", str(epochs), "--out", out, "--json", report, "--no-plots"]
    if resume:
        command.append("--resume")
    subprocess.run(command, check=True)
    with open(report) as f:
        return [{k: v for k, v in e.items() if k != "seconds"} for e in json.load(f)["epochs"]]


straight = run(os.path.join(work, "straight"), 3)
run(os.path.join(work, "interrupted"), 1)
resumed = run(os.path.join(work, "interrupted"), 3, resume=True)
print("uninterrupted:", straight)
print("resumed:      ", resumed)
if straight != resumed:
    print("check_resume: the resumed run differs from the uninterrupted one")
    sys.exit(1)
print("check_resume: identical")
