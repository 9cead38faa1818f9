/* mlp.c — the bundled reference network: a multilayer perceptron on CS231n's
 * spiral data, built from the OpenBLAS kernels of nn_layers.h (and, for one
 * hidden ReLU layer of few inputs and classes, those of nn_mlp1.h).
 *
 *   scores = affine(... act(affine(act(affine(x))))),  hidden activations
 *   ReLU or tanh, each followed by inverted dropout in training mode; loss
 *   softmax cross-entropy or multiclass SVM, averaged over the batch; L2
 *   regularization 0.5 * reg * sum(W^2) over the weight matrices only.
 *   NNC_F_ZERO_INPUT (declared in net_info) zeroes every input example of a
 *   loss() call, labels kept: the input-independent baseline.
 *
 * One source builds named variants: MLP_NAME, MLP_SUMMARY and
 * MLP_DEFAULT_ARGS (parsed before the user's arguments, which override them)
 * are compile-time macros.  All arithmetic is in the element type chosen by
 * dtype=; losses are accumulated in double.  The argument string is read
 * by mlp_args.c. */
#include <nncheck/plugin.h>

#include "mlp_args.h"
#include "nn_layers.h"
#include "nn_mlp1.h"
#include "spiral.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MLP_SUMMARY
#define MLP_SUMMARY                                                            \
  "multilayer perceptron (affine, ReLU/tanh, dropout, softmax/SVM, L2) on "   \
  "the spiral data set, OpenBLAS"
#endif

#define MLP_PREDICT_CHUNK 256 /* examples per forward pass in predict() */

/* The activations of one forward pass and, for loss(), their gradients. */
typedef struct mlp_ws {
  size_t cap;                /* examples the buffers hold */
  void *mem;                 /* one allocation holding all of the below */
  void *x;                   /* inputs, cap x D (a gathered batch) */
  const void *xin;           /* the inputs of the last pass: x, or the
                                data rows themselves for a contiguous batch */
  void *h[MLP_MAX_LAYERS];   /* hidden post-activations (probe values) */
  void *d[MLP_MAX_LAYERS];   /* hidden after dropout, training mode */
  void *s;                   /* scores, cap x K */
  void *gh[MLP_MAX_LAYERS];  /* dL/dh (probe gradients) */
  void *ds;                  /* dL/dscores */
  void *ga, *gz;             /* backward scratch, cap x widest hidden */
  int32_t *label;            /* cap */
} mlp_ws;

typedef struct mlp {
  mlp_cfg cfg;
  const nn_ops *ops;
  const nn_mlp1_ops *m1;     /* the one-hidden-layer kernels (with pad) */
  size_t L;                  /* affine layers */
  size_t n_train, n_val;
  void *data;                /* (n_train + n_val) x D, training rows first */
  int32_t *labels;
  void *params;              /* every block, contiguously */
  size_t n_params;
  size_t block_off[2 * MLP_MAX_LAYERS]; /* element offset of each block */
  char block_name[2 * MLP_MAX_LAYERS][32];
  char probe_name[MLP_MAX_LAYERS][32];
  void *pad;                 /* scratch of the one-hidden-layer kernels, or
                                NULL where the net or processor is not
                                theirs (nn_mlp1_ops.pad) */
  mlp_ws fw;                 /* the last loss(): backward, winners, probes */
  mlp_ws pw;                 /* predict() scratch, so fw stays intact */
  /* the last loss() */
  int have_fwd;              /* fw holds its forward pass */
  int have_loss;             /* it succeeded: backward may run */
  int have_grad;             /* backward ran since: probe gradients valid */
  size_t B;                  /* its batch size */
  uint64_t seed;
  uint32_t flags;
  double used_reg, used_p;   /* hyperparameters it used (p 0: no dropout) */
  nn_winners win;
} mlp;

/* The examples of a batch: rows base + (idx ? idx[k] : k) of data. */
typedef struct mlp_sel {
  const size_t *idx;
  size_t count, base;
} mlp_sel;

/* ---- instances ---------------------------------------------------------- */

static void *elem_at(const mlp *m, const void *base, size_t elems) {
  return (char *)base + elems * m->ops->elem;
}

