/* lrprobe_report.c — the range test's reports: a human table, JSON, TAP.
 *
 * Every suggestion is printed beside its definition, its spread over the
 * runs and the threshold that makes it unreliable; every verdict beside
 * the numbers that decided it.  Nothing depends on time or addresses: one
 * seed, one report. */
#include "config.h"
#include "json.h"

#include <nncheck/lrprobe.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sugg_defs[NNC_LR_NSUGG] = {
    "two thirds down the longest decreasing run of the smoothed loss",
    "the start of the steepest sustained (half-decade) descent",
    "a decade below the rate of the smoothed minimum",
    "the most negative slope of the smoothed loss against log10(lr)"};

/* The rung of run u nearest to x = log10(lr). */
static size_t rung_of(const nnc_lrprobe_run *u, double x)
{
  size_t k = 0;
  for (size_t i = 1; i < u->n; i++)
    if (fabs(log10(u->lr[i]) - x) < fabs(log10(u->lr[k]) - x))
      k = i;
  return k;
}

static double lr_of(double x) { return pow(10, x); }

/* The start level and drop of the run that best represents the verdict:
 * run 0. */
static const nnc_lrprobe_run *run0(const nnc_lrprobe_result *r)
{
  return r->nruns ? &r->runs[0] : NULL;
}

static double best_drop(const nnc_lrprobe_result *r)
{
  double d = NAN;
  for (size_t q = 0; q < r->nruns; q++)
    if (isfinite(r->runs[q].drop) && !(r->runs[q].drop <= d))
      d = r->runs[q].drop;
  return d;
}

/* The fall run 0 needed for a usable range. */
static double need_of(const nnc_lrprobe_result *r)
{
  return r->nruns ? r->runs[0].need : r->opts.min_drop;
}

/* The lowest rate, over the runs, at which the smoothed loss rose past the
 * start level; NaN when it never did. */
static double first_rise(const nnc_lrprobe_result *r)
{
  double lr = NAN;
  for (size_t q = 0; q < r->nruns; q++)
    if (isfinite(r->runs[q].rise_lr) && !(r->runs[q].rise_lr >= lr))
      lr = r->runs[q].rise_lr;
  return lr;
}

/* The one-sentence verdict (no newline). */
static void verdict_text(const nnc_lrprobe_result *r, FILE *f)
{
  const nnc_lrprobe_opts *o = &r->opts;
  switch (r->verdict) {
  case NNC_LR_OK:
    fprintf(f, "OK -- a usable range in %zu of %zu runs", r->usable_runs,
            r->nruns);
    if (isfinite(r->sugg[NNC_LR_VALLEY].median))
      fprintf(f, "; suggested learning rate (valley): %.3g%s",
              lr_of(r->sugg[NNC_LR_VALLEY].median),
              r->sugg[NNC_LR_VALLEY].unreliable ? " (unreliable)" : "");
    break;
  case NNC_LR_RISES: {
    double rise = first_rise(r);
    fprintf(f, "RISES -- no learning rate lowered the loss: in %zu of %zu "
               "runs the smoothed loss never fell enough below the start "
               "level (best fall %.3g%%, needed %.3g%%) and rose until the "
               "ladder stopped",
            r->nruns - r->usable_runs, r->nruns, 100 * best_drop(r),
            100 * need_of(r));
    if (isfinite(rise))
      fprintf(f, " (more than the needed fall above the start level from lr "
                 "%.3g on)",
              rise);
    if (r->nruns && r->runs[0].n < r->w0)
      fprintf(f, "; it diverged within the first tenth of the ladder (run 0 "
                 "stopped after %zu rung%s): the ladder starts too high, "
                 "lower --start",
              r->runs[0].n, r->runs[0].n == 1 ? "" : "s");
    break;
  }
  case NNC_LR_FLAT:
    fprintf(f, "FLAT -- the loss never fell enough below the start level "
               "(best fall %.3g%%, needed %.3g%%) and never diverged in "
               "[%.3g, %.3g]: the ladder lies below the useful learning "
               "rates; raise --end",
            100 * best_drop(r), 100 * need_of(r), o->start, o->end);
    break;
  default:
    fprintf(f, "ERROR (%s)", nnc_err_name(r->error));
  }
  if (r->sweep_descends == 0)
    fprintf(f, "; the loss rises along -grad even at the smallest steps: the "
               "gradient points uphill (a sign error in backward?)");
  else if (r->sweep_mismatch)
    fprintf(f, "; note: along -grad the loss falls at %.3g times the rate "
               "the gradient promises: run gradcheck",
            r->sweep_agree);
}

