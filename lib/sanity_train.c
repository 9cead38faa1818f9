/* sanity_train.c — the checks that train: overfitting a tiny subset, and
 * the input-independent baseline.
 *
 * Both train the same seeded subset of the training split from the
 * parameters the plugin started with, with full-subset batches (one step an
 * epoch), Adam, the data loss only and in inference mode: no L2, no
 * dropout, nothing that keeps a correct net from a near-zero loss.  After
 * every epoch the data loss and accuracy over the subset are measured again
 * in inference mode, so the curve shows what the net has learnt rather than
 * the noise of a batch. */
#include "config.h"
#include "sanity_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *nnci_sanity_method(const nnc_sanity_run *run, char *buf,
                               size_t len)
{
  snprintf(buf, len, "Adam lr %g%s", run->lr,
           run->extended ? ", extended" : "");
  return buf;
}

void nnci_sanity_run_free(nnc_sanity_run *run)
{
  free(run->loss);
  free(run->acc);
  run->loss = run->acc = NULL;
}

typedef struct hook {
  nnci_sanity *c;
  nnc_sanity_run *run;
  const size_t *idx;
  size_t n;
  uint32_t eval_flags;
  int with_acc;
  double target;       /* stop below it at 100% accuracy; < 0: never */
  size_t cap;          /* entries in run->loss */
  int rc;              /* an error met while evaluating */
} hook;

static int evaluate(hook *h, double *loss, double *acc)
{
  int rc = nnc_evaluate(h->c->m, NNC_SPLIT_TRAIN, h->idx, h->n, h->n,
                        h->eval_flags, loss, acc);
  if (!h->with_acc)
    *acc = NAN;
  return rc;
}

static int on_epoch(void *user, nnc_model *m, const nnc_epoch_info *e)
{
  hook *h = user;
  nnc_sanity_run *run = h->run;
  (void)m;
  (void)e;
  if (run->nepochs + 1 >= h->cap)
    return 1;
  double loss, acc;
  int rc = evaluate(h, &loss, &acc);
  if (rc == NNC_ENONFINITE) { /* the weights went to Inf/NaN: diverged */
    run->diverged = 1;
    return 1;
  }
  if (rc) {
    h->rc = rc;
    return 1;
  }
  size_t t = ++run->nepochs;
  run->loss[t] = loss;
  run->acc[t] = acc;
  if (loss < run->loss_min)
    run->loss_min = loss;
  if (h->target >= 0 && loss < h->target && !(acc < 1)) {
    run->reached = t;
    return 1;
  }
  return 0;
}

/* The notes' band: above 1e-2 relative error a gradient is wrong. */
#define PROBE_AGREE 1e-2

static double target_of(const nnc_sanity_opts *o, double loss0)
{
  return fmax(o->target_rel * loss0, o->target_abs);
}

/* Train the subset from the caller's parameters with Adam at rate lr and
 * `flags` for at most `budget` epochs; stop at the target when `stop`.
 * Errors are the plugin's. */
