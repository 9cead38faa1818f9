/* A training run: seeded mini-batches, an update rule under a schedule,
 * per-epoch evaluation, and a log of every step and epoch.  Divergence (a
 * NaN or Inf loss or gradient) is a finding the log reports, not an error.
 *
 * Determinism: batches come from the sampler's seeded shuffles and every
 * step's loss seed (dropout masks) from one seeded stream, so one seed gives
 * a bit-identical log for a deterministic plugin. */
#include "config.h"
#include "model.h"
#include "rng.h"
#include <nncheck/train.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { STREAM_STEP_SEED = 0x5401 };

/* ---- evaluation ---------------------------------------------------------- */

static size_t split_size(const nnc_model *m, uint32_t split)
{
  if (!m->has_info)
    return 0;
  return split == NNC_SPLIT_VAL ? m->ni.n_val : m->ni.n_train;
}

int nnc_evaluate(nnc_model *m, uint32_t split, const size_t *idx, size_t n,
                 size_t batch, uint32_t flags, double *loss, double *acc)
{
  double L = NAN, A = NAN;
  if (loss)
    *loss = NAN;
  if (acc)
    *acc = NAN;
  if (split != NNC_SPLIT_TRAIN && split != NNC_SPLIT_VAL)
    return nnci_fail(m, NNC_EARG, "unknown split %u (0 train, 1 validation)",
                     (unsigned)split);
  if (m->d.kind == NNC_KIND_LAYER || !m->has_info) {
    /* No dataset: the training "split" is the model's own batch, and
     * there is no validation split. */
    if (split == NNC_SPLIT_VAL)
      return NNC_OK;
    int rc = nnc_model_loss(m, NULL, 0, flags, &L);
    if (rc == NNC_OK && loss)
      *loss = L;
    return rc;
  }
  size_t total = split_size(m, split);
  if (!idx)
    n = total;
  if (n == 0)
    return NNC_OK;
  for (size_t k = 0; idx && k < n; k++)
    if (idx[k] >= total)
      return nnci_fail(m, NNC_EARG,
                       "example %zu is outside the %s split of %zu", idx[k],
                       split == NNC_SPLIT_VAL ? "validation" : "training",
                       total);
  size_t bs = batch && batch < n ? batch : n;
  size_t *seq = idx ? NULL : malloc(bs * sizeof *seq);
  int32_t *pred = m->d.predict ? malloc(2 * bs * sizeof *pred) : NULL;
  if ((!idx && !seq) || (m->d.predict && !pred)) {
    free(seq);
    free(pred);
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  }
  double sum = 0;
  size_t correct = 0;
  int rc = NNC_OK;
  for (size_t k0 = 0; k0 < n && rc == NNC_OK; k0 += bs) {
    size_t c = n - k0 < bs ? n - k0 : bs;
    if (seq)
      for (size_t k = 0; k < c; k++)
        seq[k] = k0 + k;
    nnc_batch b = {seq ? seq : idx + k0, c, split, 0};
    double Lb;
    /* Batch means weighted by batch size: the mean over the examples. */
    rc = nnc_model_loss(m, &b, 0, flags, &Lb);
    if (rc != NNC_OK)
      break;
    sum += Lb * (double)c;
    if (pred) {
      char perr[1024] = "";
      if (nnci_call_predict(m, &b, pred, pred + bs, perr, sizeof perr) != 0)
        rc = nnci_fail(m, NNC_EPLUGIN, "%s: predict() failed: %s", m->d.name,
                       perr[0] ? perr : "(no reason given)");
      for (size_t k = 0; k < c; k++)
        correct += pred[k] == pred[bs + k];
    }
  }
  free(seq);
  free(pred);
  if (rc != NNC_OK)
    return rc;
  L = sum / (double)n;
  if (m->d.predict)
    A = (double)correct / (double)n;
  if (loss)
    *loss = L;
  if (acc)
    *acc = A;
  return NNC_OK;
}

/* ---- the run ------------------------------------------------------------- */

void nnc_train_opts_init(nnc_train_opts *o)
{
  memset(o, 0, sizeof *o);
  nnc_optim_opts_init(&o->optim, NNC_RULE_SGD);
  nnc_schedule_init(&o->sched, NNC_SCHED_CONST, 0);
  o->sched.mu0 = o->sched.mu1 = -1; /* lr0 0, mu0 -1: take optim's */
  o->epochs = 10;
  o->batch = 32;
  o->subset = 0;
  o->seed = 1;
  o->flags = NNC_F_ALL | NNC_F_TRAIN;
  o->eval_batch = 256;
  o->eval_epochs = 1;
  o->max_steps = 0;
}

