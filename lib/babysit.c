/* babysit.c — a training run watched the way the notes' "Babysitting the
 * learning process" says: every batch loss and update:weight ratio, per
 * epoch accuracies, the running average of the parameters, per-layer
 * histograms and unit statistics, first-layer filters, checkpoints that
 * resume bit for bit.  The measures are in babysit_stats.c, the diagnoses
 * in babysit_diag.c, the checkpoints in babysit_ckpt.c. */
#include "config.h"
#include "babysit_internal.h"
#include "rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  STREAM_STEP_SEED = 0x5501, /* one loss seed per step */
  STREAM_INIT_BATCH = 0x5502 /* the epoch-0 batch */
};

void nnc_babysit_opts_init(nnc_babysit_opts *o)
{
  memset(o, 0, sizeof *o);
  nnc_optim_opts_init(&o->optim, NNC_RULE_SGD);
  nnc_schedule_init(&o->sched, NNC_SCHED_CONST, 0);
  o->sched.mu0 = o->sched.mu1 = -1;
  o->epochs = 10;
  o->batch = 32;
  o->seed = 1;
  o->ema_decay = 0.99;
  o->eval_batch = 256;
  o->ratio_low = 1e-4;
  o->ratio_high = 1e-2;
  o->linear_frac = 0.25;
  o->noise_max = 0.5;
  o->gap_min = 0.05;
  o->z = 3;
  o->capacity_level = 0.5;
  o->dead_max = 0.5;
  o->sat_max = 0.5;
  o->sat_level = 0.97;
}

void nnc_babysit_free(nnc_babysit_result *r)
{
  if (!r)
    return;
  free(r->step_epoch);
  free(r->step_loss);
  free(r->step_trend);
  free(r->step_lr);
  free(r->ratio);
  for (size_t b = 0; r->blocks && b < r->nblocks; b++)
    free(r->blocks[b].ratio_epoch);
  free(r->blocks);
  free(r->epochs);
  for (size_t i = 0; r->probes && i < r->nprobes; i++)
    free(r->probes[i].ep);
  free(r->probes);
  free(r->filters.values);
  free(r->filters.values0);
  free(r);
}

int nnc_babysit_exit_status(const nnc_babysit_result *r)
{
  if (r->error != NNC_OK)
    return nnc_err_exit_status(r->error);
  return r->found ? NNC_EXIT_PROBLEM : NNC_EXIT_OK;
}

/* The state of one run. */
typedef struct bs_run {
  nnc_model *m;
  nnc_babysit_result *r;
  const nnc_babysit_opts *o; /* the caller's: its progress hook */
  nnci_bs_state st;
  nnc_schedule sched;
  nnc_sampler *smp;
  nnci_bs_acc *acc;
  size_t cap_steps;
  long filter_block;
} bs_run;

static int fail(bs_run *u, int rc)
{
  u->r->error = rc;
  snprintf(u->r->error_msg, sizeof u->r->error_msg, "%s",
           nnc_model_error(u->m));
  return rc;
}

/* The block a non-finite gradient message names, else the first block
 * holding a non-finite parameter, else "loss". */
static void blame(bs_run *u, int from_grad)
{
  nnc_model *m = u->m;
  char *out = u->r->nan_block;
  size_t len = sizeof u->r->nan_block;
  snprintf(out, len, "loss");
  const char *p = from_grad ? strstr(m->err, "block '") : NULL;
  if (p) {
    p += 7;
    const char *e = strchr(p, '\'');
    if (e) {
      size_t k = (size_t)(e - p) < len - 1 ? (size_t)(e - p) : len - 1;
      memcpy(out, p, k);
      out[k] = 0;
      return;
    }
  }
  for (size_t b = 0; b < m->nparam; b++)
    for (size_t i = 0; i < m->blocks[b].count; i++)
      if (!isfinite(nnc_model_get(m, b, i))) {
        snprintf(out, len, "%s", m->blocks[b].name);
        return;
      }
}

static int diverge(bs_run *u, size_t step, int from_grad)
{
  u->r->diverged = 1;
  u->r->nan_step = step;
  blame(u, from_grad);
  return NNC_OK;
}

