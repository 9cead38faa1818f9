/* One coordinate's verdict, from its own error bar.
 *
 * The cheap path: a centered difference at h that is clearly right costs its
 * two evaluations, so a default check of a correct double net stays near two
 * evaluations per coordinate.  Only a doubtful coordinate is escalated:
 * estimates at h/2 and h/4, Richardson extrapolation (whose change bounds
 * the truncation error), and a round-off floor measured from evaluations of
 * f a few ulps apart.  Its verdict is PASS when the analytic value lies in
 * the error bar, FAIL when it lies far outside and beyond the bands, and
 * INCONCLUSIVE when the error bar itself swamps the signal.
 *
 * Kinks: a crossed kink (a winner changed, or one-sided differences that
 * disagree at every step) is first dodged with smaller steps.  A coordinate
 * sitting on a kink is adjudicated: the analytic value must lie between the
 * one-sided derivatives (a valid subgradient), and the derivative is
 * re-tested at jittered points off the kink on both sides.  Exactly tied
 * values (max-pool windows, ReLU inputs at 0) are also moved together, since
 * a backward that routes the gradient to every tied maximum passes each
 * coordinate alone but not the tied set. */
#include "config.h"
#include "gc_internal.h"
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JITTER 10.0    /* jittered points at x +- JITTER * h */
#define MAX_TIED 8     /* tied values examined per block */
#define MAX_GROUP 100000

double nnci_gc_eps(uint32_t dtype)
{
  return dtype == NNC_F32 ? (double)FLT_EPSILON : DBL_EPSILON;
}

double nnci_relerr(double a, double n)
{
  double d = fabs(a - n), s = fmax(fabs(a), fabs(n));
  return s == 0 ? 0 : d / s;
}

uint32_t nnci_band_verdict(const nnc_gc_block *gb, double rel)
{
  return rel <= gb->pass_tol ? NNC_PASS
         : rel <= gb->fail_tol ? NNC_WARN
                               : NNC_FAIL;
}

int nnci_gc_loss(gc_ctx *c, double *L, int counted)
{
  c->r->loss_evals++;
  if (counted)
    c->r->check_evals++;
  return nnc_model_loss(c->m, NULL, c->seed, c->part | c->train, L);
}

static double modelled_noise(gc_ctx *c, uint32_t dtype, double fa, double fb,
                             double step)
{
  double mag = fmax(fmax(fabs(fa), fabs(fb)), c->scale);
  double n = step != 0 ? NNCI_NOISE_ULPS * nnci_gc_eps(dtype) * mag / step
                       : INFINITY;
  if (step != 0 && 4 * c->r->nondeterminism / step > n)
    n = 4 * c->r->nondeterminism / step; /* threaded sums */
  return n;
}

int nnci_gc_centered(gc_ctx *c, size_t b, size_t i, double h, gc_est *e)
{
  nnc_model *m = c->m;
  double x = nnc_model_get(m, b, i);
  double hh = h * fmax(1, fabs(x));
  nnc_winners wp, wm;
  int rc;
  e->x = x;
  e->h = hh;
  e->xp = nnc_model_set(m, b, i, x + hh);
  if ((rc = nnci_gc_loss(c, &e->fp, 1)))
    goto restore;
  int have_w = c->have_w && nnc_model_winners(m, &wp) == NNC_OK;
  e->xm = nnc_model_set(m, b, i, x - hh);
  if ((rc = nnci_gc_loss(c, &e->fm, 1)))
    goto restore;
  have_w = have_w && nnc_model_winners(m, &wm) == NNC_OK;
  e->step = e->xp - e->xm; /* what was really stored, for a float block */
  e->numeric = e->step != 0 ? (e->fp - e->fm) / e->step : 0;
  e->noise = modelled_noise(c, m->blocks[b].dtype, e->fp, e->fm, e->step);
  e->kink = have_w && (wp.hash != wm.hash || wp.ties != wm.ties);
  e->hp = have_w ? wp.hash : 0;
  e->hm = have_w ? wm.hash : 0;
restore:
  nnc_model_set(m, b, i, x);
  return rc;
}

