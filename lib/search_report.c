/* search_report.c — the master: read a search directory at any time (the
 * workers may be running), rank the trials, check the borders, report as
 * text and JSON, plot through the plot layer, and write a Slurm script. */
#include "config.h"
#include "search_internal.h"
#include "json.h"
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int claim_live(const char *dir, size_t index, double lease)
{
  char path[4300];
  struct stat st, last;
  unsigned n = 0;
  for (;; n++) {
    snprintf(path, sizeof path, "%s/claims/trial%04zu.a%u", dir, index, n);
    if (stat(path, &st) != 0)
      break;
    last = st;
  }
  if (n == 0)
    return 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  double age = (double)(now.tv_sec - last.st_mtim.tv_sec) +
               1e-9 * (double)(now.tv_nsec - last.st_mtim.tv_nsec);
  return age < lease;
}

int nnc_search_summarize(const char *dir, nnc_search_summary **out, char *err,
                         size_t errlen)
{
  *out = NULL;
  nnc_search_summary *s = calloc(1, sizeof *s);
  if (!s)
    return NNC_ENOMEM;
  char path[4300];
  snprintf(path, sizeof path, "%s/space.txt", dir);
  int rc = nnc_search_space_load(path, &s->space, err, errlen);
  if (rc == NNC_ENOTFOUND)
    rc = nnci_search_fail(NNC_EARG, err, errlen,
                          "%s is not a search directory (no space.txt): "
                          "start one with `hpsearch init SPACE DIR`", dir);
  for (size_t k = 0; !rc && k < s->space.nstages; k++) {
    int lr = nnci_plan_load(dir, k, &s->plans[k], err, errlen);
    if (lr == 1)
      break;
    rc = lr;
    if (!rc)
      s->nplans++;
  }
  if (!rc && s->nplans == 0)
    rc = nnci_search_fail(NNC_EARG, err, errlen, "%s: no stage0.plan: start "
                          "the search with `hpsearch init SPACE DIR`", dir);
  if (rc) {
    free(s);
    return rc;
  }
  const nnc_search_plan *last = &s->plans[s->nplans - 1];
  s->ntrials = last->first + last->trials;
  s->trials = calloc(s->ntrials + 1, sizeof *s->trials);
  if (!s->trials) {
    free(s);
    return NNC_ENOMEM;
  }
  for (size_t k = 0; k < s->nplans; k++) {
    const nnc_search_plan *p = &s->plans[k];
    size_t ndone = 0;
    for (size_t i = p->first; i < p->first + p->trials; i++) {
      nnc_trial *t = &s->trials[i];
      t->index = i;
      t->stage = k;
      char tdir[4300];
      nnci_trial_dir(dir, i, tdir, sizeof tdir);
      int lr = nnci_trial_load(tdir, s->space.nparams, t);
      if (lr != 0) {
        /* not started, or a file caught mid-way by an old reader: pending */
        nnci_trial_clear(t);
        memset(t, 0, sizeof *t);
        t->index = i;
        t->stage = k;
        t->best_acc = t->best_loss = t->ema_acc = NAN;
        nnc_search_sample(p, s->space.seed, i, t->values);
      }
      if (t->status != NNC_TRIAL_PENDING) {
        ndone++;
        s->done++;
      } else if (claim_live(dir, i, s->space.lease))
        s->running++;
      else
        s->pending++;
    }
    if (ndone == p->trials) {
      nnc_border_warning w[NNC_SEARCH_MAX_PARAMS];
      size_t nw = nnc_search_border(&s->space, p, s->trials + p->first,
                                    p->trials, w);
      for (size_t j = 0; j < nw; j++) {
        s->warn_stage[s->nwarn] = k;
        s->warn[s->nwarn++] = w[j];
      }
      if (k + 1 == s->space.nstages)
        s->complete = 1;
    }
  }
  *out = s;
  return NNC_OK;
}

void nnc_search_summary_free(nnc_search_summary *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->ntrials; i++)
    nnci_trial_clear(&s->trials[i]);
  free(s->trials);
  free(s);
}

static int param_scale(const nnc_search_summary *s, const char *name)
{
  int j = nnci_param_index(&s->space, name);
  return j < 0 ? NNC_SCALE_LINEAR : s->space.params[j].scale;
}

/* Per stage: trials by status. */
static void stage_counts(const nnc_search_summary *s, size_t k, size_t *c)
{
  memset(c, 0, 5 * sizeof *c);
  const nnc_search_plan *p = &s->plans[k];
  for (size_t i = p->first; i < p->first + p->trials; i++)
    c[s->trials[i].status]++;
}

static size_t ranked(const nnc_search_summary *s, const nnc_trial ***order)
{
  *order = malloc((s->ntrials + 1) * sizeof **order);
  if (!*order)
    return 0;
  return nnci_rank(s->trials, s->ntrials, *order);
}

