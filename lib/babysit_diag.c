/* babysit_diag.c — from what a run recorded to diagnoses in plain words,
 * each with its evidence and the thresholds it was held to (the rules are
 * in babysit.h). */
#include "config.h"
#include "babysit_internal.h"
#include <math.h>
#include <string.h>

static const char *const diag_names[NNC_BS_NDIAG] = {
    "lr_low",  "lr_high", "batch_small", "overfit",
    "capacity", "dead",   "saturated",   "nan"};

const char *nnc_babysit_diag_name(int id)
{
  return id >= 0 && id < NNC_BS_NDIAG ? diag_names[id] : NULL;
}

int nnc_babysit_diag_parse(const char *name)
{
  for (int i = 0; name && i < NNC_BS_NDIAG; i++)
    if (!strcmp(name, diag_names[i]))
      return i;
  return -1;
}

const char *nnc_babysit_status_name(int s)
{
  return s == NNC_BS_FOUND ? "FOUND" : s == NNC_BS_SKIP ? "skip" : "ok";
}

static nnc_bs_diag *set(nnc_babysit_result *r, int id, int status,
                        const char *title)
{
  nnc_bs_diag *d = &r->diag[id];
  memset(d, 0, sizeof *d);
  d->status = status;
  snprintf(d->title, sizeof d->title, "%s", title);
  return d;
}

#define EV(d, ...) nnci_bs_add((d)->evidence, sizeof (d)->evidence, __VA_ARGS__)
#define ADV(d, ...) nnci_bs_add((d)->advice, sizeof (d)->advice, __VA_ARGS__)

static const nnc_bs_epoch *last_epoch(const nnc_babysit_result *r)
{
  return r->nepochs ? &r->epochs[r->nepochs - 1] : NULL;
}

/* The block with the largest / smallest late ratio among the weights. */
static const nnc_bs_block *extreme_block(const nnc_babysit_result *r, int hi)
{
  const nnc_bs_block *best = NULL;
  for (size_t b = 0; b < r->nblocks; b++) {
    const nnc_bs_block *k = &r->blocks[b];
    if (!k->weight || !isfinite(k->ratio_late))
      continue;
    if (!best || (hi ? k->ratio_late > best->ratio_late
                     : k->ratio_late < best->ratio_late))
      best = k;
  }
  return best;
}

static void ratios_evidence(nnc_bs_diag *d, const nnc_babysit_result *r)
{
  EV(d, "update:weight ratio over the late steps, median over weight blocks "
        "%.2g (the notes: about 1e-3; here low below %.0e, high above %.0e)",
     r->r_late, r->opts.ratio_low, r->opts.ratio_high);
  for (size_t b = 0; b < r->nblocks; b++)
    if (r->blocks[b].weight)
      EV(d, "%s %s %.2g", b == 0 ? ";" : ",", r->blocks[b].name,
         r->blocks[b].ratio_late);
}

static void diag_nan(nnc_babysit_result *r)
{
  if (!r->diverged) {
    nnc_bs_diag *d = set(r, NNC_BS_NAN, NNC_BS_OK, "no NaN or Inf");
    EV(d, "every loss and gradient of %zu steps was finite", r->nsteps);
    return;
  }
  nnc_bs_diag *d = set(r, NNC_BS_NAN, NNC_BS_FOUND,
                       "the loss or a gradient turned NaN/Inf");
  EV(d, "first at step %zu (epoch %.2f), in %s%s; training stopped there",
     r->nan_step,
     r->nsteps ? r->step_epoch[r->nsteps - 1] : (double)r->start_epoch,
     strcmp(r->nan_block, "loss") ? "block " : "the ", r->nan_block);
  if (r->nsteps) {
    size_t k = r->nsteps - 1;
    EV(d, "; the last finite batch loss %.4g (the first %.4g)",
       r->step_loss[k], r->step_loss[0]);
    double mx = 0;
    for (size_t b = 0; b < r->nblocks; b++) {
      double q = r->ratio[k * r->nblocks + b];
      if (isfinite(q) && q > mx)
        mx = q;
    }
    EV(d, ", largest update:weight ratio of the last step %.2g", mx);
  }
  ADV(d, "look at step %zu: lower the learning rate if the loss was "
         "growing before it (lr_high); otherwise find the operation in "
         "%s that overflows or divides by zero (log of 0, exp of a large "
         "score, sqrt of a negative)",
      r->nan_step, r->nan_block);
}

