// The study's pictures: gnuplot scripts with their data inlined, each saved beside its picture.

#include "dropout_study/report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <utility>

namespace xgrad::examples::dropout_study {
namespace {

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

/// The keep_probs the pictures single out: the smallest, and the course's 0.86 (else the largest).
std::vector<double> pictured_keep_probs(const std::vector<double>& keep_probs) {
    const auto [smallest, largest] = std::minmax_element(keep_probs.begin(), keep_probs.end());
    const bool has_course_value = std::find(keep_probs.begin(), keep_probs.end(), 0.86) != keep_probs.end();
    const double second = has_course_value ? 0.86 : *largest;
    if (second == *smallest) return {second};
    return {*smallest, second};
}

}  // namespace

// A picture and its gnuplot script, both documented outputs (see report.hpp).
void StudyReport::plot(const std::string& picture, const std::string& commands, int width,
                       int height) const {
    write_file_atomic(path(picture) + ".gp", ex::gnuplot_script(path(picture), commands, width, height));
    ex::run_gnuplot(path(picture), commands, width, height);
}

// Accuracy (train, test) against keep_prob, one line per mode with 95% error bars; no dropout as a band.
void StudyReport::plot_training(const RunTable& table) {
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
void StudyReport::plot_paired(const RunTable& table) {
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
void StudyReport::plot_curves(const RunTable& table) {
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
void StudyReport::plot_variance(const std::vector<MonteCarloCell>& cells) {
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
void StudyReport::plot_scale_histograms(const std::vector<ScaleCell>& cells) {
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
void StudyReport::plot_scale_bands(const std::vector<ScaleCell>& cells) {
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

}  // namespace xgrad::examples::dropout_study
