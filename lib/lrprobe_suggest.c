/* lrprobe_suggest.c — reading a range test's curves: the suggestions of
 * each run, their median and spread over the runs, where each block's
 * update:weight ratio crosses 1e-3 and 1e-2, and the verdict.  Pure
 * arithmetic on the recorded arrays (definitions in lrprobe.h); the model
 * is not touched here. */
#include "config.h"
#include "lrprobe_internal.h"

#include <math.h>
#include <stdlib.h>

/* Index of the smallest of v[lo..hi), the first one on ties. */
static size_t argmin_of(const double *v, size_t lo, size_t hi)
{
  size_t k = lo;
  for (size_t i = lo + 1; i < hi; i++)
    if (v[i] < v[k])
      k = i;
  return k;
}

/* The slope of s against x at i by central differences (one-sided at the
 * ends), as numpy.gradient on an even grid. */
static double slope_at(const double *x, const double *s, size_t n, size_t i)
{
  size_t a = i > 0 ? i - 1 : i, b = i + 1 < n ? i + 1 : i;
  return b > a ? (s[b] - s[a]) / (x[b] - x[a]) : 0;
}

/* fastai's valley on s[lo..hi): the longest strictly decreasing
 * subsequence (the first of the longest), its first and last rungs. */
static int longest_valley(const double *s, size_t lo, size_t hi, size_t *a,
                          size_t *b)
{
  size_t n = hi - lo, *len = malloc(n * sizeof *len),
         *prev = malloc(n * sizeof *prev);
  if (!len || !prev) {
    free(len);
    free(prev);
    return NNC_ENOMEM;
  }
  size_t end = 0;
  for (size_t i = 0; i < n; i++) {
    len[i] = 1;
    prev[i] = i;
    for (size_t j = 0; j < i; j++)
      if (s[lo + i] < s[lo + j] && len[j] + 1 > len[i]) {
        len[i] = len[j] + 1;
        prev[i] = j;
      }
    if (len[i] > len[end])
      end = i;
  }
  size_t first = end;
  while (prev[first] != first)
    first = prev[first];
  *a = lo + first;
  *b = lo + end;
  free(len);
  free(prev);
  return NNC_OK;
}

/* The fall (relative to the start level) that rung i must show to count:
 * min_drop, or three standard errors of start_level - smoothed_i if that is
 * more.  Rung i's bias-corrected average weighs batch k by
 * w_k = (1 - beta) beta^(i-k) / (1 - beta^(i+1)), so its variance is the
 * batch variance times sum w_k^2 = (1 - beta)/(1 + beta) *
 * (1 + beta^(i+1)) / (1 - beta^(i+1)): large at the first rungs, where it
 * rests on few batches. */
static double need_at(const nnc_lrprobe_opts *o, const nnc_lrprobe_run *u,
                      size_t i, double scale)
{
  double bi = pow(o->beta, (double)(i + 1));
  double g = bi < 1 ? (1 - o->beta) / (1 + o->beta) * (1 + bi) / (1 - bi) : 1;
  double se = sqrt(u->start_se * u->start_se + u->start_sd * u->start_sd * g);
  return fmax(o->min_drop, 3 * se / scale);
}

