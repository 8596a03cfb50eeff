// Losses: binary cross-entropy on probabilities and on logits, softmax cross-entropy, sum of
// squares (each 0-d); and, with a Reduction of mean, sum or none: mse, l1, huber, nll and
// cross-entropy on int64 class indices.

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "framework/simd.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

void require_same_shape(const char* op, const Array& a, const Array& b) {
    if (a.shape() != b.shape())
        throw ShapeError(std::string(op) + ": predictions of shape " + shape_str(a.shape()) +
                         " and labels of shape " + shape_str(b.shape()) + " must have the same shape");
}

// NOTE: log(0) is clamped to log(smallest normal): a confidently wrong prediction costs ~708
// (float64) instead of inf, so neither the cost nor its gradient can become non-finite.
template <class T>
T safe_log(T v) {
    return std::log(std::max(v, std::numeric_limits<T>::min()));
}

// The elementwise loops of binary_cross_entropy, compiled for the CPU's vector width (the checks
// and the gradient run over every element each step; perf put them at ~5% of BM_RegnetStep in
// baseline code).
template <class T>
[[gnu::always_inline]] inline bool all_in_unit_interval_loop(const T* p, std::size_t n) {
    simd::Bits<T> outside = 0;  // lane masks OR-ed, a reduction that vectorises (a bool's && does not)
    for (std::size_t i = 0; i < n; ++i) outside |= simd::all_ones_if<T>(!((p[i] >= T(0)) & (p[i] <= T(1))));
    return outside == 0;  // NaN fails both comparisons
}
XGRAD_VECTOR_CLONES bool all_in_unit_interval(const float* p, std::size_t n) {
    return all_in_unit_interval_loop(p, n);
}
XGRAD_VECTOR_CLONES bool all_in_unit_interval(const double* p, std::size_t n) {
    return all_in_unit_interval_loop(p, n);
}

// Whether every label is exactly 0 or 1, the usual case. Then a term needs one log, of p or of
// 1 − p, and the choice is a select. The general term branches on y ≠ 0 and y ≠ 1, and random labels
// mispredict those branches half the time: in BM_RegnetStep's profile they were most of this op's
// own time. The results are the same bits either way.
template <class T>
[[gnu::always_inline]] inline bool hard_labels_loop(const T* y, std::size_t n) {
    simd::Bits<T> soft = 0;
    for (std::size_t i = 0; i < n; ++i) soft |= simd::all_ones_if<T>(!((y[i] == T(0)) | (y[i] == T(1))));
    return soft == 0;
}
XGRAD_VECTOR_CLONES bool hard_labels(const float* y, std::size_t n) { return hard_labels_loop(y, n); }
XGRAD_VECTOR_CLONES bool hard_labels(const double* y, std::size_t n) { return hard_labels_loop(y, n); }

// d = g · dL/dp for hard labels: both quotients, then a select (the general formula's bits: 0 − 1/p
// where y = 1, 0 + 1/(1 − p) where y = 0, the denominators clamped away from 0).
template <class T>
[[gnu::always_inline]] inline void hard_label_gradient_loop(const T* p, const T* y, T g, T* d, std::size_t n) {
    constexpr T tiny = std::numeric_limits<T>::min();
    for (std::size_t i = 0; i < n; ++i) {
        const T on_one = T(0) - T(1) / std::max(p[i], tiny), on_zero = T(0) + T(1) / std::max(T(1) - p[i], tiny);
        d[i] = g * (y[i] == T(1) ? on_one : on_zero);
    }
}
XGRAD_VECTOR_CLONES void hard_label_gradient(const float* p, const float* y, float g, float* d, std::size_t n) {
    hard_label_gradient_loop(p, y, g, d, n);
}
XGRAD_VECTOR_CLONES void hard_label_gradient(const double* p, const double* y, double g, double* d, std::size_t n) {
    hard_label_gradient_loop(p, y, g, d, n);
}

