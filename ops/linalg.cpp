// Linear algebra: matmul of any rank through BLAS (transposes as gemm flags, one gemm per matrix
// pair), and the linear layer's fused op in both layouts.

#include <algorithm>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "framework/simd.hpp"
#include "ops/linear.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

/// How matmul sees its operands: each promoted to a stack of matrices (a 1-d a is a row (1, k), a
/// 1-d b a column (k, 1)), the leading axes broadcast to one batch.
struct MatmulPlan {
    Shape a, b;             // the operands' shapes, promoted to ≥ 2-d
    Shape batch;            // the broadcast batch axes
    std::size_t m = 0, k = 0, n = 0;
    Shape out;              // the result's shape (the promoted axes dropped again)
    std::size_t count = 1;  // matrices in the batch

    MatmulPlan(const Shape& sa, const Shape& sb, bool ta, bool tb) {
        auto refuse = [&](const std::string& why) {
            return ShapeError("matmul: shapes " + shape_str(sa) + (ta ? "ᵀ" : "") + " and " + shape_str(sb) +
                              (tb ? "ᵀ" : "") + " " + why);
        };
        if (sa.empty() || sb.empty()) throw refuse("include a 0-d tensor (use mul for a scalar product)");
        if ((ta && sa.size() == 1) || (tb && sb.size() == 1)) throw refuse("transpose a 1-d operand");
        a = sa.size() == 1 ? Shape{1, sa[0]} : sa;
        b = sb.size() == 1 ? Shape{sb[0], 1} : sb;
        const std::size_t ra = a.size(), rb = b.size();
        m = ta ? a[ra - 1] : a[ra - 2];
        k = ta ? a[ra - 2] : a[ra - 1];
        n = tb ? b[rb - 2] : b[rb - 1];
        if (k != (tb ? b[rb - 1] : b[rb - 2])) throw refuse("are not aligned (need (…, m, k) · (…, k, n))");
        const Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
        batch = batch_a == batch_b ? batch_a : broadcast_shapes("matmul", batch_a, batch_b);
        count = shape_size(batch);
        out = batch;
        if (sa.size() > 1) out.push_back(m);
        if (sb.size() > 1) out.push_back(n);
    }
    /// Whether b is one matrix and a a contiguous stack read untransposed: then the whole batch is
    /// one (count·m, k) · (k, n) gemm.
    bool folds(bool ta) const { return b.size() == 2 && !ta; }
    Shape batch_of(const Shape& s) const { return Shape(s.begin(), s.end() - 2); }
};

/// For each matrix of the batch, the element offset of the matching matrix in an operand whose
/// batch axes are `batch` (broadcast against the plan's): the odometer over the broadcast batch.
std::vector<std::size_t> matrix_offsets(const MatmulPlan& plan, const Shape& operand) {
    const Shape batch = plan.batch_of(operand);
    const std::size_t matrix = operand[operand.size() - 2] * operand[operand.size() - 1];
    const auto strides = broadcast_strides(batch, plan.batch);
    std::vector<std::size_t> offsets(plan.count);
    std::vector<std::size_t> index(plan.batch.size(), 0);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < plan.count; ++i) {
        offsets[i] = offset * matrix;
        for (std::size_t axis = plan.batch.size(); axis-- > 0;) {
            offset += strides[axis];
            if (++index[axis] < plan.batch[axis]) break;
            offset -= strides[axis] * plan.batch[axis];
            index[axis] = 0;
        }
    }
    return offsets;
}

MatrixAt matrix_at(const Array& x, const Shape& promoted, std::size_t offset) {
    return {&x, offset, promoted[promoted.size() - 2], promoted[promoted.size() - 1]};
}

// C = op(A)·op(B) for each matrix pair of the batch, op = identity or transpose.
//   dA = G·op(B)ᵀ            (transposed back if op(A) = Aᵀ: dA = op(B)·Gᵀ)
//   dB = op(A)ᵀ·G            (transposed back if op(B) = Bᵀ: dB = Gᵀ·op(A))
// summed over the batch axes an operand was broadcast along (gemm accumulating, beta = 1).
struct MatmulOp final : Op {
    bool ta, tb;
    MatmulOp(bool ta, bool tb) : ta(ta), tb(tb) {}
    std::string name() const override { return "matmul"; }
    std::string label() const override {
        return std::string("matmul") + (ta || tb ? std::string("(") + (ta ? "Aᵀ" : "A") + "·" + (tb ? "Bᵀ" : "B") + ")" : "");
    }
    bool backward_reads_result() const override { return false; }