static void diag_lr(nnc_babysit_result *r)
{
  const nnc_babysit_opts *o = &r->opts;
  double q = r->r_late, lf = r->late_frac, fall = r->trend_fall;
  if (r->nsteps < 2 || !isfinite(q)) {
    const char *why = r->nsteps < 2 ? "fewer than two steps recorded"
                                    : "no weight block with a finite "
                                      "update:weight ratio";
    nnc_bs_diag *d = set(r, NNC_BS_LR_LOW, NNC_BS_SKIP,
                         "learning rate too low: not assessed");
    EV(d, "%s", why);
    d = set(r, NNC_BS_LR_HIGH, NNC_BS_SKIP,
            "learning rate too high: not assessed");
    if (r->diverged)
      EV(d, "the run diverged at step %zu, before the updates could tell "
            "(see nan)",
         r->nan_step);
    else
      EV(d, "%s", why);
    return;
  }
  /* too low */
  int linear = !(fall >= 0.01) || (isfinite(lf) && lf >= o->linear_frac);
  nnc_bs_diag *d;
  if (q < o->ratio_low && linear) {
    d = set(r, NNC_BS_LR_LOW, NNC_BS_FOUND,
            "learning rate too low: small updates, the loss falls slowly "
            "and linearly");
    ADV(d, "raise the learning rate (about %.0fx brings the ratio to 1e-3; "
           "lrprobe finds the range)",
        1e-3 / q);
  } else {
    d = set(r, NNC_BS_LR_LOW, NNC_BS_OK, "learning rate not too low");
  }
  ratios_evidence(d, r);
  EV(d, "; the %s went from %.4g to %.4g (fell %.1f%%), the late half of "
        "the run accounting for %.0f%% of that fall (linear decay: %.0f%% "
        "or more)",
     r->curve_epochs ? "training loss" : "batch-loss trend", r->trend_start,
     r->trend_end, 100 * fall, 100 * (isfinite(lf) ? lf : 0),
     100 * o->linear_frac);
  /* too high */
  /* The epoch curve is exact; a batch-loss trend (one epoch) must rise by
   * more than twice its noise. */
  double margin = r->curve_epochs || !isfinite(r->noise_rel)
                      ? 0
                      : 2 * r->noise_rel * fabs(r->trend_start);
  int exploding = isfinite(r->trend_end) &&
                  r->trend_end > r->trend_start + margin;
  int stuck = fall > 0 && isfinite(lf) && lf < o->linear_frac;
  int big = q > o->ratio_high;
  /* A step too large makes the loss grow before it overflows; a NaN out of
   * a falling loss is a numerical bug (see nan), not the step size. */
  int grew = r->diverged && r->nsteps &&
             !(r->step_loss[r->nsteps - 1] <= r->step_loss[0]);
  if (exploding || (big && stuck) || (big && grew)) {
    d = set(r, NNC_BS_LR_HIGH, NNC_BS_FOUND,
            exploding ? "learning rate too high: the loss grows"
                      : "learning rate too high: large updates, the loss "
                        "stuck");
    const nnc_bs_block *k = extreme_block(r, 1);
    ADV(d, "lower the learning rate (about %.0fx brings the ratio to "
           "1e-3)%s%s%s, or anneal it (--sched step)",
        q / 1e-3, k ? "; " : "", k ? k->name : "",
        k ? " moves most" : "");
  } else if (r->diverged && !big && r->nsteps < 2 * r->steps_per_epoch) {
    d = set(r, NNC_BS_LR_HIGH, NNC_BS_OK, "learning rate not too high");
  } else {
    d = set(r, NNC_BS_LR_HIGH, NNC_BS_OK, "learning rate not too high");
  }
  ratios_evidence(d, r);
  EV(d, "; the loss %s (start %.4g, end %.4g; levelled off: the late "
        "half holds under %.0f%% of the fall; growing: the end above the "
        "start)",
     exploding ? "grew" : stuck ? "levelled off" : "fell",
     r->trend_start, r->trend_end, 100 * o->linear_frac);
}

