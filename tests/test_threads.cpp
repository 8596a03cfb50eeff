// Threads: the contract in docs/reliability.md. Independent graphs and models on different threads
// are safe and give the single-threaded results; the module-level generator is per thread; backward
// passes on two threads into one shared parameter lose no update; a graph shared by two threads'
// backward passes (retain_graph) gives each the right gradient. Also run under ThreadSanitizer
// (CMake preset 'tsan'), which reports any data race these tests reach.

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "helpers.hpp"

using namespace xgrad;

BOOST_AUTO_TEST_SUITE(threads)

// xgrad's former node pool took an ended thread's leftover region without checking that the block
// fitted in it: this loop (the reproduction from the report) aborted with "corrupted double-linked
// list". Kept as a stress test of the allocator that replaced it.
BOOST_AUTO_TEST_CASE(threads_that_end_and_start_do_not_corrupt_the_pool) {
    std::vector<Tensor> keep;
    for (int m = 1; m < 400; ++m) {
        std::thread a([&] {
            for (int i = 0; i < m; ++i) keep.push_back(constant(Array::scalar(1)));
        });
        a.join();
        std::thread b([&] {
            for (int i = 0; i < 3; ++i) keep.push_back(constant(Array::scalar(1)));
        });
        b.join();
    }
    for (const Tensor& t : keep) BOOST_REQUIRE(t.item() == 1.0);
    // Every node is intact: write and read each through its own value.
    for (Tensor& t : keep) t.mutable_value().set_flat(0, 2.0);
    double total = 0;
    for (const Tensor& t : keep) total += t.item();
    BOOST_TEST(total == 2.0 * static_cast<double>(keep.size()));
}

namespace {

/// A small dropout net trained for `steps` SGD steps from the calling thread's generator.
std::vector<double> train(std::uint64_t seed_value, int steps) {
    seed(seed_value);
    Linear l1(4, 8), l2(8, 1);
    Tensor X = constant(randn({4, 32})), Y = constant(rand({1, 32}));
    SGD sgd({l1.weight, l1.bias, l2.weight, l2.bias}, 0.1);
    for (int i = 0; i < steps; ++i) {
        Tensor h = dropout(relu(l1(X)), {.keep_prob = 0.8});
        Tensor cost = mean(square(sigmoid(l2(h)) - Y));
        sgd.zero_grad();
        cost.backward();
        sgd.step();
    }
    std::vector<double> out = l1.weight.value().to_vector();
    for (double v : l2.weight.value().to_vector()) out.push_back(v);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_threads_training_independent_models_match_the_single_threaded_runs) {
    const std::vector<double> alone_1 = train(1, 200), alone_2 = train(2, 200);
    std::vector<double> threaded_1, threaded_2;
    std::thread a([&] { threaded_1 = train(1, 200); });
    std::thread b([&] { threaded_2 = train(2, 200); });
    a.join();
    b.join();
    BOOST_TEST(threaded_1 == alone_1);  // bit for bit
    BOOST_TEST(threaded_2 == alone_2);
    BOOST_TEST(alone_1 != alone_2);
}

BOOST_AUTO_TEST_CASE(the_module_level_generator_is_per_thread) {
    seed(7);
    const double main_first = randn({1}).item();
    std::vector<double> other;
    std::thread t([&] {
        seed(123);
        for (int i = 0; i < 1000; ++i) other.push_back(rand({1}).item());
    });
    seed(7);
    std::vector<double> mine;
    for (int i = 0; i < 1000; ++i) mine.push_back(randn({1}).item());
    t.join();
    BOOST_TEST(mine.front() == main_first);  // untouched by the other thread's seed and draws
    seed(123);
    for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(rand({1}).item() == other[static_cast<std::size_t>(i)]);
}

BOOST_AUTO_TEST_CASE(backward_on_two_threads_into_one_parameter_loses_no_update) {
    Tensor w = parameter(Array({3}, {1.0, 2.0, 3.0}), "w");
    const Array c({3}, {0.5, -1.0, 2.0});
    constexpr int per_thread = 3000;
    auto work = [&] {
        for (int i = 0; i < per_thread; ++i) sum(w * constant(c)).backward();
    };
    std::thread a(work), b(work);
    a.join();
    b.join();
    for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(w.grad().flat(i) == 2.0 * per_thread * c.flat(i));
}

BOOST_AUTO_TEST_CASE(a_graph_shared_by_two_threads_backward_with_retain_graph_is_exact) {
    Tensor w = parameter(Array({2}, {0.3, -0.7}), "w");
    Tensor x = constant(Array({2}, {1.5, 2.0}));
    Tensor h = tanh(w * x);  // the shared inner node
    Tensor loss_a = sum(h * constant(Array({2}, {1.0, 1.0})));
    Tensor loss_b = sum(h * constant(Array({2}, {2.0, -1.0})));
    constexpr int rounds = 500;
    std::thread a([&] {
        for (int i = 0; i < rounds; ++i) loss_a.backward({.retain_graph = true});
    });
    std::thread b([&] {
        for (int i = 0; i < rounds; ++i) loss_b.backward({.retain_graph = true});
    });
    a.join();
    b.join();
    for (std::size_t i = 0; i < 2; ++i) {
        const double wi = w.value().flat(i), xi = x.value().flat(i), t = std::tanh(wi * xi);
        const double per_round = (1.0 + (i == 0 ? 2.0 : -1.0)) * (1 - t * t) * xi;
        BOOST_TEST(w.grad().flat(i) == rounds * per_round, boost::test_tools::tolerance(1e-12));
    }
}

BOOST_AUTO_TEST_CASE(graphs_built_on_many_threads_at_once_stay_intact) {
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t)
        workers.emplace_back([&, t] {
            for (int step = 0; step < 300; ++step) {
                Tensor x = parameter(Array({8}, std::vector<double>(8, 1.0 + t)));
                Tensor y = sum(relu(x * x) + x);
                y.backward();
                for (std::size_t i = 0; i < 8; ++i)
                    if (x.grad().flat(i) != 2.0 * (1.0 + t) + 1.0) ++failures;
            }
        });
    for (auto& w : workers) w.join();
    BOOST_TEST(failures.load() == 0);
}

