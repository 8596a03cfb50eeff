#include "framework/kernels.hpp"
#include "framework/simd.hpp"

#include <xtensor/xadapt.hpp>
#include <xtensor-blas/xblas.hpp>

#include <algorithm>
#include <array>
#include <limits>

namespace xgrad::kernels {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (std::size_t i = 0; i < n; ++i) {
        // Align from the right, as numpy does; a missing leading axis acts as size 1.
        const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1)
            throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                             " cannot be broadcast together (axis " + std::to_string(i) + ": " +
                             std::to_string(da) + " vs " + std::to_string(db) + ")");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

std::vector<std::size_t> broadcast_strides(const Shape& shape, const Shape& out_shape) {
    const std::size_t lead = out_shape.size() - shape.size();
    std::vector<std::size_t> strides(out_shape.size(), 0);
    std::size_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        strides[lead + i] = shape[i] == 1 ? 0 : stride;
        stride *= shape[i];
    }
    return strides;
}

Array broadcast_to(const Array& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    const Shape fitted = broadcast_shapes("broadcast_to", x.shape(), shape);
    if (fitted != shape)
        throw ShapeError("broadcast_to: cannot broadcast " + shape_str(x.shape()) + " to " + shape_str(shape));
    return detail::dispatch_any(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized(shape, x.dtype());
        const T* p = x.data<T>();
        T* o = out.data<T>();
        const auto strides = broadcast_strides(x.shape(), shape);
        const std::size_t cols = shape.empty() ? 1 : shape.back();
        const bool row = shape.empty() || strides.back() == 1;
        for_each_row(shape, strides, strides, [&](std::size_t from, std::size_t, std::size_t to) {
            if (row)
                std::copy_n(p + from, cols, o + to);
            else
                std::fill_n(o + to, cols, p[from]);
        });
        return out;
    });
}

std::vector<std::ptrdiff_t> contiguous_strides(const Shape& shape) {
    std::vector<std::ptrdiff_t> strides(shape.size());
    std::ptrdiff_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        strides[i] = stride;
        stride *= static_cast<std::ptrdiff_t>(shape[i]);
    }
    return strides;
}

namespace {

/// Visits the view's elements in row-major order: visit(flat index in the view, offset into the
/// strided array). An odometer over all but the last axis; the last axis is the caller's loop.
template <class Visit>
void for_each_strided_row(const Shape& shape, std::size_t offset, const std::vector<std::ptrdiff_t>& strides,
                          Visit visit) {
    const std::size_t total = shape_size(shape);
    if (total == 0) return;
    const std::size_t rank = shape.size();
    if (rank == 0) {
        visit(std::size_t{0}, static_cast<std::ptrdiff_t>(offset), std::size_t{1}, std::ptrdiff_t{0});
        return;
    }
    const std::size_t cols = shape[rank - 1];
    const std::ptrdiff_t step = strides[rank - 1];
    std::vector<std::size_t> index(rank, 0);
    auto position = static_cast<std::ptrdiff_t>(offset);
    for (std::size_t row_start = 0; row_start < total; row_start += cols) {
        visit(row_start, position, cols, step);
        for (std::size_t axis = rank - 1; axis-- > 0;) {
            position += strides[axis];
            if (++index[axis] < shape[axis]) break;
            position -= strides[axis] * static_cast<std::ptrdiff_t>(shape[axis]);
            index[axis] = 0;
        }
    }
}

}  // namespace

Array strided_copy(const Array& x, const Shape& shape, std::size_t offset, const std::vector<std::ptrdiff_t>& strides) {
    return detail::dispatch_any(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized(shape, x.dtype());
        if (out.size() == 0) return out;
        const T* p = x.data<T>();
        T* o = out.data<T>();
        for_each_strided_row(shape, offset, strides, [&](std::size_t to, std::ptrdiff_t from, std::size_t n, std::ptrdiff_t step) {
            if (step == 1)
                std::copy_n(p + from, n, o + to);
            else
                for (std::size_t c = 0; c < n; ++c) o[to + c] = p[from + static_cast<std::ptrdiff_t>(c) * step];
        });
        return out;
    });
}

void strided_add(Array& target, std::size_t offset, const std::vector<std::ptrdiff_t>& strides, const Array& values) {
    if (values.size() == 0) return;
    dispatch(target.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* t = target.data<T>();
        const T* v = values.data<T>();
        for_each_strided_row(values.shape(), offset, strides, [&](std::size_t from, std::ptrdiff_t to, std::size_t n, std::ptrdiff_t step) {
            for (std::size_t c = 0; c < n; ++c) t[to + static_cast<std::ptrdiff_t>(c) * step] += v[from + c];
        });
    });
}

