#include "framework/intrinsics.hpp"

#include <atomic>

#include "framework/kernels.hpp"

// The switch for the hand-written AVX-512 kernels, in a file of its own: framework/random.cpp uses it
// and is built without the rest of the kernel layer (and without BLAS) for the fuzz targets.
namespace xgrad::kernels {

namespace {
std::atomic<bool> portable_kernels_only{false};
}  // namespace

bool avx512_kernels_enabled() {
#if XGRAD_X86_INTRINSICS
    // x86-64-v4's AVX-512 subsets and FMA, named one by one (clang 14 knows no "x86-64-v4" here).
    static const bool cpu_has_v4 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                   __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    return cpu_has_v4 && !portable_kernels_only.load(std::memory_order_relaxed);
#else
    return false;
#endif
}

void use_portable_kernels(bool portable) { portable_kernels_only.store(portable, std::memory_order_relaxed); }

}  // namespace xgrad::kernels
