// Element-wise functions and activations: exp, log, sqrt, square, pow, relu, sigmoid, tanh,
// leaky_relu, elu, gelu, silu, softplus, log_sigmoid, and softmax and log_softmax along an axis.

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "framework/simd.hpp"
#include "framework/threads.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

// y = e^x; dy/dx = y
struct ExpOp final : Op {
    std::string name() const override { return "exp"; }
    Array forward(const Inputs& x) override { return map(*x[0], [](auto v) { return std::exp(v); }); }
    Grads backward(const BackwardArgs& a) const override { return {a.grad_out * a.result}; }
};

// y = ln x; dy/dx = 1/x.  NOTE: ln of a negative number is NaN, as in numpy (anomaly mode catches it).
struct LogOp final : Op {
    std::string name() const override { return "log"; }
    Array forward(const Inputs& x) override { return map(*x[0], [](auto v) { return std::log(v); }); }
    Grads backward(const BackwardArgs& a) const override { return {a.grad_out / *a.inputs[0]}; }
};

// y = √x; dy/dx = 1/(2y)
struct SqrtOp final : Op {
    std::string name() const override { return "sqrt"; }
    Array forward(const Inputs& x) override { return map(*x[0], [](auto v) { return std::sqrt(v); }); }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(a.grad_out, a.result, [](auto g, auto y) { return g / (2 * y); }, "sqrt")};
    }
};

// y = x²; dy/dx = 2x
struct SquareOp final : Op {
    std::string name() const override { return "square"; }
    Array forward(const Inputs& x) override { return map(*x[0], [](auto v) { return v * v; }); }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(a.grad_out, *a.inputs[0], [](auto g, auto x) { return 2 * g * x; }, "square")};
    }
};

// y = x^p; dy/dx = p·x^(p-1)
struct PowOp final : Op {
    double p;
    explicit PowOp(double p) : p(p) {}
    std::string name() const override { return "pow"; }
    std::string label() const override { return "pow(" + format_number(p) + ")"; }
    Array forward(const Inputs& x) override { return map(*x[0], [p = p](auto v) { return std::pow(v, p); }); }
    Grads backward(const BackwardArgs& a) const override {
        // x⁰ is the constant 1: its gradient is 0 everywhere, where p·x^(p−1) would be 0·∞ = NaN at x = 0.
        if (p == 0.0) return {Array::zeros(a.grad_out.shape(), a.grad_out.dtype())};
        return {zip(a.grad_out, *a.inputs[0], [p = p](auto g, auto x) { return g * p * std::pow(x, p - 1); }, "pow")};
    }
};

// y = max(0, x); dy/dx = [x > 0].  NOTE: the kink at 0 gets gradient 0, as in the course.
// y = x ≤ 0 ? +0 : x, so NaN stays NaN (simd::relu_passes); dx = x ≤ 0 ? 0 : g, the course's
// relu_backward (dZ[Z <= 0] = 0: a NaN's gradient passes). Written as bit masks on distinct arrays
// and compiled for AVX-512/AVX2 (framework/simd.hpp): map and zip run at the baseline's two lanes,
// and ReLU was 16 % of the regularization net's step (perf). A -0 input gives +0.
template <class T>
[[gnu::always_inline]] inline void relu_forward_loop(const T* __restrict x, T* __restrict y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = simd::kept_or_zero(x[i], simd::relu_passes(x[i]));
}
template <class T>
[[gnu::always_inline]] inline void relu_backward_loop(const T* __restrict x, T* __restrict g, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) g[i] = simd::kept_or_zero(g[i], simd::relu_passes(x[i]));
}
XGRAD_VECTOR_CLONES void relu_forward(const float* x, float* y, std::size_t n) { relu_forward_loop(x, y, n); }
XGRAD_VECTOR_CLONES void relu_forward(const double* x, double* y, std::size_t n) { relu_forward_loop(x, y, n); }
/// g ⊙= (x > 0), in g's buffer.
XGRAD_VECTOR_CLONES void relu_backward(const float* x, float* g, std::size_t n) { relu_backward_loop(x, g, n); }
XGRAD_VECTOR_CLONES void relu_backward(const double* x, double* g, std::size_t n) { relu_backward_loop(x, g, n); }

