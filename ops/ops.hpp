#pragma once
// The public op header: every differentiable op xgrad offers. Each is implemented, forward beside
// backward, in the family file named in its section; every one has a row in tests/test_gradcheck.cpp.
//
// Broadcasting follows numpy. Layout convention of the course (and of models/): features × examples,
// so `matmul(W, X) + b` with W (out, in), X (in, m) and b (out, 1).

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <vector>

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
/// Differentiable dtype conversion between float32 and float64 (the explicit way to mix them).
/// To or from int64 it is a plain conversion (floats truncate toward zero, as numpy's) that cuts
/// the graph: int64 is never differentiable.
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
/// numpy's matmul for any rank: the last two axes are matrices, the leading ones a batch, broadcast
/// as numpy does; a 1-d a is a row vector and a 1-d b a column vector (the added axis is dropped
/// from the result). The transpose flags swap the last two axes of a or b as gemm flags, so
/// matmul(W, X, true) computes Wᵀ·X without copying W. Each matrix pair is one gemm call on
/// pointers into the operands; a batch times a single matrix is one gemm over the whole batch.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// The two layouts a linear layer is written in (docs/api-guide.md, "Layouts").
enum class Layout : std::uint8_t {
    features_first,  ///< the course's: x (in, m), y (out, m), bias (out, 1)
    batch_first,     ///< PyTorch's: x (..., in), y (..., out), bias (out,)
};
/// weight · x + bias in one node, weight (out, in) in both layouts: features-first computes
/// W·X + b (bias (out, 1), what `matmul(weight, x) + bias` computes, with the bias added by the gemm
/// itself, beta = 1); batch-first computes X·Wᵀ + b over any leading axes (bias (out,)).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Layout layout = Layout::features_first);

// ---- ops/shape.cpp -----------------------------------------------------------------------------
// Shape ops copy (xgrad has no views): each returns a new contiguous tensor. They work on any
// dtype, int64 labels included; axes may be negative (counted from the end), as in numpy.

Tensor reshape(const Tensor& x, const NewShape& shape);
/// Reorders the axes: result axis i is x's axis axes[i] (numpy's transpose(x, axes)).
Tensor permute(const Tensor& x, const std::vector<int>& axes);
/// Swaps the two axes of a 2-d tensor (a copy; prefer matmul's flags inside products).
Tensor transpose(const Tensor& x);
/// Swaps two axes of a tensor of any rank.
Tensor transpose(const Tensor& x, int axis0, int axis1);
/// Merges axes start_axis..end_axis into one: (N, C, H, W) → (N, C·H·W) by default.
Tensor flatten(const Tensor& x, int start_axis = 1, int end_axis = -1);
/// Removes axis (which must have size 1) / inserts a size-1 axis at `axis` (-1: at the end).
Tensor squeeze(const Tensor& x, int axis);
Tensor unsqueeze(const Tensor& x, int axis);
/// x repeated along its size-1 (or missing leading) axes to `shape`; backward sums them back.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Joins tensors of one shape except along `axis` / stacks tensors of one shape on a new axis.
Tensor concat(const std::vector<Tensor>& tensors, int axis = 0);
Tensor stack(const std::vector<Tensor>& tensors, int axis = 0);
/// Cuts x along `axis` into consecutive pieces of the given sizes (which must add up to its size).
std::vector<Tensor> split(const Tensor& x, const std::vector<std::size_t>& sizes, int axis = 0);

// ---- ops/indexing.cpp --------------------------------------------------------------------------
/// Python's x[start:stop:step] along `axis`: negative start/stop count from the end, out-of-range
/// bounds are clipped, an empty range gives an empty tensor; a negative step walks backwards
/// (x[5:0:-2]); step 0 is a ValueError.
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1);
/// x[..., index, ...] along `axis`, removing the axis (x[i] is select(x, 0, i)); negative index
/// counts from the end; IndexError when out of range.
Tensor select(const Tensor& x, int axis, std::int64_t index);
/// The entries of x at `indices` (1-d int64) along axis: numpy's take(x, indices, axis). Repeated
/// indices are allowed; their gradients add up (scatter-add).
Tensor index_select(const Tensor& x, int axis, const Tensor& indices);
/// PyTorch's gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (likewise for any rank and
/// axis); index is int64 of x's rank, no larger than x along the other axes. numpy's
/// take_along_axis. Differentiable in x (scatter-add).
Tensor gather(const Tensor& x, int axis, const Tensor& index);
/// labels (int64, any shape) → float (…, classes) with a 1 at each label: not differentiable.
Tensor one_hot(const Tensor& labels, std::size_t classes, DType dtype = DType::f64);

