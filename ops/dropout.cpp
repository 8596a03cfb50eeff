// Dropout as a differentiable op that owns its state: keep probability, scale mode, the mask it drew
// (bit-packed) and the scale it used. Backward reuses both:  grad_x = grad_out ⊙ D · scale.
// See docs/dropout.md for the four scale modes and their math.

#include <bit>
#include <cmath>
#include <type_traits>

#include "framework/engine.hpp"
#include "framework/mask_replay.hpp"
#include "framework/random.hpp"
#include "framework/simd.hpp"
#include "framework/kernels.hpp"
#include "ops/linear.hpp"
#include "ops/ops.hpp"

namespace xgrad {

const char* scale_name(DropoutScale scale) {
    switch (scale) {
        case DropoutScale::constant: return "constant";
        case DropoutScale::measured: return "measured";
        case DropoutScale::per_example: return "per-example";
        case DropoutScale::classic: return "classic";
    }
    return "?";
}

DropoutScale parse_scale(const std::string& text) {
    for (DropoutScale s : {DropoutScale::constant, DropoutScale::measured, DropoutScale::per_example,
                           DropoutScale::classic})
        if (text == scale_name(s)) return s;
    if (text == "batch-measured") return DropoutScale::measured;
    throw ValueError("dropout: unknown scale mode '" + text +
                     "' (expected constant, measured, per-example or classic)");
}

namespace {
using namespace kernels;

// y = bit ? x / s : 0 (divide) or bit ? x · s : 0, bit i of the packed mask. The quotient or product
// is computed for every element and a dropped one cleared by a bitwise and with an all-zero pattern —
// so a dropped element is exactly +0 whatever x is (inf too), and the loop has no branch and
// vectorises (a select around a division compiles to a branch: the division may not be speculated).
// Gated (linear_relu_dropout): also cleared where gate ≤ 0 (or NaN) — ReLU folded into the same pass.
template <class T, bool Gated>
[[gnu::always_inline]] inline void mask_and_scale_loop(const T* x, const T* gate, T* y, std::size_t n,
                                                       const std::uint64_t* words, T s, bool divide) {
    using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    for (std::size_t base = 0; base < n; base += 32) {
        const auto bits = static_cast<std::uint32_t>(words[base / 64] >> (base % 64));
        const std::size_t count = std::min<std::size_t>(32, n - base);
        for (std::size_t j = 0; j < count; ++j) {
            const T v = divide ? x[base + j] / s : x[base + j] * s;
            Bits keep = Bits{0} - static_cast<Bits>((bits >> j) & 1u);  // all ones or all zeros
            if constexpr (Gated) keep &= Bits{0} - static_cast<Bits>(gate[base + j] > T(0));
            y[base + j] = std::bit_cast<T>(std::bit_cast<Bits>(v) & keep);
        }
    }
}
XGRAD_VECTOR_CLONES void mask_and_scale(const float* x, float* y, std::size_t n, const std::uint64_t* words,
                                              float s, bool divide) {
    mask_and_scale_loop<float, false>(x, nullptr, y, n, words, s, divide);
}
XGRAD_VECTOR_CLONES void mask_and_scale(const double* x, double* y, std::size_t n, const std::uint64_t* words,
                                              double s, bool divide) {
    mask_and_scale_loop<double, false>(x, nullptr, y, n, words, s, divide);
}
XGRAD_VECTOR_CLONES void gated_mask_and_scale(const float* x, const float* gate, float* y, std::size_t n,
                                              const std::uint64_t* words, float s, bool divide) {
    mask_and_scale_loop<float, true>(x, gate, y, n, words, s, divide);
}
XGRAD_VECTOR_CLONES void gated_mask_and_scale(const double* x, const double* gate, double* y, std::size_t n,
                                              const std::uint64_t* words, double s, bool divide) {
    mask_and_scale_loop<double, true>(x, gate, y, n, words, s, divide);
}
/// The gated loop when `gate` is given, else the plain one.
template <class T>
void mask_and_scale(const T* x, const T* gate, T* y, std::size_t n, const std::uint64_t* words, T s, bool divide) {
    if (gate)
        gated_mask_and_scale(x, gate, y, n, words, s, divide);
    else
        mask_and_scale(x, y, n, words, s, divide);
}

// Training:  D = rand(shape) < keep_prob (numpy's order);  y = x ⊙ D · s;  dx = g ⊙ D · s, where
//   constant:     s = 1/keep_prob (computed as x / keep_prob, exactly as the course does)
//   measured:     s = size / Σ D                (0 if nothing is kept: output and gradient are 0)
//   per-example:  s_j = units_j / Σ_j D for each example j along example_axis (0 likewise)
//   classic:      s = 1
// s depends only on the mask, never on x, so backward needs no extra term for the measured modes.
// MaskingOp holds the mask machinery; dropout and linear_relu_dropout are its two ops.
struct MaskingOp : Op {
    DropoutOptions options;
    BitMask mask;
    std::vector<double> scales;  // one per example (per_example) or one for all
    double kept_fraction = 1.0;
    std::size_t kept = 0, units = 0;
    std::size_t example_stride = 1, examples = 1;

