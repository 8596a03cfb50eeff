// Tensor's member sugar (framework/tensor.hpp): each member is the free function of ops/ops.hpp
// with the tensor as its first argument, nothing more. Defined here, in the ops layer, because
// they call ops; the core only declares them.

#include "ops/ops.hpp"

namespace xgrad {

Tensor Tensor::operator[](std::int64_t index) const { return xgrad::select(*this, 0, index); }
Tensor Tensor::reshape(const NewShape& shape) const { return xgrad::reshape(*this, shape); }
Tensor Tensor::flatten(int start_axis, int end_axis) const { return xgrad::flatten(*this, start_axis, end_axis); }
Tensor Tensor::permute(const std::vector<int>& axes) const { return xgrad::permute(*this, axes); }
Tensor Tensor::transpose(int axis0, int axis1) const { return xgrad::transpose(*this, axis0, axis1); }
Tensor Tensor::t() const { return xgrad::transpose(*this); }
Tensor Tensor::squeeze(int axis) const { return xgrad::squeeze(*this, axis); }
Tensor Tensor::unsqueeze(int axis) const { return xgrad::unsqueeze(*this, axis); }
Tensor Tensor::slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step) const {
    return xgrad::slice(*this, axis, start, stop, step);
}
Tensor Tensor::astype(DType dtype) const { return xgrad::astype(*this, dtype); }
Tensor Tensor::sum() const { return xgrad::sum(*this); }
Tensor Tensor::sum(int axis, bool keepdims) const { return xgrad::sum(*this, axis, keepdims); }
Tensor Tensor::mean() const { return xgrad::mean(*this); }
Tensor Tensor::mean(int axis, bool keepdims) const { return xgrad::mean(*this, axis, keepdims); }
Tensor Tensor::max() const { return xgrad::max(*this); }
Tensor Tensor::max(int axis, bool keepdims) const { return xgrad::max(*this, axis, keepdims); }
Tensor Tensor::min() const { return xgrad::min(*this); }
Tensor Tensor::min(int axis, bool keepdims) const { return xgrad::min(*this, axis, keepdims); }
Tensor Tensor::argmax(int axis, bool keepdims) const { return xgrad::argmax(*this, axis, keepdims); }
Tensor Tensor::argmin(int axis, bool keepdims) const { return xgrad::argmin(*this, axis, keepdims); }

}  // namespace xgrad
