#include "framework/random.hpp"

#include <algorithm>
#include <cmath>

#include "framework/errors.hpp"
#include "framework/simd.hpp"

#include "framework/intrinsics.hpp"
#include "framework/kernels.hpp"

namespace xgrad {

namespace {

constexpr std::size_t mt_n = 624, mt_m = 397;
constexpr std::size_t mt_units_per_block = mt_n / 2;  // numpy-exact uniforms (two words each) per twist

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
XGRAD_VECTOR_CLONES std::uint64_t pack_below_portable(const std::uint32_t* pairs, std::size_t count,
                                                       std::uint64_t threshold) {
    std::uint64_t bits = 0;
    for (std::size_t j = 0; j < count; ++j) {
        const std::uint64_t k = (std::uint64_t{pairs[2 * j] >> 5} << 26) | (pairs[2 * j + 1] >> 6);
        bits |= std::uint64_t{k < threshold} << j;
    }
    return bits;
}

// Bit j of the result = (u_j < threshold) for count ≤ 64 words u_j: Philox's one-word Bernoulli draw.
XGRAD_VECTOR_CLONES std::uint64_t pack_below32_portable(const std::uint32_t* u, std::size_t count,
                                                         std::uint32_t threshold) {
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
XGRAD_VECTOR_CLONES void philox_blocks_portable(std::array<std::uint32_t, 2> key, std::uint64_t stream,
                                                std::uint64_t block, std::size_t count, std::uint32_t* out) {
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

// Philox blocks computed per AVX-512 call: six groups of 8 in flight. Six, not eight: eight groups'
// 32 state vectors fill all 32 registers, and GCC spilled seven of them every round
// (BM_BernoulliBits/65536/1, same-run minimum: 28.8–31.0 µs with eight, 24.7–27.7 µs with six).
constexpr std::size_t philox_chunk_blocks = 48;

#if XGRAD_X86_INTRINSICS
// AVX-512 versions of the three, for CPUs that have it (chosen at run time below). GCC vectorises the
// portable loops, but not well: Philox's 32 × 32 → 64-bit products become full 64-bit multiplies
// emulated with shifts and permutes (1.5 ns a word measured), and a mask bit per element is OR-ed
// in a 64-bit lane at a time. Here a comparison of 16 (or 8) lanes gives its mask bits in one
// instruction, and Philox runs 8 blocks to a vector with each 32-bit word in the low half of a
// 64-bit lane: vpmuludq reads only those halves and leaves the full 64-bit product in the lane, so
// a product's high word is one shift away and its low word is the lane itself (its high half is
// left as garbage that nothing reads). A round is then two multiplies, two shifts and two
// three-way xors per 8 blocks — 6 instructions where 16 blocks in 32-bit lanes took 16 (each
// product split into even and odd lanes, shifted and blended back). BM_BernoulliBits/65536: a
// Philox mask took 1.17× an MT19937 one's time before, 0.87–1.04× after (same-run medians).

// Blocks base .. base + 7 of `stream`: the counters in the lanes (a 64-bit add carries by itself).
__attribute__((target("avx512f"))) inline void philox_counters(std::uint64_t base, std::uint64_t stream, __m512i& x0,
                                                                __m512i& x1, __m512i& x2, __m512i& x3) {
    x0 = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(base)), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    x1 = _mm512_srli_epi64(x0, 32);
    x2 = _mm512_set1_epi64(static_cast<long long>(stream & 0xffffffffu));
    x3 = _mm512_set1_epi64(static_cast<long long>(stream >> 32));
}

// The 8 blocks' 32 words in stream order, 16 in `first` and 16 in `second`: each block's (w0, w1) and
// (w2, w3) packed into a 64-bit lane, then the two vectors interleaved lane by lane.
__attribute__((target("avx512f"))) inline void philox_stream_order(__m512i x0, __m512i x1, __m512i x2, __m512i x3,
                                                                    __m512i& first, __m512i& second) {
    const __m512i w01 = _mm512_mask_blend_epi32(0xAAAA, x0, _mm512_slli_epi64(x1, 32));
    const __m512i w23 = _mm512_mask_blend_epi32(0xAAAA, x2, _mm512_slli_epi64(x3, 32));
    first = _mm512_permutex2var_epi64(w01, _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), w23);
    second = _mm512_permutex2var_epi64(w01, _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15), w23);
}

// The 8 blocks' words in stream order at out[0 .. 32).
__attribute__((target("avx512f"))) inline void philox_store(__m512i x0, __m512i x1, __m512i x2, __m512i x3,
                                                             std::uint32_t* out) {
    __m512i first, second;
    philox_stream_order(x0, x1, x2, x3, first, second);
    _mm512_storeu_si512(out, first);
    _mm512_storeu_si512(out + 16, second);
}

// Ten rounds on `groups` independent vectors of 8 blocks, interleaved so that one group's multiplies
// run while another's wait (a round is a chain: multiply, shift, xor).
template <int groups>
__attribute__((target("avx512f"))) inline void philox_rounds(std::array<std::uint32_t, 2> key, __m512i* x0, __m512i* x1,
                                                              __m512i* x2, __m512i* x3) {
    const __m512i m0 = _mm512_set1_epi64(philox_m0), m1 = _mm512_set1_epi64(philox_m1);
    std::uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; ++r) {
        const __m512i key0 = _mm512_set1_epi64(k0), key1 = _mm512_set1_epi64(k1);
        for (int g = 0; g < groups; ++g) {
            const __m512i p0 = _mm512_mul_epu32(x0[g], m0), p1 = _mm512_mul_epu32(x2[g], m1);
            x0[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), x1[g], key0, 0x96);  // 0x96: a ^ b ^ c
            x1[g] = p1;
            x2[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x3[g], key1, 0x96);
            x3[g] = p0;
        }
        k0 += philox_w0;
        k1 += philox_w1;
    }
}

