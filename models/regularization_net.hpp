#pragma once
// The course's regularization net: LINEAR→RELU→(DROPOUT)→LINEAR→RELU→(DROPOUT)→LINEAR→SIGMOID,
// trained by full-batch gradient descent on mean binary cross-entropy with optional L2 — and the
// notebook's protocol, so its printed numbers can be reproduced digit for digit.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "models/data/datasets.hpp"
#include "models/module.hpp"

namespace xgrad {

struct RegNetConfig {
    std::vector<std::size_t> layer_dims = {2, 20, 3, 1};
    double learning_rate = 0.3;
    std::size_t iterations = 30000;
    double lambd = 0.0;      ///< L2 strength (0 = off); the course uses 0.7
    double keep_prob = 1.0;  ///< dropout after every hidden layer when < 1; the course uses 0.86
    DropoutScale scale = DropoutScale::constant;
    std::uint32_t seed = 3;  ///< seeds the global generator before the weights are drawn
    /// The notebook calls np.random.seed(1) at the start of every forward pass, so every step uses
    /// the same masks; this reproduces that. Off: fresh masks every step from the global stream.
    bool reseed_each_step = false;
    std::uint32_t mask_seed = 1;
    std::size_t record_every = 1000;  ///< the notebook keeps every 1000th cost for its plot
    /// Hidden layers with dropout as LinearReLUDropout modules (one node each, the same values);
    /// off: Linear, ReLU and Dropout modules, one node per op, as the DOT pictures show them.
    bool fused = false;
};

class RegularizationNet : public Module {
public:
    /// Draws W_l = randn(n_l, n_{l-1}) / sqrt(n_{l-1}) from gen in layer order; biases are zeros.
    RegularizationNet(const std::vector<std::size_t>& layer_dims, double keep_prob, DropoutScale scale,
                      Generator& gen, bool fused = false);
    /// A_L: probabilities of shape (1, m).
    Tensor forward(const Tensor& X) override;
    /// Mean binary cross-entropy of A_L against Y, plus λ/(2m)·Σ||W||² when λ > 0.
    Tensor cost(const Tensor& A, const Tensor& Y, double lambd) const;
    std::vector<Tensor> weights() const;
    /// Fraction of examples with (A > 0.5) == Y, computed in evaluation mode.
    double accuracy(const LabeledData& data);

private:
    std::shared_ptr<Sequential> layers_;
    std::vector<std::shared_ptr<Linear>> linears_;
};

struct TrainReport {
    std::vector<std::pair<std::size_t, double>> costs;  ///< (iteration, cost) every record_every
    double final_cost = 0.0;
    double train_accuracy = 0.0, test_accuracy = 0.0;
    double seconds = 0.0;
};

/// Called at every iteration with (iteration, cost); the example prints every 10 000th.
using IterationCallback = std::function<void(std::size_t iteration, double cost)>;

/// The notebook's initialize_parameters: seeds the global generator with config.seed and draws the
/// weights from it.
std::unique_ptr<RegularizationNet> make_regularization_net(const RegNetConfig& config);
/// The notebook's model() loop: `iterations` full-batch steps (forward, cost, backward,
/// W -= lr·dW), then accuracies on train and test.
/// after_first_backward sees the cost of step 0 once its backward has run (graph export, with
/// gradient norms); the step's update happens after it returns.
TrainReport train(RegularizationNet& model, const Dataset& data, const RegNetConfig& config,
                  const IterationCallback& on_iteration = {},
                  const std::function<void(const Tensor& cost)>& after_first_backward = {});

}  // namespace xgrad
