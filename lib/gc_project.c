/* Projection mode: every coordinate of a block at once.
 *
 * Per block (never one pooled direction across blocks, where a small block
 * drowns), K random sign-sensitive probes v (Rademacher, seeded) compare the
 * analytic g.v with the directional difference (f(x+tv) - f(x-tv)) / 2t.  On
 * a mismatch, group testing: the block's coordinates are halved and each
 * half probed alone, recursing into the halves that still disagree, down to
 * single coordinates, which then get a full coordinate check.  One bad
 * coordinate in N costs O(K + log N) probes. */
#include "config.h"
#include "gc_internal.h"
#include "rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { STREAM_PROBE = 31 };
#define MAX_FOUND 8   /* bad coordinates reported per block */

typedef struct probe {
  double ad;      /* analytic directional derivative g.v */
  double fd;      /* finite difference along v (Richardson when escalated) */
  double t;       /* step */
  double noise;   /* modelled round-off of fd */
  double errbar;  /* escalated: truncation + round-off + the analytic's own
                     rounding */
  int kink;
  int mismatch;   /* g.v outside the error bar of the difference */
  uint32_t evals;
} probe;

/* Element access without a call per element: a probe touches every
 * coordinate of a block several times. */
static inline double ld(const void *p, uint32_t dt, size_t i)
{
  return dt == NNC_F32 ? (double)((const float *)p)[i]
                       : ((const double *)p)[i];
}

/* Store v, return what was stored. */
static inline double st(void *p, uint32_t dt, size_t i, double v)
{
  if (dt == NNC_F32)
    return (double)(((float *)p)[i] = (float)v);
  return ((double *)p)[i] = v;
}

/* Directional difference along v = sign[k] e_{idx[k]}, k < n. */
static int probe_dir(gc_ctx *c, size_t b, const size_t *idx,
                     const signed char *sign, size_t n, double hrel,
                     probe *p)
{
  nnc_model *m = c->m;
  void *data = m->blocks[b].data;
  const uint32_t dt = m->blocks[b].dtype;
  /* the base gradient: kept as double, or in the model's buffer */
  const double *gk = c->grad_kept ? c->grad[b] : NULL;
  const void *gb = (c->gsrc ? c->gsrc : m)->grads[b];
  int rc = NNC_OK;
  /* The probed coordinates' values, once for all the probes of a block
   * (each probe restores them exactly): a probe of a large block then
   * costs three passes over it, no more. */
  if (!c->snap_ok || c->snap_b != b || c->snap_idx != idx || c->snap_n != n) {
    if (c->scratch_n < n) {
      double *w = realloc(c->scratch, n * sizeof *w);
      if (!w)
        return nnci_fail(m, NNC_ENOMEM, "out of memory");
      c->scratch = w;
      c->scratch_n = n;
    }
    double ss0 = 0;
    for (size_t k = 0; k < n; k++) {
      c->scratch[k] = ld(data, dt, idx[k]);
      ss0 += c->scratch[k] * c->scratch[k];
    }
    c->snap_ok = 1;
    c->snap_b = b;
    c->snap_idx = idx;
    c->snap_n = n;
    c->snap_ss = ss0;
  }
  const double *x = c->scratch, ss = c->snap_ss;
  /* one step for the whole probe, sized to the block's values */
  double t = hrel * fmax(1, sqrt(ss / (double)n));
  double fp, fm;
  nnc_winners wp, wm;
  for (size_t k = 0; k < n; k++)
    st(data, dt, idx[k], x[k] + sign[k] * t);
  if ((rc = nnci_gc_loss(c, &fp, 1)))
    goto restore;
  int have_w = c->have_w && nnc_model_winners(m, &wp) == NNC_OK;
  /* The stored steps differ per coordinate in a float block: the analytic
   * side uses the same steps, so both sides see the same direction. */
  double ad = 0, g2 = 0;
  for (size_t k = 0; k < n; k++) {
    /* the step stored at x + t v, recomputed: the same rounding */
    double xp = (dt == NNC_F32 ? (double)(float)(x[k] + sign[k] * t)
                               : x[k] + sign[k] * t) - x[k];
    double xm = st(data, dt, idx[k], x[k] - sign[k] * t) - x[k];
    double g = gk ? gk[idx[k]] : ld(gb, dt, idx[k]);
    ad += g * (xp - xm);
    g2 += g * g;
  }
  if ((rc = nnci_gc_loss(c, &fm, 1)))
    goto restore;
  have_w = have_w && nnc_model_winners(m, &wm) == NNC_OK;
  p->ad = ad / (2 * t);
  /* the analytic side's own rounding: the plugin computed each g_i in its
   * element type */
  p->errbar = NNCI_NOISE_ULPS * nnci_gc_eps(dt) * sqrt(g2);
  p->fd = (fp - fm) / (2 * t);
  p->t = t;
  double mag = fmax(fmax(fabs(fp), fabs(fm)), c->scale);
  p->noise = NNCI_NOISE_ULPS * nnci_gc_eps(dt) * mag / (2 * t);
  if (4 * c->r->nondeterminism / (2 * t) > p->noise)
    p->noise = 4 * c->r->nondeterminism / (2 * t);
  p->kink = have_w && (wp.hash != wm.hash || wp.ties != wm.ties);
  p->evals += 2;
restore:
  for (size_t k = 0; k < n; k++)
    st(data, dt, idx[k], x[k]);
  return rc;
}

