/* hard_layers.h — layers people get wrong: the frame every one of them shares
 * and the kernels they compute with.
 *
 * One layer source (hard_layers.c), many plugins.  Each plugin is built with
 *   -DHL_LAYER=<id>   the layer (HL_LAYER_* below)
 *   -DHL_BUG=<id>     0: the correct layer; otherwise the one bug built in
 *                     (HL_BUG_* below), so that a bug twin and the correct
 *                     plugin differ by exactly that bug
 *   -DHL_NAME, -DHL_SUMMARY, -DHL_DEFAULT_ARGS   optional: a named
 *                     configuration (its descriptor name, one line saying
 *                     what it is, arguments parsed before the user's)
 *
 * The frame (hard_frame.c) implements the plugin callbacks once: argument
 * parsing, parameter blocks, scratch, clone, reinit, winners and seeded
 * quantized inputs.  A layer is a table of what differs (hl_def): its keys,
 * how its shapes and blocks follow from them, initialisation, forward and
 * backward.  The kernels (hard_kernels_impl.h) exist for double (_f64) and
 * float (_f32), made from one source, like those of nn_layers.h; every bug
 * switch sits at the line where the bug lives.
 */
#ifndef NNC_PLUGINS_HARD_LAYERS_H
#define NNC_PLUGINS_HARD_LAYERS_H

#include <nncheck/plugin.h>

#include "nn_layers.h"

#include <stddef.h>
#include <stdint.h>

#define HL_LAYER_CONV2D 1
#define HL_LAYER_MAXPOOL2 2
#define HL_LAYER_RELU 3
#define HL_LAYER_BATCHNORM 4
#define HL_LAYER_LAYERNORM 5
#define HL_LAYER_SOFTMAX 6
#define HL_LAYER_ATTENTION 7

#define HL_BUG_CONV2D_NOFLIP 1     /* dx: kernel not rotated by 180 degrees */
#define HL_BUG_CONV2D_BORDER 2     /* dW: padding read as clamped pixels */
#define HL_BUG_MAXPOOL_ALLTIED 3   /* dy to every element equal to the max */
#define HL_BUG_LAYERNORM_NOMEAN 4  /* dx misses mean(dxhat*xhat)*xhat */
#define HL_BUG_NORM_BATCHSTATS 5   /* per-example norm with batch statistics */
#define HL_BUG_SOFTMAX_DIAG 6      /* only the Jacobian's diagonal */
#define HL_BUG_ATTENTION_SCALE 7   /* dK without the 1/sqrt(d) factor */

#ifndef HL_BUG
#define HL_BUG 0
#endif

/* ---- the frame -------------------------------------------------------- */

#define HL_MAX_BLOCKS 4
#define HL_MAX_INTS 8
#define HL_MAX_REALS 4

/* Kinds of argument values. */
enum hl_arg_kind {
  HL_ARG_INT = 1,   /* an integer in [lo, hi], stored in iv[slot] */
  HL_ARG_REAL = 2,  /* a number in (lo, hi], stored in rv[slot] */
  HL_ARG_DTYPE = 3, /* double or float */
  HL_ARG_SCALE = 4, /* auto or a weight standard deviation > 0 */
  HL_ARG_SEED = 5,  /* init_seed: an integer in [0, 2^64) */
  HL_ARG_LEVELS = 6, /* quantized inputs: levels, an integer in [lo, hi] */
  HL_ARG_STEP = 7   /* quantized inputs: step, a number in (lo, hi] */
};

typedef struct hl_key {
  const char *name; /* NULL ends a key table */
  int kind;         /* enum hl_arg_kind */
  int slot;         /* index into iv or rv (HL_ARG_INT, HL_ARG_REAL) */
  double lo, hi;    /* accepted range */
} hl_key;

/* One parameter block: `count` elements at `offset` in the parameter
 * buffer. */
typedef struct hl_blockdef {
  const char *name;
  size_t count, offset;
  uint32_t ndim;
  size_t shape[NNC_MAX_DIMS];
} hl_blockdef;

typedef struct hl_def hl_def;

/* One instance.  The frame owns everything here; a layer's callbacks read
 * its arguments and write shapes and blocks (setup) or buffers (the rest). */
