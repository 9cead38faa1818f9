/* sanity reports: a human table, JSON and TAP.
 *
 * Every verdict is printed beside what a correct net gives and what this
 * one gave, followed by a paragraph saying how it was measured and why the
 * verdict; failures end with the command that reproduces them.  Nothing
 * depends on time or addresses: one seed, one report. */
#include "config.h"
#include "json.h"
#include "sanity_internal.h"
#include <math.h>
#include <string.h>

static const char *kind_name(uint32_t kind)
{
  return kind == NNC_KIND_NET ? "net" : "layer";
}

static const char *item_verdict(const nnc_sanity_result *r, int i)
{
  if (r->error && i == r->error_check)
    return "ERROR";
  return nnc_verdict_name((int)r->items[i].verdict);
}

static size_t count_verdict(const nnc_sanity_result *r, uint32_t v)
{
  size_t n = 0;
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++)
    n += r->items[i].verdict == v && !(r->error && i == r->error_check);
  return n;
}

static void shell_quote(FILE *f, const char *s)
{
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'')
      fputs("'\\''", f);
    else
      fputc(*s, f);
  }
  fputc('\'', f);
}

static void shell_word(FILE *f, const char *s)
{
  for (const char *p = s; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_-./+=:,", *p)) {
      shell_quote(f, s);
      return;
    }
  fputs(s, f);
}

static void reproduce_line(const nnc_sanity_result *r, FILE *f,
                           const char *prefix)
{
  fprintf(f, "%ssanity ", prefix);
  shell_word(f, r->spec[0] ? r->spec : r->path[0] ? r->path : r->plugin);
  if (r->args[0]) {
    fputs(" --args ", f);
    shell_quote(f, r->args);
  }
  fprintf(f, " --seed %llu", (unsigned long long)r->seed);
  if (r->opts.subset != 20)
    fprintf(f, " --subset %zu", r->opts.subset);
  if (r->opts.epochs != 300)
    fprintf(f, " --epochs %zu", r->opts.epochs);
  fputc('\n', f);
}

int nnc_sanity_report_text(const nnc_sanity_result *r, FILE *f)
{
  const nnc_sanity_opts *o = &r->opts;
  fprintf(f, "sanity: %s (%s)%s%s%s, seed %llu\n", r->plugin,
          kind_name(r->kind), r->args[0] ? ", args \"" : "", r->args,
          r->args[0] ? "\"" : "", (unsigned long long)r->seed);
  if (r->kind == NNC_KIND_NET) {
    fprintf(f, "sample: %zu seeded training examples (chance, reg, init); "
               "overfit and baseline: %zu, Adam with full-subset batches at "
               "learning rates",
            o->sample < r->n_train ? o->sample : r->n_train,
            o->subset < r->n_train ? o->subset : r->n_train);
    for (size_t k = 0; k < o->nlr; k++)
      fprintf(f, " %g", o->lr[k]);
    fprintf(f, " in turn, %zu epochs each", o->epochs);
    if (o->extend > 1)
      fprintf(f, " (then %zu for the best that learnt)",
              o->extend * o->epochs);
    fputc('\n', f);
  }
  fprintf(f, "\n%-9s %-12s %-54s %s\n", "check", "verdict", "expected",
          "measured");
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++)
    fprintf(f, "%-9s %-12s %-54s %s\n", nnc_sanity_name(i), item_verdict(r, i),
            r->items[i].expected, r->items[i].measured);
  fputc('\n', f);
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++)
    fprintf(f, "%s: %s\n", nnc_sanity_name(i), r->items[i].detail);
  if (r->error != NNC_OK) {
    fprintf(f, "\nerror: %s\n", r->error_msg);
    fprintf(f, "verdict: ERROR (%s) -- exit %d\n", nnc_err_name(r->error),
            nnc_sanity_exit_status(r));
    return NNC_OK;
  }
  size_t nfail = count_verdict(r, NNC_FAIL);
  if (nfail) {
    fputc('\n', f);
    reproduce_line(r, f, "reproduce: ");
  }
  fprintf(f, "\nverdict: %s (%zu PASS, %zu WARN, %zu FAIL, %zu SKIP, %zu "
             "INCONCLUSIVE) -- exit %d\n",
          nnc_verdict_name((int)r->verdict), count_verdict(r, NNC_PASS),
          count_verdict(r, NNC_WARN), nfail, count_verdict(r, NNC_SKIP),
          count_verdict(r, NNC_INCONCLUSIVE), nnc_sanity_exit_status(r));
  return NNC_OK;
}

