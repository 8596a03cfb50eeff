// Shape ops: reshape, permute and transpose, flatten, squeeze/unsqueeze, broadcast_to, and the
// joins: concat, stack, split. Every one is a copy through the kernel layer's strided_copy (or a
// reshape of the buffer), and every backward is the adjoint copy: permute back, slice back, sum
// back. They work on any dtype; an int64 tensor never requires grad, so its backward never runs.

#include <algorithm>
#include <numeric>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

std::string axes_str(const std::vector<int>& axes) {
    std::string s = "(";
    for (std::size_t i = 0; i < axes.size(); ++i) s += (i ? ", " : "") + std::to_string(axes[i]);
    return s + ")";
}

/// The shape a reshape to `spec` gives an array of `in` (one -1 inferred); ShapeError naming both.
Shape resolve_shape(const NewShape& spec, const Shape& in) {
    const std::size_t total = shape_size(in);
    Shape out;
    std::size_t known = 1;
    int inferred = -1;
    auto refuse = [&](const std::string& why) {
        std::string wanted = "(";
        for (std::size_t i = 0; i < spec.sizes.size(); ++i) wanted += (i ? ", " : "") + std::to_string(spec.sizes[i]);
        return ShapeError("reshape: cannot reshape " + shape_str(in) + " (" + std::to_string(total) + " elements) to " +
                          wanted + (spec.sizes.size() == 1 ? ",)" : ")") + ": " + why);
    };
    for (std::size_t i = 0; i < spec.sizes.size(); ++i) {
        const std::int64_t d = spec.sizes[i];
        if (d == -1) {
            if (inferred >= 0) throw refuse("only one size may be -1");
            inferred = static_cast<int>(i);
            out.push_back(0);
        } else if (d < 0) {
            throw refuse("sizes must be ≥ 0 (or -1 for one inferred size)");
        } else {
            out.push_back(static_cast<std::size_t>(d));
            known = shape_size({known, static_cast<std::size_t>(d)});
        }
    }
    if (inferred >= 0) {
        if (known == 0 || total % known != 0) throw refuse("the other sizes do not divide the element count");
        out[static_cast<std::size_t>(inferred)] = total / known;
    } else if (known != total) {
        throw refuse("the element counts differ");
    }
    return out;
}

// Y = X with a new shape; dX = G with X's shape
struct ReshapeOp final : Op {
    Shape shape;
    explicit ReshapeOp(Shape shape) : shape(std::move(shape)) {}
    std::string name() const override { return "reshape"; }
    std::string label() const override { return "reshape" + shape_str(shape); }
    InputKind input_kind(std::size_t) const override { return InputKind::any; }
    bool backward_reads_input(std::size_t) const override { return false; }  // only its shape, which cannot change
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override { return x[0]->reshaped(shape); }
    Grads backward(const BackwardArgs& a) const override {
        return {std::move(a.grad_out).reshaped(a.inputs[0]->shape())};
    }
};

/// x's elements with its axes reordered: result axis i is x's axis axes[i].
Array permuted(const Array& x, const std::vector<std::size_t>& axes) {
    const auto strides = contiguous_strides(x.shape());
    Shape shape(axes.size());
    std::vector<std::ptrdiff_t> view_strides(axes.size());
    for (std::size_t i = 0; i < axes.size(); ++i) {
        shape[i] = x.shape()[axes[i]];
        view_strides[i] = strides[axes[i]];
    }
    return strided_copy(x, shape, 0, view_strides);
}

// Y = X with axes reordered by π; dX = G with axes reordered by π⁻¹
struct PermuteOp final : Op {
    std::vector<int> axes;
    std::string op_name;
    PermuteOp(std::vector<int> axes, std::string op_name) : axes(std::move(axes)), op_name(std::move(op_name)) {}
    std::string name() const override { return op_name; }
    std::string label() const override { return op_name + axes_str(axes); }
    InputKind input_kind(std::size_t) const override { return InputKind::any; }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }

    std::vector<std::size_t> absolute(std::size_t ndim) const {
        if (axes.size() != ndim)
            throw ValueError(op_name + ": axes " + axes_str(axes) + " do not match a " + std::to_string(ndim) +
                             "-d tensor (need one entry per axis)");
        std::vector<std::size_t> abs(ndim);
        std::vector<bool> seen(ndim, false);
        for (std::size_t i = 0; i < ndim; ++i) {
            abs[i] = normalize_axis(axes[i], ndim, op_name.c_str());
            if (seen[abs[i]]) throw ValueError(op_name + ": axes " + axes_str(axes) + " repeat an axis");
            seen[abs[i]] = true;
        }
        return abs;
    }
    Array forward(const Inputs& x) override { return permuted(*x[0], absolute(x[0]->ndim())); }
    Grads backward(const BackwardArgs& a) const override {
        const auto forward_axes = absolute(a.grad_out.ndim());
        std::vector<std::size_t> inverse(forward_axes.size());
        for (std::size_t i = 0; i < forward_axes.size(); ++i) inverse[forward_axes[i]] = i;
        return {permuted(a.grad_out, inverse)};
    }
};

