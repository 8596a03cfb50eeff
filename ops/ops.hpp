#pragma once
// The public op header: every differentiable op xgrad offers. Each is implemented, forward beside
// backward, in the family file named in its section; every one has a row in tests/test_gradcheck.cpp.
//
// Broadcasting follows numpy. Layout convention of the course (and of models/): features × examples,
// so `matmul(W, X) + b` with W (out, in), X (in, m) and b (out, 1).

#include <cstdint>
#include <limits>

#include "framework/tensor.hpp"

namespace xgrad {

class Generator;

// ---- ops/arithmetic.cpp ------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor add(const Tensor& x, double c);
Tensor mul(const Tensor& x, double c);
Tensor div(const Tensor& x, double c);
Tensor sub(double c, const Tensor& x);  // c - x
Tensor div(double c, const Tensor& x);  // c / x
/// Differentiable dtype conversion (the explicit way to mix float32 and float64).
Tensor astype(const Tensor& x, DType dtype);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& x, double c) { return add(x, c); }
inline Tensor operator+(double c, const Tensor& x) { return add(x, c); }
inline Tensor operator-(const Tensor& x, double c) { return add(x, -c); }
inline Tensor operator-(double c, const Tensor& x) { return sub(c, x); }
inline Tensor operator*(const Tensor& x, double c) { return mul(x, c); }
inline Tensor operator*(double c, const Tensor& x) { return mul(x, c); }
inline Tensor operator/(const Tensor& x, double c) { return div(x, c); }
inline Tensor operator/(double c, const Tensor& x) { return div(c, x); }

// ---- ops/linalg.cpp ----------------------------------------------------------------------------
/// op(a) · op(b) for 2-d tensors through BLAS; the transpose flags are passed to gemm, so
/// matmul(W, X, true) computes Wᵀ·X without copying W.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// weight · x + bias in one node: weight (out, in), x (in, m), bias (out, 1) — what
/// `matmul(weight, x) + bias` computes, with the bias added by the gemm itself (beta = 1) and its
/// gradient a row sum. models' Linear layer uses it.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
/// Swaps the two axes of a 2-d tensor (a copy; prefer matmul's flags inside products).
Tensor transpose(const Tensor& x);
Tensor reshape(const Tensor& x, Shape shape);

// ---- ops/reduction.cpp -------------------------------------------------------------------------
Tensor sum(const Tensor& x);  // all elements, 0-d result
Tensor sum(const Tensor& x, int axis, bool keepdims = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int axis, bool keepdims = false);

// ---- ops/activation.cpp ------------------------------------------------------------------------
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
/// Softmax along `axis` (default 0: classes × examples, as in the course's layout).
Tensor softmax(const Tensor& x, int axis = 0);
Tensor log_softmax(const Tensor& x, int axis = 0);

// ---- ops/loss.cpp ------------------------------------------------------------------------------
/// Mean binary cross-entropy of probabilities p against labels y (same shape):
/// -mean(y log p + (1-y) log(1-p)). A term whose weight is 0 is skipped (numpy's nansum in the
/// course), so p exactly 0.0 or 1.0 gives a finite cost and finite gradients.
Tensor binary_cross_entropy(const Tensor& p, const Tensor& y);
/// The same loss from logits z (p = sigmoid(z)), fused and stable for any z.
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y);
/// Mean over examples of -Σ_c t_c log softmax(z)_c; classes along `axis`, targets t (one-hot or
/// probabilities) of z's shape.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets, int axis = 0);
/// Σ x² (0-d): the L2 penalty's building block.
Tensor sum_of_squares(const Tensor& x);

// ---- ops/dropout.cpp ---------------------------------------------------------------------------
/// How dropout rescales the units it keeps (see docs/dropout.md).
enum class DropoutScale : std::uint8_t {
    constant,     ///< × 1/keep_prob — the course, PyTorch, DyNet
    measured,     ///< × size / kept, measured on this mask (whole batch)
    per_example,  ///< × units / kept, measured per example along DropoutOptions::example_axis
    classic,      ///< no scaling in training; × keep_prob in evaluation (Srivastava et al.)
};
const char* scale_name(DropoutScale scale);
/// "constant" | "measured" | "per-example" | "classic"; ValueError otherwise.
DropoutScale parse_scale(const std::string& text);

struct DropoutOptions {
    double keep_prob = 0.5;  ///< in (0, 1]
    DropoutScale scale = DropoutScale::constant;
    bool training = true;    ///< evaluation: identity (inverted modes) or × keep_prob (classic)
    /// The axis that indexes examples, for per_example (1 = columns, the course's layout).
    int example_axis = 1;
    /// Where masks come from; nullptr = the calling thread's module-level generator (np.random's stream).
    Generator* generator = nullptr;

    /// The one check of these options, used by dropout(), the Dropout module and the nets built on
    /// them: ValueError naming `who` and the value when keep_prob is outside (0, 1].
    void validate(const char* who = "dropout") const;
};

/// Draws D = rand(shape) < keep_prob in numpy's order, returns x ⊙ D · scale, and saves the
/// bit-packed mask and the scale on the node for backward (grad_x = grad_out ⊙ D · scale).
Tensor dropout(const Tensor& x, const DropoutOptions& options);

/// What a dropout node saved: for tests, reports and DOT export.
struct DropoutState {
    double keep_prob = 1.0;
    DropoutScale scale = DropoutScale::constant;
    std::vector<double> scales;  ///< the scale used (one per example for per_example)
    std::size_t kept = 0;        ///< units kept by the mask
    std::size_t units = 0;       ///< units in the mask
    std::size_t mask_bytes = 0;  ///< bytes the bit-packed mask holds (0 once released)
    std::vector<bool> mask;      ///< the mask itself, row-major (empty once released)
};
/// The state of the dropout op that produced y; ValueError if y was not made by dropout.
DropoutState dropout_state(const Tensor& y);

}  // namespace xgrad
