/* Contract audits: what a finite difference cannot see, checked before one
 * is taken.
 *
 * A loss that ignores its seed makes every difference noise; a backward that
 * adds into its buffer is right once and wrong the second time; a forward
 * that moves the parameters changes the point under the check; a layer that
 * mixes the examples of a batch has perfectly consistent gradients.  Each
 * audit here is a named verdict with the evidence in one sentence. */
#include "config.h"
#include "audit.h"
#include "rng.h"
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { STREAM_AUDIT = 21 };

static nnc_audit *add(nnc_gradcheck_result *r, const char *name,
                      uint32_t verdict, uint32_t breach, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static nnc_audit *add(nnc_gradcheck_result *r, const char *name,
                      uint32_t verdict, uint32_t breach, const char *fmt, ...)
{
  if (r->naudits >= NNC_MAX_AUDITS)
    return NULL;
  nnc_audit *a = &r->audits[r->naudits++];
  a->name = name;
  a->verdict = verdict;
  a->breach = breach;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->detail, sizeof a->detail, fmt, ap);
  va_end(ap);
  return a;
}

/* Everything the host may compare: the plugin's parameters, and for a
 * layer its input, output and dy. */
typedef struct snap {
  size_t nb;
  void **data;
} snap;

static size_t block_bytes(const nnc_block *b)
{
  return b->count * nnci_dtype_size(b->dtype);
}

/* First element of block b that differs bitwise from the snapshot, or -1. */
static long snap_diff(nnc_model *m, const snap *s, size_t *block)
{
  for (size_t b = 0; b < s->nb; b++) {
    const nnc_block *blk = &m->blocks[b];
    size_t es = nnci_dtype_size(blk->dtype);
    if (!memcmp(s->data[b], blk->data, block_bytes(blk)))
      continue;
    for (size_t i = 0; i < blk->count; i++)
      if (memcmp((char *)s->data[b] + i * es, (char *)blk->data + i * es, es)) {
        *block = b;
        return (long)i;
      }
  }
  return -1;
}

static void snap_restore(nnc_model *m, const snap *s)
{
  for (size_t b = 0; b < s->nb; b++)
    memcpy(m->blocks[b].data, s->data[b], block_bytes(&m->blocks[b]));
}

/* ---- chunk fingerprints --------------------------------------------------
 * The audits compare whole parameter and gradient sets; a copy of either
 * would double the memory of a large net.  A 64-bit fingerprint per chunk
 * of CHUNK elements (1/CHUNK of the memory) says which chunk changed; an
 * exact comparison then only needs that chunk. */
#define CHUNK 64

static size_t chunks_of(const nnc_model *m, size_t nb)
{
  size_t n = 0;
  for (size_t b = 0; b < nb; b++)
    n += (m->blocks[b].count + CHUNK - 1) / CHUNK;
  return n;
}

/* Fingerprints of every chunk of `nb` buffers (block b's count and dtype):
 * of the raw bytes (exact = bitwise), or of the values with -0 taken as +0
 * (exact = equal values). */
static void fingerprint(const nnc_model *m, size_t nb, void *const *bufs,
                        int values, uint64_t *out)
{
  size_t k = 0;
  for (size_t b = 0; b < nb; b++) {
    const nnc_block *blk = &m->blocks[b];
    for (size_t c0 = 0; c0 < blk->count; c0 += CHUNK) {
      size_t c1 = c0 + CHUNK < blk->count ? c0 + CHUNK : blk->count;
      uint64_t h = 1469598103934665603ULL;
      for (size_t i = c0; i < c1; i++) {
        uint64_t w = 0;
        if (values) {
          double v = nnci_load(bufs[b], blk->dtype, i);
          if (v == 0)
            v = 0; /* -0 and +0 alike */
          memcpy(&w, &v, sizeof w);
        } else if (blk->dtype == NNC_F32) {
          uint32_t u;
          memcpy(&u, (const float *)bufs[b] + i, sizeof u);
          w = u;
        } else {
          memcpy(&w, (const double *)bufs[b] + i, sizeof w);
        }
        h = (h ^ w) * 1099511628211ULL;
        h ^= h >> 31;
      }
      out[k++] = h;
    }
  }
}

/* The first chunk whose fingerprints differ: its block and element range;
 * 0 when none does. */
