/* mlp_args.c — mlp's argument string: key=value parsing, validation and
 * the error messages that name what is accepted.
 *
 * Compiled once per variant with that variant's -DMLP_NAME and
 * -DMLP_DEFAULT_ARGS, like mlp.c. */
#include "mlp_args.h"

#include "spiral.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MLP_DEFAULT_ARGS
#define MLP_DEFAULT_ARGS ""
#endif

#define MLP_KEYS                                                               \
  "layers, act, dropout, loss, reg, dtype, scale, K, N, D, val, data_seed, "  \
  "init_seed, threads, margin, data, side, channels, kernels"

const char mlp_args_help[] =
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
    "  data=spiral     spiral|bars: bars are side x side images of oriented "
    "bars (channels each; class = orientation), D = channels*side^2\n"
    "  side=8 channels=1  the bars' image size\n"
    "  val=0.2         fraction held out for validation, in [0,1)\n"
    "  data_seed=0 init_seed=1\n"
    "  threads=1       OpenBLAS threads (1 keeps sums reproducible)\n"
    "  kernels=auto    auto|blas: auto runs one hidden ReLU layer of <= 4 "
    "inputs, <= 1024 units and 2..5 classes with softmax through its own "
    "AVX-512 kernels where the processor has them; blas always through "
    "OpenBLAS\n"
    "Without layers=, the net is D,100,K.  Where layers= and D= or K= "
    "disagree, the later argument string (the user's over the built-in "
    "defaults) wins.";

/* Which argument string set layers, K and D: 0 none, 1 the built-in
 * defaults, 2 the user's.  Decides who wins when they disagree. */
typedef struct cfg_source {
  int layers, K, D;
} cfg_source;

