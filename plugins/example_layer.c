/* example_layer.c — the smallest useful layer plugin; copy it to start yours.
 * y = a .* x + b elementwise over DIM inputs, parameter blocks a and b [DIM].
 * Only the required callbacks are here; plugin.h lists the optional ones. */
#include <nncheck/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 4

typedef struct {
  double a[DIM], b[DIM]; /* the parameters: the host reads and writes them */
  double *x;             /* copy of the last forward's input, for backward */
  size_t n;              /* batch size of the last forward */
} ex_layer;

static void *ex_create(const char *args, char *err, size_t errlen) {
  ex_layer *l = NULL;
  if (args && *args) /* no arguments: say so instead of ignoring them */
    snprintf(err, errlen, "example_layer: takes no arguments, got '%s'", args);
  else if (!(l = calloc(1, sizeof *l)))
    snprintf(err, errlen, "example_layer: out of memory");
  for (int j = 0; l && j < DIM; j++) {
    l->a[j] = 1 + 0.1 * j;
    l->b[j] = 0.05 * j;
  }
  return l;
}

static void ex_destroy(void *self) { free(((ex_layer *)self)->x); free(self); }
static size_t ex_num_blocks(void *self) { (void)self; return 2; }

static int ex_get_block(void *self, size_t i, nnc_block *out) {
  ex_layer *l = self; /* fields left out are 0; depth 0 = unknown */
  *out = (nnc_block){.name = i == 0 ? "a" : "b", .data = i == 0 ? l->a : l->b,
                     .count = DIM, .dtype = NNC_F64, .ndim = 1, .shape = {DIM}};
  return 0;
}

static int ex_layer_info(void *self, nnc_layer_info *out) {
  (void)self; /* fields left out are 0: coupled = 0, any batch size */
  *out = (nnc_layer_info){.dtype = NNC_F64, .in_ndim = 1, .in_shape = {DIM},
                          .out_ndim = 1, .out_shape = {DIM}};
  return 0;
}

static int ex_forward(void *self, const void *x, void *yv, size_t n,
                      uint64_t seed, uint32_t flags, char *err, size_t errlen) {
  ex_layer *l = self;
  double *y = yv;
  (void)seed, (void)flags; /* no randomness, same in training and inference */
  double *copy = realloc(l->x, (n ? n : 1) * DIM * sizeof *copy);
  if (!copy) {
    snprintf(err, errlen, "example_layer: out of memory");
    return -1;
  }
  memcpy(copy, x, n * DIM * sizeof *copy); /* x is the host's: keep a copy */
  l->x = copy;
  l->n = n;
  for (size_t i = 0; i < n * DIM; i++)
    y[i] = l->a[i % DIM] * l->x[i] + l->b[i % DIM];
  return 0;
}

/* For L = sum(dy .* y): dx = a .* dy, da = sum over examples of dy .* x,
 * db = sum over examples of dy.  Gradients are ASSIGNED, never added to. */
static int ex_backward(void *self, const void *dyv, void *dxv,
                       void *const *grads, char *err, size_t errlen) {
  ex_layer *l = self;
  const double *dy = dyv;
  double *dx = dxv, *da = grads[0], *db = grads[1];
  (void)err, (void)errlen; /* cannot fail */
  for (int j = 0; j < DIM; j++)
    da[j] = db[j] = 0; /* start from zero: never read the host's values */
  for (size_t i = 0; i < l->n * DIM; i++) {
    dx[i] = l->a[i % DIM] * dy[i];
    da[i % DIM] += dy[i] * l->x[i];
    db[i % DIM] += dy[i];
  }
  return 0;
}

static const nnc_plugin ex_plugin = {
    .size = sizeof(nnc_plugin), .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_LAYER, .name = "example_layer",
    .summary = "example: elementwise y = a .* x + b over 4 inputs (copy me)",
    .create = ex_create, .destroy = ex_destroy, .num_blocks = ex_num_blocks,
    .get_block = ex_get_block, .layer_info = ex_layer_info,
    .forward = ex_forward, .layer_backward = ex_backward};

/* The one exported symbol (declared in plugin.h); everything else is static. */
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &ex_plugin; }