/* Round-off of f at coordinate (b, i), measured where the differences are
 * taken: f at x +- h/8 and x +- h/4 beside f(x), a quadratic through them
 * removed, the scatter left is the noise.  This sees ordinary round-off and
 * also a loss whose computation rounds small changes away (1 + 1e-18 is 1):
 * a noise floor a few ulps apart would call such a flat loss exact. */
static int noise_floor(gc_ctx *c, size_t b, size_t i, double habs,
                       double *sigma, uint32_t *evals)
{
  nnc_model *m = c->m;
  uint32_t dt = m->blocks[b].dtype;
  double x = nnc_model_get(m, b, i);
  double f[5], t[5];
  static const double js[4] = {-0.25, -0.125, 0.125, 0.25};
  int rc = NNC_OK;
  for (int k = 0; k < 4; k++) {
    t[k] = nnc_model_set(m, b, i, x + js[k] * habs) - x;
    if ((rc = nnci_gc_loss(c, &f[k], 1)))
      break;
    (*evals)++;
  }
  nnc_model_set(m, b, i, x);
  if (rc)
    return rc;
  t[4] = 0;
  f[4] = c->f0;
  /* least squares for f = p + q t + r t^2 (normal equations, 3 x 3) */
  double S[5] = {0, 0, 0, 0, 0}, T[3] = {0, 0, 0};
  for (int k = 0; k < 5; k++) {
    double p = 1;
    for (int e = 0; e < 5; e++, p *= t[k])
      S[e] += p;
    T[0] += f[k];
    T[1] += f[k] * t[k];
    T[2] += f[k] * t[k] * t[k];
  }
  double A[3][4] = {{S[0], S[1], S[2], T[0]},
                    {S[1], S[2], S[3], T[1]},
                    {S[2], S[3], S[4], T[2]}};
  for (int col = 0; col < 3; col++) /* Gaussian elimination, pivoting */
  {
    int piv = col;
    for (int r = col + 1; r < 3; r++)
      if (fabs(A[r][col]) > fabs(A[piv][col]))
        piv = r;
    for (int e = 0; e < 4; e++) {
      double tmp = A[col][e];
      A[col][e] = A[piv][e];
      A[piv][e] = tmp;
    }
    for (int r = 0; r < 3; r++)
      if (r != col && A[col][col] != 0) {
        double fr = A[r][col] / A[col][col];
        for (int e = col; e < 4; e++)
          A[r][e] -= fr * A[col][e];
      }
  }
  double co[3];
  for (int r = 0; r < 3; r++)
    co[r] = A[r][r] != 0 ? A[r][3] / A[r][r] : 0;
  double ss = 0;
  for (int k = 0; k < 5; k++) {
    double res = f[k] - (co[0] + co[1] * t[k] + co[2] * t[k] * t[k]);
    ss += res * res;
  }
  /* never below one ulp of f: a lucky exact evaluation proves nothing */
  double floor1 = nnci_gc_eps(dt) * fmax(fabs(c->f0), c->scale);
  *sigma = fmax(sqrt(ss / 2), floor1);
  if (c->r->nondeterminism > *sigma)
    *sigma = c->r->nondeterminism;
  return NNC_OK;
}

static int m_is_float(gc_ctx *c, size_t b)
{
  return c->m->blocks[b].dtype == NNC_F32;
}

/* The escalated verdict at a point without a kink: estimates at h, h/2, h/4
 * (e1 given), Richardson, measured noise floor, error bar. */
