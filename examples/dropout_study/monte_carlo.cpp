// The dropout op alone: exact moments of each mode, and a Monte Carlo that checks them.

#include "dropout_study/monte_carlo.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "dropout_study/parallel.hpp"

namespace xgrad::examples::dropout_study {
namespace {

// ---- exact moments of each mode (docs/dropout-scaling.md derives them) ----------------------------

/// ln Γ(x) without lgamma's write to the global `signgam`, a data race when the study's jobs run
/// on several threads (found by ThreadSanitizer). Same values.
double log_gamma(double x) {
    int sign = 0;
    return ::lgamma_r(x, &sign);
}

/// P(K = k) for K ~ Binomial(n, p), k = 0..n, computed in logs (n reaches tens of thousands).
std::vector<double> binomial_pmf(std::size_t n, double p) {
    std::vector<double> pmf(n + 1);
    const double log_p = std::log(p), log_q = std::log1p(-p), log_n = log_gamma(static_cast<double>(n) + 1);
    for (std::size_t k = 0; k <= n; ++k) {
        const double kd = static_cast<double>(k), rest = static_cast<double>(n - k);
        pmf[k] = std::exp(log_n - log_gamma(kd + 1) - log_gamma(rest + 1) + kd * log_p + rest * log_q);
    }
    return pmf;
}

/// Exact moments for inputs x (one example's units) when the mask covers `examples` such examples.
/// Measured modes scale by G/K over a group of G units (G = units·examples for the batch, G = units
/// per example), K ~ Binomial(G, p) kept, scale 0 when K = 0 (probability P₀ = q^G, q = 1 - p).
/// Given K = k ≥ 1 the kept set is a uniform k-subset of the group, so (normalized as Moments says)
///   E[y₀ | k] = E[S | k] = 1,   Var[y₀ | k] = G/k - 1,
///   Var[S | k] = (G - k) / (k (G - 1)) · (G r - 1),  r = Σx² / (Σx)²   (sampling without replacement),
/// and Var = E[Var(· | K)] + Var(E[· | K]) adds P₀ (1 - P₀) for the all-dropped case. Every term is
/// non-negative, so the sums lose no digits to cancellation.
Moments exact_moments(DropoutScale mode, double p, const std::vector<double>& x, std::size_t examples) {
    double sum = 0, sum_of_squares = 0;
    for (double v : x) sum += v, sum_of_squares += v * v;
    const double r = sum_of_squares / (sum * sum);
    Moments m;
    if (mode == DropoutScale::constant || mode == DropoutScale::classic) {
        // Classic divided by its evaluation output p·x is D/p: the same distribution as constant.
        m.unit_mean = m.sum_mean = 1.0;
        m.unit_variance = (1 - p) / p;
        m.sum_variance = (1 - p) / p * r;
        return m;
    }
    const std::size_t group = mode == DropoutScale::measured ? x.size() * examples : x.size();
    const double g = static_cast<double>(group);
    const std::vector<double> pmf = binomial_pmf(group, p);
    const double all_dropped = pmf[0], kept_some = -std::expm1(g * std::log1p(-p));
    double unit_spread = 0, sum_spread = 0;  // E[Var(· | K)]
    for (std::size_t k = 1; k <= group; ++k) {
        const double kd = static_cast<double>(k);
        unit_spread += pmf[k] * (g / kd - 1);
        if (group > 1) sum_spread += pmf[k] * (g - kd) / (kd * (g - 1)) * (g * r - 1);
    }
    m.unit_mean = m.sum_mean = kept_some;
    m.unit_variance = unit_spread + all_dropped * kept_some;
    m.sum_variance = sum_spread + all_dropped * kept_some;
    return m;
}

/// The measured scale's exact distribution summary: E[s] (s = G/K, 0 when all dropped), sd, P(K = 0).
ScaleMoments exact_scale_moments(std::size_t group, double p) {
    const std::vector<double> pmf = binomial_pmf(group, p);
    double first = 0, second = 0;
    for (std::size_t k = 1; k <= group; ++k) {
        const double s = static_cast<double>(group) / static_cast<double>(k);
        first += pmf[k] * s;
        second += pmf[k] * s * s;
    }
    return {first, std::sqrt(std::max(0.0, second - first * first)), pmf[0]};
}

// ---- the Monte Carlo ------------------------------------------------------------------------------

/// One example's inputs: all ones, or a fixed ReLU-like profile |z| (z standard normal) so that the
/// units differ, which is where the measured scale stops preserving the sum exactly.
std::vector<double> example_inputs(const std::string& input, std::size_t units) {
    std::vector<double> x(units, 1.0);
    if (input == "varied") {
        Generator profile(2024);
        for (double& v : x) v = std::abs(profile.normal());
    }
    return x;
}

/// Feeds `examples` copies of the example through the dropout op blocks × draws times. Each block's
/// estimates (mean and sample variance over its draws × examples values) are independent of the
/// other blocks', so the interval over blocks is honest even for the batch-measured mode, where the
/// examples of one draw share their scale.
MonteCarloCell run_monte_carlo_cell(MonteCarloCell cell, std::uint32_t seed, const StudySettings& s) {
    const std::vector<double> x = example_inputs(cell.input, cell.units);
    Array inputs({cell.units, cell.examples});
    for (std::size_t i = 0; i < cell.units; ++i)
        for (std::size_t j = 0; j < cell.examples; ++j) inputs.set_flat(i * cell.examples + j, x[i]);
    const Tensor X = constant(inputs);
    double input_sum = 0;
    for (double v : x) input_sum += v;
    const double test_time_factor = cell.mode == DropoutScale::classic ? cell.keep_prob : 1.0;
    const double eval_unit = test_time_factor * x[0], eval_sum = test_time_factor * input_sum;

    Generator masks(seed);
    DropoutOptions options{.keep_prob = cell.keep_prob, .scale = cell.mode, .generator = &masks};
    std::vector<double> unit_means, unit_variances, sum_means, sum_variances;
    NoGradGuard no_graph;  // only values are needed
    for (std::size_t block = 0; block < s.mc_blocks; ++block) {
        ex::RunningStats unit, layer_sum;
        for (std::size_t draw = 0; draw < s.mc_draws_per_block; ++draw) {
            const Array y = dropout(X, options).value();
            const double* values = y.data<double>();
            for (std::size_t j = 0; j < cell.examples; ++j) {
                double example_sum = 0;
                for (std::size_t i = 0; i < cell.units; ++i) example_sum += values[i * cell.examples + j];
                unit.add(values[j] / eval_unit);
                layer_sum.add(example_sum / eval_sum);
            }
        }
        unit_means.push_back(unit.mean());
        unit_variances.push_back(unit.variance());
        sum_means.push_back(layer_sum.mean());
        sum_variances.push_back(layer_sum.variance());
    }
    cell.samples = s.mc_blocks * s.mc_draws_per_block * cell.examples;
    cell.unit_mean = ex::summarize(unit_means);
    cell.unit_variance = ex::summarize(unit_variances);
    cell.sum_mean = ex::summarize(sum_means);
    cell.sum_variance = ex::summarize(sum_variances);
    cell.exact = exact_moments(cell.mode, cell.keep_prob, x, cell.examples);
    return cell;
}

ScaleCell run_scale_cell(ScaleCell cell, std::uint32_t seed, const StudySettings& s) {
    Generator masks(seed);
    const DropoutOptions options{.keep_prob = cell.keep_prob, .scale = cell.mode, .generator = &masks};
    // A recorded node (the input requires grad) keeps the scale it used, which dropout_state reads.
    const Tensor X = parameter(Array::ones({cell.units, cell.examples}));
    while (cell.samples.size() < s.scale_samples) {
        const DropoutState state = dropout_state(dropout(X, options));
        cell.samples.insert(cell.samples.end(), state.scales.begin(), state.scales.end());
    }
    cell.exact = exact_scale_moments(cell.group(), cell.keep_prob);
    return cell;
}

}  // namespace

std::vector<MonteCarloCell> run_monte_carlo(std::size_t examples, const StudySettings& s) {
    std::vector<MonteCarloCell> cells;
    for (const std::string input : {"ones", "varied"})
        for (std::size_t units : {3, 20, 100})
            for (DropoutScale mode : study_modes)
                for (double p : s.keep_probs)
                    cells.push_back(
                        {.input = input, .units = units, .examples = examples, .mode = mode, .keep_prob = p});
    run_parallel(cells.size(), s.jobs, "Monte Carlo", [&](std::size_t i) {
        cells[i] = run_monte_carlo_cell(cells[i], static_cast<std::uint32_t>(5000 + i), s);
    });
    return cells;
}

std::vector<ScaleCell> run_scale_distribution(std::size_t examples, const StudySettings& s) {
    std::vector<ScaleCell> cells;
    for (DropoutScale mode : {DropoutScale::measured, DropoutScale::per_example})
        for (std::size_t units : {3, 20})
            for (double p : s.keep_probs)
                cells.push_back({.mode = mode, .units = units, .examples = examples, .keep_prob = p});
    run_parallel(cells.size(), s.jobs, "scales", [&](std::size_t i) {
        cells[i] = run_scale_cell(cells[i], static_cast<std::uint32_t>(9000 + i), s);
    });
    return cells;
}

bool matches(const ex::Summary& estimate, double exact, std::size_t samples) {
    const double resolution = 1.0 / static_cast<double>(samples);
    return std::abs(estimate.mean - exact) <= estimate.half_width + resolution;
}

}  // namespace xgrad::examples::dropout_study
