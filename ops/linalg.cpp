// Linear algebra and shape: matmul through BLAS (transposes as gemm flags), transpose, reshape.

#include "framework/engine.hpp"
#include "ops/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace detail;

// C = op(A)·op(B), op = identity or transpose.
//   dA = G·op(B)ᵀ            (transposed back if op(A) = Aᵀ: dA = op(B)·Gᵀ)
//   dB = op(A)ᵀ·G            (transposed back if op(B) = Bᵀ: dB = Gᵀ·op(A))
struct Matmul final : Op {
    bool ta, tb;
    Matmul(bool ta, bool tb) : ta(ta), tb(tb) {}
    std::string name() const override { return "matmul"; }
    std::string label() const override {
        return std::string("matmul") + (ta || tb ? std::string("(") + (ta ? "Aᵀ" : "A") + "·" + (tb ? "Bᵀ" : "B") + ")" : "");
    }
    Array forward(const Inputs& x) override {
        const Shape& a = x[0]->shape();
        const Shape& b = x[1]->shape();
        if (a.size() != 2 || b.size() != 2 || (ta ? a[0] : a[1]) != (tb ? b[1] : b[0]))
            throw ShapeError("matmul: shapes " + shape_str(a) + (ta ? "ᵀ" : "") + " and " + shape_str(b) +
                             (tb ? "ᵀ" : "") + " are not aligned (need (m, k) · (k, n))");
        return gemm(*x[0], *x[1], ta, tb);
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& A = *a.inputs[0];
        const Array& B = *a.inputs[1];
        const Array& G = a.grad_out;
        Array grad_a, grad_b;
        if (a.wants(0)) grad_a = ta ? gemm(B, G, tb, true) : gemm(G, B, false, !tb);
        if (a.wants(1)) grad_b = tb ? gemm(G, A, true, ta) : gemm(A, G, !ta, false);
        return {std::move(grad_a), std::move(grad_b)};
    }
};

Array swap_axes_2d(const Array& x) {
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return evaluate<T>({x.shape()[1], x.shape()[0]}, xt::transpose(view<T>(x)));
    });
}

// Y = Xᵀ; dX = Gᵀ
struct Transpose final : Op {
    std::string name() const override { return "transpose"; }
    Array forward(const Inputs& x) override {
        if (x[0]->ndim() != 2)
            throw ShapeError("transpose: needs a 2-d tensor, got shape " + shape_str(x[0]->shape()));
        return swap_axes_2d(*x[0]);
    }
    Grads backward(const BackwardArgs& a) const override { return {swap_axes_2d(a.grad_out)}; }
};

// Y = X viewed with a new shape; dX = G with X's shape
struct Reshape final : Op {
    Shape shape;
    explicit Reshape(Shape shape) : shape(std::move(shape)) {}
    std::string name() const override { return "reshape"; }
    std::string label() const override { return "reshape" + shape_str(shape); }
    Array forward(const Inputs& x) override { return x[0]->reshaped(shape); }
    Grads backward(const BackwardArgs& a) const override {
        return {std::move(a.grad_out).reshaped(a.inputs[0]->shape())};
    }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    return apply_op(std::make_unique<Matmul>(transpose_a, transpose_b), {a, b});
}
Tensor transpose(const Tensor& x) { return apply_op(std::make_unique<Transpose>(), {x}); }
Tensor reshape(const Tensor& x, Shape shape) { return apply_op(std::make_unique<Reshape>(std::move(shape)), {x}); }

}  // namespace xgrad
