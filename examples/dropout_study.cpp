// The scaling question, measured. Dropout keeps each unit with probability p and rescales the kept
// ones; should the scale be the constant 1/p, or the kept fraction measured on the mask (over the
// batch, or per example), or no scale in training and ×p at test time (classic)?
//
// Three measurements (docs/dropout-scaling.md explains the math and the results):
//   1. the dropout op alone, by Monte Carlo: E and Var of one unit's output and of one example's
//      layer sum in each mode, against the exact values, and the distribution of the measured scale;
//   2. the course's regularization net trained on the football data for every mode × keep_prob ×
//      seed, with fresh masks at every step, paired across modes (same weights and masks per seed);
//   3. the cost of each mode: time per training step, and the dropout op alone.
//
//   dropout_study                  # the full study; tables and plots in out/dropout_study
//   dropout_study --quick          # a few seeds and steps: checks the pipeline end to end


#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/cli.hpp"
#include "common/json.hpp"
#include "common/stats.hpp"

using namespace xgrad;
namespace ex = xgrad::examples;

namespace {

// ---- settings ----------------------------------------------------------------------------------

const std::vector<DropoutScale> study_modes = {DropoutScale::constant, DropoutScale::measured,
                                               DropoutScale::per_example, DropoutScale::classic};

struct StudySettings {
    std::vector<double> keep_probs = {0.5, 0.6, 0.7, 0.8, 0.86, 0.9, 0.95, 0.99};
    std::size_t seeds = 30;
    std::size_t iterations = 4000;
    std::size_t jobs = 2;
    double learning_rate = 0.3;
    std::size_t curve_points = 50;  // training-cost checkpoints kept per run, for the learning curves
    // Monte Carlo of the op: blocks × draws masks per cell, each of shape (units, examples).
    std::size_t mc_blocks = 20;
    std::size_t mc_draws_per_block = 50;
    std::size_t scale_samples = 5000;      // scale values per (kind, keep_prob)
    std::size_t benchmark_repeats = 1000;  // op calls per timing round
    std::size_t benchmark_rounds = 15;
    bool quick = false;
    bool plots = true;
    std::string data_path = ex::default_football_path();
    std::string out_dir = "out/dropout_study";
    std::string json_path;
};

StudySettings quick_settings(StudySettings s) {
    s.seeds = 3;
    s.iterations = 300;
    s.curve_points = 10;
    s.mc_blocks = 4;
    s.mc_draws_per_block = 3;
    s.scale_samples = 300;
    s.benchmark_repeats = 100;
    s.benchmark_rounds = 3;
    return s;
}

// The weights of seed k come from Generator(k) and its masks from Generator(mask_seed_offset + k):
// two separate streams, both the same for every mode.
constexpr std::uint32_t mask_seed_offset = 1'000'000;

std::string fixed(double value, int digits) {
    if (std::isnan(value)) return "nan";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

std::string mode_label(DropoutScale mode) {
    return scale_name(mode);
}

/// The keep_probs the pictures single out: the smallest, and the course's 0.86 (else the largest).
std::vector<double> pictured_keep_probs(const std::vector<double>& keep_probs) {
    const auto [smallest, largest] = std::minmax_element(keep_probs.begin(), keep_probs.end());
    const bool has_course_value = std::find(keep_probs.begin(), keep_probs.end(), 0.86) != keep_probs.end();
    const double second = has_course_value ? 0.86 : *largest;
    if (second == *smallest) return {second};
    return {*smallest, second};
}

/// The keep_probs the markdown tables of the op show (0.5, 0.86, 0.99 when present; else all).
bool tabulated(double keep_prob, const std::vector<double>& keep_probs) {
    const std::vector<double> preferred = {0.5, 0.86, 0.99};
    const bool any_preferred = std::any_of(keep_probs.begin(), keep_probs.end(), [&](double p) {
        return std::find(preferred.begin(), preferred.end(), p) != preferred.end();
    });
    return !any_preferred || std::find(preferred.begin(), preferred.end(), keep_prob) != preferred.end();
}

// ---- running tasks on several threads -------------------------------------------------------------

/// Runs task(i) for every i in [0, count) on `jobs` threads (the calling thread is one of them).
/// Tasks write only to their own result slot, so no locking is needed; the first exception stops the
/// remaining tasks and is rethrown here.
template <class Task>
void run_parallel(std::size_t count, std::size_t jobs, const std::string& label, const Task& task) {
    std::atomic<std::size_t> next{0};
    std::size_t done = 0;
    std::mutex mutex;  // guards done, progress and failure
    ex::Progress progress(label, count);
    std::exception_ptr failure;
    auto worker = [&] {
        for (std::size_t i = next++; i < count; i = next++) {
            try {
                task(i);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!failure) failure = std::current_exception();
                next = count;
                return;
            }
            std::lock_guard lock(mutex);
            progress.update(++done);
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t j = 1; j < std::min(jobs, count); ++j) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
}

/// Two threads each asking OpenBLAS for its own thread pool would oversubscribe the cores. OpenBLAS
/// reads OPENBLAS_NUM_THREADS when it is loaded, before main runs, so the environment variable is
/// too late here: ask the library itself, when it is the BLAS in use.
void use_single_threaded_blas() {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);  // for any child process
    set_num_threads(1);
}

// ---- exact moments of each mode (docs/dropout-scaling.md derives them) ----------------------------

/// P(K = k) for K ~ Binomial(n, p), k = 0..n, computed in logs (n reaches tens of thousands).
std::vector<double> binomial_pmf(std::size_t n, double p) {
    std::vector<double> pmf(n + 1);
    const double log_p = std::log(p), log_q = std::log1p(-p), log_n = std::lgamma(static_cast<double>(n) + 1);
    for (std::size_t k = 0; k <= n; ++k) {
        const double kd = static_cast<double>(k), rest = static_cast<double>(n - k);
        pmf[k] = std::exp(log_n - std::lgamma(kd + 1) - std::lgamma(rest + 1) + kd * log_p + rest * log_q);
    }
    return pmf;
}

/// One unit's output y₀ and one example's layer sum S = Σᵢ yᵢ, each divided by what evaluation mode
/// outputs (x₀ and Σx; p·x₀ and p·Σx for classic), so 1 means "the same as at test time" and the
/// variances are squared coefficients of variation, comparable across modes.
struct Moments {
    double unit_mean = 0, unit_variance = 0, sum_mean = 0, sum_variance = 0;
};

/// Exact moments for inputs x (one example's units) when the mask covers `examples` such examples.
/// Measured modes scale by G/K over a group of G units (G = units·examples for the batch, G = units
/// per example), K ~ Binomial(G, p) kept, scale 0 when K = 0 (probability P₀ = q^G, q = 1 - p).
/// Given K = k ≥ 1 the kept set is a uniform k-subset of the group, so (normalized as above)
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
struct ScaleMoments {
    double mean = 0, sd = 0, all_dropped = 0;
};
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

// ---- 1. the op alone, by Monte Carlo ----------------------------------------------------------------

struct MonteCarloCell {
    std::string input;  // "ones" or "varied"
    std::size_t units = 0, examples = 0;
    DropoutScale mode = DropoutScale::constant;
    double keep_prob = 0;
    std::size_t samples = 0;
    ex::Summary unit_mean, unit_variance, sum_mean, sum_variance;  // over independent blocks
    Moments exact;
};

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

/// An exact value "matches" its estimate when it lies in the 95% interval widened by 1/N: an effect
/// rarer than one event in the cell's N samples (say, all units of an example dropped at p = 0.5
/// with 20 units: 1e-6) cannot show in the sample, and then every block agrees and the interval is
/// empty.
bool matches(const ex::Summary& estimate, double exact, std::size_t samples) {
    const double resolution = 1.0 / static_cast<double>(samples);
    return std::abs(estimate.mean - exact) <= estimate.half_width + resolution;
}

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

// ---- 2. training the course's net ---------------------------------------------------------------------

/// The regularization notebook's net, LINEAR→RELU→DROPOUT→LINEAR→RELU→DROPOUT→LINEAR→SIGMOID, built
/// here from models/ pieces so that weights and masks come from the run's own generators (the global
/// generator is not thread-safe and is never touched by the study).
class StudyNet {
public:
    StudyNet(std::size_t features, Generator& weights)
        : hidden1_(features, 20,
                   {.init = Init::course, .weight_name = "W1", .bias_name = "b1", .generator = &weights}),
          hidden2_(20, 3,
                   {.init = Init::course, .weight_name = "W2", .bias_name = "b2", .generator = &weights}),
          output_(3, 1,
                  {.init = Init::course, .weight_name = "W3", .bias_name = "b3", .generator = &weights}) {}