static void diag_batch(nnc_babysit_result *r)
{
  const nnc_babysit_opts *o = &r->opts;
  double nu = r->noise_rel;
  if (!isfinite(nu) || r->steps_per_epoch <= 1) {
    nnc_bs_diag *d = set(r, NNC_BS_BATCH_SMALL, NNC_BS_SKIP,
                         "batch size: not assessed");
    EV(d, "%s", r->steps_per_epoch <= 1
                    ? "one batch per epoch: the whole training set, no "
                      "batch noise"
                    : "too few steps to separate noise from the trend");
    return;
  }
  nnc_bs_diag *d;
  if (nu > o->noise_max) {
    d = set(r, NNC_BS_BATCH_SMALL, NNC_BS_FOUND,
            "batch too small: the loss is noisy");
    double want = (double)o->batch * (nu / 0.25) * (nu / 0.25);
    ADV(d, "raise the batch size (noise falls as 1/sqrt(batch): about %.0f "
           "examples bring it to 0.25 of the loss), or lower the learning "
           "rate with it (a learning rate too high scatters the loss too)",
        ceil(want));
  } else {
    d = set(r, NNC_BS_BATCH_SMALL, NNC_BS_OK, "batch size not too small");
  }
  EV(d, "batch %zu: the batch losses scatter around their trend (moving "
        "average over %zu steps) with sd %.3g of the trend's level over the "
        "late steps (noisy above %.2g)",
     o->batch, r->trend_window, nu, o->noise_max);
}

/* Binomial standard error of the train/val accuracy difference. */
static double gap_se(const nnc_babysit_result *r, const nnc_bs_epoch *e)
{
  double pt = e->train_acc, pv = e->val_acc;
  double nt = (double)r->n_train, nv = (double)r->n_val;
  /* at least one error's worth each, so 100% on a small split is not
   * certainty */
  double vt = fmax(pt * (1 - pt), 1 / nt), vv = fmax(pv * (1 - pv), 1 / nv);
  return sqrt(vt / nt + vv / nv);
}

static void diag_fit(nnc_babysit_result *r)
{
  const nnc_babysit_opts *o = &r->opts;
  const nnc_bs_epoch *e = last_epoch(r);
  if (!e || !isfinite(e->train_acc) || !isfinite(e->val_acc) || !r->n_val) {
    const char *why = !e ? "no epoch completed"
                      : !isfinite(e->train_acc)
                          ? "the plugin does not predict(): no accuracy"
                          : "no validation split";
    nnc_bs_diag *d = set(r, NNC_BS_OVERFIT, NNC_BS_SKIP,
                         "overfitting: not assessed");
    EV(d, "%s", why);
    return;
  }
  double se = gap_se(r, e), gap = e->gap;
  int real_gap = gap > o->gap_min && gap > o->z * se;
  /* the best validation epoch */
  size_t best = 0;
  for (size_t k = 1; k < r->nepochs; k++)
    if (r->epochs[k].val_acc > r->epochs[best].val_acc)
      best = k;
  nnc_bs_diag *d;
  if (real_gap) {
    d = set(r, NNC_BS_OVERFIT, NNC_BS_FOUND,
            "overfitting: validation accuracy far below training");
    ADV(d, "raise the L2 strength or dropout, get more data, or stop "
           "earlier (the running average of the parameters helps a "
           "little: %.4g on validation)",
        e->ema_val_acc);
  } else {
    d = set(r, NNC_BS_OVERFIT, NNC_BS_OK, "no overfitting");
  }
  EV(d, "epoch %zu: training accuracy %.4f, validation %.4f, gap %.4f "
        "(overfit above %.2f and above %.0f standard errors = %.4f; "
        "%zu training, %zu validation examples)",
     e->epoch, e->train_acc, e->val_acc, gap, o->gap_min, o->z, o->z * se,
     r->n_train, r->n_val);
  if (best + 1 < r->nepochs &&
      r->epochs[best].val_acc - e->val_acc > o->z * se / 2)
    EV(d, "; validation peaked at epoch %zu (%.4f) and fell since",
       r->epochs[best].epoch, r->epochs[best].val_acc);
}

