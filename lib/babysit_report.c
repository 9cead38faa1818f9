/* babysit_report.c — the run's reports: human text and JSON.  Nothing
 * depends on time, paths of temporary files or addresses: one seed, one
 * report. */
#include "config.h"
#include "babysit_internal.h"
#include "json.h"
#include <math.h>
#include <string.h>

static const char *kind_name(uint32_t k)
{
  switch (k) {
  case NNC_ACT_RELU: return "relu";
  case NNC_ACT_TANH: return "tanh";
  case NNC_ACT_SIGMOID: return "sigmoid";
  case NNC_ACT_LINEAR: return "linear";
  default: return "other";
  }
}

static void pct(FILE *f, double v)
{
  if (isfinite(v))
    fprintf(f, "%6.1f%%", 100 * v);
  else
    fputs("      -", f);
}

int nnc_babysit_report_text(const nnc_babysit_result *r, FILE *f)
{
  const nnc_babysit_opts *o = &r->opts;
  fprintf(f, "babysit %s%s%s%s\n", r->plugin, r->args[0] ? " --args '" : "",
          r->args, r->args[0] ? "'" : "");
  fprintf(f, "rule %s, lr %.4g, schedule %s, batch %zu, epochs %zu, seed "
             "%llu, running average decay %.4g\n",
          r->rule, o->sched.lr0, r->sched, o->batch, o->epochs,
          (unsigned long long)o->seed, o->ema_decay);
  fprintf(f, "data: %zu training, %zu validation examples, %u classes; "
             "%zu steps per epoch\n",
          r->n_train, r->n_val, (unsigned)r->n_classes, r->steps_per_epoch);
  if (r->resumed)
    fprintf(f, "resumed from %s at epoch %zu, step %zu\n", r->resumed_from,
            r->start_epoch, r->start_step);
  fputs("\nepoch   step  batch loss  train loss  train acc  val loss  val acc "
        "    gap  avg val acc  ratio\n",
        f);
  for (size_t k = 0; k < r->nepochs; k++) {
    const nnc_bs_epoch *e = &r->epochs[k];
    double rs[64];
    size_t nw = 0;
    for (size_t b = 0; b < r->nblocks && nw < 64; b++)
      if (r->blocks[b].weight)
        rs[nw++] = r->blocks[b].ratio_epoch[k];
    double med = nnci_bs_median(rs, nw);
    fprintf(f, "%5zu %6zu %11.4g %11.4g %10.4f %9.4g %8.4f %7.4f %12.4f "
               "%6.1e\n",
            e->epoch, e->step, e->batch_loss, e->train_loss, e->train_acc,
            e->val_loss, e->val_acc, e->gap, e->ema_val_acc, med);
  }
  if (r->nblocks) {
    fputs("\nupdate:weight ratio per block (geometric mean over the late "
          "steps; the notes: about 1e-3)\n",
          f);
    for (size_t b = 0; b < r->nblocks; b++)
      fprintf(f, "  %-16s %9.2e%s\n", r->blocks[b].name,
              r->blocks[b].ratio_late,
              r->blocks[b].weight ? "" : "  (not a weight matrix, or zero "
                                         "at the start: not counted)");
  }
  if (r->nprobes) {
    fputs("\nlayers (e0: the starting parameters; end: the last epoch)\n", f);
    fprintf(f, "  %-10s %6s %7s %-4s%7s %10s %10s%7s %9s %10s\n", "layer",
            "kind", "units", "", "dead", "saturated", "near-zero", "zero",
            "mean|a|", "grad RMS");
    for (size_t i = 0; i < r->nprobes; i++) {
      const nnc_bs_probe *p = &r->probes[i];
      for (int w = 0; w < 2; w++) {
        const nnc_bs_layer_epoch *e =
            w == 0 ? &p->init : r->nepochs ? &p->ep[r->nepochs - 1] : NULL;
        if (!e)
          continue;
        if (w == 0)
          fprintf(f, "  %-10s %6s %7zu e0  ", p->name, kind_name(p->kind),
                  p->units);
        else
          fprintf(f, "  %-10s %6s %7s end ", "", "", "");
        pct(f, e->dead);
        fputs("    ", f);
        pct(f, e->sat_units);
        fputs("    ", f);
        pct(f, e->near_zero);
        pct(f, e->zero);
        fprintf(f, " %9.3g %10.3g\n", e->mean_abs, e->grad_rms);
      }
    }
  }
  if (r->filters.present)
    fprintf(f, "\nfirst-layer filters (%s, %zu of %zux%zux%zu): noise %.3f "
               "at the start, %.3f at the end (1: white noise, << 1: "
               "smooth)\n",
            r->filters.block, r->filters.nfilters, r->filters.channels,
            r->filters.height, r->filters.width, r->filters.noise0,
            r->filters.noise);
  fputs("\ndiagnoses\n", f);
  for (int i = 0; i < NNC_BS_NDIAG; i++) {
    const nnc_bs_diag *d = &r->diag[i];
    fprintf(f, "  %-5s %-11s %s\n", nnc_babysit_status_name(d->status),
            nnc_babysit_diag_name(i), d->title);
    fprintf(f, "        evidence: %s\n", d->evidence);
    if (d->advice[0])
      fprintf(f, "        what to do: %s\n", d->advice);
  }
  if (r->error != NNC_OK)
    fprintf(f, "\nerror: %s\n", r->error_msg);
  fprintf(f, "\nverdict: %s -- exit %d\n",
          r->error != NNC_OK ? "ERROR"
          : r->found         ? "PROBLEMS FOUND"
                             : "no problem diagnosed",
          nnc_babysit_exit_status(r));
  return ferror(f) ? NNC_EIO : NNC_OK;
}

