#pragma once
// What every part of dropout_study shares: the modes it compares, its settings, and number printing.

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/cli.hpp"

namespace xgrad::examples::dropout_study {

namespace ex = xgrad::examples;

inline const std::vector<DropoutScale> study_modes = {DropoutScale::constant, DropoutScale::measured,
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

inline StudySettings quick_settings(StudySettings s) {
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

inline std::string fixed(double value, int digits) {
    if (std::isnan(value)) return "nan";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

inline std::string mode_label(DropoutScale mode) {
    return scale_name(mode);
}

}  // namespace xgrad::examples::dropout_study
