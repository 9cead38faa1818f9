/* nn_layers.c — the random-number helpers and both element types' kernels.
 * The kernels themselves are in nn_layers_impl.h, included once per type. */
#include "nn_layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void nn_rng_seed(nn_rng *r, uint64_t state) {
  r->state = state;
  r->has_spare = 0;
  r->spare = 0;
}

uint64_t nn_rng_next(nn_rng *r) {
  r->state += NN_GOLDEN;
  return nn_mix64(r->state);
}

double nn_rng_uniform(nn_rng *r) {
  return (double)(nn_rng_next(r) >> 11) * 0x1p-53;
}

double nn_rng_gauss(nn_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  /* Box-Muller; u1 in (0, 1] keeps the logarithm finite. */
  double u1 = 1.0 - nn_rng_uniform(r);
  double u2 = nn_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  double ang = 6.283185307179586476925 * u2;
  r->spare = rad * sin(ang);
  r->has_spare = 1;
  return rad * cos(ang);
}


/* ---- ReLU in SSE2 vectors (baseline on x86-64) --------------------------
 * A ReLU's units are on or off at random: scalar code pays a compare, a
 * select and a fingerprint bit per unit.  Two doubles or four floats at a
 * time: max(x, +0) (the second operand when equal or unordered, so -0 and
 * NaN become +0, as the scalar x > 0 ? x : +0), the decisions x > 0 as
 * mask bits, the exact zeros counted.  Elsewhere the scalar loops run. */
#ifdef __SSE2__
#include <emmintrin.h>
#define NN_HAVE_SSE2 1
static unsigned nn_bits2(int m) { return (unsigned)(m & 1) + (unsigned)((m >> 1) & 1); }
static unsigned nn_bits4(int m) { return nn_bits2(m) + nn_bits2(m >> 2); }

/* 64 units: y = relu(x) (y may be x), *won the decisions, *ties the zeros */
static void relu64_f64(const double *x, double *y, uint64_t *won,
                       uint64_t *ties) {
  const __m128d z = _mm_setzero_pd();
  uint64_t w = 0, t = 0;
  for (unsigned j = 0; j < 64; j += 2) {
    __m128d v = _mm_loadu_pd(x + j);
    w |= (uint64_t)_mm_movemask_pd(_mm_cmpgt_pd(v, z)) << j;
    t += nn_bits2(_mm_movemask_pd(_mm_cmpeq_pd(v, z)));
    _mm_storeu_pd(y + j, _mm_max_pd(v, z));
  }
  *won = w;
  *ties = t;
}

static void relu64_f32(const float *x, float *y, uint64_t *won,
                       uint64_t *ties) {
  const __m128 z = _mm_setzero_ps();
  uint64_t w = 0, t = 0;
  for (unsigned j = 0; j < 64; j += 4) {
    __m128 v = _mm_loadu_ps(x + j);
    w |= (uint64_t)_mm_movemask_ps(_mm_cmpgt_ps(v, z)) << j;
    t += nn_bits4(_mm_movemask_ps(_mm_cmpeq_ps(v, z)));
    _mm_storeu_ps(y + j, _mm_max_ps(v, z));
  }
  *won = w;
  *ties = t;
}

#else
#define NN_HAVE_SSE2 0
#endif

/* ---- ReLU with its decisions in AVX-512 masks --------------------------
 * Where the processor has AVX-512 (asked at each call), eight units a step
 * and a masked last step: y = max(x (+ b), +0), the decisions x > 0 and
 * the exact zeros as the SSE2 loops take them, for n <= 64 units. */
#if defined(__x86_64__) && defined(__GNUC__) && NN_HAVE_SSE2
#include <immintrin.h>
#define NN_HAVE_AVX512_RELU 1
__attribute__((target("avx512f,popcnt"))) static void
relun_avx512_f64(const double *x, const double *b, double *y, size_t n,
                 uint64_t *won, uint64_t *ties) {
  const __m512d z = _mm512_setzero_pd();
  uint64_t w = 0, t = 0;
  if (n == 64) {
    /* whole vectors, constant shifts, the ties' masks counted once */
#pragma GCC unroll 8
    for (unsigned j = 0; j < 64; j += 8) {
      __m512d v = _mm512_loadu_pd(x + j);
      if (b)
        v = _mm512_add_pd(v, _mm512_loadu_pd(b + j));
      w |= (uint64_t)_mm512_cmp_pd_mask(v, z, _CMP_GT_OQ) << j;
      t |= (uint64_t)_mm512_cmp_pd_mask(v, z, _CMP_EQ_OQ) << j;
      _mm512_storeu_pd(y + j, _mm512_max_pd(v, z));
    }
    *won = w;
    *ties = (uint64_t)__builtin_popcountll(t);
    return;
  }
  for (unsigned j = 0; j < n; j += 8) {
    __mmask8 m = n - j >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - j)) - 1);
    __m512d v = _mm512_maskz_loadu_pd(m, x + j);
    if (b)
      v = _mm512_add_pd(v, _mm512_maskz_loadu_pd(m, b + j));
    w |= (uint64_t)_mm512_mask_cmp_pd_mask(m, v, z, _CMP_GT_OQ) << j;
    t |= (uint64_t)_mm512_mask_cmp_pd_mask(m, v, z, _CMP_EQ_OQ) << j;
    _mm512_mask_storeu_pd(y + j, m, _mm512_max_pd(v, z));
  }
  *won = w;
  *ties = (uint64_t)__builtin_popcountll(t);
}

