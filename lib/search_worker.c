/* search_worker.c — the worker: claims (O_EXCL attempt files whose mtime
 * is the heartbeat), one trial trained with per-epoch checkpoints, the
 * running average of its parameters, the early-stopping rungs, and the
 * loop that plans the next stage when one is complete. */
#include "config.h"
#include "search_internal.h"
#include "model.h"
#include "rng.h"

#include <nncheck/checkpoint.h>
#include <nncheck/train.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void nnc_worker_opts_init(nnc_worker_opts *o)
{
  memset(o, 0, sizeof *o);
  o->poll = 0.2;
}

static void sleep_s(double s)
{
  struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* ---- claims ------------------------------------------------------------------ */

static void claim_path(const char *dir, size_t index, unsigned k, char *buf,
                       size_t len)
{
  snprintf(buf, len, "%s/claims/trial%04zu.a%u", dir, index, k);
}

/* The newest attempt at a trial: 1 and its number and age, or 0 if none. */
static int newest_claim(const char *dir, size_t index, unsigned *k,
                        double *age)
{
  char path[4300];
  struct stat st, last;
  unsigned n = 0;
  for (;; n++) {
    claim_path(dir, index, n, path, sizeof path);
    if (stat(path, &st) != 0)
      break;
    last = st;
  }
  if (n == 0)
    return 0;
  *k = n - 1;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  *age = (double)(now.tv_sec - last.st_mtim.tv_sec) +
         1e-9 * (double)(now.tv_nsec - last.st_mtim.tv_nsec);
  return 1;
}

/* Try to claim: the attempt number taken, or -1 (held by a live worker,
 * or another worker won the race). */
static long try_claim(const char *dir, size_t index, double lease,
                      const char *id, int *reclaimed)
{
  unsigned k = 0;
  double age = 0;
  unsigned want = 0;
  *reclaimed = 0;
  if (newest_claim(dir, index, &k, &age)) {
    if (age < lease)
      return -1;
    want = k + 1;
    *reclaimed = 1;
  }
  char path[4300];
  claim_path(dir, index, want, path, sizeof path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    return -1;
  if (id) {
    ssize_t w = write(fd, id, strlen(id));
    (void)w;
  }
  close(fd);
  return (long)want;
}

/* ---- one trial ----------------------------------------------------------------- */

typedef struct trial_run {
  const char *dir;        /* search dir, NULL: no claim (ensemble) */
  const char *tdir;       /* where the trial's files go */
  const nnc_search_space *sp;
  const nnc_search_plan *plan;
  nnc_trial t;            /* what is known so far */
  size_t index;
  long attempt;           /* claim held; -1: none */
  double lease, last_beat;
  int abandoned, stopped, exploded;
  double proto;           /* seconds in the protocol */
  /* the running average */
  size_t nblocks;
  double **ema;
  size_t ema_steps;
  double ema_decay;
  size_t cap_steps;
  size_t ckpt_step;
  size_t logged_steps;    /* step losses already in loss.tsv */
  char err[512];
  int io_err;
} trial_run;

static int beat(trial_run *r)
{
  if (!r->dir || r->attempt < 0)
    return 0;
  double t0 = nnci_now();
  char path[4300];
  claim_path(r->dir, r->index, (unsigned)r->attempt, path, sizeof path);
  utimensat(AT_FDCWD, path, NULL, 0);
  claim_path(r->dir, r->index, (unsigned)r->attempt + 1, path, sizeof path);
  struct stat st;
  if (stat(path, &st) == 0)
    r->abandoned = 1; /* another worker took it over */
  r->last_beat = nnci_now();
  r->proto += r->last_beat - t0;
  return r->abandoned;
}

static int on_step(void *user, nnc_model *m, const nnc_step_info *s)
{
  trial_run *r = user;
  double d = r->ema_decay;
  for (size_t b = 0; b < r->nblocks; b++) {
    const nnc_block *blk = &m->blocks[b];
    double *e = r->ema[b];
    for (size_t i = 0; i < blk->count; i++)
      e[i] = d * e[i] + (1 - d) * nnci_load(blk->data, blk->dtype, i);
  }
  r->ema_steps++;
  if (r->t.nsteps == r->cap_steps) {
    size_t cap = r->cap_steps ? 2 * r->cap_steps : 256;
    double *a = realloc(r->t.step_epoch, cap * sizeof *a);
    if (a)
      r->t.step_epoch = a;
    double *b = realloc(r->t.step_loss, cap * sizeof *b);
    if (b)
      r->t.step_loss = b;
    if (!a || !b)
      return 1;
    r->cap_steps = cap;
  }
  r->t.step_epoch[r->t.nsteps] = s->epoch;
  r->t.step_loss[r->t.nsteps++] = s->loss;
  r->ckpt_step = s->step;
  if (r->dir && nnci_now() - r->last_beat > r->lease / 4)
    return beat(r);
  return 0;
}

static void fmt_val(char *buf, size_t len, const char *prefix, size_t epoch,
                    double acc)
{
  if (isfinite(acc))
    snprintf(buf, len, "%sepoch%04zu-val%.4f.nnckpt", prefix, epoch, acc);
  else
    snprintf(buf, len, "%sepoch%04zu-valnan.nnckpt", prefix, epoch);
}

static void json_num(FILE *f, double v)
{
  if (isfinite(v))
    fprintf(f, "%.17g", v);
  else
    fputs("null", f);
}

/* progress.txt (or result.txt) and stats.json, atomically, and the step
 * losses since the last call appended to loss.tsv (started empty with the
 * trial; a reader may see a last line cut short, never an old one).  The
 * step losses go into stats.json only with the result (`final`), so that a
 * write per epoch costs the same at every epoch. */
static int write_state(trial_run *r, const char *name, int final)
{
  double t0 = nnci_now();
  char path[4300];
  char *buf = NULL;
  size_t len = 0;
  int rc = NNC_OK;
  FILE *f;
  snprintf(path, sizeof path, "%s/loss.tsv", r->tdir);
  if (r->logged_steps == 0) {
    static const char head[] = "# epoch\tloss (per step)\n";
    rc = nnci_write_atomic(path, head, sizeof head - 1, r->err, sizeof r->err);
  }
  if (!rc && r->logged_steps < r->t.nsteps) {
    FILE *a = fopen(path, "a");
    if (!a)
      rc = nnci_search_fail(NNC_EIO, r->err, sizeof r->err, "%s: cannot "
                            "append", path);
    for (size_t k = r->logged_steps; a && k < r->t.nsteps; k++)
      fprintf(a, "%.17g\t%.17g\n", r->t.step_epoch[k], r->t.step_loss[k]);
    if (a && fclose(a) != 0)
      rc = nnci_search_fail(NNC_EIO, r->err, sizeof r->err, "%s: cannot "
                            "append", path);
    r->logged_steps = r->t.nsteps;
  }
  if (!rc && (f = open_memstream(&buf, &len))) {
    fprintf(f, "{\"trial\": %zu, \"stage\": %zu, \"status\": \"%s\", "
               "\"params\": {", r->t.index, r->t.stage,
            nnc_trial_status_name(r->t.status));
    for (size_t j = 0; j < r->sp->nparams; j++) {
      fprintf(f, "%s\"%s\": ", j ? ", " : "", r->sp->params[j].name);
      json_num(f, r->t.values[j]);
    }
    fputs("},\n \"epochs\": [", f);
    for (size_t e = 0; e < r->t.nepochs; e++) {
      fprintf(f, "%s\n  {\"epoch\": %zu, \"train_loss\": ", e ? "," : "",
              e + 1);
      json_num(f, r->t.train_loss[e]);
      fputs(", \"val_loss\": ", f);
      json_num(f, r->t.val_loss[e]);
      fputs(", \"val_acc\": ", f);
      json_num(f, r->t.val_acc[e]);
      fputc('}', f);
    }
    fputs("]", f);
    if (final) {
      fputs(",\n \"step_epoch\": [", f);
      for (size_t k = 0; k < r->t.nsteps; k++) {
        fputs(k ? ", " : "", f);
        json_num(f, r->t.step_epoch[k]);
      }
      fputs("],\n \"step_loss\": [", f);
      for (size_t k = 0; k < r->t.nsteps; k++) {
        fputs(k ? ", " : "", f);
        json_num(f, r->t.step_loss[k]);
      }
      fputs("]", f);
    }
    fputs("}\n", f);
    snprintf(path, sizeof path, "%s/stats.json", r->tdir);
    rc = nnci_write_stream(path, f, &buf, &len, r->err, sizeof r->err);
  } else if (!rc)
    rc = NNC_ENOMEM;
  if (!rc && (f = open_memstream(&buf, &len))) {
    nnci_trial_write(&r->t, r->sp->nparams, f);
    snprintf(path, sizeof path, "%s/%s", r->tdir, name);
    rc = nnci_write_stream(path, f, &buf, &len, r->err, sizeof r->err);
  } else if (!rc)
    rc = NNC_ENOMEM;
  r->proto += nnci_now() - t0;
  return rc;
}

static int push_epoch(trial_run *r, double tl, double vl, double va)
{
  size_t e = r->t.nepochs + 1;
  double *a = realloc(r->t.train_loss, e * sizeof *a);
  if (a)
    r->t.train_loss = a;
  double *b = realloc(r->t.val_loss, e * sizeof *b);
  if (b)
    r->t.val_loss = b;
  double *c = realloc(r->t.val_acc, e * sizeof *c);
  if (c)
    r->t.val_acc = c;
  if (!a || !b || !c)
    return NNC_ENOMEM;
  r->t.train_loss[e - 1] = tl;
  r->t.val_loss[e - 1] = vl;
  r->t.val_acc[e - 1] = va;
  r->t.nepochs = e;
  if (isfinite(va) && (!isfinite(r->t.best_acc) || va > r->t.best_acc)) {
    r->t.best_acc = va;
    r->t.best_loss = vl;
    r->t.best_epoch = e;
  }
  return NNC_OK;
}

static int save_ckpt(trial_run *r, nnc_model *m, const char *prefix,
                     size_t epoch, double tl, double vl, double va)
{
  double t0 = nnci_now();
  char name[128], path[4400];
  fmt_val(name, sizeof name, prefix, epoch, va);
  snprintf(path, sizeof path, "%s/%s", r->tdir, name);
  nnc_ckpt_meta meta;
  nnc_ckpt_meta_init(&meta);
  meta.plugin = m->d.name;
  meta.args = m->args;
  meta.has_seed = 1;
  meta.seed = r->sp->seed;
  meta.has_step = 1;
  meta.step = r->ckpt_step;
  meta.epoch = (double)epoch;
  meta.train_loss = tl;
  meta.val_loss = vl;
  meta.val_acc = va;
  int rc = nnc_checkpoint_write(m, path, &meta, r->err, sizeof r->err);
  r->proto += nnci_now() - t0;
  return rc;
}

static int on_epoch(void *user, nnc_model *m, const nnc_epoch_info *e)
{
  trial_run *r = user;
  /* heartbeat first: a worker whose trial was taken over writes nothing */
  if (beat(r))
    return 1;
  if (push_epoch(r, e->train_loss, e->val_loss, e->val_acc) ||
      save_ckpt(r, m, "", e->epoch, e->train_loss, e->val_loss, e->val_acc) ||
      write_state(r, "progress.txt", 0)) {
    r->io_err = 1;
    return 1;
  }
  /* exploded: a finite loss far above where it started counts as
   * diverged (a stable softmax never turns NaN, however large the rate) */
  if (r->t.nsteps && isfinite(r->t.step_loss[0]) &&
      !(e->train_loss <= NNC_SEARCH_EXPLODE * fabs(r->t.step_loss[0]))) {
    r->exploded = 1;
    return 1;
  }
  for (size_t k = 0; k < r->plan->nrungs; k++)
    if (r->plan->rung_epoch[k] == e->epoch &&
        !(e->val_acc >= r->plan->rung_min[k])) {
      r->stopped = 1;
      return 1;
    }
  return 0;
}

static uint64_t trial_seed(const nnc_search_space *sp, size_t index,
                           uint64_t salt)
{
  return nnc_hash64(sp->seed ^ nnc_hash64(0x7121a1ULL + index) ^
                    nnc_hash64(salt + 0x51ULL));
}

/* Open the model of a trial: arguments from the template, reinit from the
 * trial's seed (+ offset), set_hyper for the plugin parameters.  A plugin
 * that refuses (create, reinit, set_hyper) is a FAILED trial: *why says
 * it and NNC_EPLUGIN is returned; a plugin that cannot be found or loaded
 * is NNC_EARG / NNC_ENOTFOUND / NNC_EABI for the whole search. */
static int open_trial_model(const nnc_search_space *sp, const double *values,
                            size_t index, uint64_t init_offset,
                            nnc_model **out, char *why, size_t whylen)
{
  char args[1024];
  *out = NULL;
  if (nnci_trial_args(sp, values, args, sizeof args))
    return nnci_search_fail(NNC_EARG, why, whylen,
                            "the argument string of trial %zu is too long",
                            index);
  char path[4096], perr[1024];
  int rc = nnc_plugin_resolve(sp->plugin, path, sizeof path, perr, sizeof perr);
  if (rc)
    return nnci_search_fail(rc, why, whylen, "%s", perr);
  nnc_model *m = NULL;
  rc = nnc_model_load(sp->plugin, args, &m, perr, sizeof perr);
  if (rc == NNC_EABI || rc == NNC_ENOTFOUND || rc == NNC_ENOMEM)
    return nnci_search_fail(rc, why, whylen, "%s", perr);
  if (rc)
    return nnci_search_fail(NNC_EPLUGIN, why, whylen, "%s", perr);
  nnci_phase(m, "training a trial");
  if (m->d.kind != NNC_KIND_NET || !m->has_info || m->ni.n_val == 0 ||
      !m->d.predict) {
    nnc_model_close(m);
    return nnci_search_fail(NNC_EARG, why, whylen,
                            "%s: a search needs a net with a validation split "
                            "(net_info n_val > 0) and predict()",
                            sp->plugin);
  }
  if (m->d.reinit &&
      m->d.reinit(m->self, trial_seed(sp, index, 1000 + init_offset), 0, perr,
                  sizeof perr)) {
    nnci_search_fail(NNC_EPLUGIN, why, whylen, "reinit: %s", perr);
    nnc_model_close(m);
    return NNC_EPLUGIN;
  }
  for (size_t j = 0; j < sp->nparams; j++) {
    const char *nm = sp->params[j].name;
    char pat[NNC_SEARCH_NAME + 3];
    snprintf(pat, sizeof pat, "{%s}", nm);
    if (strstr(sp->args, pat) || !strcmp(nm, "lr") || !strcmp(nm, "mu") ||
        !strcmp(nm, "batch"))
      continue;
    if (!m->d.set_hyper) {
      nnc_model_close(m);
      return nnci_search_fail(NNC_EARG, why, whylen,
                              "%s: parameter %s is not in the args template "
                              "and the plugin has no set_hyper()",
                              sp->plugin, nm);
    }
    if (m->d.set_hyper(m->self, nm, values[j], perr, sizeof perr)) {
      nnci_search_fail(NNC_EPLUGIN, why, whylen, "set_hyper(%s, %g): %s", nm,
                       values[j], perr);
      nnc_model_close(m);
      return NNC_EPLUGIN;
    }
  }
  *out = m;
  return NNC_OK;
}

/* Load the space and the plan of trial index. */
static int trial_plan(const char *dir, size_t index, nnc_search_space *sp,
                      nnc_search_plan *plan, char *err, size_t errlen)
{
  char path[4300];
  snprintf(path, sizeof path, "%s/space.txt", dir);
  int rc = nnc_search_space_load(path, sp, err, errlen);
  if (rc)
    return rc;
  for (size_t s = 0; s < sp->nstages; s++) {
    rc = nnci_plan_load(dir, s, plan, err, errlen);
    if (rc == 1)
      break;
    if (rc)
      return rc;
    if (index >= plan->first && index < plan->first + plan->trials)
      return NNC_OK;
  }
  return nnci_search_fail(NNC_EARG, err, errlen,
                          "%s: no planned stage holds trial %zu", dir, index);
}

int nnc_search_open_model(const char *dir, size_t index, nnc_model **out,
                          char *err, size_t errlen)
{
  nnc_search_space sp;
  nnc_search_plan plan;
  *out = NULL;
  int rc = trial_plan(dir, index, &sp, &plan, err, errlen);
  if (rc)
    return rc;
  double values[NNC_SEARCH_MAX_PARAMS];
  nnc_search_sample(&plan, sp.seed, index, values);
  return open_trial_model(&sp, values, index, 0, out, err, errlen);
}

/* Train trial r->index into r->tdir; fills r->t.  Returns NNC_OK (the
 * status says how it went) or a search-wide error. */
static int run_trial(trial_run *r, uint64_t init_offset, char *err,
                     size_t errlen)
{
  const nnc_search_space *sp = r->sp;
  double t_start = nnci_now();
  nnc_trial *t = &r->t;
  memset(t, 0, sizeof *t);
  t->index = r->index;
  t->stage = r->plan->stage;
  t->best_acc = t->best_loss = t->ema_acc = NAN;
  nnc_search_sample(r->plan, sp->seed, r->index, t->values);
  int rc = nnci_mkdir(r->tdir, err, errlen);
  if (rc)
    return rc;
  nnc_model *m = NULL;
  char why[1024];
  rc = open_trial_model(sp, t->values, r->index, init_offset, &m, why,
                        sizeof why);
  if (rc == NNC_EPLUGIN) {
    /* the plugin refused this trial's values: a failed trial, recorded
     * like any other (without a result it would be handed out forever) */
    t->status = NNC_TRIAL_FAILED;
    snprintf(t->error, sizeof t->error, "%.255s", why);
    if (r->dir)
      beat(r);
    if (r->abandoned)
      return NNC_OK;
    rc = write_state(r, "result.txt", 1);
    return rc ? nnci_search_fail(rc, err, errlen, "%s", r->err) : NNC_OK;
  }
  if (rc)
    return nnci_search_fail(rc, err, errlen, "%s", why);
  nnc_train_opts o;
  nnc_train_opts_init(&o);
  nnc_optim_opts_init(&o.optim, sp->rule);
  if (isfinite(sp->lr))
    o.optim.lr = sp->lr;
  if (isfinite(sp->mu))
    o.optim.mu = sp->mu;
  o.batch = sp->batch;
  for (size_t j = 0; j < sp->nparams; j++) {
    const char *nm = sp->params[j].name;
    char pat[NNC_SEARCH_NAME + 3];
    snprintf(pat, sizeof pat, "{%s}", nm);
    if (strstr(sp->args, pat))
      continue;
    if (!strcmp(nm, "lr"))
      o.optim.lr = t->values[j];
    else if (!strcmp(nm, "mu"))
      o.optim.mu = t->values[j];
    else if (!strcmp(nm, "batch"))
      o.batch = (size_t)t->values[j] > 0 ? (size_t)t->values[j] : 1;
  }
  o.epochs = r->plan->epochs;
  o.seed = trial_seed(sp, r->index, init_offset);
  o.on_step = on_step;
  o.on_epoch = on_epoch;
  o.user = r;
  /* the running average starts at zero and is bias-corrected at the end */
  r->nblocks = m->nparam;
  r->ema_decay = sp->ema;
  r->ema = calloc(r->nblocks + 1, sizeof *r->ema);
  for (size_t b = 0; r->ema && b < r->nblocks; b++)
    if (!(r->ema[b] = calloc(m->blocks[b].count, sizeof(double))))
      rc = NNC_ENOMEM;
  if (!r->ema)
    rc = NNC_ENOMEM;
  nnc_train_log *log = NULL;
  if (!rc)
    rc = nnc_train(m, &o, &log);
  if (r->io_err && !rc)
    rc = nnci_search_fail(NNC_EIO, err, errlen, "%s", r->err);
  if (rc == NNC_ENOMEM || rc == NNC_EIO) {
    /* not the plugin's fault */
  } else if (rc) {
    t->status = NNC_TRIAL_FAILED;
    snprintf(t->error, sizeof t->error, "%s", nnc_model_error(m));
    rc = NNC_OK;
  } else if (!r->abandoned) {
    if (log->diverged || r->exploded)
      t->status = NNC_TRIAL_DIVERGED;
    else if (r->stopped)
      t->status = NNC_TRIAL_STOPPED;
    else
      t->status = NNC_TRIAL_OK;
    size_t want = (size_t)ceil(r->plan->epochs - 1e-9);
    if (t->status == NNC_TRIAL_OK && t->nepochs < want) {
      /* a fractional last epoch: evaluate where it ended */
      double vl, va, tl = NAN;
      if (t->nsteps)
        tl = t->step_loss[t->nsteps - 1];
      rc = nnc_evaluate(m, NNC_SPLIT_VAL, NULL, 0, 256, NNC_F_ALL, &vl, &va);
      if (!rc)
        rc = push_epoch(r, tl, vl, va);
      if (!rc)
        rc = save_ckpt(r, m, "", want, tl, vl, va);
      if (rc == NNC_EPLUGIN || rc == NNC_ENONFINITE) {
        t->status = NNC_TRIAL_FAILED;
        snprintf(t->error, sizeof t->error, "%s", nnc_model_error(m));
        rc = NNC_OK;
      }
    }
    if (!rc && t->status == NNC_TRIAL_OK && r->ema_steps > 0) {
      /* the running average: bias-corrected, evaluated, saved */
      nnc_params *keep = NULL;
      rc = nnc_params_save(m, &keep);
      double corr = 1 - pow(r->ema_decay, (double)r->ema_steps);
      for (size_t b = 0; !rc && b < r->nblocks; b++)
        for (size_t i = 0; i < m->blocks[b].count; i++)
          nnc_model_set(m, b, i, r->ema[b][i] / corr);
      double vl = NAN, va = NAN;
      if (!rc && nnc_evaluate(m, NNC_SPLIT_VAL, NULL, 0, 256, NNC_F_ALL, &vl,
                              &va) == NNC_OK) {
        t->ema_acc = va;
        rc = save_ckpt(r, m, "ema-", t->nepochs, NAN, vl, va);
      }
      if (keep)
        nnc_params_restore(m, keep);
      nnc_params_free(keep);
      if (rc && rc != NNC_EIO && rc != NNC_ENOMEM)
        rc = NNC_OK; /* an unevaluable average is no failure of the trial */
    }
    if (rc)
      rc = nnci_search_fail(rc, err, errlen, "%s", r->err);
  }
  nnc_train_log_free(log);
  nnc_model_close(m);
  for (size_t b = 0; r->ema && b < r->nblocks; b++)
    free(r->ema[b]);
  free(r->ema);
  r->ema = NULL;
  if (!rc && !r->abandoned && r->dir)
    beat(r); /* taken over meanwhile? then the other worker writes it */
  if (!rc && !r->abandoned) {
    double t_end = nnci_now();
    rc = write_state(r, "result.txt", 1);
    if (rc)
      rc = nnci_search_fail(rc, err, errlen, "%s", r->err);
    double train_s = (t_end - t_start) - r->proto;
    char path[4300], buf[256];
    snprintf(path, sizeof path, "%s/timing.txt", r->tdir);
    int n = snprintf(buf, sizeof buf,
                     "train_s %.6f\nproto_s %.6f\nattempt %ld\n", train_s,
                     r->proto + (nnci_now() - t_end), r->attempt);
    if (!rc)
      rc = nnci_write_atomic(path, buf, (size_t)n, err, errlen);
  }
  return rc;
}

/* Remove what a dead worker left half-written (temporary files). */
static void clean_tmp(const char *tdir)
{
  DIR *d = opendir(tdir);
  if (!d)
    return;
  struct dirent *e;
  char path[4400];
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) {
      snprintf(path, sizeof path, "%.4000s/%.255s", tdir, e->d_name);
      unlink(path);
    }
  closedir(d);
}

int nnc_search_run_trial(const char *dir, size_t index, uint64_t init_offset,
                         const char *out_dir, char *err, size_t errlen)
{
  nnc_search_space sp;
  nnc_search_plan plan;
  int rc = trial_plan(dir, index, &sp, &plan, err, errlen);
  if (rc)
    return rc;
  trial_run r;
  memset(&r, 0, sizeof r);
  r.tdir = out_dir;
  r.sp = &sp;
  r.plan = &plan;
  r.index = index;
  r.attempt = -1;
  r.lease = sp.lease;
  rc = run_trial(&r, init_offset, err, errlen);
  nnci_trial_clear(&r.t);
  return rc;
}

/* ---- the loop ------------------------------------------------------------------- */

static int result_exists(const char *dir, size_t index)
{
  char path[4300];
  nnci_trial_dir(dir, index, path, sizeof path);
  strcat(path, "/result.txt");
  struct stat st;
  return stat(path, &st) == 0;
}

/* Write stage s + 1's plan from the complete stage s. */
static int plan_next(const char *dir, const nnc_search_space *sp,
                     const nnc_search_plan *cur, char *err, size_t errlen)
{
  size_t nall = cur->first + cur->trials;
  nnc_trial *all = calloc(nall + 1, sizeof *all);
  if (!all)
    return NNC_ENOMEM;
  int rc = NNC_OK;
  char tdir[4300];
  for (size_t i = 0; i < nall && !rc; i++) {
    all[i].index = i;
    nnci_trial_dir(dir, i, tdir, sizeof tdir);
    int lr = nnci_trial_load(tdir, sp->nparams, &all[i]);
    if (lr == 1 || (lr == 0 && all[i].status == NNC_TRIAL_PENDING))
      rc = nnci_search_fail(NNC_EIO, err, errlen,
                            "%s: trial %zu has no result", dir, i);
    else if (lr)
      rc = nnci_search_fail(NNC_EIO, err, errlen,
                            "%s/result.txt is malformed: remove the trial's "
                            "result to have it run again", tdir);
  }
  nnc_search_plan next;
  if (!rc)
    rc = nnc_search_plan_next(sp, cur, all + cur->first, cur->trials, all,
                              nall, &next, err, errlen);
  for (size_t i = 0; i < nall; i++)
    nnci_trial_clear(&all[i]);
  free(all);
  if (rc)
    return rc;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NNC_ENOMEM;
  nnc_search_plan_write(&next, f);
  char path[4300];
  snprintf(path, sizeof path, "%s/stage%zu.plan", dir, next.stage);
  return nnci_write_stream(path, f, &buf, &len, err, errlen);
}

int nnc_search_worker(const char *dir, const nnc_worker_opts *o,
                      nnc_worker_stats *st, char *err, size_t errlen)
{
  nnc_worker_opts defo;
  if (!o) {
    nnc_worker_opts_init(&defo);
    o = &defo;
  }
  nnc_worker_stats dummy;
  if (!st)
    st = &dummy;
  memset(st, 0, sizeof *st);
  nnc_search_space sp;
  char path[4300];
  snprintf(path, sizeof path, "%s/space.txt", dir);
  int rc = nnc_search_space_load(path, &sp, err, errlen);
  if (rc == NNC_ENOTFOUND)
    return nnci_search_fail(NNC_EARG, err, errlen,
                            "%s is not a search directory (no space.txt): "
                            "start one with `hpsearch init SPACE DIR`", dir);
  if (rc)
    return rc;
  double lease = o->lease > 0 ? o->lease : sp.lease;
  char idbuf[64];
  const char *id = o->id;
  if (!id) {
    snprintf(idbuf, sizeof idbuf, "pid %ld\n", (long)getpid());
    id = idbuf;
  }
  for (;;) {
    nnc_search_plan plan;
    size_t s = 0;
    int have = 0;
    for (; s < sp.nstages; s++) {
      nnc_search_plan p;
      int lr = nnci_plan_load(dir, s, &p, err, errlen);
      if (lr == 1)
        break;
      if (lr)
        return lr;
      plan = p;
      have = 1;
    }
    if (!have)
      return nnci_search_fail(NNC_EARG, err, errlen,
                              "%s: no stage0.plan: start the search with "
                              "`hpsearch init SPACE DIR`", dir);
    size_t done = 0;
    int ran = 0;
    for (size_t i = plan.first; i < plan.first + plan.trials; i++) {
      if (result_exists(dir, i)) {
        done++;
        continue;
      }
      int reclaimed = 0;
      long a = try_claim(dir, i, lease, id, &reclaimed);
      if (a < 0)
        continue;
      if (result_exists(dir, i)) { /* finished meanwhile */
        done++;
        continue;
      }
      trial_run r;
      memset(&r, 0, sizeof r);
      r.dir = dir;
      char tdir[4300];
      nnci_trial_dir(dir, i, tdir, sizeof tdir);
      r.tdir = tdir;
      r.sp = &sp;
      r.plan = &plan;
      r.index = i;
      r.attempt = a;
      r.lease = lease;
      r.last_beat = nnci_now();
      if (reclaimed)
        clean_tmp(tdir);
      rc = run_trial(&r, 0, err, errlen);
      int abandoned = r.abandoned;
      nnci_trial_clear(&r.t);
      if (rc)
        return rc;
      if (abandoned)
        st->abandoned++;
      else {
        st->trials++;
        st->reclaimed += reclaimed;
      }
      ran = 1;
      break;
    }
    if (o->max_trials && st->trials >= o->max_trials)
      return NNC_OK;
    if (ran)
      continue;
    if (done == plan.trials) {
      if (plan.stage + 1 >= sp.nstages)
        return NNC_OK;
      rc = plan_next(dir, &sp, &plan, err, errlen);
      if (rc)
        return rc;
      st->planned++;
      continue;
    }
    sleep_s(o->poll);
  }
}