static int train_run(nnci_sanity *c, nnc_sanity_run *run, double lr,
                     uint32_t flags, size_t budget, int stop)
{
  const nnc_sanity_opts *o = c->o;
  struct nnc_sanity_overfit *of = &c->r->overfit;
  memset(run, 0, sizeof *run);
  run->lr = lr;
  run->flags = flags;
  run->loss_end = run->acc_end = NAN;
  run->loss = malloc((budget + 1) * sizeof *run->loss);
  run->acc = malloc((budget + 1) * sizeof *run->acc);
  if (!run->loss || !run->acc)
    return nnci_fail(c->m, NNC_ENOMEM, "out of memory");
  int rc;
  if ((rc = nnci_sanity_restore(c)))
    return rc;
  hook h = {c, run, of->index, of->subset, flags & ~(uint32_t)NNC_F_TRAIN,
            c->r->has_predict && !(flags & NNC_F_ZERO_INPUT), -1, budget + 1,
            NNC_OK};
  if ((rc = evaluate(&h, &run->loss[0], &run->acc[0])))
    return rc;
  run->loss0 = run->loss_min = run->loss[0];
  if (stop)
    h.target = target_of(o, run->loss0);

  nnc_train_opts t;
  nnc_train_opts_init(&t);
  nnc_optim_opts_init(&t.optim, NNC_RULE_ADAM);
  t.optim.lr = lr; /* the default schedule: constant, at optim's rate */
  t.epochs = (double)budget;
  t.batch = of->subset;
  t.subset = of->subset;
  t.seed = o->seed;
  t.flags = flags;
  t.eval_epochs = 0;
  t.on_epoch = on_epoch;
  t.user = &h;
  nnc_train_log *log = NULL;
  rc = nnc_train(c->m, &t, &log);
  /* The first step is taken at the starting parameters, where the loss
   * was just found finite: a NaN there is the plugin's, not a divergence. */
  if (!rc && log && log->diverged && log->nan_step == 1) {
    char why[sizeof c->m->err];
    snprintf(why, sizeof why, "%s", nnc_model_error(c->m));
    rc = nnci_fail(c->m, NNC_ENONFINITE,
                   "%s: NaN/Inf in the first training step, from parameters "
                   "where the loss is finite%s%s%s%s",
                   c->m->d.name, log->nan_block[0] ? " (block '" : "",
                   log->nan_block, log->nan_block[0] ? "')" : "",
                   why[0] ? ": " : ": find where the backward pass "
                                   "overflows or divides by zero");
    if (why[0])
      nnci_sanity_add(c->m->err, sizeof c->m->err, "%s", why);
  }
  if (log && log->diverged)
    run->diverged = 1;
  nnc_train_log_free(log);
  if (h.rc)
    return h.rc;
  if (rc)
    return rc;
  run->loss_end = run->loss[run->nepochs];
  run->acc_end = run->acc[run->nepochs];
  return NNC_OK;
}

/* The subset: the examples nnc_train takes for (subset, seed). */
static int choose_subset(nnci_sanity *c)
{
  struct nnc_sanity_overfit *of = &c->r->overfit;
  if (of->index)
    return NNC_OK;
  size_t n = c->o->subset < c->r->n_train ? c->o->subset : c->r->n_train;
  nnc_sampler *s = NULL;
  int rc = nnc_sampler_new(c->m, n, n, c->o->seed, &s);
  if (rc)
    return rc;
  of->subset = nnc_sampler_size(s);
  of->index = malloc(of->subset * sizeof *of->index);
  if (of->index)
    memcpy(of->index, nnc_sampler_examples(s),
           of->subset * sizeof *of->index);
  nnc_sampler_free(s);
  if (!of->index)
    return nnci_fail(c->m, NNC_ENOMEM, "out of memory");
  return NNC_OK;
}

static void fmt_acc(char *buf, size_t len, double acc)
{
  if (isnan(acc))
    snprintf(buf, len, "n/a");
  else
    snprintf(buf, len, "%.0f%%", 100 * acc);
}

/* ---- 3. overfit a tiny subset ------------------------------------------- */

/* Why a run that learnt stopped short of the target: at a real minimum of
 * the loss (the model cannot memorise the subset), or where a wrong
 * gradient leads.  At the parameters the model holds, the slope of the
 * loss along the direction of the reported gradient g, by centered
 * differences, is compared with |g| (a one-direction gradient check); the
 * best agreement over two steps, so that one step crossing a kink does not
 * decide. */
