/* hard_frame.c — the plugin callbacks every hard layer shares.
 *
 * Everything here is the same for a convolution and a softmax: arguments,
 * parameter blocks, scratch that lives from forward to backward, clone,
 * reinit, winners and seeded quantized inputs.  What differs is asked of the
 * layer's table, hl_this (hard_layers.c). */
#include "hard_layers.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inputs are one stream, initial parameters another. */
enum { STREAM_PARAMS = 1, STREAM_INPUT = 2 };

void hl_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0)
    return;
  int n = snprintf(err, errlen, "%s: ", hl_this.name);
  if (n < 0 || (size_t)n >= errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

void *hl_block_data(const hl_layer *ly, size_t i) {
  return (char *)ly->params + ly->blocks[i].offset * ly->elem;
}

void *hl_scratch_at(const hl_layer *ly, size_t off) {
  return (char *)ly->scratch + off * ly->elem;
}

void hl_set_shape(size_t *shape, uint32_t *ndim, size_t a, size_t b,
                  size_t c) {
  shape[0] = a;
  shape[1] = b;
  shape[2] = c;
  *ndim = c ? 3 : b ? 2 : 1;
}

void hl_add_block(hl_layer *ly, const char *name, size_t a, size_t b,
                  size_t c, size_t d) {
  hl_blockdef *bd = &ly->blocks[ly->nblocks++];
  memset(bd, 0, sizeof *bd);
  bd->name = name;
  bd->shape[0] = a;
  bd->shape[1] = b;
  bd->shape[2] = c;
  bd->shape[3] = d;
  bd->ndim = d ? 4 : c ? 3 : b ? 2 : 1;
}

void hl_fill_gauss(const hl_layer *ly, void *dst, size_t count, nn_rng *rng,
                   double mean, double std) {
  for (size_t k = 0; k < count; k++) {
    double v = mean + std * nn_rng_gauss(rng);
    ly->ops->from_double(&v, (char *)dst + k * ly->elem, 1);
  }
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
  for (const hl_key *k = hl_this.keys; k->name; k++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", k == hl_this.keys ? "" : ", ",
             k->name);
  }
}

static int set_key(hl_layer *ly, const char *name, const char *v, char *err,
                   size_t errlen) {
  const hl_key *k = hl_this.keys;
  while (k->name && strcmp(k->name, name))
    k++;
  if (!k->name) {
    char keys[256];
    accepted_keys(keys, sizeof keys);
    hl_err(err, errlen, "unknown argument key '%s'; accepted keys: %s", name,
           keys);
    return -1;
  }
  uint64_t u;
  double r;
  switch (k->kind) {
  case HL_ARG_DTYPE:
    if (strcmp(v, "double") && strcmp(v, "float")) {
      hl_err(err, errlen, "dtype=%s: accepted values are double, float", v);
      return -1;
    }
    ly->is_float = !strcmp(v, "float");
    return 0;
  case HL_ARG_SCALE:
    if (!strcmp(v, "auto")) {
      ly->scale = 0;
      return 0;
    }
    if (parse_real(v, &r) || r <= 0) {
      hl_err(err, errlen, "scale=%s: accepted values are auto or a number > 0",
             v);
      return -1;
    }
    ly->scale = r;
    return 0;
  case HL_ARG_SEED:
    if (parse_u64(v, &u)) {
      hl_err(err, errlen, "%s=%s: accepted values are integers in [0, 2^64)",
             name, v);
      return -1;
    }
    ly->init_seed = u;
    return 0;
  case HL_ARG_INT:
  case HL_ARG_LEVELS:
    if (parse_u64(v, &u) || (double)u < k->lo || (double)u > k->hi) {
      hl_err(err, errlen, "%s=%s: accepted values are integers %.0f..%.0f",
             name, v, k->lo, k->hi);
      return -1;
    }
    if (k->kind == HL_ARG_LEVELS)
      ly->levels = (size_t)u;
    else
      ly->iv[k->slot] = (size_t)u;
    return 0;
  default: /* HL_ARG_REAL, HL_ARG_STEP */
    if (parse_real(v, &r) || !(r > k->lo && r <= k->hi)) {
      hl_err(err, errlen, "%s=%s: accepted values are numbers in (%g, %g]",
             name, v, k->lo, k->hi);
      return -1;
    }
    if (k->kind == HL_ARG_STEP)
      ly->step = r;
    else
      ly->rv[k->slot] = r;
    return 0;
  }
}

