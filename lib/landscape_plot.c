/* landscape_plot.c — the landscape's pictures through the plot layer.
 *
 * landscape_1d          every 1D slice overlaid, L against a
 * landscape_2d_contour  the 2D slice as contour lines, current point marked
 * landscape_2d_heatmap  the same grid as a heat map
 * landscape_line        L((1-t)A + t B) on each split, with the straight
 *                       interpolation of the ends (a barrier is the gap)
 * landscape_line_acc    the accuracies along the line, when predicted
 * landscape_trajectory  the trajectory on its plane's contour plot
 *
 * Contour levels are quantiles of the grid's values rounded to 3
 * significant digits, so lines spread over the picture instead of
 * bunching in the steep rim that a few far points reach; the heat map
 * takes a logarithmic colour scale when the loss spans more than two
 * decades. */
#include "config.h"

#include "landscape_internal.h"
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(NNC_LANDSCAPE_UNRENDERED == NNC_PLOT_UNRENDERED,
               "the landscape's unrendered return is the plot layer's");

#define NLEVELS 12
#define NPLOTS 6

/* Where the plots go, and the ones gnuplot could not render: without
 * gnuplot the data and scripts are still written, and one message at the
 * end says how to render them all. */
typedef struct out {
  const char *dir;
  char *err;
  size_t errlen;
  size_t nun;
  char first[1024];
  char names[NPLOTS][32];
} out;

/* NNC_OK (rendered, or left unrendered and noted) or an error. */
static int emit(out *o, const nnc_plot *p)
{
  int rc = nnc_plot_render(p, o->dir, o->err, o->errlen);
  if (rc != NNC_PLOT_UNRENDERED)
    return rc;
  if (!o->nun)
    snprintf(o->first, sizeof o->first, "%s", o->err);
  if (o->nun < NPLOTS)
    snprintf(o->names[o->nun++], sizeof o->names[0], "%s", p->name);
  return NNC_OK;
}
#define MARK_COLOR "#d62728"
#define START_COLOR "#000000"

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double round3(double v)
{
  if (v == 0 || !isfinite(v))
    return v;
  double e = pow(10, floor(log10(fabs(v))) - 2);
  return round(v / e) * e;
}

/* Up to NLEVELS distinct levels at quantiles of the finite values. */
static size_t quantile_levels(const nnc_ls_grid *g, double *lev)
{
  size_t n = 0, N = g->nx * g->ny;
  double *v = malloc(N * sizeof *v);
  if (!v)
    return 0;
  for (size_t i = 0; i < N; i++)
    if (isfinite(g->loss[i]))
      v[n++] = g->loss[i];
  size_t k = 0;
  if (n >= 4) {
    qsort(v, n, sizeof *v, cmp_double);
    for (size_t q = 1; q <= NLEVELS; q++) {
      /* denser near the bottom, where the basin's shape is */
      double f = (double)q / (NLEVELS + 1);
      double x = round3(v[(size_t)(f * f * (double)(n - 1))]);
      if (x > v[0] && x < v[n - 1] && (k == 0 || x > lev[k - 1]))
        lev[k++] = x;
    }
  }
  free(v);
  return k;
}

static int wide_range(const nnc_ls_grid *g)
{
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < g->nx * g->ny; i++)
    if (isfinite(g->loss[i])) {
      lo = fmin(lo, g->loss[i]);
      hi = fmax(hi, g->loss[i]);
    }
  return lo > 0 && hi / lo > 100;
}

static const char *norm_word(int norm)
{
  static const char *w[] = {"filter-normalised", "block-normalised",
                            "globally normalised", "plain"};
  return norm >= 0 && norm < 4 ? w[norm] : "?";
}

