"""xgrad prints arrays as numpy does: random arrays go through xgrad's printer (tests/print_driver.cpp)
and through numpy.array2string, and the strings must be identical.

Usage: print_vs_numpy.py PATH/TO/print_driver WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.RandomState(0)


def random_values(shape, dtype):
    """Values that exercise numpy's choices: short and long digit strings, positional and scientific
    notation, negative numbers and zeros, nan and inf."""
    if dtype == "i64":
        return np.round(np.asarray(rng.randn(*shape)) * 10.0 ** rng.randint(0, 13))
    kind = rng.randint(6)
    a = np.asarray(rng.randn(*shape)) * 10.0 ** rng.randint(-9, 10)
    if kind == 1:  # few significant digits, as data often has
        a = np.round(a, rng.randint(0, 4))
    elif kind == 2:  # magnitudes far apart: scientific notation
        a = a * 10.0 ** rng.randint(-6, 7, size=shape)
    elif kind == 3:  # integer-valued
        a = np.round(a * 10.0 ** -rng.randint(0, 8))
    if a.size and rng.rand() < 0.3:
        count = rng.randint(1, 4)
        a.flat[rng.randint(a.size, size=count)] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], size=count)
    return a


def random_shape():
    ndim = rng.randint(0, 5)
    if rng.rand() < 0.15:  # long enough to be summarised at the default threshold
        outer = [int(rng.randint(1, 4)) for _ in range(max(ndim, 1) - 1)]
        return tuple(outer + [int(rng.randint(400, 2100))])
    return tuple(int(rng.randint(0 if rng.rand() < 0.05 else 1, 7)) for _ in range(ndim))


defaults = dict(precision=8, threshold=1000, edgeitems=3, linewidth=75)
cases = [  # (dtype, values, print options): first the edge cases the random ones may miss
    ("f64", np.array([[1.5, -2.0], [3.0, 4.0]]), defaults),
    ("f32", np.array(0.1), defaults),
    ("f64", np.array([np.nan, np.inf, -np.inf]), defaults),
    ("f64", np.zeros((2, 0)), defaults),
    ("f32", np.array([1e-4, 1.0, 1000.0]), defaults),
    ("f64", np.arange(7.0), dict(defaults, threshold=5, edgeitems=0)),
    ("i64", np.arange(-6.0, 6.0) * 1e11, dict(defaults, linewidth=20)),
]
while len(cases) < 70:
    dtype = ["f64", "f32", "i64"][rng.randint(3)]
    options = dict(precision=int(rng.choice([3, 5, 8])), threshold=int(rng.choice([1000, 1000, 20, 60])),
                   edgeitems=int(rng.randint(1, 5)), linewidth=int(rng.choice([75, 75, 40, 120, 20])))
    cases.append((dtype, random_values(random_shape(), dtype), options))

# The driver reads the dtype and the options from each member's name.
stored = {}
for i, (dtype, values, o) in enumerate(cases):
    name = f"{i:03d}_{dtype}_p{o['precision']}_t{o['threshold']}_e{o['edgeitems']}_w{o['linewidth']}"
    stored[name] = values.astype(np.float32 if dtype == "f32" else np.float64)
path = os.path.join(work, "cases.npz")
np.savez(path, **stored)
out = subprocess.run([tool, path], check=True, capture_output=True, text=True).stdout

printed, current = {}, None
for line in out.split("\n"):
    if line.startswith("=== "):
        current = line[4:]
        printed[current] = []
    elif current is not None:
        printed[current].append(line)

failures = 0
numpy_dtypes = {"f64": np.float64, "f32": np.float32, "i64": np.int64}
for (dtype, _, o), (name, values) in zip(cases, stored.items()):
    a = values.astype(numpy_dtypes[dtype])
    for key, prefix, extra in ((name, "array(", ""), (name + " tensor", "tensor(", ", requires_grad=false")):
        body = np.array2string(a, separator=", ", prefix=prefix, max_line_width=o["linewidth"],
                               precision=o["precision"], threshold=o["threshold"], edgeitems=o["edgeitems"])
        expected = f"{prefix}{body}, dtype={a.dtype}, shape={a.shape}{extra})"
        got = "\n".join(printed.get(key, ["<missing>"])).rstrip("\n")
        if got != expected:
            failures += 1
            print(f"MISMATCH {key}\n--- numpy\n{expected}\n--- xgrad\n{got}\n")

total = 2 * len(stored)
print(f"{total - failures} passed, {failures} failed ({len(stored)} arrays, each as an array and a tensor)")
sys.exit(1 if failures else 0)
