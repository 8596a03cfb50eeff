#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "framework/errors.hpp"

namespace xgrad::examples {

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

void require_probability(double probability, const char* function) {
    if (!(probability > 0.0 && probability < 1.0))
        throw ValueError(std::string(function) + ": probability " + std::to_string(probability) +
                         " is outside the open interval (0, 1)");
}

// P(|T| ≤ t) for integer ν (A&S 26.7.3 odd ν, 26.7.4 even ν), with θ = atan(t/√ν):
//   ν odd:  (2/π)·[θ + sinθ·(cosθ + (2/3)cos³θ + … + (2·4…(ν-3))/(3·5…(ν-2))·cos^(ν-2)θ)]
//   ν even: sinθ·[1 + (1/2)cos²θ + (1·3)/(2·4)cos⁴θ + … + (1·3…(ν-3))/(2·4…(ν-2))·cos^(ν-2)θ]
double t_central_probability(double t, std::size_t nu) {
    const double theta = std::atan(std::abs(t) / std::sqrt(static_cast<double>(nu)));
    const double s = std::sin(theta), c = std::cos(theta), c2 = c * c;
    if (nu % 2 == 1) {
        double series = 0.0;
        if (nu >= 3) {
            double term = c;
            series = term;
            for (std::size_t k = 1; 2 * k + 1 <= nu - 2; ++k) {
                term *= c2 * static_cast<double>(2 * k) / static_cast<double>(2 * k + 1);
                series += term;
            }
        }
        return 2.0 / std::numbers::pi * (theta + s * series);
    }
    double term = 1.0, series = 1.0;
    for (std::size_t k = 1; 2 * k <= nu - 2; ++k) {
        term *= c2 * static_cast<double>(2 * k - 1) / static_cast<double>(2 * k);
        series += term;
    }
    return s * series;
}

// Above this many degrees of freedom the series gets long and the expansion is already exact to ~1e-12.
constexpr std::size_t cornish_fisher_threshold = 1000;

// A&S 26.7.5: t_p ≈ z + g1/ν + g2/ν² + g3/ν³ with z the normal quantile.
double t_quantile_cornish_fisher(double probability, std::size_t nu) {
    const double z = normal_quantile(probability), z2 = z * z, n = static_cast<double>(nu);
    const double g1 = (z2 + 1.0) * z / 4.0;
    const double g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    const double g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    return z + g1 / n + g2 / (n * n) + g3 / (n * n * n);
}

// Smallest x in [low, high] with cdf(x) ≥ probability, for an increasing cdf; 200 halvings reach
// adjacent doubles long before they run out.
template <class Cdf>
double bisect(const Cdf& cdf, double probability, double low, double high) {
    for (int i = 0; i < 200 && low < high; ++i) {
        const double middle = 0.5 * (low + high);
        if (middle == low || middle == high) break;
        (cdf(middle) < probability ? low : high) = middle;
    }
    return 0.5 * (low + high);
}

}  // namespace

double mean(std::span<const double> values) {
    if (values.empty()) throw ValueError("mean: the sample is empty");
    double total = 0.0;
    for (double v : values) total += v;
    return total / static_cast<double>(values.size());
}

double sample_sd(std::span<const double> values) {
    if (values.size() < 2) return not_a_number;
    const double m = mean(values);
    double squares = 0.0;
    for (double v : values) squares += (v - m) * (v - m);
    return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

double normal_cdf(double z) {
    return 0.5 * std::erfc(-z / std::numbers::sqrt2);
}

double normal_quantile(double probability) {
    require_probability(probability, "normal_quantile");
    // Φ(±40) is 1 and 0 to double precision, so the root lies inside.
    return bisect(normal_cdf, probability, -40.0, 40.0);
}

double student_t_cdf(double t, std::size_t degrees_of_freedom) {
    if (degrees_of_freedom == 0) throw ValueError("student_t_cdf: degrees of freedom must be at least 1");
    if (std::isnan(t)) return not_a_number;
    if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
    const double central = t_central_probability(t, degrees_of_freedom);
    return t >= 0 ? 0.5 + 0.5 * central : 0.5 - 0.5 * central;
}

double student_t_quantile(double probability, std::size_t degrees_of_freedom) {
    require_probability(probability, "student_t_quantile");
    if (degrees_of_freedom == 0)
        throw ValueError("student_t_quantile: degrees of freedom must be at least 1");
    if (probability < 0.5) return -student_t_quantile(1.0 - probability, degrees_of_freedom);
    if (probability == 0.5) return 0.0;
    if (degrees_of_freedom > cornish_fisher_threshold)
        return t_quantile_cornish_fisher(probability, degrees_of_freedom);
    const auto cdf = [&](double t) { return student_t_cdf(t, degrees_of_freedom); };
    double high = 1.0;
    while (cdf(high) < probability) high *= 2.0;
    return bisect(cdf, probability, 0.0, high);
}

double quantile(std::vector<double> values, double q) {
    if (values.empty()) throw ValueError("quantile: the sample is empty");
    if (!(q >= 0.0 && q <= 1.0))
        throw ValueError("quantile: q = " + std::to_string(q) + " is outside [0, 1]");
    std::sort(values.begin(), values.end());
    const double position = q * static_cast<double>(values.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return values[below] + fraction * (values[above] - values[below]);
}

Summary summarize(std::span<const double> values, double level) {
    if (!(level > 0.0 && level < 1.0))
        throw ValueError("summarize: confidence level " + std::to_string(level) + " is outside (0, 1)");
    Summary s;
    s.n = values.size();
    s.level = level;
    s.mean = mean(values);
    s.sd = sample_sd(values);
    s.half_width =
        s.n < 2 ? not_a_number
                : student_t_quantile(0.5 + level / 2.0, s.n - 1) * s.sd / std::sqrt(static_cast<double>(s.n));
    return s;
}

Summary paired_difference(std::span<const double> a, std::span<const double> b, double level) {
    if (a.size() != b.size())
        throw ValueError("paired_difference: the samples have " + std::to_string(a.size()) + " and " +
                         std::to_string(b.size()) + " values; a paired comparison needs equal sizes");
    std::vector<double> differences(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) differences[i] = a[i] - b[i];
    return summarize(differences, level);
}

void RunningStats::add(double value) {
    ++count_;
    const double delta = value - mean_;
    mean_ += delta / static_cast<double>(count_);
    squared_deviations_ += delta * (value - mean_);
}

double RunningStats::variance() const {
    return count_ < 2 ? not_a_number : squared_deviations_ / static_cast<double>(count_ - 1);
}

}  // namespace xgrad::examples
