// Indexing: slice and select (strided views copied out), index_select and gather (int64 indices),
// one_hot. Every backward sends the gradient back to the positions the forward read — a strided
// add or a scatter-add, so an index used twice gets both gradients.

#include <algorithm>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

/// Python's slice.indices for one axis of size n: the first index, the element count, and the step
/// the view walks by (the slice's own, or 1 when it reads at most one element: a step of ±2^63 then
/// never enters the strides' arithmetic).
struct SliceRange {
    std::int64_t first = 0;
    std::size_t count = 0;
    std::int64_t step = 1;
};

SliceRange python_slice(std::int64_t start, std::int64_t stop, std::int64_t step, std::size_t size) {
    const auto n = static_cast<std::int64_t>(size);
    auto clip = [&](std::int64_t i) {
        if (i < 0) i += n;
        // Clipped to [0, n] going forward, to [-1, n - 1] going backward (-1: before the first).
        return step > 0 ? std::clamp<std::int64_t>(i, 0, n) : std::clamp<std::int64_t>(i, -1, n - 1);
    };
    const std::int64_t first = clip(start), last = clip(stop);
    const std::int64_t span = step > 0 ? last - first : first - last;  // in [-(n + 1), n + 1]
    if (span <= 0) return {first, 0, 1};
    // |step| as unsigned (2^63 for INT64_MIN), and the count as 1 + (span − 1) / |step|, which cannot
    // overflow where (span + |step| − 1) / |step| did for a step near ±2^63.
    const std::uint64_t stride = step > 0 ? static_cast<std::uint64_t>(step) : 0 - static_cast<std::uint64_t>(step);
    const auto count = static_cast<std::size_t>(1 + (static_cast<std::uint64_t>(span) - 1) / stride);
    return {first, count, count > 1 ? step : 1};  // count > 1: |step| < span ≤ n + 1
}

// Y = X[..., first : … : step, ...] along axis (select: one index, the axis dropped);
// dX = zeros with G added back at the positions read (a strided add)
struct SliceOp final : Op {
    std::size_t axis;
    std::int64_t first, step;
    std::size_t count;
    bool drop_axis;  // select
    std::string text;  // "[1:5:2]" for labels
    SliceOp(std::size_t axis, std::int64_t first, std::int64_t step, std::size_t count, bool drop_axis, std::string text)
        : axis(axis), first(first), step(step), count(count), drop_axis(drop_axis), text(std::move(text)) {}
    std::string name() const override { return drop_axis ? "select" : "slice"; }
    std::string label() const override { return name() + "(axis=" + std::to_string(axis) + ", " + text + ")"; }
    InputKind input_kind(std::size_t) const override { return InputKind::any; }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }

    /// The view of x this op reads: shape, offset of its first element, strides.
    void view(const Shape& in, Shape& shape, std::size_t& offset, std::vector<std::ptrdiff_t>& strides) const {
        strides = contiguous_strides(in);
        shape = in;
        offset = count == 0 ? 0 : static_cast<std::size_t>(first * strides[axis]);
        strides[axis] *= step;
        shape[axis] = count;
        if (drop_axis) {
            shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
            strides.erase(strides.begin() + static_cast<std::ptrdiff_t>(axis));
        }
    }
    Array forward(const Inputs& x) override {
        Shape shape;
        std::size_t offset;
        std::vector<std::ptrdiff_t> strides;
        view(x[0]->shape(), shape, offset, strides);
        return strided_copy(*x[0], shape, offset, strides);
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& in = *a.inputs[0];
        Shape shape;
        std::size_t offset;
        std::vector<std::ptrdiff_t> strides;
        view(in.shape(), shape, offset, strides);
        Array grad(in.shape(), in.dtype());
        strided_add(grad, offset, strides, a.grad_out);
        return {std::move(grad)};
    }
};

/// An index checked against an axis of `size` (negative counts from the end), or IndexError
/// naming the op, the index, where it was found and the axis.
std::size_t checked_index(std::int64_t index, std::size_t size, const char* op, std::size_t position,
                          const Shape& where, std::size_t axis) {
    const auto n = static_cast<std::int64_t>(size);
    if (index < -n || index >= n)
        throw IndexError(std::string(op) + ": index " + std::to_string(index) + " (element " + std::to_string(position) +
                         " of the int64 index) is out of range for axis " + std::to_string(axis) + " of size " +
                         std::to_string(size) + " in a tensor of shape " + shape_str(where));
    return static_cast<std::size_t>(index < 0 ? index + n : index);
}