    explicit MaskingOp(const DropoutOptions& options) : options(options) {}

    std::string label() const override {
        return name() + "(keep_prob=" + format_number(options.keep_prob) + ", " + scale_name(options.scale) + ")";
    }
    const char* dot_fill() const override { return "#fde0c5"; }
    std::vector<std::pair<std::string, std::string>> attributes() const override {
        std::string scale;
        if (options.scale == DropoutScale::per_example && !scales.empty()) {
            auto [lo, hi] = std::minmax_element(scales.begin(), scales.end());
            scale = format_number(*lo) + " .. " + format_number(*hi);
        } else {
            scale = scales.empty() ? "-" : format_number(scales[0]);
        }
        return {{"keep_prob", format_number(options.keep_prob)},
                {"scale mode", scale_name(options.scale)},
                {"scale", scale},
                {"kept", format_number(kept_fraction)}};
    }

    void draw_mask(std::size_t n) {
        if (MaskReplay* replay = MaskReplay::active(); replay && replay->replaying()) {
            mask = replay->next(n);
            return;
        }
        Generator& gen = options.generator ? *options.generator : global_generator();
        mask = BitMask(n);
        // numpy's rand(shape) < keep_prob from an MT19937 generator; one word per unit from a Philox one.
        gen.bernoulli_bits(options.keep_prob, n, mask.words());
        if (MaskReplay* replay = MaskReplay::active()) replay->record(mask);
    }

    void measure_scales(const Shape& shape) {
        const std::size_t n = mask.size();
        kept = mask.count();
        units = n;
        kept_fraction = n ? static_cast<double>(kept) / static_cast<double>(n) : 1.0;
        switch (options.scale) {
            case DropoutScale::constant: scales = {1.0 / options.keep_prob}; break;
            case DropoutScale::classic: scales = {1.0}; break;
            case DropoutScale::measured: {
                std::size_t kept_all = kept, units_all = n;  // over more masks than this one, if asked
                if (options.reduce_counts) options.reduce_counts(kept_all, units_all);
                scales = {kept_all ? static_cast<double>(units_all) / static_cast<double>(kept_all) : 0.0};
                break;
            }
            case DropoutScale::per_example: {
                const std::size_t axis = normalize_axis(options.example_axis, shape.size(), "dropout");
                examples = shape[axis];
                example_stride = 1;
                for (std::size_t d = axis + 1; d < shape.size(); ++d) example_stride *= shape[d];
                std::vector<std::size_t> kept_per(examples, 0);
                for (std::size_t i = 0; i < n; ++i)
                    if (mask.test(i)) ++kept_per[example_of(i)];
                const double units_per_example = examples ? static_cast<double>(n / examples) : 0.0;
                scales.assign(examples, 0.0);
                for (std::size_t j = 0; j < examples; ++j)
                    if (kept_per[j]) scales[j] = units_per_example / static_cast<double>(kept_per[j]);
                break;
            }
        }
    }

    std::size_t example_of(std::size_t flat) const { return (flat / example_stride) % examples; }

    /// out = in ⊙ D · s (or / keep_prob for the constant mode); used by forward and backward alike.
    /// `out` has in's shape and may be `in` itself (backward works in the upstream gradient's buffer).
    /// With a gate (same shape), elements where gate ≤ 0 are 0 as well: ReLU in the same pass.
    void masked(const Array& in, Array& out, const Array* gate = nullptr) const {
        dispatch(in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* x = in.data<T>();
            T* y = out.data<T>();
            const T* open = gate ? gate->data<T>() : nullptr;
            const std::size_t n = in.size();
            if (options.scale == DropoutScale::constant) {
                // Division (not × 1/keep_prob) keeps the course's bits — except that a power of two
                // has an exact reciprocal, so x · (1/keep_prob) is then the same correctly rounded
                // number as x / keep_prob, at a quarter of the cost.
                const T keep_prob = static_cast<T>(options.keep_prob);
                int exponent = 0;
                // (Below 2^-1023, or 2^-127 in float32, the reciprocal overflows: divide there.)
                if (std::frexp(keep_prob, &exponent) == T(0.5) && std::isfinite(T(1) / keep_prob))
                    mask_and_scale(x, open, y, n, mask.words(), T(1) / keep_prob, false);
                else
                    mask_and_scale(x, open, y, n, mask.words(), keep_prob, true);
            } else if (options.scale == DropoutScale::per_example) {
                for (std::size_t i = 0; i < n; ++i)
                    y[i] = mask.test(i) && (!open || open[i] > T(0)) ? x[i] * static_cast<T>(scales[example_of(i)]) : T(0);
            } else {
                mask_and_scale(x, open, y, n, mask.words(), static_cast<T>(scales[0]), false);
            }
        });
    }

