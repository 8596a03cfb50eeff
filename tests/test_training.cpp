// Training: optimizers against hand-computed steps, their setters and checkpoints, gradient
// clipping, and learning-rate schedules. The expected values come from numpy implementations of
// PyTorch's documented update rules and schedules (PyTorch itself is not installed here), written
// from the algorithm boxes of the torch.optim documentation; the comment above each table says how.

#include <cmath>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::check_close;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {

std::string temp(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("xgrad_training_" + name)).string();
}

// Three steps on w = [1, -2, 0.5] with these gradients. The numpy reference, for each optimizer:
//     w = w0.copy(); for g in G: <PyTorch's algorithm box, one step>
const std::vector<double> w0 = {1.0, -2.0, 0.5};
const std::vector<std::vector<double>> grads = {{0.5, -1.0, 2.0}, {-0.3, 0.8, 1.5}, {0.1, 0.2, -0.7}};

Tensor make_w() {
    return parameter(Array({3}, w0), "w");
}

/// Sets each gradient in turn (through mutable_grad, as a clipping step would) and steps.
void run(Optimizer& opt, Tensor& w, std::size_t steps = 3) {
    for (std::size_t t = 0; t < steps; ++t) {
        w.mutable_grad() = Array({3}, grads[t]);
        opt.step();
    }
}

