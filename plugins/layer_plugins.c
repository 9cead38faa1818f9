/* layer_plugins.c — the kernels of nn_layers.h, one per layer plugin.
 *
 * Built once per layer with -DNNC_LAYER_ID=N:
 *   1 affine        y = x W + b              blocks W [in,out], b [out]
 *   2 relu          y = max(0, x)
 *   3 tanh          y = tanh(x)
 *   4 dropout       inverted dropout, training mode (NNC_F_TRAIN) only
 *   5 softmax_loss  C scores in, that example's cross-entropy out
 *   6 svm_loss      C scores in, that example's multiclass hinge loss out
 * The loss layers score example i against a label drawn from label_seed and
 * i alone, so every batch size has its labels without any state.
 * Examples of a batch are independent in every one of them. */
#include <nncheck/plugin.h>

#include "nn_layers.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYER_AFFINE 1
#define LAYER_RELU 2
#define LAYER_TANH 3
#define LAYER_DROPOUT 4
#define LAYER_SOFTMAX_LOSS 5
#define LAYER_SVM_LOSS 6

#ifndef NNC_LAYER_ID
/* 1 affine, 2 relu, 3 tanh, 4 dropout, 5 softmax_loss, 6 svm_loss */
#error "build with -DNNC_LAYER_ID=1..6"
#endif

#if NNC_LAYER_ID == LAYER_AFFINE
#define LAYER_NAME "affine"
#define LAYER_SUMMARY "affine layer y = x W + b (OpenBLAS gemm)"
#define LAYER_HELP                                                             \
  "in=4 out=3 dtype=double|float scale=auto|STD (auto: sqrt(1/in)) "          \
  "init_seed=1; W ~ N(0, scale^2), b = 0"
static const char *const layer_keys[] = {"in", "out", "dtype", "scale",
                                         "init_seed", NULL};
#elif NNC_LAYER_ID == LAYER_RELU
#define LAYER_NAME "relu"
#define LAYER_SUMMARY "ReLU y = max(0, x), elementwise"
#define LAYER_HELP "dim=10 dtype=double|float"
static const char *const layer_keys[] = {"dim", "dtype", NULL};
#elif NNC_LAYER_ID == LAYER_TANH
#define LAYER_NAME "tanh"
#define LAYER_SUMMARY "tanh y = tanh(x), elementwise"
#define LAYER_HELP "dim=10 dtype=double|float"
static const char *const layer_keys[] = {"dim", "dtype", NULL};
#elif NNC_LAYER_ID == LAYER_DROPOUT
#define LAYER_NAME "dropout"
#define LAYER_SUMMARY                                                          \
  "inverted dropout (keep with probability 1-p, scale 1/(1-p)), training "    \
  "mode only; the mask is a hash of (seed, element)"
#define LAYER_HELP "dim=10 p=0.5 (drop probability in [0,1)) dtype=double|float"
static const char *const layer_keys[] = {"dim", "p", "dtype", NULL};
#elif NNC_LAYER_ID == LAYER_SOFTMAX_LOSS
#define LAYER_NAME "softmax_loss"
#define LAYER_SUMMARY                                                          \
  "softmax cross-entropy: C scores in, one loss per example out, against "    \
  "seeded labels"
#define LAYER_HELP "classes=3 label_seed=1 dtype=double|float"
static const char *const layer_keys[] = {"classes", "label_seed", "dtype",
                                         NULL};
#elif NNC_LAYER_ID == LAYER_SVM_LOSS
#define LAYER_NAME "svm_loss"
#define LAYER_SUMMARY                                                          \
  "multiclass SVM hinge loss: C scores in, one loss per example out, "        \
  "against seeded labels"
#define LAYER_HELP "classes=3 margin=1 label_seed=1 dtype=double|float"
static const char *const layer_keys[] = {"classes", "margin", "label_seed",
                                         "dtype", NULL};
#else
#error "NNC_LAYER_ID must be 1..6"
#endif

#define IS_LOSS                                                                \
  (NNC_LAYER_ID == LAYER_SOFTMAX_LOSS || NNC_LAYER_ID == LAYER_SVM_LOSS)

