/* How close a training step of the reference net runs to its GEMM floor.
 *
 * A step of mlp (layers=3072,100,10, batch 256) is loss + backward + an SGD
 * update through libnncheck.  Its matrix products are the floor: forward
 * x.W1 and h.W2, backward dW2 = h^T.dS, dh = dS.W2^T and dW1 = x^T.dh (mlp
 * skips the input gradient of the first layer).  This program times, in one
 * run, the step and the same five cblas calls at the same shapes,
 * transposes and betas, pair by pair, and prints the median fraction of the
 * step spent in GEMM, for double and float.  The betas are the net's: 0
 * for x.W1 (its bias comes in the ReLU's pass), 1 for h.W2 (over the
 * bias), 1 for both weight gradients (over reg W, the default reg 1e-3),
 * 0 for dh.  Exit 1 if a fraction misses the target.
 *
 *   make bench-train      (or: bench/bench_train [REPEATS [N [DTYPE]]])
 */
#include <nncheck/nncheck.h>
#include <nncheck/train.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define TARGET 0.90
#define D 3072
#define H 100
#define K 10
#define BATCH 256
#define INNER 4 /* steps per timed sample */

/* CPU time of this thread: with OpenBLAS on one thread every product runs
 * here, and time the scheduler gives to other processes is not counted. */
static double now(void) { return bench_clock(CLOCK_THREAD_CPUTIME_ID); }

/* The operands of the five products, in the element type. */
typedef struct gemm_bufs {
  void *x, *W1, *h, *W2, *s, *dS, *dW2, *dh, *dW1;
} gemm_bufs;

static void *filled(size_t n, int is_float, unsigned *state)
{
  void *p = malloc(n * (is_float ? sizeof(float) : sizeof(double)));
  if (!p)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    *state = *state * 1103515245u + 12345u;
    double v = ((double)(*state >> 8) / 16777216.0 - 0.5) * 0.1;
    if (is_float)
      ((float *)p)[i] = (float)v;
    else
      ((double *)p)[i] = v;
  }
  return p;
}

static int bufs_new(gemm_bufs *g, int is_float)
{
  unsigned st = 12345;
  g->x = filled((size_t)BATCH * D, is_float, &st);
  g->W1 = filled((size_t)D * H, is_float, &st);
  g->h = filled((size_t)BATCH * H, is_float, &st);
  g->W2 = filled((size_t)H * K, is_float, &st);
  g->s = filled((size_t)BATCH * K, is_float, &st);
  g->dS = filled((size_t)BATCH * K, is_float, &st);
  g->dW2 = filled((size_t)H * K, is_float, &st);
  g->dh = filled((size_t)BATCH * H, is_float, &st);
  g->dW1 = filled((size_t)D * H, is_float, &st);
  return g->x && g->W1 && g->h && g->W2 && g->s && g->dS && g->dW2 && g->dh &&
                 g->dW1
             ? 0
             : -1;
}

static void bufs_free(gemm_bufs *g)
{
  free(g->x);
  free(g->W1);
  free(g->h);
  free(g->W2);
  free(g->s);
  free(g->dS);
  free(g->dW2);
  free(g->dh);
  free(g->dW1);
}

/* The calls of nn_affine_fwd / nn_affine_bwd for one step of mlp. */
static void gemms(const gemm_bufs *g, int is_float)
{
  if (is_float) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, H, D, 1,
                g->x, D, g->W1, H, 0, g->h, H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, K, H, 1,
                g->h, H, g->W2, K, 1, g->s, K);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, K, BATCH, 1, g->h,
                H, g->dS, K, 1, g->dW2, K);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, H, K, 1,
                g->dS, K, g->W2, K, 0, g->dh, H);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, H, BATCH, 1, g->x,
                D, g->dh, H, 1, g->dW1, H);
  } else {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, H, D, 1,
                g->x, D, g->W1, H, 0, g->h, H);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, K, H, 1,
                g->h, H, g->W2, K, 1, g->s, K);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, K, BATCH, 1, g->h,
                H, g->dS, K, 1, g->dW2, K);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, H, K, 1,
                g->dS, K, g->W2, K, 0, g->dh, H);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, H, BATCH, 1, g->x,
                D, g->dh, H, 1, g->dW1, H);
  }
}

typedef struct result {
  double step, gemm, frac;
} result;

/* contiguous: batches are consecutive windows of the training split (an
 * epoch over data stored in batch order: the plugin reads them in place);
 * otherwise seeded shuffled batches from nnc_sampler (gathered). */