int nnc_search_report_text(const nnc_search_summary *s, size_t top, FILE *f)
{
  const nnc_search_space *sp = &s->space;
  fprintf(f, "search: plugin %s, seed %llu, %zu stage%s: %zu of %zu planned "
             "trials done, %zu running, %zu waiting%s\n",
          sp->plugin, (unsigned long long)sp->seed, sp->nstages,
          sp->nstages == 1 ? "" : "s", s->done, s->ntrials, s->running,
          s->pending, s->complete ? "; complete" : "");
  for (size_t k = 0; k < s->nplans; k++) {
    const nnc_search_plan *p = &s->plans[k];
    size_t c[5];
    stage_counts(s, k, c);
    fprintf(f, "stage %zu %s: %zu trials of %g epochs: %zu ok, %zu stopped "
               "early, %zu diverged, %zu failed, %zu not done\n",
            k, sp->stages[k].name, p->trials, p->epochs, c[NNC_TRIAL_OK],
            c[NNC_TRIAL_STOPPED], c[NNC_TRIAL_DIVERGED], c[NNC_TRIAL_FAILED],
            c[NNC_TRIAL_PENDING]);
    for (size_t j = 0; j < p->nparams; j++)
      fprintf(f, "  %-10s %-6s [%.4g, %.4g]\n", p->params[j].name,
              nnc_scale_name(p->params[j].scale), p->params[j].lo,
              p->params[j].hi);
    for (size_t r = 0; r < p->nrungs; r++)
      fprintf(f, "  rung: stop at epoch %zu below validation accuracy %.4f\n",
              p->rung_epoch[r], p->rung_min[r]);
  }
  const nnc_trial **order;
  size_t nu = ranked(s, &order);
  size_t n = top && top < nu ? top : nu;
  fprintf(f, "best trials (validation accuracy, one fold):\n");
  fprintf(f, "  %-4s %-9s %-5s %-8s %-8s %-5s %-8s", "rank", "trial", "stage",
          "val_acc", "val_loss", "epoch", "ema_acc");
  for (size_t j = 0; j < sp->nparams; j++)
    fprintf(f, " %-11s", sp->params[j].name);
  fputc('\n', f);
  for (size_t i = 0; i < n; i++) {
    const nnc_trial *t = order[i];
    fprintf(f, "  %-4zu trial%04zu %-5zu %-8.4f %-8.4g %-5zu %-8.4f", i + 1,
            t->index, t->stage, t->best_acc, t->best_loss, t->best_epoch,
            t->ema_acc);
    for (size_t j = 0; j < sp->nparams; j++)
      fprintf(f, " %-11.4g", t->values[j]);
    fputc('\n', f);
  }
  if (nu == 0)
    fputs("  (no trial has a validation accuracy yet)\n", f);
  free(order);
  for (size_t i = 0; i < s->ntrials; i++)
    if (s->trials[i].status == NNC_TRIAL_FAILED)
      fprintf(f, "failed: trial%04zu: %s\n", i, s->trials[i].error);
  for (size_t w = 0; w < s->nwarn; w++) {
    char buf[512];
    nnc_border_format(&s->warn[w], param_scale(s, s->warn[w].param), buf,
                      sizeof buf);
    fprintf(f, "warning: stage %zu: %s\n", s->warn_stage[w], buf);
  }
  return ferror(f) ? NNC_EIO : NNC_OK;
}

