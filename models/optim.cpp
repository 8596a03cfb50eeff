#include "models/optim.hpp"

#include <cmath>
#include <set>
#include <string>

#include "framework/errors.hpp"
#include "framework/io/npy.hpp"
#include "framework/simd.hpp"
#include "framework/threads.hpp"

namespace xgrad {

namespace {

/// A copy of `options` with one field changed: each setter hands the whole set to set_options,
/// which validates it, so a setter can never leave a combination set_options would refuse.
template <class Options, class Value>
Options with(Options options, Value Options::*field, Value value) {
    options.*field = value;
    return options;
}


/// ValueError "Adam: beta1 = 1.5 is outside [0, 1)" unless value lies in the range (NaN never does).
void check_range(const std::string& who, const char* what, double value, double lo, double hi, bool lo_open,
                 bool hi_open) {
    const bool ok =
        !std::isnan(value) && (lo_open ? value > lo : value >= lo) && (hi_open ? value < hi : value <= hi);
    if (!ok)
        throw ValueError(who + ": " + what + " = " + format_exact(value) + " is outside " +
                         (lo_open ? "(" : "[") + format_exact(lo) + ", " + format_exact(hi) +
                         (hi_open ? ")" : "]"));
}

void check_weight_decay(const std::string& who, double weight_decay) {
    check_range(who, "weight_decay", weight_decay, 0.0, INFINITY, false, true);
}

/// A boolean hyper-parameter as save_state stores it (0 or 1).
bool to_bool(const std::string& who, const char* what, double value) {
    if (value != 0.0 && value != 1.0)
        throw ValueError(who + ": " + what + " = " + format_exact(value) + " is not a boolean (0 or 1)");
    return value == 1.0;
}

}  // namespace

// ---- Optimizer ----

Optimizer::Optimizer(std::string name, std::vector<Tensor> parameters, double learning_rate)
    : parameters_(std::move(parameters)), name_(std::move(name)), learning_rate_(0.0) {
    for (const Tensor& p : parameters_)
        if (!p.defined() || !p.is_leaf() || !p.requires_grad())
            throw ValueError(
                name_ + ": every parameter must be a leaf that requires grad" +
                (p.defined() && !p.name().empty() ? " ('" + p.name() + "' is not)" : std::string()));
    check_distinct(parameters_, name_);
    set_learning_rate(learning_rate);
}

void Optimizer::set_learning_rate(double learning_rate) {
    check_range(name_, "learning_rate", learning_rate, 0.0, INFINITY, false, true);
    learning_rate_ = learning_rate;
}

void Optimizer::zero_grad() {
    for (Tensor& p : parameters_) p.zero_grad();
}

void Optimizer::step() {
    ++steps_;
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
        Tensor& p = parameters_[k];
        if (!p.has_grad()) continue;
        const Array& g = p.grad();
        // A gradient replaced through mutable_grad is checked here, before it is read as w's buffer.
        // The parameter's description is built only for the message (it was 8% of a small net's
        // heap allocations when built every step).
        auto which = [&] {
            return "parameter " + std::to_string(k) + (p.name().empty() ? "" : " ('" + p.name() + "')");
        };
        if (g.shape() != p.shape())
            throw ShapeError(name_ + ": the gradient of " + which() + " has shape " + shape_str(g.shape()) +
                             ", the parameter " + shape_str(p.shape()));
        if (g.dtype() != p.dtype())
            throw DTypeError(name_ + ": the gradient of " + which() + " is " + dtype_name(g.dtype()) +
                             ", the parameter " + dtype_name(p.dtype()));
        update(k, p.mutable_value(), g);
    }
}

void Optimizer::allocate(std::vector<Array>& buffer) const {
    if (!buffer.empty()) return;
    for (const Tensor& p : parameters_) buffer.emplace_back(p.shape(), p.dtype());
}