// ---- ops/reduction.cpp -------------------------------------------------------------------------
Tensor sum(const Tensor& x);  // all elements, 0-d result
Tensor sum(const Tensor& x, int axis, bool keepdims = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int axis, bool keepdims = false);
/// Largest / smallest element, of all (0-d) or along axis. NaN propagates, as in numpy. Gradient:
/// split equally among the elements that tie for the extreme (PyTorch's amax/amin rule), so
/// gradients stay symmetric in tied inputs.
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, int axis, bool keepdims = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, int axis, bool keepdims = false);
/// The index of the first largest / smallest element along axis (numpy's rule; a NaN counts as the
/// extreme), int64, not differentiable.
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);
Tensor argmin(const Tensor& x, int axis, bool keepdims = false);
/// log Σ exp along axis, stable (the max is subtracted first); gradient softmax(x).
Tensor logsumexp(const Tensor& x, int axis, bool keepdims = false);
/// Mean squared deviation along axis divided by (n - ddof): ddof 0 is numpy's default, 1 the
/// unbiased estimate (PyTorch's default). ValueError when n ≤ ddof.
Tensor var(const Tensor& x, int axis, bool keepdims = false, int ddof = 0);

// ---- ops/elementwise.cpp -----------------------------------------------------------------------
/// |x|; gradient sign(x), 0 at 0 (as PyTorch).
Tensor abs(const Tensor& x);
/// -1, 0 or 1 (NaN stays NaN): not differentiable (its derivative is 0 wherever it exists).
Tensor sign(const Tensor& x);
/// x limited to [lo, hi]; the gradient passes where lo ≤ x ≤ hi (PyTorch's rule at the bounds).
Tensor clamp(const Tensor& x, double lo, double hi);
/// Element-wise larger / smaller of a and b, broadcast; where they tie, each gets half the gradient.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// a where cond is nonzero, b elsewhere, all three broadcast; cond (any dtype, a comparison's mask)
/// gets no gradient.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// Comparisons, broadcast, returning a 0/1 mask that is not differentiable: in the inputs' float
/// dtype, or float64 for int64 inputs — so mean(equal(argmax(logits, 1), labels)) is an accuracy.
Tensor equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
/// Against a number (in a's dtype): greater(probabilities, 0.5) is a prediction.
Tensor equal(const Tensor& a, double b);
Tensor less(const Tensor& a, double b);
Tensor greater(const Tensor& a, double b);
inline Tensor operator==(const Tensor& a, const Tensor& b) { return equal(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return less(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return greater(a, b); }
inline Tensor operator==(const Tensor& a, double b) { return equal(a, b); }
inline Tensor operator<(const Tensor& a, double b) { return less(a, b); }
inline Tensor operator>(const Tensor& a, double b) { return greater(a, b); }

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
/// x for x > 0, slope·x otherwise (gradient slope at 0 and below).
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
/// x for x > 0, alpha·(eˣ - 1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
/// x·Φ(x) with the exact normal CDF Φ(x) = (1 + erf(x/√2))/2 (PyTorch's default gelu).
Tensor gelu(const Tensor& x);
/// x·sigmoid(x) (swish).
Tensor silu(const Tensor& x);
/// log(1 + eˣ), computed as max(x, 0) + log1p(e^-|x|) so it neither overflows nor loses small x.
Tensor softplus(const Tensor& x);
/// log sigmoid(x) = -softplus(-x), stable for any x.
Tensor log_sigmoid(const Tensor& x);

// ---- ops/loss.cpp ------------------------------------------------------------------------------
/// Mean binary cross-entropy of probabilities p against labels y (same shape):
/// -mean(y log p + (1-y) log(1-p)). A term whose weight is 0 is skipped (numpy's nansum in the
/// course), so p exactly 0.0 or 1.0 gives a finite cost and finite gradients.
Tensor binary_cross_entropy(const Tensor& p, const Tensor& y);
/// The same loss from logits z (p = sigmoid(z)), fused and stable for any finite z (±inf gives NaN,
/// as in PyTorch).
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y);
/// Mean over examples of -Σ_c t_c log softmax(z)_c; classes along `axis`, targets t (one-hot or
/// probabilities) of z's shape.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets, int axis = 0);
/// Σ x² (0-d): the L2 penalty's building block.
Tensor sum_of_squares(const Tensor& x);

/// How a loss combines its per-element (or per-example) terms.
enum class Reduction : std::uint8_t { mean, sum, none };
/// (pred - target)², mean / sum / none; pred and target must have one shape (a broadcast here is
/// usually a bug — (N,) against (N, 1) — so it is refused; use broadcast_to when it is meant).
Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction reduction = Reduction::mean);
/// |pred - target|.
Tensor l1_loss(const Tensor& pred, const Tensor& target, Reduction reduction = Reduction::mean);
/// ½d² for |d| ≤ delta, delta·(|d| - ½delta) beyond (d = pred - target): PyTorch's huber_loss.
Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta = 1.0, Reduction reduction = Reduction::mean);
/// -log_probs[label] for each example: log_probs has the classes along `axis` (PyTorch: axis 1 of
/// (N, C) or (N, C, d…); the course's layout: axis 0 of (C, m)); labels (int64) have log_probs'
/// shape without that axis. IndexError for a label outside [0, classes). `none` keeps the labels'
/// shape.
Tensor nll_loss(const Tensor& log_probs, const Tensor& labels, int axis = 1, Reduction reduction = Reduction::mean);
/// Options of cross_entropy beyond the axis.
struct CrossEntropyOptions {
    int axis = 1;
    Reduction reduction = Reduction::mean;
    /// ε in [0, 1): the target puts 1 - ε on the label and ε/classes on every class (PyTorch's).
    double label_smoothing = 0.0;
};
/// nll_loss(log_softmax(logits, axis), labels) in one node, with optional label smoothing; the
/// gradient is softmax - target.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& options = {});
inline Tensor cross_entropy(const Tensor& logits, const Tensor& labels, int axis) {
    return cross_entropy(logits, labels, CrossEntropyOptions{.axis = axis});
}

