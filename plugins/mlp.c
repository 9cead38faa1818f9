/* mlp.c — the bundled reference network: a multilayer perceptron on CS231n's
 * spiral data, built from the OpenBLAS kernels of nn_layers.h.
 *
 *   scores = affine(... act(affine(act(affine(x))))),  hidden activations
 *   ReLU or tanh, each followed by inverted dropout in training mode; loss
 *   softmax cross-entropy or multiclass SVM, averaged over the batch; L2
 *   regularization 0.5 * reg * sum(W^2) over the weight matrices only.
 *
 * One source builds named variants: MLP_NAME, MLP_SUMMARY and
 * MLP_DEFAULT_ARGS (parsed before the user's arguments, which override them)
 * are compile-time macros.  All arithmetic is in the element type chosen by
 * dtype=; losses are accumulated in double. */
#include <nncheck/plugin.h>

#include "nn_layers.h"
#include "spiral.h"

#include <cblas.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MLP_NAME
#define MLP_NAME "mlp"
#endif
#ifndef MLP_SUMMARY
#define MLP_SUMMARY                                                            \
  "multilayer perceptron (affine, ReLU/tanh, dropout, softmax/SVM, L2) on "   \
  "the spiral data set, OpenBLAS"
#endif
#ifndef MLP_DEFAULT_ARGS
#define MLP_DEFAULT_ARGS ""
#endif

#define MLP_MAX_LAYERS 32    /* affine layers */
#define MLP_PREDICT_CHUNK 256 /* examples per forward pass in predict() */

#define MLP_KEYS                                                               \
  "layers, act, dropout, loss, reg, dtype, scale, K, N, D, val, data_seed, "  \
  "init_seed, threads, margin"

static const char mlp_args_help[] =
    "space- or comma-separated key=value, every key optional (defaults):\n"
    "  layers=2,100,3  input,hidden...,classes (input = D, last = K)\n"
    "  act=relu        relu|tanh, after every hidden affine layer\n"
    "  dropout=0       drop probability in [0,1) after every hidden "
    "activation, training mode only\n"
    "  loss=softmax    softmax|svm\n"
    "  margin=1        SVM margin (> 0)\n"
    "  reg=1e-3        L2 strength: loss += 0.5*reg*sum(W^2), biases excluded\n"
    "  dtype=double    double|float\n"
    "  scale=auto      weight std: auto = sqrt(2/fan_in) for relu, "
    "sqrt(1/fan_in) for tanh; biases start at 0\n"
    "  K=3 N=100 D=2   spiral classes, points per class, input dimensions\n"
    "  val=0.2         fraction held out for validation, in [0,1)\n"
    "  data_seed=0 init_seed=1\n"
    "  threads=1       OpenBLAS threads (1 keeps sums reproducible)\n"
    "Without layers=, the net is D,100,K.  Where layers= and D= or K= "
    "disagree, the later argument string (the user's over the built-in "
    "defaults) wins.";

enum { ACT_RELU, ACT_TANH };
enum { LOSS_SOFTMAX, LOSS_SVM };

typedef struct mlp_cfg {
  size_t sizes[MLP_MAX_LAYERS + 1]; /* input, hidden..., classes */
  size_t n_sizes;
  int act;           /* ACT_* */
  int loss;          /* LOSS_* */
  int is_float;      /* dtype=float */
  double dropout;    /* drop probability */
  double reg;        /* L2 strength */
  double scale;      /* weight std; 0: auto */
  double val;        /* validation fraction */
  double margin;     /* SVM margin */
  size_t K, N, D;    /* classes, points per class, input dimensions */
  uint64_t data_seed, init_seed;
  int threads;
} mlp_cfg;

/* Which argument string set layers, K and D: 0 none, 1 the built-in
 * defaults, 2 the user's.  Decides who wins when they disagree. */
typedef struct cfg_source {
  int layers, K, D;
} cfg_source;

