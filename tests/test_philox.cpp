// The Philox4x32-10 generator: the block function against Random123's published known-answer
// vectors, the documented stream (counter layout, word order), streams and split, the bulk paths
// against the per-word path, and masks' kept fraction and independence (chi-square tests sized so
// a correct generator fails with probability < 1e-6, with negative controls that must fail).

#include <algorithm>
#include <cmath>
#include <thread>

#include "framework/kernels.hpp"
#include "helpers.hpp"

using namespace xgrad;

namespace {

using Block = std::array<std::uint32_t, 4>;

constexpr std::uint32_t lo(std::uint64_t v) { return static_cast<std::uint32_t>(v); }
constexpr std::uint32_t hi(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); }

std::vector<bool> mask_bits(Generator& gen, double p, std::size_t n) {
    std::vector<std::uint64_t> words((n + 63) / 64);
    gen.bernoulli_bits(p, n, words.data());
    std::vector<bool> bits(n);
    for (std::size_t i = 0; i < n; ++i) bits[i] = (words[i / 64] >> (i % 64)) & 1u;
    return bits;
}

// Pearson's chi-square of a 2×2 contingency table t[a][b] (1 degree of freedom):
//   χ² = N (t00 t11 − t01 t10)² / (row0 row1 col0 col1).
double chi_square_2x2(const double t[2][2]) {
    const double n = t[0][0] + t[0][1] + t[1][0] + t[1][1];
    const double r0 = t[0][0] + t[0][1], r1 = t[1][0] + t[1][1], c0 = t[0][0] + t[1][0], c1 = t[0][1] + t[1][1];
    const double d = t[0][0] * t[1][1] - t[0][1] * t[1][0];
    return n * d * d / (r0 * r1 * c0 * c1);
}

// Independence of a[i] and b[i] over i.
double chi_square_paired(const std::vector<bool>& a, const std::vector<bool>& b) {
    double t[2][2] = {};
    for (std::size_t i = 0; i < a.size(); ++i) t[a[i]][b[i]] += 1;
    return chi_square_2x2(t);
}

// Independence of bits lag apart: pairs (i, i + lag) for i with (i / lag) even, so that every bit is in
// one pair only and the pairs are independent observations (the test's chi-square law then holds).
double chi_square_lag(const std::vector<bool>& bits, std::size_t lag) {
    double t[2][2] = {};
    for (std::size_t i = 0; i + lag < bits.size(); ++i)
        if ((i / lag) % 2 == 0) t[bits[i]][bits[i + lag]] += 1;
    return chi_square_2x2(t);
}

// P(χ²₁ > x) = erfc(√(x/2)); at x = 24 it is 9.7e-7, so a correct generator fails one test with
// probability below 1e-6. A dependence of correlation ρ gives χ² ≈ N·ρ²: ρ = 0.01 over 5·10^5
// pairs is already 50.
constexpr double chi_square_limit = 24.0;

constexpr std::size_t million = 1'000'000;

}  // namespace

BOOST_AUTO_TEST_SUITE(philox)

