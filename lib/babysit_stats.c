/* babysit_stats.c — what babysitting measures: the fixed histogram buckets,
 * the per-layer unit statistics over an epoch, the noise number of
 * first-layer filters, and the loss trend and ratio measures behind the
 * diagnoses (definitions in babysit.h). */
#include "config.h"
#include "babysit_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- buckets ---------------------------------------------------------------- */

/* The magnitude edges 10^(EXP_MIN + j/4), j = 0 .. NMAG: computed, not
 * stored, so nothing is global; pow is correctly rounded enough that every
 * caller gets the same doubles. */
static double edge(int j)
{
  return pow(10.0, (double)NNC_BS_EXP_MIN + (double)j / NNC_BS_PER_DECADE);
}

/* Magnitude index of x > 0: -1 underflow, NMAG overflow, else j with
 * edge(j) <= x < edge(j + 1). */
static int mag_index(double x)
{
  if (x < edge(0))
    return -1;
  if (x >= edge(NNC_BS_NMAG))
    return NNC_BS_NMAG;
  int j = (int)floor((log10(x) - NNC_BS_EXP_MIN) * NNC_BS_PER_DECADE);
  if (j < 0)
    j = 0;
  if (j > NNC_BS_NMAG - 1)
    j = NNC_BS_NMAG - 1;
  /* log10 may land a hair off at an edge: the table decides. */
  while (j > 0 && x < edge(j))
    j--;
  while (j < NNC_BS_NMAG - 1 && x >= edge(j + 1))
    j++;
  return j;
}

size_t nnc_babysit_bucket(double a)
{
  if (!isfinite(a))
    return NNC_BS_BUCKET_NONFINITE;
  if (a == 0)
    return NNC_BS_BUCKET_ZERO;
  int j = mag_index(fabs(a));
  if (a > 0)
    return (size_t)(NNC_BS_BUCKET_ZERO + 2 + j); /* -1 -> underflow */
  return (size_t)(NNC_BS_BUCKET_ZERO - 2 - j);
}

void nnc_babysit_bucket_edges(size_t b, double *lo, double *hi)
{
  if (b >= NNC_BS_NBUCKETS || b == NNC_BS_BUCKET_NONFINITE) {
    *lo = *hi = NAN;
    return;
  }
  if (b == NNC_BS_BUCKET_ZERO) {
    *lo = *hi = 0;
    return;
  }
  int pos = b > NNC_BS_BUCKET_ZERO;
  int j = pos ? (int)b - NNC_BS_BUCKET_ZERO - 2 : NNC_BS_BUCKET_ZERO - 2 - (int)b;
  double mlo = j < 0 ? 0 : edge(j);
  double mhi = j >= NNC_BS_NMAG ? INFINITY : edge(j + 1);
  if (pos) {
    *lo = mlo;
    *hi = mhi;
  } else {
    *lo = -mhi;
    *hi = -mlo;
  }
}

/* ---- per-layer statistics ---------------------------------------------------- */

static int near_zero(double a) { return a != 0 && fabs(a) < 1e-2; }

