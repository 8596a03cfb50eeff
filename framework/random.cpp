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

// Bit j of the result = (u_j < threshold) for count ≤ 64 words u_j: Philox's one-word Bernoulli draw.
XGRAD_VECTOR_CLONES std::uint64_t pack_below32(const std::uint32_t* u, std::size_t count, std::uint32_t threshold) {
    std::uint64_t bits = 0;
    for (std::size_t j = 0; j < count; ++j) bits |= std::uint64_t{u[j] < threshold} << j;
    return bits;
}

// Philox4x32 (Salmon et al. 2011). One round maps the block (x0, x1, x2, x3) under the key (k0, k1) to
//   (hi(M1·x2) ^ x1 ^ k0,  lo(M1·x2),  hi(M0·x0) ^ x3 ^ k1,  lo(M0·x0))
// with 64-bit products of 32-bit words; the key gains (W0, W1) (mod 2^32) after each round.
constexpr std::uint32_t philox_m0 = 0xD2511F53u, philox_m1 = 0xCD9E8D57u;
constexpr std::uint32_t philox_w0 = 0x9E3779B9u, philox_w1 = 0xBB67AE85u;  // golden ratio, √3 − 1

[[gnu::always_inline]] inline void philox_round(std::uint32_t& x0, std::uint32_t& x1, std::uint32_t& x2,
                                                std::uint32_t& x3, std::uint32_t& k0, std::uint32_t& k1) {
    const std::uint64_t p0 = std::uint64_t{philox_m0} * x0, p1 = std::uint64_t{philox_m1} * x2;
    x0 = static_cast<std::uint32_t>(p1 >> 32) ^ x1 ^ k0;
    x1 = static_cast<std::uint32_t>(p1);
    x2 = static_cast<std::uint32_t>(p0 >> 32) ^ x3 ^ k1;
    x3 = static_cast<std::uint32_t>(p0);
    k0 += philox_w0;
    k1 += philox_w1;
}

// Blocks block .. block + count - 1 of `stream` into out[0 .. 4·count), in stream order. The ten
// rounds are unrolled, so the loop over blocks is the innermost loop and the compiler runs 4 (SSE2),
// 8 (AVX2) or 16 (AVX-512) blocks side by side, the products as vpmuludq.
XGRAD_VECTOR_CLONES void philox_blocks(std::array<std::uint32_t, 2> key, std::uint64_t stream, std::uint64_t block,
                                       std::size_t count, std::uint32_t* out) {
    for (std::size_t j = 0; j < count; ++j) {
        const std::uint64_t b = block + j;  // wraps after 2^64 blocks, as documented
        std::uint32_t x0 = static_cast<std::uint32_t>(b), x1 = static_cast<std::uint32_t>(b >> 32);
        std::uint32_t x2 = static_cast<std::uint32_t>(stream), x3 = static_cast<std::uint32_t>(stream >> 32);
        std::uint32_t k0 = key[0], k1 = key[1];
#pragma GCC unroll 10
        for (int r = 0; r < 10; ++r) philox_round(x0, x1, x2, x3, k0, k1);
        out[4 * j] = x0;
        out[4 * j + 1] = x1;
        out[4 * j + 2] = x2;
        out[4 * j + 3] = x3;
    }
}

constexpr std::uint32_t lo32(std::uint64_t v) { return static_cast<std::uint32_t>(v); }
constexpr std::uint32_t hi32(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); }

}  // namespace

std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> x, std::array<std::uint32_t, 2> key,
                                        int rounds) {
    for (int r = 0; r < rounds; ++r) philox_round(x[0], x[1], x[2], x[3], key[0], key[1]);
    return x;
}

Generator Generator::philox(std::uint64_t seed, std::uint64_t stream) {
    Generator g;
    g.kind_ = GeneratorKind::philox;
    g.stream_ = stream;
    g.seed(seed);
    return g;
}

Generator Generator::split(std::uint64_t stream) const {
    if (kind_ != GeneratorKind::philox)
        throw ValueError("Generator::split: an MT19937 (numpy) generator has no independent streams; "
                         "split a counter-based one: Generator::philox(seed).split(" + std::to_string(stream) + ")");
    return philox((std::uint64_t{key_[1]} << 32) | key_[0], stream);
}