// Blocks block .. block + count − 1 (count ≤ 8·groups) computed as `groups` whole vectors; the
// blocks past count are computed and not stored.
template <int groups>
__attribute__((target("avx512f"))) inline void philox_groups(std::array<std::uint32_t, 2> key, std::uint64_t stream,
                                                              std::uint64_t block, std::size_t count,
                                                              std::uint32_t* out) {
    __m512i x0[groups], x1[groups], x2[groups], x3[groups];
    for (int g = 0; g < groups; ++g) philox_counters(block + 8 * g, stream, x0[g], x1[g], x2[g], x3[g]);
    philox_rounds<groups>(key, x0, x1, x2, x3);
    for (std::size_t g = 0; g < groups && 8 * g < count; ++g) {
        if (8 * g + 8 <= count) {
            philox_store(x0[g], x1[g], x2[g], x3[g], out + 32 * g);
        } else {
            alignas(64) std::uint32_t whole[32];
            philox_store(x0[g], x1[g], x2[g], x3[g], whole);
            std::copy_n(whole, 4 * (count - 8 * g), out + 32 * g);
        }
    }
}

// A chunk at a time; the rest in one pass of as few groups as cover it, so a short tail (a
// generator's 624-word buffer is 156 blocks: 3 × 48 + 12) still has independent chains to interleave.
__attribute__((target("avx512f"))) void philox_blocks_avx512(std::array<std::uint32_t, 2> key, std::uint64_t stream,
                                                               std::uint64_t block, std::size_t count,
                                                               std::uint32_t* out) {
    std::size_t j = 0;
    for (; j + philox_chunk_blocks <= count; j += philox_chunk_blocks)
        philox_groups<6>(key, stream, block + j, philox_chunk_blocks, out + 4 * j);
    const std::size_t rest = count - j;
    if (rest > 32) philox_groups<6>(key, stream, block + j, rest, out + 4 * j);
    else if (rest > 16) philox_groups<4>(key, stream, block + j, rest, out + 4 * j);
    else if (rest > 8) philox_groups<2>(key, stream, block + j, rest, out + 4 * j);
    else if (rest > 0) philox_groups<1>(key, stream, block + j, rest, out + 4 * j);
}

__attribute__((target("avx512f"))) std::uint64_t pack_below32_avx512(const std::uint32_t* u, std::size_t count,
                                                                       std::uint32_t threshold) {
    // A partial group loads only its words (masked lanes are neither read nor compared).
    const __m512i t = _mm512_set1_epi32(static_cast<int>(threshold));
    std::uint64_t bits = 0;
    for (std::size_t q = 0; 16 * q < count; ++q) {
        const auto lanes = static_cast<__mmask16>(count - 16 * q >= 16 ? 0xffff : (1u << (count - 16 * q)) - 1);
        bits |= std::uint64_t{_mm512_mask_cmplt_epu32_mask(lanes, _mm512_maskz_loadu_epi32(lanes, u + 16 * q), t)}
                << (16 * q);
    }
    return bits;
}

