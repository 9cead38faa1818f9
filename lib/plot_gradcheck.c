/* plot_gradcheck.c — the plots of a gradient check.
 *
 * gradcheck_errors: the relative error of every checked coordinate, on a
 * log axis against the notes' bands.  Each (part, block) gets a slot of
 * width 1 on the x axis, its coordinates spread across it in the order
 * they were checked: blocks of very different sizes stay equally readable
 * and never hide each other's points.
 *
 * gradcheck_hsweep: the worst relative error of each swept block against
 * the step h, log-log, with the steps the check used.
 */
#include "config.h"

#include "plot.h"

#include <nncheck/nncheck.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* log axes cannot show an exact 0: it is drawn at this floor, below any
 * non-zero relative error of doubles (about 1e-16 at least). */
#define RELERR_FLOOR 1e-17
#define FAIL_COLOR "#d62728"
#define KINK_COLOR "#000000"

static const char *part_name(uint32_t part)
{
  return part == NNC_F_DATA ? "data" : part == NNC_F_REG ? "reg" : "all";
}

/* A relative error as plotted: 0 on the floor, NaN left for the plot layer
 * to drop. */
static double plotted_relerr(double e, int *floored)
{
  if (!isfinite(e) || e < 0)
    return NAN;
  if (e < RELERR_FLOOR) {
    *floored = 1;
    return RELERR_FLOOR;
  }
  return e;
}

/* The notes' thresholds, the same on both plots. */
static const nnc_plot_ref bands[] = {
    {.at = 1e-2, .label = "1e-2: above is wrong", .color = FAIL_COLOR,
     .dash = 2},
    {.at = 1e-4, .label = "1e-4: above is uncomfortable", .color = "#ff7f0e",
     .dash = 4},
    {.at = 1e-7, .label = "1e-7: below is happy", .color = "#2ca02c",
     .dash = 5},
};
#define NBANDS (sizeof bands / sizeof bands[0])

/* With points on the floor, a decade of room under them keeps them off the
 * x axis, where they would hide in the border. */
static nnc_plot_range floor_range(const double *y, size_t n)
{
  double top = bands[0].at;
  for (size_t i = 0; i < n; i++)
    if (isfinite(y[i]) && y[i] > top)
      top = y[i];
  return (nnc_plot_range){1, RELERR_FLOOR / 10,
                          pow(10, floor(log10(top)) + 1)};
}

static void label_of(char *buf, size_t n, uint32_t part, const char *name)
{
  snprintf(buf, n, "%s:%s", part_name(part), name ? name : "?");
}

static size_t coords_of(const nnc_gc_block *b)
{
  return b->coords ? b->ncoords : 0;
}

