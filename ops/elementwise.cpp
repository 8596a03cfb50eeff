// Element-wise selection and comparison: abs, sign, clamp, maximum, minimum, where, and the
// comparisons equal, less, greater (non-differentiable masks).

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

// y = |x|; dy/dx = sign(x), 0 at 0
struct AbsOp final : Op {
    std::string name() const override { return "abs"; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override { return map(*x[0], [](auto v) { return std::abs(v); }); }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(std::move(a.grad_out), *a.inputs[0],
                    [](auto g, auto x) { return x > 0 ? g : (x < 0 ? -g : decltype(g)(0)); }, "abs")};
    }
};

// y = min(max(x, lo), hi); dy/dx = [lo ≤ x ≤ hi]
struct ClampOp final : Op {
    double lo, hi;
    ClampOp(double lo, double hi) : lo(lo), hi(hi) {}
    std::string name() const override { return "clamp"; }
    std::string label() const override { return "clamp(" + format_number(lo) + ", " + format_number(hi) + ")"; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override {
        return map(*x[0], [lo = lo, hi = hi](auto v) {
            using T = decltype(v);
            return v < T(lo) ? T(lo) : (v > T(hi) ? T(hi) : v);  // NaN stays NaN
        });
    }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(std::move(a.grad_out), *a.inputs[0], [lo = lo, hi = hi](auto g, auto x) {
                    using T = decltype(g);
                    return x >= T(lo) && x <= T(hi) ? g : T(0);
                }, "clamp")};
    }
};