void Optimizer::save_state(const std::string& path) const {
    std::map<std::string, Array> arrays;
    arrays.emplace("optimizer." + name_, Array::scalar(1, DType::i64));  // the kind, and a format version
    arrays.emplace("step", Array::scalar(static_cast<double>(steps_), DType::i64));
    arrays.emplace("parameters", Array::scalar(static_cast<double>(parameters_.size()), DType::i64));
    arrays.emplace("hyper.learning_rate", Array::scalar(learning_rate_));
    for (const auto& [name, value] : hyper_parameters())
        arrays.emplace("hyper." + name, Array::scalar(value));
    // state_buffers() hands out pointers so load_state can write through them; here they are only read.
    for (const StateBuffer& b : const_cast<Optimizer*>(this)->state_buffers())
        for (std::size_t k = 0; k < b.arrays->size(); ++k)
            arrays.emplace("state." + std::to_string(k) + "." + b.name, (*b.arrays)[k]);
    save_npz(path, arrays);
}

void Optimizer::load_state(const std::string& path) {
    const std::map<std::string, Array> arrays = load_npz(path);
    std::set<std::string> used;
    auto fail = [&](const std::string& why) { throw IoError(path + ": " + why); };
    auto member = [&](const std::string& key) -> const Array& {
        const auto it = arrays.find(key);
        if (it == arrays.end()) fail("'" + key + "' is missing from this " + name_ + " state");
        used.insert(key);
        return it->second;
    };
    auto scalar = [&](const std::string& key) {
        const Array& a = member(key);
        if (a.size() != 1) fail("'" + key + "' has shape " + shape_str(a.shape()) + ", not a single value");
        return a.flat(0);
    };

    // Check everything before changing anything.
    const std::string prefix = "optimizer.";
    std::string kind;
    for (const auto& [key, a] : arrays)
        if (key.rfind(prefix, 0) == 0) kind = key.substr(prefix.size());
    if (kind.empty()) fail("not an optimizer state (no 'optimizer.<kind>' member)");
    if (kind != name_) fail("holds the state of optimizer kind " + kind + "; this optimizer is " + name_);
    used.insert(prefix + kind);

    const double step = scalar("step");
    if (!(step >= 0) || step != std::floor(step) || step > 9007199254740992.0)
        fail("step = " + format_number(step) + " is not a step count");
    const double count = scalar("parameters");
    if (count != static_cast<double>(parameters_.size()))
        fail("holds the state of " + format_number(count) + (count == 1 ? " parameter" : " parameters") +
             ", this " + name_ + " has " + std::to_string(parameters_.size()));

    const double learning_rate = scalar("hyper.learning_rate");
    std::map<std::string, double> hyper = hyper_parameters();
    for (auto& [name, value] : hyper) value = scalar("hyper." + name);

    struct Restore {
        std::vector<Array>* to;
        std::vector<const Array*> from;  // empty: a lazy buffer that was never allocated
    };
    std::vector<Restore> restores;
    for (const StateBuffer& b : state_buffers()) {
        Restore r{b.arrays, {}};
        for (std::size_t k = 0; k < parameters_.size(); ++k) {
            const std::string key = "state." + std::to_string(k) + "." + b.name;
            if (b.lazy && k == 0 && !arrays.count(key)) break;
            const Array& a = member(key);
            const Tensor& p = parameters_[k];
            if (a.shape() != p.shape() || a.dtype() != p.dtype())
                fail("'" + key + "' is " + dtype_name(a.dtype()) + " " + shape_str(a.shape()) +
                     ", parameter " + std::to_string(k) + (p.name().empty() ? "" : " ('" + p.name() + "')") +
                     " is " + dtype_name(p.dtype()) + " " + shape_str(p.shape()));
            r.from.push_back(&a);
        }
        restores.push_back(std::move(r));
    }
    for (const auto& [key, a] : arrays)
        if (!used.count(key)) fail("holds '" + key + "', which a " + name_ + " state has no place for");

    try {
        check_range(name_, "learning_rate", learning_rate, 0.0, INFINITY, false, true);
        set_hyper_parameters(hyper);  // all or nothing
    } catch (const ValueError& e) {
        fail(e.what());
    }

    // Nothing below can fail.
    learning_rate_ = learning_rate;
    steps_ = static_cast<std::int64_t>(step);
    for (Restore& r : restores) {
        r.to->clear();
        for (const Array* a : r.from) r.to->push_back(*a);
    }
}