// parallel_for: every index exactly once, whatever the thread count; ranges at least `grain` long;
// an exception from a range reaches the caller after all ranges end; the workers do run ranges;
// nested and concurrent calls (four user threads, each with its own loops) run and stay exact; and
// changing the thread count between loops, thousands of times, neither hangs nor loses a range.
BOOST_AUTO_TEST_CASE(parallel_for_covers_every_index_once_on_any_thread_count) {
    const std::size_t before = num_threads();
    for (std::size_t threads : {1, 2, 3, 5}) {
        set_num_threads(threads);
        BOOST_TEST(num_threads() == threads);
        for (std::size_t n : {0, 1, 7, 100, 1000, 100003}) {
            std::vector<std::atomic<int>> hits(n);
            std::atomic<std::size_t> shortest{n};
            std::atomic<int> empty_ranges{0};  // counted, not asserted: Boost.Test's macros are not thread-safe
            parallel_for(n, 10, [&](std::size_t begin, std::size_t end) {
                empty_ranges.fetch_add(begin >= end);
                for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
                std::size_t s = shortest.load();
                while (end - begin < s && !shortest.compare_exchange_weak(s, end - begin)) {}
            });
            BOOST_TEST(empty_ranges.load() == 0);
            for (std::size_t i = 0; i < n; ++i) BOOST_REQUIRE(hits[i].load() == 1);
            if (n >= 10) BOOST_TEST(shortest.load() >= 10u);
        }
    }
    set_num_threads(before);
}

BOOST_AUTO_TEST_CASE(parallel_for_splits_work_and_rethrows_a_ranges_exception) {
    const std::size_t before = num_threads();
    set_num_threads(2);
    std::atomic<int> ranges{0};
    parallel_for(1000, 100, [&](std::size_t, std::size_t) { ranges.fetch_add(1); });
    BOOST_TEST(ranges.load() > 1);  // split, not run as one range
    std::atomic<int> ran{0};
    BOOST_CHECK_THROW(parallel_for(1000, 100,
                                   [&](std::size_t begin, std::size_t) {
                                       ran.fetch_add(1);
                                       if (begin == 0) throw ValueError("range 0");
                                   }),
                      ValueError);
    BOOST_TEST(ran.load() == ranges.load());  // every range ran before the rethrow
    set_num_threads(before);
}