// y = max(a, b) (or min); da = g where a wins, db = g where b wins, g/2 each on a tie
struct PairExtremeOp final : Op {
    bool largest;
    explicit PairExtremeOp(bool largest) : largest(largest) {}
    std::string name() const override { return largest ? "maximum" : "minimum"; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override {
        // NaN in either input gives NaN, as numpy's maximum.
        if (largest) return zip(*x[0], *x[1], [](auto p, auto q) { return (p > q || p != p) ? p : q; }, "maximum");
        return zip(*x[0], *x[1], [](auto p, auto q) { return (p < q || p != p) ? p : q; }, "minimum");
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& p = *a.inputs[0];
        const Array& q = *a.inputs[1];
        const bool big = largest;
        // The share of the gradient that goes to a: 1 where a wins, ½ on a tie, 0 where b wins.
        const Array share_a = zip(p, q, [big](auto x, auto y) {
            using T = decltype(x);
            return x == y ? T(0.5) : ((x > y) == big ? T(1) : T(0));
        }, name().c_str());
        const Array& g = a.grad_out;
        return {a.wants(0) ? g * share_a : Array(),
                a.wants(1) ? zip(g, share_a, [](auto v, auto s) { return v * (1 - s); }, name().c_str()) : Array()};
    }
};

/// The three operands of where broadcast to one shape.
Shape where_shape(const Array& c, const Array& a, const Array& b) {
    return broadcast_shapes("where", c.shape(), broadcast_shapes("where", a.shape(), b.shape()));
}

/// cond as 0/1 in dtype `like`, broadcast to `shape`: the selector where's kernel and backward use.
Array selector(const Array& cond, const Shape& shape, DType like) {
    Array chosen = Array::uninitialized(cond.shape(), like);
    detail::dispatch_any(cond.dtype(), [&](auto tag) {
        using C = decltype(tag);
        const C* c = cond.data<C>();
        for (std::size_t i = 0; i < cond.size(); ++i) chosen.set_flat(i, c[i] != C(0) ? 1.0 : 0.0);
    });
    return kernels::broadcast_to(chosen, shape);
}

// y = a where cond, else b; da = g where cond, db = g elsewhere (cond: no gradient)
struct WhereOp final : Op {
    std::string name() const override { return "where"; }
    InputKind input_kind(std::size_t i) const override { return i == 0 ? InputKind::mask : InputKind::floating; }
    bool backward_reads_input(std::size_t i) const override { return i == 0; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override {
        const Shape shape = where_shape(*x[0], *x[1], *x[2]);
        const Array s = selector(*x[0], shape, x[1]->dtype());
        const Array a = kernels::broadcast_to(*x[1], shape), b = kernels::broadcast_to(*x[2], shape);
        return dispatch(a.dtype(), [&](auto tag) {
            using T = decltype(tag);
            Array out = Array::uninitialized(shape, a.dtype());
            const T *ps = s.data<T>(), *pa = a.data<T>(), *pb = b.data<T>();
            T* o = out.data<T>();
            for (std::size_t i = 0; i < out.size(); ++i) o[i] = ps[i] != T(0) ? pa[i] : pb[i];
            return out;
        });
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array s = selector(*a.inputs[0], a.grad_out.shape(), a.grad_out.dtype());
        const Array& g = a.grad_out;
        return {Array(), a.wants(1) ? g * s : Array(),
                a.wants(2) ? zip(g, s, [](auto v, auto c) { return c != 0 ? decltype(v)(0) : v; }, "where") : Array()};
    }
};

/// A comparison's 0/1 mask: broadcast, any dtype in, float out (the inputs' dtype, float64 for int64).
template <class Compare>
Tensor compare(const Tensor& a, const Tensor& b, Compare compare, const char* op) {
    const Array& x = a.value();
    const Array& y = b.value();
    if (x.dtype() != y.dtype())
        throw DTypeError(std::string(op) + ": " + dtype_name(x.dtype()) + " " + shape_str(x.shape()) + " and " +
                         dtype_name(y.dtype()) + " " + shape_str(y.shape()) + " mixed; convert one with astype()");
    const Shape shape = broadcast_shapes(op, x.shape(), y.shape());
    const Array xs = kernels::broadcast_to(x, shape), ys = kernels::broadcast_to(y, shape);
    const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::f64;
    Array out = Array::uninitialized(shape, out_dtype);
    detail::dispatch_any(x.dtype(), [&](auto in_tag) {
        using In = decltype(in_tag);
        dispatch(out_dtype, [&](auto out_tag) {
            using Out = decltype(out_tag);
            const In *p = xs.data<In>(), *q = ys.data<In>();
            Out* o = out.data<Out>();
            for (std::size_t i = 0; i < out.size(); ++i) o[i] = compare(p[i], q[i]) ? Out(1) : Out(0);
        });
    });
    return constant(std::move(out), op);
}

}  // namespace

Tensor abs(const Tensor& x) { return apply_op(std::make_unique<AbsOp>(), {x}); }

Tensor sign(const Tensor& x) {
    const Array& v = x.value();
    if (!is_floating(v.dtype())) throw DTypeError("sign: needs float32 or float64, got int64 " + shape_str(v.shape()));
    return constant(map(v, [](auto e) {
                        using T = decltype(e);
                        // ±0 gives +0 (numpy's sign(−0) is +0) and NaN stays NaN
                        return e > 0 ? T(1) : (e < 0 ? T(-1) : (e == 0 ? T(0) : e));
                    }),
                    "sign");
}

Tensor clamp(const Tensor& x, double lo, double hi) {
    if (!(lo <= hi))
        throw ValueError("clamp: lo " + format_exact(lo) + " must not exceed hi " + format_exact(hi));
    return apply_op(std::make_unique<ClampOp>(lo, hi), {x});
}

Tensor maximum(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<PairExtremeOp>(true), {a, b}); }
Tensor minimum(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<PairExtremeOp>(false), {a, b}); }
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    return apply_op(std::make_unique<WhereOp>(), {cond, a, b});
}

Tensor equal(const Tensor& a, const Tensor& b) {
    return compare(a, b, [](auto x, auto y) { return x == y; }, "equal");
}
Tensor less(const Tensor& a, const Tensor& b) {
    return compare(a, b, [](auto x, auto y) { return x < y; }, "less");
}
Tensor greater(const Tensor& a, const Tensor& b) {
    return compare(a, b, [](auto x, auto y) { return x > y; }, "greater");
}

namespace {
Tensor number_like(const Tensor& a, double b) { return constant(Array::scalar(b, a.dtype())); }
}  // namespace
Tensor equal(const Tensor& a, double b) { return equal(a, number_like(a, b)); }
Tensor less(const Tensor& a, double b) { return less(a, number_like(a, b)); }
Tensor greater(const Tensor& a, double b) { return greater(a, number_like(a, b)); }

}  // namespace xgrad