static void *weight(const mlp *m, size_t l) {
  return elem_at(m, m->params, m->block_off[2 * l]);
}

static void *bias(const mlp *m, size_t l) {
  return elem_at(m, m->params, m->block_off[2 * l + 1]);
}

static size_t block_count(const mlp *m, size_t i) {
  size_t l = i / 2;
  return i % 2 ? m->cfg.sizes[l + 1] : m->cfg.sizes[l] * m->cfg.sizes[l + 1];
}

static void ws_free(mlp_ws *ws) {
  free(ws->mem);
  memset(ws, 0, sizeof *ws);
}

/* Make room for `cap` examples; the contents are not kept. */
static int ws_reserve(const mlp *m, mlp_ws *ws, size_t cap, int with_grads,
                      char *err, size_t errlen) {
  if (ws->cap >= cap)
    return 0;
  const size_t *sz = m->cfg.sizes;
  size_t L = m->L, hidden = 0, widest = 0;
  for (size_t l = 1; l < L; l++) {
    hidden += sz[l];
    if (sz[l] > widest)
      widest = sz[l];
  }
  if (sz[L] > widest) /* ga also holds the scores' gradient (mlp1) */
    widest = sz[L];
  size_t per = sz[0] + 2 * hidden + sz[L];
  if (with_grads)
    per += hidden + sz[L] + 2 * widest;
  size_t elem = m->ops->elem;
  if (per > ((size_t)1 << 40) / cap) {
    mlp_set_err(err, errlen, "a batch of %zu examples is too large", cap);
    return -1;
  }
  char *mem = malloc(cap * (per * elem + sizeof(int32_t)));
  if (!mem) {
    mlp_set_err(err, errlen, "out of memory for a batch of %zu examples", cap);
    return -1;
  }
  ws_free(ws);
  ws->mem = mem;
  ws->cap = cap;
  char *p = mem;
#define WS_TAKE(field, width)                                                  \
  do {                                                                         \
    field = p;                                                                 \
    p += cap * (width) * elem;                                                 \
  } while (0)
  WS_TAKE(ws->x, sz[0]);
  for (size_t l = 1; l < L; l++) {
    WS_TAKE(ws->h[l - 1], sz[l]);
    WS_TAKE(ws->d[l - 1], sz[l]);
  }
  WS_TAKE(ws->s, sz[L]);
  if (with_grads) {
    for (size_t l = 1; l < L; l++)
      WS_TAKE(ws->gh[l - 1], sz[l]);
    WS_TAKE(ws->ds, sz[L]);
    WS_TAKE(ws->ga, widest);
    WS_TAKE(ws->gz, widest);
  }
#undef WS_TAKE
  ws->label = (int32_t *)(void *)p; /* offsets are multiples of 4 bytes */
  return 0;
}

static void mlp_destroy(void *self) {
  mlp *m = self;
  if (!m)
    return;
  ws_free(&m->fw);
  ws_free(&m->pw);
  free(m->pad);
  free(m->data);
  free(m->labels);
  free(m->params);
  free(m);
}

/* An instance with room for its data and parameters, contents unset. */
static mlp *mlp_alloc(const mlp_cfg *c, char *err, size_t errlen) {
  mlp *m = calloc(1, sizeof *m);
  if (!m) {
    mlp_set_err(err, errlen, "out of memory");
    return NULL;
  }
  m->cfg = *c;
  m->ops = c->is_float ? &nn_ops_f32 : &nn_ops_f64;
  m->m1 = c->is_float ? &nn_mlp1_f32 : &nn_mlp1_f64;
  m->L = c->n_sizes - 1;
  size_t total = c->N * c->K;
  m->n_val = spiral_n_val(total, c->val);
  m->n_train = total - m->n_val;
  size_t off = 0;
  for (size_t i = 0; i < 2 * m->L; i++) {
    m->block_off[i] = off;
    off += block_count(m, i);
    snprintf(m->block_name[i], sizeof m->block_name[i], "%c%zu",
             i % 2 ? 'b' : 'W', i / 2 + 1);
  }
  m->n_params = off;
  for (size_t l = 0; l + 1 < m->L; l++)
    snprintf(m->probe_name[l], sizeof m->probe_name[l], "%s%zu",
             c->act == ACT_RELU ? "relu" : "tanh", l + 1);
  m->data = malloc(total * c->D * m->ops->elem);
  m->labels = malloc(total * sizeof *m->labels);
  m->params = malloc(m->n_params * m->ops->elem);
  /* one hidden ReLU layer of few inputs and classes: its own kernels */
  size_t pad = m->L == 2 && c->act == ACT_RELU &&
                       c->loss == LOSS_SOFTMAX && !c->blas_only
                   ? m->m1->pad(c->sizes[0], c->sizes[1], c->sizes[2])
                   : 0;
  if (pad)
    m->pad = malloc(pad * m->ops->elem);
  if (!m->data || !m->labels || !m->params || (pad && !m->pad)) {
    mlp_set_err(err, errlen, "out of memory for %zu examples of %zu inputs",
                total, c->D);
    mlp_destroy(m);
    return NULL;
  }
  return m;
}

