/* landscape_paths.c — the line between two parameter sets, and a training
 * run's trajectory on the plane of its main directions of change. */
#include "config.h"

#include "landscape_internal.h"
#include "model.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_STREAM 0x11e5a3b1e0000000ULL
#define AXIS_STREAM 0x7a4ec7091e000000ULL
#define MAX_TRAJ 4096

int nnci_ls_flatten(nnc_landscape *ls, const nnc_checkpoint *c, double *out)
{
  char err[1024];
  int rc = nnc_checkpoint_check(c, ls->m, err, sizeof err);
  if (rc != NNC_OK)
    return nnci_ls_fail(ls, rc, "%s", err);
  for (size_t b = 0; b < ls->nb; b++) {
    const nnc_block *mb = nnc_model_block(ls->m, b);
    long k = nnc_checkpoint_find(c, mb->name);
    const nnc_block *cb = nnc_checkpoint_block(c, (size_t)k);
    for (size_t i = 0; i < cb->count; i++)
      out[ls->off[b] + i] = nnci_load(cb->data, cb->dtype, i);
  }
  return NNC_OK;
}

/* ---- the line ------------------------------------------------------------ */

/* k examples of n, seeded; all of them when k is 0 or >= n. */
static size_t *sample(uint64_t seed, uint64_t stream, size_t n, size_t k,
                      size_t *got)
{
  if (k == 0 || k > n)
    k = n;
  size_t *idx = malloc((k ? k : 1) * sizeof *idx);
  if (!idx)
    return NULL;
  if (k == n) {
    for (size_t i = 0; i < n; i++)
      idx[i] = i;
  } else {
    nnc_rng r;
    nnc_rng_init(&r, seed, stream);
    nnc_rng_choose(&r, n, k, idx);
  }
  *got = k;
  return idx;
}

static void barrier(nnc_ls_line *l, int s)
{
  const double *L = l->loss[s];
  double l0 = L[l->i0], l1 = L[l->i1];
  l->barrier[s] = NAN;
  l->barrier_t[s] = NAN;
  /* strictly between the ends, where the excess is not 0 by definition */
  for (size_t i = l->i0 + 1; i < l->i1; i++) {
    double t = l->t[i], ex = L[i] - ((1 - t) * l0 + t * l1);
    if (isfinite(ex) && (isnan(l->barrier[s]) || ex > l->barrier[s])) {
      l->barrier[s] = ex;
      l->barrier_t[s] = t;
    }
  }
}

static void end_label(char *buf, size_t n, const nnc_checkpoint *c,
                      const char *label)
{
  if (label)
    snprintf(buf, n, "%s", label);
  else if (c && nnc_checkpoint_path(c)[0])
    snprintf(buf, n, "%s", nnc_checkpoint_path(c));
  else
    snprintf(buf, n, "%s", c ? "checkpoint" : "current");
}

