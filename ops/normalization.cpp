// Normalisation: batch_norm over the channel axis 1 of (N, C, …) and layer_norm over the trailing
// axes. Both normalise x to x̂ = (x - μ) / √(σ² + ε), then scale and shift by weight and bias.

#include <cmath>
#include <memory>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

/// x seen as groups of `rows` normalised together: for batch norm, channel c's values sit at
/// n·C·S + c·S + s (S the spatial size); for layer norm, row r is the contiguous block r·D … (r+1)·D.
/// Both are expressed as (outer, groups, inner): batch norm (N, C, S), layer norm (R, 1, D) with the
/// statistics over axis 0 and 2 or over axis 2 only.
struct Layout3 {
    std::size_t outer, groups, inner;
};

// Per group g (a channel for batch norm, a row for layer norm) over its M values:
//   x̂ = (x - μ_g)·r_g with r_g = 1/√(σ²_g + ε) (σ² biased);  y = x̂·w + b
//   dx = r_g/M · (M·h - Σh - x̂·Σ(h·x̂)) with h = dy·w;  dw = Σ dy·x̂;  db = Σ dy
// The statistics' own gradients are folded into dx, as in the batch-norm paper. For batch norm the
// affine parameters are per channel; for layer norm they have the normalised shape (per element).
struct NormOp final : Op {
    bool batch;  // batch_norm (per channel stats) or layer_norm (per row stats)
    double eps;
    bool affine;
    std::size_t normalized_axes = 1;  // layer norm: how many trailing axes are normalised
    /// Per group, saved for backward — and read by batch_norm for the running statistics, which is
    /// why they are shared: under NoGradGuard the op is gone as soon as apply_op returns.
    struct Statistics {
        std::vector<double> mean, inv_std;
    };
    std::shared_ptr<Statistics> stats = std::make_shared<Statistics>();
    std::vector<double>& mean = stats->mean;
    std::vector<double>& inv_std = stats->inv_std;
    NormOp(bool batch, double eps, bool affine, std::size_t normalized_axes)
        : batch(batch), eps(eps), affine(affine), normalized_axes(normalized_axes) {}
    std::string name() const override { return batch ? "batch_norm" : "layer_norm"; }
    std::string label() const override { return name() + "(eps=" + format_number(eps) + ")"; }
    bool backward_reads_result() const override { return false; }
    bool backward_reads_input(std::size_t i) const override { return i < 2; }
    void release_saved() override {
        std::vector<double>().swap(mean);
        std::vector<double>().swap(inv_std);
    }
    std::size_t saved_bytes() const override { return (mean.size() + inv_std.size()) * sizeof(double); }

    Layout3 layout(const Shape& s) const {
        if (batch) {
            std::size_t spatial = 1;
            for (std::size_t i = 2; i < s.size(); ++i) spatial *= s[i];
            return {s[0], s[1], spatial};
        }
        std::size_t d = 1;
        for (std::size_t i = s.size() - normalized_axes; i < s.size(); ++i) d *= s[i];
        return {d ? shape_size(s) / d : 0, 1, d};
    }
    /// The groups (statistics) and, per group, its count: batch (C groups of N·S), layer (R groups of D).
    std::size_t group_count(const Layout3& l) const { return batch ? l.groups : l.outer; }
    double group_size(const Layout3& l) const {
        return static_cast<double>(batch ? l.outer * l.inner : l.inner);
    }
    /// Visits every element: f(flat index, group index, affine index).
    template <class F>
    void for_each(const Layout3& l, F f) const {
        for (std::size_t o = 0; o < l.outer; ++o)
            for (std::size_t c = 0; c < l.groups; ++c)
                for (std::size_t s = 0; s < l.inner; ++s) {
                    const std::size_t i = (o * l.groups + c) * l.inner + s;
                    if (batch)
                        f(i, c, c);
                    else
                        f(i, o, s);
                }
    }

