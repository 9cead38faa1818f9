/* sanity: the checks the notes advise before expensive training.
 *
 * Each check measures one thing the notes name, prints the value a correct
 * net gives beside the one measured, and derives its tolerance from the
 * measurement where it can (the spread of per-example losses), not from a
 * fixed percentage.  Every check starts from the caller's parameters and
 * they are put back at the end; re-draws (reinit) and training happen on
 * the model itself, seeded, so one seed gives one report.
 *
 * This file: the driver, the loss at chance and the regularization check.
 * sanity_init.c looks at the initialization, sanity_train.c trains (overfit
 * and the input-independent baseline); sanity_report.c and plot_sanity.c
 * show. */
#include "config.h"
#include "rng.h"
#include "sanity_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const check_names[NNC_SANITY_NCHECKS] = {
    "chance", "reg", "overfit", "baseline", "init"};

const char *nnc_sanity_name(int id)
{
  return id >= 0 && id < NNC_SANITY_NCHECKS ? check_names[id] : NULL;
}

int nnc_sanity_parse(const char *name)
{
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++)
    if (name && !strcmp(name, check_names[i]))
      return i;
  return -1;
}

void nnc_sanity_opts_init(nnc_sanity_opts *o)
{
  static const double reg[] = {0, 1e-3, 1e-1, 10};
  static const double lr[] = {1e-2, 3e-2, 1e-1, 3e-3, 1e-3};
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->checks = (1u << NNC_SANITY_NCHECKS) - 1;
  o->sample = 100;
  o->tiny_scale = 1e-4;
  o->z = 4;
  o->floor_rel = 1e-3;
  o->nreg = sizeof reg / sizeof *reg;
  memcpy(o->reg, reg, sizeof reg);
  o->subset = 20;
  o->epochs = 300;
  o->nlr = sizeof lr / sizeof *lr;
  memcpy(o->lr, lr, sizeof lr);
  o->extend = 10;
  o->learn_rel = 0.05;
  o->target_rel = 0.05;
  o->target_abs = 1e-2;
  o->baseline_margin = 0.1;
  o->warn_frac = 0.1;
  o->fail_frac = 0.5;
  o->sat_level = 0.97;
}

/* ---- helpers shared with the other sanity files ------------------------ */

void nnci_sanity_add(char *buf, size_t len, const char *fmt, ...)
{
  size_t n = strlen(buf);
  if (n + 1 >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + n, len - n, fmt, ap);
  va_end(ap);
}

void nnci_sanity_set(nnc_sanity_item *it, uint32_t verdict,
                     const char *expected, const char *measured)
{
  it->verdict = verdict;
  snprintf(it->expected, sizeof it->expected, "%s", expected);
  snprintf(it->measured, sizeof it->measured, "%s", measured);
}

uint64_t nnci_sanity_seed(const nnci_sanity *c, uint64_t stream)
{
  nnc_rng r;
  nnc_rng_init(&r, c->o->seed, stream);
  return nnc_rng_u64(&r);
}

int nnci_sanity_restore(nnci_sanity *c)
{
  return nnc_params_restore(c->m, c->orig);
}

int nnci_sanity_reinit(nnci_sanity *c, uint64_t seed, double scale)
{
  nnc_model *m = c->m;
  char perr[512] = "";
  if (nnci_call_reinit(m, seed, scale, perr, sizeof perr) != 0)
    return nnci_fail(m, NNC_EPLUGIN, "%s: reinit(scale %g) failed: %s",
                     m->d.name, scale, perr[0] ? perr : "(no reason given)");
  for (size_t b = 0; b < m->nparam; b++)
    for (size_t i = 0; i < m->blocks[b].count; i++)
      if (!isfinite(nnc_model_get(m, b, i)))
        return nnci_fail(m, NNC_ENONFINITE,
                         "%s: reinit(scale %g) left %g in block '%s' at index "
                         "%zu",
                         m->d.name, scale, nnc_model_get(m, b, i),
                         m->blocks[b].name, i);
  return NNC_OK;
}

