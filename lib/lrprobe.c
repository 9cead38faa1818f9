/* lrprobe.c — the learning-rate range test, the step sweep along -grad and
 * the update:weight ratios along the ladder (definitions in lrprobe.h).
 *
 * Everything the probe does to the model is undone: the parameters and the
 * optimizer state are snapshotted once and restored before every run, after
 * every step of the sweep and on the way out, errors included.  All random
 * choices come from the seed (batches through nnc_sampler, dropout through
 * the loss seeds drawn here), so one seed gives one result. */
#include "config.h"
#include "lrprobe_internal.h"
#include "model.h"
#include "rng.h"

#include <nncheck/lrprobe.h>

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_LRPROBE 0x6c7270726f6265ULL /* the loss seeds of the steps */
#define LRPROBE_FLAGS (NNC_F_ALL | NNC_F_TRAIN)
#define SWEEP_N 10
#define MAX_STEPS 10000 /* the valley's search is quadratic */

static const char *const sugg_names[NNC_LR_NSUGG] = {"valley", "slide",
                                                     "minimum/10", "steepest"};

const char *nnc_lr_sugg_name(int s)
{
  return s >= 0 && s < NNC_LR_NSUGG ? sugg_names[s] : "?";
}

const char *nnc_lr_stop_name(int stop)
{
  switch (stop) {
  case NNC_LR_STOP_END: return "end";
  case NNC_LR_STOP_DIVERGED: return "diverged";
  case NNC_LR_STOP_NONFINITE: return "nonfinite";
  default: return "?";
  }
}

const char *nnc_lr_verdict_name(int v)
{
  switch (v) {
  case NNC_LR_OK: return "OK";
  case NNC_LR_RISES: return "RISES";
  case NNC_LR_FLAT: return "FLAT";
  default: return "ERROR";
  }
}

void nnc_lrprobe_opts_init(nnc_lrprobe_opts *o)
{
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->start = 1e-7;
  o->end = 10;
  o->steps = 100;
  o->runs = 3;
  o->rule = NNC_RULE_SGD;
  o->batch = 32;
  o->beta = 0.98;
  o->stop_factor = 4;
  o->min_drop = 0.05;
  o->unreliable_decades = 1;
  o->ref_batches = 8;
  o->sweep = 1;
}

/* ---- the state of one probe --------------------------------------------- */

typedef struct probe {
  nnc_model *m;
  nnc_optim *opt;
  nnc_optim_opts oo0;     /* the optimizer's options as found */
  nnc_params *params0;    /* the parameters as found */
  nnc_optim_state *ost0;  /* the optimizer state as found */
  const nnc_lrprobe_opts *o;
  nnc_lrprobe_result *r;
} probe;

static int fail(probe *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(probe *p, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->r->error_msg, sizeof p->r->error_msg, fmt, ap);
  va_end(ap);
  p->r->error = code;
  return code;
}

/* The model's own message for a failed call. */
static int fail_model(probe *p, int code, const char *where)
{
  return fail(p, code, "%s: %s", where, nnc_model_error(p->m));
}

/* Parameters, optimizer state and options back to what they were. */
static int restore(probe *p)
{
  int rc = nnc_params_restore(p->m, p->params0);
  if (rc == NNC_OK)
    rc = nnc_optim_restore(p->opt, p->ost0);
  *nnc_optim_options(p->opt) = p->oo0;
  return rc;
}

static double ladder_lr(const nnc_lrprobe_opts *o, size_t i)
{
  if (i == 0)
    return o->start;
  if (i + 1 == o->steps)
    return o->end;
  return o->start * pow(o->end / o->start, (double)i / (double)(o->steps - 1));
}

/* ---- one run of the ladder ---------------------------------------------- */

/* The start level: the mean and spread of the loss at the starting
 * parameters over the run's first ref_batches batches, with the loss seeds
 * the ladder will use for them. */
