/* nn_layers.h — layer kernels of the bundled reference network.
 *
 * Every kernel exists twice, for double (suffix _f64) and float (_f32), made
 * from one source (nn_layers_impl.h), so the float build computes exactly what
 * the double build computes, rounded to float.  The math of losses and
 * gradients runs in the element type; losses are accumulated and returned in
 * double.
 *
 * Conventions: matrices are row-major; a batch of n examples of width w is an
 * n x w matrix.  Output buffers are ASSIGNED, never added to, and must not
 * overlap the inputs unless a kernel says so.  No kernel allocates or keeps
 * state: randomness is counter-based (a hash of seed, layer and element
 * index), so a seed fixes it exactly and two threads never share anything.
 *
 * nn_ops bundles the kernels of one element type behind void pointers, so
 * code above the kernels (mlp.c, layer_plugins.c) is written once for both.
 */
#ifndef NNC_PLUGINS_NN_LAYERS_H
#define NNC_PLUGINS_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- hashing and random numbers ----------------------------------------- */

/* splitmix64's finaliser: a bijective 64-bit mix. */
static inline uint64_t nn_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* The state of an independent stream for (seed, tag): different tags give
 * unrelated streams rather than shifted copies of one stream. */
static inline uint64_t nn_stream(uint64_t seed, uint64_t tag) {
  return nn_mix64(seed ^ nn_mix64(tag + 0x632BE59BD9B4E019u));
}

#define NN_GOLDEN 0x9E3779B97F4A7C15u /* splitmix64's increment */
/* Parameters of a layer, and values in one example's input or output, at
 * most (2^28: 2 GiB of doubles): a huge size is refused, never allocated. */
#define NN_MAX_PARAMS ((size_t)1 << 28)

/* A splitmix64 generator with a Box-Muller spare. */
typedef struct nn_rng {
  uint64_t state;
  int has_spare;
  double spare;
} nn_rng;

void nn_rng_seed(nn_rng *r, uint64_t state);
uint64_t nn_rng_next(nn_rng *r);
double nn_rng_uniform(nn_rng *r); /* [0, 1) with 53 random bits */
double nn_rng_gauss(nn_rng *r);   /* standard normal */

/* Whether inverted dropout with drop probability p keeps element `index` of
 * the layer whose stream is `base` = nn_stream(seed, layer).  Counter-based:
 * element i's fate depends on (seed, layer, i) only, never on the order in
 * which elements are visited. */
static inline int nn_dropout_kept(uint64_t base, uint64_t index, double p) {
  uint64_t h = nn_mix64(base + (index + 1) * NN_GOLDEN);
  return (double)(h >> 11) * 0x1p-53 >= p;
}

/* ---- winner fingerprints of max()-type decisions ------------------------ */

/* Decisions are folded in the order they are taken; equal fingerprints over
 * equal decision counts mean no decision changed. */
typedef struct nn_winners {
  uint64_t hash;      /* order-sensitive fingerprint of the outcomes */
  uint64_t decisions; /* decisions taken */
  uint64_t ties;      /* decisions between exactly equal values */
} nn_winners;

static inline void nn_winners_reset(nn_winners *w) {
  w->hash = 0;
  w->decisions = 0;
  w->ties = 0;
}

/* Each step is a bijection of the hash for a given outcome, so sequences that
 * differ in one outcome always differ in the fingerprint. */
static inline void nn_winners_add(nn_winners *w, int won, int tie) {
  uint64_t h = (w->hash ^ (won ? 0x2u : 0x1u)) * NN_GOLDEN;
  w->hash = h ^ (h >> 29);
  w->decisions++;
  w->ties += tie != 0;
}

/* v where keep, else +0, without a branch (a ReLU's unit is on or off at
 * random: a branch on it is mispredicted half the time). */
static inline double nn_keep_f64(double v, int keep) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  u &= (uint64_t)0 - (uint64_t)(keep != 0);
  memcpy(&v, &u, sizeof u);
  return v;
}

static inline float nn_keep_f32(float v, int keep) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  u &= (uint32_t)0 - (uint32_t)(keep != 0);
  memcpy(&v, &u, sizeof u);
  return v;
}

/* Up to 64 outcomes at once, bit j of `won` the j-th (a ReLU's units): one
 * step of the same bijective kind per word, so that the pass over a layer
 * is not one long chain of dependent multiplications. */
static inline void nn_winners_add_word(nn_winners *w, uint64_t won, size_t n,
                                       uint64_t ties) {
  uint64_t h = (w->hash ^ won) * NN_GOLDEN;
  w->hash = h ^ (h >> 29);
  w->decisions += n;
  w->ties += ties;
}

/* ---- typed kernels ---------------------------------------------------------
 * Affine: y = x W + b, x n x in, W in x out, b out, y n x out.  Backward
 *   assigns dW = x^T dy, db = column sums of dy unless db is NULL (the caller
 *   has them), and dx = dy W^T unless dx is NULL.  Affine-ReLU: y =
 *   max(x W + b, +0) in one pass after the product, the decisions row by
 *   row.
 * ReLU: y = max(0, x); may run in place (y == x).  Each element is a decision
 *   x > 0 (a tie when x == 0) folded into *w unless w is NULL.  Backward takes
 *   the forward output y and passes dy where y > 0 (dx may be dy); the
 *   _sum form, over n rows of width, also assigns db = the column sums of
 *   dx.
 * tanh: may run in place.  Backward takes the forward output y.
 * Inverted dropout: y = x * keep / (1 - p); backward dx = dy * keep / (1 - p)
 *   with the same (p, seed, layer).  May run in place.
 * Losses over n examples of C scores s with labels in [0, C): return
 *   sum_i w_i * loss_i in double, with w_i = weight[i], or 1/n when weight is
 *   NULL (the mean).  per[i] = loss_i and ds = d(returned)/ds unless NULL.
 *   Softmax: loss_i = -log softmax(s_i)[label_i], computed after subtracting
 *   the row maximum.  SVM: loss_i = sum_{j != label_i} max(0, s_ij -
 *   s_i,label + margin); each margin is a decision (> 0 wins, == 0 ties). */
