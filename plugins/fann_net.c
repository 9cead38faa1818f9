/* fann_net.c — a net plugin around FANN (the Fast Artificial Neural Network
 * library, double build: libdoublefann), a library nobody here wrote.
 *
 * The net is a FANN fully connected net (fann_create_standard_array) on the
 * spiral data set.  Its loss is FANN's mean square error, computed in double
 * exactly as FANN defines it (fann_update_MSE):
 *
 *   MSE = 1/(n*m) * sum over the n examples and m outputs of (diff/s)^2,
 *   diff = target - output,  s = 2 for a symmetric output activation
 *   (targets -1/+1), s = 1 otherwise (targets 0/1).
 *
 * Its gradient is FANN's own batch training path, per example:
 * fann_run, fann_compute_MSE, fann_backpropagate_MSE, fann_update_slopes_batch,
 * which leave the summed slopes in ann->train_slopes.  Those slopes are not
 * the MSE gradient: they point downhill and grow with the batch,
 *
 *   slope = -(s*n*m/2) * dMSE/dw   (n examples, m outputs),
 *
 * and only with the linear error function, a smooth activation and no
 * saturated unit.  By default (grad=scaled) the plugin multiplies them by
 * -2/(s*n*m), which makes them the gradient of the loss it reports, in the
 * configuration where that holds (act=tanh errfunc=linear, the defaults);
 * grad=raw hands the slopes over as they are, and errfunc=tanh,
 * act=sigmoid_stepwise (FANN's own defaults) and large weights (scale=5)
 * show what else makes FANN's slopes differ from its loss's gradient.  Each
 * FANN layer's connection weights, bias last in every row, are one
 * parameter block: shape [units, inputs+1], pointing straight into
 * ann->weights.
 *
 * fann_compute_MSE, fann_backpropagate_MSE, fann_update_slopes_batch and
 * fann_clear_train_arrays are exported by libdoublefann but declared only in
 * fann_internal.h; their prototypes are repeated below. */
#include "config.h"

#include <doublefann.h>
#include <nncheck/plugin.h>

#include "spiral.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fann_compute_MSE(struct fann *ann, fann_type *desired_output);
void fann_backpropagate_MSE(struct fann *ann);
void fann_update_slopes_batch(struct fann *ann, struct fann_layer *layer_begin,
                              struct fann_layer *layer_end);
void fann_clear_train_arrays(struct fann *ann);

#define FN_MAX_LAYERS 8 /* sizes in layers=, input and output included */

static const char fn_args_help[] =
    "blank-separated key=value, every key optional (defaults):\n"
    "  layers=2,16,3   input,hidden...,outputs (input = 2, outputs = K)\n"
    "  act=tanh        hidden activation: linear|sigmoid|sigmoid_stepwise|"
    "tanh|tanh_stepwise|elliot|elliot_symmetric (tanh is "
    "FANN_SIGMOID_SYMMETRIC; FANN's own default is sigmoid_stepwise)\n"
    "  out=ACT         output activation, same choices (default: act)\n"
    "  steepness=0.5   activation steepness of every unit (FANN's default)\n"
    "  errfunc=linear  FANN's training error function: linear or tanh "
    "(FANN's own default)\n"
    "  grad=scaled     scaled: FANN's train_slopes times -2/(s*n*m) (s = 2 "
    "for a symmetric output activation, else 1; n examples, m outputs); "
    "raw: the slopes as they are\n"
    "FANN as fann_create_standard makes it: act=sigmoid_stepwise "
    "errfunc=tanh grad=raw\n"
    "  mse=double      the loss: double (FANN's MSE formula in double) or "
    "fann (FANN's own MSE, accumulated in float)\n"
    "  scale=0.5       weight standard deviation at init (Gaussian, seeded)\n"
    "  K=3 N=100       spiral classes, points per class\n"
    "  val=0.2         fraction held out for validation, in [0,1)\n"
    "  data_seed=0 init_seed=1";

