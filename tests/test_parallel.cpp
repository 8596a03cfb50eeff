// Threads: parallel_for covers every index once in aligned ranges, nests and shares safely, and a
// training step gives the same bits on one thread as on two.

#include <atomic>
#include <thread>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {

/// Restores the thread count a test changed.
struct ThreadCount {
    std::size_t saved = num_threads();
    explicit ThreadCount(std::size_t n) { set_num_threads(n); }
    ~ThreadCount() { set_num_threads(saved); }
};

/// Calls parallel_for and checks every index in [0, n) is visited exactly once, in ranges that start
/// on a multiple of `align`.
void check_cover(std::size_t n, std::size_t grain, std::size_t align, bool expect_split = true) {
    std::vector<std::atomic<int>> visits(n);
    std::atomic<bool> aligned{true};
    std::atomic<int> ranges{0};
    detail::parallel_for(
        n,
        [&](std::size_t begin, std::size_t end) {
            if (begin % align != 0) aligned = false;
            ++ranges;
            for (std::size_t i = begin; i < end; ++i) ++visits[i];
        },
        grain, align);
    std::size_t wrong = 0;
    for (auto& v : visits) wrong += v.load() != 1;
    BOOST_TEST(wrong == 0u, "n = " << n << ": " << wrong << " indices not visited exactly once");
    BOOST_TEST(aligned.load(), "n = " << n << ": a range does not start on a multiple of " << align);
    if (expect_split && n >= 2 * grain) BOOST_TEST(ranges.load() > 1, "n = " << n << " was not split");
}

/// One training step through xgrad's own large loops — broadcasting, relu, dropout, row sums,
/// softmax cross-entropy, SGD — on tensors big enough to be split. No matrix product: OpenBLAS's
/// bits may depend on its thread count (docs/reliability.md), xgrad's must not.
std::vector<Array> large_step(std::size_t threads) {
    ThreadCount count(threads);
    Generator gen(5);
    Tensor x = parameter(gen.randn({1000, 300}, DType::f32), "x");
    Tensor scale = parameter(gen.randn({1000, 1}, DType::f32), "scale");
    Tensor shift = parameter(gen.randn({1, 300}, DType::f32), "shift");
    const Tensor h = dropout(relu(x * scale + shift), {.keep_prob = 0.8, .generator = &gen});
    Array t({1000, 300}, DType::f32);
    for (std::size_t j = 0; j < 300; ++j) t.set_flat((j % 1000) * 300 + j, 1.0);
    const Tensor loss = softmax_cross_entropy(h, constant(t), 0) + mean(sum(h, 1, true));
    SGD sgd({x, scale, shift}, 0.1);
    loss.backward();
    sgd.step();
    return {x.value(), scale.value(), shift.value(), loss.value()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parallel)

BOOST_AUTO_TEST_CASE(every_index_once_in_aligned_ranges) {
    ThreadCount count(2);
    for (std::size_t n : {0u, 1u, 100u, 2047u, 2048u, 5000u, 1000003u}) check_cover(n, 1024, 64);
    check_cover(100000, 1000, 1);
    check_cover(100000, 1000, 48);
}

BOOST_AUTO_TEST_CASE(nested_and_concurrent_calls_run_inline) {
    ThreadCount count(2);
    std::atomic<std::size_t> total{0};
    detail::parallel_for(
        8192,
        [&](std::size_t begin, std::size_t end) {
            // From inside a job the inner loop runs on the calling thread instead of waiting for a pool
            // that is busy with this very job.
            detail::parallel_for(
                end - begin, [&](std::size_t b, std::size_t e) { total += e - b; }, 16, 1);
        },
        1024, 1);
    BOOST_TEST(total.load() == 8192u);
    // Two threads of the user's share the pool: one gets it, the other runs inline; both complete.
    std::thread other([] { check_cover(300000, 1024, 64, false); });
    check_cover(300000, 1024, 64, false);
    other.join();
}

BOOST_AUTO_TEST_CASE(same_bits_on_one_thread_and_two) {
    const std::vector<Array> one = large_step(1), two = large_step(2);
    BOOST_REQUIRE_EQUAL(one.size(), two.size());
    for (std::size_t k = 0; k < one.size(); ++k) {
        BOOST_REQUIRE(one[k].size() == two[k].size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < one[k].size(); ++i) differ += one[k].flat(i) != two[k].flat(i);
        BOOST_TEST(differ == 0u, "array " << k << ": " << differ << " elements differ between 1 and 2 threads");
    }
}

BOOST_AUTO_TEST_CASE(thread_count_is_checked_and_kept) {
    ThreadCount count(2);
    BOOST_TEST(num_threads() == 2u);
    set_num_threads(1);
    BOOST_TEST(num_threads() == 1u);
    check_cover(100000, 1024, 64, false);  // one thread: inline, still complete
    const std::string msg = message_of<ValueError>([] { set_num_threads(0); });
    BOOST_TEST(contains(msg, "set_num_threads"), msg);
    BOOST_TEST(num_threads() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
