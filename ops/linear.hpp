#pragma once
// The linear layer's forward and backward as functions, for the ops that contain one: linear itself
// (ops/linalg.cpp) and linear_relu_dropout (ops/dropout.cpp). Internal to the ops layer.

#include <vector>

#include "framework/array.hpp"
#include "framework/op.hpp"
#include "ops/ops.hpp"

namespace xgrad::detail {

/// Y = W·X + b (features_first) or X·Wᵀ + b (batch_first), shapes and dtypes checked; errors name `op`.
Array linear_forward(const char* op, const Array& X, const Array& W, const Array& b, Layout layout);
/// {dX, dW, db} from dY = G, each only where `wants` says (an undefined Array otherwise).
Grads linear_backward(const Array& G, const Array& X, const Array& W, Layout layout, const std::vector<bool>& wants);

}  // namespace xgrad::detail
