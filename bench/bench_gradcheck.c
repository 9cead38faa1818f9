/* How close gradcheck runs to its floor, how it scales on threads, and
 * what memory it needs beyond the plugin's own.
 *
 * 1. Floor.  A centered difference costs two forward evaluations per
 *    checked coordinate; everything else gradcheck does (sampling,
 *    bookkeeping, the one backward per part, the base loss) is overhead.
 *    In one run and on the same model, gradcheck's wall time (burn-in and
 *    audits off) against the time of as many bare loss evaluations at the
 *    same point, pair by pair, median ratio: for the default mode (2 per
 *    checked coordinate) and for projection mode (the evaluations its
 *    probes made).  Target <= 1.05.
 * 2. Threads.  The default check with 2 threads (coordinates on clones)
 *    against 1 thread, wall time, pair by pair; the two reports must be
 *    byte-identical.  Target >= 1.8x on 2 cores.
 * 3. Memory.  Peak RSS of a process that runs a default gradcheck against
 *    a process that only opens the model and runs loss + backward (the
 *    plugin's own footprint, the host's gradient buffers included).
 *    Target <= 1.10.
 * Exit 1 if a target is missed.
 *
 *   make bench            (or: bench/bench_gradcheck [ARGS] [REPEATS])
 */
#include "config.h"

#include <nncheck/nncheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* The median ratio gradcheck / floor over reps pairs; *evals_out and
 * *coords_out from the last run. */
static int floor_ratio(nnc_model *m, const nnc_gradcheck_opts *o, int reps,
                       int project, double *rmed, double *gmed, double *fmed,
                       size_t *evals_out, size_t *coords_out)
{
  double *ratio = malloc((size_t)reps * sizeof *ratio);
  double *tg = malloc((size_t)reps * sizeof *tg);
  double *tf = malloc((size_t)reps * sizeof *tf);
  for (int k = 0; k < reps; k++) {
    nnc_gradcheck_result *r;
    double a = now();
    int rc = nnc_gradcheck(m, o, &r);
    double g = now() - a;
    if (rc != NNC_OK || r->verdict == NNC_FAIL) {
      fprintf(stderr, "bench_gradcheck: the check itself failed: %s\n",
              r->error_msg);
      return 2;
    }
    size_t coords = 0;
    for (size_t b = 0; b < r->nblocks; b++)
      coords += r->blocks[b].checked;
    /* default mode: 2 per coordinate; projection: what its probes cost */
    size_t floor_evals = project ? r->check_evals : 2 * coords;
    *evals_out = r->check_evals;
    *coords_out = coords;
    nnc_gradcheck_free(r);
    double L;
    a = now();
    for (size_t e = 0; e < floor_evals; e++)
      nnc_model_loss(m, NULL, o->seed, NNC_F_ALL | NNC_F_TRAIN, &L);
    double f = now() - a;
    tg[k] = g;
    tf[k] = f;
    ratio[k] = g / f;
  }
  *rmed = median(ratio, reps);
  *gmed = median(tg, reps);
  *fmed = median(tf, reps);
  free(ratio);
  free(tg);
  free(tf);
  return 0;
}

/* The JSON report of a check, malloc'ed. */
static char *report_of(const nnc_gradcheck_result *r)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  nnc_gradcheck_report_json(r, f);
  fclose(f);
  return buf;
}

/* Peak RSS (KiB) of a child that opens the model and runs a default
 * gradcheck (check = 1) or only loss + backward (check = 0). */
static long child_rss(const char *args, int check)
{
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    char err[1024];
    nnc_model *m;
    if (nnc_model_load("mlp", args, &m, err, sizeof err) != NNC_OK)
      _exit(2);
    if (check) {
      nnc_gradcheck_result *r;
      int rc = nnc_gradcheck(m, NULL, &r);
      _exit(rc == NNC_OK && r->verdict != NNC_FAIL ? 0 : 2);
    }
    double L;
    if (nnc_model_loss(m, NULL, 1, NNC_F_ALL | NNC_F_TRAIN, &L) != NNC_OK ||
        nnc_model_backward(m) != NNC_OK)
      _exit(2);
    _exit(0);
  }
  int st;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
    return -1;
  return ru.ru_maxrss;
}

#define THREADS_TARGET 1.8

static void *spin(void *arg)
{
  volatile double x = 0;
  for (long i = 0; i < 100000000L; i++)
    x += 1e-9;
  (void)arg;
  return NULL;
}

/* What two threads can get on this machine right now: the same busy loop
 * on one thread, then on two at once; wall-time speed-up. */
static double two_thread_ceiling(void)
{
  double a = now();
  spin(NULL);
  double t1 = now() - a;
  pthread_t th;
  a = now();
  if (pthread_create(&th, NULL, spin, NULL) != 0)
    return 1;
  spin(NULL);
  pthread_join(th, NULL);
  double t2 = now() - a;
  return 2 * t1 / t2;
}
#define RSS_TARGET 1.10