/* Dead ReLU or saturated tanh/sigmoid layers. */
static void diag_units(nnc_babysit_result *r, int dead)
{
  const nnc_babysit_opts *o = &r->opts;
  int id = dead ? NNC_BS_DEAD : NNC_BS_SATURATED;
  double max = dead ? o->dead_max : o->sat_max;
  size_t assessed = 0, found = 0;
  long worst = -1;
  double wv = -1;
  const nnc_bs_epoch *e = last_epoch(r);
  for (size_t i = 0; e && i < r->nprobes; i++) {
    const nnc_bs_probe *p = &r->probes[i];
    double v = dead ? p->ep[r->nepochs - 1].dead
                    : p->ep[r->nepochs - 1].sat_units;
    if (!isfinite(v))
      continue;
    assessed++;
    found += v > max;
    if (v > wv) {
      wv = v;
      worst = (long)i;
    }
  }
  nnc_bs_diag *d;
  if (!assessed) {
    d = set(r, id, NNC_BS_SKIP, dead ? "dead ReLUs: not assessed"
                                     : "saturated units: not assessed");
    EV(d, "%s", !e ? "no epoch completed"
                : !r->nprobes ? "the plugin probes no activation"
                : dead ? "no probed ReLU layer"
                       : "no probed tanh or sigmoid layer");
    return;
  }
  if (found) {
    d = set(r, id, NNC_BS_FOUND,
            dead ? "dead ReLUs: most units of a layer never fire"
                 : "saturated units: a layer sits at +-1");
  } else {
    d = set(r, id, NNC_BS_OK, dead ? "no dead layer" : "no saturated layer");
  }
  EV(d, "at the last epoch (%s above %.0f%% of a layer's units):",
     dead ? "dead: <= 0 for every example; a problem" : "saturated: |a| > "
                                                        "the level for most "
                                                        "examples; a problem",
     100 * max);
  for (size_t i = 0; i < r->nprobes; i++) {
    const nnc_bs_probe *p = &r->probes[i];
    const nnc_bs_layer_epoch *le = &p->ep[r->nepochs - 1];
    double v = dead ? le->dead : le->sat_units;
    double v0 = dead ? p->init.dead : p->init.sat_units;
    if (!isfinite(v))
      continue;
    EV(d, " %s %.0f%% of %zu units (at the start %.0f%%)", p->name, 100 * v,
       p->units, isfinite(v0) ? 100 * v0 : 0.0);
    if (!dead && isfinite(le->sat_values))
      EV(d, ", %.0f%% of values |a| > %.2f", 100 * le->sat_values,
         o->sat_level);
    EV(d, ";");
  }
  if (!found || worst < 0)
    return;
  const nnc_bs_probe *p = &r->probes[worst];
  double v0 = dead ? p->init.dead : p->init.sat_units;
  int at_start = isfinite(v0) && v0 > max;
  if (p->wblock[0] && isfinite(p->w_rms0)) {
    EV(d, " %s is fed by %s of RMS %.3g at the start", p->name, p->wblock,
       p->w_rms0);
    if (isfinite(p->w_ref))
      EV(d, " (%s for its fan-in: %.3g)",
         dead ? "sqrt(2/fan_in)" : "sqrt(1/fan_in)", p->w_ref);
    if (p->bblock[0])
      EV(d, " and %s of mean %.3g", p->bblock, p->b_mean0);
  }
  if (dead) {
    if (at_start && p->bblock[0] && p->b_mean0 < 0 &&
        (!isfinite(p->w_rms0) || -p->b_mean0 > 2 * p->w_rms0))
      ADV(d, "suspected init: the negative bias init of %s keeps %s off "
             "from the start; start biases at 0 (or slightly above)",
          p->bblock, p->name);
    else if (at_start && isfinite(p->w_ref) && isfinite(p->w_rms0))
      ADV(d, "suspected init: %s was dead from the start with weights %.3g "
             "times sqrt(2/fan_in); use He initialization and biases at 0",
          p->name, p->w_rms0 / p->w_ref);
    else if (at_start)
      ADV(d, "suspected init: %s was dead from the start; check its weight "
             "scale and bias init",
          p->name);
    else
      ADV(d, "%s was alive at the start and died while training: a too "
             "high learning rate knocks ReLUs off for good; lower it",
          p->name);
  } else {
    if (isfinite(p->w_ref) && isfinite(p->w_rms0) &&
        p->w_rms0 > 2 * p->w_ref)
      ADV(d, "suspected init: the weights feeding %s start at %.3g times "
             "sqrt(1/fan_in) (Xavier); scale them down so pre-activations "
             "stay in tanh's linear range",
          p->name, p->w_rms0 / p->w_ref);
    else if (at_start)
      ADV(d, "%s is saturated from the start: check the scale of its "
             "inputs and weights",
          p->name);
    else
      ADV(d, "%s saturated while training: weights grew; lower the learning "
             "rate or raise the L2 strength",
          p->name);
  }
}