/* ---- JSON ------------------------------------------------------------- */



static void jarr(FILE *f, const double *v, size_t n)
{
  fputc('[', f);
  for (size_t k = 0; k < n; k++) {
    if (k)
      fputs(", ", f);
    nnci_json_num(f, v[k]);
  }
  fputc(']', f);
}

static void jbool(FILE *f, const char *key, int v, int comma)
{
  fprintf(f, "%s\"%s\": %s", comma ? ", " : "", key, v ? "true" : "false");
}

static void jrun(FILE *f, const nnc_sanity_run *run)
{
  fputs("{\"lr\": ", f);
  nnci_json_num(f, run->lr);
  fprintf(f, ", \"epochs\": %zu, \"loss0\": ", run->nepochs);
  nnci_json_num(f, run->loss0);
  fputs(", \"loss_end\": ", f);
  nnci_json_num(f, run->loss_end);
  fputs(", \"loss_min\": ", f);
  nnci_json_num(f, run->loss_min);
  fputs(", \"acc_end\": ", f);
  nnci_json_num(f, run->acc_end);
  fprintf(f, ", \"reached\": %zu", run->reached);
  jbool(f, "extended", run->extended, 1);
  jbool(f, "diverged", run->diverged, 1);
  fputs(", \"loss\": ", f);
  jarr(f, run->loss, run->loss ? run->nepochs + 1 : 0);
  fputs(", \"acc\": ", f);
  jarr(f, run->acc, run->acc ? run->nepochs + 1 : 0);
  fputc('}', f);
}

