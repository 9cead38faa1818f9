/* L-BFGS on one fixed batch: the two-loop recursion over the last `history`
 * (s, y) pairs and a backtracking line search with Armijo's condition.  It
 * is here as the second-order yardstick the notes compare SGD with, so it
 * aims at clarity over the refinements of production codes (no Wolfe
 * curvature test: pairs with s.y <= 0 are skipped instead).
 *
 * All parameter blocks but a layer's "input" form one vector x.  The vector
 * always holds what the blocks store, rounded to their element type, so s is
 * the step really taken. */
#include "config.h"
#include "model.h"
#include <nncheck/train.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ARMIJO_C1 1e-4
#define MAX_HALVINGS 60
#define DEFAULT_HISTORY 10

typedef struct lb {
  nnc_model *m;
  const nnc_batch *batch;
  uint64_t seed;
  uint32_t flags;
  size_t nb, n;      /* blocks, elements */
} lb;

static double dot(const double *a, const double *b, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

/* Store x into the blocks, then read back what was stored. */
static void put_x(const lb *p, double *x)
{
  size_t k = 0;
  for (size_t b = 0; b < p->nb; b++) {
    nnc_block *blk = &p->m->blocks[b];
    for (size_t i = 0; i < blk->count; i++, k++) {
      nnci_store(blk->data, blk->dtype, i, x[k]);
      x[k] = nnci_load(blk->data, blk->dtype, i);
    }
  }
}

static void get_x(const lb *p, double *x)
{
  size_t k = 0;
  for (size_t b = 0; b < p->nb; b++) {
    const nnc_block *blk = &p->m->blocks[b];
    for (size_t i = 0; i < blk->count; i++)
      x[k++] = nnci_load(blk->data, blk->dtype, i);
  }
}

static int grad(const lb *p, double *g)
{
  int rc = nnc_model_backward(p->m);
  if (rc != NNC_OK)
    return rc;
  size_t k = 0;
  for (size_t b = 0; b < p->nb; b++)
    for (size_t i = 0; i < p->m->blocks[b].count; i++)
      g[k++] = nnc_model_grad(p->m, b, i);
  return NNC_OK;
}

/* d = -H g by the two-loop recursion over pairs oldest .. newest (ring
 * buffer of `cap` slots: pair j is at (first + j) % cap). */
static void direction(size_t n, size_t cap, size_t np, size_t first,
                      double *const *S, double *const *Y, const double *rho,
                      double *alpha, const double *g, double *d)
{
  for (size_t i = 0; i < n; i++)
    d[i] = -g[i];
  for (size_t j = np; j-- > 0;) {
    size_t q = (first + j) % cap;
    alpha[q] = rho[q] * dot(S[q], d, n);
    for (size_t i = 0; i < n; i++)
      d[i] -= alpha[q] * Y[q][i];
  }
  if (np) { /* H0 = gamma I, gamma = s.y / y.y of the newest pair */
    size_t q = (first + np - 1) % cap;
    double gamma = dot(S[q], Y[q], n) / dot(Y[q], Y[q], n);
    for (size_t i = 0; i < n; i++)
      d[i] *= gamma;
  }
  for (size_t j = 0; j < np; j++) {
    size_t q = (first + j) % cap;
    double beta = rho[q] * dot(Y[q], d, n);
    for (size_t i = 0; i < n; i++)
      d[i] += S[q][i] * (alpha[q] - beta);
  }
}

int nnc_lbfgs(nnc_model *m, const nnc_batch *batch, uint64_t seed,
              uint32_t flags, size_t iters, size_t history, double *trace,
              size_t *done)
{
  if (done)
    *done = 0;
  lb p = {m, batch, seed, flags, 0, 0};
  p.nb = m->d.kind == NNC_KIND_LAYER ? m->nparam : m->nblocks;
  for (size_t b = 0; b < p.nb; b++)
    p.n += m->blocks[b].count;
  if (p.n == 0)
    return nnci_fail(m, NNC_EARG, "the model has no parameters to optimize");
  /* One slot more than the history: a new pair is written into a free slot
   * and only then, if its curvature is positive, displaces the oldest. */
  size_t hist = history ? history : DEFAULT_HISTORY, cap = hist + 1, n = p.n;
  double *mem = malloc((5 + 2 * cap) * n * sizeof *mem);
  double *rho = calloc(2 * cap, sizeof *rho);
  double **S = calloc(2 * cap, sizeof *S);
  if (!mem || !rho || !S) {
    free(mem);
    free(rho);
    free(S);
    return nnci_fail(m, NNC_ENOMEM, "out of memory for L-BFGS on %zu values",
                     n);
  }
  double *x = mem, *g = x + n, *d = g + n, *xn = d + n, *gn = xn + n;
  double *alpha = rho + cap, **Y = S + cap;
  for (size_t j = 0; j < cap; j++) {
    S[j] = gn + n + 2 * j * n;
    Y[j] = S[j] + n;
  }
  size_t np = 0, first = 0, k = 0;
  double f;
  get_x(&p, x);
  int rc = nnc_model_loss(m, batch, seed, flags, &f);
  if (rc == NNC_OK)
    rc = grad(&p, g);
  if (rc != NNC_OK)
    goto out;
  if (trace)
    trace[0] = f;
  while (k < iters) {
    double gg = dot(g, g, n);
    if (!(gg > 0))
      break; /* a stationary point */
    direction(n, cap, np, first, S, Y, rho, alpha, g, d);
    double gd = dot(g, d, n);
    if (!(gd < 0)) { /* not a descent direction: forget the curvature */
      np = 0;
      for (size_t i = 0; i < n; i++)
        d[i] = -g[i];
      gd = -gg;
    }
    /* Without curvature information the first trial moves a unit
     * distance at most. */
    double t = np ? 1.0 : fmin(1.0, 1.0 / sqrt(gg)), fn = f;
    int accepted = 0;
    for (int h = 0; h < MAX_HALVINGS && !accepted; h++, t *= 0.5) {
      for (size_t i = 0; i < n; i++)
        xn[i] = x[i] + t * d[i];
      put_x(&p, xn);
      rc = nnc_model_loss(m, batch, seed, flags, &fn);
      if (rc == NNC_ENONFINITE)
        continue; /* overshot into overflow: a shorter step */
      if (rc != NNC_OK)
        goto out;
      accepted = fn <= f + ARMIJO_C1 * t * gd;
    }
    if (!accepted) { /* no decrease along d: stay where we were */
      put_x(&p, x);
      m->have_loss = 0; /* the last loss was at the rejected point */
      rc = NNC_OK;
      break;
    }
    if ((rc = grad(&p, gn)) != NNC_OK)
      goto out;
    /* The new pair, unless its curvature is not positive. */
    size_t q = (first + np) % cap;
    double sy = 0;
    for (size_t i = 0; i < n; i++) {
      S[q][i] = xn[i] - x[i];
      Y[q][i] = gn[i] - g[i];
      sy += S[q][i] * Y[q][i];
    }
    if (sy > 1e-12 * sqrt(dot(S[q], S[q], n) * dot(Y[q], Y[q], n))) {
      rho[q] = 1.0 / sy;
      if (np < hist)
        np++;
      else
        first = (first + 1) % cap;
    }
    memcpy(x, xn, n * sizeof *x);
    memcpy(g, gn, n * sizeof *g);
    f = fn;
    k++;
    if (trace)
      trace[k] = f;
  }
  if (trace)
    for (size_t j = k + 1; j <= iters; j++)
      trace[j] = f;
out:
  if (done)
    *done = k;
  free(mem);
  free(rho);
  free(S);
  return rc;
}