int nnci_sanity_predict(nnci_sanity *c, const size_t *idx, size_t n,
                        int32_t *pred, int32_t *label)
{
  nnc_model *m = c->m;
  char perr[512] = "";
  nnc_batch b = {idx, n, NNC_SPLIT_TRAIN, 0};
  if (nnci_call_predict(m, &b, pred, label, perr, sizeof perr) != 0)
    return nnci_fail(m, NNC_EPLUGIN, "%s: predict() failed: %s", m->d.name,
                     perr[0] ? perr : "(no reason given)");
  for (size_t k = 0; k < n; k++)
    if (label[k] < 0 || (c->r->n_classes && (uint32_t)label[k] >=
                                                c->r->n_classes))
      return nnci_fail(m, NNC_ECONTRACT,
                       "%s: predict() gave label %d for training example "
                       "%zu, outside 0..%u",
                       m->d.name, (int)label[k], idx[k],
                       (unsigned)c->r->n_classes - 1);
  return NNC_OK;
}

void nnci_sanity_label_stats(const int32_t *label, size_t n, uint32_t classes,
                             double *majority, double *entropy)
{
  *majority = *entropy = NAN;
  if (!label || !n || !classes)
    return;
  size_t *count = calloc(classes, sizeof *count);
  if (!count)
    return;
  for (size_t k = 0; k < n; k++)
    count[label[k]]++;
  double h = 0;
  size_t most = 0;
  for (uint32_t j = 0; j < classes; j++) {
    if (count[j] > most)
      most = count[j];
    if (count[j]) {
      double p = (double)count[j] / (double)n;
      h -= p * log(p);
    }
  }
  free(count);
  *majority = (double)most / (double)n;
  *entropy = h;
}

/* set_hyper("reg", v): 0 when taken; otherwise the plugin's reason in why. */
static int set_reg(nnci_sanity *c, double v, char *why, size_t whylen)
{
  nnc_model *m = c->m;
  why[0] = '\0';
  if (!m->d.set_hyper) {
    snprintf(why, whylen, "no set_hyper() callback");
    return -1;
  }
  if (nnci_call_set_hyper(m, "reg", v, why, whylen) != 0) {
    if (!why[0])
      snprintf(why, whylen, "(no reason given)");
    return -1;
  }
  return 0;
}

int nnci_sanity_sample_loss(nnci_sanity *c, uint32_t flags, double *loss)
{
  nnc_batch b = {c->sample, c->nsample, NNC_SPLIT_TRAIN, 0};
  return nnc_model_loss(c->m, c->nsample ? &b : NULL, c->o->seed, flags,
                        loss);
}

/* ---- 1. the loss at chance ------------------------------------------------ */

