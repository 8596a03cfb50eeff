// Dropout as a differentiable op that owns its state: keep probability, scale mode, the mask it drew
// (bit-packed) and the scale it used. Backward reuses both:  grad_x = grad_out ⊙ D · scale.
// See docs/dropout.md for the four scale modes and their math.

#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

#include "framework/engine.hpp"
#include "framework/mask_replay.hpp"
#include "framework/random.hpp"
#include "framework/simd.hpp"

#include "framework/intrinsics.hpp"
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
// Gated (linear_relu_dropout): also cleared where gate ≤ 0 (simd::relu_passes: a NaN passes) — ReLU
// folded into the same pass.
//
// Division is the course's arithmetic (x / keep_prob) and the costliest instruction in the pass
// (a vector division every few cycles: 3.4 µs of the 4 800-unit regnet's fused dropout). With FMA it
// is replaced by Markstein's correction of the product by the reciprocal r = RN(1/s):
//   q = RN(x·r),  e = x − s·q (exact, one FMA),  RN(q + e·r) = RN(x/s)
// — the correctly rounded quotient, the same bits as the division (Markstein 1990; Muller et al.,
// Handbook of Floating-Point Arithmetic, §4.7), as long as e does not underflow: |x| ≥ 2^-960 in
// float64, 2^-100 in float32 (e is about 2^-52 |x|, resp. 2^-23 |x|). A block of 32 elements with a
// smaller nonzero |x| divides. q is kept when it is not finite (x/s is then inf or NaN as well) and
// when e is 0 (the quotient is exact; this also keeps the sign of a zero) — so an exact zero needs
// no division, which matters: a gradient column is exactly 0 wherever every unit of the layer above
// was dropped or gated for that example, and with zeros sent to the division a third of the regnet's
// pass ran vdivpd. tests/test_dropout.cpp checks the identity on 10^7 random bit patterns of each
// precision, a share of them ±0.
enum class Scaling : std::uint8_t { multiply, divide, reciprocal };

template <class T>
constexpr T smallest_for_reciprocal() {
    if constexpr (sizeof(T) == 8) return 0x1p-960;
    else return 0x1p-100F;
}

template <class T, Scaling How>
[[gnu::always_inline]] inline T scaled(T x, T s, T r) {
    if constexpr (How == Scaling::multiply) {
        return x * s;
    } else if constexpr (How == Scaling::divide) {
        return x / s;
    } else {
        const T q = x * r;
        const T e = std::fma(-q, s, x);
        const T corrected = std::fma(e, r, q);
        return std::isfinite(q) && e != T(0) ? corrected : q;
    }
}

template <class T, bool Gated, Scaling How>
[[gnu::always_inline]] inline void mask_and_scale_block(const T* x, const T* gate, T* y, std::size_t count,
                                                        std::uint32_t bits, T s, T r) {
    for (std::size_t j = 0; j < count; ++j) {
        const T v = scaled<T, How>(x[j], s, r);
        simd::Bits<T> keep = simd::all_ones_if<T>((bits >> j) & 1u);
        if constexpr (Gated) keep &= simd::relu_passes(gate[j]);
        y[j] = simd::kept_or_zero(v, keep);
    }
}

template <class T, bool Gated, Scaling How>
[[gnu::always_inline]] inline void mask_and_scale_loop(const T* x, const T* gate, T* y, std::size_t n,
                                                       const std::uint64_t* words, T s) {
    const T r = T(1) / s;
    for (std::size_t base = 0; base < n; base += 32) {
        const auto bits = static_cast<std::uint32_t>(words[base / 64] >> (base % 64));
        const std::size_t count = std::min<std::size_t>(32, n - base);
        const T* g = Gated ? gate + base : nullptr;
        if constexpr (How == Scaling::reciprocal) {
            // 0 < |x| < the bound, compared as integers (sign cleared; |x| − 1 wraps for ±0) so the
            // check vectorises; NaN's pattern is above every finite one.
            using Bits = simd::Bits<T>;
            constexpr Bits magnitude = ~Bits{0} >> 1, bound = std::bit_cast<Bits>(smallest_for_reciprocal<T>());
            Bits tiny = 0;
            for (std::size_t j = 0; j < count; ++j)
                tiny |= static_cast<Bits>(((std::bit_cast<Bits>(x[base + j]) & magnitude) - 1) < bound - 1);
            if (tiny) {
                mask_and_scale_block<T, Gated, Scaling::divide>(x + base, g, y + base, count, bits, s, r);
                continue;
            }
        }
        mask_and_scale_block<T, Gated, How>(x + base, g, y + base, count, bits, s, r);
    }
}

