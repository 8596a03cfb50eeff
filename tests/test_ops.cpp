// Forward values against hand-computed ones, float32 against float64, and shape errors.

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "framework/kernels.hpp"
#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::check_close;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {
Tensor c(Shape shape, std::vector<double> v) { return constant(Array(std::move(shape), std::move(v))); }
}  // namespace

BOOST_AUTO_TEST_SUITE(ops)

// float32 tanh goes through exp in double (kernels::tanh_value): it must equal tanh computed in double
// and rounded to float. Every 251st of the 2³² bit patterns (17 million floats: subnormals, the
// series/exp boundary at 0.0625, saturation, ±inf, NaN payloads), and the boundary's neighbours.
BOOST_AUTO_TEST_CASE(float32_tanh_is_tanh_in_double_rounded) {
    std::size_t mismatches = 0, checked = 0;
    auto check = [&](std::uint32_t bits) {
        const float x = std::bit_cast<float>(bits);
        const float got = kernels::tanh_value(x), expected = static_cast<float>(std::tanh(static_cast<double>(x)));
        ++checked;
        if (std::isnan(x) ? !std::isnan(got) : std::bit_cast<std::uint32_t>(got) != std::bit_cast<std::uint32_t>(expected))
            ++mismatches;
    };
    for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 251) check(static_cast<std::uint32_t>(bits));
    const auto boundary = std::bit_cast<std::uint32_t>(0.0625f);
    for (std::uint32_t d = 0; d < 64; ++d) check(boundary - 32 + d), check((boundary - 32 + d) | 0x80000000u);
    BOOST_TEST(checked > 17000000u);
    BOOST_TEST(mismatches == 0u);
}

// kernels::exp_in_double, the vectorisable exp under float32 sigmoid and tanh: rounded to float it
// must equal std::exp in double rounded (all 2³² floats agreed when it was written), here on every
// 251st bit pattern, the clamp's ends and the special values; and σ(x) in float32 is 1/(1 + that).
BOOST_AUTO_TEST_CASE(exp_in_double_rounds_as_std_exp) {
    std::size_t mismatches = 0, sigmoid_mismatches = 0;
    auto same = [](float a, float b) {
        return std::isnan(a) ? std::isnan(b) : std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
    };
    for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 251) {
        const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
        const auto e = static_cast<float>(kernels::exp_in_double(x));
        if (!same(e, static_cast<float>(std::exp(static_cast<double>(x))))) ++mismatches;
        if (!same(kernels::sigmoid_value(x), 1.0F / (1.0F + static_cast<float>(std::exp(-static_cast<double>(x))))))
            ++sigmoid_mismatches;
    }
    BOOST_TEST(mismatches == 0u);
    BOOST_TEST(sigmoid_mismatches == 0u);
    // In double, within 2 ulp of std::exp across the unclamped range.
    double worst = 0;
    for (double x = -707.5; x < 709; x += 0.37)
        worst = std::max(worst, std::abs(kernels::exp_in_double(x) / std::exp(x) - 1));
    BOOST_TEST(worst < 4.5e-16, "worst relative error " << worst);
    const double inf = std::numeric_limits<double>::infinity();
    BOOST_TEST(static_cast<float>(kernels::exp_in_double(inf)) == std::numeric_limits<float>::infinity());
    BOOST_TEST(static_cast<float>(kernels::exp_in_double(-inf)) == 0.0F);
    BOOST_TEST(std::isnan(kernels::exp_in_double(std::nan(""))));
    BOOST_TEST(kernels::exp_in_double(0.0) == 1.0);
    BOOST_TEST(kernels::sigmoid_value(-200.0F) == 0.0F);
    BOOST_TEST(kernels::sigmoid_value(200.0F) == 1.0F);
}