// Random123 (D. E. Shaw Research), tests/kat_vectors: "philox4x32 R  counter[4] key[2]  expected[4]".
BOOST_AUTO_TEST_CASE(block_function_matches_the_known_answer_vectors) {
    struct Kat {
        int rounds;
        Block counter;
        std::array<std::uint32_t, 2> key;
        Block expected;
    };
    const Kat kats[] = {
        {10, {0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {10, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {10, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},  // digits of π
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
        // The 7-round vectors check the key schedule independently of the round count.
        {7, {0, 0, 0, 0}, {0, 0}, {0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48}},
        {7, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662}},
        {7, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}},
    };
    for (const Kat& k : kats) {
        const Block got = philox4x32(k.counter, k.key, k.rounds);
        for (int w = 0; w < 4; ++w)
            BOOST_TEST(got[w] == k.expected[w], "rounds " << k.rounds << " counter " << std::hex << k.counter[0]
                                                          << " word " << w << ": " << got[w] << " != " << k.expected[w]);
    }
    BOOST_TEST((philox4x32({0, 0, 0, 0}, {0, 0}) == kats[0].expected));  // 10 rounds by default
}

BOOST_AUTO_TEST_CASE(the_stream_is_the_documented_counter_sequence) {
    // Word w of philox(seed, s) = philox4x32({lo(w/4), hi(w/4), lo(s), hi(s)}, {lo(seed), hi(seed)})[w % 4];
    // seed and stream with high bits set, so a swapped or dropped half shows.
    const std::uint64_t seed = 0x0123456789abcdefULL, stream = 0xfedcba9876543210ULL;
    Generator gen = Generator::philox(seed, stream);
    BOOST_TEST(gen.is_philox());
    BOOST_TEST((gen.kind() == GeneratorKind::philox));
    BOOST_TEST(gen.stream() == stream);
    for (std::uint64_t w = 0; w < 3000; ++w) {  // crosses several 624-word buffers
        const std::uint64_t b = w / 4;
        const Block block = philox4x32({lo(b), hi(b), lo(stream), hi(stream)}, {lo(seed), hi(seed)});
        BOOST_TEST(gen.next_uint32() == block[w % 4], "word " << w);
    }
}

BOOST_AUTO_TEST_CASE(discard_skips_words_and_the_block_index_carries) {
    // discard(n) == n calls of next_uint32(), for both kinds, within and across buffers.
    for (bool philox : {false, true}) {
        for (std::uint64_t n : {0u, 1u, 3u, 4u, 5u, 623u, 624u, 625u, 1300u, 5000u}) {
            Generator skip = philox ? Generator::philox(4, 9) : Generator(4);
            Generator step = skip;
            skip.next_uint32(), step.next_uint32();  // from an odd position
            skip.discard(n);
            for (std::uint64_t i = 0; i < n; ++i) step.next_uint32();
            for (int i = 0; i < 10; ++i)
                BOOST_TEST(skip.next_uint32() == step.next_uint32(), (philox ? "philox" : "mt") << ", n = " << n);
        }
    }
    // Word 2^34 is block 2^32: the block index carries into counter word 1, as documented.
    const std::uint64_t seed = 0xdeadbeef12345678ULL, stream = 3;
    Generator gen = Generator::philox(seed, stream);
    const std::uint64_t start = (1ULL << 34) - 6;
    gen.discard(start);
    for (std::uint64_t w = start; w < start + 12; ++w) {
        const std::uint64_t b = w / 4;
        const Block block = philox4x32({lo(b), hi(b), lo(stream), hi(stream)}, {lo(seed), hi(seed)});
        BOOST_TEST(gen.next_uint32() == block[w % 4], "word " << w);
    }
}

BOOST_AUTO_TEST_CASE(streams_are_reproducible_distinct_and_split) {
    Generator a = Generator::philox(42, 3), b = Generator::philox(42, 3);
    for (int i = 0; i < 2000; ++i) BOOST_TEST(a.next_uint32() == b.next_uint32());

    // Distinct streams and distinct seeds share no word position.
    Generator s0 = Generator::philox(42, 0), s1 = Generator::philox(42, 1), k1 = Generator::philox(43, 0);
    std::size_t same_stream = 0, same_seed = 0;
    for (int i = 0; i < 2000; ++i) {
        const std::uint32_t w0 = s0.next_uint32();
        same_stream += w0 == s1.next_uint32();
        same_seed += w0 == k1.next_uint32();
    }
    BOOST_TEST(same_stream <= 1u);  // a chance equality has probability 2000 / 2^32
    BOOST_TEST(same_seed <= 1u);

    // split(k) is philox(seed, k) at word 0, whatever the parent has drawn.
    Generator parent = Generator::philox(7, 0);
    for (int i = 0; i < 1001; ++i) parent.next_uint32();
    parent.normal();
    for (std::uint64_t k : {0ULL, 1ULL, 5ULL, 1ULL << 40}) {
        Generator child = parent.split(k), fresh = Generator::philox(7, k);
        BOOST_TEST(child.stream() == k);
        for (int i = 0; i < 700; ++i) BOOST_TEST(child.next_uint32() == fresh.next_uint32(), "stream " << k);
    }
    BOOST_TEST(parent.split(9).split(2).next_uint32() == Generator::philox(7, 2).next_uint32());
}

BOOST_AUTO_TEST_CASE(per_thread_streams_do_not_depend_on_scheduling) {
    // Each thread draws from its own split of one root: the masks are those of a sequential run.
    const Generator root = Generator::philox(77);
    constexpr std::size_t threads = 4, n = 100'000;
    std::vector<std::vector<bool>> parallel(threads);
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            Generator own = root.split(t);
            parallel[t] = mask_bits(own, 0.5, n);
        });
    for (std::thread& th : pool) th.join();
    for (std::size_t t = 0; t < threads; ++t) {
        Generator again = Generator::philox(77, t);
        BOOST_TEST((parallel[t] == mask_bits(again, 0.5, n)), "thread " << t);
    }
}

