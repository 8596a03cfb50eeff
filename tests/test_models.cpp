// Models: modules and names, initializers, optimizers, data loading, and the exact reproduction of
// the course's regularization notebook on the football data.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>

#include "reference.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {
std::string football_path() { return xgrad::test::shared_dir() + "/data/football/data.mat"; }

/// The precision the README states: the notebook's printed costs to 1e-11 relative. The last digits
/// depend on the order in which the CPU's OpenBLAS kernel sums: measured here (AMD EPYC, OpenBLAS
/// 0.3.21) the worst of the nine printed costs is 9.4e-13 relative, after 20 000 chaotic steps.
void check_cost(double actual, double expected) {
    BOOST_TEST_MESSAGE("cost " << std::setprecision(17) << actual << " vs notebook " << expected << ": relative "
                               << std::abs(actual - expected) / std::abs(expected));
    BOOST_TEST(std::abs(actual - expected) <= 1e-11 * std::abs(expected),
               "cost " << std::setprecision(17) << actual << " vs notebook " << expected);
}

std::filesystem::path temp_file(const std::string& name, const std::string& contents) {
    const auto path = std::filesystem::temp_directory_path() / ("xgrad_test_" + name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(models)

BOOST_AUTO_TEST_CASE(regularization_net_has_the_course_parameters) {
    RegNetConfig config;
    auto model = make_regularization_net(config);
    auto named = model->named_parameters();
    std::vector<std::string> names;
    for (auto& [n, t] : named) names.push_back(n);
    BOOST_TEST((names == std::vector<std::string>{"W1", "b1", "W2", "b2", "W3", "b3"}));
    BOOST_TEST((named[0].second.shape() == Shape{20, 2}));
    BOOST_TEST((named[1].second.shape() == Shape{20, 1}));
    BOOST_TEST((named[4].second.shape() == Shape{1, 3}));
    for (int l = 1; l <= 3; ++l) {
        const auto expected = xgrad::test::reference_doubles("regnet_init_W" + std::to_string(l));
        const auto actual = named[static_cast<std::size_t>(2 * (l - 1))].second.value().to_vector();
        BOOST_TEST(actual == expected, "W" << l << " differs from numpy's initialize_parameters");
    }
}

BOOST_AUTO_TEST_CASE(train_and_eval_mode_reach_every_dropout) {
    RegNetConfig config;
    config.keep_prob = 0.5;
    auto model = make_regularization_net(config);
    Tensor X = constant(Generator(4).randn({2, 30}));
    model->eval();
    const Array a = model->forward(X).value(), b = model->forward(X).value();
    BOOST_TEST(a.equals(b));  // no dropout in evaluation
    model->train();
    const Array c = model->forward(X).value();
    BOOST_TEST(!a.equals(c));
}

BOOST_AUTO_TEST_CASE(football_data_loads_transposed) {
    const Dataset d = load_football(football_path());
    BOOST_TEST((d.train.X.shape() == Shape{2, 211}));
    BOOST_TEST((d.train.Y.shape() == Shape{1, 211}));
    BOOST_TEST((d.test.X.shape() == Shape{2, 200}));
    BOOST_TEST((d.test.Y.shape() == Shape{1, 200}));
}

BOOST_AUTO_TEST_CASE(bad_data_files_name_the_path_and_the_problem) {
    std::string msg = message_of<IoError>([] { load_football("/nonexistent/data.mat"); });
    BOOST_TEST(contains(msg, "/nonexistent/data.mat"));
    const auto garbage = temp_file("garbage.mat", "this is not a MAT file at all, not even close.............");
    msg = message_of<IoError>([&] { load_football(garbage.string()); });
    BOOST_TEST(contains(msg, garbage.string()));
    // Truncated copy of the real file.
    std::ifstream in(football_path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto truncated = temp_file("truncated.mat", bytes.substr(0, bytes.size() / 2));
    msg = message_of<IoError>([&] { load_football(truncated.string()); });
    BOOST_TEST(contains(msg, truncated.string()), msg);

    const auto csv = temp_file("bad.csv", "x1,x2,y\n1,2,0\n3,oops,1\n");
    msg = message_of<IoError>([&] { load_csv(csv.string()); });
    BOOST_TEST(contains(msg, csv.string() + ":3"), msg);
    BOOST_TEST(contains(msg, "oops"), msg);
    const auto ragged = temp_file("ragged.csv", "1,2,0\n3,1\n");
    msg = message_of<IoError>([&] { load_csv(ragged.string()); });
    BOOST_TEST(contains(msg, ":2"), msg);
}

BOOST_AUTO_TEST_CASE(csv_loads_features_by_examples) {
    const auto csv = temp_file("ok.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,1\n");
    const LabeledData d = load_csv(csv.string());
    BOOST_TEST((d.X.shape() == Shape{2, 3}));
    BOOST_TEST((d.X.to_vector() == std::vector<double>{1, 3, 5, 2, 4, 6}));
    BOOST_TEST((d.Y.to_vector() == std::vector<double>{0, 1, 1}));
}

BOOST_AUTO_TEST_CASE(flower_matches_the_course_checkpoints) {
    const LabeledData f = flower(1, 400);
    auto check = [&](const std::string& name, std::size_t col) {
        const auto expected = xgrad::test::flower_reference(name);
        for (std::size_t r = 0; r < 2; ++r)
            BOOST_TEST(std::abs(f.X.flat(r * 400 + col) - expected[r]) <= 1e-12 * std::abs(expected[r]), name);
    };
    check("X_col0", 0);
    check("X_col1", 1);
    check("X_col199", 199);
    check("X_col200", 200);
    check("X_col399", 399);
    double s0 = 0, s1 = 0, sy = 0;
    for (std::size_t i = 0; i < 400; ++i) s0 += f.X.flat(i), s1 += f.X.flat(400 + i), sy += f.Y.flat(i);
    BOOST_TEST(std::abs(s0 - xgrad::test::flower_reference("X_sum_row0")[0]) < 1e-9);
    BOOST_TEST(std::abs(s1 - xgrad::test::flower_reference("X_sum_row1")[0]) < 1e-9);
    BOOST_TEST(sy == 200.0);
}

BOOST_AUTO_TEST_CASE(mini_batches_cover_every_example_once) {
    const LabeledData f = flower(1, 100);
    Generator gen(0);
    const auto batches = random_mini_batches(f, 32, gen);
    BOOST_TEST(batches.size() == 4u);
    BOOST_TEST(batches.back().X.shape()[1] == 4u);
    double label_sum = 0;
    for (const auto& b : batches)
        for (double y : b.Y.to_vector()) label_sum += y;
    BOOST_TEST(label_sum == 50.0);
}

BOOST_AUTO_TEST_CASE(mini_batches_keep_one_hot_labels_with_their_examples) {
    // X row 0 = the example's index; Y one-hot over 3 classes, class = index % 3.
    const std::size_t m = 10;
    LabeledData d{Array({2, m}), Array({3, m})};
    for (std::size_t i = 0; i < m; ++i) {
        d.X.set_flat(i, static_cast<double>(i));
        d.Y.set_flat((i % 3) * m + i, 1.0);
    }
    Generator gen(3);
    std::size_t seen = 0;
    for (const LabeledData& b : random_mini_batches(d, 4, gen)) {
        const std::size_t n = b.X.shape()[1];
        BOOST_TEST((b.Y.shape() == Shape{3, n}));
        for (std::size_t k = 0; k < n; ++k, ++seen) {
            const auto index = static_cast<std::size_t>(b.X.flat(k));
            for (std::size_t c = 0; c < 3; ++c) BOOST_TEST(b.Y.flat(c * n + k) == (c == index % 3 ? 1.0 : 0.0));
        }
    }
    BOOST_TEST(seen == m);
    const std::string msg = message_of<ShapeError>([&] { random_mini_batches({d.X, Array({3, m + 1})}, 4, gen); });
    BOOST_TEST(contains(msg, "one example per column"), msg);
    BOOST_CHECK_THROW(random_mini_batches({Array({m}), d.Y}, 4, gen), ShapeError);  // 1-d X: no read past its shape
}

namespace {
// docs/api-guide.md's example of a custom module, as written there.
class Residual : public xgrad::Module {
public:
    Residual(std::size_t width) {
        inner = register_module("inner", std::make_shared<xgrad::Linear>(width, width));
        gate = register_parameter("gate", xgrad::parameter(xgrad::Array::zeros({width, 1}), "gate"));
    }
    xgrad::Tensor forward(const xgrad::Tensor& x) override { return x + gate * xgrad::relu((*inner)(x)); }
    std::shared_ptr<xgrad::Linear> inner;
    xgrad::Tensor gate;
};
}  // namespace

BOOST_AUTO_TEST_CASE(the_api_guides_custom_module_registers_and_trains) {
    seed(2);
    Residual block(3);
    std::vector<std::string> names;
    for (const auto& [name, t] : block.named_parameters()) names.push_back(name);
    std::sort(names.begin(), names.end());
    BOOST_TEST((names == std::vector<std::string>{"gate", "inner.W", "inner.b"}));
    Tensor x = constant(randn({3, 4}));
    Tensor loss = sum(square(block(x)));
    loss.backward();
    BOOST_TEST(block.gate.has_grad());
    BOOST_TEST(block.inner->weight.has_grad());
}

// A weight shared by two modules (tied) is one parameter: listed once, under the name it is first met
// by, updated once a step, saved and loaded once; a list that names it twice is refused by the
// optimizers and by clip_grad_norm, which would update it twice or count and scale its norm twice.
namespace {
struct TiedAutoencoder : Module {
    std::shared_ptr<Linear> encoder;
    TiedAutoencoder() {
        encoder = register_module("enc", std::make_shared<Linear>(2, 2, LinearOptions{.layout = Layout::batch_first}));
        register_parameter("dec_weight", encoder->weight);  // the decoder multiplies by encoder's Wᵀ
    }
    Tensor forward(const Tensor& x) override { return matmul((*encoder)(x), encoder->weight, false, true); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_tied_weight_is_one_parameter) {
    seed(0);
    TiedAutoencoder model;
    std::vector<std::string> names;
    for (const auto& [name, t] : model.named_parameters()) names.push_back(name);
    BOOST_TEST((names == std::vector<std::string>{"dec_weight", "enc.b"}));
    BOOST_TEST(model.parameters().size() == 2u);

    SGD sgd(model.parameters(), 0.1);
    sum(model(constant(Array({1, 2}, {1.0, 2.0})))).backward();
    const Array before = model.encoder->weight.value(), grad = model.encoder->weight.grad();
    sgd.step();
    for (std::size_t i = 0; i < before.size(); ++i)
        BOOST_TEST(model.encoder->weight.value().flat(i) == before.flat(i) - 0.1 * grad.flat(i));

    const std::string path = (std::filesystem::temp_directory_path() / "xgrad_tied.npz").string();
    save_parameters(model, path);
    TiedAutoencoder other;
    load_parameters(other, path);
    BOOST_TEST(other.encoder->weight.value().equals(model.encoder->weight.value()));
    std::filesystem::remove(path);

    Tensor a = parameter(Array({1}, {1.0}), "a"), b = parameter(Array({1}, {2.0}), "b");
    for (const std::string& message :
         {message_of<ValueError>([&] { SGD({a, b, a}, 0.1); }), message_of<ValueError>([&] { Adam({b, b}); }),
          message_of<ValueError>([&] { clip_grad_norm({a, a}, 1.0); })})
        BOOST_TEST(contains(message, "are the same tensor"), message);
    BOOST_TEST(contains(message_of<ValueError>([&] { SGD({a, b, a}, 0.1); }),
                        "SGD: parameters 0 and 2 are the same tensor ('a')"));
}

// Names clash when the model is built, not when it is saved: two unnamed Linear layers both bring "W".
BOOST_AUTO_TEST_CASE(clashing_names_are_refused_when_the_model_is_built) {
    Sequential unnamed;
    unnamed.add(std::make_shared<Linear>(3, 4));
    unnamed.add(std::make_shared<ReLU>());
    const std::string msg = message_of<ValueError>([&] { unnamed.add(std::make_shared<Linear>(4, 2)); });
    BOOST_TEST(contains(msg, "a module registered without a name brings a parameter or buffer named 'W'"), msg);
    BOOST_TEST(unnamed.size() == 2u);  // the refused layer is not part of the model
    Sequential named;
    named.add(std::make_shared<Linear>(3, 4), "fc1");
    named.add(std::make_shared<Linear>(4, 2), "fc2");
    BOOST_TEST(named.parameters().size() == 4u);
    BOOST_TEST(contains(message_of<ValueError>([&] { named.add(std::make_shared<Linear>(2, 2), "fc1"); }),
                        "the module registered as 'fc1' brings a parameter or buffer named 'fc1.W'"));
    struct Twice : Module {
        Twice() {
            register_parameter("w", parameter(Array({1})));
            register_parameter("w", parameter(Array({1})));
        }
        Tensor forward(const Tensor& x) override { return x; }
    };
    BOOST_TEST(contains(message_of<ValueError>([] { Twice(); }),
                        "register_parameter: this module already has a parameter or buffer named 'w'"));
    // Names that save_parameters could not write are refused when registered, too.
    struct Unsavable : Module {
        explicit Unsavable(const std::string& name) { register_parameter(name, parameter(Array({1}))); }
        Tensor forward(const Tensor& x) override { return x; }
    };
    for (const std::string& bad : std::vector<std::string>{"", "a/b", "../../evil", std::string("a\0b", 3)})
        BOOST_TEST(contains(message_of<ValueError>([&] { Unsavable{bad}; }), "cannot be saved"),
                   "name of " << bad.size() << " chars");
    BOOST_TEST(contains(message_of<ValueError>([&] { named.add(std::make_shared<ReLU>(), "up/down"); }),
                        "register_module: the name 'up/down' cannot be saved"));
}

BOOST_AUTO_TEST_CASE(optimizers_follow_the_course_formulas) {
    Tensor w = parameter(Array({2}, {1.0, -2.0}), "w");
    auto set_grad = [&](double g0, double g1) {
        w.zero_grad();
        (sum(w * constant(Array({2}, {g0, g1})))).backward();
    };
    SGD sgd({w}, 0.1);
    set_grad(0.5, -1.0);
    sgd.step();
    xgrad::test::check_close(w.value(), {1.0 - 0.1 * 0.5, -2.0 + 0.1}, 1e-15);

    Tensor m = parameter(Array({1}, {1.0}), "m");
    Momentum mom({m}, 0.1, 0.9);
    m.zero_grad();
    (m * 2.0).backward(Array({1}, {1.0}));
    mom.step();  // v = 0.1·2 = 0.2; m = 1 - 0.02
    BOOST_TEST(std::abs(m.value().flat(0) - 0.98) < 1e-15);

    Tensor a = parameter(Array({1}, {1.0}), "a");
    Adam adam({a}, 0.01);
    a.zero_grad();
    (a * 3.0).backward(Array({1}, {1.0}));
    adam.step();  // bias-corrected first step moves by lr·g/|g| ≈ lr
    BOOST_TEST(std::abs(a.value().flat(0) - (1.0 - 0.01 * 3.0 / (3.0 + 1e-8))) < 1e-12);

    BOOST_TEST(contains(message_of<ValueError>([&] { SGD({w}, -1.0); }), "learning_rate"));
    BOOST_TEST(contains(message_of<ValueError>([&] { Adam({w}, 0.01, 1.5); }), "beta1"));
    BOOST_TEST(contains(message_of<ValueError>([&] { Adam({w}, 0.01, 0.9, 0.999, 0.0); }), "epsilon"));
}

/// Runs the notebook's model() protocol and compares its printed costs (iterations 0, 10 000, 20 000)
/// to 1e-11 relative and its accuracies exactly.
void check_notebook_run(const RegNetConfig& config, const std::vector<double>& costs, double train_accuracy,
                        double test_accuracy) {
    const Dataset data = load_football(football_path());
    auto model = make_regularization_net(config);
    std::vector<double> printed;
    const TrainReport r = train(*model, data, config, [&](std::size_t i, double c) {
        if (i % 10000 == 0) printed.push_back(c);
    });
    BOOST_REQUIRE_EQUAL(printed.size(), costs.size());
    for (std::size_t k = 0; k < costs.size(); ++k) check_cost(printed[k], costs[k]);
    BOOST_TEST(r.train_accuracy == train_accuracy);
    BOOST_TEST(r.test_accuracy == test_accuracy);
}

BOOST_AUTO_TEST_CASE(notebook_without_regularization) {
    check_notebook_run(RegNetConfig{}, {0.6557412523481002, 0.16329987525724216, 0.13851642423254343},
                       0.9478672985781991, 0.915);
}

BOOST_AUTO_TEST_CASE(notebook_with_l2_regularization) {
    RegNetConfig config;
    config.lambd = 0.7;
    check_notebook_run(config, {0.6974484493131264, 0.2684918873282239, 0.2680916337127301}, 0.9383886255924171,
                       0.93);
}

BOOST_AUTO_TEST_CASE(notebook_with_dropout) {
    RegNetConfig config;
    config.keep_prob = 0.86;
    config.reseed_each_step = true;
    check_notebook_run(config, {0.6543912405149825, 0.061016986574905605, 0.060582435798513114},
                       0.9289099526066351, 0.95);
}

// The hidden layers fused (LinearReLUDropout: one node each) reproduce the notebook's dropout run to
// the same digits, and record 4 nodes fewer per step.
BOOST_AUTO_TEST_CASE(notebook_with_dropout_fused_layers) {
    RegNetConfig config;
    config.keep_prob = 0.86;
    config.reseed_each_step = true;
    config.fused = true;
    check_notebook_run(config, {0.6543912405149825, 0.061016986574905605, 0.060582435798513114},
                       0.9289099526066351, 0.95);
    auto nodes = [&](bool fused) {
        config.fused = fused;
        auto model = make_regularization_net(config);
        const Tensor X = constant(Array::ones({2, 5}));
        return topological_order((*model)(X).node_ref()).size();
    };
    BOOST_TEST(nodes(false) == nodes(true) + 4);
}

BOOST_AUTO_TEST_SUITE_END()