static int check_chance(nnci_sanity *c)
{
  nnc_sanity_result *r = c->r;
  nnc_sanity_item *it = &r->items[NNC_SANITY_CHANCE];
  struct nnc_sanity_chance *ch = &r->chance;
  if (!r->has_info || !r->n_classes) {
    nnci_sanity_set(it, NNC_SKIP, "-", "-");
    snprintf(it->detail, sizeof it->detail,
             "the plugin gives no class count (net_info n_classes), so the "
             "loss at chance is unknown");
    return NNC_OK;
  }
  int softmax = r->loss_type == NNC_LOSS_SOFTMAX;
  if (!softmax && !(r->loss_type == NNC_LOSS_SVM && r->margin > 0)) {
    nnci_sanity_set(it, NNC_SKIP, "-", "-");
    snprintf(it->detail, sizeof it->detail,
             r->loss_type == NNC_LOSS_SVM
                 ? "an SVM loss without a positive margin: the loss at chance "
                   "is unknown"
                 : "loss type OTHER: only softmax and the multiclass SVM have "
                   "a known loss at chance");
    return NNC_OK;
  }
  double C = (double)r->n_classes;
  ch->expected = softmax ? log(C) : r->margin * (C - 1);
  ch->entropy = NAN;
  int rc;
  if ((rc = nnci_sanity_restore(c)))
    return rc;
  if (r->has_reinit) {
    if ((rc = nnci_sanity_reinit(c, nnci_sanity_seed(c, NNCI_SANITY_STREAM_TINY),
                                 c->o->tiny_scale)))
      return rc;
    ch->reinit = 1;
  }
  char why[512];
  ch->reg_zeroed = set_reg(c, 0, why, sizeof why) == 0;

  /* Each example alone: their spread says how well the mean is known. */
  size_t n = c->nsample;
  ch->n = n;
  ch->loss = malloc((n ? n : 1) * sizeof *ch->loss);
  if (!ch->loss)
    return nnci_fail(c->m, NNC_ENOMEM, "out of memory");
  double sum = 0;
  if (n) {
    for (size_t k = 0; k < n; k++) {
      nnc_batch b = {&c->sample[k], 1, NNC_SPLIT_TRAIN, 0};
      if ((rc = nnc_model_loss(c->m, &b, c->o->seed, NNC_F_DATA,
                               &ch->loss[k])))
        return rc;
      sum += ch->loss[k];
    }
  } else {
    if ((rc = nnci_sanity_sample_loss(c, NNC_F_DATA, &ch->loss[0])))
      return rc;
    sum = ch->loss[0];
  }
  size_t cnt = n ? n : 1;
  ch->mean = sum / (double)cnt;
  double ss = 0;
  for (size_t k = 0; k < cnt; k++)
    ss += (ch->loss[k] - ch->mean) * (ch->loss[k] - ch->mean);
  ch->sd = cnt > 1 ? sqrt(ss / (double)(cnt - 1)) : 0;
  ch->se = cnt > 1 ? ch->sd / sqrt((double)cnt) : 0;
  /* z standard errors for the sampling; a floor for round-off; and half
   * the variance, by which scores that are small but not zero raise a
   * softmax loss above ln C (second order: E[-log p_y] ~ ln C + var/2). */
  double floor_abs = c->o->floor_rel * ch->expected;
  ch->tol = c->o->z * ch->se + floor_abs + 0.5 * ch->sd * ch->sd;
  if (softmax && c->sample_label) {
    double major;
    nnci_sanity_label_stats(c->sample_label, n, r->n_classes, &major,
                            &ch->entropy);
    ch->have_labels = 1;
  }
  double dev = fabs(ch->mean - ch->expected);
  double dev_h = isfinite(ch->entropy) ? fabs(ch->mean - ch->entropy) : INFINITY;
  int near_h = dev_h <= ch->tol && dev > ch->tol;
  int ok = dev <= ch->tol || near_h;
  /* At a large own initialization the premise (near-zero scores) fails:
   * a miss is then no evidence of a wrong loss. */
  int premise = ch->reinit || ch->sd <= 0.05 * ch->expected;

  char exp[192], meas[192];
  if (isfinite(ch->entropy) && fabs(ch->entropy - ch->expected) > ch->tol)
    snprintf(exp, sizeof exp, "%.6g +- %.2g (or H %.6g)", ch->expected,
             ch->tol, ch->entropy);
  else
    snprintf(exp, sizeof exp, "%.6g +- %.2g", ch->expected, ch->tol);
  snprintf(meas, sizeof meas, "%.6g (off by %.3g)", ch->mean,
           near_h ? ch->mean - ch->entropy : ch->mean - ch->expected);
  nnci_sanity_set(it, ok ? NNC_PASS : premise ? NNC_FAIL : NNC_WARN, exp, meas);
  char *d = it->detail;
  size_t dl = sizeof it->detail;
  snprintf(d, dl, "%s over %u classes: %s = %.6g at near-zero scores; ",
           softmax ? "softmax" : "multiclass SVM", r->n_classes,
           softmax ? "-ln(1/C)" : "margin x (C-1)", ch->expected);
  if (ch->reinit)
    nnci_sanity_add(d, dl, "weights re-drawn at scale %g (seeded); ",
                    c->o->tiny_scale);
  else
    nnci_sanity_add(d, dl, "at the plugin's own initialization (it has no "
                           "reinit() to make the weights small); ");
  nnci_sanity_add(d, dl, "regularization off (%s); ",
                  ch->reg_zeroed ? "reg = 0 and the data part only"
                                 : "the data part only");
  if (n)
    nnci_sanity_add(d, dl, "%zu seeded examples evaluated one by one: mean "
                           "%.6g, sd %.3g, standard error %.3g; ",
                    n, ch->mean, ch->sd, ch->se);
  else
    nnci_sanity_add(d, dl, "one evaluation of the plugin's own batch (no "
                           "dataset to sample: no spread known); ");
  nnci_sanity_add(d, dl, "tolerance %g x SE + %g x expected + sd^2/2 = %.3g",
                  c->o->z, c->o->floor_rel, ch->tol);
  if (isfinite(ch->entropy))
    nnci_sanity_add(d, dl, "; the label entropy H = %.6g (scores matching the "
                           "class frequencies) is accepted too",
                    ch->entropy);
  else if (softmax && n)
    nnci_sanity_add(d, dl, "; labels unknown (no predict()): classes assumed "
                           "balanced");
  if (!ok && premise)
    nnci_sanity_add(d, dl, ". At near-zero scores the loss is %.3g %s than "
                           "at chance, for every example alike (sd %.2g): "
                           "look for a term added to the data loss or a "
                           "wrong normalisation",
                    fabs(ch->mean - ch->expected),
                    ch->mean > ch->expected ? "higher" : "lower", ch->sd);
  else if (!ok)
    nnci_sanity_add(d, dl, ". The scores at the own initialization are not "
                           "near zero (sd %.3g), so a miss proves nothing: "
                           "give the plugin reinit() or a smaller init",
                    ch->sd);
  return nnci_sanity_restore(c);
}