/// BCE is defined for p and y in [0, 1] (0 and 1 included: the log is clamped there). Outside,
/// it would return a number that means nothing, so it refuses, as PyTorch does; NaN too.
void require_probabilities(const Array& a, const char* what) {
    dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = a.data<T>();
        if (all_in_unit_interval(p, a.size())) return;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!(p[i] >= T(0) && p[i] <= T(1)))
                throw ValueError(std::string("binary_cross_entropy: ") + what + " must lie in [0, 1], but element " +
                                 std::to_string(i) + " of " + shape_str(a.shape()) + " is " + format_exact(p[i]) +
                                 (what[0] == 'p' ? " (apply sigmoid first, or use binary_cross_entropy_with_logits)" : ""));
    });
}

// L = -1/n Σ [y ln p + (1-y) ln(1-p)]     (a term with weight 0 is skipped, like numpy's nansum)
// dL/dp = g/n · [(1-y)/(1-p) - y/p]       (same skipping; denominators clamped away from 0)
// dL/dy is not provided: labels are data.
struct BinaryCrossEntropyOp final : Op {
    bool hard = false;  // every label 0 or 1 (forward found it; backward reads the same labels)
    std::string name() const override { return "binary_cross_entropy"; }
    Array forward(const Inputs& x) override {
        require_same_shape("binary_cross_entropy", *x[0], *x[1]);
        require_probabilities(*x[0], "probabilities p");
        require_probabilities(*x[1], "targets y");
        const std::size_t n = x[0]->size();  // (apply_op has checked that p and y share a dtype)
        // Σ of the terms in double, in order (as sum_all adds them).
        const double total = dispatch(x[0]->dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T *p = x[0]->data<T>(), *y = x[1]->data<T>();
            double s = 0.0;
            hard = hard_labels(y, n);
            if (hard) {
                for (std::size_t i = 0; i < n; ++i)
                    s += static_cast<double>(T(0) - safe_log(y[i] == T(1) ? p[i] : T(1) - p[i]));
                return s;
            }
            for (std::size_t i = 0; i < n; ++i) {
                T t = 0;
                if (y[i] != 0) t -= y[i] * safe_log(p[i]);
                if (y[i] != 1) t -= (1 - y[i]) * safe_log(T(1) - p[i]);
                s += static_cast<double>(t);
            }
            return s;
        });
        return Array::scalar(total / static_cast<double>(n), x[0]->dtype());
    }
    Grads backward(const BackwardArgs& a) const override {
        const double scale = a.grad_out.item() / static_cast<double>(a.inputs[0]->size());
        const Array &P = *a.inputs[0], &Y = *a.inputs[1];
        Array grad_p = Array::uninitialized(P.shape(), P.dtype());
        dispatch(P.dtype(), [&](auto tag) {
            using T = decltype(tag);
            constexpr T tiny = std::numeric_limits<T>::min();
            const T *p = P.data<T>(), *y = Y.data<T>(), g = static_cast<T>(scale);
            T* d = grad_p.data<T>();
            const std::size_t n = P.size();
            if (hard) return hard_label_gradient(p, y, g, d, n);
            for (std::size_t i = 0; i < n; ++i) {
                T di = 0;
                if (y[i] != 0) di -= y[i] / std::max(p[i], tiny);
                if (y[i] != 1) di += (1 - y[i]) / std::max(T(1) - p[i], tiny);
                d[i] = g * di;
            }
        });
        return {std::move(grad_p), Array()};
    }
};