void check_relative(double actual, double expected, double tol = 1e-15) {
    BOOST_TEST(std::abs(actual - expected) <= tol * std::abs(expected),
               std::setprecision(17) << actual << " vs expected " << expected);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(training)

// ---- optimizers against numpy ----

BOOST_AUTO_TEST_CASE(plain_sgd_is_w_minus_lr_g_bit_for_bit) {
    for (DType dtype : {DType::f64, DType::f32}) {
        Tensor w = parameter(Array({3}, w0, dtype), "w");
        SGD sgd({w}, 0.1);
        Array expected = w.value();
        for (const auto& g : grads) {
            w.mutable_grad() = Array({3}, g, dtype);
            sgd.step();
            detail::dispatch(dtype, [&](auto tag) {
                using T = decltype(tag);
                T* e = expected.data<T>();
                const T* gp = w.grad().data<T>();
                for (std::size_t i = 0; i < 3; ++i) e[i] = e[i] - static_cast<T>(0.1) * gp[i];
            });
            BOOST_TEST(w.value().equals(expected));
        }
        // The defaults of the options are plain SGD: the same bits.
        Tensor v = parameter(Array({3}, w0, dtype), "v");
        SGD with_options({v}, 0.1, SGDOptions{});
        for (const auto& g : grads) {
            v.mutable_grad() = Array({3}, g, dtype);
            with_options.step();
        }
        BOOST_TEST(v.value().equals(w.value()));
    }
}

/// The course's Momentum and Adam, written out as they were before weight decay and the options
/// came: the optimizers must still produce exactly these bits (the course reproductions rely on it).
BOOST_AUTO_TEST_CASE(course_momentum_and_adam_are_unchanged_bit_for_bit) {
    for (DType dtype : {DType::f64, DType::f32}) {
        detail::dispatch(dtype, [&](auto tag) {
            using T = decltype(tag);
            Tensor m = parameter(Array({3}, w0, dtype), "m"), a = parameter(Array({3}, w0, dtype), "a");
            Momentum momentum({m}, 0.1, 0.9);
            Adam adam({a}, 0.01);
            std::vector<T> wm(w0.begin(), w0.end()), wa = wm, v(3), vm(3), s(3);
            for (std::size_t t = 1; t <= grads.size(); ++t) {
                const Array g({3}, grads[t - 1], dtype);
                m.mutable_grad() = g;
                a.mutable_grad() = g;
                momentum.step();
                adam.step();
                const double c1 = 1 - std::pow(0.9, static_cast<double>(t));
                const double c2 = 1 - std::pow(0.999, static_cast<double>(t));
                for (std::size_t i = 0; i < 3; ++i) {
                    const T gi = g.data<T>()[i];
                    vm[i] = static_cast<T>(0.9) * vm[i] + static_cast<T>(1 - 0.9) * gi;
                    wm[i] = wm[i] - static_cast<T>(0.1) * vm[i];
                    v[i] = static_cast<T>(0.9) * v[i] + static_cast<T>(1 - 0.9) * gi;
                    s[i] = static_cast<T>(0.999) * s[i] + static_cast<T>(1 - 0.999) * gi * gi;
                    const double v_hat = v[i] / c1, s_hat = s[i] / c2;
                    wa[i] = static_cast<T>(wa[i] - 0.01 * v_hat / (std::sqrt(s_hat) + 1e-8));
                }
                for (std::size_t i = 0; i < 3; ++i) {
                    BOOST_TEST(m.value().data<T>()[i] == wm[i]);
                    BOOST_TEST(a.value().data<T>()[i] == wa[i]);
                }
            }
        });
    }
}

BOOST_AUTO_TEST_CASE(sgd_momentum_nesterov_and_weight_decay_follow_pytorch) {
    Tensor w = make_w();
    SGD momentum({w}, 0.1, {.momentum = 0.9});  // PyTorch: buf = g at the first step, then μ·buf + g
    run(momentum, w);
    check_close(w.value(), {0.9115, -1.9009999999999998, -0.257}, 1e-15);

    w = make_w();
    SGD nesterov({w}, 0.1, {.momentum = 0.9, .nesterov = true, .weight_decay = 0.01});
    run(nesterov, w);
    check_close(w.value(), {0.882721158191, -1.8955701163820002, -0.4627178212295001}, 1e-15);

    w = make_w();
    SGD decay({w}, 0.1, {.weight_decay = 0.05});  // g + wd·w
    run(decay, w);
    check_close(w.value(), {0.955423625, -1.97074725, 0.21528243749999998}, 1e-15);
}

BOOST_AUTO_TEST_CASE(momentum_and_adam_take_an_l2_weight_decay) {
    Tensor w = make_w();
    Momentum momentum({w}, 0.1, {.beta = 0.9, .weight_decay = 0.05});  // the course's v with g + wd·w
    run(momentum, w);
    check_close(w.value(), {0.9883541986250001, -1.98450739725, 0.4229435949375}, 1e-15);

    w = make_w();
    Adam adam({w}, 0.01, {.weight_decay = 0.1});  // PyTorch's Adam: g + wd·w
    run(adam, w);
    check_close(w.value(), {0.9811556430243386, -1.985295277946906, 0.4743730031261893}, 1e-14);
    BOOST_TEST(adam.step_count() == 3);
}

BOOST_AUTO_TEST_CASE(adamw_decays_the_weights_apart_from_the_moments) {
    Tensor w = make_w();
    AdamW adamw({w}, 0.01);  // PyTorch's defaults: weight_decay 0.01
    BOOST_TEST(adamw.weight_decay() == 0.01);
    BOOST_TEST(adamw.name() == "AdamW");
    run(adamw, w);
    check_close(w.value(), {0.9852475894586274, -1.989363434889151, 0.47443739343609725}, 1e-14);

    w = make_w();
    AdamW custom({w}, 0.05, {.beta1 = 0.8, .beta2 = 0.99, .epsilon = 1e-6, .weight_decay = 0.2});
    run(custom, w);
    check_close(w.value(), {0.9037802389674104, -1.8970855072541746, 0.36348701636804215}, 1e-14);
}

BOOST_AUTO_TEST_CASE(rmsprop_follows_pytorch) {
    Tensor w = make_w();
    RMSprop rmsprop({w}, 0.01);  // alpha 0.99, eps 1e-8
    run(rmsprop, w);
    check_close(w.value(), {0.9345930303571177, -1.9782133908209927, 0.36697664494957527}, 1e-14);

    w = make_w();
    RMSprop with_momentum({w}, 0.01, {.alpha = 0.9, .momentum = 0.9, .weight_decay = 0.1});
    run(with_momentum, w);
    check_close(w.value(), {0.92431464080014, -1.942548748443307, 0.38540268564442165}, 1e-14);
}

BOOST_AUTO_TEST_CASE(a_parameter_without_a_gradient_is_skipped) {
    Tensor w = make_w(), frozen = parameter(Array({2}, {3.0, 4.0}), "frozen");
    Adam adam({w, frozen}, 0.1);
    w.mutable_grad() = Array({3}, grads[0]);
    adam.step();
    BOOST_TEST(frozen.value().equals(Array({2}, {3.0, 4.0})));
    BOOST_TEST(!w.value().equals(Array({3}, w0)));
}

BOOST_AUTO_TEST_CASE(a_gradient_that_no_longer_fits_its_parameter_is_refused) {
    Tensor w = make_w();
    SGD sgd({w}, 0.1);
    w.mutable_grad() = Array({2});
    std::string msg = message_of<ShapeError>([&] { sgd.step(); });
    BOOST_TEST(
        (contains(msg, "SGD") && contains(msg, "'w'") && contains(msg, "(2,)") && contains(msg, "(3,)")),
        msg);
    w.mutable_grad() = Array({3}, DType::f32);
    msg = message_of<DTypeError>([&] { sgd.step(); });
    BOOST_TEST((contains(msg, "float32") && contains(msg, "float64")), msg);
    BOOST_TEST(w.value().equals(Array({3}, w0)));
}

// ---- hyper-parameters ----

BOOST_AUTO_TEST_CASE(setters_validate_and_name_the_optimizer_the_parameter_and_the_value) {
    Tensor w = make_w();
    SGD sgd({w}, 0.1);
    std::string msg = message_of<ValueError>([&] { sgd.set_learning_rate(-0.5); });
    BOOST_TEST((contains(msg, "SGD") && contains(msg, "learning_rate") && contains(msg, "-0.5")), msg);
    msg = message_of<ValueError>([&] { sgd.set_learning_rate(std::nan("")); });
    BOOST_TEST((contains(msg, "learning_rate") && contains(msg, "nan")), msg);
    BOOST_CHECK_THROW(sgd.set_learning_rate(INFINITY), ValueError);
    BOOST_TEST(sgd.learning_rate() == 0.1);
    sgd.set_learning_rate(0.0);  // a schedule may anneal to zero
    BOOST_TEST(sgd.learning_rate() == 0.0);

    msg = message_of<ValueError>([&] { sgd.set_nesterov(true); });
    BOOST_TEST((contains(msg, "nesterov") && contains(msg, "momentum")), msg);
    BOOST_CHECK_THROW(SGD({w}, 0.1, {.nesterov = true}), ValueError);
    sgd.set_momentum(0.9);
    sgd.set_nesterov(true);
    BOOST_CHECK_THROW(sgd.set_momentum(0.0), ValueError);  // would leave Nesterov without a momentum
    BOOST_TEST(sgd.momentum() == 0.9);
    msg = message_of<ValueError>([&] { sgd.set_weight_decay(-1e-3); });
    BOOST_TEST((contains(msg, "SGD") && contains(msg, "weight_decay") && contains(msg, "-0.001")), msg);

    Adam adam({w}, 0.01);
    msg = message_of<ValueError>([&] { adam.set_beta1(1.0); });
    BOOST_TEST((contains(msg, "Adam") && contains(msg, "beta1") && contains(msg, "= 1 is outside [0, 1)")),
               msg);
    BOOST_CHECK_THROW(adam.set_beta2(-0.1), ValueError);
    BOOST_CHECK_THROW(adam.set_epsilon(0.0), ValueError);
    BOOST_TEST(adam.beta1() == 0.9);
    BOOST_TEST(adam.beta2() == 0.999);
    BOOST_TEST(adam.epsilon() == 1e-8);
    adam.set_beta1(0.5);
    BOOST_TEST(adam.options().beta1 == 0.5);

    AdamW adamw({w});
    msg = message_of<ValueError>([&] { adamw.set_beta2(1.5); });
    BOOST_TEST((contains(msg, "AdamW") && contains(msg, "beta2") && contains(msg, "1.5")), msg);

    Momentum momentum({w}, 0.1);
    msg = message_of<ValueError>([&] { momentum.set_beta(1.0); });
    BOOST_TEST((contains(msg, "Momentum") && contains(msg, "beta")), msg);

    RMSprop rmsprop({w});
    BOOST_TEST(rmsprop.learning_rate() == 0.01);
    msg = message_of<ValueError>([&] { rmsprop.set_alpha(-0.2); });
    BOOST_TEST((contains(msg, "RMSprop") && contains(msg, "alpha") && contains(msg, "-0.2")), msg);
    BOOST_CHECK_THROW(rmsprop.set_momentum(1.0), ValueError);
    BOOST_CHECK_THROW(RMSprop({w}, -1.0), ValueError);
    BOOST_CHECK_THROW(AdamW({w}, 0.001, {.weight_decay = std::nan("")}), ValueError);

    // A parameter that is not a trainable leaf is refused by every optimizer, by name.
    Tensor data = constant(Array({3}), "data");
    msg = message_of<ValueError>([&] { RMSprop({data}); });
    BOOST_TEST((contains(msg, "RMSprop") && contains(msg, "'data'")), msg);
}

// ---- state save and load ----

namespace {

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

const std::vector<std::pair<std::string, Factory>> factories = {
    {"sgd", [](std::vector<Tensor> p) { return std::make_unique<SGD>(std::move(p), 0.1); }},
    {"nesterov",
     [](std::vector<Tensor> p) {
         return std::make_unique<SGD>(std::move(p), 0.1,
                                      SGDOptions{.momentum = 0.9, .nesterov = true, .weight_decay = 0.01});
     }},
    {"momentum", [](std::vector<Tensor> p) { return std::make_unique<Momentum>(std::move(p), 0.1, 0.8); }},
    {"adam", [](std::vector<Tensor> p) { return std::make_unique<Adam>(std::move(p), 0.01); }},
    {"adamw", [](std::vector<Tensor> p) { return std::make_unique<AdamW>(std::move(p), 0.01); }},
    {"rmsprop",
     [](std::vector<Tensor> p) {
         return std::make_unique<RMSprop>(std::move(p), 0.01, RMSpropOptions{.momentum = 0.5});
     }},
};

/// A float64 vector and a float32 matrix, so states of both dtypes and of two indices are saved.
std::vector<Tensor> make_params() {
    return {parameter(Array({3}, w0), "w"), parameter(Array({2, 1}, {0.25, -0.75}, DType::f32), "u")};
}

void set_grads(std::vector<Tensor>& p, std::size_t t) {
    p[0].mutable_grad() = Array({3}, grads[t]);
    p[1].mutable_grad() = Array({2, 1}, {grads[t][1], grads[t][2]}, DType::f32);
}

/// Steps 1 and 2, with the learning rate halved in between (so save_state must keep it).
void first_two_steps(Optimizer& opt, std::vector<Tensor>& p) {
    set_grads(p, 0);
    opt.step();
    opt.set_learning_rate(opt.learning_rate() / 2);
    set_grads(p, 1);
    opt.step();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_resumed_optimizer_continues_bit_for_bit) {
    for (const auto& [name, make] : factories) {
        BOOST_TEST_CONTEXT(name) {
            auto a = make_params();
            auto uninterrupted = make(a);
            first_two_steps(*uninterrupted, a);
            set_grads(a, 2);
            uninterrupted->step();

            auto b = make_params();
            auto interrupted = make(b);
            first_two_steps(*interrupted, b);
            const std::string path = temp(name + ".npz");
            interrupted->save_state(path);

            // A new process: parameters restored (as load_parameters would), a fresh optimizer.
            std::vector<Tensor> c = {parameter(b[0].value(), "w"), parameter(b[1].value(), "u")};
            auto resumed = make(c);
            resumed->load_state(path);
            BOOST_TEST(resumed->step_count() == 2);
            BOOST_TEST(resumed->learning_rate() == uninterrupted->learning_rate());
            set_grads(c, 2);
            resumed->step();
            BOOST_TEST(c[0].value().equals(a[0].value()));
            BOOST_TEST(c[1].value().equals(a[1].value()));
            BOOST_TEST(resumed->step_count() == 3);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_saved_state_is_a_readable_npz) {
    auto p = make_params();
    Adam adam(p, 0.01, {.weight_decay = 0.1});
    first_two_steps(adam, p);
    adam.save_state(temp("adam.npz"));
    const auto arrays = load_npz(temp("adam.npz"));
    std::vector<std::string> names;
    for (const auto& [key, a] : arrays) names.push_back(key);
    BOOST_TEST((names == std::vector<std::string>{"hyper.beta1", "hyper.beta2", "hyper.epsilon",
                                                  "hyper.learning_rate", "hyper.weight_decay",
                                                  "optimizer.Adam", "parameters", "state.0.s", "state.0.v",
                                                  "state.1.s", "state.1.v", "step"}));
    BOOST_TEST(arrays.at("step").item() == 2);
    BOOST_TEST(arrays.at("hyper.learning_rate").item() == 0.005);
    BOOST_TEST((arrays.at("state.1.v").dtype() == DType::f32));

    // Plain SGD has no state; its lazy momentum buffer is saved once it exists.
    Tensor w = make_w();
    SGD sgd({w}, 0.1);
    sgd.save_state(temp("sgd.npz"));
    BOOST_TEST(load_npz(temp("sgd.npz")).count("state.0.momentum_buffer") == 0);
    sgd.set_momentum(0.9);
    run(sgd, w, 1);
    sgd.save_state(temp("sgd.npz"));
    BOOST_TEST(load_npz(temp("sgd.npz")).count("state.0.momentum_buffer") == 1);
}

BOOST_AUTO_TEST_CASE(a_state_that_does_not_fit_is_refused_and_changes_nothing) {
    auto p = make_params();
    Adam adam(p, 0.01);
    first_two_steps(adam, p);
    const std::string good = temp("good.npz");
    adam.save_state(good);

    // The optimizer that is refused each file below, and a twin that never saw them.
    auto q = make_params(), r = make_params();
    Adam target(q, 0.02), twin(r, 0.02);
    set_grads(q, 0);
    set_grads(r, 0);
    target.step();
    twin.step();

    auto refused = [&](const std::string& path, std::map<std::string, Array> arrays) {
        save_npz(path, arrays);
        return message_of<IoError>([&] { target.load_state(path); });
    };
    const auto saved = load_npz(good);

    std::string msg = message_of<IoError>([&] { SGD(q, 0.1).load_state(good); });
    BOOST_TEST((contains(msg, good) && contains(msg, "Adam") && contains(msg, "SGD")), msg);
    msg = message_of<IoError>([&] { AdamW(q).load_state(good); });  // Adam's layout, another kind
    BOOST_TEST((contains(msg, "kind Adam") && contains(msg, "AdamW")), msg);
    msg = message_of<IoError>([&] { Adam({q[0]}, 0.01).load_state(good); });
    BOOST_TEST((contains(msg, "2 parameters") && contains(msg, "has 1")), msg);
    msg = message_of<IoError>([&] { target.load_state(temp("missing.npz")); });
    BOOST_TEST(contains(msg, "missing.npz"), msg);

    auto arrays = saved;
    arrays["state.1.v"] = Array({3, 1}, DType::f32);
    msg = refused(temp("shape.npz"), arrays);
    BOOST_TEST((contains(msg, "shape.npz") && contains(msg, "state.1.v") && contains(msg, "(3, 1)") &&
                contains(msg, "'u'") && contains(msg, "(2, 1)")),
               msg);
    arrays = saved;
    arrays["state.0.s"] = arrays["state.0.s"].astype(DType::f32);
    msg = refused(temp("dtype.npz"), arrays);
    BOOST_TEST((contains(msg, "state.0.s") && contains(msg, "float32")), msg);
    arrays = saved;
    arrays.erase("state.0.v");
    msg = refused(temp("member.npz"), arrays);
    BOOST_TEST(contains(msg, "'state.0.v' is missing"), msg);
    arrays = saved;
    arrays["junk"] = Array({1});
    msg = refused(temp("junk.npz"), arrays);
    BOOST_TEST(contains(msg, "'junk'"), msg);
    arrays = saved;
    arrays["hyper.beta1"] = Array::scalar(1.5);
    msg = refused(temp("beta1.npz"), arrays);
    BOOST_TEST((contains(msg, "beta1.npz") && contains(msg, "beta1 = 1.5")), msg);
    arrays = saved;
    arrays["hyper.learning_rate"] = Array::scalar(-1);
    msg = refused(temp("lr.npz"), arrays);
    BOOST_TEST(contains(msg, "learning_rate = -1"), msg);
    arrays = saved;
    arrays["step"] = Array::scalar(2.5);
    msg = refused(temp("step.npz"), arrays);
    BOOST_TEST(contains(msg, "step = 2.5"), msg);
    msg = refused(temp("weights.npz"), {{"W1", Array({2})}});
    BOOST_TEST(contains(msg, "not an optimizer state"), msg);

    // Nothing changed: the refused optimizer still steps as its twin.
    BOOST_TEST(target.learning_rate() == 0.02);
    BOOST_TEST(target.step_count() == 1);
    set_grads(q, 1);
    set_grads(r, 1);
    target.step();
    twin.step();
    BOOST_TEST(q[0].value().equals(r[0].value()));
    BOOST_TEST(q[1].value().equals(r[1].value()));
}

// ---- gradient clipping ----

BOOST_AUTO_TEST_CASE(clip_grad_norm_returns_the_total_norm_and_scales_every_gradient) {
    Tensor a = parameter(Array({2}, {0.0, 0.0}), "a"), b = parameter(Array({1}, {0.0}, DType::f32), "b");
    Tensor none = parameter(Array({2}), "none");  // no gradient: skipped, and left without one
    a.mutable_grad() = Array({2}, {3.0, 4.0});
    b.mutable_grad() = Array({1}, {12.0}, DType::f32);
    const double total = clip_grad_norm({a, none, b}, 6.5);
    BOOST_TEST(total == 13.0);
    const double scale = 6.5 / (13.0 + 1e-6);
    check_close(a.grad(), {3.0 * scale, 4.0 * scale}, 1e-15);
    BOOST_TEST(b.grad().flat(0) == static_cast<double>(12.0f * static_cast<float>(scale)));
    BOOST_TEST(!none.has_grad());

    // Below max_norm: returned, and the gradients keep their bits.
    a.mutable_grad() = Array({2}, {0.3, -0.4});
    BOOST_TEST(std::abs(clip_grad_norm({a, none}, 1.0) - 0.5) < 1e-16);
    BOOST_TEST(a.grad().equals(Array({2}, {0.3, -0.4})));
    BOOST_TEST(clip_grad_norm({none}, 1.0) == 0.0);

    for (double bad : {std::numeric_limits<double>::infinity(), std::nan("")}) {
        a.mutable_grad() = Array({2}, {1.0, bad});
        b.mutable_grad() = Array({1}, {12.0}, DType::f32);
        const std::string msg = message_of<ValueError>([&] { clip_grad_norm({b, a}, 1.0); });
        BOOST_TEST((contains(msg, "clip_grad_norm") && contains(msg, "'a'") && contains(msg, "non-finite")),
                   msg);
        BOOST_TEST(b.grad().flat(0) == 12.0);  // nothing was clipped
    }
    a.mutable_grad() = Array({2}, {1e200, 1e200});  // finite elements, overflowing squares
    BOOST_CHECK_THROW(clip_grad_norm({a}, 1.0), ValueError);
    BOOST_CHECK_THROW(clip_grad_norm({a}, -1.0), ValueError);
}

BOOST_AUTO_TEST_CASE(clip_grad_value_clamps_each_element) {
    Tensor a = parameter(Array({4}), "a"), none = parameter(Array({1}), "none");
    a.mutable_grad() = Array({4}, {-3.0, 0.5, 2.0, -0.25});
    clip_grad_value({a, none}, 1.0);
    BOOST_TEST(a.grad().equals(Array({4}, {-1.0, 0.5, 1.0, -0.25})));
    BOOST_TEST(!none.has_grad());
    const std::string msg = message_of<ValueError>([&] { clip_grad_value({a}, -1.0); });
    BOOST_TEST((contains(msg, "clip_grad_value") && contains(msg, "-1")), msg);
}

// ---- learning-rate schedules ----

namespace {
/// Steps the scheduler through expected.size() epochs: epoch e runs at expected[e].
void check_schedule(LRScheduler& scheduler, const std::vector<double>& expected) {
    for (std::size_t e = 0; e < expected.size(); ++e) {
        BOOST_TEST_CONTEXT("epoch " << e) {
            BOOST_TEST(scheduler.epoch() == static_cast<std::int64_t>(e));
            BOOST_TEST(scheduler.last_lr() == scheduler.optimizer().learning_rate());
            check_relative(scheduler.optimizer().learning_rate(), expected[e]);
        }
        scheduler.step();
    }
}
}  // namespace

// numpy: [0.1 * 0.5 ** (e // 7) for e in range(30)] and the like for each closed form.
BOOST_AUTO_TEST_CASE(step_and_exponential_schedules) {
    Tensor w = make_w();
    SGD sgd({w}, 0.1);
    StepLR step(sgd, 7, 0.5);
    check_schedule(step, {0.1,   0.1,    0.1,    0.1,    0.1,    0.1,    0.1,    0.05,   0.05,    0.05,
                          0.05,  0.05,   0.05,   0.05,   0.025,  0.025,  0.025,  0.025,  0.025,   0.025,
                          0.025, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.00625, 0.00625});
    BOOST_TEST(step.base_lr() == 0.1);

    sgd.set_learning_rate(0.1);
    ExponentialLR exponential(sgd, 0.9);
    // clang-format off
    const std::vector<double> exponential_lr = {
        0.1, 0.09000000000000001, 0.08100000000000002, 0.0729, 0.06561, 0.05904900000000001,
        0.05314410000000001, 0.04782969000000001, 0.04304672100000001, 0.03874204890000001,
        0.03486784401000001, 0.031381059609000006, 0.028242953648100012, 0.02541865828329001,
        0.02287679245496101, 0.02058911320946491, 0.018530201888518418, 0.016677181699666577,
        0.015009463529699918, 0.013508517176729929, 0.012157665459056936, 0.010941898913151242,
        0.00984770902183612, 0.008862938119652507, 0.007976644307687256, 0.00717897987691853,
        0.006461081889226678, 0.00581497370030401, 0.00523347633027361, 0.004710128697246249};
    // clang-format on
    check_schedule(exponential, exponential_lr);
}

// numpy: [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(30)]
BOOST_AUTO_TEST_CASE(cosine_annealing_reaches_eta_min_at_t_max_and_rises_again) {
    Tensor w = make_w();
    Adam adam({w}, 0.1);
    CosineAnnealingLR cosine(adam, 10, 0.001);
    // clang-format off
    const std::vector<double> cosine_lr = {
        0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599, 0.0505,
        0.03520365877844011, 0.021404630011522586, 0.010453658778440109, 0.0034227024433899004, 0.001,
        0.003422702443389889, 0.010453658778440095, 0.021404630011522575, 0.035203658778440096,
        0.05049999999999999, 0.06579634122155989, 0.07959536998847741, 0.0905463412215599,
        0.09757729755661011, 0.1, 0.09757729755661011, 0.09054634122155994, 0.07959536998847744,
        0.06579634122155992, 0.05050000000000002, 0.03520365877844012, 0.021404630011522593,
        0.010453658778440112, 0.0034227024433899056};
    // clang-format on
    check_schedule(cosine, cosine_lr);
    // Resuming: a scheduler built on the base rate jumps to any epoch.
    Adam other({w}, 0.1);
    CosineAnnealingLR resumed(other, 10, 0.001);
    resumed.set_epoch(17);
    check_relative(other.learning_rate(), 0.07959536998847741);
    BOOST_TEST(resumed.epoch() == 17);
    resumed.step();
    check_relative(other.learning_rate(), 0.0905463412215599);
    // eta_min 0 anneals the rate to exactly 0, which optimizers accept.
    CosineAnnealingLR to_zero(other, 4);
    to_zero.set_epoch(4);
    BOOST_TEST(other.learning_rate() == 0.0);
}

BOOST_AUTO_TEST_CASE(inverse_time_decay_gives_the_courses_numbers) {
    Tensor w = make_w();
    // The course's worked example: learning_rate = 0.5, epoch_num = 100, decay_rate = 1,
    // time_interval = 100 -> 0.25.
    SGD sgd({w}, 0.5);
    InverseTimeDecay course(sgd, 1.0, 100);
    course.set_epoch(100);
    BOOST_TEST(sgd.learning_rate() == 0.25);
    SGD slow({w}, 0.5);
    InverseTimeDecay decay(slow, 1.0, 1000);
    for (const auto& [epoch, lr] : {std::pair{10, 0.5}, std::pair{999, 0.5}, std::pair{1000, 0.25},
                                    std::pair{2000, 0.5 / 3}, std::pair{2999, 0.5 / 3}}) {
        decay.set_epoch(epoch);
        BOOST_TEST(slow.learning_rate() == lr, "epoch " << epoch);
    }
    // numpy: [0.5 / (1 + 1.0 * np.floor(e / 5)) for e in range(30)]
    SGD fast({w}, 0.5);
    InverseTimeDecay every5(fast, 1.0, 5);
    std::vector<double> expected;
    for (double lr : {0.5, 0.25, 0.16666666666666666, 0.125, 0.1, 0.08333333333333333})
        expected.insert(expected.end(), 5, lr);
    check_schedule(every5, expected);
}

// numpy: a port of PyTorch's ReduceLROnPlateau.step (relative threshold) over these metrics.
BOOST_AUTO_TEST_CASE(reduce_on_plateau_waits_out_patience_and_cooldown) {
    Tensor w = make_w();
    SGD sgd({w}, 0.1);
    ReduceLROnPlateau plateau(sgd, {.factor = 0.5, .patience = 3, .cooldown = 2, .min_lr = 0.02});
    // 0.49999 is no improvement on 0.5 (relative threshold 1e-4); from epoch 10 the loss is flat.
    const std::vector<double> loss = {1.0,  0.8,  0.6,  0.5,  0.5,  0.49999, 0.5,  0.5,  0.5,  0.5,
                                      0.45, 0.45, 0.45, 0.45, 0.45, 0.45,    0.45, 0.45, 0.45, 0.45,
                                      0.45, 0.45, 0.45, 0.45, 0.45, 0.45,    0.45, 0.45, 0.45, 0.45};
    const std::vector<double> lr = {0.1,  0.1,  0.1,  0.1,  0.1,   0.1,   0.1,   0.05,  0.05,  0.05,
                                    0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.025, 0.025,
                                    0.02, 0.02, 0.02, 0.02, 0.02,  0.02,  0.02,  0.02,  0.02,  0.02};
    for (std::size_t e = 0; e < loss.size(); ++e) {
        plateau.step(loss[e]);
        BOOST_TEST(sgd.learning_rate() == lr[e], "after epoch " << e);
        BOOST_TEST(plateau.last_lr() == lr[e]);
        BOOST_TEST(plateau.epoch() == static_cast<std::int64_t>(e + 1));
    }
    BOOST_TEST(plateau.best() == 0.45);

    // max mode (an accuracy), PyTorch's defaults otherwise but patience 2.
    SGD other({w}, 1.0);
    ReduceLROnPlateau on_accuracy(other, {.mode = ReduceLROnPlateauOptions::Mode::max, .patience = 2});
    const std::vector<double> accuracy = {0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7};
    const std::vector<double> expected = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1};
    for (std::size_t e = 0; e < accuracy.size(); ++e) {
        on_accuracy.step(accuracy[e]);
        check_relative(other.learning_rate(), expected[e]);
    }

    BOOST_CHECK_THROW(plateau.step(std::nan("")), ValueError);
    LRScheduler& base = plateau;
    const std::string msg = message_of<ValueError>([&] { base.step(); });
    BOOST_TEST((contains(msg, "ReduceLROnPlateau") && contains(msg, "step(metric)")), msg);
}

BOOST_AUTO_TEST_CASE(schedulers_validate_their_arguments) {
    Tensor w = make_w();
    SGD sgd({w}, 0.1);
    // The epoch counter does not wrap (a signed overflow) past its last value.
    SGD other({w}, 0.1);
    StepLR last(other, 3);
    last.set_epoch(std::numeric_limits<std::int64_t>::max());
    BOOST_TEST(contains(message_of<ValueError>([&] { last.step(); }), "StepLR: step() past epoch 9223372036854775807"));
    std::string msg = message_of<ValueError>([&] { StepLR(sgd, 0); });
    BOOST_TEST((contains(msg, "StepLR") && contains(msg, "step_size = 0")), msg);
    msg = message_of<ValueError>([&] { ExponentialLR(sgd, -0.5); });
    BOOST_TEST((contains(msg, "ExponentialLR") && contains(msg, "gamma = -0.5")), msg);
    BOOST_CHECK_THROW(ExponentialLR(sgd, std::nan("")), ValueError);
    BOOST_CHECK_THROW(CosineAnnealingLR(sgd, 0), ValueError);
    BOOST_CHECK_THROW(CosineAnnealingLR(sgd, 10, -1.0), ValueError);
    BOOST_CHECK_THROW(InverseTimeDecay(sgd, -1.0, 10), ValueError);
    msg = message_of<ValueError>([&] { InverseTimeDecay(sgd, 1.0, 0); });
    BOOST_TEST(contains(msg, "time_interval = 0"), msg);
    msg = message_of<ValueError>([&] { ReduceLROnPlateau(sgd, {.factor = 1.0}); });
    BOOST_TEST((contains(msg, "ReduceLROnPlateau") && contains(msg, "factor = 1")), msg);
    BOOST_CHECK_THROW(ReduceLROnPlateau(sgd, {.patience = -1}), ValueError);
    BOOST_CHECK_THROW(ReduceLROnPlateau(sgd, {.min_lr = -1.0}), ValueError);
    StepLR step(sgd, 3);
    msg = message_of<ValueError>([&] { step.set_epoch(-1); });
    BOOST_TEST(contains(msg, "epoch = -1"), msg);
    BOOST_TEST(sgd.learning_rate() == 0.1);
}

BOOST_AUTO_TEST_SUITE_END()
