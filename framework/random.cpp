#include "framework/random.hpp"

#include <cmath>

#include "framework/errors.hpp"

namespace xgrad {

void Generator::seed(std::uint64_t seed) {
    if (seed > 0xffffffffULL)
        throw ValueError("Generator::seed: seed " + std::to_string(seed) +
                         " must be between 0 and 2**32 - 1 (as numpy requires)");
    // init_genrand, the routine numpy uses for an integer seed.
    state_[0] = static_cast<std::uint32_t>(seed);
    for (std::size_t i = 1; i < state_size; ++i)
        state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
    index_ = state_size;
    has_gauss_ = false;
    gauss_ = 0.0;
}

void Generator::twist() {
    constexpr std::size_t m = 397;
    auto mix = [](std::uint32_t upper, std::uint32_t lower, std::uint32_t far) {
        const std::uint32_t y = (upper & 0x80000000u) | (lower & 0x7fffffffu);
        return far ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    };
    std::size_t i = 0;
    for (; i < state_size - m; ++i) state_[i] = mix(state_[i], state_[i + 1], state_[i + m]);
    for (; i < state_size - 1; ++i) state_[i] = mix(state_[i], state_[i + 1], state_[i + m - state_size]);
    state_[state_size - 1] = mix(state_[state_size - 1], state_[0], state_[m - 1]);
    index_ = 0;
}

double Generator::normal() {
    if (has_gauss_) {
        has_gauss_ = false;
        return gauss_;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * uniform() - 1.0;
        x2 = 2.0 * uniform() - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    // numpy returns f·x2 now and keeps f·x1 for the next call.
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
}

Array Generator::rand(const Shape& shape, DType dtype) {
    Array a(shape, dtype);
    for (std::size_t i = 0; i < a.size(); ++i) a.set_flat(i, uniform());
    return a;
}

Array Generator::randn(const Shape& shape, DType dtype) {
    Array a(shape, dtype);
    for (std::size_t i = 0; i < a.size(); ++i) a.set_flat(i, normal());
    return a;
}

std::uint32_t Generator::bounded(std::uint32_t max) {
    if (max == 0) return 0;
    // Smallest all-ones mask covering max; reject draws above max (numpy's legacy rk_interval).
    std::uint32_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    std::uint32_t value;
    do {
        value = next_uint32() & mask;
    } while (value > max);
    return value;
}

std::vector<std::size_t> Generator::permutation(std::size_t n) {
    std::vector<std::size_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = i;
    for (std::size_t i = n; i > 1; --i) {
        const std::size_t j = bounded(static_cast<std::uint32_t>(i - 1));
        std::swap(p[i - 1], p[j]);
    }
    return p;
}

Generator& global_generator() {
    static Generator generator(0);
    return generator;
}

void seed(std::uint64_t seed) { global_generator().seed(seed); }
Array rand(const Shape& shape, DType dtype) { return global_generator().rand(shape, dtype); }
Array randn(const Shape& shape, DType dtype) { return global_generator().randn(shape, dtype); }

}  // namespace xgrad
