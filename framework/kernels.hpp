#pragma once
// The kernel layer: array math that ops are written on, one implementation of each thing — one
// broadcasting loop (zip), one reducer (reduce_axis), one accumulation loop (in double), gemm.
// N-d throughout, with no rank-specific copies to test twice. It does not include xtensor, so it is
// installed with the public headers: an op written out of tree (docs/adding-an-op.md) uses it too.
//
// Each kernel materialises a new Array (or writes into one it was given); none returns a view.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/array.hpp"
#include "framework/errors.hpp"

namespace xgrad::kernels {

using detail::dispatch;

/// numpy broadcasting of two shapes; ShapeError naming the op and both shapes if they do not fit.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// Row-major element strides of `shape` as read into `out_shape` (right-aligned, numpy style):
/// 0 along an axis where `shape` has size 1 or is missing, so one offset walks both.
std::vector<std::size_t> broadcast_strides(const Shape& shape, const Shape& out_shape);

/// Visits the rows (last axis) of an array of `shape`, giving each operand's offset of the row's
/// first element: visit(row_offset_a, row_offset_b, row_offset_out). One loop shape for every
/// broadcast, whatever the rank; the per-element loop stays in the caller, where it vectorises.
template <class Visit>
void for_each_row(const Shape& shape, const std::vector<std::size_t>& strides_a,
                  const std::vector<std::size_t>& strides_b, Visit visit) {
    const std::size_t rank = shape.size();
    if (rank == 0) {
        visit(std::size_t{0}, std::size_t{0}, std::size_t{0});
        return;
    }
    const std::size_t cols = shape[rank - 1];
    std::size_t rows = 1;
    for (std::size_t i = 0; i + 1 < rank; ++i) rows *= shape[i];
    if (rows == 0 || cols == 0) return;
    std::vector<std::size_t> index(rank, 0);
    std::size_t offset_a = 0, offset_b = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        visit(offset_a, offset_b, r * cols);
        // Odometer over the leading axes: advance the last of them, carrying leftwards.
        for (std::size_t axis = rank - 1; axis-- > 0;) {
            offset_a += strides_a[axis];
            offset_b += strides_b[axis];
            if (++index[axis] < shape[axis]) break;
            offset_a -= strides_a[axis] * shape[axis];
            offset_b -= strides_b[axis] * shape[axis];
            index[axis] = 0;
        }
    }
}

/// y[i] = f(x[i]) for a generic f (called with float or double).
template <class F>
Array map(const Array& x, F f) {
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized(x.shape(), x.dtype());
        const T* in = x.data<T>();
        T* o = out.data<T>();
        for (std::size_t i = 0, n = x.size(); i < n; ++i) o[i] = static_cast<T>(f(in[i]));
        return out;
    });
}

/// z = f(a, b) element-wise with numpy broadcasting; `op` names the caller in errors.
template <class F>
Array zip(const Array& a, const Array& b, F f, const char* op) {
    if (a.dtype() != b.dtype())
        throw DTypeError(std::string(op) + ": " + dtype_name(a.dtype()) + " " + shape_str(a.shape()) + " and " +
                         dtype_name(b.dtype()) + " " + shape_str(b.shape()) + " mixed");
    const bool same = a.shape() == b.shape();
    const Shape shape = same ? a.shape() : broadcast_shapes(op, a.shape(), b.shape());
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized(shape, a.dtype());
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* po = out.data<T>();
        if (same) {  // the common case: one flat loop
            for (std::size_t i = 0, n = a.size(); i < n; ++i) po[i] = static_cast<T>(f(pa[i], pb[i]));
            return out;
        }
        const auto sa = broadcast_strides(a.shape(), shape), sb = broadcast_strides(b.shape(), shape);
        const std::size_t cols = shape.empty() ? 1 : shape.back();
        const bool a_row = shape.empty() || sa.back() == 1, b_row = shape.empty() || sb.back() == 1;
        for_each_row(shape, sa, sb, [&](std::size_t oa, std::size_t ob, std::size_t oo) {
            const T* ra = pa + oa;
            const T* rb = pb + ob;
            T* ro = po + oo;
            // One loop per stride pattern, so the compiler vectorises each.
            if (a_row && b_row)
                for (std::size_t c = 0; c < cols; ++c) ro[c] = static_cast<T>(f(ra[c], rb[c]));
            else if (a_row)
                for (std::size_t c = 0; c < cols; ++c) ro[c] = static_cast<T>(f(ra[c], rb[0]));
            else if (b_row)
                for (std::size_t c = 0; c < cols; ++c) ro[c] = static_cast<T>(f(ra[0], rb[c]));
            else
                for (std::size_t c = 0; c < cols; ++c) ro[c] = static_cast<T>(f(ra[0], rb[0]));
        });
        return out;
    });
}

