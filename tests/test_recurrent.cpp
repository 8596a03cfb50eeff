// Sequence layers: the course's "RNN step by step" cell cases from xgrad's ops and from RNNCell /
// LSTMCell with the course's weights mapped to PyTorch's layout; gradient checks through 5 unrolled
// steps of every cell and layer (float64); recurrent dropout's one-mask-per-sequence rule.

#include <algorithm>
#include <cmath>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::check_close;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {

/// Rows [a, b) of a course matrix (features × examples layout), as a constant.
Tensor rows(const Tensor& m, std::int64_t a, std::int64_t b) { return slice(m, 0, a, b); }
/// Columns [a, b).
Tensor columns(const Tensor& m, std::int64_t a, std::int64_t b) { return slice(m, 1, a, b); }

void set(Tensor& parameter, const Tensor& value) {
    BOOST_REQUIRE((parameter.shape() == value.shape()));
    parameter.mutable_value() = value.value();
}

/// |a − b| ≤ tol · max(1, |b|) element by element, shapes equal.
void check_close_arrays(const Array& a, const Array& b, double tol) {
    BOOST_REQUIRE((a.shape() == b.shape()));
    for (std::size_t i = 0; i < a.size(); ++i)
        BOOST_TEST(std::abs(a.flat(i) - b.flat(i)) <= tol * std::max(1.0, std::abs(b.flat(i))),
                   "element " << i << ": " << a.flat(i) << " vs " << b.flat(i));
}

std::size_t graph_nodes(const Tensor& root) { return topological_order(root.node_ref()).size(); }

