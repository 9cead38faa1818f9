/* How close the landscape's 2D slice runs to its floor, and what a second
 * worker buys.
 *
 * A G x G slice needs G^2 loss evaluations; everything else (the
 * directions, writing each point's parameters, bookkeeping) is overhead.
 * This program times, on one model (the reference mlp sized so that one
 * loss takes about 1 ms), the 2D slice on one thread against exactly G^2
 * bare loss evaluations at the current point, paired run by run, and the
 * slice on 2 threads against 1.  The verdict takes the fastest run of each
 * kind (the least disturbed by whatever else the machine runs: on a busy
 * shared machine the paired medians scatter by several per cent); the
 * medians are printed beside it.  What 2 threads can give at all on this
 * machine is measured too: the same bare evaluations split over two
 * independent instances of the model on two threads (on a shared virtual
 * machine this ceiling can be far below 2).  Exit 1 if the overhead misses
 * its target.
 *
 *   make bench-landscape   (or: bench/bench_landscape [GRID] [REPEATS])
 */
#include <nncheck/landscape.h>
#include <nncheck/nncheck.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define TARGET 1.05
#define ARGS "layers=2,256,3 K=3 N=3000"
#define LOSS_MS 1.0

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }

static double least(const double *v, int n)
{
  double m = v[0];
  for (int i = 1; i < n; i++)
    m = v[i] < m ? v[i] : m;
  return m;
}

/* Seconds of the 2D slice alone on `jobs` threads. */
static double slice_time(nnc_model *m, size_t grid, size_t jobs,
                         size_t *evals)
{
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  o.directions = 0; /* no 1D slices: the grid's two directions only */
  o.gradient = 0;
  o.grid = grid;
  o.jobs = jobs;
  char err[1024];
  nnc_landscape *ls;
  if (nnc_landscape_new(m, &o, &ls, err, sizeof err) != NNC_OK) {
    fprintf(stderr, "bench_landscape: %s\n", err);
    exit(2);
  }
  size_t before = nnc_landscape_get(ls)->evals;
  double t0 = now();
  if (nnc_landscape_slices(ls) != NNC_OK) {
    fprintf(stderr, "bench_landscape: %s\n", nnc_landscape_error(ls));
    exit(2);
  }
  double t = now() - t0;
  *evals = nnc_landscape_get(ls)->evals - before;
  nnc_landscape_free(ls);
  return t;
}

static double bare_time(nnc_model *m, size_t n)
{
  double L, t0 = now();
  for (size_t i = 0; i < n; i++)
    if (nnc_model_loss(m, NULL, 1, NNC_F_ALL | NNC_F_TRAIN, &L) != NNC_OK) {
      fprintf(stderr, "bench_landscape: %s\n", nnc_model_error(m));
      exit(2);
    }
  return now() - t0;
}

typedef struct half {
  nnc_model *m;
  size_t n;
} half;

static void *half_run(void *arg)
{
  half *h = arg;
  bare_time(h->m, h->n);
  return NULL;
}

/* The bare evaluations split over two models on two threads. */
static double bare_time2(nnc_model *a, nnc_model *b, size_t n)
{
  half h[2] = {{a, n / 2}, {b, n - n / 2}};
  pthread_t t;
  double t0 = now();
  if (pthread_create(&t, NULL, half_run, &h[1]) != 0) {
    fprintf(stderr, "bench_landscape: no second thread\n");
    exit(2);
  }
  half_run(&h[0]);
  pthread_join(t, NULL);
  return now() - t0;
}

int main(int argc, char **argv)
{
  size_t grid = argc > 1 ? (size_t)atoi(argv[1]) : 21;
  int reps = argc > 2 ? atoi(argv[2]) : 9;
  if (grid < 3 || grid % 2 == 0)
    grid = 21;
  if (reps < 1)
    reps = 1;
  char err[1024];
  nnc_model *m;
  if (nnc_model_load("mlp", ARGS, &m, err, sizeof err) != NNC_OK) {
    fprintf(stderr, "bench_landscape: %s\n", err);
    return 2;
  }
  /* size the selection so that one loss takes about LOSS_MS */
  size_t examples = 1000;
  for (int k = 0; k < 4; k++) {
    nnc_model_select(m, examples, 1);
    bare_time(m, 5);
    double per = bare_time(m, 40) / 40 * 1e3;
    examples = (size_t)((double)examples * LOSS_MS / per);
    if (examples < 10)
      examples = 10;
  }
  nnc_model_select(m, examples, 1);
  double per = bare_time(m, 50) / 50 * 1e3;
  examples = nnc_model_examples(m);
  nnc_model *twin;
  if (nnc_model_load("mlp", ARGS, &twin, err, sizeof err) != NNC_OK) {
    fprintf(stderr, "bench_landscape: %s\n", err);
    return 2;
  }
  nnc_model_select(twin, examples, 1);

  double *ratio = malloc((size_t)reps * sizeof *ratio);
  double *speed = malloc((size_t)reps * sizeof *speed);
  double *t1 = malloc((size_t)reps * sizeof *t1);
  double *tb = malloc((size_t)reps * sizeof *tb);
  double *t2 = malloc((size_t)reps * sizeof *t2);
  double *ceil2 = malloc((size_t)reps * sizeof *ceil2);
  size_t evals = 0;
  slice_time(m, grid, 1, &evals); /* warm-up */
  for (int r = 0; r < reps; r++) {
    t1[r] = slice_time(m, grid, 1, &evals);
    tb[r] = bare_time(m, evals);
    t2[r] = slice_time(m, grid, 2, &evals);
    ceil2[r] = bare_time2(m, twin, evals);
    ratio[r] = t1[r] / tb[r];
    speed[r] = t1[r] / t2[r];
  }
  double fr = least(t1, reps) / least(tb, reps);
  double fs = least(t1, reps) / least(t2, reps);
  double mr = median(ratio, reps), ms = median(speed, reps);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("landscape 2D slice against its floor (one bare loss evaluation "
         "per grid point)\n");
  printf("model: mlp %s, %zu training examples selected; one loss: %.3f "
         "ms\n",
         ARGS, examples, per);
  printf("grid: %zu x %zu = %zu loss evaluations; %d paired runs; %ld "
         "online cores\n",
         grid, grid, evals, reps, cores);
  printf("1 thread:  slice fastest %.4f s, bare evaluations fastest %.4f s\n",
         least(t1, reps), least(tb, reps));
  printf("ratio slice/floor: %.3f fastest to fastest (target <= %.2f); "
         "paired median %.3f\n",
         fr, TARGET, mr);
  printf("2 threads: slice fastest %.4f s; speed-up over 1 thread: %.2fx "
         "fastest to fastest, paired median %.2fx\n",
         least(t2, reps), fs, ms);
  printf("ceiling: the bare evaluations split over 2 independent instances "
         "on 2 threads: %.2fx fastest to fastest\n",
         least(tb, reps) / least(ceil2, reps));
  free(ratio);
  free(speed);
  free(t1);
  free(tb);
  free(t2);
  free(ceil2);
  nnc_model_close(twin);
  nnc_model_close(m);
  return fr <= TARGET ? 0 : 1;
}
