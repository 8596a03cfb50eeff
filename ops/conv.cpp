// Convolution and pooling in PyTorch's batch-first layout (N, C, H, W): conv2d (and conv1d on it)
// lowered to OpenBLAS gemm through im2col, max_pool2d, avg_pool2d, adaptive_avg_pool2d.

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

std::string size2_str(Size2 s) {
    std::string text = "(";  // appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "(" + ...
    text += std::to_string(s.h);
    text += ", ";
    text += std::to_string(s.w);
    return text + ")";
}

/// The output length of a sliding window (PyTorch's formula); 0 windows is an error.
std::size_t windows(const char* op, std::size_t in, std::size_t kernel, std::size_t stride, std::size_t padding,
                    std::size_t dilation, const Shape& x_shape) {
    const std::size_t span = dilation * (kernel - 1) + 1;
    if (in + 2 * padding < span)
        throw ShapeError(std::string(op) + ": input " + shape_str(x_shape) + " padded by " + std::to_string(padding) +
                         " is smaller than the kernel's span " + std::to_string(span));
    return (in + 2 * padding - span) / stride + 1;
}

/// The geometry of a 2-d sliding window over (N, C, H, W): shared by convolution and pooling.
struct Window {
    std::size_t n = 0, c = 0, h = 0, w = 0;  // input
    std::size_t kh = 1, kw = 1;
    Size2 stride{1}, padding{0}, dilation{1};
    std::size_t oh = 0, ow = 0;  // output
    std::size_t plane() const { return h * w; }
    std::size_t out_plane() const { return oh * ow; }
};

Window window_of(const char* op, const Shape& x, std::size_t kh, std::size_t kw, Size2 stride, Size2 padding,
                 Size2 dilation) {
    if (x.size() != 4)
        throw ShapeError(std::string(op) + ": input must be (N, C, H, W), got " + shape_str(x));
    if (kh == 0 || kw == 0 || stride.h == 0 || stride.w == 0 || dilation.h == 0 || dilation.w == 0)
        throw ValueError(std::string(op) + ": kernel, stride and dilation must be ≥ 1 (kernel (" + std::to_string(kh) +
                         ", " + std::to_string(kw) + "), stride " + size2_str(stride) + ", dilation " +
                         size2_str(dilation) + ")");
    Window g;
    g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3], g.kh = kh, g.kw = kw;
    g.stride = stride, g.padding = padding, g.dilation = dilation;
    g.oh = windows(op, g.h, kh, stride.h, padding.h, dilation.h, x);
    g.ow = windows(op, g.w, kw, stride.w, padding.w, dilation.w, x);
    return g;
}

/// im2col for one image and a range of channels: cols[(c·kh + i)·kw + j][oy·ow + ox] = the input at
/// (c, oy·sh - ph + i·dh, ox·sw - pw + j·dw), 0 in the padding. Each row is one kernel tap.
template <class T>
void image_to_columns(const T* image, std::size_t channels, const Window& g, T* cols) {
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t i = 0; i < g.kh; ++i)
            for (std::size_t j = 0; j < g.kw; ++j) {
                T* row = cols + ((c * g.kh + i) * g.kw + j) * g.out_plane();
                const T* plane = image + c * g.plane();
                for (std::size_t oy = 0; oy < g.oh; ++oy) {
                    const auto y = static_cast<std::ptrdiff_t>(oy * g.stride.h + i * g.dilation.h) -
                                   static_cast<std::ptrdiff_t>(g.padding.h);
                    T* out = row + oy * g.ow;
                    if (y < 0 || y >= static_cast<std::ptrdiff_t>(g.h)) {
                        std::fill_n(out, g.ow, T(0));
                        continue;
                    }
                    const T* line = plane + static_cast<std::size_t>(y) * g.w;
                    const auto x0 = static_cast<std::ptrdiff_t>(j * g.dilation.w) - static_cast<std::ptrdiff_t>(g.padding.w);
                    for (std::size_t ox = 0; ox < g.ow; ++ox) {
                        const std::ptrdiff_t x = x0 + static_cast<std::ptrdiff_t>(ox * g.stride.w);
                        out[ox] = x >= 0 && x < static_cast<std::ptrdiff_t>(g.w) ? line[x] : T(0);
                    }
                }
            }
}