BOOST_AUTO_TEST_CASE(seed_rekeys_and_keeps_the_stream) {
    Generator g = Generator::philox(1, 5);
    for (int i = 0; i < 10; ++i) g.next_uint32();
    g.normal();  // leaves a cached Gaussian
    g.seed(1ULL << 40);  // 64-bit seeds are accepted (MT19937 takes numpy's 32)
    BOOST_TEST(g.stream() == 5u);
    Generator fresh = Generator::philox(1ULL << 40, 5);
    BOOST_TEST(g.normal() == fresh.normal());
    for (int i = 0; i < 100; ++i) BOOST_TEST(g.next_uint32() == fresh.next_uint32());
}

BOOST_AUTO_TEST_CASE(numpy_generators_do_not_split) {
    Generator mt(3);
    BOOST_TEST(!mt.is_philox());
    BOOST_TEST((mt.kind() == GeneratorKind::mt19937_numpy));
    BOOST_TEST(mt.stream() == 0u);
    const std::string msg = xgrad::test::message_of<ValueError>([&] { mt.split(1); });
    BOOST_TEST(xgrad::test::contains(msg, "Generator::philox(seed).split(1)"), msg);
}

BOOST_AUTO_TEST_CASE(bulk_words_are_the_per_word_stream) {
    Generator bulk = Generator::philox(9, 2), single = Generator::philox(9, 2);
    for (std::size_t n : {1u, 3u, 5u, 623u, 624u, 625u, 1900u, 4096u, 7u}) {
        std::vector<std::uint32_t> words(n);
        bulk.fill_uint32(words.data(), n);
        for (std::size_t i = 0; i < n; ++i) BOOST_TEST(words[i] == single.next_uint32(), "n = " << n << ", word " << i);
    }
    BOOST_TEST(bulk.uniform() == single.uniform());
}