int nnci_lrprobe_suggest(const nnc_lrprobe_opts *o, size_t w0,
                          nnc_lrprobe_run *u)
{
  size_t n = u->n;
  for (int k = 0; k < NNC_LR_NSUGG; k++)
    u->sugg[k] = NAN;
  u->valley_from = u->valley_to = 0;
  u->rise_lr = NAN;
  u->drop = u->need = NAN;
  u->usable = 0;
  if (n == 0)
    return NNC_OK;
  double *x = malloc(n * sizeof *x), *m = malloc(n * sizeof *m);
  if (!x || !m) {
    free(x);
    free(m);
    return NNC_ENOMEM;
  }
  const double *s = u->smooth;
  for (size_t i = 0; i < n; i++)
    x[i] = log10(u->lr[i]);
  u->best = argmin_of(s, 0, n);
  /* the region the suggestions look at: from w0 on, unless the ladder
   * stopped too early to leave a few rungs there */
  size_t lo = n >= w0 + 3 ? w0 : 0;
  size_t im = argmin_of(s, lo, n);
  double scale = fabs(u->start_level) > 0 ? fabs(u->start_level) : 1;
  u->drop = (u->start_level - s[im]) / scale;
  u->need = need_at(o, u, im, scale);
  u->usable = u->drop >= u->need;
  for (size_t i = lo; i < n; i++)
    if (s[i] > u->start_level + need_at(o, u, i, scale) * scale) {
      u->rise_lr = u->lr[i];
      break;
    }
  int rc = NNC_OK;
  if (!u->usable)
    goto done;

  u->sugg[NNC_LR_MIN10] = x[im] - 1;

  size_t a, b;
  if ((rc = longest_valley(s, lo, n, &a, &b)) != NNC_OK)
    goto done;
  if (b > a) {
    size_t at = a + (size_t)floor(2.0 * (double)(b - a) / 3.0 + 0.5);
    u->sugg[NNC_LR_VALLEY] = x[at];
    u->valley_from = a;
    u->valley_to = b;
  }

  /* slide: half-decade windows ending at or before the minimum */
  double dx = fabs(log10(o->end / o->start)) / (double)(o->steps - 1);
  size_t W = (size_t)floor(0.5 / dx + 0.5);
  if (W < 2)
    W = 2;
  if (im >= lo + 1 && im - lo < W)
    W = im - lo;
  size_t from = lo, to = im; /* where steepest looks */
  if (im >= lo + W && W >= 1) {
    size_t nw = im - W - lo + 1;
    for (size_t i = lo; i < lo + nw; i++)
      m[i] = (s[i + W] - s[i]) / (x[i + W] - x[i]);
    size_t istar = argmin_of(m, lo, lo + nw);
    if (m[istar] < 0) {
      size_t j = istar;
      while (j > lo && m[j - 1] <= 0.5 * m[istar])
        j--;
      u->sugg[NNC_LR_SLIDE] = x[j];
      from = j;
      to = istar + W;
    }
  }

  /* steepest: within the sustained descent, so that a wiggle of the
   * smoothed loss where it is still flat (the bias-corrected average rests
   * on few batches there) cannot win */
  size_t is = from;
  double gs = INFINITY;
  for (size_t i = from; i <= to; i++) {
    double g = slope_at(x, s, n, i);
    if (g < gs) {
      gs = g;
      is = i;
    }
  }
  if (gs < 0)
    u->sugg[NNC_LR_STEEPEST] = x[is];
done:
  free(x);
  free(m);
  return rc;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void nnci_lrprobe_aggregate(nnc_lrprobe_result *r)
{
  double v[256];
  for (int k = 0; k < NNC_LR_NSUGG; k++) {
    nnc_lrprobe_sugg *g = &r->sugg[k];
    size_t f = 0;
    for (size_t q = 0; q < r->nruns && f < 256; q++)
      if (isfinite(r->runs[q].sugg[k]))
        v[f++] = r->runs[q].sugg[k];
    g->found = f;
    if (!f) {
      g->median = g->lo = g->hi = g->spread = NAN;
      g->unreliable = 1;
      continue;
    }
    qsort(v, f, sizeof *v, cmp_double);
    g->median = f % 2 ? v[f / 2] : 0.5 * (v[f / 2 - 1] + v[f / 2]);
    g->lo = v[0];
    g->hi = v[f - 1];
    g->spread = g->hi - g->lo;
    g->unreliable = g->spread > r->opts.unreliable_decades || f < r->nruns;
  }
}

/* The learning rate at which ratio (column k of run u) first reaches t,
 * interpolated in log-log between the rungs around it. */
static double crossing(const nnc_lrprobe_run *u, size_t nb, size_t k,
                       double t, int *at_first)
{
  *at_first = 0;
  for (size_t i = 0; i < u->n; i++) {
    double q = u->ratio[i * nb + k];
    if (!(q >= t)) /* NaN never crosses */
      continue;
    if (i == 0) {
      *at_first = 1;
      return u->lr[0];
    }
    double q0 = u->ratio[(i - 1) * nb + k];
    if (!(q0 > 0) || !isfinite(q0) || !isfinite(q))
      return u->lr[i];
    double x0 = log10(u->lr[i - 1]), x1 = log10(u->lr[i]);
    double f = (log10(t) - log10(q0)) / (log10(q) - log10(q0));
    return pow(10, x0 + f * (x1 - x0));
  }
  return NAN;
}

void nnci_lrprobe_ratios(nnc_lrprobe_result *r)
{
  r->diverges_first = -1;
  if (!r->nruns)
    return;
  const nnc_lrprobe_run *u = &r->runs[0];
  size_t nb = r->nblocks;
  for (size_t k = 0; k < nb; k++) {
    nnc_lrprobe_block *bl = &r->blocks[k];
    bl->cross3 = crossing(u, nb, k, 1e-3, &bl->below3);
    bl->cross2 = crossing(u, nb, k, 1e-2, &bl->below2);
    bl->max_ratio = NAN;
    for (size_t i = 0; i < u->n; i++) {
      double q = u->ratio[i * nb + k];
      if (isfinite(q) && !(q <= bl->max_ratio))
        bl->max_ratio = q;
    }
    if (bl->zero_start || !isfinite(bl->cross2))
      continue;
    if (r->diverges_first < 0) {
      r->diverges_first = (long)k;
      continue;
    }
    const nnc_lrprobe_block *d = &r->blocks[r->diverges_first];
    if (bl->cross2 < d->cross2 ||
        (bl->cross2 == d->cross2 && bl->max_ratio > d->max_ratio))
      r->diverges_first = (long)k;
  }
}

void nnci_lrprobe_verdict(nnc_lrprobe_result *r)
{
  size_t rises = 0, flat = 0;
  r->usable_runs = 0;
  for (size_t q = 0; q < r->nruns; q++) {
    const nnc_lrprobe_run *u = &r->runs[q];
    if (u->usable)
      r->usable_runs++;
    else if (u->stop != NNC_LR_STOP_END)
      rises++;
    else
      flat++;
  }
  if (2 * r->usable_runs > r->nruns)
    r->verdict = NNC_LR_OK;
  else if (rises != flat)
    r->verdict = rises > flat ? NNC_LR_RISES : NNC_LR_FLAT;
  else
    r->verdict = r->runs[0].stop != NNC_LR_STOP_END ? NNC_LR_RISES
                                                     : NNC_LR_FLAT;
}
