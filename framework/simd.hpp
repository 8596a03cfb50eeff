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