/* Largest class share of the training split, from predict()'s labels. */
static double chance_level(nnc_model *m, const nnc_babysit_result *r)
{
  if (!r->n_classes)
    return NAN;
  double fallback = 1.0 / (double)r->n_classes;
  if (!m->d.predict || !r->n_train)
    return fallback;
  size_t n = r->n_train, chunk = 256;
  size_t *idx = malloc(chunk * sizeof *idx);
  int32_t *pl = malloc(2 * chunk * sizeof *pl);
  uint64_t *cnt = calloc(r->n_classes, sizeof *cnt);
  double share = fallback;
  if (idx && pl && cnt) {
    size_t seen = 0;
    for (size_t k0 = 0; k0 < n; k0 += chunk) {
      size_t c = n - k0 < chunk ? n - k0 : chunk;
      for (size_t k = 0; k < c; k++)
        idx[k] = k0 + k;
      nnc_batch b = {idx, c, NNC_SPLIT_TRAIN, 0};
      char perr[256];
      if (m->d.predict(m->self, &b, pl, pl + chunk, perr, sizeof perr) != 0)
        break;
      for (size_t k = 0; k < c; k++)
        if (pl[chunk + k] >= 0 && (uint32_t)pl[chunk + k] < r->n_classes) {
          cnt[pl[chunk + k]]++;
          seen++;
        }
    }
    uint64_t best = 0;
    for (uint32_t j = 0; j < r->n_classes; j++)
      if (cnt[j] > best)
        best = cnt[j];
    if (seen)
      share = (double)best / (double)seen;
  }
  free(idx);
  free(pl);
  free(cnt);
  return share;
}

static int setup_blocks(bs_run *u)
{
  nnc_babysit_result *r = u->r;
  nnc_model *m = u->m;
  r->nblocks = m->nparam;
  r->blocks = calloc(r->nblocks + 1, sizeof *r->blocks);
  if (!r->blocks)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  size_t ne = r->opts.epochs - r->start_epoch;
  for (size_t b = 0; b < r->nblocks; b++) {
    nnc_bs_block *k = &r->blocks[b];
    const nnc_block *mb = &m->blocks[b];
    snprintf(k->name, sizeof k->name, "%s", mb->name);
    k->count = mb->count;
    double ss = 0;
    for (size_t i = 0; i < mb->count; i++) {
      double v = nnc_model_get(m, b, i);
      ss += v * v;
    }
    k->norm0 = sqrt(ss);
    k->weight = mb->ndim >= 2 && k->norm0 > 0;
    k->ratio_late = NAN;
    if (!(k->ratio_epoch = calloc(ne + 1, sizeof *k->ratio_epoch)))
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
  }
  /* No weight matrix: every block that starts nonzero counts. */
  int any = 0;
  for (size_t b = 0; b < r->nblocks; b++)
    any |= r->blocks[b].weight;
  for (size_t b = 0; !any && b < r->nblocks; b++)
    r->blocks[b].weight = r->blocks[b].norm0 > 0;
  return NNC_OK;
}

static int setup_probes(bs_run *u)
{
  nnc_babysit_result *r = u->r;
  nnc_model *m = u->m;
  size_t np = m->d.num_probes && m->d.probe ? m->d.num_probes(m->self) : 0;
  size_t ne = r->opts.epochs - r->start_epoch;
  r->probes = calloc(np + 1, sizeof *r->probes);
  u->acc = calloc(np + 1, sizeof *u->acc);
  if (!r->probes || !u->acc)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  r->nprobes = np;
  for (size_t i = 0; i < np; i++)
    if (!(r->probes[i].ep = calloc(ne + 1, sizeof *r->probes[i].ep)))
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
  return NNC_OK;
}

/* Epoch 0: one forward/backward pass (training flags) over a seeded batch
 * of up to 256 training examples at the starting parameters, and the
 * attribution of each probe to the blocks feeding it. */