int nnc_search_report_json(const nnc_search_summary *s, size_t top, FILE *f)
{
  const nnc_search_space *sp = &s->space;
  nnci_json_head(f, "hpsearch", NNCI_SCHEMA_HPSEARCH);
  fputs("\n \"plugin\": ", f);
  nnci_json_str(f, sp->plugin);
  fprintf(f, ", \"seed\": %llu, \"trials\": %zu, \"done\": %zu, "
             "\"running\": %zu, \"waiting\": %zu, \"complete\": %s,\n",
          (unsigned long long)sp->seed, s->ntrials, s->done, s->running,
          s->pending, s->complete ? "true" : "false");
  fputs(" \"stages\": [", f);
  for (size_t k = 0; k < s->nplans; k++) {
    const nnc_search_plan *p = &s->plans[k];
    size_t c[5];
    stage_counts(s, k, c);
    fprintf(f, "%s\n  {\"name\": ", k ? "," : "");
    nnci_json_str(f, sp->stages[k].name);
    fprintf(f, ", \"first\": %zu, \"trials\": %zu, \"epochs\": ", p->first,
            p->trials);
    nnci_json_num(f, p->epochs);
    fprintf(f, ", \"ok\": %zu, \"stopped\": %zu, \"diverged\": %zu, "
               "\"failed\": %zu, \"ranges\": {",
            c[NNC_TRIAL_OK], c[NNC_TRIAL_STOPPED], c[NNC_TRIAL_DIVERGED],
            c[NNC_TRIAL_FAILED]);
    for (size_t j = 0; j < p->nparams; j++) {
      fprintf(f, "%s\"%s\": {\"scale\": \"%s\", \"lo\": ", j ? ", " : "",
              p->params[j].name, nnc_scale_name(p->params[j].scale));
      nnci_json_num(f, p->params[j].lo);
      fputs(", \"hi\": ", f);
      nnci_json_num(f, p->params[j].hi);
      fputc('}', f);
    }
    fputs("}, \"rungs\": [", f);
    for (size_t r = 0; r < p->nrungs; r++) {
      fprintf(f, "%s{\"epoch\": %zu, \"min_acc\": ", r ? ", " : "",
              p->rung_epoch[r]);
      nnci_json_num(f, p->rung_min[r]);
      fputc('}', f);
    }
    fputs("]}", f);
  }
  fputs("],\n \"best\": [", f);
  const nnc_trial **order;
  size_t nu = ranked(s, &order);
  size_t n = top && top < nu ? top : nu;
  for (size_t i = 0; i < n; i++) {
    const nnc_trial *t = order[i];
    fprintf(f, "%s\n  {\"trial\": %zu, \"stage\": %zu, \"status\": \"%s\", "
               "\"val_acc\": ",
            i ? "," : "", t->index, t->stage, nnc_trial_status_name(t->status));
    nnci_json_num(f, t->best_acc);
    fputs(", \"val_loss\": ", f);
    nnci_json_num(f, t->best_loss);
    fprintf(f, ", \"epoch\": %zu, \"ema_acc\": ", t->best_epoch);
    nnci_json_num(f, t->ema_acc);
    fputs(", \"params\": {", f);
    for (size_t j = 0; j < sp->nparams; j++) {
      fprintf(f, "%s\"%s\": ", j ? ", " : "", sp->params[j].name);
      nnci_json_num(f, t->values[j]);
    }
    fputs("}}", f);
  }
  free(order);
  fputs("],\n \"all\": [", f);
  for (size_t i = 0; i < s->ntrials; i++) {
    const nnc_trial *t = &s->trials[i];
    fprintf(f, "%s\n  {\"trial\": %zu, \"status\": \"%s\", \"val_acc\": ",
            i ? "," : "", i, nnc_trial_status_name(t->status));
    nnci_json_num(f, t->best_acc);
    fputc('}', f);
  }
  fputs("],\n \"warnings\": [", f);
  for (size_t w = 0; w < s->nwarn; w++) {
    const nnc_border_warning *b = &s->warn[w];
    char buf[512];
    nnc_border_format(b, param_scale(s, b->param), buf, sizeof buf);
    fprintf(f, "%s\n  {\"stage\": %zu, \"param\": ", w ? "," : "",
            s->warn_stage[w]);
    nnci_json_str(f, b->param);
    fprintf(f, ", \"border\": \"%s\", \"value\": ", b->upper ? "upper" : "lower");
    nnci_json_num(f, b->value);
    fputs(", \"proposed_lo\": ", f);
    nnci_json_num(f, b->new_lo);
    fputs(", \"proposed_hi\": ", f);
    nnci_json_num(f, b->new_hi);
    fprintf(f, ", \"at_limit\": %s, \"text\": ", b->at_limit ? "true" : "false");
    nnci_json_str(f, buf);
    fputc('}', f);
  }
  fputs("]}\n", f);
  return ferror(f) ? NNC_EIO : NNC_OK;
}

static const char *const stage_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                           "#d62728", "#9467bd", "#8c564b",
                                           "#e377c2", "#7f7f7f"};

