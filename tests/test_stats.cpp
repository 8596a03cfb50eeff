// The statistics helpers of the example studies (examples/common/stats.hpp) against values computed
// by hand or read from printed tables of Student's t.

#include <cmath>
#include <numbers>

#include "common/stats.hpp"
#include "helpers.hpp"

using namespace xgrad;
namespace ex = xgrad::examples;
using xgrad::test::message_of;

namespace {

bool close(double actual, double expected, double tolerance) {
    return std::abs(actual - expected) <= tolerance;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stats)

BOOST_AUTO_TEST_CASE(mean_and_sample_standard_deviation) {
    // Σ = 40 over 8 values; squared deviations 9+1+1+1+0+0+4+16 = 32, so s² = 32/7.
    const std::vector<double> values = {2, 4, 4, 4, 5, 5, 7, 9};
    BOOST_TEST(ex::mean(values) == 5.0);
    BOOST_TEST(close(ex::sample_sd(values), std::sqrt(32.0 / 7.0), 1e-15));
    BOOST_TEST(std::isnan(ex::sample_sd(std::vector<double>{3.0})));
    message_of<ValueError>([] { ex::mean(std::vector<double>{}); });
}

BOOST_AUTO_TEST_CASE(t_quantiles_match_closed_forms_and_tables) {
    // ν = 1 (Cauchy): t = tan(π (p - 1/2)).  ν = 2: P(|T| ≤ t) = t / √(t² + 2), so t = √(2a² / (1 - a²))
    // with a = 2p - 1.  ν = 4: t = 2 √(q - 1), q = cos(arccos(√α) / 3) / √α, α = 4p(1 - p).
    BOOST_TEST(close(ex::student_t_quantile(0.975, 1), std::tan(0.475 * std::numbers::pi), 1e-10));
    BOOST_TEST(
        close(ex::student_t_quantile(0.975, 2), std::sqrt(2 * 0.95 * 0.95 / (1 - 0.95 * 0.95)), 1e-12));
    const double alpha = 4 * 0.975 * 0.025, q = std::cos(std::acos(std::sqrt(alpha)) / 3) / std::sqrt(alpha);
    BOOST_TEST(close(ex::student_t_quantile(0.975, 4), 2 * std::sqrt(q - 1), 1e-12));
    // Printed two-sided 95% table (three decimals).
    const std::pair<std::size_t, double> table[] = {{3, 3.182},   {5, 2.571},    {7, 2.365},   {10, 2.228},
                                                    {19, 2.093},  {29, 2.045},   {30, 2.042},  {60, 2.000},
                                                    {100, 1.984}, {1000, 1.962}, {5000, 1.960}};
    for (auto [nu, t] : table) BOOST_TEST(close(ex::student_t_quantile(0.975, nu), t, 5e-4), "nu = " << nu);
    // The series (ν ≤ 1000) and the Cornish–Fisher expansion (ν > 1000) meet without a jump.
    BOOST_TEST(close(ex::student_t_quantile(0.975, 1000), ex::student_t_quantile(0.975, 1001), 1e-5));
    BOOST_TEST(close(ex::student_t_quantile(0.025, 7), -ex::student_t_quantile(0.975, 7), 1e-14));
    BOOST_TEST(close(ex::normal_quantile(0.975), 1.959963984540054, 1e-12));
    BOOST_TEST(close(ex::student_t_cdf(ex::student_t_quantile(0.9, 13), 13), 0.9, 1e-12));
    message_of<ValueError>([] { ex::student_t_quantile(1.0, 5); });
    message_of<ValueError>([] { ex::student_t_quantile(0.975, 0); });
}

BOOST_AUTO_TEST_CASE(confidence_interval_of_a_mean) {
    // mean 5, s = √(32/7) = 2.138089935, t(0.975, 7) = 2.3646 → half width 2.3646 · 2.13809 / √8 = 1.78749.
    const std::vector<double> values = {2, 4, 4, 4, 5, 5, 7, 9};
    const ex::Summary s = ex::summarize(values);
    BOOST_TEST(s.n == 8u);
    BOOST_TEST(s.mean == 5.0);
    BOOST_TEST(close(s.half_width, 1.78749, 1e-4));
    BOOST_TEST(close(s.low(), 5.0 - 1.78749, 1e-4));
    BOOST_TEST(close(s.high(), 5.0 + 1.78749, 1e-4));
    BOOST_TEST(s.contains(5.0));
    BOOST_TEST(!s.contains(7.0));
    // A wider level gives a wider interval: t(0.995, 7) = 3.499.
    BOOST_TEST(
        close(ex::summarize(values, 0.99).half_width, 3.499 * std::sqrt(32.0 / 7.0) / std::sqrt(8.0), 1e-3));
    BOOST_TEST(std::isnan(ex::summarize(std::vector<double>{1.0}).half_width));
}

BOOST_AUTO_TEST_CASE(paired_difference_and_its_interval) {
    // d = a - b = {2, 1, 0, 3}: mean 1.5, s² = (0.25 + 0.25 + 2.25 + 2.25) / 3 = 5/3,
    // t(0.975, 3) = 3.1824 → half width 3.1824 · 1.290994 / 2 = 2.05426.
    const std::vector<double> a = {10, 12, 9, 11}, b = {8, 11, 9, 8};
    const ex::Summary d = ex::paired_difference(a, b);
    BOOST_TEST(d.mean == 1.5);
    BOOST_TEST(close(d.sd, std::sqrt(5.0 / 3.0), 1e-15));
    BOOST_TEST(close(d.half_width, 2.05426, 1e-4));
    // Pairing removes what the two samples share: a shift common to each pair leaves d unchanged.
    const std::vector<double> a_shifted = {110, 2, 59, -89}, b_shifted = {108, 1, 59, -92};
    const ex::Summary same = ex::paired_difference(a_shifted, b_shifted);
    BOOST_TEST(same.mean == 1.5);
    BOOST_TEST(close(same.half_width, d.half_width, 1e-12));
    const std::string message =
        message_of<ValueError>([&] { ex::paired_difference(a, std::vector<double>{1}); });
    BOOST_TEST(xgrad::test::contains(message, "4 and 1"), message);
}

BOOST_AUTO_TEST_CASE(quantiles_interpolate_linearly) {
    // Positions q·(n-1) in the sorted sample {1, 2, 3, 4}: 0.75 → 1.75, 1.5 → 2.5.
    const std::vector<double> values = {4, 1, 3, 2};
    BOOST_TEST(ex::quantile(values, 0.0) == 1.0);
    BOOST_TEST(ex::quantile(values, 0.25) == 1.75);
    BOOST_TEST(ex::quantile(values, 0.5) == 2.5);
    BOOST_TEST(ex::quantile(values, 1.0) == 4.0);
    message_of<ValueError>([&] { ex::quantile(values, 1.5); });
}

BOOST_AUTO_TEST_CASE(running_stats_agree_with_the_two_pass_formulas) {
    // A large common offset is where the textbook Σx² - n·mean² formula loses every digit.
    const std::vector<double> values = {1e9 + 2, 1e9 + 4, 1e9 + 4, 1e9 + 4,
                                        1e9 + 5, 1e9 + 5, 1e9 + 7, 1e9 + 9};
    ex::RunningStats running;
    for (double v : values) running.add(v);
    BOOST_TEST(running.count() == 8u);
    BOOST_TEST(running.mean() == 1e9 + 5);
    BOOST_TEST(close(running.variance(), 32.0 / 7.0, 1e-6));
    ex::RunningStats one;
    one.add(3.0);
    BOOST_TEST(std::isnan(one.variance()));
}

BOOST_AUTO_TEST_SUITE_END()