__attribute__((target("avx512f,popcnt"))) static void
relun_avx512_f32(const float *x, const float *b, float *y, size_t n,
                 uint64_t *won, uint64_t *ties) {
  const __m512 z = _mm512_setzero_ps();
  uint64_t w = 0, t = 0;
  if (n == 64) {
#pragma GCC unroll 4
    for (unsigned j = 0; j < 64; j += 16) {
      __m512 v = _mm512_loadu_ps(x + j);
      if (b)
        v = _mm512_add_ps(v, _mm512_loadu_ps(b + j));
      w |= (uint64_t)_mm512_cmp_ps_mask(v, z, _CMP_GT_OQ) << j;
      t |= (uint64_t)_mm512_cmp_ps_mask(v, z, _CMP_EQ_OQ) << j;
      _mm512_storeu_ps(y + j, _mm512_max_ps(v, z));
    }
    *won = w;
    *ties = (uint64_t)__builtin_popcountll(t);
    return;
  }
  for (unsigned j = 0; j < n; j += 16) {
    __mmask16 m =
        n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(m, x + j);
    if (b)
      v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + j));
    w |= (uint64_t)_mm512_mask_cmp_ps_mask(m, v, z, _CMP_GT_OQ) << j;
    t |= (uint64_t)_mm512_mask_cmp_ps_mask(m, v, z, _CMP_EQ_OQ) << j;
    _mm512_mask_storeu_ps(y + j, m, _mm512_max_ps(v, z));
  }
  *won = w;
  *ties = (uint64_t)__builtin_popcountll(t);
}

static int nn_avx512(void) {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt");
}
#else
#define NN_HAVE_AVX512_RELU 0
#endif

/* ---- vectors of 64 bytes, and clones of the loops that use them ---------
 * NN_CLONES builds a function for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 and
 * FMA) and the baseline, the best the processor runs chosen when the plugin
 * is loaded.  Lanes and the order of operations are fixed by the source (the
 * vectors are 64 bytes in every clone); the v3 and v4 clones fuse a
 * multiply and an add into one rounding, so on one machine the result never
 * changes, while machines of different levels may differ in the last bits,
 * as OpenBLAS's own kernels do. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#if defined(__clang__)
#define NN_CLONES                                                              \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif __GNUC__ >= 12
#define NN_CLONES                                                              \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), \
                 optimize("fp-contract=fast")))
#endif
#endif
#endif
#ifndef NN_CLONES
#define NN_CLONES
#endif
typedef double nn_vec_f64 __attribute__((vector_size(64)));
typedef float nn_vec_f32 __attribute__((vector_size(64)));
typedef int64_t nn_ivec_f64 __attribute__((vector_size(64)));
typedef int32_t nn_ivec_f32 __attribute__((vector_size(64)));
/* eight floats, at a float's alignment: the halves sums of squares widen */
typedef float nn_half_f32
    __attribute__((vector_size(32), aligned(4), may_alias));
/* the same, at any element's alignment, for loads and stores */
typedef double nn_uvec_f64
    __attribute__((vector_size(64), aligned(8), may_alias));
typedef float nn_uvec_f32
    __attribute__((vector_size(64), aligned(4), may_alias));

#define NN_REAL double
#define NN_VEC nn_vec_f64
#define NN_UVEC nn_uvec_f64
#define NN_IVEC nn_ivec_f64
#define NN_IS_FLOAT 0
#define NN_SFX _f64
#define NN_GEMM cblas_dgemm
#define NN_EXP exp
#define NN_LOG log
#define NN_TANH tanh
#include "nn_layers_impl.h"
#undef NN_REAL
#undef NN_VEC
#undef NN_UVEC
#undef NN_IVEC
#undef NN_IS_FLOAT
#undef NN_SFX
#undef NN_GEMM
#undef NN_EXP
#undef NN_LOG
#undef NN_TANH

#define NN_REAL float
#define NN_VEC nn_vec_f32
#define NN_UVEC nn_uvec_f32
#define NN_IVEC nn_ivec_f32
#define NN_IS_FLOAT 1
#define NN_SFX _f32
#define NN_GEMM cblas_sgemm
#define NN_EXP expf
#define NN_LOG logf
#define NN_TANH tanhf
#include "nn_layers_impl.h"
#undef NN_REAL
#undef NN_SFX
#undef NN_GEMM
#undef NN_EXP
#undef NN_LOG
#undef NN_TANH