int main(int argc, char **argv)
{
  const char *args = argc > 1 && argv[1][0] ? argv[1]
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
  int missed = 0;
  printf("gradcheck against its floor (the bare forward evaluations it "
         "needs), wall time\n");
  printf("model: mlp %s; one forward on %zu examples: %.3f ms\n", args,
         nnc_model_examples(m), 1e3 * t_fwd);
  for (int project = 0; project <= 1; project++) {
    nnc_gradcheck_opts q = o;
    q.project = project;
    double rmed, g, f;
    size_t evals, coords;
    if ((rc = floor_ratio(m, &q, reps, project, &rmed, &g, &f, &evals,
                          &coords)))
      return rc;
    int ok = rmed <= TARGET;
    missed |= !ok;
    if (project)
      printf("projection mode: %zu loss evaluations by its probes; "
             "gradcheck median %.4f s, floor %.4f s\n",
             evals, g, f);
    else
      printf("default mode: %zu checked coordinates (all blocks), %zu loss "
             "evaluations (kink retries included); gradcheck median %.4f s, "
             "floor (2 per coordinate) %.4f s\n",
             coords, evals, g, f);
    printf("ratio gradcheck/floor, %s: median %.3f over %d paired runs "
           "(target <= %.2f): %s\n",
           project ? "projection" : "default", rmed, reps, TARGET,
           ok ? "met" : "MISSED");
    printf("RESULT gradcheck_floor_%s %.4f %.2f %s\n",
           project ? "projection" : "default", rmed, TARGET,
           ok ? "PASS" : "MISS");
  }

  nnc_model_close(m);
  /* threads: 2 against 1, same bytes, on a net that stays in cache (the
   * reference network's forward streams 17 MB of weights: two clones
   * compete for memory bandwidth, not for cores) */
  {
    const char *targs = "layers=2,256,256,3 reg=1e-3";
    if (nnc_model_load("mlp", targs, &m, err, sizeof err) != NNC_OK) {
      fprintf(stderr, "bench_gradcheck: %s\n", err);
      return 2;
    }
    nnc_gradcheck_opts q = o;
    q.samples = 200;
    double ceiling = two_thread_ceiling();
    double *sp = malloc((size_t)reps * sizeof *sp);
    int same = 1;
    for (int k = 0; k < reps; k++) {
      nnc_gradcheck_result *r1, *r2;
      q.threads = 1;
      double a = now();
      nnc_gradcheck(m, &q, &r1);
      double t1 = now() - a;
      q.threads = 2;
      a = now();
      nnc_gradcheck(m, &q, &r2);
      double t2 = now() - a;
      char *j1 = report_of(r1), *j2 = report_of(r2);
      same &= j1 && j2 && !strcmp(j1, j2) && r1->error == NNC_OK;
      free(j1);
      free(j2);
      nnc_gradcheck_free(r1);
      nnc_gradcheck_free(r2);
      sp[k] = t1 / t2;
    }
    double s = median(sp, reps);
    int ok = s >= THREADS_TARGET && same;
    missed |= !ok;
    printf("threads: mlp %s, %zu coordinates per block, 2 threads against "
           "1: median speed-up %.2fx over %d pairs, reports %s (target >= "
           "%.1fx, identical): %s\n"
           "  (this machine, now: two independent threads run %.2fx as fast "
           "as one)\n",
           targs, q.samples, s, reps, same ? "byte-identical" : "DIFFER",
           THREADS_TARGET, ok ? "met" : "MISSED", ceiling);
    printf("RESULT gradcheck_threads_speedup %.3f %.2f %s\n", s,
           THREADS_TARGET, ok ? "PASS" : "MISS");
    free(sp);
    printf("RESULT machine_two_thread_ceiling %.3f - INFO\n", ceiling);
    nnc_model_close(m);
  }

  /* memory: a default check against the plugin's own footprint */
  long foot = child_rss(args, 0), chk = child_rss(args, 1);
  if (foot <= 0 || chk <= 0) {
    fprintf(stderr, "bench_gradcheck: a memory probe failed\n");
    return 2;
  }
  double rr = (double)chk / (double)foot;
  int ok = rr <= RSS_TARGET;
  missed |= !ok;
  printf("memory: peak RSS of a default gradcheck %ld KiB, of loss + "
         "backward alone %ld KiB: ratio %.3f (target <= %.2f): %s\n",
         chk, foot, rr, RSS_TARGET, ok ? "met" : "MISSED");
  printf("RESULT gradcheck_peak_rss %.4f %.2f %s\n", rr, RSS_TARGET,
         ok ? "PASS" : "MISS");
  return missed ? 1 : 0;
}
