/* hard_kernels.c — both element types' kernels of hard_layers.h, and the
 * scratch sizes they need.  The kernels themselves are in
 * hard_kernels_impl.h, included once per type. */
#include "hard_layers.h"

#include <cblas.h>
#include <math.h>

size_t hl_conv_fwd_tmp(const hl_conv_geom *g) {
  return g->cin * g->k * g->k * g->ho * g->wo;
}

size_t hl_conv_bwd_tmp(const hl_conv_geom *g) {
  size_t kk = g->k * g->k;
  return hl_conv_fwd_tmp(g) +                           /* im2col of x */
         g->cout * (g->h + g->k - 1) * (g->w + g->k - 1) + /* dilated dy */
         g->cout * kk * g->h * g->w +                   /* its im2col */
         g->cin * g->cout * kk;                         /* rotated W */
}

size_t hl_attn_cache(const hl_attn_geom *g) {
  return g->T * g->dm + 4 * g->T * g->d + g->T * g->T; /* X Q K V A, P */
}

size_t hl_attn_tmp(const hl_attn_geom *g) {
  return 4 * g->T * g->d + g->T * g->T; /* dA dQ dK dV, dP */
}

#define HL_REAL double
#define HL_SFX _f64
#define HL_GEMM cblas_dgemm
#define HL_EXP exp
#define HL_SQRT sqrt
#include "hard_kernels_impl.h"
#undef HL_REAL
#undef HL_SFX
#undef HL_GEMM
#undef HL_EXP
#undef HL_SQRT

#define HL_REAL float
#define HL_SFX _f32
#define HL_GEMM cblas_sgemm
#define HL_EXP expf
#define HL_SQRT sqrtf
#include "hard_kernels_impl.h"
#undef HL_REAL
#undef HL_SFX
#undef HL_GEMM
#undef HL_EXP
#undef HL_SQRT