static void curve_section(const nnc_lrprobe_result *r, FILE *f)
{
  const nnc_lrprobe_run *u = run0(r);
  if (!u || !u->n)
    return;
  size_t stride = (u->n + 23) / 24;
  fprintf(f, "\nthe ladder of run 0 (seed %llu)%s:\n%5s %10s %12s %12s  %s\n",
          (unsigned long long)u->seed,
          stride > 1 ? ", every few rungs (--json has all)" : "", "rung",
          "lr", "raw loss", "smoothed", "");
  size_t mark[NNC_LR_NSUGG];
  for (int k = 0; k < NNC_LR_NSUGG; k++)
    mark[k] = isfinite(u->sugg[k]) ? rung_of(u, u->sugg[k]) : (size_t)-1;
  for (size_t i = 0; i < u->n; i++) {
    int marked = i == u->best || i + 1 == u->n || i == r->w0;
    for (int k = 0; k < NNC_LR_NSUGG; k++)
      marked |= mark[k] == i;
    if (i % stride && !marked)
      continue;
    fprintf(f, "%5zu %10.3e %12.6g %12.6g ", i, u->lr[i], u->raw[i],
            u->smooth[i]);
    const char *sep = " <- ";
    for (int k = 0; k < NNC_LR_NSUGG; k++)
      if (mark[k] == i) {
        fprintf(f, "%s%s", sep, nnc_lr_sugg_name(k));
        sep = ", ";
      }
    if (i == u->best) {
      fprintf(f, "%sminimum", sep);
      sep = ", ";
    }
    if (i == r->w0)
      fprintf(f, "%ssuggestions look from here on", sep);
    fputc('\n', f);
  }
  if (u->stop != NNC_LR_STOP_END)
    fprintf(f, "%5s %10.3e %s\n", "stop", u->stop_lr,
            u->stop == NNC_LR_STOP_DIVERGED
                ? "smoothed loss above the stop factor times its best"
                : "the loss or its gradient turned NaN/Inf");
}

static void ratio_section(const nnc_lrprobe_result *r, FILE *f)
{
  if (!r->nblocks || !r->nruns)
    return;
  fprintf(f, "\nupdate:weight ratio |dw|/|w| of each block along run 0 (the "
             "notes: about 1e-3 is healthy; much above, the rate is too "
             "high):\n%-16s %9s %12s %11s %11s %12s\n",
          "block", "elements", "|w| start", "lr at 1e-3", "lr at 1e-2",
          "largest");
  for (size_t k = 0; k < r->nblocks; k++) {
    const nnc_lrprobe_block *b = &r->blocks[k];
    char c3[32] = "not reached", c2[32] = "not reached";
    if (isfinite(b->cross3))
      snprintf(c3, sizeof c3, "%s%.3g", b->below3 ? "<=" : "", b->cross3);
    if (isfinite(b->cross2))
      snprintf(c2, sizeof c2, "%s%.3g", b->below2 ? "<=" : "", b->cross2);
    fprintf(f, "%-16s %9zu %12.4g %11s %11s %12.3g%s\n", b->name, b->count,
            b->norm0, c3, c2, b->max_ratio,
            b->zero_start ? "  starts at zero: its ratio says nothing about "
                            "the rate"
                          : "");
  }
  if (r->diverges_first >= 0) {
    const nnc_lrprobe_block *b = &r->blocks[r->diverges_first];
    fprintf(f, "diverges first: %s (its ratio reaches 1e-2 at lr %.3g, "
               "before any other block's)\n",
            b->name, b->cross2);
  } else {
    fprintf(f, "diverges first: none named (no block that starts non-zero "
               "reached a ratio of 1e-2 within the ladder)\n");
  }
}