/* The activations of one forward pass and, for loss(), their gradients. */
typedef struct mlp_ws {
  size_t cap;                /* examples the buffers hold */
  void *mem;                 /* one allocation holding all of the below */
  void *x;                   /* inputs, cap x D */
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
  size_t L;                  /* affine layers */
  size_t n_train, n_val;
  void *data;                /* (n_train + n_val) x D, training rows first */
  int32_t *labels;
  void *params;              /* every block, contiguously */
  size_t n_params;
  size_t block_off[2 * MLP_MAX_LAYERS]; /* element offset of each block */
  char block_name[2 * MLP_MAX_LAYERS][32];
  char probe_name[MLP_MAX_LAYERS][32];
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

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0)
    return;
  int n = snprintf(err, errlen, "%s: ", MLP_NAME);
  if (n < 0 || (size_t)n >= errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

/* ---- arguments ---------------------------------------------------------- */

static void cfg_defaults(mlp_cfg *c) {
  memset(c, 0, sizeof *c);
  c->act = ACT_RELU;
  c->loss = LOSS_SOFTMAX;
  c->dropout = 0;
  c->reg = 1e-3;
  c->scale = 0;
  c->val = 0.2;
  c->margin = 1;
  c->K = 3;
  c->N = 100;
  c->D = 2;
  c->data_seed = 0;
  c->init_seed = 1;
  c->threads = 1;
}

/* Strict decimal parsers: the whole string, no sign, no blanks. */
static int parse_u64(const char *s, uint64_t *out) {
  if (!isdigit((unsigned char)s[0]))
    return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || errno == ERANGE)
    return -1;
  *out = (uint64_t)v;
  return 0;
}

static int parse_count(const char *s, size_t *out) {
  uint64_t v;
  if (parse_u64(s, &v) || v == 0 || v > (uint64_t)INT32_MAX)
    return -1;
  *out = (size_t)v;
  return 0;
}

