/* gradcheck reports: a human table, JSON and TAP.
 *
 * Every verdict is printed beside the numbers and the band that decided it,
 * so a reader can see why; every failure gets one line that reproduces it.
 * Nothing here depends on time or addresses: one seed, one report. */
#include "config.h"
#include "json.h"
#include "model.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *part_name(uint32_t kind, uint32_t part)
{
  if (kind == NNC_KIND_LAYER)
    return "layer";
  switch (part) {
  case NNC_F_DATA: return "data";
  case NNC_F_REG: return "reg";
  default: return "data+reg";
  }
}

static const char *part_flag(uint32_t part)
{
  switch (part) {
  case NNC_F_DATA: return "data";
  case NNC_F_REG: return "reg";
  default: return "all";
  }
}

/* The notes' band a coordinate fell in, after depth and precision. */
static const char *why_text(uint32_t why)
{
  switch (why) {
  case NNC_WHY_NOISE: return "noise floor above the signal";
  case NNC_WHY_FLOAT: return "float32 resolution";
  case NNC_WHY_KINK: return "on a kink, no point off it testable";
  default: return "";
  }
}

static const char *why_advice(uint32_t why)
{
  switch (why) {
  case NNC_WHY_NOISE:
    return "scale the loss up (e.g. by 1e4), or use more datapoints";
  case NNC_WHY_FLOAT:
    return "build the plugin in double for this check";
  case NNC_WHY_KINK:
    return "try another --seed or fewer --examples";
  default: return "";
  }
}

static const char *band_of(const nnc_gc_block *b, const nnc_gc_coord *c)
{
  if (c->verdict == NNC_INCONCLUSIVE)
    return "inconclusive";
  if (c->flags & NNC_GC_ZERO)
    return "both zero";
  if ((c->flags & NNC_GC_AT_KINK) && c->verdict != NNC_FAIL)
    return "subgradient";
  if ((c->flags & NNC_GC_ESCALATED) && c->verdict == NNC_PASS &&
      c->relerr > b->pass_tol)
    return "in error bar";
  if (c->flags & NNC_GC_NOISE)
    return "within round-off";
  double happy = (b->dtype == NNC_F32 ? 1e-4 : 1e-7) * b->relax;
  if (c->relerr <= happy)
    return "happy";
  if (c->relerr <= b->pass_tol)
    return "ok";
  if (c->relerr <= b->fail_tol)
    return "uncomfortable";
  return "wrong";
}

