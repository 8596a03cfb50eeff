// Reliability: anomaly detection that names the op and the user's file:line, recovery after
// exceptions, and bit-for-bit determinism of training for a given seed.

#include <cmath>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

BOOST_AUTO_TEST_SUITE(reliability)

BOOST_AUTO_TEST_CASE(anomaly_detection_is_off_by_default) {
    BOOST_TEST(!anomaly_detection_enabled());
    Tensor x = parameter(Array({2}, {-1.0, 4.0}), "x");
    BOOST_TEST(std::isnan(log(x).value().flat(0)));  // numpy semantics: NaN, no exception
}

BOOST_AUTO_TEST_CASE(log_of_a_negative_is_reported_with_op_shape_and_line) {
    AnomalyGuard anomaly;
    Tensor x = parameter(Array({2}, {-1.0, 4.0}), "x");
    const int line = __LINE__ + 1;
    const std::string msg = message_of<AnomalyError>([&] { log(x); });
    BOOST_TEST(contains(msg, "'log'"), msg);
    BOOST_TEST(contains(msg, "(2,)"), msg);
    BOOST_TEST(contains(msg, "test_reliability.cpp:" + std::to_string(line)), msg);
}

BOOST_AUTO_TEST_CASE(zero_divided_by_zero_is_reported) {
    AnomalyGuard anomaly;
    Tensor a = parameter(Array({1, 3}, {0.0, 1.0, 2.0}), "a");
    Tensor b = constant(Array({1, 3}, {0.0, 1.0, 1.0}), "b");
    const int line = __LINE__ + 1;
    const std::string msg = message_of<AnomalyError>([&] { return a / b; });
    BOOST_TEST(contains(msg, "'div'"), msg);
    BOOST_TEST(contains(msg, "(1, 3)"), msg);
    BOOST_TEST(contains(msg, "test_reliability.cpp:" + std::to_string(line)), msg);
}

BOOST_AUTO_TEST_CASE(a_non_finite_gradient_is_reported_in_backward) {
    AnomalyGuard anomaly;
    Tensor x = parameter(Array({2}, {0.0, 4.0}), "x");
    const int line = __LINE__ + 1;
    Tensor y = sum(sqrt(x));  // finite forward; d√x/dx = 1/(2√x) is inf at 0
    const std::string msg = message_of<AnomalyError>([&] { y.backward(); });
    BOOST_TEST(contains(msg, "gradient"), msg);
    BOOST_TEST(contains(msg, "sqrt"), msg);
    BOOST_TEST(contains(msg, "test_reliability.cpp:" + std::to_string(line)), msg);
}

BOOST_AUTO_TEST_CASE(state_is_intact_after_exceptions) {
    Tensor x = parameter(Array({2, 2}, {1, 2, 3, 4}), "x");
    Tensor bad = parameter(Array({3}, {1, 2, 3}), "bad");
    {
        NoGradGuard no_grad;
        ScopeGuard scope("layer");
        BOOST_CHECK_THROW(x + bad, ShapeError);
    }
    BOOST_TEST(grad_enabled());
    BOOST_TEST(current_scope().empty());
    {
        AnomalyGuard anomaly;
        BOOST_CHECK_THROW(log(-x), AnomalyError);
    }
    BOOST_TEST(!anomaly_detection_enabled());
    BOOST_CHECK_THROW(dropout(x, DropoutOptions{.keep_prob = 0.0}), std::invalid_argument);
    // The same tensors still build and differentiate a graph.
    Tensor y = sum(x * x);
    y.backward();
    xgrad::test::check_close(x.grad(), {2, 4, 6, 8}, 0);
    BOOST_TEST(topological_order(*y.node()).size() == 3u);
}

BOOST_AUTO_TEST_CASE(training_is_bit_for_bit_deterministic_for_a_seed) {
    const Dataset data = flower_dataset();
    for (double keep : {1.0, 0.86}) {
        std::vector<Array> finals[2];
        for (auto& run : finals) {
            RegNetConfig config;
            config.iterations = 1000;
            config.keep_prob = keep;  // fresh masks every step from the seeded global stream
            auto model = make_regularization_net(config);
            train(*model, data, config);
            for (const Tensor& p : model->parameters()) run.push_back(p.value());
        }
        for (std::size_t k = 0; k < finals[0].size(); ++k)
            BOOST_TEST(finals[0][k].equals(finals[1][k]), "keep_prob " << keep << ", parameter " << k);
    }
}

BOOST_AUTO_TEST_CASE(thread_count_is_set_on_openblas_and_checked) {
    const std::size_t saved = num_threads();
    BOOST_TEST(set_num_threads(2));  // the build links OpenBLAS
    BOOST_TEST(num_threads() == 2u);
    BOOST_TEST(set_num_threads(1));
    BOOST_TEST(num_threads() == 1u);
    const std::string msg = message_of<ValueError>([] { set_num_threads(0); });
    BOOST_TEST(contains(msg, "set_num_threads"), msg);
    BOOST_TEST(contains(msg, "n = 0"), msg);
    BOOST_TEST(num_threads() == 1u);
    set_num_threads(saved);
}

BOOST_AUTO_TEST_SUITE_END()