static int smooth_verdict(gc_ctx *c, size_t b, size_t i, double a,
                          const gc_est *e1, double hrel, nnc_gc_block *gb,
                          nnc_gc_coord *out, int *kinked)
{
  gc_est e2, e4;
  int rc;
  if ((rc = nnci_gc_centered(c, b, i, hrel / 2, &e2)) ||
      (rc = nnci_gc_centered(c, b, i, hrel / 4, &e4)))
    return rc;
  out->evals += 4;
  if (e2.kink || e4.kink) {
    *kinked = 1;
    return NNC_OK;
  }
  /* Without fingerprints a kink shows as one-sided differences whose gap
   * does not shrink with the step (a smooth function's shrinks like h),
   * and stands clear of the round-off. */
  if (!c->have_w) {
    double g1 = fabs((e1->fp - c->f0) / (e1->xp - e1->x) -
                     (c->f0 - e1->fm) / (e1->x - e1->xm));
    double g4 = fabs((e4.fp - c->f0) / (e4.xp - e4.x) -
                     (c->f0 - e4.fm) / (e4.x - e4.xm));
    if (g4 > 0.5 * g1 && g4 > 16 * e4.noise && g4 > 1e-3 * fabs(a)) {
      *kinked = 1;
      return NNC_OK;
    }
  }
  /* A loss that does not move at all, at any step, while the analytic
   * value predicts a change below what intermediates of size 1 can hold
   * (log(1 + 1e-18) is 0): its computation rounds the change away. */
  if (a != 0 && e1->fp == e1->fm && e2.fp == e2.fm && e4.fp == e4.fm &&
      fabs(a) * e1->step < 1e3 * nnci_gc_eps(c->m->blocks[b].dtype) *
                               fmax(1, fabs(c->f0))) {
    out->flags |= NNC_GC_ESCALATED;
    out->numeric = 0;
    out->relerr = 1;
    out->verdict = NNC_INCONCLUSIVE;
    out->why = NNC_WHY_NOISE;
    return NNC_OK;
  }
  double sigma;
  if ((rc = noise_floor(c, b, i, e1->h, &sigma, &out->evals)))
    return rc;
  double r1 = (4 * e2.numeric - e1->numeric) / 3;
  double r2 = (4 * e4.numeric - e2.numeric) / 3;
  double sd2 = M_SQRT2 * sigma / e2.step, sd4 = M_SQRT2 * sigma / e4.step;
  double trunc = fabs(r2 - r1);
  double round = (4 * sd4 + sd2) / 3;
  /* Richardson's error estimate holds only where the error goes like h^2:
   * successive differences then shrink four-fold.  Elsewhere (an
   * exponential tail, a near-kink) take the spread of the estimates. */
  double d12 = e1->numeric - e2.numeric, d24 = e2.numeric - e4.numeric;
  if (fabs(d12) > 4 * sd2 || fabs(d24) > 4 * sd4) {
    double rho = d24 != 0 ? d12 / d24 : INFINITY;
    if (!(rho >= 2.5 && rho <= 6.5))
      trunc = fmax(trunc, fabs(e1->numeric - e4.numeric));
  }
  double E = trunc + 2 * round;
  double n = r2, mx = fmax(fabs(a), fabs(n)), diff = fabs(a - n);
  out->flags |= NNC_GC_ESCALATED;
  out->numeric = n;
  out->relerr = nnci_relerr(a, n);
  out->errbar = E;
  out->trunc = trunc;
  out->roundoff = 2 * round;
  out->noise = fmax(out->noise, 2 * round);
  if (a == 0 && diff <= E)
    out->verdict = NNC_PASS; /* no dependence claimed, none resolved */
  else if (E > 0.25 * mx && out->relerr > gb->pass_tol) {
    /* an error bar as wide as the signal: no verdict either way */
    out->verdict = NNC_INCONCLUSIVE;
    out->why = m_is_float(c, b) && out->roundoff >= out->trunc ? NNC_WHY_FLOAT
                                                              : NNC_WHY_NOISE;
  } else if (diff <= E + gb->pass_tol * mx)
    out->verdict = NNC_PASS; /* inside the error bar */
  else
    out->verdict = nnci_band_verdict(gb, out->relerr);
  /* An entry ten million times smaller than its block's gradient carries
   * the rounding of the sums that made the others (saturated units, nearly
   * dead paths) on both sides: its relative error is no evidence. */
  if (out->verdict == NNC_FAIL && mx < 1e-7 * gb->grad_norm) {
    out->verdict = NNC_INCONCLUSIVE;
    out->why = NNC_WHY_NOISE;
  }
  return NNC_OK;
}

/* Analytic value of (b, i) at x + delta, re-derived there, and the
 * centered difference there; *usable = 0 if that point is on a kink too. */
