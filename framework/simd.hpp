#pragma once
// XGRAD_VECTOR_CLONES on a hot loop's function compiles it twice — for AVX2 and for the x86-64
// baseline — and lets the loader pick one per CPU (GCC/Clang function multiversioning). One portable
// binary thus gets 8-lane code where the CPU has it, without -march=native. Only plain, vectorisable
// loops go in such functions; their results are the same bits on either path (integer work, or
// IEEE operations the baseline also performs one lane at a time: no FMA contraction is enabled by
// "avx2" alone).

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(XGRAD_NO_MULTIVERSIONING)
#define XGRAD_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define XGRAD_VECTOR_CLONES
#endif