// Philox blocks and the Bernoulli bit packing have AVX-512 kernels beside the portable loops; the
// CPU decides which run. Both are checked here against the block function and against each other:
// bulk words from positions where the 16 lanes' block counters carry into the high word, and
// masks of both generator kinds at several sizes and probabilities.
BOOST_AUTO_TEST_CASE(avx512_and_portable_kernels_give_the_same_stream) {
    BOOST_TEST_MESSAGE("AVX-512 kernels in use: " << kernels::avx512_kernels_enabled());
    struct Restore {
        ~Restore() { kernels::use_portable_kernels(false); }
    } restore;
    const std::uint64_t seed = 0x9e3779b97f4a7c15ULL, stream = 0x0000000100000007ULL;
    for (const bool portable : {false, true}) {
        kernels::use_portable_kernels(portable);
        for (const std::uint64_t start_block : {std::uint64_t{0}, std::uint64_t{(1ULL << 32) - 37}, std::uint64_t{(1ULL << 33) - 5}}) {
            Generator gen = Generator::philox(seed, stream);
            gen.discard(4 * start_block + 1);  // an odd word: the bulk path starts mid-block
            std::vector<std::uint32_t> words(4 * 300 + 3);
            gen.fill_uint32(words.data(), words.size());
            for (std::size_t i = 0; i < words.size(); ++i) {
                const std::uint64_t w = 4 * start_block + 1 + i, b = w / 4;
                const Block block = philox4x32({lo(b), hi(b), lo(stream), hi(stream)}, {lo(seed), hi(seed)});
                BOOST_TEST(words[i] == block[w % 4], (portable ? "portable" : "default") << " kernels, word " << w);
            }
        }
    }
    for (const bool philox : {false, true})
        for (const double p : {0.1, 0.5, 0.86, 1.0 - 0x1p-40})
            for (const std::size_t n : {64u, 100u, 640u, 5000u, 20001u}) {
                std::vector<std::uint64_t> bits[2];
                for (const bool portable : {false, true}) {
                    kernels::use_portable_kernels(portable);
                    Generator gen = philox ? Generator::philox(5, 3) : Generator(5);
                    gen.next_uint32();
                    bits[portable].assign((n + 63) / 64, 0);
                    gen.bernoulli_bits(p, n, bits[portable].data());
                }
                BOOST_TEST(bits[0] == bits[1], (philox ? "philox" : "mt") << ", p = " << p << ", n = " << n);
            }
}

BOOST_AUTO_TEST_CASE(bernoulli_bits_are_one_word_below_a_threshold) {
    // Bit i == (u_i < round(p · 2^32)) for the next words u_i, from an odd position in the stream and
    // in a buffer, for partial and whole words and chunks; p within 2^-33 of 1 keeps all.
    for (double p : {0.0, 0x1p-32, 0x1p-33, 0.3, 0.5, 0.86, 1.0 - 0x1p-34, 1.0}) {
        const double t = std::round(p * 0x1p32);
        // Past the words computed ahead (623 here, after the first), whole blocks are compared in
        // registers, up to 48 a call, and their bits OR-ed in at any offset: 623 + 256, + 259 and
        // + 1027 end in a partial call, a partial block, or both.
        for (std::size_t n : {1u, 63u, 64u, 65u, 2047u, 2048u, 2049u, 5000u, 4220u, 623u + 259u, 623u + 256u,
                              623u + 1027u, 20001u}) {
            Generator bulk = Generator::philox(3, 1), single = Generator::philox(3, 1);
            bulk.next_uint32(), single.next_uint32();
            std::vector<std::uint64_t> words((n + 63) / 64, ~std::uint64_t{0});
            bulk.bernoulli_bits(p, n, words.data());
            for (std::size_t i = 0; i < n; ++i) {
                const bool bit = (words[i / 64] >> (i % 64)) & 1u;
                BOOST_TEST(bit == (static_cast<double>(single.next_uint32()) < t), "p = " << p << ", n = " << n
                                                                                          << ", element " << i);
            }
            if (n % 64) BOOST_TEST(words.back() >> (n % 64) == 0u, "bits past n are 0 (n = " << n << ")");
            BOOST_TEST(bulk.next_uint32() == single.next_uint32(), "the stream continues in step (n = " << n << ")");
        }
    }
    Generator gen = Generator::philox(0);
    std::uint64_t word = 0;
    BOOST_CHECK_THROW(gen.bernoulli_bits(1.5, 1, &word), ValueError);
    BOOST_CHECK_THROW(gen.bernoulli_bits(std::nan(""), 1, &word), ValueError);
}