/* A probe, dodging kinks with smaller steps; a disagreement beyond the
 * round-off is escalated to half the step and Richardson, and judged
 * against that error bar: a single wrong coordinate among 10^5 moves g.v
 * by far less than the bands but by far more than the error bar. */
static int probe_smooth(gc_ctx *c, size_t b, const size_t *idx,
                        const signed char *sign, size_t n, probe *p)
{
  double hrel = nnci_default_h(c->o, c->m->blocks[b].dtype);
  int rc;
  memset(p, 0, sizeof *p);
  for (int t = 0; t < 4; t++, hrel /= 10) {
    if ((rc = probe_dir(c, b, idx, sign, n, hrel, p)))
      return rc;
    if (!p->kink)
      break;
  }
  if (p->kink)
    return NNC_OK;
  double ea = p->errbar;
  if (fabs(p->ad - p->fd) <= p->noise + ea)
    return NNC_OK;
  probe q;
  memset(&q, 0, sizeof q);
  if ((rc = probe_dir(c, b, idx, sign, n, hrel / 2, &q)))
    return rc;
  p->evals += q.evals;
  if (q.kink) {
    p->kink = 1;
    return NNC_OK;
  }
  double r = (4 * q.fd - p->fd) / 3;
  p->errbar = fabs(q.fd - p->fd) + 2 * q.noise + ea;
  p->fd = r;
  p->mismatch = fabs(p->ad - r) > 3 * p->errbar;
  return NNC_OK;
}

static int mismatch(const nnc_gc_block *gb, const probe *p)
{
  (void)gb;
  return !p->kink && p->mismatch;
}

static void draw_signs(nnc_rng *rng, signed char *s, size_t n)
{
  for (size_t k = 0; k < n; k += 64) {
    uint64_t bits = nnc_rng_u64(rng);
    for (size_t j = 0; j < 64 && k + j < n; j++)
      s[k + j] = (bits >> j) & 1 ? 1 : -1;
  }
}

typedef struct search {
  gc_ctx *c;
  size_t b;
  nnc_gc_block *gb;
  nnc_rng rng;
  size_t found;
  signed char *sign;
} search;

/* Group testing on idx[0..n): the set disagrees as a whole.  Probe each
 * half with fresh signs (twice if neither half disagrees, in case the
 * errors happened to cancel) and recurse where they still disagree. */