int nnci_bs_acc_add(nnc_model *m, nnci_bs_acc *acc, size_t nprobes, size_t n,
                    double sat_level)
{
  for (size_t i = 0; i < nprobes; i++) {
    nnc_probe pr;
    memset(&pr, 0, sizeof pr);
    if (m->d.probe(m->self, i, &pr) != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: probe(%zu) failed", m->d.name, i);
    if (!pr.value || !pr.count || !n)
      continue;
    nnci_bs_acc *a = &acc[i];
    a->kind = pr.kind;
    size_t units = pr.count % n == 0 ? pr.count / n : 0;
    if (units && a->units != units) {
      if (a->units) /* the layer changed width: per-unit counts restart */
        return nnci_fail(m, NNC_ECONTRACT,
                         "%s: probe '%s' has %zu units per example, earlier "
                         "%zu",
                         m->d.name, pr.name ? pr.name : "?", units, a->units);
      a->units = units;
      a->alive = calloc(units, sizeof *a->alive);
      a->sat = calloc(units, sizeof *a->sat);
      if (!a->alive || !a->sat)
        return nnci_fail(m, NNC_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < pr.count; k++) {
      double v = nnci_load(pr.value, pr.dtype, k);
      a->e.act.n[nnc_babysit_bucket(v)]++;
      a->sum_abs += fabs(v);
      a->zero += v == 0;
      a->near += near_zero(v);
      int s = pr.kind == NNC_ACT_TANH      ? fabs(v) > sat_level
              : pr.kind == NNC_ACT_SIGMOID ? (v > sat_level || v < 1 - sat_level)
                                           : 0;
      a->sat_vals += s;
      if (units) {
        size_t u = k % units;
        a->alive[u] += v > 0;
        a->sat[u] += s;
      }
    }
    a->e.values += pr.count;
    a->e.examples += units ? n : 0;
    if (pr.grad) {
      for (size_t k = 0; k < pr.count; k++) {
        double g = nnci_load(pr.grad, pr.dtype, k);
        a->e.grad.n[nnc_babysit_bucket(g)]++;
        a->sum_g2 += g * g;
      }
      a->gvalues += pr.count;
    }
  }
  return NNC_OK;
}

void nnci_bs_acc_finish(nnci_bs_acc *a, nnc_bs_layer_epoch *out)
{
  nnc_bs_layer_epoch *e = &a->e;
  double nv = (double)e->values;
  e->dead = e->sat_units = e->sat_values = NAN;
  e->near_zero = nv > 0 ? (double)a->near / nv : NAN;
  e->zero = nv > 0 ? (double)a->zero / nv : NAN;
  e->mean_abs = nv > 0 ? a->sum_abs / nv : NAN;
  e->grad_rms = a->gvalues ? sqrt(a->sum_g2 / (double)a->gvalues) : NAN;
  if (a->units && e->examples) {
    size_t dead = 0, sat = 0;
    for (size_t u = 0; u < a->units; u++) {
      dead += a->alive[u] == 0;
      sat += 2 * a->sat[u] > e->examples;
    }
    if (a->kind == NNC_ACT_RELU)
      e->dead = (double)dead / (double)a->units;
    if (a->kind == NNC_ACT_TANH || a->kind == NNC_ACT_SIGMOID)
      e->sat_units = (double)sat / (double)a->units;
  }
  if ((a->kind == NNC_ACT_TANH || a->kind == NNC_ACT_SIGMOID) && nv > 0)
    e->sat_values = (double)a->sat_vals / nv;
  *out = *e;
  memset(e, 0, sizeof *e);
  if (a->units) {
    memset(a->alive, 0, a->units * sizeof *a->alive);
    memset(a->sat, 0, a->units * sizeof *a->sat);
  }
  a->sum_abs = a->sum_g2 = 0;
  a->sat_vals = a->near = a->zero = a->gvalues = 0;
}

void nnci_bs_acc_free(nnci_bs_acc *acc, size_t nprobes)
{
  if (!acc)
    return;
  for (size_t i = 0; i < nprobes; i++) {
    free(acc[i].alive);
    free(acc[i].sat);
  }
  free(acc);
}

/* ---- first-layer filters ------------------------------------------------------- */

int nnci_bs_filters_shape(nnc_model *m, nnc_bs_filters *f, long *block)
{
  memset(f, 0, sizeof *f);
  f->noise0 = f->noise = NAN;
  *block = -1;
  if (!m->has_info || (m->ni.input_ndim != 2 && m->ni.input_ndim != 3))
    return 0;
  const size_t *s = m->ni.input_shape;
  size_t C = m->ni.input_ndim == 3 ? s[0] : 1;
  size_t H = s[m->ni.input_ndim - 2], W = s[m->ni.input_ndim - 1];
  if (!C || !H || !W)
    return 0;
  long w = nnci_weight_block_first(m);
  if (w < 0)
    return 0;
  const nnc_block *b = &m->blocks[w];
  size_t D = C * H * W;
  /* A dense first layer stores D x units (fan-in first) as the mlp does; a
   * block whose first dimension is not D is not a dense first layer. */
  if (b->ndim != 2 || b->shape[0] != D)
    return 0;
  f->present = 1;
  snprintf(f->block, sizeof f->block, "%s", b->name);
  f->channels = C;
  f->height = H;
  f->width = W;
  f->nfilters = b->shape[1];
  *block = w;
  return 1;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double nnci_bs_median(double *v, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i]))
      v[k++] = v[i];
  if (!k)
    return NAN;
  qsort(v, k, sizeof *v, cmp_double);
  return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

double nnci_bs_filter_noise(const nnc_model *m, size_t block,
                            const nnc_bs_filters *f, double *out)
{
  size_t C = f->channels, H = f->height, W = f->width, U = f->nfilters;
  size_t D = C * H * W;
  double *noise = malloc((U ? U : 1) * sizeof *noise);
  double *px = malloc(D * sizeof *px);
  if (!noise || !px) {
    free(noise);
    free(px);
    return NAN;
  }
  for (size_t u = 0; u < U; u++) {
    double mean = 0;
    for (size_t d = 0; d < D; d++) {
      px[d] = nnc_model_get(m, block, d * U + u);
      mean += px[d];
    }
    if (out)
      memcpy(out + u * D, px, D * sizeof *px);
    mean /= (double)D;
    double var = 0;
    for (size_t d = 0; d < D; d++)
      var += (px[d] - mean) * (px[d] - mean);
    var /= (double)D;
    double sq = 0;
    size_t pairs = 0;
    for (size_t c = 0; c < C; c++)
      for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++) {
          const double *p = px + (c * H + y) * W + x;
          if (x + 1 < W) {
            sq += (p[0] - p[1]) * (p[0] - p[1]);
            pairs++;
          }
          if (y + 1 < H) {
            sq += (p[0] - p[W]) * (p[0] - p[W]);
            pairs++;
          }
        }
    noise[u] = var > 0 && pairs ? sq / (double)pairs / (2 * var) : NAN;
  }
  double med = nnci_bs_median(noise, U);
  free(noise);
  free(px);
  return med;
}