BOOST_AUTO_TEST_CASE(kept_fraction_is_p_within_six_sigma) {
    // Kept ~ Binomial(n, p'), p' = round(p·2^32)/2^32; |kept − n·p| ≤ 6σ fails by chance with
    // probability 2e-9, and at n = 10^6 σ ≤ 500, so a threshold off by 0.3% is caught.
    for (double p : {0.5, 0.86, 0.1, 0.999}) {
        Generator gen = Generator::philox(2024, 0);
        std::size_t kept = 0;
        for (bool b : mask_bits(gen, p, million)) kept += b;
        const double sigma = std::sqrt(million * p * (1 - p));
        BOOST_TEST(std::abs(static_cast<double>(kept) - million * p) <= 6 * sigma, "p = " << p << ": kept " << kept);
    }
    Generator gen = Generator::philox(5);
    std::size_t kept_all = 0, kept_none = 0, kept_rare = 0;
    for (bool b : mask_bits(gen, 1.0, million)) kept_all += b;
    for (bool b : mask_bits(gen, 1e-12, million)) kept_none += b;  // round(1e-12 · 2^32) = 0: never kept
    for (bool b : mask_bits(gen, 0x1p-32, million)) kept_rare += b;  // expected 2.3e-4 kept
    BOOST_TEST(kept_all == million);
    BOOST_TEST(kept_none == 0u);
    BOOST_TEST(kept_rare <= 3u);  // P(Poisson(2.3e-4) > 3) ≈ 1e-16
}

BOOST_AUTO_TEST_CASE(mask_bits_are_independent_of_their_neighbours) {
    BOOST_TEST(std::erfc(std::sqrt(chi_square_limit / 2)) < 1e-6);  // the limit's false-alarm rate
    for (double p : {0.5, 0.8}) {
        Generator gen = Generator::philox(11, 4);
        const std::vector<bool> bits = mask_bits(gen, p, million);
        // Lags 1–4 look inside a Philox block and across its edge, 64 across mask words.
        for (std::size_t lag : {1u, 2u, 3u, 4u, 64u}) {
            const double chi2 = chi_square_lag(bits, lag);
            BOOST_TEST(chi2 < chi_square_limit, "p = " << p << ", lag " << lag << ": chi-square " << chi2);
        }
    }
}

BOOST_AUTO_TEST_CASE(masks_of_distinct_streams_and_seeds_are_independent) {
    const double p = 0.5;
    Generator s0 = Generator::philox(11, 0), s1 = Generator::philox(11, 1), seed12 = Generator::philox(12, 0);
    Generator parent = Generator::philox(11, 0), child = parent.split(2);
    const std::vector<bool> a = mask_bits(s0, p, million), b = mask_bits(s1, p, million);
    const std::vector<bool> c = mask_bits(seed12, p, million), d = mask_bits(child, p, million);
    BOOST_TEST(chi_square_paired(a, b) < chi_square_limit);
    BOOST_TEST(chi_square_paired(a, c) < chi_square_limit);
    BOOST_TEST(chi_square_paired(a, d) < chi_square_limit);
    BOOST_TEST(chi_square_paired(b, d) < chi_square_limit);
}

BOOST_AUTO_TEST_CASE(the_independence_statistic_catches_dependent_bits) {
    // Negative controls: the statistic must exceed its limit on sequences that are not independent.
    Generator again = Generator::philox(11, 0), twin = Generator::philox(11, 0);
    const std::vector<bool> a = mask_bits(again, 0.5, million), same = mask_bits(twin, 0.5, million);
    BOOST_TEST(chi_square_paired(a, same) > 1000 * chi_square_limit);  // one stream used twice: χ² = N

    // Bits with a weak dependence: bit 2i+1 copies bit 2i with probability 2% (the coin from
    // another stream), otherwise keeps its own value. Correlation 0.02: χ² ≈ 5·10^5 · 0.02² = 200.
    Generator coin = Generator::philox(99, 7);
    std::vector<bool> correlated = a;
    for (std::size_t i = 0; i + 1 < correlated.size(); i += 2)
        if (coin.next_uint32() < static_cast<std::uint32_t>(0.02 * 0x1p32)) correlated[i + 1] = correlated[i];
    const double chi2 = chi_square_lag(correlated, 1);
    BOOST_TEST(chi2 > chi_square_limit, "chi-square " << chi2);
    BOOST_TEST(chi_square_lag(a, 1) < chi_square_limit);  // the same bits before the copying
}