static int jitter_test(gc_ctx *c, size_t b, size_t i, double delta,
                       double hrel, nnc_gc_block *gb, int *usable, int *ok,
                       uint32_t *evals)
{
  nnc_model *m = c->m;
  double x = nnc_model_get(m, b, i), L;
  int rc;
  *usable = *ok = 0;
  if ((rc = nnci_gc_keep(c)))
    return rc;
  nnc_model_set(m, b, i, x + delta);
  c->r->backward_calls++;
  if ((rc = nnci_gc_loss(c, &L, 1)) || (rc = nnc_model_backward(m)))
    goto out;
  (*evals)++;
  double a = nnc_model_grad(m, b, i);
  gc_est e;
  if ((rc = nnci_gc_centered(c, b, i, hrel, &e)))
    goto out;
  *evals += 2;
  if (e.kink)
    goto out;
  *usable = 1;
  double rel = nnci_relerr(a, e.numeric);
  *ok = rel <= gb->pass_tol || fabs(a - e.numeric) <= e.noise ||
        nnci_band_verdict(gb, rel) != NNC_FAIL;
out:
  nnc_model_set(m, b, i, x);
  return rc;
}

/* A coordinate on a kink at every step: one-sided derivatives from the last
 * (smallest) step, a subgradient test, and jittered re-tests. */
static int adjudicate(gc_ctx *c, size_t b, size_t i, double a, const gc_est *e,
                      double hrel0, nnc_gc_block *gb, nnc_gc_coord *out)
{
  double dp = (e->fp - c->f0) / (e->xp - e->x);
  double dm = (c->f0 - e->fm) / (e->x - e->xm);
  double lo = fmin(dm, dp), hi = fmax(dm, dp);
  double tol = 2 * M_SQRT2 * modelled_noise(c, c->m->blocks[b].dtype, e->fp,
                                           e->fm, e->step) +
               gb->pass_tol * fmax(fabs(lo), fabs(hi));
  out->flags |= NNC_GC_AT_KINK | NNC_GC_KINK;
  out->d_minus = dm;
  out->d_plus = dp;
  out->errbar = tol;
  if (a < lo - tol || a > hi + tol) {
    out->verdict = NNC_FAIL; /* not a valid subgradient */
    out->relerr = nnci_relerr(a, a < lo ? lo : hi);
    return NNC_OK;
  }
  out->flags |= NNC_GC_SUBGRADIENT;
  out->relerr = 0;
  int any = 0, bad = 0, rc;
  double x = nnc_model_get(c->m, b, i);
  double J = JITTER * hrel0 * fmax(1, fabs(x));
  for (int side = -1; side <= 1; side += 2) {
    int usable, ok;
    if ((rc = jitter_test(c, b, i, side * J, hrel0, gb, &usable, &ok,
                          &out->evals)))
      return rc;
    any += usable;
    bad += usable && !ok;
  }
  if (bad)
    out->verdict = NNC_FAIL; /* wrong next to the kink */
  else if (any) {
    out->flags |= NNC_GC_JITTER;
    out->verdict = NNC_PASS;
  } else {
    out->verdict = NNC_INCONCLUSIVE;
    out->why = NNC_WHY_KINK;
  }
  return NNC_OK;
}