static int start_level(probe *p, nnc_lrprobe_run *u)
{
  nnc_sampler *s = NULL;
  int rc = nnc_sampler_new(p->m, p->o->batch, 0, u->seed, &s);
  if (rc != NNC_OK)
    return fail_model(p, rc, "batches");
  nnc_rng rng;
  nnc_rng_init(&rng, u->seed, STREAM_LRPROBE);
  double sum = 0, sum2 = 0;
  size_t R = p->o->ref_batches ? p->o->ref_batches : 1;
  for (size_t k = 0; k < R; k++) {
    double ep, L;
    const nnc_batch *b = nnc_sampler_next(s, &ep);
    rc = nnc_model_loss(p->m, b, nnc_rng_u64(&rng), LRPROBE_FLAGS, &L);
    p->r->loss_evals++;
    if (rc != NNC_OK) {
      nnc_sampler_free(s);
      return fail_model(p, rc, "the loss at the starting parameters");
    }
    sum += L;
    sum2 += L * L;
  }
  /* batches drawn without replacement from a training set of N: once they
   * cover it, their mean is the exact mean over it (finite-population
   * correction) */
  size_t N = nnc_sampler_size(s), drawn = R * p->o->batch;
  nnc_sampler_free(s);
  u->start_level = sum / (double)R;
  double var = R > 1 ? (sum2 - sum * sum / (double)R) / (double)(R - 1) : 0;
  u->start_sd = var > 0 ? sqrt(var) : 0;
  double fpc = N > 0 ? (drawn < N ? 1 - (double)drawn / (double)N : 0) : 1;
  u->start_se = u->start_sd * sqrt(fpc / (double)R);
  return NNC_OK;
}

static int run_ladder(probe *p, nnc_lrprobe_run *u)
{
  const nnc_lrprobe_opts *o = p->o;
  size_t nb = p->r->nblocks;
  int rc = restore(p);
  if (rc != NNC_OK)
    return fail(p, rc, "restoring the parameters before a run: %s",
                nnc_model_error(p->m));
  if ((rc = start_level(p, u)) != NNC_OK)
    return rc;
  nnc_sampler *s = NULL;
  if ((rc = nnc_sampler_new(p->m, o->batch, 0, u->seed, &s)) != NNC_OK)
    return fail_model(p, rc, "batches");
  nnc_rng rng;
  nnc_rng_init(&rng, u->seed, STREAM_LRPROBE);
  double ep, L;
  const nnc_batch *b = nnc_sampler_next(s, &ep);
  rc = nnc_model_loss(p->m, b, nnc_rng_u64(&rng), LRPROBE_FLAGS, &L);
  p->r->loss_evals++;
  if (rc == NNC_OK) {
    rc = nnc_model_backward(p->m);
    p->r->backward_calls++;
  }
  if (rc != NNC_OK) {
    nnc_sampler_free(s);
    return fail_model(p, rc, "at the starting parameters");
  }
  /* the best so far starts at the start level: a first step that already
   * blows the loss up stops the ladder at once */
  double avg = 0, best = u->start_level;
  u->stop = NNC_LR_STOP_END;
  u->stop_lr = NAN;
  for (size_t i = 0; i < o->steps; i++) {
    double lr = ladder_lr(o, i);
    nnc_optim_options(p->opt)->lr = lr;
    if ((rc = nnc_optim_step(p->opt, p->m)) != NNC_OK) {
      nnc_sampler_free(s);
      return fail_model(p, rc, "optimizer step");
    }
    b = nnc_sampler_next(s, &ep);
    rc = nnc_model_loss(p->m, b, nnc_rng_u64(&rng), LRPROBE_FLAGS, &L);
    p->r->loss_evals++;
    if (rc == NNC_ENONFINITE) { /* the expected end of a ladder */
      u->stop = NNC_LR_STOP_NONFINITE;
      u->stop_lr = lr;
      break;
    }
    if (rc != NNC_OK) {
      nnc_sampler_free(s);
      return fail_model(p, rc, "during the ladder");
    }
    size_t n = u->n++;
    u->lr[n] = lr;
    u->raw[n] = L;
    avg = o->beta * avg + (1 - o->beta) * L;
    u->smooth[n] = avg / (1 - pow(o->beta, (double)(n + 1)));
    for (size_t k = 0; k < nb; k++)
      u->ratio[n * nb + k] = nnc_optim_ratio(p->opt, p->r->blocks[k].index);
    if (u->smooth[n] < best)
      best = u->smooth[n];
    if (u->smooth[n] > best + (o->stop_factor - 1) * fabs(best)) {
      u->stop = NNC_LR_STOP_DIVERGED;
      u->stop_lr = lr;
      break;
    }
    if (i + 1 == o->steps)
      break;
    rc = nnc_model_backward(p->m);
    p->r->backward_calls++;
    if (rc == NNC_ENONFINITE) {
      u->stop = NNC_LR_STOP_NONFINITE;
      u->stop_lr = ladder_lr(o, i + 1);
      break;
    }
    if (rc != NNC_OK) {
      nnc_sampler_free(s);
      return fail_model(p, rc, "during the ladder");
    }
  }
  nnc_sampler_free(s);
  return NNC_OK;
}

