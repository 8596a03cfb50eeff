// Engine: accumulation, broadcasting undone once, long chains, no-grad, retain_graph, release,
// detach, zero_grad, and the errors graph misuse gets.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include "framework/memory.hpp"
#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(a_tensor_used_twice_gets_the_sum) {
    Tensor x = parameter(Array({2}, {3.0, -2.0}), "x");
    Tensor y = sum(x * x);  // dy/dx = 2x
    y.backward();
    xgrad::test::check_close(x.grad(), {6.0, -4.0}, 0.0);

    Tensor a = parameter(Array::scalar(1.5), "a");
    Tensor b = a + a;
    Tensor c = b + b;  // c = 4a
    c.backward();
    BOOST_TEST(a.grad().item() == 4.0);
}

BOOST_AUTO_TEST_CASE(leaf_gradients_accumulate_until_zero_grad) {
    Tensor x = parameter(Array::scalar(2.0));
    (x * 3.0).backward();
    (x * 3.0).backward();
    BOOST_TEST(x.grad().item() == 6.0);
    x.zero_grad();
    BOOST_TEST(!x.has_grad());
    (x * 3.0).backward();
    BOOST_TEST(x.grad().item() == 3.0);
}

BOOST_AUTO_TEST_CASE(broadcast_gradients_are_summed_back_to_the_input_shape) {
    // The course's Z = W·X + b with b of shape (n, 1).
    Tensor W = parameter(Array({2, 3}, {1, 2, 3, 4, 5, 6}), "W");
    Tensor X = constant(Array({3, 4}, std::vector<double>(12, 1.0)), "X");
    Tensor b = parameter(Array({2, 1}, {0.5, -0.5}), "b");
    Tensor Z = matmul(W, X) + b;
    BOOST_TEST((Z.shape() == Shape{2, 4}));
    sum(Z).backward(BackwardOptions{.retain_graph = true});
    BOOST_TEST((b.grad().shape() == Shape{2, 1}));
    xgrad::test::check_close(b.grad(), {4.0, 4.0}, 0.0);
    xgrad::test::check_close(W.grad(), {4, 4, 4, 4, 4, 4}, 0.0);

    Tensor s = parameter(Array::scalar(2.0), "s");  // 0-d broadcast against a matrix
    sum(Z * s).backward();
    double total = 0;
    for (double v : Z.value().to_vector()) total += v;
    BOOST_TEST(s.grad().item() == total);
}

BOOST_AUTO_TEST_CASE(a_chain_of_100000_ops_runs_forward_backward_and_frees_iteratively) {
    Tensor x = parameter(Array::scalar(1.0), "x");
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = y * 1.0;
    y.backward();
    BOOST_TEST(x.grad().item() == 1.0);
    BOOST_TEST(topological_order(*y.node()).size() == 100001u);
    y = Tensor();  // dropping the chain must not recurse 100 000 destructors deep
}

BOOST_AUTO_TEST_CASE(no_grad_scope_records_nothing) {
    Tensor x = parameter(Array::scalar(2.0));
    {
        NoGradGuard guard;
        BOOST_TEST(!grad_enabled());
        Tensor y = x * x;
        BOOST_TEST(!y.requires_grad());
        BOOST_TEST(y.is_leaf());
        BOOST_TEST(y.item() == 4.0);
    }
    BOOST_TEST(grad_enabled());
    BOOST_TEST((x * x).requires_grad());
}

BOOST_AUTO_TEST_CASE(second_backward_needs_retain_graph) {
    Tensor x = parameter(Array::scalar(3.0), "x");
    Tensor y = x * x;
    y.backward(BackwardOptions{.retain_graph = true});
    y.backward();
    BOOST_TEST(x.grad().item() == 12.0);
    const std::string msg = message_of<GraphError>([&] { y.backward(); });
    BOOST_TEST(contains(msg, "released"));
    BOOST_TEST(contains(msg, "retain_graph"));
}

BOOST_AUTO_TEST_CASE(detach_cuts_the_graph) {
    Tensor x = parameter(Array::scalar(3.0));
    Tensor y = (x * x).detach();
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(y.is_leaf());
    BOOST_TEST(y.item() == 9.0);
    Tensor z = x * y;  // y is a constant 9 here
    z.backward();
    BOOST_TEST(x.grad().item() == 9.0);
}