typedef struct hl_layer {
  const nn_ops *ops;  /* nn_layers kernels of the element type */
  int is_float;
  size_t elem;        /* sizeof one element */
  size_t iv[HL_MAX_INTS];   /* integer arguments, by slot */
  double rv[HL_MAX_REALS];  /* real arguments, by slot */
  double scale;       /* weight standard deviation; 0: the layer's default */
  uint64_t init_seed;
  size_t levels;      /* quantized inputs: this many levels (0: Gaussian) */
  double step;        /* ... this far apart, centred on 0 */
  /* set by setup() */
  uint32_t in_ndim, out_ndim;
  size_t in_shape[NNC_MAX_DIMS], out_shape[NNC_MAX_DIMS];
  size_t in_count, out_count; /* elements of one example */
  uint32_t coupled;
  size_t nblocks;
  hl_blockdef blocks[HL_MAX_BLOCKS];
  size_t nparams;     /* elements over all blocks */
  void *params;
  /* the last forward() */
  void *scratch;      /* what backward needs, and room to compute it */
  size_t scratch_cap; /* elements scratch holds */
  size_t n;           /* its batch size */
  int have_fwd;
  nn_winners win;
} hl_layer;

/* What makes a layer this layer. */
struct hl_def {
  const char *name;        /* the descriptor's, for messages */
  const hl_key *keys;      /* the accepted keys, NULL-terminated */
  const char *defaults;    /* the layer's default arguments */
  const char *config_args; /* a named configuration's, parsed next */
  /* Shapes, coupling and blocks from the arguments; 0 or -1 with err. */
  int (*setup)(hl_layer *ly, char *err, size_t errlen);
  /* Draw the parameters; std > 0 is the weight scale, 0 the default. */
  void (*init)(hl_layer *ly, nn_rng *rng, double std);
  /* Elements of scratch a batch of n needs. */
  size_t (*scratch)(const hl_layer *ly, size_t n);
  void (*forward)(hl_layer *ly, const void *x, void *y, size_t n);
  void (*backward)(hl_layer *ly, const void *dy, void *dx,
                   void *const *grads);
};

/* The layer this plugin is (hard_layers.c). */
extern const hl_def hl_this;

/* Block i's values. */
void *hl_block_data(const hl_layer *ly, size_t i);
/* Element `off` of scratch, as the kernels take it. */
void *hl_scratch_at(const hl_layer *ly, size_t off);
/* A shape of up to three dimensions; trailing zeros are absent. */
void hl_set_shape(size_t *shape, uint32_t *ndim, size_t a, size_t b,
                  size_t c);
/* Declares the next block (setup); trailing zero dimensions are absent. */
void hl_add_block(hl_layer *ly, const char *name, size_t a, size_t b,
                  size_t c, size_t d);
/* Writes "NAME: " and the message into err. */
void hl_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* count draws of N(mean, std^2) into elements of the layer's type. */
void hl_fill_gauss(const hl_layer *ly, void *dst, size_t count, nn_rng *rng,
                   double mean, double std);

/* The plugin callbacks (plugin.h documents them). */
void *hl_create(const char *args, char *err, size_t errlen);
void hl_destroy(void *self);
size_t hl_num_blocks(void *self);
int hl_get_block(void *self, size_t i, nnc_block *out);
int hl_layer_info(void *self, nnc_layer_info *out);
int hl_forward(void *self, const void *x, void *y, size_t n, uint64_t seed,
               uint32_t flags, char *err, size_t errlen);
int hl_backward(void *self, const void *dy, void *dx, void *const *grads,
                char *err, size_t errlen);
int hl_winners(void *self, nnc_winners *out);
int hl_reinit(void *self, uint64_t seed, double scale, char *err,
              size_t errlen);
void *hl_clone(void *self, char *err, size_t errlen);
/* Quantized inputs: levels values `step` apart, centred on 0, so that exact
 * ties and exact zeros are common; levels = 0 draws N(0, 1). */
int hl_sample_input(void *self, void *x, size_t n, uint64_t seed, char *err,
                    size_t errlen);

