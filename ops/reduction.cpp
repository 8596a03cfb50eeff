// Reductions: sum, mean, max and min over all elements or along one axis (keepdims optional);
// argmax and argmin; logsumexp and var along an axis.

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

constexpr int all_axes = std::numeric_limits<int>::min();

Shape keepdims_shape(const Shape& in, std::size_t axis) {
    Shape s = in;
    s[axis] = 1;
    return s;
}

// y = Σ x (over all elements or along axis); dx = g broadcast back to x's shape.
// mean is the same with y and dx divided by the number of summed elements.
struct ReduceOp final : Op {
    int axis;  // all_axes = every element
    bool keepdims;
    bool average;
    std::size_t count = 1;  // elements summed into each output
    ReduceOp(int axis, bool keepdims, bool average) : axis(axis), keepdims(keepdims), average(average) {}

    std::string name() const override { return average ? "mean" : "sum"; }
    // Backward reads the input's shape only (a replacement of another shape is refused by the engine).
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }
    std::string label() const override {
        if (axis == all_axes) return name();
        return name() + "(axis=" + std::to_string(axis) + (keepdims ? ", keepdims" : "") + ")";
    }
    Array forward(const Inputs& x) override {
        const Array& in = *x[0];
        if (axis == all_axes) {
            count = in.size();
            const double s = sum_all(in);
            return Array::scalar(average ? s / static_cast<double>(count) : s, in.dtype());
        }
        const std::size_t ax = normalize_axis(axis, in.ndim(), name().c_str());
        count = in.shape()[ax];
        Array out = sum_keepdims(in, ax);
        if (average) out = map(out, [n = static_cast<double>(count)](auto v) { return v / n; });
        if (keepdims) return out;
        Shape squeezed = in.shape();
        squeezed.erase(squeezed.begin() + static_cast<std::ptrdiff_t>(ax));
        return out.reshaped(squeezed);
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& in = *a.inputs[0];
        Array g = a.grad_out;
        if (axis == all_axes)
            g = g.reshaped(Shape(in.ndim(), 1));
        else
            g = g.reshaped(keepdims_shape(in.shape(), normalize_axis(axis, in.ndim(), "sum")));
        if (average) g = map(g, [n = static_cast<double>(count)](auto v) { return v / n; });
        return {broadcast_to(g, in.shape())};
    }
};

/// The result's shape: x's with `axis` dropped, or kept with size 1.
Shape reduced_shape(const Shape& in, std::size_t axis, bool keepdims) {
    Shape s = in;
    if (keepdims)
        s[axis] = 1;
    else
        s.erase(s.begin() + static_cast<std::ptrdiff_t>(axis));
    return s;
}

/// The axis an op reduces over x (all_axes: x is seen flattened, axis 0).
std::size_t reduction_axis(int axis, const Array& x, const char* op) {
    return axis == all_axes ? 0 : normalize_axis(axis, x.ndim(), op);
}
const Array& as_reduced(const Array& x, int axis, Array& flat_storage) {
    if (axis != all_axes) return x;
    flat_storage = x.reshaped({x.size()});
    return flat_storage;
}