void nnc_train_log_free(nnc_train_log *log)
{
  if (!log)
    return;
  free(log->step_epoch);
  free(log->step_loss);
  free(log->step_lr);
  free(log->ratio);
  free(log->epochs);
  free(log);
}

typedef struct run {
  nnc_model *m;
  const nnc_train_opts *o;
  nnc_train_log *log;
  size_t cap_steps, cap_epochs;
  nnc_sampler *smp;
  nnc_optim *opt;
  nnc_schedule sched;
  double epoch_loss_sum; /* batch losses of the current epoch, for PLATEAU
                            without evaluation */
  size_t epoch_steps;
} run;

static int resize(double **p, size_t n)
{
  double *q = realloc(*p, n * sizeof *q);
  if (!q)
    return -1;
  *p = q;
  return 0;
}

static int log_step(run *r, double epoch, double loss, double lr)
{
  nnc_train_log *g = r->log;
  size_t nb = g->nblocks;
  if (g->nsteps == r->cap_steps) {
    size_t c = r->cap_steps ? 2 * r->cap_steps : 64;
    if (resize(&g->step_epoch, c) || resize(&g->step_loss, c) ||
        resize(&g->step_lr, c) || (nb && resize(&g->ratio, c * nb)))
      return nnci_fail(r->m, NNC_ENOMEM, "out of memory for the training log");
    r->cap_steps = c;
  }
  g->step_epoch[g->nsteps] = epoch;
  g->step_loss[g->nsteps] = loss;
  g->step_lr[g->nsteps] = lr;
  for (size_t b = 0; b < nb; b++)
    g->ratio[g->nsteps * nb + b] = nnc_optim_ratio(r->opt, b);
  g->nsteps++;
  return NNC_OK;
}

/* The block a non-finite gradient message names: "... block 'NAME' ...". */
static void blame_block(const nnc_model *m, char *out, size_t len)
{
  out[0] = 0;
  const char *p = strstr(m->err, "block '");
  if (!p)
    return;
  p += 7;
  const char *e = strchr(p, '\'');
  if (!e)
    return;
  size_t k = (size_t)(e - p);
  if (k >= len)
    k = len - 1;
  memcpy(out, p, k);
  out[k] = 0;
}

static void diverged(run *r, size_t step, int from_grad)
{
  r->log->diverged = 1;
  r->log->nan_step = step;
  if (from_grad)
    blame_block(r->m, r->log->nan_block, sizeof r->log->nan_block);
}

/* End of an epoch: evaluate, feed PLATEAU, log, call the hook.  Returns
 * < 0 for an error, 1 to stop (hook or divergence), 0 to go on. */
static int end_epoch(run *r, size_t epoch, double lr, size_t step, int *rc)
{
  const nnc_train_opts *o = r->o;
  nnc_epoch_info e = {epoch, NAN, NAN, NAN, NAN, lr};
  *rc = NNC_OK;
  if (o->eval_epochs) {
    uint32_t ef = o->flags & ~NNC_F_TRAIN;
    size_t eb = o->eval_batch ? o->eval_batch : 256;
    const size_t *ex = nnc_sampler_examples(r->smp);
    *rc = nnc_evaluate(r->m, NNC_SPLIT_TRAIN, ex,
                       ex ? nnc_sampler_size(r->smp) : 0, eb, ef,
                       &e.train_loss, &e.train_acc);
    if (*rc == NNC_OK)
      *rc = nnc_evaluate(r->m, NNC_SPLIT_VAL, NULL, 0, eb, ef, &e.val_loss,
                         &e.val_acc);
    if (*rc == NNC_ENONFINITE) { /* the last update blew the loss up */
      *rc = NNC_OK;
      diverged(r, step + 1, 0);
      return 1;
    }
    if (*rc != NNC_OK)
      return -1;
  }
  double seen = isfinite(e.val_loss)     ? e.val_loss
                : isfinite(e.train_loss) ? e.train_loss
                : r->epoch_steps ? r->epoch_loss_sum / (double)r->epoch_steps
                                 : NAN;
  nnc_schedule_observe(&r->sched, seen);
  r->epoch_loss_sum = 0;
  r->epoch_steps = 0;
  nnc_train_log *g = r->log;
  if (g->nepochs == r->cap_epochs) {
    size_t c = r->cap_epochs ? 2 * r->cap_epochs : 16;
    nnc_epoch_info *q = realloc(g->epochs, c * sizeof *q);
    if (!q) {
      *rc = nnci_fail(r->m, NNC_ENOMEM, "out of memory for the training log");
      return -1;
    }
    g->epochs = q;
    r->cap_epochs = c;
  }
  g->epochs[g->nepochs++] = e;
  if (o->on_epoch && o->on_epoch(o->user, r->m, &e))
    return 1;
  return 0;
}