    /// Probabilities (1, m). `drop.training` chooses training (masks) or evaluation behaviour.
    Tensor forward(const Tensor& X, const DropoutOptions& drop) {
        const Tensor A1 = dropout(relu(hidden1_(X)), drop);
        const Tensor A2 = dropout(relu(hidden2_(A1)), drop);
        return sigmoid(output_(A2));
    }
    std::vector<Tensor> parameters() const {
        return {hidden1_.weight, hidden1_.bias, hidden2_.weight, hidden2_.bias, output_.weight, output_.bias};
    }

private:
    Linear hidden1_, hidden2_, output_;
};

struct TrainingRun {
    DropoutScale mode = DropoutScale::constant;
    double keep_prob = 1.0;
    std::uint32_t seed = 0;
    double train_accuracy = 0, test_accuracy = 0;
    double final_cost = 0;      // cross-entropy on the training set, dropout off (evaluation mode)
    double test_cost = 0;       // the same on the test set
    double last_step_cost = 0;  // the training cost of the last step, under that step's masks
    double microseconds_per_step = 0;
    bool finite = true;
    std::vector<double> curve;  // the training cost every iterations / curve_points steps
};

struct Evaluation {
    double accuracy = 0, cost = 0;
};

Evaluation evaluate(StudyNet& net, const LabeledData& data, DropoutOptions drop) {
    drop.training = false;  // inverted modes: identity; classic: × keep_prob
    NoGradGuard no_graph;
    const Tensor A = net.forward(constant(data.X), drop);
    Evaluation e;
    e.cost = binary_cross_entropy(A, constant(data.Y)).item();
    std::size_t correct = 0;
    for (std::size_t i = 0; i < A.value().size(); ++i)
        correct += (A.value().flat(i) > 0.5) == (data.Y.flat(i) == 1.0);
    e.accuracy = static_cast<double>(correct) / static_cast<double>(A.value().size());
    return e;
}

/// One full-batch gradient-descent run with fresh masks at every step. The same seed gives the same
/// initial weights and the same uniforms for the masks in every mode (mask draws depend only on the
/// stream and the shapes), so modes are compared on identical masks: a paired design.
TrainingRun train_one(const Dataset& data, DropoutScale mode, double keep_prob, std::uint32_t seed,
                      const StudySettings& s) {
    TrainingRun run{.mode = mode, .keep_prob = keep_prob, .seed = seed};
    Generator weights(seed), masks(mask_seed_offset + seed);
    StudyNet net(data.train.X.shape().at(0), weights);
    SGD optimizer(net.parameters(), s.learning_rate);
    const DropoutOptions drop{.keep_prob = keep_prob, .scale = mode, .generator = &masks};
    const Tensor X = constant(data.train.X), Y = constant(data.train.Y);
    const std::size_t checkpoint_every = std::max<std::size_t>(1, s.iterations / s.curve_points);
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < s.iterations; ++i) {
        Tensor cost = binary_cross_entropy(net.forward(X, drop), Y);
        run.last_step_cost = cost.item();
        if (!std::isfinite(run.last_step_cost)) {
            run.finite = false;
            break;
        }
        if (i % checkpoint_every == 0) run.curve.push_back(run.last_step_cost);
        optimizer.zero_grad();
        cost.backward();
        optimizer.step();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.microseconds_per_step = 1e6 * seconds / static_cast<double>(s.iterations);
    const Evaluation on_train = evaluate(net, data.train, drop), on_test = evaluate(net, data.test, drop);
    run.train_accuracy = on_train.accuracy;
    run.final_cost = on_train.cost;
    run.test_accuracy = on_test.accuracy;
    run.test_cost = on_test.cost;
    return run;
}

/// Runs of one (mode, keep_prob) over all seeds, in seed order; keep_prob 1 is the no-dropout run.
using RunTable = std::map<std::pair<double, DropoutScale>, std::vector<TrainingRun>>;

std::vector<double> column(const std::vector<TrainingRun>& runs, double TrainingRun::*field) {
    std::vector<double> values;
    for (const TrainingRun& r : runs) values.push_back(r.*field);
    return values;
}

struct Metric {
    const char* name;
    const char* title;
    double TrainingRun::*field;
    int digits;
};
const std::vector<Metric> training_metrics = {
    {"train_accuracy", "train accuracy", &TrainingRun::train_accuracy, 4},
    {"test_accuracy", "test accuracy", &TrainingRun::test_accuracy, 4},
    {"final_cost", "final cost (training set, dropout off)", &TrainingRun::final_cost, 4},
};

// ---- 3. cost of each mode ---------------------------------------------------------------------------------

struct OpTiming {
    std::string name;
    double microseconds = 0;  // the best round's time per call: the least disturbed by other work
};

/// Forward and backward through one dropout of the first hidden layer's shape (20 × examples), then a
/// sum; the no-dropout line (keep_prob 1, an identity) is the cost of everything but dropout, and the
/// last line draws the mask's uniforms alone (what every mode pays). Variants alternate within each
/// round, so slow periods of the machine hit them all alike.
std::vector<OpTiming> time_dropout_op(std::size_t examples, const StudySettings& s) {
    Generator values(11), masks(12);
    const Tensor X = parameter(values.randn({20, examples}));
    std::vector<std::pair<std::string, std::function<void()>>> variants;
    auto through_dropout = [&](DropoutOptions options) {
        return [&X, options] { sum(dropout(X, options)).backward(); };
    };
    variants.emplace_back("no dropout", through_dropout({.keep_prob = 1.0, .generator = &masks}));
    for (DropoutScale mode : study_modes)
        variants.emplace_back(mode_label(mode),
                              through_dropout({.keep_prob = 0.86, .scale = mode, .generator = &masks}));
    double sink = 0;  // keeps the uniforms from being optimized away
    variants.emplace_back("uniforms only (" + std::to_string(20 * examples) + " draws)", [&] {
        for (std::size_t i = 0; i < 20 * examples; ++i) sink += masks.uniform();
    });
    std::vector<std::vector<double>> rounds(variants.size());
    for (std::size_t round = 0; round < s.benchmark_rounds; ++round)
        for (std::size_t v = 0; v < variants.size(); ++v) {
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t r = 0; r < s.benchmark_repeats; ++r) variants[v].second();
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            rounds[v].push_back(1e6 * seconds / static_cast<double>(s.benchmark_repeats));
        }
    if (sink < 0) std::cerr << sink;  // never true: uniforms are non-negative
    std::vector<OpTiming> timings;
    for (std::size_t v = 0; v < variants.size(); ++v)
        timings.push_back({variants[v].first, *std::min_element(rounds[v].begin(), rounds[v].end())});
    return timings;
}

