// The cost of each mode in the dropout op alone, on one thread.

#include "dropout_study/op_timing.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <utility>

namespace xgrad::examples::dropout_study {

std::vector<OpTiming> time_dropout_op(std::size_t examples, const StudySettings& s) {
    Generator values(11), masks(12);
    const Tensor X = parameter(values.randn({20, examples}));
    std::vector<std::pair<std::string, std::function<void()>>> variants;
    auto through_dropout = [&](DropoutOptions options) {
        return [&X, options] { sum(dropout(X, options)).backward(); };
    };
    variants.emplace_back("no dropout", through_dropout({.keep_prob = 1.0, .generator = &masks}));
    for (DropoutScale mode : study_modes)
        variants.emplace_back(mode_label(mode),
                              through_dropout({.keep_prob = 0.86, .scale = mode, .generator = &masks}));
    double sink = 0;  // keeps the uniforms from being optimized away
    variants.emplace_back("uniforms only (" + std::to_string(20 * examples) + " draws)", [&] {
        for (std::size_t i = 0; i < 20 * examples; ++i) sink += masks.uniform();
    });
    std::vector<std::vector<double>> rounds(variants.size());
    for (std::size_t round = 0; round < s.benchmark_rounds; ++round)
        for (std::size_t v = 0; v < variants.size(); ++v) {
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t r = 0; r < s.benchmark_repeats; ++r) variants[v].second();
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            rounds[v].push_back(1e6 * seconds / static_cast<double>(s.benchmark_repeats));
        }
    if (sink < 0) std::cerr << sink;  // never true: uniforms are non-negative
    std::vector<OpTiming> timings;
    for (std::size_t v = 0; v < variants.size(); ++v)
        timings.push_back({variants[v].first, *std::min_element(rounds[v].begin(), rounds[v].end())});
    return timings;
}

}  // namespace xgrad::examples::dropout_study
