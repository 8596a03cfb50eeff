// The study's tables: CSV files, markdown and the JSON summary (the pictures are in report_plots.cpp).

#include "dropout_study/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/json.hpp"

namespace xgrad::examples::dropout_study {
namespace {

std::string interval(const ex::Summary& s, int digits) {
    return fixed(s.mean, digits) + " ± " + fixed(s.half_width, digits);
}
std::string bracket(const ex::Summary& s, int digits) {
    return fixed(s.mean, digits) + " [" + fixed(s.low(), digits) + ", " + fixed(s.high(), digits) + "]";
}

/// The keep_probs the markdown tables of the op show (0.5, 0.86, 0.99 when present; else all).
bool tabulated(double keep_prob, const std::vector<double>& keep_probs) {
    const std::vector<double> preferred = {0.5, 0.86, 0.99};
    const bool any_preferred = std::any_of(keep_probs.begin(), keep_probs.end(), [&](double p) {
        return std::find(preferred.begin(), preferred.end(), p) != preferred.end();
    });
    return !any_preferred || std::find(preferred.begin(), preferred.end(), keep_prob) != preferred.end();
}

}  // namespace

void StudyReport::write_monte_carlo(const std::vector<MonteCarloCell>& cells, std::ostream& md) {
    const MonteCarloTally tally = write_monte_carlo_csv(cells);
    monte_carlo_matched_ = tally.matched;
    monte_carlo_compared_ = tally.compared;
    write_monte_carlo_table(cells, tally, md);
    if (s_.plots) plot_variance(cells);
}

StudyReport::MonteCarloTally StudyReport::write_monte_carlo_csv(const std::vector<MonteCarloCell>& cells) {
    std::ostringstream csv;
    csv << "input,units,examples,mode,keep_prob,samples,quantity,estimate,sd_over_blocks,ci_low,ci_high,"
           "exact,matches\n";
    // A comparison is degenerate when every block gave the same estimate (an exactly preserved sum,
    // say): its interval is empty (up to rounding; the values are O(1)) and only the 1/N widening
    // can hold the exact value.
    MonteCarloTally t;
    for (const MonteCarloCell& c : cells) {
        const std::pair<const char*, std::pair<const ex::Summary*, double>> quantities[] = {
            {"unit_mean", {&c.unit_mean, c.exact.unit_mean}},
            {"unit_variance", {&c.unit_variance, c.exact.unit_variance}},
            {"sum_mean", {&c.sum_mean, c.exact.sum_mean}},
            {"sum_variance", {&c.sum_variance, c.exact.sum_variance}}};
        for (const auto& [name, estimate_and_exact] : quantities) {
            const auto& [estimate, exact] = estimate_and_exact;
            const bool ok = matches(*estimate, exact, c.samples);
            ++t.compared;
            t.matched += ok;
            if (estimate->half_width > 1e-12) {
                ++t.spread;
                t.spread_matched += ok;
            }
            csv << c.input << "," << c.units << "," << c.examples << "," << mode_label(c.mode) << ","
                << ex::repr(c.keep_prob) << "," << c.samples << "," << name << ","
                << ex::repr(estimate->mean) << "," << ex::repr(estimate->sd) << ","
                << ex::repr(estimate->low()) << "," << ex::repr(estimate->high()) << ","
                << ex::repr(exact) << "," << (ok ? 1 : 0) << "\n";
        }
    }
    write_file_atomic(path("monte_carlo.csv"), csv.str());
    return t;
}

void StudyReport::write_monte_carlo_table(const std::vector<MonteCarloCell>& cells,
                                          const MonteCarloTally& tally, std::ostream& md) {
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
    md << "\nExact value inside the estimate's 95% interval (widened by 1/N): " << tally.matched << " of "
       << tally.compared << " comparisons (" << percent(tally.matched, tally.compared) << "%); among the "
       << tally.spread << " whose blocks disagreed (a non-empty interval): " << tally.spread_matched << " ("
       << percent(tally.spread_matched, tally.spread) << "%; about 95% is what correct formulas give).\n\n";
}

void StudyReport::write_scales(const std::vector<ScaleCell>& cells, std::ostream& md) {
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

void StudyReport::write_training(const RunTable& table, std::ostream& md) {
    write_training_runs(table);
    write_training_summary(table, md);
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

void StudyReport::write_training_runs(const RunTable& table) {
    std::ostringstream csv;
    csv << "mode,keep_prob,seed,iterations,train_accuracy,test_accuracy,final_cost,test_cost,last_step_cost,"
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

void StudyReport::write_training_summary(const RunTable& table, std::ostream& md) {
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
}

void StudyReport::write_op_timings(const std::vector<OpTiming>& timings, std::ostream& md) {
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

void StudyReport::write_json(const RunTable& table, const std::vector<OpTiming>& timings,
                             double seconds) const {
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

void StudyReport::write_paired(const RunTable& table, std::ostream& md) {
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

void StudyReport::write_step_times(const RunTable& table, std::ostream& md) {
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

}  // namespace xgrad::examples::dropout_study
