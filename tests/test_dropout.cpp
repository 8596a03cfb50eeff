// Dropout: the four scale modes, saved bit-packed mask and scale, evaluation behaviour, the
// all-dropped case, bad keep_prob, numpy-identical masks, gradient checks through replay, and the
// same for masks from a Philox generator.

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>

#include "framework/kernels.hpp"
#include "reference.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {

DropoutOptions opts(double keep, DropoutScale scale, Generator* gen = nullptr) {
    DropoutOptions o;
    o.keep_prob = keep;
    o.scale = scale;
    o.generator = gen;
    return o;
}

Array scaled(Array a, double c) {
    for (std::size_t i = 0; i < a.size(); ++i) a.set_flat(i, a.flat(i) * c);
    return a;
}

const DropoutScale all_modes[] = {DropoutScale::constant, DropoutScale::measured, DropoutScale::per_example,
                                  DropoutScale::classic};

/// Dropout of x (4, 50) at keep_prob 0.7 in every mode, the masks from generators made by make_generator():
/// the saved mask is the one expected_kept draws from a second generator made the same way, and forward
/// and backward both apply it with the mode's scale.
void check_mask_and_scale_reused(const std::function<Generator()>& make_generator, Generator& data,
                                 const std::function<bool(Generator&)>& expected_kept) {
    const Shape shape = {4, 50};
    Tensor x = parameter(data.randn(shape), "x");
    const Array upstream = data.randn(shape);
    for (DropoutScale mode : all_modes) {
        Generator gen = make_generator(), mirror = make_generator();
        x.zero_grad();
        Tensor y = dropout(x, opts(0.7, mode, &gen));
        const DropoutState s = dropout_state(y);
        std::size_t kept = 0;
        for (std::size_t i = 0; i < s.mask.size(); ++i) {
            const bool expect = expected_kept(mirror);
            BOOST_TEST(s.mask[i] == expect);
            kept += expect;
        }
        BOOST_TEST(s.kept == kept);
        BOOST_TEST(kept > 0u);
        BOOST_TEST(kept < 200u);
        BOOST_TEST(s.units == 200u);
        std::vector<double> col_scale(50);
        for (std::size_t j = 0; j < 50; ++j) {
            std::size_t k = 0;
            for (std::size_t r = 0; r < 4; ++r) k += s.mask[r * 50 + j];
            col_scale[j] = k ? 4.0 / static_cast<double>(k) : 0.0;
        }
        y.backward(upstream);
        for (std::size_t i = 0; i < 200; ++i) {
            double scale = 1.0;
            switch (mode) {
                case DropoutScale::constant: scale = 1 / 0.7; break;
                case DropoutScale::measured: scale = 200.0 / static_cast<double>(kept); break;
                case DropoutScale::per_example: scale = col_scale[i % 50]; break;
                case DropoutScale::classic: scale = 1.0; break;
            }
            const double d = s.mask[i] ? 1.0 : 0.0;
            BOOST_TEST(std::abs(y.value().flat(i) - x.value().flat(i) * d * scale) < 1e-14);
            BOOST_TEST(std::abs(x.grad().flat(i) - upstream.flat(i) * d * scale) < 1e-14);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dropout_op)

// The measured mode's counts from reduce_counts (a data-parallel sum over processes) must hold this mask's:
// fewer units than the mask, or more kept than units, is a broken reduction, not a scale below 1 or a 0.
BOOST_AUTO_TEST_CASE(measured_counts_from_a_reduction_are_checked) {
    Tensor x = parameter(Array::ones({4, 8}), "x");
    DropoutOptions o = opts(0.5, DropoutScale::measured);
    o.reduce_counts = [](std::size_t& kept, std::size_t& units) { kept = units + 1; };
    BOOST_TEST(contains(message_of<ValueError>([&] { dropout(x, o); }), "reduce_counts gave kept = 33 of units = 32"));
    o.reduce_counts = [](std::size_t& kept, std::size_t& units) { kept = units = 0; };
    BOOST_TEST(contains(message_of<ValueError>([&] { dropout(x, o); }), "reduce_counts gave kept = 0 of units = 0"));
    o.reduce_counts = [](std::size_t& kept, std::size_t& units) { kept *= 2, units *= 2; };  // two equal shares
    BOOST_TEST(dropout_state(dropout(x, o)).scales.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_keep_prob_is_rejected_with_the_value) {
    Tensor x = parameter(Array({2, 2}), "x");
    for (double bad : {0.0, -0.2, 1.5, std::nan("")}) {
        const std::string msg = message_of<std::invalid_argument>([&] { dropout(x, opts(bad, DropoutScale::constant)); });
        BOOST_TEST(contains(msg, "keep_prob"), msg);
        BOOST_TEST(contains(msg, "(0, 1]"), msg);
    }
    BOOST_TEST(contains(message_of<std::invalid_argument>([&] { dropout(x, opts(1.5, DropoutScale::constant)); }),
                        "1.5"));
    // The rejected value exactly: 1.0000001 is not "1" (which would be allowed).
    BOOST_TEST(contains(message_of<std::invalid_argument>([&] { dropout(x, opts(1.0000001, DropoutScale::constant)); }),
                        "keep_prob = 1.0000001 is outside"));
    BOOST_TEST(contains(message_of<std::invalid_argument>([&] { SGD({x}, -1e-300); }), "learning_rate = -1e-300"));
    BOOST_TEST(format_exact(0.1 + 0.2) == "0.30000000000000004");
    BOOST_TEST(format_exact(0.86) == "0.86");
}

BOOST_AUTO_TEST_CASE(keep_prob_one_and_evaluation_mode) {
    Tensor x = parameter(Array({2, 3}, {1, 2, 3, 4, 5, 6}), "x");
    for (DropoutScale mode : all_modes) {
        Tensor y = dropout(x, opts(1.0, mode));
        BOOST_TEST(y.node() == x.node());  // identity: no node, no mask
    }
    DropoutOptions eval = opts(0.8, DropoutScale::constant);
    eval.training = false;
    for (DropoutScale mode : {DropoutScale::constant, DropoutScale::measured, DropoutScale::per_example}) {
        eval.scale = mode;
        BOOST_TEST(dropout(x, eval).node() == x.node());
    }
    eval.scale = DropoutScale::classic;
    xgrad::test::check_close(dropout(x, eval).value(), {0.8, 1.6, 2.4, 3.2, 4.0, 4.8}, 1e-15);
}

// The mask is numpy's rand(shape) < keep_prob, drawn row-major.
BOOST_AUTO_TEST_CASE(forward_and_backward_reuse_mask_and_scale) {
    Generator data(11);
    check_mask_and_scale_reused([] { return Generator(5); }, data, [](Generator& g) { return g.uniform() < 0.7; });
}

BOOST_AUTO_TEST_CASE(per_example_axis_is_selectable) {
    Generator gen(2);
    Tensor x = parameter(Array::ones({6, 3}), "x");  // examples as rows this time
    DropoutOptions o = opts(0.5, DropoutScale::per_example, &gen);
    o.example_axis = 0;
    const DropoutState s = dropout_state(dropout(x, o));
    BOOST_REQUIRE_EQUAL(s.scales.size(), 6u);
    for (std::size_t r = 0; r < 6; ++r) {
        std::size_t k = 0;
        for (std::size_t j = 0; j < 3; ++j) k += s.mask[r * 3 + j];
        BOOST_TEST(s.scales[r] == (k ? 3.0 / static_cast<double>(k) : 0.0));
    }
    o.example_axis = 2;
    BOOST_TEST(contains(message_of<ValueError>([&] { dropout(x, o); }), "axis 2"));
}

BOOST_AUTO_TEST_CASE(mask_is_bit_packed) {
    Tensor x = parameter(Array({10, 100}), "x");
    Tensor y = dropout(x, opts(0.5, DropoutScale::constant));
    const DropoutState s = dropout_state(y);
    BOOST_TEST(s.mask_bytes == 128u);  // 1000 bits in 16 64-bit words, not 1000 bytes
    BOOST_TEST(y.node()->op->saved_bytes() == 128u + sizeof(double));
    sum(y).backward();
    BOOST_TEST(dropout_state(y).mask_bytes == 0u);  // released after backward
}

// The constant mode must give numpy's bits: kept = x / keep_prob, however the kernel computes it
// (a power-of-two keep_prob is applied as a multiplication by its exact reciprocal).
BOOST_AUTO_TEST_CASE(constant_scale_is_the_exact_quotient_in_both_dtypes) {
    const double big = std::numeric_limits<double>::max() / 3, tiny = std::numeric_limits<double>::denorm_min();
    std::vector<double> values;
    Generator data(5);
    for (int i = 0; i < 300; ++i) values.push_back((data.uniform() - 0.5) * std::pow(10.0, i % 9 - 4));
    const double float_max = std::numeric_limits<float>::max(), float_tiny = std::numeric_limits<float>::denorm_min();
    for (double v : {big, -big, tiny, -3 * tiny, 1e-310, 0.1, 1.0 / 3.0,  // float64 edges
                     float_max / 3, -float_max / 1.5, float_tiny, -5 * float_tiny, 1e-40})  // float32 edges
        values.push_back(v);
    for (DType dtype : {DType::f64, DType::f32}) {
        const Array x = Array({values.size()}, values).astype(dtype);
        for (double keep : {0.5, 0.25, 0.86, 0.3}) {
            Generator gen(11);
            Tensor y = dropout(parameter(x, "x"), opts(keep, DropoutScale::constant, &gen));
            const DropoutState s = dropout_state(y);
            std::size_t kept = 0;
            for (std::size_t i = 0; i < x.size(); ++i) {
                double expected = 0.0;
                if (s.mask[i]) {
                    ++kept;
                    expected = dtype == DType::f32
                                   ? static_cast<double>(static_cast<float>(x.flat(i)) / static_cast<float>(keep))
                                   : x.flat(i) / keep;
                }
                BOOST_TEST(y.value().flat(i) == expected, "keep_prob " << keep << " element " << i);
            }
            BOOST_TEST(kept > 0u);
            BOOST_TEST(kept < x.size());
        }
    }
}

// Masks from a Philox generator are not numpy's, and there the constant mode is PyTorch's arithmetic:
// kept = x · (1/keep_prob), the reciprocal rounded once in the array's dtype; the gradient likewise.
// At keep_prob 0.86 the product and the quotient differ in many elements, so a kernel that still
// divided fails this test, and one that multiplied on numpy's masks fails the one above.
BOOST_AUTO_TEST_CASE(philox_constant_scale_is_the_product_by_the_reciprocal) {
    Generator data(7);
    const Array x64 = data.randn({4, 1000}), g64 = data.randn({4, 1000});
    for (DType dtype : {DType::f64, DType::f32}) {
        const Array x = x64.astype(dtype), upstream = g64.astype(dtype);
        for (double keep : {0.86, 0.3, 0.5}) {
            Generator gen = Generator::philox(11);
            Tensor X = parameter(x, "x");
            Tensor y = dropout(X, opts(keep, DropoutScale::constant, &gen));
            const DropoutState s = dropout_state(y);  // before backward, which releases the mask
            y.backward(upstream);
            std::size_t kept = 0, unlike_quotient = 0;
            for (std::size_t i = 0; i < x.size(); ++i) {
                double want = 0.0, want_grad = 0.0, quotient = 0.0;
                if (s.mask[i]) {
                    ++kept;
                    if (dtype == DType::f32) {
                        const float r = 1.0F / static_cast<float>(keep);
                        want = static_cast<float>(x.flat(i)) * r;
                        want_grad = static_cast<float>(upstream.flat(i)) * r;
                        quotient = static_cast<float>(x.flat(i)) / static_cast<float>(keep);
                    } else {
                        want = x.flat(i) * (1.0 / keep);
                        want_grad = upstream.flat(i) * (1.0 / keep);
                        quotient = x.flat(i) / keep;
                    }
                }
                unlike_quotient += want != quotient;
                BOOST_TEST(y.value().flat(i) == want, dtype_name(dtype) << " keep_prob " << keep << " element " << i);
                BOOST_TEST(X.grad().flat(i) == want_grad, dtype_name(dtype) << " keep_prob " << keep << " element " << i);
            }
            BOOST_TEST(kept > 0u);
            BOOST_TEST(kept < x.size());
            // At 0.86 the test tells the product from the quotient (at 0.5 they are equal: an exact
            // reciprocal; at 0.3 they happen to agree on every double here).
            if (keep == 0.86) BOOST_TEST(unlike_quotient > 100u, dtype_name(dtype) << " keep_prob " << keep << ": " << unlike_quotient << " of " << kept);
        }
    }
}

// The constant mode's x / keep_prob: with FMA the kernels compute it as the product by the reciprocal
// corrected once (Markstein), which must be the quotient's bits. Checked on two million random bit
// patterns of each precision (every exponent, subnormals, inf, NaN; ±0 in one element of 61), through the AVX-512 kernel
// (where the CPU has it) and the portable loops alike; and the two kernels against each other on
// every scale mode, fused and unfused, forward and backward, at sizes that leave partial blocks.
BOOST_AUTO_TEST_CASE(mask_and_scale_kernels_divide_exactly_and_agree) {
    struct Restore {
        ~Restore() { kernels::use_portable_kernels(false); }
    } restore;
    std::mt19937_64 bits(17);
    for (const DType dtype : {DType::f64, DType::f32}) {
        const std::size_t n = 2'000'000;
        Array x = Array::uninitialized({n}, dtype);
        for (std::size_t i = 0; i < n; ++i) {
            if (dtype == DType::f64) x.data<double>()[i] = std::bit_cast<double>(bits());
            else x.data<float>()[i] = std::bit_cast<float>(static_cast<std::uint32_t>(bits()));
            // ±0 in one element of 61: most blocks of 32 then hold a zero, which the corrected
            // product must carry through, sign and all (as a gradient's all-dropped columns do).
            if (i % 61 == 0) x.set_flat(i, i % 2 ? -0.0 : 0.0);
        }
        for (const double keep : {0.86, 0.3, 0.999}) {
            for (const bool portable : {false, true}) {
                kernels::use_portable_kernels(portable);
                Generator gen(3);
                const Tensor y = dropout(parameter(x, "x"), opts(keep, DropoutScale::constant, &gen));
                const DropoutState state = dropout_state(y);
                std::size_t wrong = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    if (!state.mask[i]) continue;
                    if (dtype == DType::f64) {
                        const double got = y.value().data<double>()[i], want = x.data<double>()[i] / keep;
                        wrong += std::isnan(want) ? !std::isnan(got) : std::bit_cast<std::uint64_t>(got) != std::bit_cast<std::uint64_t>(want);
                    } else {
                        const float got = y.value().data<float>()[i], want = x.data<float>()[i] / static_cast<float>(keep);
                        wrong += std::isnan(want) ? !std::isnan(got) : std::bit_cast<std::uint32_t>(got) != std::bit_cast<std::uint32_t>(want);
                    }
                }
                BOOST_TEST(wrong == 0u, dtype_name(dtype) << ", keep_prob " << keep << (portable ? ", portable" : ", default")
                                                          << " kernel: " << wrong << " quotients differ");
            }
        }
    }
    for (const DType dtype : {DType::f64, DType::f32})
        for (const DropoutScale mode : all_modes)
            for (const std::size_t n : {std::size_t{37}, std::size_t{4853}, std::size_t{1000}})
                for (const bool fused : {false, true}) {
                    std::vector<Array> out[2];
                    for (const bool portable : {false, true}) {
                        kernels::use_portable_kernels(portable);
                        Generator data(5), gen(11);
                        Tensor X = parameter(data.randn({n, 3}).astype(dtype), "x");
                        Tensor W = parameter(data.randn({5, 3}).astype(dtype), "w"), B = parameter(data.randn({5}).astype(dtype), "b");
                        DropoutOptions o = opts(0.7, mode, &gen);
                        o.example_axis = 0;
                        const Tensor y = fused ? linear_relu_dropout(X, W, B, Layout::batch_first, o)
                                               : dropout(linear(X, W, B, Layout::batch_first), o);
                        y.backward(data.randn({n, 5}).astype(dtype));
                        out[portable] = {y.value(), X.grad(), W.grad()};
                    }
                    for (std::size_t k = 0; k < 3; ++k)
                        BOOST_TEST(out[0][k].equals(out[1][k]), "output " << k << ", " << scale_name(mode) << ", "
                                                                          << dtype_name(dtype) << ", n = " << n
                                                                          << (fused ? ", fused" : ""));
                }
}

BOOST_AUTO_TEST_CASE(all_dropped_gives_zeros_never_nan) {
    Tensor x = parameter(Array::ones({3, 4}), "x");
    for (DropoutScale mode : {DropoutScale::measured, DropoutScale::per_example}) {
        x.zero_grad();
        Tensor y = dropout(x, opts(1e-12, mode));  // nothing survives
        for (double v : y.value().to_vector()) BOOST_TEST(v == 0.0);
        const DropoutState s = dropout_state(y);
        BOOST_TEST(s.kept == 0u);
        for (double sc : s.scales) BOOST_TEST(sc == 0.0);
        sum(y).backward();
        for (double g : x.grad().to_vector()) BOOST_TEST(g == 0.0);
    }
    // A dropped element is exactly 0 whatever it held (numpy's A * D would give NaN for inf).
    for (DropoutScale mode : all_modes) {
        Tensor bad = constant(Array({2, 40}, std::vector<double>(80, std::numeric_limits<double>::infinity())));
        for (double v : dropout(bad, opts(1e-12, mode)).value().to_vector()) BOOST_TEST(v == 0.0);
    }
    // One example (column) loses every unit while others keep some.
    Generator gen(0);
    Tensor wide = parameter(Array::ones({1, 64}), "wide");
    Tensor y = dropout(wide, opts(0.5, DropoutScale::per_example, &gen));
    const DropoutState s = dropout_state(y);
    std::size_t dropped_columns = 0;
    for (std::size_t j = 0; j < 64; ++j) {
        if (!s.mask[j]) {
            ++dropped_columns;
            BOOST_TEST(s.scales[j] == 0.0);
            BOOST_TEST(y.value().flat(j) == 0.0);
        } else {
            BOOST_TEST(s.scales[j] == 1.0);
        }
    }
    BOOST_TEST(dropped_columns > 0u);
    sum(y).backward();
    for (double g : wide.grad().to_vector()) BOOST_TEST(std::isfinite(g));
}

BOOST_AUTO_TEST_CASE(masks_match_the_course_notebook) {
    // forward_propagation_with_dropout on the football data: seed 1, D1 = rand(20, 211) < 0.86, D2 = rand(3, 211) < 0.86.
    seed(1);
    Tensor a1 = parameter(Array::ones({20, 211}));
    const DropoutState d1 = dropout_state(dropout(a1, opts(0.86, DropoutScale::constant)));
    const DropoutState d2 = dropout_state(dropout(parameter(Array::ones({3, 211})), opts(0.86, DropoutScale::constant)));
    BOOST_TEST(d1.kept == 3627u);
    BOOST_TEST(d2.kept == 544u);
    const auto row0 = xgrad::test::reference_doubles("regnet_dropout_keep0.86_D1_row0_first20");
    for (std::size_t j = 0; j < 20; ++j) BOOST_TEST(static_cast<double>(d1.mask[j]) == row0[j]);
}

BOOST_AUTO_TEST_CASE(course_dropout_test_case) {
    // forward_propagation_with_dropout_test_case() of the course, keep_prob 0.7.
    seed(1);
    Tensor X = constant(randn({3, 5})), W1 = parameter(randn({2, 3})), b1 = parameter(randn({2, 1}));
    Tensor W2 = parameter(randn({3, 2})), b2 = parameter(randn({3, 1})), W3 = parameter(randn({1, 3}));
    Tensor b3 = parameter(randn({1, 1}));
    seed(1);
    const DropoutOptions d = opts(0.7, DropoutScale::constant);
    Tensor A1 = dropout(relu(matmul(W1, X) + b1), d);
    Tensor A2 = dropout(relu(matmul(W2, A1) + b2), d);
    Tensor A3 = sigmoid(matmul(W3, A2) + b3);
    xgrad::test::check_close(A3.value(), {0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721}, 1e-8);
}

BOOST_AUTO_TEST_CASE(gradient_checks_through_dropout_in_every_mode) {
    Generator data(21);
    Tensor x = parameter(data.randn({5, 8}), "x");
    Tensor W1 = parameter(scaled(data.randn({6, 5}), 0.5), "W1"), b1 = parameter(data.randn({6, 1}), "b1");
    Tensor W2 = parameter(scaled(data.randn({4, 6}), 0.5), "W2"), b2 = parameter(data.randn({4, 1}), "b2");
    Tensor W3 = parameter(data.randn({1, 4}), "W3"), b3 = parameter(data.randn({1, 1}), "b3");
    Tensor X = constant(data.randn({5, 8})), Y = constant(Array({1, 8}, {1, 0, 0, 1, 1, 0, 1, 0}));
    for (DropoutScale mode : all_modes) {
        for (double keep : {0.5, 0.86, 0.99}) {
            Generator gen(7);
            const DropoutOptions d = opts(keep, mode, &gen);
            const auto single = xgrad::gradcheck([&] { return dropout(x, d); }, {x});
            BOOST_TEST(single.passed, scale_name(mode) << " keep " << keep << " single op: " << single.summary());
            auto net = [&] {
                Tensor A1 = dropout(relu(matmul(W1, X) + b1), d);
                Tensor A2 = dropout(relu(matmul(W2, A1) + b2), d);
                return binary_cross_entropy(sigmoid(matmul(W3, A2) + b3), Y);
            };
            const auto whole = xgrad::gradcheck(net, {W1, b1, W2, b2, W3, b3});
            BOOST_TEST(whole.passed, scale_name(mode) << " keep " << keep << " 3-layer net: " << whole.summary());
        }
    }
}

// The same with a Philox generator: the mask is its one-word draw (u < round(p·2^32)).
BOOST_AUTO_TEST_CASE(philox_masks_are_reused_by_backward_in_every_mode) {
    Generator data = Generator::philox(11);
    const double threshold = std::round(0.7 * 0x1p32);
    check_mask_and_scale_reused([] { return Generator::philox(5, 1); }, data,
                                [threshold](Generator& g) { return static_cast<double>(g.next_uint32()) < threshold; });
}

BOOST_AUTO_TEST_CASE(gradient_checks_through_philox_dropout_in_every_mode) {
    Generator data = Generator::philox(21);
    Tensor x = parameter(data.randn({5, 8}), "x");
    Tensor W1 = parameter(scaled(data.randn({6, 5}), 0.5), "W1"), b1 = parameter(data.randn({6, 1}), "b1");
    Tensor W2 = parameter(scaled(data.randn({1, 6}), 0.5), "W2"), b2 = parameter(data.randn({1, 1}), "b2");
    Tensor X = constant(data.randn({5, 8})), Y = constant(Array({1, 8}, {1, 0, 0, 1, 1, 0, 1, 0}));
    for (DropoutScale mode : all_modes) {
        for (double keep : {0.5, 0.86}) {
            Generator gen = Generator::philox(7, 3);
            const DropoutOptions d = opts(keep, mode, &gen);
            const auto single = xgrad::gradcheck([&] { return dropout(x, d); }, {x});
            BOOST_TEST(single.passed, scale_name(mode) << " keep " << keep << " single op: " << single.summary());
            auto net = [&] {
                Tensor A1 = dropout(relu(matmul(W1, X) + b1), d);
                return binary_cross_entropy(sigmoid(matmul(W2, A1) + b2), Y);
            };
            const auto whole = xgrad::gradcheck(net, {W1, b1, W2, b2});
            BOOST_TEST(whole.passed, scale_name(mode) << " keep " << keep << " 2-layer net: " << whole.summary());
        }
    }
}

BOOST_AUTO_TEST_CASE(without_replay_the_check_fails) {
    Generator data(21);
    Tensor x = parameter(data.randn({5, 8}), "x");
    Generator gen(7);
    GradcheckOptions no_replay;
    no_replay.replay_masks = false;
    const auto report = xgrad::gradcheck([&] { return dropout(x, opts(0.5, DropoutScale::constant, &gen)); }, {x},
                                         no_replay);
    BOOST_TEST(!report.passed);
    BOOST_TEST(report.difference > 1e-2, report.summary());
}

// linear_relu_dropout is dropout(relu(linear(...))) in one node: the same mask draws, the same output
// and the same gradients, bit for bit, in both layouts, every mode and both dtypes — including
// linear outputs that are exactly 0, negative or inf (the ReLU gate is read from y in backward).
BOOST_AUTO_TEST_CASE(linear_relu_dropout_equals_the_three_ops_bit_for_bit) {
    for (DType dtype : {DType::f64, DType::f32})
        for (Layout layout : {Layout::features_first, Layout::batch_first})
            for (DropoutScale mode : all_modes) {
                Generator data(5);
                const bool batch_first = layout == Layout::batch_first;
                Array x = data.randn(batch_first ? Shape{7, 4} : Shape{4, 7}).astype(dtype);
                const Array w = data.randn({6, 4}).astype(dtype);
                Array b = data.randn(batch_first ? Shape{6} : Shape{6, 1}).astype(dtype);
                b.set_flat(0, 1e300);  // an overflowing unit: inf through ReLU and the mask (f32: inf already)
                b.set_flat(1, std::nan(""));  // a NaN unit: kept by ReLU, then masked
                x.set_flat(1, 0.0);
                const Array upstream = data.randn(batch_first ? Shape{7, 6} : Shape{6, 7}).astype(dtype);
                DropoutOptions o = opts(0.6, mode);
                o.example_axis = batch_first ? 0 : 1;
                auto run = [&](bool fused) {
                    Generator gen(11);
                    o.generator = &gen;
                    Tensor X = parameter(x, "x"), W = parameter(w, "w"), B = parameter(b, "b");
                    const Tensor y = fused ? linear_relu_dropout(X, W, B, layout, o)
                                           : dropout(relu(linear(X, W, B, layout)), o);
                    const DropoutState state = dropout_state(y);
                    y.backward(upstream);
                    return std::vector<Array>{y.value(), X.grad(), W.grad(), B.grad(),
                                              Array({state.mask.size()}, std::vector<double>(state.mask.begin(), state.mask.end()))};
                };
                const std::vector<Array> fused = run(true), unfused = run(false);
                auto same_bits = [](const Array& a, const Array& c) {  // NaN matches NaN; zeros their sign
                    if (a.shape() != c.shape() || a.dtype() != c.dtype()) return false;
                    for (std::size_t i = 0; i < a.size(); ++i) {
                        const double u = a.flat(i), v = c.flat(i);
                        if (!(std::isnan(u) && std::isnan(v)) && (u != v || std::signbit(u) != std::signbit(v)))
                            return false;
                    }
                    return true;
                };
                std::size_t nans = 0;  // the NaN unit reaches the output where the mask keeps it
                for (std::size_t i = 0; i < fused[0].size(); ++i) nans += std::isnan(fused[0].flat(i));
                BOOST_TEST(nans > 0u);
                for (std::size_t k = 0; k < fused.size(); ++k)
                    BOOST_TEST(same_bits(fused[k], unfused[k]), "output " << k << " differs: " << scale_name(mode)
                                                                    << (batch_first ? " batch_first " : " features_first ")
                                                                    << dtype_name(dtype));
            }
    // One node instead of three, and the unfused path where there is nothing to fuse.
    const Tensor x = constant(Array::ones({2, 3})), w = parameter(Array::ones({4, 2}), "w"),
                 b = parameter(Array({4, 1}), "b");
    BOOST_TEST(topological_order(linear_relu_dropout(x, w, b, Layout::features_first, {.keep_prob = 0.5}).node_ref()).size() == 4u);
    BOOST_TEST(linear_relu_dropout(x, w, b, Layout::features_first, {.keep_prob = 1.0}).node()->op->name() == "relu");
    BOOST_TEST(contains(message_of<ValueError>([&] { linear_relu_dropout(x, w, b, Layout::features_first, {.keep_prob = 0}); }),
                        "linear_relu_dropout"));
}

BOOST_AUTO_TEST_SUITE_END()
