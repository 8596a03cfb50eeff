#include "models/optim.hpp"

#include <cmath>
#include <string>

#include "framework/errors.hpp"

namespace xgrad {

namespace {

void check_range(const char* who, const char* what, double value, double lo, double hi, bool lo_open, bool hi_open) {
    const bool ok = std::isfinite(value) && (lo_open ? value > lo : value >= lo) && (hi_open ? value < hi : value <= hi);
    if (!ok)
        throw ValueError(std::string(who) + ": " + what + " = " + std::to_string(value) + " is outside the allowed range " +
                         (lo_open ? "(" : "[") + std::to_string(lo) + ", " + (std::isinf(hi) ? "inf" : std::to_string(hi)) +
                         (hi_open ? ")" : "]"));
}

/// Calls f(w, g, i) over a parameter's elements with typed pointers (float or double).
template <class F>
void for_each_element(Tensor& p, F f) {
    Array& w = p.mutable_value();
    const Array& g = p.grad();
    detail::dispatch(w.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* wp = w.data<T>();
        const T* gp = g.data<T>();
        for (std::size_t i = 0, n = w.size(); i < n; ++i) f(wp[i], gp[i], i);
    });
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> parameters) : parameters_(std::move(parameters)) {
    for (const Tensor& p : parameters_)
        if (!p.defined() || !p.is_leaf() || !p.requires_grad())
            throw ValueError("Optimizer: every parameter must be a leaf that requires grad" +
                             (p.defined() && !p.name().empty() ? " ('" + p.name() + "' is not)" : std::string()));
}

void Optimizer::zero_grad() {
    for (Tensor& p : parameters_) p.zero_grad();
}

SGD::SGD(std::vector<Tensor> parameters, double learning_rate)
    : Optimizer(std::move(parameters)), learning_rate(learning_rate) {
    check_range("SGD", "learning_rate", learning_rate, 0.0, INFINITY, true, true);
}

void SGD::step() {
    for (Tensor& p : parameters_) {
        if (!p.has_grad()) continue;
        const double lr = learning_rate;
        for_each_element(p, [lr](auto& w, auto g, std::size_t) { w = w - static_cast<std::decay_t<decltype(w)>>(lr) * g; });
    }
}

Momentum::Momentum(std::vector<Tensor> parameters, double learning_rate, double beta)
    : Optimizer(std::move(parameters)), learning_rate(learning_rate), beta(beta) {
    check_range("Momentum", "learning_rate", learning_rate, 0.0, INFINITY, true, true);
    check_range("Momentum", "beta", beta, 0.0, 1.0, false, true);
    for (const Tensor& p : parameters_) velocity_.emplace_back(p.shape(), p.dtype());
}

void Momentum::step() {
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
        Tensor& p = parameters_[k];
        if (!p.has_grad()) continue;
        Array& v = velocity_[k];
        for_each_element(p, [&](auto& w, auto g, std::size_t i) {
            using T = std::decay_t<decltype(w)>;
            T* vp = v.data<T>();
            vp[i] = static_cast<T>(beta) * vp[i] + static_cast<T>(1 - beta) * g;
            w = w - static_cast<T>(learning_rate) * vp[i];
        });
    }
}

Adam::Adam(std::vector<Tensor> parameters, double learning_rate, double beta1, double beta2, double epsilon)
    : Optimizer(std::move(parameters)), learning_rate(learning_rate), beta1(beta1), beta2(beta2), epsilon(epsilon) {
    check_range("Adam", "learning_rate", learning_rate, 0.0, INFINITY, true, true);
    check_range("Adam", "beta1", beta1, 0.0, 1.0, false, true);
    check_range("Adam", "beta2", beta2, 0.0, 1.0, false, true);
    check_range("Adam", "epsilon", epsilon, 0.0, INFINITY, true, true);
    for (const Tensor& p : parameters_) {
        v_.emplace_back(p.shape(), p.dtype());
        s_.emplace_back(p.shape(), p.dtype());
    }
}

void Adam::step() {
    ++t_;
    const double correction1 = 1 - std::pow(beta1, static_cast<double>(t_));
    const double correction2 = 1 - std::pow(beta2, static_cast<double>(t_));
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
        Tensor& p = parameters_[k];
        if (!p.has_grad()) continue;
        for_each_element(p, [&](auto& w, auto g, std::size_t i) {
            using T = std::decay_t<decltype(w)>;
            T* v = v_[k].data<T>();
            T* s = s_[k].data<T>();
            v[i] = static_cast<T>(beta1) * v[i] + static_cast<T>(1 - beta1) * g;
            s[i] = static_cast<T>(beta2) * s[i] + static_cast<T>(1 - beta2) * g * g;
            const double v_hat = v[i] / correction1, s_hat = s[i] / correction2;
            w = static_cast<T>(w - learning_rate * v_hat / (std::sqrt(s_hat) + epsilon));
        });
    }
}

}  // namespace xgrad