/// col2im, the adjoint: adds each column entry back onto the input position it was read from.
template <class T>
void columns_to_image(const T* cols, std::size_t channels, const Window& g, T* image) {
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t i = 0; i < g.kh; ++i)
            for (std::size_t j = 0; j < g.kw; ++j) {
                const T* row = cols + ((c * g.kh + i) * g.kw + j) * g.out_plane();
                T* plane = image + c * g.plane();
                for (std::size_t oy = 0; oy < g.oh; ++oy) {
                    const auto y = static_cast<std::ptrdiff_t>(oy * g.stride.h + i * g.dilation.h) -
                                   static_cast<std::ptrdiff_t>(g.padding.h);
                    if (y < 0 || y >= static_cast<std::ptrdiff_t>(g.h)) continue;
                    T* line = plane + static_cast<std::size_t>(y) * g.w;
                    const T* in = row + oy * g.ow;
                    const auto x0 = static_cast<std::ptrdiff_t>(j * g.dilation.w) - static_cast<std::ptrdiff_t>(g.padding.w);
                    for (std::size_t ox = 0; ox < g.ow; ++ox) {
                        const std::ptrdiff_t x = x0 + static_cast<std::ptrdiff_t>(ox * g.stride.w);
                        if (x >= 0 && x < static_cast<std::ptrdiff_t>(g.w)) line[x] += in[ox];
                    }
                }
            }
}

/// Whether the columns of an image are the image itself: a 1×1 kernel, stride 1, no padding.
bool columns_are_the_image(const Window& g) {
    return g.kh == 1 && g.kw == 1 && g.stride.h == 1 && g.stride.w == 1 && g.padding.h == 0 && g.padding.w == 0;
}

// For each image n and group g (input channels Cg = C/groups, output channels Og = O/groups,
// K = Cg·kh·kw taps, L = oh·ow positions), with cols = im2col(x[n, group g]) of shape (K, L):
//   Y[n, group g] = W_g (Og, K) · cols (K, L)  + b        (bias written first, gemm with beta = 1)
//   dW_g += dY[n, g] · colsᵀ,  dcols = W_gᵀ · dY[n, g] → col2im into dX[n, group g],  db = Σ_{n,L} dY
struct Conv2dOp final : Op {
    Size2 stride, padding, dilation;
    std::size_t groups;
    bool has_bias;
    Conv2dOp(Size2 stride, Size2 padding, Size2 dilation, std::size_t groups, bool has_bias)
        : stride(stride), padding(padding), dilation(dilation), groups(groups), has_bias(has_bias) {}
    std::string name() const override { return "conv2d"; }
    std::string label() const override {
        std::string s = "conv2d(stride=" + size2_str(stride) + ", padding=" + size2_str(padding);
        if (dilation.h != 1 || dilation.w != 1) s += ", dilation=" + size2_str(dilation);
        if (groups != 1) s += ", groups=" + std::to_string(groups);
        return s + ")";
    }
    bool backward_reads_result() const override { return false; }
    bool backward_reads_input(std::size_t i) const override { return i < 2; }