/* Finite min and max of the random slices (gradient: 0) or of all. */
static void slice_range(const nnc_landscape_result *r, int with_gradient,
                        double *lo, double *hi)
{
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t k = 0; k < r->nslices; k++) {
    const nnc_ls_slice *s = &r->slices[k];
    if (s->gradient && !with_gradient)
      continue;
    for (size_t i = 0; i < s->n; i++)
      if (isfinite(s->loss[i])) {
        *lo = fmin(*lo, s->loss[i]);
        *hi = fmax(*hi, s->loss[i]);
      }
  }
}

static int plot_1d(const nnc_landscape_result *r, out *o)
{
  nnc_plot_series s[66];
  char label[66][96];
  size_t n = r->nslices < 66 ? r->nslices : 66;
  /* The negative gradient is usually far steeper than any random
   * direction: when it would flatten them, the frame follows the random
   * slices and the gradient's curve leaves it (said in its legend). */
  double rlo, rhi, alo, ahi;
  slice_range(r, 0, &rlo, &rhi);
  slice_range(r, 1, &alo, &ahi);
  int clip = isfinite(rlo) && rhi > rlo && ahi - alo > 3 * (rhi - rlo);
  for (size_t i = 0; i < n; i++) {
    const nnc_ls_slice *sl = &r->slices[i];
    snprintf(label[i], sizeof label[i], "%s (|D| %.3g%s)", sl->label,
             sl->norm, sl->gradient && clip ? "; leaves the frame" : "");
    s[i] = (nnc_plot_series){.label = label[i],
                             .style = NNC_PLOT_LINES,
                             .n = sl->n,
                             .x = sl->a,
                             .y = sl->loss,
                             .color = sl->gradient ? MARK_COLOR : NULL};
  }
  char title[256];
  snprintf(title, sizeof title, "%s: loss along %s directions, L(w + a D)",
           r->plugin, norm_word(r->norm));
  nnc_plot_ref ref = {.vertical = 1, .at = 0, .label = "current point"};
  nnc_plot p;
  nnc_plot_init(&p, "landscape_1d");
  p.title = title;
  p.xlabel = "a (step along the direction)";
  p.ylabel = "loss";
  p.series = s;
  p.nseries = n;
  p.refs = &ref;
  p.nrefs = 1;
  if (clip) {
    double pad = 0.05 * (rhi - rlo);
    p.yrange = (nnc_plot_range){1, fmin(rlo, alo) - pad, rhi + pad};
  }
  return emit(o, &p);
}

static int plot_grid(const nnc_ls_grid *g, int kind, const char *name,
                     const char *title, const char *xl, const char *yl,
                     const nnc_plot_series *s, size_t ns, out *o)
{
  double lev[NLEVELS];
  nnc_plot p;
  nnc_plot_init(&p, name);
  p.kind = kind;
  p.title = title;
  p.xlabel = xl;
  p.ylabel = yl;
  p.series = s;
  p.nseries = ns;
  p.grid.nx = g->nx;
  p.grid.ny = g->ny;
  p.grid.x = g->x;
  p.grid.y = g->y;
  p.grid.z = g->loss;
  p.grid.zlabel = "loss";
  if (kind == NNC_PLOT_HEATMAP) {
    p.grid.logz = wide_range(g);
  } else {
    p.grid.nlevels = quantile_levels(g, lev);
    p.grid.levels = lev;
  }
  return emit(o, &p);
}

static int plot_2d(const nnc_landscape_result *r, out *o)
{
  static const double zero = 0;
  nnc_plot_series mark = {.label = "current point",
                          .style = NNC_PLOT_POINTS,
                          .n = 1,
                          .x = &zero,
                          .y = &zero,
                          .color = MARK_COLOR,
                          .point_type = 7,
                          .point_size = 2};
  char title[256];
  snprintf(title, sizeof title, "%s: loss on the plane of two %s random "
           "directions, L(w + a D1 + b D2)",
           r->plugin, norm_word(r->norm));
  int rc = plot_grid(&r->grid, NNC_PLOT_CONTOUR, "landscape_2d_contour",
                     title, "a (random direction 1)",
                     "b (random direction 2)", &mark, 1, o);
  if (rc == NNC_OK) {
    rc = plot_grid(&r->grid, NNC_PLOT_HEATMAP, "landscape_2d_heatmap", title,
                   "a (random direction 1)", "b (random direction 2)",
                   &mark, 1, o);
  }
  return rc;
}

