// Convolutional layers: the course's "CNN step by step" cases reproduced with xgrad's ops (inputs drawn
// in the course's order and NHWC layout with the numpy-compatible generator, permuted to NCHW), the
// modules, and the errors. (Gradients: gradcheck rows; values against numpy: ops_numpy.)

#include <cmath>
#include <cstdio>

#include "framework/kernels.hpp"
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

BOOST_AUTO_TEST_CASE(a_small_cnn_is_built_from_modules) {
    Generator gen(7);
    Sequential net;
    net.add(std::make_shared<Conv2d>(1, 4, 3, ConvOptions{.padding = 1, .generator = &gen}), "conv1");
    net.add(std::make_shared<BatchNorm2d>(4), "bn1");
    net.add(std::make_shared<ReLU>());
    net.add(std::make_shared<MaxPool2d>(2));
    net.add(std::make_shared<Dropout2d>(DropoutOptions{.keep_prob = 0.8}));
    net.add(std::make_shared<Flatten>());
    net.add(std::make_shared<Linear>(4 * 3 * 3, 5, LinearOptions{.generator = &gen, .layout = Layout::batch_first}), "fc");
    const Tensor images = constant(Generator(8).randn({2, 1, 6, 6}));
    const Tensor logits = net(images);
    BOOST_TEST((logits.shape() == Shape{2, 5}));
    // Buffers are state but not parameters: never handed to an optimizer.
    std::vector<std::string> parameter_names, buffer_names;
    for (const auto& [name, t] : net.named_parameters()) parameter_names.push_back(name);
    for (const auto& [name, t] : net.named_buffers()) buffer_names.push_back(name);
    BOOST_TEST((parameter_names == std::vector<std::string>{"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias",
                                                            "fc.W", "fc.b"}));
    BOOST_TEST((buffer_names == std::vector<std::string>{"bn1.running_mean", "bn1.running_var"}));
    cross_entropy(logits, constant(Array({2}, {1, 3}, DType::i64))).backward();
    for (const Tensor& p : net.parameters()) BOOST_TEST(p.has_grad(), p.name());
}

// conv2d's bias gradient: each image's plane sums, added image by image within a part of the batch
// and the parts in order (ops/conv.cpp). It is the sum over images and positions: against a long
// double sum, to float64's rounding and to float32's, on 20 images (16 parts of one or two) of 11
// rows (8-row blocks and a remainder).
BOOST_AUTO_TEST_CASE(conv_bias_gradient_is_the_sum_over_images_and_positions) {
    for (DType dtype : {DType::f32, DType::f64}) {
        Generator gen(5);
        Tensor x = parameter(gen.randn({20, 2, 11, 6}, dtype), "x"), w = parameter(gen.randn({5, 2, 3, 3}, dtype), "w"),
               b = parameter(gen.randn({5}, dtype), "b");
        const Array upstream = gen.randn({20, 5, 11, 6}, dtype);
        conv2d(x, w, b, 1, 1).backward(upstream);
        BOOST_REQUIRE(b.grad().size() == 5u);
        const double tolerance = dtype == DType::f32 ? 1e-5 : 1e-13;
        for (std::size_t o = 0; o < 5; ++o) {
            long double exact = 0, magnitude = 0;
            for (std::size_t n = 0; n < 20; ++n)
                for (std::size_t i = 0; i < 66; ++i) {
                    const double v = upstream.flat((n * 5 + o) * 66 + i);
                    exact += v, magnitude += std::abs(v);
                }
            BOOST_TEST(std::abs(b.grad().flat(o) - static_cast<double>(exact)) <= tolerance * static_cast<double>(magnitude),
                       dtype_name(dtype) << " channel " << o);
        }
    }
}

