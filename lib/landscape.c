/* landscape.c — the current point, directions, and the 1D and 2D slices.
 *
 * Every picture is a set of points theta = sum_k c_k V_k over a few flat
 * vectors (the current point, directions, checkpoints) handed to the
 * evaluation pool (landscape_pool.c); this file makes the vectors and the
 * coefficients.  The line and the trajectory are in landscape_paths.c,
 * reports in landscape_report.c, pictures in landscape_plot.c. */
#include "config.h"

#include "landscape_internal.h"
#include "model.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RNG streams: direction k of block b draws from DIR_STREAM + (k << 16) + b,
 * so a block's direction depends on neither the other blocks' sizes nor
 * the number of directions asked for. */
#define DIR_STREAM 0x1a7dca9e00000000ULL

static const char *norm_names[] = {"filter", "block", "global", "plain"};

const char *nnc_ls_norm_name(int norm)
{
  return norm >= 0 && norm < 4 ? norm_names[norm] : "?";
}

int nnc_ls_norm_parse(const char *name)
{
  for (int i = 0; i < 4; i++)
    if (!strcmp(name, norm_names[i]))
      return i;
  return -1;
}

void nnc_landscape_opts_init(nnc_landscape_opts *o)
{
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->part = NNC_F_ALL;
  o->train = 1;
  o->norm = NNC_LS_FILTER;
  o->alpha = 1;
  o->points = 51;
  o->directions = 3;
  o->gradient = 1;
  o->grid = 31;
  o->line_points = 41;
  o->line_examples = 1000;
  o->eval_batch = 256;
  o->plane = NNC_LS_PLANE_ENDS;
}

/* ---- small shared helpers -------------------------------------------------- */

void nnci_ls_axis(double *x, size_t n, double lo, double hi)
{
  for (size_t k = 0; k < n; k++)
    x[k] = k + 1 == n ? hi : lo + (hi - lo) * (double)k / (double)(n - 1);
}

void nnci_ls_axis_sym(double *x, size_t n, double half)
{
  /* An integer numerator: exact 0 in the middle, exact mirror images. */
  double m = (double)(n - 1);
  for (size_t k = 0; k < n; k++)
    x[k] = half * ((2.0 * (double)k - m) / m);
}