static void sweep_section(const nnc_lrprobe_result *r, FILE *f)
{
  if (!r->nsweep)
    return;
  fprintf(f, "\nstep sweep along -grad (the optimization notes' experiment): "
             "one step W - s*dW from the starting parameters, every block, "
             "on one batch of %zu (seed %llu); loss before %.10g, |dW|^2 = "
             "%.4g\n%8s %16s %13s %13s %12s\n",
          r->opts.batch, (unsigned long long)r->opts.seed, r->sweep_loss0,
          r->sweep_gnorm2, "step", "loss after", "change",
          "-s|dW|^2", "change/pred");
  size_t best = 0;
  for (size_t j = 0; j < r->nsweep; j++) {
    double ch = r->sweep_loss[j] - r->sweep_loss0;
    fprintf(f, "%8.0e %16.10g %13.4e %13.4e %12.4g\n", r->sweep_step[j],
            r->sweep_loss[j], ch, r->sweep_pred[j],
            r->sweep_pred[j] != 0 ? ch / r->sweep_pred[j] : NAN);
    if (r->sweep_loss[j] < r->sweep_loss[best])
      best = j;
  }
  if (r->sweep_loss[best] < r->sweep_loss0)
    fprintf(f, "lowest loss at step %.0e (%.6g, from %.6g); ",
            r->sweep_step[best], r->sweep_loss[best], r->sweep_loss0);
  else
    fprintf(f, "no step lowered the loss (from %.6g); ", r->sweep_loss0);
  if (r->sweep_descends == 0)
    fprintf(f, "at small steps the loss RISES along -grad (change/pred "
               "%.4g): the gradient points uphill\n",
            r->sweep_agree);
  else if (r->sweep_mismatch)
    fprintf(f, "at small steps the loss falls at %.4g times the rate the "
               "gradient promises (|dW|^2 per unit step): the gradient "
               "disagrees with the loss; run gradcheck\n",
            r->sweep_agree);
  else if (r->sweep_descends == 1)
    fprintf(f, "at small steps the loss falls as the first order predicts "
               "(change/pred %.4g)\n",
            r->sweep_agree);
  else
    fprintf(f, "no step resolves the first-order change while it is still "
               "small: direction not judged\n");
}

int nnc_lrprobe_report_text(const nnc_lrprobe_result *r, FILE *f)
{
  const nnc_lrprobe_opts *o = &r->opts;
  fprintf(f, "lrprobe: %s (%s)%s%s%s, seed %llu, %zu run%s\n", r->plugin,
          r->kind == NNC_KIND_NET ? "net" : "layer",
          r->args[0] ? ", args \"" : "", r->args, r->args[0] ? "\"" : "",
          (unsigned long long)o->seed, o->runs, o->runs == 1 ? "" : "s");
  if (r->error != NNC_OK && !r->nruns)
    goto tail;
  fprintf(f, "ladder: %s%s, lr %.3g .. %.3g in %zu exponential rungs (%.3g "
             "decades apart), one step per rung on a fresh seeded batch of "
             "%zu; run r uses seed %llu + r\n",
          r->rule, r->caller_optim ? " (the caller's optimizer state)" : "",
          o->start, o->end, o->steps,
          log10(o->end / o->start) / (double)(o->steps - 1), o->batch,
          (unsigned long long)o->seed);
  fprintf(f, "recorded: the training loss (data+reg, train mode) on the next "
             "batch after each step, smoothed by a bias-corrected EMA (beta "
             "%.3g); a run stops when the smoothed loss passes %.3g x its "
             "best or a loss turns NaN/Inf\n",
          o->beta, o->stop_factor);
  fprintf(f, "usable range: the smoothed minimum (from rung %zu on) lies "
             "below the start level (the mean loss at the starting "
             "parameters over %zu batches) by %.3g%% of it, or by three "
             "standard errors of the difference if that is more "
             "(\"needed\")\n",
          r->w0, o->ref_batches, 100 * o->min_drop);
  fprintf(f, "restored: the parameters and the optimizer state, before every "
             "run and after the probe\n");
  fprintf(f, "\n%4s %6s %12s %9s %6s %-9s %10s %12s %10s %8s %8s  %s\n",
          "run", "seed", "start level", "batch sd", "rungs", "stopped",
          "at lr", "min smooth", "at lr", "fall", "needed", "range");
  for (size_t q = 0; q < r->nruns; q++) {
    const nnc_lrprobe_run *u = &r->runs[q];
    fprintf(f, "%4zu %6llu %12.6g %9.3g %6zu %-9s %10.3e ", q,
            (unsigned long long)u->seed, u->start_level, u->start_sd, u->n,
            nnc_lr_stop_name(u->stop), u->stop_lr);
    if (u->n)
      fprintf(f, "%12.6g %10.3e %7.3g%% %7.3g%%  %s\n", u->smooth[u->best],
              u->lr[u->best], 100 * u->drop, 100 * u->need,
              u->usable ? "usable" : "none");
    else
      fprintf(f, "%12s %10s %8s %8s  none\n", "-", "-", "-", "-");
  }
  fprintf(f, "\nsuggestions (median over the runs that gave one; spread = "
             "max - min over the runs, in decades; above %.3g unreliable):\n"
             "%-11s %10s %8s %8s %6s  %-10s %s\n",
          o->unreliable_decades, "suggestion", "lr", "log10", "spread",
          "runs", "", "definition");
  for (int k = 0; k < NNC_LR_NSUGG; k++) {
    const nnc_lrprobe_sugg *g = &r->sugg[k];
    if (!g->found) {
      fprintf(f, "%-11s %10s %8s %8s %3zu/%-2zu  %-10s %s\n",
              nnc_lr_sugg_name(k), "-", "-", "-", g->found, r->nruns,
              "none", sugg_defs[k]);
      continue;
    }
    fprintf(f, "%-11s %10.3e %8.3f %8.3f %3zu/%-2zu  %-10s %s\n",
            nnc_lr_sugg_name(k), lr_of(g->median), g->median, g->spread,
            g->found, r->nruns, g->unreliable ? "UNRELIABLE" : "reliable",
            sugg_defs[k]);
  }
  if (r->nruns == 1)
    fprintf(f, "(one run: no spread measured; --runs 3 or more tells how "
               "much the suggestions depend on the batches)\n");
  curve_section(r, f);
  ratio_section(r, f);
  sweep_section(r, f);
  {
    size_t at_end = 0;
    for (size_t q = 0; q < r->nruns; q++)
      at_end += r->runs[q].usable && r->runs[q].stop == NNC_LR_STOP_END;
    if (at_end)
      fprintf(f, "\nnote: %zu run%s never diverged by lr %.3g: the range "
                 "may extend further (raise --end)\n",
              at_end, at_end > 1 ? "s" : "", o->end);
  }
tail:
  if (r->error != NNC_OK)
    fprintf(f, "\nerror: %s\n", r->error_msg);
  fputs("\nverdict: ", f);
  verdict_text(r, f);
  fprintf(f, " -- exit %d\n", nnc_lrprobe_exit_status(r));
  return NNC_OK;
}