    Window geometry(const Array& x, const Array& w) const {
        if (w.ndim() != 4)
            throw ShapeError("conv2d: weight must be (C_out, C_in / groups, kH, kW), got " + shape_str(w.shape()));
        if (groups == 0) throw ValueError("conv2d: groups must be ≥ 1");
        const Window g = window_of("conv2d", x.shape(), w.shape()[2], w.shape()[3], stride, padding, dilation);
        if (g.c % groups != 0 || w.shape()[0] % groups != 0 || w.shape()[1] != g.c / groups)
            throw ShapeError("conv2d: input " + shape_str(x.shape()) + " and weight " + shape_str(w.shape()) +
                             " do not fit groups = " + std::to_string(groups) +
                             " (need C_in and C_out divisible by groups, weight's axis 1 = C_in / groups)");
        return g;
    }
    Array forward(const Inputs& x) override {
        const Array& X = *x[0];
        const Array& W = *x[1];
        const Window g = geometry(X, W);
        const std::size_t out_channels = W.shape()[0], og = out_channels / groups, cg = g.c / groups;
        const std::size_t K = cg * g.kh * g.kw, L = g.out_plane();
        if (has_bias && x[2]->shape() != Shape{out_channels})
            throw ShapeError("conv2d: bias must be (" + std::to_string(out_channels) + ",), got " +
                             shape_str(x[2]->shape()));
        Array Y = Array::uninitialized({g.n, out_channels, g.oh, g.ow}, X.dtype());
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            T* y = Y.data<T>();
            if (has_bias) {
                const T* b = x[2]->data<T>();
                for (std::size_t n = 0; n < g.n; ++n)
                    for (std::size_t o = 0; o < out_channels; ++o) std::fill_n(y + (n * out_channels + o) * L, L, b[o]);
            }
            const bool direct = columns_are_the_image(g);
            Array cols = direct ? Array() : Array::uninitialized({K, L}, X.dtype());
            for (std::size_t n = 0; n < g.n; ++n)
                for (std::size_t grp = 0; grp < groups; ++grp) {
                    const std::size_t in_offset = (n * g.c + grp * cg) * g.plane();
                    MatrixAt columns{&X, in_offset, K, L};
                    if (!direct) {
                        image_to_columns(X.data<T>() + in_offset, cg, g, cols.data<T>());
                        columns = {&cols, 0, K, L};
                    }
                    gemm_into({&W, grp * og * K, og, K}, false, columns, false, Y, (n * out_channels + grp * og) * L,
                              has_bias);
                }
        });
        return Y;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& X = *a.inputs[0];
        const Array& W = *a.inputs[1];
        const Array& G = a.grad_out;
        const Window g = geometry(X, W);
        const std::size_t out_channels = W.shape()[0], og = out_channels / groups, cg = g.c / groups;
        const std::size_t K = cg * g.kh * g.kw, L = g.out_plane();
        Array dx, dw, db;
        if (a.wants(0)) dx = Array(X.shape(), X.dtype());
        if (a.wants(1)) dw = Array(W.shape(), W.dtype());
        const bool direct = columns_are_the_image(g);
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            Array cols = direct ? Array() : Array::uninitialized({K, L}, X.dtype());
            Array dcols = direct || !a.wants(0) ? Array() : Array::uninitialized({K, L}, X.dtype());
            for (std::size_t n = 0; n < g.n; ++n)
                for (std::size_t grp = 0; grp < groups; ++grp) {
                    const std::size_t in_offset = (n * g.c + grp * cg) * g.plane();
                    const MatrixAt dy{&G, (n * out_channels + grp * og) * L, og, L};
                    const MatrixAt weights{&W, grp * og * K, og, K};
                    if (a.wants(1)) {
                        MatrixAt columns{&X, in_offset, K, L};
                        if (!direct) {
                            image_to_columns(X.data<T>() + in_offset, cg, g, cols.data<T>());
                            columns = {&cols, 0, K, L};
                        }
                        gemm_into(dy, false, columns, true, dw, grp * og * K, true);  // dW_g += dY·colsᵀ
                    }
                    if (a.wants(0)) {
                        if (direct) {
                            gemm_into(weights, true, dy, false, dx, in_offset, true);  // dX += W_gᵀ·dY
                        } else {
                            gemm_into(weights, true, dy, false, dcols, 0, false);  // dcols = W_gᵀ·dY
                            columns_to_image(dcols.data<T>(), cg, g, dx.data<T>() + in_offset);
                        }
                    }
                }
        });
        if (has_bias && a.wants(2)) {  // Σ over images and positions, per output channel
            // G as (N, C_out, L): the reducer over positions, then over images.
            db = sum_keepdims(sum_keepdims(G.reshaped({g.n, out_channels, L}), 2), 0).reshaped({out_channels});
        }
        if (!has_bias) return {std::move(dx), std::move(dw)};
        return {std::move(dx), std::move(dw), std::move(db)};
    }
};