BOOST_AUTO_TEST_CASE(parallel_for_runs_ranges_on_the_workers) {
    const std::size_t before = num_threads();
    set_num_threads(2);
    // The caller's first range waits (up to 10 s) for a range to run on another thread: with a
    // working pool the worker wakes and takes the rest; without one, the wait times out.
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<bool> ran_elsewhere{false};
    parallel_for(8, 1, [&](std::size_t, std::size_t) {
        if (std::this_thread::get_id() != caller) {
            ran_elsewhere = true;
            return;
        }
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!ran_elsewhere && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    BOOST_TEST(ran_elsewhere.load());
    set_num_threads(before);
}

// parallel_for_with_blas: OpenBLAS runs one thread while the ranges run side by side (each range's
// gemms on its own thread), and gets the configured count back afterwards — also when a range throws,
// and a count set meanwhile; num_threads() keeps answering the configured count during the job; a
// loop that runs serially leaves OpenBLAS's threads to its body's gemms.
BOOST_AUTO_TEST_CASE(parallel_for_with_blas_gives_each_range_one_blas_thread_and_restores_the_count) {
    const std::size_t before = num_threads();
    if (!set_num_threads(2)) {
        BOOST_TEST_MESSAGE("the BLAS library is not OpenBLAS: nothing to switch");
        set_num_threads(before);
        return;
    }
    std::atomic<std::size_t> most_blas{0}, least_configured{99}, ranges{0};
    auto record = [&](std::size_t, std::size_t) {
        std::size_t seen = detail::blas_library_threads(), was = most_blas.load();
        while (seen > was && !most_blas.compare_exchange_weak(was, seen)) {
        }
        std::size_t configured = num_threads(), low = least_configured.load();
        while (configured < low && !least_configured.compare_exchange_weak(low, configured)) {
        }
        ranges.fetch_add(1);
    };
    parallel_for_with_blas(8, 1, record);
    BOOST_TEST(ranges.load() > 1u);  // the loop did split
    BOOST_TEST(most_blas.load() == 1u);
    BOOST_TEST(least_configured.load() == 2u);
    BOOST_TEST(detail::blas_library_threads() == 2u);
    BOOST_CHECK_THROW(parallel_for_with_blas(8, 1, [](std::size_t, std::size_t) { throw ValueError("a range failed"); }),
                      ValueError);
    BOOST_TEST(detail::blas_library_threads() == 2u);
    // set_num_threads during a job: OpenBLAS gets the new count when the job ends
    parallel_for_with_blas(8, 1, [&](std::size_t begin, std::size_t) {
        if (begin == 0) set_num_threads(3);
    });
    BOOST_TEST(detail::blas_library_threads() == 3u);
    BOOST_TEST(num_threads() == 3u);
    set_num_threads(2);
    const bool loops = detail::set_parallel_loops(false);
    most_blas = 0, ranges = 0;
    parallel_for_with_blas(8, 1, record);
    detail::set_parallel_loops(loops);
    BOOST_TEST(ranges.load() == 1u);
    BOOST_TEST(most_blas.load() == 2u);
    set_num_threads(before);
}

BOOST_AUTO_TEST_CASE(changing_the_thread_count_between_loops_neither_hangs_nor_loses_a_range) {
    const std::size_t before = num_threads();
    std::size_t total = 0;
    for (int i = 0; i < 3000; ++i) {
        set_num_threads(i % 2 == 0 ? 2 : 3);
        std::atomic<std::size_t> sum{0};
        parallel_for(64, 1, [&](std::size_t begin, std::size_t end) { sum.fetch_add(end - begin); });
        total += sum.load();
    }
    BOOST_TEST(total == 3000u * 64u);
    set_num_threads(before);
}

BOOST_AUTO_TEST_CASE(nested_and_concurrent_parallel_for_are_exact) {
    const std::size_t before = num_threads();
    set_num_threads(2);
    auto sum_of_squares = [](std::size_t n) {
        std::vector<double> partial(n, 0.0);
        parallel_for(n, 64, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                double inner = 0;  // a nested loop: serial inside a body
                std::vector<double> row(8, 0.0);
                parallel_for(8, 1, [&](std::size_t b, std::size_t e) {
                    for (std::size_t j = b; j < e; ++j) row[j] = static_cast<double>(i);
                });
                for (double v : row) inner += v * v;
                partial[i] = inner;
            }
        });
        double total = 0;
        for (double v : partial) total += v;
        return total;
    };
    const double expected = sum_of_squares(2000);
    std::vector<double> results(4, 0.0);
    std::vector<std::thread> users;
    for (std::size_t t = 0; t < results.size(); ++t)
        users.emplace_back([&, t] {
            for (int r = 0; r < 20; ++r) results[t] = sum_of_squares(2000);
        });
    for (std::thread& u : users) u.join();
    for (double r : results) BOOST_TEST(r == expected);
    set_num_threads(before);
}

BOOST_AUTO_TEST_SUITE_END()