static int probe_slope(nnci_sanity *c, struct nnc_sanity_overfit *of)
{
  nnc_model *m = c->m;
  nnc_batch b = {of->index, of->subset, NNC_SPLIT_TRAIN, 0};
  size_t n = 0;
  int any_float = 0;
  for (size_t k = 0; k < m->nparam; k++) {
    n += m->blocks[k].count;
    any_float |= m->blocks[k].dtype == NNC_F32;
  }
  double *x = malloc(n * sizeof *x), *d = malloc(n * sizeof *d);
  if (!x || !d) {
    free(x);
    free(d);
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  }
  double loss, gg = 0, xx = 0;
  int rc = nnc_model_loss(m, &b, 0, NNC_F_DATA, &loss);
  if (!rc)
    rc = nnc_model_backward(m);
  for (size_t k = 0, j = 0; !rc && k < m->nparam; k++)
    for (size_t i = 0; i < m->blocks[k].count; i++, j++) {
      x[j] = nnc_model_get(m, k, i);
      d[j] = nnc_model_grad(m, k, i);
      gg += d[j] * d[j];
      xx += x[j] * x[j];
    }
  double g = sqrt(gg);
  of->probe_analytic = g;
  of->probe_numeric = of->probe_relerr = g > 0 ? INFINITY : 0;
  /* steps relative to the size of the parameters, larger for float32 */
  static const double steps[2][2] = {{1e-5, 1e-6}, {1e-2, 1e-3}};
  for (int s = 0; !rc && g > 0 && s < 2; s++) {
    double h = steps[any_float][s] * fmax(1, sqrt(xx)), f[2];
    for (int side = 0; !rc && side < 2; side++) {
      double t = side ? -h / g : h / g;
      for (size_t k = 0, j = 0; k < m->nparam; k++)
        for (size_t i = 0; i < m->blocks[k].count; i++, j++)
          nnc_model_set(m, k, i, x[j] + t * d[j]);
      rc = nnc_model_loss(m, &b, 0, NNC_F_DATA, &f[side]);
    }
    if (rc)
      break;
    double slope = (f[0] - f[1]) / (2 * h);
    double rel = fabs(slope - g) / fmax(fabs(slope), g);
    if (rel < of->probe_relerr) {
      of->probe_relerr = rel;
      of->probe_numeric = slope;
    }
  }
  for (size_t k = 0, j = 0; k < m->nparam; k++)
    for (size_t i = 0; i < m->blocks[k].count; i++, j++)
      nnc_model_set(m, k, i, x[j]);
  free(x);
  free(d);
  return rc;
}

/* The run with the lowest final loss that did not diverge (-1: none); with
 * `learning`, only runs whose loss fell by learn_rel at least. */
static long lowest(const struct nnc_sanity_overfit *of, double learn_rel,
                   int learning)
{
  long best = -1;
  for (size_t k = 0; k < of->nruns; k++) {
    const nnc_sanity_run *run = &of->runs[k];
    if (run->diverged ||
        (learning && !(run->loss_end < (1 - learn_rel) * run->loss0)))
      continue;
    if (best < 0 || run->loss_end < of->runs[best].loss_end)
      best = (long)k;
  }
  return best;
}

static void diagnose(const struct nnc_sanity_overfit *of,
                     const nnc_sanity_opts *o, char *d, size_t dl)
{
  const nnc_sanity_run *best = &of->runs[of->best];
  size_t up = 0, stayed = 0, diverged = 0;
  for (size_t k = 0; k < of->nruns; k++) {
    const nnc_sanity_run *run = &of->runs[k];
    if (run->diverged)
      diverged++;
    else if (run->loss_end > run->loss0)
      up++;
    else if (run->loss_min > 0.9 * run->loss0)
      stayed++;
  }
  if (diverged == of->nruns)
    nnci_sanity_add(d, dl, ". The loss went to NaN/Inf at every learning "
                           "rate: the update blows up");
  else if (up && up + diverged == of->nruns)
    nnci_sanity_add(d, dl, ". The loss went UP at every learning rate (from "
                           "%.4g to %.4g at best): each update climbs the "
                           "loss, so the gradient backward() returns points "
                           "the wrong way (its sign?)",
                    best->loss0, best->loss_end);
  else if (up + stayed + diverged == of->nruns)
    nnci_sanity_add(d, dl, ". The loss stayed near %.4g at every learning "
                           "rate: nothing learns (dead units, a zero "
                           "gradient, a gradient that does not belong to "
                           "this loss)",
                    best->loss0);
  else if (best->acc_end >= 1)
    nnci_sanity_add(d, dl, ". Every example is right, yet the loss stalls at "
                           "%.4g above the target: something keeps the loss "
                           "from 0 (a constant added to it?)",
                    best->loss_end);
  else {
    const nnc_sanity_run *last = &of->runs[of->nruns - 1];
    nnci_sanity_add(d, dl, ". The loss falls (to %.4g) but not to the target",
                    best->loss_end);
    if (last->extended)
      nnci_sanity_add(d, dl, ", not even in %zu epochs", last->nepochs);
    nnci_sanity_add(d, dl, ": a net that cannot memorise %zu examples will "
                           "not learn the whole set (a wrong gradient, too "
                           "little capacity?)",
                    of->subset);
  }
}