    Array forward(const Inputs& x) override {
        const Array& A = *x[0];
        const Array& B = *x[1];
        if (A.ndim() == 2 && B.ndim() == 2) {  // the course's nets: one gemm, no planning
            const MatmulPlan plan(A.shape(), B.shape(), ta, tb);  // the shape check
            return gemm(A, B, ta, tb);
        }
        const MatmulPlan plan(A.shape(), B.shape(), ta, tb);
        Array out = Array::uninitialized(plan.out, A.dtype());
        if (plan.folds(ta)) {
            const MatrixAt a{&A, 0, plan.count * plan.m, plan.k};
            gemm_into(a, false, matrix_at(B, plan.b, 0), tb, out, 0, false);
            return out;
        }
        const auto off_a = matrix_offsets(plan, plan.a), off_b = matrix_offsets(plan, plan.b);
        for (std::size_t i = 0; i < plan.count; ++i)
            gemm_into(matrix_at(A, plan.a, off_a[i]), ta, matrix_at(B, plan.b, off_b[i]), tb, out,
                      i * plan.m * plan.n, false);
        return out;
    }
    Grads backward(const BackwardArgs& args) const override {
        const Array& A = *args.inputs[0];
        const Array& B = *args.inputs[1];
        const Array& G = args.grad_out;
        Array grad_a, grad_b;
        if (A.ndim() == 2 && B.ndim() == 2) {
            if (args.wants(0)) grad_a = ta ? gemm(B, G, tb, true) : gemm(G, B, false, !tb);
            if (args.wants(1)) grad_b = tb ? gemm(G, A, true, ta) : gemm(A, G, !ta, false);
            return {std::move(grad_a), std::move(grad_b)};
        }
        const MatmulPlan plan(A.shape(), B.shape(), ta, tb);
        const std::size_t mn = plan.m * plan.n;
        if (plan.folds(ta)) {  // G as (count·m, n), A as (count·m, k)
            const MatrixAt g{&G, 0, plan.count * plan.m, plan.n}, a{&A, 0, plan.count * plan.m, plan.k};
            if (args.wants(0)) {
                grad_a = Array::uninitialized(A.shape(), A.dtype());
                gemm_into(g, false, matrix_at(B, plan.b, 0), !tb, grad_a, 0, false);
            }
            if (args.wants(1)) {
                grad_b = Array::uninitialized(B.shape(), B.dtype());
                if (tb)
                    gemm_into(g, true, a, false, grad_b, 0, false);
                else
                    gemm_into(a, true, g, false, grad_b, 0, false);
            }
            return {std::move(grad_a), std::move(grad_b)};
        }
        const auto off_a = matrix_offsets(plan, plan.a), off_b = matrix_offsets(plan, plan.b);
        // An operand broadcast along the batch receives several products at one place: those are
        // accumulated into a zeroed gradient. One that is not is written directly.
        auto gradient_for = [&](const Array& x, const Shape& promoted, bool& accumulate) {
            accumulate = shape_size(plan.batch_of(promoted)) != plan.count;
            return accumulate ? Array(x.shape(), x.dtype()) : Array::uninitialized(x.shape(), x.dtype());
        };
        if (args.wants(0)) {
            bool acc = false;
            grad_a = gradient_for(A, plan.a, acc);
            for (std::size_t i = 0; i < plan.count; ++i) {
                const MatrixAt g{&G, i * mn, plan.m, plan.n};
                const MatrixAt b = matrix_at(B, plan.b, off_b[i]);
                if (ta)
                    gemm_into(b, tb, g, true, grad_a, off_a[i], acc);
                else
                    gemm_into(g, false, b, !tb, grad_a, off_a[i], acc);
            }
        }
        if (args.wants(1)) {
            bool acc = false;
            grad_b = gradient_for(B, plan.b, acc);
            for (std::size_t i = 0; i < plan.count; ++i) {
                const MatrixAt g{&G, i * mn, plan.m, plan.n};
                const MatrixAt a = matrix_at(A, plan.a, off_a[i]);
                if (tb)
                    gemm_into(g, true, a, ta, grad_b, off_b[i], acc);
                else
                    gemm_into(a, !ta, g, false, grad_b, off_b[i], acc);
            }
        }
        return {std::move(grad_a), std::move(grad_b)};
    }
};

/// The rows a batch-first input stacks: the product of all but its last axis.
std::size_t leading_rows(const Array& x) {
    std::size_t rows = 1;
    for (std::size_t i = 0; i + 1 < x.ndim(); ++i) rows *= x.shape()[i];
    return rows;
}

// A linear layer in one node, in either layout (docs/api-guide.md, "Layouts"):
//   features_first (the course's):  Y = W·X + b,  W (out, in), X (in, m), b (out, 1) broadcast over examples
//     dX = Wᵀ·G,  dW = G·Xᵀ,  db = Σ over the examples of G (a contiguous row sum)
//   batch_first (PyTorch's):  Y = X·Wᵀ + b,  X (…, in) with its leading axes one stack of rows (M, in), b (out,)
//     dX = G·W,  dW = Gᵀ·X,  db = Σ over the rows of G
// The bias is written into Y and the product accumulated onto it by one gemm (beta = 1): no add pass,
// no broadcast gradient to reduce. linear_relu_dropout (ops/dropout.cpp) shares these two functions.
struct LinearOp final : Op {
    Layout layout;
    explicit LinearOp(Layout layout) : layout(layout) {}
    std::string name() const override { return "linear"; }
    std::string label() const override { return layout == Layout::batch_first ? "linear(batch_first)" : "linear"; }
    bool backward_reads_input(std::size_t i) const override { return i != 2; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override { return detail::linear_forward("linear", *x[0], *x[1], *x[2], layout); }
    Grads backward(const BackwardArgs& a) const override {
        return detail::linear_backward(a.grad_out, *a.inputs[0], *a.inputs[1], layout, a.needs_grad);
    }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    return apply_op(std::make_unique<MatmulOp>(transpose_a, transpose_b), {a, b});
}
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Layout layout) {
    return apply_op(std::make_unique<LinearOp>(layout), {x, weight, bias});
}

