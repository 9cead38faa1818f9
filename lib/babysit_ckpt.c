/* babysit_ckpt.c — a run's checkpoints: the parameters (readable by every
 * tool that reads checkpoints) and, as auxiliary blocks and metadata, all a
 * run needs to go on bit for bit: the optimizer's state arrays and step
 * count, the averaged parameters, the step-seed generator, the schedule's
 * state and the settings.  Also the statistics file, babysit_stats.json. */
#include "config.h"
#include "babysit_internal.h"
#include "checkpoint_internal.h"
#include "optim_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int kv_real(nnc_checkpoint *c, const char *key, double v)
{
  char b[64];
  snprintf(b, sizeof b, "%.17g", v);
  return nnci_ck_kv_add(c, key, strlen(key), b, strlen(b));
}

static int kv_u64(nnc_checkpoint *c, const char *key, uint64_t v)
{
  char b[32];
  snprintf(b, sizeof b, "%llu", (unsigned long long)v);
  return nnci_ck_kv_add(c, key, strlen(key), b, strlen(b));
}

/* Append a flat double block (copied). */
static int add_block(nnc_checkpoint *c, const char *prefix, const char *name,
                     const double *v, size_t n)
{
  nnc_block *nb = realloc(c->blocks, (c->nblocks + 1) * sizeof *nb);
  if (!nb)
    return NNC_ENOMEM;
  c->blocks = nb;
  nnc_block *b = &nb[c->nblocks];
  memset(b, 0, sizeof *b);
  size_t ln = strlen(prefix) + strlen(name) + 1;
  char *s = malloc(ln);
  double *d = malloc(n * sizeof *d);
  if (!s || !d) {
    free(s);
    free(d);
    return NNC_ENOMEM;
  }
  snprintf(s, ln, "%s%s", prefix, name);
  memcpy(d, v, n * sizeof *d);
  b->name = s;
  b->data = d;
  b->count = n;
  b->dtype = NNC_F64;
  b->ndim = 1;
  b->shape[0] = n;
  c->nblocks++;
  return NNC_OK;
}

/* The settings and state, as metadata keys. */
static int put_state(nnc_checkpoint *c, const nnc_babysit_result *r,
                     const nnci_bs_state *st)
{
  const nnc_optim_opts *o = &r->opts.optim;
  const nnc_schedule *s = st->sched;
  int rc = NNC_OK;
#define R(k, v) if (rc == NNC_OK) rc = kv_real(c, k, v)
#define U(k, v) if (rc == NNC_OK) rc = kv_u64(c, k, v)
  U("bs_rule", (uint64_t)o->rule);
  R("bs_lr", o->lr);
  R("bs_mu", o->mu);
  R("bs_decay", o->decay);
  R("bs_beta1", o->beta1);
  R("bs_beta2", o->beta2);
  R("bs_eps", o->eps);
  U("bs_sched_kind", (uint64_t)s->kind);
  R("bs_sched_lr0", s->lr0);
  R("bs_sched_factor", s->factor);
  R("bs_sched_every", s->every);
  R("bs_sched_k", s->k);
  R("bs_sched_patience", s->patience);
  R("bs_sched_threshold", s->threshold);
  R("bs_sched_min_lr", s->min_lr);
  R("bs_sched_mu0", s->mu0);
  R("bs_sched_mu1", s->mu1);
  R("bs_sched_mu_epochs", s->mu_epochs);
  R("bs_sched_lr", s->lr);
  R("bs_sched_best", s->best);
  R("bs_sched_since_best", s->since_best);
  U("bs_batch", r->opts.batch);
  R("bs_ema_decay", r->opts.ema_decay);
  U("bs_rng", st->rng);
  U("bs_optim_steps", nnc_optim_steps(st->opt));
  U("bs_epoch", st->epoch);
#undef R
#undef U
  return rc;
}