static int check_train_opts(nnc_model *m, const nnc_train_opts *o)
{
  if (o->batch == 0)
    return nnci_fail(m, NNC_EARG, "batch=0: the batch size must be >= 1");
  if (!(o->epochs > 0) && !o->max_steps)
    return nnci_fail(m, NNC_EARG,
                     "epochs=%g: give a positive number of epochs or "
                     "max_steps",
                     o->epochs);
  if (!(o->flags & NNC_F_ALL))
    return nnci_fail(m, NNC_EARG,
                     "flags select neither the data nor the regularization "
                     "part of the loss");
  return NNC_OK;
}

static int train_loop(run *r)
{
  const nnc_train_opts *o = r->o;
  nnc_model *m = r->m;
  nnc_rng seeds;
  nnc_rng_init(&seeds, o->seed, STREAM_STEP_SEED);
  double ep = 0, limit = o->epochs > 0 ? o->epochs : INFINITY;
  size_t step = 0, epochs_done = 0;
  int rc = NNC_OK;
  while (ep < limit && !(o->max_steps && step >= o->max_steps)) {
    /* The schedule at the epoch this step starts in. */
    double lr = nnc_schedule_lr(&r->sched, ep);
    double mu = nnc_schedule_mu(&r->sched, ep);
    nnc_optim_opts *oo = nnc_optim_options(r->opt);
    oo->lr = lr;
    oo->mu = mu;
    double after, L;
    const nnc_batch *b = nnc_sampler_next(r->smp, &after);
    uint64_t seed = nnc_rng_u64(&seeds);
    step++;
    rc = nnc_model_loss(m, b->index ? b : NULL, seed, o->flags, &L);
    if (rc == NNC_OK)
      rc = nnc_model_backward(m);
    if (rc == NNC_ENONFINITE) {
      diverged(r, step, m->have_loss);
      return NNC_OK;
    }
    if (rc == NNC_OK)
      rc = nnc_optim_step(r->opt, m);
    if (rc == NNC_OK)
      rc = log_step(r, after, L, lr);
    if (rc != NNC_OK)
      return rc;
    ep = after;
    r->epoch_loss_sum += L;
    r->epoch_steps++;
    if (o->on_step) {
      nnc_step_info si = {step, after, L, lr, mu, r->opt};
      if (o->on_step(o->user, m, &si))
        return NNC_OK;
    }
    if (floor(ep) > (double)epochs_done) {
      epochs_done++;
      int st = end_epoch(r, epochs_done, lr, step, &rc);
      if (st != 0)
        return rc;
    }
  }
  return NNC_OK;
}

int nnc_train(nnc_model *m, const nnc_train_opts *o, nnc_train_log **log)
{
  *log = NULL;
  nnc_train_opts def;
  if (!o) {
    nnc_train_opts_init(&def);
    o = &def;
  }
  int rc = check_train_opts(m, o);
  if (rc != NNC_OK)
    return rc;
  run r;
  memset(&r, 0, sizeof r);
  r.m = m;
  r.o = o;
  r.log = calloc(1, sizeof *r.log);
  if (!r.log)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  r.log->nblocks = m->d.kind == NNC_KIND_LAYER ? m->nparam : m->nblocks;
  /* The schedule's lr0 and mu0, where given, override the optimizer's. */
  nnc_optim_opts oo = o->optim;
  r.sched = o->sched;
  if (!(r.sched.lr0 > 0))
    r.sched.lr0 = oo.lr;
  if (r.sched.mu0 < 0)
    r.sched.mu0 = oo.mu;
  if (r.sched.mu1 < 0)
    r.sched.mu1 = r.sched.mu0;
  r.sched.lr = r.sched.lr0;
  r.sched.best = INFINITY;
  r.sched.since_best = 0;
  oo.lr = r.sched.lr0;
  oo.mu = r.sched.mu0;
  rc = nnc_sampler_new(m, o->batch, o->subset, o->seed, &r.smp);
  if (rc == NNC_OK)
    rc = nnc_optim_new(m, &oo, &r.opt);
  if (rc == NNC_OK)
    rc = train_loop(&r);
  nnc_sampler_free(r.smp);
  nnc_optim_free(r.opt);
  if (rc != NNC_OK) {
    nnc_train_log_free(r.log);
    return rc;
  }
  *log = r.log;
  return NNC_OK;
}
