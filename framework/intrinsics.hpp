#pragma once
// Hand-written AVX-512 kernels (framework/random.cpp, ops/dropout.cpp) sit beside the portable loops
// and run only where a run-time CPU check allows. XGRAD_X86_INTRINSICS says whether they are compiled
// (not under ThreadSanitizer, whose build defines XGRAD_NO_MULTIVERSIONING); XGRAD_V4 marks a
// function compiled for the x86-64-v4 level (AVX-512 F/BW/DQ/VL with FMA). Internal: not installed.

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(XGRAD_NO_MULTIVERSIONING)
#define XGRAD_X86_INTRINSICS 1
#define XGRAD_V4 __attribute__((target("arch=x86-64-v4"))) inline
#if defined(__clang__)
#include <immintrin.h>
#else
// GCC 12 warns falsely (-Wmaybe-uninitialized, -Wuninitialized) inside avx512fintrin.h's
// _mm512_undefined operands (`__m512i __Y = __Y;`).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
#else
#define XGRAD_X86_INTRINSICS 0
#endif