// Y[o, j, i] = X[o, idx[j], i] along axis; dX[o, idx[j], i] += G[o, j, i]
struct IndexSelectOp final : Op {
    int axis;
    explicit IndexSelectOp(int axis) : axis(axis) {}
    std::string name() const override { return "index_select"; }
    std::string label() const override { return "index_select(axis=" + std::to_string(axis) + ")"; }
    InputKind input_kind(std::size_t i) const override { return i == 0 ? InputKind::any : InputKind::integer; }
    bool backward_reads_input(std::size_t i) const override { return i == 1; }
    bool backward_reads_result() const override { return false; }

    std::vector<std::size_t> rows(const Array& x, const Array& indices, std::size_t ax) const {
        if (indices.ndim() != 1)
            throw ShapeError("index_select: indices must be 1-d, got shape " + shape_str(indices.shape()));
        const std::int64_t* p = indices.data<std::int64_t>();
        std::vector<std::size_t> out(indices.size());
        for (std::size_t j = 0; j < out.size(); ++j)
            out[j] = checked_index(p[j], x.shape()[ax], "index_select", j, x.shape(), ax);
        return out;
    }
    Array forward(const Inputs& x) override {
        const Array& in = *x[0];
        const std::size_t ax = normalize_axis(axis, in.ndim(), "index_select");
        const auto picked = rows(in, *x[1], ax);
        Shape shape = in.shape();
        shape[ax] = picked.size();
        Array out = Array::uninitialized(shape, in.dtype());
        const AxisBlocks b(in.shape(), ax);
        detail::dispatch_any(in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* p = in.data<T>();
            T* o = out.data<T>();
            for (std::size_t r = 0; r < b.outer; ++r)
                for (std::size_t j = 0; j < picked.size(); ++j)
                    std::copy_n(p + (r * b.n + picked[j]) * b.inner, b.inner, o + (r * picked.size() + j) * b.inner);
        });
        return out;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& in = *a.inputs[0];
        const std::size_t ax = normalize_axis(axis, in.ndim(), "index_select");
        const auto picked = rows(in, *a.inputs[1], ax);
        Array grad(in.shape(), in.dtype());
        const AxisBlocks b(in.shape(), ax);
        dispatch(in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* g = a.grad_out.data<T>();
            T* d = grad.data<T>();
            for (std::size_t r = 0; r < b.outer; ++r)
                for (std::size_t j = 0; j < picked.size(); ++j) {
                    T* to = d + (r * b.n + picked[j]) * b.inner;
                    const T* from = g + (r * picked.size() + j) * b.inner;
                    for (std::size_t i = 0; i < b.inner; ++i) to[i] += from[i];
                }
        });
        return {std::move(grad), Array()};
    }
};

// Y[p] = X[p with its axis coordinate replaced by index[p]] for every position p of index;
// dX[that position] += G[p]
struct GatherOp final : Op {
    int axis;
    explicit GatherOp(int axis) : axis(axis) {}
    std::string name() const override { return "gather"; }
    std::string label() const override { return "gather(axis=" + std::to_string(axis) + ")"; }
    InputKind input_kind(std::size_t i) const override { return i == 0 ? InputKind::any : InputKind::integer; }
    bool backward_reads_input(std::size_t i) const override { return i == 1; }
    bool backward_reads_result() const override { return false; }

