/* example_net.c — the smallest useful net plugin; copy it to start yours.
 * Logistic regression on six fixed 2-D points: z = w . x + b, and
 *   loss = mean over points of -log sigmoid(+-z)  +  0.5 * REG * |w|^2
 * (the bias is not regularized).  Blocks: w [2], b [1].
 * Only the required callbacks are here; plugin.h lists the optional ones. */
#include <nncheck/plugin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NPTS 6
#define REG 0.1
/* Constant data is fine; mutable globals are not (instances may run in
 * parallel threads).  Not separable, so the best w stays finite. */
static const double X[NPTS][2] = {{0.5, 1.0},  {1.5, -0.5},  {-0.4, 0.6},
                                  {-1.0, 0.5}, {-0.5, -1.5}, {0.3, -0.2}};
static const double Y[NPTS] = {1, 1, 1, 0, 0, 0};

typedef struct {
  double w[2], b[1]; /* the parameters: the host reads and writes them */
  double dz[NPTS];   /* dLoss/dz of the last loss(), for backward */
  uint32_t flags;    /* flags of the last loss() */
} ex_net;

static void *ex_create(const char *args, char *err, size_t errlen) {
  ex_net *m = NULL;
  if (args && *args) /* no arguments: say so instead of ignoring them */
    snprintf(err, errlen, "example_net: takes no arguments, got '%s'", args);
  else if (!(m = malloc(sizeof *m)))
    snprintf(err, errlen, "example_net: out of memory");
  else
    *m = (ex_net){.w = {0.3, -0.2}, .b = {0.1}};
  return m;
}

static void ex_destroy(void *self) { free(self); }
static size_t ex_num_blocks(void *self) { (void)self; return 2; }

static int ex_get_block(void *self, size_t i, nnc_block *out) {
  ex_net *m = self; /* fields left out are 0; depth 1: feeds the loss */
  size_t n = i == 0 ? 2 : 1;
  *out = (nnc_block){.name = i == 0 ? "w" : "b", .data = i == 0 ? m->w : m->b,
                     .count = n, .dtype = NNC_F64, .ndim = 1, .shape = {n},
                     .depth = 1};
  return 0;
}

/* Without the optional net_info callback the host knows of no dataset and
 * always asks for the default batch (all points); nothing here is random,
 * so the seed and training mode change nothing. */
static int ex_loss(void *self, const nnc_batch *batch, uint64_t seed,
                   uint32_t flags, double *loss, char *err, size_t errlen) {
  ex_net *m = self;
  double data = 0;
  (void)batch, (void)seed, (void)err, (void)errlen;
  for (int i = 0; i < NPTS; i++) {
    double z = m->w[0] * X[i][0] + m->w[1] * X[i][1] + m->b[0];
    /* -log p(label) = log(1 + e^z) - y z, written so exp() cannot overflow */
    data += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - Y[i] * z;
    m->dz[i] = (1 / (1 + exp(-z)) - Y[i]) / NPTS;
  }
  double reg = 0.5 * REG * (m->w[0] * m->w[0] + m->w[1] * m->w[1]);
  m->flags = flags; /* which parts to differentiate in backward */
  *loss = ((flags & NNC_F_DATA) ? data / NPTS : 0) +
          ((flags & NNC_F_REG) ? reg : 0);
  return 0;
}

/* The gradient of the last loss(): ASSIGN every element, never add. */
static int ex_backward(void *self, void *const *grads, char *err,
                       size_t errlen) {
  ex_net *m = self;
  double *gw = grads[0], *gb = grads[1];
  (void)err, (void)errlen;
  gw[0] = gw[1] = gb[0] = 0; /* start from zero ourselves */
  for (int i = 0; (m->flags & NNC_F_DATA) && i < NPTS; i++) {
    gw[0] += m->dz[i] * X[i][0];
    gw[1] += m->dz[i] * X[i][1];
    gb[0] += m->dz[i];
  }
  for (int k = 0; (m->flags & NNC_F_REG) && k < 2; k++)
    gw[k] += REG * m->w[k];
  return 0;
}

static const nnc_plugin ex_plugin = {
    .size = sizeof(nnc_plugin), .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_NET, .name = "example_net",
    .summary = "example: logistic regression on six points with L2 (copy me)",
    .create = ex_create, .destroy = ex_destroy, .num_blocks = ex_num_blocks,
    .get_block = ex_get_block, .loss = ex_loss, .backward = ex_backward};

/* The one exported symbol (declared in plugin.h); everything else is static. */
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &ex_plugin; }
