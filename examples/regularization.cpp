// The course's regularization notebook as a C++ model script: the 3-layer net on the football data
// with no regularization, L2, or dropout in any scale mode. See docs/from-numpy-to-xgrad.md.
//
//   regularization --keep-prob 0.86 --reseed-each-step     # the notebook's dropout run
//   regularization --compare                               # all four modes and a table

#include <iomanip>
#include <iostream>
#include <sstream>

#include "common/cli.hpp"
#include "common/json.hpp"

using namespace xgrad;
namespace ex = xgrad::examples;

namespace {

struct Run {
    std::string mode;
    RegNetConfig config;
    TrainReport report;
};

std::string mode_name(const RegNetConfig& c) {
    if (c.lambd > 0 && c.keep_prob < 1) return "L2 " + ex::repr(c.lambd) + " + dropout " + ex::repr(c.keep_prob) + " " + scale_name(c.scale);
    if (c.lambd > 0) return "L2 lambda=" + ex::repr(c.lambd);
    if (c.keep_prob < 1) return std::string("dropout ") + ex::repr(c.keep_prob) + " " + scale_name(c.scale);
    return "no regularization";
}

std::string slug(std::string s) {
    for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.') ch = '_';
    return s;
}

struct GraphExport {
    std::string dot_path, render_path;
    bool backward = false;
};

void export_graph(const Tensor& cost, const GraphExport& g, const std::string& mode) {
    DotOptions options;
    options.backward = g.backward;
    options.grad_norms = true;
    options.show_saved = true;
    options.title = std::string(g.backward ? "backward" : "forward") + " graph of one training step: " + mode;
    const std::string dot = to_dot(cost, options);
    if (!g.dot_path.empty()) {
        write_file_atomic(g.dot_path, dot);
        std::cerr << "wrote " << g.dot_path << "\n";
    }
    if (!g.render_path.empty()) {
        render_dot(dot, g.render_path);
        std::cerr << "wrote " << g.render_path << "\n";
    }
}

Run run_one(const Dataset& data, const RegNetConfig& config, const std::string& out_dir, bool plots,
            const GraphExport& graph = {}) {
    Run run{mode_name(config), config, {}};
    auto model = make_regularization_net(config);
    ex::Progress progress(run.mode, config.iterations);
    run.report = train(*model, data, config, [&](std::size_t i, double cost) {
        if (i % 10000 == 0) std::cout << "Cost after iteration " << i << ": " << ex::repr(cost) << std::endl;
        progress.update(i + 1);
    }, [&](const Tensor& cost) {
        if (!graph.dot_path.empty() || !graph.render_path.empty()) export_graph(cost, graph, run.mode);
    });
    std::cout << "On the training set: Accuracy: " << ex::repr(run.report.train_accuracy) << "\n";
    std::cout << "On the test set: Accuracy: " << ex::repr(run.report.test_accuracy) << "\n";
    if (!out_dir.empty()) {
        const std::string base = out_dir + "/" + slug(run.mode);
        std::ostringstream csv;
        csv << "iteration,cost\n";
        for (auto& [i, c] : run.report.costs) csv << i << "," << ex::repr(c) << "\n";
        write_file_atomic(base + "_costs.csv", csv.str());
        std::string wrote = base + "_costs.csv";
        if (plots) {
            // A picture gnuplot could not draw has already been warned about; name only those drawn.
            if (ex::plot_cost_curve(base + "_cost.png", run.report.costs, "Cost: " + run.mode))
                wrote += ", _cost.png";
            if (ex::plot_decision_boundary(base + "_boundary.png", *model, data.train,
                                           "Decision boundary: " + run.mode))
                wrote += ", _boundary.png";
        }
        std::cerr << "wrote " << wrote << "\n";
    }
    return run;
}

void write_summary(const std::vector<Run>& runs, const std::string& csv_path, const std::string& json_path) {
    if (!csv_path.empty()) {
        std::ostringstream csv;
        csv << "mode,lambd,keep_prob,scale,iterations,final_cost,train_accuracy,test_accuracy,seconds\n";
        for (const Run& r : runs)
            csv << '"' << r.mode << "\"," << ex::repr(r.config.lambd) << "," << ex::repr(r.config.keep_prob) << ","
                << scale_name(r.config.scale) << "," << r.config.iterations << "," << ex::repr(r.report.final_cost) << ","
                << ex::repr(r.report.train_accuracy) << "," << ex::repr(r.report.test_accuracy) << ","
                << r.report.seconds << "\n";
        write_file_atomic(csv_path, csv.str());
        std::cerr << "wrote " << csv_path << "\n";
    }
    if (!json_path.empty()) {
        ex::Json json = ex::Json::array();
        for (const Run& r : runs)
            json.push_back(ex::Json::object({{"mode", r.mode},
                                             {"lambd", r.config.lambd},
                                             {"keep_prob", r.config.keep_prob},
                                             {"scale", scale_name(r.config.scale)},
                                             {"iterations", r.config.iterations},
                                             {"final_cost", r.report.final_cost},
                                             {"train_accuracy", r.report.train_accuracy},
                                             {"test_accuracy", r.report.test_accuracy},
                                             {"seconds", r.report.seconds}}));
        write_file_atomic(json_path, json.dump());
        std::cerr << "wrote " << json_path << "\n";
    }
}

void print_table(const std::vector<Run>& runs) {
    std::cout << "\n" << std::left << std::setw(30) << "mode" << std::setw(22) << "final cost" << std::setw(22)
              << "train accuracy" << std::setw(10) << "test accuracy" << "\n";
    std::cout << std::string(86, '-') << "\n";
    for (const Run& r : runs)
        std::cout << std::setw(30) << r.mode << std::setw(22) << ex::repr(r.report.final_cost) << std::setw(22)
                  << ex::repr(r.report.train_accuracy) << ex::repr(r.report.test_accuracy) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    ex::CommandLine app("regularization",
                        "Train the course's 3-layer regularization net (LINEAR→RELU→LINEAR→RELU→LINEAR→SIGMOID)\n"
                        "with no regularization, L2, or dropout, reproducing the notebook's protocol.");
    RegNetConfig config;
    std::string data_path = ex::default_football_path(), scale = "constant", out_dir = "out/regularization";
    std::string csv_path, json_path;
    bool compare = false, no_plots = false;
    GraphExport graph;
    std::string graph_kind = "forward";
    app.option("--data", data_path, "The football data.mat (falls back to generated flower data if absent)")
        .show_default();
    app.option("--lambd", config.lambd, "L2 regularization strength (course: 0.7)")
        .show_default().non_negative();
    app.option("--keep-prob", config.keep_prob, "Dropout keep probability in (0, 1] (course: 0.86)")
        .show_default().range(0.0, 1.0, ex::CommandLine::Ends::open_low);
    app.option("--scale", scale, "Dropout scale mode")
        .show_default().one_of({"constant", "measured", "per-example", "classic"});
    app.flag("--reseed-each-step", config.reseed_each_step,
                 "Re-seed the generator with 1 before every forward pass, as the notebook does (same masks every step)");
    app.option("--iterations", config.iterations, "Gradient-descent steps").show_default().range(1, 1e9);
    app.option("--learning-rate", config.learning_rate, "Learning rate")
        .show_default().positive();
    app.option("--seed", config.seed, "Seed of the generator the weights are drawn from").show_default();
    app.flag("--compare", compare,
                 "Run the four course modes (none, L2 0.7, dropout 0.86 constant, dropout 0.86 measured; the "
                 "notebook's protocol) and print a comparison table");
    app.option("--out", out_dir, "Directory for the CSV files and pictures ('' = none)").show_default();
    app.flag("--no-plots", no_plots, "Write CSV files only, no pictures");
    app.option("--csv", csv_path, "Write the run summaries as CSV to this file");
    app.option("--json", json_path, "Write the run summaries as JSON to this file");
    app.option("--dot", graph.dot_path, "Write the graph of the first training step as Graphviz DOT");
    app.option("--render", graph.render_path, "Render that graph with Graphviz to FILE.svg, .png or .pdf");
    app.option("--graph", graph_kind, "Which graph --dot/--render show")
        .show_default().one_of({"forward", "backward"});
    app.parse_or_exit(argc, argv);
    graph.backward = graph_kind == "backward";

    try {
        // Every output is checked before the training, not after it.
        ex::check_output_folder("--out", out_dir, !no_plots);
        ex::check_output_file("--csv", csv_path);
        ex::check_output_file("--json", json_path);
        ex::check_output_file("--dot", graph.dot_path);
        ex::check_output_file("--render", graph.render_path);
        config.scale = parse_scale(scale);
        const Dataset data = ex::load_or_generate(data_path, false);
        std::cerr << "data: " << data.source << "\n";
        std::vector<Run> runs;
        if (compare) {
            std::vector<RegNetConfig> modes(4, config);
            modes[0].lambd = 0, modes[0].keep_prob = 1;
            modes[1].lambd = 0.7, modes[1].keep_prob = 1;
            modes[2].lambd = 0, modes[2].keep_prob = 0.86, modes[2].scale = DropoutScale::constant;
            modes[3].lambd = 0, modes[3].keep_prob = 0.86, modes[3].scale = DropoutScale::measured;
            for (RegNetConfig& m : modes) {
                m.reseed_each_step = true;
                std::cout << "\n== " << mode_name(m) << " ==\n";
                runs.push_back(run_one(data, m, out_dir, !no_plots));
            }
            print_table(runs);
        } else {
            runs.push_back(run_one(data, config, out_dir, !no_plots, graph));
        }
        write_summary(runs, csv_path, json_path);
    } catch (const std::exception& e) {
        std::cerr << "regularization: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
