/* hard_layers.c — layers people get wrong, one per build, each with its bug
 * twins.
 *
 * Built once per plugin with -DHL_LAYER=N and -DHL_BUG=B (hard_layers.h):
 *   1 conv2d     2-D convolution on im2col + gemm    blocks W, b
 *   2 maxpool2   2x2 max-pool, stride 2; quantized inputs with ties
 *   3 relu       ReLU; quantized inputs with exact zeros
 *   4 batchnorm  normalisation per feature over the batch (coupled)
 *   5 layernorm  normalisation per example over its features
 *   6 softmax    y = softmax(x) per example
 *   7 attention  single-head scaled dot-product self-attention
 * A bug id names its layer; building it into another is an error.  The
 * bugs themselves are in hard_kernels_impl.h, except the batch statistics of
 * bug_norm_batchstats, which is a choice of groups made here. */
#include "hard_layers.h"

#include <math.h>
#include <string.h>

#ifndef HL_LAYER
#error "build with -DHL_LAYER=1..7"
#endif

/* ---- names: the layer's, or its bug twin's ------------------------------ */

#if HL_LAYER == HL_LAYER_CONV2D
#define LAYER_NAME "conv2d"
#define LAYER_SUMMARY                                                          \
  "2-D convolution, NCHW, zero padding and stride, on im2col + OpenBLAS "     \
  "gemm: W [cout,cin,k,k], b [cout]"
#define LAYER_HELP                                                             \
  "cin=2 cout=3 h=6 w=6 k=3 stride=1 pad=1 (pad < k) dtype=double|float "    \
  "scale=auto|STD (auto: sqrt(1/(cin k k))) init_seed=1; W, b ~ N(0, "       \
  "scale^2)"
#elif HL_LAYER == HL_LAYER_MAXPOOL2
#define LAYER_NAME "maxpool2"
#define LAYER_SUMMARY                                                          \
  "2x2 max-pool, stride 2, dy to the first maximum of each window; draws "   \
  "quantized inputs (5 levels 0.5 apart) so that windows tie"
#define LAYER_HELP                                                             \
  "c=2 h=6 w=6 dtype=double|float levels=5 step=0.5 (inputs drawn from "     \
  "levels values step apart, centred on 0; levels=0: Gaussian)"
#elif HL_LAYER == HL_LAYER_RELU
#define LAYER_NAME "relu_zeros"
#define LAYER_SUMMARY                                                          \
  "ReLU on inputs with exact zeros (3 levels 0.5 apart), relu'(0) = 0"
#define LAYER_HELP                                                             \
  "dim=24 dtype=double|float levels=3 step=0.5 (inputs drawn from levels "   \
  "values step apart, centred on 0; levels=0: Gaussian)"
#elif HL_LAYER == HL_LAYER_BATCHNORM
#define LAYER_NAME "batchnorm"
#define LAYER_SUMMARY                                                          \
  "batch normalization in training mode: mean and variance of each feature " \
  "over the batch (examples coupled, declared), gamma and beta per feature"
#define LAYER_HELP                                                             \
  "dim=8 eps=1e-5 dtype=double|float scale=auto|STD (auto: 0.1) "            \
  "init_seed=1; gamma ~ N(1, scale^2), beta ~ N(0, scale^2)"
#elif HL_LAYER == HL_LAYER_LAYERNORM
#define LAYER_NAME "layernorm"
#define LAYER_SUMMARY                                                          \
  "layer normalization: mean and variance of each example over its "         \
  "features, gamma and beta per feature"
#define LAYER_HELP                                                             \
  "dim=8 eps=1e-5 dtype=double|float scale=auto|STD (auto: 0.1) "            \
  "init_seed=1; gamma ~ N(1, scale^2), beta ~ N(0, scale^2)"
#elif HL_LAYER == HL_LAYER_SOFTMAX
#define LAYER_NAME "softmax"
#define LAYER_SUMMARY "softmax over the features of each example, y = softmax(x)"
#define LAYER_HELP "dim=6 dtype=double|float"
#elif HL_LAYER == HL_LAYER_ATTENTION
#define LAYER_NAME "attention"
#define LAYER_SUMMARY                                                          \
  "single-head self-attention per example, y = softmax(Q K^T / sqrt(d)) V "  \
  "Wo with Q, K, V = x Wq, x Wk, x Wv (OpenBLAS gemm)"