static int epoch_zero(bs_run *u)
{
  nnc_babysit_result *r = u->r;
  nnc_model *m = u->m;
  if (!r->nprobes)
    return NNC_OK;
  size_t n = r->n_train < 256 ? r->n_train : 256;
  size_t *idx = n ? malloc(n * sizeof *idx) : NULL;
  if (n && !idx)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  nnc_rng g;
  nnc_rng_init(&g, r->opts.seed, STREAM_INIT_BATCH);
  if (n)
    nnc_rng_choose(&g, r->n_train, n, idx);
  nnc_batch b = {idx, n, NNC_SPLIT_TRAIN, 0};
  double L;
  int rc = nnc_model_loss(m, n ? &b : NULL, nnc_rng_u64(&g),
                          NNC_F_ALL | NNC_F_TRAIN, &L);
  if (rc == NNC_OK)
    rc = nnc_model_backward(m);
  free(idx);
  if (rc == NNC_ENONFINITE) /* training will find it at its first step */
    return NNC_OK;
  if (rc != NNC_OK)
    return rc;
  size_t bn = n ? n : 1;
  if ((rc = nnci_bs_acc_add(m, u->acc, r->nprobes, bn, r->opts.sat_level)))
    return rc;
  for (size_t i = 0; i < r->nprobes; i++) {
    nnc_bs_probe *p = &r->probes[i];
    nnc_probe pr;
    memset(&pr, 0, sizeof pr);
    if (m->d.probe(m->self, i, &pr) != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: probe(%zu) failed", m->d.name, i);
    snprintf(p->name, sizeof p->name, "%s", pr.name ? pr.name : "?");
    p->kind = pr.kind;
    p->units = u->acc[i].units;
    nnci_bs_acc_finish(&u->acc[i], &p->init);
    nnci_attr a;
    nnci_init_attribute(m, i, p->kind, p->units, &a);
    memcpy(p->wblock, a.wblock, sizeof p->wblock);
    memcpy(p->bblock, a.bblock, sizeof p->bblock);
    p->w_rms0 = a.w_rms;
    p->w_ref = a.w_ref;
    p->b_mean0 = a.b_mean;
  }
  return NNC_OK;
}

static int log_step(bs_run *u, double epoch, double loss, double lr)
{
  nnc_babysit_result *r = u->r;
  if (r->nsteps == u->cap_steps) {
    size_t c = u->cap_steps ? 2 * u->cap_steps : 256, nb = r->nblocks;
    double *a = realloc(r->step_epoch, c * sizeof *a);
    if (a) r->step_epoch = a;
    double *b = realloc(r->step_loss, c * sizeof *b);
    if (b) r->step_loss = b;
    double *t = realloc(r->step_trend, c * sizeof *t);
    if (t) r->step_trend = t;
    double *l = realloc(r->step_lr, c * sizeof *l);
    if (l) r->step_lr = l;
    double *q = realloc(r->ratio, (c * nb + 1) * sizeof *q);
    if (q) r->ratio = q;
    if (!a || !b || !t || !l || !q)
      return nnci_fail(u->m, NNC_ENOMEM, "out of memory for the step log");
    u->cap_steps = c;
  }
  size_t k = r->nsteps++;
  r->step_epoch[k] = epoch;
  r->step_loss[k] = loss;
  r->step_trend[k] = NAN;
  r->step_lr[k] = lr;
  for (size_t b = 0; b < r->nblocks; b++)
    r->ratio[k * r->nblocks + b] = nnc_optim_ratio(u->st.opt, b);
  return NNC_OK;
}

static void ema_update(bs_run *u)
{
  nnc_model *m = u->m;
  double t = (double)u->st.step;
  double d = (1 + t) / (10 + t);
  if (u->r->opts.ema_decay < d)
    d = u->r->opts.ema_decay;
  for (size_t b = 0; b < m->nparam; b++) {
    double *e = u->st.ema[b];
    const nnc_block *blk = &m->blocks[b];
    for (size_t i = 0; i < blk->count; i++)
      e[i] = d * e[i] + (1 - d) * nnci_load(blk->data, blk->dtype, i);
  }
}

/* Validation loss and accuracy of the averaged parameters; the raw ones are
 * put back bit for bit. */
static int ema_eval(bs_run *u, double *loss, double *acc)
{
  nnc_model *m = u->m;
  *loss = *acc = NAN;
  if (!u->r->n_val)
    return NNC_OK;
  nnc_params *raw;
  if (nnc_params_save(m, &raw) != NNC_OK)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  for (size_t b = 0; b < m->nparam; b++)
    for (size_t i = 0; i < m->blocks[b].count; i++)
      nnci_store(m->blocks[b].data, m->blocks[b].dtype, i, u->st.ema[b][i]);
  m->have_loss = 0;
  int rc = nnc_evaluate(m, NNC_SPLIT_VAL, NULL, 0, u->r->opts.eval_batch,
                        NNC_F_ALL, loss, acc);
  if (rc == NNC_ENONFINITE) { /* an average of finite values overflowed */
    *loss = INFINITY;
    rc = NNC_OK;
  }
  int rr = nnc_params_restore(m, raw);
  nnc_params_free(raw);
  return rc != NNC_OK ? rc : rr;
}

static int progress(bs_run *u, double loss, int eoe, const nnc_bs_epoch *e)
{
  const nnc_babysit_opts *o = u->o;
  if (!o->progress)
    return 0;
  nnc_bs_progress p = {u->st.epoch,
                       u->r->opts.epochs,
                       u->st.step,
                       u->r->opts.epochs * u->r->steps_per_epoch,
                       loss,
                       eoe,
                       e ? e->train_acc : NAN,
                       e ? e->val_acc : NAN,
                       e ? e->ema_val_acc : NAN};
  return o->progress(o->user, &p);
}

/* After the epoch's last step: statistics, evaluation, checkpoint.
 * Returns an error, or NNC_OK with *stop set by divergence or the hook. */
static int end_epoch(bs_run *u, size_t first_step, double lr, double loss_sum,
                     int *stop)
{
  nnc_babysit_result *r = u->r;
  nnc_model *m = u->m;
  size_t k = r->nepochs;
  nnc_bs_epoch *e = &r->epochs[k];
  memset(e, 0, sizeof *e);
  e->epoch = u->st.epoch;
  e->step = u->st.step;
  e->lr = lr;
  size_t ns = r->nsteps - first_step;
  e->batch_loss = ns ? loss_sum / (double)ns : NAN;
  for (size_t i = 0; i < r->nprobes; i++)
    nnci_bs_acc_finish(&u->acc[i], &r->probes[i].ep[k]);
  for (size_t b = 0; b < r->nblocks; b++) {
    double s = 0;
    size_t c = 0;
    for (size_t j = first_step; j < r->nsteps; j++) {
      double q = r->ratio[j * r->nblocks + b];
      if (q > 0 && isfinite(q)) {
        s += log(q);
        c++;
      }
    }
    r->blocks[b].ratio_epoch[k] = c ? exp(s / (double)c) : NAN;
  }
  size_t eb = r->opts.eval_batch;
  int rc = nnc_evaluate(m, NNC_SPLIT_TRAIN, NULL, 0, eb, NNC_F_ALL,
                        &e->train_loss, &e->train_acc);
  if (rc == NNC_OK)
    rc = nnc_evaluate(m, NNC_SPLIT_VAL, NULL, 0, eb, NNC_F_ALL, &e->val_loss,
                      &e->val_acc);
  if (rc == NNC_ENONFINITE) {
    *stop = 1;
    return diverge(u, u->st.step + 1, 0);
  }
  if (rc == NNC_OK)
    rc = ema_eval(u, &e->ema_val_loss, &e->ema_val_acc);
  if (rc != NNC_OK)
    return rc;
  e->gap = e->train_acc - e->val_acc;
  e->filter_noise = u->filter_block >= 0
                        ? nnci_bs_filter_noise(m, (size_t)u->filter_block,
                                               &r->filters, NULL)
                        : NAN;
  double seen = isfinite(e->val_loss) ? e->val_loss : e->train_loss;
  nnc_schedule_observe(&u->sched, seen);
  r->nepochs++;
  if (r->opts.checkpoints) {
    char err[1024];
    rc = nnci_bs_ckpt_write(m, r, &u->st, r->opts.checkpoints, e->checkpoint,
                            sizeof e->checkpoint);
    if (rc == NNC_OK) {
      nnci_bs_measures(r);
      nnc_babysit_diagnose(r);
      rc = nnci_bs_stats_write(r, r->opts.checkpoints, err, sizeof err);
      if (rc != NNC_OK)
        nnci_fail(m, rc, "%s", err);
    }
    if (rc != NNC_OK)
      return rc;
  }
  if (progress(u, e->batch_loss, 1, e))
    *stop = 1;
  return NNC_OK;
}

static int train(bs_run *u)
{
  nnc_babysit_result *r = u->r;
  nnc_model *m = u->m;
  nnc_rng seeds = {u->st.rng};
  int rc = NNC_OK, stop = 0;
  while (u->st.epoch < r->opts.epochs && !stop) {
    size_t first = r->nsteps;
    double loss_sum = 0, lr = 0, ep = (double)u->st.epoch;
    size_t target = u->st.epoch + 1;
    while (!stop) {
      lr = nnc_schedule_lr(&u->sched, ep);
      nnc_optim_opts *oo = nnc_optim_options(u->st.opt);
      oo->lr = lr;
      oo->mu = nnc_schedule_mu(&u->sched, ep);
      double after, L = NAN;
      const nnc_batch *b = nnc_sampler_next(u->smp, &after);
      uint64_t seed = nnc_rng_u64(&seeds);
      u->st.step++;
      rc = nnc_model_loss(m, b->index ? b : NULL, seed,
                          NNC_F_ALL | NNC_F_TRAIN, &L);
      if (rc == NNC_OK)
        rc = nnc_model_backward(m);
      if (rc == NNC_ENONFINITE)
        return diverge(u, u->st.step, m->have_loss);
      if (rc == NNC_OK)
        rc = nnci_bs_acc_add(m, u->acc, r->nprobes,
                             b->index ? b->count : 1, r->opts.sat_level);
      if (rc == NNC_OK)
        rc = nnc_optim_step(u->st.opt, m);
      if (rc != NNC_OK)
        return rc;
      ema_update(u);
      if ((rc = log_step(u, after, L, lr)))
        return rc;
      loss_sum += L;
      ep = after;
      u->st.rng = seeds.s;
      if (progress(u, L, 0, NULL))
        stop = 1;
      if (after >= (double)target)
        break;
    }
    if (stop)
      break;
    u->st.epoch = target;
    if ((rc = end_epoch(u, first, lr, loss_sum, &stop)))
      return rc;
  }
  return NNC_OK;
}

static void fill_header(nnc_model *m, nnc_babysit_result *r)
{
  snprintf(r->plugin, sizeof r->plugin, "%s", m->d.name);
  snprintf(r->spec, sizeof r->spec, "%s", nnc_model_spec(m));
  snprintf(r->args, sizeof r->args, "%s", nnc_model_args(m));
  if (m->has_info) {
    r->n_train = m->ni.n_train;
    r->n_val = m->ni.n_val;
    r->n_classes = m->ni.n_classes;
  }
  r->chance = r->train_loss0 = r->train_acc0 = NAN;
  r->r_late = r->late_frac = r->trend_start = r->trend_end = NAN;
  r->trend_fall = r->noise_rel = NAN;
}

static int check_opts(nnc_model *m, const nnc_babysit_opts *o)
{
  if (o->batch == 0)
    return nnci_fail(m, NNC_EARG, "batch=0: the batch size must be >= 1");
  if (o->epochs == 0)
    return nnci_fail(m, NNC_EARG, "epochs=0: train for at least one epoch");
  if (!(o->ema_decay >= 0 && o->ema_decay < 1))
    return nnci_fail(m, NNC_EARG, "ema decay %g: accepted values are in [0, 1)",
                     o->ema_decay);
  return NNC_OK;
}

static int run(bs_run *u)
{
  nnc_model *m = u->m;
  nnc_babysit_result *r = u->r;
  int rc;
  if (m->d.kind == NNC_KIND_LAYER)
    return nnci_fail(m, NNC_EUNSUPPORTED,
                     "%s is a layer: babysitting trains a net on its loss "
                     "(a layer's L = sum(r .* y) is unbounded below)",
                     m->d.name);
  if ((rc = check_opts(m, &r->opts)))
    return rc;
  u->st.ema = calloc(m->nparam + 1, sizeof *u->st.ema);
  if (!u->st.ema)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  for (size_t b = 0; b < m->nparam; b++)
    if (!(u->st.ema[b] = malloc(m->blocks[b].count * sizeof **u->st.ema)))
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
  u->st.sched = &u->sched;
  if (r->opts.resume) {
    if ((rc = nnci_bs_ckpt_resume(m, r, &u->st, r->opts.resume)))
      return rc;
    if (r->opts.epochs <= u->st.epoch)
      return nnci_fail(m, NNC_EARG,
                       "%s ends epoch %zu: resuming needs more epochs than "
                       "that (epochs=%zu)",
                       r->opts.resume, u->st.epoch, r->opts.epochs);
    r->resumed = 1;
    snprintf(r->resumed_from, sizeof r->resumed_from, "%s", r->opts.resume);
  } else {
    /* The schedule's lr0 and mu0, where given, override the optimizer's. */
    nnc_optim_opts oo = r->opts.optim;
    u->sched = r->opts.sched;
    if (!(u->sched.lr0 > 0))
      u->sched.lr0 = oo.lr;
    if (u->sched.mu0 < 0)
      u->sched.mu0 = oo.mu;
    if (u->sched.mu1 < 0)
      u->sched.mu1 = u->sched.mu0;
    u->sched.lr = u->sched.lr0;
    u->sched.best = INFINITY;
    u->sched.since_best = 0;
    r->opts.sched = u->sched;
    oo.lr = u->sched.lr0;
    oo.mu = u->sched.mu0;
    if ((rc = nnc_optim_new(m, &oo, &u->st.opt)))
      return rc;
    nnc_rng g;
    nnc_rng_init(&g, r->opts.seed, STREAM_STEP_SEED);
    u->st.rng = g.s;
    for (size_t b = 0; b < m->nparam; b++)
      for (size_t i = 0; i < m->blocks[b].count; i++)
        u->st.ema[b][i] = nnc_model_get(m, b, i);
  }
  snprintf(r->rule, sizeof r->rule, "%s", nnc_rule_name(r->opts.optim.rule));
  snprintf(r->sched, sizeof r->sched, "%s", nnc_sched_name(r->opts.sched.kind));
  r->start_epoch = u->st.epoch;
  r->start_step = u->st.step;
  if ((rc = check_opts(m, &r->opts)))
    return rc;
  r->chance = chance_level(m, r);
  r->steps_per_epoch =
      r->n_train ? (r->n_train + r->opts.batch - 1) / r->opts.batch : 1;
  if ((rc = nnc_sampler_new(m, r->opts.batch, 0, r->opts.seed, &u->smp)))
    return rc;
  /* Resume: the sampler's order of epoch e depends on (seed, e) only;
   * stepping through the epochs done puts it where the run left it. */
  for (size_t s = 0; s < u->st.epoch * r->steps_per_epoch; s++)
    nnc_sampler_next(u->smp, NULL);
  size_t ne = r->opts.epochs - r->start_epoch;
  r->epochs = calloc(ne + 1, sizeof *r->epochs);
  if (!r->epochs)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  if ((rc = setup_blocks(u)) || (rc = setup_probes(u)) ||
      (rc = epoch_zero(u)))
    return rc;
  if (nnci_bs_filters_shape(m, &r->filters, &u->filter_block)) {
    nnc_bs_filters *f = &r->filters;
    size_t n = f->nfilters * f->channels * f->height * f->width;
    f->values = malloc((n ? n : 1) * sizeof *f->values);
    f->values0 = malloc((n ? n : 1) * sizeof *f->values0);
    if (!f->values || !f->values0)
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
    f->noise0 = nnci_bs_filter_noise(m, (size_t)u->filter_block, f,
                                     f->values0);
  }
  if ((rc = nnc_evaluate(m, NNC_SPLIT_TRAIN, NULL, 0, r->opts.eval_batch,
                         NNC_F_ALL, &r->train_loss0, &r->train_acc0))) {
    if (rc != NNC_ENONFINITE)
      return rc;
    r->train_loss0 = r->train_acc0 = NAN; /* the first step will find it */
  }
  rc = train(u);
  if (u->filter_block >= 0)
    r->filters.noise = nnci_bs_filter_noise(m, (size_t)u->filter_block,
                                            &r->filters, r->filters.values);
  return rc;
}

int nnc_babysit(nnc_model *m, const nnc_babysit_opts *o,
                nnc_babysit_result **res)
{
  *res = NULL;
  nnc_babysit_opts def;
  if (!o) {
    nnc_babysit_opts_init(&def);
    o = &def;
  }
  nnc_babysit_result *r = calloc(1, sizeof *r);
  if (!r)
    return NNC_ENOMEM;
  r->opts = *o;
  r->opts.progress = NULL;
  r->opts.user = NULL;
  if (!r->opts.eval_batch)
    r->opts.eval_batch = 256;
  fill_header(m, r);
  nnci_phase(m, "training");
  bs_run u;
  memset(&u, 0, sizeof u);
  u.m = m;
  u.r = r;
  u.o = o;
  u.filter_block = -1;
  int rc = run(&u);
  if (rc != NNC_OK)
    fail(&u, rc);
  nnci_bs_measures(r);
  nnc_babysit_diagnose(r);
  /* The paths are the caller's: the result does not keep them. */
  r->opts.checkpoints = NULL;
  r->opts.resume = NULL;
  nnc_sampler_free(u.smp);
  nnc_optim_free(u.st.opt);
  for (size_t b = 0; u.st.ema && b < m->nparam; b++)
    free(u.st.ema[b]);
  free(u.st.ema);
  nnci_bs_acc_free(u.acc, r->nprobes);
  *res = r;
  return rc;
}
