#pragma once
// The study's outputs, all in --out (docs/dropout-scaling.md lists them): one CSV file per table,
// the markdown tables, the gnuplot pictures with their scripts, and the --json summary.

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "dropout_study/monte_carlo.hpp"
#include "dropout_study/op_timing.hpp"
#include "dropout_study/study.hpp"
#include "dropout_study/training_grid.hpp"

namespace xgrad::examples::dropout_study {

/// One field of every run, in the runs' order (seed order within a RunTable cell).
inline std::vector<double> column(const std::vector<TrainingRun>& runs, double TrainingRun::*field) {
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
inline const std::vector<Metric> training_metrics = {
    {"train_accuracy", "train accuracy", &TrainingRun::train_accuracy, 4},
    {"test_accuracy", "test accuracy", &TrainingRun::test_accuracy, 4},
    {"final_cost", "final cost (training set, dropout off)", &TrainingRun::final_cost, 4},
};

/// Each write_* writes one measurement's CSV files and pictures at once, and appends its markdown
/// tables to `md`. Tables, CSV and JSON are in report.cpp, pictures in report_plots.cpp.
class StudyReport {
public:
    StudyReport(const StudySettings& settings, const Dataset& data) : s_(settings), data_(data) {}
    std::string path(const std::string& name) const { return s_.out_dir + "/" + name; }

    void write_monte_carlo(const std::vector<MonteCarloCell>& cells, std::ostream& md);
    void write_scales(const std::vector<ScaleCell>& cells, std::ostream& md);
    void write_training(const RunTable& table, std::ostream& md);
    void write_op_timings(const std::vector<OpTiming>& timings, std::ostream& md);
    void write_json(const RunTable& table, const std::vector<OpTiming>& timings, double seconds) const;

    std::size_t monte_carlo_matched() const { return monte_carlo_matched_; }
    std::size_t monte_carlo_compared() const { return monte_carlo_compared_; }

private:
    /// How many Monte Carlo comparisons put the exact value inside the estimate's interval, over all
    /// and over those whose blocks disagreed (a non-empty interval).
    struct MonteCarloTally {
        std::size_t compared = 0, matched = 0, spread = 0, spread_matched = 0;
    };
    MonteCarloTally write_monte_carlo_csv(const std::vector<MonteCarloCell>& cells);
    void write_monte_carlo_table(const std::vector<MonteCarloCell>& cells, const MonteCarloTally& tally,
                                 std::ostream& md);
    void write_training_runs(const RunTable& table);
    void write_training_summary(const RunTable& table, std::ostream& md);
    void write_paired(const RunTable& table, std::ostream& md);
    void write_step_times(const RunTable& table, std::ostream& md);

    // The pictures (report_plots.cpp). plot() writes a picture and its gnuplot script, both
    // documented outputs (docs/dropout-scaling.md). The script is whole, its data inlined:
    // `gnuplot study_cost.png.gp` redraws the picture.
    void plot(const std::string& picture, const std::string& commands, int width = 800,
              int height = 600) const;
    void plot_training(const RunTable& table);
    void plot_paired(const RunTable& table);
    void plot_curves(const RunTable& table);
    void plot_variance(const std::vector<MonteCarloCell>& cells);
    void plot_scale_histograms(const std::vector<ScaleCell>& cells);
    void plot_scale_bands(const std::vector<ScaleCell>& cells);

    const StudySettings& s_;
    const Dataset& data_;
    std::size_t monte_carlo_matched_ = 0, monte_carlo_compared_ = 0;
};

}  // namespace xgrad::examples::dropout_study
