/* How close gradcheck runs to its floor: the bare loss evaluations it needs.
 *
 * A centered difference costs two forward evaluations per checked
 * coordinate; everything else gradcheck does (sampling, bookkeeping, the one
 * backward per part, the base loss) is overhead.  This program measures, in
 * one run and on the same model, gradcheck's wall time (burn-in off) and the
 * time of exactly as many bare loss evaluations at the same point, pair by
 * pair, and prints the median ratio.  Exit 1 if it misses the target.
 *
 *   make bench            (or: bench/bench_gradcheck [ARGS] [REPEATS])
 */
#include <nncheck/nncheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET 1.05

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
  const char *args = argc > 1 ? argv[1]
                              : "layers=1024,1024,1024,10 K=10 N=20 reg=1e-3";
  int reps = argc > 2 ? atoi(argv[2]) : 7;
  if (reps < 1)
    reps = 1;
  char err[1024];
  nnc_model *m;
  int rc = nnc_model_load("mlp", args, &m, err, sizeof err);
  if (rc != NNC_OK) {
    fprintf(stderr, "bench_gradcheck: %s\n", err);
    return 2;
  }
  nnc_gradcheck_opts o;
  nnc_gradcheck_opts_init(&o);
  o.burn_in = 0;
  o.audits = 0;       /* the target holds outside burn-in and audits */
  o.part = NNC_F_ALL; /* every evaluation the same kind: data + reg */

  /* one forward, to say what size this is */
  double L, t0 = now();
  int nf = 0;
  while (now() - t0 < 0.2 || nf < 5) {
    nnc_model_loss(m, NULL, o.seed, NNC_F_ALL | NNC_F_TRAIN, &L);
    nf++;
  }
  double t_fwd = (now() - t0) / nf;

  double *ratio = malloc((size_t)reps * sizeof *ratio);
  double *tg = malloc((size_t)reps * sizeof *tg);
  double *tf = malloc((size_t)reps * sizeof *tf);
  size_t evals = 0, coords = 0;
  for (int k = 0; k < reps; k++) {
    nnc_gradcheck_result *r;
    double a = now();
    rc = nnc_gradcheck(m, &o, &r);
    double g = now() - a;
    if (rc != NNC_OK || r->verdict == NNC_FAIL) {
      fprintf(stderr, "bench_gradcheck: the check itself failed: %s\n",
              r->error_msg);
      return 2;
    }
    evals = r->check_evals;
    coords = 0;
    for (size_t b = 0; b < r->nblocks; b++)
      coords += r->blocks[b].checked;
    nnc_gradcheck_free(r);
    /* the floor: the same number of bare evaluations at the same point */
    a = now();
    for (size_t e = 0; e < 2 * coords; e++)
      nnc_model_loss(m, NULL, o.seed, NNC_F_ALL | NNC_F_TRAIN, &L);
    double f = now() - a;
    tg[k] = g;
    tf[k] = f;
    ratio[k] = g / f;
  }
  double rmed = median(ratio, reps);
  printf("gradcheck against its floor (2 bare forward evaluations per checked "
         "coordinate)\n");
  printf("model: mlp %s; one forward on %zu examples: %.3f ms\n", args,
         nnc_model_examples(m), 1e3 * t_fwd);
  printf("checked coordinates: %zu (all blocks), loss evaluations while "
         "checking: %zu (kink retries included)\n",
         coords, evals);
  printf("gradcheck wall, burn-in off: median %.4f s; floor: median %.4f s\n",
         median(tg, reps), median(tf, reps));
  printf("ratio gradcheck/floor: median %.3f over %d paired runs (target <= "
         "%.2f): %s\n",
         rmed, reps, TARGET, rmed <= TARGET ? "met" : "MISSED");
  free(ratio);
  free(tg);
  free(tf);
  nnc_model_close(m);
  return rmed <= TARGET ? 0 : 1;
}
