#pragma once
// Threads. xgrad's parallelism is the BLAS library's: matrix products run on its threads, xgrad's
// own loops on the calling thread. (A pool of xgrad's own for large element-wise loops was built and
// measured: no gain on the MLP step at batch 256 or 4096, because OpenBLAS's threads spin between
// gemms and hold the other cores — docs/performance.md. One pool, the BLAS one.)
//
// set_num_threads is the one knob: it sets OpenBLAS's thread count when xgrad runs on OpenBLAS,
// without the script having to link or declare OpenBLAS's own functions.

#include <cstddef>

namespace xgrad {

/// Threads for matrix products (n ≥ 1; ValueError otherwise). A no-op returning false when the
/// BLAS library in use is not OpenBLAS.
bool set_num_threads(std::size_t n);
/// The BLAS library's thread count (1 when it cannot be asked).
std::size_t num_threads();

}  // namespace xgrad