struct ReluOp final : Op {
    std::string name() const override { return "relu"; }
    Array forward(const Inputs& x) override {
        Array out = Array::uninitialized(x[0]->shape(), x[0]->dtype());
        dispatch(out.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* in = x[0]->data<T>();
            T* y = out.data<T>();
            parallel_for(out.size(), elements_per_task,
                         [&](std::size_t begin, std::size_t end) { relu_forward(in + begin, y + begin, end - begin); });
        });
        return out;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& x = *a.inputs[0];
        Array g = std::move(a.grad_out);  // discarded by the engine: the result goes in its buffer
        dispatch(g.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* in = x.data<T>();
            T* d = g.data<T>();
            parallel_for(g.size(), elements_per_task,
                         [&](std::size_t begin, std::size_t end) { relu_backward(in + begin, d + begin, end - begin); });
        });
        return {std::move(g)};
    }
};

// y = 1/(1+e^-x); dy/dx = y(1-y).  Written exactly as the course's sigmoid so outputs match bit for
// bit. NOTE: it saturates to exactly 0.0 or 1.0 in float64 for |x| ≳ 37; the losses handle that.
struct SigmoidOp final : Op {
    std::string name() const override { return "sigmoid"; }
    Array forward(const Inputs& x) override {
        return map(*x[0], [](auto v) { return sigmoid_value(v); });
    }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(std::move(a.grad_out), a.result, [](auto g, auto y) { return g * y * (1 - y); }, "sigmoid")};
    }
};

// y = tanh x; dy/dx = 1 - y²
struct TanhOp final : Op {
    std::string name() const override { return "tanh"; }
    Array forward(const Inputs& x) override { return map(*x[0], [](auto v) { return tanh_value(v); }); }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(std::move(a.grad_out), a.result, [](auto g, auto y) { return g * (1 - y * y); }, "tanh")};
    }
};

// y = e^x / Σ_axis e^x; dx = y ⊙ (g - Σ_axis g ⊙ y)
struct SoftmaxOp final : Op {
    int axis;
    explicit SoftmaxOp(int axis) : axis(axis) {}
    std::string name() const override { return "softmax"; }
    std::string label() const override { return "softmax(axis=" + std::to_string(axis) + ")"; }
    Array forward(const Inputs& x) override {
        return softmax_along(*x[0], normalize_axis(axis, x[0]->ndim(), "softmax"));
    }
    Grads backward(const BackwardArgs& a) const override {
        const std::size_t ax = normalize_axis(axis, a.result.ndim(), "softmax");
        const Array& y = a.result;
        return {y * (a.grad_out - sum_keepdims(a.grad_out * y, ax))};
    }
};

// y = x - max - ln Σ_axis e^(x - max); dx = g - softmax(x) ⊙ Σ_axis g
struct LogSoftmaxOp final : Op {
    int axis;
    explicit LogSoftmaxOp(int axis) : axis(axis) {}
    std::string name() const override { return "log_softmax"; }
    std::string label() const override { return "log_softmax(axis=" + std::to_string(axis) + ")"; }
    Array forward(const Inputs& x) override {
        return log_softmax_along(*x[0], normalize_axis(axis, x[0]->ndim(), "log_softmax"));
    }
    Grads backward(const BackwardArgs& a) const override {
        const std::size_t ax = normalize_axis(axis, a.result.ndim(), "log_softmax");
        const Array softmax = map(a.result, [](auto v) { return std::exp(v); });
        return {a.grad_out - softmax * sum_keepdims(a.grad_out, ax)};
    }
};

/// An activation given by its value f(x) and derivative f'(x) (both called with float or double):
/// y = f(x), dx = g · f'(x). The ones below differ only in those two formulas.
template <class F, class DF>
struct PointwiseOp final : Op {
    const char* op_name;
    std::string parameters;  // for the label: "slope=0.01"
    F f;
    DF df;
    PointwiseOp(const char* op_name, std::string parameters, F f, DF df)
        : op_name(op_name), parameters(std::move(parameters)), f(f), df(df) {}
    std::string name() const override { return op_name; }
    std::string label() const override { return parameters.empty() ? name() : name() + "(" + parameters + ")"; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override { return map(*x[0], f); }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(std::move(a.grad_out), *a.inputs[0], [df = df](auto g, auto x) { return g * df(x); }, op_name)};
    }
};

template <class F, class DF>
Tensor pointwise(const Tensor& x, const char* name, std::string parameters, F f, DF df) {
    return apply_op(std::make_unique<PointwiseOp<F, DF>>(name, std::move(parameters), f, df), {x});
}

