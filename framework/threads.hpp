#pragma once
// Threads. Matrix products run on the BLAS library's threads, except where xgrad spreads many small
// products over its own (conv2d's gemm per image, parallel_for_with_blas). xgrad's own large loops
// (im2col and col2im, pooling, activations over big tensors, optimiser updates) run on the calling
// thread and a few workers of xgrad's own, through parallel_for.
//
// The workers sleep on a condition variable between loops and never spin: OpenBLAS's idle threads
// spin (calling sched_yield) for a while after every gemm, and a pool that also spun would take the
// cores the next gemm needs. A yielding OpenBLAS thread gives its core to a woken worker at once.
// What the workers give is measured in the same run as the CNN step itself (BM_CnnStepSerialLoops,
// docs/performance.md).
//
// set_num_threads is the one knob: it sets OpenBLAS's thread count when xgrad runs on OpenBLAS, and
// parallel_for uses as many threads (the caller included).

#include <algorithm>
#include <cstddef>

namespace xgrad {

/// Threads for matrix products and xgrad's parallel loops (n ≥ 1; ValueError otherwise). Returns
/// false when the BLAS library in use is not OpenBLAS (its thread count is then left alone). Set
/// while a parallel_for_with_blas job runs, OpenBLAS gets the new count when the job ends.
bool set_num_threads(std::size_t n);
/// The thread count set_num_threads set last; before any call, OpenBLAS's own (1 when the BLAS
/// library is another).
std::size_t num_threads();

/// The grain of an element-wise loop's parallel_for: 32 Ki elements, some 10 µs of memory
/// traffic, several times the cost of waking a worker. Smaller loops stay on the calling thread.
inline constexpr std::size_t elements_per_task = std::size_t{1} << 15;

/// The first index of range `index` of `count` near-equal ranges over [0, n) (the first n % count
/// ranges one longer): how parallel_for cuts its chunks, and conv2d the parts of a batch.
inline std::size_t chunk_begin(std::size_t index, std::size_t count, std::size_t n) {
    return index * (n / count) + std::min(index, n % count);
}

namespace detail {
using ChunkBody = void (*)(const void* body, std::size_t begin, std::size_t end);
void run_chunks(std::size_t n, std::size_t grain, ChunkBody call, const void* body, bool bodies_call_blas = false);
/// Benchmarks' switch: false makes every parallel_for run on its calling thread (the BLAS threads
/// are left as they are). Returns the previous setting.
bool set_parallel_loops(bool on);
/// run_chunks with `body` called through a plain function pointer (parallel_for and
/// parallel_for_with_blas).
template <class Body>
void run_body(std::size_t n, std::size_t grain, const Body& body, bool bodies_call_blas) {
    run_chunks(
        n, grain,
        [](const void* b, std::size_t begin, std::size_t end) { (*static_cast<const Body*>(b))(begin, end); },
        &body, bodies_call_blas);
}
/// OpenBLAS's own thread count at this moment (1 while a parallel_for_with_blas job runs), 0 when
/// the BLAS library is not OpenBLAS. For tests.
std::size_t blas_library_threads();
}  // namespace detail

/// Calls body(begin, end) on disjoint ranges that together cover [0, n), each at least `grain` long
/// (except when n itself is shorter; none when n is 0), on the calling thread and xgrad's workers;
/// returns when all are done. Runs body(0, n) on the calling thread alone when n < 2·grain, when
/// num_threads() is 1, inside another parallel_for's body, or while another thread's parallel_for
/// holds the workers. body must not depend on how the range is split. The first exception a range
/// throws is rethrown here, after every range has ended.
template <class Body>
void parallel_for(std::size_t n, std::size_t grain, const Body& body) {
    detail::run_body(n, grain, body, false);
}

/// parallel_for for bodies that call BLAS (a gemm per image of a batch): while the ranges run on
/// several threads, OpenBLAS runs each product on the thread that calls it (its thread count is 1 until
/// the last such loop ends, then set_num_threads' count again, also when a range throws), so the
/// products of different ranges run side by side instead of queueing for OpenBLAS's threads. When
/// the loop runs serially (parallel_for's conditions), the body's products run on OpenBLAS's threads
/// as configured. A product's last bits can depend on how many threads ran it (OpenBLAS blocks a long
/// sum differently when threaded): on the workers, each product runs on one thread whatever the
/// thread count. With another BLAS library the products run on its threads as it is set up.
template <class Body>
void parallel_for_with_blas(std::size_t n, std::size_t grain, const Body& body) {
    detail::run_body(n, grain, body, true);
}

}  // namespace xgrad