    Array forward(const Inputs& x) override {
        const Array& X = *x[0];
        const Layout3 l = layout(X.shape());
        const std::size_t groups = group_count(l);
        const double m = group_size(l);
        mean.assign(groups, 0.0);
        inv_std.assign(groups, 0.0);
        Array Y = Array::uninitialized(X.shape(), X.dtype());
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* p = X.data<T>();
            // Two passes in double (mean, then squared deviations): no cancellation for large means.
            for_each(l, [&](std::size_t i, std::size_t g, std::size_t) { mean[g] += p[i]; });
            for (double& v : mean) v /= m;
            std::vector<double> var(groups, 0.0);
            for_each(l, [&](std::size_t i, std::size_t g, std::size_t) {
                const double d = p[i] - mean[g];
                var[g] += d * d;
            });
            for (std::size_t g = 0; g < groups; ++g) inv_std[g] = 1.0 / std::sqrt(var[g] / m + eps);
            const T* w = affine ? x[1]->data<T>() : nullptr;
            const T* b = affine ? x[2]->data<T>() : nullptr;
            T* y = Y.data<T>();
            for_each(l, [&](std::size_t i, std::size_t g, std::size_t a) {
                const double normalized = (p[i] - mean[g]) * inv_std[g];
                y[i] = static_cast<T>(affine ? normalized * w[a] + b[a] : normalized);
            });
        });
        return Y;
    }
    Grads backward(const BackwardArgs& args) const override {
        if (mean.empty() && args.inputs[0]->size() != 0)
            throw GraphError(name() + ": backward after its saved statistics were released (use retain_graph)");
        const Array& X = *args.inputs[0];
        const Layout3 l = layout(X.shape());
        const std::size_t groups = group_count(l);
        const double m = group_size(l);
        Array dx, dw, db;
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* p = X.data<T>();
            const T* g = args.grad_out.data<T>();
            const T* w = affine ? args.inputs[1]->data<T>() : nullptr;
            auto weight = [&](std::size_t a) { return affine ? static_cast<double>(w[a]) : 1.0; };
            std::vector<double> sum_h(groups, 0.0), sum_hx(groups, 0.0);
            for_each(l, [&](std::size_t i, std::size_t grp, std::size_t a) {
                const double h = g[i] * weight(a), xhat = (p[i] - mean[grp]) * inv_std[grp];
                sum_h[grp] += h;
                sum_hx[grp] += h * xhat;
            });
            if (args.wants(0)) {
                dx = Array::uninitialized(X.shape(), X.dtype());
                T* d = dx.data<T>();
                for_each(l, [&](std::size_t i, std::size_t grp, std::size_t a) {
                    const double h = g[i] * weight(a), xhat = (p[i] - mean[grp]) * inv_std[grp];
                    d[i] = static_cast<T>(inv_std[grp] / m * (m * h - sum_h[grp] - xhat * sum_hx[grp]));
                });
            }
            if (affine && (args.wants(1) || args.wants(2))) {
                const Shape& affine_shape = args.inputs[1]->shape();
                std::vector<double> sw(shape_size(affine_shape), 0.0), sb(sw.size(), 0.0);
                for_each(l, [&](std::size_t i, std::size_t grp, std::size_t a) {
                    sw[a] += g[i] * (p[i] - mean[grp]) * inv_std[grp];
                    sb[a] += g[i];
                });
                dw = Array(affine_shape, std::vector<double>(sw), X.dtype());
                db = Array(affine_shape, std::vector<double>(sb), X.dtype());
            }
        });
        if (!affine) return {std::move(dx)};
        return {std::move(dx), std::move(dw), std::move(db)};
    }
};