#define LAYER_HELP                                                             \
  "T=4 dmodel=6 d=4 (input and output [T,dmodel]) dtype=double|float "       \
  "scale=auto|STD (auto: sqrt(1/dmodel) for Wq Wk Wv, sqrt(1/d) for Wo) "    \
  "init_seed=1"
#else
#error "HL_LAYER must be 1..7"
#endif

#if HL_BUG == 0
#define BUG_LAYER HL_LAYER
#elif HL_BUG == HL_BUG_CONV2D_NOFLIP
#define BUG_LAYER HL_LAYER_CONV2D
#define BUG_NAME "bug_conv2d_noflip"
#define BUG_SUMMARY                                                            \
  "conv2d whose input gradient convolves dy with the kernel transposed over " \
  "channels but not rotated by 180 degrees"
#elif HL_BUG == HL_BUG_CONV2D_BORDER
#define BUG_LAYER HL_LAYER_CONV2D
#define BUG_NAME "bug_conv2d_border"
#define BUG_SUMMARY                                                            \
  "conv2d whose weight gradient reads the zero padding as the nearest edge " \
  "pixel (clamped im2col): only dW is wrong, only through the border"
#elif HL_BUG == HL_BUG_MAXPOOL_ALLTIED
#define BUG_LAYER HL_LAYER_MAXPOOL2
#define BUG_NAME "bug_maxpool_alltied"
#define BUG_SUMMARY                                                            \
  "2x2 max-pool whose backward routes dy to every element equal to the "     \
  "window maximum (wrong on ties); draws quantized inputs so that windows tie"
#elif HL_BUG == HL_BUG_LAYERNORM_NOMEAN
#define BUG_LAYER HL_LAYER_LAYERNORM
#define BUG_NAME "bug_layernorm_nomean"
#define BUG_SUMMARY                                                            \
  "layernorm whose input gradient misses the mean(dxhat*xhat)*xhat term"
#elif HL_BUG == HL_BUG_NORM_BATCHSTATS
#define BUG_LAYER HL_LAYER_LAYERNORM
#define BUG_NAME "bug_norm_batchstats"
#define BUG_SUMMARY                                                            \
  "per-example norm declaring examples independent that takes mean and "     \
  "variance over the whole batch; its gradient is consistent"
#elif HL_BUG == HL_BUG_SOFTMAX_DIAG
#define BUG_LAYER HL_LAYER_SOFTMAX
#define BUG_NAME "bug_softmax_diag"
#define BUG_SUMMARY                                                            \
  "softmax whose backward keeps only the diagonal p(1-p) of the Jacobian"
#elif HL_BUG == HL_BUG_ATTENTION_SCALE
#define BUG_LAYER HL_LAYER_ATTENTION
#define BUG_NAME "bug_attention_scale"
#define BUG_SUMMARY                                                            \
  "attention whose key gradient dK misses the 1/sqrt(d) factor that dQ has"
#else
#error "HL_BUG must be 0..7"
#endif

#if BUG_LAYER != HL_LAYER
#error "HL_BUG names a bug of another layer than HL_LAYER"
#endif

#ifndef HL_NAME
#if HL_BUG
#define HL_NAME BUG_NAME
#else
#define HL_NAME LAYER_NAME
#endif
#endif
#ifndef HL_SUMMARY
#if HL_BUG
#define HL_SUMMARY BUG_SUMMARY
#else
#define HL_SUMMARY LAYER_SUMMARY
#endif
#endif
#ifndef HL_DEFAULT_ARGS
#define HL_DEFAULT_ARGS ""
#endif

#define KEY_DTYPE {"dtype", HL_ARG_DTYPE, 0, 0, 0}
#define KEY_SCALE {"scale", HL_ARG_SCALE, 0, 0, 0}
#define KEY_SEED {"init_seed", HL_ARG_SEED, 0, 0, 0}
#define KEY_LEVELS {"levels", HL_ARG_LEVELS, 0, 0, 1000}
#define KEY_STEP {"step", HL_ARG_STEP, 0, 0, 1e3}
#define KEY_END {NULL, 0, 0, 0, 0}

