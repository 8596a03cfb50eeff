#pragma once
// What every example program shares: a command line with CLI11's conventions (--help, --version,
// one-line errors), a progress bar that shows only on a terminal, number printing, gnuplot
// pictures, and the default data path.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/version.hpp"
#include "xgrad.hpp"

namespace xgrad::examples {

/// An example's command line: CLI11 behind a small interface compiled once (common/cli.cpp).
/// CLI11 is header-only, and instantiating it costs every file that uses it about 15 s and 380 MB
/// of compiler — an example's own source (a model script) includes only this.
class CommandLine {
public:
    /// Which ends of a range are excluded: range(0, 1, Ends::open_low) is (0, 1].
    enum class Ends { closed, open_low, open_high, open };

    /// One option, to add checks to and to show its default in --help. Every number is checked
    /// before it is stored: a whole-number option refuses a sign, a fraction and anything beyond its
    /// type ("--iterations -1" is an error, not 18446744073709551615), a real one refuses NaN and
    /// infinities; range() and its shorthands narrow what is accepted.
    class Option {
    public:
        Option& show_default();
        Option& range(double lo, double hi, Ends ends = Ends::closed);
        Option& non_negative();  ///< [0, +inf)
        Option& positive();      ///< (0, +inf)
        Option& one_of(const std::vector<std::string>& choices);
        Option& delimiter(char separator);  ///< for a list: "--keep-probs 0.5,0.8"
        /// Whether the option was given on the command line.
        bool given() const;

    private:
        friend class CommandLine;
        enum class Kind { text, whole, real };
        Option(void* option, Kind kind, unsigned long long whole_max);
        /// Empty when `input` is acceptable (a whole number is rewritten in plain decimal, so that
        /// CLI11 reads "010" as 10 rather than octal 8); otherwise why it is not.
        std::string check(std::string& input) const;
        std::string bounds() const;  // "[1, 1000000]", "(0, 1]", ">= 0", ...
        void describe();             // puts bounds() into --help
        void* option_;               // the CLI::Option
        Kind kind_;
        unsigned long long whole_lo_ = 0, whole_hi_;
        double lo_, hi_;
        Ends ends_ = Ends::closed;
    };

    /// Adds --help and --version ("PROGRAM (xgrad VERSION)").
    CommandLine(const std::string& program, const std::string& description);
    ~CommandLine();
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    Option& option(const std::string& name, std::string& value, const std::string& help);
    Option& option(const std::string& name, double& value, const std::string& help);
    Option& option(const std::string& name, std::size_t& value, const std::string& help);
    Option& option(const std::string& name, std::uint32_t& value, const std::string& help);
    Option& option(const std::string& name, std::vector<double>& values, const std::string& help);
    Option& flag(const std::string& name, bool& value, const std::string& help);

    /// Parses argv; on bad arguments prints one line to stderr and exits with status 2; on --help
    /// or --version prints and exits 0.
    void parse_or_exit(int argc, char** argv);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The shortest text that reads back to the same double (Python's repr): full precision, at most
/// 17 significant digits, "0.915" rather than "0.91500000000000004".
std::string repr(double value);

/// ../shared/data/football/data.mat beside the source tree, where the course's data lives.
std::string default_football_path();
/// Loads data.mat if it exists; otherwise says so and generates the flower dataset.
Dataset load_or_generate(const std::string& path, bool quiet);

/// A progress bar on stderr with the time left (from the mean pace so far), drawn only when stderr
/// is a terminal: nothing of it reaches a log or a pipe.
class Progress {
public:
    Progress(std::string label, std::size_t total);
    void update(std::size_t done);
    ~Progress();

private:
    std::string label_;
    std::size_t total_, last_percent_ = 101;
    bool enabled_;
    double started_;  // seconds on a steady clock
};

/// `text` as a gnuplot single-quoted string: only the quote itself is special, and it is doubled.
std::string gnuplot_quote(const std::string& text);

/// Data inlined in a gnuplot script (a datablock): `$name << EOD`, the rows, `EOD`. Plot it as
/// `$name` (blank-line-separated blocks are `$name index k`), so no data file is written or named.
std::string gnuplot_datablock(const std::string& name, const std::string& rows);

/// The whole gnuplot script for `picture`: the terminal (from the extension: .png, .svg, .pdf), the
/// output (the script's only path, quoted; "./" put before a leading '|', which gnuplot would
/// read as a pipe to a shell command), then `commands`. ValueError if the path has a line break.
std::string gnuplot_script(const std::string& picture, const std::string& commands, int width = 800,
                           int height = 600);

/// Runs gnuplot on gnuplot_script(picture, commands, ...) given on its standard input: no shell, no
/// side files. Returns whether the picture was drawn (gnuplot exited with 0 and left a non-empty
/// file); warns on stderr, does not throw, when gnuplot is missing or fails (with its message).
bool run_gnuplot(const std::string& picture, const std::string& commands, int width = 800, int height = 600);

/// Checks, before any work, that the file an option names can be written (ensure_writable_file):
/// IoError naming the option and the file otherwise. Nothing for an empty path (option not used).
void check_output_file(const std::string& option, const std::string& path);
/// The same for an output folder (ensure_writable_folder); with `pictures`, a line break in its name,
/// which a gnuplot script cannot quote, is refused too.
void check_output_folder(const std::string& option, const std::string& folder, bool pictures);

/// A cost curve and a decision boundary, drawn with run_gnuplot (PNG or SVG by the file extension).
bool plot_cost_curve(const std::string& picture, const std::vector<std::pair<std::size_t, double>>& costs,
                     const std::string& title);
bool plot_decision_boundary(const std::string& picture, Module& model, const LabeledData& data,
                            const std::string& title);

}  // namespace xgrad::examples
