/* lrprobe_plot.c — the plots of a learning-rate probe.
 *
 * lrprobe_loss:  loss against learning rate on a log x axis, run 0's raw
 *                losses and every run's smoothed curve, the suggestions
 *                (medians over the runs) as vertical lines.  The y range
 *                stops a little above the highest smoothed value, so the
 *                last raw losses of a diverging ladder do not flatten the
 *                interesting part; they are cut, and the title says so.
 * lrprobe_steps: the step sweep, the loss after one step W - s*dW against
 *                s (log x; log y when every loss is positive), with the
 *                loss before the step as a horizontal line.
 * lrprobe_ratio: update:weight ratio of each block against learning rate,
 *                log-log, with the notes' 1e-3 and 1e-2 lines.
 */
#include "config.h"

#include "plot.h"

#include <nncheck/lrprobe.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sugg_colors[NNC_LR_NSUGG] = {"#2ca02c", "#1f77b4",
                                                      "#9467bd", "#ff7f0e"};
static const char *const run_colors[] = {"#d62728", "#8c564b", "#e377c2",
                                         "#7f7f7f", "#bcbd22", "#17becf"};
#define NRUNCOLORS (sizeof run_colors / sizeof run_colors[0])

static int oom(char *err, size_t errlen)
{
  snprintf(err, errlen, "out of memory");
  return NNC_ENOMEM;
}

static int loss_plot(const nnc_lrprobe_result *r, const char *dir, char **text, char *err,
                     size_t errlen)
{
  size_t ns = r->nruns + 1;
  nnc_plot_series *series = calloc(ns, sizeof *series);
  char (*labels)[96] = calloc(ns, sizeof *labels);
  char slabels[NNC_LR_NSUGG][96];
  nnc_plot_ref refs[NNC_LR_NSUGG + 1];
  if (!series || !labels) {
    free(series);
    free(labels);
    return oom(err, errlen);
  }
  const nnc_lrprobe_run *u0 = &r->runs[0];
  snprintf(labels[0], sizeof labels[0], "raw loss, seed %llu",
           (unsigned long long)u0->seed);
  series[0] = (nnc_plot_series){.label = labels[0], .style = NNC_PLOT_POINTS,
                                .n = u0->n, .x = u0->lr, .y = u0->raw,
                                .color = "#a0a0a0", .point_type = 7,
                                .point_size = 0.6};
  double lo = INFINITY, hi = -INFINITY;
  for (size_t q = 0; q < r->nruns; q++) {
    const nnc_lrprobe_run *u = &r->runs[q];
    snprintf(labels[q + 1], sizeof labels[q + 1], "smoothed, seed %llu",
             (unsigned long long)u->seed);
    series[q + 1] = (nnc_plot_series){
        .label = labels[q + 1], .style = NNC_PLOT_LINES, .n = u->n,
        .x = u->lr, .y = u->smooth, .color = run_colors[q % NRUNCOLORS]};
    for (size_t i = 0; i < u->n; i++) {
      if (isfinite(u->smooth[i])) {
        lo = fmin(lo, u->smooth[i]);
        hi = fmax(hi, u->smooth[i]);
      }
      if (q == 0 && isfinite(u->raw[i]))
        lo = fmin(lo, u->raw[i]);
    }
  }
  if (isfinite(u0->start_level)) {
    lo = fmin(lo, u0->start_level);
    hi = fmax(hi, u0->start_level);
  }
  size_t nrefs = 0;
  for (int k = 0; k < NNC_LR_NSUGG; k++) {
    const nnc_lrprobe_sugg *g = &r->sugg[k];
    if (!isfinite(g->median))
      continue;
    snprintf(slabels[k], sizeof slabels[k], "%s %.3g%s", nnc_lr_sugg_name(k),
             pow(10, g->median), g->unreliable ? " (unreliable)" : "");
    refs[nrefs++] = (nnc_plot_ref){.vertical = 1, .at = pow(10, g->median),
                                   .label = slabels[k],
                                   .color = sugg_colors[k]};
  }
  if (isfinite(u0->start_level))
    refs[nrefs++] = (nnc_plot_ref){.at = u0->start_level,
                                   .label = "start level, seed of run 0",
                                   .color = "#404040", .dash = 3};
  int cut = 0;
  for (size_t i = 0; i < u0->n; i++)
    cut |= isfinite(u0->raw[i]) && u0->raw[i] > hi + 0.05 * (hi - lo);
  char title[512];
  snprintf(title, sizeof title,
           "lrprobe %s: loss after one %s step per learning rate (batch "
           "%zu)%s",
           r->plugin, r->rule, r->opts.batch,
           cut ? "\n(raw losses above the smoothed curves are cut off)" : "");
  nnc_plot p;
  nnc_plot_init(&p, "lrprobe_loss");
  p.title = title;
  p.xlabel = "learning rate";
  p.ylabel = "training loss on the next batch";
  p.logx = 1;
  if (isfinite(lo) && isfinite(hi) && hi > lo)
    p.yrange = (nnc_plot_range){1, lo - 0.05 * (hi - lo),
                                hi + 0.05 * (hi - lo)};
  p.nseries = ns;
  p.series = series;
  p.nrefs = nrefs;
  p.refs = refs;
  int rc = nnc_plot_emit(&p, dir, text, err, errlen);
  free(series);
  free(labels);
  return rc;
}