double nnci_ls_dot(const double *a, const double *b, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

void nnci_ls_grid_stats(nnc_ls_grid *g)
{
  g->min = NAN;
  g->min_x = g->min_y = NAN;
  g->nonfinite = g->kinks = 0;
  for (size_t j = 0; j < g->ny; j++)
    for (size_t i = 0; i < g->nx; i++) {
      size_t k = j * g->nx + i;
      double v = g->loss[k];
      if (!isfinite(v)) {
        g->nonfinite++;
        continue;
      }
      if (isnan(g->min) || v < g->min) {
        g->min = v;
        g->min_x = g->x[i];
        g->min_y = g->y[j];
      }
      if (g->winners) {
        g->kinks += i + 1 < g->nx && g->winners[k] != g->winners[k + 1];
        g->kinks += j + 1 < g->ny && g->winners[k] != g->winners[k + g->nx];
      }
    }
}

void nnci_ls_grid_free(nnc_ls_grid *g)
{
  free(g->x);
  free(g->y);
  free(g->loss);
  free(g->winners);
  memset(g, 0, sizeof *g);
}

int nnci_ls_grid_alloc(nnc_ls_grid *g, size_t nx, size_t ny, int winners)
{
  memset(g, 0, sizeof *g);
  g->nx = nx;
  g->ny = ny;
  g->x = malloc(nx * sizeof *g->x);
  g->y = malloc(ny * sizeof *g->y);
  g->loss = malloc(nx * ny * sizeof *g->loss);
  if (winners)
    g->winners = calloc(nx * ny, sizeof *g->winners);
  if (!g->x || !g->y || !g->loss || (winners && !g->winners)) {
    nnci_ls_grid_free(g);
    return NNC_ENOMEM;
  }
  return NNC_OK;
}

int nnci_ls_grid_eval(nnc_landscape *ls, nnc_ls_grid *g, const double *o,
                      const double *d1, const double *d2, const char *stage)
{
  size_t n = g->nx * g->ny;
  double *coef = malloc(3 * n * sizeof *coef);
  if (!coef)
    return nnci_ls_fail(ls, NNC_ENOMEM, "out of memory");
  for (size_t j = 0; j < g->ny; j++)
    for (size_t i = 0; i < g->nx; i++) {
      double *c = coef + 3 * (j * g->nx + i);
      c[0] = 1;
      c[1] = g->x[i];
      c[2] = g->y[j];
    }
  ls_job job;
  memset(&job, 0, sizeof job);
  job.stage = stage;
  job.total = n;
  job.npoints = n;
  job.nv = 3;
  job.v[0] = o;
  job.v[1] = d1;
  job.v[2] = d2;
  job.coef = coef;
  job.loss = g->loss;
  job.win = g->winners;
  int rc = nnci_ls_run(ls, &job);
  free(coef);
  if (rc == NNC_OK)
    nnci_ls_grid_stats(g);
  return rc;
}

/* ---- the current point --------------------------------------------------- */

static int parse_blocks(nnc_landscape *ls)
{
  size_t nb = ls->nb;
  if (!ls->o.blocks || !*ls->o.blocks) {
    memset(ls->moved, 1, nb);
    return NNC_OK;
  }
  memset(ls->moved, 0, nb);
  const char *p = ls->o.blocks;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    size_t b = 0;
    for (; b < nb; b++) {
      const char *name = nnc_model_block(ls->m, b)->name;
      if (strlen(name) == n && !strncmp(name, p, n))
        break;
    }
    if (b == nb) {
      char list[512] = "";
      size_t k = 0;
      for (size_t i = 0; i < nb && k < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "",
                              nnc_model_block(ls->m, i)->name);
      return nnci_ls_fail(ls, NNC_EARG,
                          "--blocks: %s has no block '%.*s' (its blocks: %s)",
                          nnc_model_desc(ls->m)->name, (int)n, p, list);
    }
    ls->moved[b] = 1;
    p += n;
    if (*p == ',')
      p++;
  }
  return NNC_OK;
}

static int check_opts(const nnc_landscape_opts *o, char *err, size_t errlen)
{
  const char *why = NULL;
  if (!(o->alpha > 0) || !isfinite(o->alpha))
    why = "alpha must be a positive number";
  else if (o->points < 3 || o->points % 2 == 0)
    why = "points must be odd and at least 3 (so that 0 is a point)";
  else if (o->grid && (o->grid < 3 || o->grid % 2 == 0))
    why = "grid must be 0 or odd and at least 3 (so that 0 is a point)";
  else if (o->line_points < 5)
    why = "line points must be at least 5";
  else if (o->part != NNC_F_DATA && o->part != NNC_F_REG &&
           o->part != NNC_F_ALL)
    why = "part must be NNC_F_DATA, NNC_F_REG or NNC_F_ALL";
  else if (o->norm < 0 || o->norm > NNC_LS_PLAIN)
    why = "unknown normalisation";
  else if (o->plane != NNC_LS_PLANE_ENDS && o->plane != NNC_LS_PLANE_PCA)
    why = "unknown trajectory plane";
  else if (o->directions > 64)
    why = "at most 64 random directions";
  else if (o->points > 100001 || o->grid > 4001 || o->line_points > 100001)
    why = "too many points";
  else if (o->eval_batch == 0)
    why = "eval batch must be at least 1";
  if (why) {
    nnci_msg(err, errlen, "landscape: %s", why);
    return NNC_EARG;
  }
  return NNC_OK;
}

