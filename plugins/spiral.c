/* spiral.c — CS231n's spiral generator (see spiral.h). */
#include "spiral.h"

#include <math.h>
#include <stdlib.h>

/* A private splitmix64 + Box-Muller generator, so the data set depends on
 * nothing but its seed. */
typedef struct sp_rng {
  uint64_t state;
  int has_spare;
  double spare;
} sp_rng;

static uint64_t sp_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Each use of randomness gets its own stream, so e.g. the projection for
 * D > 2 leaves the 2-D points the same as for D = 2. */
static void sp_seed(sp_rng *r, uint64_t seed, uint64_t stream) {
  r->state = sp_mix(seed ^ sp_mix(stream + 0x5851F42D4C957F2Du));
  r->has_spare = 0;
  r->spare = 0;
}

static uint64_t sp_next(sp_rng *r) {
  r->state += 0x9E3779B97F4A7C15u;
  return sp_mix(r->state);
}

static double sp_uniform(sp_rng *r) {
  return (double)(sp_next(r) >> 11) * 0x1p-53;
}

static double sp_gauss(sp_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u1 = 1.0 - sp_uniform(r); /* (0, 1]: the logarithm stays finite */
  double u2 = sp_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  double ang = 6.283185307179586476925 * u2;
  r->spare = rad * sin(ang);
  r->has_spare = 1;
  return rad * cos(ang);
}

enum { STREAM_ANGLE = 1, STREAM_MATRIX, STREAM_NOISE, STREAM_SHUFFLE,
       STREAM_BARS };

size_t spiral_n_val(size_t total, double val) {
  if (!(val > 0))
    return 0;
  double v = floor(val * (double)total + 0.5);
  return v >= (double)total ? total : (size_t)v;
}

/* linspace(lo, hi, n)[i], as numpy computes it for n == 1 too. */
static double linspace(double lo, double hi, size_t n, size_t i) {
  return n > 1 ? lo + (hi - lo) * (double)i / (double)(n - 1) : lo;
}

int spiral_make(size_t K, size_t N, size_t D, uint64_t seed, double *x,
                int32_t *label) {
  size_t total = K * N;
  size_t *perm = malloc((total ? total : 1) * sizeof *perm);
  double *M = D > 2 ? malloc(D * 2 * sizeof *M) : NULL;
  if (!perm || (D > 2 && !M)) {
    free(perm);
    free(M);
    return -1;
  }

  /* Example e (in class order) goes to row perm[e]: Fisher-Yates. */
  sp_rng shuf;
  sp_seed(&shuf, seed, STREAM_SHUFFLE);
  for (size_t e = 0; e < total; e++)
    perm[e] = e;
  for (size_t e = total; e > 1; e--) {
    size_t k = (size_t)(sp_next(&shuf) % e);
    size_t tmp = perm[e - 1];
    perm[e - 1] = perm[k];
    perm[k] = tmp;
  }

  sp_rng angle, noise;
  sp_seed(&angle, seed, STREAM_ANGLE);
  sp_seed(&noise, seed, STREAM_NOISE);
  if (M) {
    sp_rng mat;
    sp_seed(&mat, seed, STREAM_MATRIX);
    for (size_t k = 0; k < D * 2; k++)
      M[k] = sp_gauss(&mat);
  }

  for (size_t j = 0; j < K; j++) {
    for (size_t i = 0; i < N; i++) {
      size_t e = j * N + i;
      double r = linspace(0, 1, N, i);
      double t = linspace(4.0 * (double)j, 4.0 * (double)(j + 1), N, i) +
                 0.2 * sp_gauss(&angle);
      double p0 = r * sin(t), p1 = r * cos(t);
      double *row = x + perm[e] * D;
      if (M) {
        for (size_t d = 0; d < D; d++)
          row[d] = M[d * 2] * p0 + M[d * 2 + 1] * p1 + 0.01 * sp_gauss(&noise);
      } else {
        row[0] = p0;
        row[1] = p1;
      }
      label[perm[e]] = (int32_t)j;
    }
  }
  free(perm);
  free(M);
  return 0;
}

int bars_make(size_t K, size_t N, size_t C, size_t S, uint64_t seed,
              double *x, int32_t *label) {
  size_t total = K * N, D = C * S * S;
  size_t *perm = malloc((total ? total : 1) * sizeof *perm);
  if (!perm)
    return -1;
  sp_rng shuf, g;
  sp_seed(&shuf, seed, STREAM_SHUFFLE);
  sp_seed(&g, seed, STREAM_BARS);
  for (size_t e = 0; e < total; e++)
    perm[e] = e;
  for (size_t e = total; e > 1; e--) {
    size_t k = (size_t)(sp_next(&shuf) % e);
    size_t tmp = perm[e - 1];
    perm[e - 1] = perm[k];
    perm[k] = tmp;
  }
  const double pi = 3.14159265358979323846;
  double c0 = 0.5 * (double)(S - 1);
  for (size_t j = 0; j < K; j++) {
    for (size_t i = 0; i < N; i++) {
      size_t e = j * N + i;
      double th = pi * (double)j / (double)K +
                  (sp_uniform(&g) - 0.5) * 0.5 * pi / (double)K;
      double off = (sp_uniform(&g) - 0.5) * 0.5 * (double)S;
      double w = 0.6 + 0.6 * sp_uniform(&g);
      double amp = 0.5 + 0.5 * sp_uniform(&g);
      double nx = -sin(th), ny = cos(th); /* normal to the bar */
      double *row = x + perm[e] * D;
      for (size_t c = 0; c < C; c++) {
        double gain = 0.5 + 0.5 * sp_uniform(&g);
        for (size_t y = 0; y < S; y++)
          for (size_t xx = 0; xx < S; xx++) {
            double d = ((double)xx - c0) * nx + ((double)y - c0) * ny - off;
            row[(c * S + y) * S + xx] =
                amp * gain * exp(-d * d / (2 * w * w)) + 0.3 * sp_gauss(&g);
          }
      }
      label[perm[e]] = (int32_t)j;
    }
  }
  free(perm);
  return 0;
}