// conv2d_relu is relu(conv2d(...)) in one node: the same bits, values and every gradient, in float32
// and float64, through im2col with padding, strides, dilation and groups, the 1×1 kernel that reads
// the image directly, and with NaN, ±0 and values that ReLU cuts in the input; and Conv2dReLU has
// Conv2d's parameters and names.
BOOST_AUTO_TEST_CASE(conv2d_relu_gives_the_bits_of_relu_of_conv2d) {
    struct Setting {
        Shape x, w;
        bool bias;
        Size2 stride, padding, dilation;
        std::size_t groups;
    };
    const std::vector<Setting> settings = {
        {{20, 3, 9, 8}, {4, 3, 3, 3}, true, 1, 1, 1, 1},   // same size: 16 parts of one and two images
        {{3, 4, 11, 7}, {6, 2, 3, 2}, false, 2, {1, 2}, 2, 2},
        {{2, 4, 5, 3}, {6, 2, 1, 1}, true, 1, 0, 1, 2},     // 1×1: no im2col
    };
    for (DType dtype : {DType::f32, DType::f64})
        for (const Setting& s : settings) {
            Generator gen(23);
            Array xv = gen.randn(s.x, dtype);
            xv.set_flat(0, std::nan(""));
            xv.set_flat(1, -0.0);
            std::vector<std::vector<Array>> results;
            for (bool fused : {false, true}) {
                Generator draws(29);  // the same weights, bias and upstream for both
                Tensor x = parameter(xv, "x"), w = parameter(draws.randn(s.w, dtype), "w");
                const Tensor b = s.bias ? parameter(draws.randn({s.w[0]}, dtype), "b") : Tensor();
                const Tensor y = fused ? conv2d_relu(x, w, b, s.stride, s.padding, s.dilation, s.groups)
                                       : relu(conv2d(x, w, b, s.stride, s.padding, s.dilation, s.groups));
                y.backward(draws.randn(y.shape(), dtype));
                results.push_back({y.value(), x.grad(), w.grad()});
                if (s.bias) results.back().push_back(b.grad());
            }
            std::size_t differing = 0, nonzero = 0, compared = 0;
            for (std::size_t k = 0; k < results[0].size(); ++k)
                for (std::size_t i = 0; i < results[0][k].size(); ++i) {
                    const double a = results[0][k].flat(i), f = results[1][k].flat(i);
                    const bool same = (a == f && std::signbit(a) == std::signbit(f)) || (std::isnan(a) && std::isnan(f));
                    differing += !same;
                    nonzero += a != 0 && !std::isnan(a);
                    ++compared;
                }
            BOOST_TEST(differing == 0u, dtype_name(dtype) << " " << shape_str(s.x));
            BOOST_TEST(nonzero > compared / 4, "the comparison sees real values");
        }
    Conv2dReLU layer(3, 4, 3, ConvOptions{.padding = 1});
    std::vector<std::string> names;
    for (const auto& [name, t] : layer.named_parameters()) names.push_back(name);
    BOOST_TEST((names == std::vector<std::string>{"weight", "bias"}));
    const Tensor images = constant(Generator(3).randn({2, 3, 5, 5}));
    const Array expected = relu(conv2d(images, layer.weight, layer.bias, 1, 1)).value();
    const Array got = layer(images).value();
    for (std::size_t i = 0; i < got.size(); ++i) BOOST_TEST(got.flat(i) == expected.flat(i));
    BOOST_TEST(contains(message_of<ShapeError>([&] { conv2d_relu(images, constant(Array({4, 2, 3, 3}))); }),
                        "conv2d_relu"));
}

// float32 2 × 2 stride-2 max pooling has an AVX-512 kernel (ops/conv.cpp) beside the portable
// tap-by-tap loop: both give the same values and route the gradient to the same elements, on planes
// of odd and even sizes, rows longer and shorter than one vector, and values full of ties, NaNs and
// −inf (windows of −inf included). Where the CPU lacks AVX-512 both runs take the portable loop.
BOOST_AUTO_TEST_CASE(max_pool_2x2_kernel_equals_the_portable_loop) {
    struct Restore {
        ~Restore() { kernels::use_portable_kernels(false); }
    } restore;
    const float nan = std::nanf(""), inf = INFINITY;
    const float specials[] = {nan, inf, -inf, 0.0f, -0.0f, 1.0f, 1.0f, 2.0f};
    // output rows of 2, 3, 4, 8, 12, 16 + 1 and 35 windows: full vectors, half and partial second halves
    for (const Shape& shape : {Shape{2, 3, 4, 4}, Shape{1, 2, 7, 9}, Shape{3, 1, 6, 70}, Shape{1, 1, 2, 33},
                               Shape{1, 2, 4, 16}, Shape{1, 1, 2, 24}, Shape{2, 1, 4, 34}, Shape{1, 1, 5, 6}}) {
        Generator gen(17);
        Array values = gen.randn(shape, DType::f32);
        const Array picks = gen.rand(shape);
        for (std::size_t i = 0; i < values.size(); ++i) {
            const double u = picks.flat(i);
            if (u < 0.3) values.set_flat(i, specials[static_cast<std::size_t>(u / 0.3 * 8) % 8]);
            else if (u < 0.4) values.set_flat(i, -inf);  // whole windows of −inf now and then
        }
        const Array upstream = gen.randn({shape[0], shape[1], shape[2] / 2, shape[3] / 2}, DType::f32);
        std::vector<Array> outputs, gradients;
        for (bool portable : {true, false}) {
            kernels::use_portable_kernels(portable);
            Tensor x = parameter(values, "x");
            const Tensor y = max_pool2d(x, 2);
            y.backward(upstream);
            outputs.push_back(y.value());
            gradients.push_back(x.grad());
        }
        std::size_t differing = 0;
        for (std::size_t i = 0; i < outputs[0].size(); ++i) {
            const double a = outputs[0].flat(i), b = outputs[1].flat(i);
            differing += !(a == b || (std::isnan(a) && std::isnan(b)));
        }
        for (std::size_t i = 0; i < gradients[0].size(); ++i) differing += gradients[0].flat(i) != gradients[1].flat(i);
        BOOST_TEST(differing == 0u, shape_str(shape));
    }
}