static int bisect(search *s, size_t *idx, size_t n)
{
  int rc;
  if (s->found >= MAX_FOUND)
    return NNC_OK;
  if (n == 1) {
    nnc_gc_coord *e = nnci_gc_push(s->gb);
    if (!e)
      return nnci_fail(s->c->m, NNC_ENOMEM, "out of memory");
    size_t at = s->gb->ncoords - 1;
    if ((rc = nnci_gc_coord(s->c, s->b, idx[0], s->gb, &s->gb->coords[at])))
      return rc;
    s->gb->checked++;
    s->found++;
    return NNC_OK;
  }
  size_t h = n / 2;
  for (int attempt = 0; attempt < 2; attempt++) {
    int bad[2];
    for (int half = 0; half < 2; half++) {
      size_t *sub = half ? idx + h : idx;
      size_t len = half ? n - h : h;
      draw_signs(&s->rng, s->sign, len);
      probe p;
      if ((rc = probe_smooth(s->c, s->b, sub, s->sign, len, &p)))
        return rc;
      s->gb->probes++;
      bad[half] = mismatch(s->gb, &p);
    }
    if (bad[0] && (rc = bisect(s, idx, h)))
      return rc;
    if (bad[1] && (rc = bisect(s, idx + h, n - h)))
      return rc;
    if (bad[0] || bad[1])
      return NNC_OK;
  }
  return NNC_OK;
}

int nnci_gc_project(gc_ctx *c, size_t b, nnc_gc_block *gb)
{
  nnc_model *m = c->m;
  size_t n = m->blocks[b].count;
  size_t K = c->o->probes ? c->o->probes : 4;
  search s;
  memset(&s, 0, sizeof s);
  c->snap_ok = 0; /* values change between blocks and checks */
  s.c = c;
  s.b = b;
  s.gb = gb;
  nnc_rng_init(&s.rng, c->o->seed, STREAM_PROBE + 7919 * b);
  size_t *all = malloc(n * sizeof *all);
  s.sign = malloc(n);
  int rc = NNC_OK;
  if (!all || !s.sign) {
    rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    all[i] = i;
  int any_bad = 0;
  size_t kinked = 0;
  for (size_t k = 0; k < K + kinked && k < 3 * K; k++) {
    draw_signs(&s.rng, s.sign, n);
    probe p;
    if ((rc = probe_smooth(c, b, all, s.sign, n, &p)))
      goto out;
    gb->probes++;
    nnc_gc_coord *e = nnci_gc_push(gb);
    if (!e) {
      rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
      goto out;
    }
    e->index = k;
    e->group = n;
    e->analytic = p.ad;
    e->numeric = p.fd;
    e->h = p.t;
    e->noise = p.noise;
    e->evals = p.evals;
    e->relerr = nnci_relerr(p.ad, p.fd);
    e->flags = NNC_GC_PROJECTION | (p.kink ? NNC_GC_KINK | NNC_GC_AT_KINK : 0);
    double mx = fmax(fabs(p.ad), fabs(p.fd));
    if (p.ad == 0 && p.fd == 0) {
      e->flags |= NNC_GC_ZERO;
      e->verdict = NNC_PASS;
    } else if (p.kink) {
      e->verdict = NNC_INCONCLUSIVE;
      e->why = NNC_WHY_KINK;
      gb->inconclusive++;
      kinked++; /* draw another probe in its place */
    } else if (!p.mismatch) {
      e->verdict = NNC_PASS; /* within its error bar */
      if (e->relerr > gb->pass_tol)
        e->flags |= NNC_GC_NOISE;
    } else {
      /* beyond the error bar: bisection decides; a disagreement no
       * coordinate accounts for is reported, not failed, below */
      e->verdict = NNC_FAIL;
      e->flags |= NNC_GC_ESCALATED;
      any_bad = 1;
    }
    e->errbar = p.errbar;
    if (!(e->flags & NNC_GC_ZERO) && mx > p.noise)
      gb->live++;
  }
  if (any_bad) {
    size_t first = gb->ncoords;
    if ((rc = bisect(&s, all, n)))
      goto out;
    size_t bad = 0;
    for (size_t q = first; q < gb->ncoords; q++)
      bad += gb->coords[q].verdict == NNC_FAIL;
    for (size_t q = 0; q < first; q++) {
      nnc_gc_coord *e = &gb->coords[q];
      if (!(e->flags & NNC_GC_PROJECTION) || e->verdict != NNC_FAIL)
        continue;
      if (bad)
        gb->failed++;
      else { /* e.g. a kink the probe crossed without a fingerprint */
        e->verdict = NNC_INCONCLUSIVE;
        e->why = c->have_w ? NNC_WHY_NOISE : NNC_WHY_KINK;
        gb->inconclusive++;
      }
    }
  }
out:
  c->snap_ok = 0;
  free(all);
  free(s.sign);
  return rc;
}