// ---- SGD ----

namespace {
void check(const SGDOptions& o) {
    check_range("SGD", "momentum", o.momentum, 0.0, 1.0, false, true);
    check_weight_decay("SGD", o.weight_decay);
    if (o.nesterov && o.momentum == 0.0)
        throw ValueError("SGD: nesterov = true needs a momentum, and momentum = 0");
}
}  // namespace

SGD::SGD(std::vector<Tensor> parameters, double learning_rate, SGDOptions options)
    : Optimizer("SGD", std::move(parameters), learning_rate) {
    set_options(options);
}

void SGD::set_options(const SGDOptions& options) {
    check(options);
    options_ = options;
}
void SGD::set_momentum(double momentum) { set_options(with(options_, &SGDOptions::momentum, momentum)); }
void SGD::set_nesterov(bool nesterov) { set_options(with(options_, &SGDOptions::nesterov, nesterov)); }
void SGD::set_weight_decay(double weight_decay) {
    set_options(with(options_, &SGDOptions::weight_decay, weight_decay));
}

std::map<std::string, double> SGD::hyper_parameters() const {
    return {{"momentum", options_.momentum},
            {"nesterov", options_.nesterov ? 1.0 : 0.0},
            {"weight_decay", options_.weight_decay}};
}

void SGD::set_hyper_parameters(const std::map<std::string, double>& values) {
    set_options({.momentum = values.at("momentum"),
                 .nesterov = to_bool("SGD", "nesterov", values.at("nesterov")),
                 .weight_decay = values.at("weight_decay")});
}

namespace {
// One SGD step over n elements, on distinct (restrict) arrays with the options fixed at compile
// time, so it vectorises: a scalar loop over the MLP's 1.9 million weights cost ~2 ms a step, on the
// calling thread while OpenBLAS's worker spun. d = g (+ wd·w); with momentum buf = μ·buf + d and
// d = buf (Nesterov: d + μ·buf); w = w − lr·d: plain SGD is the course's update exactly.
template <bool Decay, bool Momentum, bool Nesterov, class T>
[[gnu::always_inline]] inline void sgd_loop(T* __restrict w, const T* __restrict g, T* __restrict buf, std::size_t n,
                                            T lr, T mu, T wd) {
    for (std::size_t i = 0; i < n; ++i) {
        T d = g[i];
        if constexpr (Decay) d = d + wd * w[i];
        if constexpr (Momentum) {
            buf[i] = mu * buf[i] + d;
            d = Nesterov ? d + mu * buf[i] : buf[i];
        }
        w[i] = w[i] - lr * d;
    }
}
template <class T>
[[gnu::always_inline]] inline void sgd_dispatch(T* w, const T* g, T* buf, std::size_t n, T lr, T mu, T wd,
                                                bool decay, bool nesterov) {
    if (!buf) {
        if (decay) sgd_loop<true, false, false>(w, g, buf, n, lr, mu, wd);
        else sgd_loop<false, false, false>(w, g, buf, n, lr, mu, wd);
    } else if (nesterov) {
        if (decay) sgd_loop<true, true, true>(w, g, buf, n, lr, mu, wd);
        else sgd_loop<false, true, true>(w, g, buf, n, lr, mu, wd);
    } else {
        if (decay) sgd_loop<true, true, false>(w, g, buf, n, lr, mu, wd);
        else sgd_loop<false, true, false>(w, g, buf, n, lr, mu, wd);
    }
}
XGRAD_VECTOR_CLONES void sgd_step(float* w, const float* g, float* buf, std::size_t n, float lr, float mu, float wd,
                                  bool decay, bool nesterov) {
    sgd_dispatch(w, g, buf, n, lr, mu, wd, decay, nesterov);
}
XGRAD_VECTOR_CLONES void sgd_step(double* w, const double* g, double* buf, std::size_t n, double lr, double mu,
                                  double wd, bool decay, bool nesterov) {
    sgd_dispatch(w, g, buf, n, lr, mu, wd, decay, nesterov);
}
}  // namespace