GradcheckReport check(const std::function<Tensor()>& loss, const std::vector<Tensor>& inputs) {
    GradcheckOptions options;
    options.epsilon = 1e-6;
    options.tolerance = 1e-7;
    return gradcheck(loss, inputs, options);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(recurrent)

// The expected values are the assignment's; tests/rnn_reference.py recomputes them with numpy.
BOOST_AUTO_TEST_CASE(course_rnn_cell) {
    seed(1);
    const Tensor xt = constant(randn({3, 10})), a_prev = constant(randn({5, 10}));
    const Tensor Waa = constant(randn({5, 5})), Wax = constant(randn({5, 3})), Wya = constant(randn({2, 5}));
    const Tensor ba = constant(randn({5, 1})), by = constant(randn({2, 1}));
    const std::vector<double> a4 = {0.59584544, 0.18141802, 0.61311866, 0.99808218, 0.85016201,
                                    0.99980978, -0.18887155, 0.99815551, 0.6531151, 0.82872037};
    const std::vector<double> y1 = {0.9888161, 0.01682021, 0.21140899, 0.36817467, 0.98988387,
                                    0.88945212, 0.36920224, 0.9966312, 0.9982559, 0.17746526};
    // With ops, in the course's layout.
    const Tensor a_next = tanh(matmul(Wax, xt) + matmul(Waa, a_prev) + ba);
    const Tensor y = softmax(matmul(Wya, a_next) + by, 0);
    check_close(a_next[4].value(), a4, 5e-9);
    check_close(y[1].value(), y1, 5e-9);
    // With RNNCell: weight_ih = Wax, weight_hh = Waa, bias_ih = ba, bias_hh = 0; batch-first x = xtᵀ.
    RNNCell cell(3, 5);
    set(cell.weight_ih, Wax);
    set(cell.weight_hh, Waa);
    set(cell.bias_ih, reshape(ba, {5}));
    cell.bias_hh.mutable_value() = Array({5});
    const Tensor h = cell.step(transpose(xt), transpose(a_prev));
    check_close(transpose(h)[4].value(), a4, 5e-9);
    check_close(softmax(linear(h, Wya, reshape(by, {2}), Layout::batch_first), 1).t()[1].value(), y1, 5e-9);
}

BOOST_AUTO_TEST_CASE(course_lstm_cell) {
    seed(1);
    const Tensor xt = constant(randn({3, 10})), a_prev = constant(randn({5, 10})), c_prev = constant(randn({5, 10}));
    const Tensor Wf = constant(randn({5, 8})), bf = constant(randn({5, 1}));
    const Tensor Wi = constant(randn({5, 8})), bi = constant(randn({5, 1}));
    const Tensor Wo = constant(randn({5, 8})), bo = constant(randn({5, 1}));
    const Tensor Wc = constant(randn({5, 8})), bc = constant(randn({5, 1}));
    const Tensor Wy = constant(randn({2, 5})), by = constant(randn({2, 1}));
    // The course stacks [a_prev; xt]: its first 5 columns act on h, the last 3 on x. PyTorch's gate
    // order is i, f, g (the course's c̃), o.
    LSTMCell cell(3, 5);
    set(cell.weight_ih, concat({columns(Wi, 5, 8), columns(Wf, 5, 8), columns(Wc, 5, 8), columns(Wo, 5, 8)}, 0));
    set(cell.weight_hh, concat({columns(Wi, 0, 5), columns(Wf, 0, 5), columns(Wc, 0, 5), columns(Wo, 0, 5)}, 0));
    set(cell.bias_ih, reshape(concat({bi, bf, bc, bo}, 0), {20}));
    cell.bias_hh.mutable_value() = Array({20});
    const LSTMState next = cell.step(transpose(xt), {transpose(a_prev), transpose(c_prev)});
    const Tensor a_next = transpose(next.h), c_next = transpose(next.c);
    check_close(a_next[4].value(), {-0.66408471, 0.0036921, 0.02088357, 0.22834167, -0.85575339, 0.00138482,
                                    0.76566531, 0.34631421, -0.00215674, 0.43827275}, 5e-9);
    check_close(c_next[2].value(), {0.63267805, 1.00570849, 0.35504474, 0.20690913, -1.64566718, 0.11832942,
                                    0.76449811, -0.0981561, -0.74348425, -0.26810932}, 5e-9);
    const Tensor yt = softmax(matmul(Wy, a_next) + by, 0);
    check_close(yt[1].value(), {0.79913913, 0.15986619, 0.22412122, 0.15606108, 0.97057211, 0.31146381,
                                0.00943007, 0.12666353, 0.39380172, 0.07828381}, 5e-9);
    BOOST_TEST(std::abs(rows(a_next, 4, 5).value().flat(0) - -0.6640847127473231) < 1e-14);
}

BOOST_AUTO_TEST_CASE(every_cell_passes_a_gradient_check_through_five_steps) {
    Generator gen(11);
    const RecurrentOptions options{.generator = &gen};
    std::vector<Tensor> xs;
    for (int t = 0; t < 5; ++t) {
        std::string name = "x";  // appended piece by piece: GCC 12 warns falsely on "x" + std::to_string(t)
        name += std::to_string(t);
        xs.push_back(parameter(gen.randn({2, 3}), name));
    }
    Tensor h0 = parameter(gen.randn({2, 4}), "h0");
    Tensor c0 = parameter(gen.randn({2, 4}), "c0");
    RNNCell rnn(3, 4, options);
    LSTMCell lstm(3, 4, options);
    GRUCell gru(3, 4, options);
    auto with_inputs = [&](std::vector<Tensor> p) {
        p.insert(p.end(), xs.begin(), xs.end());
        p.push_back(h0);
        return p;
    };
    const auto r = check([&] {
        Tensor h = h0;
        for (const Tensor& x : xs) h = rnn.step(x, h);
        return sum(square(h));
    }, with_inputs(rnn.parameters()));
    BOOST_TEST(r.passed, "RNNCell: " << r.summary());
    auto lstm_inputs = with_inputs(lstm.parameters());
    lstm_inputs.push_back(c0);
    const auto l = check([&] {
        LSTMState s{h0, c0};
        for (const Tensor& x : xs) s = lstm.step(x, s);
        return sum(square(s.h)) + sum(s.c);
    }, lstm_inputs);
    BOOST_TEST(l.passed, "LSTMCell: " << l.summary());
    const auto g = check([&] {
        Tensor h = h0;
        for (const Tensor& x : xs) h = gru.step(x, h);
        return sum(square(h));
    }, with_inputs(gru.parameters()));
    BOOST_TEST(g.passed, "GRUCell: " << g.summary());
}

BOOST_AUTO_TEST_CASE(every_layer_passes_a_gradient_check_through_five_steps) {
    Generator gen(12);
    Tensor x = parameter(gen.randn({5, 2, 3}), "x");  // (T, N, in)
    Tensor xb = parameter(gen.randn({2, 5, 3}), "xb");  // batch first
    Tensor h0 = parameter(gen.randn({2, 2, 4}), "h0"), c0 = parameter(gen.randn({2, 2, 4}), "c0");
    SequenceOptions two_layers{.num_layers = 2, .cell = {.generator = &gen}};
    SequenceOptions batch_first{.batch_first = true, .cell = {.generator = &gen}};
    RNN rnn(3, 4, two_layers);
    LSTM lstm(3, 4, two_layers);
    GRU gru(3, 4, batch_first);
    auto plus = [](std::vector<Tensor> p, std::initializer_list<Tensor> more) {
        p.insert(p.end(), more);
        return p;
    };
    const auto r = check([&] { return sum(square(rnn.run(x, {h0, {}}).output)); }, plus(rnn.parameters(), {x, h0}));
    BOOST_TEST(r.passed, "RNN: " << r.summary());
    const auto l = check([&] {
        const SequenceOutput out = lstm.run(x, {h0, c0});
        return sum(square(out.output)) + sum(out.state.c);
    }, plus(lstm.parameters(), {x, h0, c0}));
    BOOST_TEST(l.passed, "LSTM: " << l.summary());
    const auto g = check([&] { return sum(square(gru.run(xb).output)) + sum(gru.run(xb).state.h); },
                         plus(gru.parameters(), {xb}));
    BOOST_TEST(g.passed, "GRU: " << g.summary());
}

// LSTM runs each layer as one lstm_layer node unless `unrolled`: the two must agree in values and in
// every gradient (float64, 1e-12), in both layouts, with and without biases, initial state,
// recurrent dropout and dropout between layers (masks from generators seeded alike), and in
// evaluation mode.
BOOST_AUTO_TEST_CASE(fused_lstm_layers_equal_the_unrolled_cells) {
    struct Setting {
        bool batch_first, bias, initial_state;
        std::size_t layers;
        double recurrent_keep, between_keep;
        DropoutScale scale;
    };
    const Setting settings[] = {
        {false, true, false, 1, 1.0, 1.0, DropoutScale::constant},
        {true, true, true, 1, 1.0, 1.0, DropoutScale::constant},
        {false, false, true, 2, 1.0, 1.0, DropoutScale::constant},
        {true, true, true, 2, 0.6, 0.7, DropoutScale::per_example},
        {false, true, false, 3, 0.8, 0.5, DropoutScale::measured},
        {true, false, false, 2, 0.75, 1.0, DropoutScale::classic},
    };
    for (const Setting& s : settings) {
        for (const bool training : {true, false}) {
            const std::size_t T = 6, N = 3, in = 4, H = 5;
            std::vector<std::vector<Array>> values(2), grads(2);
            for (const bool unrolled : {false, true}) {
                Generator weights(31), recurrent_masks(32), between_masks(33), data(34);
                SequenceOptions options{.num_layers = s.layers,
                                        .batch_first = s.batch_first,
                                        .between_layers = {.keep_prob = s.between_keep, .scale = s.scale,
                                                           .generator = &between_masks},
                                        .recurrent = {.keep_prob = s.recurrent_keep, .scale = s.scale,
                                                      .generator = &recurrent_masks},
                                        .cell = {.bias = s.bias, .generator = &weights},
                                        .unrolled = unrolled};
                LSTM lstm(in, H, options);
                if (!training) lstm.eval();
                Tensor x = parameter(data.randn(s.batch_first ? Shape{N, T, in} : Shape{T, N, in}), "x");
                Tensor h0 = parameter(data.randn({s.layers, N, H}), "h0"), c0 = parameter(data.randn({s.layers, N, H}), "c0");
                const SequenceOutput out = s.initial_state ? lstm.run(x, {h0, c0}) : lstm.run(x);
                const Tensor loss = sum(square(out.output)) + sum(out.state.h * 0.5) + sum(square(out.state.c) * 0.25);
                loss.backward();
                const auto k = static_cast<std::size_t>(unrolled);
                values[k] = {out.output.value(), out.state.h.value(), out.state.c.value()};
                for (const Tensor& p : lstm.parameters()) grads[k].push_back(p.grad());
                grads[k].push_back(x.grad());
                if (s.initial_state) grads[k].insert(grads[k].end(), {h0.grad(), c0.grad()});
            }
            const std::string where = std::string(s.batch_first ? "batch first" : "time major") + ", " +
                                      std::to_string(s.layers) + " layers, recurrent keep " +
                                      std::to_string(s.recurrent_keep) + (training ? ", training" : ", evaluation");
            BOOST_TEST_CONTEXT(where) {
                for (std::size_t i = 0; i < values[0].size(); ++i) check_close_arrays(values[0][i], values[1][i], 1e-12);
                BOOST_TEST_REQUIRE(grads[0].size() == grads[1].size());
                for (std::size_t i = 0; i < grads[0].size(); ++i) check_close_arrays(grads[0][i], grads[1][i], 1e-12);
            }
        }
    }
    // Unrolled, a step records its own nodes; fused, a layer is one node whatever T is.
    Generator gen(3);
    LSTM fused(2, 3, {.cell = {.generator = &gen}}), unrolled(2, 3, {.cell = {.generator = &gen}, .unrolled = true});
    const Tensor x = constant(Array({8, 1, 2}));
    BOOST_TEST(graph_nodes(sum(fused(x))) < 12u);
    BOOST_TEST(graph_nodes(sum(unrolled(x))) > 8u * 4u);
}

// lstm_layer's own checks name it and the offending shapes.
BOOST_AUTO_TEST_CASE(lstm_layer_rejects_bad_shapes) {
    const Tensor x = constant(Array({4, 2, 3})), h = constant(Array({2, 5})), w_ih = constant(Array({20, 3})),
                 w_hh = constant(Array({20, 5})), b = constant(Array({20}));
    BOOST_TEST(lstm_layer(x, h, h, w_ih, w_hh, b, b).output.shape() == (Shape{4, 2, 5}));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm_layer(constant(Array({4, 3})), h, h, w_ih, w_hh); }),
                        "lstm_layer: input must be (T, N, in), got (4, 3)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm_layer(x, h, h, constant(Array({20, 4})), w_hh); }),
                        "lstm_layer: weight_ih must be (20, 3), got (20, 4)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm_layer(x, h, h, w_ih, constant(Array({20, 4}))); }),
                        "weight_hh must be (4H, H), got (20, 4)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm_layer(x, constant(Array({3, 5})), h, w_ih, w_hh); }),
                        "h0 must be (2, 5), got (3, 5)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm_layer(x, h, h, w_ih, w_hh, b, b, constant(Array({5}))); }),
                        "mask must be (2, 5), got (5,)"));
    BOOST_TEST(contains(message_of<ValueError>([&] { lstm_layer(x, h, h, w_ih, w_hh, b, {}); }), "both biases"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm_layer(constant(Array({0, 2, 3})), h, h, w_ih, w_hh); }),
                        "empty"));
}