static int parse_real(const char *s, double *out) {
  if (!*s || isspace((unsigned char)s[0]))
    return -1;
  char *end;
  double v = strtod(s, &end);
  if (*end || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int add_layer_size(mlp_cfg *c, const char *s, char *err,
                          size_t errlen) {
  size_t v;
  if (parse_count(s, &v)) {
    set_err(err, errlen,
            "layers: '%s' is not a size: accepted values are positive "
            "integers, e.g. layers=2,100,3",
            s);
    return -1;
  }
  if (c->n_sizes >= MLP_MAX_LAYERS + 1) {
    set_err(err, errlen, "layers: at most %d sizes (%d affine layers)",
            MLP_MAX_LAYERS + 1, MLP_MAX_LAYERS);
    return -1;
  }
  c->sizes[c->n_sizes++] = v;
  return 0;
}

/* One of two words: *out = 0 for the first, 1 for the second. */
static int choose(const char *v, const char *w0, const char *w1, int *out) {
  if (strcmp(v, w0) && strcmp(v, w1))
    return -1;
  *out = strcmp(v, w0) != 0;
  return 0;
}

static int set_key(mlp_cfg *c, cfg_source *src, int prio, const char *key,
                   const char *v, char *err, size_t errlen) {
  const char *accepted = NULL; /* set when v is not one of these */
  double r = 0;
  uint64_t u;
  size_t n;
  if (!strcmp(key, "act")) {
    if (choose(v, "relu", "tanh", &c->act))
      accepted = "relu, tanh";
  } else if (!strcmp(key, "loss")) {
    if (choose(v, "softmax", "svm", &c->loss))
      accepted = "softmax, svm";
  } else if (!strcmp(key, "dtype")) {
    if (choose(v, "double", "float", &c->is_float))
      accepted = "double, float";
  } else if (!strcmp(key, "dropout") || !strcmp(key, "val")) {
    if (parse_real(v, &r) || r < 0 || r >= 1)
      accepted = "numbers in [0, 1)";
    else
      *(key[0] == 'd' ? &c->dropout : &c->val) = r;
  } else if (!strcmp(key, "reg")) {
    if (parse_real(v, &r) || r < 0)
      accepted = "numbers >= 0";
    else
      c->reg = r;
  } else if (!strcmp(key, "margin")) {
    if (parse_real(v, &r) || r <= 0)
      accepted = "numbers > 0";
    else
      c->margin = r;
  } else if (!strcmp(key, "scale")) {
    if (strcmp(v, "auto") && (parse_real(v, &r) || r <= 0))
      accepted = "auto or a number > 0";
    else
      c->scale = r; /* 0: auto */
  } else if (!strcmp(key, "K") || !strcmp(key, "N") || !strcmp(key, "D")) {
    if (parse_count(v, &n))
      accepted = "positive integers";
    else if (key[0] == 'K')
      c->K = n, src->K = prio;
    else if (key[0] == 'D')
      c->D = n, src->D = prio;
    else
      c->N = n;
  } else if (!strcmp(key, "data_seed") || !strcmp(key, "init_seed")) {
    if (parse_u64(v, &u))
      accepted = "integers in [0, 2^64)";
    else
      *(key[0] == 'd' ? &c->data_seed : &c->init_seed) = u;
  } else if (!strcmp(key, "threads")) {
    if (parse_count(v, &n) || n > 1024)
      accepted = "integers 1..1024";
    else
      c->threads = (int)n;
  } else {
    set_err(err, errlen, "unknown argument key '%s'; accepted keys: " MLP_KEYS,
            key);
    return -1;
  }
  if (accepted) {
    set_err(err, errlen, "%s=%s: accepted values are %s", key, v, accepted);
    return -1;
  }
  return 0;
}

/* Tokens are separated by blanks and commas; a token without '=' continues
 * the list of the layers= before it, so layers=2,100,3 reads naturally. */
static int parse_args(mlp_cfg *c, cfg_source *src, const char *args, int prio,
                      char *err, size_t errlen) {
  static const char seps[] = " \t\n\r\f\v,";
  char tok[256];
  int in_layers = 0;
  const char *p = args ? args : "";
  for (;;) {
    p += strspn(p, seps);
    if (!*p)
      break;
    size_t len = strcspn(p, seps);
    if (len >= sizeof tok) {
      set_err(err, errlen, "argument '%.32s...' is too long", p);
      return -1;
    }
    memcpy(tok, p, len);
    tok[len] = '\0';
    p += len;
    char *eq = strchr(tok, '=');
    if (!eq) {
      if (in_layers) {
        if (add_layer_size(c, tok, err, errlen))
          return -1;
        continue;
      }
      set_err(err, errlen,
              "'%s' is not key=value; accepted keys: " MLP_KEYS, tok);
      return -1;
    }
    *eq = '\0';
    in_layers = !strcmp(tok, "layers");
    if (in_layers) {
      c->n_sizes = 0;
      src->layers = prio;
      if (eq[1] && add_layer_size(c, eq + 1, err, errlen))
        return -1;
    } else if (set_key(c, src, prio, tok, eq + 1, err, errlen)) {
      return -1;
    }
  }
  return 0;
}

/* layers= fixes D and K unless D= or K= came from a later argument string. */
static int reconcile(size_t *layer, size_t *v, int src_layers, int src_v,
                     const char *key, const char *what, char *err,
                     size_t errlen) {
  if (!src_v || *v == *layer) {
    *v = *layer;
    return 0;
  }
  if (src_v > src_layers) {
    *layer = *v;
    return 0;
  }
  if (src_v < src_layers) {
    *v = *layer;
    return 0;
  }
  set_err(err, errlen, "layers: the %s size %zu must equal %s=%zu", what,
          *layer, key, *v);
  return -1;
}

static int finish_cfg(mlp_cfg *c, const cfg_source *src, char *err,
                      size_t errlen) {
  if (src->layers) {
    if (c->n_sizes < 2) {
      set_err(err, errlen,
              "layers needs at least input,classes (e.g. layers=2,100,3)");
      return -1;
    }
    if (reconcile(&c->sizes[0], &c->D, src->layers, src->D, "D", "input",
                  err, errlen) ||
        reconcile(&c->sizes[c->n_sizes - 1], &c->K, src->layers, src->K, "K",
                  "last (classes)", err, errlen))
      return -1;
  } else {
    c->n_sizes = 3;
    c->sizes[0] = c->D;
    c->sizes[1] = 100;
    c->sizes[2] = c->K;
  }
  if (c->D < 2) {
    set_err(err, errlen, "D=%zu: the spiral needs D >= 2 input dimensions",
            c->D);
    return -1;
  }
  if (c->K < 2) {
    set_err(err, errlen, "K=%zu: a classifier needs K >= 2 classes", c->K);
    return -1;
  }
  /* BLAS takes int dimensions: keep every matrix side below 2^31. */
  if (c->N > (size_t)INT32_MAX / c->K) {
    set_err(err, errlen, "N*K = %zu*%zu examples is too many", c->N, c->K);
    return -1;
  }
  size_t total = c->N * c->K;
  if (spiral_n_val(total, c->val) >= total) {
    set_err(err, errlen, "val=%g leaves no training example of N*K = %zu",
            c->val, total);
    return -1;
  }
  for (size_t l = 0; l < c->n_sizes; l++) {
    if (c->sizes[l] > ((size_t)1 << 40) / total) {
      set_err(err, errlen, "layer size %zu times %zu examples is too large",
              c->sizes[l], total);
      return -1;
    }
  }
  for (size_t l = 0; l + 1 < c->n_sizes; l++) {
    if (c->sizes[l] > ((size_t)1 << 40) / c->sizes[l + 1]) {
      set_err(err, errlen, "a %zu x %zu weight matrix is too large",
              c->sizes[l], c->sizes[l + 1]);
      return -1;
    }
  }
  return 0;
}

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
  size_t per = sz[0] + 2 * hidden + sz[L];
  if (with_grads)
    per += hidden + sz[L] + 2 * widest;
  size_t elem = m->ops->elem;
  if (per > ((size_t)1 << 40) / cap) {
    set_err(err, errlen, "a batch of %zu examples is too large", cap);
    return -1;
  }
  char *mem = malloc(cap * (per * elem + sizeof(int32_t)));
  if (!mem) {
    set_err(err, errlen, "out of memory for a batch of %zu examples", cap);
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
  free(m->data);
  free(m->labels);
  free(m->params);
  free(m);
}

/* An instance with room for its data and parameters, contents unset. */
static mlp *mlp_alloc(const mlp_cfg *c, char *err, size_t errlen) {
  mlp *m = calloc(1, sizeof *m);
  if (!m) {
    set_err(err, errlen, "out of memory");
    return NULL;
  }
  m->cfg = *c;
  m->ops = c->is_float ? &nn_ops_f32 : &nn_ops_f64;
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
  if (!m->data || !m->labels || !m->params) {
    set_err(err, errlen, "out of memory for %zu examples of %zu inputs", total,
            c->D);
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
  cfg_source src = {0, 0, 0};
  cfg_defaults(&c);
  if (parse_args(&c, &src, MLP_DEFAULT_ARGS, 1, err, errlen) ||
      parse_args(&c, &src, args, 2, err, errlen) ||
      finish_cfg(&c, &src, err, errlen))
    return NULL;
  mlp *m = mlp_alloc(&c, err, errlen);
  if (!m)
    return NULL;
  size_t n = c.N * c.K * c.D;
  double *x = c.is_float ? malloc(n * sizeof *x) : m->data;
  if (!x || spiral_make(c.K, c.N, c.D, c.data_seed, x, m->labels)) {
    set_err(err, errlen, "out of memory generating the data");
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
    set_err(err, errlen, "unknown split %u (0 train, 1 validation)",
            (unsigned)batch->split);
    return -1;
  }
  int val = batch->split == NNC_SPLIT_VAL;
  size_t n = val ? m->n_val : m->n_train;
  if (batch->count == 0) {
    set_err(err, errlen, "empty batch");
    return -1;
  }
  for (size_t k = 0; k < batch->count; k++) {
    if (batch->index[k] >= n) {
      set_err(err, errlen, "batch index %zu (position %zu) is outside the "
              "%s split of %zu examples", batch->index[k], k,
              val ? "validation" : "training", n);
      return -1;
    }
  }
  sel->idx = batch->index;
  sel->count = batch->count;
  sel->base = val ? m->n_train : 0;
  return 0;
}

/* Copy examples k0 .. k0+n-1 of the selection into ws. */
static void gather(const mlp *m, mlp_ws *ws, const mlp_sel *sel, size_t k0,
                   size_t n) {
  size_t D = m->cfg.D, elem = m->ops->elem;
  for (size_t k = 0; k < n; k++) {
    size_t row = sel->base + (sel->idx ? sel->idx[k0 + k] : k0 + k);
    memcpy(elem_at(m, ws->x, k * D), elem_at(m, m->data, row * D), D * elem);
    ws->label[k] = m->labels[row];
  }
}

/* The input of affine layer l in a pass with drop probability p. */
static const void *layer_input(const mlp_ws *ws, size_t l, double p) {
  if (l == 0)
    return ws->x;
  return p > 0 ? ws->d[l - 1] : ws->h[l - 1];
}

/* Scores of the B examples in ws; dropout with probability p (0: none) under
 * `seed`; ReLU decisions into *win unless NULL. */
static void forward(const mlp *m, mlp_ws *ws, size_t B, double p,
                    uint64_t seed, nn_winners *win) {
  const nn_ops *ops = m->ops;
  const size_t *sz = m->cfg.sizes;
  for (size_t l = 0; l < m->L; l++) {
    int hidden = l + 1 < m->L;
    void *y = hidden ? ws->h[l] : ws->s;
    ops->affine_fwd(layer_input(ws, l, p), weight(m, l), bias(m, l), y, B,
                    sz[l], sz[l + 1]);
    if (!hidden)
      break;
    size_t count = B * sz[l + 1];
    if (m->cfg.act == ACT_RELU)
      ops->relu_fwd(y, y, count, win);
    else
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
  if (flags & NNC_F_DATA) {
    mlp_sel sel;
    if (resolve_batch(m, batch, &sel, err, errlen) ||
        ws_reserve(m, &m->fw, sel.count, 1, err, errlen))
      return -1;
    gather(m, &m->fw, &sel, 0, sel.count);
    forward(m, &m->fw, sel.count, p, seed, &m->win);
    total += data_loss(m, &m->fw, sel.count, NULL, &m->win);
    m->B = sel.count;
    m->have_fwd = 1;
  }
  if (flags & NNC_F_REG) {
    double ss = 0;
    for (size_t l = 0; l < m->L; l++)
      ss += m->ops->sumsq(weight(m, l), block_count(m, 2 * l));
    total += 0.5 * m->cfg.reg * ss;
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
    set_err(err, errlen, "backward without a successful loss() before it");
    return -1;
  }
  const nn_ops *ops = m->ops;
  const size_t *sz = m->cfg.sizes;
  if (m->flags & NNC_F_DATA) {
    mlp_ws *ws = &m->fw;
    size_t B = m->B;
    double p = m->used_p;
    data_loss(m, ws, B, ws->ds, NULL);
    const void *g = ws->ds; /* dL/d(output of layer l) */
    for (size_t l = m->L; l-- > 0;) {
      void *dx = NULL;
      if (l > 0)
        dx = p > 0 ? ws->ga : ws->gh[l - 1];
      ops->affine_bwd(layer_input(ws, l, p), weight(m, l), g, dx,
                      grads[2 * l], grads[2 * l + 1], B, sz[l], sz[l + 1]);
      if (l == 0)
        break;
      size_t count = B * sz[l];
      if (p > 0)
        ops->dropout_bwd(ws->ga, ws->gh[l - 1], count, p, m->seed, l);
      if (m->cfg.act == ACT_RELU)
        ops->relu_bwd(ws->h[l - 1], ws->gh[l - 1], ws->gz, count);
      else
        ops->tanh_bwd(ws->h[l - 1], ws->gh[l - 1], ws->gz, count);
      g = ws->gz;
    }
    m->have_grad = 1;
  } else {
    for (size_t i = 0; i < 2 * m->L; i++)
      ops->zero(grads[i], block_count(m, i));
  }
  if (m->flags & NNC_F_REG)
    for (size_t l = 0; l < m->L; l++)
      ops->axpy(block_count(m, 2 * l), m->used_reg, weight(m, l),
                grads[2 * l]);
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
  out->input_ndim = 1;
  out->input_shape[0] = m->cfg.D;
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
    gather(m, &m->pw, &sel, k0, n);
    forward(m, &m->pw, n, 0, 0, NULL);
    m->ops->argmax(m->pw.s, n, m->cfg.K, pred + k0);
    memcpy(label + k0, m->pw.label, n * sizeof *label);
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
    set_err(err, errlen, "reinit: scale %g is not >= 0", scale);
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
      set_err(err, errlen, "reg=%g: accepted values are numbers >= 0", value);
      return -1;
    }
    m->cfg.reg = value;
  } else if (!strcmp(key, "dropout")) {
    if (!(value >= 0 && value < 1)) {
      set_err(err, errlen, "dropout=%g: accepted values are in [0, 1)", value);
      return -1;
    }
    m->cfg.dropout = value;
  } else {
    set_err(err, errlen, "unknown hyperparameter '%s'; accepted: reg, dropout",
            key);
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
};

NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void);
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &mlp_plugin; }