void SGD::update(std::size_t k, Array& w, const Array& g) {
    const double mu = options_.momentum, wd = options_.weight_decay;
    if (mu != 0.0) allocate(momentum_buffer_);
    detail::dispatch(w.dtype(), [&](auto tag) {
        using T = decltype(tag);
        // Pointers taken once: each mutable data() call checks the dtype and bumps a version.
        T* buf = mu != 0.0 ? momentum_buffer_[k].data<T>() : nullptr;
        T* weights = w.data<T>();
        const T* grads = g.data<T>();
        const auto lr = static_cast<T>(learning_rate());
        parallel_for(w.size(), elements_per_task, [&](std::size_t begin, std::size_t end) {
            sgd_step(weights + begin, grads + begin, buf ? buf + begin : nullptr, end - begin, lr,
                     static_cast<T>(mu), static_cast<T>(wd), wd != 0.0, options_.nesterov);
        });
    });
}

// ---- Momentum ----

namespace {
void check(const MomentumOptions& o) {
    check_range("Momentum", "beta", o.beta, 0.0, 1.0, false, true);
    check_weight_decay("Momentum", o.weight_decay);
}
}  // namespace

Momentum::Momentum(std::vector<Tensor> parameters, double learning_rate, double beta)
    : Momentum(std::move(parameters), learning_rate, MomentumOptions{.beta = beta}) {}

Momentum::Momentum(std::vector<Tensor> parameters, double learning_rate, MomentumOptions options)
    : Optimizer("Momentum", std::move(parameters), learning_rate) {
    set_options(options);
    allocate(velocity_);
}

void Momentum::set_options(const MomentumOptions& options) {
    check(options);
    options_ = options;
}
void Momentum::set_beta(double beta) { set_options(with(options_, &MomentumOptions::beta, beta)); }
void Momentum::set_weight_decay(double weight_decay) {
    set_options(with(options_, &MomentumOptions::weight_decay, weight_decay));
}

std::map<std::string, double> Momentum::hyper_parameters() const {
    return {{"beta", options_.beta}, {"weight_decay", options_.weight_decay}};
}

void Momentum::set_hyper_parameters(const std::map<std::string, double>& values) {
    set_options({.beta = values.at("beta"), .weight_decay = values.at("weight_decay")});
}

void Momentum::update(std::size_t k, Array& w, const Array& g) {
    const double beta = options_.beta, wd = options_.weight_decay, lr = learning_rate();
    detail::dispatch(w.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* wp = w.data<T>();
        const T* gp = g.data<T>();
        T* vp = velocity_[k].data<T>();
        for (std::size_t i = 0, n = w.size(); i < n; ++i) {
            const T d = wd != 0.0 ? gp[i] + static_cast<T>(wd) * wp[i] : gp[i];
            vp[i] = static_cast<T>(beta) * vp[i] + static_cast<T>(1 - beta) * d;
            wp[i] = wp[i] - static_cast<T>(lr) * vp[i];
        }
    });
}

// ---- Adam and AdamW ----

Adam::Adam(std::vector<Tensor> parameters, double learning_rate, double beta1, double beta2, double epsilon)
    : Adam("Adam", std::move(parameters), learning_rate, {.beta1 = beta1, .beta2 = beta2, .epsilon = epsilon},
           false) {}

Adam::Adam(std::vector<Tensor> parameters, double learning_rate, AdamOptions options)
    : Adam("Adam", std::move(parameters), learning_rate, options, false) {}

Adam::Adam(std::string name, std::vector<Tensor> parameters, double learning_rate, AdamOptions options,
           bool decoupled)
    : Optimizer(std::move(name), std::move(parameters), learning_rate), decoupled_(decoupled) {
    set_options(options);
    allocate(v_);
    allocate(s_);
}