/* ---- JSON ------------------------------------------------------------- */



static void jarr(FILE *f, const double *v, size_t n, size_t stride)
{
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    if (i)
      fputs(", ", f);
    nnci_json_num(f, v[i * stride]);
  }
  fputc(']', f);
}

int nnc_lrprobe_report_json(const nnc_lrprobe_result *r, FILE *f)
{
  const nnc_lrprobe_opts *o = &r->opts;
  nnci_json_head(f, "lrprobe", NNCI_SCHEMA_LRPROBE);
  fputs("\n  \"plugin\": ", f);
  nnci_json_str(f, r->plugin);
  fputs(",\n  \"spec\": ", f);
  nnci_json_str(f, r->spec);
  fputs(",\n  \"args\": ", f);
  nnci_json_str(f, r->args);
  fprintf(f, ",\n  \"kind\": \"%s\",\n  \"seed\": %llu,\n  \"rule\": ",
          r->kind == NNC_KIND_NET ? "net" : "layer",
          (unsigned long long)o->seed);
  nnci_json_str(f, r->rule);
  fprintf(f, ",\n  \"caller_optim\": %s,\n  \"start\": ",
          r->caller_optim ? "true" : "false");
  nnci_json_num(f, o->start);
  fputs(", \"end\": ", f);
  nnci_json_num(f, o->end);
  fprintf(f, ", \"steps\": %zu, \"nruns\": %zu, \"batch\": %zu,\n  \"beta\": ",
          o->steps, o->runs, o->batch);
  nnci_json_num(f, o->beta);
  fputs(", \"stop_factor\": ", f);
  nnci_json_num(f, o->stop_factor);
  fputs(", \"min_drop\": ", f);
  nnci_json_num(f, o->min_drop);
  fputs(", \"unreliable_decades\": ", f);
  nnci_json_num(f, o->unreliable_decades);
  fprintf(f, ", \"ref_batches\": %zu, \"w0\": %zu,\n  \"suggestions\": {",
          o->ref_batches, r->w0);
  for (int k = 0; k < NNC_LR_NSUGG; k++) {
    const nnc_lrprobe_sugg *g = &r->sugg[k];
    fputs(k ? ",\n    " : "\n    ", f);
    nnci_json_str(f, nnc_lr_sugg_name(k));
    fputs(": {\"lr\": ", f);
    nnci_json_num(f, isfinite(g->median) ? lr_of(g->median) : NAN);
    fputs(", \"log10\": ", f);
    nnci_json_num(f, g->median);
    fputs(", \"lo\": ", f);
    nnci_json_num(f, g->lo);
    fputs(", \"hi\": ", f);
    nnci_json_num(f, g->hi);
    fputs(", \"spread\": ", f);
    nnci_json_num(f, g->spread);
    fprintf(f, ", \"found\": %zu, \"unreliable\": %s, \"definition\": ",
            g->found, g->unreliable ? "true" : "false");
    nnci_json_str(f, sugg_defs[k]);
    fputc('}', f);
  }
  fputs("\n  },\n  \"runs\": [", f);
  for (size_t q = 0; q < r->nruns; q++) {
    const nnc_lrprobe_run *u = &r->runs[q];
    fprintf(f, "%s\n    {\"seed\": %llu, \"rungs\": %zu, \"stop\": \"%s\", "
               "\"stop_lr\": ",
            q ? "," : "", (unsigned long long)u->seed, u->n,
            nnc_lr_stop_name(u->stop));
    nnci_json_num(f, u->stop_lr);
    fputs(", \"start_level\": ", f);
    nnci_json_num(f, u->start_level);
    fputs(", \"start_sd\": ", f);
    nnci_json_num(f, u->start_sd);
    fputs(", \"start_se\": ", f);
    nnci_json_num(f, u->start_se);
    fprintf(f, ", \"best_rung\": %zu, \"drop\": ", u->best);
    nnci_json_num(f, u->drop);
    fputs(", \"need\": ", f);
    nnci_json_num(f, u->need);
    fprintf(f, ", \"usable\": %s, \"rise_lr\": ", u->usable ? "true" : "false");
    nnci_json_num(f, u->rise_lr);
    fputs(", \"suggestions\": {", f);
    for (int k = 0; k < NNC_LR_NSUGG; k++) {
      fputs(k ? ", " : "", f);
      nnci_json_str(f, nnc_lr_sugg_name(k));
      fputs(": ", f);
      nnci_json_num(f, u->sugg[k]);
    }
    fprintf(f, "}, \"valley\": [%zu, %zu],\n     \"lr\": ", u->valley_from,
            u->valley_to);
    jarr(f, u->lr, u->n, 1);
    fputs(",\n     \"raw\": ", f);
    jarr(f, u->raw, u->n, 1);
    fputs(",\n     \"smoothed\": ", f);
    jarr(f, u->smooth, u->n, 1);
    fputs(",\n     \"ratio\": {", f);
    for (size_t k = 0; k < r->nblocks; k++) {
      fputs(k ? ", " : "", f);
      nnci_json_str(f, r->blocks[k].name);
      fputs(": ", f);
      jarr(f, u->ratio + k, u->n, r->nblocks);
    }
    fputs("}}", f);
  }
  fputs("\n  ],\n  \"blocks\": [", f);
  for (size_t k = 0; k < r->nblocks; k++) {
    const nnc_lrprobe_block *b = &r->blocks[k];
    fputs(k ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
    nnci_json_str(f, b->name);
    fprintf(f, ", \"elements\": %zu, \"norm0\": ", b->count);
    nnci_json_num(f, b->norm0);
    fprintf(f, ", \"zero_start\": %s, \"lr_ratio_1e-3\": ",
            b->zero_start ? "true" : "false");
    nnci_json_num(f, b->cross3);
    fputs(", \"lr_ratio_1e-2\": ", f);
    nnci_json_num(f, b->cross2);
    fprintf(f, ", \"at_first_rung\": [%s, %s], \"max_ratio\": ",
            b->below3 ? "true" : "false", b->below2 ? "true" : "false");
    nnci_json_num(f, b->max_ratio);
    fputc('}', f);
  }
  fputs("\n  ],\n  \"diverges_first\": ", f);
  if (r->diverges_first >= 0)
    nnci_json_str(f, r->blocks[r->diverges_first].name);
  else
    fputs("null", f);
  fputs(",\n  \"sweep\": ", f);
  if (r->nsweep) {
    fputs("{\"loss0\": ", f);
    nnci_json_num(f, r->sweep_loss0);
    fputs(", \"grad_norm2\": ", f);
    nnci_json_num(f, r->sweep_gnorm2);
    fputs(", \"step\": ", f);
    jarr(f, r->sweep_step, r->nsweep, 1);
    fputs(", \"loss\": ", f);
    jarr(f, r->sweep_loss, r->nsweep, 1);
    fputs(", \"first_order\": ", f);
    jarr(f, r->sweep_pred, r->nsweep, 1);
    fprintf(f, ", \"descends\": %s, \"agree\": ",
            r->sweep_descends == 1   ? "true"
            : r->sweep_descends == 0 ? "false"
                                     : "null");
    nnci_json_num(f, r->sweep_agree);
    fprintf(f, ", \"mismatch\": %s}", r->sweep_mismatch ? "true" : "false");
  } else {
    fputs("null", f);
  }
  fprintf(f, ",\n  \"usable_runs\": %zu,\n  \"loss_evals\": %zu,\n"
             "  \"backward_calls\": %zu,\n  \"error\": ",
          r->usable_runs, r->loss_evals, r->backward_calls);
  if (r->error != NNC_OK)
    nnci_json_str(f, r->error_msg);
  else
    fputs("null", f);
  fputs(",\n  \"verdict\": ", f);
  nnci_json_str(f, nnc_lr_verdict_name(r->verdict));
  fputs(",\n  \"summary\": ", f);
  {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
      verdict_text(r, m);
      fclose(m);
      nnci_json_str(f, buf ? buf : "");
      free(buf);
    } else {
      nnci_json_str(f, "");
    }
  }
  fprintf(f, ",\n  \"exit\": %d\n}\n", nnc_lrprobe_exit_status(r));
  return NNC_OK;
}

