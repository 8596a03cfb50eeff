#!/usr/bin/python3
"""check_readme_table.py REGULARIZATION: the README's results table is what `regularization --compare`
(the demo) prints — costs at iterations 0 and 20 000 to 1e-11 relative (their last digits follow the
CPU's OpenBLAS kernel), accuracies exactly. Run by CTest as `readme_table`."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = {"no regularization": "no regularization", "L2, λ = 0.7": "L2 lambda=0.7",
        "dropout 0.86, constant scale": "dropout 0.86 constant",
        "dropout 0.86, batch-measured scale": "dropout 0.86 measured"}

readme = open(os.path.join(ROOT, "README.md")).read()
table = {}
for label in ROWS:
    m = re.search(r"^\| " + re.escape(label) + r" \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", readme, re.M)
    if not m:
        sys.exit(f"README.md has no table row '{label}'")
    table[label] = [float(v) for v in m.groups()]

out = subprocess.run([sys.argv[1], "--compare", "--out", ""], capture_output=True, text=True, check=True).stdout
runs = {}
for block in re.split(r"^== ", out, flags=re.M)[1:]:
    name = block.split(" ==")[0]
    costs = dict(re.findall(r"Cost after iteration (\d+): (\S+)", block))
    train = re.search(r"On the training set: Accuracy: (\S+)", block).group(1)
    test = re.search(r"On the test set: Accuracy: (\S+)", block).group(1)
    runs[name] = [float(costs["0"]), float(costs["20000"]), float(train), float(test)]

failures = 0
for label, expected in table.items():
    got = runs[ROWS[label]]
    for k, (e, g) in enumerate(zip(expected, got)):
        ok = abs(e - g) <= 1e-11 * abs(e) if k < 2 else e == g
        if not ok:
            print(f"README row '{label}', column {k + 2}: README says {e!r}, the demo prints {g!r}")
            failures += 1
print(f"readme_table: {len(table)} rows, {failures} differences")
sys.exit(1 if failures else 0)