static int bench(const char *dtype, size_t N, int reps, int contiguous,
                 result *out)
{
  char args[256], err[1024];
  snprintf(args, sizeof args,
           "layers=%d,%d,%d D=%d K=%d N=%zu dtype=%s threads=1", D, H, K, D,
           K, N, dtype);
  int is_float = !strcmp(dtype, "float");
  nnc_model *m;
  int rc = nnc_model_load("mlp", args, &m, err, sizeof err);
  if (rc != NNC_OK) {
    fprintf(stderr, "bench_train: %s\n", err);
    return 2;
  }
  nnc_sampler *smp;
  nnc_optim *opt;
  gemm_bufs g;
  if (nnc_sampler_new(m, BATCH, 0, 1, &smp) != NNC_OK ||
      nnc_optim_new(m, NULL, &opt) != NNC_OK || bufs_new(&g, is_float)) {
    fprintf(stderr, "bench_train: %s\n", nnc_model_error(m));
    return 2;
  }
  uint64_t seed = 1;
  nnc_net_info ni;
  nnc_model_net_info(m, &ni);
  size_t win[BATCH], k0 = 0;
  nnc_batch cb = {win, BATCH, NNC_SPLIT_TRAIN, 0};
  double *ts = malloc((size_t)reps * sizeof *ts);
  double *tg = malloc((size_t)reps * sizeof *tg);
  double *fr = malloc((size_t)reps * sizeof *fr);
  for (int r = -1; r < reps; r++) { /* r = -1 warms up */
    double a = now();
    for (int i = 0; i < INNER; i++) {
      const nnc_batch *b;
      if (contiguous) {
        if (k0 + BATCH > ni.n_train)
          k0 = 0;
        for (size_t j = 0; j < BATCH; j++)
          win[j] = k0 + j;
        k0 += BATCH;
        b = &cb;
      } else {
        b = nnc_sampler_next(smp, NULL);
        if (b->count < BATCH) /* an epoch's short last batch */
          b = nnc_sampler_next(smp, NULL);
      }
      double L;
      rc = nnc_model_loss(m, b, seed++, NNC_F_ALL | NNC_F_TRAIN, &L);
      if (rc == NNC_OK)
        rc = nnc_model_backward(m);
      if (rc == NNC_OK)
        rc = nnc_optim_step(opt, m);
      if (rc != NNC_OK) {
        fprintf(stderr, "bench_train: %s\n", nnc_model_error(m));
        return 2;
      }
    }
    double step = (now() - a) / INNER;
    a = now();
    for (int i = 0; i < INNER; i++)
      gemms(&g, is_float);
    double gemm = (now() - a) / INNER;
    if (r >= 0) {
      ts[r] = step;
      tg[r] = gemm;
      fr[r] = gemm / step;
    }
  }
  out->step = median(ts, reps);
  out->gemm = median(tg, reps);
  out->frac = median(fr, reps);
  free(ts);
  free(tg);
  free(fr);
  bufs_free(&g);
  nnc_optim_free(opt);
  nnc_sampler_free(smp);
  nnc_model_close(m);
  return 0;
}

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 15;
  size_t N = argc > 2 ? (size_t)atol(argv[2]) : 128;
  if (reps < 1)
    reps = 1;
  if (N * K * 4 / 5 < BATCH) {
    fprintf(stderr, "bench_train: N=%zu leaves fewer than %d training "
                    "examples\n",
            N, BATCH);
    return 2;
  }
  openblas_set_num_threads(1);
  printf("train step of mlp layers=%d,%d,%d D=%d K=%d N=%zu threads=1, "
         "batch %d: loss + backward + SGD step\nagainst its five GEMM calls "
         "alone; thread CPU time, median of %d paired runs of %d steps\n\n",
         D, H, K, D, K, N, BATCH, reps, INNER);
  printf("%-7s %-10s %10s %10s %10s %8s\n", "dtype", "batches", "step ms",
         "gemm ms", "gemm/step", "target");
  const char *dtypes[2] = {"double", "float"};
  int missed = 0;
  const char *only = argc > 3 ? argv[3] : NULL; /* "double" or "float" */
  for (int k = 0; k < 2; k++)
    for (int contiguous = 1; contiguous >= 0; contiguous--) {
      result r;
      if (only && strcmp(only, dtypes[k]))
        continue;
      int rc = bench(dtypes[k], N, reps, contiguous, &r);
      if (rc)
        return rc;
      /* the target is for batches read in place; a shuffled batch adds the
       * plugin's gather, shown for information */
      int ok = r.frac >= TARGET;
      if (contiguous)
        missed |= !ok;
      printf("%-7s %-10s %10.3f %10.3f %10.3f %5s%.2f %s\n", dtypes[k],
             contiguous ? "in order" : "shuffled", 1e3 * r.step, 1e3 * r.gemm,
             r.frac, ">= ", TARGET,
             !contiguous ? "(info)" : ok ? "met" : "MISSED");
      if (contiguous)
        printf("RESULT train_gemm_fraction_%s %.4f %.2f %s\n", dtypes[k],
               r.frac, TARGET, ok ? "PASS" : "MISS");
    }
  return missed ? 1 : 0;
}