// ---- output: CSV, markdown tables, plots ----------------------------------------------------------------

std::string interval(const ex::Summary& s, int digits) {
    return fixed(s.mean, digits) + " ± " + fixed(s.half_width, digits);
}
std::string bracket(const ex::Summary& s, int digits) {
    return fixed(s.mean, digits) + " [" + fixed(s.low(), digits) + ", " + fixed(s.high(), digits) + "]";
}

const char* mode_color(DropoutScale mode) {
    switch (mode) {
        case DropoutScale::constant:
            return "#1f77b4";
        case DropoutScale::measured:
            return "#d62728";
        case DropoutScale::per_example:
            return "#2ca02c";
        case DropoutScale::classic:
            return "#9467bd";
    }
    return "black";
}

// Small horizontal offsets keep the four modes' error bars apart.
double mode_offset(std::size_t mode_index) {
    return (static_cast<double>(mode_index) - 1.5) * 0.004;
}

class StudyReport {
public:
    StudyReport(const StudySettings& settings, const Dataset& data) : s_(settings), data_(data) {}
    std::string path(const std::string& name) const { return s_.out_dir + "/" + name; }

    void write_monte_carlo(const std::vector<MonteCarloCell>& cells, std::ostream& md) {
        std::ostringstream csv;
        csv << "input,units,examples,mode,keep_prob,samples,quantity,estimate,sd_over_blocks,ci_low,ci_high,"
               "exact,matches\n";
        // A comparison is degenerate when every block gave the same estimate (an exactly preserved sum,
        // say): its interval is empty (up to rounding; the values are O(1)) and only the 1/N widening
        // can hold the exact value.
        std::size_t compared = 0, matched = 0, spread = 0, spread_matched = 0;
        for (const MonteCarloCell& c : cells) {
            const std::pair<const char*, std::pair<const ex::Summary*, double>> quantities[] = {
                {"unit_mean", {&c.unit_mean, c.exact.unit_mean}},
                {"unit_variance", {&c.unit_variance, c.exact.unit_variance}},
                {"sum_mean", {&c.sum_mean, c.exact.sum_mean}},
                {"sum_variance", {&c.sum_variance, c.exact.sum_variance}}};
            for (const auto& [name, estimate_and_exact] : quantities) {
                const auto& [estimate, exact] = estimate_and_exact;
                const bool ok = matches(*estimate, exact, c.samples);
                ++compared;
                matched += ok;
                if (estimate->half_width > 1e-12) {
                    ++spread;
                    spread_matched += ok;
                }
                csv << c.input << "," << c.units << "," << c.examples << "," << mode_label(c.mode) << ","
                    << ex::repr(c.keep_prob) << "," << c.samples << "," << name << ","
                    << ex::repr(estimate->mean) << "," << ex::repr(estimate->sd) << ","
                    << ex::repr(estimate->low()) << "," << ex::repr(estimate->high()) << ","
                    << ex::repr(exact) << "," << (ok ? 1 : 0) << "\n";
            }
        }
        write_file_atomic(path("monte_carlo.csv"), csv.str());
        monte_carlo_matched_ = matched;
        monte_carlo_compared_ = compared;
        md << "### Monte Carlo of the op: one unit and one example's layer sum\n\n"
           << "Input: one example of n units, repeated over " << data_.train.X.shape()[1]
           << " examples (the training batch), values all 1 (`ones`) or a fixed profile |z| (`varied`). "
           << "Each estimate is divided by the evaluation-mode output (x, or p·x for classic): a mean of 1 "
           << "is unbiased, a variance is a squared coefficient of variation. Estimate ± 95% half-width "
           << "over " << s_.mc_blocks << " independent blocks (" << cells.front().samples
           << " values per cell); *exact* from the formulas in the text. All keep_probs are in "
           << "monte_carlo.csv.\n\n"
           << "| input | n | keep_prob | mode | E[unit] | exact | Var[unit] | exact | E[sum] | exact "
           << "| Var[sum] | exact |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
        for (const MonteCarloCell& c : cells) {
            if (!tabulated(c.keep_prob, s_.keep_probs)) continue;
            md << "| " << c.input << " | " << c.units << " | " << ex::repr(c.keep_prob) << " | "
               << mode_label(c.mode) << " | " << interval(c.unit_mean, 4) << " | "
               << fixed(c.exact.unit_mean, 4) << " | " << interval(c.unit_variance, 4) << " | "
               << fixed(c.exact.unit_variance, 4) << " | " << interval(c.sum_mean, 4) << " | "
               << fixed(c.exact.sum_mean, 4) << " | " << interval(c.sum_variance, 4) << " | "
               << fixed(c.exact.sum_variance, 4) << " |\n";
        }
        const auto percent = [](std::size_t part, std::size_t whole) {
            return fixed(
                100.0 * static_cast<double>(part) / static_cast<double>(std::max<std::size_t>(whole, 1)), 1);
        };
        md << "\nExact value inside the estimate's 95% interval (widened by 1/N): " << matched << " of "
           << compared << " comparisons (" << percent(matched, compared) << "%); among the " << spread
           << " whose blocks disagreed (a non-empty interval): " << spread_matched << " ("
           << percent(spread_matched, spread) << "%; about 95% is what correct formulas give).\n\n";
        if (s_.plots) plot_variance(cells);
    }

