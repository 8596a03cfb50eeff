#pragma once
// What every example program shares: CLI11 conventions (--help, --version, one-line errors),
// a progress bar that shows only on a terminal, number printing, gnuplot pictures, and the
// default data path.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "framework/version.hpp"
#include "xgrad.hpp"

namespace xgrad::examples {

/// Parses argv; on bad arguments prints one line to stderr and exits non-zero; on --help exits 0.
void parse_or_exit(CLI::App& app, int argc, char** argv);
/// Adds --version, printing "NAME xgrad VERSION".
void add_version_flag(CLI::App& app, const std::string& program);

/// The shortest text that reads back to the same double (Python's repr): full precision, at most
/// 17 significant digits, "0.915" rather than "0.91500000000000004".
std::string repr(double value);

/// ../shared/data/football/data.mat beside the source tree, where the course's data lives.
std::string default_football_path();
/// Loads data.mat if it exists; otherwise says so and generates the flower dataset.
Dataset load_or_generate(const std::string& path, bool quiet);

/// A progress bar on stderr, drawn only when stderr is a terminal.
class Progress {
public:
    Progress(std::string label, std::size_t total);
    void update(std::size_t done);
    ~Progress();

private:
    std::string label_;
    std::size_t total_, last_percent_ = 101;
    bool enabled_;
};

/// Writes `script` (gnuplot commands after the terminal and output lines) next to `picture` and runs
/// gnuplot; the terminal follows the extension (.png, .svg, .pdf). Warns, does not throw, when
/// gnuplot is missing or fails; returns whether the picture was drawn.
bool run_gnuplot(const std::string& picture, const std::string& script, int width = 800, int height = 600);

/// Writes the data files and a gnuplot script into dir and runs gnuplot (warns, does not throw, if
/// gnuplot is missing). Pictures: PNG or SVG by the file extension.
bool plot_cost_curve(const std::string& picture, const std::vector<std::pair<std::size_t, double>>& costs,
                     const std::string& title);
bool plot_decision_boundary(const std::string& picture, Module& model, const LabeledData& data,
                            const std::string& title);

}  // namespace xgrad::examples
