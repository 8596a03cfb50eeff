#include "framework/tools/gradcheck.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include "framework/engine.hpp"
#include "framework/errors.hpp"
#include "framework/mask_replay.hpp"
#include "framework/random.hpp"
#include "ops/ops.hpp"

namespace xgrad {

std::string GradcheckReport::summary() const {
    std::ostringstream os;
    os.precision(6);
    os << (passed ? "PASS" : "FAIL") << ": difference = " << difference << " over " << elements
       << " elements; worst " << worst_input << "[" << worst_index << "]: analytic " << worst_analytic
       << ", numeric " << worst_numeric;
    return os.str();
}

namespace {

/// Reduces a function's output to the scalar whose gradient is checked.
class Scalarizer {
public:
    Tensor operator()(const Tensor& y) {
        if (y.size() == 1) return y.ndim() == 0 ? y : reshape(y, {});
        if (!weights_.defined() || weights_.shape() != y.shape()) {
            Generator gen(20240601);
            weights_ = gen.rand(y.shape());  // in [0, 1): shifted to [0.5, 1.5) to avoid near-zero weights
            for (std::size_t i = 0; i < weights_.size(); ++i) weights_.set_flat(i, weights_.flat(i) + 0.5);
        }
        return sum(mul(y, constant(weights_)));
    }

private:
    Array weights_;
};

}  // namespace

GradcheckReport gradcheck(const std::function<Tensor()>& function, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
    if (!(options.epsilon > 0.0) || !std::isfinite(options.epsilon))
        throw ValueError("gradcheck: epsilon = " + std::to_string(options.epsilon) + " must be positive and finite");
    if (!(options.tolerance > 0.0))
        throw ValueError("gradcheck: tolerance = " + std::to_string(options.tolerance) + " must be positive");
    std::vector<std::string> names;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const Tensor& t = inputs[k];
        std::string name = t.defined() && !t.name().empty() ? t.name() : "input " + std::to_string(k);
        if (!t.defined() || !t.is_leaf() || !t.requires_grad())
            throw ValueError("gradcheck: " + name + " must be a leaf tensor that requires grad");
        if (t.dtype() != DType::f64)
            throw DTypeError("gradcheck: " + name + " is " + dtype_name(t.dtype()) +
                             "; finite differences need float64 (convert with astype)");
        names.push_back(std::move(name));
    }

    std::optional<MaskReplay> replay;
    if (options.replay_masks) replay.emplace();
    Scalarizer scalar_of;
    GradcheckReport report;

    // Analytic gradient: one backward (this evaluation records the dropout masks).
    for (Tensor t : inputs) t.zero_grad();
    Tensor loss = scalar_of(function());
    ++report.evaluations;
    if (!loss.requires_grad())
        throw GraphError("gradcheck: the function's output does not depend on any checked input");
    loss.backward();
    for (const Tensor& t : inputs) {
        const Array& g = t.grad();
        for (std::size_t i = 0; i < t.size(); ++i) report.analytic.push_back(g.defined() ? g.flat(i) : 0.0);
    }

    auto evaluate = [&] {
        if (replay) replay->rewind();
        NoGradGuard no_grad;
        ++report.evaluations;
        return scalar_of(function()).item();
    };

    // Numeric gradient: central differences, one element at a time.
    for (Tensor t : inputs) {
        Array& value = t.mutable_value();
        for (std::size_t i = 0; i < value.size(); ++i) {
            const double original = value.flat(i);
            value.set_flat(i, original + options.epsilon);
            const double plus = evaluate();
            value.set_flat(i, original - options.epsilon);
            const double minus = evaluate();
            value.set_flat(i, original);
            report.numeric.push_back((plus - minus) / (2.0 * options.epsilon));
        }
    }

    double diff2 = 0.0, g2 = 0.0, n2 = 0.0, worst = -1.0;
    std::size_t offset = 0;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        for (std::size_t i = 0; i < inputs[k].size(); ++i, ++offset) {
            const double g = report.analytic[offset], n = report.numeric[offset];
            diff2 += (g - n) * (g - n);
            g2 += g * g;
            n2 += n * n;
            const double err = std::abs(g - n);
            if (err > worst || (std::isnan(err) && worst < INFINITY)) {  // the first NaN, not the last
                worst = std::isnan(err) ? INFINITY : err;
                report.worst_input = names[k];
                report.worst_index = i;
                report.worst_analytic = g;
                report.worst_numeric = n;
            }
        }
    }
    report.elements = offset;
    const double denominator = std::sqrt(g2) + std::sqrt(n2);
    // A NaN or infinite gradient, analytic or numeric, fails: it is what a broken backward (or a
    // function evaluated outside its domain) produces, and `denominator > 0` is false for NaN.
    if (!std::isfinite(diff2) || !std::isfinite(denominator))
        report.difference = std::numeric_limits<double>::quiet_NaN();
    else
        report.difference = denominator > 0.0 ? std::sqrt(diff2) / denominator : 0.0;
    report.passed = std::isfinite(report.difference) && report.difference < options.tolerance;
    return report;
}

}  // namespace xgrad