// y = max (or min) of x along axis; dx = g at the elements equal to y, shared equally among ties
struct ExtremeOp final : Op {
    int axis;  // all_axes = every element
    bool keepdims, largest;
    ExtremeOp(int axis, bool keepdims, bool largest) : axis(axis), keepdims(keepdims), largest(largest) {}
    std::string name() const override { return largest ? "max" : "min"; }
    std::string label() const override {
        if (axis == all_axes) return name();
        return name() + "(axis=" + std::to_string(axis) + (keepdims ? ", keepdims" : "") + ")";
    }
    Array forward(const Inputs& x) override {
        Array flat;
        const Array& in = as_reduced(*x[0], axis, flat);
        const std::size_t ax = reduction_axis(axis, in, name().c_str());
        if (in.shape()[ax] == 0)
            throw ValueError(name() + ": axis " + std::to_string(axis == all_axes ? 0 : axis) + " of shape " +
                             shape_str(x[0]->shape()) + " is empty; an empty " + name() + " is undefined");
        // NaN wins, as in numpy: once acc is NaN no comparison replaces it.
        Array out = largest ? reduce_axis(in, ax, [](auto acc, auto v) { return (v > acc || v != v) ? v : acc; }, 0.0)
                            : reduce_axis(in, ax, [](auto acc, auto v) { return (v < acc || v != v) ? v : acc; }, 0.0);
        if (axis == all_axes) return std::move(out).reshaped({});
        return std::move(out).reshaped(reduced_shape(in.shape(), ax, keepdims));
    }
    Grads backward(const BackwardArgs& a) const override {
        Array flat;
        const Array& in = as_reduced(*a.inputs[0], axis, flat);
        const std::size_t ax = reduction_axis(axis, in, name().c_str());
        const Shape kept = reduced_shape(in.shape(), ax, true);
        const Array y = a.result.reshaped(kept);
        const Array ties = zip(in, y, [](auto v, auto m) { return v == m ? decltype(v)(1) : decltype(v)(0); }, "max");
        const Array share = zip(std::move(a.grad_out).reshaped(kept), sum_keepdims(ties, ax),
                                [](auto g, auto count) { return g / count; }, "max");
        return {(ties * share).reshaped(a.inputs[0]->shape())};
    }
};

/// The first index of the largest (or smallest) element along axis; a NaN is the extreme (numpy).
Array arg_extreme(const Array& x, std::size_t axis, bool largest, bool keepdims, const char* op) {
    const Shape& s = x.shape();
    if (s[axis] == 0)
        throw ValueError(std::string(op) + ": axis " + std::to_string(axis) + " of shape " + shape_str(s) +
                         " is empty; there is no index to return");
    const auto [outer, n, inner] = AxisBlocks(s, axis);
    Array out = Array::uninitialized(reduced_shape(s, axis, keepdims), DType::i64);
    std::int64_t* o = out.data<std::int64_t>();
    detail::dispatch_any(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = x.data<T>();
        for (std::size_t b = 0; b < outer; ++b)
            for (std::size_t j = 0; j < inner; ++j) {
                const T* column = p + b * n * inner + j;
                std::size_t best = 0;
                for (std::size_t k = 0; k < n; ++k) {
                    const T v = column[k * inner];
                    if (v != v) {  // NaN: the first one is the answer
                        best = k;
                        break;
                    }
                    if (largest ? v > column[best * inner] : v < column[best * inner]) best = k;
                }
                o[b * inner + j] = static_cast<std::int64_t>(best);
            }
    });
    return out;
}

// y = log Σ_axis eˣ = m + log Σ e^(x - m) with m the max; dx = g · e^(x - y) = g · softmax(x)
struct LogSumExpOp final : Op {
    int axis;
    bool keepdims;
    LogSumExpOp(int axis, bool keepdims) : axis(axis), keepdims(keepdims) {}
    std::string name() const override { return "logsumexp"; }
    std::string label() const override {
        return "logsumexp(axis=" + std::to_string(axis) + (keepdims ? ", keepdims" : "") + ")";
    }
    Array forward(const Inputs& x) override {
        const std::size_t ax = normalize_axis(axis, x[0]->ndim(), "logsumexp");
        // A row of -inf (or +inf) has no finite max to subtract: shift by 0 there instead.
        const Array m = map(max_keepdims(*x[0], ax), [](auto v) { return std::isfinite(v) ? v : decltype(v)(0); });
        const Array total = sum_keepdims(zip(*x[0], m, [](auto v, auto s) { return std::exp(v - s); }, "logsumexp"), ax);
        Array out = zip(m, total, [](auto s, auto t) { return s + std::log(t); }, "logsumexp");
        return std::move(out).reshaped(reduced_shape(x[0]->shape(), ax, keepdims));
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& x = *a.inputs[0];
        const std::size_t ax = normalize_axis(axis, x.ndim(), "logsumexp");
        const Shape kept = reduced_shape(x.shape(), ax, true);
        const Array softmax = zip(x, a.result.reshaped(kept), [](auto v, auto y) { return std::exp(v - y); }, "logsumexp");
        return {softmax * std::move(a.grad_out).reshaped(kept)};
    }
};