/* ---- the step sweep ------------------------------------------------------ */

static int sweep(probe *p)
{
  nnc_lrprobe_result *r = p->r;
  nnc_model *m = p->m;
  int rc = restore(p);
  if (rc != NNC_OK)
    return fail_model(p, rc, "restoring the parameters before the sweep");
  nnc_sampler *s = NULL;
  if ((rc = nnc_sampler_new(m, p->o->batch, 0, p->o->seed, &s)) != NNC_OK)
    return fail_model(p, rc, "batches");
  double ep;
  nnc_batch b = *nnc_sampler_next(s, &ep);
  size_t *idx = NULL;
  if (b.index && b.count) { /* keep the batch past the sampler's life */
    idx = malloc(b.count * sizeof *idx);
    if (!idx) {
      nnc_sampler_free(s);
      return fail(p, NNC_ENOMEM, "out of memory");
    }
    memcpy(idx, b.index, b.count * sizeof *idx);
    b.index = idx;
  }
  nnc_sampler_free(s);
  nnc_rng rng;
  nnc_rng_init(&rng, p->o->seed, STREAM_LRPROBE);
  uint64_t seed = nnc_rng_u64(&rng);
  size_t total = 0, nb = r->nblocks;
  for (size_t k = 0; k < nb; k++)
    total += r->blocks[k].count;
  double *g = malloc((total ? total : 1) * sizeof *g);
  if (!g) {
    free(idx);
    return fail(p, NNC_ENOMEM, "out of memory");
  }
  double L0;
  rc = nnc_model_loss(m, &b, seed, LRPROBE_FLAGS, &L0);
  r->loss_evals++;
  if (rc == NNC_OK) {
    rc = nnc_model_backward(m);
    r->backward_calls++;
  }
  if (rc != NNC_OK) {
    fail_model(p, rc, "the step sweep at the starting parameters");
    goto out;
  }
  r->sweep_loss0 = L0;
  r->sweep_gnorm2 = 0;
  r->sweep_descends = -1;
  r->sweep_agree = NAN;
  for (size_t k = 0, at = 0; k < nb; k++) {
    size_t bi = r->blocks[k].index;
    double gn = nnc_model_grad_norm(m, bi);
    r->sweep_gnorm2 += gn * gn;
    for (size_t i = 0; i < r->blocks[k].count; i++)
      g[at++] = nnc_model_grad(m, bi, i);
  }
  for (size_t j = 0; j < SWEEP_N; j++) {
    double st = pow(10, (double)j - 10);
    r->sweep_step[j] = st;
    r->sweep_pred[j] = -st * r->sweep_gnorm2;
    for (size_t k = 0, at = 0; k < nb; k++) {
      size_t bi = r->blocks[k].index;
      for (size_t i = 0; i < r->blocks[k].count; i++, at++)
        nnc_model_set(m, bi, i, nnc_model_get(m, bi, i) - st * g[at]);
    }
    double L;
    rc = nnc_model_loss(m, &b, seed, LRPROBE_FLAGS, &L);
    r->loss_evals++;
    if (rc == NNC_ENONFINITE)
      L = NAN;
    else if (rc != NNC_OK) {
      fail_model(p, rc, "the step sweep");
      goto out;
    }
    r->sweep_loss[j] = L;
    r->nsweep = j + 1;
    if ((rc = restore(p)) != NNC_OK) {
      fail_model(p, rc, "restoring the parameters in the sweep");
      goto out;
    }
  }
  rc = NNC_OK;
  /* the smallest step whose predicted change the loss resolves, while
   * the first order still holds: does the loss fall, as -grad promises,
   * and at the promised rate? */
  int any_float = 0;
  for (size_t k = 0; k < nb; k++)
    any_float |= nnc_model_block(m, r->blocks[k].index)->dtype == NNC_F32;
  double tol = any_float ? 1e-4 : 1e-10, aL = fabs(L0);
  for (size_t j = 0; j < r->nsweep; j++) {
    double pred = r->sweep_pred[j];
    if (!(fabs(pred) > tol * aL))
      continue;
    if (fabs(pred) > 0.1 * aL || !isfinite(r->sweep_loss[j]))
      break;
    double q = (r->sweep_loss[j] - L0) / pred;
    r->sweep_agree = q;
    r->sweep_descends = q > 0;
    r->sweep_mismatch = fabs(q - 1) > 0.02 && fabs(pred) <= 1e-3 * aL;
    break;
  }
out:
  free(g);
  free(idx);
  return rc;
}