// Y = X broadcast to a shape; dX = G summed over the broadcast axes (sum_to_shape)
struct BroadcastToOp final : Op {
    Shape shape;
    explicit BroadcastToOp(Shape shape) : shape(std::move(shape)) {}
    std::string name() const override { return "broadcast_to"; }
    std::string label() const override { return "broadcast_to" + shape_str(shape); }
    InputKind input_kind(std::size_t) const override { return InputKind::any; }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override { return kernels::broadcast_to(*x[0], shape); }
    Grads backward(const BackwardArgs& a) const override {
        return {sum_to_shape(std::move(a.grad_out), a.inputs[0]->shape(), "broadcast_to")};
    }
};

/// The part [begin, begin + count) of x along axis, as a strided view's copy.
Array cut(const Array& x, std::size_t axis, std::size_t begin, std::size_t count) {
    Shape shape = x.shape();
    shape[axis] = count;
    const auto strides = contiguous_strides(x.shape());
    return strided_copy(x, shape, begin * static_cast<std::size_t>(strides[axis]), strides);
}

// Y = [X₀ X₁ …] along axis; dXᵢ = the part of G where Xᵢ went
struct ConcatOp final : Op {
    int axis;
    explicit ConcatOp(int axis) : axis(axis) {}
    std::string name() const override { return "concat"; }
    std::string label() const override { return "concat(axis=" + std::to_string(axis) + ")"; }
    InputKind input_kind(std::size_t) const override { return InputKind::any; }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }

    Array forward(const Inputs& x) override {
        const Array& first = *x[0];
        if (first.ndim() == 0) throw ShapeError("concat: cannot join 0-d tensors (use stack)");
        const std::size_t ax = normalize_axis(axis, first.ndim(), "concat");
        Shape shape = first.shape();
        shape[ax] = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            Shape other = x[i]->shape();
            bool fits = other.size() == shape.size();
            if (fits) {
                shape[ax] += other[ax];
                other[ax] = shape[ax];
                fits = other == shape;
            }
            if (!fits)
                throw ShapeError("concat: tensor " + std::to_string(i) + " has shape " + shape_str(x[i]->shape()) +
                                 " but tensor 0 has " + shape_str(first.shape()) + "; all sizes but axis " +
                                 std::to_string(axis) + "'s must match");
        }
        Array out = Array::uninitialized(shape, first.dtype());
        const AxisBlocks out_blocks(shape, ax);
        detail::dispatch_any(first.dtype(), [&](auto tag) {
            using T = decltype(tag);
            T* o = out.data<T>();
            std::size_t column = 0;  // where this input's block starts in each output row
            for (const Array* in : x) {
                const AxisBlocks b(in->shape(), ax);
                const std::size_t block = b.n * b.inner;
                if (block == 0) continue;
                const T* p = in->data<T>();
                for (std::size_t r = 0; r < b.outer; ++r)
                    std::copy_n(p + r * block, block, o + r * out_blocks.n * out_blocks.inner + column);
                column += block;
            }
        });
        return out;
    }
    Grads backward(const BackwardArgs& a) const override {
        const std::size_t ax = normalize_axis(axis, a.grad_out.ndim(), "concat");
        Grads grads{};
        std::size_t begin = 0;
        for (std::size_t i = 0; i < a.inputs.size(); ++i) {
            const std::size_t count = a.inputs[i]->shape()[ax];
            grads.push_back(a.wants(i) ? cut(a.grad_out, ax, begin, count) : Array());
            begin += count;
        }
        return grads;
    }
};

std::string sizes_str(const std::vector<std::size_t>& sizes) {
    std::string s = "(";
    for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
    return s + ")";
}

}  // namespace

Tensor reshape(const Tensor& x, const NewShape& shape) {
    return apply_op(std::make_unique<ReshapeOp>(resolve_shape(shape, x.shape())), {x});
}