int nnci_gc_coord(gc_ctx *c, size_t b, size_t i, nnc_gc_block *gb,
                  nnc_gc_coord *out)
{
  nnc_model *m = c->m;
  double a = nnci_gc_grad(c, b, i);
  double hrel = nnci_default_h(c->o, m->blocks[b].dtype);
  gc_est e;
  int rc;
  memset(out, 0, sizeof *out);
  out->index = i;
  out->analytic = a;
  if ((rc = nnci_gc_centered(c, b, i, hrel, &e)))
    return rc;
  out->evals = 2;
  out->h = e.h;
  out->numeric = e.numeric;
  out->noise = e.noise;
  out->relerr = nnci_relerr(a, e.numeric);
  int kinked = e.kink;
  if (!kinked) {
    if (a == 0 && e.numeric == 0) {
      out->flags |= NNC_GC_ZERO;
      out->verdict = NNC_PASS;
      goto tally;
    }
    /* clearly right (or agreeing to the round-off of f, with a signal well
     * above it): done at 2 */
    double mx = fmax(fabs(a), fabs(e.numeric));
    if (out->relerr <= gb->pass_tol ||
        (fabs(a - e.numeric) <= e.noise && mx > 4 * e.noise)) {
      if (out->relerr > gb->pass_tol)
        out->flags |= NNC_GC_NOISE;
      out->verdict = NNC_PASS;
      goto tally;
    }
    if ((rc = smooth_verdict(c, b, i, a, &e, hrel, gb, out, &kinked)))
      return rc;
  }
  if (kinked) {
    /* dodge the kink with smaller steps first */
    out->flags |= NNC_GC_KINK;
    double hr = hrel;
    gc_est k = e;
    for (int t = 0; t < 3 && k.kink; t++) {
      hr /= 10;
      if ((rc = nnci_gc_centered(c, b, i, hr, &k)))
        return rc;
      out->evals += 2;
    }
    if (!k.kink && c->have_w) {
      out->flags |= NNC_GC_KINK_RESOLVED;
      out->h = k.h;
      out->numeric = k.numeric;
      out->noise = k.noise;
      out->relerr = nnci_relerr(a, k.numeric);
      if (out->relerr <= gb->pass_tol || fabs(a - k.numeric) <= k.noise)
        out->verdict = NNC_PASS;
      else {
        int again = 0;
        if ((rc = smooth_verdict(c, b, i, a, &k, hr, gb, out, &again)))
          return rc;
        if (again)
          kinked = 1, k.kink = 1;
      }
    }
    if (k.kink || !c->have_w) {
      out->flags &= ~NNC_GC_KINK_RESOLVED;
      out->h = k.h;
      if ((rc = adjudicate(c, b, i, a, &k, hrel, gb, out)))
        return rc;
    }
  }
tally:
  {
    double mx = fmax(fabs(a), fabs(out->numeric));
    if (!(out->flags & NNC_GC_ZERO) && mx > out->noise)
      gb->live++;
    if (!(out->flags & NNC_GC_ZERO) && mx < NNCI_TINY) {
      out->flags |= NNC_GC_TINY;
      gb->tiny++;
    }
    if (out->flags & NNC_GC_KINK)
      gb->kinks++;
    if (out->verdict == NNC_INCONCLUSIVE)
      gb->inconclusive++;
    if (out->verdict == NNC_FAIL)
      gb->failed++;
  }
  return NNC_OK;
}

nnc_gc_coord *nnci_gc_push(nnc_gc_block *gb)
{
  nnc_gc_coord *v = realloc(gb->coords, (gb->ncoords + 1) * sizeof *v);
  if (!v)
    return NULL;
  gb->coords = v;
  memset(&v[gb->ncoords], 0, sizeof *v);
  return &v[gb->ncoords++];
}

typedef struct vi {
  double v;
  size_t i;
} vi;