/* ---- the probe ------------------------------------------------------------ */

static int check_opts(probe *p, const nnc_lrprobe_opts *o)
{
  if (!(o->start > 0) || !(o->end > o->start) || !isfinite(o->end))
    return fail(p, NNC_EARG, "the ladder needs 0 < start < end, finite "
                             "(start %g, end %g)",
                o->start, o->end);
  if (o->steps < 2 || o->steps > MAX_STEPS)
    return fail(p, NNC_EARG, "steps must be in [2, %d], not %zu", MAX_STEPS,
                o->steps);
  if (o->runs < 1 || o->runs > 256)
    return fail(p, NNC_EARG, "runs must be in [1, 256], not %zu", o->runs);
  if (o->batch < 1)
    return fail(p, NNC_EARG, "batch must be at least 1");
  if (!(o->beta >= 0 && o->beta < 1))
    return fail(p, NNC_EARG, "beta must be in [0, 1), not %g", o->beta);
  if (!(o->stop_factor > 1))
    return fail(p, NNC_EARG, "stop factor must be > 1, not %g",
                o->stop_factor);
  if (!(o->min_drop > 0 && o->min_drop < 1))
    return fail(p, NNC_EARG, "min drop must be in (0, 1), not %g",
                o->min_drop);
  if (!(o->unreliable_decades > 0))
    return fail(p, NNC_EARG, "unreliable spread must be > 0 decades");
  if (o->rule < NNC_RULE_SGD || o->rule > NNC_RULE_ADAM)
    return fail(p, NNC_EARG, "unknown update rule %d", o->rule);
  return NNC_OK;
}

static int setup(probe *p, nnc_model *m)
{
  nnc_lrprobe_result *r = p->r;
  const nnc_plugin *d = nnc_model_desc(m);
  snprintf(r->plugin, sizeof r->plugin, "%s", d->name ? d->name : "?");
  snprintf(r->spec, sizeof r->spec, "%s", nnc_model_spec(m));
  snprintf(r->args, sizeof r->args, "%s", nnc_model_args(m));
  r->kind = nnc_model_kind(m);
  r->diverges_first = -1;
  r->sweep_descends = -1;
  r->sweep_agree = NAN;
  if (r->kind != NNC_KIND_NET)
    return fail(p, NNC_EUNSUPPORTED,
                "%s is a layer: a learning-rate range test needs a net whose "
                "loss has a minimum, and a layer's scalar L = sum(r .* y) is "
                "linear in its output and unbounded below; probe a net that "
                "uses the layer",
                r->plugin);
  size_t nb = nnc_model_num_blocks(m);
  r->blocks = calloc(nb ? nb : 1, sizeof *r->blocks);
  if (!r->blocks)
    return fail(p, NNC_ENOMEM, "out of memory");
  for (size_t k = 0; k < nb; k++) {
    const nnc_block *b = nnc_model_block(m, k);
    nnc_lrprobe_block *bl = &r->blocks[r->nblocks++];
    snprintf(bl->name, sizeof bl->name, "%s", b->name);
    bl->index = k;
    bl->count = b->count;
    double ss = 0;
    for (size_t i = 0; i < b->count; i++) {
      double v = nnc_model_get(m, k, i);
      ss += v * v;
    }
    bl->norm0 = sqrt(ss);
    bl->zero_start = ss == 0;
  }
  r->runs = calloc(r->opts.runs, sizeof *r->runs);
  if (!r->runs)
    return fail(p, NNC_ENOMEM, "out of memory");
  r->nruns = r->opts.runs;
  size_t N = r->opts.steps;
  for (size_t q = 0; q < r->nruns; q++) {
    nnc_lrprobe_run *u = &r->runs[q];
    u->seed = r->opts.seed + q;
    u->lr = malloc(N * sizeof *u->lr);
    u->raw = malloc(N * sizeof *u->raw);
    u->smooth = malloc(N * sizeof *u->smooth);
    u->ratio = malloc(N * (r->nblocks ? r->nblocks : 1) * sizeof *u->ratio);
    u->stop_lr = NAN;
    u->drop = u->need = u->rise_lr = u->start_level = u->start_sd =
        u->start_se = NAN;
    for (int k = 0; k < NNC_LR_NSUGG; k++)
      u->sugg[k] = NAN;
    if (!u->lr || !u->raw || !u->smooth || !u->ratio)
      return fail(p, NNC_ENOMEM, "out of memory");
  }
  return NNC_OK;
}