/* ---- 2. regularization raises the loss ------------------------------------ */

static int check_reg(nnci_sanity *c)
{
  nnc_sanity_result *r = c->r;
  nnc_sanity_item *it = &r->items[NNC_SANITY_REG];
  struct nnc_sanity_reg *g = &r->reg;
  const nnc_sanity_opts *o = c->o;
  char why[512];
  g->grad_norm = NAN;
  if (!r->has_hyper || set_reg(c, o->reg[0], why, sizeof why)) {
    nnci_sanity_set(it, NNC_SKIP, "-", "-");
    snprintf(it->detail, sizeof it->detail,
             "the strength cannot be changed: %s",
             r->has_hyper ? why : "the plugin has no set_hyper()");
    if (r->has_hyper)
      nnci_sanity_add(it->detail, sizeof it->detail,
                      " (set_hyper(\"reg\", %g) refused)", o->reg[0]);
    return NNC_OK;
  }
  int rc;
  if ((rc = nnci_sanity_restore(c)) ||
      (rc = nnci_sanity_sample_loss(c, NNC_F_DATA, &g->data)))
    return rc;
  for (size_t k = 0; k < o->nreg; k++) {
    g->lambda[k] = o->reg[k];
    if (set_reg(c, o->reg[k], why, sizeof why)) {
      nnci_sanity_set(it, NNC_SKIP, "-", "-");
      snprintf(it->detail, sizeof it->detail,
               "set_hyper(\"reg\", %g) refused: %s", o->reg[k], why);
      set_reg(c, 0, why, sizeof why);
      return NNC_OK;
    }
    if ((rc = nnci_sanity_sample_loss(c, NNC_F_ALL, &g->total[k])) ||
        (rc = nnci_sanity_sample_loss(c, NNC_F_REG, &g->part[k])))
      return rc;
    g->n = k + 1;
  }
  /* Where nothing moved, the gradient tells a term left out of the loss
   * from one that is absent altogether. */
  int moved = 0;
  for (size_t k = 1; k < g->n; k++)
    moved |= g->total[k] != g->total[0] || g->part[k] != g->part[0];
  if (!moved) {
    if ((rc = nnci_sanity_sample_loss(c, NNC_F_REG, &g->part[g->n - 1])) ||
        (rc = nnc_model_backward(c->m)))
      return rc;
    double ss = 0;
    for (size_t b = 0; b < c->m->nparam; b++)
      ss += nnc_model_grad_norm(c->m, b) * nnc_model_grad_norm(c->m, b);
    g->grad_norm = sqrt(ss);
  }
  if (set_reg(c, 0, why, sizeof why))
    return nnci_fail(c->m, NNC_EPLUGIN, "%s: set_hyper(\"reg\", 0) refused "
                     "after taking other values: %s", c->m->d.name, why);

  char *d = it->detail;
  size_t dl = sizeof it->detail;
  char meas[192] = "";
  for (size_t k = 0; k < g->n; k++)
    nnci_sanity_add(meas, sizeof meas, "%s%.5g", k ? " < " : "",
                    g->total[k]);
  /* the measured chain shows "<" where it holds and "!<" where not */
  char chain[192] = "";
  for (size_t k = 0; k < g->n; k++)
    nnci_sanity_add(chain, sizeof chain, "%s%.5g",
                    !k ? ""
                    : g->total[k] > g->total[k - 1] ? " < "
                                                    : " !< ",
                    g->total[k]);
  char exp[192] = "increasing: L(";
  for (size_t k = 0; k < g->n; k++)
    nnci_sanity_add(exp, sizeof exp, "%s%g", k ? ") < L(" : "", g->lambda[k]);
  nnci_sanity_add(exp, sizeof exp, ")");

  size_t bad_total = 0, bad_part = 0, negative = 0, unsplit = 0;
  for (size_t k = 0; k < g->n; k++) {
    if (k && !(g->total[k] > g->total[k - 1]))
      bad_total++;
    if (k && !(g->part[k] > g->part[k - 1]))
      bad_part++;
    if (g->part[k] < 0)
      negative++;
    double sum = g->data + g->part[k];
    if (fabs(g->total[k] - sum) > 1e-6 * fmax(1, fabs(g->total[k])))
      unsplit++;
  }
  int fail = bad_total || bad_part || negative || unsplit;
  nnci_sanity_set(it, fail ? NNC_FAIL : NNC_PASS, exp, chain);
  snprintf(d, dl, "loss with data + reg at the same parameters and %s, "
                  "strengths",
           c->nsample ? "seeded examples" : "the plugin's own batch");
  for (size_t k = 0; k < g->n; k++)
    nnci_sanity_add(d, dl, "%s%g", k ? ", " : " ", g->lambda[k]);
  nnci_sanity_add(d, dl, ": data + reg");
  for (size_t k = 0; k < g->n; k++)
    nnci_sanity_add(d, dl, "%s%.6g", k ? ", " : " ", g->total[k]);
  nnci_sanity_add(d, dl, "; reg alone");
  for (size_t k = 0; k < g->n; k++)
    nnci_sanity_add(d, dl, "%s%.6g", k ? ", " : " ", g->part[k]);
  nnci_sanity_add(d, dl, "; data alone %.6g. Expected: strictly increasing, "
                         "the reg part >= 0 and growing, the parts adding up",
                  g->data);
  if (!fail)
    return NNC_OK;
  nnci_sanity_add(d, dl, ". Found:");
  if (!moved && g->grad_norm > 0)
    nnci_sanity_add(d, dl, " the loss does not change with the strength, "
                           "yet the gradient of the reg part at %g has norm "
                           "%.3g: the regularization is in the gradient but "
                           "not added to the loss;",
                    g->lambda[g->n - 1], g->grad_norm);
  else if (!moved)
    nnci_sanity_add(d, dl, " neither the loss nor the reg gradient changes "
                           "with the strength: set_hyper(\"reg\") takes the "
                           "value and ignores it (or every weight is 0);");
  else {
    if (bad_total)
      nnci_sanity_add(d, dl, " the loss fails to rise at %zu of %zu steps%s;",
                      bad_total, g->n - 1,
                      g->total[g->n - 1] < g->total[0] ? " (it falls)" : "");
    if (negative)
      nnci_sanity_add(d, dl, " the reg part is negative at %zu strength%s "
                             "(%.6g at %g): regularization with the wrong "
                             "sign?;",
                      negative, negative > 1 ? "s" : "", g->part[g->n - 1],
                      g->lambda[g->n - 1]);
    else if (bad_part)
      nnci_sanity_add(d, dl, " the reg part does not grow with the strength;");
  }
  if (unsplit)
    nnci_sanity_add(d, dl, " data + reg differs from data plus reg at %zu "
                           "strength%s: the parts do not add up;",
                    unsplit, unsplit > 1 ? "s" : "");
  d[strlen(d) - 1] = '\0'; /* the last ';' */
  return NNC_OK;
}