/* ---- measures behind the diagnoses ----------------------------------------- */

void nnci_bs_measures(nnc_babysit_result *r)
{
  size_t n = r->nsteps;
  r->r_late = r->late_frac = r->trend_start = r->trend_end = NAN;
  r->trend_fall = r->noise_rel = NAN;
  if (!n)
    return;
  size_t w = r->steps_per_epoch > 5 ? r->steps_per_epoch : 5;
  r->trend_window = w;
  for (size_t k = 0; k < n; k++) {
    size_t lo = k >= w / 2 ? k - w / 2 : 0;
    size_t hi = k + (w - 1) / 2 + 1; /* exclusive */
    if (hi > n)
      hi = n;
    double s = 0;
    size_t c = 0;
    for (size_t j = lo; j < hi; j++)
      if (isfinite(r->step_loss[j])) {
        s += r->step_loss[j];
        c++;
      }
    r->step_trend[k] = c ? s / (double)c : NAN;
  }
  /* The late half: the last half of the steps, at least one epoch. */
  size_t late = n / 2;
  if (r->steps_per_epoch && n - late < r->steps_per_epoch)
    late = n > r->steps_per_epoch ? n - r->steps_per_epoch : 0;
  double mid;
  r->curve_epochs = r->nepochs >= 2 && isfinite(r->train_loss0) &&
                    isfinite(r->epochs[r->nepochs - 1].train_loss);
  if (r->curve_epochs) {
    size_t E = r->nepochs, h = E / 2; /* curve index h: after epoch h */
    r->trend_start = r->train_loss0;
    r->trend_end = r->epochs[E - 1].train_loss;
    mid = r->epochs[h - 1].train_loss;
  } else {
    r->trend_start = r->step_trend[0];
    r->trend_end = r->step_trend[n - 1];
    mid = r->step_trend[late];
  }
  double fall = r->trend_start - r->trend_end;
  r->trend_fall = r->trend_start != 0 ? fall / fabs(r->trend_start) : NAN;
  r->late_frac = fall > 0 ? (mid - r->trend_end) / fall : NAN;
  double ss = 0, st = 0;
  size_t c = 0;
  for (size_t k = late; k < n; k++) {
    double d = r->step_loss[k] - r->step_trend[k];
    if (!isfinite(d))
      continue;
    ss += d * d;
    st += r->step_trend[k];
    c++;
  }
  if (c > 1 && st != 0)
    r->noise_rel = sqrt(ss / (double)(c - 1)) / fabs(st / (double)c);
  /* Per block: the geometric mean ratio over the late steps. */
  double *lr = malloc((r->nblocks ? r->nblocks : 1) * sizeof *lr);
  size_t nw = 0;
  for (size_t b = 0; b < r->nblocks; b++) {
    double sl = 0;
    size_t cl = 0;
    for (size_t k = late; k < n; k++) {
      double q = r->ratio[k * r->nblocks + b];
      if (q > 0 && isfinite(q)) {
        sl += log(q);
        cl++;
      }
    }
    r->blocks[b].ratio_late = cl ? exp(sl / (double)cl) : NAN;
    if (lr && r->blocks[b].weight)
      lr[nw++] = r->blocks[b].ratio_late;
  }
  if (lr)
    r->r_late = nnci_bs_median(lr, nw);
  free(lr);
}

void nnci_bs_add(char *buf, size_t len, const char *fmt, ...)
{
  size_t had = strlen(buf);
  if (had + 1 >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + had, len - had, fmt, ap);
  va_end(ap);
}
