"""Every op's forward values against numpy: tests/op_forward_cases.cpp runs each op of ops/ops.hpp on
random inputs and saves "<case>__in<i>" and "<case>__out" (or "__out<i>") to one .npz; here numpy
recomputes each output from the saved inputs, with reference formulas written from the math, not
from xgrad's code.

A case's name starts with the op it tests ("slice_negative_step" tests slice; the longest op name
that is a prefix wins, so "log_softmax_..." is log_softmax's). The test fails when a case's values,
shape or dtype differ, when a case has no numpy expression or an expression no case, or when an op
of ops/ops.hpp starts no case.

Usage: ops_vs_numpy.py PATH/TO/op_forward_cases WORKDIR
"""
import math
import os
import re
import subprocess
import sys
import warnings

import numpy as np

OPS_HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ops", "ops.hpp")
# Ops that only move, pick or compare values: their outputs must equal numpy's bit for bit.
EXACT_OPS = {
    "reshape", "permute", "transpose", "flatten", "squeeze", "unsqueeze", "broadcast_to", "concat", "stack",
    "split", "slice", "select", "index_select", "gather", "one_hot", "max", "min", "argmax", "argmin",
    "max_pool2d", "maximum", "minimum", "where", "equal", "less", "greater", "abs", "sign", "clamp", "neg",
    "relu", "astype",
}
TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}  # rtol = atol
# Ill-conditioned on purpose: values 1000 ± 0.5 normalised by σ ≈ 0.3 amplify the rounding of the mean
# (summed in another order than numpy's) ~3000 times: both xgrad and numpy are ~1e-12 off a long
# double reference. 1e-10 still fails a one-pass variance (E[x²] - μ², ~5e-9 off).
CASE_TOLERANCE = {"batch_norm_big_offset_values": 1e-10}
# Sums along an axis add in numpy's order (pairwise along the last axis), so they are numpy's bits.
# Sums over all elements accumulate in double instead, and are checked to the tolerance.
EXACT_CASES = {"sum_axis_neg1_3d", "sum_axis0_keepdims", "sum_axis1_4d", "sum_big_axis0", "sum_f32",
               "sum_method_axis", "sum_long_rows", "sum_long_rows_f32", "sum_negative_zeros"}


# ---- reference formulas -----------------------------------------------------------------------

def mask(condition, like):
    """A comparison's mask as xgrad returns it: in the inputs' float dtype, float64 for int64."""
    return condition.astype(like.dtype if like.dtype.kind == "f" else np.float64)


def in_float64(f):
    """f computed in float64 and rounded to x's dtype (for float32 cases of formulas with erf)."""
    return lambda x: f(x.astype(np.float64)).astype(x.dtype)


def reduce(losses, how):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[how](losses)