static void jdata(FILE *f, const nnc_sanity_result *r, int i)
{
  if (r->items[i].verdict == NNC_SKIP) {
    fputs("null", f);
    return;
  }
  switch (i) {
  case NNC_SANITY_CHANCE: {
    const struct nnc_sanity_chance *c = &r->chance;
    fputs("{\"expected\": ", f);
    nnci_json_num(f, c->expected);
    fputs(", \"entropy\": ", f);
    nnci_json_num(f, c->entropy);
    fputs(", \"mean\": ", f);
    nnci_json_num(f, c->mean);
    fputs(", \"sd\": ", f);
    nnci_json_num(f, c->sd);
    fputs(", \"se\": ", f);
    nnci_json_num(f, c->se);
    fputs(", \"tol\": ", f);
    nnci_json_num(f, c->tol);
    fprintf(f, ", \"n\": %zu", c->n);
    jbool(f, "reinit", c->reinit, 1);
    jbool(f, "reg_zeroed", c->reg_zeroed, 1);
    fputs(", \"losses\": ", f);
    jarr(f, c->loss, c->loss ? (c->n ? c->n : 1) : 0);
    fputc('}', f);
    break;
  }
  case NNC_SANITY_REG: {
    const struct nnc_sanity_reg *g = &r->reg;
    fputs("{\"lambda\": ", f);
    jarr(f, g->lambda, g->n);
    fputs(", \"total\": ", f);
    jarr(f, g->total, g->n);
    fputs(", \"reg\": ", f);
    jarr(f, g->part, g->n);
    fputs(", \"data\": ", f);
    nnci_json_num(f, g->data);
    fputs(", \"grad_norm\": ", f);
    nnci_json_num(f, g->grad_norm);
    fputc('}', f);
    break;
  }
  case NNC_SANITY_OVERFIT: {
    const struct nnc_sanity_overfit *o = &r->overfit;
    fprintf(f, "{\"subset\": %zu, \"index\": [", o->subset);
    for (size_t k = 0; o->index && k < o->subset; k++)
      fprintf(f, "%s%zu", k ? ", " : "", o->index[k]);
    fputs("], \"target\": ", f);
    nnci_json_num(f, o->target);
    fprintf(f, ", \"chosen\": %ld, \"best\": %ld, \"probe\": {\"analytic\": ",
            o->chosen, o->best);
    nnci_json_num(f, o->probe_analytic);
    fputs(", \"numeric\": ", f);
    nnci_json_num(f, o->probe_numeric);
    fputs(", \"relerr\": ", f);
    nnci_json_num(f, o->probe_relerr);
    fputs("}, \"runs\": [", f);
    for (size_t k = 0; k < o->nruns; k++) {
      fputs(k ? ",\n        " : "\n        ", f);
      jrun(f, &o->runs[k]);
    }
    fputs("]}", f);
    break;
  }
  case NNC_SANITY_BASELINE: {
    const struct nnc_sanity_baseline *b = &r->baseline;
    fputs("{\"majority\": ", f);
    nnci_json_num(f, b->majority);
    fputs(", \"entropy\": ", f);
    nnci_json_num(f, b->entropy);
    fputs(",\n        \"real\": ", f);
    jrun(f, &b->real);
    fputs(",\n        \"zero\": ", f);
    jrun(f, &b->zero);
    fputc('}', f);
    break;
  }
  default: {
    const struct nnc_sanity_init *in = &r->init;
    fprintf(f, "{\"n\": %zu", in->n);
    jbool(f, "reinit", in->reinit, 1);
    fputs(", \"probes\": [", f);
    for (size_t k = 0; k < in->nprobes; k++) {
      const nnc_sanity_probe *p = &in->probes[k];
      fputs(k ? ",\n        {\"name\": " : "\n        {\"name\": ", f);
      nnci_json_str(f, p->name);
      fprintf(f, ", \"kind\": %u, \"units\": %zu, \"examples\": %zu, "
                 "\"frac\": ",
              p->kind, p->units, p->examples);
      nnci_json_num(f, p->frac);
      fputs(", \"mean_abs\": ", f);
      nnci_json_num(f, p->mean_abs);
      fputs(", \"weight\": ", f);
      nnci_json_str(f, p->wblock);
      fputs(", \"weight_rms\": ", f);
      nnci_json_num(f, p->w_rms);
      fputs(", \"weight_ref\": ", f);
      nnci_json_num(f, p->w_ref);
      fputs(", \"bias\": ", f);
      nnci_json_str(f, p->bblock);
      fputs(", \"bias_mean\": ", f);
      nnci_json_num(f, p->b_mean);
      fprintf(f, ", \"verdict\": \"%s\"}", nnc_verdict_name((int)p->verdict));
    }
    fputs("]}", f);
  }
  }
}

