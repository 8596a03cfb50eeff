// Training the course's net over seeds × keep_probs × modes.

#include "dropout_study/training_grid.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "dropout_study/parallel.hpp"

namespace xgrad::examples::dropout_study {
namespace {

// The weights of seed k come from Generator(k) and its masks from Generator(mask_seed_offset + k):
// two separate streams, both the same for every mode.
constexpr std::uint32_t mask_seed_offset = 1'000'000;

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

struct Evaluation {
    double accuracy = 0, cost = 0;
};

Evaluation evaluate(StudyNet& net, const LabeledData& data, DropoutOptions drop) {
    drop.training = false;  // inverted modes: identity; classic: × keep_prob
    NoGradGuard no_graph;
    const Tensor A = net.forward(constant(data.X), drop);
    Evaluation e;
    e.cost = binary_cross_entropy(A, constant(data.Y)).item();
    e.accuracy = mean(equal(greater(A, 0.5), constant(data.Y))).item();
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

}  // namespace

std::vector<TrainingRun> train_grid(const Dataset& data, const StudySettings& s) {
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
    run_parallel(tasks.size(), s.jobs, "training", [&](std::size_t i) {
        Task& task = tasks[i];
        if (task.keep_prob == 1.0) {
            task.runs.push_back(train_one(data, DropoutScale::constant, 1.0, task.seed, s));
            return;
        }
        for (DropoutScale mode : study_modes)
            task.runs.push_back(train_one(data, mode, task.keep_prob, task.seed, s));
    });
    std::vector<TrainingRun> runs;
    for (Task& task : tasks)
        for (TrainingRun& run : task.runs) runs.push_back(std::move(run));
    return runs;
}

RunTable tabulate_runs(const std::vector<TrainingRun>& runs) {
    RunTable table;
    for (const TrainingRun& run : runs) table[{run.keep_prob, run.mode}].push_back(run);
    return table;
}

}  // namespace xgrad::examples::dropout_study