// y = Σ (x - x̄)² / (n - ddof) along axis; dx = g · 2 (x - x̄) / (n - ddof)
struct VarOp final : Op {
    int axis, ddof;
    bool keepdims;
    VarOp(int axis, bool keepdims, int ddof) : axis(axis), ddof(ddof), keepdims(keepdims) {}
    std::string name() const override { return "var"; }
    std::string label() const override {
        return "var(axis=" + std::to_string(axis) + (keepdims ? ", keepdims" : "") +
               (ddof ? ", ddof=" + std::to_string(ddof) : "") + ")";
    }
    bool backward_reads_result() const override { return false; }
    double divisor(const Array& x, std::size_t ax) const {
        const double d = static_cast<double>(x.shape()[ax]) - ddof;
        if (d <= 0)
            throw ValueError("var: axis " + std::to_string(axis) + " of shape " + shape_str(x.shape()) + " has " +
                             std::to_string(x.shape()[ax]) + " elements, not more than ddof = " + std::to_string(ddof));
        return d;
    }
    Array deviations(const Array& x, std::size_t ax) const {
        const double n = static_cast<double>(x.shape()[ax]);
        return zip(x, sum_keepdims(x, ax), [n](auto v, auto s) { return v - s / n; }, "var");
    }
    Array forward(const Inputs& x) override {
        const std::size_t ax = normalize_axis(axis, x[0]->ndim(), "var");
        const double d = divisor(*x[0], ax);
        const Array dev = deviations(*x[0], ax);
        Array out = map(sum_keepdims(dev * dev, ax), [d](auto v) { return v / d; });
        return std::move(out).reshaped(reduced_shape(x[0]->shape(), ax, keepdims));
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& x = *a.inputs[0];
        const std::size_t ax = normalize_axis(axis, x.ndim(), "var");
        const double d = divisor(x, ax);
        return {zip(deviations(x, ax), std::move(a.grad_out).reshaped(reduced_shape(x.shape(), ax, true)),
                    [d](auto dev, auto g) { return g * 2 * dev / d; }, "var")};
    }
};

}  // namespace

Tensor sum(const Tensor& x) { return apply_op(std::make_unique<ReduceOp>(all_axes, false, false), {x}); }
Tensor sum(const Tensor& x, int axis, bool keepdims) {
    return apply_op(std::make_unique<ReduceOp>(axis, keepdims, false), {x});
}
Tensor mean(const Tensor& x) { return apply_op(std::make_unique<ReduceOp>(all_axes, false, true), {x}); }
Tensor mean(const Tensor& x, int axis, bool keepdims) {
    return apply_op(std::make_unique<ReduceOp>(axis, keepdims, true), {x});
}

Tensor max(const Tensor& x) { return apply_op(std::make_unique<ExtremeOp>(all_axes, false, true), {x}); }
Tensor max(const Tensor& x, int axis, bool keepdims) {
    return apply_op(std::make_unique<ExtremeOp>(axis, keepdims, true), {x});
}
Tensor min(const Tensor& x) { return apply_op(std::make_unique<ExtremeOp>(all_axes, false, false), {x}); }
Tensor min(const Tensor& x, int axis, bool keepdims) {
    return apply_op(std::make_unique<ExtremeOp>(axis, keepdims, false), {x});
}
Tensor argmax(const Tensor& x, int axis, bool keepdims) {
    const Array& v = x.value();
    return constant(arg_extreme(v, normalize_axis(axis, v.ndim(), "argmax"), true, keepdims, "argmax"), "argmax");
}
Tensor argmin(const Tensor& x, int axis, bool keepdims) {
    const Array& v = x.value();
    return constant(arg_extreme(v, normalize_axis(axis, v.ndim(), "argmin"), false, keepdims, "argmin"), "argmin");
}
Tensor logsumexp(const Tensor& x, int axis, bool keepdims) {
    return apply_op(std::make_unique<LogSumExpOp>(axis, keepdims), {x});
}
Tensor var(const Tensor& x, int axis, bool keepdims, int ddof) {
    return apply_op(std::make_unique<VarOp>(axis, keepdims, ddof), {x});
}

}  // namespace xgrad