int nnci_bs_ckpt_write(nnc_model *m, const nnc_babysit_result *r,
                       const nnci_bs_state *st, const char *dir, char *name,
                       size_t namelen)
{
  const nnc_bs_epoch *e = &r->epochs[r->nepochs - 1];
  nnc_ckpt_meta meta;
  nnc_ckpt_meta_init(&meta);
  meta.has_seed = 1;
  meta.seed = r->opts.seed;
  meta.has_step = 1;
  meta.step = st->step;
  meta.epoch = (double)st->epoch;
  meta.train_loss = e->train_loss;
  meta.val_loss = e->val_loss;
  meta.val_acc = e->val_acc;
  char err[1024];
  nnc_checkpoint *c;
  int rc = nnc_checkpoint_capture(m, &meta, &c, err, sizeof err);
  if (rc != NNC_OK)
    return nnci_fail(m, rc, "%s", err);
  rc = put_state(c, r, st);
  size_t aux = 0;
  for (size_t b = 0; rc == NNC_OK && b < m->nparam; b++) {
    const nnc_block *mb = &m->blocks[b];
    rc = add_block(c, "aux.ema.", mb->name, st->ema[b], mb->count);
    aux++;
    for (int w = 1; rc == NNC_OK && w <= 2; w++) {
      double *s = nnci_optim_state(st->opt, b, w, 0);
      if (s) {
        rc = add_block(c, w == 1 ? "aux.s1." : "aux.s2.", mb->name, s,
                       mb->count);
        aux++;
      }
    }
  }
  if (rc == NNC_OK)
    rc = kv_u64(c, "aux_blocks", aux);
  if (rc != NNC_OK) {
    nnc_checkpoint_free(c);
    return nnci_fail(m, NNC_ENOMEM, "out of memory writing a checkpoint");
  }
  if (isfinite(e->val_acc))
    snprintf(name, namelen, "epoch%04zu-val%.4f.nnckpt", e->epoch, e->val_acc);
  else
    snprintf(name, namelen, "epoch%04zu-valnan.nnckpt", e->epoch);
  size_t pl = strlen(dir) + strlen(name) + 2;
  char *path = malloc(pl);
  if (!path) {
    nnc_checkpoint_free(c);
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  }
  snprintf(path, pl, "%s/%s", dir, name);
  rc = nnc_checkpoint_save(c, path, err, sizeof err);
  free(path);
  nnc_checkpoint_free(c);
  if (rc != NNC_OK)
    return nnci_fail(m, rc, "%s", err);
  return NNC_OK;
}

/* ---- resuming ---------------------------------------------------------------- */

static int get_real(const nnc_checkpoint *c, const char *key, double *v)
{
  const char *s = nnc_checkpoint_get(c, key);
  if (!s || !*s)
    return -1;
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  return *end ? -1 : 0;
}

static int get_u64(const nnc_checkpoint *c, const char *key, uint64_t *v)
{
  const char *s = nnc_checkpoint_get(c, key);
  if (!s || *s < '0' || *s > '9')
    return -1;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (*end || errno == ERANGE)
    return -1;
  *v = (uint64_t)x;
  return 0;
}