// xgrad's loops over images, channels and elements (im2col, col2im, pooling, ReLU, the optimiser's
// update) split over worker threads with parallel_for: each element is computed by one thread in the
// serial order, so two Adam steps of a CNN give the same bits with the workers as on one thread.
// Sizes are big enough that the first layers' loops and the optimisers' updates of fc.W split (and,
// under ThreadSanitizer, races show). Two Adam steps, then one SGD step with momentum and decay.
BOOST_AUTO_TEST_CASE(parallel_loops_give_the_serial_bits) {
    auto train = [](bool parallel_loops) {
        const bool before = detail::set_parallel_loops(parallel_loops);
        const std::size_t threads = num_threads();
        set_num_threads(3);  // two workers, whatever the machine
        Generator gen(11);
        Sequential net;
        const ConvOptions conv{.padding = 1, .dtype = DType::f32, .generator = &gen};
        net.add(std::make_shared<Conv2d>(2, 8, 3, conv), "conv1");
        net.add(std::make_shared<ReLU>());
        net.add(std::make_shared<MaxPool2d>(2));
        net.add(std::make_shared<Conv2d>(8, 8, 3, ConvOptions{.stride = 2, .padding = 2, .dilation = 2,
                                                              .dtype = DType::f32, .generator = &gen}),
                "conv2");
        net.add(std::make_shared<ReLU>());
        net.add(std::make_shared<Flatten>());
        // 512 × 160 weights: more than two element-wise tasks, so the optimisers' loops split too
        net.add(std::make_shared<Linear>(8 * 8 * 8, 160, LinearOptions{.dtype = DType::f32, .generator = &gen,
                                                                       .layout = Layout::batch_first}),
                "fc");
        // 20 images: conv2d's backward sums dW over 16 parts of the batch, here of one and two images
        const Tensor images = constant(gen.randn({20, 2, 32, 32}, DType::f32));
        Array t({20}, DType::i64);
        for (std::size_t j = 0; j < 20; ++j) t.set_flat(j, static_cast<double>(j % 10));
        const Tensor labels = constant(t);
        Adam adam(net.parameters(), 0.01);
        std::vector<Array> out;
        for (int step = 0; step < 2; ++step) {
            adam.zero_grad();
            cross_entropy(net(images), labels).backward();
            adam.step();
        }
        SGD sgd(net.parameters(), 0.1, SGDOptions{.momentum = 0.9, .weight_decay = 1e-3});
        sgd.zero_grad();
        cross_entropy(net(images), labels).backward();
        sgd.step();
        for (const Tensor& p : net.parameters()) out.push_back(p.value());
        set_num_threads(threads);
        detail::set_parallel_loops(before);
        return out;
    };
    const std::vector<Array> serial = train(false), parallel = train(true);
    BOOST_REQUIRE(serial.size() == parallel.size());
    for (std::size_t k = 0; k < serial.size(); ++k) {
        BOOST_REQUIRE(serial[k].size() == parallel[k].size());
        std::size_t differing = 0;
        for (std::size_t i = 0; i < serial[k].size(); ++i) differing += serial[k].flat(i) != parallel[k].flat(i);
        BOOST_TEST(differing == 0u, "parameter " << k);
    }
}

