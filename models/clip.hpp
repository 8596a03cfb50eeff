#pragma once
// Gradient clipping between backward and an optimizer's step, as PyTorch's
// torch.nn.utils.clip_grad_norm_ (norm_type 2) and clip_grad_value_. The gradients are edited in
// place through Tensor::mutable_grad; parameters without a gradient are skipped.

#include <vector>

#include "framework/tensor.hpp"

namespace xgrad {

/// Returns the L2 norm of all the gradients together (as if concatenated into one vector), measured
/// before clipping, and scales every gradient by max_norm / (total + 1e-6) when that is below 1
/// (that is, when the total exceeds max_norm). A non-finite total (a gradient holding NaN or Inf,
/// or an overflowing sum) raises ValueError naming the first offending parameter, and changes
/// nothing: PyTorch's error_if_nonfinite=True. ValueError if max_norm is negative or NaN.
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);

/// Clamps every gradient element into [-clip_value, clip_value]. ValueError if clip_value is
/// negative or NaN.
void clip_grad_value(const std::vector<Tensor>& parameters, double clip_value);

}  // namespace xgrad