static int first_changed(const nnc_model *m, size_t nb, const uint64_t *a,
                         const uint64_t *b, size_t *block, size_t *lo,
                         size_t *hi)
{
  size_t k = 0;
  for (size_t bb = 0; bb < nb; bb++) {
    size_t count = m->blocks[bb].count;
    for (size_t c0 = 0; c0 < count; c0 += CHUNK, k++)
      if (a[k] != b[k]) {
        *block = bb;
        *lo = c0;
        *hi = c0 + CHUNK < count ? c0 + CHUNK : count;
        return 1;
      }
  }
  return 0;
}

/* The "output" compared by the determinism audits: a net's loss, a layer's
 * whole y (a layer's scalar L could hide a change that cancels). */
typedef struct outv {
  double loss;
  void *y;
  size_t ybytes;
} outv;

static int eval(nnc_model *m, uint64_t seed, uint32_t flags, outv *o)
{
  int rc = nnc_model_loss(m, NULL, seed, flags, &o->loss);
  if (rc == NNC_OK && m->d.kind == NNC_KIND_LAYER) {
    o->ybytes = m->n * m->out_count * nnci_dtype_size(m->li.dtype);
    if (!o->y)
      o->y = malloc(o->ybytes);
    if (!o->y)
      return NNC_ENOMEM;
    memcpy(o->y, m->y, o->ybytes);
  }
  return rc;
}

static int same(const outv *a, const outv *b)
{
  if (a->y)
    return !memcmp(a->y, b->y, a->ybytes);
  return !memcmp(&a->loss, &b->loss, sizeof a->loss);
}

static double out_diff(nnc_model *m, const outv *a, const outv *b,
                       double *scale);

/* Equal, or apart only by the round-off level seen between two calls with
 * one seed (threaded sums). */
static int same_within(nnc_model *m, const nnc_gradcheck_result *r,
                       const outv *a, const outv *b)
{
  if (same(a, b))
    return 1;
  double scale;
  return r->nondeterminism > 0 &&
         out_diff(m, a, b, &scale) <= 4 * r->nondeterminism;
}

/* Largest |difference| between two outputs, and their scale. */
static double out_diff(nnc_model *m, const outv *a, const outv *b,
                       double *scale)
{
  if (!a->y) {
    *scale = fmax(fabs(a->loss), fabs(b->loss));
    return fabs(a->loss - b->loss);
  }
  double d = 0, s = 0;
  for (size_t i = 0; i < m->n * m->out_count; i++) {
    double x = nnci_load(a->y, m->li.dtype, i), y = nnci_load(b->y, m->li.dtype, i);
    d = fmax(d, fabs(x - y));
    s = fmax(s, fmax(fabs(x), fabs(y)));
  }
  *scale = s;
  return d;
}

static double eps_of(nnc_model *m)
{
  uint32_t dt = m->d.kind == NNC_KIND_LAYER ? m->li.dtype : NNC_F64;
  for (size_t b = 0; b < m->nparam; b++)
    if (m->blocks[b].dtype == NNC_F32)
      dt = NNC_F32;
  return dt == NNC_F32 ? (double)FLT_EPSILON : DBL_EPSILON;
}