BOOST_AUTO_TEST_CASE(uniforms_normals_and_permutations_come_from_the_word_stream) {
    Generator gen = Generator::philox(31, 1), words = Generator::philox(31, 1);
    // uniform() = ((a >> 5) · 2^26 + (b >> 6)) / 2^53 of the next two words, numpy's construction.
    for (int i = 0; i < 100; ++i) {
        const std::uint64_t a = words.next_uint32() >> 5, b = words.next_uint32() >> 6;
        BOOST_TEST(gen.uniform() == static_cast<double>((a << 26) | b) / 0x1p53);
    }
    // randn: mean 0 and variance 1 within 6σ at n = 2·10^5.
    const std::size_t n = 200'000;
    const Array z = Generator::philox(8).randn({n});
    double sum = 0, sum2 = 0;
    for (std::size_t i = 0; i < n; ++i) sum += z.flat(i), sum2 += z.flat(i) * z.flat(i);
    const double mean = sum / n, var = sum2 / n - mean * mean;
    BOOST_TEST(std::abs(mean) < 6 / std::sqrt(double(n)));
    BOOST_TEST(std::abs(var - 1) < 6 * std::sqrt(2.0 / n));
    // Arrays, initialisers and permutations are reproducible from (seed, stream).
    BOOST_TEST(Generator::philox(8, 3).rand({4, 5}).to_vector() == Generator::philox(8, 3).rand({4, 5}).to_vector());
    Generator g1 = Generator::philox(8, 3), g2 = Generator::philox(8, 3);
    BOOST_TEST(init_weight(Init::he, 6, 4, g1).to_vector() == init_weight(Init::he, 6, 4, g2).to_vector());
    std::vector<std::size_t> perm = Generator::philox(8).permutation(50), sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < 50; ++i) BOOST_TEST(sorted[i] == i);
    BOOST_TEST(perm != sorted);
}

BOOST_AUTO_TEST_CASE(modules_take_a_philox_generator) {
    // Layers draw their weights, and Dropout modules their masks, from the Philox generator given to them.
    Generator init = Generator::philox(5), same_init = Generator::philox(5);
    Linear linear(4, 3, LinearOptions{.generator = &init});
    const Array expected = init_weight(Init::course, 3, 4, same_init);
    BOOST_TEST(linear.weight.value().to_vector() == expected.to_vector());

    Generator masks = Generator::philox(6, 2), mirror = Generator::philox(6, 2);
    Dropout drop(DropoutOptions{.keep_prob = 0.6, .generator = &masks});
    const Tensor x = parameter(Array::ones({8, 40}), "x");
    const DropoutState s = dropout_state(drop.forward(x));
    const std::vector<bool> expect = mask_bits(mirror, 0.6, 320);
    BOOST_TEST(s.mask == expect);
    drop.eval();
    BOOST_TEST(drop.forward(x).node() == x.node());

    Generator maps = Generator::philox(6, 3), maps_mirror = Generator::philox(6, 3);
    Dropout2d drop2d(DropoutOptions{.keep_prob = 0.5, .generator = &maps});
    const Array y = drop2d.forward(constant(Array::ones({2, 3, 2, 2}))).value();
    const std::vector<bool> channel = mask_bits(maps_mirror, 0.5, 6);
    for (std::size_t i = 0; i < y.size(); ++i) BOOST_TEST(y.flat(i) == (channel[i / 4] ? 2.0 : 0.0));
}

BOOST_AUTO_TEST_SUITE_END()
