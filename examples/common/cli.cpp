#include "cli.hpp"

#include <chrono>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>

namespace xgrad::examples {

struct CommandLine::Impl {
    CLI::App app;
    std::deque<Option> options;  // stable addresses for the Option& handed out

    Impl(const std::string& description, const std::string& program) : app(description, program) {}

    Option& add(CLI::Option* option, Option::Kind kind, unsigned long long whole_max = 0) {
        options.push_back(Option(option, kind, whole_max));
        Option& added = options.back();
        if (kind != Option::Kind::text) {
            // One checker per option, reading the bounds when it runs, so range() only narrows them.
            // A transform, so that it can hand CLI11 the number in plain decimal.
            option->transform(CLI::Validator([&added](std::string& input) { return added.check(input); }, ""),
                              "bounds");
            added.describe();
        }
        return added;
    }
};

namespace {
CLI::Option& cli(void* option) { return *static_cast<CLI::Option*>(option); }

std::string whole(unsigned long long value) { return std::to_string(value); }

using Ends = CommandLine::Ends;
bool excludes_low(Ends ends) { return ends == Ends::open_low || ends == Ends::open; }
bool excludes_high(Ends ends) { return ends == Ends::open_high || ends == Ends::open; }
}  // namespace

CommandLine::Option::Option(void* option, Kind kind, unsigned long long whole_max)
    : option_(option),
      kind_(kind),
      whole_hi_(whole_max),
      lo_(-std::numeric_limits<double>::infinity()),
      hi_(std::numeric_limits<double>::infinity()) {}

std::string CommandLine::Option::bounds() const {
    if (kind_ == Kind::whole) {
        if (whole_hi_ == std::numeric_limits<std::size_t>::max()) return ">= " + whole(whole_lo_);
        return "[" + whole(whole_lo_) + ", " + whole(whole_hi_) + "]";
    }
    const bool open_low = excludes_low(ends_), open_high = excludes_high(ends_);
    if (std::isinf(lo_) && std::isinf(hi_)) return "finite";
    if (std::isinf(hi_)) return (open_low ? "> " : ">= ") + repr(lo_);
    if (std::isinf(lo_)) return (open_high ? "< " : "<= ") + repr(hi_);
    return (open_low ? "(" : "[") + repr(lo_) + ", " + repr(hi_) + (open_high ? ")" : "]");
}

void CommandLine::Option::describe() {
    cli(option_).get_validator("bounds")->description(bounds());
}

std::string CommandLine::Option::check(std::string& input) const {
    const char* first = input.data();
    const char* last = first + input.size();
    const std::string allowed = bounds();
    // "in [1, 9]", "in (0, 1]", ">= 0"
    const std::string in_bounds = (allowed[0] == '[' || allowed[0] == '(' ? "in " : "") + allowed;
    if (kind_ == Kind::whole) {
        const std::string expected = " (expected a whole number " + in_bounds + ")";
        if (!input.empty() && input.front() == '-') return input + " is negative" + expected;
        unsigned long long value = 0;
        const auto [end, error] = std::from_chars(first, last, value);
        if (input.empty() || end != last) return "'" + input + "' is not a whole number" + expected;
        if (error == std::errc::result_out_of_range || value < whole_lo_ || value > whole_hi_)
            return input + " is not " + in_bounds;
        input = whole(value);
        return {};
    }
    if (first != last && *first == '+') ++first;
    double value = 0;
    const auto [end, error] = std::from_chars(first, last, value);
    if (first == last || end != last || error == std::errc::invalid_argument)
        return "'" + input + "' is not a number";
    if (error == std::errc::result_out_of_range || !std::isfinite(value))
        return input + " is not a finite number";
    const bool open_low = excludes_low(ends_), open_high = excludes_high(ends_);
    if (value < lo_ || value > hi_ || (open_low && value == lo_) || (open_high && value == hi_))
        return input + " is not " + in_bounds;
    return {};
}

CommandLine::Option& CommandLine::Option::show_default() {
    cli(option_).capture_default_str();
    return *this;
}
CommandLine::Option& CommandLine::Option::range(double lo, double hi, Ends ends) {
    if (kind_ == Kind::whole) {
        // Whole numbers: the nearest whole bounds inside, within the type.
        const bool open_low = excludes_low(ends), open_high = excludes_high(ends);
        const double low = open_low ? std::floor(lo) + 1 : std::ceil(lo);
        const double high = open_high ? std::ceil(hi) - 1 : std::floor(hi);
        if (low > 0) whole_lo_ = std::max(whole_lo_, static_cast<unsigned long long>(low));
        if (high < static_cast<double>(whole_hi_))
            whole_hi_ = high < 0 ? 0 : static_cast<unsigned long long>(high);
    } else {
        lo_ = lo, hi_ = hi, ends_ = ends;
    }
    describe();
    return *this;
}
CommandLine::Option& CommandLine::Option::non_negative() {
    return range(0, std::numeric_limits<double>::infinity());
}
CommandLine::Option& CommandLine::Option::positive() {
    return range(0, std::numeric_limits<double>::infinity(), Ends::open_low);
}
CommandLine::Option& CommandLine::Option::one_of(const std::vector<std::string>& choices) {
    cli(option_).check(CLI::IsMember(choices));
    return *this;
}
CommandLine::Option& CommandLine::Option::delimiter(char separator) {
    cli(option_).delimiter(separator);
    return *this;
}
bool CommandLine::Option::given() const { return cli(option_).count() > 0; }

CommandLine::CommandLine(const std::string& program, const std::string& description)
    : impl_(std::make_unique<Impl>(description, program)) {
    impl_->app.add_flag_callback(
        "--version",
        [program] {
            std::cout << program << " (xgrad " << xgrad::version << ")\n";
            throw CLI::Success();
        },
        "Print the version and exit");
}
CommandLine::~CommandLine() = default;

CommandLine::Option& CommandLine::option(const std::string& name, std::string& value, const std::string& help) {
    return impl_->add(impl_->app.add_option(name, value, help), Option::Kind::text);
}
CommandLine::Option& CommandLine::option(const std::string& name, double& value, const std::string& help) {
    return impl_->add(impl_->app.add_option(name, value, help), Option::Kind::real);
}
CommandLine::Option& CommandLine::option(const std::string& name, std::size_t& value, const std::string& help) {
    return impl_->add(impl_->app.add_option(name, value, help), Option::Kind::whole,
                      std::numeric_limits<std::size_t>::max());
}
CommandLine::Option& CommandLine::option(const std::string& name, std::uint32_t& value, const std::string& help) {
    return impl_->add(impl_->app.add_option(name, value, help), Option::Kind::whole,
                      std::numeric_limits<std::uint32_t>::max());
}
CommandLine::Option& CommandLine::option(const std::string& name, std::vector<double>& values,
                                         const std::string& help) {
    return impl_->add(impl_->app.add_option(name, values, help), Option::Kind::real);
}
CommandLine::Option& CommandLine::flag(const std::string& name, bool& value, const std::string& help) {
    return impl_->add(impl_->app.add_flag(name, value, help), Option::Kind::text);
}

void CommandLine::parse_or_exit(int argc, char** argv) {
    CLI::App& app = impl_->app;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        std::exit(app.exit(e));
    } catch (const CLI::CallForAllHelp& e) {
        std::exit(app.exit(e));
    } catch (const CLI::Success& e) {
        std::exit(0);
    } catch (const CLI::ParseError& e) {
        std::cerr << app.get_name() << ": error: " << e.what() << " (see --help)\n";
        std::exit(2);
    }
}