// L = 1/n Σ [max(z,0) - z·y + ln(1 + e^-|z|)]    (stable for any z)
// dL/dz = g/n · (σ(z) - y)
struct BinaryCrossEntropyWithLogitsOp final : Op {
    std::string name() const override { return "binary_cross_entropy_with_logits"; }
    Array forward(const Inputs& x) override {
        require_same_shape("binary_cross_entropy_with_logits", *x[0], *x[1]);
        const Array terms = zip(*x[0], *x[1], [](auto z, auto y) {
            using T = decltype(z);
            return std::max(z, T(0)) - z * y + std::log1p(std::exp(-std::abs(z)));
        }, "binary_cross_entropy_with_logits");
        return Array::scalar(sum_all(terms) / static_cast<double>(terms.size()), terms.dtype());
    }
    Grads backward(const BackwardArgs& a) const override {
        const double scale = a.grad_out.item() / static_cast<double>(a.inputs[0]->size());
        Array grad_z = zip(*a.inputs[0], *a.inputs[1], [scale](auto z, auto y) {
            using T = decltype(z);
            return static_cast<T>(scale) * (T(1) / (T(1) + std::exp(-z)) - y);
        }, "binary_cross_entropy_with_logits");
        return {std::move(grad_z), Array()};
    }
};

// L = -1/m Σ_examples Σ_classes t ⊙ log_softmax(z)      (m = examples: size / classes)
// dL/dz = g/m · (softmax(z) ⊙ Σ_classes t - t)          (= softmax - t for one-hot targets)
struct SoftmaxCrossEntropyOp final : Op {
    int axis;
    explicit SoftmaxCrossEntropyOp(int axis) : axis(axis) {}
    std::string name() const override { return "softmax_cross_entropy"; }
    std::string label() const override { return "softmax_cross_entropy(axis=" + std::to_string(axis) + ")"; }

    std::size_t examples(const Array& z) const {
        const std::size_t classes = z.shape()[normalize_axis(axis, z.ndim(), "softmax_cross_entropy")];
        return classes == 0 ? 0 : z.size() / classes;
    }
    Array forward(const Inputs& x) override {
        require_same_shape("softmax_cross_entropy", *x[0], *x[1]);
        const std::size_t ax = normalize_axis(axis, x[0]->ndim(), "softmax_cross_entropy");
        const Array& z = *x[0];
        const Array log_p = log_softmax_along(z, ax);
        const double total = -sum_all(*x[1] * log_p);
        return Array::scalar(total / static_cast<double>(examples(z)), z.dtype());
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& z = *a.inputs[0];
        const Array& t = *a.inputs[1];
        const std::size_t ax = normalize_axis(axis, z.ndim(), "softmax_cross_entropy");
        const Array p = softmax_along(z, ax);
        const double scale = a.grad_out.item() / static_cast<double>(examples(z));
        return {(p * sum_keepdims(t, ax) - t) * scale, Array()};
    }
};

// L = Σ x²; dL/dx = 2g·x
struct SumOfSquaresOp final : Op {
    std::string name() const override { return "sum_of_squares"; }
    Array forward(const Inputs& x) override {
        return Array::scalar(sum_all(map(*x[0], [](auto v) { return v * v; })), x[0]->dtype());
    }
    Grads backward(const BackwardArgs& a) const override { return {*a.inputs[0] * (2.0 * a.grad_out.item())}; }
};

const char* reduction_name(Reduction r) {
    return r == Reduction::mean ? "mean" : (r == Reduction::sum ? "sum" : "none");
}

/// Labels checked against a classes axis: int64, the scores' shape without `axis`, each in
/// [0, classes). The error names the loss and the first offending label.
void check_labels(const char* op, const Array& scores, const Array& labels, std::size_t axis) {
    if (labels.dtype() != DType::i64)
        throw DTypeError(std::string(op) + ": labels must be int64 class indices, got " + dtype_name(labels.dtype()) +
                         " " + shape_str(labels.shape()) + " (one-hot targets: softmax_cross_entropy)");
    Shape expected = scores.shape();
    expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(axis));
    if (labels.shape() != expected)
        throw ShapeError(std::string(op) + ": scores " + shape_str(scores.shape()) + " with classes along axis " +
                         std::to_string(axis) + " need labels of shape " + shape_str(expected) + ", got " +
                         shape_str(labels.shape()));
    const std::size_t classes = scores.shape()[axis];
    const std::int64_t* p = labels.data<std::int64_t>();
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (p[i] < 0 || static_cast<std::size_t>(p[i]) >= classes)
            throw IndexError(std::string(op) + ": label " + std::to_string(p[i]) + " (element " + std::to_string(i) +
                             " of the labels) is outside the " + std::to_string(classes) + " classes [0, " +
                             std::to_string(classes) + ")");
}