    void release_saved() override { mask = BitMask(); }
    std::size_t saved_bytes() const override { return mask.bytes() + scales.size() * sizeof(double); }
};

struct DropoutOp final : MaskingOp {
    using MaskingOp::MaskingOp;
    std::string name() const override { return "dropout"; }
    Array forward(const Inputs& x) override {
        draw_mask(x[0]->size());
        measure_scales(x[0]->shape());
        Array y = Array::uninitialized(x[0]->shape(), x[0]->dtype());
        masked(*x[0], y);
        return y;
    }
    Grads backward(const BackwardArgs& a) const override {
        Array g = std::move(a.grad_out);  // the engine discards it: work in its buffer
        masked(g, g);
        return {std::move(g)};
    }
};

// y = dropout(relu(linear(x, W, b))) in one node: the linear layer's gemm (ops/linear.hpp), then ONE
// pass for ReLU, the mask and the scale; backward ONE pass for the mask, the scale and ReLU's gate,
// then the linear layer's gemms. The gate is y > 0: every scale is ≥ 1 (1/keep_prob, size/kept,
// units/kept, 1), so where the mask keeps, y > 0 exactly when the linear output z > 0 — backward reads
// y, not z, and z is never stored. The same draws, values and gradients as the three ops, bit for bit
// (tests/test_dropout.cpp), with one node, one array and one element-wise pass each way instead of three.
struct LinearReluDropoutOp final : MaskingOp {
    Layout layout;
    LinearReluDropoutOp(const DropoutOptions& options, Layout layout) : MaskingOp(options), layout(layout) {}
    std::string name() const override { return "linear_relu_dropout"; }
    bool backward_reads_input(std::size_t i) const override { return i != 2; }
    bool backward_reads_result() const override { return true; }
    Array forward(const Inputs& x) override {
        Array y = detail::linear_forward("linear_relu_dropout", *x[0], *x[1], *x[2], layout);
        draw_mask(y.size());
        measure_scales(y.shape());
        masked(y, y, &y);  // relu, mask and scale, in place
        return y;
    }
    Grads backward(const BackwardArgs& a) const override {
        Array g = std::move(a.grad_out);
        masked(g, g, &a.result);
        return detail::linear_backward(g, *a.inputs[0], *a.inputs[1], layout, a.needs_grad);
    }
};

}  // namespace

DropoutState dropout_state(const Tensor& y) {
    const auto* op = y.defined() ? dynamic_cast<const MaskingOp*>(y.node()->op.get()) : nullptr;
    if (!op)
        throw ValueError("dropout_state: the tensor was not produced by a recorded dropout or linear_relu_dropout op");
    DropoutState s;
    s.keep_prob = op->options.keep_prob;
    s.scale = op->options.scale;
    s.scales = op->scales;
    s.kept = op->kept;
    s.units = op->units;
    s.mask_bytes = op->mask.bytes();
    s.mask.resize(op->mask.size());
    for (std::size_t i = 0; i < op->mask.size(); ++i) s.mask[i] = op->mask.test(i);
    return s;
}

void DropoutOptions::validate(const char* who) const {
    if (!(keep_prob > 0.0 && keep_prob <= 1.0))
        throw ValueError(std::string(who) + ": keep_prob = " + format_number(keep_prob) +
                         " is outside the allowed range (0, 1]");
}

Tensor dropout(const Tensor& x, const DropoutOptions& options) {
    options.validate();
    const double p = options.keep_prob;
    if (options.scale == DropoutScale::per_example)
        normalize_axis(options.example_axis, x.ndim(), "dropout (per-example example_axis)");
    if (!options.training)
        return options.scale == DropoutScale::classic && p < 1.0 ? mul(x, p) : x;
    if (p == 1.0) return x;
    return apply_op(std::make_unique<DropoutOp>(options), {x});
}

Tensor dropout2d(const Tensor& x, const DropoutOptions& options) {
    options.validate("dropout2d");
    if (x.ndim() < 3)
        throw ShapeError("dropout2d: input must be (N, C, …) with at least one spatial axis, got " + shape_str(x.shape()));
    // The (N, C, 1, …) mask-and-scale is dropout of ones: the same draws, the same four modes; x's
    // gradient is then g ⊙ (D·s) through the product, and the mask tensor is saved by it.
    Shape per_map(x.ndim(), 1);
    per_map[0] = x.shape()[0];
    per_map[1] = x.shape()[1];
    DropoutOptions o = options;
    o.example_axis = 0;
    const Tensor ones = constant(Array::ones(per_map, x.dtype()), "channel mask");
    return x * dropout(ones, o);
}

Tensor linear_relu_dropout(const Tensor& x, const Tensor& weight, const Tensor& bias, Layout layout,
                           const DropoutOptions& options) {
    options.validate("linear_relu_dropout");
    if (options.scale == DropoutScale::per_example)
        normalize_axis(options.example_axis, layout == Layout::batch_first ? x.ndim() : 2,
                       "linear_relu_dropout (per-example example_axis)");
    // Where dropout is the identity (or a plain product), there is nothing to fuse into the pass.
    if (!options.training || options.keep_prob == 1.0) return dropout(relu(linear(x, weight, bias, layout)), options);
    return apply_op(std::make_unique<LinearReluDropoutOp>(options, layout), {x, weight, bias});
}

}  // namespace xgrad
