#include "ops/kernels.hpp"

#include <xtensor-blas/xblas.hpp>

#include <limits>
#include <sstream>

namespace xgrad::detail {

namespace {
/// BLAS takes its sizes and leading dimensions as 32-bit ints: past INT_MAX OpenBLAS prints
/// "parameter number 5 had an illegal value" and leaves garbage. Checked before every call.
void check_blas_dimensions(const Array& a, const Array& b) {
    constexpr std::size_t limit = static_cast<std::size_t>(std::numeric_limits<int>::max());
    for (const Array* x : {&a, &b})
        for (std::size_t d : x->shape())
            if (d > limit)
                throw ShapeError("matmul: " + shape_str(a.shape()) + " x " + shape_str(b.shape()) + ": a dimension of " +
                                 std::to_string(d) + " exceeds BLAS's limit of " + std::to_string(limit));
}
}  // namespace

Array gemm(const Array& a, const Array& b, bool transpose_a, bool transpose_b) {
    check_blas_dimensions(a, b);
    const std::size_t m = transpose_a ? a.shape()[1] : a.shape()[0];
    const std::size_t n = transpose_b ? b.shape()[0] : b.shape()[1];
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if (m == 0 || n == 0) return Array({m, n}, a.dtype());
        if ((transpose_a ? a.shape()[0] : a.shape()[1]) == 0) return Array({m, n}, a.dtype());  // k = 0: zeros
        Array out = Array::uninitialized({m, n}, a.dtype());  // gemm with beta = 0 writes every element
        auto c = view<T>(out);
        xt::blas::gemm(view<T>(a), view<T>(b), c, transpose_a, transpose_b);
        return out;
    });
}

void gemm_accumulate(const Array& a, const Array& b, bool transpose_a, bool transpose_b, Array& c) {
    check_blas_dimensions(a, b);
    if (a.size() == 0 || b.size() == 0) return;  // k = 0: nothing to add
    dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto out = view<T>(c);
        xt::blas::gemm(view<T>(a), view<T>(b), out, transpose_a, transpose_b, T(1), T(1));
    });
}

namespace {

/// Reduces a 2-d array along one axis with `combine`, keeping the axis as size 1. Each output is
/// combined in index order (the same bits as a plain loop); along axis 1 rows are taken eight at a
/// time, so eight independent chains hide the adder's latency.
template <class T, class Combine>
Array reduce_2d(const Array& x, std::size_t axis, Combine combine) {
    const std::size_t rows = x.shape()[0], cols = x.shape()[1];
    Array out = Array::uninitialized(axis == 0 ? Shape{1, cols} : Shape{rows, 1}, x.dtype());
    const T* p = x.data<T>();
    T* o = out.data<T>();
    if (axis == 0) {
        if (rows == 0) return Array(out.shape(), x.dtype());
        for (std::size_t c = 0; c < cols; ++c) o[c] = p[c];
        for (std::size_t r = 1; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) o[c] = combine(o[c], p[r * cols + c]);
        return out;
    }
    if (cols == 0) return Array(out.shape(), x.dtype());
    constexpr std::size_t block = 8;
    std::size_t r = 0;
    for (; r + block <= rows; r += block) {
        T acc[block];
        for (std::size_t k = 0; k < block; ++k) acc[k] = p[(r + k) * cols];
        for (std::size_t c = 1; c < cols; ++c)
            for (std::size_t k = 0; k < block; ++k) acc[k] = combine(acc[k], p[(r + k) * cols + c]);
        for (std::size_t k = 0; k < block; ++k) o[r + k] = acc[k];
    }
    for (; r < rows; ++r) {
        const T* row = p + r * cols;
        T acc = row[0];
        for (std::size_t c = 1; c < cols; ++c) acc = combine(acc, row[c]);
        o[r] = acc;
    }
    return out;
}

}  // namespace

Array sum_keepdims(const Array& x, std::size_t axis) {
    Shape shape = x.shape();
    shape[axis] = 1;
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if (x.ndim() == 2) return reduce_2d<T>(x, axis, [](T a, T b) { return a + b; });
        return evaluate<T>(shape, xt::sum(view<T>(x), {axis}, xt::keep_dims));
    });
}

Array max_keepdims(const Array& x, std::size_t axis) {
    Shape shape = x.shape();
    shape[axis] = 1;
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if (x.ndim() == 2 && x.size() > 0) return reduce_2d<T>(x, axis, [](T a, T b) { return std::max(a, b); });
        return evaluate<T>(shape, xt::amax(view<T>(x), {axis}, xt::keep_dims));
    });
}

Array broadcast_to(const Array& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if (shape.size() <= 2 && x.ndim() <= shape.size()) {
            const Matrix2 o(shape), m(x.shape());
            Array out = Array::uninitialized(shape, x.dtype());
            const T* p = x.data<T>();
            T* q = out.data<T>();
            for (std::size_t r = 0; r < o.rows; ++r)
                for (std::size_t c = 0; c < o.cols; ++c) q[r * o.cols + c] = p[r * m.row_stride() + c * m.col_stride()];
            return out;
        }
        return evaluate<T>(shape, xt::broadcast(view<T>(x), shape));
    });
}

double sum_all(const Array& x) {
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = x.data<T>();
        double s = 0.0;
        for (std::size_t i = 0, n = x.size(); i < n; ++i) s += p[i];
        return s;
    });
}

Array softmax_along(const Array& x, std::size_t axis) {
    Array shifted = zip(x, max_keepdims(x, axis), [](auto v, auto m) { return std::exp(v - m); }, "softmax");
    return shifted / sum_keepdims(shifted, axis);
}

Array log_softmax_along(const Array& x, std::size_t axis) {
    const Array shifted = x - max_keepdims(x, axis);
    const Array log_norm =
        map(sum_keepdims(map(shifted, [](auto v) { return std::exp(v); }), axis), [](auto s) { return std::log(s); });
    return shifted - log_norm;
}

std::string format_number(double value) {
    std::ostringstream os;
    os.precision(6);
    os << value;
    return os.str();
}

std::size_t normalize_axis(int axis, std::size_t ndim, const char* op) {
    const int n = static_cast<int>(ndim);
    if (axis < -n || axis >= n)
        throw ValueError(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for a " +
                         std::to_string(ndim) + "-d tensor (allowed: " + std::to_string(-n) + " to " +
                         std::to_string(n - 1) + ")");
    return static_cast<std::size_t>(axis < 0 ? axis + n : axis);
}

}  // namespace xgrad::detail
