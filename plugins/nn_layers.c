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