static int plot_line(const nnc_landscape_result *r, out *o)
{
  const nnc_ls_line *l = &r->line;
  static const char *split[] = {"training", "validation"};
  static const char *color[] = {"#1f77b4", "#ff7f0e"};
  static const char *light[] = {"#9ecae1", "#fdae6b"};
  nnc_plot_series s[4];
  char label[4][96];
  double tx[2][2] = {{0, 1}, {0, 1}}, ty[2][2];
  size_t ns = 0;
  for (int k = 0; k < l->nsplits; k++) {
    snprintf(label[ns], sizeof label[ns], "%s loss",
             l->on_selection ? "selection" : split[k]);
    s[ns] = (nnc_plot_series){.label = label[ns],
                                .style = NNC_PLOT_LINESPOINTS,
                                .n = l->n,
                                .x = l->t,
                                .y = l->loss[k],
                                .color = color[k],
                                .point_size = 0.6};
    ns++;
    ty[k][0] = l->loss[k][l->i0];
    ty[k][1] = l->loss[k][l->i1];
    snprintf(label[ns], sizeof label[ns], "%s: straight between the ends",
             l->on_selection ? "selection" : split[k]);
    s[ns] = (nnc_plot_series){.label = label[ns],
                                .style = NNC_PLOT_LINES,
                                .n = 2,
                                .x = tx[k],
                                .y = ty[k],
                                .color = light[k]};
    ns++;
  }
  char from[160], to[160], title[512];
  snprintf(from, sizeof from, "A = %.140s", l->from);
  snprintf(to, sizeof to, "B = %.140s", l->to);
  nnc_plot_ref refs[2] = {
      {.vertical = 1, .at = 0, .label = from, .dash = 2},
      {.vertical = 1, .at = 1, .label = to, .dash = 4}};
  snprintf(title, sizeof title, "%s: loss on the line L((1-t) A + t B)",
           r->plugin);
  nnc_plot p;
  nnc_plot_init(&p, "landscape_line");
  p.title = title;
  p.xlabel = "t";
  p.ylabel = "loss";
  p.series = s;
  p.nseries = ns;
  p.refs = refs;
  p.nrefs = 2;
  p.key = NNC_KEY_BELOW;
  int rc = emit(o, &p);
  if (rc != NNC_OK || !l->acc[0])
    return rc;
  ns = 0;
  for (int k = 0; k < l->nsplits; k++) {
    snprintf(label[ns], sizeof label[ns], "%s accuracy", split[k]);
    s[ns] = (nnc_plot_series){.label = label[ns],
                                .style = NNC_PLOT_LINESPOINTS,
                                .n = l->n,
                                .x = l->t,
                                .y = l->acc[k],
                                .color = color[k],
                                .point_size = 0.6};
    ns++;
  }
  snprintf(title, sizeof title, "%s: accuracy on the line (1-t) A + t B",
           r->plugin);
  nnc_plot_init(&p, "landscape_line_acc");
  p.title = title;
  p.xlabel = "t";
  p.ylabel = "accuracy";
  p.series = s;
  p.nseries = ns;
  p.refs = refs;
  p.nrefs = 2;
  p.key = NNC_KEY_BELOW;
  return emit(o, &p);
}