int nnci_sanity_overfit(nnci_sanity *c)
{
  nnc_sanity_result *r = c->r;
  nnc_sanity_item *it = &r->items[NNC_SANITY_OVERFIT];
  struct nnc_sanity_overfit *of = &r->overfit;
  const nnc_sanity_opts *o = c->o;
  if (!r->has_info || r->n_train < 2) {
    nnci_sanity_set(it, NNC_SKIP, "-", "-");
    snprintf(it->detail, sizeof it->detail,
             "the plugin gives no dataset (net_info n_train) to take a subset "
             "from");
    return NNC_OK;
  }
  int rc;
  if ((rc = choose_subset(c)))
    return rc;
  for (size_t k = 0; k < o->nlr; k++) {
    of->nruns = k + 1;
    if ((rc = train_run(c, &of->runs[k], o->lr[k], NNC_F_DATA, o->epochs,
                        1)))
      return rc;
    if (of->runs[k].reached) {
      of->chosen = (long)k;
      break;
    }
  }
  /* Slow is not broken: the best run that learnt something is run again
   * with a longer budget.  (Its loss may wobble on the way: Adam at a
   * constant rate does, so no stall rule cuts it short.) */
  long grow = of->chosen < 0 && o->extend > 1 ? lowest(of, o->learn_rel, 1)
                                              : -1;
  if (grow >= 0) {
    size_t k = of->nruns++;
    if ((rc = train_run(c, &of->runs[k], of->runs[grow].lr, NNC_F_DATA,
                        o->extend * o->epochs, 1)))
      return rc;
    of->runs[k].extended = 1;
    if (of->runs[k].reached)
      of->chosen = (long)k;
    else if ((rc = probe_slope(c, of)))
      return rc;
  }
  of->best = of->chosen >= 0 ? of->chosen : lowest(of, o->learn_rel, 0);
  if (of->best < 0)
    of->best = 0;
  const nnc_sanity_run *best = &of->runs[of->best];
  of->target = target_of(o, best->loss0);
  int slow = of->chosen >= 0 && best->extended;
  /* Short of the target where the gradient agrees with the loss: a model
   * that cannot memorise the subset, not a broken one, unless every
   * example is already right (then only a floor in the loss holds it). */
  int stuck = of->chosen < 0 && of->probe_relerr <= PROBE_AGREE &&
              !(best->acc_end >= 1);

  char exp[192], meas[192], a[16], how[32];
  snprintf(exp, sizeof exp, "loss < %.3g%s within %zu epochs", of->target,
           r->has_predict ? " and 100% accuracy" : "", o->epochs);
  fmt_acc(a, sizeof a, best->acc_end);
  if (of->chosen >= 0)
    snprintf(meas, sizeof meas, "%.3g, %s at epoch %zu (%s)", best->loss_end,
             a, best->reached, nnci_sanity_method(best, how, sizeof how));
  else
    snprintf(meas, sizeof meas, "%.3g (from %.3g), %s after %zu epochs%s",
             best->loss_end, best->loss0, a, best->nepochs,
             best->diverged ? ", diverged" : "");
  nnci_sanity_set(it,
                  of->chosen >= 0 ? (slow ? NNC_WARN : NNC_PASS)
                  : stuck         ? NNC_WARN
                                  : NNC_FAIL,
                  exp, meas);

  char *d = it->detail;
  size_t dl = sizeof it->detail;
  snprintf(d, dl, "%zu seeded training examples, regularization off (data "
                  "loss only, inference mode), Adam with full-subset batches "
                  "from the parameters the plugin started with; target: loss "
                  "below max(%g x initial, %g)%s; ",
           of->subset, o->target_rel, o->target_abs,
           r->has_predict ? " and every example right"
                          : " (accuracy unknown: no predict())");
  for (size_t k = 0; k < of->nruns; k++) {
    const nnc_sanity_run *run = &of->runs[k];
    fmt_acc(a, sizeof a, run->acc_end);
    nnci_sanity_add(d, dl, "%s%s: %.4g -> %.4g (min %.4g), %s after %zu "
                           "epoch%s%s",
                    k ? "; " : "", nnci_sanity_method(run, how, sizeof how),
                    run->loss0, run->loss_end, run->loss_min, a, run->nepochs,
                    run->nepochs == 1 ? "" : "s",
                    run->diverged ? ", diverged" : "");
  }
  if (slow)
    nnci_sanity_add(d, dl, ". No rate met the target within %zu epochs; the "
                           "best, still learning, did at epoch %zu of up to "
                           "%zu: the net learns, slowly (inputs far from "
                           "unit scale? a learning rate off the ladder?)",
                    o->epochs, best->reached, o->extend * o->epochs);
  else if (of->chosen < 0)
    diagnose(of, o, d, dl);
  if (isfinite(of->probe_relerr) || of->probe_relerr == INFINITY)
    nnci_sanity_add(d, dl, ". Where the longest run stopped, the slope of the "
                           "loss along the reported gradient is %.6g by "
                           "centered differences against |g| = %.6g "
                           "(relative error %.2g): %s",
                    of->probe_numeric, of->probe_analytic, of->probe_relerr,
                    of->probe_relerr > PROBE_AGREE
                        ? "the gradient backward() returns is not the "
                          "gradient of this loss (run gradcheck)"
                    : stuck ? "a real minimum, so the model cannot memorise "
                              "these examples (a linear model, too few or "
                              "dead units): WARN, not FAIL"
                            : "the gradient is right");
  return nnci_sanity_restore(c);
}