    void write_scales(const std::vector<ScaleCell>& cells, std::ostream& md) {
        std::ostringstream csv;
        csv << "kind,mode,units,examples,group,keep_prob,inverse_keep_prob,samples,mean,sd,q025,median,q975,"
               "all_dropped_fraction,exact_mean,exact_sd,exact_all_dropped\n";
        md << "### The measured scale against 1/keep_prob\n\n"
           << "s = G/K for a group of G units of which K are kept (0 if none). " << s_.scale_samples
           << "+ samples per row; *exact* from the binomial distribution of K.\n\n"
           << "| scale | keep_prob | 1/keep_prob | mean | exact mean | sd | exact sd | 2.5% | median "
           << "| 97.5% | P(all dropped) |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
        for (const ScaleCell& c : cells) {
            const double mean = ex::mean(c.samples), sd = ex::sample_sd(c.samples);
            const double q025 = ex::quantile(c.samples, 0.025), median = ex::quantile(c.samples, 0.5),
                         q975 = ex::quantile(c.samples, 0.975);
            const double zero_fraction =
                static_cast<double>(std::count(c.samples.begin(), c.samples.end(), 0.0)) /
                static_cast<double>(c.samples.size());
            csv << '"' << c.kind() << "\"," << mode_label(c.mode) << "," << c.units << "," << c.examples
                << "," << c.group() << "," << ex::repr(c.keep_prob) << "," << ex::repr(1 / c.keep_prob) << ","
                << c.samples.size() << "," << ex::repr(mean) << "," << ex::repr(sd) << "," << ex::repr(q025)
                << "," << ex::repr(median) << "," << ex::repr(q975) << "," << ex::repr(zero_fraction) << ","
                << ex::repr(c.exact.mean) << "," << ex::repr(c.exact.sd) << ","
                << ex::repr(c.exact.all_dropped) << "\n";
            if (!tabulated(c.keep_prob, s_.keep_probs)) continue;
            char all_dropped[32];
            std::snprintf(all_dropped, sizeof all_dropped, "%.3g", c.exact.all_dropped);
            md << "| " << c.kind() << " | " << ex::repr(c.keep_prob) << " | " << fixed(1 / c.keep_prob, 4)
               << " | " << fixed(mean, 4) << " | " << fixed(c.exact.mean, 4) << " | " << fixed(sd, 4) << " | "
               << fixed(c.exact.sd, 4) << " | " << fixed(q025, 4) << " | " << fixed(median, 4) << " | "
               << fixed(q975, 4) << " | " << all_dropped << " |\n";
        }
        write_file_atomic(path("scale_distribution.csv"), csv.str());
        md << "\n(All keep_probs are in scale_distribution.csv.)\n\n";
        if (s_.plots) {
            plot_scale_histograms(cells);
            plot_scale_bands(cells);
        }
    }

    void write_training(const RunTable& table, std::ostream& md) {
        {
            std::ostringstream csv;
            csv << "mode,keep_prob,seed,iterations,train_accuracy,test_accuracy,final_cost,test_cost,last_"
                   "step_cost,"
                   "us_per_step,finite\n";
            for (const auto& [key, runs] : table)
                for (const TrainingRun& r : runs)
                    csv << (r.keep_prob == 1.0 ? "none" : mode_label(r.mode)) << "," << ex::repr(r.keep_prob)
                        << "," << r.seed << "," << s_.iterations << "," << ex::repr(r.train_accuracy) << ","
                        << ex::repr(r.test_accuracy) << "," << ex::repr(r.final_cost) << ","
                        << ex::repr(r.test_cost) << "," << ex::repr(r.last_step_cost) << ","
                        << ex::repr(r.microseconds_per_step) << "," << (r.finite ? 1 : 0) << "\n";
            write_file_atomic(path("training_runs.csv"), csv.str());
        }
        std::ostringstream csv;
        csv << "mode,keep_prob,metric,n,mean,sd,ci_low,ci_high\n";
        const auto& baseline = table.at({1.0, DropoutScale::constant});
        for (const Metric& metric : training_metrics) {
            md << "### " << metric.title << ": mean ± 95% half-width (sd), " << s_.seeds << " seeds\n\n"
               << "| keep_prob | constant | measured | per-example | classic |\n|---|---|---|---|---|\n";
            for (double p : s_.keep_probs) {
                md << "| " << ex::repr(p) << " |";
                for (DropoutScale mode : study_modes) {
                    const ex::Summary s = ex::summarize(column(table.at({p, mode}), metric.field));
                    md << " " << interval(s, metric.digits) << " (" << fixed(s.sd, metric.digits) << ") |";
                    csv << mode_label(mode) << "," << ex::repr(p) << "," << metric.name << "," << s.n << ","
                        << ex::repr(s.mean) << "," << ex::repr(s.sd) << "," << ex::repr(s.low()) << ","
                        << ex::repr(s.high()) << "\n";
                }
                md << "\n";
            }
            const ex::Summary none = ex::summarize(column(baseline, metric.field));
            md << "| 1 (no dropout) | " << interval(none, metric.digits) << " ("
               << fixed(none.sd, metric.digits) << ") | | | |\n\n";
            csv << "none,1," << metric.name << "," << none.n << "," << ex::repr(none.mean) << ","
                << ex::repr(none.sd) << "," << ex::repr(none.low()) << "," << ex::repr(none.high()) << "\n";
        }
        write_file_atomic(path("training_summary.csv"), csv.str());
        std::size_t diverged = 0;
        for (const auto& [key, runs] : table)
            for (const TrainingRun& r : runs) diverged += !r.finite;
        md << "Runs whose cost became NaN or infinite: " << diverged << ".\n\n";
        write_paired(table, md);
        write_step_times(table, md);
        if (s_.plots) {
            plot_training(table);
            plot_paired(table);
            plot_curves(table);
        }
    }

    void write_op_timings(const std::vector<OpTiming>& timings, std::ostream& md) {
        std::ostringstream csv;
        csv << "variant,microseconds\n";
        md << "### The dropout op alone: forward + backward of (20 × " << data_.train.X.shape()[1]
           << "), keep_prob 0.86, one thread, best of " << s_.benchmark_rounds << " rounds of "
           << s_.benchmark_repeats << "\n\n| variant | µs per call | minus no-dropout |\n|---|---|---|\n";
        for (const OpTiming& t : timings) {
            csv << t.name << "," << ex::repr(t.microseconds) << "\n";
            const bool through_graph = t.name.rfind("uniforms", 0) != 0;
            md << "| " << t.name << " | " << fixed(t.microseconds, 2) << " | "
               << (through_graph ? fixed(t.microseconds - timings.front().microseconds, 2) : "—") << " |\n";
        }
        write_file_atomic(path("dropout_op_timing.csv"), csv.str());
        md << "\n";
    }