/* Weights ~ N(0, std^2), layer l from its own stream of `seed`, so one
 * layer's draw does not depend on the others' sizes; biases 0. */
static void init_params(mlp *m, uint64_t seed, double scale) {
  const size_t *sz = m->cfg.sizes;
  for (size_t l = 0; l < m->L; l++) {
    double std = scale > 0 ? scale : m->cfg.scale;
    if (!(std > 0))
      std = sqrt((m->cfg.act == ACT_RELU ? 2.0 : 1.0) / (double)sz[l]);
    nn_rng rng;
    nn_rng_seed(&rng, nn_stream(seed, l + 1));
    char *w = weight(m, l);
    for (size_t k = 0; k < sz[l] * sz[l + 1]; k++) {
      double v = std * nn_rng_gauss(&rng);
      m->ops->from_double(&v, w + k * m->ops->elem, 1);
    }
    m->ops->zero(bias(m, l), sz[l + 1]);
  }
}

static void *mlp_create(const char *args, char *err, size_t errlen) {
  mlp_cfg c;
  if (mlp_cfg_parse(&c, args, err, errlen))
    return NULL;
  mlp *m = mlp_alloc(&c, err, errlen);
  if (!m)
    return NULL;
  size_t n = c.N * c.K * c.D;
  double *x = c.is_float ? malloc(n * sizeof *x) : m->data;
  if (!x || (c.bars ? bars_make(c.K, c.N, c.channels, c.side, c.data_seed, x,
                                m->labels)
                     : spiral_make(c.K, c.N, c.D, c.data_seed, x,
                                   m->labels))) {
    mlp_set_err(err, errlen, "out of memory generating the data");
    if (x != m->data)
      free(x);
    mlp_destroy(m);
    return NULL;
  }
  if (x != m->data) {
    m->ops->from_double(x, m->data, n);
    free(x);
  }
  init_params(m, c.init_seed, 0);
  openblas_set_num_threads(c.threads);
  return m;
}

static void *mlp_clone(void *self, char *err, size_t errlen) {
  const mlp *m = self;
  mlp *c = mlp_alloc(&m->cfg, err, errlen);
  if (!c)
    return NULL;
  size_t total = m->n_train + m->n_val;
  memcpy(c->data, m->data, total * m->cfg.D * m->ops->elem);
  memcpy(c->labels, m->labels, total * sizeof *m->labels);
  memcpy(c->params, m->params, m->n_params * m->ops->elem);
  return c;
}

/* ---- parameters --------------------------------------------------------- */

static size_t mlp_num_blocks(void *self) {
  const mlp *m = self;
  return 2 * m->L;
}

static int mlp_get_block(void *self, size_t i, nnc_block *out) {
  mlp *m = self;
  if (i >= 2 * m->L)
    return -1;
  size_t l = i / 2;
  out->name = m->block_name[i];
  out->data = elem_at(m, m->params, m->block_off[i]);
  out->count = block_count(m, i);
  out->dtype = m->cfg.is_float ? NNC_F32 : NNC_F64;
  if (i % 2) {
    out->ndim = 1;
    out->shape[0] = m->cfg.sizes[l + 1];
  } else {
    out->ndim = 2;
    out->shape[0] = m->cfg.sizes[l];
    out->shape[1] = m->cfg.sizes[l + 1];
  }
  out->depth = (uint32_t)(m->L - l);
  return 0;
}