/* ---- conv2d --------------------------------------------------------------- */
#if HL_LAYER == HL_LAYER_CONV2D
enum { CIN, COUT, H, W, KSIZE, STRIDE, PAD };
static const hl_key layer_keys[] = {
    {"cin", HL_ARG_INT, CIN, 1, 1024},   {"cout", HL_ARG_INT, COUT, 1, 1024},
    {"h", HL_ARG_INT, H, 1, 4096},       {"w", HL_ARG_INT, W, 1, 4096},
    {"k", HL_ARG_INT, KSIZE, 1, 15},     {"stride", HL_ARG_INT, STRIDE, 1, 15},
    {"pad", HL_ARG_INT, PAD, 0, 14},     KEY_DTYPE,
    KEY_SCALE,                           KEY_SEED,
    KEY_END};
#define LAYER_DEFAULTS "cin=2 cout=3 h=6 w=6 k=3 stride=1 pad=1"

static hl_conv_geom geom(const hl_layer *ly) {
  hl_conv_geom g = {ly->iv[CIN], ly->iv[COUT], ly->iv[H],     ly->iv[W],
                    ly->iv[KSIZE], ly->iv[STRIDE], ly->iv[PAD], 0, 0};
  g.ho = (g.h + 2 * g.pad - g.k) / g.stride + 1;
  g.wo = (g.w + 2 * g.pad - g.k) / g.stride + 1;
  return g;
}

static int layer_setup(hl_layer *ly, char *err, size_t errlen) {
  size_t k = ly->iv[KSIZE], pad = ly->iv[PAD];
  if (pad >= k) {
    hl_err(err, errlen, "pad=%zu: must be below k=%zu (wider padding makes "
           "output pixels that see nothing but padding)", pad, k);
    return -1;
  }
  if (ly->iv[H] + 2 * pad < k || ly->iv[W] + 2 * pad < k) {
    hl_err(err, errlen, "a %zux%zu input padded by %zu is smaller than the "
           "%zux%zu kernel", ly->iv[H], ly->iv[W], pad, k, k);
    return -1;
  }
  hl_conv_geom g = geom(ly);
  hl_set_shape(ly->in_shape, &ly->in_ndim, g.cin, g.h, g.w);
  hl_set_shape(ly->out_shape, &ly->out_ndim, g.cout, g.ho, g.wo);
  hl_add_block(ly, "W", g.cout, g.cin, k, k);
  hl_add_block(ly, "b", g.cout, 0, 0, 0);
  return 0;
}

static void layer_init(hl_layer *ly, nn_rng *rng, double std) {
  if (!(std > 0))
    std = sqrt(1.0 / (double)(ly->iv[CIN] * ly->iv[KSIZE] * ly->iv[KSIZE]));
  hl_fill_gauss(ly, hl_block_data(ly, 0), ly->blocks[0].count, rng, 0, std);
  hl_fill_gauss(ly, hl_block_data(ly, 1), ly->blocks[1].count, rng, 0, std);
}

/* x, then the kernels' tmp */
static size_t layer_scratch(const hl_layer *ly, size_t n) {
  hl_conv_geom g = geom(ly);
  return n * ly->in_count + hl_conv_bwd_tmp(&g);
}

static void layer_forward(hl_layer *ly, const void *x, void *y, size_t n) {
  hl_conv_geom g = geom(ly);
  memcpy(ly->scratch, x, n * ly->in_count * ly->elem);
  HL_CALL(ly, hl_conv_fwd, &g, x, hl_block_data(ly, 0), hl_block_data(ly, 1),
          y, n, hl_scratch_at(ly, n * ly->in_count));
}

static void layer_backward(hl_layer *ly, const void *dy, void *dx,
                           void *const *grads) {
  hl_conv_geom g = geom(ly);
  HL_CALL(ly, hl_conv_bwd, &g, ly->scratch, hl_block_data(ly, 0), dy, dx,
          grads[0], grads[1], ly->n, hl_scratch_at(ly, ly->n * ly->in_count));
}
#define LAYER_INIT layer_init
#define LAYER_REINIT hl_reinit
#define LAYER_WINNERS NULL
#define LAYER_SAMPLE NULL