template <class T>
T logistic(T x) {
    return T(1) / (T(1) + std::exp(-x));
}

}  // namespace

Tensor leaky_relu(const Tensor& x, double slope) {
    if (!std::isfinite(slope)) throw ValueError("leaky_relu: slope = " + format_exact(slope) + " must be finite");
    return pointwise(x, "leaky_relu", "slope=" + format_number(slope),
                     [slope](auto v) { return v > 0 ? v : static_cast<decltype(v)>(slope) * v; },
                     [slope](auto v) { return v > 0 ? decltype(v)(1) : static_cast<decltype(v)>(slope); });
}

Tensor elu(const Tensor& x, double alpha) {
    if (!std::isfinite(alpha)) throw ValueError("elu: alpha = " + format_exact(alpha) + " must be finite");
    return pointwise(x, "elu", "alpha=" + format_number(alpha),
                     [alpha](auto v) { return v > 0 ? v : static_cast<decltype(v)>(alpha) * std::expm1(v); },
                     [alpha](auto v) { return v > 0 ? decltype(v)(1) : static_cast<decltype(v)>(alpha) * std::exp(v); });
}

// gelu(x) = x·Φ(x); gelu'(x) = Φ(x) + x·φ(x), φ the standard normal density. Φ(x) is computed as
// erfc(−x/√2)/2, not (1 + erf(x/√2))/2: for x ≪ 0 the latter cancels (4% off at x = −5 in float32,
// 0 instead of −7.6e-23 at x = −10 in float64); erfc keeps the tail to rounding.
Tensor gelu(const Tensor& x) {
    return pointwise(x, "gelu", "",
                     [](auto v) {
                         using T = decltype(v);
                         return v * T(0.5) * std::erfc(-v * T(M_SQRT1_2));
                     },
                     [](auto v) {
                         using T = decltype(v);
                         const T cdf = T(0.5) * std::erfc(-v * T(M_SQRT1_2));
                         const T pdf = std::exp(T(-0.5) * v * v) * T(0.5 * M_2_SQRTPI * M_SQRT1_2);
                         return cdf + v * pdf;
                     });
}

// silu(x) = x·σ(x); silu'(x) = σ(x)·(1 + x·(1 - σ(x)))
Tensor silu(const Tensor& x) {
    return pointwise(x, "silu", "", [](auto v) { return v * logistic(v); },
                     [](auto v) {
                         const auto s = logistic(v);
                         return s * (1 + v * (1 - s));
                     });
}

// softplus(x) = log(1 + eˣ); softplus'(x) = σ(x)
Tensor softplus(const Tensor& x) {
    return pointwise(x, "softplus", "",
                     [](auto v) { return std::max(v, decltype(v)(0)) + std::log1p(std::exp(-std::abs(v))); },
                     [](auto v) { return logistic(v); });
}

// log σ(x) = -softplus(-x); its derivative is 1 - σ(x) = σ(-x)
Tensor log_sigmoid(const Tensor& x) {
    return pointwise(x, "log_sigmoid", "",
                     [](auto v) { return std::min(v, decltype(v)(0)) - std::log1p(std::exp(-std::abs(v))); },
                     [](auto v) { return logistic(-v); });
}

Tensor exp(const Tensor& x) { return apply_op(std::make_unique<ExpOp>(), {x}); }
Tensor log(const Tensor& x) { return apply_op(std::make_unique<LogOp>(), {x}); }
Tensor sqrt(const Tensor& x) { return apply_op(std::make_unique<SqrtOp>(), {x}); }
Tensor square(const Tensor& x) { return apply_op(std::make_unique<SquareOp>(), {x}); }
Tensor pow(const Tensor& x, double exponent) { return apply_op(std::make_unique<PowOp>(exponent), {x}); }
Tensor relu(const Tensor& x) { return apply_op(std::make_unique<ReluOp>(), {x}); }
Tensor sigmoid(const Tensor& x) { return apply_op(std::make_unique<SigmoidOp>(), {x}); }
Tensor tanh(const Tensor& x) { return apply_op(std::make_unique<TanhOp>(), {x}); }
Tensor softmax(const Tensor& x, int axis) { return apply_op(std::make_unique<SoftmaxOp>(axis), {x}); }
Tensor log_softmax(const Tensor& x, int axis) { return apply_op(std::make_unique<LogSoftmaxOp>(axis), {x}); }

}  // namespace xgrad