/* The activations offered, by name. */
static const struct fn_act {
  const char *name;
  enum fann_activationfunc_enum fn;
  int symmetric;       /* outputs in (-1,1): targets -1/+1, FANN halves diff */
  uint32_t probe_kind; /* enum nnc_act_kind of its probe */
} FN_ACTS[] = {
    {"linear", FANN_LINEAR, 0, NNC_ACT_LINEAR},
    {"sigmoid", FANN_SIGMOID, 0, NNC_ACT_SIGMOID},
    {"sigmoid_stepwise", FANN_SIGMOID_STEPWISE, 0, NNC_ACT_SIGMOID},
    {"tanh", FANN_SIGMOID_SYMMETRIC, 1, NNC_ACT_TANH},
    {"tanh_stepwise", FANN_SIGMOID_SYMMETRIC_STEPWISE, 1, NNC_ACT_TANH},
    {"elliot", FANN_ELLIOT, 0, NNC_ACT_OTHER},
    {"elliot_symmetric", FANN_ELLIOT_SYMMETRIC, 1, NNC_ACT_OTHER},
};
#define FN_NACTS (sizeof FN_ACTS / sizeof *FN_ACTS)

typedef struct fn_cfg {
  unsigned sizes[FN_MAX_LAYERS]; /* units per layer, input first */
  size_t n_sizes;                /* number of layers given */
  size_t act, out;               /* indices into FN_ACTS */
  int out_set;                   /* out= given (otherwise out = act) */
  double steepness;              /* every unit's activation steepness */
  int errfunc_tanh;              /* 1: FANN_ERRORFUNC_TANH, 0: linear */
  int grad_scaled;               /* 1: slopes * -2/(s*n*m); 0: raw */
  int mse_fann;                  /* 1: loss from fann_get_MSE (float) */
  double scale;                  /* init weight standard deviation */
  size_t K, N;                   /* spiral classes, points per class */
  double val;                    /* validation fraction */
  uint64_t data_seed, init_seed; /* data set and initial weights */
} fn_cfg;

typedef struct fn_net {
  fn_cfg cfg;          /* parsed arguments */
  struct fann *ann;    /* the FANN net; owns the weights */
  size_t L;            /* weight layers = n_sizes - 1 */
  size_t off[FN_MAX_LAYERS];   /* block l: ann->weights + off[l] */
  size_t rows[FN_MAX_LAYERS];  /* block l: units of layer l+1 */
  size_t cols[FN_MAX_LAYERS];  /* block l: units of layer l, + 1 bias */
  char names[FN_MAX_LAYERS][32]; /* "W1", "W2", ... */
  size_t n_train, n_val; /* split sizes; rows [0,n_train) train, then val */
  double *x;           /* (n_train + n_val) x 2 inputs */
  int32_t *label;      /* classes in [0, K) */
  size_t *batch;       /* rows of the last loss(), absolute */
  size_t n_batch;      /* examples in the last loss() */
  size_t cap;          /* capacity of batch and probe buffers, examples */
  uint32_t flags;      /* flags of the last loss() */
  int zero_input;      /* the last loss() replaced inputs by zeros */
  double *probe_buf[FN_MAX_LAYERS]; /* hidden layer l+1 values, per example */
  char probe_names[FN_MAX_LAYERS][32]; /* "hidden1", ... */
  size_t have_probe;   /* the probe buffers hold the last loss() */
} fn_net;