static int steps_plot(const nnc_lrprobe_result *r, const char *dir, char **text, char *err,
                      size_t errlen)
{
  /* log y only when every loss is positive and they span more than a
   * decade: within one, gnuplot would label no tic at all */
  int allpos = r->sweep_loss0 > 0;
  double lo = r->sweep_loss0, hi = r->sweep_loss0;
  for (size_t j = 0; j < r->nsweep; j++) {
    if (!isfinite(r->sweep_loss[j]))
      continue;
    allpos &= r->sweep_loss[j] > 0;
    lo = fmin(lo, r->sweep_loss[j]);
    hi = fmax(hi, r->sweep_loss[j]);
  }
  allpos &= hi > 10 * lo;
  nnc_plot_series s = {.label = "loss after one step W - s*dW",
                       .style = NNC_PLOT_LINESPOINTS, .n = r->nsweep,
                       .x = r->sweep_step, .y = r->sweep_loss,
                       .color = "#1f77b4", .point_type = 7};
  nnc_plot_ref ref = {.vertical = 0, .at = r->sweep_loss0,
                      .label = "loss before the step", .color = "#404040",
                      .dash = 2};
  char title[512];
  snprintf(title, sizeof title,
           "lrprobe %s: one step along -grad from the starting parameters "
           "(batch %zu, seed %llu)",
           r->plugin, r->opts.batch, (unsigned long long)r->opts.seed);
  nnc_plot p;
  nnc_plot_init(&p, "lrprobe_steps");
  p.title = title;
  p.xlabel = "step size s";
  p.ylabel = "loss on the batch after the step";
  p.logx = 1;
  p.logy = allpos;
  p.nseries = 1;
  p.series = &s;
  p.nrefs = isfinite(r->sweep_loss0) ? 1 : 0;
  p.refs = &ref;
  return nnc_plot_emit(&p, dir, text, err, errlen);
}

