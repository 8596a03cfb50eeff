#include "ops/kernels.hpp"

#include <xtensor-blas/xblas.hpp>

namespace xgrad::detail {

Array gemm(const Array& a, const Array& b, bool transpose_a, bool transpose_b) {
    const std::size_t m = transpose_a ? a.shape()[1] : a.shape()[0];
    const std::size_t n = transpose_b ? b.shape()[0] : b.shape()[1];
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out({m, n}, a.dtype());
        if (m == 0 || n == 0) return out;
        auto c = view<T>(out);
        xt::blas::gemm(view<T>(a), view<T>(b), c, transpose_a, transpose_b);
        return out;
    });
}

Array sum_keepdims(const Array& x, std::size_t axis) {
    Shape shape = x.shape();
    shape[axis] = 1;
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return evaluate<T>(shape, xt::sum(view<T>(x), {axis}, xt::keep_dims));
    });
}

Array max_keepdims(const Array& x, std::size_t axis) {
    Shape shape = x.shape();
    shape[axis] = 1;
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return evaluate<T>(shape, xt::amax(view<T>(x), {axis}, xt::keep_dims));
    });
}

Array broadcast_to(const Array& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
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

std::size_t normalize_axis(int axis, std::size_t ndim, const char* op) {
    const int n = static_cast<int>(ndim);
    if (axis < -n || axis >= n)
        throw ValueError(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for a " +
                         std::to_string(ndim) + "-d tensor (allowed: " + std::to_string(-n) + " to " +
                         std::to_string(n - 1) + ")");
    return static_cast<std::size_t>(axis < 0 ? axis + n : axis);
}

}  // namespace xgrad::detail
