#pragma once
// XGRAD_VECTOR_CLONES on a hot loop's function compiles it three times — for the x86-64-v4 (AVX-512)
// and x86-64-v3 (AVX2, FMA, BMI2) micro-architecture levels and the x86-64 baseline — and lets the
// loader pick one per CPU by its features (GCC/Clang function multiversioning). One
// portable binary thus gets 16- or 8-lane code where the CPU has it, without -march=native. Only
// plain, vectorisable loops go in such functions, and their results are the same bits on every
// path: the library is compiled with -ffp-contract=off (CMakeLists.txt), so no clone fuses a·b + c
// into an FMA that the baseline rounds twice.

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(XGRAD_NO_MULTIVERSIONING)
#define XGRAD_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
// Bit counting: the x86-64 baseline has no popcnt instruction, and std::popcount then becomes a
// call into libgcc's table-driven __popcountdi2.
#define XGRAD_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define XGRAD_VECTOR_CLONES
#define XGRAD_POPCNT_CLONES
#endif

#include <bit>
#include <cstdint>
#include <type_traits>

namespace xgrad::simd {

/// The unsigned integer as wide as the float T, for branch-free masking in vectorised loops.
template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

/// All ones if `on`, all zeros if not: a lane mask built without a branch.
template <class T>
[[gnu::always_inline]] inline Bits<T> all_ones_if(bool on) {
    return Bits<T>{0} - static_cast<Bits<T>>(on);
}

/// x where `keep` is all ones, exactly +0 where it is all zeros, whatever x is (inf, NaN): a bitwise
/// and, so a loop of them vectorises where a select around arithmetic would branch.
template <class T>
[[gnu::always_inline]] inline T kept_or_zero(T x, Bits<T> keep) {
    return std::bit_cast<T>(std::bit_cast<Bits<T>>(x) & keep);
}

/// ReLU's rule, shared by relu and the ops that fuse it (conv2d_relu, linear_relu_dropout): x passes
/// unless x ≤ 0. A NaN passes, as in numpy's maximum(0, Z) and PyTorch's relu: a diverging net's
/// NaN reaches its loss instead of becoming 0 at the first ReLU. −0 does not pass (+0 out).
template <class T>
[[gnu::always_inline]] inline Bits<T> relu_passes(T x) {
    return all_ones_if<T>(!(x <= T(0)));
}

}  // namespace xgrad::simd