int nnc_sanity_report_json(const nnc_sanity_result *r, FILE *f)
{
  const nnc_sanity_opts *o = &r->opts;
  nnci_json_head(f, "sanity", NNCI_SCHEMA_SANITY);
  fputs("\n  \"plugin\": ", f);
  nnci_json_str(f, r->plugin);
  fputs(",\n  \"spec\": ", f);
  nnci_json_str(f, r->spec);
  fputs(",\n  \"path\": ", f);
  nnci_json_str(f, r->path);
  fputs(",\n  \"args\": ", f);
  nnci_json_str(f, r->args);
  fprintf(f, ",\n  \"kind\": \"%s\",\n  \"seed\": %llu,\n  \"options\": "
             "{\"sample\": %zu, \"subset\": %zu, \"epochs\": %zu, "
             "\"tiny_scale\": ",
          kind_name(r->kind), (unsigned long long)r->seed, o->sample,
          o->subset, o->epochs);
  nnci_json_num(f, o->tiny_scale);
  fputs(", \"z\": ", f);
  nnci_json_num(f, o->z);
  fputs(", \"floor_rel\": ", f);
  nnci_json_num(f, o->floor_rel);
  fprintf(f, ", \"extend\": %zu, \"learn_rel\": ", o->extend);
  nnci_json_num(f, o->learn_rel);
  fputs(", \"reg\": ", f);
  jarr(f, o->reg, o->nreg);
  fputs(", \"lr\": ", f);
  jarr(f, o->lr, o->nlr);
  fputs(", \"target_rel\": ", f);
  nnci_json_num(f, o->target_rel);
  fputs(", \"target_abs\": ", f);
  nnci_json_num(f, o->target_abs);
  fputs(", \"baseline_margin\": ", f);
  nnci_json_num(f, o->baseline_margin);
  fputs(", \"warn_frac\": ", f);
  nnci_json_num(f, o->warn_frac);
  fputs(", \"fail_frac\": ", f);
  nnci_json_num(f, o->fail_frac);
  fputs(", \"sat_level\": ", f);
  nnci_json_num(f, o->sat_level);
  fputs("},\n  \"offers\": {", f);
  jbool(f, "net_info", r->has_info, 0);
  jbool(f, "predict", r->has_predict, 1);
  jbool(f, "reinit", r->has_reinit, 1);
  jbool(f, "set_hyper", r->has_hyper, 1);
  jbool(f, "probes", r->has_probes, 1);
  jbool(f, "zero_input", r->has_zero, 1);
  fprintf(f, "},\n  \"n_train\": %zu,\n  \"n_classes\": %u,\n  \"checks\": [",
          r->n_train, r->n_classes);
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++) {
    const nnc_sanity_item *it = &r->items[i];
    fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
    nnci_json_str(f, nnc_sanity_name(i));
    fputs(", \"verdict\": ", f);
    nnci_json_str(f, item_verdict(r, i));
    fputs(", \"expected\": ", f);
    nnci_json_str(f, it->expected);
    fputs(", \"measured\": ", f);
    nnci_json_str(f, it->measured);
    fputs(",\n      \"detail\": ", f);
    nnci_json_str(f, it->detail);
    fputs(",\n      \"data\": ", f);
    jdata(f, r, i);
    fputc('}', f);
  }
  fputs("\n  ],\n  \"error\": ", f);
  if (r->error != NNC_OK)
    nnci_json_str(f, r->error_msg);
  else
    fputs("null", f);
  fprintf(f, ",\n  \"verdict\": \"%s\",\n  \"exit\": %d\n}\n",
          r->error != NNC_OK ? "ERROR" : nnc_verdict_name((int)r->verdict),
          nnc_sanity_exit_status(r));
  return NNC_OK;
}

/* ---- TAP -------------------------------------------------------------- */

int nnc_sanity_report_tap(const nnc_sanity_result *r, FILE *f)
{
  fprintf(f, "TAP version 13\n1..%d\n",
          NNC_SANITY_NCHECKS + (r->error != NNC_OK));
  int t = 0;
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++) {
    const nnc_sanity_item *it = &r->items[i];
    int bad = it->verdict == NNC_FAIL || (r->error && i == r->error_check);
    fprintf(f, "%s %d - %s %s: expected %s, measured %s",
            bad ? "not ok" : "ok", ++t, r->plugin, nnc_sanity_name(i),
            it->expected, it->measured);
    if (it->verdict == NNC_SKIP)
      fprintf(f, " # SKIP %s", it->detail);
    else if (it->verdict == NNC_WARN)
      fputs(" # warn", f);
    else if (it->verdict == NNC_INCONCLUSIVE && !bad)
      fputs(" # inconclusive", f);
    fputc('\n', f);
    if (it->verdict != NNC_SKIP)
      fprintf(f, "# %s\n", it->detail);
    if (it->verdict == NNC_FAIL)
      reproduce_line(r, f, "# reproduce: ");
  }
  if (r->error != NNC_OK)
    fprintf(f, "not ok %d - %s: %s\n", ++t, nnc_err_name(r->error),
            r->error_msg);
  return NNC_OK;
}