// Per example (the classes along axis, the scores seen as (outer, C, inner)), with t the smoothed
// target (1 - ε at the label, plus ε/C everywhere):
//   ℓ = -Σ_c t_c log softmax(z)_c;  dℓ/dz = softmax(z) - t
// then mean, sum or none over the examples (the gradient scaled to match).
struct CrossEntropyOp final : Op {
    int axis;
    Reduction reduction;
    double smoothing;
    CrossEntropyOp(int axis, Reduction reduction, double smoothing)
        : axis(axis), reduction(reduction), smoothing(smoothing) {}
    std::string name() const override { return "cross_entropy"; }
    std::string label() const override {
        return "cross_entropy(axis=" + std::to_string(axis) + ", " + reduction_name(reduction) +
               (smoothing > 0 ? ", smoothing=" + format_number(smoothing) : "") + ")";
    }
    InputKind input_kind(std::size_t i) const override { return i == 0 ? InputKind::floating : InputKind::integer; }
    bool backward_reads_result() const override { return false; }

    /// The logits as (outer, classes, inner): example (o, i) has class c at (o·classes + c)·inner + i.
    AxisBlocks blocks(const Array& z) const { return {z.shape(), normalize_axis(axis, z.ndim(), "cross_entropy")}; }
    Array forward(const Inputs& x) override {
        const Array& z = *x[0];
        if (z.ndim() == 0) throw ShapeError("cross_entropy: logits must have a classes axis, got a 0-d tensor");
        const std::size_t ax = normalize_axis(axis, z.ndim(), "cross_entropy");
        check_labels("cross_entropy", z, *x[1], ax);
        const AxisBlocks b = blocks(z);
        const Array log_p = log_softmax_along(z, ax);
        const std::int64_t* label = x[1]->data<std::int64_t>();
        const double eps = smoothing, share = b.n ? smoothing / static_cast<double>(b.n) : 0.0;
        Array losses = Array::uninitialized(x[1]->shape(), z.dtype());
        dispatch(z.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* lp = log_p.data<T>();
            T* out = losses.data<T>();
            for (std::size_t o = 0; o < b.outer; ++o)
                for (std::size_t i = 0; i < b.inner; ++i) {
                    const std::size_t example = o * b.inner + i;
                    const T* row = lp + o * b.n * b.inner + i;  // class c at row[c * inner]
                    double loss = -(1 - eps) * row[static_cast<std::size_t>(label[example]) * b.inner];
                    if (eps > 0)
                        for (std::size_t c = 0; c < b.n; ++c) loss -= share * row[c * b.inner];
                    out[example] = static_cast<T>(loss);
                }
        });
        if (reduction == Reduction::none) return losses;
        const double total = sum_all(losses);
        const double n = static_cast<double>(losses.size());
        return Array::scalar(reduction == Reduction::sum ? total : total / n, z.dtype());
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& z = *a.inputs[0];
        const std::size_t ax = normalize_axis(axis, z.ndim(), "cross_entropy");
        const AxisBlocks b = blocks(z);
        Array grad = softmax_along(z, ax);
        const std::int64_t* label = a.inputs[1]->data<std::int64_t>();
        const std::size_t examples = a.inputs[1]->size();
        const double share = b.n ? smoothing / static_cast<double>(b.n) : 0.0;
        dispatch(z.dtype(), [&](auto tag) {
            using T = decltype(tag);
            T* d = grad.data<T>();
            const T* g = a.grad_out.data<T>();
            for (std::size_t o = 0; o < b.outer; ++o)
                for (std::size_t i = 0; i < b.inner; ++i) {
                    const std::size_t example = o * b.inner + i;
                    const double weight = reduction == Reduction::none ? double(g[example])
                                          : reduction == Reduction::sum ? double(g[0])
                                                                        : double(g[0]) / static_cast<double>(examples);
                    T* row = d + o * b.n * b.inner + i;
                    row[static_cast<std::size_t>(label[example]) * b.inner] -= static_cast<T>(1 - smoothing);
                    for (std::size_t c = 0; c < b.n; ++c)
                        row[c * b.inner] = static_cast<T>((row[c * b.inner] - share) * weight);
                }
        });
        return {std::move(grad), Array()};
    }
};