int nnc_search_plots(const nnc_search_summary *s, size_t top,
                     const char *pdir, char **text, char *err, size_t errlen)
{
  const nnc_search_space *sp = &s->space;
  int rc = NNC_OK, unrendered = 0;
  size_t n = s->ntrials;
  double *xs = malloc((n + 1) * sizeof *xs), *ys = malloc((n + 1) * sizeof *ys);
  if (!xs || !ys) {
    free(xs);
    free(ys);
    return NNC_ENOMEM;
  }
  for (size_t j = 0; j < sp->nparams && rc >= 0; j++) {
    nnc_plot_series ser[NNC_SEARCH_MAX_STAGES];
    char labels[NNC_SEARCH_MAX_STAGES][64];
    size_t ns = 0, off = 0;
    for (size_t k = 0; k < s->nplans; k++) {
      const nnc_search_plan *p = &s->plans[k];
      size_t c = 0;
      for (size_t i = p->first; i < p->first + p->trials; i++) {
        const nnc_trial *t = &s->trials[i];
        if (!isfinite(t->best_acc))
          continue;
        xs[off + c] = t->values[j];
        ys[off + c] = t->best_acc;
        c++;
      }
      if (!c)
        continue;
      snprintf(labels[ns], sizeof labels[ns], "stage %zu %s", k,
               sp->stages[k].name);
      memset(&ser[ns], 0, sizeof ser[ns]);
      ser[ns].label = labels[ns];
      ser[ns].style = NNC_PLOT_POINTS;
      ser[ns].n = c;
      ser[ns].x = xs + off;
      ser[ns].y = ys + off;
      ser[ns].color = stage_colors[k % 8];
      ser[ns].point_type = 7;
      ns++;
      off += c;
    }
    if (!ns)
      continue;
    char name[80], title[128], xl[96];
    snprintf(name, sizeof name, "hp_%s", sp->params[j].name);
    snprintf(title, sizeof title, "validation accuracy against %s",
             sp->params[j].name);
    snprintf(xl, sizeof xl, "%s (%s scale)", sp->params[j].name,
             nnc_scale_name(sp->params[j].scale));
    nnc_plot p;
    nnc_plot_init(&p, name);
    p.title = title;
    p.xlabel = xl;
    p.ylabel = "best validation accuracy";
    p.logx = sp->params[j].scale == NNC_SCALE_LOG ||
             sp->params[j].scale == NNC_SCALE_LOGINT;
    p.nseries = ns;
    p.series = ser;
    rc = nnc_plot_emit(&p, pdir, text, err, errlen);
    if (rc == NNC_PLOT_UNRENDERED) {
      unrendered = 1;
      rc = NNC_OK;
    }
  }
  free(xs);
  free(ys);
  if (rc < 0)
    return rc;
  const nnc_trial **order;
  size_t nu = ranked(s, &order);
  size_t k = nu < (top ? top : 5) ? nu : (top ? top : 5);
  if (k > 8)
    k = 8;
  nnc_plot_series ser[8];
  char labels[8][64];
  size_t ns = 0;
  for (size_t i = 0; i < k; i++) {
    const nnc_trial *t = order[i];
    if (!t->nsteps)
      continue;
    snprintf(labels[ns], sizeof labels[ns], "trial%04zu (%.3f)", t->index,
             t->best_acc);
    memset(&ser[ns], 0, sizeof ser[ns]);
    ser[ns].label = labels[ns];
    ser[ns].style = NNC_PLOT_LINES;
    ser[ns].n = t->nsteps;
    ser[ns].x = t->step_epoch;
    ser[ns].y = t->step_loss;
    ns++;
  }
  if (ns) {
    nnc_plot p;
    nnc_plot_init(&p, "hp_curves");
    p.title = "training loss of the best trials";
    p.xlabel = "epoch";
    p.ylabel = "mini-batch loss";
    p.nseries = ns;
    p.series = ser;
    rc = nnc_plot_emit(&p, pdir, text, err, errlen);
    if (rc == NNC_PLOT_UNRENDERED) {
      unrendered = 1;
      rc = NNC_OK;
    }
  }
  free(order);
  if (rc < 0)
    return rc;
  return unrendered ? NNC_PLOT_UNRENDERED : NNC_OK;
}

int nnc_search_sbatch(const char *dir, const char *exe, size_t nworkers,
                      const char *partition, const char *const *env, FILE *f)
{
  if (nworkers == 0)
    nworkers = 1;
  fprintf(f, "#!/bin/sh\n"
             "# A Slurm job array of hyperparameter-search workers: each task\n"
             "# claims trials from the shared directory until the search is\n"
             "# done; which task runs which trial does not change any result.\n"
             "#SBATCH --job-name=hpsearch\n"
             "#SBATCH --array=0-%zu\n"
             "#SBATCH --ntasks=1\n"
             "#SBATCH --cpus-per-task=1\n"
             "#SBATCH --output=%s/slurm-%%A_%%a.out\n",
          nworkers - 1, dir);
  if (partition && *partition)
    fprintf(f, "#SBATCH --partition=%s\n", partition);
  for (size_t i = 0; env && env[i]; i++) {
    const char *eq = strchr(env[i], '=');
    if (!eq)
      continue;
    fprintf(f, "%.*s='", (int)(eq - env[i]), env[i]);
    for (const char *c = eq + 1; *c; c++)
      fputs(*c == '\'' ? "'\\''" : (char[]){*c, 0}, f);
    fprintf(f, "'\nexport %.*s\n", (int)(eq - env[i]), env[i]);
  }
  fprintf(f, "exec '%s' worker '%s'\n", exe, dir);
  return ferror(f) ? NNC_EIO : NNC_OK;
}