/* ---- forward and backward ----------------------------------------------- */

static int resolve_batch(const mlp *m, const nnc_batch *batch, mlp_sel *sel,
                         char *err, size_t errlen) {
  if (!batch || !batch->index) {
    sel->idx = NULL;
    sel->count = m->n_train;
    sel->base = 0;
    return 0;
  }
  if (batch->split != NNC_SPLIT_TRAIN && batch->split != NNC_SPLIT_VAL) {
    mlp_set_err(err, errlen, "unknown split %u (0 train, 1 validation)",
                (unsigned)batch->split);
    return -1;
  }
  int val = batch->split == NNC_SPLIT_VAL;
  size_t n = val ? m->n_val : m->n_train;
  if (batch->count == 0) {
    mlp_set_err(err, errlen, "empty batch");
    return -1;
  }
  for (size_t k = 0; k < batch->count; k++) {
    if (batch->index[k] >= n) {
      mlp_set_err(err, errlen,
                  "batch index %zu (position %zu) is outside the "
                  "%s split of %zu examples",
                  batch->index[k], k, val ? "validation" : "training", n);
      return -1;
    }
  }
  sel->idx = batch->index;
  sel->count = batch->count;
  sel->base = val ? m->n_train : 0;
  return 0;
}

/* Examples k0 .. k0+n-1 of the selection into ws: their labels, and their
 * inputs copied into ws->x, unless they are consecutive rows of the data
 * (an epoch over data stored in batch order, the default batch), which are
 * then read in place: the copy would cost a pass over the batch as long as
 * a small product.  `in_place` 0 always copies (the input is modified). */
static void gather(const mlp *m, mlp_ws *ws, const mlp_sel *sel, size_t k0,
                   size_t n, int in_place) {
  size_t D = m->cfg.D, elem = m->ops->elem;
  size_t first = sel->base + (sel->idx ? sel->idx[k0] : k0);
  int contiguous = in_place;
  for (size_t k = 0; k < n; k++) {
    size_t row = sel->base + (sel->idx ? sel->idx[k0 + k] : k0 + k);
    contiguous &= row == first + k;
    ws->label[k] = m->labels[row];
  }
  if (contiguous) {
    ws->xin = elem_at(m, m->data, first * D);
    return;
  }
  for (size_t k = 0; k < n; k++) {
    size_t row = sel->base + (sel->idx ? sel->idx[k0 + k] : k0 + k);
    memcpy(elem_at(m, ws->x, k * D), elem_at(m, m->data, row * D), D * elem);
  }
  ws->xin = ws->x;
}

/* Whether a pass with drop probability p runs on the one-hidden-layer
 * kernels (which have no dropout). */
static int use_m1(const mlp *m, double p) {
  return m->pad != NULL && p == 0;
}

/* The input of affine layer l in a pass with drop probability p. */
static const void *layer_input(const mlp_ws *ws, size_t l, double p) {
  if (l == 0)
    return ws->xin;
  return p > 0 ? ws->d[l - 1] : ws->h[l - 1];
}

/* Scores of the B examples in ws; dropout with probability p (0: none) under
 * `seed`; ReLU decisions into *win unless NULL.  Unless ss is NULL, ss[l] =
 * the sum of layer l's squared weights where the kernel got it in passing,
 * NAN where it did not. */
