"""The same workloads as bench/bench_xgrad.cpp written with numpy: (1) the regularization net's
full-batch step (float64, 211 examples) and (3) the 784-1024-1024-10 MLP step (float32, batch 256,
dropout 0.5). Prints JSON: {"regnet_step_us": median, "regnet_dropout_step_us": ..., "mlp_step_ms": ...}.
Run with OPENBLAS_NUM_THREADS set by the caller (1 for the regnet, 2 for the MLP)."""
import json
import sys
import time

import numpy as np


def median_time(step, repeats, inner):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - start) / inner)
    return float(np.median(times))


def regnet(X, Y, keep_prob):
    rng = np.random.RandomState(3)
    dims = [2, 20, 3, 1]
    p = {}
    for l in range(1, 4):
        p[f"W{l}"] = rng.randn(dims[l], dims[l - 1]) / np.sqrt(dims[l - 1])
        p[f"b{l}"] = np.zeros((dims[l], 1))
    m = X.shape[1]

    def step():
        Z1 = p["W1"] @ X + p["b1"]; A1 = np.maximum(0, Z1)
        if keep_prob < 1:
            D1 = rng.rand(*A1.shape) < keep_prob; A1 = A1 * D1 / keep_prob
        Z2 = p["W2"] @ A1 + p["b2"]; A2 = np.maximum(0, Z2)
        if keep_prob < 1:
            D2 = rng.rand(*A2.shape) < keep_prob; A2 = A2 * D2 / keep_prob
        Z3 = p["W3"] @ A2 + p["b3"]; A3 = 1 / (1 + np.exp(-Z3))
        cost = -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))
        dZ3 = (A3 - Y) / m
        dW3 = dZ3 @ A2.T; db3 = dZ3.sum(axis=1, keepdims=True)
        dA2 = p["W3"].T @ dZ3
        if keep_prob < 1:
            dA2 = dA2 * D2 / keep_prob
        dZ2 = dA2 * (Z2 > 0)
        dW2 = dZ2 @ A1.T; db2 = dZ2.sum(axis=1, keepdims=True)
        dA1 = p["W2"].T @ dZ2
        if keep_prob < 1:
            dA1 = dA1 * D1 / keep_prob
        dZ1 = dA1 * (Z1 > 0)
        dW1 = dZ1 @ X.T; db1 = dZ1.sum(axis=1, keepdims=True)
        for k, g in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2), ("W3", dW3), ("b3", db3)):
            p[k] -= 0.3 * g
        return cost
    return step


def mlp(batch=256, width=1024):
    rng = np.random.RandomState(7)
    f = np.float32
    W1 = (rng.randn(width, 784) * np.sqrt(2 / 784)).astype(f); b1 = np.zeros((width, 1), f)
    W2 = (rng.randn(width, width) * np.sqrt(2 / width)).astype(f); b2 = np.zeros((width, 1), f)
    W3 = (rng.randn(10, width) * np.sqrt(2 / width)).astype(f); b3 = np.zeros((10, 1), f)
    X = rng.rand(784, batch).astype(f)
    T = np.zeros((10, batch), f); T[np.arange(batch) % 10, np.arange(batch)] = 1

    def step():
        nonlocal W1, b1, W2, b2, W3, b3
        Z1 = W1 @ X + b1; D1 = (rng.rand(*Z1.shape) < 0.5); H1 = np.maximum(Z1, 0) * D1 * f(2)
        Z2 = W2 @ H1 + b2; D2 = (rng.rand(*Z2.shape) < 0.5); H2 = np.maximum(Z2, 0) * D2 * f(2)
        Z3 = W3 @ H2 + b3
        Z3 = Z3 - Z3.max(axis=0, keepdims=True); E = np.exp(Z3); P = E / E.sum(axis=0, keepdims=True)
        dZ3 = (P - T) / batch
        dW3 = dZ3 @ H2.T; db3 = dZ3.sum(axis=1, keepdims=True)
        dZ2 = (W3.T @ dZ3) * D2 * f(2) * (Z2 > 0)
        dW2 = dZ2 @ H1.T; db2 = dZ2.sum(axis=1, keepdims=True)
        dZ1 = (W2.T @ dZ2) * D1 * f(2) * (Z1 > 0)
        dW1 = dZ1 @ X.T; db1 = dZ1.sum(axis=1, keepdims=True)
        W1 -= f(0.01) * dW1; b1 -= f(0.01) * db1; W2 -= f(0.01) * dW2; b2 -= f(0.01) * db2
        W3 -= f(0.01) * dW3; b3 -= f(0.01) * db3
    return step


def main():
    which, quick = sys.argv[1], "--quick" in sys.argv
    repeats = 3 if quick else 7
    out = {"numpy_version": np.__version__}
    if which == "regnet":
        rng = np.random.RandomState(0)
        X = rng.randn(2, 211); Y = (rng.rand(1, 211) < 0.5).astype(float)
        out["regnet_step_us"] = median_time(regnet(X, Y, 1.0), repeats, 200 if quick else 2000) * 1e6
        out["regnet_dropout_step_us"] = median_time(regnet(X, Y, 0.86), repeats, 200 if quick else 2000) * 1e6
    else:
        out["mlp_step_ms"] = median_time(mlp(), repeats, 2 if quick else 10) * 1e3
    print(json.dumps(out))


main()
