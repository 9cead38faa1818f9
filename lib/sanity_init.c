/* sanity_init.c — the health of the initialization: after the plugin's
 * own (seeded) re-draw, one forward pass over the sample, and for every
 * probed activation the share of units that are dead (ReLU: zero for every
 * example) or saturated (tanh, sigmoid: for most examples), beside the
 * scale of the weights feeding it and the notes' scale for its fan-in.
 * Dead and saturated units pass no gradient: they do not learn. */
#include "config.h"
#include "sanity_internal.h"
#include "init_attr.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void attribute(nnci_sanity *c, size_t i, nnc_sanity_probe *p)
{
  nnci_attr a;
  nnci_init_attribute(c->m, i, p->kind, p->units, &a);
  memcpy(p->wblock, a.wblock, sizeof p->wblock);
  memcpy(p->bblock, a.bblock, sizeof p->bblock);
  p->w_rms = a.w_rms;
  p->w_ref = a.w_ref;
  p->b_mean = a.b_mean;
}

/* Dead (ReLU) or saturated (tanh, sigmoid) fraction of one probe. */
static void assess(const nnc_sanity_opts *o, const nnc_probe *pr,
                   nnc_sanity_probe *p)
{
  size_t U = p->units, E = p->examples;
  size_t bad = 0;
  double sabs = 0;
  for (size_t j = 0; j < U; j++) {
    size_t hits = 0;
    for (size_t k = 0; k < E; k++) {
      double a = nnci_load(pr->value, pr->dtype, k * U + j);
      sabs += fabs(a);
      if (pr->kind == NNC_ACT_RELU)
        hits += a <= 0;
      else if (pr->kind == NNC_ACT_TANH)
        hits += fabs(a) > o->sat_level;
      else if (pr->kind == NNC_ACT_SIGMOID)
        hits += a > o->sat_level || a < 1 - o->sat_level;
    }
    /* dead: zero for every example; saturated: for most of them */
    bad += pr->kind == NNC_ACT_RELU ? hits == E : 2 * hits > E;
  }
  p->mean_abs = sabs / (double)(U * E);
  if (pr->kind != NNC_ACT_RELU && pr->kind != NNC_ACT_TANH &&
      pr->kind != NNC_ACT_SIGMOID) {
    p->frac = NAN;
    p->verdict = NNC_SKIP;
    return;
  }
  p->frac = (double)bad / (double)U;
  p->verdict = p->frac > o->fail_frac   ? NNC_FAIL
               : p->frac > o->warn_frac ? NNC_WARN
                                        : NNC_PASS;
}

