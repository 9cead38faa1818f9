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

/* dx = y > 0 ? dy : +0 over the first count & ~3 elements; returns them */
static size_t relu_bwd_vec_f64(const double *y, const double *dy, double *dx,
                               size_t count) {
  const __m128d z = _mm_setzero_pd();
  size_t k = 0;
  for (; k + 2 <= count; k += 2)
    _mm_storeu_pd(dx + k, _mm_and_pd(_mm_loadu_pd(dy + k),
                                     _mm_cmpgt_pd(_mm_loadu_pd(y + k), z)));
  return k;
}

static size_t relu_bwd_vec_f32(const float *y, const float *dy, float *dx,
                               size_t count) {
  const __m128 z = _mm_setzero_ps();
  size_t k = 0;
  for (; k + 4 <= count; k += 4)
    _mm_storeu_ps(dx + k, _mm_and_ps(_mm_loadu_ps(dy + k),
                                     _mm_cmpgt_ps(_mm_loadu_ps(y + k), z)));
  return k;
}
#else
#define NN_HAVE_SSE2 0
#endif

#define NN_REAL double
#define NN_SFX _f64
#define NN_GEMM cblas_dgemm
#define NN_EXP exp
#define NN_LOG log
#define NN_TANH tanh
#include "nn_layers_impl.h"
#undef NN_REAL
#undef NN_SFX
#undef NN_GEMM
#undef NN_EXP
#undef NN_LOG
#undef NN_TANH

#define NN_REAL float
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