    void write_json(const RunTable& table, const std::vector<OpTiming>& timings, double seconds) const {
        if (s_.json_path.empty()) return;
        using ex::Json;  // keys in the order written, as before; NaN (a diverged metric) is null
        Json cells = Json::array();
        for (const auto& [key, runs] : table) {
            const std::string mode = key.first == 1.0 ? "none" : mode_label(key.second);
            Json cell = Json::object({{"mode", mode}, {"keep_prob", key.first}});
            for (const Metric& metric : training_metrics) {
                const ex::Summary s = ex::summarize(column(runs, metric.field));
                const Json ci = Json::array({s.low(), s.high()});
                cell.set(metric.name, Json::object({{"mean", s.mean}, {"sd", s.sd}, {"ci", ci}}));
            }
            cell.set("us_per_step", ex::mean(column(runs, &TrainingRun::microseconds_per_step)));
            cells.push_back(std::move(cell));
        }
        Json op_us = Json::object();
        for (const OpTiming& t : timings) op_us.set(t.name, t.microseconds);
        const Json json = Json::object(
            {{"seeds", s_.seeds},
             {"iterations", s_.iterations},
             {"learning_rate", s_.learning_rate},
             {"seconds", std::round(seconds * 10) / 10},  // as printed: tenths
             {"data", data_.source},
             {"cells", std::move(cells)},
             {"monte_carlo",
              Json::object({{"matched", monte_carlo_matched_}, {"compared", monte_carlo_compared_}})},
             {"dropout_op_us", std::move(op_us)}});
        write_file_atomic(s_.json_path, json.dump());
    }

    std::size_t monte_carlo_matched() const { return monte_carlo_matched_; }
    std::size_t monte_carlo_compared() const { return monte_carlo_compared_; }

private:
    // A picture and its gnuplot script, both documented outputs (docs/dropout-scaling.md). The
    // script is whole, its data inlined: `gnuplot study_cost.png.gp` redraws the picture.
    void plot(const std::string& picture, const std::string& commands, int width = 800,
              int height = 600) const {
        write_file_atomic(path(picture) + ".gp", ex::gnuplot_script(path(picture), commands, width, height));
        ex::run_gnuplot(path(picture), commands, width, height);
    }

    void write_paired(const RunTable& table, std::ostream& md) {
        std::ostringstream csv;
        csv << "comparison,keep_prob,metric,n,mean,sd,ci_low,ci_high\n";
        const std::vector<DropoutScale> others = {DropoutScale::measured, DropoutScale::per_example,
                                                  DropoutScale::classic};
        for (const Metric& metric : training_metrics) {
            md << "### Paired difference in " << metric.title << ": mode − constant, mean [95% CI]\n\n"
               << "| keep_prob | measured − constant | per-example − constant | classic − constant |\n"
                  "|---|---|---|---|\n";
            for (double p : s_.keep_probs) {
                md << "| " << ex::repr(p) << " |";
                const auto constant = column(table.at({p, DropoutScale::constant}), metric.field);
                for (DropoutScale mode : others) {
                    const ex::Summary d =
                        ex::paired_difference(column(table.at({p, mode}), metric.field), constant);
                    md << " " << bracket(d, metric.digits) << (d.contains(0.0) ? "" : " *") << " |";
                    csv << mode_label(mode) << "-constant," << ex::repr(p) << "," << metric.name << "," << d.n
                        << "," << ex::repr(d.mean) << "," << ex::repr(d.sd) << "," << ex::repr(d.low()) << ","
                        << ex::repr(d.high()) << "\n";
                }
                md << "\n";
            }
            md << "\n(* : the interval excludes 0.)\n\n";
        }
        write_file_atomic(path("paired_differences.csv"), csv.str());
    }

    void write_step_times(const RunTable& table, std::ostream& md) {
        std::ostringstream csv;
        csv << "mode,runs,mean_us,sd_us,ci_low,ci_high,paired_minus_constant_us,diff_ci_low,diff_ci_high\n";
        md << "### Time per training step (µs), all keep_probs pooled, " << s_.jobs << " jobs\n\n"
           << "| mode | mean ± 95% | paired difference to constant [95% CI] | relative "
              "|\n|---|---|---|---|\n";
        std::vector<double> constant_times;
        for (double p : s_.keep_probs) {
            const auto t = column(table.at({p, DropoutScale::constant}), &TrainingRun::microseconds_per_step);
            constant_times.insert(constant_times.end(), t.begin(), t.end());
        }
        const double constant_mean = ex::mean(constant_times);
        for (DropoutScale mode : study_modes) {
            std::vector<double> times;
            for (double p : s_.keep_probs) {
                const auto t = column(table.at({p, mode}), &TrainingRun::microseconds_per_step);
                times.insert(times.end(), t.begin(), t.end());
            }
            const ex::Summary s = ex::summarize(times), d = ex::paired_difference(times, constant_times);
            md << "| " << mode_label(mode) << " | " << interval(s, 1) << " | " << bracket(d, 1) << " | "
               << (d.mean >= 0 ? "+" : "") << fixed(100 * d.mean / constant_mean, 1) << "% |\n";
            csv << mode_label(mode) << "," << s.n << "," << ex::repr(s.mean) << "," << ex::repr(s.sd) << ","
                << ex::repr(s.low()) << "," << ex::repr(s.high()) << "," << ex::repr(d.mean) << ","
                << ex::repr(d.low()) << "," << ex::repr(d.high()) << "\n";
        }
        const ex::Summary none = ex::summarize(
            column(table.at({1.0, DropoutScale::constant}), &TrainingRun::microseconds_per_step));
        md << "| no dropout | " << interval(none, 1) << " | | |\n\n";
        write_file_atomic(path("step_time.csv"), csv.str());
    }

    // Accuracy (train, test) against keep_prob, one line per mode with 95% error bars; no dropout as a band.
    void plot_training(const RunTable& table) {
        std::ostringstream out;
        for (std::size_t m = 0; m < study_modes.size(); ++m) {
            out << "# " << mode_label(study_modes[m]) << "\n";
            for (double p : s_.keep_probs) {
                const auto& runs = table.at({p, study_modes[m]});
                out << p + mode_offset(m);
                for (const Metric& metric : training_metrics) {
                    const ex::Summary s = ex::summarize(column(runs, metric.field));
                    out << " " << ex::repr(s.mean) << " " << ex::repr(s.low()) << " " << ex::repr(s.high());
                }
                out << "\n";
            }
            out << "\n\n";
        }
        const std::string data = ex::gnuplot_datablock("data", out.str());
        const auto& none_runs = table.at({1.0, DropoutScale::constant});
        auto panel = [&](std::size_t metric_index, const std::string& ylabel) {
            const ex::Summary none = ex::summarize(column(none_runs, training_metrics[metric_index].field));
            const std::size_t c = 2 + 3 * metric_index;
            std::string script = "set title '" + ylabel + " (" + std::to_string(s_.seeds) +
                                 " seeds, 95% CI)'\nset xlabel 'keep\\_prob'\nset ylabel '" + ylabel +
                                 "'\nset grid\nset key bottom right\nset xrange [0.47:1.0]\n"
                                 "set object 1 rect from graph 0, first " +
                                 ex::repr(none.low()) + " to graph 1, first " + ex::repr(none.high()) +
                                 " fc rgb '#dddddd' fs solid 0.6 noborder behind\nplot ";
            for (std::size_t m = 0; m < study_modes.size(); ++m)
                script += "$data index " + std::to_string(m) + " using 1:" + std::to_string(c) +
                          ":" + std::to_string(c + 1) + ":" + std::to_string(c + 2) +
                          " with yerrorlines lw 2 pt 7 ps 0.6 lc rgb '" + mode_color(study_modes[m]) +
                          "' title '" + mode_label(study_modes[m]) + "', ";
            script +=
                ex::repr(none.mean) + " with lines dt 2 lc rgb 'black' title 'no dropout (band: 95% CI)'\n";
            return script;
        };
        plot("study_accuracy.png",
             data + "set multiplot layout 1,2\n" + panel(0, "train accuracy") + panel(1, "test accuracy") +
                 "unset multiplot\n",
             1400, 550);
        plot("study_cost.png", data + panel(2, "final cost (train set, dropout off)"));
    }