template <class T, bool Gated>
[[gnu::always_inline]] inline void mask_and_scale_any(const T* x, const T* gate, T* y, std::size_t n,
                                                      const std::uint64_t* words, T s, Scaling how) {
    if (how == Scaling::multiply) mask_and_scale_loop<T, Gated, Scaling::multiply>(x, gate, y, n, words, s);
    else if (how == Scaling::divide) mask_and_scale_loop<T, Gated, Scaling::divide>(x, gate, y, n, words, s);
    else mask_and_scale_loop<T, Gated, Scaling::reciprocal>(x, gate, y, n, words, s);
}
XGRAD_VECTOR_CLONES void mask_and_scale(const float* x, float* y, std::size_t n, const std::uint64_t* words, float s,
                                        Scaling how) {
    mask_and_scale_any<float, false>(x, nullptr, y, n, words, s, how);
}
XGRAD_VECTOR_CLONES void mask_and_scale(const double* x, double* y, std::size_t n, const std::uint64_t* words,
                                        double s, Scaling how) {
    mask_and_scale_any<double, false>(x, nullptr, y, n, words, s, how);
}
XGRAD_VECTOR_CLONES void gated_mask_and_scale(const float* x, const float* gate, float* y, std::size_t n,
                                              const std::uint64_t* words, float s, Scaling how) {
    mask_and_scale_any<float, true>(x, gate, y, n, words, s, how);
}
XGRAD_VECTOR_CLONES void gated_mask_and_scale(const double* x, const double* gate, double* y, std::size_t n,
                                              const std::uint64_t* words, double s, Scaling how) {
    mask_and_scale_any<double, true>(x, gate, y, n, words, s, how);
}
/// Division by Markstein's correction where the CPU has FMA (the x86-64-v3 and v4 clones of
/// framework/simd.hpp run it as an instruction), plain division elsewhere.
Scaling division_scaling() {
    static const bool fma = __builtin_cpu_supports("fma");
    return fma ? Scaling::reciprocal : Scaling::divide;
}

#if XGRAD_X86_INTRINSICS
// The same pass with AVX-512 intrinsics, where the CPU has x86-64-v4. The compiled loops above spend
// most of their time turning mask bits into all-ones/all-zeros lanes, one 64-bit integer operation
// per element; AVX-512 takes a mask word's bits as a lane mask directly (8 doubles or 16 floats a
// byte or two of it), so a vector of elements costs a load, the scaling, a compare for the gate and
// a masked store. Values are the loops' (the same IEEE operations; tests/test_dropout.cpp compares
// the two on every scale mode, both dtypes and odd sizes).
template <class T>
struct Lanes;
template <>
struct Lanes<double> {
    using V = __m512d;
    using M = __mmask8;
    static constexpr std::size_t n = 8;
    XGRAD_V4 static V load(const double* p) { return _mm512_loadu_pd(p); }
    XGRAD_V4 static void store_kept(double* p, M k, V v) { _mm512_storeu_pd(p, _mm512_maskz_mov_pd(k, v)); }
    XGRAD_V4 static V set1(double v) { return _mm512_set1_pd(v); }
    XGRAD_V4 static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
    XGRAD_V4 static V div(V a, V b) { return _mm512_div_pd(a, b); }
    XGRAD_V4 static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }  // c − a·b
    XGRAD_V4 static V fmsub(V a, V b, V c) { return _mm512_fmsub_pd(a, b, c); }    // a·b − c
    XGRAD_V4 static M relu_passes(V a) { return _mm512_cmp_pd_mask(a, _mm512_setzero_pd(), _CMP_NLE_UQ); }
    XGRAD_V4 static M nonzero(V a) { return _mm512_cmp_pd_mask(a, _mm512_setzero_pd(), _CMP_NEQ_UQ); }
    XGRAD_V4 static M outside(V a, V lo, V hi) {  // a ≠ 0 and not lo ≤ |a| ≤ hi (NaN included)
        const V m = _mm512_abs_pd(a);
        return _mm512_mask_cmp_pd_mask(nonzero(a), m, lo, _CMP_NGE_UQ) | _mm512_cmp_pd_mask(m, hi, _CMP_NLE_UQ);
    }
};
template <>
struct Lanes<float> {
    using V = __m512;
    using M = __mmask16;
    static constexpr std::size_t n = 16;
    XGRAD_V4 static V load(const float* p) { return _mm512_loadu_ps(p); }
    XGRAD_V4 static void store_kept(float* p, M k, V v) { _mm512_storeu_ps(p, _mm512_maskz_mov_ps(k, v)); }
    XGRAD_V4 static V set1(float v) { return _mm512_set1_ps(v); }
    XGRAD_V4 static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    XGRAD_V4 static V div(V a, V b) { return _mm512_div_ps(a, b); }
    XGRAD_V4 static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
    XGRAD_V4 static V fmsub(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }
    XGRAD_V4 static M relu_passes(V a) { return _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_NLE_UQ); }
    XGRAD_V4 static M nonzero(V a) { return _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_NEQ_UQ); }
    XGRAD_V4 static M outside(V a, V lo, V hi) {
        const V m = _mm512_abs_ps(a);
        return _mm512_mask_cmp_ps_mask(nonzero(a), m, lo, _CMP_NGE_UQ) | _mm512_cmp_ps_mask(m, hi, _CMP_NLE_UQ);
    }
};

