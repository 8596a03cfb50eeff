// Linear algebra and shape: matmul through BLAS (transposes as gemm flags), transpose, reshape.

#include <algorithm>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

// C = op(A)·op(B), op = identity or transpose.
//   dA = G·op(B)ᵀ            (transposed back if op(A) = Aᵀ: dA = op(B)·Gᵀ)
//   dB = op(A)ᵀ·G            (transposed back if op(B) = Bᵀ: dB = Gᵀ·op(A))
struct MatmulOp final : Op {
    bool ta, tb;
    MatmulOp(bool ta, bool tb) : ta(ta), tb(tb) {}
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

// Y = W·X + b with W (out, in), X (in, m), b (out, 1) broadcast over the m examples — a layer in one
// node. The bias is written into Y and the product accumulated onto it by one gemm (beta = 1), so
// there is no add pass and no broadcast gradient to reduce:
//   dW = G·Xᵀ,  dX = Wᵀ·G,  db = Σ over the examples of G (a contiguous row sum)
struct LinearOp final : Op {
    std::string name() const override { return "linear"; }
    Array forward(const Inputs& x) override {
        const Array& X = *x[0];
        const Array& W = *x[1];
        const Array& b = *x[2];
        if (W.ndim() != 2 || X.ndim() != 2 || W.shape()[1] != X.shape()[0] || b.shape() != Shape{W.shape()[0], 1})
            throw ShapeError("linear: weight " + shape_str(W.shape()) + ", input " + shape_str(X.shape()) +
                             " and bias " + shape_str(b.shape()) +
                             " do not fit (need W (out, in), X (in, m), b (out, 1))");
        if (W.dtype() != X.dtype() || W.dtype() != b.dtype())
            throw DTypeError(std::string("linear: weight ") + dtype_name(W.dtype()) + ", input " +
                             dtype_name(X.dtype()) + " and bias " + dtype_name(b.dtype()) + " mixed");
        const std::size_t rows = W.shape()[0], cols = X.shape()[1];
        Array Y = Array::uninitialized({rows, cols}, W.dtype());
        dispatch(W.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* bias = b.data<T>();
            T* y = Y.data<T>();
            for (std::size_t r = 0; r < rows; ++r) std::fill_n(y + r * cols, cols, bias[r]);
        });
        gemm_accumulate(W, X, false, false, Y);
        return Y;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& G = a.grad_out;
        const Array& X = *a.inputs[0];
        const Array& W = *a.inputs[1];
        return {a.wants(0) ? gemm(W, G, true, false) : Array(),   // dX = Wᵀ·G
                a.wants(1) ? gemm(G, X, false, true) : Array(),   // dW = G·Xᵀ
                a.wants(2) ? sum_keepdims(G, 1) : Array()};       // db = Σ_examples G
    }
};

Array swap_axes_2d(const Array& x) {
    const std::size_t rows = x.shape()[0], cols = x.shape()[1];
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized({cols, rows}, x.dtype());
        const T* p = x.data<T>();
        T* o = out.data<T>();
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) o[c * rows + r] = p[r * cols + c];
        return out;
    });
}

// Y = Xᵀ; dX = Gᵀ
struct TransposeOp final : Op {
    std::string name() const override { return "transpose"; }
    Array forward(const Inputs& x) override {
        if (x[0]->ndim() != 2)
            throw ShapeError("transpose: needs a 2-d tensor, got shape " + shape_str(x[0]->shape()));
        return swap_axes_2d(*x[0]);
    }
    Grads backward(const BackwardArgs& a) const override { return {swap_axes_2d(a.grad_out)}; }
};

// Y = X viewed with a new shape; dX = G with X's shape
struct ReshapeOp final : Op {
    Shape shape;
    explicit ReshapeOp(Shape shape) : shape(std::move(shape)) {}
    std::string name() const override { return "reshape"; }
    std::string label() const override { return "reshape" + shape_str(shape); }
    Array forward(const Inputs& x) override { return x[0]->reshaped(shape); }
    Grads backward(const BackwardArgs& a) const override {
        return {std::move(a.grad_out).reshaped(a.inputs[0]->shape())};
    }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    return apply_op(std::make_unique<MatmulOp>(transpose_a, transpose_b), {a, b});
}
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    return apply_op(std::make_unique<LinearOp>(), {x, weight, bias});
}
Tensor transpose(const Tensor& x) { return apply_op(std::make_unique<TransposeOp>(), {x}); }
Tensor reshape(const Tensor& x, Shape shape) { return apply_op(std::make_unique<ReshapeOp>(std::move(shape)), {x}); }

}  // namespace xgrad