    // Paired differences mode − constant in test and train accuracy, with 95% error bars.
    void plot_paired(const RunTable& table) {
        std::ostringstream out;
        const std::vector<DropoutScale> others = {DropoutScale::measured, DropoutScale::per_example,
                                                  DropoutScale::classic};
        for (std::size_t m = 0; m < others.size(); ++m) {
            out << "# " << mode_label(others[m]) << " - constant\n";
            for (double p : s_.keep_probs) {
                out << p + mode_offset(m + 1);
                for (const Metric& metric : training_metrics) {
                    const ex::Summary d =
                        ex::paired_difference(column(table.at({p, others[m]}), metric.field),
                                              column(table.at({p, DropoutScale::constant}), metric.field));
                    out << " " << ex::repr(d.mean) << " " << ex::repr(d.low()) << " " << ex::repr(d.high());
                }
                out << "\n";
            }
            out << "\n\n";
        }
        const std::string data = ex::gnuplot_datablock("data", out.str());
        auto panel = [&](std::size_t metric_index, const std::string& ylabel) {
            const std::size_t c = 2 + 3 * metric_index;
            std::string script =
                "set title 'paired difference in " + ylabel +
                ": mode - constant (same seed: same weights, same masks)'\n"
                "set xlabel 'keep\\_prob'\nset ylabel 'difference'\nset grid\nset key top left\n"
                "set xrange [0.47:1.0]\nplot 0 with lines lc rgb 'black' notitle, ";
            for (std::size_t m = 0; m < others.size(); ++m)
                script += "$data index " + std::to_string(m) + " using 1:" + std::to_string(c) +
                          ":" + std::to_string(c + 1) + ":" + std::to_string(c + 2) +
                          " with yerrorlines lw 2 pt 7 ps 0.6 lc rgb '" + mode_color(others[m]) +
                          "' title '" + mode_label(others[m]) + " - constant'" +
                          (m + 1 < others.size() ? ", " : "\n");
            return script;
        };
        plot("study_paired.png",
             data + "set multiplot layout 1,2\n" + panel(1, "test accuracy") + panel(0, "train accuracy") +
                 "unset multiplot\n",
             1400, 550);
    }

    // Mean training cost over seeds against the step, per mode, at the pictured keep_probs.
    void plot_curves(const RunTable& table) {
        std::ostringstream out, csv;
        csv << "mode,keep_prob,iteration,mean_training_cost\n";
        const std::size_t every = std::max<std::size_t>(1, s_.iterations / s_.curve_points);
        const std::vector<double> shown = pictured_keep_probs(s_.keep_probs);
        for (double p : shown)
            for (DropoutScale mode : study_modes) {
                const auto& runs = table.at({p, mode});
                std::size_t points = runs.front().curve.size();
                for (const TrainingRun& r : runs) points = std::min(points, r.curve.size());
                for (std::size_t k = 0; k < points; ++k) {
                    double total = 0;
                    for (const TrainingRun& r : runs) total += r.curve[k];
                    const double average = total / static_cast<double>(runs.size());
                    out << k * every << " " << ex::repr(average) << "\n";
                    csv << mode_label(mode) << "," << ex::repr(p) << "," << k * every << ","
                        << ex::repr(average) << "\n";
                }
                out << "\n\n";
            }
        write_file_atomic(path("cost_curves.csv"), csv.str());
        const std::string data = ex::gnuplot_datablock("data", out.str());
        std::string script = "set multiplot layout 1,2\n";
        for (std::size_t k = 0; k < shown.size(); ++k) {
            script += "set title 'training cost (mean over seeds), keep\\_prob " + ex::repr(shown[k]) +
                      "'\nset xlabel 'iteration'\nset ylabel 'cost'\nset grid\nset logscale y\nplot ";
            for (std::size_t m = 0; m < study_modes.size(); ++m)
                script += "$data index " + std::to_string(k * study_modes.size() + m) +
                          " using 1:2 with lines lw 2 lc rgb '" + mode_color(study_modes[m]) + "' title '" +
                          mode_label(study_modes[m]) + "'" + (m + 1 < study_modes.size() ? ", " : "\n");
        }
        plot("study_cost_curves.png", data + script + "unset multiplot\n", 1400, 550);
    }

    // Relative variance of a unit and of an example's sum against keep_prob (n = 20): estimates with
    // 95% error bars over exact curves.
    void plot_variance(const std::vector<MonteCarloCell>& cells) {
        std::ostringstream out;
        const std::vector<std::string> inputs = {"ones", "varied"};
        for (const std::string& input : inputs)
            for (std::size_t m = 0; m < study_modes.size(); ++m) {
                for (const MonteCarloCell& c : cells)
                    if (c.input == input && c.units == 20 && c.mode == study_modes[m])
                        out << c.keep_prob + mode_offset(m) << " " << ex::repr(c.unit_variance.mean) << " "
                            << ex::repr(c.unit_variance.low()) << " " << ex::repr(c.unit_variance.high())
                            << " " << ex::repr(c.exact.unit_variance) << " " << ex::repr(c.sum_variance.mean)
                            << " " << ex::repr(c.sum_variance.low()) << " " << ex::repr(c.sum_variance.high())
                            << " " << ex::repr(c.exact.sum_variance) << "\n";
                out << "\n\n";
            }
        const std::string data = ex::gnuplot_datablock("data", out.str());
        std::string script =
            "set multiplot layout 2,2\nset grid\nset xlabel 'keep\\_prob'\nset xrange [0.47:1.0]\n";
        const std::pair<int, std::string> quantities[] = {{2, "Var[unit] / x^2"},
                                                          {6, "Var[layer sum] / (sum x)^2"}};
        for (const auto& [c, label] : quantities)
            for (std::size_t i = 0; i < inputs.size(); ++i) {
                script += "set title '" + label + ", 20 units, input " + inputs[i] +
                          " (points: Monte Carlo, lines: exact)'\nset ylabel '" + label + "'\nplot ";
                for (std::size_t m = 0; m < study_modes.size(); ++m) {
                    const std::string index = std::to_string(i * study_modes.size() + m);
                    script += "$data index " + index + " using 1:" + std::to_string(c) + ":" +
                              std::to_string(c + 1) + ":" + std::to_string(c + 2) +
                              " with yerrorbars pt 7 ps 0.5 lc rgb '" + mode_color(study_modes[m]) +
                              "' title '" + mode_label(study_modes[m]) + "', $data index " + index +
                              " using 1:" + std::to_string(c + 3) + " with lines lc rgb '" +
                              mode_color(study_modes[m]) + "' notitle" +
                              (m + 1 < study_modes.size() ? ", " : "\n");
                }
            }
        plot("study_variance.png", data + script + "unset multiplot\n", 1400, 1000);
    }

