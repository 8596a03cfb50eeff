// Losses: binary cross-entropy on probabilities and on logits, softmax cross-entropy, sum of
// squares. Each returns a 0-d tensor.

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
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

// L = -1/n Σ [y ln p + (1-y) ln(1-p)]     (a term with weight 0 is skipped, like numpy's nansum)
// dL/dp = g/n · [(1-y)/(1-p) - y/p]       (same skipping; denominators clamped away from 0)
// dL/dy is not provided: labels are data.
/// BCE is defined for p and y in [0, 1] (0 and 1 included: the log is clamped there). Outside,
/// it would return a number that means nothing, so it refuses, as PyTorch does; NaN too.
void require_probabilities(const Array& a, const char* what) {
    dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = a.data<T>();
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!(p[i] >= T(0) && p[i] <= T(1)))
                throw ValueError(std::string("binary_cross_entropy: ") + what + " must lie in [0, 1], but element " +
                                 std::to_string(i) + " of " + shape_str(a.shape()) + " is " + format_number(p[i]) +
                                 (what[0] == 'p' ? " (apply sigmoid first, or use binary_cross_entropy_with_logits)" : ""));
    });
}

struct BinaryCrossEntropyOp final : Op {
    std::string name() const override { return "binary_cross_entropy"; }
    Array forward(const Inputs& x) override {
        require_same_shape("binary_cross_entropy", *x[0], *x[1]);
        require_probabilities(*x[0], "probabilities p");
        require_probabilities(*x[1], "targets y");
        const Array terms = zip(*x[0], *x[1], [](auto p, auto y) {
            using T = decltype(p);
            T t = 0;
            if (y != 0) t -= y * safe_log(p);
            if (y != 1) t -= (1 - y) * safe_log(T(1) - p);
            return t;
        }, "binary_cross_entropy");
        return Array::scalar(sum_all(terms) / static_cast<double>(terms.size()), terms.dtype());
    }
    Grads backward(const BackwardArgs& a) const override {
        const double scale = a.grad_out.item() / static_cast<double>(a.inputs[0]->size());
        Array grad_p = zip(*a.inputs[0], *a.inputs[1], [scale](auto p, auto y) {
            using T = decltype(p);
            constexpr T tiny = std::numeric_limits<T>::min();
            T d = 0;
            if (y != 0) d -= y / std::max(p, tiny);
            if (y != 1) d += (1 - y) / std::max(T(1) - p, tiny);
            return static_cast<T>(scale) * d;
        }, "binary_cross_entropy");
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

}  // namespace

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
