/* Seeded mini-batches: each epoch a fresh shuffle of the training examples
 * (or of a seeded subset of them), cut into batches.  The order of epoch e
 * depends on (seed, e) only, so a run can be replayed from its seed. */
#include "config.h"
#include "model.h"
#include "rng.h"
#include <nncheck/train.h>
#include <stdlib.h>
#include <string.h>

/* RNG streams of the sampler, apart from the model's (1..3). */
enum { STREAM_SUBSET = 0x5301, STREAM_SHUFFLE = 0x5302 };

struct nnc_sampler {
  int own_batch;   /* the plugin's own batch: one step per epoch */
  size_t n;        /* examples per epoch */
  size_t batch;
  uint64_t seed;
  size_t *pool;    /* the examples, in increasing order */
  size_t *perm;    /* the current epoch's order */
  size_t epoch;    /* epochs begun */
  size_t pos;      /* next position in perm */
  nnc_batch cur;
};

int nnc_sampler_new(nnc_model *m, size_t batch, size_t subset, uint64_t seed,
                    nnc_sampler **out)
{
  *out = NULL;
  if (batch == 0)
    return nnci_fail(m, NNC_EARG, "the batch size must be at least 1");
  nnc_sampler *s = calloc(1, sizeof *s);
  if (!s)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  s->batch = batch;
  s->seed = seed;
  s->cur.split = NNC_SPLIT_TRAIN;
  if (m->d.kind == NNC_KIND_LAYER || !m->has_info) {
    /* A layer trains on its selected batch, a net without a dataset on its
     * default batch: the whole "dataset" every step. */
    s->own_batch = 1;
    s->n = m->d.kind == NNC_KIND_LAYER ? m->n : 0;
    *out = s;
    return NNC_OK;
  }
  size_t total = m->ni.n_train;
  s->n = subset && subset < total ? subset : total;
  s->pool = malloc(s->n * sizeof *s->pool);
  s->perm = malloc(s->n * sizeof *s->perm);
  if (!s->pool || !s->perm) {
    nnc_sampler_free(s);
    return nnci_fail(m, NNC_ENOMEM, "out of memory for %zu examples", s->n);
  }
  if (s->n < total) {
    nnc_rng r;
    nnc_rng_init(&r, seed, STREAM_SUBSET);
    nnc_rng_choose(&r, total, s->n, s->pool);
  } else {
    for (size_t i = 0; i < total; i++)
      s->pool[i] = i;
  }
  *out = s;
  return NNC_OK;
}

void nnc_sampler_free(nnc_sampler *s)
{
  if (!s)
    return;
  free(s->pool);
  free(s->perm);
  free(s);
}

/* Fisher-Yates over the pool from a stream of its own per epoch. */
static void shuffle(nnc_sampler *s, size_t epoch)
{
  nnc_rng r;
  nnc_rng_init(&r, s->seed, STREAM_SHUFFLE + ((uint64_t)epoch << 16));
  memcpy(s->perm, s->pool, s->n * sizeof *s->perm);
  for (size_t i = s->n; i > 1; i--) {
    size_t j = nnc_rng_below(&r, i);
    size_t t = s->perm[i - 1];
    s->perm[i - 1] = s->perm[j];
    s->perm[j] = t;
  }
}

const nnc_batch *nnc_sampler_next(nnc_sampler *s, double *epoch)
{
  if (s->own_batch) {
    s->epoch++;
    s->cur.index = NULL;
    s->cur.count = s->n;
    if (epoch)
      *epoch = (double)s->epoch;
    return &s->cur;
  }
  if (s->epoch == 0 || s->pos == s->n) {
    shuffle(s, s->epoch);
    s->epoch++;
    s->pos = 0;
  }
  size_t c = s->n - s->pos < s->batch ? s->n - s->pos : s->batch;
  s->cur.index = s->perm + s->pos;
  s->cur.count = c;
  s->pos += c;
  if (epoch)
    *epoch = s->pos == s->n ? (double)s->epoch
                            : (double)(s->epoch - 1) +
                                  (double)s->pos / (double)s->n;
  return &s->cur;
}

size_t nnc_sampler_size(const nnc_sampler *s) { return s->n; }

const size_t *nnc_sampler_examples(const nnc_sampler *s) { return s->pool; }