static void fn_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen)
    return;
  int n = snprintf(err, errlen, "fann: ");
  if (n < 0 || (size_t)n >= errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

/* ---- a private seeded generator (FANN's own uses the global rand()) ----- */

static uint64_t fn_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static double fn_gauss(uint64_t *state) {
  *state += 0x9E3779B97F4A7C15u;
  double u1 = 1.0 - (double)(fn_mix(*state) >> 11) * 0x1p-53;
  *state += 0x9E3779B97F4A7C15u;
  double u2 = (double)(fn_mix(*state) >> 11) * 0x1p-53;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

/* ---- arguments ----------------------------------------------------------- */

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

static int parse_act(const char *v, size_t *out) {
  for (size_t i = 0; i < FN_NACTS; i++)
    if (!strcmp(v, FN_ACTS[i].name)) {
      *out = i;
      return 0;
    }
  return -1;
}

static int parse_layers(fn_cfg *c, char *v, char *err, size_t errlen) {
  c->n_sizes = 0;
  for (char *tok = v; tok && *tok;) {
    char *next = strchr(tok, ',');
    if (next)
      *next++ = 0;
    uint64_t u;
    if (parse_u64(tok, &u) || u == 0 || u > 4096) {
      fn_err(err, errlen, "layers: '%s' is not a size: accepted values are "
             "integers 1..4096, e.g. layers=2,16,3", tok);
      return -1;
    }
    if (c->n_sizes == FN_MAX_LAYERS) {
      fn_err(err, errlen, "layers: at most %d sizes", FN_MAX_LAYERS);
      return -1;
    }
    c->sizes[c->n_sizes++] = (unsigned)u;
    tok = next;
  }
  if (c->n_sizes < 2) {
    fn_err(err, errlen, "layers: at least input and output sizes, e.g. "
           "layers=2,16,3");
    return -1;
  }
  return 0;
}

/* What a key accepts, for the error message. */
static const char *accepted(const char *key) {
  if (!strcmp(key, "act") || !strcmp(key, "out"))
    return "linear, sigmoid, sigmoid_stepwise, tanh, tanh_stepwise, elliot "
           "or elliot_symmetric";
  if (!strcmp(key, "errfunc"))
    return "tanh or linear";
  if (!strcmp(key, "grad"))
    return "raw or scaled";
  if (!strcmp(key, "mse"))
    return "double or fann";
  if (!strcmp(key, "steepness") || !strcmp(key, "scale"))
    return "a number > 0";
  if (!strcmp(key, "K"))
    return "an integer 2..64";
  if (!strcmp(key, "N"))
    return "an integer 1..100000";
  if (!strcmp(key, "val"))
    return "a number in [0, 1)";
  return "a non-negative integer";
}

/* The argument string, key=value separated by blanks.  Commas inside a
 * value belong to it (layers=2,16,3). */
static int parse_args(fn_cfg *c, const char *args, char *err, size_t errlen) {
  *c = (fn_cfg){.sizes = {2, 16, 3}, .n_sizes = 3, .act = 3, .out = 3,
                .steepness = 0.5, .grad_scaled = 1, .scale = 0.5, .K = 3,
                .N = 100, .val = 0.2, .init_seed = 1};
  int k_set = 0;
  char *copy = strdup(args ? args : "");
  if (!copy) {
    fn_err(err, errlen, "out of memory");
    return -1;
  }
  int rc = -1;
  char *save = NULL;
  for (char *kv = strtok_r(copy, " \t\n", &save); kv;
       kv = strtok_r(NULL, " \t\n", &save)) {
    char *v = strchr(kv, '=');
    if (!v) {
      fn_err(err, errlen, "'%s' is not key=value, e.g. act=tanh", kv);
      goto out;
    }
    *v++ = 0;
    uint64_t u;
    int bad = 0;
    if (!strcmp(kv, "layers")) {
      if (parse_layers(c, v, err, errlen))
        goto out;
    } else if (!strcmp(kv, "act")) {
      bad = parse_act(v, &c->act);
    } else if (!strcmp(kv, "out")) {
      bad = parse_act(v, &c->out);
      c->out_set = 1;
    } else if (!strcmp(kv, "steepness")) {
      bad = parse_real(v, &c->steepness) || !(c->steepness > 0);
    } else if (!strcmp(kv, "errfunc")) {
      bad = strcmp(v, "tanh") && strcmp(v, "linear");
      c->errfunc_tanh = !strcmp(v, "tanh");
    } else if (!strcmp(kv, "grad")) {
      bad = strcmp(v, "raw") && strcmp(v, "scaled");
      c->grad_scaled = !strcmp(v, "scaled");
    } else if (!strcmp(kv, "mse")) {
      bad = strcmp(v, "double") && strcmp(v, "fann");
      c->mse_fann = !strcmp(v, "fann");
    } else if (!strcmp(kv, "scale")) {
      bad = parse_real(v, &c->scale) || !(c->scale > 0);
    } else if (!strcmp(kv, "K")) {
      bad = parse_u64(v, &u) || u < 2 || u > 64;
      c->K = (size_t)u;
      k_set = 1;
    } else if (!strcmp(kv, "N")) {
      bad = parse_u64(v, &u) || u < 1 || u > 100000;
      c->N = (size_t)u;
    } else if (!strcmp(kv, "val")) {
      bad = parse_real(v, &c->val) || !(c->val >= 0 && c->val < 1);
    } else if (!strcmp(kv, "data_seed")) {
      bad = parse_u64(v, &c->data_seed);
    } else if (!strcmp(kv, "init_seed")) {
      bad = parse_u64(v, &c->init_seed);
    } else {
      fn_err(err, errlen, "unknown key '%s'; accepted: layers, act, out, "
             "steepness, errfunc, grad, mse, scale, K, N, val, data_seed, "
             "init_seed", kv);
      goto out;
    }
    if (bad) {
      fn_err(err, errlen, "%s=%s is not accepted: %s", kv, v, accepted(kv));
      goto out;
    }
  }
  if (!c->out_set)
    c->out = c->act;
  if (c->sizes[0] != 2) {
    fn_err(err, errlen, "layers: the input size is %u, but the spiral has 2 "
           "inputs", c->sizes[0]);
    goto out;
  }
  if (k_set && c->sizes[c->n_sizes - 1] != c->K) {
    fn_err(err, errlen, "layers: %u outputs, but K=%zu classes",
           c->sizes[c->n_sizes - 1], c->K);
    goto out;
  }
  c->K = c->sizes[c->n_sizes - 1];
  if (c->K < 2) {
    fn_err(err, errlen, "layers: at least 2 outputs (one per class)");
    goto out;
  }
  rc = 0;
out:
  free(copy);
  return rc;
}

/* ---- the net ------------------------------------------------------------- */

static void init_weights(fn_net *m, uint64_t seed, double scale) {
  uint64_t st = fn_mix(seed ^ 0x46414E4E494E4954u);
  for (size_t l = 0; l < m->L; l++)
    for (size_t k = 0; k < m->rows[l] * m->cols[l]; k++)
      m->ann->weights[m->off[l] + k] = scale * fn_gauss(&st);
}

/* Find each layer's weights in ann->weights: FANN's neurons of layer l+1
 * have consecutive connection ranges, each one weight per unit of layer l
 * and its bias neuron (last). */
static int locate_blocks(fn_net *m, char *err, size_t errlen) {
  struct fann *a = m->ann;
  if (a->network_type != FANN_NETTYPE_LAYER || a->connection_rate < 1) {
    fn_err(err, errlen, "FANN built a net that is not fully connected");
    return -1;
  }
  size_t l = 0;
  for (struct fann_layer *ly = a->first_layer + 1; ly != a->last_layer;
       ly++, l++) {
    struct fann_neuron *first = ly->first_neuron;
    size_t units = m->cfg.sizes[l + 1];
    size_t cols = m->cfg.sizes[l] + 1;
    m->off[l] = first->first_con;
    m->rows[l] = units;
    m->cols[l] = cols;
    for (size_t j = 0; j < units; j++)
      if (first[j].first_con != m->off[l] + j * cols ||
          first[j].last_con != m->off[l] + (j + 1) * cols) {
        fn_err(err, errlen, "FANN's weights of layer %zu are not laid out "
               "as [units, inputs+1]", l + 1);
        return -1;
      }
    snprintf(m->names[l], sizeof m->names[l], "W%zu", l + 1);
  }
  return 0;
}

static int setup_ann(fn_net *m, char *err, size_t errlen) {
  const fn_cfg *c = &m->cfg;
  m->ann = fann_create_standard_array((unsigned)c->n_sizes, c->sizes);
  if (!m->ann) {
    fn_err(err, errlen, "fann_create_standard_array failed");
    return -1;
  }
  fann_set_error_log((struct fann_error *)m->ann, NULL);
  fann_set_activation_function_hidden(m->ann, FN_ACTS[c->act].fn);
  fann_set_activation_function_output(m->ann, FN_ACTS[c->out].fn);
  fann_set_activation_steepness_hidden(m->ann, c->steepness);
  fann_set_activation_steepness_output(m->ann, c->steepness);
  fann_set_train_error_function(m->ann, c->errfunc_tanh ? FANN_ERRORFUNC_TANH
                                                        : FANN_ERRORFUNC_LINEAR);
  m->L = c->n_sizes - 1;
  return locate_blocks(m, err, errlen);
}

static void fn_destroy(void *self) {
  fn_net *m = self;
  if (!m)
    return;
  if (m->ann)
    fann_destroy(m->ann);
  for (size_t l = 0; l < FN_MAX_LAYERS; l++)
    free(m->probe_buf[l]);
  free(m->x);
  free(m->label);
  free(m->batch);
  free(m);
}

static void *fn_create(const char *args, char *err, size_t errlen) {
  fn_net *m = calloc(1, sizeof *m);
  if (!m) {
    fn_err(err, errlen, "out of memory");
    return NULL;
  }
  if (parse_args(&m->cfg, args, err, errlen) || setup_ann(m, err, errlen))
    goto fail;
  size_t total = m->cfg.K * m->cfg.N;
  m->n_val = spiral_n_val(total, m->cfg.val);
  m->n_train = total - m->n_val;
  if (m->n_train == 0) {
    fn_err(err, errlen, "val=%g leaves no training example", m->cfg.val);
    goto fail;
  }
  m->x = malloc(total * 2 * sizeof *m->x);
  m->label = malloc(total * sizeof *m->label);
  if (!m->x || !m->label ||
      spiral_make(m->cfg.K, m->cfg.N, 2, m->cfg.data_seed, m->x, m->label)) {
    fn_err(err, errlen, "out of memory");
    goto fail;
  }
  for (size_t l = 0; l + 1 < m->L; l++)
    snprintf(m->probe_names[l], sizeof m->probe_names[l], "hidden%zu", l + 1);
  init_weights(m, m->cfg.init_seed, m->cfg.scale);
  return m;
fail:
  fn_destroy(m);
  return NULL;
}

static void *fn_clone(void *self, char *err, size_t errlen) {
  const fn_net *src = self;
  fn_net *m = calloc(1, sizeof *m);
  size_t total = src->n_train + src->n_val;
  if (!m) {
    fn_err(err, errlen, "out of memory");
    return NULL;
  }
  m->cfg = src->cfg;
  m->n_train = src->n_train;
  m->n_val = src->n_val;
  m->ann = fann_copy(src->ann);
  m->x = malloc(total * 2 * sizeof *m->x);
  m->label = malloc(total * sizeof *m->label);
  if (!m->ann || !m->x || !m->label) {
    fn_err(err, errlen, "out of memory");
    fn_destroy(m);
    return NULL;
  }
  m->L = src->L;
  if (locate_blocks(m, err, errlen)) {
    fn_destroy(m);
    return NULL;
  }
  memcpy(m->x, src->x, total * 2 * sizeof *m->x);
  memcpy(m->label, src->label, total * sizeof *m->label);
  memcpy(m->probe_names, src->probe_names, sizeof m->probe_names);
  return m;
}

static size_t fn_num_blocks(void *self) { return ((fn_net *)self)->L; }

static int fn_get_block(void *self, size_t i, nnc_block *out) {
  fn_net *m = self;
  if (i >= m->L)
    return -1;
  out->name = m->names[i];
  out->data = m->ann->weights + m->off[i];
  out->count = m->rows[i] * m->cols[i];
  out->dtype = NNC_F64;
  out->ndim = 2;
  out->shape[0] = m->rows[i];
  out->shape[1] = m->cols[i];
  out->depth = (uint32_t)(m->L - i);
  return 0;
}

/* The absolute row of a batch's k-th example. */
static int batch_row(const fn_net *m, const nnc_batch *b, size_t k,
                     size_t *row, char *err, size_t errlen) {
  int dflt = !b || !b->index, val = !dflt && b->split == NNC_SPLIT_VAL;
  size_t r = dflt ? k : b->index[k], lim = val ? m->n_val : m->n_train;
  if (r >= lim) {
    fn_err(err, errlen, "example %zu out of range: the %s split has %zu", r,
           val ? "validation" : "training", lim);
    return -1;
  }
  *row = (val ? m->n_train : 0) + r;
  return 0;
}

/* The batch's size, after checking its split. */
static int batch_size(const fn_net *m, const nnc_batch *b, size_t *n,
                      char *err, size_t errlen) {
  int dflt = !b || !b->index;
  if (!dflt && b->split != NNC_SPLIT_TRAIN && b->split != NNC_SPLIT_VAL) {
    fn_err(err, errlen, "unknown split %u", (unsigned)b->split);
    return -1;
  }
  *n = dflt ? m->n_train : b->count;
  if (*n == 0) {
    fn_err(err, errlen, "empty batch");
    return -1;
  }
  return 0;
}

/* The batch's absolute rows into m->batch (growing the buffers), for
 * backward and the probes. */
static int select_batch(fn_net *m, const nnc_batch *b, char *err,
                        size_t errlen) {
  size_t n;
  if (batch_size(m, b, &n, err, errlen))
    return -1;
  if (n > m->cap) {
    size_t *nb = realloc(m->batch, n * sizeof *nb);
    if (!nb) {
      fn_err(err, errlen, "out of memory");
      return -1;
    }
    m->batch = nb;
    for (size_t l = 0; l + 1 < m->L; l++) {
      double *p = realloc(m->probe_buf[l],
                          n * m->cfg.sizes[l + 1] * sizeof *p);
      if (!p) {
        fn_err(err, errlen, "out of memory");
        return -1;
      }
      m->probe_buf[l] = p;
    }
    m->cap = n;
  }
  for (size_t k = 0; k < n; k++)
    if (batch_row(m, b, k, &m->batch[k], err, errlen))
      return -1;
  m->n_batch = n;
  return 0;
}

/* Row r's input (zeros when asked) and target, FANN-encoded: one-hot in
 * {0,1}, or {-1,+1} for a symmetric output activation. */
static void example(const fn_net *m, size_t r, int zero, double *in,
                    double *target) {
  in[0] = zero ? 0 : m->x[2 * r];
  in[1] = zero ? 0 : m->x[2 * r + 1];
  double lo = FN_ACTS[m->cfg.out].symmetric ? -1 : 0;
  for (size_t j = 0; j < m->cfg.K; j++)
    target[j] = (int32_t)j == m->label[r] ? 1 : lo;
}

static int fn_loss(void *self, const nnc_batch *batch, uint64_t seed,
                   uint32_t flags, double *loss, char *err, size_t errlen) {
  fn_net *m = self;
  (void)seed; /* nothing is random */
  if (select_batch(m, batch, err, errlen))
    return -1;
  m->flags = flags;
  m->zero_input = (flags & NNC_F_ZERO_INPUT) != 0;
  m->have_probe = 0;
  if (!(flags & NNC_F_DATA)) { /* FANN has no regularization: 0 */
    *loss = 0;
    return 0;
  }
  size_t K = m->cfg.K;
  double s = FN_ACTS[m->cfg.out].symmetric ? 2 : 1, sum = 0;
  double in[2], target[64];
  fann_reset_MSE(m->ann);
  for (size_t k = 0; k < m->n_batch; k++) {
    example(m, m->batch[k], m->zero_input, in, target);
    const fann_type *y = m->cfg.mse_fann ? fann_test(m->ann, in, target)
                                         : fann_run(m->ann, in);
    for (size_t j = 0; j < K; j++) {
      double d = (target[j] - y[j]) / s;
      sum += d * d;
    }
    for (size_t l = 0; l + 1 < m->L; l++) {
      struct fann_neuron *u = m->ann->first_layer[l + 1].first_neuron;
      size_t w = m->cfg.sizes[l + 1];
      for (size_t j = 0; j < w; j++)
        m->probe_buf[l][k * w + j] = u[j].value;
    }
  }
  m->have_probe = 1;
  *loss = m->cfg.mse_fann ? (double)fann_get_MSE(m->ann)
                          : sum / (double)(m->n_batch * K);
  return 0;
}

static int fn_backward(void *self, void *const *grads, char *err,
                       size_t errlen) {
  fn_net *m = self;
  if (!(m->flags & NNC_F_DATA)) {
    for (size_t l = 0; l < m->L; l++)
      memset(grads[l], 0, m->rows[l] * m->cols[l] * sizeof(double));
    return 0;
  }
  double in[2], target[64];
  fann_reset_MSE(m->ann);
  fann_clear_train_arrays(m->ann);
  for (size_t k = 0; k < m->n_batch; k++) {
    example(m, m->batch[k], m->zero_input, in, target);
    fann_run(m->ann, in);
    fann_compute_MSE(m->ann, target);
    fann_backpropagate_MSE(m->ann);
    fann_update_slopes_batch(m->ann, m->ann->first_layer + 1,
                             m->ann->last_layer - 1);
  }
  if (!m->ann->train_slopes) {
    fn_err(err, errlen, "FANN allocated no train_slopes");
    return -1;
  }
  double s = FN_ACTS[m->cfg.out].symmetric ? 2 : 1;
  double f = m->cfg.grad_scaled ? -2.0 / (s * (double)(m->n_batch * m->cfg.K))
                                : 1.0;
  for (size_t l = 0; l < m->L; l++) {
    double *g = grads[l];
    const fann_type *sl = m->ann->train_slopes + m->off[l];
    for (size_t k = 0; k < m->rows[l] * m->cols[l]; k++)
      g[k] = f * sl[k];
  }
  return 0;
}

/* ---- optional callbacks -------------------------------------------------- */

static int fn_net_info(void *self, nnc_net_info *out) {
  const fn_net *m = self;
  out->n_train = m->n_train;
  out->n_val = m->n_val;
  out->n_classes = (uint32_t)m->cfg.K;
  out->loss_type = NNC_LOSS_OTHER; /* MSE: no loss at chance to compare */
  out->input_ndim = 1;
  out->input_shape[0] = 2;
  out->caps = NNC_CAP_ZERO_INPUT;
  return 0;
}

/* Leaves the last loss()'s batch, flags and probes alone. */
static int fn_predict(void *self, const nnc_batch *batch, int32_t *pred,
                      int32_t *label, char *err, size_t errlen) {
  fn_net *m = self;
  size_t n, row;
  if (batch_size(m, batch, &n, err, errlen))
    return -1;
  double in[2], target[64];
  for (size_t k = 0; k < n; k++) {
    if (batch_row(m, batch, k, &row, err, errlen))
      return -1;
    example(m, row, 0, in, target);
    const fann_type *y = fann_run(m->ann, in);
    size_t best = 0;
    for (size_t j = 1; j < m->cfg.K; j++)
      if (y[j] > y[best])
        best = j;
    pred[k] = (int32_t)best;
    label[k] = m->label[row];
  }
  return 0;
}

static size_t fn_num_probes(void *self) { return ((fn_net *)self)->L - 1; }

static int fn_probe(void *self, size_t i, nnc_probe *out) {
  fn_net *m = self;
  if (i + 1 >= m->L)
    return -1;
  out->name = m->probe_names[i];
  out->kind = FN_ACTS[m->cfg.act].probe_kind;
  out->dtype = NNC_F64;
  out->value = m->have_probe ? m->probe_buf[i] : NULL;
  out->grad = NULL;
  out->count = m->have_probe ? m->n_batch * m->cfg.sizes[i + 1] : 0;
  return 0;
}

static int fn_reinit(void *self, uint64_t seed, double scale, char *err,
                     size_t errlen) {
  fn_net *m = self;
  if (!(scale >= 0) || !isfinite(scale)) {
    fn_err(err, errlen, "reinit: scale %g is not >= 0", scale);
    return -1;
  }
  init_weights(m, seed, scale > 0 ? scale : m->cfg.scale);
  return 0;
}

static const nnc_plugin fn_plugin = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_NET,
    .name = "fann",
    .summary = "FANN (libdoublefann) tanh net on the spiral, loss = FANN's "
               "MSE, gradient = FANN's backpropagated train_slopes times "
               "-2/(s*n*m) (s = 2 for tanh outputs, n examples, m outputs); "
               "grad=raw hands the slopes over as they are",
    .args_help = fn_args_help,
    .create = fn_create,
    .destroy = fn_destroy,
    .num_blocks = fn_num_blocks,
    .get_block = fn_get_block,
    .loss = fn_loss,
    .backward = fn_backward,
    .net_info = fn_net_info,
    .predict = fn_predict,
    .num_probes = fn_num_probes,
    .probe = fn_probe,
    .reinit = fn_reinit,
    .clone = fn_clone,
};

NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &fn_plugin; }