/// z = f(a, b) into a's own buffer when a is an rvalue of the result's shape — a backward formula
/// writes `zip(std::move(a.grad_out), x, ...)` and the upstream gradient, which the engine discards
/// anyway, becomes the result: no allocation, one array less streamed through the cache.
template <class F>
Array zip(Array&& a, const Array& b, F f, const char* op) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return zip(static_cast<const Array&>(a), b, f, op);
    dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* pa = a.data<T>();
        const T* pb = b.data<T>();
        for (std::size_t i = 0, n = a.size(); i < n; ++i) pa[i] = static_cast<T>(f(pa[i], pb[i]));
    });
    return std::move(a);
}

/// e^x in double, branch-free so that a loop calling it vectorises (std::exp is a library call per
/// element): x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite, ln2 split in two so n·ln2_hi is exact), e^r
/// by its Taylor series to r¹³ (the next term is below 5·10⁻¹⁸ relative), times 2ⁿ built in the
/// exponent bits. Within about 1 ulp of std::exp: what the float32 sigmoid and tanh are computed
/// through, then rounded to float. x is clamped to [-708, 709] (so 2ⁿ stays a normal double), which
/// rounds to float's 0 and inf at the ends; NaN passes both comparisons and stays NaN.
[[gnu::always_inline]] inline double exp_in_double(double x) {
    x = std::max(std::min(x, 709.0), -708.0);  // NaN fails both comparisons and passes through
    constexpr double log2e = 1.4426950408889634, ln2_hi = 6.93147180369123816490e-01,
                     ln2_lo = 1.90821492927058770002e-10;
    constexpr double shifter = 6755399441055744.0;  // 1.5·2⁵²: adding it rounds to an integer in the low bits
    const double k = x * log2e + shifter;
    const double n = k - shifter;
    const double r = (x - n * ln2_hi) - n * ln2_lo;
    // Horner, from 1/13! down to 1/0!.
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const std::int64_t exponent = std::bit_cast<std::int64_t>(k) - std::bit_cast<std::int64_t>(shifter) + 1023;
    return p * std::bit_cast<double>(exponent << 52);
}

/// σ(x) = 1/(1+e^-x), written as the course's sigmoid (the sigmoid op, lstm_cell and lstm_layer
/// share it, so the fused ops give the composed ops' bits). float32 takes e^-x from exp_in_double,
/// rounded: glibc's correctly rounded expf in all but rare ties, and vectorisable.
inline double sigmoid_value(double x) { return 1.0 / (1.0 + std::exp(-x)); }
[[gnu::always_inline]] inline float sigmoid_value(float x) {
    return 1.0F / (1.0F + static_cast<float>(exp_in_double(-static_cast<double>(x))));
}

/// tanh: std::tanh in float64; in float32 computed in double and rounded once, branch-free. glibc's
/// tanhf goes through expm1f at ~17 ns a call, which made tanh most of an LSTM step's element-wise
/// time. For |x| ≥ 0.0625, tanh|x| = (1 − e^(−2|x|)) / (1 + e^(−2|x|)), whose cancellation costs
/// ~3 bits of double's 53; below, the odd series to x⁹ (next term < 2⁻⁴⁰ relative); both are
/// computed and one is kept, so a loop of them vectorises. Equal to tanh in double, rounded, on
/// every 251st float bit pattern (tests/test_ops.cpp). Signs, ±0, ±inf (→ ±1) and NaN as std::tanh.
inline double tanh_value(double x) { return std::tanh(x); }
[[gnu::always_inline]] inline float tanh_value(float x) {
    const double a = std::fabs(static_cast<double>(x));
    const double a2 = a * a;
    const double series = a * (1 + a2 * (-1.0 / 3 + a2 * (2.0 / 15 + a2 * (-17.0 / 315 + a2 * (62.0 / 2835)))));
    const double e = exp_in_double(-2 * a);  // ~0 for large a: t = 1
    const double t = a < 0.0625 ? series : (1 - e) / (1 + e);
    return std::copysign(static_cast<float>(t), x);  // NaN stays NaN (it fails a < 0.0625; e is NaN)
}