/* ---- maxpool2 -------------------------------------------------------------- */
#elif HL_LAYER == HL_LAYER_MAXPOOL2
enum { C, H, W };
static const hl_key layer_keys[] = {{"c", HL_ARG_INT, C, 1, 4096},
                                    {"h", HL_ARG_INT, H, 2, 4096},
                                    {"w", HL_ARG_INT, W, 2, 4096},
                                    KEY_DTYPE,
                                    KEY_LEVELS,
                                    KEY_STEP,
                                    KEY_END};
#define LAYER_DEFAULTS "c=2 h=6 w=6 levels=5 step=0.5"

static int layer_setup(hl_layer *ly, char *err, size_t errlen) {
  (void)err, (void)errlen;
  hl_set_shape(ly->in_shape, &ly->in_ndim, ly->iv[C], ly->iv[H], ly->iv[W]);
  hl_set_shape(ly->out_shape, &ly->out_ndim, ly->iv[C], ly->iv[H] / 2,
            ly->iv[W] / 2);
  return 0;
}

static size_t layer_scratch(const hl_layer *ly, size_t n) {
  return n * ly->in_count; /* x: backward finds the winners again */
}

static void layer_forward(hl_layer *ly, const void *x, void *y, size_t n) {
  memcpy(ly->scratch, x, n * ly->in_count * ly->elem);
  HL_CALL(ly, hl_maxpool_fwd, x, y, n, ly->iv[C], ly->iv[H], ly->iv[W],
          &ly->win);
}

static void layer_backward(hl_layer *ly, const void *dy, void *dx,
                           void *const *grads) {
  (void)grads;
  HL_CALL(ly, hl_maxpool_bwd, ly->scratch, dy, dx, ly->n, ly->iv[C],
          ly->iv[H], ly->iv[W]);
}
#define LAYER_INIT NULL
#define LAYER_REINIT NULL
#define LAYER_WINNERS hl_winners
#define LAYER_SAMPLE hl_sample_input

/* ---- relu ------------------------------------------------------------------ */
#elif HL_LAYER == HL_LAYER_RELU
enum { DIM };
static const hl_key layer_keys[] = {{"dim", HL_ARG_INT, DIM, 1, 1 << 24},
                                    KEY_DTYPE, KEY_LEVELS, KEY_STEP, KEY_END};
#define LAYER_DEFAULTS "dim=24 levels=3 step=0.5"

static int layer_setup(hl_layer *ly, char *err, size_t errlen) {
  (void)err, (void)errlen;
  hl_set_shape(ly->in_shape, &ly->in_ndim, ly->iv[DIM], 0, 0);
  hl_set_shape(ly->out_shape, &ly->out_ndim, ly->iv[DIM], 0, 0);
  return 0;
}

static size_t layer_scratch(const hl_layer *ly, size_t n) {
  return n * ly->in_count; /* y: positive exactly where x is */
}

static void layer_forward(hl_layer *ly, const void *x, void *y, size_t n) {
  ly->ops->relu_fwd(x, y, n * ly->in_count, &ly->win);
  memcpy(ly->scratch, y, n * ly->in_count * ly->elem);
}

static void layer_backward(hl_layer *ly, const void *dy, void *dx,
                           void *const *grads) {
  (void)grads;
  ly->ops->relu_bwd(ly->scratch, dy, dx, ly->n * ly->in_count);
}
#define LAYER_INIT NULL
#define LAYER_REINIT NULL
#define LAYER_WINNERS hl_winners
#define LAYER_SAMPLE hl_sample_input

/* ---- batchnorm and layernorm ----------------------------------------------- */
#elif HL_LAYER == HL_LAYER_BATCHNORM || HL_LAYER == HL_LAYER_LAYERNORM
enum { DIM };
enum { EPS };
static const hl_key layer_keys[] = {{"dim", HL_ARG_INT, DIM, 1, 1 << 20},
                                    {"eps", HL_ARG_REAL, EPS, 0, 1},
                                    KEY_DTYPE,
                                    KEY_SCALE,
                                    KEY_SEED,
                                    KEY_END};
#define LAYER_DEFAULTS "dim=8 eps=1e-5"

