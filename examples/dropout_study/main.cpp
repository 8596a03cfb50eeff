// The scaling question, measured. Dropout keeps each unit with probability p and rescales the kept
// ones; should the scale be the constant 1/p, or the kept fraction measured on the mask (over the
// batch, or per example), or no scale in training and ×p at test time (classic)?
//
// Three measurements (docs/dropout-scaling.md explains the math and the results), a file each:
//   1. monte_carlo.cpp: the dropout op alone, by Monte Carlo: E and Var of one unit's output and of
//      one example's layer sum in each mode, against the exact values, and the distribution of the
//      measured scale;
//   2. training_grid.cpp: the course's regularization net trained on the football data for every
//      mode × keep_prob × seed, with fresh masks at every step, paired across modes (same weights and
//      masks per seed);
//   3. op_timing.cpp: the cost of each mode: time per training step (timed in 2), and the dropout op
//      alone.
// report.cpp writes the tables, CSV and JSON files, report_plots.cpp the pictures; this file reads
// the command line and runs the three in order.
//
//   dropout_study                  # the full study; tables and plots in out/dropout_study
//   dropout_study --quick          # a few seeds and steps: checks the pipeline end to end

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>

#include "dropout_study/monte_carlo.hpp"
#include "dropout_study/op_timing.hpp"
#include "dropout_study/report.hpp"
#include "dropout_study/study.hpp"
#include "dropout_study/training_grid.hpp"

namespace xgrad::examples::dropout_study {
namespace {

/// Two threads each asking OpenBLAS for its own thread pool would oversubscribe the cores. OpenBLAS
/// reads OPENBLAS_NUM_THREADS when it is loaded, before main runs, so the environment variable is
/// too late here: ask the library itself, when it is the BLAS in use.
void use_single_threaded_blas() {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);  // for any child process
    set_num_threads(1);
}

/// The settings from the command line; exits on --help, --version and bad arguments.
StudySettings parse_command_line(int argc, char** argv) {
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
    return settings;
}

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
    const std::vector<MonteCarloCell> mc_cells = run_monte_carlo(examples, s);
    const std::vector<ScaleCell> scale_cells = run_scale_distribution(examples, s);
    const double monte_carlo_seconds = seconds_since(start);
    report.write_monte_carlo(mc_cells, md);
    report.write_scales(scale_cells, md);
    std::cout << "Monte Carlo: exact value inside the 95% interval in " << report.monte_carlo_matched()
              << " of " << report.monte_carlo_compared() << " comparisons (" << fixed(monte_carlo_seconds, 1)
              << " s)\n";

    // 2. Training: every mode on the same weights and masks, for each seed and keep_prob.
    const auto training_start = std::chrono::steady_clock::now();
    const std::vector<TrainingRun> runs = train_grid(data, s);
    const double training_seconds = seconds_since(training_start);
    const RunTable table = tabulate_runs(runs);
    std::cout << "training: " << runs.size() << " runs in " << fixed(training_seconds, 1) << " s\n";

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
}  // namespace xgrad::examples::dropout_study

int main(int argc, char** argv) {
    using namespace xgrad::examples::dropout_study;
    use_single_threaded_blas();
    StudySettings settings = parse_command_line(argc, argv);
    try {
        // Every output is checked before the study, not after it.
        if (settings.out_dir.empty())
            throw xgrad::IoError("--out: give a folder for the tables (it is always written)");
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
