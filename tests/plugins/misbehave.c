/* Test-only plugins that nncheck must refuse or report: one source, one
 * misbehaviour per build (MB_*).  The underlying net is least squares on four
 * fixed points, L = mean((w.x + b - t)^2) + 0.5 reg |w|^2, whose gradient is
 * right, so that whatever is reported comes from the misbehaviour alone. */
#include <nncheck/plugin.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct inst {
  double w[2], b[1];
  double scale; /* loss multiplier */
  double r[4];  /* residuals of the last loss */
  uint32_t flags;
  unsigned calls;
  unsigned backs; /* backward calls */
} inst;

static const double X[4][2] = {{1, 2}, {-1, 0.5}, {0.3, -2}, {2, 1}};
static const double T[4] = {1, -0.5, 0.25, 2};
static const double REG = 0.1;

static void *create(const char *args, char *err, size_t errlen)
{
  (void)args;
#ifdef MB_CREATE_FAILS
  strncpy(err, "this plugin always refuses to start", errlen - 1);
  err[errlen - 1] = 0;
  return NULL;
#else
  (void)err;
  (void)errlen;
  inst *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->w[0] = 0.3;
  s->w[1] = -0.7;
  s->b[0] = 0.1;
#ifdef MB_TINY_GRAD
  s->scale = 1e-14;
#else
  s->scale = 1;
#endif
  return s;
#endif
}

static void destroy(void *p) { free(p); }
static size_t num_blocks(void *p) { (void)p; return 2; }

static int get_block(void *p, size_t i, nnc_block *out)
{
  inst *s = p;
  out->name = i == 0 ? "w" : "b";
  out->data = i == 0 ? (void *)s->w : (void *)s->b;
#ifdef MB_NULL_DATA
  if (i == 1)
    out->data = NULL;
#endif
  out->count = i == 0 ? 2 : 1;
  out->dtype = NNC_F64;
  out->depth = 1;
  return 0;
}

static int loss(void *p, const nnc_batch *batch, uint64_t seed, uint32_t flags,
                double *out, char *err, size_t errlen)
{
  (void)batch;
  (void)seed;
  (void)err;
  (void)errlen;
  inst *s = p;
  double L = 0;
  s->flags = flags;
  for (int k = 0; k < 4; k++) {
    s->r[k] = s->w[0] * X[k][0] + s->w[1] * X[k][1] + s->b[0] - T[k];
    if (flags & NNC_F_DATA)
      L += s->r[k] * s->r[k] / 4;
  }
  if (flags & NNC_F_REG)
    L += 0.5 * REG * (s->w[0] * s->w[0] + s->w[1] * s->w[1]);
#ifdef MB_NAN_LOSS
  L = NAN;
#endif
#ifdef MB_BIG_OFFSET
  /* a constant so large that the loss's round-off swamps the differences */
  L += 1e12;
#endif
#ifdef MB_ROUNDOFF
  /* as a threaded sum does: the last bits vary from call to call */
  L *= 1 + ((int)(s->calls++ % 3) - 1) * 2 * DBL_EPSILON;
#endif
  *out = L * s->scale;
  return 0;
}

static int backward(void *p, void *const *grads, char *err, size_t errlen)
{
  (void)err;
  (void)errlen;
  inst *s = p;
  double *gw = grads[0], *gb = grads[1];
  gw[0] = gw[1] = gb[0] = 0;
  for (int k = 0; k < 4; k++) {
    if (!(s->flags & NNC_F_DATA))
      break;
    gw[0] += 2 * s->r[k] * X[k][0] / 4;
    gw[1] += 2 * s->r[k] * X[k][1] / 4;
    gb[0] += 2 * s->r[k] / 4;
  }
  if (s->flags & NNC_F_REG) {
    gw[0] += REG * s->w[0];
    gw[1] += REG * s->w[1];
  }
  for (int j = 0; j < 2; j++)
    gw[j] *= s->scale;
  gb[0] *= s->scale;
#ifdef MB_NAN_GRAD
  gw[1] = NAN;
#endif
#ifdef MB_NAN_GRAD_LATE
  /* a gradient that goes bad mid-training, in one block only */
  if (++s->backs >= 6)
    gb[0] = NAN;
#endif
  return 0;
}

static const nnc_plugin desc = {
#ifdef MB_TINY_SIZE
    .size = 16,
#elif defined(MB_HUGE_SIZE)
    .size = 1u << 20,
#else
    .size = sizeof(nnc_plugin),
#endif
#ifdef MB_ABI_FUTURE
    .abi_version = NNC_ABI_VERSION + 98,
#else
    .abi_version = NNC_ABI_VERSION,
#endif
    .kind = NNC_KIND_NET,
    .name = "misbehave",
    .summary = "least squares that misbehaves in one way per build",
    .create = create,
    .destroy = destroy,
    .num_blocks = num_blocks,
    .get_block = get_block,
#ifndef MB_MISSING_LOSS
    .loss = loss,
#endif
    .backward = backward,
};

#ifndef MB_NO_ENTRY
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &desc; }
#else
NNC_EXPORT const nnc_plugin *not_the_entry(void);
NNC_EXPORT const nnc_plugin *not_the_entry(void) { return &desc; }
#endif
