// Reductions: sum and mean over all elements or along one axis (keepdims optional).

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

}  // namespace

Tensor sum(const Tensor& x) { return apply_op(std::make_unique<ReduceOp>(all_axes, false, false), {x}); }
Tensor sum(const Tensor& x, int axis, bool keepdims) {
    return apply_op(std::make_unique<ReduceOp>(axis, keepdims, false), {x});
}
Tensor mean(const Tensor& x) { return apply_op(std::make_unique<ReduceOp>(all_axes, false, true), {x}); }
Tensor mean(const Tensor& x, int axis, bool keepdims) {
    return apply_op(std::make_unique<ReduceOp>(axis, keepdims, true), {x});
}

}  // namespace xgrad