BOOST_AUTO_TEST_CASE(batch_norm_keeps_running_statistics_and_switches_with_eval) {
    BatchNorm1d bn(2, NormOptions{.momentum = 0.5});
    const Tensor x = constant(Array({4, 2}, {1, 10, 2, 20, 3, 30, 4, 40}));
    const Tensor y = bn(x);
    // Training: each column normalised by its batch mean and biased variance.
    BOOST_TEST(std::abs(y.value().at({0, 0}) - (1 - 2.5) / std::sqrt(1.25 + 1e-5)) < 1e-12);
    // Running statistics: half-way from (0, 1) to the batch's mean and unbiased variance.
    check_close(bn.running_mean.value(), {1.25, 12.5}, 1e-12);
    check_close(bn.running_var.value(), {0.5 + 0.5 * 5.0 / 3.0, 0.5 + 0.5 * 500.0 / 3.0}, 1e-12);
    bn.eval();
    const Tensor z = bn(x);
    BOOST_TEST(std::abs(z.value().at({3, 1}) - (40 - 12.5) / std::sqrt(bn.running_var.value().flat(1) + 1e-5)) < 1e-12);
    check_close(bn.running_mean.value(), {1.25, 12.5}, 1e-12);  // evaluation does not update them
    // Saved and loaded with the parameters.
    const std::string path = "bn_state.npz";
    save_parameters(bn, path);
    BatchNorm1d fresh(2);
    load_parameters(fresh, path);
    BOOST_TEST(fresh.running_var.value().equals(bn.running_var.value()));
    std::remove(path.c_str());
    // Wrong ranks and single values per channel are refused.
    BOOST_TEST(contains(message_of<ShapeError>([&] { BatchNorm2d(2)(x); }), "BatchNorm2d"));
    BatchNorm1d one(2);
    BOOST_TEST(contains(message_of<ValueError>([&] { one(constant(Array({1, 2}, {1, 2}))); }), "more than one value"));
}

BOOST_AUTO_TEST_CASE(dropout_on_images_counts_per_example_over_c_h_w_and_dropout2d_per_channel_map) {
    const Tensor x = parameter(Array::ones({2, 3, 2, 2}), "x");  // recorded, so dropout_state can read the node
    // Element-wise dropout, per-example scale along the batch axis: each example's kept units of
    // its C·H·W = 12 set its own scale 12 / kept.
    const Tensor y = dropout(x, {.keep_prob = 0.5, .scale = DropoutScale::per_example, .example_axis = 0});
    const DropoutState state = dropout_state(y);
    BOOST_REQUIRE_EQUAL(state.scales.size(), 2u);
    for (std::size_t n = 0; n < 2; ++n) {
        double kept = 0;
        for (std::size_t k = 0; k < 12; ++k) kept += state.mask[n * 12 + k];
        BOOST_TEST(state.scales[n] == 12.0 / kept);
        for (std::size_t k = 0; k < 12; ++k)
            BOOST_TEST(y.value().flat(n * 12 + k) == (state.mask[n * 12 + k] ? 12.0 / kept : 0.0));
    }
    // dropout2d: one bit per (example, channel) map, constant over the map's H·W elements; per
    // example the scale is C / kept maps.
    const Tensor z = dropout2d(x, {.keep_prob = 0.5, .scale = DropoutScale::per_example});
    for (std::size_t n = 0; n < 2; ++n) {
        double kept = 0;
        for (std::size_t c = 0; c < 3; ++c) kept += z.value().flat((n * 3 + c) * 4) != 0.0;
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t k = 0; k < 4; ++k) {
                const double v = z.value().flat((n * 3 + c) * 4 + k), first = z.value().flat((n * 3 + c) * 4);
                BOOST_TEST(v == first);  // one decision per map
                BOOST_TEST((v == 0.0 || v == 3.0 / kept));
            }
    }
}

BOOST_AUTO_TEST_CASE(conv_errors_name_the_shapes) {
    const Tensor x = constant(Array({1, 3, 5, 5}));
    std::string msg = message_of<ShapeError>([&] { conv2d(x, constant(Array({4, 2, 3, 3}))); });
    BOOST_TEST(contains(msg, "conv2d"));
    BOOST_TEST(contains(msg, "(4, 2, 3, 3)"));
    msg = message_of<ShapeError>([&] { conv2d(x, constant(Array({4, 3, 7, 7}))); });
    BOOST_TEST(contains(msg, "smaller than the kernel"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { conv2d(constant(Array({3, 5, 5})), constant(Array({4, 3, 3, 3}))); }),
                        "(N, C, H, W)"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { conv2d(x, constant(Array({4, 3, 3, 3})), constant(Array({3}))); }),
                        "bias"));
    BOOST_TEST(message_of<ValueError>([&] { max_pool2d(x, 0); }) ==
               "max_pool2d: kernel and stride must be ≥ 1 (kernel (0, 0), stride (0, 0))");
    // Padding around an empty plane would give windows with no element for the gradient to go to.
    BOOST_TEST(contains(message_of<ShapeError>([&] {
                            max_pool2d(constant(Array({1, 1, 0, 4})), 2, Size2{2}, 1);
                        }),
                        "empty planes"));
    BOOST_TEST(contains(message_of<ValueError>([&] { conv2d(x, constant(Array({4, 3, 3, 3})), {}, 0); }), "stride"));
    BOOST_TEST(contains(message_of<ShapeError>([&] { conv2d(x, constant(Array({4, 1, 3, 3})), {}, 1, 0, 1, 2); }),
                        "groups"));
}

