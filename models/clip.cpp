#include "models/clip.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "framework/errors.hpp"

namespace xgrad {

namespace {

std::string describe(const Tensor& p, std::size_t k) {
    return "parameter " + std::to_string(k) + (p.name().empty() ? "" : " ('" + p.name() + "')");
}

/// Calls f(pointer, size) on each parameter's gradient that exists, typed float or double; the
/// pointer is taken once per gradient (a mutable data() call checks the dtype and bumps a version).
template <class F>
void for_each_grad(const std::vector<Tensor>& parameters, F f) {
    for (Tensor p : parameters) {
        if (!p.defined() || !p.has_grad()) continue;
        Array& g = p.mutable_grad();
        detail::dispatch(g.dtype(), [&](auto tag) { f(g.data<decltype(tag)>(), g.size()); });
    }
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
    if (!(max_norm >= 0.0))
        throw ValueError("clip_grad_norm: max_norm = " + format_exact(max_norm) + " must be >= 0");
    check_distinct(parameters, "clip_grad_norm");
    double squares = 0.0;  // accumulated in double whatever the gradients' dtype
    for (std::size_t k = 0; k < parameters.size(); ++k) {
        const Tensor& p = parameters[k];
        if (!p.defined() || !p.has_grad()) continue;
        const Array& g = p.grad();
        double sum = 0.0;
        detail::dispatch(g.dtype(), [&](auto tag) {
            const auto* gp = g.data<decltype(tag)>();
            for (std::size_t i = 0, n = g.size(); i < n; ++i) sum += static_cast<double>(gp[i]) * gp[i];
        });
        if (!std::isfinite(sum))
            throw ValueError("clip_grad_norm: the gradient of " + describe(p, k) +
                             " has a non-finite norm (" + format_number(std::sqrt(sum)) +
                             "); nothing was clipped");
        squares += sum;
        if (!std::isfinite(squares))
            throw ValueError("clip_grad_norm: the total gradient norm overflows to inf at " + describe(p, k) +
                             "; nothing was clipped");
    }
    const double total = std::sqrt(squares);
    const double scale = max_norm / (total + 1e-6);
    if (scale < 1.0)
        for_each_grad(parameters, [scale](auto* g, std::size_t n) {
            const auto s = static_cast<std::remove_pointer_t<decltype(g)>>(scale);
            for (std::size_t i = 0; i < n; ++i) g[i] = g[i] * s;
        });
    return total;
}

void clip_grad_value(const std::vector<Tensor>& parameters, double clip_value) {
    if (!(clip_value >= 0.0))
        throw ValueError("clip_grad_value: clip_value = " + format_exact(clip_value) + " must be >= 0");
    for_each_grad(parameters, [clip_value](auto* g, std::size_t n) {
        using T = std::remove_pointer_t<decltype(g)>;
        const T hi = static_cast<T>(clip_value);
        for (std::size_t i = 0; i < n; ++i) g[i] = std::clamp(g[i], -hi, hi);
    });
}

}  // namespace xgrad
