#pragma once
// Gradient checking by central finite differences in float64, usable from user code on a whole model
// loss (all parameters as one vector, like the course's gradient_check_n) or on a single op.

#include <functional>
#include <string>
#include <vector>

#include "framework/tensor.hpp"

namespace xgrad {

struct GradcheckOptions {
    double epsilon = 1e-7;    ///< the finite-difference step (the course's value)
    double tolerance = 2e-7;  ///< pass when the relative difference is below this (the course's value)
    /// Record the dropout masks of the first evaluation and replay them in every later one, so the
    /// function is deterministic (see MaskReplay). Without it, dropout's gradient cannot be checked.
    bool replay_masks = true;
};

struct GradcheckReport {
    bool passed = false;
    /// ||g − g̃||₂ / (||g||₂ + ||g̃||₂) over all checked elements (the course's "difference").
    double difference = 0.0;
    /// The element with the largest |g − g̃|: which input (name or index), which flat index.
    std::string worst_input;
    std::size_t worst_index = 0;
    double worst_analytic = 0.0;
    double worst_numeric = 0.0;
    std::size_t elements = 0;     ///< elements checked
    std::size_t evaluations = 0;  ///< function evaluations made
    std::vector<double> analytic, numeric;  ///< all inputs' gradients, flattened and concatenated

    /// One line: PASS/FAIL, the difference, and the worst element.
    std::string summary() const;
};

/// Checks the gradient of `function` with respect to `inputs` (float64 leaves that require grad).
/// A non-scalar output y is reduced to Σ w ⊙ y with fixed pseudo-random weights w, so every output
/// element is checked with a distinct weight. The inputs' .grad hold the analytic gradient afterwards.
GradcheckReport gradcheck(const std::function<Tensor()>& function, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace xgrad