static int errors_plot(const nnc_gradcheck_result *r, const char *dir, char **text,
                       char *err, size_t errlen)
{
  size_t nb = r->nblocks, total = 0, nfail = 0, nkink = 0;
  for (size_t k = 0; k < nb; k++) {
    const nnc_gc_block *b = &r->blocks[k];
    total += coords_of(b);
    for (size_t j = 0; j < coords_of(b); j++) {
      nfail += b->coords[j].verdict == NNC_FAIL;
      nkink += (b->coords[j].flags & NNC_GC_KINK) != 0;
    }
  }
  /* Series: one per block, then the failing and the kinked points drawn
   * again over them. */
  nnc_plot_series *series = calloc(nb + 2, sizeof *series);
  nnc_plot_tic *tics = calloc(nb ? nb : 1, sizeof *tics);
  nnc_plot_ref *refs = calloc(NBANDS + nb, sizeof *refs);
  char (*labels)[160] = calloc(nb ? nb : 1, sizeof *labels);
  /* x and y of every coordinate, then of the failing, then the kinked */
  double *xy = malloc((2 * (total + nfail + nkink) + 1) * sizeof *xy);
  if (!series || !tics || !refs || !labels || !xy) {
    free(series);
    free(tics);
    free(refs);
    free(labels);
    free(xy);
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  double *xs = xy, *ys = xy + total;
  double *fx = xy + 2 * total, *fy = fx + nfail;
  double *kx = fy + nfail, *ky = kx + nkink;
  size_t at = 0, nf = 0, nk = 0, nrefs = 0;
  int floored = 0;

  for (size_t k = 0; k < nb; k++) {
    const nnc_gc_block *b = &r->blocks[k];
    size_t m = coords_of(b);
    label_of(labels[k], sizeof labels[k], b->part, b->name);
    series[k].label = labels[k];
    series[k].style = NNC_PLOT_POINTS;
    series[k].n = m;
    series[k].x = xs + at;
    series[k].y = ys + at;
    for (size_t j = 0; j < m; j++) {
      const nnc_gc_coord *c = &b->coords[j];
      double x = (double)k + ((double)j + 0.5) / (double)m;
      double y = plotted_relerr(c->relerr, &floored);
      xs[at + j] = x;
      ys[at + j] = y;
      if (c->verdict == NNC_FAIL) {
        fx[nf] = x;
        fy[nf++] = y;
      }
      if (c->flags & NNC_GC_KINK) {
        kx[nk] = x;
        ky[nk++] = y;
      }
    }
    at += m;
    tics[k].at = (double)k + 0.5;
    tics[k].label = labels[k];
    if (k) /* a separator between slots */
      refs[nrefs++] = (nnc_plot_ref){
          .vertical = 1, .at = (double)k, .color = "#c8c8c8", .dash = 1};
  }
  size_t ns = nb;
  if (nfail)
    series[ns++] = (nnc_plot_series){
        .label = "FAIL (above the block's fail tolerance)",
        .style = NNC_PLOT_POINTS, .n = nfail, .x = fx, .y = fy,
        .color = FAIL_COLOR, .point_type = 6, .point_size = 2.2};
  if (nkink)
    series[ns++] = (nnc_plot_series){
        .label = "crossed a kink (tolerance relaxed)", .style = NNC_PLOT_POINTS,
        .n = nkink, .x = kx, .y = ky, .color = KINK_COLOR, .point_type = 1,
        .point_size = 1.6};
  for (size_t i = 0; i < NBANDS; i++)
    refs[nrefs++] = bands[i];

  char title[512];
  snprintf(title, sizeof title,
           "gradcheck %s: relative error |a-n|/max(|a|,|n|) per checked "
           "coordinate%s",
           r->plugin[0] ? r->plugin : "",
           floored ? "\n(an error of exactly 0 is drawn at 1e-17)" : "");
  nnc_plot p;
  nnc_plot_init(&p, "gradcheck_errors");
  p.title = title;
  p.xlabel = "checked coordinates, one slot per part:block, in the order "
             "checked";
  p.ylabel = "relative error";
  p.logy = 1;
  if (floored)
    p.yrange = floor_range(ys, total);
  if (nb) {
    p.xrange = (nnc_plot_range){1, 0, (double)nb};
    p.nxtics = nb;
    p.xtics = tics;
  }
  p.nseries = ns;
  p.series = series;
  p.nrefs = nrefs;
  p.refs = refs;
  int rc = nnc_plot_emit(&p, dir, text, err, errlen);
  free(series);
  free(tics);
  free(refs);
  free(labels);
  free(xy);
  return rc;
}

static int hsweep_plot(const nnc_gradcheck_result *r, const char *dir, char **text,
                       char *err, size_t errlen)
{
  size_t ns = r->nsweeps, total = 0;
  for (size_t k = 0; k < ns; k++)
    total += r->sweeps[k].h && r->sweeps[k].relerr ? r->sweeps[k].nh : 0;
  nnc_plot_series *series = calloc(ns, sizeof *series);
  char (*labels)[160] = calloc(ns, sizeof *labels);
  double *ys = malloc((total + 1) * sizeof *ys);
  if (!series || !labels || !ys) {
    free(series);
    free(labels);
    free(ys);
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  size_t at = 0;
  int floored = 0;
  for (size_t k = 0; k < ns; k++) {
    const nnc_gc_sweep *s = &r->sweeps[k];
    size_t n = s->h && s->relerr ? s->nh : 0;
    label_of(labels[k], sizeof labels[k], s->part, s->name);
    for (size_t j = 0; j < n; j++)
      ys[at + j] = plotted_relerr(s->relerr[j], &floored);
    series[k] = (nnc_plot_series){.label = labels[k],
                                  .style = NNC_PLOT_LINESPOINTS, .n = n,
                                  .x = s->h, .y = ys + at};
    at += n;
  }

  /* The steps the check used: h_double, and h_float when a block is
   * float. */
  int any_double = 0;
  for (size_t k = 0; k < r->nblocks; k++)
    any_double |= r->blocks[k].dtype != NNC_F32;
  if (!r->nblocks)
    any_double = 1;
  nnc_plot_ref refs[NBANDS + 2];
  size_t nrefs = 0;
  for (size_t i = 0; i < NBANDS; i++)
    refs[nrefs++] = bands[i];
  if (any_double && r->h_double > 0)
    refs[nrefs++] = (nnc_plot_ref){.vertical = 1, .at = r->h_double,
                                   .label = "h used for double blocks",
                                   .color = "#404040", .dash = 3};
  if (r->any_float && r->h_float > 0)
    refs[nrefs++] = (nnc_plot_ref){.vertical = 1, .at = r->h_float,
                                   .label = "h used for float blocks",
                                   .color = "#9467bd", .dash = 2};

  char title[512];
  snprintf(title, sizeof title,
           "gradcheck %s: worst relative error against the step h%s",
           r->plugin[0] ? r->plugin : "",
           floored ? "\n(an error of exactly 0 is drawn at 1e-17)" : "");
  nnc_plot p;
  nnc_plot_init(&p, "gradcheck_hsweep");
  p.title = title;
  p.xlabel = "step h of the centered difference";
  p.ylabel = "worst relative error over the block's checked coordinates";
  p.logx = 1;
  p.logy = 1;
  if (floored)
    p.yrange = floor_range(ys, total);
  p.nseries = ns;
  p.series = series;
  p.nrefs = nrefs;
  p.refs = refs;
  int rc = nnc_plot_emit(&p, dir, text, err, errlen);
  free(series);
  free(labels);
  free(ys);
  return rc;
}

int nnc_gradcheck_plots(const nnc_gradcheck_result *r, const char *dir,
                        char *err, size_t errlen)
{
  if (!r || !dir || !*dir || (r->nblocks && !r->blocks) ||
      (r->nsweeps && !r->sweeps)) {
    snprintf(err, errlen, "gradcheck plots: no result or no directory");
    return NNC_EARG;
  }
  /* Without gnuplot every plot's data and script are still written; one
   * message at the end says how to render them all. */
  int rc = errors_plot(r, dir, NULL, err, errlen), missing = rc == NNC_PLOT_UNRENDERED;
  if ((rc == NNC_OK || missing) && r->nsweeps) {
    int rc2 = hsweep_plot(r, dir, NULL, err, errlen);
    rc = rc2 == NNC_PLOT_UNRENDERED || rc2 == NNC_OK ? rc : rc2;
    missing |= rc2 == NNC_PLOT_UNRENDERED;
  }
  if (missing && (rc == NNC_OK || rc == NNC_PLOT_UNRENDERED)) {
    snprintf(err, errlen,
             "gnuplot (%s) could not be started: wrote the data and scripts "
             "into %s without rendering them; to render: cd %s && gnuplot "
             "gradcheck_errors.gp%s (install the Debian package gnuplot-nox, "
             "or set NNCHECK_GNUPLOT to its path)",
             nnc_plot_gnuplot(), dir, dir,
             r->nsweeps ? " && gnuplot gradcheck_hsweep.gp" : "");
    return NNC_PLOT_UNRENDERED;
  }
  return rc;
}

int nnc_gradcheck_plots_text(const nnc_gradcheck_result *r, char **text,
                             char *err, size_t errlen)
{
  *text = NULL;
  if (!r || (r->nblocks && !r->blocks) || (r->nsweeps && !r->sweeps)) {
    snprintf(err, errlen, "gradcheck plots: no result");
    return NNC_EARG;
  }
  int rc = errors_plot(r, "", text, err, errlen);
  if (rc == NNC_OK && r->nsweeps)
    rc = hsweep_plot(r, "", text, err, errlen);
  return rc;
}