static void forward(const mlp *m, mlp_ws *ws, size_t B, double p,
                    uint64_t seed, nn_winners *win, double *ss) {
  const nn_ops *ops = m->ops;
  const size_t *sz = m->cfg.sizes;
  if (use_m1(m, p)) {
    m->m1->fwd(ws->xin, weight(m, 0), bias(m, 0), weight(m, 1), bias(m, 1),
               ws->h[0], ws->s, B, sz[0], sz[1], sz[2], m->pad, win);
    return;
  }
  for (size_t l = 0; l < m->L; l++) {
    int hidden = l + 1 < m->L;
    void *y = hidden ? ws->h[l] : ws->s;
    size_t count = B * sz[l + 1];
    /* with a ReLU, the bias and the ReLU in one pass after the product */
    int relu = hidden && m->cfg.act == ACT_RELU;
    double sl = 0;
    int got = ops->affine_fwd_ss(layer_input(ws, l, p), weight(m, l),
                                 bias(m, l), y, B, sz[l], sz[l + 1], relu,
                                 relu ? win : NULL, ss ? &sl : NULL);
    if (ss)
      ss[l] = got ? sl : NAN;
    if (!hidden)
      break;
    if (!relu)
      ops->tanh_fwd(y, y, count);
    if (p > 0)
      ops->dropout_fwd(y, ws->d[l], count, p, seed, l + 1);
  }
}

/* Mean data loss of the scores in ws; its gradient into ds unless NULL. */
static double data_loss(const mlp *m, mlp_ws *ws, size_t B, void *ds,
                        nn_winners *win) {
  if (m->cfg.loss == LOSS_SVM)
    return m->ops->svm_loss(ws->s, ws->label, B, m->cfg.K, m->cfg.margin, NULL,
                            NULL, ds, win);
  return m->ops->softmax_loss(ws->s, ws->label, B, m->cfg.K, NULL, NULL, ds);
}

static int mlp_loss(void *self, const nnc_batch *batch, uint64_t seed,
                    uint32_t flags, double *loss, char *err, size_t errlen) {
  mlp *m = self;
  m->have_fwd = m->have_loss = m->have_grad = 0;
  nn_winners_reset(&m->win);
  double p = (flags & NNC_F_TRAIN) ? m->cfg.dropout : 0;
  double total = 0;
  double ss[MLP_MAX_LAYERS]; /* each layer's sum of squared weights, or NAN */
  for (size_t l = 0; l < m->L; l++)
    ss[l] = NAN;
  if (flags & NNC_F_DATA) {
    mlp_sel sel;
    if (resolve_batch(m, batch, &sel, err, errlen) ||
        ws_reserve(m, &m->fw, sel.count, 1, err, errlen))
      return -1;
    gather(m, &m->fw, &sel, 0, sel.count, !(flags & NNC_F_ZERO_INPUT));
    /* The input-independent baseline: every example zeroed, labels kept. */
    if (flags & NNC_F_ZERO_INPUT)
      m->ops->zero(m->fw.x, sel.count * m->cfg.D);
    forward(m, &m->fw, sel.count, p, seed, &m->win,
            (flags & NNC_F_REG) ? ss : NULL);
    /* the scores' gradient too: backward then needs no exponential */
    if (use_m1(m, p))
      total += m->m1->softmax(m->fw.s, m->fw.label, sel.count, m->cfg.K,
                              m->fw.ds, m->fw.ga);
    else
      total += data_loss(m, &m->fw, sel.count, m->fw.ds, &m->win);
    m->B = sel.count;
    m->have_fwd = 1;
  }
  if (flags & NNC_F_REG) {
    double sum = 0;
    for (size_t l = 0; l < m->L; l++)
      sum += isnan(ss[l]) ? m->ops->sumsq(weight(m, l), block_count(m, 2 * l))
                          : ss[l];
    total += 0.5 * m->cfg.reg * sum;
  }
  m->seed = seed;
  m->flags = flags;
  m->used_reg = m->cfg.reg;
  m->used_p = p;
  m->have_loss = 1;
  *loss = total;
  return 0;
}

