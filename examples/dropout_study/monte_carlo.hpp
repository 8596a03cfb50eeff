#pragma once
// Measurement 1: the dropout op alone, by Monte Carlo, against the exact moments of each mode
// (docs/dropout-scaling.md derives them), and the distribution of the measured scale.

#include <cstddef>
#include <string>
#include <vector>

#include "common/stats.hpp"
#include "dropout_study/study.hpp"

namespace xgrad::examples::dropout_study {

/// One unit's output y₀ and one example's layer sum S = Σᵢ yᵢ, each divided by what evaluation mode
/// outputs (x₀ and Σx; p·x₀ and p·Σx for classic), so 1 means "the same as at test time" and the
/// variances are squared coefficients of variation, comparable across modes.
struct Moments {
    double unit_mean = 0, unit_variance = 0, sum_mean = 0, sum_variance = 0;
};

/// The measured scale's exact distribution summary: E[s] (s = G/K, 0 when all dropped), sd, P(K = 0).
struct ScaleMoments {
    double mean = 0, sd = 0, all_dropped = 0;
};

struct MonteCarloCell {
    std::string input;  // "ones" or "varied"
    std::size_t units = 0, examples = 0;
    DropoutScale mode = DropoutScale::constant;
    double keep_prob = 0;
    std::size_t samples = 0;
    ex::Summary unit_mean, unit_variance, sum_mean, sum_variance;  // over independent blocks
    Moments exact;
};

// The scale itself: batch-measured over (units × examples) and per-example over units.
struct ScaleCell {
    DropoutScale mode = DropoutScale::measured;
    std::size_t units = 0, examples = 0;
    double keep_prob = 0;
    std::vector<double> samples;
    ScaleMoments exact;
    std::size_t group() const { return mode == DropoutScale::measured ? units * examples : units; }
    std::string kind() const {
        return mode == DropoutScale::measured
                   ? "batch " + std::to_string(units) + "x" + std::to_string(examples)
                   : "per-example " + std::to_string(units);
    }
};

/// Every (input, units, mode, keep_prob) cell of the op's Monte Carlo, with a batch of `examples`.
std::vector<MonteCarloCell> run_monte_carlo(std::size_t examples, const StudySettings& s);

/// Samples of the measured scale, batch and per-example, for every keep_prob.
std::vector<ScaleCell> run_scale_distribution(std::size_t examples, const StudySettings& s);

/// An exact value "matches" its estimate when it lies in the 95% interval widened by 1/N: an effect
/// rarer than one event in the cell's N samples (say, all units of an example dropped at p = 0.5
/// with 20 units: 1e-6) cannot show in the sample, and then every block agrees and the interval is
/// empty.
bool matches(const ex::Summary& estimate, double exact, std::size_t samples);

}  // namespace xgrad::examples::dropout_study
