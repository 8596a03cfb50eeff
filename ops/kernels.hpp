#pragma once
// Array-level kernels shared by the op families (internal; .cpp files only). They let a backward
// formula read like its math: `grad_out * result` instead of a loop per dtype.

#include <cmath>
#include <string>

#include "framework/errors.hpp"
#include "framework/xt.hpp"

namespace xgrad::detail {

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

/// A shape of rank ≤ 2 seen as (rows, cols), right-aligned as numpy broadcasts: () → (1, 1),
/// (n,) → (1, n). The fast paths below use it; higher ranks go through xtensor.
struct Matrix2 {
    std::size_t rows, cols;
    explicit Matrix2(const Shape& s)
        : rows(s.size() == 2 ? s[0] : 1), cols(s.empty() ? 1 : s.back()) {}
    /// Strides to read this operand at (r, c) of a broadcast result: 0 along a size-1 axis.
    std::size_t row_stride() const { return rows == 1 ? 0 : cols; }
    std::size_t col_stride() const { return cols == 1 ? 0 : 1; }
};

/// z = f(a, b) element-wise with numpy broadcasting; `op` names the caller in shape errors.
template <class F>
Array zip(const Array& a, const Array& b, F f, const char* op) {
    if (a.dtype() != b.dtype())
        throw DTypeError(std::string(op) + ": " + dtype_name(a.dtype()) + " " + shape_str(a.shape()) + " and " +
                         dtype_name(b.dtype()) + " " + shape_str(b.shape()) + " mixed");
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if (a.shape() == b.shape()) {  // the common case: one flat loop
            Array out = Array::uninitialized(a.shape(), a.dtype());
            const T* pa = a.data<T>();
            const T* pb = b.data<T>();
            T* o = out.data<T>();
            for (std::size_t i = 0, n = a.size(); i < n; ++i) o[i] = static_cast<T>(f(pa[i], pb[i]));
            return out;
        }
        const Shape shape = broadcast_shapes(op, a.shape(), b.shape());
        if (shape.size() <= 2) {  // bias columns, rows and scalars: explicit strides, one pass
            const Matrix2 o(shape), ma(a.shape()), mb(b.shape());
            Array out = Array::uninitialized(shape, a.dtype());
            const T* pa = a.data<T>();
            const T* pb = b.data<T>();
            T* po = out.data<T>();
            const std::size_t ars = ma.row_stride(), acs = ma.col_stride(), brs = mb.row_stride(), bcs = mb.col_stride();
            for (std::size_t r = 0; r < o.rows; ++r) {
                const T* ra = pa + r * ars;
                const T* rb = pb + r * brs;
                T* ro = po + r * o.cols;
                // Separate loops per stride pattern so the compiler can vectorise each.
                if (acs == 1 && bcs == 1)
                    for (std::size_t c = 0; c < o.cols; ++c) ro[c] = static_cast<T>(f(ra[c], rb[c]));
                else if (acs == 1)
                    for (std::size_t c = 0; c < o.cols; ++c) ro[c] = static_cast<T>(f(ra[c], rb[0]));
                else if (bcs == 1)
                    for (std::size_t c = 0; c < o.cols; ++c) ro[c] = static_cast<T>(f(ra[0], rb[c]));
                else
                    for (std::size_t c = 0; c < o.cols; ++c) ro[c] = static_cast<T>(f(ra[0], rb[0]));
            }
            return out;
        }
        auto typed = [&f](T x, T y) -> T { return static_cast<T>(f(x, y)); };
        return evaluate<T>(shape, xt::vectorize(typed)(view<T>(a), view<T>(b)));
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

/// z = f(a, b, c) element-wise, all three of one shape (used by losses and backward formulas).
template <class F>
Array zip3(const Array& a, const Array& b, const Array& c, F f, const char* op) {
    if (a.shape() != b.shape() || a.shape() != c.shape())
        throw ShapeError(std::string(op) + ": shapes " + shape_str(a.shape()) + ", " + shape_str(b.shape()) +
                         " and " + shape_str(c.shape()) + " must be equal");
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized(a.shape(), a.dtype());
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        const T* pc = c.data<T>();
        T* o = out.data<T>();
        for (std::size_t i = 0, n = a.size(); i < n; ++i) o[i] = static_cast<T>(f(pa[i], pb[i], pc[i]));
        return out;
    });
}

inline Array operator+(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x + y; }, "add"); }
inline Array operator-(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x - y; }, "sub"); }
inline Array operator*(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x * y; }, "mul"); }
inline Array operator/(const Array& a, const Array& b) { return zip(a, b, [](auto x, auto y) { return x / y; }, "div"); }
inline Array operator-(const Array& a) { return map(a, [](auto x) { return -x; }); }
inline Array operator*(const Array& a, double c) { return map(a, [c](auto x) { return x * c; }); }

/// C = op(A) · op(B) through BLAS gemm; transposes are gemm flags, never copies.
/// A: (m, k) or (k, m) if transpose_a; B: (k, n) or (n, k) if transpose_b; C: (m, n).
Array gemm(const Array& a, const Array& b, bool transpose_a, bool transpose_b);

/// C += op(A) · op(B) through BLAS gemm with beta = 1 (C must already have the product's shape).
void gemm_accumulate(const Array& a, const Array& b, bool transpose_a, bool transpose_b, Array& c);

/// Sum along `axis` with keepdims (the shape a broadcast back to the input needs).
Array sum_keepdims(const Array& x, std::size_t axis);
/// Max along `axis` with keepdims.
Array max_keepdims(const Array& x, std::size_t axis);
/// Copies x into the (broadcast-compatible) larger shape.
Array broadcast_to(const Array& x, const Shape& shape);
/// Sum of all elements, accumulated in double.
double sum_all(const Array& x);

/// softmax along `axis`, stabilised by subtracting the max (shared by softmax and its losses).
Array softmax_along(const Array& x, std::size_t axis);
/// log softmax along `axis`: x - max - ln Σ e^(x - max).
Array log_softmax_along(const Array& x, std::size_t axis);

/// A number for an op's label: 6 significant digits, no trailing zeros ("0.86", "2", "1e-07").
std::string format_number(double value);

/// A possibly negative axis made absolute; ValueError naming the op if out of range.
std::size_t normalize_axis(int axis, std::size_t ndim, const char* op);

}  // namespace xgrad::detail