    // Histograms of the measured scale at the pictured keep_probs, dashed lines at 1/keep_prob.
    void plot_scale_histograms(const std::vector<ScaleCell>& cells) {
        std::ostringstream out;
        std::vector<std::string> kinds;
        const std::vector<double> shown = pictured_keep_probs(s_.keep_probs);
        const char* colors[] = {"#d62728", "#1f77b4"};
        for (const ScaleCell& c : cells)
            if (std::find(kinds.begin(), kinds.end(), c.kind()) == kinds.end()) kinds.push_back(c.kind());
        for (const std::string& kind : kinds)
            for (double p : shown)
                for (const ScaleCell& c : cells) {
                    if (c.kind() != kind || c.keep_prob != p) continue;
                    // Per-example scales take few values (n/k): count each; batch scales: 40 bins.
                    std::map<double, std::size_t> counts;
                    if (c.mode == DropoutScale::per_example) {
                        for (double v : c.samples) ++counts[v];
                    } else {
                        const auto [lo, hi] = std::minmax_element(c.samples.begin(), c.samples.end());
                        const double width = std::max(1e-12, (*hi - *lo) / 40);
                        for (double v : c.samples) {
                            const double bin = std::min(std::floor((v - *lo) / width), 39.0);
                            ++counts[*lo + (bin + 0.5) * width];
                        }
                    }
                    for (const auto& [value, count] : counts)
                        out << ex::repr(value) << " "
                            << ex::repr(static_cast<double>(count) / c.samples.size()) << "\n";
                    out << "\n\n";
                }
        const std::string data = ex::gnuplot_datablock("data", out.str());
        std::string script =
            "set multiplot layout 2,2\nset grid\nset xlabel 'scale'\nset ylabel 'fraction of samples'\n"
            "set offsets graph 0.05, graph 0.05, graph 0.05, 0\n";
        for (std::size_t k = 0; k < kinds.size(); ++k) {
            const bool discrete = kinds[k].rfind("per-example", 0) == 0;
            script += "set title 'measured scale, " + kinds[k] + " units'\nunset arrow\n";
            for (std::size_t j = 0; j < shown.size(); ++j)
                script += "set arrow from " + ex::repr(1 / shown[j]) + ", graph 0 to " +
                          ex::repr(1 / shown[j]) + ", graph 1 nohead dt 2 lw 2 lc rgb '" + colors[j] + "'\n";
            script += "plot ";
            for (std::size_t j = 0; j < shown.size(); ++j)
                script += "$data index " + std::to_string(k * shown.size() + j) +
                          " using 1:2 with " + (discrete ? "impulses lw 4" : "steps lw 2") + " lc rgb '" +
                          colors[j] + "' title 'keep\\_prob " + ex::repr(shown[j]) +
                          " (dashed: 1/keep\\_prob)'" + (j + 1 < shown.size() ? ", " : "\n");
        }
        plot("study_scale_histogram.png", data + script + "unset multiplot\n", 1400, 1000);
    }

    // Scale · keep_prob (1 = the constant's scale): median and 95% band against keep_prob, per kind.
    void plot_scale_bands(const std::vector<ScaleCell>& cells) {
        std::ostringstream out;
        std::vector<std::string> kinds;
        for (const ScaleCell& c : cells)
            if (std::find(kinds.begin(), kinds.end(), c.kind()) == kinds.end()) kinds.push_back(c.kind());
        for (const std::string& kind : kinds) {
            for (const ScaleCell& c : cells)
                if (c.kind() == kind)
                    out << ex::repr(c.keep_prob) << " "
                        << ex::repr(ex::quantile(c.samples, 0.5) * c.keep_prob) << " "
                        << ex::repr(ex::quantile(c.samples, 0.025) * c.keep_prob) << " "
                        << ex::repr(ex::quantile(c.samples, 0.975) * c.keep_prob) << " "
                        << ex::repr(c.exact.mean * c.keep_prob) << "\n";
            out << "\n\n";
        }
        const std::string data = ex::gnuplot_datablock("data", out.str());
        const char* colors[] = {"#ff7f0e", "#d62728", "#2ca02c", "#17becf"};
        std::string script =
            "set title 'measured scale x keep\\_prob: median, 2.5%-97.5% band (bars), exact mean (line); "
            "1 = constant 1/keep\\_prob'\nset xlabel 'keep\\_prob'\nset ylabel 'scale x keep\\_prob'\nset "
            "grid\n"
            "set key top right\nset xrange [0.47:1.0]\nplot 1 with lines lc rgb 'black' dt 2 title "
            "'constant', ";
        for (std::size_t k = 0; k < kinds.size(); ++k)
            script += "$data index " + std::to_string(k) + " using ($1+" + ex::repr(mode_offset(k)) +
                      "):2:3:4 with yerrorbars pt 7 ps 0.6 lw 2 lc rgb '" + colors[k % 4] + "' title '" +
                      kinds[k] + "', $data index " + std::to_string(k) +
                      " using 1:5 with lines lc rgb '" + colors[k % 4] + "' notitle" +
                      (k + 1 < kinds.size() ? ", " : "\n");
        plot("study_scale_vs_keep_prob.png", data + script, 1000, 650);
    }

    const StudySettings& s_;
    const Dataset& data_;
    std::size_t monte_carlo_matched_ = 0, monte_carlo_compared_ = 0;
};

