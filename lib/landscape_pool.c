/* landscape_pool.c — independent loss evaluations spread over threads.
 *
 * Each thread drives its own instance of the plugin: the caller's model,
 * or a clone made through the plugin's clone() callback (the ABI allows
 * different instances on different threads at once).  A point is handed
 * out by index under a lock and its parameters are computed from shared,
 * read-only vectors in a fixed order, so a point's parameters, and hence
 * its loss, do not depend on which thread computed it.
 *
 * A clone (lib/model_clone.c) evaluates losses only: it has no gradient
 * buffers, and is closed before the caller's model. */
#include "config.h"

#include "landscape_internal.h"
#include "model.h"

#include <nncheck/train.h>

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nnci_ls_fail(nnc_landscape *ls, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ls->err, sizeof ls->err, fmt, ap);
  va_end(ap);
  return code;
}

void nnci_ls_warn(nnc_landscape *ls, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  nnc_landscape_result *r = &ls->r;
  for (size_t i = 0; i < r->nwarnings; i++)
    if (!strcmp(r->warnings[i], buf))
      return;
  char **w = realloc(r->warnings, (r->nwarnings + 1) * sizeof *w);
  if (!w)
    return;
  r->warnings = w;
  if ((w[r->nwarnings] = strdup(buf)))
    r->nwarnings++;
}

void nnci_ls_pool_close(ls_pool *p)
{
  for (size_t i = 1; i < p->n; i++)
    nnc_model_close(p->w[i]);
  free(p->w);
  memset(p, 0, sizeof *p);
}

static size_t online_cores(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (size_t)n : 1;
}

/* Make the workers on first use: the model and up to jobs - 1 clones. */
static int pool_open(nnc_landscape *ls)
{
  ls_pool *p = &ls->pool;
  if (p->tried)
    return NNC_OK;
  p->tried = 1;
  size_t want = ls->o.jobs ? ls->o.jobs : online_cores();
  if (want > 256)
    want = 256;
  p->w = calloc(want, sizeof *p->w);
  if (!p->w)
    return nnci_ls_fail(ls, NNC_ENOMEM, "out of memory");
  p->w[0] = ls->m;
  p->n = 1;
  if (want > 1 && !ls->m->d.clone)
    nnci_ls_warn(ls, "%s has no clone(): evaluated on one thread, not %zu",
                 ls->m->d.name, want);
  for (size_t i = 1; i < want && ls->m->d.clone; i++) {
    char err[1024];
    int rc = nnci_model_clone(ls->m, 0, &p->w[i], err, sizeof err);
    if (rc == NNC_ECONTRACT)
      return nnci_ls_fail(ls, rc, "%s", err);
    if (rc != NNC_OK) {
      nnci_ls_warn(ls, "%s; evaluated on %zu threads", err, p->n);
      break;
    }
    p->n++;
  }
  ls->r.jobs = p->n;
  return NNC_OK;
}

/* ---- running a job ---------------------------------------------------------- */

typedef struct run_ctx {
  nnc_landscape *ls;
  ls_job *job;
  pthread_mutex_t lock;
  size_t next, done;
  int rc;              /* first error */
  char err[1024];
} run_ctx;

/* Store n values into a block of element type dtype. */
#define STORE_LOOP(EXPR)                                                       \
  do {                                                                         \
    if (dtype == NNC_F32) {                                                    \
      float *d32 = data;                                                       \
      for (size_t i = 0; i < n; i++)                                           \
        d32[i] = (float)(EXPR);                                                \
    } else {                                                                   \
      double *d64 = data;                                                      \
      for (size_t i = 0; i < n; i++)                                           \
        d64[i] = (EXPR);                                                       \
    }                                                                          \
  } while (0)

/* theta_p into the worker's blocks, summing c_k v_k left to right in
 * double.  Zero coefficients are skipped, so a point with one non-zero
 * coefficient 1 is that vector exactly (the centre of a slice, the ends of
 * a line).  Written out per number of terms: this runs once per element of
 * every evaluation. */
static void set_point(nnc_model *w, const nnc_landscape *ls, const ls_job *j,
                      size_t p)
{
  const double *c = j->vp ? NULL : j->coef + p * j->nv;
  size_t act[3], na = 0;
  for (size_t k = 0; c && k < j->nv; k++)
    if (c[k] != 0)
      act[na++] = k;
  for (size_t b = 0; b < ls->nb; b++) {
    const nnc_block *blk = nnc_model_block(w, b);
    void *data = blk->data;
    const uint32_t dtype = blk->dtype;
    const size_t n = blk->count, off = ls->off[b];
    if (j->vp) {
      const double *v = j->vp[p] + off;
      STORE_LOOP(v[i]);
      continue;
    }
    const double *v0 = na > 0 ? j->v[act[0]] + off : NULL;
    const double *v1 = na > 1 ? j->v[act[1]] + off : NULL;
    const double *v2 = na > 2 ? j->v[act[2]] + off : NULL;
    const double c0 = na > 0 ? c[act[0]] : 0, c1 = na > 1 ? c[act[1]] : 0,
                 c2 = na > 2 ? c[act[2]] : 0;
    switch (na) {
    case 0: STORE_LOOP(0.0); break;
    case 1: STORE_LOOP(c0 * v0[i]); break;
    case 2: STORE_LOOP(c0 * v0[i] + c1 * v1[i]); break;
    default: STORE_LOOP(c0 * v0[i] + c1 * v1[i] + c2 * v2[i]); break;
    }
  }
}