#define NN_DECLARE_KERNELS(R, SFX)                                             \
  void nn_affine_fwd##SFX(const R *x, const R *W, const R *b, R *y, size_t n,  \
                          size_t in, size_t out);                              \
  void nn_affine_bwd##SFX(const R *x, const R *W, const R *dy, R *dx, R *dW,   \
                          R *db, size_t n, size_t in, size_t out);             \
  void nn_affine_bwd_l2##SFX(const R *x, const R *W, const R *dy, R *dx,       \
                             R *dW, R *db, size_t n, size_t in, size_t out,    \
                             double reg);                                      \
  void nn_relu_fwd##SFX(const R *x, R *y, size_t count, nn_winners *w);        \
  void nn_relu_bwd##SFX(const R *y, const R *dy, R *dx, size_t count);         \
  void nn_affine_relu_fwd##SFX(const R *x, const R *W, const R *b, R *y,       \
                               size_t n, size_t in, size_t out,                \
                               nn_winners *w);                                 \
  void nn_relu_bwd_sum##SFX(const R *y, const R *dy, R *dx, R *db, size_t n,   \
                            size_t width);                                     \
  void nn_tanh_fwd##SFX(const R *x, R *y, size_t count);                       \
  void nn_tanh_bwd##SFX(const R *y, const R *dy, R *dx, size_t count);         \
  void nn_dropout_fwd##SFX(const R *x, R *y, size_t count, double p,           \
                           uint64_t seed, uint64_t layer);                     \
  void nn_dropout_bwd##SFX(const R *dy, R *dx, size_t count, double p,         \
                           uint64_t seed, uint64_t layer);                     \
  double nn_softmax_loss##SFX(const R *s, const int32_t *label, size_t n,      \
                              size_t C, const R *weight, R *per, R *ds);       \
  double nn_svm_loss##SFX(const R *s, const int32_t *label, size_t n,          \
                          size_t C, double margin, const R *weight, R *per,    \
                          R *ds, nn_winners *w);                               \
  double nn_sumsq##SFX(const R *x, size_t count);

NN_DECLARE_KERNELS(double, _f64)
NN_DECLARE_KERNELS(float, _f32)

/* ---- the kernels of one element type behind void pointers --------------- */
typedef struct nn_ops {
  size_t elem;   /* sizeof one element */
  int is_float;  /* 1 for float, 0 for double */
  void (*affine_fwd)(const void *x, const void *W, const void *b, void *y,
                     size_t n, size_t in, size_t out);
  void (*affine_bwd)(const void *x, const void *W, const void *dy, void *dx,
                     void *dW, void *db, size_t n, size_t in, size_t out);
  /* affine_bwd with the L2 term's gradient reg * W added into dW inside the
   * product (dW = reg W, then dW += x^T dy): one pass over dW less */
  void (*affine_bwd_l2)(const void *x, const void *W, const void *dy,
                        void *dx, void *dW, void *db, size_t n, size_t in,
                        size_t out, double reg);
  void (*relu_fwd)(const void *x, void *y, size_t count, nn_winners *w);
  void (*relu_bwd)(const void *y, const void *dy, void *dx, size_t count);
  void (*affine_relu_fwd)(const void *x, const void *W, const void *b,
                          void *y, size_t n, size_t in, size_t out,
                          nn_winners *w);
  void (*relu_bwd_sum)(const void *y, const void *dy, void *dx, void *db,
                       size_t n, size_t width);
  /* affine_fwd (relu 0) or affine_relu_fwd (relu 1), and *ss = the sum of
   * the squared weights when it comes in passing (a few rows: the weights
   * are read once anyway); returns 1 when *ss was set, 0 when the caller
   * must sum them itself */
  int (*affine_fwd_ss)(const void *x, const void *W, const void *b, void *y,
                       size_t n, size_t in, size_t out, int relu,
                       nn_winners *w, double *ss);
  void (*tanh_fwd)(const void *x, void *y, size_t count);
  void (*tanh_bwd)(const void *y, const void *dy, void *dx, size_t count);
  void (*dropout_fwd)(const void *x, void *y, size_t count, double p,
                      uint64_t seed, uint64_t layer);
  void (*dropout_bwd)(const void *dy, void *dx, size_t count, double p,
                      uint64_t seed, uint64_t layer);
  double (*softmax_loss)(const void *s, const int32_t *label, size_t n,
                         size_t C, const void *weight, void *per, void *ds);
  double (*svm_loss)(const void *s, const int32_t *label, size_t n, size_t C,
                     double margin, const void *weight, void *per, void *ds,
                     nn_winners *w);
  double (*sumsq)(const void *x, size_t count); /* sum of squares, in double */
  /* y += alpha * x */
  void (*axpy)(size_t count, double alpha, const void *x, void *y);
  void (*zero)(void *x, size_t count);
  /* dst[i] = src[i] rounded to the element type */
  void (*from_double)(const double *src, void *dst, size_t count);
  /* pred[i] = the first column of row i holding the row's maximum */
  void (*argmax)(const void *s, size_t n, size_t C, int32_t *pred);
} nn_ops;


extern const nn_ops nn_ops_f64;
extern const nn_ops nn_ops_f32;

#endif /* NNC_PLUGINS_NN_LAYERS_H */