/* key=value tokens separated by blanks or commas. */
static int parse_args(hl_layer *ly, const char *args, char *err,
                      size_t errlen) {
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
      hl_err(err, errlen,
              "argument '%.32s...' is too long: a key=value is at most %zu "
              "characters", p, sizeof tok - 1);
      return -1;
    }
    memcpy(tok, p, len);
    tok[len] = '\0';
    p += len;
    char *eq = strchr(tok, '=');
    if (!eq) {
      char keys[256];
      accepted_keys(keys, sizeof keys);
      hl_err(err, errlen, "'%s' is not key=value; accepted keys: %s", tok,
             keys);
      return -1;
    }
    *eq = '\0';
    char pat[132];
    snprintf(pat, sizeof pat, " %s ", tok);
    if (strstr(seen, pat)) {
      hl_err(err, errlen, "%s is given twice: give each key once", tok);
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

static void init_params(hl_layer *ly, uint64_t seed, double scale) {
  nn_rng rng;
  nn_rng_seed(&rng, nn_stream(seed, STREAM_PARAMS));
  hl_this.init(ly, &rng, scale > 0 ? scale : ly->scale);
}

void hl_destroy(void *self) {
  hl_layer *ly = self;
  if (!ly)
    return;
  free(ly->params);
  free(ly->scratch);
  free(ly);
}

/* A copy of `proto`'s settings with fresh buffers; parameters unset. */
static hl_layer *layer_alloc(const hl_layer *proto, char *err, size_t errlen) {
  hl_layer *ly = malloc(sizeof *ly);
  if (!ly) {
    hl_err(err, errlen, "out of memory");
    return NULL;
  }
  *ly = *proto;
  ly->params = NULL;
  ly->scratch = NULL;
  ly->scratch_cap = 0;
  ly->have_fwd = 0;
  nn_winners_reset(&ly->win);
  if (ly->nparams && !(ly->params = malloc(ly->nparams * ly->elem))) {
    hl_err(err, errlen, "out of memory for %zu parameters", ly->nparams);
    free(ly);
    return NULL;
  }
  return ly;
}

static int count_of(const size_t *shape, uint32_t ndim, size_t *out) {
  size_t c = 1;
  for (uint32_t d = 0; d < ndim; d++) {
    if (shape[d] && c > SIZE_MAX / 8 / shape[d])
      return -1;
    c *= shape[d];
  }
  *out = c;
  return 0;
}

void *hl_create(const char *args, char *err, size_t errlen) {
  hl_layer proto;
  memset(&proto, 0, sizeof proto);
  proto.init_seed = 1;
  proto.step = 0.5;
  if (parse_args(&proto, hl_this.defaults, err, errlen) ||
      parse_args(&proto, hl_this.config_args, err, errlen) ||
      parse_args(&proto, args, err, errlen))
    return NULL;
  proto.ops = proto.is_float ? &nn_ops_f32 : &nn_ops_f64;
  proto.elem = proto.ops->elem;
  if (hl_this.setup(&proto, err, errlen))
    return NULL;
  if (count_of(proto.in_shape, proto.in_ndim, &proto.in_count) ||
      count_of(proto.out_shape, proto.out_ndim, &proto.out_count)) {
    hl_err(err, errlen,
           "the input or output of one example is too large: give smaller "
           "sizes");
    return NULL;
  }
  if (proto.in_count > NN_MAX_PARAMS || proto.out_count > NN_MAX_PARAMS) {
    hl_err(err, errlen,
           "one example's %s has %zu values, more than %zu: give smaller "
           "sizes",
           proto.in_count > NN_MAX_PARAMS ? "input" : "output",
           proto.in_count > NN_MAX_PARAMS ? proto.in_count : proto.out_count,
           (size_t)NN_MAX_PARAMS);
    return NULL;
  }
  for (size_t i = 0; i < proto.nblocks; i++) {
    hl_blockdef *b = &proto.blocks[i];
    if (count_of(b->shape, b->ndim, &b->count) ||
        b->count > NN_MAX_PARAMS - proto.nparams) {
      hl_err(err, errlen,
             "block %s makes more than %zu parameters: give smaller sizes",
             b->name, (size_t)NN_MAX_PARAMS);
      return NULL;
    }
    b->offset = proto.nparams;
    proto.nparams += b->count;
  }
  hl_layer *ly = layer_alloc(&proto, err, errlen);
  if (ly && ly->nparams)
    init_params(ly, ly->init_seed, 0);
  return ly;
}

void *hl_clone(void *self, char *err, size_t errlen) {
  const hl_layer *ly = self;
  hl_layer *c = layer_alloc(ly, err, errlen);
  if (c && ly->nparams)
    memcpy(c->params, ly->params, ly->nparams * ly->elem);
  return c;
}

size_t hl_num_blocks(void *self) { return ((const hl_layer *)self)->nblocks; }

int hl_get_block(void *self, size_t i, nnc_block *out) {
  const hl_layer *ly = self;
  if (i >= ly->nblocks)
    return -1;
  const hl_blockdef *b = &ly->blocks[i];
  out->name = b->name;
  out->data = hl_block_data(ly, i);
  out->count = b->count;
  out->dtype = ly->is_float ? NNC_F32 : NNC_F64;
  out->ndim = b->ndim;
  memcpy(out->shape, b->shape, sizeof out->shape);
  out->depth = 1;
  return 0;
}

int hl_layer_info(void *self, nnc_layer_info *out) {
  const hl_layer *ly = self;
  out->dtype = ly->is_float ? NNC_F32 : NNC_F64;
  out->in_ndim = ly->in_ndim;
  memcpy(out->in_shape, ly->in_shape, sizeof out->in_shape);
  out->out_ndim = ly->out_ndim;
  memcpy(out->out_shape, ly->out_shape, sizeof out->out_shape);
  out->coupled = ly->coupled;
  out->max_batch = 0;
  return 0;
}

/* ---- forward and backward ----------------------------------------------- */

/* Scratch for a batch of n: the layers' needs are affine in n. */
static int reserve(hl_layer *ly, size_t n, char *err, size_t errlen) {
  size_t fixed = hl_this.scratch(ly, 0);
  size_t per = hl_this.scratch(ly, 1) - fixed;
  size_t limit = SIZE_MAX / ly->elem - fixed;
  if (per && n > limit / per) {
    hl_err(err, errlen, "a batch of %zu examples is too large", n);
    return -1;
  }
  size_t need = fixed + n * per;
  if (need <= ly->scratch_cap && ly->scratch)
    return 0;
  void *s = malloc((need ? need : 1) * ly->elem);
  if (!s) {
    hl_err(err, errlen, "out of memory for a batch of %zu examples", n);
    return -1;
  }
  free(ly->scratch);
  ly->scratch = s;
  ly->scratch_cap = need;
  return 0;
}

int hl_forward(void *self, const void *x, void *y, size_t n, uint64_t seed,
               uint32_t flags, char *err, size_t errlen) {
  hl_layer *ly = self;
  (void)seed, (void)flags; /* no randomness; training and inference agree */
  ly->have_fwd = 0;
  nn_winners_reset(&ly->win);
  if (reserve(ly, n, err, errlen))
    return -1;
  ly->n = n;
  hl_this.forward(ly, x, y, n);
  ly->have_fwd = 1;
  return 0;
}

int hl_backward(void *self, const void *dy, void *dx, void *const *grads,
                char *err, size_t errlen) {
  hl_layer *ly = self;
  if (!ly->have_fwd) {
    hl_err(err, errlen, "backward without a successful forward() before it");
    return -1;
  }
  hl_this.backward(ly, dy, dx, grads);
  return 0;
}

/* ---- optional callbacks ------------------------------------------------- */

int hl_winners(void *self, nnc_winners *out) {
  const hl_layer *ly = self;
  out->hash = ly->win.hash;
  out->decisions = ly->win.decisions;
  out->ties = ly->win.ties;
  return 0;
}

int hl_reinit(void *self, uint64_t seed, double scale, char *err,
              size_t errlen) {
  if (!(scale >= 0) || !isfinite(scale)) {
    hl_err(err, errlen, "reinit: scale %g is not >= 0", scale);
    return -1;
  }
  init_params(self, seed, scale);
  return 0;
}

int hl_sample_input(void *self, void *x, size_t n, uint64_t seed, char *err,
                    size_t errlen) {
  const hl_layer *ly = self;
  (void)err, (void)errlen;
  nn_rng rng;
  nn_rng_seed(&rng, nn_stream(seed, STREAM_INPUT));
  double mid = ly->levels ? (double)(ly->levels - 1) / 2 : 0;
  for (size_t i = 0; i < n * ly->in_count; i++) {
    double v = ly->levels
                   ? ((double)(nn_rng_next(&rng) % ly->levels) - mid) * ly->step
                   : nn_rng_gauss(&rng);
    ly->ops->from_double(&v, (char *)x + i * ly->elem, 1);
  }
  return 0;
}