// Max pooling: y = the largest input in each window (padding counts as -inf, as PyTorch);
// dx = g at the window's first largest element (its index saved in forward).
struct MaxPool2dOp final : Op {
    Size2 kernel, stride, padding;
    std::vector<std::uint32_t> argmax;  // per output element, the input element's index in its plane
    MaxPool2dOp(Size2 kernel, Size2 stride, Size2 padding) : kernel(kernel), stride(stride), padding(padding) {}
    std::string name() const override { return "max_pool2d"; }
    std::string label() const override {
        return "max_pool2d(kernel=" + size2_str(kernel) + ", stride=" + size2_str(stride) +
               (padding.h || padding.w ? ", padding=" + size2_str(padding) : "") + ")";
    }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }
    void release_saved() override { std::vector<std::uint32_t>().swap(argmax); }
    std::size_t saved_bytes() const override { return argmax.size() * sizeof(std::uint32_t); }

    Array forward(const Inputs& x) override {
        const Window g = window_of("max_pool2d", x[0]->shape(), kernel.h, kernel.w, stride, padding, Size2{1});
        if (padding.h * 2 > kernel.h || padding.w * 2 > kernel.w)
            throw ValueError("max_pool2d: padding " + size2_str(padding) + " must be at most half the kernel " +
                             size2_str(kernel));
        if (g.plane() > std::numeric_limits<std::uint32_t>::max())
            throw ShapeError("max_pool2d: planes of more than 2³² elements are not supported");
        Array Y = Array::uninitialized({g.n, g.c, g.oh, g.ow}, x[0]->dtype());
        argmax.assign(Y.size(), 0);
        dispatch(Y.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* in = x[0]->data<T>();
            T* y = Y.data<T>();
            for (std::size_t p = 0; p < g.n * g.c; ++p) {
                const T* plane = in + p * g.plane();
                for (std::size_t oy = 0; oy < g.oh; ++oy)
                    for (std::size_t ox = 0; ox < g.ow; ++ox) {
                        T best = -std::numeric_limits<T>::infinity();
                        std::size_t where = 0;
                        bool found = false;
                        for (std::size_t i = 0; i < g.kh; ++i) {
                            const auto yy = static_cast<std::ptrdiff_t>(oy * g.stride.h + i) - static_cast<std::ptrdiff_t>(g.padding.h);
                            if (yy < 0 || yy >= static_cast<std::ptrdiff_t>(g.h)) continue;
                            for (std::size_t j = 0; j < g.kw; ++j) {
                                const auto xx = static_cast<std::ptrdiff_t>(ox * g.stride.w + j) - static_cast<std::ptrdiff_t>(g.padding.w);
                                if (xx < 0 || xx >= static_cast<std::ptrdiff_t>(g.w)) continue;
                                const std::size_t at = static_cast<std::size_t>(yy) * g.w + static_cast<std::size_t>(xx);
                                const T v = plane[at];
                                if (!found || v > best || v != v) {  // NaN wins, as PyTorch
                                    best = v, where = at, found = true;
                                    if (v != v) break;
                                }
                            }
                        }
                        const std::size_t k = (p * g.oh + oy) * g.ow + ox;
                        y[k] = best;
                        argmax[k] = static_cast<std::uint32_t>(where);
                    }
            }
        });
        return Y;
    }
    Grads backward(const BackwardArgs& a) const override {
        if (argmax.size() != a.grad_out.size())
            throw GraphError("max_pool2d: backward after its saved indices were released (use retain_graph)");
        const Array& X = *a.inputs[0];
        Array dx(X.shape(), X.dtype());
        const std::size_t plane = X.shape()[2] * X.shape()[3];
        const std::size_t out_plane = a.grad_out.shape()[2] * a.grad_out.shape()[3];
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* g = a.grad_out.data<T>();
            T* d = dx.data<T>();
            for (std::size_t k = 0; k < argmax.size(); ++k) d[(k / out_plane) * plane + argmax[k]] += g[k];
        });
        return {std::move(dx)};
    }
};