int nnc_lrprobe(nnc_model *m, nnc_optim *opt, const nnc_lrprobe_opts *o,
                nnc_lrprobe_result **res)
{
  nnc_lrprobe_opts dflt;
  if (!o) {
    nnc_lrprobe_opts_init(&dflt);
    o = &dflt;
  }
  *res = NULL;
  nnc_lrprobe_result *r = calloc(1, sizeof *r);
  if (!r)
    return NNC_ENOMEM;
  *res = r;
  r->opts = *o;
  r->verdict = NNC_LR_ERROR;
  r->w0 = (o->steps + 9) / 10;
  for (int k = 0; k < NNC_LR_NSUGG; k++)
    r->sugg[k].median = r->sugg[k].lo = r->sugg[k].hi = r->sugg[k].spread =
        NAN;
  probe p = {.m = m, .opt = opt, .o = &r->opts, .r = r};
  nnc_optim *own = NULL;
  int rc = check_opts(&p, o);
  if (rc == NNC_OK)
    rc = setup(&p, m);
  if (rc != NNC_OK)
    return rc;
  if (!opt) {
    nnc_optim_opts oo;
    nnc_optim_opts_init(&oo, o->rule);
    if ((rc = nnc_optim_new(m, &oo, &own)) != NNC_OK)
      return fail_model(&p, rc, "optimizer");
    p.opt = own;
  } else {
    r->caller_optim = 1;
  }
  snprintf(r->rule, sizeof r->rule, "%s",
           nnc_rule_name(r->caller_optim ? nnc_optim_options(p.opt)->rule
                                         : o->rule));
  p.oo0 = *nnc_optim_options(p.opt);
  if ((rc = nnc_params_save(m, &p.params0)) != NNC_OK ||
      (rc = nnc_optim_save(p.opt, &p.ost0)) != NNC_OK) {
    fail_model(&p, rc, "snapshot");
    goto out;
  }
  nnci_phase(m, "probing learning rates");
  for (size_t q = 0; q < r->nruns; q++) {
    if ((rc = run_ladder(&p, &r->runs[q])) != NNC_OK)
      goto out;
    if ((rc = nnci_lrprobe_suggest(&r->opts, r->w0, &r->runs[q])) != NNC_OK) {
      fail(&p, rc, "out of memory");
      goto out;
    }
  }
  nnci_lrprobe_aggregate(r);
  nnci_lrprobe_ratios(r);
  if (o->sweep)
    nnci_phase(m, "sweeping the step size");
  if (o->sweep && (rc = sweep(&p)) != NNC_OK)
    goto out;
  nnci_lrprobe_verdict(r);
out:
  if (p.params0) {
    int rrc = restore(&p);
    if (rrc != NNC_OK && rc == NNC_OK)
      rc = fail_model(&p, rrc, "restoring the parameters");
  }
  if (rc != NNC_OK)
    r->verdict = NNC_LR_ERROR;
  nnc_params_free(p.params0);
  nnc_optim_state_free(p.ost0);
  nnc_optim_free(own);
  return rc;
}

void nnc_lrprobe_free(nnc_lrprobe_result *r)
{
  if (!r)
    return;
  for (size_t q = 0; q < r->nruns; q++) {
    free(r->runs[q].lr);
    free(r->runs[q].raw);
    free(r->runs[q].smooth);
    free(r->runs[q].ratio);
  }
  free(r->runs);
  free(r->blocks);
  free(r);
}

int nnc_lrprobe_exit_status(const nnc_lrprobe_result *r)
{
  if (!r)
    return NNC_EXIT_USAGE;
  if (r->error != NNC_OK)
    return nnc_err_exit_status(r->error);
  if (r->verdict != NNC_LR_OK || r->sweep_descends == 0)
    return NNC_EXIT_PROBLEM;
  return NNC_EXIT_OK;
}
