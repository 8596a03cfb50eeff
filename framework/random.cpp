#include "framework/random.hpp"

#include <algorithm>
#include <cmath>

#include "framework/errors.hpp"
#include "framework/simd.hpp"

namespace xgrad {

namespace {

constexpr std::size_t mt_n = 624, mt_m = 397;

// One MT19937 twist of the whole block. Written as three loops without a branch so each vectorises:
// word i reads i + 1 (not yet rewritten) and i + 397, which for i ≥ 227 was rewritten 227 words
// earlier — a dependence distance far longer than a vector.
XGRAD_VECTOR_CLONES void twist_block(std::uint32_t* mt) {
    auto mix = [](std::uint32_t upper, std::uint32_t lower, std::uint32_t far) {
        const std::uint32_t y = (upper & 0x80000000u) | (lower & 0x7fffffffu);
        return far ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
    };
    std::size_t i = 0;
    for (; i < mt_n - mt_m; ++i) mt[i] = mix(mt[i], mt[i + 1], mt[i + mt_m]);
    for (; i < mt_n - 1; ++i) mt[i] = mix(mt[i], mt[i + 1], mt[i + mt_m - mt_n]);
    mt[mt_n - 1] = mix(mt[mt_n - 1], mt[0], mt[mt_m - 1]);
}

XGRAD_VECTOR_CLONES void temper_block(const std::uint32_t* state, std::uint32_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t y = state[i];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        out[i] = y ^ (y >> 18);
    }
}

// Bit j of the result = (k_j < threshold) for the 53-bit integers k_j = (a >> 5) · 2^26 + (b >> 6)
// built from consecutive word pairs (a, b) — numpy's random_sample, compared before the division.
XGRAD_VECTOR_CLONES std::uint64_t pack_below(const std::uint32_t* pairs, std::size_t count, std::uint64_t threshold) {
    std::uint64_t bits = 0;
    for (std::size_t j = 0; j < count; ++j) {
        const std::uint64_t k = (std::uint64_t{pairs[2 * j] >> 5} << 26) | (pairs[2 * j + 1] >> 6);
        bits |= std::uint64_t{k < threshold} << j;
    }
    return bits;
}

}  // namespace

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
    static_assert(state_size == mt_n);
    twist_block(state_.data());
    index_ = 0;
}

void Generator::fill_uint32(std::uint32_t* out, std::size_t n) {
    while (n > 0) {
        if (index_ >= state_size) twist();
        const std::size_t take = std::min(n, state_size - index_);
        temper_block(state_.data() + index_, out, take);
        index_ += take;
        out += take;
        n -= take;
    }
}

void Generator::bernoulli_bits(double p, std::size_t n, std::uint64_t* words) {
    if (!(p >= 0.0 && p <= 1.0))
        throw ValueError("Generator::bernoulli_bits: p = " + std::to_string(p) + " must lie in [0, 1]");
    // u = k / 2^53 < p exactly when k < p · 2^53 (a power-of-two scaling: exact), i.e. when k is
    // below the integer ceil(p · 2^53).
    const auto threshold = static_cast<std::uint64_t>(std::ceil(p * 0x1p53));
    constexpr std::size_t chunk = 512;  // elements per pass: 1 024 words (4 KB), stays in L1
    std::uint32_t raw[2 * chunk];
    for (std::size_t done = 0; done < n; done += chunk) {
        const std::size_t count = std::min(chunk, n - done);
        fill_uint32(raw, 2 * count);
        for (std::size_t j = 0; j < count; j += 64)
            words[(done + j) / 64] = pack_below(raw + 2 * j, std::min<std::size_t>(64, count - j), threshold);
    }
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
    // One per thread (seeded 0 until seed() is called on that thread): threads training their own
    // models draw reproducible streams and never race on a shared state.
    thread_local Generator generator(0);
    return generator;
}

void seed(std::uint64_t seed) { global_generator().seed(seed); }
Array rand(const Shape& shape, DType dtype) { return global_generator().rand(shape, dtype); }
Array randn(const Shape& shape, DType dtype) { return global_generator().randn(shape, dtype); }

}  // namespace xgrad