// Philox's Bernoulli draw compared in registers: bits 0 .. 4·count − 1 of out are (word j of blocks
// block, block + 1, … < threshold), words in stream order; bits past 4·count are 0. count ≤
// philox_chunk_blocks (out[0 .. 3)). The words are put in stream order (philox_stream_order, as
// philox_store does), then compared 16 to an instruction, never stored: a mask drawn through the
// buffer stored every word and loaded it back.
template <int groups>
__attribute__((target("avx512f"))) inline void philox_below_groups(std::array<std::uint32_t, 2> key,
                                                                    std::uint64_t stream, std::uint64_t block,
                                                                    std::size_t count, std::uint32_t threshold,
                                                                    std::uint64_t* out) {
    __m512i x0[groups], x1[groups], x2[groups], x3[groups];
    for (int g = 0; g < groups; ++g) philox_counters(block + 8 * g, stream, x0[g], x1[g], x2[g], x3[g]);
    philox_rounds<groups>(key, x0, x1, x2, x3);
    const __m512i t = _mm512_set1_epi32(static_cast<int>(threshold));
    std::uint32_t bits[groups];
    for (int g = 0; g < groups; ++g) {
        __m512i first, second;
        philox_stream_order(x0[g], x1[g], x2[g], x3[g], first, second);
        bits[g] = std::uint32_t{_mm512_cmplt_epu32_mask(first, t)} |
                  std::uint32_t{_mm512_cmplt_epu32_mask(second, t)} << 16;
    }
    const std::size_t units = 4 * count;
    for (std::size_t w = 0; 64 * w < units; ++w) {
        std::uint64_t word = bits[2 * w];
        if (2 * w + 1 < groups) word |= std::uint64_t{bits[2 * w + 1]} << 32;
        if (units - 64 * w < 64) word &= ~std::uint64_t{0} >> (64 - (units - 64 * w));
        out[w] = word;
    }
}

__attribute__((target("avx512f"))) void philox_below_avx512(std::array<std::uint32_t, 2> key, std::uint64_t stream,
                                                              std::uint64_t block, std::size_t count,
                                                              std::uint32_t threshold, std::uint64_t* out) {
    if (count > 32) philox_below_groups<6>(key, stream, block, count, threshold, out);
    else if (count > 16) philox_below_groups<4>(key, stream, block, count, threshold, out);
    else if (count > 8) philox_below_groups<2>(key, stream, block, count, threshold, out);
    else if (count > 0) philox_below_groups<1>(key, stream, block, count, threshold, out);
}

// The lanes of a partial group of `count` (< 8 · (q + 1)) elements: all 8 but in the last vector.
__attribute__((target("avx512f"))) inline __mmask8 pair_lanes(std::size_t count, std::size_t q) {
    return static_cast<__mmask8>(count - 8 * q >= 8 ? 0xff : (1u << (count - 8 * q)) - 1);
}

// The 8 pairs (a, b) in w's 64-bit lanes (w = a + b·2^32) below t as numpy's 53-bit integers
// k = (a >> 5)·2^26 + (b >> 6), in `lanes` only.
__attribute__((target("avx512f"))) inline __mmask8 pairs_below(__m512i w, __m512i t, __mmask8 lanes) {
    const __m512i k = _mm512_or_si512(
        _mm512_slli_epi64(_mm512_srli_epi64(_mm512_and_si512(w, _mm512_set1_epi64(0xffffffffLL)), 5), 26),
        _mm512_srli_epi64(w, 38));
    return _mm512_mask_cmplt_epu64_mask(lanes, k, t);
}

// pack_below of count ≤ 64 elements whose word pairs are MT19937 state words not yet tempered: each
// vector of 16 state words is tempered in registers and compared as 8 pairs, so a block drawn only
// for a mask is never stored as output words and loaded back.
__attribute__((target("avx512f"))) std::uint64_t temper_below_avx512(const std::uint32_t* state, std::size_t count,
                                                                       std::uint64_t threshold) {
    const __m512i t = _mm512_set1_epi64(static_cast<long long>(threshold));
    const __m512i b = _mm512_set1_epi32(static_cast<int>(0x9d2c5680u));
    const __m512i c = _mm512_set1_epi32(static_cast<int>(0xefc60000u));
    std::uint64_t bits = 0;
    for (std::size_t q = 0; 8 * q < count; ++q) {
        const __mmask8 lanes = pair_lanes(count, q);
        __m512i y = _mm512_maskz_loadu_epi64(lanes, state + 16 * q);
        y = _mm512_xor_si512(y, _mm512_srli_epi32(y, 11));
        y = _mm512_xor_si512(y, _mm512_and_si512(_mm512_slli_epi32(y, 7), b));
        y = _mm512_xor_si512(y, _mm512_and_si512(_mm512_slli_epi32(y, 15), c));
        y = _mm512_xor_si512(y, _mm512_srli_epi32(y, 18));
        bits |= std::uint64_t{pairs_below(y, t, lanes)} << (8 * q);
    }
    return bits;
}