/* ---- JSON ---------------------------------------------------------------------- */

static void jkey(FILE *f, const char *k) { fprintf(f, "\"%s\": ", k); }

static void jnum(FILE *f, const char *k, double v)
{
  jkey(f, k);
  nnci_json_num(f, v);
}

static void jarr(FILE *f, const char *k, const double *v, size_t n,
                 size_t stride)
{
  jkey(f, k);
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    if (i)
      fputs(", ", f);
    nnci_json_num(f, v[i * stride]);
  }
  fputc(']', f);
}

static void jhist(FILE *f, const char *k, const nnc_bs_hist *h)
{
  jkey(f, k);
  fputc('[', f);
  for (size_t i = 0; i < NNC_BS_NBUCKETS; i++)
    fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)h->n[i]);
  fputc(']', f);
}

static void jlayer(FILE *f, const nnc_bs_layer_epoch *e)
{
  fputs("{", f);
  jnum(f, "dead", e->dead);
  fputs(", ", f);
  jnum(f, "sat_units", e->sat_units);
  fputs(", ", f);
  jnum(f, "sat_values", e->sat_values);
  fputs(", ", f);
  jnum(f, "near_zero", e->near_zero);
  fputs(", ", f);
  jnum(f, "zero", e->zero);
  fputs(", ", f);
  jnum(f, "mean_abs", e->mean_abs);
  fputs(", ", f);
  jnum(f, "grad_rms", e->grad_rms);
  fprintf(f, ", \"values\": %llu, \"examples\": %llu, ",
          (unsigned long long)e->values, (unsigned long long)e->examples);
  jhist(f, "act", &e->act);
  fputs(", ", f);
  jhist(f, "grad", &e->grad);
  fputs("}", f);
}

