#pragma once
// Small-sample statistics for the example studies: mean, sample standard deviation, Student-t
// confidence intervals, paired differences, quantiles, and a streaming accumulator for Monte Carlo.
//
// The 95% intervals are mean ± t(0.975, n-1) · sd / √n. The t quantile is a numeric inverse of the
// exact Student-t distribution function (the finite series for integer degrees of freedom,
// Abramowitz & Stegun 26.7.3–4) found by bisection; above 1000 degrees of freedom it switches to
// the Cornish–Fisher expansion around the normal quantile (A&S 26.7.5), which is then exact to
// about 1e-12 and avoids a series of ν/2 terms.

#include <cstddef>
#include <span>
#include <vector>

namespace xgrad::examples {

/// Arithmetic mean; ValueError on an empty sample.
double mean(std::span<const double> values);
/// Sample standard deviation (divides by n - 1); NaN for fewer than two values.
double sample_sd(std::span<const double> values);

/// P(Z ≤ z) and its inverse for the standard normal.
double normal_cdf(double z);
double normal_quantile(double probability);
/// P(T ≤ t) for Student's t with the given (integer, ≥ 1) degrees of freedom, and its inverse.
double student_t_cdf(double t, std::size_t degrees_of_freedom);
double student_t_quantile(double probability, std::size_t degrees_of_freedom);

/// The q-quantile with linear interpolation between order statistics (numpy's default,
/// Hyndman–Fan type 7); ValueError on an empty sample or q outside [0, 1].
double quantile(std::vector<double> values, double q);

/// A sample's mean with its two-sided confidence interval.
struct Summary {
    std::size_t n = 0;
    double mean = 0.0;
    double sd = 0.0;          ///< sample standard deviation (NaN when n < 2)
    double half_width = 0.0;  ///< t(1 - α/2, n - 1) · sd / √n (NaN when n < 2)
    double level = 0.95;
    double low() const { return mean - half_width; }
    double high() const { return mean + half_width; }
    bool contains(double value) const { return low() <= value && value <= high(); }
};

/// Mean, sd and the Student-t confidence interval at `level` (default 95%).
Summary summarize(std::span<const double> values, double level = 0.95);
/// The paired difference a_i - b_i summarized: the right interval when a and b were measured on the
/// same units (here: the same seed, so the same initial weights and masks). ValueError if the sizes
/// differ.
Summary paired_difference(std::span<const double> a, std::span<const double> b, double level = 0.95);

/// Mean and sample variance accumulated one value at a time (Welford's update, which stays accurate
/// when the mean is large compared with the spread).
class RunningStats {
public:
    void add(double value);
    std::size_t count() const { return count_; }
    double mean() const { return mean_; }
    /// Sample variance (n - 1); NaN for fewer than two values.
    double variance() const;

private:
    std::size_t count_ = 0;
    double mean_ = 0.0;
    double squared_deviations_ = 0.0;  // Σ (x - mean)², updated incrementally
};

}  // namespace xgrad::examples