static int mlp_backward(void *self, void *const *grads, char *err,
                        size_t errlen) {
  mlp *m = self;
  if (!m->have_loss) {
    mlp_set_err(err, errlen, "backward without a successful loss() before it");
    return -1;
  }
  const nn_ops *ops = m->ops;
  const size_t *sz = m->cfg.sizes;
  if (m->flags & NNC_F_DATA) {
    mlp_ws *ws = &m->fw;
    size_t B = m->B;
    double p = m->used_p;
    /* loss() left dL/dscores in ws->ds (transposed for the mlp1 kernels) */
    if (use_m1(m, p)) {
      m->m1->bwd(ws->xin, ws->h[0], ws->ds, weight(m, 0), weight(m, 1),
                 ws->gh[0], grads[0], grads[1], grads[2], grads[3], B, sz[0],
                 sz[1], sz[2], (m->flags & NNC_F_REG) ? m->used_reg : 0,
                 m->pad);
      m->have_grad = 1;
      return 0;
    }
    const void *g = ws->ds; /* dL/d(output of layer l) */
    int have_db = 0;        /* the bias gradient of layer l is done */
    for (size_t l = m->L; l-- > 0;) {
      void *dx = NULL;
      if (l > 0)
        dx = p > 0 ? ws->ga : ws->gh[l - 1];
      /* the L2 term's gradient goes into the product itself */
      ops->affine_bwd_l2(layer_input(ws, l, p), weight(m, l), g, dx,
                         grads[2 * l], have_db ? NULL : grads[2 * l + 1], B,
                         sz[l], sz[l + 1],
                         (m->flags & NNC_F_REG) ? m->used_reg : 0);
      if (l == 0)
        break;
      size_t count = B * sz[l];
      if (p > 0)
        ops->dropout_bwd(ws->ga, ws->gh[l - 1], count, p, m->seed, l);
      /* a ReLU's mask and the bias gradient below it in one pass */
      have_db = m->cfg.act == ACT_RELU;
      if (have_db)
        ops->relu_bwd_sum(ws->h[l - 1], ws->gh[l - 1], ws->gz,
                          grads[2 * (l - 1) + 1], B, sz[l]);
      else
        ops->tanh_bwd(ws->h[l - 1], ws->gh[l - 1], ws->gz, count);
      g = ws->gz;
    }
    m->have_grad = 1;
  } else {
    for (size_t i = 0; i < 2 * m->L; i++)
      ops->zero(grads[i], block_count(m, i));
    if (m->flags & NNC_F_REG)
      for (size_t l = 0; l < m->L; l++)
        ops->axpy(block_count(m, 2 * l), m->used_reg, weight(m, l),
                  grads[2 * l]);
  }
  return 0;
}

/* ---- optional callbacks ------------------------------------------------- */

static int mlp_net_info(void *self, nnc_net_info *out) {
  const mlp *m = self;
  out->n_train = m->n_train;
  out->n_val = m->n_val;
  out->n_classes = (uint32_t)m->cfg.K;
  out->loss_type = m->cfg.loss == LOSS_SVM ? NNC_LOSS_SVM : NNC_LOSS_SOFTMAX;
  out->margin = m->cfg.loss == LOSS_SVM ? m->cfg.margin : 0;
  if (m->cfg.bars) { /* C x S x S images: first-layer weights render */
    out->input_ndim = 3;
    out->input_shape[0] = m->cfg.channels;
    out->input_shape[1] = out->input_shape[2] = m->cfg.side;
  } else {
    out->input_ndim = 1;
    out->input_shape[0] = m->cfg.D;
  }
  out->caps = NNC_CAP_ZERO_INPUT;
  return 0;
}

static int mlp_predict(void *self, const nnc_batch *batch, int32_t *pred,
                       int32_t *label, char *err, size_t errlen) {
  mlp *m = self;
  mlp_sel sel;
  if (resolve_batch(m, batch, &sel, err, errlen))
    return -1;
  size_t chunk = sel.count < MLP_PREDICT_CHUNK ? sel.count : MLP_PREDICT_CHUNK;
  if (ws_reserve(m, &m->pw, chunk, 0, err, errlen))
    return -1;
  for (size_t k0 = 0; k0 < sel.count; k0 += chunk) {
    size_t n = sel.count - k0 < chunk ? sel.count - k0 : chunk;
    gather(m, &m->pw, &sel, k0, n, 1);
    forward(m, &m->pw, n, 0, 0, NULL, NULL);
    m->ops->argmax(m->pw.s, n, m->cfg.K, pred + k0);
    memcpy(label + k0, m->pw.label, n * sizeof *label);
  }
  return 0;
}