static int audit_determinism(nnc_model *m, nnc_gradcheck_result *r,
                             uint64_t seed, uint32_t train, int *stop)
{
  outv a = {0}, b = {0}, c = {0};
  uint32_t fl = NNC_F_ALL | train;
  int rc;
  r->loss_evals += 2;
  if ((rc = eval(m, seed, fl, &a)) || (rc = eval(m, seed, fl, &b)))
    goto out;
  const char *what = m->d.kind == NNC_KIND_LAYER ? "forwards" : "losses";
  if (same(&a, &b)) {
    add(r, "determinism", NNC_PASS, 0,
        "two %s with seed %llu agree bit for bit", what,
        (unsigned long long)seed);
  } else {
    double scale, d = out_diff(m, &a, &b, &scale);
    if (d <= 1e3 * eps_of(m) * fmax(scale, 1e-300)) {
      r->nondeterminism = d;
      add(r, "determinism", NNC_WARN, 0,
          "two %s with seed %llu differ by %.3g (relative %.2g): round-off "
          "level, as threaded sums give; the noise floor is widened to it",
          what, (unsigned long long)seed, d, d / fmax(scale, 1e-300));
    } else {
      add(r, "determinism", NNC_FAIL, 1,
          "two %s with the same seed %llu differ by %.3g (relative %.2g): "
          "the plugin ignores the seed; draw every random choice (dropout "
          "masks, augmentation) from the seed it is given",
          what, (unsigned long long)seed, d, d / fmax(scale, 1e-300));
      *stop = 1;
      goto out;
    }
  }
  if (!train) {
    add(r, "seed", NNC_SKIP, 0, "inference mode (--eval): no randomness");
    goto out;
  }
  /* Does training mode draw anything?  Then the seed must matter. */
  r->loss_evals++;
  if ((rc = eval(m, seed, NNC_F_ALL, &c)))
    goto out;
  if (same_within(m, r, &a, &c)) {
    add(r, "seed", NNC_PASS, 0,
        "training and inference modes agree: nothing random to seed");
    goto out;
  }
  int changed = 0;
  for (uint64_t k = 1; k <= 3 && !changed; k++) {
    r->loss_evals++;
    if ((rc = eval(m, nnc_hash64(seed + 0x5eed * k), fl, &c)))
      goto out;
    changed = !same_within(m, r, &a, &c);
  }
  if (changed)
    add(r, "seed", NNC_PASS, 0,
        "training mode is random and a different seed changes the %s",
        m->d.kind == NNC_KIND_LAYER ? "output" : "loss");
  else {
    add(r, "seed", NNC_FAIL, 1,
        "training mode changes the %s, but three other seeds do not: a "
        "random choice (a dropout mask) is fixed instead of drawn from the "
        "seed, so a check cannot vary it",
        m->d.kind == NNC_KIND_LAYER ? "output" : "loss");
    *stop = 1;
  }
out:
  free(a.y);
  free(b.y);
  free(c.y);
  return rc;
}

static int audit_side_effects(nnc_model *m, nnc_gradcheck_result *r,
                              uint64_t seed, uint32_t train, int *stop)
{
  /* backward with a zero prefill: one that adds into its buffer is the
   * overwrite audit's to name, not a NaN here.  The parameters before the
   * loss are kept in the gradient buffers (a net's and a layer's blocks
   * have one each, of the same size), which the loss does not touch; across
   * the backward, which writes those buffers, chunk fingerprints stand in
   * for them. */
  snap s = {m->nparam, m->grads};
  size_t nch = chunks_of(m, m->nparam);
  uint64_t *h0 = malloc((nch ? nch : 1) * sizeof *h0);
  uint64_t *h1 = malloc((nch ? nch : 1) * sizeof *h1);
  size_t n_in = m->d.kind == NNC_KIND_LAYER ? m->n * m->in_count : 0;
  size_t n_out = m->d.kind == NNC_KIND_LAYER ? m->n * m->out_count : 0;
  size_t es = m->d.kind == NNC_KIND_LAYER ? nnci_dtype_size(m->li.dtype) : 0;
  void *x0 = n_in ? malloc(n_in * es) : NULL, *dy0 = n_out ? malloc(n_out * es) : NULL;
  int rc = NNC_OK;
  if (!h0 || !h1 || (n_in && (!x0 || !dy0))) {
    rc = NNC_ENOMEM;
    goto out;
  }
  for (size_t b = 0; b < m->nparam; b++)
    memcpy(m->grads[b], m->blocks[b].data, block_bytes(&m->blocks[b]));
  if (n_in) {
    memcpy(x0, m->x, n_in * es);
    memcpy(dy0, m->dy, n_out * es);
  }
  double L;
  r->loss_evals++;
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)))
    goto out;
  size_t b;
  long i = snap_diff(m, &s, &b);
  const char *fwd = m->d.kind == NNC_KIND_LAYER ? "forward()" : "loss()";
  if (i >= 0) {
    add(r, "side-effects", NNC_FAIL, 1,
        "%s changed parameter block '%s' at index %ld (%.17g -> %.17g): a "
        "forward pass must leave the parameters alone (apply decay or "
        "normalisation in an update step, not in %s)",
        fwd, m->blocks[b].name, i, nnci_load(s.data[b], m->blocks[b].dtype, (size_t)i),
        nnci_load(m->blocks[b].data, m->blocks[b].dtype, (size_t)i), fwd);
    snap_restore(m, &s);
    *stop = 1;
    goto out;
  }
  if (n_in && memcmp(x0, m->x, n_in * es)) {
    add(r, "side-effects", NNC_FAIL, 1,
        "forward() wrote into its input x: x belongs to the host");
    *stop = 1;
    goto out;
  }
  void **params = malloc((m->nparam + 1) * sizeof *params);
  if (!params) {
    rc = NNC_ENOMEM;
    goto out;
  }
  for (size_t bb = 0; bb < m->nparam; bb++)
    params[bb] = m->blocks[bb].data;
  fingerprint(m, m->nparam, params, 0, h0);
  r->backward_calls++;
  if ((rc = nnci_backward(m, NNCI_PREFILL_ZERO))) {
    free(params);
    goto out;
  }
  fingerprint(m, m->nparam, params, 0, h1);
  free(params);
  size_t lo, hi;
  if (first_changed(m, m->nparam, h0, h1, &b, &lo, &hi)) {
    add(r, "side-effects", NNC_FAIL, 1,
        "backward changed parameter block '%s' at an index in [%zu, %zu): "
        "backward must only write the gradient buffers",
        m->blocks[b].name, lo, hi);
    *stop = 1;
    goto out;
  }
  if (n_in && (memcmp(x0, m->x, n_in * es) || memcmp(dy0, m->dy, n_out * es))) {
    int xdiff = memcmp(x0, m->x, n_in * es) != 0;
    add(r, "side-effects", NNC_FAIL, 1,
        "layer_backward() wrote into %s: it belongs to the host; copy it "
        "before clipping or scaling",
        xdiff ? "its input x" : "dy");
    memcpy(m->x, x0, n_in * es);
    memcpy(m->dy, dy0, n_out * es);
    *stop = 1;
    goto out;
  }
  add(r, "side-effects", NNC_PASS, 0,
      "%s and backward left the parameters%s untouched", fwd,
      n_in ? ", x and dy" : "");