// ---- the study ------------------------------------------------------------------------------------------

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_study(const StudySettings& s) {
    const auto start = std::chrono::steady_clock::now();
    const Dataset data = ex::load_or_generate(s.data_path, false);
    const std::size_t examples = data.train.X.shape().at(1);
    std::cerr << "data: " << data.source << " (" << examples << " training examples)\n";
    std::cout << "dropout_study: " << s.seeds << " seeds x " << study_modes.size() << " modes x "
              << s.keep_probs.size() << " keep_probs (+ no dropout), " << s.iterations
              << " steps each, learning rate " << ex::repr(s.learning_rate) << ", " << s.jobs << " jobs\n";
    StudyReport report(s, data);
    std::ostringstream md;
    md << "<!-- written by dropout_study" << (s.quick ? " --quick" : "") << ": " << s.seeds << " seeds, "
       << s.iterations << " steps, " << data.source << " -->\n\n";

    // 1. The op alone: Monte Carlo moments, then the scale's distribution.
    std::vector<MonteCarloCell> mc_cells;
    for (const std::string input : {"ones", "varied"})
        for (std::size_t units : {3, 20, 100})
            for (DropoutScale mode : study_modes)
                for (double p : s.keep_probs)
                    mc_cells.push_back(
                        {.input = input, .units = units, .examples = examples, .mode = mode, .keep_prob = p});
    run_parallel(mc_cells.size(), s.jobs, "Monte Carlo", [&](std::size_t i) {
        mc_cells[i] = run_monte_carlo_cell(mc_cells[i], static_cast<std::uint32_t>(5000 + i), s);
    });
    std::vector<ScaleCell> scale_cells;
    for (DropoutScale mode : {DropoutScale::measured, DropoutScale::per_example})
        for (std::size_t units : {3, 20})
            for (double p : s.keep_probs)
                scale_cells.push_back({.mode = mode, .units = units, .examples = examples, .keep_prob = p});
    run_parallel(scale_cells.size(), s.jobs, "scales", [&](std::size_t i) {
        scale_cells[i] = run_scale_cell(scale_cells[i], static_cast<std::uint32_t>(9000 + i), s);
    });
    const double monte_carlo_seconds = seconds_since(start);
    report.write_monte_carlo(mc_cells, md);
    report.write_scales(scale_cells, md);
    std::cout << "Monte Carlo: exact value inside the 95% interval in " << report.monte_carlo_matched()
              << " of " << report.monte_carlo_compared() << " comparisons (" << fixed(monte_carlo_seconds, 1)
              << " s)\n";

    // 2. Training: one task per (seed, keep_prob) runs every mode on the same weights and masks.
    struct Task {
        std::uint32_t seed;
        double keep_prob;
        std::vector<TrainingRun> runs;
    };
    std::vector<Task> tasks;
    for (std::uint32_t seed = 1; seed <= s.seeds; ++seed) {
        tasks.push_back({seed, 1.0, {}});
        for (double p : s.keep_probs) tasks.push_back({seed, p, {}});
    }
    const auto training_start = std::chrono::steady_clock::now();
    run_parallel(tasks.size(), s.jobs, "training", [&](std::size_t i) {
        Task& task = tasks[i];
        if (task.keep_prob == 1.0) {
            task.runs.push_back(train_one(data, DropoutScale::constant, 1.0, task.seed, s));
            return;
        }
        for (DropoutScale mode : study_modes)
            task.runs.push_back(train_one(data, mode, task.keep_prob, task.seed, s));
    });
    const double training_seconds = seconds_since(training_start);
    RunTable table;
    for (const Task& task : tasks)  // seeds in increasing order, so every column lines up by seed
        for (const TrainingRun& run : task.runs) table[{run.keep_prob, run.mode}].push_back(run);
    std::size_t run_count = 0;
    for (const Task& task : tasks) run_count += task.runs.size();
    std::cout << "training: " << run_count << " runs in " << fixed(training_seconds, 1) << " s\n";

    // 3. The op's own cost, on one thread with the machine otherwise idle.
    const std::vector<OpTiming> timings = time_dropout_op(examples, s);

    std::ostringstream training_md;
    report.write_training(table, training_md);
    report.write_op_timings(timings, training_md);
    const std::string tables = "## Training\n\n" + training_md.str() + "## The dropout op\n\n" + md.str();
    write_file_atomic(report.path("tables.md"), tables);
    std::cout << "\n" << training_md.str();
    const double total_seconds = seconds_since(start);
    report.write_json(table, timings, total_seconds);
    std::cout << "dropout_study: finished in " << fixed(total_seconds, 1) << " s (Monte Carlo "
              << fixed(monte_carlo_seconds, 1) << " s, training " << fixed(training_seconds, 1)
              << " s); tables in " << report.path("tables.md") << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    use_single_threaded_blas();
    ex::CommandLine app(
        "dropout_study",
        "Measure dropout's scale modes (constant 1/keep_prob, batch-measured, per-example measured,\n"
        "classic) on the course's regularization net over many seeds, and the op itself by Monte\n"
        "Carlo. Writes CSV files, markdown tables and gnuplot pictures.");
    StudySettings settings;
    bool no_plots = false;
    app.option("--data", settings.data_path,
                   "The football data.mat (falls back to generated flower data)")
        .show_default();
    auto& seeds = app.option("--seeds", settings.seeds, "Seeds (training runs per mode and keep_prob)")
        .show_default()
        .range(2, 100000);
    auto& iterations = app.option("--iterations", settings.iterations, "Gradient-descent steps per run")
        .show_default()
        .range(1, 10000000);
    app.option("--keep-probs", settings.keep_probs, "Keep probabilities to train with, each in (0, 1)")
        .delimiter(',')
        .show_default()
        .range(0.0, 1.0, ex::CommandLine::Ends::open);
    app.option("--jobs", settings.jobs, "Worker threads")
        .show_default()
        .range(1, 256);
    app.option("--learning-rate", settings.learning_rate, "Learning rate (the course: 0.3)")
        .show_default()
        .positive();
    app.flag("--quick", settings.quick, "A few seeds and steps: checks the whole pipeline in seconds");
    app.option("--out", settings.out_dir, "Directory for CSV files, tables and pictures")
        .show_default();
    app.option("--json", settings.json_path, "Also write a JSON summary to this file");
    app.flag("--no-plots", no_plots, "CSV files and tables only, no pictures");
    app.parse_or_exit(argc, argv);

    if (settings.quick) {
        // --quick sets small defaults; explicit --seeds / --iterations still win.
        StudySettings quick = quick_settings(settings);
        if (seeds.given()) quick.seeds = settings.seeds;
        if (iterations.given()) quick.iterations = settings.iterations;
        settings = quick;
    }
    settings.plots = !no_plots;
    try {
        // Every output is checked before the study, not after it.
        if (settings.out_dir.empty())
            throw IoError("--out: give a folder for the tables (it is always written)");
        ex::check_output_folder("--out", settings.out_dir, settings.plots);
        ex::check_output_file("--json", settings.json_path);
        // (--keep-probs are in (0, 1): keep_prob 1 is the no-dropout baseline every study already has.)
        std::sort(settings.keep_probs.begin(), settings.keep_probs.end());
        settings.keep_probs.erase(std::unique(settings.keep_probs.begin(), settings.keep_probs.end()),
                                  settings.keep_probs.end());
        return run_study(settings);
    } catch (const std::exception& e) {
        std::cerr << "dropout_study: error: " << e.what() << "\n";
        return 1;
    }
}