void Generator::seed(std::uint64_t seed) {
    index_ = buffer_size;
    has_gauss_ = false;
    gauss_ = 0.0;
    if (kind_ == GeneratorKind::philox) {
        key_ = {lo32(seed), hi32(seed)};
        block_ = 0;
        return;
    }
    if (seed > 0xffffffffULL)
        throw ValueError("Generator::seed: seed " + std::to_string(seed) +
                         " must be between 0 and 2**32 - 1 (as numpy requires)");
    // init_genrand, the routine numpy uses for an integer seed.
    state_[0] = static_cast<std::uint32_t>(seed);
    for (std::size_t i = 1; i < mt_n; ++i)
        state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
}

void Generator::produce(std::uint32_t* out) {
    static_assert(buffer_size == mt_n && buffer_size % 4 == 0);
    if (kind_ == GeneratorKind::philox) {
        philox_blocks(key_, stream_, block_, buffer_size / 4, out);
        block_ += buffer_size / 4;
    } else {
        twist_block(state_.data());
        temper_block(state_.data(), out, mt_n);
    }
}

void Generator::refill() {
    produce(words_.data());
    index_ = 0;
}

void Generator::discard(std::uint64_t n) {
    const std::size_t ahead = buffer_size - index_;
    if (n <= ahead) {
        index_ += static_cast<std::size_t>(n);
        return;
    }
    n -= ahead;
    index_ = buffer_size;
    if (kind_ == GeneratorKind::philox) {
        // The buffer ends on a block boundary, so word n from here is word n % 4 of block block_ + n / 4.
        block_ += n / 4;
        if (n % 4) {
            refill();
            index_ = static_cast<std::size_t>(n % 4);
        }
        return;
    }
    for (; n > buffer_size; n -= buffer_size) twist_block(state_.data());
    refill();
    index_ = static_cast<std::size_t>(n);
}

void Generator::fill_uint32(std::uint32_t* out, std::size_t n) {
    // The words computed ahead come first; then whole blocks straight into out; the tail through the buffer.
    const std::size_t ahead = std::min(n, buffer_size - index_);
    std::copy_n(words_.data() + index_, ahead, out);
    index_ += ahead;
    out += ahead;
    n -= ahead;
    if (n == 0) return;
    if (kind_ == GeneratorKind::philox) {
        const std::size_t blocks = n / 4;
        philox_blocks(key_, stream_, block_, blocks, out);
        block_ += blocks;
        out += 4 * blocks;
        n -= 4 * blocks;
    } else {
        for (; n >= buffer_size; n -= buffer_size, out += buffer_size) produce(out);
    }
    if (n == 0) return;
    refill();
    std::copy_n(words_.data(), n, out);
    index_ = n;
}

void Generator::bernoulli_bits(double p, std::size_t n, std::uint64_t* words) {
    if (!(p >= 0.0 && p <= 1.0))
        throw ValueError("Generator::bernoulli_bits: p = " + std::to_string(p) + " must lie in [0, 1]");
    // Mask word by mask word (64 elements): packed straight from the words computed ahead when they
    // hold all the group's words, else (a group straddling two buffers) from a copy of its words.
    auto for_each_group = [&](std::size_t words_per_element, auto pack) {
        std::uint32_t straddling[128];
        for (std::size_t first = 0; first < n; first += 64) {
            const std::size_t m = std::min<std::size_t>(64, n - first), need = m * words_per_element;
            if (index_ >= buffer_size) refill();
            const std::uint32_t* src = words_.data() + index_;
            if (buffer_size - index_ >= need) {
                index_ += need;
            } else {
                fill_uint32(straddling, need);
                src = straddling;
            }
            words[first / 64] = pack(src, m);  // bits past n stay 0
        }
    };
    if (kind_ == GeneratorKind::philox) {
        // One word u per element, kept when u < t = round(p · 2^32) (p · 2^32 is exact): P = t / 2^32.
        // t = 2^32 (p within 2^-33 of 1) does not fit a word: every element is kept, and the words
        // are still consumed so the stream position does not depend on p.
        const auto threshold = static_cast<std::uint64_t>(std::round(p * 0x1p32));
        if (threshold > 0xffffffffu)
            for_each_group(1, [](const std::uint32_t*, std::size_t m) { return ~std::uint64_t{0} >> (64 - m); });
        else
            for_each_group(1, [t = static_cast<std::uint32_t>(threshold)](const std::uint32_t* u, std::size_t m) {
                return pack_below32(u, m, t);
            });
        return;
    }
    // u = k / 2^53 < p exactly when k < p · 2^53 (a power-of-two scaling: exact), i.e. when k is
    // below the integer ceil(p · 2^53).
    const auto threshold = static_cast<std::uint64_t>(std::ceil(p * 0x1p53));
    for_each_group(2, [threshold](const std::uint32_t* pairs, std::size_t m) { return pack_below(pairs, m, threshold); });
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