static void diag_capacity(nnc_babysit_result *r)
{
  const nnc_babysit_opts *o = &r->opts;
  const nnc_bs_epoch *e = last_epoch(r);
  nnc_bs_diag *d;
  if (r->diag[NNC_BS_OVERFIT].status == NNC_BS_SKIP) {
    d = set(r, NNC_BS_CAPACITY, NNC_BS_SKIP, "capacity: not assessed");
    EV(d, "%s", r->diag[NNC_BS_OVERFIT].evidence);
    return;
  }
  static const int broken[] = {NNC_BS_NAN, NNC_BS_LR_LOW, NNC_BS_LR_HIGH,
                               NNC_BS_DEAD, NNC_BS_SATURATED};
  for (size_t i = 0; i < sizeof broken / sizeof *broken; i++)
    if (r->diag[broken[i]].status == NNC_BS_FOUND) {
      d = set(r, NNC_BS_CAPACITY, NNC_BS_SKIP, "capacity: not assessed");
      EV(d, "training itself is unhealthy (%s): a net that cannot train "
            "says nothing about its capacity; fix that first",
         nnc_babysit_diag_name(broken[i]));
      return;
    }
  double se = gap_se(r, e), gap = e->gap;
  int real_gap = gap > o->gap_min && gap > o->z * se;
  double ch = isfinite(r->chance) ? r->chance : 0;
  double level = ch < 1 ? (e->train_acc - ch) / (1 - ch) : NAN;
  size_t third = r->nepochs - (r->nepochs + 2) / 3; /* first of last third */
  if (third >= r->nepochs)
    third = 0;
  double rise = e->train_acc - (third > 0 ? r->epochs[third - 1].train_acc
                                          : NAN);
  double se_t = sqrt(fmax(e->train_acc * (1 - e->train_acc),
                          1 / (double)r->n_train) /
                     (double)r->n_train);
  int levelled = r->nepochs >= 3 && isfinite(rise) && rise < o->z * se_t &&
                 !(r->late_frac >= o->linear_frac);

  if (!real_gap && level < o->capacity_level && levelled) {
    d = set(r, NNC_BS_CAPACITY, NNC_BS_FOUND,
            "too little capacity: validation tracks training at a low "
            "level");
    ADV(d, "make the model larger (wider or deeper layers), or lower the "
           "regularization; training longer will not help");
  } else {
    d = set(r, NNC_BS_CAPACITY, NNC_BS_OK,
            r->nepochs < 3 ? "capacity: too few epochs to tell"
                           : "capacity enough for the data");
  }
  EV(d, "training accuracy %.4f covers %.0f%% of the room between chance "
        "(%.4f, the largest class share) and 1 (low below %.0f%%); "
        "validation %.4f",
     e->train_acc, 100 * level, ch, 100 * o->capacity_level, e->val_acc);
  if (isfinite(rise))
    EV(d, "; over the last %zu epochs training accuracy rose %.4f "
          "(levelled off below %.0f standard errors = %.4f)",
       r->nepochs - third + 1, rise, o->z, o->z * se_t);
}

void nnc_babysit_diagnose(nnc_babysit_result *r)
{
  diag_nan(r);
  diag_lr(r);
  diag_batch(r);
  diag_fit(r);
  diag_units(r, 1);
  diag_units(r, 0);
  diag_capacity(r);
  r->found = 0;
  for (int i = 0; i < NNC_BS_NDIAG; i++)
    r->found += r->diag[i].status == NNC_BS_FOUND;
}