/// For one axis of adaptive pooling: output i averages input [⌊i·in/out⌋, ⌈(i+1)·in/out⌉).
std::pair<std::size_t, std::size_t> adaptive_range(std::size_t i, std::size_t in, std::size_t out) {
    return {i * in / out, ((i + 1) * in + out - 1) / out};
}

// Average pooling, fixed windows (PyTorch's avg_pool2d, count_include_pad = true: a window's sum is
// divided by kh·kw, padding included) or adaptive ones (adaptive_avg_pool2d: windows that tile the
// input into the output size). y = mean of the window; dx = g / (window count) on every element.
struct AvgPool2dOp final : Op {
    Size2 kernel, stride, padding;
    bool adaptive;
    Size2 output_size;
    AvgPool2dOp(Size2 kernel, Size2 stride, Size2 padding)
        : kernel(kernel), stride(stride), padding(padding), adaptive(false), output_size(1) {}
    explicit AvgPool2dOp(Size2 output_size)
        : kernel(1), stride(1), padding(0), adaptive(true), output_size(output_size) {}
    std::string name() const override { return adaptive ? "adaptive_avg_pool2d" : "avg_pool2d"; }
    std::string label() const override {
        if (adaptive) return "adaptive_avg_pool2d" + size2_str(output_size);
        return "avg_pool2d(kernel=" + size2_str(kernel) + ", stride=" + size2_str(stride) +
               (padding.h || padding.w ? ", padding=" + size2_str(padding) : "") + ")";
    }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }

    /// Every window: for output (oy, ox), the input rows [y0, y1), columns [x0, x1) and the divisor.
    struct Span {
        std::size_t y0, y1, x0, x1;
        double count;
    };
    std::vector<Span> spans(const Shape& shape, std::size_t& oh, std::size_t& ow) const {
        std::vector<Span> out;
        if (adaptive) {
            if (shape.size() != 4)
                throw ShapeError("adaptive_avg_pool2d: input must be (N, C, H, W), got " + shape_str(shape));
            if (output_size.h == 0 || output_size.w == 0)
                throw ValueError("adaptive_avg_pool2d: output size " + size2_str(output_size) + " must be ≥ 1");
            oh = output_size.h, ow = output_size.w;
            for (std::size_t oy = 0; oy < oh; ++oy)
                for (std::size_t ox = 0; ox < ow; ++ox) {
                    const auto [y0, y1] = adaptive_range(oy, shape[2], oh);
                    const auto [x0, x1] = adaptive_range(ox, shape[3], ow);
                    out.push_back({y0, y1, x0, x1, static_cast<double>((y1 - y0) * (x1 - x0))});
                }
            return out;
        }
        const Window g = window_of("avg_pool2d", shape, kernel.h, kernel.w, stride, padding, Size2{1});
        if (padding.h * 2 > kernel.h || padding.w * 2 > kernel.w)
            throw ValueError("avg_pool2d: padding " + size2_str(padding) + " must be at most half the kernel " +
                             size2_str(kernel));
        oh = g.oh, ow = g.ow;
        for (std::size_t oy = 0; oy < oh; ++oy)
            for (std::size_t ox = 0; ox < ow; ++ox) {
                const auto top = static_cast<std::ptrdiff_t>(oy * stride.h) - static_cast<std::ptrdiff_t>(padding.h);
                const auto left = static_cast<std::ptrdiff_t>(ox * stride.w) - static_cast<std::ptrdiff_t>(padding.w);
                auto clip = [](std::ptrdiff_t v, std::size_t n) {
                    return static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(v, 0, static_cast<std::ptrdiff_t>(n)));
                };
                out.push_back({clip(top, shape[2]), clip(top + static_cast<std::ptrdiff_t>(kernel.h), shape[2]),
                               clip(left, shape[3]), clip(left + static_cast<std::ptrdiff_t>(kernel.w), shape[3]),
                               static_cast<double>(kernel.h * kernel.w)});
            }
        return out;
    }
    Array forward(const Inputs& x) override {
        const Shape& s = x[0]->shape();
        std::size_t oh = 0, ow = 0;
        const auto windows = spans(s, oh, ow);
        Array Y = Array::uninitialized({s[0], s[1], oh, ow}, x[0]->dtype());
        dispatch(Y.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* in = x[0]->data<T>();
            T* y = Y.data<T>();
            for (std::size_t p = 0; p < s[0] * s[1]; ++p) {
                const T* plane = in + p * s[2] * s[3];
                for (std::size_t k = 0; k < windows.size(); ++k) {
                    const Span& w = windows[k];
                    double total = 0;
                    for (std::size_t yy = w.y0; yy < w.y1; ++yy)
                        for (std::size_t xx = w.x0; xx < w.x1; ++xx) total += plane[yy * s[3] + xx];
                    y[p * windows.size() + k] = static_cast<T>(total / w.count);
                }
            }
        });
        return Y;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Shape& s = a.inputs[0]->shape();
        std::size_t oh = 0, ow = 0;
        const auto windows = spans(s, oh, ow);
        Array dx(s, a.grad_out.dtype());
        dispatch(dx.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* g = a.grad_out.data<T>();
            T* d = dx.data<T>();
            for (std::size_t p = 0; p < s[0] * s[1]; ++p) {
                T* plane = d + p * s[2] * s[3];
                for (std::size_t k = 0; k < windows.size(); ++k) {
                    const Span& w = windows[k];
                    const T share = static_cast<T>(g[p * windows.size() + k] / w.count);
                    for (std::size_t yy = w.y0; yy < w.y1; ++yy)
                        for (std::size_t xx = w.x0; xx < w.x1; ++xx) plane[yy * s[3] + xx] += share;
                }
            }
        });
        return {std::move(dx)};
    }
};

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding, Size2 dilation,
              std::size_t groups) {
    if (bias.defined())
        return apply_op(std::make_unique<Conv2dOp>(stride, padding, dilation, groups, true), {x, weight, bias});
    return apply_op(std::make_unique<Conv2dOp>(stride, padding, dilation, groups, false), {x, weight});
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::size_t stride, std::size_t padding,
              std::size_t dilation, std::size_t groups) {
    if (x.ndim() != 3) throw ShapeError("conv1d: input must be (N, C, L), got " + shape_str(x.shape()));
    if (weight.ndim() != 3)
        throw ShapeError("conv1d: weight must be (C_out, C_in / groups, k), got " + shape_str(weight.shape()));
    // A length-L signal is a 1 × L image: the 2-d kernel does the work, one reshape on each side.
    const Tensor y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, Size2{1, stride}, Size2{0, padding},
                            Size2{1, dilation}, groups);
    return squeeze(y, 2);
}

Tensor max_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding) {
    return apply_op(std::make_unique<MaxPool2dOp>(kernel, stride.value_or(kernel), padding), {x});
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding) {
    return apply_op(std::make_unique<AvgPool2dOp>(kernel, stride.value_or(kernel), padding), {x});
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
    return apply_op(std::make_unique<AvgPool2dOp>(output_size), {x});
}

}  // namespace xgrad
