// The numpy-compatible generator reproduces every line of ../shared/reference/numpy_rng_vectors.txt.

#include <cmath>

#include "framework/kernels.hpp"
#include "reference.hpp"

using namespace xgrad;
using xgrad::test::reference_doubles;

namespace {
void check_exact(const std::vector<double>& actual, const std::vector<double>& expected) {
    BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i)
        BOOST_TEST(actual[i] == expected[i], "element " << i << ": " << actual[i] << " != " << expected[i]);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(rng)

BOOST_AUTO_TEST_CASE(raw_mt19937_words) {
    for (std::uint64_t s : {1u, 3u}) {
        Generator gen(s);
        std::vector<double> words;
        for (int i = 0; i < 10; ++i) words.push_back(gen.next_uint32());
        check_exact(words, reference_doubles("mt19937_seed" + std::to_string(s) + "_raw_uint32_first10"));
    }
}

BOOST_AUTO_TEST_CASE(bulk_words_are_the_per_word_stream) {
    // fill_uint32 twists and tempers whole blocks; it must give exactly the words next_uint32 gives,
    // from any position in a block and across block boundaries, and leave the stream where they do.
    Generator bulk(7), single(7);
    for (std::size_t n : {1u, 5u, 623u, 624u, 625u, 1900u, 3u}) {
        std::vector<std::uint32_t> words(n);
        bulk.fill_uint32(words.data(), n);
        for (std::size_t i = 0; i < n; ++i) BOOST_TEST(words[i] == single.next_uint32(), "n = " << n << ", word " << i);
    }
    BOOST_TEST(bulk.uniform() == single.uniform());
}

BOOST_AUTO_TEST_CASE(bernoulli_bits_are_numpy_rand_below_p) {
    // Bit i == (rand() < p) for the same uniforms, for partial and whole words, from an odd position
    // in the stream (a uniform's two words then straddle a block boundary), at the edges of p.
    // From an even position, n ≥ 624 also takes whole 624-word blocks tempered and compared in
    // registers (312 elements each, OR-ed in at any bit offset); both kernels are checked.
    struct Restore {
        ~Restore() { kernels::use_portable_kernels(false); }
    } restore;
    for (const bool portable : {false, true}) {
        kernels::use_portable_kernels(portable);
        for (const std::size_t skip : {1u, 0u, 2u, 600u, 624u})
            for (double p : {0.0, 1e-12, 0.3, 0.86, 1.0 - 1e-16, 1.0}) {
                for (std::size_t n : {1u, 63u, 64u, 65u, 511u, 512u, 513u, 1500u, 624u, 625u, 937u, 4220u, 20001u}) {
                    Generator bulk(3), single(3);
                    for (std::size_t k = 0; k < skip; ++k) bulk.next_uint32(), single.next_uint32();
                    std::vector<std::uint64_t> words((n + 63) / 64, ~std::uint64_t{0});
                    bulk.bernoulli_bits(p, n, words.data());
                    std::size_t wrong = 0;
                    for (std::size_t i = 0; i < n; ++i)
                        wrong += (((words[i / 64] >> (i % 64)) & 1u) != 0) != (single.uniform() < p);
                    BOOST_TEST(wrong == 0u, wrong << " wrong bits: p = " << p << ", n = " << n << ", skip " << skip
                                                  << (portable ? ", portable" : ""));
                    if (n % 64) BOOST_TEST(words.back() >> (n % 64) == 0u, "bits past n are 0 (n = " << n << ")");
                    BOOST_TEST(bulk.next_uint32() == single.next_uint32(),
                               "the stream continues in step (n = " << n << ", skip " << skip << ")");
                }
            }
    }
    Generator gen(0);
    std::uint64_t word = 0;
    BOOST_CHECK_THROW(gen.bernoulli_bits(1.5, 1, &word), ValueError);
    BOOST_CHECK_THROW(gen.bernoulli_bits(std::nan(""), 1, &word), ValueError);
}

BOOST_AUTO_TEST_CASE(rand_and_randn_match_numpy) {
    seed(1);
    check_exact(rand({10}).to_vector(), reference_doubles("seed1_rand_first10"));
    seed(3);
    check_exact(randn({11}).to_vector(), reference_doubles("seed3_randn_first11"));
    seed(1);
    Array a = randn({3, 5});
    BOOST_TEST((a.shape() == Shape{3, 5}));
    check_exact(a.to_vector(), reference_doubles("seed1_randn_3x5"));
    seed(0);
    check_exact(randn({5}).to_vector(), reference_doubles("seed0_randn_first5"));
    seed(4294967295u);
    check_exact(rand({3}).to_vector(), reference_doubles("seed4294967295_rand_first3"));
}

BOOST_AUTO_TEST_CASE(course_regnet_initial_weights) {
    // initialize_parameters([2, 20, 3, 1]) with np.random.seed(3): randn(n, n_prev) / sqrt(n_prev).
    Generator gen(3);
    const std::vector<std::size_t> dims = {2, 20, 3, 1};
    for (std::size_t l = 1; l < dims.size(); ++l) {
        Array w = gen.randn({dims[l], dims[l - 1]});
        std::vector<double> v = w.to_vector();
        for (double& x : v) x /= std::sqrt(static_cast<double>(dims[l - 1]));
        check_exact(v, reference_doubles("regnet_init_W" + std::to_string(l)));
    }
}

BOOST_AUTO_TEST_CASE(gaussian_cache_is_cleared_by_seed) {
    Generator gen(5);
    gen.normal();  // leaves the second polar value cached
    gen.seed(1);
    BOOST_TEST(gen.normal() == reference_doubles("seed1_randn_3x5")[0]);
}

BOOST_AUTO_TEST_CASE(generators_are_independent_and_replayable) {
    Generator a(9), b(9);
    for (int i = 0; i < 100; ++i) BOOST_TEST(a.uniform() == b.uniform());
    Generator saved = a;  // copying a generator snapshots its state
    const double next = a.normal();
    BOOST_TEST(saved.normal() == next);
}

BOOST_AUTO_TEST_CASE(permutation_matches_numpy) {
    Generator np0(0);  // np.random.seed(0); np.random.permutation(10)
    const std::vector<std::size_t> expected = {2, 8, 4, 9, 1, 6, 7, 3, 0, 5};
    BOOST_TEST(np0.permutation(10) == expected);
}

BOOST_AUTO_TEST_CASE(permutation_is_a_permutation) {
    Generator gen(0);
    auto p = gen.permutation(50);
    std::vector<std::size_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < 50; ++i) BOOST_TEST(sorted[i] == i);
    BOOST_TEST(p != sorted);
}

BOOST_AUTO_TEST_CASE(bad_seed_is_rejected) {
    const std::string msg = xgrad::test::message_of<ValueError>([] { seed(1ULL << 32); });
    BOOST_TEST(xgrad::test::contains(msg, "4294967296"));
}

BOOST_AUTO_TEST_SUITE_END()