__attribute__((target("avx512f"))) std::uint64_t pack_below_avx512(const std::uint32_t* pairs, std::size_t count,
                                                                     std::uint64_t threshold) {
    // A partial group loads only its pairs (masked lanes are neither read nor compared).
    const __m512i t = _mm512_set1_epi64(static_cast<long long>(threshold));
    std::uint64_t bits = 0;
    for (std::size_t q = 0; 8 * q < count; ++q) {
        const __mmask8 lanes = pair_lanes(count, q);
        bits |= std::uint64_t{pairs_below(_mm512_maskz_loadu_epi64(lanes, pairs + 16 * q), t, lanes)} << (8 * q);
    }
    return bits;
}

#endif

void philox_blocks(std::array<std::uint32_t, 2> key, std::uint64_t stream, std::uint64_t block, std::size_t count,
                   std::uint32_t* out) {
#if XGRAD_X86_INTRINSICS
    if (kernels::avx512_kernels_enabled()) return philox_blocks_avx512(key, stream, block, count, out);
#endif
    philox_blocks_portable(key, stream, block, count, out);
}
std::uint64_t pack_below32(const std::uint32_t* u, std::size_t count, std::uint32_t threshold) {
#if XGRAD_X86_INTRINSICS
    if (kernels::avx512_kernels_enabled()) return pack_below32_avx512(u, count, threshold);
#endif
    return pack_below32_portable(u, count, threshold);
}
// Bits 0 .. 4·count − 1 of out[0 .. 3) = (the words of blocks block .. block + count − 1 < threshold),
// count ≤ philox_chunk_blocks.
void philox_below(std::array<std::uint32_t, 2> key, std::uint64_t stream, std::uint64_t block, std::size_t count,
                  std::uint32_t threshold, std::uint64_t* out) {
#if XGRAD_X86_INTRINSICS
    if (kernels::avx512_kernels_enabled()) return philox_below_avx512(key, stream, block, count, threshold, out);
#endif
    std::uint32_t u[4 * philox_chunk_blocks];
    philox_blocks_portable(key, stream, block, count, u);
    for (std::size_t first = 0; first < 4 * count; first += 64)
        out[first / 64] = pack_below32_portable(u + first, std::min<std::size_t>(64, 4 * count - first), threshold);
}

/// ORs the `count` ≤ 64 low bits of `bits` into the bit string `words` from bit `at` on.
void or_bits(std::uint64_t* words, std::size_t at, std::uint64_t bits, std::size_t count) {
    if (count == 0) return;
    const std::size_t word = at / 64, shift = at % 64;
    words[word] |= bits << shift;
    if (shift != 0 && shift + count > 64) words[word + 1] |= bits >> (64 - shift);
}

// pack_below(temper(state[0 .. 2·count)), count, threshold): count ≤ 64 elements from untempered
// MT19937 words.
std::uint64_t temper_below(const std::uint32_t* state, std::size_t count, std::uint64_t threshold) {
#if XGRAD_X86_INTRINSICS
    if (kernels::avx512_kernels_enabled()) return temper_below_avx512(state, count, threshold);
#endif
    std::uint32_t pairs[128];
    temper_block(state, pairs, 2 * count);
    return pack_below_portable(pairs, count, threshold);
}