namespace detail {

namespace {
// Row r of the (rows, cols) block y set to bias[r]: where gemm then accumulates W·X. Compiled for
// the CPU's vector width: the baseline's 16-byte stores made this fill 6% of BM_RegnetStep.
template <class T>
[[gnu::always_inline]] inline void fill_rows_loop(T* y, std::size_t rows, std::size_t cols, const T* bias) {
    for (std::size_t r = 0; r < rows; ++r) std::fill_n(y + r * cols, cols, bias[r]);
}
XGRAD_VECTOR_CLONES void fill_rows(float* y, std::size_t rows, std::size_t cols, const float* bias) {
    fill_rows_loop(y, rows, cols, bias);
}
XGRAD_VECTOR_CLONES void fill_rows(double* y, std::size_t rows, std::size_t cols, const double* bias) {
    fill_rows_loop(y, rows, cols, bias);
}
}  // namespace

Array linear_forward(const char* op, const Array& X, const Array& W, const Array& b, Layout layout) {
    if (W.dtype() != X.dtype() || W.dtype() != b.dtype())
        throw DTypeError(std::string(op) + ": weight " + dtype_name(W.dtype()) + ", input " + dtype_name(X.dtype()) +
                         " and bias " + dtype_name(b.dtype()) + " mixed");
    if (layout == Layout::batch_first) {
        if (W.ndim() != 2 || X.ndim() < 1 || X.shape().back() != W.shape()[1] || b.shape() != Shape{W.shape()[0]})
            throw ShapeError(std::string(op) + ": weight " + shape_str(W.shape()) + ", input " + shape_str(X.shape()) +
                             " and bias " + shape_str(b.shape()) +
                             " do not fit the batch-first layout (need W (out, in), X (…, in), b (out,))");
        const std::size_t out = W.shape()[0], in = W.shape()[1], rows = leading_rows(X);
        Shape shape = X.shape();
        shape.back() = out;
        Array Y = Array::uninitialized(shape, W.dtype());
        dispatch(W.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* bias = b.data<T>();
            T* y = Y.data<T>();
            for (std::size_t r = 0; r < rows; ++r) std::copy_n(bias, out, y + r * out);
        });
        gemm_into({&X, 0, rows, in}, false, {&W, 0, out, in}, true, Y, 0, true);
        return Y;
    }
    if (W.ndim() != 2 || X.ndim() != 2 || W.shape()[1] != X.shape()[0] || b.shape() != Shape{W.shape()[0], 1})
        throw ShapeError(std::string(op) + ": weight " + shape_str(W.shape()) + ", input " + shape_str(X.shape()) +
                         " and bias " + shape_str(b.shape()) + " do not fit (need W (out, in), X (in, m), b (out, 1))");
    const std::size_t rows = W.shape()[0], cols = X.shape()[1];
    Array Y = Array::uninitialized({rows, cols}, W.dtype());
    dispatch(W.dtype(), [&](auto tag) {
        using T = decltype(tag);
        fill_rows(Y.data<T>(), rows, cols, b.data<T>());
    });
    gemm_accumulate(W, X, false, false, Y);
    return Y;
}

Grads linear_backward(const Array& G, const Array& X, const Array& W, Layout layout, const std::vector<bool>& wants) {
    if (layout == Layout::features_first) {
        Array dx = wants[0] ? gemm(W, G, true, false) : Array();  // dX = Wᵀ·G
        Array dw = wants[1] ? gemm(G, X, false, true) : Array();  // dW = G·Xᵀ
        Array db = wants[2] ? sum_keepdims(G, 1) : Array();       // db = Σ_examples G
        return {std::move(dx), std::move(dw), std::move(db)};
    }
    const std::size_t out = W.shape()[0], in = W.shape()[1], rows = leading_rows(X);
    const MatrixAt g{&G, 0, rows, out};
    Array dx, dw, db;
    if (wants[0]) {
        dx = Array::uninitialized(X.shape(), X.dtype());
        gemm_into(g, false, {&W, 0, out, in}, false, dx, 0, false);  // dX = G·W
    }
    if (wants[1]) {
        dw = Array::uninitialized(W.shape(), W.dtype());
        gemm_into(g, true, {&X, 0, rows, in}, false, dw, 0, false);  // dW = Gᵀ·X
    }
    if (wants[2]) db = sum_keepdims(G.reshaped({rows, out}), 0).reshaped({out});
    return {std::move(dx), std::move(dw), std::move(db)};
}

}  // namespace detail

}  // namespace xgrad