out:
  free(h0);
  free(h1);
  free(x0);
  free(dy0);
  return rc;
}

/* Copy every gradient buffer out, as double. */
static double *grads_copy(nnc_model *m, size_t *total)
{
  size_t n = 0;
  for (size_t b = 0; b < m->nblocks; b++)
    n += m->blocks[b].count;
  double *g = malloc((n ? n : 1) * sizeof *g);
  if (!g)
    return NULL;
  size_t k = 0;
  for (size_t b = 0; b < m->nblocks; b++)
    for (size_t i = 0; i < m->blocks[b].count; i++)
      g[k++] = nnc_model_grad(m, b, i);
  *total = n;
  return g;
}

static void locate(nnc_model *m, size_t k, size_t *block, size_t *index)
{
  size_t b = 0;
  while (b + 1 < m->nblocks && k >= m->blocks[b].count) {
    k -= m->blocks[b].count;
    b++;
  }
  *block = b;
  *index = k;
}

static int audit_overwrite(nnc_model *m, nnc_gradcheck_result *r,
                           uint64_t seed, uint32_t train, int *stop)
{
  double L;
  int rc;
  /* the zero-prefill gradient as chunk fingerprints, not a copy; the
   * chunk that differs after the pattern prefill is compared exactly by
   * running the zero prefill once more */
  size_t nch = chunks_of(m, m->nblocks);
  uint64_t *h0 = malloc((nch ? nch : 1) * sizeof *h0);
  uint64_t *h1 = malloc((nch ? nch : 1) * sizeof *h1);
  if (!h0 || !h1) {
    free(h0);
    free(h1);
    return NNC_ENOMEM;
  }
  r->loss_evals += 2;
  r->backward_calls += 2;
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnci_backward(m, NNCI_PREFILL_ZERO)))
    goto out;
  fingerprint(m, m->nblocks, m->grads, 1, h0);
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnci_backward(m, NNCI_PREFILL_PATTERN)))
    goto out;
  fingerprint(m, m->nblocks, m->grads, 1, h1);
  size_t b, lo, hi;
  if (first_changed(m, m->nblocks, h0, h1, &b, &lo, &hi)) {
    double g1s[CHUNK];
    for (size_t ii = lo; ii < hi; ii++)
      g1s[ii - lo] = nnc_model_grad(m, b, ii);
    r->loss_evals++;
    r->backward_calls++;
    if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
        (rc = nnci_backward(m, NNCI_PREFILL_ZERO)))
      goto out;
    for (size_t ii = lo; ii < hi; ii++) {
      double g0 = nnc_model_grad(m, b, ii), g1 = g1s[ii - lo];
      if (!memcmp(&g1, &g0, sizeof g1) || (g1 == 0 && g0 == 0))
        continue;
      double pre = nnci_prefill_value(ii);
      /* An element backward never writes also keeps the prefill: the
       * sentinel pass tells an unwritten element from an added one. */
      if (g0 == 0 && g1 == pre) {
        double L2;
        int rc2 = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L2);
        if (rc2 == NNC_OK)
          rc2 = nnc_model_backward(m);
        if (rc2 == NNC_ECONTRACT) {
          add(r, "overwrite", NNC_FAIL, 1, "%s", m->err);
          *stop = 1;
          goto out;
        }
      }
      int adds = fabs(g1 - (g0 + pre)) <= 1e-6 * fmax(fabs(g1), 1);
      add(r, "overwrite", NNC_FAIL, 1,
          "backward's result depends on what the gradient buffer held "
          "before: block '%s' index %zu is %.10g after a zero prefill and "
          "%.10g after a prefill of %g%s; assign every element (=), never "
          "add (+=)",
          m->blocks[b].name, ii, g0, g1, pre,
          adds ? ": it adds into the buffer" : "");
      *stop = 1;
      goto out;
    }
    /* the fingerprints differed but no element does: a backward that is
     * not deterministic; the determinism audit names that */
  }
  add(r, "overwrite", NNC_PASS, 0,
      "backward assigns: the same gradient after a zero and a non-zero "
      "prefill, and no write outside any buffer (guard bytes intact)");