static size_t count_verdict(const nnc_gradcheck_result *r, uint32_t v)
{
  size_t n = 0;
  for (size_t k = 0; k < r->nblocks; k++)
    n += r->blocks[k].verdict == v;
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

/* A word as is when the shell would keep it so, quoted otherwise. */
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

static void reproduce_line(const nnc_gradcheck_result *r,
                           const nnc_gc_block *b, const nnc_gc_coord *c,
                           FILE *f, const char *prefix)
{
  fprintf(f, "%sgradcheck ", prefix);
  shell_word(f, r->spec[0] ? r->spec : r->path[0] ? r->path : r->plugin);
  if (r->args[0]) {
    fputs(" --args ", f);
    shell_quote(f, r->args);
  }
  fprintf(f, " --seed %llu", (unsigned long long)r->seed);
  if (!b || !c) { /* an audit: the whole run reproduces it */
    fputc('\n', f);
    return;
  }
  if (r->kind == NNC_KIND_NET)
    fprintf(f, " --part %s", part_flag(b->part));
  if (c->flags & (NNC_GC_TIED | NNC_GC_PROJECTION))
    fprintf(f, " --block %s%s\n", b->name,
            (c->flags & NNC_GC_PROJECTION) ? " --project" : "");
  else
    fprintf(f, " --block %s --index %zu --h %.3g\n", b->name, c->index, c->h);
}

/* What was done at each kink: which step dodged it, or the one-sided
 * derivatives, the subgradient test and the jittered re-tests. */
static void kinks_section(const nnc_gradcheck_result *r, FILE *f)
{
  size_t shown = 0, total = 0;
  for (size_t k = 0; k < r->nblocks; k++)
    for (size_t q = 0; q < r->blocks[k].ncoords; q++)
      total += (r->blocks[k].coords[q].flags & NNC_GC_KINK) != 0;
  if (!total)
    return;
  fprintf(f, "\nkinks (%zu entr%s; detected by %s):\n", total,
          total == 1 ? "y" : "ies",
          r->has_winners ? "the winner fingerprint"
                         : "one-sided differences that disagree");
  for (size_t k = 0; k < r->nblocks && shown < 20; k++) {
    const nnc_gc_block *b = &r->blocks[k];
    for (size_t q = 0; q < b->ncoords && shown < 20; q++) {
      const nnc_gc_coord *c = &b->coords[q];
      if (!(c->flags & NNC_GC_KINK))
        continue;
      shown++;
      fprintf(f, "- %s %s[%zu]: ", part_name(r->kind, b->part), b->name,
              c->index);
      if (c->flags & NNC_GC_PROJECTION)
        fprintf(f, "probe crossed a kink at every step: replaced by another");
      else if (c->flags & NNC_GC_KINK_RESOLVED)
        fprintf(f, "crossed a kink; a step of %.3g avoided it", c->h);
      else if (c->flags & NNC_GC_AT_KINK)
        fprintf(f, "on a kink at every step: one-sided %.6g | %.6g, "
                   "analytic %.6g %s%s",
                c->d_minus, c->d_plus, c->analytic,
                (c->flags & NNC_GC_SUBGRADIENT)
                    ? "is a valid subgradient"
                    : "is NOT between them",
                (c->flags & NNC_GC_JITTER)
                    ? "; re-tested just off the kink: right"
                    : (c->flags & NNC_GC_SUBGRADIENT) &&
                              c->verdict == NNC_FAIL
                          ? "; re-tested just off the kink: WRONG"
                          : "");
      fprintf(f, ": %s\n", nnc_verdict_name((int)c->verdict));
    }
  }
  if (shown < total)
    fprintf(f, "- ... %zu more in --json\n", total - shown);
}

static void inconclusive_section(const nnc_gradcheck_result *r, FILE *f)
{
  size_t shown = 0;
  for (size_t k = 0; k < r->nblocks; k++) {
    const nnc_gc_block *b = &r->blocks[k];
    for (size_t q = 0; q < b->ncoords && shown < 20; q++) {
      const nnc_gc_coord *c = &b->coords[q];
      if (c->verdict != NNC_INCONCLUSIVE)
        continue;
      if (!shown++)
        fprintf(f, "\ninconclusive (the numbers carry no verdict%s):\n",
                r->strict ? "; --strict fails them" : "");
      fprintf(f, "- %s %s[%zu]: %s (a = %.6g, n = %.6g, error bar +-%.3g): "
                 "%s\n",
              part_name(r->kind, b->part), b->name, c->index,
              why_text(c->why), c->analytic, c->numeric, c->errbar,
              why_advice(c->why));
    }
  }
}

static int text_report(const nnc_gradcheck_result *r, FILE *f, int brief);

int nnc_gradcheck_report_text(const nnc_gradcheck_result *r, FILE *f)
{
  return text_report(r, f, 0);
}

int nnc_gradcheck_report_brief(const nnc_gradcheck_result *r, FILE *f)
{
  return text_report(r, f, 1);
}

static int text_report(const nnc_gradcheck_result *r, FILE *f, int brief)
{
  fprintf(f, "gradcheck: %s (%s)%s%s%s, seed %llu\n", r->plugin,
          r->kind == NNC_KIND_NET ? "net" : "layer",
          r->args[0] ? ", args \"" : "", r->args, r->args[0] ? "\"" : "",
          (unsigned long long)r->seed);
  size_t nfail = count_verdict(r, NNC_FAIL), nwarn = count_verdict(r, NNC_WARN);
  if (brief)
    goto failures;
  if (r->kind == NNC_KIND_NET) {
    if (r->examples)
      fprintf(f, "datapoints: %zu training examples (few datapoints: fewer "
                 "kinks, faster)\n",
              r->examples);
    else
      fprintf(f, "datapoints: the plugin's own batch (it gives no dataset "
                 "to choose from)\n");
    if (r->burn_in_steps)
      fprintf(f, "burn-in: %zu SGD steps before checking, loss %.6g -> "
                 "%.6g%s\n",
              r->burn_in_steps, r->burn_in_loss[0], r->burn_in_loss[1],
              r->burn_in_extended ? " (extended until a max() decision on "
                                    "the checked examples changed)"
                                  : "");
    else
      fprintf(f, "burn-in: none\n");
  } else {
    fprintf(f, "batch: %zu seeded inputs; scalar L = sum(r .* y) with "
               "seeded Gaussian r; the input gradient is block 'input'\n",
            r->examples);
    fprintf(f, "burn-in: not applicable to a layer (its L is linear in y)\n");
  }
  fprintf(f, "randomness: train mode, seed %llu fixed for f(x+h), f(x-h) "
             "and the analytic gradient (dropout stays on)\n",
          (unsigned long long)r->seed);
  fprintf(f, "difference: centered (f(x+h) - f(x-h)) / 2h, h = %.3g x "
             "max(1,|x|) for double%s",
          r->h_double, r->any_float ? "" : "\n");
  if (r->any_float)
    fprintf(f, ", %.3g for float32 blocks\n", r->h_float);
  fprintf(f, "bands: relative error |a-n|/max(|a|,|n|): < 1e-7 happy, < 1e-4 "
             "ok, to 1e-2 uncomfortable (WARN), above wrong (FAIL); x depth/2 "
             "from depth 3; float32: < 1e-2 ok, above 1e-1 wrong\n");
  fprintf(f, "escalation: a doubtful entry gets h/2, h/4, Richardson and a "
             "measured noise floor; its error-bar column says which term "
             "dominates (t truncation, r round-off, k one-sided at a kink)\n");
  if (r->any_float)
    fprintf(f, "note: float32 blocks are checked in double arithmetic with a "
               "float-sized step and float bands; build the plugin in double "
               "for a check 1e5 times sharper\n");
  if (r->naudits) {
    fprintf(f, "\naudits (the contract, before any finite difference):\n");
    for (size_t k = 0; k < r->naudits; k++)
      fprintf(f, "  %-13s %-4s %s\n", r->audits[k].name,
              nnc_verdict_name((int)r->audits[k].verdict), r->audits[k].detail);
  }
  if (!r->nblocks && r->error != NNC_OK)
    goto tail;
  fprintf(f, "\n%-9s %-12s %8s %7s %5s %5s %4s %4s %10s %9s %12s %12s %9s "
             "%11s %-16s %s\n",
          "part", "block", "elements", "checked", "live", "kinks", "inc",
          "fail", "worst-rel", "at-index", "analytic", "numeric", "|a-n|",
          "error-bar", "band", "verdict");
  for (size_t k = 0; k < r->nblocks; k++) {
    const nnc_gc_block *b = &r->blocks[k];
    const nnc_gc_coord *w = b->ncoords ? &b->coords[b->worst] : NULL;
    char ix[32] = "-";
    if (w && (w->flags & NNC_GC_PROJECTION))
      snprintf(ix, sizeof ix, "probe%zu", w->index);
    else if (w && (w->flags & NNC_GC_TIED))
      snprintf(ix, sizeof ix, "%zu+tied", w->index);
    else if (w)
      snprintf(ix, sizeof ix, "%zu", w->index);
    char band[64];
    snprintf(band, sizeof band, "%s", w ? band_of(b, w) : "-");
    if (b->verdict == NNC_SKIP)
      snprintf(band, sizeof band, "no live entry");
    /* the error bar of the worst entry, with its dominant term: t for
     * truncation, r for round-off; "-" where it was clear at once */
    char bar[32] = "-";
    if (w && w->errbar > 0)
      snprintf(bar, sizeof bar, "%.2e %c", w->errbar,
               w->flags & NNC_GC_AT_KINK ? 'k'
               : w->trunc >= w->roundoff  ? 't'
                                          : 'r');
    fprintf(f, "%-9s %-12s %8zu %7zu %5zu %5zu %4zu %4zu %10.2e %9s %12.5g "
               "%12.5g %9.2e %11s %-16s %s",
            part_name(r->kind, b->part), b->name, b->count, b->checked, b->live,
            b->kinks, b->inconclusive, b->failed, w ? w->relerr : 0.0, ix,
            w ? w->analytic : 0.0, w ? w->numeric : 0.0,
            w ? fabs(w->analytic - w->numeric) : 0.0, bar,
            band, nnc_verdict_name((int)b->verdict));
    if (b->relax > 1)
      fprintf(f, " (depth %u: bands x%.3g)", b->depth, b->relax);
    if (b->probes)
      fprintf(f, " (%zu probes)", b->probes);
    fputc('\n', f);
  }
  kinks_section(r, f);
  inconclusive_section(r, f);
  if (r->nsweeps) {
    fprintf(f, "\nstep sweep (%s): worst relative error per h\n%-12s",
            part_name(r->kind, r->sweeps[0].part), "block");
    for (size_t j = 0; j < r->sweeps[0].nh; j++)
      fprintf(f, " %8.0e", r->sweeps[0].h[j]);
    fputc('\n', f);
    for (size_t s = 0; s < r->nsweeps; s++) {
      fprintf(f, "%-12s", r->sweeps[s].name);
      for (size_t j = 0; j < r->sweeps[s].nh; j++)
        fprintf(f, " %8.1e", r->sweeps[s].relerr[j]);
      fputc('\n', f);
    }
  }
  if (r->nwarnings && !brief) {
    fprintf(f, "\nwarnings:\n");
    for (size_t k = 0; k < r->nwarnings; k++)
      fprintf(f, "- %s\n", r->warnings[k]);
  }
failures:;
  for (size_t k = 0; k < r->naudits; k++) {
    const nnc_audit *a = &r->audits[k];
    if (a->verdict != NNC_FAIL || a->breach)
      continue;
    fprintf(f, "\naudit %s FAILED: %s\n", a->name, a->detail);
    reproduce_line(r, NULL, NULL, f, "  reproduce: ");
  }
  if (nfail) {
    fprintf(f, "\nfailures (each: analytic a, numeric n, and how to "
               "reproduce):\n");
    for (size_t k = 0; k < r->nblocks; k++) {
      const nnc_gc_block *b = &r->blocks[k];
      for (size_t q = 0; q < b->ncoords; q++) {
        const nnc_gc_coord *c = &b->coords[q];
        if (c->verdict != NNC_FAIL)
          continue;
        const char *pn = part_name(r->kind, b->part);
        if (c->flags & NNC_GC_TIED)
          fprintf(f, "- %s %s: %zu exactly equal values (first at index %zu) "
                     "moved together: their analytic gradients sum to %.10g, "
                     "the loss moves at %.10g (relative error %.3g > %.3g); a "
                     "backward that gives the gradient to every tied maximum "
                     "is not a subgradient\n",
                  pn, b->name, c->group, c->index, c->analytic, c->numeric,
                  c->relerr, b->fail_tol);
        else if (c->flags & NNC_GC_PROJECTION)
          fprintf(f, "- %s %s: random probe %zu over all %zu coordinates: "
                     "g.v = %.10g, directional difference %.10g (relative "
                     "error %.3g > %.3g)%s\n",
                  pn, b->name, c->index, c->group, c->analytic, c->numeric,
                  c->relerr, b->fail_tol,
                  q + 1 < b->ncoords ? "; bisected below" : "");
        else {
          fprintf(f, "- %s %s[%zu]: a = %.10g, n = %.10g, relative error %.3g "
                     "> %.3g",
                  pn, b->name, c->index, c->analytic, c->numeric, c->relerr,
                  b->fail_tol);
          if (c->flags & NNC_GC_AT_KINK)
            fprintf(f, "; on a kink, one-sided %.6g | %.6g%s", c->d_minus,
                    c->d_plus,
                    (c->flags & NNC_GC_SUBGRADIENT)
                        ? ": a subgradient, but wrong just off the kink"
                        : ": a is not between them, not a subgradient");
          else if (c->flags & NNC_GC_ESCALATED)
            fprintf(f, "; error bar +-%.3g (%s dominates)", c->errbar,
                    c->trunc >= c->roundoff ? "truncation" : "round-off");
          fputc('\n', f);
        }
        reproduce_line(r, b, c, f, "  reproduce: ");
      }
    }
  }
tail:
  if (r->error != NNC_OK) {
    fprintf(f, "\nerror: %s\n", r->error_msg);
    fprintf(f, "verdict: ERROR (%s) -- exit %d\n", nnc_err_name(r->error),
            nnc_gradcheck_exit_status(r));
    return NNC_OK;
  }
  size_t afail = 0;
  for (size_t k = 0; k < r->naudits; k++)
    afail += r->audits[k].verdict == NNC_FAIL;
  if (afail)
    fprintf(f, "\n%zu audit%s FAILED (see audits above)\n", afail,
            afail > 1 ? "s" : "");
  fprintf(f, "\nverdict: %s (%zu checked block results: %zu FAIL, %zu WARN, "
             "%zu without a live entry; %zu loss evaluations) -- exit %d\n",
          nnc_verdict_name((int)r->verdict),
          r->nblocks, nfail, nwarn, count_verdict(r, NNC_SKIP), r->loss_evals,
          nnc_gradcheck_exit_status(r));
  return NNC_OK;
}

/* ---- JSON ------------------------------------------------------------- */



int nnc_gradcheck_report_json(const nnc_gradcheck_result *r, FILE *f)
{
  nnci_json_head(f, "gradcheck", NNCI_SCHEMA_GRADCHECK);
  fputs("\n  \"plugin\": ", f);
  nnci_json_str(f, r->plugin);
  fputs(",\n  \"spec\": ", f);
  nnci_json_str(f, r->spec);
  fputs(",\n  \"path\": ", f);
  nnci_json_str(f, r->path);
  fputs(",\n  \"args\": ", f);
  nnci_json_str(f, r->args);
  fprintf(f, ",\n  \"kind\": \"%s\",\n  \"seed\": %llu,\n  \"examples\": %zu,"
             "\n  \"burn_in_steps\": %zu,\n  \"burn_in_extended\": %s,"
             "\n  \"burn_in_loss\": [",
          r->kind == NNC_KIND_NET ? "net" : "layer",
          (unsigned long long)r->seed, r->examples, r->burn_in_steps,
          r->burn_in_extended ? "true" : "false");
  nnci_json_num(f, r->burn_in_loss[0]);
  fputs(", ", f);
  nnci_json_num(f, r->burn_in_loss[1]);
  fputs("],\n  \"loss\": ", f);
  nnci_json_num(f, r->loss);
  fputs(",\n  \"h\": {\"double\": ", f);
  nnci_json_num(f, r->h_double);
  fputs(", \"float\": ", f);
  nnci_json_num(f, r->h_float);
  fprintf(f, "},\n  \"loss_evals\": %zu,\n  \"check_evals\": %zu,\n"
             "  \"backward_calls\": %zu,\n  \"blocks\": [",
          r->loss_evals, r->check_evals, r->backward_calls);
  for (size_t k = 0; k < r->nblocks; k++) {
    const nnc_gc_block *b = &r->blocks[k];
    fputs(k ? ",\n    {" : "\n    {", f);
    fputs("\"part\": ", f);
    nnci_json_str(f, part_name(r->kind, b->part));
    fputs(", \"block\": ", f);
    nnci_json_str(f, b->name);
    fprintf(f, ", \"dtype\": \"%s\", \"depth\": %u, \"elements\": %zu, "
               "\"checked\": %zu, \"live\": %zu, \"kinks\": %zu, \"tiny\": %zu, "
               "\"verdict\": \"%s\", \"pass_tol\": ",
            nnci_dtype_name(b->dtype), b->depth, b->count, b->checked, b->live,
            b->kinks, b->tiny, nnc_verdict_name((int)b->verdict));
    nnci_json_num(f, b->pass_tol);
    fputs(", \"fail_tol\": ", f);
    nnci_json_num(f, b->fail_tol);
    fputs(", \"grad_norm\": ", f);
    nnci_json_num(f, b->grad_norm);
    fputs(", \"worst\": ", f);
    nnci_json_num(f, b->ncoords ? b->coords[b->worst].relerr : 0);
    fprintf(f, ", \"inconclusive\": %zu, \"failed\": %zu, \"probes\": %zu",
            b->inconclusive, b->failed, b->probes);
    fputs(", \"coords\": [", f);
    for (size_t q = 0; q < b->ncoords; q++) {
      const nnc_gc_coord *c = &b->coords[q];
      fprintf(f, "%s\n      {\"index\": %zu, \"analytic\": ", q ? "," : "",
              c->index);
      nnci_json_num(f, c->analytic);
      fputs(", \"numeric\": ", f);
      nnci_json_num(f, c->numeric);
      fputs(", \"relerr\": ", f);
      nnci_json_num(f, c->relerr);
      fputs(", \"h\": ", f);
      nnci_json_num(f, c->h);
      fputs(", \"noise\": ", f);
      nnci_json_num(f, c->noise);
      fputs(", \"band\": ", f);
      nnci_json_str(f, band_of(b, c));
      fputs(", \"errbar\": ", f);
      nnci_json_num(f, c->errbar);
      fputs(", \"trunc\": ", f);
      nnci_json_num(f, c->trunc);
      fputs(", \"roundoff\": ", f);
      nnci_json_num(f, c->roundoff);
      if (c->flags & NNC_GC_AT_KINK) {
        fputs(", \"one_sided\": [", f);
        nnci_json_num(f, c->d_minus);
        fputs(", ", f);
        nnci_json_num(f, c->d_plus);
        fputc(']', f);
      }
      fprintf(f, ", \"kink\": %s, \"at_kink\": %s, \"subgradient\": %s, "
                 "\"jitter_ok\": %s, \"escalated\": %s, \"tied\": %zu, "
                 "\"probe\": %s, \"evals\": %u, \"why\": ",
              (c->flags & NNC_GC_KINK) ? "true" : "false",
              (c->flags & NNC_GC_AT_KINK) ? "true" : "false",
              (c->flags & NNC_GC_SUBGRADIENT) ? "true" : "false",
              (c->flags & NNC_GC_JITTER) ? "true" : "false",
              (c->flags & NNC_GC_ESCALATED) ? "true" : "false",
              (c->flags & NNC_GC_TIED) ? c->group : (size_t)0,
              (c->flags & NNC_GC_PROJECTION) ? "true" : "false", c->evals);
      nnci_json_str(f, why_text(c->why));
      fprintf(f, ", \"verdict\": \"%s\"}", nnc_verdict_name((int)c->verdict));
    }
    fputs("]}", f);
  }
  fputs("\n  ],\n  \"audits\": [", f);
  for (size_t k = 0; k < r->naudits; k++) {
    fputs(k ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
    nnci_json_str(f, r->audits[k].name);
    fprintf(f, ", \"verdict\": \"%s\", \"breach\": %s, \"detail\": ",
            nnc_verdict_name((int)r->audits[k].verdict),
            r->audits[k].breach ? "true" : "false");
    nnci_json_str(f, r->audits[k].detail);
    fputc('}', f);
  }
  fputs("\n  ],\n  \"sweeps\": [", f);
  for (size_t s = 0; s < r->nsweeps; s++) {
    fputs(s ? ",\n    {\"block\": " : "\n    {\"block\": ", f);
    nnci_json_str(f, r->sweeps[s].name);
    fputs(", \"h\": [", f);
    for (size_t j = 0; j < r->sweeps[s].nh; j++) {
      if (j)
        fputs(", ", f);
      nnci_json_num(f, r->sweeps[s].h[j]);
    }
    fputs("], \"relerr\": [", f);
    for (size_t j = 0; j < r->sweeps[s].nh; j++) {
      if (j)
        fputs(", ", f);
      nnci_json_num(f, r->sweeps[s].relerr[j]);
    }
    fputs("]}", f);
  }
  fputs("\n  ],\n  \"warnings\": [", f);
  for (size_t k = 0; k < r->nwarnings; k++) {
    fputs(k ? ",\n    " : "\n    ", f);
    nnci_json_str(f, r->warnings[k]);
  }
  fputs("\n  ],\n  \"error\": ", f);
  if (r->error != NNC_OK)
    nnci_json_str(f, r->error_msg);
  else
    fputs("null", f);
  fprintf(f, ",\n  \"verdict\": \"%s\",\n  \"exit\": %d\n}\n",
          r->error != NNC_OK ? "ERROR" : nnc_verdict_name((int)r->verdict),
          nnc_gradcheck_exit_status(r));
  return NNC_OK;
}

/* ---- TAP -------------------------------------------------------------- */

int nnc_gradcheck_report_tap(const nnc_gradcheck_result *r, FILE *f)
{
  size_t n = r->naudits + r->nblocks + (r->error != NNC_OK);
  fprintf(f, "TAP version 13\n1..%zu\n", n);
  size_t t = 0;
  for (size_t k = 0; k < r->naudits; k++) {
    const nnc_audit *a = &r->audits[k];
    fprintf(f, "%s %zu - %s audit %s: %s%s\n",
            a->verdict == NNC_FAIL ? "not ok" : "ok", ++t, r->plugin, a->name,
            a->detail, a->verdict == NNC_SKIP ? " # SKIP" : "");
  }
  for (size_t k = 0; k < r->nblocks; k++) {
    const nnc_gc_block *b = &r->blocks[k];
    const nnc_gc_coord *w = b->ncoords ? &b->coords[b->worst] : NULL;
    fprintf(f, "%s %zu - %s %s %s: worst relative error %.3g at %zu (%s)",
            b->verdict == NNC_FAIL ? "not ok" : "ok", ++t, r->plugin,
            part_name(r->kind, b->part), b->name, w ? w->relerr : 0.0,
            w ? w->index : 0, w ? band_of(b, w) : "-");
    if (b->verdict == NNC_SKIP)
      fputs(" # SKIP no live entry", f);
    else if (b->verdict == NNC_WARN)
      fputs(" # uncomfortable", f);
    else if (b->verdict == NNC_INCONCLUSIVE)
      fputs(" # inconclusive", f);
    fputc('\n', f);
    if (b->verdict == NNC_FAIL && w)
      reproduce_line(r, b, w, f, "# reproduce: ");
  }
  if (r->error != NNC_OK)
    fprintf(f, "not ok %zu - %s: %s\n", ++t, nnc_err_name(r->error),
            r->error_msg);
  for (size_t k = 0; k < r->nwarnings; k++)
    fprintf(f, "# warning: %s\n", r->warnings[k]);
  return NNC_OK;
}

/* ---- the one-call form for test suites --------------------------------- */

int nnc_check_gradient(const nnc_plugin *desc, const char *name_or_path,
                       const char *args, const nnc_gradcheck_opts *opts,
                       char **report)
{
  char err[1024] = "";
  nnc_model *m = NULL;
  int rc = desc ? nnc_model_open(desc, args, &m, err, sizeof err)
                : nnc_model_load(name_or_path, args, &m, err, sizeof err);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  int status;
  if (rc != NNC_OK) {
    if (f)
      fprintf(f, "gradcheck: %s\n", err);
    status = nnc_err_exit_status(rc);
  } else {
    nnc_gradcheck_result *res = NULL;
    nnc_gradcheck(m, opts, &res);
    if (f && res)
      nnc_gradcheck_report_brief(res, f);
    status = nnc_gradcheck_exit_status(res);
    nnc_gradcheck_free(res);
    nnc_model_close(m);
  }
  if (f)
    fclose(f);
  if (report)
    *report = buf;
  else
    free(buf);
  return status;
}
