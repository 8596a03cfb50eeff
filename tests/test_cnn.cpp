// Convolutional layers: the course's "CNN step by step" cases reproduced with xgrad's ops (inputs drawn
// in the course's order and NHWC layout with the numpy-compatible generator, permuted to NCHW), the
// modules, and the errors. (Gradients: gradcheck rows; values against numpy: ops_numpy.)

#include <cmath>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::check_close;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {
/// The course's (m, H, W, C) arrays as xgrad's (N, C, H, W), and back.
Tensor nchw(const Tensor& nhwc) { return permute(nhwc, {0, 3, 1, 2}); }
Tensor nhwc(const Tensor& nchw_tensor) { return permute(nchw_tensor, {0, 2, 3, 1}); }
/// a[i, j] of an array with at least 2 axes (the course's dA_prev[1, 1]).
Array entry(const Array& a, std::int64_t i, std::int64_t j) { return constant(a)[i][j].value(); }
/// Filters (f, f, C_in, C_out) as (C_out, C_in, f, f).
Tensor filters(const Tensor& course) { return permute(course, {3, 2, 0, 1}); }
}  // namespace

BOOST_AUTO_TEST_SUITE(cnn)

// The expected values are the assignment's printed ones; tests/cnn_reference.py recomputes every
// one of them with plain numpy loops (and CTest cnn_reference checks it still does).
BOOST_AUTO_TEST_CASE(course_conv_forward) {
    seed(1);
    const Tensor A_prev = constant(randn({2, 5, 7, 4})), W = constant(randn({3, 3, 4, 8})), b = constant(randn({1, 1, 1, 8}));
    const Tensor Z = nhwc(conv2d(nchw(A_prev), filters(W), reshape(b, {8}), 2, 1));
    BOOST_TEST((Z.shape() == Shape{2, 3, 4, 8}));
    BOOST_TEST(std::abs(mean(Z).item() - 0.5511276474566768) < 1e-14);
    check_close(select(select(Z[0], 0, 2), 0, 1).value(),
                {-2.17796037, 8.07171329, -0.5772704, 3.36286738, 4.48113645, -2.89198428, 10.99288867, 3.03171932}, 5e-9);
}

BOOST_AUTO_TEST_CASE(course_conv_backward) {
    seed(1);
    Tensor A_prev = parameter(randn({10, 4, 4, 3}), "A_prev"), W = parameter(randn({2, 2, 3, 8}), "W");
    Tensor b = parameter(randn({1, 1, 1, 8}), "b");
    const Tensor Z = nhwc(conv2d(nchw(A_prev), filters(W), reshape(b, {8}), 2, 2));
    Z.backward(Z.value());  // the assignment's conv_backward(Z, cache): dZ = Z
    BOOST_TEST(std::abs(mean(constant(A_prev.grad())).item() - 1.4524377775388075) < 1e-13);
    BOOST_TEST(std::abs(mean(constant(W.grad())).item() - 1.7269914583139097) < 1e-13);
    BOOST_TEST(std::abs(mean(constant(b.grad())).item() - 7.839232564616838) < 1e-13);
}

BOOST_AUTO_TEST_CASE(course_pool_forward) {
    seed(1);
    const Tensor A_prev = nchw(constant(randn({2, 5, 5, 3})));
    const Tensor max_pooled = nhwc(max_pool2d(A_prev, 3, Size2{1}));
    const Tensor average = nhwc(avg_pool2d(A_prev, 3, Size2{1}));
    check_close(select(select(max_pooled[1], 0, 1), 0, 0).value(), {1.96710175, 0.84616065, 1.27375593}, 5e-9);
    check_close(select(select(average[1], 0, 1), 0, 0).value(), {0.44497696, -0.00261695, -0.31040307}, 5e-9);
}

BOOST_AUTO_TEST_CASE(course_pool_backward) {
    seed(1);
    Tensor A_prev = parameter(randn({5, 5, 3, 2}), "A_prev");
    const Array dA = randn({5, 4, 2, 2});
    BOOST_TEST(std::abs(mean(constant(dA)).item() - 0.14571390272918056) < 1e-15);
    nhwc(max_pool2d(nchw(A_prev), 2, Size2{1})).backward(dA);
    check_close(entry(A_prev.grad(), 1, 1), {0, 0, 5.058443935342465, -1.6828270215556507, 0, 0}, 1e-14);
    A_prev.zero_grad();
    nhwc(avg_pool2d(nchw(A_prev), 2, Size2{1})).backward(dA);
    check_close(entry(A_prev.grad(), 1, 1), {0.08485462489158352, 0.2787551982460382, 1.2646109838356163, -0.2574937269055999,
                1.179756358944033, -0.5362489251516381}, 1e-14);
}

BOOST_AUTO_TEST_SUITE_END()
