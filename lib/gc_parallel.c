/* Coordinates checked concurrently, with the serial result.
 *
 * Each coordinate's verdict depends only on the base point (its loss,
 * fingerprint and analytic gradient) and on losses at points next to it:
 * coordinates are independent.  With threads > 1, each thread drives its
 * own clone of the plugin (the clone callback; lib/model_clone.c), synced
 * to the checked point, and takes the next coordinate, in the serial
 * order, under a lock.  The checked model itself evaluates nothing
 * meanwhile: its buffers hold the base gradient every thread reads, and a
 * kink's re-test runs its backward on the thread's clone.  An entry is
 * written into its own slot; the per-block counters and the evaluation
 * counts are added up afterwards in the serial order, so the result is the
 * serial one bit for bit.  On an error, no new coordinate is handed out;
 * since they are handed out in order, every coordinate before the first
 * failing one completes, and the check stops with that one's error, as the
 * serial loop would. */
#include "config.h"

#include "gc_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 256

/* What one item adds to its block's and the result's counters. */
typedef struct tally {
  size_t live, tiny, kinks, inconclusive, failed;
  size_t loss_evals, check_evals, backward_calls;
} tally;

typedef struct par {
  const gc_item *items;
  size_t n;
  tally *t;             /* per item */
  pthread_mutex_t lock;
  size_t next;          /* the next item to hand out */
  int rc;               /* the error of the first failing item */
  size_t fail_at;
  char err[1024];
} par;

typedef struct worker {
  par *p;
  gc_ctx c;             /* the check's context, on a clone */
  nnc_gradcheck_result *r; /* private counters */
  pthread_t th;
} worker;

static void *work(void *arg)
{
  worker *w = arg;
  par *p = w->p;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    size_t k = p->next++;
    int stop = p->rc != NNC_OK || k >= p->n;
    pthread_mutex_unlock(&p->lock);
    if (stop)
      break;
    const gc_item *it = &p->items[k];
    nnc_gc_block gb = *it->gb; /* bands and norm; counters of this item */
    gb.live = gb.tiny = gb.kinks = gb.inconclusive = gb.failed = 0;
    gb.coords = NULL;
    gb.ncoords = 0;
    size_t le = w->r->loss_evals, ce = w->r->check_evals,
           bc = w->r->backward_calls;
    nnci_at(w->c.m, it->b, (long long)it->i);
    int rc = nnci_gc_coord(&w->c, it->b, it->i, &gb, it->out);
    nnci_at(w->c.m, it->b, -1);
    p->t[k] = (tally){gb.live,
                      gb.tiny,
                      gb.kinks,
                      gb.inconclusive,
                      gb.failed,
                      w->r->loss_evals - le,
                      w->r->check_evals - ce,
                      w->r->backward_calls - bc};
    if (rc != NNC_OK) {
      pthread_mutex_lock(&p->lock);
      if (p->rc == NNC_OK || k < p->fail_at) {
        p->rc = rc;
        p->fail_at = k;
        snprintf(p->err, sizeof p->err, "%s", nnc_model_error(w->c.m));
      }
      pthread_mutex_unlock(&p->lock);
    }
  }
  return NULL;
}

static size_t online_cores(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (size_t)n : 1;
}

void nnci_gc_pool_close(gc_ctx *c)
{
  for (size_t i = 0; i < c->nclones; i++)
    nnc_model_close(c->clones[i]);
  free(c->clones);
  c->clones = NULL;
  c->nclones = 0;
}