/* ---- the driver ------------------------------------------------------------ */

static void skip_all(nnc_sanity_result *r, const char *why)
{
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++) {
    nnci_sanity_set(&r->items[i], NNC_SKIP, "-", "-");
    snprintf(r->items[i].detail, sizeof r->items[i].detail, "%s", why);
  }
}

static int prepare(nnci_sanity *c)
{
  nnc_sanity_result *r = c->r;
  nnc_model *m = c->m;
  nnc_net_info ni;
  r->has_info = nnc_model_net_info(m, &ni) == NNC_OK;
  if (r->has_info) {
    r->n_train = ni.n_train;
    r->n_classes = ni.n_classes;
    r->loss_type = ni.loss_type;
    r->margin = ni.margin;
    r->has_zero = (ni.caps & NNC_CAP_ZERO_INPUT) != 0;
  }
  r->has_predict = m->d.predict != NULL;
  r->has_reinit = m->d.reinit != NULL;
  r->has_hyper = m->d.set_hyper != NULL;
  r->has_probes = m->d.num_probes != NULL && m->d.probe != NULL;
  int rc = nnc_params_save(m, &c->orig);
  if (rc)
    return rc;
  size_t n = c->o->sample < r->n_train ? c->o->sample : r->n_train;
  if (n) {
    c->sample = malloc(n * sizeof *c->sample);
    if (!c->sample)
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
    nnc_rng rng;
    nnc_rng_init(&rng, c->o->seed, NNCI_SANITY_STREAM_SAMPLE);
    nnc_rng_choose(&rng, r->n_train, n, c->sample);
    c->nsample = n;
    if (r->has_predict && r->n_classes) {
      int32_t *pred = malloc(n * sizeof *pred);
      c->sample_label = malloc(n * sizeof *c->sample_label);
      if (!pred || !c->sample_label) {
        free(pred);
        return nnci_fail(m, NNC_ENOMEM, "out of memory");
      }
      rc = nnci_sanity_predict(c, c->sample, n, pred, c->sample_label);
      free(pred);
      if (rc)
        return rc;
    }
  }
  return NNC_OK;
}