int nnc_babysit_report_json(const nnc_babysit_result *r, FILE *f)
{
  const nnc_babysit_opts *o = &r->opts;
  nnci_json_head(f, "babysit", NNCI_SCHEMA_BABYSIT);
  fputs("\n  ", f);
  jkey(f, "plugin");
  nnci_json_str(f, r->plugin);
  fputs(",\n  ", f);
  jkey(f, "args");
  nnci_json_str(f, r->args);
  fprintf(f, ",\n  \"rule\": \"%s\", \"schedule\": \"%s\", ", r->rule,
          r->sched);
  jnum(f, "lr", o->sched.lr0);
  fprintf(f, ", \"batch\": %zu, \"target_epochs\": %zu, \"seed\": %llu, ", o->batch,
          o->epochs, (unsigned long long)o->seed);
  jnum(f, "ema_decay", o->ema_decay);
  fprintf(f, ",\n  \"n_train\": %zu, \"n_val\": %zu, \"n_classes\": %u, ",
          r->n_train, r->n_val, (unsigned)r->n_classes);
  jnum(f, "chance", r->chance);
  fprintf(f, ", \"steps_per_epoch\": %zu,\n  \"resumed\": %s, ",
          r->steps_per_epoch, r->resumed ? "true" : "false");
  fprintf(f, "\"start_epoch\": %zu, \"start_step\": %zu,\n  ", r->start_epoch,
          r->start_step);
  fputs("\"thresholds\": {", f);
  jnum(f, "ratio_low", o->ratio_low);
  fputs(", ", f);
  jnum(f, "ratio_high", o->ratio_high);
  fputs(", ", f);
  jnum(f, "linear_frac", o->linear_frac);
  fputs(", ", f);
  jnum(f, "noise_max", o->noise_max);
  fputs(", ", f);
  jnum(f, "gap_min", o->gap_min);
  fputs(", ", f);
  jnum(f, "z", o->z);
  fputs(", ", f);
  jnum(f, "capacity_level", o->capacity_level);
  fputs(", ", f);
  jnum(f, "dead_max", o->dead_max);
  fputs(", ", f);
  jnum(f, "sat_max", o->sat_max);
  fputs(", ", f);
  jnum(f, "sat_level", o->sat_level);
  fputs("},\n  \"measures\": {", f);
  jnum(f, "train_loss0", r->train_loss0);
  fputs(", ", f);
  jnum(f, "train_acc0", r->train_acc0);
  fprintf(f, ", \"curve_epochs\": %s, ", r->curve_epochs ? "true" : "false");
  jnum(f, "r_late", r->r_late);
  fputs(", ", f);
  jnum(f, "late_frac", r->late_frac);
  fputs(", ", f);
  jnum(f, "trend_start", r->trend_start);
  fputs(", ", f);
  jnum(f, "trend_end", r->trend_end);
  fputs(", ", f);
  jnum(f, "trend_fall", r->trend_fall);
  fputs(", ", f);
  jnum(f, "noise_rel", r->noise_rel);
  fprintf(f, ", \"trend_window\": %zu},\n  ", r->trend_window);
  fprintf(f, "\"diverged\": %s, \"nan_step\": %zu, \"nan_block\": ",
          r->diverged ? "true" : "false", r->nan_step);
  nnci_json_str(f, r->nan_block);
  fputs(",\n  \"diagnoses\": [", f);
  for (int i = 0; i < NNC_BS_NDIAG; i++) {
    const nnc_bs_diag *d = &r->diag[i];
    fprintf(f, "%s\n    {\"id\": \"%s\", \"status\": \"%s\", \"title\": ",
            i ? "," : "", nnc_babysit_diag_name(i),
            nnc_babysit_status_name(d->status));
    nnci_json_str(f, d->title);
    fputs(", \"evidence\": ", f);
    nnci_json_str(f, d->evidence);
    fputs(", \"advice\": ", f);
    nnci_json_str(f, d->advice);
    fputs("}", f);
  }
  fputs("\n  ],\n  \"epochs\": [", f);
  for (size_t k = 0; k < r->nepochs; k++) {
    const nnc_bs_epoch *e = &r->epochs[k];
    fprintf(f, "%s\n    {\"epoch\": %zu, \"step\": %zu, ", k ? "," : "",
            e->epoch, e->step);
    jnum(f, "lr", e->lr);
    fputs(", ", f);
    jnum(f, "batch_loss", e->batch_loss);
    fputs(", ", f);
    jnum(f, "train_loss", e->train_loss);
    fputs(", ", f);
    jnum(f, "train_acc", e->train_acc);
    fputs(", ", f);
    jnum(f, "val_loss", e->val_loss);
    fputs(", ", f);
    jnum(f, "val_acc", e->val_acc);
    fputs(", ", f);
    jnum(f, "gap", e->gap);
    fputs(", ", f);
    jnum(f, "ema_val_loss", e->ema_val_loss);
    fputs(", ", f);
    jnum(f, "ema_val_acc", e->ema_val_acc);
    fputs(", ", f);
    jnum(f, "filter_noise", e->filter_noise);
    fputs(", \"checkpoint\": ", f);
    nnci_json_str(f, e->checkpoint);
    fputs("}", f);
  }
  fputs("\n  ],\n  \"blocks\": [", f);
  for (size_t b = 0; b < r->nblocks; b++) {
    const nnc_bs_block *k = &r->blocks[b];
    fprintf(f, "%s\n    {\"name\": ", b ? "," : "");
    nnci_json_str(f, k->name);
    fprintf(f, ", \"count\": %zu, \"weight\": %s, ", k->count,
            k->weight ? "true" : "false");
    jnum(f, "norm0", k->norm0);
    fputs(", ", f);
    jnum(f, "ratio_late", k->ratio_late);
    fputs(", ", f);
    jarr(f, "ratio_epoch", k->ratio_epoch, r->nepochs, 1);
    fputs("}", f);
  }
  fputs("\n  ],\n  \"layers\": [", f);
  for (size_t i = 0; i < r->nprobes; i++) {
    const nnc_bs_probe *p = &r->probes[i];
    fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
    nnci_json_str(f, p->name);
    fprintf(f, ", \"kind\": \"%s\", \"units\": %zu, \"wblock\": ",
            kind_name(p->kind), p->units);
    nnci_json_str(f, p->wblock);
    fputs(", ", f);
    jnum(f, "w_rms0", p->w_rms0);
    fputs(", ", f);
    jnum(f, "w_ref", p->w_ref);
    fputs(", \"bblock\": ", f);
    nnci_json_str(f, p->bblock);
    fputs(", ", f);
    jnum(f, "b_mean0", p->b_mean0);
    fputs(",\n     \"init\": ", f);
    jlayer(f, &p->init);
    fputs(",\n     \"epochs\": [", f);
    for (size_t k = 0; k < r->nepochs; k++) {
      fputs(k ? ",\n      " : "\n      ", f);
      jlayer(f, &p->ep[k]);
    }
    fputs("]}", f);
  }
  fputs("\n  ],\n  \"filters\": ", f);
  if (r->filters.present) {
    fputs("{\"block\": ", f);
    nnci_json_str(f, r->filters.block);
    fprintf(f, ", \"channels\": %zu, \"height\": %zu, \"width\": %zu, "
               "\"count\": %zu, ",
            r->filters.channels, r->filters.height, r->filters.width,
            r->filters.nfilters);
    jnum(f, "noise0", r->filters.noise0);
    fputs(", ", f);
    jnum(f, "noise", r->filters.noise);
    fputs("}", f);
  } else {
    fputs("null", f);
  }
  fprintf(f, ",\n  \"steps\": {\"count\": %zu, ", r->nsteps);
  jarr(f, "epoch", r->step_epoch, r->nsteps, 1);
  fputs(",\n    ", f);
  jarr(f, "loss", r->step_loss, r->nsteps, 1);
  fputs(",\n    ", f);
  jarr(f, "trend", r->step_trend, r->nsteps, 1);
  fputs(",\n    ", f);
  jarr(f, "lr", r->step_lr, r->nsteps, 1);
  fputs("},\n  \"found\": ", f);
  fprintf(f, "%d,\n  \"error\": ", r->found);
  nnci_json_str(f, r->error == NNC_OK ? "" : r->error_msg);
  fprintf(f, ",\n  \"exit\": %d\n}\n", nnc_babysit_exit_status(r));
  return ferror(f) ? NNC_EIO : NNC_OK;
}