// One block of 32 elements (half a mask word) scaled as How says.
template <class T, bool Gated, Scaling How>
XGRAD_V4 void mask_and_scale_block_avx512(const T* x, const T* gate, T* y, std::uint32_t bits, typename Lanes<T>::V sv,
                                          typename Lanes<T>::V rv) {
    using L = Lanes<T>;
    for (std::size_t j = 0; j < 32; j += L::n) {
        const typename L::V v = L::load(x + j);
        typename L::V out;
        if constexpr (How == Scaling::multiply) {
            out = L::mul(v, sv);
        } else if constexpr (How == Scaling::divide) {
            out = L::div(v, sv);
        } else {
            // In a block the caller checked (every x is ±0 or lo ≤ |x| ≤ hi, so q is finite): the
            // residual negated, q − (q·s − x)·r, needs no select — where the residual is 0 this is
            // q − (+0) = q, the sign of a zero quotient included (q + (x − q·s)·r would give +0
            // for x = −0, hence the loops' select).
            const typename L::V q = L::mul(v, rv);
            const typename L::V minus_e = L::fmsub(q, sv, v);  // q·s − x, exact
            out = L::fnmadd(minus_e, rv, q);
        }
        auto keep = static_cast<typename L::M>(bits >> j);
        if constexpr (Gated) keep = static_cast<typename L::M>(keep & L::relu_passes(L::load(gate + j)));
        L::store_kept(y + j, keep, out);
    }
}

// The scaling is a template argument, so the loop over blocks holds no branch on it.
template <class T, bool Gated, Scaling How>
XGRAD_V4 void mask_and_scale_avx512(const T* x, const T* gate, T* y, std::size_t n, const std::uint64_t* words, T s) {
    using L = Lanes<T>;
    const typename L::V sv = L::set1(s), rv = L::set1(T(1) / s);
    // Markstein's range: e must not underflow (lo), and q = x·r must stay finite, far from overflow (hi).
    const typename L::V lo = L::set1(smallest_for_reciprocal<T>()),
                        hi = L::set1(std::numeric_limits<T>::max() / 4 * s);
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const auto bits = static_cast<std::uint32_t>(words[i / 64] >> (i % 64));
        const T* g = Gated ? gate + i : nullptr;
        if constexpr (How == Scaling::reciprocal) {
            // A block with an x that is neither ±0 nor in Markstein's range (tiny, huge, inf, NaN) divides.
            bool outside = false;
            for (std::size_t j = 0; j < 32; j += L::n) outside |= L::outside(L::load(x + i + j), lo, hi) != 0;
            if (outside) {
                mask_and_scale_block_avx512<T, Gated, Scaling::divide>(x + i, g, y + i, bits, sv, rv);
                continue;
            }
        }
        mask_and_scale_block_avx512<T, Gated, How>(x + i, g, y + i, bits, sv, rv);
    }
    if (i < n) {  // the last < 32 elements: the portable loop, from the right bit of the mask
        // The tail divides rather than corrects (it is short, and needs no bound check).
        constexpr Scaling tail_how = How == Scaling::multiply ? Scaling::multiply : Scaling::divide;
        mask_and_scale_block<T, Gated, tail_how>(x + i, Gated ? gate + i : nullptr, y + i, n - i,
                                                 static_cast<std::uint32_t>(words[i / 64] >> (i % 64)), s, T(1) / s);
    }
}