namespace {

// numpy's pairwise summation (its <type>_pairwise_sum, numpy 1.24), so that `sum` along a
// contiguous axis gives numpy's bits. A block of at most 128 elements is summed by eight
// accumulators, r_j over elements j, j + 8, j + 16, …: eight independent chains, one vector register
// (the loop vectorises without reassociating anything), not one chain paced by the adder's latency.
// They are combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), and the last n mod 8
// elements added in order. A longer row is split in two at a multiple of 8 near its middle, so the
// rounding error grows as log n, not n.
template <class T>
[[gnu::always_inline]] inline T pairwise_block(const T* a, std::size_t n) {
    if (n < 8) {
        T s = 0;
        for (std::size_t i = 0; i < n; ++i) s += a[i];
        return s;
    }
    T r[8];
    for (std::size_t j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i + 8 <= n; i += 8)
        for (std::size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    T s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) s += a[i];
    return s;
}

constexpr std::size_t pairwise_block_size = 128;

// Recursive through its own (multiversioned) symbol: every level runs the clone of the CPU's level.
XGRAD_VECTOR_CLONES float pairwise_sum(const float* a, std::size_t n) {
    if (n <= pairwise_block_size) return pairwise_block(a, n);
    const std::size_t half = n / 2 - n / 2 % 8;
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}
XGRAD_VECTOR_CLONES double pairwise_sum(const double* a, std::size_t n) {
    if (n <= pairwise_block_size) return pairwise_block(a, n);
    const std::size_t half = n / 2 - n / 2 % 8;
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

// Σ over the middle axis of (outer, n, inner) with inner > 1: numpy's order, 0 + x_0 + x_1 + … per
// output element (the row-by-row adds vectorise along inner).
template <class T>
void sum_strided(const T* p, std::size_t outer, std::size_t n, std::size_t inner, T* out) {
    for (std::size_t b = 0; b < outer; ++b) {
        const T* src = p + b * n * inner;
        T* dst = out + b * inner;
        std::fill_n(dst, inner, T{0});
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t j = 0; j < inner; ++j) dst[j] += src[k * inner + j];
    }
}

}  // namespace

Array sum_keepdims(const Array& x, std::size_t axis) {
    const AxisBlocks blocks(x.shape(), axis);
    Shape out_shape = x.shape();
    out_shape[axis] = 1;
    return dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized(out_shape, x.dtype());
        const T* p = x.data<T>();
        T* o = out.data<T>();
        if (blocks.inner == 1)  // numpy adds 0 to the pairwise sum: −0 sums to +0 there too
            for (std::size_t r = 0; r < blocks.outer; ++r) o[r] = T{0} + pairwise_sum(p + r * blocks.n, blocks.n);
        else
            sum_strided(p, blocks.outer, blocks.n, blocks.inner, o);
        return out;
    });
}

Array max_keepdims(const Array& x, std::size_t axis) {
    return reduce_axis(x, axis, [](auto acc, auto v) { return std::max(acc, v); },
                       -std::numeric_limits<double>::infinity());
}

Array sum_to_shape(Array grad, const Shape& shape, const char* op) {
    if (grad.shape() == shape) return grad;
    const Shape g = grad.shape();
    auto refuse = [&] {
        return ShapeError(std::string(op) + ": gradient of shape " + shape_str(g) + " cannot be reduced to input shape " +
                          shape_str(shape));
    };
    if (g.size() < shape.size()) throw refuse();
    const std::size_t lead = g.size() - shape.size();
    // Leading axes the input lacks, and axes where it has size 1, are summed one at a time.
    for (std::size_t i = 0; i < g.size(); ++i) {
        const bool summed = i < lead || (shape[i - lead] != g[i] && shape[i - lead] == 1);
        if (!summed && shape[i - lead] != g[i]) throw refuse();
        if (summed) grad = sum_keepdims(grad, i);
    }
    return std::move(grad).reshaped(shape);
}

void add_in_place(Array& target, const Array& addend) {
    if (target.shape() != addend.shape() || target.dtype() != addend.dtype())
        throw ShapeError("add_in_place: " + std::string(dtype_name(target.dtype())) + " " + shape_str(target.shape()) +
                         " += " + dtype_name(addend.dtype()) + " " + shape_str(addend.shape()) +
                         " (a gradient kept from before the value was replaced? call zero_grad)");
    dispatch(target.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* t = target.data<T>();
        const T* a = addend.data<T>();
        for (std::size_t i = 0, n = target.size(); i < n; ++i) t[i] += a[i];
    });
}

