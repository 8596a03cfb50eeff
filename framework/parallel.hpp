#pragma once
// Threads. One knob, set_num_threads, sets both the BLAS library's threads (when it is OpenBLAS)
// and xgrad's own, so the two never ask for more cores than the user gave: xgrad's threads only
// split element-wise loops over large tensors (a 256 × 1024 activation, an optimiser step over a
// million weights), the work that would otherwise run on one core while the BLAS threads idle.
//
// Splitting an element-wise loop does not change a single bit of its result, and reductions are
// split by whole rows, each summed by one thread in its usual order: results are the same for any
// thread count.

#include <cstddef>
#include <memory>
#include <type_traits>

namespace xgrad {

/// Threads for BLAS and for xgrad's large element-wise loops (n ≥ 1; ValueError otherwise).
/// Default: the BLAS library's count (OpenBLAS: its own default or OPENBLAS_NUM_THREADS), else the
/// number of cores.
void set_num_threads(std::size_t n);
std::size_t num_threads();

namespace detail {

/// Elements below which a loop stays on the calling thread (waking a thread costs microseconds).
inline constexpr std::size_t parallel_grain = 32768;

/// Calls body(begin, end) on contiguous ranges covering [0, n), concurrently when n is large
/// enough (≥ 2 · grain) and xgrad has more than one thread; each range except the last is a
/// multiple of `align` long. Returns when every range is done. Runs inline when called from
/// inside another parallel_for or while another thread uses the pool.
void parallel_for_impl(std::size_t n, std::size_t grain, std::size_t align, void (*body)(void*, std::size_t, std::size_t),
                       void* context);

template <class F>
void parallel_for(std::size_t n, F&& body, std::size_t grain = parallel_grain, std::size_t align = 64) {
    if (n < 2 * grain) {
        body(std::size_t{0}, n);
        return;
    }
    using Body = std::remove_reference_t<F>;
    parallel_for_impl(
        n, grain, align, [](void* f, std::size_t begin, std::size_t end) { (*static_cast<Body*>(f))(begin, end); },
        const_cast<void*>(static_cast<const void*>(std::addressof(body))));
}

}  // namespace detail
}  // namespace xgrad