def log_softmax(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def logsumexp(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # an all -inf row: nothing to subtract
    with np.errstate(divide="ignore"):
        y = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return y if keepdims else np.squeeze(y, axis)


def flatten(x, start=1, end=-1):
    start, end = start % x.ndim, end % x.ndim
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


def split(x, sizes, axis=0):
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def gather(x, axis, index):
    """PyTorch's gather: index may be smaller than x along the other axes."""
    block = [slice(0, n) for n in index.shape]
    block[axis] = slice(None)
    return np.take_along_axis(x[tuple(block)], index, axis)


def one_hot(labels, classes, dtype=np.float64):
    return np.eye(classes, dtype=dtype)[labels]


def matmul(a, b, transpose_a=False, transpose_b=False):
    swap = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    return np.matmul(swap(a) if transpose_a else a, swap(b) if transpose_b else b)


erf = np.vectorize(math.erf, otypes=[np.float64])
erfc = np.vectorize(math.erfc, otypes=[np.float64])


def gelu(x):
    return x * 0.5 * erfc(-x / math.sqrt(2.0))  # the tail without 1 + erf's cancellation


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(x))


def leaky_relu(x, slope=0.01):
    return np.where(x > 0, x, slope * x)


def bce(p, y):
    with np.errstate(all="ignore"):  # np.where evaluates the skipped 0·log(0) terms too
        terms = np.where(y != 0, -y * np.log(p), 0) + np.where(y != 1, -(1 - y) * np.log(1 - p), 0)
    return np.mean(terms.astype(p.dtype))


def bce_with_logits(z, y):
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def softmax_cross_entropy(z, t, axis=0):
    return (-np.sum(t * log_softmax(z, axis)) / (z.size // z.shape[axis])).astype(z.dtype)


def huber(p, t, delta=1.0, how="mean"):
    d = np.abs(p - t)
    return reduce(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), how)


def picked(log_p, labels, axis):
    return np.squeeze(np.take_along_axis(log_p, np.expand_dims(labels, axis), axis), axis)


def nll(log_p, labels, axis=1, how="mean"):
    return reduce(-picked(log_p, labels, axis), how)


def cross_entropy(z, labels, axis=1, how="mean", smoothing=0.0):
    """PyTorch's: the target puts 1 - ε on the label and ε/C on every class."""
    log_p = log_softmax(z, axis)
    classes = z.shape[axis]
    losses = -(1 - smoothing) * picked(log_p, labels, axis) - smoothing / classes * np.sum(log_p, axis=axis)
    return reduce(losses, how)


def dropout_factor(kept, keep, scale, example_axis):
    """D·s for the mask D = kept: the scale mode's s where a unit is kept, 0 where it is dropped."""
    if scale == "constant":
        s = 1 / keep
    elif scale == "classic":
        s = 1.0
    elif scale == "measured":
        s = kept.size / kept.sum() if kept.sum() else 0.0
    else:  # per_example: units per example / units kept in that example
        others = tuple(a for a in range(kept.ndim) if a != example_axis)
        per_example = kept.sum(axis=others, keepdims=True)
        s = np.where(per_example > 0, kept.size / kept.shape[example_axis] / np.maximum(per_example, 1), 0.0)
    return np.where(kept, s, 0.0)


def dropout(x, seed, keep, scale="constant", training=True):
    """The course's dropout: D = rand(shape) < keep from RandomState(seed), then the scale mode."""
    if not training:
        return x * x.dtype.type(keep) if scale == "classic" else x
    kept = np.random.RandomState(seed).rand(*x.shape) < keep
    return x * dropout_factor(kept, keep, scale, example_axis=1).astype(x.dtype)


def dropout2d(x, seed, keep, scale="constant", training=True):
    """One mask bit per channel map: D = rand(N, C) < keep, per-example along the batch axis."""
    if not training:
        return x * x.dtype.type(keep) if scale == "classic" else x
    kept = np.random.RandomState(seed).rand(*x.shape[:2]) < keep
    factor = dropout_factor(kept, keep, scale, example_axis=0).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    return x * factor.astype(x.dtype)


def linear_relu_dropout(x, w, b, seed, keep, scale="constant", batch_first=False, example_axis=1):
    """dropout(relu(linear)): the mask drawn over the linear output's shape, as dropout draws it."""
    z = x @ w.T + b if batch_first else w @ x + b
    y = np.maximum(z, 0)
    kept = np.random.RandomState(seed).rand(*y.shape) < keep
    return y * dropout_factor(kept, keep, scale, example_axis).astype(y.dtype)


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """PyTorch's conv2d (cross-correlation) as a sum over kernel offsets of strided input views."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, _, h, wd = x.shape
    c_out, c_group, kh, kw = w.shape
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, c_out, oh, ow))
    per_group = c_out // groups
    for g in range(groups):
        xs, ws = xp[:, g * c_group:(g + 1) * c_group], w[g * per_group:(g + 1) * per_group].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                view = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                out[:, g * per_group:(g + 1) * per_group] += np.einsum("nchw,oc->nohw", view, ws[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out.astype(x.dtype)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    y = conv2d(x[:, :, None, :], w[:, :, None, :], b, (1, stride), (0, padding), (1, dilation), groups)
    return y[:, :, 0, :]


def pool_windows(x, kernel, stride, padding, fill):
    """The (kh·kw, N, C, OH, OW) stack of each window offset's values (padding = fill)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride or kernel, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (x.shape[2] + 2 * ph - kh) // sh + 1, (x.shape[3] + 2 * pw - kw) // sw + 1
    return np.stack([xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
                     for i in range(kh) for j in range(kw)])


def max_pool2d(x, kernel, stride=None, padding=(0, 0)):
    return np.max(pool_windows(x, kernel, stride, padding, -np.inf), axis=0)


def avg_pool2d(x, kernel, stride=None, padding=(0, 0)):
    """count_include_pad: every window divides by kh·kw."""
    total = np.sum(pool_windows(x, kernel, stride, padding, 0), axis=0)
    return (total / (kernel[0] * kernel[1])).astype(x.dtype)


def adaptive_avg_pool2d(x, size):
    (oh, ow), (h, w) = size, x.shape[2:]
    y = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    for i in range(oh):
        h0, h1 = i * h // oh, -(-(i + 1) * h // oh)  # [⌊i·H/out⌋, ⌈(i+1)·H/out⌉)
        for j in range(ow):
            w0, w1 = j * w // ow, -(-(j + 1) * w // ow)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def batch_norm(x, rm=None, rv=None, w=None, b=None, training=True, momentum=0.1, eps=1e-5):
    """PyTorch's: batch statistics (biased variance) over every axis but 1 in training; the running
    statistics blended with the batch's (unbiased variance). Returns y, or [y, running mean, running var]."""
    dtype, f64 = x.dtype, lambda a: None if a is None else a.astype(np.float64)
    x, rm, rv, w, b = map(f64, (x, rm, rv, w, b))
    axes, shape = (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
    mean, var = (x.mean(axis=axes), x.var(axis=axes)) if training else (rm, rv)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.reshape(shape) + b.reshape(shape)
    if rm is None:
        return y.astype(dtype)
    if training:
        n = x.size // x.shape[1]
        rm, rv = (1 - momentum) * rm + momentum * mean, (1 - momentum) * rv + momentum * var * n / (n - 1)
    return [a.astype(dtype) for a in (y, rm, rv)]


def layer_norm(x, ndim, w=None, b=None, eps=1e-5):
    """Normalised over the trailing ndim axes, per example (biased variance)."""
    x64, axes = x.astype(np.float64), tuple(range(x.ndim - ndim, x.ndim))
    y = (x64 - x64.mean(axis=axes, keepdims=True)) / np.sqrt(x64.var(axis=axes, keepdims=True) + eps)
    if w is not None:
        y = y * w + b
    return y.astype(x.dtype)


def lstm_cell(gates, c):
    """[h' | c'] of one LSTM step from the pre-activations [i | f | g | o] and the cell state."""
    sigmoid = lambda v: 1 / (1 + np.exp(-v))
    i, f, g, o = np.split(gates, 4, axis=1)
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return np.concatenate([sigmoid(o) * np.tanh(c_next), c_next], axis=1)


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, mask=None, batch_first=False):
    """[outputs, h_T, c_T] of an LSTM layer run step by step with lstm_cell (time-major or batch first)."""
    h, c, outputs, hidden = h0, c0, [], h0.shape[1]
    for xt in (np.swapaxes(x, 0, 1) if batch_first else x):
        gates = xt @ w_ih.T + (h if mask is None else h * mask) @ w_hh.T
        if b_ih is not None:
            gates = gates + b_ih + b_hh
        step = lstm_cell(gates, c)
        h, c = step[:, :hidden], step[:, hidden:]
        outputs.append(h)
    return [np.stack(outputs, axis=1 if batch_first else 0), h, c]


def with_reductions(prefix, f):
    """The cases "<prefix>mean", "<prefix>sum", "<prefix>none" (the C++ table's reduction loop)."""
    def case(how):
        return lambda *inputs: f(*inputs, how=how)
    return {prefix + how: case(how) for how in ("mean", "sum", "none")}


# ---- the cases: name → numpy expression of the inputs ------------------------------------------

EXPECTED = {
    # arithmetic
    "add_broadcast_3d": lambda a, b: a + b,
    "add_broadcast_both": lambda a, b: a + b,
    "add_0d_and_vector": lambda a, b: a + b,
    "add_scalar": lambda x: x + 2.5,
    "add_operator_scalar_left": lambda x: 2.5 + x,
    "add_f32": lambda a, b: a + b,
    "sub_broadcast": lambda a, b: a - b,
    "sub_scalar_left": lambda x: 1.5 - x,
    "sub_operator_scalar_right": lambda x: x - 1.5,
    "sub_operator_4d": lambda a, b: a - b,
    "mul_broadcast_4d": lambda a, b: a * b,
    "mul_scalar": lambda x: x * -3.0,
    "mul_operator_scalar_left": lambda x: 0.5 * x,
    "mul_f32": lambda a, b: a * b,
    "div_broadcast": lambda a, b: a / b,
    "div_scalar": lambda x: x / 3.0,
    "div_scalar_left": lambda x: 2.0 / x,
    "div_operator_scalar_left": lambda x: 1.0 / x,
    "div_f32": lambda a, b: a / b,
    "neg_3d": lambda x: -x,
    "neg_operator_f32": lambda x: -x,
    "mul_big_broadcast": lambda a, b: a * b,
    "astype_f64_to_f32": lambda x: x.astype(np.float32),
    "astype_f32_to_f64": lambda x: x.astype(np.float64),
    "astype_f64_to_i64_truncates": lambda x: x.astype(np.int64),
    "astype_f32_to_i64": lambda x: x.astype(np.int64),
    "astype_i64_to_f64": lambda x: x.astype(np.float64),
    "astype_method": lambda x: x.astype(np.float32),
    # linalg
    "matmul_2d": matmul,
    "matmul_batch_broadcast": matmul,
    "matmul_vector_batch": matmul,
    "matmul_batch_vector": matmul,
    "matmul_matrix_vector": matmul,
    "matmul_vector_vector": matmul,
    "matmul_batch_matrix": matmul,
    "matmul_matrix_batch": matmul,
    "matmul_transpose_a_batched": lambda a, b: matmul(a, b, transpose_a=True),
    "matmul_transpose_b_batched": lambda a, b: matmul(a, b, transpose_b=True),
    "matmul_transpose_both_broadcast": lambda a, b: matmul(a, b, True, True),
    "matmul_transpose_a_2d": lambda a, b: a.T @ b,
    "matmul_inner_size_zero": matmul,
    "matmul_f32_batched": matmul,
    "matmul_big": matmul,
    "matmul_big_batch_matrix": matmul,
    "matmul_big_transpose_b_broadcast": lambda a, b: matmul(a, b, transpose_b=True),
    "linear_features_first": lambda x, w, b: w @ x + b,
    "linear_batch_first_3d": lambda x, w, b: x @ w.T + b,
    "linear_batch_first_2d": lambda x, w, b: x @ w.T + b,
    "linear_features_first_f32": lambda x, w, b: w @ x + b,
    # shape
    "reshape_infer": lambda x: x.reshape(4, -1),
    "reshape_to_0d": lambda x: x.reshape(()),
    "reshape_int64": lambda x: x.reshape(3, 1, 4),
    "reshape_method": lambda x: x.reshape(2, -1, 2),
    "permute_3d": lambda x: np.transpose(x, (2, 0, 1)),
    "permute_negative_axes_4d": lambda x: np.transpose(x, (-1, 0, -2, 1)),
    "permute_int64": lambda x: np.transpose(x, (1, 2, 0)),
    "permute_method": lambda x: np.transpose(x, (0, 2, 1)),
    "transpose_2d": lambda x: x.T,
    "transpose_axes_3d": lambda x: np.swapaxes(x, 0, 2),
    "transpose_negative_axes_4d": lambda x: np.swapaxes(x, -1, -3),
    "transpose_int64": lambda x: x.T,
    "transpose_method_t": lambda x: x.T,
    "transpose_method_axes": lambda x: np.swapaxes(x, 1, -1),
    "flatten_default_4d": flatten,
    "flatten_1_2_4d": lambda x: flatten(x, 1, 2),
    "flatten_0_neg2": lambda x: flatten(x, 0, -2),
    "flatten_int64": flatten,
    "flatten_method": lambda x: flatten(x, 0),
    "flatten_0d": lambda x: x.reshape(1),
    "squeeze_negative_axis": lambda x: np.squeeze(x, -2),
    "squeeze_first": lambda x: np.squeeze(x, 0),
    "squeeze_int64": lambda x: np.squeeze(x, -1),
    "squeeze_method": lambda x: np.squeeze(x, 2),
    "unsqueeze_last": lambda x: np.expand_dims(x, -1),
    "unsqueeze_negative": lambda x: np.expand_dims(x, -2),
    "unsqueeze_first_int64": lambda x: np.expand_dims(x, 0),
    "unsqueeze_method": lambda x: np.expand_dims(x, 1),
    "broadcast_to_3d": lambda x: np.broadcast_to(x, (2, 3, 4)),
    "broadcast_to_0d": lambda x: np.broadcast_to(x, (2, 2)),
    "broadcast_to_int64": lambda x: np.broadcast_to(x, (3, 4)),
    "concat_axis1_3d": lambda a, b, c: np.concatenate([a, b, c], axis=1),
    "concat_axis0": lambda a, b: np.concatenate([a, b]),
    "concat_negative_axis": lambda a, b: np.concatenate([a, b], axis=-1),
    "concat_with_empty": lambda a, b: np.concatenate([a, b], axis=1),
    "concat_int64": lambda a, b: np.concatenate([a, b]),
    "concat_f32": lambda a, b: np.concatenate([a, b], axis=-1),
    "stack_axis_neg1": lambda a, b, c: np.stack([a, b, c], axis=-1),
    "stack_axis0": lambda a, b: np.stack([a, b]),
    "stack_axis1_3d": lambda a, b: np.stack([a, b], axis=1),
    "stack_int64": lambda a, b: np.stack([a, b], axis=1),
    "stack_single": lambda a: np.stack([a], axis=1),
    "split_uneven_3": lambda x: split(x, [1, 2, 4]),
    "split_negative_axis_with_empty": lambda x: split(x, [4, 0, 5], axis=-1),
    "split_axis1_3d": lambda x: split(x, [3, 2], axis=1),
    "split_int64": lambda x: split(x, [2, 3, 1]),
    # indexing
    "slice_basic": lambda x: x[1:4],
    "slice_step3": lambda x: x[1:10:3],
    "slice_negative_step": lambda x: x[6:0:-2],
    "slice_negative_step_to_start": lambda x: x[5:-100:-2],
    "slice_reverse_all": lambda x: x[:, -1:-8:-1],
    "slice_negative_step_clipped_start": lambda x: x[100:1:-3],
    "slice_empty": lambda x: x[3:1],
    "slice_empty_equal_bounds": lambda x: x[:, 2:2],
    "slice_empty_negative_step": lambda x: x[1:3:-1],
    "slice_negative_bounds": lambda x: x[:, -5:-1],
    "slice_clip_stop": lambda x: x[2:100],
    "slice_clip_start": lambda x: x[-100:3],
    "slice_axis_neg1_3d": lambda x: x[..., 1:6:2],
    "slice_int64": lambda x: x[:, -1:0:-2],
    "slice_step_int64_max": lambda x: x[0:3:2**63 - 1],
    "slice_step_int64_min": lambda x: x[2:0:-2**63],
    "slice_method": lambda x: x[:, 0:3],
    "select_axis1_3d": lambda x: x[:, 2],
    "select_negative_index_axis": lambda x: x[..., -1],
    "select_1d_to_0d": lambda x: x[3],
    "select_int64": lambda x: x[-2],
    "select_method_bracket": lambda x: x[0],
    "select_method_bracket_negative": lambda x: x[-1],
    "index_select_repeated": lambda x, i: np.take(x, i, axis=0),
    "index_select_axis_neg1_3d": lambda x, i: np.take(x, i, axis=-1),
    "index_select_negative_indices": lambda x, i: np.take(x, i, axis=1),
    "index_select_empty_indices": lambda x, i: np.take(x, i, axis=0),
    "index_select_int64_values": lambda x, i: np.take(x, i, axis=0),
    "index_select_f32": lambda x, i: np.take(x, i, axis=0),
    "gather_axis0": lambda x, i: gather(x, 0, i),
    "gather_axis_neg1_3d": lambda x, i: gather(x, -1, i),
    "gather_smaller_index": lambda x, i: gather(x, 1, i),
    "gather_negative_indices": lambda x, i: gather(x, 1, i),
    "gather_int64_values": lambda x, i: gather(x, 0, i),
    "gather_empty_index": lambda x, i: gather(x, 1, i),
    "one_hot_1d": lambda y: one_hot(y, 4),
    "one_hot_2d": lambda y: one_hot(y, 5),
    "one_hot_f32_unused_classes": lambda y: one_hot(y, 6, np.float32),
    "one_hot_empty_labels": lambda y: one_hot(y, 3),
    # reductions
    "sum_all_3d": np.sum,
    "sum_axis_neg1_3d": lambda x: np.sum(x, axis=-1),
    "sum_axis0_keepdims": lambda x: np.sum(x, axis=0, keepdims=True),
    "sum_axis1_4d": lambda x: np.sum(x, axis=1),
    "sum_empty_axis": lambda x: np.sum(x, axis=0),
    "sum_all_empty": np.sum,
    "sum_big_axis0": lambda x: np.sum(x, axis=0),
    "sum_big_all": np.sum,
    "sum_f32": lambda x: np.sum(x, axis=1),
    "sum_method_all": np.sum,
    "sum_long_rows": lambda x: np.sum(x, axis=1),
    "sum_long_rows_f32": lambda x: np.sum(x, axis=-1),
    "sum_negative_zeros": lambda x: (np.sum(x, axis=1), np.sum(x, axis=0)),
    **{f"sum_row_length_{n}": (lambda x: np.sum(x, axis=1))
       for n in (1, 7, 8, 9, 15, 16, 17, 127, 128, 129, 135, 136, 255, 256, 257, 1031)},
    "sum_method_axis": lambda x: np.sum(x, axis=-2, keepdims=True),
    "mean_all": np.mean,
    "mean_axis_neg2_keepdims_4d": lambda x: np.mean(x, axis=-2, keepdims=True),
    "mean_f32": lambda x: np.mean(x, axis=0),
    "mean_method_all": np.mean,
    "mean_method_axis": lambda x: np.mean(x, axis=1),
    "mean_big_axis1": lambda x: np.mean(x, axis=1),
    "mean_empty_axis0": lambda x: np.mean(x, axis=0),  # nan: 0/0
    "max_all_ties": np.max,
    "max_axis1_ties_keepdims": lambda x: np.max(x, axis=1, keepdims=True),
    "max_axis_neg1_4d": lambda x: np.max(x, axis=-1),
    "max_axis0_nan": lambda x: np.max(x, axis=0),
    "max_f32": lambda x: np.max(x, axis=0),
    "max_method_all": np.max,
    "max_method_axis": lambda x: np.max(x, axis=0, keepdims=True),
    "max_big_ties_axis1": lambda x: np.max(x, axis=1),
    "max_empty_rows": lambda x: np.max(x, axis=1),
    "min_all_ties": np.min,
    "min_axis0_ties": lambda x: np.min(x, axis=0),
    "min_axis1_3d_keepdims": lambda x: np.min(x, axis=1, keepdims=True),
    "min_axis1_nan": lambda x: np.min(x, axis=1),
    "min_method_all": np.min,
    "min_method_axis": lambda x: np.min(x, axis=-1),
    "argmax_ties_axis0": lambda x: np.argmax(x, axis=0),
    "argmax_ties_axis_neg1_keepdims_3d": lambda x: np.argmax(x, axis=-1, keepdims=True),
    "argmax_nan": lambda x: np.argmax(x, axis=1),
    "argmax_f32": lambda x: np.argmax(x, axis=1),
    "argmax_method": lambda x: np.argmax(x, axis=1),
    "argmax_big_ties_axis0": lambda x: np.argmax(x, axis=0),
    "argmin_ties_axis1": lambda x: np.argmin(x, axis=1),
    "argmin_ties_axis0_4d": lambda x: np.argmin(x, axis=0),
    "argmin_nan": lambda x: np.argmin(x, axis=0),
    "argmin_method_keepdims": lambda x: np.argmin(x, axis=0, keepdims=True),
    "argmin_big_ties_axis1": lambda x: np.argmin(x, axis=-1),
    "logsumexp_axis0": lambda x: logsumexp(x, 0),
    "logsumexp_large_values": lambda x: logsumexp(x, 1),
    "logsumexp_neg_inf_row": lambda x: logsumexp(x, -1),
    "logsumexp_keepdims_3d": lambda x: logsumexp(x, -2, keepdims=True),
    "logsumexp_f32": lambda x: logsumexp(x, 1),
    "logsumexp_big_axis0": lambda x: logsumexp(x, 0),
    "logsumexp_empty_axis": lambda x: np.full(x.shape[1:], -np.inf),  # log of an empty sum
    "var_ddof0_axis1": lambda x: np.var(x, axis=1),
    "var_ddof1_axis0_keepdims": lambda x: np.var(x, axis=0, ddof=1, keepdims=True),
    "var_ddof1_axis_neg1_3d": lambda x: np.var(x, axis=-1, ddof=1),
    "var_offset_values": lambda x: np.var(x, axis=1),
    "var_f32": lambda x: np.var(x, axis=0, ddof=1),
    "var_big_axis0": lambda x: np.var(x, axis=0, ddof=1),
    # element-wise selection and comparison
    "abs_3d": np.abs,
    "abs_f32_with_zeros": np.abs,
    "sign_with_zeros": np.sign,
    "sign_f32": np.sign,
    "clamp_ties_at_bounds": lambda x: np.clip(x, -1, 2),
    "clamp_fractional_bounds": lambda x: np.clip(x, -0.5, 0.25),
    "clamp_equal_bounds": lambda x: np.clip(x, 0.5, 0.5),
    "clamp_f32": lambda x: np.clip(x, -0.3, 0.7),
    "maximum_ties_broadcast": np.maximum,
    "maximum_ties_same_shape": np.maximum,
    "maximum_broadcast_3d": np.maximum,
    "maximum_nan": np.maximum,
    "maximum_f32": np.maximum,
    "minimum_ties_broadcast": np.minimum,
    "minimum_broadcast_4d": np.minimum,
    "minimum_nan": np.minimum,
    "where_3way_broadcast": lambda c, a, b: np.where(c != 0, a, b),
    "where_int64_cond": lambda c, a, b: np.where(c != 0, a, b),
    "where_comparison_mask": lambda a, b: np.where(a > b, a, b),
    "where_f32": lambda c, a, b: np.where(c != 0, a, b),
    "where_f32_cond_f64_values": lambda c, a, b: np.where(c != 0, a, b),
    "equal_ties_broadcast": lambda a, b: mask(a == b, a),
    "equal_int64": lambda a, b: mask(a == b, a),
    "equal_f32": lambda a, b: mask(a == b, a),
    "equal_operator": lambda a, b: mask(a == b, a),
    "equal_argmax_accuracy": lambda z, y: np.mean(mask(np.argmax(z, axis=0) == y, y)),
    "less_ties_broadcast_3d": lambda a, b: mask(a < b, a),
    "less_int64": lambda a, b: mask(a < b, a),
    "less_f32": lambda a, b: mask(a < b, a),
    "less_operator": lambda a, b: mask(a < b, a),
    "greater_ties_broadcast": lambda a, b: mask(a > b, a),
    "greater_int64_0d": lambda a, b: mask(a > b, a),
    "greater_operator": lambda a, b: mask(a > b, a),
    # activations
    "exp_3d": np.exp,
    "exp_wide": np.exp,
    "exp_f32": np.exp,
    "exp_big_odd": np.exp,
    "log_positive": np.log,
    "log_f32": np.log,
    "sqrt_with_zero": np.sqrt,
    "sqrt_3d": np.sqrt,
    "sqrt_f32": np.sqrt,
    "square_3d": np.square,
    "square_f32": np.square,
    "pow_cube": lambda x: np.power(x, 3.0),
    "pow_half": lambda x: np.power(x, 0.5),
    "pow_negative_exponent": lambda x: np.power(x, -2.0),
    "pow_fractional": lambda x: np.power(x, 1.7),
    "pow_zero_exponent": lambda x: np.power(x, 0.0),
    "pow_f32": lambda x: np.power(x, np.float32(2.5)),
    "relu_with_zeros": lambda x: np.maximum(x, 0),
    "relu_f32": lambda x: np.maximum(x, 0),
    "relu_nan_inf": lambda x: np.maximum(0, x),
    "relu_nan_f32": lambda x: np.maximum(np.float32(0), x),
    "sigmoid_wide": sigmoid,
    "sigmoid_f32": in_float64(sigmoid),
    "sigmoid_big_f32": in_float64(sigmoid),
    "tanh_wide": np.tanh,
    "tanh_f32": np.tanh,
    "softmax_axis0_default": lambda x: softmax(x, 0),
    "softmax_axis_neg1_3d": lambda x: softmax(x, -1),
    "softmax_large_values": lambda x: softmax(x, 1),
    "softmax_f32": lambda x: softmax(x, 1),
    "softmax_big_axis0": lambda x: softmax(x, 0),
    "softmax_empty": lambda x: x.copy(),  # numpy's max refuses an empty axis; the result is empty too
    "log_softmax_axis0_default": lambda x: log_softmax(x, 0),
    "log_softmax_axis1_3d": lambda x: log_softmax(x, 1),
    "log_softmax_large_values": lambda x: log_softmax(x, -1),
    "log_softmax_f32": lambda x: log_softmax(x, 0),
    "leaky_relu_default_wide": leaky_relu,
    "leaky_relu_slope_with_zeros": lambda x: leaky_relu(x, 0.2),
    "leaky_relu_f32": in_float64(lambda x: leaky_relu(x, 0.1)),
    "elu_wide": elu,
    "elu_alpha_small_values": lambda x: elu(x, 0.5),
    "elu_f32": in_float64(lambda x: elu(x, 1.5)),
    "gelu_wide": gelu,
    "gelu_near_zero": gelu,
    "gelu_f32": in_float64(gelu),
    "gelu_big": gelu,
    "silu_wide": lambda x: x * sigmoid(x),
    "silu_f32": in_float64(lambda x: x * sigmoid(x)),
    "softplus_wide": lambda x: np.logaddexp(0, x),
    "softplus_extreme": lambda x: np.logaddexp(0, x),
    "softplus_f32": in_float64(lambda x: np.logaddexp(0, x)),
    "log_sigmoid_wide": lambda x: -np.logaddexp(0, -x),
    "log_sigmoid_extreme": lambda x: -np.logaddexp(0, -x),
    # losses
    "binary_cross_entropy_hard_labels": bce,
    "binary_cross_entropy_soft_labels": bce,
    "binary_cross_entropy_saturated": bce,
    "binary_cross_entropy_f32": bce,
    "binary_cross_entropy_with_logits_wide": bce_with_logits,
    "binary_cross_entropy_with_logits_soft": bce_with_logits,
    "binary_cross_entropy_with_logits_f32": bce_with_logits,
    "softmax_cross_entropy_axis0_one_hot": softmax_cross_entropy,
    "softmax_cross_entropy_axis1_probabilities": lambda z, t: softmax_cross_entropy(z, t, 1),
    "softmax_cross_entropy_axis_neg1_3d": lambda z, t: softmax_cross_entropy(z, t, -1),
    "softmax_cross_entropy_f32": softmax_cross_entropy,
    "sum_of_squares_3d": lambda x: np.sum(x * x),
    "sum_of_squares_f32": lambda x: np.sum(x * x),
    **with_reductions("mse_loss_", lambda p, t, how: reduce((p - t) ** 2, how)),
    **with_reductions("l1_loss_", lambda p, t, how: reduce(np.abs(p - t), how)),
    **with_reductions("huber_loss_both_sides_", lambda p, t, how: huber(p, t, 1.0, how)),
    **with_reductions("nll_loss_nc_", lambda lp, y, how: nll(lp, y, 1, how)),
    **with_reductions("nll_loss_ncd_", lambda lp, y, how: nll(lp, y, 1, how)),
    **with_reductions("nll_loss_cm_", lambda lp, y, how: nll(lp, y, 0, how)),
    **with_reductions("cross_entropy_nc_smooth_", lambda z, y, how: cross_entropy(z, y, 1, how, 0.1)),
    **with_reductions("cross_entropy_ncd_smooth_", lambda z, y, how: cross_entropy(z, y, 1, how, 0.1)),
    **with_reductions("cross_entropy_cm_smooth_", lambda z, y, how: cross_entropy(z, y, 0, how, 0.1)),
    "mse_loss_f32": lambda p, t: np.mean((p - t) ** 2),
    "l1_loss_f32": lambda p, t: np.mean(np.abs(p - t)),
    "huber_loss_delta_half_3d": lambda p, t: huber(p, t, 0.5),
    "nll_loss_negative_axis": lambda lp, y: nll(lp, y, -1),
    "cross_entropy_nc_default": cross_entropy,
    "cross_entropy_cm_axis_overload": lambda z, y: cross_entropy(z, y, 0),
    "cross_entropy_large_logits": cross_entropy,
    "cross_entropy_f32_smooth": lambda z, y: cross_entropy(z, y, 1, "mean", 0.2),
    "cross_entropy_big_ncd_smooth_sum": lambda z, y: cross_entropy(z, y, 1, "sum", 0.05),
    # convolution and pooling (batch first)
    "conv2d_pad1_bias": lambda x, w, b: conv2d(x, w, b, padding=(1, 1)),
    "conv2d_stride_2x1_pad_1x0": lambda x, w, b: conv2d(x, w, b, (2, 1), (1, 0)),
    "conv2d_dilation2_no_bias": lambda x, w: conv2d(x, w, None, (1, 1), (2, 2), (2, 2)),
    "conv2d_groups2_stride2": lambda x, w, b: conv2d(x, w, b, (2, 2), (1, 1), groups=2),
    "conv2d_depthwise": lambda x, w: conv2d(x, w, groups=3),
    "conv2d_1x1": conv2d,
    "conv2d_1x1_stride2_pad1": lambda x, w: conv2d(x, w, None, (2, 2), (1, 1)),
    "conv2d_same_rect_kernel": lambda x, w, b: conv2d(x, w, b, padding=(1, 2)),
    "conv2d_same_kernel_past_plane": lambda x, w: conv2d(x, w, None, padding=(2, 3)),
    "conv2d_big_rect": lambda x, w, b: conv2d(x, w, b, (2, 2), (1, 2), (1, 2)),
    "conv2d_f32": lambda x, w, b: conv2d(x, w, b, padding=(1, 1)),
    "conv2d_relu_pad1_bias": lambda x, w, b: np.maximum(conv2d(x, w, b, padding=(1, 1)), 0),
    "conv2d_relu_1x1_groups2": lambda x, w, b: np.maximum(conv2d(x, w, b, groups=2), 0),
    "conv2d_relu_f32_stride2_no_bias": lambda x, w: np.maximum(conv2d(x, w, None, (2, 2), (1, 1)), 0),
    "conv1d_stride2_pad1": lambda x, w, b: conv1d(x, w, b, 2, 1),
    "conv1d_dilation2_groups2": lambda x, w: conv1d(x, w, None, 1, 0, 2, 2),
    "conv1d_f32": lambda x, w: conv1d(x, w, None, 1, 1),
    "max_pool2d_k2_odd": lambda x: max_pool2d(x, (2, 2)),
    "max_pool2d_k3_s2_pad1": lambda x: max_pool2d(x, (3, 3), (2, 2), (1, 1)),
    "max_pool2d_ties_rect": lambda x: max_pool2d(x, (2, 3), (2, 1)),
    "max_pool2d_negative_values_pad1": lambda x: max_pool2d(x, (2, 2), (1, 1), (1, 1)),
    "max_pool2d_f32": lambda x: max_pool2d(x, (2, 2)),
    "avg_pool2d_k2": lambda x: avg_pool2d(x, (2, 2)),
    "avg_pool2d_k3_s2_pad1": lambda x: avg_pool2d(x, (3, 3), (2, 2), (1, 1)),
    "avg_pool2d_rect_pad": lambda x: avg_pool2d(x, (2, 3), (1, 2), (1, 1)),
    "avg_pool2d_f32": lambda x: avg_pool2d(x, (2, 2)),
    "adaptive_avg_pool2d_5x7_to_3x2": lambda x: adaptive_avg_pool2d(x, (3, 2)),
    "adaptive_avg_pool2d_global": lambda x: adaptive_avg_pool2d(x, (1, 1)),
    "adaptive_avg_pool2d_upsample": lambda x: adaptive_avg_pool2d(x, (5, 3)),
    "adaptive_avg_pool2d_f32": lambda x: adaptive_avg_pool2d(x, (4, 4)),
    # normalisation
    "batch_norm_nc_training": batch_norm,
    "batch_norm_nchw_training_momentum": lambda x, rm, rv, w, b: batch_norm(x, rm, rv, w, b, True, 0.3, 1e-3),
    "batch_norm_no_affine_no_running": batch_norm,
    "batch_norm_evaluation": lambda x, rm, rv, w, b: batch_norm(x, rm, rv, w, b, training=False),
    "batch_norm_big_offset_values": batch_norm,
    "batch_norm_f32": batch_norm,
    "layer_norm_last_axis": lambda x, w, b: layer_norm(x, 1, w, b),
    "layer_norm_two_axes": lambda x, w, b: layer_norm(x, 2, w, b),
    "layer_norm_no_affine": lambda x: layer_norm(x, 1),
    "layer_norm_large_eps": lambda x: layer_norm(x, 1, eps=0.1),
    "layer_norm_offset_values": lambda x: layer_norm(x, 1),
    "layer_norm_f32": lambda x, w, b: layer_norm(x, 1, w, b),
    "lstm_cell": lstm_cell,
    "lstm_cell_saturated": lstm_cell,
    "lstm_cell_f32": lstm_cell,
    "lstm_layer": lstm_layer,
    "lstm_layer_batch_first_no_bias": lambda *a: lstm_layer(*a, batch_first=True),
    "lstm_layer_f32": lambda *a: lstm_layer(*a, batch_first=True),
    # dropout (seeds and options as in the C++ table)
    "dropout_constant_keep_0_8": lambda x: dropout(x, 1, 0.8),
    "dropout_constant_keep_0_5": lambda x: dropout(x, 2, 0.5),
    "dropout_measured": lambda x: dropout(x, 3, 0.7, "measured"),
    "dropout_per_example": lambda x: dropout(x, 4, 0.6, "per_example"),
    "dropout_classic_training": lambda x: dropout(x, 5, 0.75, "classic"),
    "dropout_classic_evaluation": lambda x: dropout(x, 6, 0.75, "classic", training=False),
    "dropout_constant_evaluation": lambda x: dropout(x, 7, 0.75, training=False),
    "dropout_constant_f32": lambda x: dropout(x, 8, 0.9),
    "dropout_big_constant": lambda x: dropout(x, 9, 0.8),
    "dropout_big_per_example": lambda x: dropout(x, 10, 0.3, "per_example"),
    "dropout_big_measured_f32_keep_0_25": lambda x: dropout(x, 11, 0.25, "measured"),
    "dropout_big_constant_f32_keep_0_25": lambda x: dropout(x, 12, 0.25),
    "dropout2d_constant": lambda x: dropout2d(x, 21, 0.6),
    "dropout2d_per_example": lambda x: dropout2d(x, 22, 0.6, "per_example"),
    "dropout2d_measured": lambda x: dropout2d(x, 23, 0.5, "measured"),
    "dropout2d_classic_training": lambda x: dropout2d(x, 24, 0.7, "classic"),
    "dropout2d_classic_evaluation": lambda x: dropout2d(x, 25, 0.7, "classic", training=False),
    "dropout2d_big_f32": lambda x: dropout2d(x, 26, 0.8),
    "linear_relu_dropout_features_first": lambda x, w, b: linear_relu_dropout(x, w, b, 31, 0.7),
    "linear_relu_dropout_batch_first_measured":
        lambda x, w, b: linear_relu_dropout(x, w, b, 32, 0.6, "measured", batch_first=True),
    "linear_relu_dropout_per_example": lambda x, w, b: linear_relu_dropout(x, w, b, 33, 0.5, "per_example"),
    "linear_relu_dropout_batch_first_f32": lambda x, w, b: linear_relu_dropout(x, w, b, 34, 0.8, batch_first=True),
}


# ---- the comparison ---------------------------------------------------------------------------

def public_ops():
    pattern = re.compile(r"^(?:inline )?(?:Tensor|std::vector<Tensor>|LstmSequence) (\w+)\(", re.M)
    with open(OPS_HEADER, encoding="utf-8") as f:
        return sorted(set(pattern.findall(f.read())))


def op_of(case, ops):
    """The op a case tests: the longest op name that is the case's name or a prefix ending at '_'."""
    matches = [op for op in ops if case == op or case.startswith(op + "_")]
    return max(matches, key=len) if matches else None


def difference(got, want, exact, tol=None):
    """None when got matches numpy's want, else what differs."""
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, numpy {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, numpy {want.dtype}"
    if exact or got.dtype.kind == "i":
        # Exact means the same bits: a zero's sign too (−0 == +0 would pass a wrong sign).
        bad = (~(((got == want) & (np.signbit(got) == np.signbit(want))) | (np.isnan(got) & np.isnan(want)))
               if got.dtype.kind == "f" else got != want)
    else:
        tol = tol or TOLERANCE[got.dtype]
        bad = ~np.isclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    if not bad.any():
        return None
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    how = "exact" if exact else f"tolerance {tol:g}"
    return (f"{int(bad.sum())} of {bad.size} values differ ({how}); first at {where}: "
            f"xgrad {got[where]!r}, numpy {want[where]!r}")


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "op_forward_cases.npz")
    if os.path.exists(path):
        os.remove(path)
    run = subprocess.run([tool, path], capture_output=True, text=True)
    failures = []
    for line in run.stderr.splitlines():  # an op that threw: its case is missing below
        failures.append(f"driver: {line}")
    if not os.path.exists(path):
        failures.append(f"driver exited {run.returncode} without writing {path}")
        arrays = {}
    else:
        with np.load(path) as npz:
            arrays = {name: npz[name] for name in npz.files}

    cases = {}  # case → {"in": [...], "out": {suffix: array}}
    for name, array in arrays.items():
        case, _, part = name.partition("__")
        entry = cases.setdefault(case, {"in": {}, "out": {}})
        (entry["in"] if part.startswith("in") else entry["out"])[part] = array

    ops = public_ops()
    covered = set()
    for case in sorted(set(cases) | set(EXPECTED)):
        op = op_of(case, ops)
        if op is None:
            failures.append(f"{case}: its name starts with no op of ops/ops.hpp")
            continue
        if case not in cases:
            failures.append(f"{case}: a numpy expression but no output from op_forward_cases")
            continue
        if case not in EXPECTED:
            failures.append(f"{case}: no numpy expression in ops_vs_numpy.py")
            continue
        covered.add(op)
        entry = cases[case]
        inputs = [entry["in"][f"in{i}"] for i in range(len(entry["in"]))]
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):  # nan and inf are expected values too
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = EXPECTED[case](*inputs)
        except Exception as e:  # a wrong reference formula is a failure of this script, named
            failures.append(f"{case}: the numpy expression raised {type(e).__name__}: {e}")
            continue
        if isinstance(expected, (list, tuple)):
            pairs = [(f"out{i}", want) for i, want in enumerate(expected)]
        else:
            pairs = [("out", expected)]
        if sorted(entry["out"]) != sorted(name for name, _ in pairs):
            failures.append(f"{case}: outputs {sorted(entry['out'])}, numpy gives {len(pairs)}")
            continue
        for name, want in pairs:
            exact = op in EXACT_OPS or case in EXACT_CASES or case.startswith("sum_row_length_")
            problem = difference(entry["out"][name], want, exact, CASE_TOLERANCE.get(case))
            if problem:
                failures.append(f"{case} ({op}){'' if name == 'out' else ' ' + name}: {problem}")
    for op in ops:
        if op not in covered:
            failures.append(f"{op}: no case tests it (no case name is '{op}' or starts with '{op}_')")

    for line in failures:
        print("FAIL", line)
    print(f"ops_vs_numpy: {len(cases)} cases, {len(covered)} ops, {len(failures)} failures")
    return 1 if failures or run.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
