"""numpy writes, xgrad reads and rewrites, numpy reads back: every value must survive both ways.

Usage: numpy_interop.py PATH/TO/npy_roundtrip WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.RandomState(0)
cases = {
    "f64.npy": rng.randn(3, 4),
    "f32.npy": rng.randn(5).astype(np.float32),
    "fortran.npy": np.asfortranarray(rng.randn(4, 3)),
    "scalar.npy": np.array(2.5),
    "bigendian.npy": rng.randn(2, 2).astype(">f8"),
    "labels.npy": rng.randint(-5, 10**12, size=(3, 4)).astype(np.int64),
}
failures = 0
for name, array in cases.items():
    src, dst = os.path.join(work, name), os.path.join(work, "xgrad_" + name)
    np.save(src, array)
    subprocess.run([tool, src, dst], check=True)
    back = np.load(dst)
    ok = back.shape == array.shape and np.array_equal(back, array) and back.dtype.kind == array.dtype.kind
    print(f"{name}: {'ok' if ok else 'MISMATCH'}")
    failures += not ok

params = {"W1": rng.randn(20, 2), "b1": np.zeros((20, 1)), "W2": rng.randn(3, 20).astype(np.float32)}
for writer in (np.savez, np.savez_compressed):
    src, dst = os.path.join(work, writer.__name__ + ".npz"), os.path.join(work, "xgrad_" + writer.__name__ + ".npz")
    writer(src, **params)
    subprocess.run([tool, src, dst], check=True)
    with np.load(dst) as back:
        ok = sorted(back.files) == sorted(params) and all(
            np.array_equal(back[k], v) and back[k].dtype == v.dtype for k, v in params.items())
    print(f"{writer.__name__}: {'ok' if ok else 'MISMATCH'}")
    failures += not ok

print(f"{len(cases) + 2 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