std::string repr(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

std::string default_football_path() { return XGRAD_SOURCE_DIR "/../shared/data/football/data.mat"; }

Dataset load_or_generate(const std::string& path, bool quiet) {
    if (std::filesystem::exists(path)) return load_football(path);
    if (!quiet)
        std::cerr << "note: " << path << " not found; using the generated planar flower dataset instead\n";
    return flower_dataset();
}

namespace {
double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Progress::Progress(std::string label, std::size_t total)
    : label_(std::move(label)), total_(total), enabled_(isatty(STDERR_FILENO) && total > 0),
      started_(steady_seconds()) {}

void Progress::update(std::size_t done) {
    if (!enabled_) return;
    const std::size_t percent = std::min<std::size_t>(done * 100 / total_, 100);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    const std::size_t width = 30, filled = percent * width / 100;
    const double elapsed = steady_seconds() - started_;
    const double left = done ? elapsed * static_cast<double>(total_ - std::min(done, total_)) / static_cast<double>(done) : 0;
    const auto minutes = static_cast<long>(left) / 60, seconds = static_cast<long>(left) % 60;
    std::fprintf(stderr, "\r%s [%s%s] %3zu%%  ETA %ld:%02ld ", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), percent, minutes, seconds);
    std::fflush(stderr);
}

Progress::~Progress() {
    if (enabled_) std::fprintf(stderr, "\r%s\r", std::string(label_.size() + 40, ' ').c_str());
}

namespace {

std::string terminal_for(const std::string& picture, int width, int height) {
    const std::string ext = std::filesystem::path(picture).extension().string();
    const std::string size = std::to_string(width) + "," + std::to_string(height);
    if (ext == ".svg") return "svg size " + size + " dynamic background rgb 'white' font ',10'";
    if (ext == ".pdf") return "pdfcairo size " + std::to_string(width / 100.0) + "in," + std::to_string(height / 100.0) + "in";
    return "pngcairo size " + size + " font ',10'";
}

}  // namespace

std::string gnuplot_quote(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    return quoted + "'";
}

std::string gnuplot_datablock(const std::string& name, const std::string& rows) {
    return "$" + name + " << EOD\n" + rows + (rows.empty() || rows.back() == '\n' ? "" : "\n") + "EOD\n";
}

std::string gnuplot_script(const std::string& picture, const std::string& commands, int width, int height) {
    if (picture.find_first_of("\n\r") != std::string::npos)
        throw ValueError("gnuplot cannot take a file name with a line break: " + picture);
    // `set output '|command'` would start a shell: a relative path starting with '|' gets "./".
    const std::string output = picture.rfind('|', 0) == 0 ? "./" + picture : picture;
    return "set terminal " + terminal_for(picture, width, height) + "\nset output " + gnuplot_quote(output) +
           "\n" + commands;
}

bool run_gnuplot(const std::string& picture, const std::string& commands, int width, int height) {
    ProgramResult result;
    try {
        result = run_program({"gnuplot"}, gnuplot_script(picture, commands, width, height));
    } catch (const IoError& e) {
        std::cerr << "warning: no picture " << picture << ": " << e.what() << " (is gnuplot installed?)\n";
        return false;
    } catch (const ValueError& e) {  // a path gnuplot cannot take
        std::cerr << "warning: no picture " << picture << ": " << e.what() << "\n";
        return false;
    }
    std::error_code error;
    const bool drawn =
        std::filesystem::is_regular_file(picture, error) && std::filesystem::file_size(picture, error) > 0;
    if (result.exit_code == 0 && drawn && !error) return true;
    std::string reason = result.std_err;
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    if (reason.empty())
        reason = "exit status " + std::to_string(result.exit_code) + (drawn ? "" : ", no picture");
    std::cerr << "warning: gnuplot could not draw " << picture << ": " << reason << "\n";
    return false;
}

void check_output_file(const std::string& option, const std::string& path) {
    if (path.empty()) return;
    try {
        ensure_writable_file(path);
    } catch (const IoError& e) {  // it may name only the folder at fault: say which file it was for
        throw IoError(option + " " + path + ": " + e.what());
    }
}

void check_output_folder(const std::string& option, const std::string& folder, bool pictures) {
    if (folder.empty()) return;
    if (pictures && folder.find_first_of("\n\r") != std::string::npos)
        throw IoError(option + " " + folder + ": a folder for pictures cannot have a line break in its name");
    try {
        ensure_writable_folder(folder);
    } catch (const IoError& e) {
        throw IoError(option + " " + folder + ": " + e.what());
    }
}

bool plot_cost_curve(const std::string& picture, const std::vector<std::pair<std::size_t, double>>& costs,
                     const std::string& title) {
    std::ostringstream rows;
    for (auto& [i, c] : costs) rows << i << " " << repr(c) << "\n";
    return run_gnuplot(picture, gnuplot_datablock("cost", rows.str()) + "set title " + gnuplot_quote(title) +
                                    " noenhanced\nset xlabel 'iteration'\nset ylabel 'cost'\nset grid\n"
                                    "plot $cost using 1:2 with lines lw 2 title 'cost'\n");
}

bool plot_decision_boundary(const std::string& picture, Module& model, const LabeledData& data,
                            const std::string& title) {
    const std::size_t m = data.X.shape()[1], n = 200;
    const Tensor X = constant(data.X);
    const Array lowest = min(X, 1).value(), highest = max(X, 1).value();  // per feature
    const double lo[2] = {lowest.flat(0), lowest.flat(1)}, hi[2] = {highest.flat(0), highest.flat(1)};
    Array grid({2, n * n});
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t c = 0; c < n; ++c) {
            grid.set_flat(r * n + c, lo[0] - 0.1 + (hi[0] - lo[0] + 0.2) * static_cast<double>(c) / (n - 1));
            grid.set_flat(n * n + r * n + c, lo[1] - 0.1 + (hi[1] - lo[1] + 0.2) * static_cast<double>(r) / (n - 1));
        }
    Array p;
    {
        const bool was_training = model.training();
        model.eval();
        NoGradGuard no_grad;
        p = model(constant(grid)).value();
        model.train(was_training);
    }
    std::ostringstream g, pts;
    for (std::size_t k = 0; k < n * n; ++k) {
        g << grid.flat(k) << " " << grid.flat(n * n + k) << " " << (p.flat(k) > 0.5 ? 1 : 0) << "\n";
        if (k % n == n - 1) g << "\n";
    }
    for (std::size_t i = 0; i < m; ++i) pts << data.X.flat(i) << " " << data.X.flat(m + i) << " " << data.Y.flat(i) << "\n";
    return run_gnuplot(picture, gnuplot_datablock("grid", g.str()) + gnuplot_datablock("points", pts.str()) +
                                    "set title " + gnuplot_quote(title) + " noenhanced\nunset key\n"
                                    "set palette defined (0 '#f4c7c3', 1 '#c6dbef')\n"
                                    "unset colorbox\nset xrange [" + std::to_string(lo[0] - 0.1) + ":" +
                                    std::to_string(hi[0] + 0.1) + "]\nset yrange [" + std::to_string(lo[1] - 0.1) + ":" +
                                    std::to_string(hi[1] + 0.1) + "]\n" +
                                    "plot $grid using 1:2:3 with image, "
                                    "$points using 1:2:($3 > 0.5 ? 0x1f77b4 : 0xd62728) "
                                    "with points pt 7 ps 0.8 lc rgb variable\n");
}

}  // namespace xgrad::examples
