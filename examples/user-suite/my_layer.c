/* my_layer.c — y = leaky_relu(W x + b), leaky_relu(z) = z if z > 0 else
 * leak * z.  Blocks: W [out, in], b [out].
 *
 * Build with -DMY_LAYER_BROKEN for the bug this example's suite must catch:
 * backward treats the negative side like a plain ReLU (derivative 0
 * instead of leak). */
#include "my_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  size_t in, out; /* input and output width */
  double leak;    /* slope for negative pre-activations */
  double *W, *b;  /* parameters: out x in, out */
  double *x;      /* copy of the last forward's input */
  double *z;      /* pre-activations of the last forward */
  size_t n;       /* batch size of the last forward */
} my_layer_t;

static void ml_destroy(void *self) {
  my_layer_t *l = self;
  if (!l)
    return;
  free(l->W), free(l->b), free(l->x), free(l->z), free(l);
}

static void *ml_create(const char *args, char *err, size_t errlen) {
  unsigned in = 5, out = 3;
  double leak = 0.1;
  const char *p = args ? args : "";
  while (*p == ' ')
    p++;
  while (*p) { /* key=value pairs separated by blanks */
    int used = 0;
    if (sscanf(p, "in=%u%n", &in, &used) != 1 &&
        sscanf(p, "out=%u%n", &out, &used) != 1 &&
        sscanf(p, "leak=%lf%n", &leak, &used) != 1) {
      snprintf(err, errlen, "my_layer: cannot read '%s': accepted keys are "
               "in=N out=N leak=X", p);
      return NULL;
    }
    for (p += used; *p == ' '; p++)
      ;
  }
  if (in < 1 || out < 1 || in > 4096 || out > 4096) {
    snprintf(err, errlen, "my_layer: in and out must be 1..4096");
    return NULL;
  }
  my_layer_t *l = calloc(1, sizeof *l);
  if (l) {
    l->in = in, l->out = out, l->leak = leak;
    l->W = malloc(in * out * sizeof *l->W);
    l->b = malloc(out * sizeof *l->b);
  }
  if (!l || !l->W || !l->b) {
    ml_destroy(l);
    snprintf(err, errlen, "my_layer: out of memory");
    return NULL;
  }
  for (size_t k = 0; k < in * out; k++) /* a fixed, varied start */
    l->W[k] = 0.5 * ((double)((k * 7 + 3) % 11) / 10.0 - 0.5);
  for (size_t j = 0; j < out; j++)
    l->b[j] = 0.1 * ((double)j - 1.0);
  return l;
}

static size_t ml_num_blocks(void *self) { (void)self; return 2; }

static int ml_get_block(void *self, size_t i, nnc_block *o) {
  my_layer_t *l = self;
  if (i == 0)
    *o = (nnc_block){.name = "W", .data = l->W, .count = l->in * l->out,
                     .dtype = NNC_F64, .ndim = 2, .shape = {l->out, l->in}};
  else
    *o = (nnc_block){.name = "b", .data = l->b, .count = l->out,
                     .dtype = NNC_F64, .ndim = 1, .shape = {l->out}};
  return 0;
}

static int ml_layer_info(void *self, nnc_layer_info *o) {
  my_layer_t *l = self;
  *o = (nnc_layer_info){.dtype = NNC_F64, .in_ndim = 1, .in_shape = {l->in},
                        .out_ndim = 1, .out_shape = {l->out}};
  return 0;
}

static int ml_forward(void *self, const void *xv, void *yv, size_t n,
                      uint64_t seed, uint32_t flags, char *err, size_t errlen) {
  my_layer_t *l = self;
  const double *x = xv;
  double *y = yv;
  (void)seed, (void)flags;
  double *xc = realloc(l->x, (n ? n : 1) * l->in * sizeof *xc);
  if (xc)
    l->x = xc;
  double *zc = realloc(l->z, (n ? n : 1) * l->out * sizeof *zc);
  if (zc)
    l->z = zc;
  if (!xc || !zc) {
    snprintf(err, errlen, "my_layer: out of memory");
    return -1;
  }
  memcpy(l->x, x, n * l->in * sizeof *x);
  l->n = n;
  for (size_t e = 0; e < n; e++)
    for (size_t j = 0; j < l->out; j++) {
      double z = l->b[j];
      for (size_t i = 0; i < l->in; i++)
        z += l->W[j * l->in + i] * x[e * l->in + i];
      l->z[e * l->out + j] = z;
      y[e * l->out + j] = z > 0 ? z : l->leak * z;
    }
  return 0;
}

/* For L = sum(dy .* y): dz = dy * (z > 0 ? 1 : leak), dW = dz x^T summed
 * over the batch, db = sum of dz, dx = W^T dz.  Every gradient ASSIGNED. */
static int ml_backward(void *self, const void *dyv, void *dxv,
                       void *const *grads, char *err, size_t errlen) {
  my_layer_t *l = self;
  const double *dy = dyv;
  double *dx = dxv, *dW = grads[0], *db = grads[1];
  (void)err, (void)errlen;
  memset(dW, 0, l->in * l->out * sizeof *dW);
  memset(db, 0, l->out * sizeof *db);
  memset(dx, 0, l->n * l->in * sizeof *dx);
  for (size_t e = 0; e < l->n; e++)
    for (size_t j = 0; j < l->out; j++) {
      double z = l->z[e * l->out + j];
#ifdef MY_LAYER_BROKEN
      double dz = dy[e * l->out + j] * (z > 0 ? 1 : 0); /* forgot the leak */
#else
      double dz = dy[e * l->out + j] * (z > 0 ? 1 : l->leak);
#endif
      db[j] += dz;
      for (size_t i = 0; i < l->in; i++) {
        dW[j * l->in + i] += dz * l->x[e * l->in + i];
        dx[e * l->in + i] += dz * l->W[j * l->in + i];
      }
    }
  return 0;
}

/* Which side of the kink every unit took: nncheck compares fingerprints to
 * tell a crossed kink from a wrong gradient. */
static int ml_winners(void *self, nnc_winners *o) {
  my_layer_t *l = self;
  uint64_t h = 1469598103934665603u, ties = 0;
  for (size_t k = 0; k < l->n * l->out; k++) {
    h = (h ^ (uint64_t)(l->z[k] > 0)) * 1099511628211u;
    ties += l->z[k] == 0;
  }
  o->hash = h;
  o->decisions = l->n * l->out;
  o->ties = ties;
  return 0;
}

static const nnc_plugin ml_plugin = {
    .size = sizeof(nnc_plugin), .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_LAYER, .name = "my_layer",
    .summary = "y = leaky_relu(W x + b)",
    .args_help = "in=5 out=3 leak=0.1",
    .create = ml_create, .destroy = ml_destroy, .num_blocks = ml_num_blocks,
    .get_block = ml_get_block, .layer_info = ml_layer_info,
    .forward = ml_forward, .layer_backward = ml_backward,
    .winners = ml_winners};

const nnc_plugin *my_layer(void) { return &ml_plugin; }

/* Also a plugin file for the tools: gradcheck ./my_layer.so */
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &ml_plugin; }