int nnci_bs_ckpt_resume(nnc_model *m, nnc_babysit_result *r,
                        nnci_bs_state *st, const char *path)
{
  char err[1024];
  nnc_checkpoint *c;
  int rc = nnc_checkpoint_read(path, &c, err, sizeof err);
  if (rc != NNC_OK)
    return nnci_fail(m, rc, "%s", err);
  const char *plugin = nnc_checkpoint_meta(c)->plugin;
  if (plugin && strcmp(plugin, m->d.name)) {
    nnci_fail(m, NNC_EARG, "%s was written by a run of %s, not %s: resume "
                           "it with that plugin",
              path, plugin, m->d.name);
    nnc_checkpoint_free(c);
    return NNC_EARG;
  }
  if ((rc = nnc_checkpoint_apply(c, m, err, sizeof err))) {
    nnc_checkpoint_free(c);
    return nnci_fail(m, rc, "%s", err);
  }
  nnc_optim_opts *o = &r->opts.optim;
  nnc_schedule *s = st->sched;
  memset(s, 0, sizeof *s);
  uint64_t rule = 0, kind = 0, batch = 0, rng = 0, steps = 0, epoch = 0,
           seed = 0, step = 0;
  int bad = 0;
  const char *missing = NULL;
#define R(k, v) if (!missing && get_real(c, k, &(v))) missing = k
#define U(k, v) if (!missing && get_u64(c, k, &(v))) missing = k
  U("bs_rule", rule);
  R("bs_lr", o->lr);
  R("bs_mu", o->mu);
  R("bs_decay", o->decay);
  R("bs_beta1", o->beta1);
  R("bs_beta2", o->beta2);
  R("bs_eps", o->eps);
  U("bs_sched_kind", kind);
  R("bs_sched_lr0", s->lr0);
  R("bs_sched_factor", s->factor);
  R("bs_sched_every", s->every);
  R("bs_sched_k", s->k);
  R("bs_sched_patience", s->patience);
  R("bs_sched_threshold", s->threshold);
  R("bs_sched_min_lr", s->min_lr);
  R("bs_sched_mu0", s->mu0);
  R("bs_sched_mu1", s->mu1);
  R("bs_sched_mu_epochs", s->mu_epochs);
  R("bs_sched_lr", s->lr);
  R("bs_sched_best", s->best);
  R("bs_sched_since_best", s->since_best);
  U("bs_batch", batch);
  R("bs_ema_decay", r->opts.ema_decay);
  U("bs_rng", rng);
  U("bs_optim_steps", steps);
  U("bs_epoch", epoch);
  U("seed", seed);
  U("step", step);
#undef R
#undef U
  if (missing) {
    nnc_checkpoint_free(c);
    return nnci_fail(m, NNC_EARG,
                     "%s has no babysitting state (metadata %s missing or "
                     "malformed): only a checkpoint written by babysit "
                     "can be resumed",
                     path, missing);
  }
  o->rule = (int)rule;
  s->kind = (int)kind;
  r->opts.sched = *s;
  r->opts.batch = (size_t)batch;
  r->opts.seed = seed;
  st->rng = rng;
  st->step = (size_t)step;
  st->epoch = (size_t)epoch;
  rc = nnc_optim_new(m, o, &st->opt);
  if (rc != NNC_OK) {
    nnc_checkpoint_free(c);
    return rc;
  }
  nnci_optim_set_steps(st->opt, (size_t)steps);
  for (size_t b = 0; b < m->nparam && !bad; b++) {
    const nnc_block *mb = &m->blocks[b];
    static const char *const pre[3] = {"aux.ema.", "aux.s1.", "aux.s2."};
    for (int w = 0; w < 3 && !bad; w++) {
      char nm[320];
      snprintf(nm, sizeof nm, "%s%s", pre[w], mb->name);
      long k = nnc_checkpoint_find(c, nm);
      if (k < 0) {
        bad = w == 0; /* the average must be there; state may be absent */
        continue;
      }
      const nnc_block *cb = nnc_checkpoint_block(c, (size_t)k);
      if (cb->count != mb->count || cb->dtype != NNC_F64) {
        bad = 1;
        break;
      }
      double *dst = w == 0 ? st->ema[b]
                           : nnci_optim_state(st->opt, b, w, 1);
      if (!dst) {
        nnc_checkpoint_free(c);
        return nnci_fail(m, NNC_ENOMEM, "out of memory");
      }
      memcpy(dst, cb->data, mb->count * sizeof *dst);
    }
  }
  nnc_checkpoint_free(c);
  if (bad)
    return nnci_fail(m, NNC_EARG,
                     "%s: its auxiliary blocks do not match the model's "
                     "blocks: it was not written by babysit on this net",
                     path);
  return NNC_OK;
}

/* ---- the statistics file ------------------------------------------------------ */

int nnci_bs_stats_write(const nnc_babysit_result *r, const char *dir,
                        char *err, size_t errlen)
{
  size_t pl = strlen(dir) + 64;
  char *tmp = malloc(pl), *dst = malloc(pl);
  if (!tmp || !dst) {
    free(tmp);
    free(dst);
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  snprintf(dst, pl, "%s/babysit_stats.json", dir);
  snprintf(tmp, pl, "%s/.babysit_stats.json.XXXXXX", dir);
  int fd = mkstemp(tmp);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  int rc = NNC_OK;
  if (!f) {
    snprintf(err, errlen, "%s: cannot create a file there: %s", dir,
             strerror(errno));
    if (fd >= 0)
      close(fd);
    rc = NNC_EIO;
  } else {
    fchmod(fd, 0644);
    nnc_babysit_report_json(r, f);
    int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, dst) != 0) {
      snprintf(err, errlen, "%s: cannot write it: %s", dst, strerror(errno));
      unlink(tmp);
      rc = NNC_EIO;
    }
  }
  free(tmp);
  free(dst);
  return rc;
}