BOOST_AUTO_TEST_CASE(arithmetic_with_broadcasting) {
    Tensor a = c({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor col = c({2, 1}, {10, 20});
    Tensor row = c({3}, {1, 2, 4});
    check_close((a + col).value(), {11, 12, 13, 24, 25, 26}, 0);
    check_close((a - row).value(), {0, 0, -1, 3, 3, 2}, 0);
    check_close((a * row).value(), {1, 4, 12, 4, 10, 24}, 0);
    check_close((a / col).value(), {0.1, 0.2, 0.3, 0.2, 0.25, 0.3}, 1e-15);
    check_close((-a).value(), {-1, -2, -3, -4, -5, -6}, 0);
    check_close((a + 1.0).value(), {2, 3, 4, 5, 6, 7}, 0);
    check_close((2.0 - a).value(), {1, 0, -1, -2, -3, -4}, 0);
    check_close((a * 0.5).value(), {0.5, 1, 1.5, 2, 2.5, 3}, 0);
    check_close((a / 4.0).value(), {0.25, 0.5, 0.75, 1, 1.25, 1.5}, 0);
    check_close((6.0 / a).value(), {6, 3, 2, 1.5, 1.2, 1}, 1e-15);
    BOOST_TEST(((a + col).shape() == Shape{2, 3}));
    BOOST_TEST(((c({2, 1, 3}, {1, 2, 3, 4, 5, 6}) + c({4, 1}, {1, 2, 3, 4})).shape() == Shape{2, 4, 3}));
}

BOOST_AUTO_TEST_CASE(matmul_transpose_reshape) {
    Tensor a = c({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor b = c({3, 2}, {7, 8, 9, 10, 11, 12});
    check_close(matmul(a, b).value(), {58, 64, 139, 154}, 0);
    check_close(matmul(a, a, false, true).value(), {14, 32, 32, 77}, 0);   // a·aᵀ
    check_close(matmul(a, a, true, false).value(), {17, 22, 27, 22, 29, 36, 27, 36, 45}, 0);  // aᵀ·a
    check_close(matmul(b, a, true, true).value(), {58, 139, 64, 154}, 0);  // bᵀ·aᵀ = (a·b)ᵀ
    check_close(transpose(a).value(), {1, 4, 2, 5, 3, 6}, 0);
    BOOST_TEST((transpose(a).shape() == Shape{3, 2}));
    BOOST_TEST((reshape(a, {3, 2}).shape() == Shape{3, 2}));
    check_close(reshape(a, {6}).value(), {1, 2, 3, 4, 5, 6}, 0);
}

BOOST_AUTO_TEST_CASE(reductions) {
    Tensor a = c({2, 3}, {1, 2, 3, 4, 5, 6});
    BOOST_TEST(sum(a).item() == 21.0);
    BOOST_TEST(sum(a).ndim() == 0u);
    BOOST_TEST(mean(a).item() == 3.5);
    check_close(sum(a, 0).value(), {5, 7, 9}, 0);
    check_close(sum(a, 1, true).value(), {6, 15}, 0);
    BOOST_TEST((sum(a, 1, true).shape() == Shape{2, 1}));
    BOOST_TEST((sum(a, -1).shape() == Shape{2}));
    check_close(mean(a, 0).value(), {2.5, 3.5, 4.5}, 0);
    check_close(mean(a, 1, true).value(), {2, 5}, 0);
}

// ReLU keeps a NaN, as numpy's maximum(0, Z) (the course's relu) and PyTorch do: a diverging net's NaN
// must reach its loss, not become 0 at the first ReLU. Its gradient follows the course's relu_backward
// (dZ[Z <= 0] = 0): g passes at NaN. Checked on every path: a short array, and one long enough for
// parallel_for's chunks and the vector loops' tails, in both dtypes.
BOOST_AUTO_TEST_CASE(relu_keeps_nan_and_follows_the_course_rule) {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    for (DType dtype : {DType::f64, DType::f32})
        for (std::size_t n : {std::size_t{6}, std::size_t{70001}}) {
            Array xv({n}, dtype);
            const double special[] = {nan, -0.0, -1.5, 2.5, inf, -inf, 0.0};
            for (std::size_t i = 0; i < n; ++i) xv.set_flat(i, i % 13 < 7 ? special[i % 13] : (i % 5) - 2.0);
            Tensor x = parameter(xv, "x");
            const Tensor y = relu(x);
            const Array g = Array::full({n}, 3.0, dtype);
            y.backward(g);
            std::size_t wrong = 0, nans = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double v = xv.flat(i), out = y.value().flat(i), grad = x.grad().flat(i);
                const bool passes = !(v <= 0.0);
                nans += std::isnan(out);
                const bool value_ok = std::isnan(v) ? std::isnan(out)
                                      : passes      ? out == v
                                                    : out == 0.0 && !std::signbit(out);
                wrong += !value_ok || grad != (passes ? 3.0 : 0.0);
            }
            BOOST_TEST(wrong == 0u, dtype_name(dtype) << " n = " << n);
            BOOST_TEST(nans > 0u);
        }
}

// gelu's left tail to rounding: x·Φ(x) with Φ from erfc (1 + erf cancelled: float32 was 4% off at −5,
// float64 gave 0 at −10). References: x·erfc(−x/√2)/2 and its derivative from Python's math.erfc; the
// tolerance is the tail's conditioning (erfc's relative slope ~x², times the argument's rounding).
BOOST_AUTO_TEST_CASE(gelu_keeps_its_left_tail) {
    const std::vector<double> x = {-5, -8, -10, -20, -30};
    const std::vector<double> value = {-1.4332578593959731e-06, -4.9767684594174555e-15, -7.619853024160593e-23,
                                       -5.507248237212663e-88, -1.4720141781446293e-196};
    const std::vector<double> slope = {-7.146946001792295e-06, -3.979607261086796e-14, -7.618400096464813e-22,
                                       -1.1014360483133464e-86, -4.416031690708494e-195};
    Tensor t = parameter(Array({x.size()}, x), "x");
    const Tensor y = gelu(t);
    sum(y).backward();
    for (std::size_t i = 0; i < x.size(); ++i) {
        BOOST_TEST(std::abs(y.value().flat(i) / value[i] - 1) < 1e-12, "x = " << x[i] << ": " << y.value().flat(i));
        BOOST_TEST(std::abs(t.grad().flat(i) / slope[i] - 1) < 1e-11, "x = " << x[i] << ": " << t.grad().flat(i));
    }
    const double at_minus_5 = gelu(constant(Array({1}, {-5.0}).astype(DType::f32))).value().flat(0);
    BOOST_TEST(std::abs(at_minus_5 / value[0] - 1) < 1e-6, at_minus_5);
}

BOOST_AUTO_TEST_CASE(elementwise_functions) {
    Tensor x = c({4}, {-2.0, -0.5, 0.0, 1.5});
    check_close(relu(x).value(), {0, 0, 0, 1.5}, 0);
    check_close(sigmoid(x).value(), {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5, 1 / (1 + std::exp(-1.5))}, 0);
    check_close(tanh(x).value(), {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(1.5)}, 0);
    check_close(exp(x).value(), {std::exp(-2.0), std::exp(-0.5), 1, std::exp(1.5)}, 0);
    check_close(square(x).value(), {4, 0.25, 0, 2.25}, 0);
    Tensor p = c({3}, {0.25, 1.0, 4.0});
    check_close(log(p).value(), {std::log(0.25), 0, std::log(4.0)}, 0);
    check_close(sqrt(p).value(), {0.5, 1, 2}, 0);
    check_close(pow(p, 1.5).value(), {0.125, 1, 8}, 1e-15);
    // x⁰ = 1 everywhere, 0 included, and its gradient is 0 there too (p·x^(p−1) would be 0·∞ = NaN).
    for (DType dtype : {DType::f64, DType::f32}) {
        Tensor z = parameter(Array({4}, {0.0, -0.0, -2.0, 3.0}).astype(dtype), "z");
        const Tensor y = pow(z, 0.0);
        y.backward(Array::full({4}, 5.0, dtype));
        check_close(y.value(), {1, 1, 1, 1}, 0);
        check_close(z.grad(), {0, 0, 0, 0}, 0);
    }
    // Saturation: the course's sigmoid reaches exactly 1.0 and 0.0 in float64.
    check_close(sigmoid(c({2}, {40.0, -800.0})).value(), {1.0, 0.0}, 0);
}

BOOST_AUTO_TEST_CASE(softmax_family) {
    Tensor z = c({2, 2}, {1.0, 2.0, 3.0, 2.0});  // classes along axis 0, 2 examples
    const double e = std::exp(2.0);               // softmax([1,3]) = [1, e²]/(1+e²)
    check_close(softmax(z, 0).value(), {1 / (1 + e), 0.5, e / (1 + e), 0.5}, 1e-15);
    check_close(softmax(z, 1).value(), {1 / (1 + std::exp(1.0)), std::exp(1.0) / (1 + std::exp(1.0)),
                                         std::exp(1.0) / (1 + std::exp(1.0)), 1 / (1 + std::exp(1.0))}, 1e-15);
    check_close(log_softmax(z, 0).value(), {std::log(1 / (1 + e)), std::log(0.5), std::log(e / (1 + e)), std::log(0.5)},
                1e-15);
    // Large logits stay finite (max subtraction).
    check_close(softmax(c({2, 1}, {1000.0, 1000.0}), 0).value(), {0.5, 0.5}, 0);
}

// With labels all 0 or 1, binary_cross_entropy picks each term's one log by a select instead of
// branching: it must give the bits of the general formula (checked here term by term, p = 0 and 1
// included), forward and backward.
BOOST_AUTO_TEST_CASE(binary_cross_entropy_hard_labels_give_the_general_formulas_bits) {
    Generator gen(11);
    const std::size_t n = 257;
    std::vector<double> pv(n), yv(n);
    for (std::size_t i = 0; i < n; ++i) pv[i] = gen.uniform(), yv[i] = gen.uniform() < 0.5 ? 0.0 : 1.0;
    pv[3] = 0.0, pv[4] = 1.0, yv[3] = 1.0, yv[4] = 0.0;  // the clamped logs and quotients
    const double tiny = std::numeric_limits<double>::min();
    double sum = 0.0;
    std::vector<double> grad(n);
    for (std::size_t i = 0; i < n; ++i) {
        double t = 0, d = 0;
        if (yv[i] != 0) {
            t -= yv[i] * std::log(std::max(pv[i], tiny));
            d -= yv[i] / std::max(pv[i], tiny);
        }
        if (yv[i] != 1) {
            t -= (1 - yv[i]) * std::log(std::max(1 - pv[i], tiny));
            d += (1 - yv[i]) / std::max(1 - pv[i], tiny);
        }
        sum += t;
        grad[i] = (1.0 / static_cast<double>(n)) * d;
    }
    Tensor p = parameter(Array({1, n}, pv), "p");
    Tensor loss = binary_cross_entropy(p, constant(Array({1, n}, yv)));
    BOOST_TEST(loss.item() == sum / static_cast<double>(n));
    loss.backward();
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST(p.grad().flat(i) == grad[i]);
}

BOOST_AUTO_TEST_CASE(losses) {
    Tensor p = c({1, 4}, {0.9, 0.2, 0.6, 0.5});
    Tensor y = c({1, 4}, {1, 0, 1, 0});
    const double bce = -(std::log(0.9) + std::log(0.8) + std::log(0.6) + std::log(0.5)) / 4;
    BOOST_TEST(std::abs(binary_cross_entropy(p, y).item() - bce) < 1e-15);
    Tensor z = c({1, 4}, {2.0, -1.0, 0.5, 0.0});
    double expect = 0;
    for (int i = 0; i < 4; ++i) {
        const double s = 1 / (1 + std::exp(-z.value().flat(i))), t = y.value().flat(i);
        expect -= t * std::log(s) + (1 - t) * std::log(1 - s);
    }
    BOOST_TEST(std::abs(binary_cross_entropy_with_logits(z, y).item() - expect / 4) < 1e-15);
    // Logits far beyond float64's sigmoid saturation stay finite.
    BOOST_TEST(std::isfinite(binary_cross_entropy_with_logits(c({2}, {800, -800}), c({2}, {0, 1})).item()));

    Tensor logits = c({3, 2}, {1, 0, 2, 0, 3, 0});
    Tensor onehot = c({3, 2}, {0, 1, 0, 0, 1, 0});
    const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
    BOOST_TEST(std::abs(softmax_cross_entropy(logits, onehot, 0).item() - ((lse - 3) + std::log(3.0)) / 2) < 1e-14);
    BOOST_TEST(sum_of_squares(c({3}, {1, 2, 3})).item() == 14.0);
}

BOOST_AUTO_TEST_CASE(bce_of_saturated_probabilities_is_finite) {
    // The course's dropout run: the sigmoid outputs exactly 1.0 (and 0.0) in float64.
    Tensor p = parameter(Array({1, 4}, {1.0, 0.0, 1.0, 0.0}), "p");
    Tensor y = c({1, 4}, {1, 0, 0, 1});  // two right, two confidently wrong
    Tensor loss = binary_cross_entropy(p, y);
    BOOST_TEST(std::isfinite(loss.item()));
    loss.backward();
    for (double g : p.grad().to_vector()) BOOST_TEST(std::isfinite(g));
    // Through the sigmoid the gradient is exactly A - Y / m, as the course's backprop computes it.
    Tensor z = parameter(Array({1, 2}, {40.0, -800.0}), "z");
    Tensor loss2 = binary_cross_entropy(sigmoid(z), c({1, 2}, {1, 0}));
    BOOST_TEST(loss2.item() == 0.0);
    loss2.backward();
    check_close(z.grad(), {0.0, 0.0}, 0);
}

BOOST_AUTO_TEST_CASE(float32_forward_matches_float64) {
    Generator gen(7);
    Array a64 = gen.randn({4, 5}), b64 = gen.randn({5, 3}), bias64 = gen.randn({4, 1});
    auto run = [&](DType dt) {
        Tensor a = constant(a64.astype(dt)), b = constant(b64.astype(dt)), bias = constant(bias64.astype(dt));
        Tensor h = tanh(matmul(a, b) + bias);
        return (softmax(h, 0) + sigmoid(h) * relu(h) + exp(h) / 3.0).value();
    };
    Array r64 = run(DType::f64), r32 = run(DType::f32);
    BOOST_TEST((r32.dtype() == DType::f32));
    for (std::size_t i = 0; i < r64.size(); ++i) BOOST_TEST(std::abs(r64.flat(i) - r32.flat(i)) < 1e-5);
}

BOOST_AUTO_TEST_CASE(astype_converts_forward_and_backward) {
    Tensor x = parameter(Array({2}, {1.5, 2.5}), "x");
    Tensor y = astype(x, DType::f32);
    BOOST_TEST((y.dtype() == DType::f32));
    sum(y * y).backward();
    BOOST_TEST((x.grad().dtype() == DType::f64));
    check_close(x.grad(), {3.0, 5.0}, 0);
}

BOOST_AUTO_TEST_CASE(shape_mismatch_names_the_op_and_both_shapes) {
    Tensor a = c({3, 4}, std::vector<double>(12, 1.0));
    Tensor b = c({5, 6}, std::vector<double>(30, 1.0));
    const std::vector<std::pair<std::string, std::function<Tensor()>>> cases = {
        {"add", [&] { return a + b; }},
        {"sub", [&] { return a - b; }},
        {"mul", [&] { return a * b; }},
        {"div", [&] { return a / b; }},
        {"matmul", [&] { return matmul(a, b); }},
        {"binary_cross_entropy", [&] { return binary_cross_entropy(a, b); }},
        {"binary_cross_entropy_with_logits", [&] { return binary_cross_entropy_with_logits(a, b); }},
        {"softmax_cross_entropy", [&] { return softmax_cross_entropy(a, b); }},
    };
    for (const auto& [op, f] : cases) {
        const std::string msg = message_of<ShapeError>(f);
        BOOST_TEST(contains(msg, op), msg);
        BOOST_TEST(contains(msg, "(3, 4)"), msg);
        BOOST_TEST(contains(msg, "(5, 6)"), msg);
    }
    std::string msg = message_of<ShapeError>([&] { reshape(a, {5}); });
    BOOST_TEST(contains(msg, "reshape"));
    BOOST_TEST(contains(msg, "(3, 4)"));
    BOOST_TEST(contains(msg, "(5,)"));
    msg = message_of<ValueError>([&] { sum(a, 2); });
    BOOST_TEST(contains(msg, "sum"));
    BOOST_TEST(contains(msg, "axis 2"));
    msg = message_of<ShapeError>([&] { transpose(c({2}, {1, 2})); });
    BOOST_TEST(contains(msg, "transpose"));
    msg = message_of<ShapeError>([&] { linear(a, b, c({6, 1}, {1, 2, 3, 4, 5, 6})); });
    BOOST_TEST(contains(msg, "linear"), msg);
    BOOST_TEST(contains(msg, "(5, 6)"), msg);
    BOOST_TEST(contains(msg, "(3, 4)"), msg);
    msg = message_of<ShapeError>([&] { linear(c({4, 2}, std::vector<double>(8, 1.0)), a, c({3}, {1, 2, 3})); });
    BOOST_TEST(contains(msg, "bias (3,)"), msg);
}

BOOST_AUTO_TEST_CASE(linear_is_matmul_plus_bias_in_both_dtypes) {
    Generator gen(2);
    for (DType dtype : {DType::f64, DType::f32}) {
        const Tensor W = constant(gen.randn({3, 4}, dtype)), X = constant(gen.randn({4, 6}, dtype)),
                     b = constant(gen.randn({3, 1}, dtype));
        const Array fused = linear(X, W, b).value(), separate = (matmul(W, X) + b).value();
        BOOST_TEST((fused.dtype() == dtype));
        BOOST_REQUIRE((fused.shape() == Shape{3, 6}));
        for (std::size_t i = 0; i < fused.size(); ++i)
            BOOST_TEST(fused.flat(i) == separate.flat(i), "element " << i);  // k ≤ one gemm block: same bits
    }
}

BOOST_AUTO_TEST_CASE(shapes_whose_size_overflows_are_rejected) {
    Tensor empty = parameter(Array({0}));
    const std::size_t huge = std::size_t{1} << 32;
    // 2^32 · 2^32 overflows size_t: accepted once, then a segfault.
    const std::string msg = message_of<ShapeError>([&] { reshape(empty, {huge, huge}); });
    BOOST_TEST(contains(msg, "overflows"), msg);
    BOOST_CHECK_THROW(Array({huge, huge, 2}), ShapeError);
    BOOST_CHECK_THROW(Array::zeros({std::size_t{1} << 62, 8}), ShapeError);  // bytes overflow
}

BOOST_AUTO_TEST_CASE(matmul_past_blas_int_range_is_rejected_before_the_call) {
    const std::size_t big = std::size_t{3} << 30;  // 3·2^30 > INT_MAX; no element is stored
    Tensor a = constant(Array({0, big})), b = constant(Array({big, 0}));
    const std::string msg = message_of<ShapeError>([&] { matmul(a, b); });
    BOOST_TEST(contains(msg, "BLAS"), msg);
    BOOST_TEST(contains(msg, std::to_string(big)), msg);
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_rejects_values_outside_0_1) {
    Tensor y = constant(Array({1, 2}, {1.0, 0.0}));
    std::string msg = message_of<ValueError>([&] { binary_cross_entropy(constant(Array({1, 2}, {0.5, 1.5})), y); });
    BOOST_TEST(contains(msg, "binary_cross_entropy"), msg);
    BOOST_TEST(contains(msg, "1.5"), msg);
    msg = message_of<ValueError>([&] {
        binary_cross_entropy(constant(Array({1, 2}, {0.5, 0.5})), constant(Array({1, 2}, {2.0, 0.0})));
    });
    BOOST_TEST(contains(msg, "targets"), msg);
    BOOST_CHECK_THROW(binary_cross_entropy(constant(Array({1, 2}, {std::nan(""), 0.5})), y), ValueError);
    // 0 and 1 stay allowed (the log is clamped): the loss is finite.
    BOOST_TEST(std::isfinite(binary_cross_entropy(constant(Array({1, 2}, {1.0, 0.0})), y).item()));
}

BOOST_AUTO_TEST_SUITE_END()