AdamW::AdamW(std::vector<Tensor> parameters, double learning_rate, AdamWOptions options)
    : Adam("AdamW", std::move(parameters), learning_rate,
           {.beta1 = options.beta1,
            .beta2 = options.beta2,
            .epsilon = options.epsilon,
            .weight_decay = options.weight_decay},
           true) {}

void Adam::set_options(const AdamOptions& options) {
    check_range(name(), "beta1", options.beta1, 0.0, 1.0, false, true);
    check_range(name(), "beta2", options.beta2, 0.0, 1.0, false, true);
    check_range(name(), "epsilon", options.epsilon, 0.0, INFINITY, true, true);
    check_weight_decay(name(), options.weight_decay);
    options_ = options;
}
void Adam::set_beta1(double beta1) { set_options(with(options_, &AdamOptions::beta1, beta1)); }
void Adam::set_beta2(double beta2) { set_options(with(options_, &AdamOptions::beta2, beta2)); }
void Adam::set_epsilon(double epsilon) { set_options(with(options_, &AdamOptions::epsilon, epsilon)); }
void Adam::set_weight_decay(double weight_decay) {
    set_options(with(options_, &AdamOptions::weight_decay, weight_decay));
}

std::map<std::string, double> Adam::hyper_parameters() const {
    return {{"beta1", options_.beta1},
            {"beta2", options_.beta2},
            {"epsilon", options_.epsilon},
            {"weight_decay", options_.weight_decay}};
}

void Adam::set_hyper_parameters(const std::map<std::string, double>& values) {
    set_options({.beta1 = values.at("beta1"),
                 .beta2 = values.at("beta2"),
                 .epsilon = values.at("epsilon"),
                 .weight_decay = values.at("weight_decay")});
}

namespace {
template <class T>
struct AdamConstants {
    T beta1, one_minus_beta1, beta2, one_minus_beta2, decay_factor, l2;
    double correction1, correction2, lr, epsilon;
};

// One Adam step over n elements: the moments in the parameter's precision T, the bias-corrected step
// in double (the course's arithmetic, kept bit for bit for float32 and float64 alike). On distinct
// (restrict) arrays and without branches, so it vectorises — division and square root dominate, and
// a scalar loop over the CNN's 420 000 parameters cost more than its pooling. decay_factor scales w
// first (AdamW: 1 − lr·wd, else 1); l2 adds l2·w to the gradient (Adam's weight_decay, else 0).
template <class T>
[[gnu::always_inline]] inline void adam_loop(T* __restrict w, const T* __restrict g, T* __restrict v,
                                             T* __restrict s, std::size_t n, const AdamConstants<T>& constants) {
    const AdamConstants<T> c = constants;  // a local copy: the stores to w cannot change it
    for (std::size_t i = 0; i < n; ++i) {
        const T weight = w[i] * c.decay_factor;
        const T d = g[i] + c.l2 * weight;
        v[i] = c.beta1 * v[i] + c.one_minus_beta1 * d;
        s[i] = c.beta2 * s[i] + c.one_minus_beta2 * d * d;
        const double v_hat = v[i] / c.correction1, s_hat = s[i] / c.correction2;
        w[i] = static_cast<T>(weight - c.lr * v_hat / (std::sqrt(s_hat) + c.epsilon));
    }
}
XGRAD_VECTOR_CLONES void adam_step(float* w, const float* g, float* v, float* s, std::size_t n,
                                   const AdamConstants<float>& c) {
    adam_loop(w, g, v, s, n, c);
}
XGRAD_VECTOR_CLONES void adam_step(double* w, const double* g, double* v, double* s, std::size_t n,
                                   const AdamConstants<double>& c) {
    adam_loop(w, g, v, s, n, c);
}
}  // namespace