/* The clones, once per check: as many as threads. */
static int pool_open(gc_ctx *c)
{
  if (c->pool_tried)
    return NNC_OK;
  c->pool_tried = 1;
  size_t want = c->o->threads ? c->o->threads : online_cores();
  if (want > MAX_THREADS)
    want = MAX_THREADS;
  if (want < 2)
    return NNC_OK;
  nnc_model *m = c->m;
  if (!m->d.clone) {
    nnci_gc_warn(c->r,
                 "%s has no clone(): coordinates checked on one thread, not "
                 "%zu (implement clone() for parallel checks)",
                 m->d.name, want);
    return NNC_OK;
  }
  c->clones = calloc(want, sizeof *c->clones);
  if (!c->clones)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  for (size_t i = 0; i < want; i++) {
    char err[1024];
    int rc = nnci_model_clone(m, 1, &c->clones[i], err, sizeof err);
    if (rc == NNC_ECONTRACT)
      return nnci_fail(m, rc, "%s", err);
    if (rc != NNC_OK) {
      nnci_gc_warn(c->r, "%s: coordinates checked on %zu thread(s), not %zu",
                   err, c->nclones < 2 ? (size_t)1 : c->nclones, want);
      break;
    }
    c->nclones++;
  }
  if (c->nclones < 2)
    nnci_gc_pool_close(c);
  return NNC_OK;
}

static int serial(gc_ctx *c, const gc_item *items, size_t n, size_t *done)
{
  for (size_t k = 0; k < n; k++) {
    nnci_at(c->m, items[k].b, (long long)items[k].i);
    int rc = nnci_gc_coord(c, items[k].b, items[k].i, items[k].gb,
                           items[k].out);
    nnci_at(c->m, items[k].b, -1);
    if (rc != NNC_OK) {
      *done = k;
      return rc;
    }
  }
  *done = n;
  return NNC_OK;
}

int nnci_gc_check_items(gc_ctx *c, const gc_item *items, size_t n,
                        size_t *done)
{
  int rc;
  *done = 0;
  if (n > 1 && (rc = pool_open(c)) != NNC_OK)
    return rc;
  if (n < 2 || c->nclones < 2)
    return serial(c, items, n, done);
  size_t nt = c->nclones < n ? c->nclones : n;
  par p;
  memset(&p, 0, sizeof p);
  p.items = items;
  p.n = n;
  p.t = calloc(n, sizeof *p.t);
  worker *w = calloc(nt, sizeof *w);
  int ok = p.t && w;
  for (size_t i = 0; ok && i < nt; i++) {
    w[i].p = &p;
    w[i].r = calloc(1, sizeof *w[i].r);
    ok = w[i].r != NULL;
    if (!ok)
      break;
    w[i].r->nondeterminism = c->r->nondeterminism;
    w[i].c = *c;
    w[i].c.m = c->clones[i];
    w[i].c.r = w[i].r;
    w[i].c.gsrc = c->gsrc ? c->gsrc : c->m;
    w[i].c.clones = NULL;
    w[i].c.nclones = 0;
    nnci_model_sync(c->clones[i], c->m);
  }
  if (!ok) {
    for (size_t i = 0; w && i < nt; i++)
      free(w[i].r);
    free(w);
    free(p.t);
    return nnci_fail(c->m, NNC_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&p.lock, NULL);
  size_t started = 1;
  for (size_t i = 1; i < nt; i++) {
    if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0)
      break;
    started++;
  }
  work(&w[0]);
  for (size_t i = 1; i < started; i++)
    pthread_join(w[i].th, NULL);
  pthread_mutex_destroy(&p.lock);
  size_t end = p.rc != NNC_OK ? p.fail_at + 1 : n;
  for (size_t k = 0; k < end; k++) {
    nnc_gc_block *gb = items[k].gb;
    const tally *t = &p.t[k];
    gb->live += t->live;
    gb->tiny += t->tiny;
    gb->kinks += t->kinks;
    gb->inconclusive += t->inconclusive;
    gb->failed += t->failed;
    c->r->loss_evals += t->loss_evals;
    c->r->check_evals += t->check_evals;
    c->r->backward_calls += t->backward_calls;
  }
  rc = p.rc;
  *done = rc != NNC_OK ? p.fail_at : n;
  if (rc != NNC_OK)
    nnci_fail(c->m, rc, "%s", p.err);
  for (size_t i = 0; i < nt; i++)
    free(w[i].r);
  free(w);
  free(p.t);
  return rc;
}