/* Class probabilities: the softmax of the scores (of an SVM's too). */
static int mlp_scores(void *self, const nnc_batch *batch, double *out,
                      char *err, size_t errlen) {
  mlp *m = self;
  mlp_sel sel;
  if (resolve_batch(m, batch, &sel, err, errlen))
    return -1;
  size_t chunk = sel.count < MLP_PREDICT_CHUNK ? sel.count : MLP_PREDICT_CHUNK;
  if (ws_reserve(m, &m->pw, chunk, 0, err, errlen))
    return -1;
  size_t K = m->cfg.K;
  for (size_t k0 = 0; k0 < sel.count; k0 += chunk) {
    size_t n = sel.count - k0 < chunk ? sel.count - k0 : chunk;
    gather(m, &m->pw, &sel, k0, n, 1);
    forward(m, &m->pw, n, 0, 0, NULL, NULL);
    for (size_t k = 0; k < n; k++) {
      double *row = out + (k0 + k) * K, mx = -INFINITY, sum = 0;
      for (size_t c = 0; c < K; c++) {
        row[c] = m->cfg.is_float ? (double)((const float *)m->pw.s)[k * K + c]
                                 : ((const double *)m->pw.s)[k * K + c];
        mx = row[c] > mx ? row[c] : mx;
      }
      for (size_t c = 0; c < K; c++)
        sum += (row[c] = exp(row[c] - mx));
      for (size_t c = 0; c < K; c++)
        row[c] /= sum;
    }
  }
  return 0;
}

static int mlp_winners(void *self, nnc_winners *out) {
  const mlp *m = self;
  out->hash = m->win.hash;
  out->decisions = m->win.decisions;
  out->ties = m->win.ties;
  return 0;
}

static size_t mlp_num_probes(void *self) {
  const mlp *m = self;
  return m->L - 1;
}

static int mlp_probe(void *self, size_t i, nnc_probe *out) {
  mlp *m = self;
  if (i + 1 >= m->L)
    return -1;
  out->name = m->probe_name[i];
  out->kind = m->cfg.act == ACT_RELU ? NNC_ACT_RELU : NNC_ACT_TANH;
  out->dtype = m->cfg.is_float ? NNC_F32 : NNC_F64;
  out->value = m->have_fwd ? m->fw.h[i] : NULL;
  out->grad = m->have_grad ? m->fw.gh[i] : NULL;
  out->count = m->have_fwd ? m->B * m->cfg.sizes[i + 1] : 0;
  return 0;
}

static int mlp_reinit(void *self, uint64_t seed, double scale, char *err,
                      size_t errlen) {
  mlp *m = self;
  if (!(scale >= 0) || !isfinite(scale)) {
    mlp_set_err(err, errlen, "reinit: scale %g is not >= 0", scale);
    return -1;
  }
  init_params(m, seed, scale);
  return 0;
}

static int mlp_set_hyper(void *self, const char *key, double value, char *err,
                         size_t errlen) {
  mlp *m = self;
  if (!strcmp(key, "reg")) {
    if (!(value >= 0) || !isfinite(value)) {
      mlp_set_err(err, errlen, "reg=%g: accepted values are numbers >= 0",
                  value);
      return -1;
    }
    m->cfg.reg = value;
  } else if (!strcmp(key, "dropout")) {
    if (!(value >= 0 && value < 1)) {
      mlp_set_err(err, errlen, "dropout=%g: accepted values are in [0, 1)",
                  value);
      return -1;
    }
    m->cfg.dropout = value;
  } else {
    mlp_set_err(err, errlen,
                "unknown hyperparameter '%s'; accepted: reg, dropout", key);
    return -1;
  }
  return 0;
}

static const nnc_plugin mlp_plugin = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_NET,
    .name = MLP_NAME,
    .summary = MLP_SUMMARY,
    .args_help = mlp_args_help,
    .create = mlp_create,
    .destroy = mlp_destroy,
    .num_blocks = mlp_num_blocks,
    .get_block = mlp_get_block,
    .loss = mlp_loss,
    .backward = mlp_backward,
    .net_info = mlp_net_info,
    .predict = mlp_predict,
    .winners = mlp_winners,
    .num_probes = mlp_num_probes,
    .probe = mlp_probe,
    .reinit = mlp_reinit,
    .clone = mlp_clone,
    .set_hyper = mlp_set_hyper,
    .scores = mlp_scores,
};

NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void);
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &mlp_plugin; }
