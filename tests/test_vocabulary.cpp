// The op vocabulary's contracts beyond values (those are compared with numpy in ops_numpy and
// differentiated in gradcheck): int64 rules, tie and NaN rules, the sugar, the layouts, and every
// error naming the op and the values at fault.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {
Tensor ints(const Shape& shape, std::vector<double> values) { return constant(Array(shape, std::move(values), DType::i64)); }
Tensor floats(const Shape& shape, std::vector<double> values) { return constant(Array(shape, std::move(values))); }
}  // namespace

BOOST_AUTO_TEST_SUITE(vocabulary)

BOOST_AUTO_TEST_CASE(int64_tensors_hold_labels_and_never_require_grad) {
    const Tensor y = ints({3}, {0, 2, 1});
    BOOST_TEST((y.dtype() == DType::i64));
    BOOST_TEST(y.value().flat(1) == 2.0);
    BOOST_TEST(std::string(dtype_name(DType::i64)) == "int64");
    std::string msg = message_of<DTypeError>([] { parameter(Array({2}, DType::i64), "labels"); });
    BOOST_TEST(contains(msg, "labels"));
    BOOST_TEST(contains(msg, "int64"));
    Tensor c = ints({2}, {1, 2});
    BOOST_TEST(contains(message_of<DTypeError>([&] { c.set_requires_grad(); }), "int64"));
    // An op that needs floats names itself and the input.
    msg = message_of<DTypeError>([&] { exp(y); });
    BOOST_TEST(contains(msg, "exp"));
    BOOST_TEST(contains(msg, "int64 (3,)"));
    msg = message_of<DTypeError>([&] { matmul(y, floats({3}, {1, 2, 3})); });
    BOOST_TEST(contains(msg, "matmul"));
    // Floats where int64 indices are needed.
    msg = message_of<DTypeError>([&] { gather(floats({2, 2}, {1, 2, 3, 4}), 1, floats({2, 1}, {0, 1})); });
    BOOST_TEST(contains(msg, "gather"));
    BOOST_TEST(contains(msg, "must be int64"));
    msg = message_of<DTypeError>([&] { cross_entropy(floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({2}, {0, 1})); });
    BOOST_TEST(contains(msg, "cross_entropy"));
    // astype to and from int64 truncates toward zero, as numpy, and refuses what has no int64 value.
    const Tensor t = astype(floats({4}, {-1.7, -0.2, 0.9, 2.5}), DType::i64);
    BOOST_TEST((t.value().to_vector() == std::vector<double>{-1, 0, 0, 2}));
    msg = message_of<ValueError>([&] { astype(floats({2}, {1.0, std::nan("")}), DType::i64); });
    BOOST_TEST(contains(msg, "nan"));
    // Shape ops move int64 values unchanged.
    const Tensor big = ints({2, 2}, {9007199254740991.0, -3, 4, 5});
    BOOST_TEST(concat({big, big}, 0).value().flat(4) == 9007199254740991.0);
    BOOST_TEST((permute(big, {1, 0}).value().to_vector() == std::vector<double>{9007199254740991.0, 4, -3, 5}));
}

BOOST_AUTO_TEST_CASE(accuracy_is_argmax_and_equal) {
    // Three examples (rows), four classes: predicted 1, 3, 0 against labels 1, 2, 0.
    const Tensor logits = floats({3, 4}, {0.1, 2.0, 0.3, -1, 0, 0, 0.5, 0.9, 3, 1, 1, 1});
    const Tensor labels = ints({3}, {1, 2, 0});
    const Tensor predicted = argmax(logits, 1);
    BOOST_TEST((predicted.value().to_vector() == std::vector<double>{1, 3, 0}));
    const double accuracy = mean(equal(predicted, labels)).item();
    BOOST_TEST(accuracy == 2.0 / 3.0);
    BOOST_TEST(mean(predicted == labels).item() == accuracy);  // the operator form
}