BOOST_AUTO_TEST_CASE(sequence_layers_have_pytorch_shapes_and_names) {
    LSTM lstm(3, 4, {.num_layers = 2, .batch_first = true});
    std::vector<std::string> names;
    for (const auto& [name, t] : lstm.named_parameters()) names.push_back(name);
    BOOST_TEST((names == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                                  "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
    BOOST_TEST((lstm.named_parameters()[0].second.shape() == Shape{16, 3}));
    BOOST_TEST((lstm.named_parameters()[5].second.shape() == Shape{16, 4}));
    const SequenceOutput out = lstm.run(constant(Array({2, 7, 3})));
    BOOST_TEST((out.output.shape() == Shape{2, 7, 4}));
    BOOST_TEST((out.state.h.shape() == Shape{2, 2, 4}));
    BOOST_TEST((out.state.c.shape() == Shape{2, 2, 4}));
    // The output's last step is the top layer's final state.
    BOOST_TEST(select(out.output, 1, -1).value().equals(out.state.h[1].value()));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm.run(constant(Array({2, 3}))); }), "(N, T, in)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { lstm.run(constant(Array({2, 7, 3})), {constant(Array({1, 2, 4})), {}}); }),
                        "initial state"));
    BOOST_TEST(message_of<ShapeError>([&] { lstm.run(constant(Array({2, 7, 5}))); }) ==
               "LSTM: input of shape (2, 7, 5) has 5 features (its last axis), but the layer was built for "
               "input_size 3");
    // An LSTM's state is h and c together: one alone would restart the other from zeros, silently.
    const Tensor state = constant(Array({2, 2, 4}));
    BOOST_TEST(message_of<ValueError>([&] { lstm.run(constant(Array({2, 7, 3})), {state, {}}); }) ==
               "LSTM: the initial state has h but no c; an LSTM's state is both (pass {h, c}), or neither to start "
               "from zeros");
    BOOST_TEST(contains(message_of<ValueError>([&] { lstm.run(constant(Array({2, 7, 3})), {{}, state}); }),
                        "has c but no h"));
    LSTMCell lstm_cell(3, 4);
    const Tensor x2 = constant(Array({2, 3})), h2 = constant(Array({2, 4}));
    BOOST_TEST(contains(message_of<ValueError>([&] { lstm_cell.step(x2, {h2, {}}); }),
                        "LSTMCell: the initial state has h but no c"));
    GRU gru_layer(3, 4);
    const Tensor x3 = constant(Array({7, 1, 3})), c3 = constant(Array({1, 1, 4}));
    BOOST_TEST(contains(message_of<ValueError>([&] { gru_layer.run(x3, {{}, c3}); }),
                        "GRU: the initial state has a cell state c, which only an LSTM has"));
    // Embedding: int64 indices of any shape, gradient into the used rows only.
    Embedding embed(6, 2);
    const Tensor words = constant(Array({2, 3}, {1, 5, 1, 0, 0, 2}, DType::i64));
    const Tensor vectors = embed(words);
    BOOST_TEST((vectors.shape() == Shape{2, 3, 2}));
    sum(vectors).backward();
    BOOST_TEST((embed.weight.grad().to_vector() == std::vector<double>{2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1}));
    BOOST_TEST(contains(message_of<DTypeError>([&] { embed(constant(Array({2}))); }), "int64"));
}