Tensor permute(const Tensor& x, const std::vector<int>& axes) {
    return apply_op(std::make_unique<PermuteOp>(axes, "permute"), {x});
}

Tensor transpose(const Tensor& x) {
    if (x.ndim() != 2) throw ShapeError("transpose: needs a 2-d tensor, got shape " + shape_str(x.shape()) +
                                        " (use transpose(x, axis0, axis1) or permute for other ranks)");
    return apply_op(std::make_unique<PermuteOp>(std::vector<int>{1, 0}, "transpose"), {x});
}

Tensor transpose(const Tensor& x, int axis0, int axis1) {
    const std::size_t n = x.ndim();
    const std::size_t a0 = normalize_axis(axis0, n, "transpose"), a1 = normalize_axis(axis1, n, "transpose");
    std::vector<int> axes(n);
    std::iota(axes.begin(), axes.end(), 0);
    std::swap(axes[a0], axes[a1]);
    return apply_op(std::make_unique<PermuteOp>(std::move(axes), "transpose"), {x});
}

Tensor flatten(const Tensor& x, int start_axis, int end_axis) {
    const Shape& s = x.shape();
    if (s.empty()) return reshape(x, {1});  // as PyTorch: a 0-d tensor flattens to one element
    const std::size_t start = normalize_axis(start_axis, s.size(), "flatten");
    const std::size_t end = normalize_axis(end_axis, s.size(), "flatten");
    if (start > end)
        throw ValueError("flatten: start_axis " + std::to_string(start_axis) + " comes after end_axis " +
                         std::to_string(end_axis) + " for shape " + shape_str(s));
    Shape out(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(start));
    std::size_t merged = 1;
    for (std::size_t i = start; i <= end; ++i) merged *= s[i];
    out.push_back(merged);
    out.insert(out.end(), s.begin() + static_cast<std::ptrdiff_t>(end) + 1, s.end());
    return reshape(x, out);
}

Tensor squeeze(const Tensor& x, int axis) {
    const std::size_t ax = normalize_axis(axis, x.ndim(), "squeeze");
    if (x.shape()[ax] != 1)
        throw ShapeError("squeeze: axis " + std::to_string(axis) + " of shape " + shape_str(x.shape()) +
                         " has size " + std::to_string(x.shape()[ax]) + ", not 1");
    Shape out = x.shape();
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(ax));
    return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, int axis) {
    // The new axis may go anywhere from 0 to ndim: normalised against the result's rank.
    const std::size_t ax = normalize_axis(axis, x.ndim() + 1, "unsqueeze");
    Shape out = x.shape();
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(ax), 1);
    return reshape(x, out);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
    return apply_op(std::make_unique<BroadcastToOp>(shape), {x});
}

Tensor concat(const std::vector<Tensor>& tensors, int axis) {
    if (tensors.empty()) throw ValueError("concat: needs at least one tensor");
    if (tensors.size() == 1) return tensors[0];
    return apply_op(std::make_unique<ConcatOp>(axis), tensors);
}

Tensor stack(const std::vector<Tensor>& tensors, int axis) {
    if (tensors.empty()) throw ValueError("stack: needs at least one tensor");
    std::vector<Tensor> expanded;
    expanded.reserve(tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (tensors[i].shape() != tensors[0].shape())
            throw ShapeError("stack: tensor " + std::to_string(i) + " has shape " + shape_str(tensors[i].shape()) +
                             " but tensor 0 has " + shape_str(tensors[0].shape()) + " (stack needs one shape)");
        expanded.push_back(unsqueeze(tensors[i], axis));
    }
    return concat(expanded, axis);  // a negative axis counts from the end of the stacked rank, in both
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::size_t>& sizes, int axis) {
    const std::size_t ax = normalize_axis(axis, x.ndim(), "split");
    const std::size_t total = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0});
    if (total != x.shape()[ax])
        throw ShapeError("split: sizes " + sizes_str(sizes) + " add up to " + std::to_string(total) + " but axis " +
                         std::to_string(axis) + " of shape " + shape_str(x.shape()) + " has " +
                         std::to_string(x.shape()[ax]));
    std::vector<Tensor> parts;
    parts.reserve(sizes.size());
    std::int64_t begin = 0;
    for (std::size_t size : sizes) {
        const auto end = begin + static_cast<std::int64_t>(size);
        parts.push_back(slice(x, static_cast<int>(ax), begin, end));
        begin = end;
    }
    return parts;
}

}  // namespace xgrad