static int ratio_plot(const nnc_lrprobe_result *r, const char *dir, char **text,
                      char *err, size_t errlen)
{
  const nnc_lrprobe_run *u = &r->runs[0];
  size_t nb = r->nblocks, n = u->n;
  nnc_plot_series *series = calloc(nb ? nb : 1, sizeof *series);
  char (*labels)[128] = calloc(nb ? nb : 1, sizeof *labels);
  double *ys = malloc((nb * n + 1) * sizeof *ys);
  if (!series || !labels || !ys) {
    free(series);
    free(labels);
    free(ys);
    return oom(err, errlen);
  }
  for (size_t k = 0; k < nb; k++) {
    const nnc_lrprobe_block *b = &r->blocks[k];
    snprintf(labels[k], sizeof labels[k], "%s%s%s", b->name,
             b->zero_start ? " (starts at zero)" : "",
             (long)k == r->diverges_first ? " (diverges first)" : "");
    for (size_t i = 0; i < n; i++)
      ys[k * n + i] = u->ratio[i * nb + k];
    series[k] = (nnc_plot_series){.label = labels[k],
                                  .style = NNC_PLOT_LINES, .n = n, .x = u->lr,
                                  .y = ys + k * n};
  }
  const nnc_plot_ref refs[2] = {
      {.at = 1e-3, .label = "1e-3: the notes' healthy ratio",
       .color = "#2ca02c", .dash = 2},
      {.at = 1e-2, .label = "1e-2: too high", .color = "#d62728", .dash = 4}};
  char title[512];
  snprintf(title, sizeof title,
           "lrprobe %s: update:weight ratio |dw|/|w| per block along the "
           "ladder (%s, seed %llu)",
           r->plugin, r->rule, (unsigned long long)u->seed);
  nnc_plot p;
  nnc_plot_init(&p, "lrprobe_ratio");
  p.title = title;
  p.xlabel = "learning rate";
  p.ylabel = "|dw| / |w| of the step";
  p.logx = 1;
  p.logy = 1;
  p.nseries = nb;
  p.series = series;
  p.nrefs = 2;
  p.refs = refs;
  int rc = nnc_plot_emit(&p, dir, text, err, errlen);
  free(series);
  free(labels);
  free(ys);
  return rc;
}

int nnc_lrprobe_plots(const nnc_lrprobe_result *r, const char *dir, char *err,
                      size_t errlen)
{
  if (!r || !dir || !*dir) {
    snprintf(err, errlen, "lrprobe plots: no result or no directory");
    return NNC_EARG;
  }
  if (!r->nruns || !r->runs) {
    snprintf(err, errlen, "lrprobe plots: the probe recorded nothing");
    return NNC_EARG;
  }
  /* Without gnuplot every plot's data and script are still written; one
   * message at the end says how to render them all. */
  int rc = loss_plot(r, dir, NULL, err, errlen), missing = rc == NNC_PLOT_UNRENDERED;
  if (missing)
    rc = NNC_OK;
  if (rc == NNC_OK && r->nsweep) {
    rc = steps_plot(r, dir, NULL, err, errlen);
    missing |= rc == NNC_PLOT_UNRENDERED;
    rc = rc == NNC_PLOT_UNRENDERED ? NNC_OK : rc;
  }
  if (rc == NNC_OK && r->nblocks) {
    rc = ratio_plot(r, dir, NULL, err, errlen);
    missing |= rc == NNC_PLOT_UNRENDERED;
    rc = rc == NNC_PLOT_UNRENDERED ? NNC_OK : rc;
  }
  if (rc == NNC_OK && missing) {
    snprintf(err, errlen,
             "gnuplot (%s) could not be started: wrote the data and scripts "
             "into %s without rendering them; to render: cd %s && gnuplot "
             "lrprobe_loss.gp%s%s (install the Debian package gnuplot-nox, "
             "or set NNCHECK_GNUPLOT to its path)",
             nnc_plot_gnuplot(), dir, dir,
             r->nsweep ? " && gnuplot lrprobe_steps.gp" : "",
             r->nblocks ? " && gnuplot lrprobe_ratio.gp" : "");
    return NNC_PLOT_UNRENDERED;
  }
  return rc;
}

int nnc_lrprobe_plots_text(const nnc_lrprobe_result *r, char **text,
                           char *err, size_t errlen)
{
  *text = NULL;
  if (!r || !r->nruns || !r->runs) {
    snprintf(err, errlen, "lrprobe plots: the probe recorded nothing");
    return NNC_EARG;
  }
  int rc = loss_plot(r, "", text, err, errlen);
  if (rc == NNC_OK && r->nsweep)
    rc = steps_plot(r, "", text, err, errlen);
  if (rc == NNC_OK && r->nblocks)
    rc = ratio_plot(r, "", text, err, errlen);
  return rc;
}