/* One point; NNC_OK also when the loss is not finite (recorded as NaN). */
static int eval_point(run_ctx *x, nnc_model *w, size_t p, int *nonfinite)
{
  nnc_landscape *ls = x->ls;
  ls_job *j = x->job;
  set_point(w, ls, j, p);
  *nonfinite = 0;
  if (!j->eval) {
    double L = NAN;
    int rc = nnc_model_loss(w, NULL, ls->o.seed, ls->flags, &L);
    if (rc == NNC_ENONFINITE) {
      *nonfinite = 1;
      L = NAN;
    } else if (rc != NNC_OK) {
      return rc;
    }
    j->loss[p] = L;
    if (j->win) {
      nnc_winners wi;
      j->win[p] = rc == NNC_OK && nnc_model_winners(w, &wi) == NNC_OK
                      ? wi.hash
                      : 0;
    }
    return NNC_OK;
  }
  for (int s = 0; s < j->nsplits; s++) {
    double L = NAN, acc = NAN;
    int rc = nnc_evaluate(w, s == 0 ? NNC_SPLIT_TRAIN : NNC_SPLIT_VAL,
                          j->idx[s], j->nidx[s], ls->o.eval_batch,
                          ls->flags & NNC_F_ALL, &L, &acc);
    if (rc == NNC_ENONFINITE) {
      *nonfinite = 1;
      L = acc = NAN;
    } else if (rc != NNC_OK) {
      return rc;
    }
    j->eloss[s][p] = L;
    if (j->eacc[s])
      j->eacc[s][p] = acc;
  }
  return NNC_OK;
}

typedef struct worker_arg {
  run_ctx *x;
  nnc_model *w;
} worker_arg;

static void *worker(void *arg)
{
  worker_arg *a = arg;
  run_ctx *x = a->x;
  for (;;) {
    pthread_mutex_lock(&x->lock);
    size_t p = x->next++;
    int stop = x->rc != NNC_OK || p >= x->job->npoints;
    pthread_mutex_unlock(&x->lock);
    if (stop)
      break;
    int nonfinite = 0;
    int rc = eval_point(x, a->w, p, &nonfinite);
    pthread_mutex_lock(&x->lock);
    if (rc != NNC_OK && x->rc == NNC_OK) {
      x->rc = rc;
      snprintf(x->err, sizeof x->err, "%s", nnc_model_error(a->w));
    }
    x->job->nonfinite += (size_t)nonfinite;
    x->done++;
    if (x->ls->o.progress)
      x->ls->o.progress(x->ls->o.user, x->job->stage,
                        x->job->done_before + x->done, x->job->total);
    pthread_mutex_unlock(&x->lock);
  }
  return NULL;
}

void nnci_ls_restore(nnc_landscape *ls)
{
  for (size_t b = 0; b < ls->nb; b++) {
    const nnc_block *blk = nnc_model_block(ls->m, b);
    memcpy(blk->data, ls->saved[b], blk->count * nnci_dtype_size(blk->dtype));
  }
}

int nnci_ls_run(nnc_landscape *ls, ls_job *job)
{
  int rc = pool_open(ls);
  if (rc != NNC_OK)
    return rc;
  run_ctx x;
  memset(&x, 0, sizeof x);
  x.ls = ls;
  x.job = job;
  job->nonfinite = 0;
  pthread_mutex_init(&x.lock, NULL);
  size_t nt = ls->pool.n < job->npoints ? ls->pool.n : job->npoints;
  if (nt < 1)
    nt = 1;
  pthread_t th[256];
  worker_arg args[256];
  size_t started = 1;
  for (size_t i = 0; i < nt; i++) {
    args[i] = (worker_arg){&x, ls->pool.w[i]};
    if (i)
      nnci_phase(ls->pool.w[i], ls->m->phase);
  }
  for (size_t i = 1; i < nt; i++) {
    if (pthread_create(&th[i], NULL, worker, &args[i]) != 0)
      break;
    started++;
  }
  worker(&args[0]);
  for (size_t i = 1; i < started; i++)
    pthread_join(th[i], NULL);
  pthread_mutex_destroy(&x.lock);
  nnci_ls_restore(ls);
  ls->r.evals += job->npoints * (job->eval ? (size_t)job->nsplits : 1);
  if (x.rc != NNC_OK)
    return nnci_ls_fail(ls, x.rc, "%s", x.err);
  return NNC_OK;
}
