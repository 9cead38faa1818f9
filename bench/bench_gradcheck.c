/* How close gradcheck runs to its floor, how it scales on threads, and
 * what memory it needs beyond the plugin's own.
 *
 * 1. Floor.  A centered difference costs two forward evaluations per
 *    checked coordinate; everything else gradcheck does (sampling,
 *    bookkeeping, the one backward per part, the base loss) is overhead.
 *    In one run and on the same model, gradcheck's time (burn-in and
 *    audits off) against the time of as many bare loss evaluations at the
 *    same point, pair by pair, median ratio: for the default mode (2 per
 *    checked coordinate) and for projection mode (the evaluations its
 *    probes made).  Target <= 1.05.  Times are the process's CPU time:
 *    everything runs on one thread (one check thread, OpenBLAS on one),
 *    and on a shared machine the time spent waiting for a core is not the
 *    check's; the wall-time ratios are printed beside them.
 *    Projection mode, second floor: a probe must also move every
 *    coordinate of its block, to x0 + t v before one evaluation and to
 *    x0 - t v before the other, and on the reference net (a forward on 3
 *    examples reads its 17 MB of weights and little else) writing a 1M
 *    coordinate block costs about as much as an evaluation.  The minimal
 *    moves: before each evaluation a probe made, one streaming write of the
 *    probed block from a saved copy of it (memcpy into the plugin's own
 *    buffer: every byte read once and written once, the least any
 *    perturbation of every coordinate can move), interleaved with the
 *    evaluations as in the check, so that both evict each other from the
 *    caches as they do there.  The schedule is the check's own: per block,
 *    the evaluations its projection entries cost (kink retries and
 *    Richardson halvings included); evaluations no entry accounts for
 *    (bisection, coordinate checks) run without moves, which lowers this
 *    floor, never raises it.  Ratio gradcheck / (evaluations + minimal
 *    moves), same pairing and median.  Target <= 1.05.
 *    Both ratios once more, as information, on the same net checked on
 *    256 examples (more data points per class, so that there are 256 to
 *    check): a forward is then bound by its arithmetic and the moves are
 *    small against it.
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

#include "bench_util.h"

#define TARGET 1.05

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }

/* CPU time of the process, seconds. */
static double cpu_now(void)
{
  return bench_clock(CLOCK_PROCESS_CPUTIME_ID);
}

/* What floor_ratio measured: medians over the pairs, CPU time. */
typedef struct floors {
  double ratio;       /* gradcheck / evaluations */
  double ratio_moves; /* gradcheck / (evaluations + minimal moves);
                         projection mode only */
  double wall;        /* gradcheck / evaluations, wall time */
  double wall_moves;  /* gradcheck / (evaluations + minimal moves), wall */
  double t_check;     /* gradcheck, s */
  double t_evals;     /* the bare evaluations, s */
  double t_moves;     /* the evaluations with the minimal moves, s */
  size_t evals;       /* loss evaluations the check made (last run) */
  size_t coords;      /* coordinates it checked (last run) */
  size_t moved;       /* bytes the minimal moves write per check */
} floors;

/* The evaluations of a projection check r, each preceded by its minimal
 * move (see the top of this file); the blocks must hold the values
 * saved[] holds.  Returns the bytes moved. */
static size_t evals_with_moves(nnc_model *m, const nnc_gradcheck_result *r,
                               void *const *saved, uint64_t seed)
{
  double L;
  size_t done = 0, moved = 0;
  for (size_t q = 0; q < r->nblocks; q++) {
    const nnc_gc_block *gb = &r->blocks[q];
    long b = nnc_model_find_block(m, gb->name);
    if (b < 0)
      continue;
    const nnc_block *blk = nnc_model_block(m, (size_t)b);
    size_t bytes = blk->count * (blk->dtype == NNC_F32 ? 4 : 8);
    for (size_t i = 0; i < gb->ncoords; i++) {
      const nnc_gc_coord *e = &gb->coords[i];
      if (!(e->flags & NNC_GC_PROJECTION))
        continue;
      for (uint32_t k = 0; k < e->evals; k++) {
        memcpy(blk->data, saved[b], bytes);
        nnc_model_loss(m, NULL, seed, NNC_F_ALL | NNC_F_TRAIN, &L);
      }
      done += e->evals;
      moved += e->evals * bytes;
    }
  }
  for (; done < r->check_evals; done++)
    nnc_model_loss(m, NULL, seed, NNC_F_ALL | NNC_F_TRAIN, &L);
  return moved;
}

