#pragma once
// Optimizers: the course's gradient-descent update, momentum and Adam with bias correction (the
// optimization assignment's formulas). They edit parameter values in place, outside the graph.

#include <vector>

#include "framework/tensor.hpp"

namespace xgrad {

class Optimizer {
public:
    explicit Optimizer(std::vector<Tensor> parameters);
    virtual ~Optimizer() = default;
    /// Applies one update from the parameters' current .grad (a parameter without one is skipped).
    virtual void step() = 0;
    void zero_grad();
    const std::vector<Tensor>& parameters() const { return parameters_; }

protected:
    std::vector<Tensor> parameters_;
};

/// W = W - lr · dW
class SGD : public Optimizer {
public:
    SGD(std::vector<Tensor> parameters, double learning_rate);
    void step() override;
    double learning_rate;
};

/// v = β·v + (1-β)·dW;  W = W - lr · v
class Momentum : public Optimizer {
public:
    Momentum(std::vector<Tensor> parameters, double learning_rate, double beta = 0.9);
    void step() override;
    double learning_rate, beta;

private:
    std::vector<Array> velocity_;
};

/// v = β1·v + (1-β1)·dW;  s = β2·s + (1-β2)·dW²;  v̂ = v/(1-β1^t);  ŝ = s/(1-β2^t);
/// W = W - lr · v̂ / (√ŝ + ε)
class Adam : public Optimizer {
public:
    Adam(std::vector<Tensor> parameters, double learning_rate = 0.001, double beta1 = 0.9, double beta2 = 0.999,
         double epsilon = 1e-8);
    void step() override;
    double learning_rate, beta1, beta2, epsilon;
    long step_count() const { return t_; }

private:
    std::vector<Array> v_, s_;
    long t_ = 0;
};

}  // namespace xgrad
