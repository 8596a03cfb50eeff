#pragma once
// Optimizers edit parameter values in place, outside the graph. SGD (plain), Momentum and Adam keep
// the course's formulas (the optimization assignment), so its reproductions stay bit for bit; SGD's
// momentum and Nesterov, AdamW and RMSprop follow PyTorch's documented update rules.
//
// Hyper-parameters change only through setters that validate them (ValueError naming the optimizer,
// the parameter and the value), so a scheduler or a loaded checkpoint cannot put an optimizer in a
// state its constructor would refuse.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "framework/tensor.hpp"

namespace xgrad {

class Optimizer {
public:
    virtual ~Optimizer() = default;

    /// Applies one update from the parameters' current .grad (a parameter without one is skipped).
    /// ShapeError / DTypeError if a gradient (edited through mutable_grad) no longer fits its parameter.
    void step();
    void zero_grad();
    const std::vector<Tensor>& parameters() const { return parameters_; }
    /// "SGD", "Adam", ...: errors and saved states are named by it.
    const std::string& name() const { return name_; }
    /// Steps taken so far (Adam's bias correction counts them).
    std::int64_t step_count() const { return steps_; }

    double learning_rate() const { return learning_rate_; }
    /// ValueError unless 0 <= lr < inf (0 is allowed: a schedule may anneal to it).
    void set_learning_rate(double learning_rate);

    /// Writes an .npz (atomically): "optimizer.<name>", "step", "parameters" (their count),
    /// "hyper.<name>" for the learning rate and each hyper-parameter, and "state.<k>.<buffer>" for
    /// each state buffer of parameter k (numpy.load reads it).
    void save_state(const std::string& path) const;
    /// Restores what save_state wrote, hyper-parameters included, so training resumes exactly. Checks
    /// everything first (optimizer kind, parameter count, every member's presence, shape and dtype,
    /// the hyper-parameters' ranges): on IoError (naming the path and the mismatch) nothing changed.
    void load_state(const std::string& path);

protected:
    Optimizer(std::string name, std::vector<Tensor> parameters, double learning_rate);

    /// Updates parameter k; its gradient g has w's shape and dtype.
    virtual void update(std::size_t k, Array& w, const Array& g) = 0;

    /// The hyper-parameters besides the learning rate, by name (booleans as 0/1), for save_state.
    virtual std::map<std::string, double> hyper_parameters() const = 0;
    /// Adopts a complete set as hyper_parameters() names it, or throws ValueError changing nothing.
    virtual void set_hyper_parameters(const std::map<std::string, double>& values) = 0;

    /// A per-parameter state buffer: one Array per parameter, or none yet when `lazy` (SGD allocates
    /// its momentum buffers at the first step that uses them, as PyTorch does).
    struct StateBuffer {
        std::string name;
        std::vector<Array>* arrays;
        bool lazy;
    };
    virtual std::vector<StateBuffer> state_buffers() { return {}; }
    /// One zero-filled array per parameter, unless there already is.
    void allocate(std::vector<Array>& buffer) const;

    std::vector<Tensor> parameters_;

private:
    std::string name_;
    double learning_rate_;
    std::int64_t steps_ = 0;
};

struct SGDOptions {
    double momentum = 0.0;      ///< μ in [0, 1); 0 is plain SGD
    bool nesterov = false;      ///< needs a momentum
    double weight_decay = 0.0;  ///< L2: added to the gradient as weight_decay·w
};

/// PyTorch's SGD: g = dW + wd·W;  buf = μ·buf + g;  g = nesterov ? g + μ·buf : buf (with a momentum);
/// W = W - lr · g. Without momentum or weight decay it is the course's W = W - lr·dW, bit for bit.
class SGD : public Optimizer {
public:
    SGD(std::vector<Tensor> parameters, double learning_rate, SGDOptions options = {});

    const SGDOptions& options() const { return options_; }
    void set_options(const SGDOptions& options);
    double momentum() const { return options_.momentum; }
    void set_momentum(double momentum);
    bool nesterov() const { return options_.nesterov; }
    void set_nesterov(bool nesterov);
    double weight_decay() const { return options_.weight_decay; }
    void set_weight_decay(double weight_decay);

protected:
    void update(std::size_t k, Array& w, const Array& g) override;
    std::map<std::string, double> hyper_parameters() const override;
    void set_hyper_parameters(const std::map<std::string, double>& values) override;
    std::vector<StateBuffer> state_buffers() override {
        return {{"momentum_buffer", &momentum_buffer_, true}};
    }

private:
    SGDOptions options_;
    std::vector<Array> momentum_buffer_;
};

struct MomentumOptions {
    double beta = 0.9;          ///< in [0, 1)
    double weight_decay = 0.0;  ///< L2: added to the gradient as weight_decay·W
};

/// The course's momentum: v = β·v + (1-β)·dW;  W = W - lr · v  (dW + wd·W with a weight decay).
class Momentum : public Optimizer {
public:
    Momentum(std::vector<Tensor> parameters, double learning_rate, double beta = 0.9);
    Momentum(std::vector<Tensor> parameters, double learning_rate, MomentumOptions options);