BOOST_AUTO_TEST_CASE(recurrent_dropout_reuses_one_mask_per_sequence) {
    // A linear recurrence h' = h·W_hhᵀ with W_hh = I and no input effect shows the mask: each step
    // multiplies the state by the same D·s, so after T steps h = h0 ⊙ (D·s)^T.
    Generator masks(5);
    SequenceOptions options{.recurrent = {.keep_prob = 0.5, .scale = DropoutScale::per_example, .generator = &masks},
                            .cell = {.bias = false, .nonlinearity = "relu"}};
    RNN rnn(1, 6, options);
    rnn.named_parameters()[0].second.mutable_value() = Array({6, 1});           // no input path
    rnn.named_parameters()[1].second.mutable_value() = Array({6, 6});
    Array eye({6, 6});
    for (std::size_t i = 0; i < 6; ++i) eye.set_flat(i * 7, 1.0);
    rnn.named_parameters()[1].second.mutable_value() = eye;
    const Tensor h0 = constant(Array::ones({1, 2, 6}));
    const SequenceOutput out = rnn.run(constant(Array({3, 2, 1})), {h0, {}});
    // Replaying the generator draws the same (2, 6) mask the layer drew.
    Generator replay(5);
    const Array uniforms = replay.rand({2, 6});
    for (std::size_t n = 0; n < 2; ++n) {
        double kept = 0;
        for (std::size_t j = 0; j < 6; ++j) kept += uniforms.flat(n * 6 + j) < 0.5;
        const double scale = 6.0 / kept;  // per sequence
        for (std::size_t j = 0; j < 6; ++j) {
            const double d = uniforms.flat(n * 6 + j) < 0.5 ? scale : 0.0;
            for (std::size_t t = 0; t < 3; ++t)
                BOOST_TEST(std::abs(out.output.value().at({t, n, j}) - std::pow(d, static_cast<double>(t + 1))) < 1e-12);
        }
    }
    // Evaluation: no mask.
    rnn.eval();
    const SequenceOutput eval = rnn.run(constant(Array({3, 2, 1})), {h0, {}});
    BOOST_TEST(sum(eval.output).item() == 36.0);
}

BOOST_AUTO_TEST_SUITE_END()