// conv2d's backward sums dW and db over 16 fixed parts of the batch, each part image by image into
// a partial of its own (ops/conv.cpp). Here 37 images (parts of 3 and 2) with 2 groups: the result,
// dX, dW and db must equal those of the images convolved one at a time.
BOOST_AUTO_TEST_CASE(conv_gradients_summed_over_parts_of_the_batch_equal_one_image_at_a_time) {
    Generator gen(3);
    Tensor x = parameter(gen.randn({37, 2, 9, 7}), "x"), w = parameter(gen.randn({4, 1, 3, 3}), "w"),
                 b = parameter(gen.randn({4}), "b");
    const Tensor upstream = constant(gen.randn({37, 4, 9, 7}));
    const Tensor y = conv2d(x, w, b, 1, 1, 1, 2);
    sum(y * upstream).backward();
    const Array dx = x.grad(), dw = w.grad(), db = b.grad();
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    std::vector<Tensor> parts;
    for (std::int64_t i = 0; i < 37; ++i) {
        const Tensor yi = conv2d(slice(x, 0, i, i + 1), w, b, 1, 1, 1, 2);
        sum(yi * slice(upstream, 0, i, i + 1)).backward();
        parts.push_back(yi);
    }
    auto relative = [](const Array& a, const Array& b) {
        double worst = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
            worst = std::max(worst, std::abs(a.flat(i) - b.flat(i)) / std::max(1.0, std::abs(b.flat(i))));
        return worst;
    };
    BOOST_TEST(relative(y.value(), concat(parts, 0).value()) < 1e-12);
    BOOST_TEST(relative(dx, x.grad()) < 1e-12);
    BOOST_TEST(relative(dw, w.grad()) < 1e-12);
    BOOST_TEST(relative(db, b.grad()) < 1e-12);
    BOOST_TEST(std::abs(dx.flat(0)) > 0);  // the comparison sees real values
}

// Max pooling's gradient goes to the window's first largest element; the first NaN wins and stays;
// a window of −inf keeps its first element. Both kernels: windows inside the image (padding 0) and
// padded windows, float64 and float32.
BOOST_AUTO_TEST_CASE(max_pool_routes_the_gradient_to_the_first_largest_nan_first) {
    const double nan = std::nan(""), inf = INFINITY;
    for (DType dtype : {DType::f64, DType::f32}) {
        // one (1, 1, 2, 2) plane per case: values, the expected output, the index that gets the gradient
        struct Case {
            std::vector<double> values;
            double out;
            std::size_t winner;
        };
        for (const Case& c : {Case{{1, 1, 1, 1}, 1, 0}, Case{{1, 2, 2, 0}, 2, 1}, Case{{1, nan, nan, 5}, nan, 1},
                              Case{{-inf, -inf, -inf, -inf}, -inf, 0}, Case{{nan, 7, 8, 9}, nan, 0}}) {
            Tensor x = parameter(Array({1, 1, 2, 2}, c.values, dtype), "x");
            const Tensor y = max_pool2d(x, 2);  // one window, inside the image
            const double got = y.value().flat(0);
            BOOST_TEST((std::isnan(c.out) ? std::isnan(got) : got == c.out));
            y.backward(Array::ones({1, 1, 1, 1}, dtype));
            for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(x.grad().flat(i) == (i == c.winner ? 1.0 : 0.0));
            // Padded: kernel 3, padding 1 over the same plane — one window per corner, each reading all 4.
            x.zero_grad();
            const Tensor padded = max_pool2d(x, 3, Size2{1}, 1);
            BOOST_TEST((padded.shape() == Shape{1, 1, 2, 2}));
            padded.backward(Array::ones({1, 1, 2, 2}, dtype));
            for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(x.grad().flat(i) == (i == c.winner ? 4.0 : 0.0));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