    const MomentumOptions& options() const { return options_; }
    void set_options(const MomentumOptions& options);
    double beta() const { return options_.beta; }
    void set_beta(double beta);
    double weight_decay() const { return options_.weight_decay; }
    void set_weight_decay(double weight_decay);

protected:
    void update(std::size_t k, Array& w, const Array& g) override;
    std::map<std::string, double> hyper_parameters() const override;
    void set_hyper_parameters(const std::map<std::string, double>& values) override;
    std::vector<StateBuffer> state_buffers() override { return {{"velocity", &velocity_, false}}; }

private:
    MomentumOptions options_;
    std::vector<Array> velocity_;
};

struct AdamOptions {
    double beta1 = 0.9;         ///< in [0, 1)
    double beta2 = 0.999;       ///< in [0, 1)
    double epsilon = 1e-8;      ///< > 0
    double weight_decay = 0.0;  ///< Adam: L2 added to the gradient; AdamW: decoupled
};

/// The course's Adam: v = β1·v + (1-β1)·dW;  s = β2·s + (1-β2)·dW²;  v̂ = v/(1-β1^t);  ŝ = s/(1-β2^t);
/// W = W - lr · v̂ / (√ŝ + ε). A weight decay is L2-style, dW + wd·W, as in PyTorch's Adam.
/// t is step_count(); PyTorch counts per parameter, which differs only for a parameter skipped at a
/// step for lack of a gradient.
class Adam : public Optimizer {
public:
    Adam(std::vector<Tensor> parameters, double learning_rate = 0.001, double beta1 = 0.9,
         double beta2 = 0.999, double epsilon = 1e-8);
    Adam(std::vector<Tensor> parameters, double learning_rate, AdamOptions options);

    const AdamOptions& options() const { return options_; }
    void set_options(const AdamOptions& options);
    double beta1() const { return options_.beta1; }
    void set_beta1(double beta1);
    double beta2() const { return options_.beta2; }
    void set_beta2(double beta2);
    double epsilon() const { return options_.epsilon; }
    void set_epsilon(double epsilon);
    double weight_decay() const { return options_.weight_decay; }
    void set_weight_decay(double weight_decay);

protected:
    /// AdamW's: `decoupled` applies the weight decay to W itself instead of to the gradient.
    Adam(std::string name, std::vector<Tensor> parameters, double learning_rate, AdamOptions options,
         bool decoupled);
    void update(std::size_t k, Array& w, const Array& g) override;
    std::map<std::string, double> hyper_parameters() const override;
    void set_hyper_parameters(const std::map<std::string, double>& values) override;
    std::vector<StateBuffer> state_buffers() override { return {{"v", &v_, false}, {"s", &s_, false}}; }

private:
    AdamOptions options_;
    bool decoupled_ = false;
    std::vector<Array> v_, s_;
};

/// AdamOptions with PyTorch's AdamW default weight decay.
struct AdamWOptions {
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
    double weight_decay = 0.01;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's AdamW): W = W·(1 - lr·wd), then
/// Adam's step from the undecayed gradient. options() and the setters are Adam's.
class AdamW : public Adam {
public:
    AdamW(std::vector<Tensor> parameters, double learning_rate = 0.001, AdamWOptions options = {});
};

struct RMSpropOptions {
    double alpha = 0.99;        ///< smoothing of the squared gradient, in [0, 1)
    double epsilon = 1e-8;      ///< > 0
    double momentum = 0.0;      ///< in [0, 1)
    double weight_decay = 0.0;  ///< L2: added to the gradient as weight_decay·W
};

/// PyTorch's RMSprop: g = dW + wd·W;  s = α·s + (1-α)·g²;  with a momentum μ: buf = μ·buf + g/(√s + ε),
/// W = W - lr · buf; without: W = W - lr · g/(√s + ε).
class RMSprop : public Optimizer {
public:
    RMSprop(std::vector<Tensor> parameters, double learning_rate = 0.01, RMSpropOptions options = {});

    const RMSpropOptions& options() const { return options_; }
    void set_options(const RMSpropOptions& options);
    double alpha() const { return options_.alpha; }
    void set_alpha(double alpha);
    double epsilon() const { return options_.epsilon; }
    void set_epsilon(double epsilon);
    double momentum() const { return options_.momentum; }
    void set_momentum(double momentum);
    double weight_decay() const { return options_.weight_decay; }
    void set_weight_decay(double weight_decay);

protected:
    void update(std::size_t k, Array& w, const Array& g) override;
    std::map<std::string, double> hyper_parameters() const override;
    void set_hyper_parameters(const std::map<std::string, double>& values) override;
    std::vector<StateBuffer> state_buffers() override {
        return {{"square_avg", &square_avg_, false}, {"momentum_buffer", &momentum_buffer_, true}};
    }

private:
    RMSpropOptions options_;
    std::vector<Array> square_avg_, momentum_buffer_;
};

}  // namespace xgrad
