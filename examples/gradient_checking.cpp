// The course's gradient-checking assignment, in xgrad: check the autodiff gradient of the 3-layer
// net's cost against central differences, then show the checker catching a broken backward
// (dW2 doubled, db1 quadrupled — the notebook's planted bugs).

#include <iostream>

#include "common/cli.hpp"
#include "common/json.hpp"

using namespace xgrad;
namespace ex = xgrad::examples;

namespace {

// A user-defined op: y = x in forward; backward multiplies the gradient by `factor`.
// It plants the notebook's bugs without touching the framework.
struct ScaleGradient final : Op {
    double factor;
    explicit ScaleGradient(double factor) : factor(factor) {}
    std::string name() const override { return "scale_gradient"; }
    std::string label() const override { return "scale_gradient(x" + ex::repr(factor) + ")"; }
    Array forward(const Inputs& x) override { return *x[0]; }
    Grads backward(const BackwardArgs& a) const override {
        Array g = a.grad_out;
        for (std::size_t i = 0; i < g.size(); ++i) g.set_flat(i, g.flat(i) * factor);
        return {std::move(g)};
    }
};

Tensor scale_gradient(const Tensor& x, double factor) {
    return apply_op(std::make_unique<ScaleGradient>(factor), {x});
}

}  // namespace

int main(int argc, char** argv) {
    ex::CommandLine app("gradient_checking",
                        "Gradient checking of the course's 3-layer net (gradient_check_n), with and without planted bugs.");
    double epsilon = 1e-7;
    bool verbose = false;
    std::string json_path, dot_path, render_path;
    app.option("--epsilon", epsilon, "Finite-difference step")
        .show_default()
        .range(0.0, 1.0, ex::CommandLine::Ends::open_low);
    app.flag("--verbose", verbose, "Also print the worst element of each check");
    app.option("--json", json_path, "Also write both reports as JSON to this file");
    app.option("--dot", dot_path, "Write the graph of the (correct) cost, with gradient norms, as Graphviz DOT");
    app.option("--render", render_path, "Render that graph with Graphviz to FILE.svg, .png or .pdf");
    app.parse_or_exit(argc, argv);

    try {
        ex::check_output_file("--json", json_path);  // before the work, not after it
        ex::check_output_file("--dot", dot_path);
        ex::check_output_file("--render", render_path);
        // gradient_check_n_test_case()
        seed(1);
        const Tensor X = constant(randn({4, 3}), "X");
        const Tensor Y = constant(Array({1, 3}, {1, 1, 0}), "Y");
        Tensor W1 = parameter(randn({5, 4}), "W1"), b1 = parameter(randn({5, 1}), "b1");
        Tensor W2 = parameter(randn({3, 5}), "W2"), b2 = parameter(randn({3, 1}), "b2");
        Tensor W3 = parameter(randn({1, 3}), "W3"), b3 = parameter(randn({1, 1}), "b3");
        const std::vector<Tensor> params = {W1, b1, W2, b2, W3, b3};

        auto cost = [&](double dW2_factor, double db1_factor) {
            Tensor A1 = relu(matmul(W1, X) + scale_gradient(b1, db1_factor));
            Tensor A2 = relu(matmul(scale_gradient(W2, dW2_factor), A1) + b2);
            return binary_cross_entropy(sigmoid(matmul(W3, A2) + b3), Y);
        };
        GradcheckOptions options;
        options.epsilon = epsilon;
        const GradcheckReport correct = gradcheck([&] { return cost(1, 1); }, params, options);
        const GradcheckReport buggy = gradcheck([&] { return cost(2, 4); }, params, options);

        std::cout << "correct backward: difference = " << ex::repr(correct.difference) << "\n";
        std::cout << "buggy backward: difference = " << ex::repr(buggy.difference) << "\n";
        if (verbose) {
            std::cout << "  correct: " << correct.summary() << "\n";
            std::cout << "  buggy:   " << buggy.summary() << "\n";
        }
        if (!dot_path.empty() || !render_path.empty()) {
            for (Tensor p : params) p.zero_grad();  // the checks left their own gradients there
            Tensor graph_cost = cost(1, 1);
            graph_cost.backward(BackwardOptions{.record_grad_norms = true});
            const std::string dot = to_dot(graph_cost, DotOptions{.grad_norms = true, .title = "gradient_check_n's 3-layer net"});
            if (!dot_path.empty()) write_file_atomic(dot_path, dot);
            if (!render_path.empty()) render_dot(dot, render_path);
        }
        if (!json_path.empty()) {
            auto report = [](const GradcheckReport& r) {
                return ex::Json::object({{"difference", r.difference},
                                         {"passed", r.passed},
                                         {"worst_input", r.worst_input},
                                         {"worst_index", r.worst_index},
                                         {"analytic", r.worst_analytic},
                                         {"numeric", r.worst_numeric},
                                         {"elements", r.elements}});
            };
            const ex::Json json = ex::Json::object(
                {{"epsilon", epsilon}, {"correct", report(correct)}, {"buggy", report(buggy)}});
            write_file_atomic(json_path, json.dump());
        }
        std::cout << (correct.passed ? "Your backward propagation works perfectly fine!"
                                     : "There is a mistake in the backward propagation!")
                  << " (correct)\n";
        std::cout << (buggy.passed ? "The planted bug went unnoticed!" : "There is a mistake in the backward propagation!")
                  << " (buggy)\n";
        return correct.passed && !buggy.passed ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "gradient_checking: error: " << e.what() << "\n";
        return 1;
    }
}