#if HL_LAYER == HL_LAYER_BATCHNORM
#define NORM_AXIS HL_NORM_BATCH
#define NORM_COUPLED 1
#elif HL_BUG == HL_BUG_NORM_BATCHSTATS
/* bug: meant per example, as declared, but normalised over the whole batch */
#define NORM_AXIS HL_NORM_ALL
#define NORM_COUPLED 0
#else
#define NORM_AXIS HL_NORM_EXAMPLE
#define NORM_COUPLED 0
#endif

static int layer_setup(hl_layer *ly, char *err, size_t errlen) {
  (void)err, (void)errlen;
  size_t D = ly->iv[DIM];
  hl_set_shape(ly->in_shape, &ly->in_ndim, D, 0, 0);
  hl_set_shape(ly->out_shape, &ly->out_ndim, D, 0, 0);
  ly->coupled = NORM_COUPLED;
  hl_add_block(ly, "gamma", D, 0, 0, 0);
  hl_add_block(ly, "beta", D, 0, 0, 0);
  return 0;
}

/* Not gamma = 1, beta = 0: a gradient that mixes up the two, or features,
 * must not be hidden by a symmetric start. */
static void layer_init(hl_layer *ly, nn_rng *rng, double std) {
  if (!(std > 0))
    std = 0.1;
  hl_fill_gauss(ly, hl_block_data(ly, 0), ly->iv[DIM], rng, 1, std);
  hl_fill_gauss(ly, hl_block_data(ly, 1), ly->iv[DIM], rng, 0, std);
}

/* xhat, then 1/std of each group */
static size_t layer_scratch(const hl_layer *ly, size_t n) {
  size_t D = ly->iv[DIM];
  size_t groups = NORM_AXIS == HL_NORM_BATCH     ? D
                  : NORM_AXIS == HL_NORM_EXAMPLE ? n
                                                 : 1;
  return n * D + groups;
}

static void layer_forward(hl_layer *ly, const void *x, void *y, size_t n) {
  size_t D = ly->iv[DIM];
  HL_CALL(ly, hl_norm_fwd, x, hl_block_data(ly, 0), hl_block_data(ly, 1), y,
          ly->scratch, hl_scratch_at(ly, n * D), n, D, NORM_AXIS, ly->rv[EPS]);
}

static void layer_backward(hl_layer *ly, const void *dy, void *dx,
                           void *const *grads) {
  size_t D = ly->iv[DIM];
  HL_CALL(ly, hl_norm_bwd, ly->scratch, hl_scratch_at(ly, ly->n * D),
          hl_block_data(ly, 0), dy, dx, grads[0], grads[1], ly->n, D,
          NORM_AXIS);
}
#define LAYER_INIT layer_init
#define LAYER_REINIT hl_reinit
#define LAYER_WINNERS NULL
#define LAYER_SAMPLE NULL

/* ---- softmax ----------------------------------------------------------------- */
#elif HL_LAYER == HL_LAYER_SOFTMAX
enum { DIM };
static const hl_key layer_keys[] = {{"dim", HL_ARG_INT, DIM, 2, 1 << 20},
                                    KEY_DTYPE, KEY_END};
#define LAYER_DEFAULTS "dim=6"

static int layer_setup(hl_layer *ly, char *err, size_t errlen) {
  (void)err, (void)errlen;
  hl_set_shape(ly->in_shape, &ly->in_ndim, ly->iv[DIM], 0, 0);
  hl_set_shape(ly->out_shape, &ly->out_ndim, ly->iv[DIM], 0, 0);
  return 0;
}

static size_t layer_scratch(const hl_layer *ly, size_t n) {
  return n * ly->in_count; /* y */
}

static void layer_forward(hl_layer *ly, const void *x, void *y, size_t n) {
  HL_CALL(ly, hl_softmax_fwd, x, y, n, ly->iv[DIM]);
  memcpy(ly->scratch, y, n * ly->in_count * ly->elem);
}

static void layer_backward(hl_layer *ly, const void *dy, void *dx,
                           void *const *grads) {
  (void)grads;
  HL_CALL(ly, hl_softmax_bwd, ly->scratch, dy, dx, ly->n, ly->iv[DIM]);
}
#define LAYER_INIT NULL
#define LAYER_REINIT NULL
#define LAYER_WINNERS NULL
#define LAYER_SAMPLE NULL