/* The median ratios gradcheck / floor over reps pairs (triples in
 * projection mode: the check, its bare evaluations, its evaluations with
 * the minimal moves). */
static int floor_ratio(nnc_model *m, const nnc_gradcheck_opts *o, int reps,
                       floors *out)
{
  int project = o->project;
  size_t nb = 0;
  while (nnc_model_block(m, nb))
    nb++;
  /* per pair: 0 gradcheck / evaluations, 1 gradcheck / (evaluations +
   * moves), 2 and 3 the same in wall time, 4..6 the CPU times of the
   * check, the evaluations, the evaluations with the moves */
  double *v[7];
  for (int j = 0; j < 7; j++)
    v[j] = calloc((size_t)reps, sizeof *v[j]);
  void **saved = calloc(nb, sizeof *saved);
  if (!v[0] || !v[1] || !v[2] || !v[3] || !v[4] || !v[5] || !v[6] ||
      !saved) {
    fprintf(stderr, "bench_gradcheck: out of memory\n");
    return 2;
  }
  for (size_t b = 0; project && b < nb; b++) {
    const nnc_block *blk = nnc_model_block(m, b);
    if (!(saved[b] = malloc(blk->count * (blk->dtype == NNC_F32 ? 4 : 8)))) {
      fprintf(stderr, "bench_gradcheck: out of memory\n");
      return 2;
    }
  }
  memset(out, 0, sizeof *out);
  for (int k = 0; k < reps; k++) {
    nnc_gradcheck_result *r;
    double a = cpu_now(), aw = now();
    int rc = nnc_gradcheck(m, o, &r);
    double g = cpu_now() - a, gw = now() - aw;
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
    out->evals = r->check_evals;
    out->coords = coords;
    double L;
    a = cpu_now();
    aw = now();
    for (size_t e = 0; e < floor_evals; e++)
      nnc_model_loss(m, NULL, o->seed, NNC_F_ALL | NNC_F_TRAIN, &L);
    double f = cpu_now() - a, fw = now() - aw;
    v[0][k] = g / f;
    v[2][k] = gw / fw;
    v[4][k] = g;
    v[5][k] = f;
    if (project) {
      /* the copies the moves write from: the values the check left (it
       * leaves them as it found them), taken outside the timing */
      for (size_t b = 0; b < nb; b++) {
        const nnc_block *blk = nnc_model_block(m, b);
        memcpy(saved[b], blk->data,
               blk->count * (blk->dtype == NNC_F32 ? 4 : 8));
      }
      a = cpu_now();
      aw = now();
      out->moved = evals_with_moves(m, r, saved, o->seed);
      double t = cpu_now() - a, tw = now() - aw;
      v[1][k] = g / t;
      v[3][k] = gw / tw;
      v[6][k] = t;
    }
    nnc_gradcheck_free(r);
  }
  out->ratio = median(v[0], reps);
  out->ratio_moves = median(v[1], reps);
  out->wall = median(v[2], reps);
  out->wall_moves = median(v[3], reps);
  out->t_check = median(v[4], reps);
  out->t_evals = median(v[5], reps);
  out->t_moves = median(v[6], reps);
  for (size_t b = 0; b < nb; b++)
    free(saved[b]);
  free(saved);
  for (int j = 0; j < 7; j++)
    free(v[j]);
  return 0;
}