inline Array operator+(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x + y; }, "add"); }
inline Array operator-(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x - y; }, "sub"); }
inline Array operator*(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x * y; }, "mul"); }
inline Array operator/(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x / y; }, "div"); }
inline Array operator-(const Array& a) { return map(a, [](auto x) { return -x; }); }
inline Array operator*(const Array& a, double c) { return map(a, [c](auto x) { return x * c; }); }

/// x copied into a broadcast-compatible larger shape (any dtype).
Array broadcast_to(const Array& x, const Shape& shape);

/// An array seen as (outer, n, inner) around `axis`: the row-major layout every op that walks one
/// axis (joins, cuts, index_select, reductions) addresses whole blocks with.
struct AxisBlocks {
    std::size_t outer = 1, n = 0, inner = 1;
    AxisBlocks(const Shape& shape, std::size_t axis) : n(shape[axis]) {
        for (std::size_t i = 0; i < axis; ++i) outer *= shape[i];
        for (std::size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
    }
};

/// Row-major element strides of a contiguous array of `shape`.
std::vector<std::ptrdiff_t> contiguous_strides(const Shape& shape);

/// A strided view's elements copied out, in row-major order of `shape`: element (i0, ..., ik)
/// is x's flat element offset + Σ i_j · strides[j] (strides may be negative or 0). Transposes,
/// permutations, slices and broadcasts are all this one loop (any dtype).
Array strided_copy(const Array& x, const Shape& shape, std::size_t offset, const std::vector<std::ptrdiff_t>& strides);
/// The adjoint of strided_copy: adds `values` (of the view's shape) into `target` at the view's
/// positions — how slices and permutations send gradients back.
void strided_add(Array& target, std::size_t offset, const std::vector<std::ptrdiff_t>& strides, const Array& values);

/// The one reducer: combines x along `axis` (keeping it, with size 1), each output in index order —
/// the same bits as a plain loop. `combine(acc, v)` is called with float or double. An empty axis
/// gives `empty_value`.
template <class Combine>
Array reduce_axis(const Array& x, std::size_t axis, Combine combine, double empty_value);

/// Folds each of `rows` contiguous rows of n ≥ 1 elements (row r at p + r·n) left to right with
/// combine, into out[r]. Rows go eight at a time (eight independent chains hide the adder's
/// latency), the last ones four, two and one at a time; each row's order is the same either way, so
/// are the bits. (max along an axis, conv2d's bias gradient; sum_keepdims adds in numpy's order.)
template <class T, class Combine>
void reduce_rows(const T* p, std::size_t rows, std::size_t n, Combine combine, T* out) {
    auto block_of = [&]<std::size_t block>(std::size_t r) {
        T acc[block];
        for (std::size_t k = 0; k < block; ++k) acc[k] = p[(r + k) * n];
        for (std::size_t c = 1; c < n; ++c)
            for (std::size_t k = 0; k < block; ++k) acc[k] = combine(acc[k], p[(r + k) * n + c]);
        for (std::size_t k = 0; k < block; ++k) out[r + k] = acc[k];
    };
    std::size_t r = 0;
    for (; r + 8 <= rows; r += 8) block_of.template operator()<8>(r);
    if (rows - r >= 4) block_of.template operator()<4>(r), r += 4;
    if (rows - r >= 2) block_of.template operator()<2>(r), r += 2;
    if (rows - r >= 1) block_of.template operator()<1>(r);
}

/// Σ and max along `axis`, keeping it (the shape a broadcast back to x needs). Σ adds in numpy's
/// order, so it gives numpy's bits: pairwise along the last axis, row by row along any other.
Array sum_keepdims(const Array& x, std::size_t axis);
Array max_keepdims(const Array& x, std::size_t axis);
/// Sums a gradient of broadcast shape back down to an input's shape (undoes broadcasting).
Array sum_to_shape(Array grad, const Shape& shape, const char* op);

/// The one accumulation loop over all elements, in double: Σ f(x_i).
template <class F>
double accumulate(const Array& x, F f) {
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = x.data<T>();
        double s = 0.0;
        for (std::size_t i = 0, n = x.size(); i < n; ++i) s += f(static_cast<double>(p[i]));
        return s;
    });
}
inline double sum_all(const Array& x) { return accumulate(x, [](double v) { return v; }); }
inline double l2_norm(const Array& x) { return std::sqrt(accumulate(x, [](double v) { return v * v; })); }