out:
  free(h0);
  free(h1);
  return rc;
}

/* Layers: backward is linear in dy and zero dy gives zero gradients. */
static int audit_linearity(nnc_model *m, nnc_gradcheck_result *r,
                           uint64_t seed, uint32_t train)
{
  size_t ny = m->n * m->out_count, n;
  uint32_t dt = m->li.dtype;
  size_t es = nnci_dtype_size(dt);
  void *saved = malloc(ny * es);
  double *g1 = NULL, *g2 = NULL, *g3 = NULL;
  int rc = NNC_OK;
  if (!saved)
    return NNC_ENOMEM;
  memcpy(saved, m->dy, ny * es);
  nnc_rng rng;
  nnc_rng_init(&rng, seed, STREAM_AUDIT);
  double *d2 = malloc(ny * sizeof *d2);
  if (!d2) {
    rc = NNC_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < ny; i++)
    d2[i] = nnc_rng_normal(&rng);
  const double a = 0.75, c = -1.25; /* exact in float */
  double L;
  /* backward(dy1) */
  r->loss_evals += 4;
  r->backward_calls += 4;
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnc_model_backward(m)))
    goto out;
  g1 = grads_copy(m, &n);
  for (size_t i = 0; i < ny; i++)
    nnci_store(m->dy, dt, i, d2[i]);
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnc_model_backward(m)))
    goto out;
  g2 = grads_copy(m, &n);
  for (size_t i = 0; i < ny; i++)
    nnci_store(m->dy, dt, i, a * nnci_load(saved, dt, i) + c * d2[i]);
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnc_model_backward(m)))
    goto out;
  g3 = grads_copy(m, &n);
  if (!g1 || !g2 || !g3) {
    rc = NNC_ENOMEM;
    goto out;
  }
  double eps = dt == NNC_F32 ? (double)FLT_EPSILON : DBL_EPSILON;
  double worst = 0;
  size_t wk = 0;
  /* Round-off of an element is relative to the terms summed to make it,
   * which can be far larger than the element: take the block's largest as
   * the scale too. */
  double *bscale = calloc(m->nblocks, sizeof *bscale);
  if (!bscale) {
    rc = NNC_ENOMEM;
    goto out;
  }
  for (size_t k = 0, b = 0, i = 0; k < n; k++, i++) {
    while (i >= m->blocks[b].count) {
      i = 0;
      b++;
    }
    bscale[b] = fmax(bscale[b], fabs(a * g1[k]) + fabs(c * g2[k]));
  }
  for (size_t k = 0, b = 0, i = 0; k < n; k++, i++) {
    while (i >= m->blocks[b].count) {
      i = 0;
      b++;
    }
    double want = a * g1[k] + c * g2[k];
    double tol = 64 * eps * (fabs(a * g1[k]) + fabs(c * g2[k]) + fabs(g3[k]) +
                             bscale[b]) +
                 1e-300;
    double q = fabs(g3[k] - want) / tol;
    if (q > worst) {
      worst = q;
      wk = k;
    }
  }
  free(bscale);
  if (worst > 1) {
    size_t b, i;
    locate(m, wk, &b, &i);
    add(r, "linearity", NNC_FAIL, 0,
        "backward is not linear in dy: backward(%.2f dy1 %+.2f dy2) gives "
        "%.10g at block '%s' index %zu, but %.2f backward(dy1) %+.2f "
        "backward(dy2) gives %.10g; a backward that clips, normalises or "
        "thresholds dy computes no gradient",
        a, c, g3[wk], m->blocks[b].name, i, a, c, a * g1[wk] + c * g2[wk]);
    goto out;
  }
  /* zero dy, zero gradients */
  for (size_t i = 0; i < ny; i++)
    nnci_store(m->dy, dt, i, 0.0);
  r->loss_evals++;
  r->backward_calls++;
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnc_model_backward(m)))
    goto out;
  for (size_t b = 0; b < m->nblocks; b++)
    for (size_t i = 0; i < m->blocks[b].count; i++)
      if (nnc_model_grad(m, b, i) != 0) {
        add(r, "linearity", NNC_FAIL, 0,
            "dy = 0 gives a non-zero gradient %.10g at block '%s' index %zu: "
            "backward must be linear in dy",
            nnc_model_grad(m, b, i), m->blocks[b].name, i);
        goto out;
      }
  add(r, "linearity", NNC_PASS, 0,
      "backward(%.2f dy1 %+.2f dy2) = %.2f backward(dy1) %+.2f backward(dy2) "
      "to round-off, and dy = 0 gives zero gradients",
      a, c, a, c);
