#pragma once
// Measurement 2: the course's regularization net trained on the football data for every
// seed × keep_prob × mode, with fresh masks at every step, paired across modes (same weights and
// masks per seed).

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "dropout_study/study.hpp"

namespace xgrad::examples::dropout_study {

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

/// Runs of one (mode, keep_prob) over all seeds, in seed order; keep_prob 1 is the no-dropout run.
using RunTable = std::map<std::pair<double, DropoutScale>, std::vector<TrainingRun>>;

/// Every run of the study, seed by seed: the no-dropout run (keep_prob 1), then each keep_prob in
/// every mode. One task per (seed, keep_prob) runs every mode on the same weights and masks.
std::vector<TrainingRun> train_grid(const Dataset& data, const StudySettings& s);

/// The runs by (keep_prob, mode); given train_grid's order, every column lines up by seed.
RunTable tabulate_runs(const std::vector<TrainingRun>& runs);

}  // namespace xgrad::examples::dropout_study