int nnci_sanity_init(nnci_sanity *c)
{
  nnc_sanity_result *r = c->r;
  nnc_sanity_item *it = &r->items[NNC_SANITY_INIT];
  struct nnc_sanity_init *in = &r->init;
  nnc_model *m = c->m;
  size_t np = r->has_probes ? nnci_call_num_probes(m) : 0;
  if (!np) {
    nnci_sanity_set(it, NNC_SKIP, "-", "-");
    snprintf(it->detail, sizeof it->detail, "%s",
             r->has_probes ? "the plugin probes no activation"
                           : "the plugin has no probe(): activations cannot "
                             "be seen");
    return NNC_OK;
  }
  int rc;
  if ((rc = nnci_sanity_restore(c)))
    return rc;
  if (r->has_reinit) {
    if ((rc = nnci_sanity_reinit(c, nnci_sanity_seed(c, NNCI_SANITY_STREAM_INIT),
                                 0)))
      return rc;
    in->reinit = 1;
  }
  double loss;
  if ((rc = nnci_sanity_sample_loss(c, NNC_F_DATA, &loss)))
    return rc;
  in->n = c->nsample;
  in->probes = calloc(np, sizeof *in->probes);
  if (!in->probes)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  in->nprobes = np;
  uint32_t worst = NNC_SKIP;
  long wi = -1;
  for (size_t i = 0; i < np; i++) {
    nnc_probe pr;
    memset(&pr, 0, sizeof pr);
    nnc_sanity_probe *p = &in->probes[i];
    if (nnci_call_probe(m, i, &pr) != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: probe(%zu) failed", m->d.name, i);
    snprintf(p->name, sizeof p->name, "%s", pr.name ? pr.name : "?");
    p->kind = pr.kind;
    p->verdict = NNC_SKIP;
    p->frac = p->mean_abs = p->w_rms = p->w_ref = p->b_mean = NAN;
    if (!pr.value || !pr.count)
      continue;
    /* Units per example; without a known batch every element counts as a
     * unit of its own. */
    size_t E = c->nsample && pr.count % c->nsample == 0 ? c->nsample : 1;
    p->examples = E;
    p->units = pr.count / E;
    assess(c->o, &pr, p);
    attribute(c, i, p);
    if (nnc_verdict_rank((int)p->verdict) > nnc_verdict_rank((int)worst) ||
        worst == NNC_SKIP) {
      if (p->verdict != NNC_SKIP) {
        worst = p->verdict;
        wi = (long)i;
      }
    }
  }
  char exp[192], meas[192] = "";
  snprintf(exp, sizeof exp, "<= %g%% dead/saturated per layer (FAIL > %g%%)",
           100 * c->o->warn_frac, 100 * c->o->fail_frac);
  if (wi >= 0) {
    const nnc_sanity_probe *p = &in->probes[wi];
    snprintf(meas, sizeof meas, "%s %.0f%% %s", p->name, 100 * p->frac,
             p->kind == NNC_ACT_RELU ? "dead" : "saturated");
  } else {
    snprintf(meas, sizeof meas, "-");
  }
  nnci_sanity_set(it, worst, exp, meas);
  char *d = it->detail;
  size_t dl = sizeof it->detail;
  snprintf(d, dl, "%s, forward pass over %s: ",
           in->reinit ? "weights re-drawn at the plugin's default scale "
                        "(seeded)"
                      : "at the plugin's own initialization",
           c->nsample ? "seeded examples" : "the plugin's own batch");
  for (size_t i = 0; i < np; i++) {
    const nnc_sanity_probe *p = &in->probes[i];
    nnci_sanity_add(d, dl, "%s%s ", i ? "; " : "", p->name);
    if (p->verdict == NNC_SKIP && isnan(p->frac)) {
      nnci_sanity_add(d, dl, "not assessed (%s)",
                      p->units ? "only ReLU, tanh and sigmoid are"
                               : "no values");
      continue;
    }
    nnci_sanity_add(d, dl, "%zu of %zu units %s (%.0f%%), mean |a| %.3g",
                    (size_t)llround(p->frac * (double)p->units), p->units,
                    p->kind == NNC_ACT_RELU ? "dead for every example"
                                            : "saturated for most examples",
                    100 * p->frac, p->mean_abs);
    if (p->wblock[0]) {
      nnci_sanity_add(d, dl, ", fed by %s of RMS %.3g", p->wblock, p->w_rms);
      if (isfinite(p->w_ref))
        nnci_sanity_add(d, dl, " (%s for its fan-in: %.3g)",
                        p->kind == NNC_ACT_RELU ? "sqrt(2/fan_in)"
                                                : "sqrt(1/fan_in)",
                        p->w_ref);
    }
    if (p->bblock[0])
      nnci_sanity_add(d, dl, " and %s of mean %.3g", p->bblock, p->b_mean);
    nnci_sanity_add(d, dl, ": %s", nnc_verdict_name((int)p->verdict));
  }
  if (worst == NNC_FAIL || worst == NNC_WARN) {
    const nnc_sanity_probe *p = &in->probes[wi];
    if (p->kind == NNC_ACT_RELU && isfinite(p->b_mean) && p->b_mean < 0 &&
        (!isfinite(p->w_rms) || -p->b_mean > 2 * p->w_rms))
      nnci_sanity_add(d, dl, ". A negative bias init keeps %s off: start "
                             "biases at 0 or slightly above",
                      p->name);
    else if (p->kind == NNC_ACT_RELU)
      nnci_sanity_add(d, dl, ". Dead units never learn: check the init scale "
                             "and the bias of %s",
                      p->name);
    else if (isfinite(p->w_rms) && isfinite(p->w_ref))
      nnci_sanity_add(d, dl, ". The weights feeding %s are %.3g times the "
                             "notes' scale: saturated units pass no gradient",
                      p->name, p->w_rms / p->w_ref);
    else
      nnci_sanity_add(d, dl, ". Saturated units pass no gradient: the "
                             "weights feeding %s are too large",
                      p->name);
  }
  return nnci_sanity_restore(c);
}