out:
  memcpy(m->dy, saved, ny * es);
  free(saved);
  free(d2);
  free(g1);
  free(g2);
  free(g3);
  return rc;
}

/* Layers that declare independent examples: output and input gradient of
 * example i must not move when only example j's input (or dy) moves. */
static int audit_independence(nnc_model *m, nnc_gradcheck_result *r,
                              uint64_t seed, uint32_t train)
{
  if (m->li.coupled) {
    add(r, "independence", NNC_SKIP, 0,
        "the layer declares its examples coupled (e.g. batch statistics)");
    return NNC_OK;
  }
  if (m->n < 2) {
    add(r, "independence", NNC_SKIP, 0, "a batch of one example");
    return NNC_OK;
  }
  uint32_t dt = m->li.dtype;
  size_t es = nnci_dtype_size(dt), ni = m->in_count, no = m->out_count;
  size_t last = m->n - 1;
  void *x0 = malloc(m->n * ni * es), *y0 = malloc(m->n * no * es);
  void *dy0 = malloc(m->n * no * es);
  double *dx0 = malloc(m->n * ni * sizeof *dx0);
  int rc = NNC_OK;
  double L;
  if (!x0 || !y0 || !dy0 || !dx0) {
    rc = NNC_ENOMEM;
    goto out;
  }
  memcpy(x0, m->x, m->n * ni * es);
  memcpy(dy0, m->dy, m->n * no * es);
  r->loss_evals += 3;
  r->backward_calls += 2;
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnc_model_backward(m)))
    goto out;
  memcpy(y0, m->y, m->n * no * es);
  for (size_t i = 0; i < m->n * ni; i++)
    dx0[i] = nnc_model_grad(m, m->nparam, i);
  /* move only the last example's input (staying inside a declared range) */
  nnc_rng rng;
  nnc_rng_init(&rng, seed, STREAM_AUDIT + 1);
  double lo = m->li.in_lo, hi = m->li.in_hi;
  for (size_t j = 0; j < ni; j++) {
    double v = nnci_load(m->x, dt, last * ni + j);
    v = lo < hi ? lo + (hi - lo) * (0.05 + 0.9 * nnc_rng_uniform(&rng))
                : v + 0.5 + nnc_rng_normal(&rng);
    nnci_store(m->x, dt, last * ni + j, v);
  }
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)))
    goto out;
  for (size_t i = 0; i < last * no; i++)
    if (memcmp((char *)m->y + i * es, (char *)y0 + i * es, es)) {
      add(r, "independence", NNC_FAIL, 0,
          "the layer declares its examples independent, but output %zu of "
          "example %zu changed (%.10g -> %.10g) when only example %zu's "
          "input changed: examples are mixed (statistics over the batch?); "
          "take them per example, or declare coupled = 1",
          i % no, i / no, nnci_load(y0, dt, i), nnci_load(m->y, dt, i), last);
      goto out;
    }
  memcpy(m->x, x0, m->n * ni * es);
  /* move only the last example's dy */
  for (size_t j = 0; j < no; j++)
    nnci_store(m->dy, dt, last * no + j, nnc_rng_normal(&rng));
  if ((rc = nnc_model_loss(m, NULL, seed, NNC_F_ALL | train, &L)) ||
      (rc = nnc_model_backward(m)))
    goto out;
  for (size_t i = 0; i < last * ni; i++) {
    double g = nnc_model_grad(m, m->nparam, i);
    if (memcmp(&g, &dx0[i], sizeof g)) {
      add(r, "independence", NNC_FAIL, 0,
          "the layer declares its examples independent, but the input "
          "gradient of example %zu changed (%.10g -> %.10g) when only "
          "example %zu's dy changed: examples are mixed in backward",
          i / ni, dx0[i], g, last);
      goto out;
    }
  }
  add(r, "independence", NNC_PASS, 0,
      "moving example %zu's input or dy leaves every other example's output "
      "and input gradient bit for bit unchanged",
      last);