// ---- ops/conv.cpp ------------------------------------------------------------------------------
// PyTorch's batch-first layouts and argument names: images (N, C, H, W), signals (N, C, L).

/// A size along the two spatial axes: one number for both (`2`) or `{h, w}`.
struct Size2 {
    std::size_t h, w;
    Size2(std::size_t both) : h(both), w(both) {}  // NOLINT: stride 2 means (2, 2)
    Size2(std::size_t h, std::size_t w) : h(h), w(w) {}
};
/// Cross-correlation (PyTorch's conv2d): x (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW),
/// bias (C_out,) or an undefined Tensor for none; output (N, C_out, H_out, W_out) with
/// H_out = ⌊(H + 2·padding - dilation·(kH - 1) - 1) / stride⌋ + 1. Lowered to OpenBLAS gemm through
/// im2col, one gemm per image and group (a 1×1 kernel at stride 1 without padding reads the image
/// directly), the images spread over xgrad's threads.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Size2 stride = 1, Size2 padding = 0,
              Size2 dilation = 1, std::size_t groups = 1);
/// relu(conv2d(...)) as one node: ReLU is applied to each image's output block while the gemm has it
/// in cache, and its mask to dY in backward, instead of two more passes over the whole activation
/// each way. The same values and gradients, bit for bit, as the two ops.
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Size2 stride = 1,
                   Size2 padding = 0, Size2 dilation = 1, std::size_t groups = 1);
/// conv2d over signals: x (N, C_in, L), weight (C_out, C_in / groups, k).
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, std::size_t stride = 1,
              std::size_t padding = 0, std::size_t dilation = 1, std::size_t groups = 1);
/// The largest value of each window (padding counts as -inf); stride defaults to the kernel. The
/// gradient goes to the window's first largest element.
Tensor max_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0);
/// The mean of each window, padding counted as zeros in the divisor (PyTorch's count_include_pad).
Tensor avg_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0);
/// Averages over windows that tile (H, W) into output_size: output i covers [⌊i·H/out⌋, ⌈(i+1)·H/out⌉).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

