#pragma once
// Random numbers from one of two word sources, chosen per generator:
//
// MT19937, compatible with numpy's legacy generator (np.random.seed / rand / randn), so a C++ script
// ported from a numpy notebook draws the very same weights and dropout masks:
//   - MT19937 seeded from a 32-bit integer exactly as numpy's RandomState does (init_genrand);
//   - rand(): a 53-bit double from two 32-bit words, (a >> 5, b >> 6), as numpy's random_sample;
//   - randn(): numpy's legacy polar Box–Muller, which caches its second value;
//   - arrays are filled in row-major order.
//
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11;
// the generator of Random123, cuRAND, PyTorch's CUDA backend and JAX), counter-based: word w of a
// stream is a pure function of (key, stream, w), so streams are independent and reproducible and
// blocks of words are computed side by side in vector lanes. The stream of Generator::philox(seed, s):
//
//     block b = philox4x32(counter = {lo(b), hi(b), lo(s), hi(s)}, key = {lo(seed), hi(seed)}), 10 rounds
//     words   = block 0 [0], [1], [2], [3], block 1 [0], …        (word w = block w/4, element w%4)
//
// lo/hi are the low and high 32 bits of a 64-bit number. A stream holds 2^66 words (the block index
// then wraps to 0). uniform(), normal(), rand(), randn() and permutation() are built from the word
// stream exactly as for MT19937 (numpy's constructions): only the word source differs.
// bernoulli_bits() is the one method whose definition differs per kind (see there).

#include <cstdint>
#include <array>
#include <vector>

#include "framework/array.hpp"

namespace xgrad {

/// Which word source a Generator draws from.
enum class GeneratorKind : std::uint8_t {
    mt19937_numpy,  ///< numpy's legacy RandomState, bit for bit (the default)
    philox,         ///< Philox4x32-10, counter-based: independent, splittable, reproducible streams
};

/// One Philox4x32 block: `rounds` rounds of the Salmon et al. bijection (multipliers 0xD2511F53,
/// 0xCD9E8D57; key bumped by the Weyl constants 0x9E3779B9, 0xBB67AE85 between rounds). 10 rounds
/// is Philox4x32-10, the generator's; other counts exist for the published known-answer vectors.
std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> counter, std::array<std::uint32_t, 2> key,
                                        int rounds = 10);

class Generator {
public:
    /// MT19937 seeded as np.random.seed(seed).
    explicit Generator(std::uint64_t seed = 0) { this->seed(seed); }

    /// A Philox4x32-10 generator: key = seed (all 64 bits), `stream` in the high counter words, at
    /// word 0 of that stream (the stream is defined at the top of this header). Distinct streams of
    /// one seed are independent; the same (seed, stream) gives the same words on every machine.
    static Generator philox(std::uint64_t seed, std::uint64_t stream = 0);
    /// A Philox generator with this one's key and another stream, at its word 0: for per-thread and
    /// per-rank streams (g.split(k) draws exactly what Generator::philox(seed, k) draws, whatever g
    /// has drawn). ValueError on an MT19937 generator: its numpy stream has no independent
    /// sub-streams (use Generator::philox(seed).split(k) when streams are wanted).
    Generator split(std::uint64_t stream) const;

    GeneratorKind kind() const { return kind_; }
    bool is_philox() const { return kind_ == GeneratorKind::philox; }
    /// The Philox stream number (0 for an MT19937 generator).
    std::uint64_t stream() const { return kind_ == GeneratorKind::philox ? stream_ : 0; }

    /// MT19937: like np.random.seed(n); n must lie in [0, 2^32 - 1] (ValueError otherwise).
    /// Philox: re-keys with all 64 bits of n and restarts the same stream at word 0.
    /// Either way the cached Gaussian is cleared.
    void seed(std::uint64_t seed);

    /// The next raw word (inline: dropout draws one mask bit from two of these). Both kinds hand
    /// out words from a block computed ahead (tempered MT19937 words or Philox blocks), so the
    /// per-word path is one load and one compare, without a branch on the kind.
    std::uint32_t next_uint32() {
        if (index_ >= buffer_size) refill();
        return words_[index_++];
    }
    /// Skips the next n words, as n calls of next_uint32() would: O(1) for Philox (the block index
    /// jumps; e.g. to give each rank its own range of one stream), O(n / 624) twists for MT19937.
    /// Only the word stream moves: a cached Gaussian stays.
    void discard(std::uint64_t n);
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
    /// block at a time (a vectorised MT19937 twist and tempering, or Philox blocks in vector lanes).
    void fill_uint32(std::uint32_t* out, std::size_t n);
    /// Bit i of words[i / 64] (bit i % 64) = 1 with probability p for the next n elements; bits
    /// past n in the last word are 0. p must lie in [0, 1].
    ///   MT19937: (uniform() < p) for the next n uniforms — numpy's `rand(n) < p`, bit for bit and
    ///            consuming the same 2n words.
    ///   Philox:  (u_i < round(p · 2^32)) for the next n words u_i, one word per element (p = 1
    ///            keeps every element): P(keep) is p to within 2^-33.
    void bernoulli_bits(double p, std::size_t n, std::uint64_t* words);

    /// An array of uniforms / standard normals, filled in row-major order.
    Array rand(const Shape& shape, DType dtype = DType::f64);
    Array randn(const Shape& shape, DType dtype = DType::f64);
    /// A random permutation of 0..n-1, as numpy's legacy permutation (Fisher–Yates from the end).
    std::vector<std::size_t> permutation(std::size_t n);

private:
    std::uint32_t bounded(std::uint32_t max);  // uniform on [0, max], numpy's masked rejection
    void refill();                            // computes the next buffer_size words into words_
    void produce(std::uint32_t* out);         // the next buffer_size words of the stream into out
    void philox_one_block();                  // block block_ alone into the buffer's last 4 words
    // bernoulli_bits for Philox with threshold t < 2^32: the words ahead, then blocks compared in registers.
    void philox_bernoulli_bits(std::uint32_t threshold, std::size_t n, std::uint64_t* words);
    // bernoulli_bits for MT19937 when its pairs start on a block boundary: whole twists compared as tempered.
    void mt_bernoulli_bits(std::uint64_t threshold, std::size_t n, std::uint64_t* words);

    // MT19937 exactly as numpy's legacy RandomState (and std::mt19937): init_genrand seeding,
    // the same twist and tempering, a whole 624-word block per twist. Philox uses the same buffer
    // size (156 blocks of 4 words) so next_uint32 has one bound for both kinds.
    static constexpr std::size_t buffer_size = 624;
    GeneratorKind kind_ = GeneratorKind::mt19937_numpy;
    std::size_t index_ = buffer_size;                 // next word of words_ to hand out
    std::array<std::uint32_t, buffer_size> words_{};  // output words computed ahead
    std::array<std::uint32_t, buffer_size> state_{};  // MT19937 state (unused by Philox)
    std::array<std::uint32_t, 2> key_{};              // Philox key: lo(seed), hi(seed)
    std::uint64_t stream_ = 0;                        // Philox stream: the high counter words
    std::uint64_t block_ = 0;                         // Philox: index of the next block to compute
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