    /// For each element of index, the flat offset into x it reads.
    std::vector<std::size_t> sources(const Array& x, const Array& index) const {
        const std::size_t ax = normalize_axis(axis, x.ndim(), "gather");
        if (index.ndim() != x.ndim())
            throw ShapeError("gather: index of shape " + shape_str(index.shape()) + " must have the rank of x " +
                             shape_str(x.shape()));
        for (std::size_t d = 0; d < x.ndim(); ++d)
            if (d != ax && index.shape()[d] > x.shape()[d])
                throw ShapeError("gather: index of shape " + shape_str(index.shape()) + " is larger than x " +
                                 shape_str(x.shape()) + " along axis " + std::to_string(d));
        const auto x_strides = contiguous_strides(x.shape());
        const std::int64_t* p = index.data<std::int64_t>();
        std::vector<std::size_t> out(index.size());
        std::vector<std::size_t> at(index.ndim(), 0);  // the multi-index of element k of index
        for (std::size_t k = 0; k < out.size(); ++k) {
            std::size_t offset = 0;
            for (std::size_t d = 0; d < at.size(); ++d) {
                const std::size_t coordinate = d == ax ? checked_index(p[k], x.shape()[ax], "gather", k, x.shape(), ax) : at[d];
                offset += coordinate * static_cast<std::size_t>(x_strides[d]);
            }
            out[k] = offset;
            for (std::size_t d = at.size(); d-- > 0;) {
                if (++at[d] < index.shape()[d]) break;
                at[d] = 0;
            }
        }
        return out;
    }
    Array forward(const Inputs& x) override {
        const auto from = sources(*x[0], *x[1]);
        Array out = Array::uninitialized(x[1]->shape(), x[0]->dtype());
        detail::dispatch_any(x[0]->dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* p = x[0]->data<T>();
            T* o = out.data<T>();
            for (std::size_t k = 0; k < from.size(); ++k) o[k] = p[from[k]];
        });
        return out;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& in = *a.inputs[0];
        const auto to = sources(in, *a.inputs[1]);
        Array grad(in.shape(), in.dtype());
        dispatch(in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* g = a.grad_out.data<T>();
            T* d = grad.data<T>();
            for (std::size_t k = 0; k < to.size(); ++k) d[to[k]] += g[k];
        });
        return {std::move(grad), Array()};
    }
};

std::string slice_text(std::int64_t start, std::int64_t stop, std::int64_t step) {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on the one-expression form.
    std::string text = std::to_string(start);
    text += ':';
    text += std::to_string(stop);
    if (step != 1) {
        text += ':';
        text += std::to_string(step);
    }
    return text;
}

}  // namespace

Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step) {
    const std::size_t ax = normalize_axis(axis, x.ndim(), "slice");
    if (step == 0) throw ValueError("slice: step must not be 0 (axis " + std::to_string(axis) + ")");
    const SliceRange r = python_slice(start, stop, step, x.shape()[ax]);
    return apply_op(std::make_unique<SliceOp>(ax, r.first, r.step, r.count, false, slice_text(start, stop, step)), {x});
}

Tensor select(const Tensor& x, int axis, std::int64_t index) {
    const std::size_t ax = normalize_axis(axis, x.ndim(), "select");
    const auto n = static_cast<std::int64_t>(x.shape()[ax]);
    if (index < -n || index >= n)
        throw IndexError("select: index " + std::to_string(index) + " is out of range for axis " + std::to_string(axis) +
                         " of size " + std::to_string(n) + " (shape " + shape_str(x.shape()) + ")");
    const std::int64_t i = index < 0 ? index + n : index;
    return apply_op(std::make_unique<SliceOp>(ax, i, 1, 1, true, std::to_string(index)), {x});
}

Tensor index_select(const Tensor& x, int axis, const Tensor& indices) {
    return apply_op(std::make_unique<IndexSelectOp>(axis), {x, indices});
}

Tensor gather(const Tensor& x, int axis, const Tensor& index) {
    return apply_op(std::make_unique<GatherOp>(axis), {x, index});
}

Tensor one_hot(const Tensor& labels, std::size_t classes, DType dtype) {
    const Array& y = labels.value();
    if (y.dtype() != DType::i64)
        throw DTypeError(std::string("one_hot: labels must be int64, got ") + dtype_name(y.dtype()) + " " +
                         shape_str(y.shape()) + " (convert with astype(labels, DType::i64))");
    if (!is_floating(dtype)) throw DTypeError("one_hot: the result dtype must be float32 or float64");
    Shape shape = y.shape();
    shape.push_back(classes);
    Array out(shape, dtype);
    const std::int64_t* p = y.data<std::int64_t>();
    for (std::size_t k = 0; k < y.size(); ++k) {
        if (p[k] < 0 || static_cast<std::size_t>(p[k]) >= classes)
            throw IndexError("one_hot: label " + std::to_string(p[k]) + " (element " + std::to_string(k) + " of " +
                             shape_str(y.shape()) + ") is outside the " + std::to_string(classes) + " classes [0, " +
                             std::to_string(classes) + ")");
        out.set_flat(k * classes + static_cast<std::size_t>(p[k]), 1.0);
    }
    return constant(std::move(out), "one_hot");
}

}  // namespace xgrad