static int cmp_vi(const void *a, const void *b)
{
  const vi *x = a, *y = b;
  if (x->v != y->v)
    return x->v < y->v ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

/* Move every coordinate of the set together by +-t (a direction along which
 * exact ties stay ties, so the function is smooth there) and compare with
 * the sum of their analytic values. */
static int tied_set(gc_ctx *c, size_t b, const size_t *idx, size_t n,
                    nnc_gc_block *gb, int *smooth)
{
  nnc_model *m = c->m;
  double v = nnc_model_get(m, b, idx[0]);
  double t = nnci_default_h(c->o, m->blocks[b].dtype) * fmax(1, fabs(v));
  double fp, fm, vp = 0, vm = 0, au = 0;
  nnc_winners wp, wm;
  int rc, have_w = c->have_w;
  for (size_t k = 0; k < n; k++)
    vp = nnc_model_set(m, b, idx[k], v + t);
  if ((rc = nnci_gc_loss(c, &fp, 1)))
    goto out;
  have_w = have_w && nnc_model_winners(m, &wp) == NNC_OK;
  for (size_t k = 0; k < n; k++)
    vm = nnc_model_set(m, b, idx[k], v - t);
  if ((rc = nnci_gc_loss(c, &fm, 1)))
    goto out;
  have_w = have_w && nnc_model_winners(m, &wm) == NNC_OK;
  for (size_t k = 0; k < n; k++)
    au += nnci_gc_grad(c, b, idx[k]);
  double step = vp - vm, fd = (fp - fm) / step;
  double noise = modelled_noise(c, m->blocks[b].dtype, fp, fm, step);
  if (have_w)
    *smooth = wp.hash == wm.hash && wp.ties == wm.ties;
  else /* one-sided slopes must agree */
    *smooth = fabs((fp - c->f0) / (vp - v) - (c->f0 - fm) / (v - vm)) <=
              fmax(8 * noise, 1e-3 * fabs(fd));
  if (!*smooth)
    goto out;
  nnc_gc_coord *e = nnci_gc_push(gb);
  if (!e) {
    rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
    goto out;
  }
  e->index = idx[0];
  e->group = n;
  e->analytic = au;
  e->numeric = fd;
  e->h = t;
  e->noise = noise;
  e->relerr = nnci_relerr(au, fd);
  e->flags = NNC_GC_TIED;
  e->evals = 2;
  if (au == 0 && fd == 0)
    e->flags |= NNC_GC_ZERO, e->verdict = NNC_PASS;
  else if (e->relerr <= gb->pass_tol || fabs(au - fd) <= noise) {
    e->verdict = NNC_PASS;
    if (e->relerr > gb->pass_tol)
      e->flags |= NNC_GC_NOISE;
  }
  else
    e->verdict = nnci_band_verdict(gb, e->relerr);
  if (e->verdict == NNC_FAIL)
    gb->failed++;
out:
  for (size_t k = 0; k < n; k++)
    nnc_model_set(m, b, idx[k], v);
  return rc;
}

int nnci_gc_ties(gc_ctx *c, size_t b, nnc_gc_block *gb, size_t room)
{
  (void)room;
  nnc_model *m = c->m;
  const nnc_block *blk = &m->blocks[b];
  int at_kink = 0;
  for (size_t k = 0; k < gb->ncoords; k++)
    at_kink |= (gb->coords[k].flags & NNC_GC_AT_KINK) != 0;
  /* Only where exact ties matter: the plugin saw tied decisions, or a
   * checked coordinate sat on a kink. */
  if (!(c->have_w && c->w0.ties > 0) && !at_kink)
    return NNC_OK;
  if (blk->count < 2 || blk->count > MAX_GROUP)
    return NNC_OK;
  vi *v = malloc(blk->count * sizeof *v);
  size_t *idx = malloc(blk->count * sizeof *idx);
  int rc = NNC_OK;
  if (!v || !idx) {
    free(v);
    free(idx);
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < blk->count; i++) {
    v[i].v = nnc_model_get(m, b, i);
    v[i].i = i;
  }
  qsort(v, blk->count, sizeof *v, cmp_vi);
  /* the largest runs of exactly equal values, at most MAX_TIED of them */
  size_t done = 0, skipped = 0;
  for (size_t pass = 0; pass < MAX_TIED; pass++) {
    size_t best = 0, best_len = 1;
    for (size_t s = 0; s < blk->count;) {
      size_t e = s + 1;
      while (e < blk->count && v[e].v == v[s].v)
        e++;
      if (e - s > best_len && v[s].i != (size_t)-1) {
        best = s;
        best_len = e - s;
      }
      s = e;
    }
    if (best_len < 2)
      break;
    for (size_t k = 0; k < best_len; k++) {
      idx[k] = v[best + k].i;
      v[best + k].i = (size_t)-1; /* taken */
    }
    int smooth = 0;
    if ((rc = tied_set(c, b, idx, best_len, gb, &smooth)))
      break;
    done += smooth;
    skipped += !smooth;
  }
  if (skipped)
    nnci_gc_warn(c->r,
                 "block %s: %zu set(s) of exactly equal values could not be "
                 "moved together without crossing a kink (e.g. ReLU inputs "
                 "at 0); their coordinates were checked one by one",
                 blk->name, skipped);
  free(v);
  free(idx);
  return rc;
}