/// Whether the hand-written AVX-512 kernels run (Philox blocks and Bernoulli bit packing in
/// framework/random.cpp, dropout's mask-and-scale pass in ops/dropout.cpp): the CPU has x86-64-v4
/// (AVX-512 F/BW/DQ/VL) and use_portable_kernels has not switched them off. Elsewhere the portable
/// loops run; both give the same bits.
bool avx512_kernels_enabled();
/// Tests only: true makes those kernels give way to the portable loops, so both are checked on one
/// machine. Not meant to be switched while other threads run them.
void use_portable_kernels(bool portable);

/// target += addend, element-wise; ShapeError unless both have the same shape and dtype.
void add_in_place(Array& target, const Array& addend);
/// Whether every element is finite.
bool all_finite(const Array& a);

/// softmax and log softmax along `axis`, stabilised by subtracting the max.
Array softmax_along(const Array& x, std::size_t axis);
Array log_softmax_along(const Array& x, std::size_t axis);

/// C = op(A) · op(B) through BLAS gemm; transposes are gemm flags, never copies.
/// A: (m, k) or (k, m) if transpose_a; B: (k, n) or (n, k) if transpose_b; C: (m, n).
Array gemm(const Array& a, const Array& b, bool transpose_a, bool transpose_b);
/// C += op(A) · op(B) through BLAS gemm with beta = 1 (C must already have the product's shape).
void gemm_accumulate(const Array& a, const Array& b, bool transpose_a, bool transpose_b, Array& c);

/// One matrix inside a larger array: `rows` × `cols`, row-major from element `offset`, its rows
/// `row_stride` elements apart (0: packed, = cols). A strided matrix is one time step's rows of a
/// batch-first sequence, which gemm reads in place through its leading dimension.
struct MatrixAt {
    const Array* array;
    std::size_t offset, rows, cols;
    std::size_t row_stride = 0;
    std::size_t leading_dimension() const { return row_stride != 0 ? row_stride : cols; }
};
/// C = op(A) · op(B) (or C += when accumulate) for matrices inside larger arrays, by one gemm call
/// on pointers into them — what batched matmul loops over, without copying any matrix out. C
/// starts at `out_offset` of `out`, its rows `out_row_stride` apart (0: packed).
void gemm_into(const MatrixAt& a, bool transpose_a, const MatrixAt& b, bool transpose_b, Array& out,
               std::size_t out_offset, bool accumulate, std::size_t out_row_stride = 0);
/// The same into raw memory: C's first element at `out`, its rows `ldc` elements apart (0: packed),
/// of A's dtype (float or double). For loops whose threads write disjoint blocks of one Array: the
/// Array overload's out.data() counts as a write to the Array itself (its version), which threads
/// must not do at once.
template <class T>
void gemm_into(const MatrixAt& a, bool transpose_a, const MatrixAt& b, bool transpose_b, T* out, std::size_t ldc,
               bool accumulate);

// ---- template definitions --------------------------------------------------------------------

template <class Combine>
Array reduce_axis(const Array& x, std::size_t axis, Combine combine, double empty_value) {
    // x seen as (outer, n, inner): reduce the middle axis.
    const Shape& s = x.shape();
    // Plain variables, not a structured binding: the lambda below captures them, which clang
    // before 16 refuses for bindings (the fuzz targets build with clang).
    const AxisBlocks blocks(s, axis);
    const std::size_t outer = blocks.outer, n = blocks.n, inner = blocks.inner;
    Shape out_shape = s;
    out_shape[axis] = 1;
    if (n == 0) return Array::full(out_shape, empty_value, x.dtype());
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized(out_shape, x.dtype());
        const T* p = x.data<T>();
        T* o = out.data<T>();
        if (inner == 1) {
            reduce_rows(p, outer, n, combine, o);
            return out;
        }
        for (std::size_t b = 0; b < outer; ++b) {
            const T* src = p + b * n * inner;
            T* dst = o + b * inner;
            std::copy_n(src, inner, dst);
            for (std::size_t k = 1; k < n; ++k)
                for (std::size_t j = 0; j < inner; ++j) dst[j] = combine(dst[j], src[k * inner + j]);
        }
        return out;
    });
}

}  // namespace xgrad::kernels