static int plot_traj(const nnc_landscape_result *r, out *o)
{
  const nnc_ls_traj *t = &r->traj;
  nnc_plot_series s[3] = {
      {.label = "trajectory",
       .style = NNC_PLOT_LINESPOINTS,
       .n = t->n,
       .x = t->x,
       .y = t->y,
       .color = MARK_COLOR,
       .point_type = 7,
       .point_size = 0.8},
      {.label = t->label[0],
       .style = NNC_PLOT_POINTS,
       .n = 1,
       .x = t->x,
       .y = t->y,
       .color = START_COLOR,
       .point_type = 4,
       .point_size = 2.5},
      {.label = t->label[t->n - 1],
       .style = NNC_PLOT_POINTS,
       .n = 1,
       .x = t->x + t->n - 1,
       .y = t->y + t->n - 1,
       .color = START_COLOR,
       .point_type = 7,
       .point_size = 2.5}};
  char title[256], xl[128], yl[128];
  snprintf(title, sizeof title,
           "%s: training trajectory on its plane (%.0f%% of the change "
           "held)",
           r->plugin, 100 * t->explained);
  if (t->plane == NNC_LS_PLANE_ENDS)
    snprintf(xl, sizeof xl, "x (from the first checkpoint to the last)");
  else
    snprintf(xl, sizeof xl, "x (first main direction of change)");
  snprintf(yl, sizeof yl, "y (%s)",
           t->random_axis ? "a random direction"
           : t->plane == NNC_LS_PLANE_ENDS
               ? "main direction of the remaining change"
               : "second main direction of change");
  return plot_grid(&t->grid, NNC_PLOT_CONTOUR, "landscape_trajectory", title,
                   xl, yl, s, 3, o);
}

/* A directory as one shell word. */
static void shell_word(const char *s, char *buf, size_t n)
{
  int plain = *s != 0;
  for (const char *c = s; *c; c++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789/._-+,:@%", *c))
      plain = 0;
  if (plain) {
    snprintf(buf, n, "%s", s);
    return;
  }
  size_t k = 0;
  if (k + 1 < n)
    buf[k++] = '\'';
  for (const char *c = s; *c && k + 5 < n; c++) {
    if (*c == '\'') {
      memcpy(buf + k, "'\\''", 4);
      k += 4;
    } else {
      buf[k++] = *c;
    }
  }
  if (k + 1 < n)
    buf[k++] = '\'';
  buf[k < n ? k : n - 1] = 0;
}

int nnc_landscape_plots(const nnc_landscape *ls, const char *dir, char *err,
                        size_t errlen)
{
  const nnc_landscape_result *r = &ls->r;
  out o;
  memset(&o, 0, sizeof o);
  o.dir = dir;
  o.err = err;
  o.errlen = errlen;
  int rc = NNC_OK;
  if (r->nslices)
    rc = plot_1d(r, &o);
  if (rc == NNC_OK && r->has_grid)
    rc = plot_2d(r, &o);
  if (rc == NNC_OK && r->has_line)
    rc = plot_line(r, &o);
  if (rc == NNC_OK && r->has_traj)
    rc = plot_traj(r, &o);
  if (rc != NNC_OK || !o.nun)
    return rc;
  /* the plot layer's reason (up to its closing parenthesis), then every
   * script to run */
  char *cut = strstr(o.first, "could not be started (");
  char *close = cut ? strchr(cut, ')') : NULL;
  if (close)
    close[1] = 0;
  char word[4200];
  shell_word(dir, word, sizeof word);
  size_t k = (size_t)snprintf(err, errlen, "%s: wrote the data and scripts "
                              "of %zu plot%s into %s without rendering "
                              "them; to render: `cd %s",
                              close ? o.first : "gnuplot could not be started",
                              o.nun, o.nun > 1 ? "s" : "", dir, word);
  for (size_t i = 0; i < o.nun && k < errlen; i++)
    k += (size_t)snprintf(err + k, errlen - k, " && gnuplot %s.gp",
                          o.names[i]);
  if (k < errlen)
    snprintf(err + k, errlen - k, "` (install gnuplot, Debian package "
             "gnuplot-nox, or set NNCHECK_GNUPLOT to its path)");
  return NNC_LANDSCAPE_UNRENDERED;
}
