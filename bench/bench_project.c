/* Projection mode against checking every coordinate, and what bisection
 * costs to find one planted bad coordinate in a block of 10^5.
 *
 * Part 1 runs gradcheck on the reference network twice in one process,
 * paired run by run: every coordinate of every block (--samples 0), and
 * projection mode (--project); it prints the median time ratio.
 * Part 2 plants one wrong gradient coordinate in a block of N = 10^5 (an
 * in-process quadratic, so that a loss evaluation is cheap and exact) and
 * counts the loss evaluations projection mode needs to name it, against
 * K * log2(N).  Exit 1 if a target is missed.
 *
 *   make bench          (or: bench/bench_project [REPEATS])
 */
#include <nncheck/nncheck.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }

/* ---- the planted plugin: L = sum 0.5 a_i w_i^2 + b_i w_i --------------- */
#define N 100000
#define PLANT 77777

typedef struct quad {
  double w[N], a[N], b[N];
} quad;

static void *q_create(const char *args, char *err, size_t errlen)
{
  (void)args;
  (void)err;
  (void)errlen;
  quad *q = malloc(sizeof *q);
  if (!q)
    return NULL;
  uint64_t s = 12345;
  for (size_t i = 0; i < N; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = (double)(s >> 11) * 0x1.0p-53;
    q->a[i] = 0.5 + u;
    q->b[i] = u - 0.5;
    q->w[i] = 2 * u - 1;
  }
  return q;
}
static void q_destroy(void *p) { free(p); }
static size_t q_num_blocks(void *p) { (void)p; return 1; }
static int q_get_block(void *p, size_t i, nnc_block *out)
{
  (void)i;
  quad *q = p;
  out->name = "w";
  out->data = q->w;
  out->count = N;
  out->dtype = NNC_F64;
  out->depth = 1;
  return 0;
}
static int q_loss(void *p, const nnc_batch *b, uint64_t seed, uint32_t flags,
                  double *loss, char *err, size_t errlen)
{
  (void)b;
  (void)seed;
  (void)err;
  (void)errlen;
  quad *q = p;
  double L = 0;
  if (flags & NNC_F_DATA)
    for (size_t i = 0; i < N; i++)
      L += 0.5 * q->a[i] * q->w[i] * q->w[i] + q->b[i] * q->w[i];
  *loss = L;
  return 0;
}
static int q_backward(void *p, void *const *g, char *err, size_t errlen)
{
  (void)err;
  (void)errlen;
  quad *q = p;
  double *d = g[0];
  for (size_t i = 0; i < N; i++)
    d[i] = q->a[i] * q->w[i] + q->b[i];
  d[PLANT] *= 1.5; /* the planted bug */
  return 0;
}
static const nnc_plugin quad_desc = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_NET,
    .name = "planted",
    .summary = "quadratic over 10^5 weights, one gradient coordinate wrong",
    .create = q_create,
    .destroy = q_destroy,
    .num_blocks = q_num_blocks,
    .get_block = q_get_block,
    .loss = q_loss,
    .backward = q_backward,
};

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 5, ok = 1;
  if (reps < 1)
    reps = 1;
  char err[1024];
  const char *args = "layers=2,100,100,3";
  nnc_model *m;
  if (nnc_model_load("mlp", args, &m, err, sizeof err) != NNC_OK) {
    fprintf(stderr, "bench_project: %s\n", err);
    return 2;
  }
  nnc_gradcheck_opts all, proj;
  nnc_gradcheck_opts_init(&all);
  all.samples = 0;
  all.burn_in = 0;
  all.audits = 0;
  proj = all;
  proj.project = 1;
  double *ratio = malloc((size_t)reps * sizeof *ratio);
  double ta = 0, tp = 0;
  size_t ea = 0, ep = 0, coords = 0;
  for (int k = 0; k < reps; k++) {
    nnc_gradcheck_result *r;
    double t0 = now();
    nnc_gradcheck(m, &all, &r);
    double t1 = now();
    ea = r->check_evals;
    coords = 0;
    for (size_t b = 0; b < r->nblocks; b++)
      coords += r->blocks[b].checked;
    nnc_gradcheck_free(r);
    double t2 = now();
    nnc_gradcheck(m, &proj, &r);
    double t3 = now();
    ep = r->check_evals;
    nnc_gradcheck_free(r);
    ratio[k] = (t1 - t0) / (t3 - t2);
    ta += t1 - t0;
    tp += t3 - t2;
  }
  qsort(ratio, (size_t)reps, sizeof *ratio, cmp_double);
  printf("projection mode against every coordinate: mlp %s, %zu coordinates "
         "in all parts\n",
         args, coords);
  printf("  every coordinate: %.3f s, %zu loss evaluations; projection: %.4f s, "
         "%zu loss evaluations (means over %d runs)\n",
         ta / reps, ea, tp / reps, ep, reps);
  printf("  time ratio every/projection: median %.1fx\n", ratio[reps / 2]);
  printf("RESULT project_vs_every_coordinate %.4g - INFO\n", ratio[reps / 2]);
  nnc_model_close(m);
  free(ratio);

  /* part 2: the planted coordinate */
  if (nnc_model_open(&quad_desc, "", &m, err, sizeof err) != NNC_OK) {
    fprintf(stderr, "bench_project: %s\n", err);
    return 2;
  }
  nnc_gradcheck_result *r;
  nnc_gradcheck(m, &proj, &r);
  size_t found = (size_t)-1;
  for (size_t b = 0; b < r->nblocks; b++)
    for (size_t q = 0; q < r->blocks[b].ncoords; q++) {
      const nnc_gc_coord *c = &r->blocks[b].coords[q];
      if (!(c->flags & NNC_GC_PROJECTION) && c->verdict == NNC_FAIL)
        found = c->index;
    }
  double bound = (double)proj.probes * log2((double)N);
  printf("bisection: a planted bad coordinate at %d of N = %d: found %s%zu "
         "with %zu loss evaluations (K = %zu probes; K*log2(N) = %.0f; "
         "ratio %.2f)\n",
         PLANT, N, found == PLANT ? "" : "NOT (got) ", found, r->check_evals,
         proj.probes, bound, (double)r->check_evals / bound);
  int bis_ok = found == PLANT && (double)r->check_evals <= 2 * bound;
  printf("RESULT bisection_evals_over_KlogN %.3f 2.00 %s\n",
         (double)r->check_evals / bound, bis_ok ? "PASS" : "MISS");
  if (!bis_ok)
    ok = 0;
  nnc_gradcheck_free(r);
  nnc_model_close(m);
  return ok ? 0 : 1;
}