// ---- ops/recurrent.cpp -------------------------------------------------------------------------
/// One LSTM step's element-wise part, fused: gates (N, 4H) are the pre-activations in PyTorch's order
/// [i | f | g | o] (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), c (N, H) the previous cell state. Returns
/// [h' | c'] (N, 2H) with c' = σ(f)⊙c + σ(i)⊙tanh(g) and h' = σ(o)⊙tanh(c') — the composed ops'
/// values, as one node (LSTMCell and LSTM use it; slice the halves apart).
Tensor lstm_cell(const Tensor& gates, const Tensor& c);

/// A whole LSTM layer's sequence.
struct LstmSequence {
    Tensor output;  ///< every step's h: (T, N, H), or (N, T, H) batch first
    Tensor h, c;    ///< the last step's h and c, (N, H)
};
/// One LSTM layer over a whole sequence as one node (cuDNN's and PyTorch's fused layer): the values
/// of lstm_cell run step by step on x_t·W_ihᵀ + b_ih + (h_{t-1}⊙mask)·W_hhᵀ + b_hh, with one gemm for
/// every step's input projection and, in backward, one each for dW_ih, dW_hh and dx. x is (T, N, in)
/// or (N, T, in) batch first; weights (4H, in) and (4H, H); h0, c0 (N, H); biases (4H), both or
/// neither; mask (N, H) or undefined (no recurrent dropout). LSTM uses it unless asked to unroll.
LstmSequence lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& weight_ih,
                        const Tensor& weight_hh, const Tensor& bias_ih = {}, const Tensor& bias_hh = {},
                        const Tensor& mask = {}, bool batch_first = false);

// ---- ops/normalization.cpp ---------------------------------------------------------------------
/// Batch normalisation over axis 1 of (N, C) or (N, C, …). Training: normalises with the batch's
/// mean and (biased) variance per channel and updates the running statistics in place,
/// r ← (1 - momentum)·r + momentum·batch (the variance unbiased, as PyTorch); evaluation: uses the
/// running statistics. weight and bias (C,) may both be undefined (no affine step).
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum = 0.1, double eps = 1e-5);
/// Normalises over the trailing axes given by normalized_shape, per example; weight and bias have
/// that shape (or are both undefined).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

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
    /// An MT19937 generator gives numpy's masks (rand(shape) < keep_prob); a Generator::philox one
    /// draws one 32-bit word per unit from a stream that splits into independent per-thread / per-rank
    /// streams (not faster here: bench/compare's mask_ns_per_unit_* figures).
    Generator* generator = nullptr;
    /// measured only: called with this mask's kept and total unit counts before the scale is
    /// computed, and may replace them with counts over more than this mask — data-parallel
    /// training sums them over every process's share of the global batch (xgrad::distributed::
    /// global_dropout_counts), so s = units / kept of the whole global batch. Empty: this mask's own.
    std::function<void(std::size_t& kept, std::size_t& units)> reduce_counts = nullptr;

    /// The one check of these options, used by dropout(), the Dropout module and the nets built on
    /// them: ValueError naming `who` and the value when keep_prob is outside (0, 1].
    void validate(const char* who = "dropout") const;
};

/// Draws D = rand(shape) < keep_prob in numpy's order (Generator::bernoulli_bits: numpy's bits from an
/// MT19937 generator, one word per unit from a Philox one), returns x ⊙ D · scale, and saves the
/// bit-packed mask and the scale on the node for backward (grad_x = grad_out ⊙ D · scale).
Tensor dropout(const Tensor& x, const DropoutOptions& options);

/// Channel-wise dropout (PyTorch's dropout2d): one mask bit per channel map of x (N, C, …), drawn as
/// dropout of an (N, C) mask in numpy's order, so all four scale modes apply to whole maps —
/// measured counts the kept maps of the batch, per-example those of one example (example_axis is
/// taken as 0, the batch axis). y = x ⊙ (D·s broadcast over the map); dx = g ⊙ (D·s).
Tensor dropout2d(const Tensor& x, const DropoutOptions& options);

/// dropout(relu(linear(x, weight, bias, layout)), options) fused into one node for the layers that ask
/// for it: one element-wise pass forward (ReLU, mask, scale) and one backward, the same mask draws and
/// the same bits as the three ops. dropout_state works on its result. Outside training, or with
/// keep_prob 1, it records the unfused ops (there is no mask to fuse).
Tensor linear_relu_dropout(const Tensor& x, const Tensor& weight, const Tensor& bias, Layout layout,
                           const DropoutOptions& options);

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