BOOST_AUTO_TEST_CASE(ties_and_nans_follow_the_documented_rules) {
    // argmax: the first of tied maxima (numpy); max's gradient: shared among the ties.
    Tensor x = parameter(Array({1, 4}, {2, 5, 5, 1}), "x");
    BOOST_TEST(argmax(x, 1).item() == 1.0);
    BOOST_TEST(argmin(floats({3}, {4, 1, 1}), 0).item() == 1.0);
    max(x).backward();
    BOOST_TEST((x.grad().to_vector() == std::vector<double>{0, 0.5, 0.5, 0}));
    // maximum: half each on a tie.
    Tensor a = parameter(Array({3}, {1, 2, 3}), "a"), b = parameter(Array({3}, {1, 5, 0}), "b");
    sum(maximum(a, b)).backward();
    BOOST_TEST((a.grad().to_vector() == std::vector<double>{0.5, 0, 1}));
    BOOST_TEST((b.grad().to_vector() == std::vector<double>{0.5, 1, 0}));
    // NaN propagates through max and maximum and is argmax's answer, as numpy.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Tensor with_nan = floats({4}, {1, nan, 7, 2});
    BOOST_TEST(std::isnan(max(with_nan).item()));
    BOOST_TEST(std::isnan(min(with_nan).item()));
    BOOST_TEST(argmax(with_nan, 0).item() == 1.0);
    BOOST_TEST(std::isnan(maximum(with_nan, floats({4}, {0, 0, 0, 0})).value().flat(1)));
    // clamp passes the gradient at its bounds (PyTorch's rule).
    Tensor c = parameter(Array({4}, {-1, 0, 0.5, 2}), "c");
    sum(clamp(c, 0, 0.5)).backward();
    BOOST_TEST((c.grad().to_vector() == std::vector<double>{0, 1, 1, 0}));
    // abs: gradient 0 at 0.
    Tensor z = parameter(Array({3}, {-2, 0, 3}), "z");
    sum(abs(z)).backward();
    BOOST_TEST((z.grad().to_vector() == std::vector<double>{-1, 0, 1}));
}

BOOST_AUTO_TEST_CASE(gathers_and_index_selects_add_gradients_of_repeated_indices) {
    Tensor x = parameter(Array({3, 2}, {1, 2, 3, 4, 5, 6}), "x");
    sum(index_select(x, 0, ints({4}, {2, 0, 2, -1}))).backward();
    BOOST_TEST((x.grad().to_vector() == std::vector<double>{1, 1, 0, 0, 3, 3}));
    x.zero_grad();
    sum(gather(x, 1, ints({3, 3}, {0, 0, 1, 1, 1, 1, 0, 1, 0}))).backward();
    BOOST_TEST((x.grad().to_vector() == std::vector<double>{2, 1, 0, 3, 2, 1}));
}

BOOST_AUTO_TEST_CASE(slices_follow_python) {
    const Tensor x = floats({6}, {0, 1, 2, 3, 4, 5});
    auto values = [](const Tensor& t) { return t.value().to_vector(); };
    BOOST_TEST((values(slice(x, 0, 1, 5, 2)) == std::vector<double>{1, 3}));
    BOOST_TEST((values(slice(x, 0, -2, 100)) == std::vector<double>{4, 5}));
    BOOST_TEST((values(slice(x, 0, 5, -7, -2)) == std::vector<double>{5, 3, 1}));
    BOOST_TEST(slice(x, 0, 4, 2).size() == 0u);
    BOOST_TEST((slice(x, 0, 4, 2).shape() == Shape{0}));
    BOOST_TEST(x[-1].item() == 5.0);
    BOOST_TEST((x.slice(0, 0, 3).shape() == Shape{3}));
    const Tensor m = floats({2, 3}, {1, 2, 3, 4, 5, 6});
    BOOST_TEST((values(m[1]) == std::vector<double>{4, 5, 6}));
    BOOST_TEST((values(select(m, 1, -1)) == std::vector<double>{3, 6}));
}