template <class T, bool Gated>
XGRAD_V4 void mask_and_scale_avx512(const T* x, const T* gate, T* y, std::size_t n, const std::uint64_t* words, T s,
                                    Scaling how) {
    if (how == Scaling::multiply) mask_and_scale_avx512<T, Gated, Scaling::multiply>(x, gate, y, n, words, s);
    else if (how == Scaling::divide) mask_and_scale_avx512<T, Gated, Scaling::divide>(x, gate, y, n, words, s);
    else mask_and_scale_avx512<T, Gated, Scaling::reciprocal>(x, gate, y, n, words, s);
}
#endif

/// The gated loop when `gate` is given, else the plain one; AVX-512 intrinsics where the CPU has them.
template <class T>
void mask_and_scale(const T* x, const T* gate, T* y, std::size_t n, const std::uint64_t* words, T s, Scaling how) {
#if XGRAD_X86_INTRINSICS
    if (kernels::avx512_kernels_enabled()) {
        if (gate)
            mask_and_scale_avx512<T, true>(x, gate, y, n, words, s, how);
        else
            mask_and_scale_avx512<T, false>(x, nullptr, y, n, words, s, how);
        return;
    }
#endif
    if (gate)
        gated_mask_and_scale(x, gate, y, n, words, s, how);
    else
        mask_and_scale(x, y, n, words, s, how);
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
    // The constant mode's x / keep_prob, the course's bits, for masks from numpy's generator; masks
    // from a Philox one are not numpy's anyway, so there it is x · (1/keep_prob) as in PyTorch: one
    // multiply a vector, where the correctly rounded quotient costs three FMA-unit operations, a
    // class test, a compare and a blend (in the fused Philox regnet step's profile the scaling
    // pass fell from 13.4% to 6.5%, the generator's blocks from 11.8% to 9.1%).
    bool numpy_arithmetic = true;

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
        Generator& gen = options.generator ? *options.generator : global_generator();
        numpy_arithmetic = !gen.is_philox();
        if (MaskReplay* replay = MaskReplay::active(); replay && replay->replaying()) {
            mask = replay->next(n);
            return;
        }
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
                if (options.reduce_counts) {
                    options.reduce_counts(kept_all, units_all);
                    // Counts over more masks hold at least this one's: anything else is a bug in the
                    // reduction, and would give a scale below 1 or a silent 0 instead of an error.
                    if (kept_all > units_all || units_all < n || kept_all < kept)
                        throw ValueError("dropout (measured): reduce_counts gave kept = " + std::to_string(kept_all) +
                                         " of units = " + std::to_string(units_all) + ", for a mask of " +
                                         std::to_string(kept) + " kept of " + std::to_string(n));
                }
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
                // number as x / keep_prob, at a quarter of the cost. Philox masks multiply always
                // (numpy_arithmetic above). Below 2^-1023, or 2^-127 in float32, the reciprocal
                // overflows (0 · inf would be NaN): divide there.
                const T keep_prob = static_cast<T>(options.keep_prob);
                int exponent = 0;
                const bool exact_reciprocal = std::frexp(keep_prob, &exponent) == T(0.5);
                if (std::isfinite(T(1) / keep_prob) && (exact_reciprocal || !numpy_arithmetic))
                    mask_and_scale(x, open, y, n, mask.words(), T(1) / keep_prob, Scaling::multiply);
                else
                    mask_and_scale(x, open, y, n, mask.words(), keep_prob, division_scaling());
            } else if (options.scale == DropoutScale::per_example) {
                for (std::size_t i = 0; i < n; ++i)
                    y[i] = mask.test(i) && (!open || !(open[i] <= T(0))) ? x[i] * static_cast<T>(scales[example_of(i)])
                                                                          : T(0);
            } else {
                mask_and_scale(x, open, y, n, mask.words(), static_cast<T>(scales[0]), Scaling::multiply);
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
// then the linear layer's gemms. The gate is ReLU's rule on y: every scale is ≥ 1 (1/keep_prob,
// size/kept, units/kept, 1), so where the mask keeps, y ≤ 0 exactly when the linear output z ≤ 0 (and
// y is NaN where z is) — backward reads y, not z, and z is never stored. The same draws, values and
// gradients as the three ops, bit for bit (tests/test_dropout.cpp), with one node, one array and one
// element-wise pass each way instead of three.
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
        throw ValueError(std::string(who) + ": keep_prob = " + format_exact(keep_prob) +
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