out:
  if (x0)
    memcpy(m->x, x0, m->n * ni * es);
  if (dy0)
    memcpy(m->dy, dy0, m->n * no * es);
  free(x0);
  free(y0);
  free(dy0);
  free(dx0);
  return rc;
}

int nnci_audit(nnc_model *m, nnc_gradcheck_result *r, uint64_t seed,
               uint32_t train, int *stop)
{
  *stop = 0;
  int rc;
  /* Side effects first: a forward that moves the parameters would otherwise
   * look like a loss that ignores its seed.  Determinism before overwrite:
   * a loss that ignores its seed would otherwise look like a backward that
   * depends on its buffer.  Overwrite before any sentinel-filled backward,
   * where adding into the buffer would show only as NaN. */
  if ((rc = audit_side_effects(m, r, seed, train, stop)) || *stop)
    return rc;
  if ((rc = audit_determinism(m, r, seed, train, stop)) || *stop)
    return rc;
  if ((rc = audit_overwrite(m, r, seed, train, stop)) || *stop)
    return rc;
  if (m->d.kind == NNC_KIND_LAYER) {
    if ((rc = audit_linearity(m, r, seed, train)))
      return rc;
    if ((rc = audit_independence(m, r, seed, train)))
      return rc;
  }
  return NNC_OK;
}

void nnci_audit_inert(nnc_model *m, nnc_gradcheck_result *r, int strict)
{
  size_t inert = 0;
  char names[512] = "";
  for (size_t b = 0; b < m->nblocks; b++) {
    size_t seen = 0, zero = 0;
    for (size_t k = 0; k < r->nblocks; k++) {
      const nnc_gc_block *gb = &r->blocks[k];
      if (strcmp(gb->name, m->blocks[b].name))
        continue;
      for (size_t q = 0; q < gb->ncoords; q++) {
        seen++;
        zero += (gb->coords[q].flags & NNC_GC_ZERO) != 0;
      }
    }
    if (seen && zero == seen) {
      size_t l = strlen(names);
      snprintf(names + l, sizeof names - l, "%s'%s'", inert ? ", " : "",
               m->blocks[b].name);
      inert++;
    }
  }
  if (!inert)
    add(r, "inert", NNC_PASS, 0,
        "every block moves the loss at some checked coordinate");
  else
    add(r, "inert", strict ? NNC_FAIL : NNC_WARN, 0,
        "block%s %s: analytic and numerical derivatives are exactly 0 at "
        "every checked coordinate, example and part: %s no effect on the "
        "loss (unused, or cut off by a dead path)%s",
        inert > 1 ? "s" : "", names, inert > 1 ? "they have" : "it has",
        strict ? "" : "; --strict makes this a failure");
}
