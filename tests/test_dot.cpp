// DOT export: a golden file, Graphviz acceptance of forward and backward graphs, node counts,
// escaping, clusters, gradient-norm annotations and rendering.

#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::contains;

namespace {

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

/// y = sum(dropout(x * x + b)) with a fixed mask: a tensor used twice, broadcasting and a dropout.
Tensor small_graph(Tensor& x, Tensor& b) {
    x = parameter(Array({2, 3}, {1, -2, 3, -4, 5, -6}), "x");
    b = parameter(Array({2, 1}, {0.5, -0.5}), "b");
    Generator gen(1);
    DropoutOptions d;
    d.keep_prob = 0.5;
    d.generator = &gen;
    ScopeGuard scope("block");
    return sum(dropout(x * x + b, d));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dot)

BOOST_AUTO_TEST_CASE(golden_small_graph) {
    Tensor x, b;
    Tensor y = small_graph(x, b);
    y.backward(BackwardOptions{.retain_graph = true, .record_grad_norms = true});
    DotOptions options;
    options.grad_norms = true;
    options.show_saved = true;
    const std::string dot = to_dot(y, options);
    const std::string golden_path = std::string(XGRAD_TEST_DIR) + "/golden/small_graph.dot";
    if (std::getenv("XGRAD_UPDATE_GOLDEN")) std::ofstream(golden_path) << dot;
    std::ifstream in(golden_path);
    BOOST_REQUIRE_MESSAGE(in, "missing golden file " << golden_path);
    std::stringstream expected;
    expected << in.rdbuf();
    BOOST_TEST(dot == expected.str(), "DOT differs from " << golden_path << ":\n" << dot);
    BOOST_TEST(to_dot(y, options) == dot);  // deterministic
}

BOOST_AUTO_TEST_CASE(graphviz_accepts_forward_and_backward_graphs) {
    Tensor x, b;
    Tensor y = small_graph(x, b);
    for (bool backward : {false, true}) {
        DotOptions options;
        options.backward = backward;
        std::string error;
        BOOST_TEST(graphviz_accepts(to_dot(y, options), &error), error);
    }
    std::string error;
    BOOST_TEST(!graphviz_accepts("digraph { a -> }", &error));
    BOOST_TEST(!error.empty());
}

BOOST_AUTO_TEST_CASE(one_dot_node_per_recorded_node) {
    Tensor x, b;
    Tensor y = small_graph(x, b);
    const std::string dot = to_dot(y);
    const auto order = topological_order(*y.node());
    std::size_t ops = 0;
    for (const Node* n : order) ops += !n->is_leaf();
    BOOST_TEST(ops == 4u);  // mul, add, dropout, sum
    BOOST_TEST(count(dot, "style=\"rounded,filled\"") == ops);
    BOOST_TEST(count(dot, ", shape=") == order.size());
    BOOST_TEST(count(dot, "n0 -> n1 ") == 2u);  // x used twice by mul
    BOOST_TEST(contains(dot, "subgraph cluster_0"));
    BOOST_TEST(contains(dot, "label=\"block\""));
    BOOST_TEST(contains(dot, "keep_prob: 0.5"));
    BOOST_TEST(contains(dot, "scale mode: constant"));
}

BOOST_AUTO_TEST_CASE(names_are_escaped) {
    const std::string nasty = "W \"quoted\" \\back\\ <angle> é\xff";
    Tensor w = parameter(Array({1}, {1.0}), nasty);
    Tensor y = sum(w * 2.0);
    const std::string dot = to_dot(y);
    BOOST_TEST(contains(dot, "W \\\"quoted\\\" \\\\back\\\\ <angle> é\xef\xbf\xbd"), dot);
    std::string error;
    BOOST_TEST(graphviz_accepts(dot, &error), error);
    BOOST_TEST(dot_escape("a\nb") == "a\\nb");
}

BOOST_AUTO_TEST_CASE(parameters_without_gradient_are_marked) {
    Tensor used = parameter(Array({1}, {1.0}), "used");
    Tensor unused = parameter(Array({1}, {1.0}), "unused");
    Tensor y = sum(used * 3.0 + unused * 0.0);
    // unused gets a zero gradient (not "no gradient"); build one that truly gets none:
    Tensor z = sum(used * 2.0) + sum(unused.detach());
    z.backward();
    const std::string dot = to_dot(z, DotOptions{.grad_norms = true});
    BOOST_TEST(contains(dot, "|grad| = 2"));
    BOOST_TEST(!contains(dot, "#c00000"));  // the detached copy is a constant, not a starved parameter
    Tensor lonely = parameter(Array({1}, {1.0}), "lonely");
    Tensor w = sum(lonely * 2.0);
    const std::string before = to_dot(w);  // no backward yet: no gradient reached it
    BOOST_TEST(contains(before, "#c00000"));
    (void)y;
}

BOOST_AUTO_TEST_CASE(render_svg_and_errors) {
    Tensor x, b;
    Tensor y = small_graph(x, b);
    const auto path = std::filesystem::temp_directory_path() / "xgrad_test_graph.svg";
    std::filesystem::remove(path);
    render_dot(to_dot(y), path.string());
    BOOST_TEST(std::filesystem::file_size(path) > 500u);
    std::ifstream in(path);
    std::string head((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST(contains(head, "<svg"));
    BOOST_TEST(contains(xgrad::test::message_of<ValueError>([&] { render_dot(to_dot(y), "/tmp/graph.bmpx"); }), ".bmpx"));
    BOOST_TEST(contains(xgrad::test::message_of<GraphError>([&] { render_dot("digraph {", "/tmp/x.svg"); }), "parse"));
    BOOST_TEST(contains(xgrad::test::message_of<IoError>([&] { render_dot(to_dot(y), "/nonexistent/dir/g.svg"); }),
                        "/nonexistent/dir/g.svg"));
}

BOOST_AUTO_TEST_SUITE_END()