/* ---- TAP -------------------------------------------------------------- */

int nnc_lrprobe_report_tap(const nnc_lrprobe_result *r, FILE *f)
{
  fputs("TAP version 13\n", f);
  if (r->error != NNC_OK) {
    fprintf(f, "1..1\nnot ok 1 - %s: %s: %s\n", r->plugin,
            nnc_err_name(r->error), r->error_msg);
    return NNC_OK;
  }
  size_t t = 0;
  fprintf(f, "1..%d\n", 3 + NNC_LR_NSUGG);
  fprintf(f, "%s %zu - %s: ", r->verdict == NNC_LR_OK ? "ok" : "not ok", ++t,
          r->plugin);
  verdict_text(r, f);
  fputc('\n', f);
  for (int k = 0; k < NNC_LR_NSUGG; k++) {
    const nnc_lrprobe_sugg *g = &r->sugg[k];
    if (!g->found) {
      fprintf(f, "ok %zu - %s: %s # SKIP no usable range\n", ++t, r->plugin,
              nnc_lr_sugg_name(k));
      continue;
    }
    fprintf(f, "ok %zu - %s: %s lr %.3g (spread %.3g decades over %zu of "
               "%zu runs)%s\n",
            ++t, r->plugin, nnc_lr_sugg_name(k), lr_of(g->median), g->spread,
            g->found, r->nruns,
            g->unreliable ? ": unreliable" : "");
  }
  if (r->nsweep)
    fprintf(f, "%s %zu - %s: step sweep: %s\n",
            r->sweep_descends == 0 ? "not ok" : "ok", ++t, r->plugin,
            r->sweep_descends == 0 ? "the loss rises along -grad at small "
                                       "steps: the gradient points uphill"
            : r->sweep_mismatch      ? "the loss falls along -grad, but not "
                                       "at the rate the gradient promises: "
                                       "run gradcheck"
            : r->sweep_descends == 1 ? "the loss falls along -grad at small "
                                       "steps as the gradient promises"
                                     : "direction not judged # SKIP no "
                                       "resolvable small step");
  else
    fprintf(f, "ok %zu - %s: step sweep # SKIP not run\n", ++t, r->plugin);
  if (r->diverges_first >= 0)
    fprintf(f, "ok %zu - %s: update:weight ratio: %s diverges first (1e-2 at "
               "lr %.3g)\n",
            ++t, r->plugin, r->blocks[r->diverges_first].name,
            r->blocks[r->diverges_first].cross2);
  else
    fprintf(f, "ok %zu - %s: update:weight ratio: no block reached 1e-2\n",
            ++t, r->plugin);
  return NNC_OK;
}