/* ---- kernels -------------------------------------------------------------
 * Conventions of nn_layers.h: row-major, a batch is n examples one after
 * the other, outputs ASSIGNED, parameter gradients summed over the batch.
 *
 * conv: x [cin,h,w] -> y [cout,ho,wo] per example, W [cout,cin,k,k], zero
 *   padding `pad` on every side, ho = (h + 2 pad - k) / stride + 1.  Forward
 *   is im2col then y = W col + b.  Backward: dW = dy col^T, db = sums of dy,
 *   and dx as the transposed convolution: dy dilated by the stride and
 *   padded by k-1-pad, convolved (im2col, gemm) with W rotated by 180
 *   degrees and transposed over channels.  Needs pad < k.
 * maxpool: 2x2 windows, stride 2, over x [c,h,w]; a trailing odd row or
 *   column is outside every window.  Each window is a decision: its first
 *   maximum in scan order (a tie when two or more equal it); backward routes
 *   dy to that one element.
 * norm: groups of elements normalised to mean 0, variance 1 (biased, plus
 *   eps), then y = gamma[j] xhat + beta[j] for feature j.  The groups are
 *   per feature over the batch (HL_NORM_BATCH), per example over the
 *   features (HL_NORM_EXAMPLE) or the whole batch (HL_NORM_ALL).  Forward
 *   keeps xhat and 1/std per group for backward.
 * softmax: y = softmax(x) over the D features of each example; backward
 *   takes y.
 * attention: per example, X [T,dm]: Q, K, V = X Wq, X Wk, X Wv [T,d];
 *   P = softmax(Q K^T / sqrt(d)) by rows; A = P V; Y = A Wo [T,dm].
 *   Forward keeps X, Q, K, V, P and A in cache; backward needs tmp.
 */
enum hl_norm_axis { HL_NORM_BATCH = 1, HL_NORM_EXAMPLE = 2, HL_NORM_ALL = 3 };

typedef struct hl_conv_geom {
  size_t cin, cout, h, w, k, stride, pad, ho, wo;
} hl_conv_geom;

typedef struct hl_attn_geom {
  size_t T, dm, d;
} hl_attn_geom;

/* Scratch elements of conv forward (per example) and backward (total). */
size_t hl_conv_fwd_tmp(const hl_conv_geom *g);
size_t hl_conv_bwd_tmp(const hl_conv_geom *g);
/* Cache elements per example and backward tmp of attention. */
size_t hl_attn_cache(const hl_attn_geom *g);
size_t hl_attn_tmp(const hl_attn_geom *g);

#define HL_DECLARE_KERNELS(R, SFX)                                             \
  void hl_conv_fwd##SFX(const hl_conv_geom *g, const R *x, const R *W,        \
                        const R *b, R *y, size_t n, R *tmp);                   \
  void hl_conv_bwd##SFX(const hl_conv_geom *g, const R *x, const R *W,        \
                        const R *dy, R *dx, R *dW, R *db, size_t n, R *tmp);   \
  void hl_maxpool_fwd##SFX(const R *x, R *y, size_t n, size_t c, size_t h,    \
                           size_t w, nn_winners *win);                         \
  void hl_maxpool_bwd##SFX(const R *x, const R *dy, R *dx, size_t n,          \
                           size_t c, size_t h, size_t w);                      \
  void hl_norm_fwd##SFX(const R *x, const R *gamma, const R *beta, R *y,      \
                        R *xhat, R *istd, size_t n, size_t D, int axis,        \
                        double eps);                                           \
  void hl_norm_bwd##SFX(const R *xhat, const R *istd, const R *gamma,         \
                        const R *dy, R *dx, R *dgamma, R *dbeta, size_t n,     \
                        size_t D, int axis);                                   \
  void hl_softmax_fwd##SFX(const R *x, R *y, size_t n, size_t D);             \
  void hl_softmax_bwd##SFX(const R *y, const R *dy, R *dx, size_t n,          \
                           size_t D);                                          \
  void hl_attn_fwd##SFX(const hl_attn_geom *g, const R *x, const R *Wq,       \
                        const R *Wk, const R *Wv, const R *Wo, R *y, size_t n, \
                        R *cache);                                             \
  void hl_attn_bwd##SFX(const hl_attn_geom *g, const R *Wq, const R *Wk,      \
                        const R *Wv, const R *Wo, const R *dy, R *dx, R *dWq,  \
                        R *dWk, R *dWv, R *dWo, size_t n, const R *cache,      \
                        R *tmp);

HL_DECLARE_KERNELS(double, _f64)
HL_DECLARE_KERNELS(float, _f32)

/* Calls kernel NAME of the layer's element type; the buffers are void *. */
#define HL_CALL(ly, NAME, ...)                                                 \
  ((ly)->is_float ? NAME##_f32(__VA_ARGS__) : NAME##_f64(__VA_ARGS__))

#endif /* NNC_PLUGINS_HARD_LAYERS_H */
