#pragma once
// Random numbers compatible with numpy's legacy generator (np.random.seed / rand / randn), so a C++
// script ported from a numpy notebook draws the very same weights and dropout masks.
//   - MT19937 seeded from a 32-bit integer exactly as numpy's RandomState does (init_genrand);
//   - rand(): a 53-bit double from two 32-bit words, (a >> 5, b >> 6), as numpy's random_sample;
//   - randn(): numpy's legacy polar Box–Muller, which caches its second value;
//   - arrays are filled in row-major order.

#include <cstdint>
#include <array>
#include <vector>

#include "framework/array.hpp"

namespace xgrad {

class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) { this->seed(seed); }

    /// Like np.random.seed(n): n must lie in [0, 2^32 - 1] (ValueError otherwise). Clears the
    /// cached Gaussian.
    void seed(std::uint64_t seed);

    /// The next raw MT19937 word (inline: dropout draws one mask bit from two of these).
    std::uint32_t next_uint32() {
        if (index_ >= state_size) twist();
        std::uint32_t y = state_[index_++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        return y ^ (y >> 18);
    }
    /// Uniform on [0, 1) with 53 random bits: (a >> 5, b >> 6) of two words, as numpy.
    double uniform() { return static_cast<double>(uniform_bits()) / 9007199254740992.0; }
    /// The 53-bit integer k behind uniform() = k / 2^53 (so `uniform() < p` is `k < p·2^53`).
    std::uint64_t uniform_bits() {
        const std::uint64_t a = next_uint32() >> 5, b = next_uint32() >> 6;
        return (a << 26) | b;
    }
    /// Standard normal.
    double normal();

    /// The next n raw words into out[0..n): the same stream as n calls of next_uint32(), produced a
    /// 624-word block at a time with vectorised twist and tempering.
    void fill_uint32(std::uint32_t* out, std::size_t n);
    /// Bit i of words[i / 64] (bit i % 64) = (uniform() < p) for the next n uniforms — numpy's
    /// `rand(n) < p`, bit for bit and consuming the same 2n words — without a per-element call.
    /// Bits past n in the last word are 0. p must lie in [0, 1].
    void bernoulli_bits(double p, std::size_t n, std::uint64_t* words);

    /// An array of uniforms / standard normals, filled in row-major order.
    Array rand(const Shape& shape, DType dtype = DType::f64);
    Array randn(const Shape& shape, DType dtype = DType::f64);
    /// A random permutation of 0..n-1, as numpy's legacy permutation (Fisher–Yates from the end).
    std::vector<std::size_t> permutation(std::size_t n);

private:
    std::uint32_t bounded(std::uint32_t max);  // uniform on [0, max], numpy's masked rejection
    void twist();  // regenerates the 624-word block

    // MT19937 exactly as numpy's legacy RandomState (and std::mt19937): init_genrand seeding,
    // the same twist and tempering. Written out so a whole block is produced per twist and the
    // per-word path inlines.
    static constexpr std::size_t state_size = 624;
    std::array<std::uint32_t, state_size> state_{};
    std::size_t index_ = state_size;
    bool has_gauss_ = false;
    double gauss_ = 0.0;
};

/// The calling thread's generator, like numpy's np.random module-level functions. Each thread has
/// its own, seeded 0 until seed() is called on it: a thread that seeds and trains gets the same
/// numbers as the single-threaded program, whatever other threads do.
Generator& global_generator();
/// np.random.seed(n)
void seed(std::uint64_t seed);
/// np.random.rand(*shape) / np.random.randn(*shape) from the global generator.
Array rand(const Shape& shape, DType dtype = DType::f64);
Array randn(const Shape& shape, DType dtype = DType::f64);

}  // namespace xgrad
