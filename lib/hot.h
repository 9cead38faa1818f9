/* hot.h — code generation for the loops a training step runs over every
 * element of every block (the update rules, the gradient scan), shared by
 * the files of lib/ only.
 *
 * NNCI_UNROLL(n) before a loop of n iterations over independent lanes (n
 * partial sums, say) asks GCC to unroll it whole, so that the lanes live in
 * vector registers instead of an array in memory.  Other compilers unroll
 * such loops on their own and get nothing.
 *
 * NNCI_X86 is 1 where optim.c may build its update loops for AVX2 beside
 * the baseline (x86-64 with GCC or Clang: target attributes, intrinsics
 * and __builtin_cpu_supports) and pick one at run time; 0 elsewhere, or
 * when NNC_NO_SIMD is defined. */
#ifndef NNC_HOT_H
#define NNC_HOT_H

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define NNCI_PRAGMA(x) _Pragma(#x)
#define NNCI_UNROLL(n) NNCI_PRAGMA(GCC unroll n)
#else
#define NNCI_UNROLL(n)
#endif

#if defined(__GNUC__) && defined(__x86_64__) && !defined(NNC_NO_SIMD)
#define NNCI_X86 1
#else
#define NNCI_X86 0
#endif

#endif