int nnc_landscape_new(nnc_model *m, const nnc_landscape_opts *o,
                      nnc_landscape **out, char *err, size_t errlen)
{
  *out = NULL;
  nnc_landscape_opts dflt;
  if (!o) {
    nnc_landscape_opts_init(&dflt);
    o = &dflt;
  }
  int rc = check_opts(o, err, errlen);
  if (rc != NNC_OK)
    return rc;
  nnc_landscape *ls = calloc(1, sizeof *ls);
  if (!ls) {
    nnci_msg(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  ls->m = m;
  ls->o = *o;
  if (o->blocks && !(ls->blocks_opt = strdup(o->blocks))) {
    free(ls);
    nnci_msg(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  ls->o.blocks = ls->blocks_opt;
  ls->flags = o->part | (o->train ? NNC_F_TRAIN : 0);
  ls->nb = nnc_model_num_blocks(m);
  ls->off = calloc(ls->nb + 1, sizeof *ls->off);
  ls->saved = calloc(ls->nb + 1, sizeof *ls->saved);
  ls->moved = calloc(ls->nb + 1, 1);
  nnc_landscape_result *r = &ls->r;
  r->blocks = calloc(ls->nb + 1, sizeof *r->blocks);
  rc = ls->off && ls->saved && ls->moved && r->blocks ? NNC_OK : NNC_ENOMEM;
  for (size_t b = 0; rc == NNC_OK && b < ls->nb; b++) {
    const nnc_block *blk = nnc_model_block(m, b);
    size_t bytes = blk->count * nnci_dtype_size(blk->dtype);
    ls->off[b + 1] = ls->off[b] + blk->count;
    if (!(ls->saved[b] = malloc(bytes)))
      rc = NNC_ENOMEM;
    else
      memcpy(ls->saved[b], blk->data, bytes);
  }
  if (rc == NNC_OK) {
    ls->P = ls->off[ls->nb];
    ls->center = malloc((ls->P ? ls->P : 1) * sizeof *ls->center);
    if (!ls->center)
      rc = NNC_ENOMEM;
  }
  if (rc == NNC_ENOMEM)
    nnci_ls_fail(ls, rc, "out of memory for %zu parameters", ls->P);
  if (rc == NNC_OK)
    rc = parse_blocks(ls);
  if (rc == NNC_OK) {
    for (size_t b = 0; b < ls->nb; b++) {
      const nnc_block *blk = nnc_model_block(m, b);
      for (size_t i = 0; i < blk->count; i++)
        ls->center[ls->off[b] + i] = nnci_load(blk->data, blk->dtype, i);
    }
    const nnc_plugin *d = nnc_model_desc(m);
    snprintf(r->plugin, sizeof r->plugin, "%s", d->name);
    snprintf(r->spec, sizeof r->spec, "%s", nnc_model_spec(m));
    snprintf(r->args, sizeof r->args, "%s", nnc_model_args(m));
    r->kind = d->kind;
    r->seed = o->seed;
    r->examples = nnc_model_examples(m);
    r->part = o->part;
    r->train = o->train;
    r->norm = o->norm;
    r->alpha = o->alpha;
    r->jobs = 1;
    r->cloned = d->clone != NULL;
    r->has_winners = d->winners != NULL;
    r->grad_norm = NAN;
    double ss = 0;
    for (size_t b = 0; b < ls->nb; b++) {
      const nnc_block *blk = nnc_model_block(m, b);
      nnc_ls_block *rb = &r->blocks[b];
      const double *w = ls->center + ls->off[b];
      double bs = nnci_ls_dot(w, w, blk->count);
      rb->name = blk->name;
      rb->count = blk->count;
      rb->dtype = blk->dtype;
      rb->moved = ls->moved[b];
      rb->norm = sqrt(bs);
      rb->rows = o->norm == NNC_LS_FILTER && blk->ndim >= 2 ? blk->shape[0]
                                                             : 1;
      if (rb->moved)
        ss += bs;
    }
    r->nblocks = ls->nb;
    r->param_norm = sqrt(ss);
    rc = nnc_model_loss(m, NULL, o->seed, ls->flags, &r->loss);
    if (rc != NNC_OK)
      nnci_ls_fail(ls, rc, "at the current point: %s", nnc_model_error(m));
  }
  if (rc != NNC_OK) {
    nnci_msg(err, errlen, "%s", ls->err);
    nnc_landscape_free(ls);
    return rc;
  }
  *out = ls;
  return NNC_OK;
}

const nnc_landscape_result *nnc_landscape_get(const nnc_landscape *ls)
{
  return &ls->r;
}

const char *nnc_landscape_error(const nnc_landscape *ls) { return ls->err; }

static void slice_free(nnc_ls_slice *s)
{
  free(s->a);
  free(s->loss);
  free(s->winners);
}

void nnc_landscape_free(nnc_landscape *ls)
{
  if (!ls)
    return;
  nnci_ls_pool_close(&ls->pool);
  if (ls->saved && ls->center)
    nnci_ls_restore(ls);
  nnc_landscape_result *r = &ls->r;
  for (size_t i = 0; i < r->nslices; i++)
    slice_free(&r->slices[i]);
  free(r->slices);
  nnci_ls_grid_free(&r->grid);
  for (int s = 0; s < 2; s++) {
    free(r->line.loss[s]);
    free(r->line.acc[s]);
  }
  free(r->line.t);
  free(r->traj.label);
  free(r->traj.x);
  free(r->traj.y);
  free(r->traj.residual);
  free(r->traj.loss);
  nnci_ls_grid_free(&r->traj.grid);
  for (size_t i = 0; i < r->nwarnings; i++)
    free(r->warnings[i]);
  free(r->warnings);
  free(r->blocks);
  for (size_t b = 0; ls->saved && b < ls->nb; b++)
    free(ls->saved[b]);
  free(ls->saved);
  free(ls->off);
  free(ls->moved);
  free(ls->center);
  free(ls->blocks_opt);
  free(ls);
}

/* ---- directions -------------------------------------------------------- */

/* Scale each normalisation unit of the direction d (moved blocks only) to
 * the weights' norm over the same unit; count rows of zero norm. */
static void normalise(nnc_landscape *ls, double *d, int count_frozen)
{
  int norm = ls->o.norm;
  if (norm == NNC_LS_PLAIN)
    return;
  if (norm == NNC_LS_GLOBAL) {
    double dd = 0;
    for (size_t b = 0; b < ls->nb; b++)
      if (ls->moved[b])
        dd += nnci_ls_dot(d + ls->off[b], d + ls->off[b],
                          ls->off[b + 1] - ls->off[b]);
    double f = dd > 0 ? ls->r.param_norm / sqrt(dd) : 0;
    for (size_t i = 0; i < ls->P; i++)
      d[i] *= f;
    return;
  }
  for (size_t b = 0; b < ls->nb; b++) {
    if (!ls->moved[b])
      continue;
    size_t rows = ls->r.blocks[b].rows, len = (ls->off[b + 1] - ls->off[b]) / rows;
    for (size_t r = 0; r < rows; r++) {
      size_t o = ls->off[b] + r * len;
      double ww = nnci_ls_dot(ls->center + o, ls->center + o, len);
      double dd = nnci_ls_dot(d + o, d + o, len);
      double f = dd > 0 && ww > 0 ? sqrt(ww) / sqrt(dd) : 0;
      if (ww == 0 && count_frozen)
        ls->r.blocks[b].frozen_rows++;
      for (size_t i = 0; i < len; i++)
        d[o + i] *= f;
    }
  }
}

/* Random direction k: normal draws in the moved blocks, 0 elsewhere. */
void nnci_ls_random_direction(nnc_landscape *ls, uint64_t k, double *d,
                              int count_frozen)
{
  for (size_t b = 0; b < ls->nb; b++) {
    size_t o = ls->off[b], n = ls->off[b + 1] - o;
    if (!ls->moved[b]) {
      memset(d + o, 0, n * sizeof *d);
      continue;
    }
    nnc_rng r;
    nnc_rng_init(&r, ls->o.seed, DIR_STREAM + ((uint64_t)k << 16) + b);
    for (size_t i = 0; i < n; i++)
      d[o + i] = nnc_rng_normal(&r);
  }
  normalise(ls, d, count_frozen);
}

/* The negative gradient of the picture's loss at the current point.  *ok
 * is 0 when it vanishes on the moved blocks. */
static int gradient_direction(nnc_landscape *ls, double *d, int *ok)
{
  nnc_model *m = ls->m;
  double L;
  *ok = 0;
  int rc = nnc_model_loss(m, NULL, ls->o.seed, ls->flags, &L);
  if (rc == NNC_OK)
    rc = nnc_model_backward(m);
  nnci_ls_restore(ls);
  if (rc != NNC_OK)
    return nnci_ls_fail(ls, rc, "the gradient at the current point: %s",
                        nnc_model_error(m));
  double gg = 0;
  for (size_t b = 0; b < ls->nb; b++) {
    size_t o = ls->off[b], n = ls->off[b + 1] - o;
    for (size_t i = 0; i < n; i++)
      d[o + i] = ls->moved[b] ? -nnc_model_grad(m, b, i) : 0;
    if (ls->moved[b])
      gg += nnci_ls_dot(d + o, d + o, n);
  }
  ls->r.grad_norm = sqrt(gg);
  if (!(gg > 0))
    return NNC_OK;
  *ok = 1;
  if (ls->o.norm != NNC_LS_PLAIN) {
    double f = ls->r.param_norm / sqrt(gg);
    for (size_t i = 0; i < ls->P; i++)
      d[i] *= f;
  }
  return NNC_OK;
}

/* ---- slices -------------------------------------------------------------- */

static void slice_stats(nnc_ls_slice *s)
{
  size_t c = s->n / 2;
  double h = s->a[c + 1] - s->a[c];
  s->slope = (s->loss[c + 1] - s->loss[c - 1]) / (s->a[c + 1] - s->a[c - 1]);
  s->curvature = (s->loss[c + 1] - 2 * s->loss[c] + s->loss[c - 1]) / (h * h);
  s->min = NAN;
  s->min_at = NAN;
  s->kinks = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (isfinite(s->loss[i]) && (isnan(s->min) || s->loss[i] < s->min)) {
      s->min = s->loss[i];
      s->min_at = s->a[i];
    }
    if (s->winners && i + 1 < s->n && s->winners[i] != s->winners[i + 1])
      s->kinks++;
  }
}

static int run_slice(nnc_landscape *ls, nnc_ls_slice *s, const double *d,
                     size_t done_before, size_t total)
{
  size_t n = ls->o.points;
  s->n = n;
  s->a = malloc(n * sizeof *s->a);
  s->loss = malloc(n * sizeof *s->loss);
  double *coef = malloc(2 * n * sizeof *coef);
  if (ls->r.has_winners)
    s->winners = calloc(n, sizeof *s->winners);
  if (!s->a || !s->loss || !coef || (ls->r.has_winners && !s->winners)) {
    free(coef);
    return nnci_ls_fail(ls, NNC_ENOMEM, "out of memory");
  }
  nnci_ls_axis_sym(s->a, n, ls->o.alpha);
  for (size_t i = 0; i < n; i++) {
    coef[2 * i] = 1;
    coef[2 * i + 1] = s->a[i];
  }
  s->norm = sqrt(nnci_ls_dot(d, d, ls->P));
  ls_job job;
  memset(&job, 0, sizeof job);
  job.stage = "1D slices";
  job.done_before = done_before;
  job.total = total;
  job.npoints = n;
  job.nv = 2;
  job.v[0] = ls->center;
  job.v[1] = d;
  job.coef = coef;
  job.loss = s->loss;
  job.win = s->winners;
  int rc = nnci_ls_run(ls, &job);
  free(coef);
  s->nonfinite = job.nonfinite;
  if (rc == NNC_OK)
    slice_stats(s);
  return rc;
}

int nnc_landscape_slices(nnc_landscape *ls)
{
  nnc_landscape_result *r = &ls->r;
  const nnc_landscape_opts *o = &ls->o;
  if (r->nslices || r->has_grid)
    return nnci_ls_fail(ls, NNC_EARG, "the slices were already computed");
  size_t K = o->directions, nd = K > 2 || !o->grid ? K : 2;
  nnci_phase(ls->m, "slicing the loss landscape");
  double **dir = calloc(nd + 1, sizeof *dir);
  double *g = malloc((ls->P ? ls->P : 1) * sizeof *g);
  r->slices = calloc(K + 1, sizeof *r->slices);
  int rc = dir && g && r->slices ? NNC_OK : NNC_ENOMEM;
  for (size_t k = 0; rc == NNC_OK && k < nd; k++)
    if (!(dir[k] = malloc((ls->P ? ls->P : 1) * sizeof **dir)))
      rc = NNC_ENOMEM;
  if (rc != NNC_OK) {
    nnci_ls_fail(ls, rc, "out of memory for %zu directions of %zu "
                 "parameters", nd + 1, ls->P);
    goto done;
  }
  for (size_t b = 0; b < ls->nb; b++)
    r->blocks[b].frozen_rows = 0;
  for (size_t k = 0; k < nd; k++)
    nnci_ls_random_direction(ls, k, dir[k], k == 0);
  int grad_ok = 0;
  if (o->gradient && (rc = gradient_direction(ls, g, &grad_ok)) != NNC_OK)
    goto done;
  if (o->gradient && !grad_ok)
    nnci_ls_warn(ls, "the gradient vanishes on the moved blocks: no slice "
                 "along -gradient");
  for (size_t b = 0; b < ls->nb; b++)
    if (r->blocks[b].frozen_rows)
      nnci_ls_warn(ls, "block %s: %zu of %zu %s zero norm, so %s normalised "
                   "directions leave %s alone",
                   r->blocks[b].name, r->blocks[b].frozen_rows,
                   r->blocks[b].rows,
                   r->blocks[b].rows > 1 ? "rows have" : "block has",
                   nnc_ls_norm_name(o->norm),
                   r->blocks[b].rows > 1 ? "them" : "it");
  size_t nslices = K + (size_t)grad_ok;
  size_t total = nslices * o->points;
  for (size_t k = 0; k < nslices; k++) {
    nnc_ls_slice *s = &r->slices[k];
    int is_grad = k == K;
    if (is_grad)
      snprintf(s->label, sizeof s->label, "-gradient");
    else
      snprintf(s->label, sizeof s->label, "random %zu", k + 1);
    s->gradient = is_grad;
    rc = run_slice(ls, s, is_grad ? g : dir[k], k * o->points, total);
    r->nslices = k + 1;
    if (rc != NNC_OK)
      goto done;
  }
  if (o->grid) {
    nnc_ls_grid *gr = &r->grid;
    if (nnci_ls_grid_alloc(gr, o->grid, o->grid, r->has_winners) != NNC_OK) {
      rc = nnci_ls_fail(ls, NNC_ENOMEM, "out of memory for the grid");
      goto done;
    }
    nnci_ls_axis_sym(gr->x, o->grid, o->alpha);
    nnci_ls_axis_sym(gr->y, o->grid, o->alpha);
    double n0 = sqrt(nnci_ls_dot(dir[0], dir[0], ls->P));
    double n1 = sqrt(nnci_ls_dot(dir[1], dir[1], ls->P));
    r->plane_cos = n0 > 0 && n1 > 0
                       ? nnci_ls_dot(dir[0], dir[1], ls->P) / (n0 * n1)
                       : NAN;
    rc = nnci_ls_grid_eval(ls, gr, ls->center, dir[0], dir[1], "2D slice");
    if (rc != NNC_OK) {
      nnci_ls_grid_free(gr);
      goto done;
    }
    r->has_grid = 1;
  }
  for (size_t k = 0; k < r->nslices; k++)
    if (r->slices[k].nonfinite)
      nnci_ls_warn(ls, "slice %s: the loss is not finite at %zu of %zu "
                   "points (left out of the picture)",
                   r->slices[k].label, r->slices[k].nonfinite,
                   r->slices[k].n);
  if (r->has_grid && r->grid.nonfinite)
    nnci_ls_warn(ls, "2D slice: the loss is not finite at %zu of %zu points "
                 "(left out of the picture)",
                 r->grid.nonfinite, r->grid.nx * r->grid.ny);
done:
  for (size_t k = 0; dir && k < nd; k++)
    free(dir[k]);
  free(dir);
  free(g);
  return rc;
}
