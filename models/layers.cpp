#include "models/layers.hpp"

#include "framework/errors.hpp"

namespace xgrad {

namespace {

/// A convolution's weight, drawn as an (out, fan_in) matrix by init_weight and reshaped: the same
/// scale rules as Linear with fan_in = C_in/groups · kernel size.
Tensor conv_weight(std::size_t out_channels, std::size_t in_channels, const Shape& kernel, const ConvOptions& o,
                   const char* layer) {
    if (o.groups == 0 || in_channels % o.groups != 0 || out_channels % o.groups != 0)
        throw ValueError(std::string(layer) + ": groups = " + std::to_string(o.groups) + " must divide in_channels " +
                         std::to_string(in_channels) + " and out_channels " + std::to_string(out_channels));
    Generator& gen = o.generator ? *o.generator : global_generator();
    std::size_t fan_in = in_channels / o.groups;
    Shape shape{out_channels, in_channels / o.groups};
    for (std::size_t k : kernel) {
        if (k == 0) throw ValueError(std::string(layer) + ": a kernel size must be ≥ 1");
        fan_in *= k;
        shape.push_back(k);
    }
    return Tensor(init_weight(o.init, out_channels, fan_in, gen, o.dtype).reshaped(shape));
}

}  // namespace

Conv2d::Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel, const ConvOptions& options)
    : options(options) {
    weight = register_parameter("weight", conv_weight(out_channels, in_channels, {kernel.h, kernel.w}, options, "Conv2d"));
    if (options.bias) bias = register_parameter("bias", Tensor(Array({out_channels}, options.dtype)));
}

Tensor Conv2d::forward(const Tensor& x) {
    return conv2d(x, weight, bias, options.stride, options.padding, options.dilation, options.groups);
}

Tensor Conv2dReLU::forward(const Tensor& x) {
    return conv2d_relu(x, weight, bias, options.stride, options.padding, options.dilation, options.groups);
}

Conv1d::Conv1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, const ConvOptions& options)
    : options(options) {
    weight = register_parameter("weight", conv_weight(out_channels, in_channels, {kernel}, options, "Conv1d"));
    if (options.bias) bias = register_parameter("bias", Tensor(Array({out_channels}, options.dtype)));
}

Tensor Conv1d::forward(const Tensor& x) {
    return conv1d(x, weight, bias, options.stride.w, options.padding.w, options.dilation.w, options.groups);
}

BatchNorm::BatchNorm(std::size_t channels, std::size_t spatial_axes, const NormOptions& options)
    : options(options), spatial_axes_(spatial_axes), kind_(spatial_axes == 2 ? "BatchNorm2d" : "BatchNorm1d") {
    if (channels == 0) throw ValueError(kind_ + ": channels must be ≥ 1");
    if (options.affine) {
        weight = register_parameter("weight", Tensor(Array::ones({channels}, options.dtype)));
        bias = register_parameter("bias", Tensor(Array({channels}, options.dtype)));
    }
    running_mean = register_buffer("running_mean", Tensor(Array({channels}, options.dtype)));
    running_var = register_buffer("running_var", Tensor(Array::ones({channels}, options.dtype)));
}

Tensor BatchNorm::forward(const Tensor& x) {
    const bool fits = spatial_axes_ == 2 ? x.ndim() == 4 : (x.ndim() == 2 || x.ndim() == 3);
    if (!fits)
        throw ShapeError(kind_ + ": input of shape " + shape_str(x.shape()) + " (expected " +
                         (spatial_axes_ == 2 ? "(N, C, H, W)" : "(N, C) or (N, C, L)") + ")");
    return batch_norm(x, running_mean, running_var, weight, bias, training(), options.momentum, options.eps);
}

LayerNorm::LayerNorm(Shape normalized_shape, const NormOptions& options)
    : normalized_shape(std::move(normalized_shape)), options(options) {
    if (this->normalized_shape.empty()) throw ValueError("LayerNorm: normalized_shape must not be empty");
    if (options.affine) {
        weight = register_parameter("weight", Tensor(Array::ones(this->normalized_shape, options.dtype)));
        bias = register_parameter("bias", Tensor(Array(this->normalized_shape, options.dtype)));
    }
}

Dropout2d::Dropout2d(DropoutOptions options) : options(options) { options.validate("Dropout2d"); }

Tensor Dropout2d::forward(const Tensor& x) {
    DropoutOptions o = options;
    o.training = training();
    return dropout2d(x, o);
}

}  // namespace xgrad