std::uint64_t pack_below(const std::uint32_t* pairs, std::size_t count, std::uint64_t threshold) {
#if XGRAD_X86_INTRINSICS
    if (kernels::avx512_kernels_enabled()) return pack_below_avx512(pairs, count, threshold);
#endif
    return pack_below_portable(pairs, count, threshold);
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

void Generator::philox_one_block() {
    philox_blocks(key_, stream_, block_, 1, words_.data() + buffer_size - 4);
    ++block_;
    index_ = buffer_size - 4;
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
            philox_one_block();
            index_ += static_cast<std::size_t>(n % 4);
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
        // Whole chunks of blocks straight into out (six vectors in flight); what is left goes through
        // the buffer. A few blocks computed alone are one dependent chain: a mask's group of 64 words
        // straddling the buffer's end took 9% of BM_BernoulliBits (Philox) that way.
        const std::size_t blocks = n / (4 * philox_chunk_blocks) * philox_chunk_blocks;
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

void Generator::philox_bernoulli_bits(std::uint32_t threshold, std::size_t n, std::uint64_t* words) {
    std::fill_n(words, (n + 63) / 64, std::uint64_t{0});
    // The words computed ahead first (their bits from bit 0 on, 64 to a mask word).
    const std::size_t ahead = index_ < buffer_size ? std::min(n, buffer_size - index_) : 0;
    for (std::size_t first = 0; first < ahead; first += 64)
        words[first / 64] =
            pack_below32(words_.data() + index_ + first, std::min<std::size_t>(64, ahead - first), threshold);
    index_ += ahead;
    std::size_t done = ahead;
    // Then whole blocks straight from the counter, a chunk at a time (the buffer ends on a block
    // boundary, so the next word is word 0 of block_), their bits OR-ed in after those.
    for (std::size_t blocks; (blocks = std::min(philox_chunk_blocks, (n - done) / 4)) > 0; done += 4 * blocks) {
        std::uint64_t bits[(4 * philox_chunk_blocks + 63) / 64];
        philox_below(key_, stream_, block_, blocks, threshold, bits);
        block_ += blocks;
        for (std::size_t w = 0; 64 * w < 4 * blocks; ++w)
            or_bits(words, done + 64 * w, bits[w], std::min<std::size_t>(64, 4 * blocks - 64 * w));
    }
    // The last n mod 4 words: part of one block, computed into the buffer's end, whose other words
    // stay ahead. One block, not a whole buffer: the next draw then starts on a block boundary
    // after at most 3 buffered words, and its blocks are compared in registers rather than
    // stored here and loaded back (in the fused Philox regnet step, 2.8% of the step went to
    // refilling the 156-block buffer and comparing its words from memory).
    if (done < n) {
        philox_one_block();
        or_bits(words, done, pack_below32(words_.data() + index_, n - done, threshold), n - done);
        index_ += n - done;
    }
}

void Generator::mt_bernoulli_bits(std::uint64_t threshold, std::size_t n, std::uint64_t* words) {
    std::fill_n(words, (n + 63) / 64, std::uint64_t{0});
    // The pairs computed ahead first (an even number of words is left: the caller checked).
    const std::size_t ahead = std::min(n, (buffer_size - index_) / 2);
    for (std::size_t first = 0; first < ahead; first += 64)
        words[first / 64] =
            pack_below(words_.data() + index_ + 2 * first, std::min<std::size_t>(64, ahead - first), threshold);
    index_ += 2 * ahead;
    std::size_t done = ahead;
    // Then whole blocks: a twist, and its words tempered and compared without being stored. The
    // buffer is left spent (index_ = buffer_size), so the next draw twists the next block, as it would.
    for (; n - done >= mt_units_per_block; done += mt_units_per_block) {
        twist_block(state_.data());
        for (std::size_t first = 0; first < mt_units_per_block; first += 64) {
            const std::size_t m = std::min<std::size_t>(64, mt_units_per_block - first);
            or_bits(words, done + first, temper_below(state_.data() + 2 * first, m, threshold), m);
        }
    }
    // The rest (under a block) through the buffer.
    if (done < n) {
        refill();
        for (std::size_t first = done; first < n; first += 64) {
            const std::size_t m = std::min<std::size_t>(64, n - first);
            or_bits(words, first, pack_below(words_.data() + index_, m, threshold), m);
            index_ += 2 * m;
        }
    }
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
            philox_bernoulli_bits(static_cast<std::uint32_t>(threshold), n, words);
        return;
    }
    // u = k / 2^53 < p exactly when k < p · 2^53 (a power-of-two scaling: exact), i.e. when k is
    // below the integer ceil(p · 2^53).
    const auto threshold = static_cast<std::uint64_t>(std::ceil(p * 0x1p53));
    // Whole blocks of the state (312 elements each) are compared as they are tempered (below); they
    // need the pairs to start on a block boundary, which they do unless an odd number of single
    // words was drawn since seeding.
    if (n >= 2 * mt_units_per_block && (buffer_size - index_) % 2 == 0) return mt_bernoulli_bits(threshold, n, words);
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
