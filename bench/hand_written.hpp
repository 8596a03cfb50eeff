#pragma once
// The practical floor for the regularization net's step: the same arithmetic written directly with
// plain loops and cblas_dgemm, no graph, no allocation per step.

#include <cstddef>
#include <vector>

namespace xgrad::bench {

class HandWrittenRegNet {
public:
    /// Weights drawn like the course (randn / sqrt(n_prev), seed 3); X (2, m), Y (1, m).
    HandWrittenRegNet(const std::vector<double>& X, const std::vector<double>& Y, std::size_t m);
    /// One full-batch step: forward, mean BCE, backward, W -= lr·dW. keep_prob < 1 adds dropout
    /// (constant or batch-measured scale) after both hidden layers. Returns the cost.
    double step(double learning_rate, double keep_prob = 1.0, bool measured = false);

private:
    std::size_t m_;
    std::vector<double> X_, Y_, W1_, b1_, W2_, b2_, W3_, b3_;
    std::vector<double> Z1_, A1_, Z2_, A2_, A3_, D1_, D2_, dZ3_, dA2_, dA1_, dW1_, dW2_, dW3_;
    unsigned long rng_ = 88172645463325252ull;
};

}  // namespace xgrad::bench