int nnc_sanity(nnc_model *m, const nnc_sanity_opts *opts,
               nnc_sanity_result **res)
{
  nnc_sanity_opts dflt;
  if (!opts) {
    nnc_sanity_opts_init(&dflt);
    opts = &dflt;
  }
  nnc_sanity_result *r = calloc(1, sizeof *r);
  *res = r;
  if (!r)
    return NNC_ENOMEM;
  const nnc_plugin *d = nnc_model_desc(m);
  snprintf(r->plugin, sizeof r->plugin, "%s", d->name);
  snprintf(r->spec, sizeof r->spec, "%s", nnc_model_spec(m));
  snprintf(r->path, sizeof r->path, "%s", nnc_model_path(m));
  snprintf(r->args, sizeof r->args, "%s", nnc_model_args(m));
  r->kind = d->kind;
  r->seed = opts->seed;
  r->opts = *opts;
  r->error_check = -1;
  r->chance.entropy = r->baseline.majority = r->baseline.entropy = NAN;
  r->reg.grad_norm = NAN;
  r->overfit.chosen = r->overfit.best = -1;
  r->overfit.probe_analytic = r->overfit.probe_numeric =
      r->overfit.probe_relerr = NAN;
  if (r->opts.nreg > NNC_SANITY_MAX_REG)
    r->opts.nreg = NNC_SANITY_MAX_REG;
  if (r->opts.nlr > NNC_SANITY_MAX_LR)
    r->opts.nlr = NNC_SANITY_MAX_LR;
  if (d->kind != NNC_KIND_NET) {
    skip_all(r, "sanity checks need a net: this plugin is a layer (check "
                "it with gradcheck)");
    return NNC_OK;
  }
  skip_all(r, "not selected");
  nnci_sanity c = {m, &r->opts, r, NULL, NULL, 0, NULL};
  int rc = r->opts.nreg < 3 || r->opts.reg[0] != 0 || !r->opts.nlr ||
                   r->opts.subset < 1 || r->opts.epochs < 1
               ? nnci_fail(m, NNC_EARG,
                           "sanity options: at least three strengths from "
                           "0, a learning rate, a subset and an epoch")
               : prepare(&c);
  static int (*const run[NNC_SANITY_NCHECKS])(nnci_sanity *) = {
      check_chance, check_reg, nnci_sanity_overfit, nnci_sanity_baseline,
      nnci_sanity_init};
  /* Run in an order where no re-draw changes what a later check starts
   * from: a plugin may keep the scale of a reinit() as its new default, so
   * the default re-draw (init) goes first and the tiny one (chance) last. */
  static const int order[NNC_SANITY_NCHECKS] = {
      NNC_SANITY_INIT, NNC_SANITY_OVERFIT, NNC_SANITY_BASELINE, NNC_SANITY_REG,
      NNC_SANITY_CHANCE};
  for (int k = 0; !rc && k < NNC_SANITY_NCHECKS; k++) {
    int i = order[k];
    if (!(r->opts.checks & (1u << i)))
      continue;
    memset(&r->items[i], 0, sizeof r->items[i]);
    static const char *const phase[NNC_SANITY_NCHECKS] = {
        "checking the loss at chance", "checking regularization",
        "overfitting a tiny subset", "training on zeroed inputs (baseline)",
        "checking the initialisation"};
    nnci_phase(m, phase[i]);
    rc = run[i](&c);
    if (rc)
      r->error_check = i;
  }
  if (rc) {
    r->error = rc;
    snprintf(r->error_msg, sizeof r->error_msg, "%s", nnc_model_error(m));
    int after = 0;
    for (int k = 0; k < NNC_SANITY_NCHECKS; k++) {
      int i = order[k];
      if (i == r->error_check) {
        after = 1;
        continue;
      }
      if (after && (r->opts.checks & (1u << i))) {
        nnci_sanity_set(&r->items[i], NNC_SKIP, "-", "-");
        snprintf(r->items[i].detail, sizeof r->items[i].detail,
                 "not run: the checks stopped at an error");
      }
    }
    if (r->error_check >= 0) {
      nnc_sanity_item *it = &r->items[r->error_check];
      nnci_sanity_set(it, NNC_INCONCLUSIVE, it->expected[0] ? it->expected : "-",
                      "error");
      snprintf(it->detail, sizeof it->detail, "stopped: %s", r->error_msg);
    }
  }
  if (c.orig && nnc_params_restore(m, c.orig) && !rc) {
    r->error = NNC_EPLUGIN;
    snprintf(r->error_msg, sizeof r->error_msg, "%s", nnc_model_error(m));
  }
  nnc_params_free(c.orig);
  free(c.sample);
  free(c.sample_label);
  /* the worst verdict of the checks that gave one */
  r->verdict = NNC_SKIP;
  for (int i = 0; i < NNC_SANITY_NCHECKS; i++) {
    uint32_t v = r->items[i].verdict;
    if (v == NNC_INCONCLUSIVE || v == NNC_SKIP)
      continue;
    if (r->verdict == NNC_SKIP ||
        nnc_verdict_rank((int)v) > nnc_verdict_rank((int)r->verdict))
      r->verdict = v;
  }
  return r->error;
}

void nnc_sanity_free(nnc_sanity_result *r)
{
  if (!r)
    return;
  free(r->chance.loss);
  free(r->overfit.index);
  for (size_t k = 0; k < r->overfit.nruns; k++)
    nnci_sanity_run_free(&r->overfit.runs[k]);
  nnci_sanity_run_free(&r->baseline.real);
  nnci_sanity_run_free(&r->baseline.zero);
  free(r->init.probes);
  free(r);
}

int nnc_sanity_exit_status(const nnc_sanity_result *r)
{
  if (!r)
    return NNC_EXIT_USAGE;
  if (r->error != NNC_OK)
    return nnc_err_exit_status(r->error);
  return r->verdict == NNC_FAIL ? NNC_EXIT_PROBLEM : NNC_EXIT_OK;
}