int nnc_landscape_line(nnc_landscape *ls, const nnc_checkpoint *a,
                       const char *a_label, const nnc_checkpoint *b,
                       const char *b_label)
{
  nnc_landscape_result *r = &ls->r;
  nnc_ls_line *l = &r->line;
  nnci_phase(ls->m, "evaluating the line between parameter sets");
  if (r->has_line)
    return nnci_ls_fail(ls, NNC_EARG, "the line was already computed");
  size_t P = ls->P ? ls->P : 1;
  double *A = a ? malloc(P * sizeof *A) : NULL;
  double *B = b ? malloc(P * sizeof *B) : NULL;
  size_t q = (ls->o.line_points - 1 + 3) / 4, n = 4 * q + 1;
  double *coef = malloc(2 * n * sizeof *coef);
  size_t *idx[2] = {NULL, NULL};
  int rc = (!a || A) && (!b || B) && coef ? NNC_OK : NNC_ENOMEM;
  if (rc != NNC_OK) {
    nnci_ls_fail(ls, rc, "out of memory for the line");
    goto done;
  }
  if ((a && (rc = nnci_ls_flatten(ls, a, A)) != NNC_OK) ||
      (b && (rc = nnci_ls_flatten(ls, b, B)) != NNC_OK))
    goto done;
  const double *va = A ? A : ls->center, *vb = B ? B : ls->center;
  memset(l, 0, sizeof *l);
  end_label(l->from, sizeof l->from, a, a_label);
  end_label(l->to, sizeof l->to, b, b_label);
  double dd = 0;
  for (size_t i = 0; i < ls->P; i++)
    dd += (vb[i] - va[i]) * (vb[i] - va[i]);
  l->distance = sqrt(dd);
  if (dd == 0)
    nnci_ls_warn(ls, "the line's ends %s and %s are the same parameters: "
                 "the line is one point",
                 l->from, l->to);
  l->n = n;
  l->i0 = q;
  l->i1 = 3 * q;
  l->t = malloc(n * sizeof *l->t);
  if (!l->t) {
    rc = nnci_ls_fail(ls, NNC_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t k = 0; k < n; k++) {
    /* (k - q) / 2q: t = 0 and t = 1 exactly at k = q and k = 3q. */
    l->t[k] = ((double)k - (double)q) / (double)(2 * q);
    coef[2 * k] = 1 - l->t[k];
    coef[2 * k + 1] = l->t[k];
  }
  ls_job job;
  memset(&job, 0, sizeof job);
  job.stage = "line";
  job.npoints = n;
  job.nv = 2;
  job.v[0] = va;
  job.v[1] = vb;
  job.coef = coef;
  nnc_net_info ni;
  int dataset = nnc_model_kind(ls->m) == NNC_KIND_NET &&
                nnc_model_net_info(ls->m, &ni) == NNC_OK && ni.n_train > 0;
  const nnc_plugin *d = nnc_model_desc(ls->m);
  if (dataset) {
    job.eval = 1;
    job.nsplits = ni.n_val > 0 ? 2 : 1;
    for (int s = 0; s < job.nsplits; s++) {
      idx[s] = sample(ls->o.seed, LINE_STREAM + (uint64_t)s,
                      s ? ni.n_val : ni.n_train, ls->o.line_examples,
                      &l->examples[s]);
      if (!idx[s]) {
        rc = nnci_ls_fail(ls, NNC_ENOMEM, "out of memory");
        goto done;
      }
      job.idx[s] = idx[s];
      job.nidx[s] = l->examples[s];
    }
  } else {
    job.nsplits = 1;
    l->on_selection = 1;
    l->examples[0] = nnc_model_examples(ls->m);
  }
  l->nsplits = job.nsplits;
  job.total = n;
  for (int s = 0; s < l->nsplits; s++) {
    l->loss[s] = malloc(n * sizeof *l->loss[s]);
    if (dataset && d->predict)
      l->acc[s] = malloc(n * sizeof *l->acc[s]);
    if (!l->loss[s] || (dataset && d->predict && !l->acc[s])) {
      rc = nnci_ls_fail(ls, NNC_ENOMEM, "out of memory");
      goto done;
    }
    job.eloss[s] = l->loss[s];
    job.eacc[s] = l->acc[s];
  }
  job.loss = l->loss[0];
  rc = nnci_ls_run(ls, &job);
  l->nonfinite = job.nonfinite;
  if (rc != NNC_OK)
    goto done;
  for (int s = 0; s < l->nsplits; s++)
    barrier(l, s);
  if (l->nonfinite)
    nnci_ls_warn(ls, "line: the loss is not finite at %zu of %zu points "
                 "(left out of the picture)",
                 l->nonfinite, n);
  r->has_line = 1;
done:
  if (rc != NNC_OK) {
    for (int s = 0; s < 2; s++) {
      free(l->loss[s]);
      free(l->acc[s]);
    }
    free(l->t);
    memset(l, 0, sizeof *l);
  }
  free(idx[0]);
  free(idx[1]);
  free(A);
  free(B);
  free(coef);
  return rc;
}

/* ---- the trajectory --------------------------------------------------------- */

/* Eigenvalues (descending) and eigenvectors (columns of V, n x n row-major)
 * of the symmetric n x n matrix S, by cyclic Jacobi rotations.  S is
 * destroyed.  Small n only: the number of checkpoints. */
static void jacobi(double *S, size_t n, double *lam, double *V)
{
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      V[i * n + j] = i == j;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, diag = 0;
    for (size_t i = 0; i < n; i++) {
      diag += S[i * n + i] * S[i * n + i];
      for (size_t j = i + 1; j < n; j++)
        off += S[i * n + j] * S[i * n + j];
    }
    if (off <= 1e-30 * diag || off == 0)
      break;
    for (size_t p = 0; p < n; p++)
      for (size_t q = p + 1; q < n; q++) {
        double apq = S[p * n + q];
        if (apq == 0)
          continue;
        double theta = (S[q * n + q] - S[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1 : -1) /
                   (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < n; k++) {
          double skp = S[k * n + p], skq = S[k * n + q];
          S[k * n + p] = c * skp - s * skq;
          S[k * n + q] = s * skp + c * skq;
        }
        for (size_t k = 0; k < n; k++) {
          double spk = S[p * n + k], sqk = S[q * n + k];
          S[p * n + k] = c * spk - s * sqk;
          S[q * n + k] = s * spk + c * sqk;
        }
        for (size_t k = 0; k < n; k++) {
          double vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  for (size_t i = 0; i < n; i++)
    lam[i] = S[i * n + i];
  /* selection sort of the columns, largest eigenvalue first */
  for (size_t i = 0; i < n; i++) {
    size_t best = i;
    for (size_t j = i + 1; j < n; j++)
      if (lam[j] > lam[best])
        best = j;
    if (best == i)
      continue;
    double t = lam[i];
    lam[i] = lam[best];
    lam[best] = t;
    for (size_t k = 0; k < n; k++) {
      t = V[k * n + i];
      V[k * n + i] = V[k * n + best];
      V[k * n + best] = t;
    }
  }
}

/* d = sum_i u[i * stride] m_i over the nm difference vectors. */
static void combine(double *d, double *const *m, const double *u,
                    size_t stride, size_t nm, size_t P)
{
  memset(d, 0, P * sizeof *d);
  for (size_t i = 0; i < nm; i++) {
    double c = u[i * stride];
    for (size_t k = 0; k < P; k++)
      d[k] += c * m[i][k];
  }
}

/* Make d a unit vector orthogonal to the unit vector e (if given); 0 when
 * nothing is left of it. */
static int orthonormalise(double *d, const double *e, size_t P)
{
  for (int pass = 0; pass < 2 && e; pass++) {
    double c = nnci_ls_dot(d, e, P);
    for (size_t k = 0; k < P; k++)
      d[k] -= c * e[k];
  }
  double nn = sqrt(nnci_ls_dot(d, d, P));
  if (!(nn > 0))
    return 0;
  for (size_t k = 0; k < P; k++)
    d[k] /= nn;
  return 1;
}

static void traj_label(char *buf, size_t n, const nnc_checkpoint *c,
                       const char *label, size_t i)
{
  const nnc_ckpt_meta *m = nnc_checkpoint_meta(c);
  const char *path = nnc_checkpoint_path(c), *slash = strrchr(path, '/');
  if (label)
    snprintf(buf, n, "%s", label);
  else if (!isnan(m->epoch))
    snprintf(buf, n, "epoch %g", m->epoch);
  else if (path[0])
    snprintf(buf, n, "%s", slash ? slash + 1 : path);
  else
    snprintf(buf, n, "checkpoint %zu", i + 1);
}

/* The plane's two axes d1, d2 from the differences m_0 .. m_{nm-1}. */
static int plane_axes(nnc_landscape *ls, double *const *m, size_t nm,
                      double *d1, double *d2)
{
  nnc_ls_traj *tr = &ls->r.traj;
  size_t P = ls->P;
  double *G = malloc(nm * nm * sizeof *G), *V = malloc(nm * nm * sizeof *V);
  double *lam = malloc(nm * sizeof *lam);
  if (!G || !V || !lam) {
    free(G);
    free(V);
    free(lam);
    return nnci_ls_fail(ls, NNC_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < nm; i++)
    for (size_t j = 0; j <= i; j++)
      G[i * nm + j] = G[j * nm + i] = nnci_ls_dot(m[i], m[j], P);
  double trace = 0;
  for (size_t i = 0; i < nm; i++)
    trace += G[i * nm + i];
  int plane = ls->o.plane, rc = NNC_OK, have2 = 0;
  if (plane == NNC_LS_PLANE_ENDS && G[0] == 0) {
    nnci_ls_warn(ls, "trajectory: the first checkpoint equals the last: "
                 "using the PCA plane");
    plane = NNC_LS_PLANE_PCA;
  }
  tr->plane = plane;
  if (plane == NNC_LS_PLANE_ENDS) {
    /* d1 from the last checkpoint towards the first (sign fixed below);
     * d2 the main direction of what the differences keep beside d1: the
     * Gram matrix of the deflated differences is G - g0 g0^T / G00. */
    memcpy(d1, m[0], P * sizeof *d1);
    orthonormalise(d1, NULL, P);
    for (size_t i = 0; i < nm; i++)
      for (size_t j = 0; j < nm; j++)
        V[i * nm + j] = G[i * nm + j] - G[i * nm] * G[j * nm] / G[0];
    memcpy(G, V, nm * nm * sizeof *G);
    jacobi(G, nm, lam, V);
    if (nm > 1 && lam[0] > 1e-20 * trace) {
      combine(d2, m, V, nm, nm, P);
      have2 = orthonormalise(d2, d1, P);
    }
  } else {
    jacobi(G, nm, lam, V);
    combine(d1, m, V, nm, nm, P);
    orthonormalise(d1, NULL, P);
    if (nm > 1 && lam[1] > 1e-20 * trace) {
      combine(d2, m, V + 1, nm, nm, P);
      have2 = orthonormalise(d2, d1, P);
    }
  }
  if (!have2) {
    /* The run moved along one line: any second axis shows the valley
     * across it; a seeded random one, over every block. */
    tr->random_axis = 1;
    for (size_t b = 0; b < ls->nb; b++) {
      nnc_rng r;
      nnc_rng_init(&r, ls->o.seed, AXIS_STREAM + b);
      for (size_t k = ls->off[b]; k < ls->off[b + 1]; k++)
        d2[k] = nnc_rng_normal(&r);
    }
    if (!orthonormalise(d2, d1, P))
      rc = nnci_ls_fail(ls, NNC_EARG, "trajectory: no second axis");
  }
  free(G);
  free(V);
  free(lam);
  return rc;
}

/* Axis range around the points' coordinates and the origin, padded. */
static void axis_range(const double *c, size_t n, double other_span,
                       double *lo, double *hi)
{
  double a = 0, b = 0;
  for (size_t i = 0; i < n; i++) {
    a = c[i] < a ? c[i] : a;
    b = c[i] > b ? c[i] : b;
  }
  double span = b - a, need = 0.3 * other_span;
  if (span < need) {
    a -= (need - span) / 2;
    b += (need - span) / 2;
    span = need;
  }
  if (!(span > 0))
    span = 1;
  *lo = a - 0.15 * span;
  *hi = b + 0.15 * span;
}

static double span_of(const double *c, size_t n)
{
  double a = 0, b = 0;
  for (size_t i = 0; i < n; i++) {
    a = c[i] < a ? c[i] : a;
    b = c[i] > b ? c[i] : b;
  }
  return b - a;
}

int nnc_landscape_trajectory(nnc_landscape *ls,
                             const nnc_checkpoint *const *ckpt,
                             const char *const *labels, size_t n)
{
  nnc_landscape_result *r = &ls->r;
  nnc_ls_traj *tr = &r->traj;
  nnci_phase(ls->m, "evaluating the trajectory plane");
  if (r->has_traj)
    return nnci_ls_fail(ls, NNC_EARG, "the trajectory was already computed");
  if (n < 2 || n > MAX_TRAJ)
    return nnci_ls_fail(ls, NNC_EARG,
                        "a trajectory needs 2 to %d checkpoints, not %zu",
                        MAX_TRAJ, n);
  size_t P = ls->P ? ls->P : 1, nm = n - 1;
  double **v = calloc(n, sizeof *v);
  double *d1 = malloc(P * sizeof *d1), *d2 = malloc(P * sizeof *d2);
  memset(tr, 0, sizeof *tr);
  tr->n = n;
  tr->label = calloc(n, sizeof *tr->label);
  tr->x = calloc(n, sizeof *tr->x);
  tr->y = calloc(n, sizeof *tr->y);
  tr->residual = calloc(n, sizeof *tr->residual);
  tr->loss = calloc(n, sizeof *tr->loss);
  int rc = v && d1 && d2 && tr->label && tr->x && tr->y && tr->residual &&
                   tr->loss
               ? NNC_OK
               : NNC_ENOMEM;
  for (size_t i = 0; rc == NNC_OK && i < n; i++)
    if (!(v[i] = malloc(P * sizeof **v)))
      rc = NNC_ENOMEM;
  if (rc != NNC_OK) {
    nnci_ls_fail(ls, rc, "out of memory for %zu checkpoints of %zu "
                 "parameters", n, ls->P);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if ((rc = nnci_ls_flatten(ls, ckpt[i], v[i])) != NNC_OK)
      goto done;
    traj_label(tr->label[i], sizeof tr->label[i], ckpt[i],
               labels ? labels[i] : NULL, i);
  }
  /* the loss at each checkpoint itself */
  ls_job job;
  memset(&job, 0, sizeof job);
  job.stage = "trajectory";
  job.npoints = job.total = n;
  job.vp = (const double *const *)v;
  job.loss = tr->loss;
  if ((rc = nnci_ls_run(ls, &job)) != NNC_OK)
    goto done;
  /* differences from the last, in place */
  double total = 0;
  for (size_t i = 0; i < nm; i++) {
    for (size_t k = 0; k < ls->P; k++)
      v[i][k] -= v[nm][k];
    total += nnci_ls_dot(v[i], v[i], ls->P);
  }
  if (!(total > 0)) {
    rc = nnci_ls_fail(ls, NNC_EARG,
                      "trajectory: all %zu checkpoints hold the same "
                      "parameters: nothing moved",
                      n);
    goto done;
  }
  if ((rc = plane_axes(ls, v, nm, d1, d2)) != NNC_OK)
    goto done;
  /* Orientation: the run goes left to right (towards the origin), and
   * its largest excursion across is upwards. */
  double x0 = nnci_ls_dot(v[0], d1, ls->P);
  if (x0 > 0)
    for (size_t k = 0; k < ls->P; k++)
      d1[k] = -d1[k];
  double ymax = 0;
  for (size_t i = 0; i < nm; i++) {
    double y = nnci_ls_dot(v[i], d2, ls->P);
    if (fabs(y) > fabs(ymax))
      ymax = y;
  }
  if (ymax < 0)
    for (size_t k = 0; k < ls->P; k++)
      d2[k] = -d2[k];
  double held = 0;
  for (size_t i = 0; i < nm; i++) {
    double x = nnci_ls_dot(v[i], d1, ls->P), y = nnci_ls_dot(v[i], d2, ls->P);
    double rr = 0, mm = nnci_ls_dot(v[i], v[i], ls->P);
    for (size_t k = 0; k < ls->P; k++) {
      double e = v[i][k] - x * d1[k] - y * d2[k];
      rr += e * e;
    }
    tr->x[i] = x;
    tr->y[i] = y;
    tr->residual[i] = mm > 0 ? sqrt(rr / mm) : 0;
    held += x * x + y * y;
  }
  tr->explained = held / total;
  if (tr->random_axis)
    nnci_ls_warn(ls, "trajectory: the checkpoints lie on one line; the "
                 "plane's second axis is a random direction");
  size_t g = ls->o.grid ? ls->o.grid : 31;
  if ((rc = nnci_ls_grid_alloc(&tr->grid, g, g, r->has_winners)) != NNC_OK) {
    nnci_ls_fail(ls, rc, "out of memory for the grid");
    goto done;
  }
  double lo, hi, sx = span_of(tr->x, n), sy = span_of(tr->y, n);
  axis_range(tr->x, n, sy, &lo, &hi);
  nnci_ls_axis(tr->grid.x, g, lo, hi);
  axis_range(tr->y, n, sx, &lo, &hi);
  nnci_ls_axis(tr->grid.y, g, lo, hi);
  rc = nnci_ls_grid_eval(ls, &tr->grid, v[nm], d1, d2, "trajectory");
  if (rc == NNC_OK && tr->grid.nonfinite)
    nnci_ls_warn(ls, "trajectory plane: the loss is not finite at %zu of "
                 "%zu points (left out of the picture)",
                 tr->grid.nonfinite, g * g);
done:
  if (rc == NNC_OK) {
    r->has_traj = 1;
  } else {
    free(tr->label);
    free(tr->x);
    free(tr->y);
    free(tr->residual);
    free(tr->loss);
    nnci_ls_grid_free(&tr->grid);
    memset(tr, 0, sizeof *tr);
  }
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
  free(d1);
  free(d2);
  return rc;
}