typedef struct layer {
  const nn_ops *ops;
  int is_float;
  size_t in, out;        /* widths of one example's input and output */
  double scale;          /* affine weight std; 0: sqrt(1/in) */
  uint64_t init_seed;
  double p;              /* dropout probability */
  double margin;         /* SVM margin */
  uint64_t label_seed;
  void *params;          /* affine: W (in x out) then b (out) */
  /* the last forward() */
  void *cache;           /* x, or y for tanh: what backward needs */
  int32_t *labels;       /* loss layers: labels of its examples */
  size_t cap;            /* examples cache and labels hold */
  size_t n;              /* its batch size */
  int have_fwd;
  uint64_t seed;
  double used_p;         /* dropout probability it applied (0: none) */
  nn_winners win;
} layer;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0)
    return;
  int n = snprintf(err, errlen, "%s: ", LAYER_NAME);
  if (n < 0 || (size_t)n >= errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

/* ---- arguments ---------------------------------------------------------- */

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

static void accepted_keys(char *buf, size_t len) {
  buf[0] = '\0';
  for (size_t i = 0; layer_keys[i]; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", i ? ", " : "", layer_keys[i]);
  }
}

static int set_key(layer *ly, const char *key, const char *v, char *err,
                   size_t errlen) {
  int known = 0;
  for (size_t i = 0; layer_keys[i]; i++)
    known |= !strcmp(key, layer_keys[i]);
  if (!known) {
    char keys[128];
    accepted_keys(keys, sizeof keys);
    set_err(err, errlen, "unknown argument key '%s'; accepted keys: %s", key,
            keys);
    return -1;
  }
  uint64_t u;
  double r;
  if (!strcmp(key, "dtype")) {
    if (!strcmp(v, "double"))
      ly->is_float = 0;
    else if (!strcmp(v, "float"))
      ly->is_float = 1;
    else {
      set_err(err, errlen, "dtype=%s: accepted values are double, float", v);
      return -1;
    }
  } else if (!strcmp(key, "in") || !strcmp(key, "out") ||
             !strcmp(key, "dim") || !strcmp(key, "classes")) {
    uint64_t lo = strcmp(key, "classes") ? 1 : 2;
    if (parse_u64(v, &u) || u < lo || u > (1u << 24)) {
      set_err(err, errlen, "%s=%s: accepted values are integers %u..%u", key,
              v, (unsigned)lo, 1u << 24);
      return -1;
    }
    if (!strcmp(key, "out"))
      ly->out = (size_t)u;
    else
      ly->in = (size_t)u;
  } else if (!strcmp(key, "scale")) {
    if (!strcmp(v, "auto"))
      ly->scale = 0;
    else if (parse_real(v, &r) || r <= 0) {
      set_err(err, errlen, "scale=%s: accepted values are auto or a number > 0",
              v);
      return -1;
    } else
      ly->scale = r;
  } else if (!strcmp(key, "init_seed") || !strcmp(key, "label_seed")) {
    if (parse_u64(v, &u)) {
      set_err(err, errlen, "%s=%s: accepted values are integers in [0, 2^64)",
              key, v);
      return -1;
    }
    if (key[0] == 'i')
      ly->init_seed = u;
    else
      ly->label_seed = u;
  } else if (!strcmp(key, "p")) {
    if (parse_real(v, &r) || r < 0 || r >= 1) {
      set_err(err, errlen, "p=%s: accepted values are numbers in [0, 1)", v);
      return -1;
    }
    ly->p = r;
  } else if (!strcmp(key, "margin")) {
    if (parse_real(v, &r) || r <= 0) {
      set_err(err, errlen, "margin=%s: accepted values are numbers > 0", v);
      return -1;
    }
    ly->margin = r;
  }
  return 0;
}

/* key=value tokens separated by blanks or commas. */
static int parse_args(layer *ly, const char *args, char *err, size_t errlen) {
  static const char seps[] = " \t\n\r\f\v,";
  char tok[128];
  char seen[256] = " "; /* " key key ... ": the keys this string set */
  const char *p = args ? args : "";
  for (;;) {
    p += strspn(p, seps);
    if (!*p)
      return 0;
    size_t len = strcspn(p, seps);
    if (len >= sizeof tok) {
      set_err(err, errlen,
              "argument '%.32s...' is too long: a key=value is at most %zu "
              "characters", p, sizeof tok - 1);
      return -1;
    }
    memcpy(tok, p, len);
    tok[len] = '\0';
    p += len;
    char *eq = strchr(tok, '=');
    if (!eq) {
      char keys[128];
      accepted_keys(keys, sizeof keys);
      set_err(err, errlen, "'%s' is not key=value; accepted keys: %s", tok,
              keys);
      return -1;
    }
    *eq = '\0';
    char pat[132];
    snprintf(pat, sizeof pat, " %s ", tok);
    if (strstr(seen, pat)) {
      set_err(err, errlen, "%s is given twice: give each key once", tok);
      return -1;
    }
    if (set_key(ly, tok, eq + 1, err, errlen))
      return -1;
    /* a known key (an unknown one was refused): few enough to fit */
    if (strlen(seen) + strlen(tok) + 2 < sizeof seen)
      strcat(strcat(seen, tok), " ");
  }
}

/* ---- instances ---------------------------------------------------------- */

static size_t weight_count(const layer *ly) { return ly->in * ly->out; }

static void *bias_of(const layer *ly) {
  return (char *)ly->params + weight_count(ly) * ly->ops->elem;
}

static void init_params(layer *ly, uint64_t seed, double scale) {
  double std = scale > 0 ? scale : ly->scale;
  if (!(std > 0))
    std = sqrt(1.0 / (double)ly->in);
  nn_rng rng;
  nn_rng_seed(&rng, nn_stream(seed, 1));
  for (size_t k = 0; k < weight_count(ly); k++) {
    double v = std * nn_rng_gauss(&rng);
    ly->ops->from_double(&v, (char *)ly->params + k * ly->ops->elem, 1);
  }
  ly->ops->zero(bias_of(ly), ly->out);
}

static void layer_destroy(void *self) {
  layer *ly = self;
  if (!ly)
    return;
  free(ly->params);
  free(ly->cache);
  free(ly->labels);
  free(ly);
}

/* A copy of `proto`'s settings with fresh buffers; parameters unset. */
static layer *layer_alloc(const layer *proto, char *err, size_t errlen) {
  layer *ly = malloc(sizeof *ly);
  if (!ly) {
    set_err(err, errlen, "out of memory");
    return NULL;
  }
  *ly = *proto;
  ly->ops = ly->is_float ? &nn_ops_f32 : &nn_ops_f64;
  ly->params = NULL;
  ly->cache = NULL;
  ly->labels = NULL;
  ly->cap = 0;
  ly->have_fwd = 0;
  nn_winners_reset(&ly->win);
  if (NNC_LAYER_ID == LAYER_AFFINE) {
    ly->params = malloc((weight_count(ly) + ly->out) * ly->ops->elem);
    if (!ly->params) {
      set_err(err, errlen, "out of memory for a %zu x %zu layer", ly->in,
              ly->out);
      free(ly);
      return NULL;
    }
  }
  return ly;
}

static void *layer_create(const char *args, char *err, size_t errlen) {
  layer proto;
  memset(&proto, 0, sizeof proto);
  proto.in = NNC_LAYER_ID == LAYER_AFFINE ? 4 : IS_LOSS ? 3 : 10;
  proto.out = 3;
  proto.init_seed = 1;
  proto.label_seed = 1;
  proto.p = 0.5;
  proto.margin = 1;
  if (parse_args(&proto, args, err, errlen))
    return NULL;
  if (NNC_LAYER_ID != LAYER_AFFINE)
    proto.out = IS_LOSS ? 1 : proto.in;
  else if (proto.in > NN_MAX_PARAMS / proto.out) {
    set_err(err, errlen,
            "in=%zu x out=%zu is more than %zu weights: give smaller in or "
            "out",
            proto.in, proto.out, (size_t)NN_MAX_PARAMS);
    return NULL;
  }
  layer *ly = layer_alloc(&proto, err, errlen);
  if (ly && NNC_LAYER_ID == LAYER_AFFINE)
    init_params(ly, ly->init_seed, 0);
  return ly;
}

static void *layer_clone(void *self, char *err, size_t errlen) {
  const layer *ly = self;
  layer *c = layer_alloc(ly, err, errlen);
  if (c && ly->params)
    memcpy(c->params, ly->params,
           (weight_count(ly) + ly->out) * ly->ops->elem);
  return c;
}

static size_t layer_num_blocks(void *self) {
  (void)self;
  return NNC_LAYER_ID == LAYER_AFFINE ? 2 : 0;
}

static int layer_get_block(void *self, size_t i, nnc_block *out) {
  layer *ly = self;
  if (NNC_LAYER_ID != LAYER_AFFINE || i > 1)
    return -1;
  out->name = i ? "b" : "W";
  out->data = i ? bias_of(ly) : ly->params;
  out->count = i ? ly->out : weight_count(ly);
  out->dtype = ly->is_float ? NNC_F32 : NNC_F64;
  out->ndim = i ? 1 : 2;
  out->shape[0] = i ? ly->out : ly->in;
  out->shape[1] = i ? 0 : ly->out;
  out->depth = 1;
  return 0;
}

static int layer_info(void *self, nnc_layer_info *out) {
  const layer *ly = self;
  out->dtype = ly->is_float ? NNC_F32 : NNC_F64;
  out->in_ndim = 1;
  out->in_shape[0] = ly->in;
  out->out_ndim = 1;
  out->out_shape[0] = ly->out;
  out->coupled = 0;
  out->max_batch = 0;
  return 0;
}

/* ---- forward and backward ----------------------------------------------- */

#if IS_LOSS
/* The label of example i, from label_seed and i alone. */
static int32_t label_of(const layer *ly, size_t i) {
  uint64_t h = nn_mix64(nn_stream(ly->label_seed, 0) + (i + 1) * NN_GOLDEN);
  return (int32_t)(h % ly->in);
}
#endif

static int reserve(layer *ly, size_t n, char *err, size_t errlen) {
  if (n <= ly->cap)
    return 0;
  size_t width = NNC_LAYER_ID == LAYER_TANH ? ly->out : ly->in;
  if (n > (size_t)INT32_MAX / width) {
    set_err(err, errlen, "a batch of %zu examples is too large", n);
    return -1;
  }
  void *cache = malloc(n * width * ly->ops->elem);
  int32_t *labels = IS_LOSS ? malloc(n * sizeof *labels) : NULL;
  if (!cache || (IS_LOSS && !labels)) {
    free(cache);
    free(labels);
    set_err(err, errlen, "out of memory for a batch of %zu examples", n);
    return -1;
  }
  free(ly->cache);
  free(ly->labels);
  ly->cache = cache;
  ly->labels = labels;
  ly->cap = n;
  return 0;
}

static int layer_forward(void *self, const void *x, void *y, size_t n,
                         uint64_t seed, uint32_t flags, char *err,
                         size_t errlen) {
  layer *ly = self;
  const nn_ops *ops = ly->ops;
  ly->have_fwd = 0;
  nn_winners_reset(&ly->win);
  if (reserve(ly, n, err, errlen))
    return -1;
  size_t in_bytes = n * ly->in * ops->elem;
  if (NNC_LAYER_ID != LAYER_TANH && NNC_LAYER_ID != LAYER_DROPOUT && n)
    memcpy(ly->cache, x, in_bytes);
  ly->n = n;
  ly->seed = seed;
  ly->used_p = 0;
#if NNC_LAYER_ID == LAYER_AFFINE
  (void)flags;
  ops->affine_fwd(x, ly->params, bias_of(ly), y, n, ly->in, ly->out);
#elif NNC_LAYER_ID == LAYER_RELU
  (void)flags;
  ops->relu_fwd(x, y, n * ly->in, &ly->win);
#elif NNC_LAYER_ID == LAYER_TANH
  (void)flags;
  ops->tanh_fwd(x, y, n * ly->in);
  if (n)
    memcpy(ly->cache, y, in_bytes);
#elif NNC_LAYER_ID == LAYER_DROPOUT
  ly->used_p = (flags & NNC_F_TRAIN) ? ly->p : 0;
  if (ly->used_p > 0)
    ops->dropout_fwd(x, y, n * ly->in, ly->used_p, seed, 1);
  else if (n)
    memcpy(y, x, in_bytes);
#else
  (void)flags;
  for (size_t i = 0; i < n; i++)
    ly->labels[i] = label_of(ly, i);
#if NNC_LAYER_ID == LAYER_SOFTMAX_LOSS
  ops->softmax_loss(x, ly->labels, n, ly->in, NULL, y, NULL);
#else
  ops->svm_loss(x, ly->labels, n, ly->in, ly->margin, NULL, y, NULL,
                &ly->win);
#endif
#endif
  ly->have_fwd = 1;
  return 0;
}

static int layer_backward(void *self, const void *dy, void *dx,
                          void *const *grads, char *err, size_t errlen) {
  layer *ly = self;
  const nn_ops *ops = ly->ops;
  if (!ly->have_fwd) {
    set_err(err, errlen, "backward without a successful forward() before it");
    return -1;
  }
  size_t n = ly->n;
#if NNC_LAYER_ID == LAYER_AFFINE
  ops->affine_bwd(ly->cache, ly->params, dy, dx, grads[0], grads[1], n,
                  ly->in, ly->out);
#elif NNC_LAYER_ID == LAYER_RELU
  (void)grads;
  ops->relu_bwd(ly->cache, dy, dx, n * ly->in); /* x > 0 exactly when y > 0 */
#elif NNC_LAYER_ID == LAYER_TANH
  (void)grads;
  ops->tanh_bwd(ly->cache, dy, dx, n * ly->in);
#elif NNC_LAYER_ID == LAYER_DROPOUT
  (void)grads;
  if (ly->used_p > 0)
    ops->dropout_bwd(dy, dx, n * ly->in, ly->used_p, ly->seed, 1);
  else if (n)
    memcpy(dx, dy, n * ly->in * ops->elem);
#elif NNC_LAYER_ID == LAYER_SOFTMAX_LOSS
  (void)grads;
  ops->softmax_loss(ly->cache, ly->labels, n, ly->in, dy, NULL, dx);
#else
  (void)grads;
  ops->svm_loss(ly->cache, ly->labels, n, ly->in, ly->margin, dy, NULL, dx,
                NULL);
#endif
  return 0;
}

/* ---- optional callbacks ------------------------------------------------- */

#if NNC_LAYER_ID == LAYER_RELU || NNC_LAYER_ID == LAYER_SVM_LOSS
static int layer_winners(void *self, nnc_winners *out) {
  const layer *ly = self;
  out->hash = ly->win.hash;
  out->decisions = ly->win.decisions;
  out->ties = ly->win.ties;
  return 0;
}
#define LAYER_WINNERS layer_winners
#else
#define LAYER_WINNERS NULL
#endif

#if NNC_LAYER_ID == LAYER_AFFINE
static int layer_reinit(void *self, uint64_t seed, double scale, char *err,
                        size_t errlen) {
  if (!(scale >= 0) || !isfinite(scale)) {
    set_err(err, errlen, "reinit: scale %g is not >= 0", scale);
    return -1;
  }
  init_params(self, seed, scale);
  return 0;
}
#define LAYER_REINIT layer_reinit
#else
#define LAYER_REINIT NULL
#endif

#if NNC_LAYER_ID == LAYER_DROPOUT
static int layer_set_hyper(void *self, const char *key, double value,
                           char *err, size_t errlen) {
  layer *ly = self;
  if (strcmp(key, "dropout") && strcmp(key, "p")) {
    set_err(err, errlen, "unknown hyperparameter '%s'; accepted: dropout, p",
            key);
    return -1;
  }
  if (!(value >= 0 && value < 1)) {
    set_err(err, errlen, "%s=%g: accepted values are in [0, 1)", key, value);
    return -1;
  }
  ly->p = value;
  return 0;
}
#define LAYER_SET_HYPER layer_set_hyper
#else
#define LAYER_SET_HYPER NULL
#endif

static const nnc_plugin layer_plugin = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_LAYER,
    .name = LAYER_NAME,
    .summary = LAYER_SUMMARY,
    .args_help = LAYER_HELP,
    .create = layer_create,
    .destroy = layer_destroy,
    .num_blocks = layer_num_blocks,
    .get_block = layer_get_block,
    .layer_info = layer_info,
    .forward = layer_forward,
    .layer_backward = layer_backward,
    .winners = LAYER_WINNERS,
    .reinit = LAYER_REINIT,
    .clone = layer_clone,
    .set_hyper = LAYER_SET_HYPER,
};

NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void);
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &layer_plugin; }