void mlp_set_err(char *err, size_t errlen, const char *fmt, ...) {
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
  c->bars = 0;
  c->side = 8;
  c->channels = 1;
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
    mlp_set_err(err, errlen,
                "layers: '%s' is not a size: accepted values are positive "
                "integers, e.g. layers=2,100,3",
                s);
    return -1;
  }
  if (c->n_sizes >= MLP_MAX_LAYERS + 1) {
    mlp_set_err(err, errlen, "layers: at most %d sizes (%d affine layers)",
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
  } else if (!strcmp(key, "kernels")) {
    if (choose(v, "auto", "blas", &c->blas_only))
      accepted = "auto, blas";
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
  } else if (!strcmp(key, "data")) {
    if (choose(v, "spiral", "bars", &c->bars))
      accepted = "spiral, bars";
  } else if (!strcmp(key, "side") || !strcmp(key, "channels")) {
    if (parse_count(v, &n) || n > 4096)
      accepted = "integers 1..4096";
    else if (key[0] == 's')
      c->side = n;
    else
      c->channels = n;
  } else if (!strcmp(key, "threads")) {
    if (parse_count(v, &n) || n > 1024)
      accepted = "integers 1..1024";
    else
      c->threads = (int)n;
  } else {
    mlp_set_err(err, errlen,
                "unknown argument key '%s'; accepted keys: " MLP_KEYS, key);
    return -1;
  }
  if (accepted) {
    mlp_set_err(err, errlen, "%s=%s: accepted values are %s", key, v, accepted);
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
  char seen[256] = " "; /* " key key ... ": the keys this string set */
  int in_layers = 0;
  const char *p = args ? args : "";
  for (;;) {
    p += strspn(p, seps);
    if (!*p)
      break;
    size_t len = strcspn(p, seps);
    if (len >= sizeof tok) {
      mlp_set_err(err, errlen, "argument '%.32s...' is too long: a key=value is at most "
                  "%zu characters", p, sizeof tok - 1);
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
      mlp_set_err(err, errlen,
                  "'%s' is not key=value; accepted keys: " MLP_KEYS, tok);
      return -1;
    }
    *eq = '\0';
    char pat[260];
    snprintf(pat, sizeof pat, " %s ", tok);
    if (strstr(seen, pat)) {
      mlp_set_err(err, errlen, "%s is given twice: give each key once", tok);
      return -1;
    }
    in_layers = !strcmp(tok, "layers");
    if (in_layers) {
      c->n_sizes = 0;
      src->layers = prio;
      if (eq[1] && add_layer_size(c, eq + 1, err, errlen))
        return -1;
    } else if (set_key(c, src, prio, tok, eq + 1, err, errlen)) {
      return -1;
    }
    /* a known key (an unknown one was refused): at most 15 of them fit */
    if (strlen(seen) + strlen(tok) + 2 < sizeof seen)
      strcat(strcat(seen, tok), " ");
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
  mlp_set_err(err, errlen, "layers: the %s size %zu must equal %s=%zu", what,
              *layer, key, *v);
  return -1;
}

static int finish_cfg(mlp_cfg *c, const cfg_source *src, char *err,
                      size_t errlen) {
  if (c->bars) {
    /* The image fixes the input size: D= or layers= must agree. */
    if (c->side < 2) {
      mlp_set_err(err, errlen, "side=%zu: bars need images of 2x2 or more",
                  c->side);
      return -1;
    }
    size_t D = c->channels * c->side * c->side;
    if ((src->D && c->D != D) || (src->layers && c->sizes[0] != D)) {
      mlp_set_err(err, errlen,
                  "data=bars: the input size is channels*side^2 = %zu; "
                  "leave D= out and start layers= with %zu",
                  D, D);
      return -1;
    }
    c->D = D;
  }
  if (src->layers) {
    if (c->n_sizes < 2) {
      mlp_set_err(err, errlen,
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
    mlp_set_err(err, errlen, "D=%zu: the spiral needs D >= 2 input dimensions",
                c->D);
    return -1;
  }
  if (c->K < 2) {
    mlp_set_err(err, errlen, "K=%zu: a classifier needs K >= 2 classes", c->K);
    return -1;
  }
  /* BLAS takes int dimensions: keep every matrix side below 2^31. */
  if (c->N > (size_t)INT32_MAX / c->K) {
    mlp_set_err(err, errlen, "N*K = %zu*%zu examples is too many", c->N, c->K);
    return -1;
  }
  size_t total = c->N * c->K;
  if (spiral_n_val(total, c->val) >= total) {
    mlp_set_err(err, errlen, "val=%g leaves no training example of N*K = %zu",
                c->val, total);
    return -1;
  }
  for (size_t l = 0; l < c->n_sizes; l++) {
    if (c->sizes[l] > ((size_t)1 << 40) / total) {
      mlp_set_err(err, errlen, "layer size %zu times %zu examples is too large",
                  c->sizes[l], total);
      return -1;
    }
  }
  /* What create() allocates and fills at once: the data (MLP_MAX_DATA) and
   * each weight matrix (MLP_MAX_ELEMS). */
  if (c->D > MLP_MAX_DATA / total) {
    mlp_set_err(err, errlen,
                "the data, N*K = %zu examples of D = %zu inputs, is more than "
                "%zu values: give smaller N, K or D",
                total, c->D, MLP_MAX_DATA);
    return -1;
  }
  for (size_t l = 0; l + 1 < c->n_sizes; l++) {
    if (c->sizes[l] > MLP_MAX_ELEMS / c->sizes[l + 1]) {
      mlp_set_err(err, errlen,
                  "a %zu x %zu weight matrix is more than %zu weights: give "
                  "smaller layers=",
                  c->sizes[l], c->sizes[l + 1], MLP_MAX_ELEMS);
      return -1;
    }
  }
  return 0;
}

int mlp_cfg_parse(mlp_cfg *c, const char *args, char *err, size_t errlen) {
  cfg_source src = {0, 0, 0};
  cfg_defaults(c);
  if (parse_args(c, &src, MLP_DEFAULT_ARGS, 1, err, errlen) ||
      parse_args(c, &src, args, 2, err, errlen) ||
      finish_cfg(c, &src, err, errlen))
    return -1;
  return 0;
}