/// Applies a Reduction to per-element losses.
Tensor reduce(const Tensor& losses, Reduction reduction) {
    switch (reduction) {
        case Reduction::mean: return mean(losses);
        case Reduction::sum: return sum(losses);
        case Reduction::none: return losses;
    }
    return losses;
}

void check_pair(const char* op, const Tensor& pred, const Tensor& target) {
    if (pred.shape() != target.shape())
        throw ShapeError(std::string(op) + ": predictions of shape " + shape_str(pred.shape()) +
                         " and targets of shape " + shape_str(target.shape()) +
                         " differ (broadcast explicitly with broadcast_to if that is meant)");
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction) {
    check_pair("mse_loss", pred, target);
    return reduce(square(pred - target), reduction);
}

Tensor l1_loss(const Tensor& pred, const Tensor& target, Reduction reduction) {
    check_pair("l1_loss", pred, target);
    return reduce(abs(pred - target), reduction);
}

Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta, Reduction reduction) {
    check_pair("huber_loss", pred, target);
    if (!(delta > 0)) throw ValueError("huber_loss: delta must be > 0, got " + format_exact(delta));
    const Tensor d = pred - target;
    const Tensor size = abs(d);
    // ½d² inside ±delta; delta·(|d| - ½delta) outside: the two pieces meet with equal slope.
    const Tensor quadratic = square(d) * 0.5, linear_part = (size - 0.5 * delta) * delta;
    return reduce(where(less(size, delta), quadratic, linear_part), reduction);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& labels, int axis, Reduction reduction) {
    if (log_probs.ndim() == 0) throw ShapeError("nll_loss: log_probs must have a classes axis, got a 0-d tensor");
    const std::size_t ax = normalize_axis(axis, log_probs.ndim(), "nll_loss");
    check_labels("nll_loss", log_probs.value(), labels.value(), ax);
    const int a = static_cast<int>(ax);
    return reduce(-squeeze(gather(log_probs, a, unsqueeze(labels, a)), a), reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& options) {
    if (!(options.label_smoothing >= 0 && options.label_smoothing < 1))
        throw ValueError("cross_entropy: label_smoothing must lie in [0, 1), got " +
                         format_exact(options.label_smoothing));
    return apply_op(std::make_unique<CrossEntropyOp>(options.axis, options.reduction, options.label_smoothing),
                    {logits, labels});
}

Tensor binary_cross_entropy(const Tensor& p, const Tensor& y) {
    return apply_op(std::make_unique<BinaryCrossEntropyOp>(), {p, y});
}
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y) {
    return apply_op(std::make_unique<BinaryCrossEntropyWithLogitsOp>(), {z, y});
}
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets, int axis) {
    return apply_op(std::make_unique<SoftmaxCrossEntropyOp>(axis), {logits, targets});
}
Tensor sum_of_squares(const Tensor& x) { return apply_op(std::make_unique<SumOfSquaresOp>(), {x}); }

}  // namespace xgrad