BOOST_AUTO_TEST_CASE(backward_misuse_gets_clear_errors) {
    Tensor x = parameter(Array({2, 2}, {1, 2, 3, 4}), "x");
    Tensor y = x * 2.0;
    std::string msg = message_of<GraphError>([&] { y.backward(); });
    BOOST_TEST(contains(msg, "not a scalar"));
    BOOST_TEST(contains(msg, "(2, 2)"));

    msg = message_of<ShapeError>([&] { y.backward(Array({3}, {1, 1, 1})); });
    BOOST_TEST(contains(msg, "(3,)"));
    BOOST_TEST(contains(msg, "(2, 2)"));

    y.backward(Array({2, 2}, {1, 0, 0, 1}));
    xgrad::test::check_close(x.grad(), {2, 0, 0, 2}, 0.0);

    Tensor c = constant(Array::scalar(1.0), "c");
    msg = message_of<GraphError>([&] { (c * 2.0).backward(); });
    BOOST_TEST(contains(msg, "does not require grad"));

    msg = message_of<DTypeError>([&] { x + parameter(Array({2, 2}, DType::f32)); });
    BOOST_TEST(contains(msg, "float32"));
    BOOST_TEST(contains(msg, "float64"));
    BOOST_TEST(contains(msg, "add"));

    msg = message_of<GraphError>([&] { (x * 2.0).mutable_value(); });
    BOOST_TEST(contains(msg, "not a leaf"));
}

BOOST_AUTO_TEST_CASE(graph_keeps_ordered_inputs_and_topological_order) {
    Tensor a = parameter(Array::scalar(1.0), "a");
    Tensor b = parameter(Array::scalar(2.0), "b");
    Tensor c = a * b;
    Tensor d = c + a;
    auto order = topological_order(*d.node());
    BOOST_REQUIRE_EQUAL(order.size(), 4u);
    BOOST_TEST(order.back() == d.node().get());
    BOOST_TEST(c.node()->inputs[0].get() == a.node().get());
    BOOST_TEST(c.node()->inputs[1].get() == b.node().get());
    // every node appears after its inputs
    for (std::size_t i = 0; i < order.size(); ++i)
        for (const auto& in : order[i]->inputs)
            BOOST_TEST((std::find(order.begin(), order.begin() + i, in.get()) != order.begin() + i));
}

BOOST_AUTO_TEST_CASE(no_node_keeps_its_output_alive) {
    std::weak_ptr<Node> weak_output;
    Tensor x = parameter(Array({3}, {1, 2, 3}));
    {
        Tensor y = exp(x) * x;
        weak_output = y.node();
        y.backward(Array({3}, {1, 1, 1}));
    }
    BOOST_TEST(weak_output.expired());
}

// The allocator behind nodes, ops and buffers (framework/memory.hpp).
BOOST_AUTO_TEST_CASE(node_and_buffer_blocks_never_overlap) {
    // Blocks of many sizes, each tagged with its index in every byte pair: an allocator error shows
    // up as a block whose tag another one overwrote.
    std::vector<std::pair<std::uint16_t*, std::size_t>> blocks;
    for (int round = 0; round < 3; ++round)
        for (std::size_t bytes = 2; bytes <= 1100; bytes += 6) {
            auto* p = static_cast<std::uint16_t*>(detail::node_allocate(bytes));
            BOOST_TEST(reinterpret_cast<std::uintptr_t>(p) % 16 == 0u);
            std::fill(p, p + bytes / 2, static_cast<std::uint16_t>(blocks.size()));
            blocks.emplace_back(p, bytes);
        }
    for (std::size_t i = 0; i < blocks.size(); ++i)
        for (std::size_t j = 0; j < blocks[i].second / 2; ++j)
            BOOST_TEST_REQUIRE(blocks[i].first[j] == static_cast<std::uint16_t>(i));
    for (auto [p, bytes] : blocks) detail::node_release(p, bytes);
    for (std::size_t bytes : {std::size_t{0}, std::size_t{8}, std::size_t{1000}, std::size_t{1} << 20}) {
        void* p = detail::buffer_allocate(bytes);
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(p) % 64 == 0u);
        detail::buffer_release(p, bytes);
    }
}

namespace {
struct alignas(64) WideOp final : Op {
    double lanes[8] = {};
    std::string name() const override { return "wide"; }
    Array forward(const Inputs& x) override { return *x[0]; }
    Grads backward(const BackwardArgs& a) const override { return {std::move(a.grad_out)}; }
};
}  // namespace