void check_affine(const char* op, const Tensor& weight, const Tensor& bias, const Shape& expected) {
    if (weight.defined() != bias.defined())
        throw ValueError(std::string(op) + ": give both weight and bias, or neither");
    if (weight.defined() && (weight.shape() != expected || bias.shape() != expected))
        throw ShapeError(std::string(op) + ": weight " + shape_str(weight.shape()) + " and bias " +
                         shape_str(bias.shape()) + " must both be " + shape_str(expected));
}

}  // namespace

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum, double eps) {
    if (x.ndim() < 2) throw ShapeError("batch_norm: input must be (N, C, …), got " + shape_str(x.shape()));
    const std::size_t channels = x.shape()[1];
    check_affine("batch_norm", weight, bias, {channels});
    if (!(eps > 0)) throw ValueError("batch_norm: eps must be > 0, got " + format_exact(eps));
    if (!(momentum >= 0 && momentum <= 1))
        throw ValueError("batch_norm: momentum must lie in [0, 1], got " + format_exact(momentum));
    for (const Tensor* stat : {&running_mean, &running_var})
        if (stat->defined() && (stat->shape() != Shape{channels} || stat->dtype() != x.dtype()))
            throw ShapeError("batch_norm: running statistics must be " + std::string(dtype_name(x.dtype())) + " (" +
                             std::to_string(channels) + ",), got " + dtype_name(stat->dtype()) + " " +
                             shape_str(stat->shape()));
    if (!training) {
        if (!running_mean.defined() || !running_var.defined())
            throw ValueError("batch_norm: evaluation needs the running statistics");
        // (x - μ) / √(σ² + ε) · w + b with the running μ, σ² as constants, broadcast over (N, C, …).
        Shape per_channel(x.ndim(), 1);
        per_channel[1] = channels;
        const Tensor mu = constant(running_mean.value().reshaped(per_channel));
        const Tensor scale = constant(kernels::map(running_var.value().reshaped(per_channel),
                                                   [eps](auto v) { return 1 / std::sqrt(v + static_cast<decltype(v)>(eps)); }));
        Tensor y = (x - mu) * scale;
        if (weight.defined()) y = y * reshape(weight, per_channel) + reshape(bias, per_channel);
        return y;
    }
    const std::size_t count = x.size() / std::max<std::size_t>(channels, 1);
    if (count < 2)
        throw ValueError("batch_norm: training needs more than one value per channel, got input " +
                         shape_str(x.shape()));
    auto op = std::make_unique<NormOp>(true, eps, weight.defined(), 1);
    const std::shared_ptr<NormOp::Statistics> stats = op->stats;
    Tensor y = weight.defined() ? apply_op(std::move(op), {x, weight, bias}) : apply_op(std::move(op), {x});
    // PyTorch's running statistics: the unbiased variance, blended with `momentum`.
    if (running_mean.defined() && running_var.defined()) {
        Array& rm = running_mean.mutable_value();
        Array& rv = running_var.mutable_value();
        const double n = static_cast<double>(count);
        for (std::size_t c = 0; c < channels; ++c) {
            const double var = 1.0 / (stats->inv_std[c] * stats->inv_std[c]) - eps;
            rm.set_flat(c, (1 - momentum) * rm.flat(c) + momentum * stats->mean[c]);
            rv.set_flat(c, (1 - momentum) * rv.flat(c) + momentum * var * n / (n - 1));
        }
    }
    return y;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
    const Shape& s = x.shape();
    if (normalized_shape.empty() || normalized_shape.size() > s.size() ||
        !std::equal(normalized_shape.begin(), normalized_shape.end(), s.end() - static_cast<std::ptrdiff_t>(normalized_shape.size())))
        throw ShapeError("layer_norm: normalized_shape " + shape_str(normalized_shape) +
                         " must be the trailing axes of the input " + shape_str(s));
    check_affine("layer_norm", weight, bias, normalized_shape);
    if (!(eps > 0)) throw ValueError("layer_norm: eps must be > 0, got " + format_exact(eps));
    auto op = std::make_unique<NormOp>(false, eps, weight.defined(), normalized_shape.size());
    return weight.defined() ? apply_op(std::move(op), {x, weight, bias}) : apply_op(std::move(op), {x});
}

}  // namespace xgrad