/* ---- 4. the input-independent baseline ---------------------------------- */

static int copy_run(nnc_sanity_run *to, const nnc_sanity_run *from)
{
  size_t n = from->nepochs + 1;
  *to = *from;
  to->loss = malloc(n * sizeof *to->loss);
  to->acc = malloc(n * sizeof *to->acc);
  if (!to->loss || !to->acc)
    return NNC_ENOMEM;
  memcpy(to->loss, from->loss, n * sizeof *to->loss);
  memcpy(to->acc, from->acc, n * sizeof *to->acc);
  return NNC_OK;
}

int nnci_sanity_baseline(nnci_sanity *c)
{
  nnc_sanity_result *r = c->r;
  nnc_sanity_item *it = &r->items[NNC_SANITY_BASELINE];
  struct nnc_sanity_baseline *bl = &r->baseline;
  struct nnc_sanity_overfit *of = &r->overfit;
  const nnc_sanity_opts *o = c->o;
  if (!r->has_info || r->n_train < 2 || !r->has_zero) {
    nnci_sanity_set(it, NNC_SKIP, "-", "-");
    snprintf(it->detail, sizeof it->detail, "%s",
             !r->has_info || r->n_train < 2
                 ? "the plugin gives no dataset (net_info n_train)"
                 : "the plugin does not declare NNC_CAP_ZERO_INPUT: inputs "
                   "cannot be zeroed");
    return NNC_OK;
  }
  int rc;
  if ((rc = choose_subset(c)))
    return rc;
  /* The real-input run: the overfit check's best, or one of its own. */
  if (of->best >= 0) {
    if (copy_run(&bl->real, &of->runs[of->best]))
      return nnci_fail(c->m, NNC_ENOMEM, "out of memory");
  } else if ((rc = train_run(c, &bl->real, o->lr[0], NNC_F_DATA, o->epochs,
                             1))) {
    return rc;
  }
  const nnc_sanity_run *real = &bl->real;
  if (r->has_predict && r->n_classes) {
    int32_t *pred = malloc(of->subset * sizeof *pred);
    int32_t *label = malloc(of->subset * sizeof *label);
    if (!pred || !label)
      rc = nnci_fail(c->m, NNC_ENOMEM, "out of memory");
    else
      rc = nnci_sanity_predict(c, of->index, of->subset, pred, label);
    if (!rc)
      nnci_sanity_label_stats(label, of->subset, r->n_classes, &bl->majority,
                              &bl->entropy);
    free(pred);
    free(label);
    if (rc)
      return rc;
  }
  /* The same training with the inputs zeroed, for the same budget. */
  size_t budget = real->extended ? o->extend * o->epochs : o->epochs;
  if ((rc = train_run(c, &bl->zero, real->lr, NNC_F_DATA | NNC_F_ZERO_INPUT,
                      budget, 0)))
    return rc;
  const nnc_sanity_run *zero = &bl->zero;

  char exp[192], meas[192], a[16], how[32];
  snprintf(exp, sizeof exp, "zero-input loss > real + %g%%%s",
           100 * o->baseline_margin,
           isfinite(bl->majority) ? ", accuracy > majority" : "");
  fmt_acc(a, sizeof a, real->acc_end);
  snprintf(meas, sizeof meas, "zero %.4g vs real %.4g (accuracy %s)",
           zero->loss_end, real->loss_end, a);
  char *d = it->detail;
  size_t dl = sizeof it->detail;
  snprintf(d, dl, "the same %zu examples, start, training (%s) and budget, "
                  "once with every input replaced by zeros (NNC_F_ZERO_INPUT, "
                  "in training and in the evaluation): zero inputs %.4g -> "
                  "%.4g after %zu epochs%s, real inputs %.4g -> %.4g after "
                  "%zu epochs%s",
           of->subset, nnci_sanity_method(real, how, sizeof how), zero->loss0,
           zero->loss_end, zero->nepochs, zero->diverged ? " (diverged)" : "",
           real->loss0, real->loss_end, real->nepochs,
           real->diverged ? " (diverged)" : "");
  if (isfinite(bl->entropy) && r->loss_type == NNC_LOSS_SOFTMAX)
    nnci_sanity_add(d, dl, "; without its input a softmax net can do no "
                           "better than the label entropy %.4g",
                    bl->entropy);
  if (isfinite(bl->majority))
    nnci_sanity_add(d, dl, "; without its input every example gets one "
                           "class: accuracy at most %.0f%% (the majority "
                           "share), with it %s",
                    100 * bl->majority, a);

  if (!(real->loss_end < (1 - o->learn_rel) * real->loss0)) {
    nnci_sanity_set(it, NNC_INCONCLUSIVE, exp, meas);
    nnci_sanity_add(d, dl, ". Training on the real inputs did not lower the "
                           "loss (see overfit): there is nothing to compare "
                           "the baseline with");
    return nnci_sanity_restore(c);
  }
  int worse = zero->loss_end > real->loss_end &&
              zero->loss_end - real->loss_end >=
                  o->baseline_margin * zero->loss_end;
  int acc_ok = !isfinite(bl->majority) || !isfinite(real->acc_end) ||
               real->acc_end > bl->majority;
  nnci_sanity_set(it, worse && acc_ok ? NNC_PASS : NNC_FAIL, exp, meas);
  if (!worse)
    nnci_sanity_add(d, dl, ". Zeroed inputs train as well as the real ones: "
                           "the net does not use its input (is the input "
                           "connected, the data loaded, the features "
                           "scaled?)");
  else if (!acc_ok)
    nnci_sanity_add(d, dl, ". The real inputs lower the loss but get no more "
                           "examples right than a constant guess");
  return nnci_sanity_restore(c);
}