BOOST_AUTO_TEST_CASE(an_over_aligned_op_gets_its_alignment) {
    std::vector<std::unique_ptr<Op>> ops;
    for (int i = 0; i < 16; ++i) {
        ops.push_back(std::make_unique<WideOp>());
        BOOST_TEST(reinterpret_cast<std::uintptr_t>(ops.back().get()) % 64 == 0u);
    }
    Tensor x = parameter(Array({2}, {1.0, 2.0}), "x");
    Tensor y = apply_op(std::make_unique<WideOp>(), {x});
    sum(y).backward();
    xgrad::test::check_close(x.grad(), {1.0, 1.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(graphs_can_be_built_on_one_thread_and_freed_on_another) {
    // Each worker builds graphs, hands some to the main thread, frees others; the main thread frees
    // what it got and builds on. Gradients stay exact throughout.
    std::vector<Tensor> handed_over(4);
    std::vector<std::thread> workers;
    std::vector<double> grads(4, 0.0);
    for (int w = 0; w < 4; ++w)
        workers.emplace_back([w, &handed_over, &grads] {
            Tensor x = parameter(Array::scalar(1.0 + w), "x");
            for (int round = 0; round < 200; ++round) {
                Tensor y = x;
                for (int i = 0; i < 20; ++i) y = y * 1.0 + x;  // y = 21 x
                if (round == 199) handed_over[static_cast<std::size_t>(w)] = y;
            }
            Tensor z = handed_over[static_cast<std::size_t>(w)] * 2.0;
            z.backward();
            grads[static_cast<std::size_t>(w)] = x.grad().flat(0);
        });
    for (std::thread& t : workers) t.join();
    for (int w = 0; w < 4; ++w) {
        BOOST_TEST(grads[static_cast<std::size_t>(w)] == 42.0);
        BOOST_TEST(handed_over[static_cast<std::size_t>(w)].value().flat(0) == 21.0 * (1.0 + w));
    }
    handed_over.clear();  // freed here, on the main thread
    Tensor x = parameter(Array::scalar(2.0), "x");
    Tensor y = x;
    for (int i = 0; i < 500; ++i) y = y + x;
    y.backward();
    BOOST_TEST(x.grad().flat(0) == 501.0);
}

// Version counters: an in-place edit between forward and backward used to give silently wrong
// gradients (10 instead of 4 below; dW = [100, 4] instead of [3, 4] through a matmul).
BOOST_AUTO_TEST_CASE(an_input_edited_after_forward_makes_backward_raise) {
    Tensor w = parameter(Array({1}, {2.0}), "w");
    Tensor y = sum(w * w);
    w.mutable_value().set_flat(0, 5);
    const std::string msg = message_of<GraphError>([&] { y.backward(); });
    BOOST_TEST(contains(msg, "'mul'"), msg);
    BOOST_TEST(contains(msg, "input 0"), msg);
    BOOST_TEST(contains(msg, "'w'"), msg);
    BOOST_TEST(contains(msg, "then, " + std::to_string(w.value().version()) + " now"), msg);
    BOOST_TEST(!w.has_grad());
    // A fresh forward after the edit is fine, and right: d(w²)/dw = 2·5.
    Tensor y2 = sum(w * w);
    y2.backward();
    BOOST_TEST(w.grad().item() == 10.0);
}

// An edit that cannot change a gradient is no error: an addend, a subtrahend, an input of a product
// by a constant, a dividend. An edit to what a backward does read still is (mul's other factor, a
// divisor), and the gradients that come out are the right ones.
BOOST_AUTO_TEST_CASE(edits_that_no_backward_reads_are_allowed) {
    Tensor x = parameter(Array({2}, {1.0, 2.0}), "x"), c = parameter(Array({2}, {3.0, 4.0}), "c");
    Tensor y = sum((x + c) * 2.0 - c / 4.0 + (-x) + (x - 1.0) * 3.0);
    c.mutable_value().set_flat(0, 30.0);
    x.mutable_value().set_flat(1, 20.0);
    y.backward();
    xgrad::test::check_close(x.grad(), {2.0 - 1.0 + 3.0, 2.0 - 1.0 + 3.0}, 0.0);
    xgrad::test::check_close(c.grad(), {2.0 - 0.25, 2.0 - 0.25}, 0.0);

    Tensor a = parameter(Array({1}, {2.0}), "a"), b = parameter(Array({1}, {5.0}), "b");
    Tensor quotient = sum(a / b);
    a.mutable_value().set_flat(0, 7.0);  // the dividend: d(a/b)/da = 1/b, d/db = −(a/b)/b from the result
    quotient.backward();
    BOOST_TEST(a.grad().item() == 1.0 / 5.0);
    BOOST_TEST(b.grad().item() == -(2.0 / 5.0) / 5.0);
    Tensor product = sum(a * b), ratio = sum(a / b);
    b.mutable_value().set_flat(0, 6.0);
    BOOST_TEST(contains(message_of<GraphError>([&] { product.backward(); }), "'mul'"));
    BOOST_TEST(contains(message_of<GraphError>([&] { ratio.backward(); }), "'div'"));

    // A sum reads only its input's shape; a replacement by another shape or dtype is refused for
    // every op, even one that reads no value (its gradient would be reduced to the new shape).
    Tensor s = sum(x), m = mean(x.astype(DType::f32));
    x.mutable_value().set_flat(0, -1.0);
    s.backward();
    m.backward();
    Tensor plus = sum(x + c);
    c.mutable_value() = Array({1}, {5.0});  // broadcastable: a gradient of shape (1,) would pass the engine
    const std::string msg = message_of<GraphError>([&] { plus.backward(); });
    BOOST_TEST(contains(msg, "'add': input 1 (leaf 'c' of shape (1,)) was replaced by an array of another shape"), msg);
    Tensor scaled = sum(b * 2.0);
    b.mutable_value() = Array({1}, {5.0}).astype(DType::f32);
    BOOST_TEST(contains(message_of<GraphError>([&] { scaled.backward(); }), "another shape or dtype"));
}

BOOST_AUTO_TEST_CASE(a_matmul_input_edited_after_forward_makes_backward_raise) {
    Tensor W = parameter(Array({1, 2}, {1.0, 1.0}), "W");
    Tensor x = parameter(Array({2, 1}, {3.0, 4.0}), "x");
    Tensor y = sum(matmul(W, x));
    x.mutable_value().data<double>()[0] = 100.0;  // a write through the mutable buffer counts too
    const std::string msg = message_of<GraphError>([&] { y.backward(); });
    BOOST_TEST(contains(msg, "'matmul'"), msg);
    BOOST_TEST(contains(msg, "input 1"), msg);
}

BOOST_AUTO_TEST_CASE(an_optimizer_step_or_a_load_between_forward_and_backward_raises) {
    Linear layer(2, 1);
    Tensor x = constant(Array({2, 1}, {1.0, 2.0}));
    {
        Tensor y = sum(square(layer(x)));
        y.backward({.retain_graph = true});
        SGD sgd(layer.parameters(), 0.1);
        sgd.step();  // the weights change in place
        BOOST_CHECK_THROW(y.backward(), GraphError);
    }
    const std::string path = (std::filesystem::temp_directory_path() / "xgrad_versions.npz").string();
    save_parameters(layer, path);
    Tensor y = sum(square(layer(x)));
    load_parameters(layer, path);  // assignment is a write, even of the same values
    BOOST_CHECK_THROW(y.backward(), GraphError);
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(reading_values_and_editing_gradients_bump_no_version) {
    Tensor w = parameter(Array({2}, {1.0, 2.0}), "w");
    Tensor y = sum(w * w);
    const std::uint64_t before = w.value().version();
    double seen = w.value().flat(0) + w.value().data<double>()[1];  // const reads
    BOOST_TEST(seen == 3.0);
    BOOST_TEST(w.value().version() == before);
    y.backward();
    xgrad::test::check_close(w.grad(), {2.0, 4.0}, 0.0);
}

BOOST_AUTO_TEST_CASE(moving_a_value_out_counts_as_an_edit) {
    Tensor w = parameter(Array({2}, {1.0, 2.0}), "w");
    Tensor y = sum(w * w);
    Array taken = std::move(w.mutable_value());
    BOOST_CHECK_THROW(y.backward(), GraphError);
}

BOOST_AUTO_TEST_CASE(a_stale_gradient_of_another_shape_is_an_error_not_an_overrun) {
    Tensor w = parameter(Array({5}, {1, 2, 3, 4, 5}), "w");
    sum(w * w).backward();
    w.mutable_value() = Array({3}, {1, 2, 3});  // replaced, grad of shape (5,) kept
    const std::string msg = message_of<ShapeError>([&] { sum(w * w).backward(); });
    BOOST_TEST(contains(msg, "zero_grad"), msg);
}

BOOST_AUTO_TEST_CASE(a_tensor_without_a_gradient_raises_on_element_access) {
    Tensor w = parameter(Array({2}, {1.0, 2.0}), "w");
    const std::string msg = message_of<ShapeError>([&] { return w.grad().flat(0); });
    BOOST_TEST(contains(msg, "undefined"), msg);
    BOOST_CHECK_THROW(w.grad().item(), ShapeError);
    BOOST_CHECK_THROW(w.value().flat(2), ShapeError);
    BOOST_CHECK_THROW(w.mutable_value().set_flat(5, 1.0), ShapeError);
}

BOOST_AUTO_TEST_CASE(retrying_backward_after_an_anomaly_says_what_happened) {
    Tensor x = parameter(Array({2}, {0.0, 4.0}), "x");
    Tensor y = sum(sqrt(x) * 2.0);  // mul_scalar is released before sqrt's infinite gradient is met
    {
        AnomalyGuard anomaly;
        BOOST_CHECK_THROW(y.backward(), AnomalyError);
    }
    const std::string msg = message_of<GraphError>([&] { y.backward(); });
    BOOST_TEST(contains(msg, "stopped with an error"), msg);
    BOOST_TEST(!contains(msg, "pass retain_graph"), msg);
}

BOOST_AUTO_TEST_CASE(gradient_hooks_see_and_may_replace_gradients) {
    Tensor w = parameter(Array({2}, {1.0, -2.0}), "w");
    Tensor x = parameter(Array({2}, {3.0, 4.0}), "x");
    std::vector<double> seen_at_h;
    Tensor h = w * x;  // interior: its hook sees dL/dh before it is passed on
    h.register_hook([&](const Array& g) {
        seen_at_h = g.to_vector();
        return Array();  // keep it
    });
    w.register_hook([](const Array& g) {  // scale w's gradient
        Array scaled = g;
        for (std::size_t i = 0; i < scaled.size(); ++i) scaled.set_flat(i, 10.0 * g.flat(i));
        return scaled;
    });
    std::vector<double> ready;
    int ready_calls = 0;
    w.register_grad_ready_hook([&](Array& accumulated) {
        ++ready_calls;
        ready = accumulated.to_vector();
    });
    sum(square(h)).backward();
    BOOST_TEST((seen_at_h == std::vector<double>{6.0, -16.0}));       // 2h
    BOOST_TEST((w.grad().to_vector() == std::vector<double>{180.0, -640.0}));  // 10 · 2h · x
    BOOST_TEST((x.grad().to_vector() == std::vector<double>{6.0, 32.0}));      // x's own gradient untouched
    BOOST_TEST(ready_calls == 1);
    BOOST_TEST((ready == w.grad().to_vector()));
    // A second backward: the ready hook sees the accumulated gradient.
    sum(w).backward();
    BOOST_TEST(ready_calls == 2);
    BOOST_TEST((ready == std::vector<double>{190.0, -630.0}));
    // A hook that changes the shape is refused with both shapes named.
    Tensor v = parameter(Array({2}, {1.0, 2.0}), "v");
    v.register_hook([](const Array&) { return Array({3}); });
    const std::string msg = xgrad::test::message_of<GraphError>([&] { sum(v).backward(); });
    BOOST_TEST(xgrad::test::contains(msg, "(3,)"));
    BOOST_TEST(xgrad::test::contains(msg, "'v'"));
    // Ready hooks only on leaves; hooks only on tensors a backward reaches.
    BOOST_TEST(xgrad::test::contains(xgrad::test::message_of<GraphError>([&] { h.register_grad_ready_hook([](Array&) {}); }),
                                     "only a leaf"));
    Tensor c = constant(Array({1}), "c");
    BOOST_TEST(xgrad::test::contains(
        xgrad::test::message_of<GraphError>([&] { c.register_hook([](const Array&) { return Array(); }); }), "'c'"));
    w.clear_hooks();
    w.zero_grad();
    sum(w).backward();
    BOOST_TEST(ready_calls == 2);
}

BOOST_AUTO_TEST_CASE(module_forward_hooks_see_inputs_and_outputs) {
    Linear layer(2, 1, LinearOptions{.init = Init::zeros});
    std::vector<Shape> seen;
    layer.register_forward_hook([&](Module&, const Tensor& in, const Tensor& out) {
        seen.push_back(in.shape());
        seen.push_back(out.shape());
    });
    layer(constant(Array({2, 5})));
    BOOST_TEST((seen == std::vector<Shape>{{2, 5}, {1, 5}}));
}

BOOST_AUTO_TEST_SUITE_END()