/* One forward on the examples the model has selected, CPU seconds. */
static double forward_time(nnc_model *m, uint64_t seed)
{
  double L, t0 = cpu_now();
  int nf = 0;
  while (cpu_now() - t0 < 0.2 || nf < 5) {
    nnc_model_loss(m, NULL, seed, NNC_F_ALL | NNC_F_TRAIN, &L);
    nf++;
  }
  return (cpu_now() - t0) / nf;
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
  double t_fwd = forward_time(m, o.seed);
  int missed = 0;
  printf("gradcheck against its floor (the bare forward evaluations it "
         "needs), CPU time (wall-time ratios beside)\n");
  printf("model: mlp %s; one forward on %zu examples: %.3f ms\n", args,
         nnc_model_examples(m), 1e3 * t_fwd);
  for (int project = 0; project <= 1; project++) {
    nnc_gradcheck_opts q = o;
    q.project = project;
    floors fl;
    if ((rc = floor_ratio(m, &q, reps, &fl)))
      return rc;
    int ok = fl.ratio <= TARGET;
    missed |= !ok;
    if (project)
      printf("projection mode: %zu loss evaluations by its probes; "
             "gradcheck median %.4f s, floor %.4f s\n",
             fl.evals, fl.t_check, fl.t_evals);
    else
      printf("default mode: %zu checked coordinates (all blocks), %zu loss "
             "evaluations (kink retries included); gradcheck median %.4f s, "
             "floor (2 per coordinate) %.4f s\n",
             fl.coords, fl.evals, fl.t_check, fl.t_evals);
    printf("ratio gradcheck/floor, %s: median %.3f over %d paired runs "
           "(wall %.3f) (target <= %.2f): %s\n",
           project ? "projection" : "default", fl.ratio, reps, fl.wall,
           TARGET, ok ? "met" : "MISSED");
    printf("RESULT gradcheck_floor_%s %.4f %.2f %s\n",
           project ? "projection" : "default", fl.ratio, TARGET,
           ok ? "PASS" : "MISS");
    if (!project)
      continue;
    ok = fl.ratio_moves <= TARGET;
    missed |= !ok;
    printf("projection mode, floor with the minimal moves (one streaming "
           "write of the probed block from a saved copy before each "
           "evaluation, %.1f MB per check): %.4f s, of which the moves "
           "%.4f s\n",
           fl.moved / 1e6, fl.t_moves, fl.t_moves - fl.t_evals);
    printf("ratio gradcheck/(evaluations + minimal moves), projection: "
           "median %.3f over %d paired runs (wall %.3f) (target <= %.2f): "
           "%s\n",
           fl.ratio_moves, reps, fl.wall_moves, TARGET,
           ok ? "met" : "MISSED");
    printf("RESULT gradcheck_floor_projection_moves %.4f %.2f %s\n",
           fl.ratio_moves, TARGET, ok ? "PASS" : "MISS");
  }
  nnc_model_close(m);

  /* projection mode where a forward is bound by its arithmetic: the same
   * net checked on 256 examples (N = 40 points per class give 320
   * training examples to draw them from) */
  {
    const char *cargs = "layers=1024,1024,1024,10 K=10 N=40 reg=1e-3";
    if (nnc_model_load("mlp", cargs, &m, err, sizeof err) != NNC_OK) {
      fprintf(stderr, "bench_gradcheck: %s\n", err);
      return 2;
    }
    nnc_gradcheck_opts q = o;
    q.project = 1;
    q.examples = 256;
    int creps = reps < 3 ? reps : 3; /* a check takes seconds here */
    floors fl;
    if ((rc = floor_ratio(m, &q, creps, &fl)))
      return rc;
    printf("projection mode, compute-bound: mlp %s on %zu examples, one "
           "forward %.3f ms; %zu loss evaluations; gradcheck median %.3f s; "
           "ratio gradcheck/evaluations %.3f, gradcheck/(evaluations + "
           "minimal moves) %.3f, medians over %d runs (wall %.3f, %.3f)\n",
           cargs, nnc_model_examples(m), 1e3 * forward_time(m, o.seed),
           fl.evals, fl.t_check, fl.ratio, fl.ratio_moves, creps, fl.wall,
           fl.wall_moves);
    printf("RESULT gradcheck_floor_project_256ex %.4f - INFO\n", fl.ratio);
    printf("RESULT gradcheck_floor_project_moves_256ex %.4f - INFO\n",
           fl.ratio_moves);
    nnc_model_close(m);
  }

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