// Every start, stop and step from a grid reaching the int64 limits, on axes of 0, 1, 2 and 7 elements,
// against Python's rule written the other way: clip the bounds, then walk i = first, first + step, …
// in 128-bit arithmetic while i is on the near side of stop. Steps of ±2^63 overflowed the count.
BOOST_AUTO_TEST_CASE(slices_follow_python_at_the_int64_limits) {
    constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
    std::size_t wrong = 0, checked = 0;
    for (std::int64_t n : std::vector<std::int64_t>{0, 1, 2, 7}) {
        std::vector<double> data(static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<double>(i);
        Tensor x = parameter(Array({static_cast<std::size_t>(n)}, data), "x");
        const std::vector<std::int64_t> bounds = {lo, lo + 1, -n - 2, -n - 1, -n, -1, 0, 1, n - 1, n, n + 1, hi - 1,
                                                  hi};
        const std::vector<std::int64_t> steps = {lo, lo + 1, -n - 1, -n, -3, -2, -1, 1, 2, 3, n, n + 1, hi - 1, hi};
        for (std::int64_t step : steps)
            for (std::int64_t start : bounds)
                for (std::int64_t stop : bounds) {
                    if (step == 0) continue;  // −n and n for n = 0: refused (tested above)
                    auto clip = [&](std::int64_t i) {
                        const __int128 j = i < 0 ? __int128{i} + n : __int128{i};
                        return step > 0 ? std::clamp<__int128>(j, 0, n) : std::clamp<__int128>(j, -1, n - 1);
                    };
                    std::vector<double> expected;
                    for (__int128 i = clip(start), end = clip(stop); step > 0 ? i < end : i > end; i += step)
                        expected.push_back(static_cast<double>(i));
                    const Tensor y = slice(x, 0, start, stop, step);
                    ++checked;
                    if (y.value().to_vector() != expected) {
                        if (++wrong <= 5)
                            BOOST_TEST_MESSAGE("n " << n << " [" << start << ":" << stop << ":" << step << "]");
                        continue;
                    }
                    if (expected.empty()) continue;
                    x.zero_grad();
                    sum(y).backward();  // the gradient is 1 at each position read, 0 elsewhere
                    std::vector<double> grad(data.size(), 0.0);
                    for (double i : expected) grad[static_cast<std::size_t>(i)] = 1.0;
                    wrong += x.grad().to_vector() != grad;
                }
    }
    BOOST_TEST(wrong == 0u, wrong << " of " << checked << " slices differ from Python's");
    BOOST_TEST(checked == (4u * 14u - 2u) * 13u * 13u);  // n = 0 has two steps of 0: −n and n
}

BOOST_AUTO_TEST_CASE(member_sugar_records_what_the_free_functions_record) {
    Tensor x = parameter(Array({2, 3, 4}, std::vector<double>(24, 0.5)), "x");
    BOOST_TEST((x.reshape({-1, 4}).shape() == Shape{6, 4}));
    BOOST_TEST((x.flatten().shape() == Shape{2, 12}));
    BOOST_TEST((x.permute({2, 0, 1}).shape() == Shape{4, 2, 3}));
    BOOST_TEST((x.transpose(0, 2).shape() == Shape{4, 3, 2}));
    BOOST_TEST((x[0].t().shape() == Shape{4, 3}));
    BOOST_TEST((x.unsqueeze(1).squeeze(1).shape() == x.shape()));
    BOOST_TEST(x.sum().item() == 12.0);
    BOOST_TEST((x.sum(-1).shape() == Shape{2, 3}));
    BOOST_TEST(x.mean().item() == 0.5);
    BOOST_TEST((x.mean(1, true).shape() == Shape{2, 1, 4}));
    BOOST_TEST(x.max().item() == 0.5);
    BOOST_TEST((x.argmax(2).dtype() == DType::i64));
    BOOST_TEST((x.astype(DType::f32).dtype() == DType::f32));
    x.sum(0).sum().backward();
    BOOST_TEST(x.grad().flat(23) == 1.0);
    BOOST_TEST(x.sum(0).node_ref().op->name() == "sum");
}

BOOST_AUTO_TEST_CASE(linear_works_in_both_layouts) {
    Generator gen(4);
    // The same weights, the same examples: batch-first output is the features-first output transposed.
    LinearOptions features{.generator = &gen};
    Linear course(4, 3, features);
    Generator gen2(4);
    LinearOptions batch{.generator = &gen2, .layout = Layout::batch_first};
    Linear torch_like(4, 3, batch);
    BOOST_TEST((torch_like.bias.shape() == Shape{3}));
    BOOST_TEST(course.weight.value().equals(torch_like.weight.value()));
    const Array X = Generator(5).randn({5, 4});  // 5 examples × 4 features
    const Tensor rows = torch_like(constant(X));
    const Tensor columns = course(transpose(constant(X)));
    BOOST_TEST((rows.shape() == Shape{5, 3}));
    for (std::size_t i = 0; i < 5; ++i)
        for (std::size_t o = 0; o < 3; ++o) BOOST_TEST(std::abs(rows.value().at({i, o}) - columns.value().at({o, i})) < 1e-14);
    // A CNN-shaped input: flatten's (N, C·H·W) output feeds it directly.
    Linear head(12, 3, LinearOptions{.layout = Layout::batch_first});
    const Tensor images = constant(Generator(6).randn({2, 3, 2, 2}));
    BOOST_TEST((head(flatten(images)).shape() == Shape{2, 3}));
    BOOST_TEST(contains(message_of<ShapeError>([&] { head(images); }), "batch first"));
}

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_the_values) {
    const Tensor x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
    BOOST_TEST(message_of<ValueError>([&] { leaky_relu(x, std::nan("")); }) ==
               "leaky_relu: slope = nan must be finite");
    BOOST_TEST(message_of<ValueError>([&] { elu(x, -INFINITY); }) == "elu: alpha = -inf must be finite");
    // Axis out of range.
    std::string msg = message_of<ValueError>([&] { sum(x, 2); });
    BOOST_TEST(contains(msg, "sum"));
    BOOST_TEST(contains(msg, "axis 2"));
    for (auto f : std::vector<std::function<void()>>{[&] { max(x, -3); }, [&] { argmax(x, 5); },
                                                      [&] { concat({x, x}, 2); }, [&] { slice(x, 3, 0, 1); },
                                                      [&] { logsumexp(x, 2); }, [&] { permute(x, {0, 2}); },
                                                      [&] { unsqueeze(x, 4); }, [&] { flatten(x, 0, 3); }})
        BOOST_TEST(contains(message_of<ValueError>(f), "out of range"));
    // Index out of range.
    msg = message_of<IndexError>([&] { index_select(x, 1, ints({2}, {0, 3})); });
    BOOST_TEST(contains(msg, "index_select"));
    BOOST_TEST(contains(msg, "index 3"));
    BOOST_TEST(contains(msg, "size 3"));
    msg = message_of<IndexError>([&] { gather(x, 0, ints({1, 2}, {0, -3})); });
    BOOST_TEST(contains(msg, "gather"));
    BOOST_TEST(contains(msg, "-3"));
    BOOST_TEST(contains(message_of<IndexError>([&] { select(x, 0, 2); }), "select: index 2"));
    BOOST_TEST(contains(message_of<IndexError>([&] { x[-3]; }), "index -3"));
    msg = message_of<IndexError>([&] { cross_entropy(x, ints({2}, {1, 3})); });
    BOOST_TEST(contains(msg, "cross_entropy: label 3"));
    BOOST_TEST(contains(message_of<IndexError>([&] { nll_loss(x, ints({2}, {-1, 0})); }), "nll_loss: label -1"));
    BOOST_TEST(contains(message_of<IndexError>([&] { one_hot(ints({2}, {0, 4}), 4); }), "one_hot: label 4"));
    // Shapes that do not fit.
    msg = message_of<ShapeError>([&] { concat({x, floats({2, 2}, {1, 2, 3, 4})}, 0); });
    BOOST_TEST(contains(msg, "concat"));
    BOOST_TEST(contains(msg, "(2, 2)"));
    BOOST_TEST(contains(msg, "(2, 3)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { stack({x, x.reshape({3, 2})}); }), "stack"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { split(x, {1, 1}, 1); }), "add up to 2"));
    msg = message_of<ShapeError>([&] { reshape(x, {-1, 4}); });
    BOOST_TEST(contains(msg, "reshape"));
    BOOST_TEST(contains(msg, "(-1, 4)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { reshape(x, {-1, -1}); }), "only one"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { squeeze(x, 0); }), "has size 2, not 1"));
    msg = message_of<ShapeError>([&] { matmul(floats({2, 3, 4}, std::vector<double>(24)), floats({3, 3, 2}, std::vector<double>(18))); });
    BOOST_TEST(contains(msg, "matmul"));
    BOOST_TEST(contains(msg, "aligned"));
    BOOST_TEST(contains(message_of<ShapeError>([&] {
        matmul(floats({2, 3, 4}, std::vector<double>(24)), floats({3, 4, 2}, std::vector<double>(24)));
    }), "cannot be broadcast"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { cross_entropy(x, ints({3}, {0, 1, 2})); }), "labels of shape (2,)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { mse_loss(x, floats({3}, {1, 2, 3})); }), "mse_loss"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { broadcast_to(x, {3, 3}); }), "broadcast_to"));
    // Values outside their range.
    BOOST_TEST(contains(message_of<ValueError>([&] { slice(x, 0, 0, 2, 0); }), "step must not be 0"));
    BOOST_TEST(contains(message_of<ValueError>([&] { var(x, 0, false, 2); }), "ddof"));
    BOOST_TEST(contains(message_of<ValueError>([&] { clamp(x, 1, 0); }), "clamp"));
    BOOST_TEST(contains(message_of<ValueError>([&] { max(floats({0}, {})); }), "empty"));
    BOOST_TEST(contains(message_of<ValueError>([&] { argmax(floats({2, 0}, {}), 1); }), "empty"));
    BOOST_TEST(contains(message_of<ValueError>([&] {
        cross_entropy(x, ints({2}, {0, 1}), CrossEntropyOptions{.label_smoothing = 1.0});
    }), "label_smoothing"));
    BOOST_TEST(contains(message_of<ValueError>([&] { huber_loss(x, x, 0.0); }), "delta"));
    // Comparisons refuse mixed dtypes rather than guessing.
    BOOST_TEST(contains(message_of<DTypeError>([&] { equal(x, ints({2, 3}, {1, 2, 3, 4, 5, 6})); }), "equal"));
}

BOOST_AUTO_TEST_CASE(stable_where_naive_formulas_overflow) {
    const Tensor big = floats({3}, {1000, 1000, -1000});
    const double lse = logsumexp(big, 0).item();
    BOOST_TEST(std::abs(lse - (1000 + std::log(2.0))) < 1e-12);
    BOOST_TEST(std::isinf(logsumexp(floats({2}, {-INFINITY, -INFINITY}), 0).item()));
    BOOST_TEST(softplus(floats({1}, {1000})).item() == 1000.0);
    BOOST_TEST(log_sigmoid(floats({1}, {-1000})).item() == -1000.0);
    BOOST_TEST(std::isfinite(cross_entropy(floats({1, 2}, {1000, -1000}), ints({1}, {1})).item()));
}

BOOST_AUTO_TEST_SUITE_END()