/* ---- attention --------------------------------------------------------------- */
#elif HL_LAYER == HL_LAYER_ATTENTION
enum { TLEN, DMODEL, DHEAD };
static const hl_key layer_keys[] = {{"T", HL_ARG_INT, TLEN, 1, 1024},
                                    {"dmodel", HL_ARG_INT, DMODEL, 1, 4096},
                                    {"d", HL_ARG_INT, DHEAD, 1, 4096},
                                    KEY_DTYPE,
                                    KEY_SCALE,
                                    KEY_SEED,
                                    KEY_END};
#define LAYER_DEFAULTS "T=4 dmodel=6 d=4"

static hl_attn_geom geom(const hl_layer *ly) {
  hl_attn_geom g = {ly->iv[TLEN], ly->iv[DMODEL], ly->iv[DHEAD]};
  return g;
}

static int layer_setup(hl_layer *ly, char *err, size_t errlen) {
  (void)err, (void)errlen;
  hl_attn_geom g = geom(ly);
  hl_set_shape(ly->in_shape, &ly->in_ndim, g.T, g.dm, 0);
  hl_set_shape(ly->out_shape, &ly->out_ndim, g.T, g.dm, 0);
  hl_add_block(ly, "Wq", g.dm, g.d, 0, 0);
  hl_add_block(ly, "Wk", g.dm, g.d, 0, 0);
  hl_add_block(ly, "Wv", g.dm, g.d, 0, 0);
  hl_add_block(ly, "Wo", g.d, g.dm, 0, 0);
  return 0;
}

static void layer_init(hl_layer *ly, nn_rng *rng, double std) {
  double s_in = std > 0 ? std : sqrt(1.0 / (double)ly->iv[DMODEL]);
  double s_out = std > 0 ? std : sqrt(1.0 / (double)ly->iv[DHEAD]);
  for (size_t i = 0; i < 4; i++)
    hl_fill_gauss(ly, hl_block_data(ly, i), ly->blocks[i].count, rng, 0,
                  i < 3 ? s_in : s_out);
}

/* the forward cache of each example, then backward's tmp */
static size_t layer_scratch(const hl_layer *ly, size_t n) {
  hl_attn_geom g = geom(ly);
  return n * hl_attn_cache(&g) + hl_attn_tmp(&g);
}

static void layer_forward(hl_layer *ly, const void *x, void *y, size_t n) {
  hl_attn_geom g = geom(ly);
  HL_CALL(ly, hl_attn_fwd, &g, x, hl_block_data(ly, 0), hl_block_data(ly, 1),
          hl_block_data(ly, 2), hl_block_data(ly, 3), y, n, ly->scratch);
}

static void layer_backward(hl_layer *ly, const void *dy, void *dx,
                           void *const *grads) {
  hl_attn_geom g = geom(ly);
  HL_CALL(ly, hl_attn_bwd, &g, hl_block_data(ly, 0), hl_block_data(ly, 1),
          hl_block_data(ly, 2), hl_block_data(ly, 3), dy, dx, grads[0],
          grads[1], grads[2], grads[3], ly->n, ly->scratch,
          hl_scratch_at(ly, ly->n * hl_attn_cache(&g)));
}
#define LAYER_INIT layer_init
#define LAYER_REINIT hl_reinit
#define LAYER_WINNERS NULL
#define LAYER_SAMPLE NULL
#endif

/* ---- the descriptor ------------------------------------------------------ */

const hl_def hl_this = {
    .name = HL_NAME,
    .keys = layer_keys,
    .defaults = LAYER_DEFAULTS,
    .config_args = HL_DEFAULT_ARGS,
    .setup = layer_setup,
    .init = LAYER_INIT,
    .scratch = layer_scratch,
    .forward = layer_forward,
    .backward = layer_backward,
};

static const nnc_plugin hl_plugin = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_LAYER,
    .name = HL_NAME,
    .summary = HL_SUMMARY,
    .args_help = LAYER_HELP,
    .create = hl_create,
    .destroy = hl_destroy,
    .num_blocks = hl_num_blocks,
    .get_block = hl_get_block,
    .layer_info = hl_layer_info,
    .forward = hl_forward,
    .layer_backward = hl_backward,
    .winners = LAYER_WINNERS,
    .reinit = LAYER_REINIT,
    .clone = hl_clone,
    .sample_input = LAYER_SAMPLE,
};

NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void);
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &hl_plugin; }