void Adam::update(std::size_t k, Array& w, const Array& g) {
    const double wd = options_.weight_decay, lr = learning_rate();
    const double correction1 = 1 - std::pow(options_.beta1, static_cast<double>(step_count()));
    const double correction2 = 1 - std::pow(options_.beta2, static_cast<double>(step_count()));
    // weight_decay: AdamW shrinks w, decoupled from the gradient's moments; Adam adds wd·w to g (L2).
    const double decay_factor = decoupled_ ? 1 - lr * wd : 1.0, l2 = decoupled_ ? 0.0 : wd;
    detail::dispatch(w.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const AdamConstants<T> c{static_cast<T>(options_.beta1), static_cast<T>(1 - options_.beta1),
                                 static_cast<T>(options_.beta2), static_cast<T>(1 - options_.beta2),
                                 static_cast<T>(decay_factor),   static_cast<T>(l2),
                                 correction1, correction2, lr, options_.epsilon};
        T *weights = w.data<T>(), *v = v_[k].data<T>(), *s = s_[k].data<T>();
        const T* grads = g.data<T>();
        parallel_for(w.size(), elements_per_task, [&](std::size_t begin, std::size_t end) {
            adam_step(weights + begin, grads + begin, v + begin, s + begin, end - begin, c);
        });
    });
}

// ---- RMSprop ----

namespace {
void check(const RMSpropOptions& o) {
    check_range("RMSprop", "alpha", o.alpha, 0.0, 1.0, false, true);
    check_range("RMSprop", "epsilon", o.epsilon, 0.0, INFINITY, true, true);
    check_range("RMSprop", "momentum", o.momentum, 0.0, 1.0, false, true);
    check_weight_decay("RMSprop", o.weight_decay);
}
}  // namespace

RMSprop::RMSprop(std::vector<Tensor> parameters, double learning_rate, RMSpropOptions options)
    : Optimizer("RMSprop", std::move(parameters), learning_rate) {
    set_options(options);
    allocate(square_avg_);
}

void RMSprop::set_options(const RMSpropOptions& options) {
    check(options);
    options_ = options;
}
void RMSprop::set_alpha(double alpha) { set_options(with(options_, &RMSpropOptions::alpha, alpha)); }
void RMSprop::set_epsilon(double epsilon) { set_options(with(options_, &RMSpropOptions::epsilon, epsilon)); }
void RMSprop::set_momentum(double momentum) {
    set_options(with(options_, &RMSpropOptions::momentum, momentum));
}
void RMSprop::set_weight_decay(double weight_decay) {
    set_options(with(options_, &RMSpropOptions::weight_decay, weight_decay));
}

std::map<std::string, double> RMSprop::hyper_parameters() const {
    return {{"alpha", options_.alpha},
            {"epsilon", options_.epsilon},
            {"momentum", options_.momentum},
            {"weight_decay", options_.weight_decay}};
}

void RMSprop::set_hyper_parameters(const std::map<std::string, double>& values) {
    set_options({.alpha = values.at("alpha"),
                 .epsilon = values.at("epsilon"),
                 .momentum = values.at("momentum"),
                 .weight_decay = values.at("weight_decay")});
}

void RMSprop::update(std::size_t k, Array& w, const Array& g) {
    const double alpha = options_.alpha, epsilon = options_.epsilon, mu = options_.momentum;
    const double wd = options_.weight_decay;
    if (mu != 0.0) allocate(momentum_buffer_);
    detail::dispatch(w.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* wp = w.data<T>();
        const T* gp = g.data<T>();
        T* s = square_avg_[k].data<T>();
        T* buf = mu != 0.0 ? momentum_buffer_[k].data<T>() : nullptr;
        const T lr_t = static_cast<T>(learning_rate()), alpha_t = static_cast<T>(alpha),
                eps_t = static_cast<T>(epsilon);
        for (std::size_t i = 0, n = w.size(); i < n; ++i) {
            const T d = wd != 0.0 ? gp[i] + static_cast<T>(wd) * wp[i] : gp[i];
            s[i] = alpha_t * s[i] + static_cast<T>(1 - alpha) * d * d;
            const T step = d / (std::sqrt(s[i]) + eps_t);
            if (buf) {
                buf[i] = static_cast<T>(mu) * buf[i] + step;
                wp[i] = wp[i] - lr_t * buf[i];
            } else {
                wp[i] = wp[i] - lr_t * step;
            }
        }
    });
}

}  // namespace xgrad