bool all_finite(const Array& a) {
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = a.data<T>();
        for (std::size_t i = 0, n = a.size(); i < n; ++i)
            if (!std::isfinite(p[i])) return false;
        return true;
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

/// gemm and gemm_accumulate take matrices (gemm_into takes matrices inside arrays of any rank).
void check_matrices(const char* kernel, const Array& a, const Array& b) {
    if (a.ndim() != 2 || b.ndim() != 2)
        throw ShapeError(std::string(kernel) + ": needs two matrices, got " + shape_str(a.shape()) + " and " +
                         shape_str(b.shape()));
}

/// xtensor-blas needs xtensor containers: a no-copy view of a matrix's buffer. The shape is a
/// std::array, so the adaptor is fixed-rank: with the Array's std::vector shape it allocated its
/// shape, strides and back-strides on the heap, nine mallocs and frees a gemm, 10% of the small
/// regnet step.
template <class T>
auto view(const Array& a) {
    return xt::adapt(const_cast<T*>(a.data<T>()), a.size(), xt::no_ownership(),
                     std::array<std::size_t, 2>{a.shape()[0], a.shape()[1]});
}

}  // namespace

Array gemm(const Array& a, const Array& b, bool transpose_a, bool transpose_b) {
    check_matrices("gemm", a, b);
    check_blas_dimensions(a, b);
    const std::size_t m = transpose_a ? a.shape()[1] : a.shape()[0];
    const std::size_t n = transpose_b ? b.shape()[0] : b.shape()[1];
    const std::size_t k = transpose_a ? a.shape()[0] : a.shape()[1];
    if (m == 0 || n == 0 || k == 0) return Array({m, n}, a.dtype());  // k = 0: zeros
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Array out = Array::uninitialized({m, n}, a.dtype());  // gemm with beta = 0 writes every element
        auto c = view<T>(out);
        xt::blas::gemm(view<T>(a), view<T>(b), c, transpose_a, transpose_b);
        return out;
    });
}

void gemm_accumulate(const Array& a, const Array& b, bool transpose_a, bool transpose_b, Array& c) {
    check_matrices("gemm_accumulate", a, b);
    check_blas_dimensions(a, b);
    if (a.size() == 0 || b.size() == 0) return;  // k = 0: nothing to add
    dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto out = view<T>(c);
        xt::blas::gemm(view<T>(a), view<T>(b), out, transpose_a, transpose_b, T(1), T(1));
    });
}

template <class T>
void gemm_into(const MatrixAt& a, bool transpose_a, const MatrixAt& b, bool transpose_b, T* c_data, std::size_t ldc,
               bool accumulate) {
    check_blas_dimensions(*a.array, *b.array);
    if (a.array->dtype() != dtype_of<T>() || b.array->dtype() != dtype_of<T>())
        throw DTypeError(std::string("gemm_into: operands are ") + dtype_name(a.array->dtype()) + " and " +
                         dtype_name(b.array->dtype()) + ", the output " + dtype_name(dtype_of<T>()));
    const std::size_t m = transpose_a ? a.cols : a.rows, k = transpose_a ? a.rows : a.cols;
    const std::size_t n = transpose_b ? b.rows : b.cols;
    if (ldc == 0) ldc = n;
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: zeros (or nothing to add)
        if (!accumulate)
            for (std::size_t r = 0; r < m; ++r) std::fill_n(c_data + r * ldc, n, T(0));
        return;
    }
    // cblas directly (as declared by xtensor-blas's xflens headers): xtensor-blas's gemm takes
    // packed containers only, and a strided matrix (a time step of a batch-first sequence) is
    // read in place through its leading dimension.
    const auto ta = transpose_a ? CblasTrans : CblasNoTrans, tb = transpose_b ? CblasTrans : CblasNoTrans;
    const auto M = static_cast<CBLAS_INT>(m), N = static_cast<CBLAS_INT>(n), K = static_cast<CBLAS_INT>(k);
    const auto lda = static_cast<CBLAS_INT>(a.leading_dimension()), ldb = static_cast<CBLAS_INT>(b.leading_dimension());
    const T* a_data = a.array->data<T>() + a.offset;
    const T* b_data = b.array->data<T>() + b.offset;
    const T beta = accumulate ? T(1) : T(0);
    if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0F, a_data, lda, b_data, ldb, beta, c_data,
                    static_cast<CBLAS_INT>(ldc));
    else
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, a_data, lda, b_data, ldb, beta, c_data,
                    static_cast<CBLAS_INT>(ldc));
}
template void gemm_into<float>(const MatrixAt&, bool, const MatrixAt&, bool, float*, std::size_t, bool);
template void gemm_into<double>(const MatrixAt&, bool, const MatrixAt&, bool, double*, std::size_t, bool);

void gemm_into(const MatrixAt& a, bool transpose_a, const MatrixAt& b, bool transpose_b, Array& out,
               std::size_t out_offset, bool accumulate, std::size_t out_row_stride) {
    dispatch(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        gemm_into(a, transpose_a, b, transpose_b, out.data<T>() + out_offset, out_row_stride, accumulate);
    });
}

}  // namespace xgrad::kernels
