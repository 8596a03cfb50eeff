#pragma once
// Layers for convolutional nets, in PyTorch's batch-first layouts and with its argument names and
// defaults: Conv1d, Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm1d/2d, LayerNorm,
// Flatten, Dropout2d. Weights come from a numpy-compatible generator, so a seed fixes them.

#include <optional>

#include "models/module.hpp"

namespace xgrad {

struct ConvOptions {
    Size2 stride = 1, padding = 0, dilation = 1;
    std::size_t groups = 1;
    bool bias = true;
    /// Weights: he (randn · √(2 / fan_in), fan_in = C_in/groups · kH · kW, for ReLU nets) or xavier.
    Init init = Init::he;
    DType dtype = DType::f64;
    Generator* generator = nullptr;  ///< nullptr: the global generator
};

/// weight (C_out, C_in / groups, kH, kW), bias (C_out,) — PyTorch's nn.Conv2d.
class Conv2d : public Module {
public:
    Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel, const ConvOptions& options = {});
    Tensor forward(const Tensor& x) override;
    Tensor weight, bias;  ///< bias undefined when options.bias is false
    ConvOptions options;
};

/// Conv2d → ReLU as one module and one node (conv2d_relu): the same parameters and names as Conv2d,
/// the same values and gradients as the two modules, with no pass of its own over the activation.
class Conv2dReLU : public Conv2d {
public:
    using Conv2d::Conv2d;
    Tensor forward(const Tensor& x) override;
};

/// weight (C_out, C_in / groups, k) — nn.Conv1d (the 2-d options' .h parts are ignored).
class Conv1d : public Module {
public:
    Conv1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, const ConvOptions& options = {});
    Tensor forward(const Tensor& x) override;
    Tensor weight, bias;
    ConvOptions options;
};

class MaxPool2d : public Module {
public:
    explicit MaxPool2d(Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0)
        : kernel(kernel), stride(stride), padding(padding) {}
    Tensor forward(const Tensor& x) override { return max_pool2d(x, kernel, stride, padding); }
    Size2 kernel;
    std::optional<Size2> stride;
    Size2 padding;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0)
        : kernel(kernel), stride(stride), padding(padding) {}
    Tensor forward(const Tensor& x) override { return avg_pool2d(x, kernel, stride, padding); }
    Size2 kernel;
    std::optional<Size2> stride;
    Size2 padding;
};

class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(Size2 output_size) : output_size(output_size) {}
    Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size); }
    Size2 output_size;
};

struct NormOptions {
    double eps = 1e-5;
    double momentum = 0.1;  ///< batch norm's running-statistics blend
    bool affine = true;     ///< learn weight (ones) and bias (zeros)
    DType dtype = DType::f64;
};

/// Batch normalisation over the channels of (N, C) or (N, C, L) (BatchNorm1d) or (N, C, H, W)
/// (BatchNorm2d): learns weight and bias (C,), keeps running_mean and running_var as buffers
/// (saved with the parameters, updated in training, used in evaluation).
class BatchNorm : public Module {
public:
    BatchNorm(std::size_t channels, std::size_t spatial_axes, const NormOptions& options = {});
    Tensor forward(const Tensor& x) override;
    Tensor weight, bias, running_mean, running_var;
    NormOptions options;

private:
    std::size_t spatial_axes_;  // 0 or 1 for 1d, 2 for 2d: which input ranks are accepted
    std::string kind_;
};
class BatchNorm1d : public BatchNorm {
public:
    explicit BatchNorm1d(std::size_t channels, const NormOptions& options = {}) : BatchNorm(channels, 1, options) {}
};
class BatchNorm2d : public BatchNorm {
public:
    explicit BatchNorm2d(std::size_t channels, const NormOptions& options = {}) : BatchNorm(channels, 2, options) {}
};

/// Layer normalisation over the trailing normalized_shape axes, weight and bias of that shape.
class LayerNorm : public Module {
public:
    explicit LayerNorm(Shape normalized_shape, const NormOptions& options = {});
    Tensor forward(const Tensor& x) override { return layer_norm(x, normalized_shape, weight, bias, options.eps); }
    Shape normalized_shape;
    Tensor weight, bias;
    NormOptions options;
};

/// (N, C, H, W) → (N, C·H·W): what feeds a batch-first Linear.
class Flatten : public Module {
public:
    explicit Flatten(int start_axis = 1, int end_axis = -1) : start_axis(start_axis), end_axis(end_axis) {}
    Tensor forward(const Tensor& x) override { return flatten(x, start_axis, end_axis); }
    int start_axis, end_axis;
};

/// Channel-wise dropout following the module's train/eval mode (dropout2d).
class Dropout2d : public Module {
public:
    explicit Dropout2d(DropoutOptions options);
    Tensor forward(const Tensor& x) override;
    DropoutOptions options;
};

}  // namespace xgrad
