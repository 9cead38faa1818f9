/* Hyperparameter-search throughput: the same search run by `hpsearch run`
 * with 1 and with 2 local workers (trials per minute, wall clock), and the
 * cost of the claim/checkpoint protocol (claiming, heartbeats, per-epoch
 * checkpoints, stats and result files, as each trial's timing.txt records
 * it) against the training itself, in the same run.
 *
 * Usage: bench_search HPSEARCH [TRIALS]   (make bench-search)
 * Targets: 2 workers >= 1.8x the trials per minute of 1; protocol <= 2% of
 * the training time.  Exit 1 when a target is missed. */
#include "config.h"
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }

static int run(const char *exe, const char *jobs, const char *space,
               const char *dir)
{
  pid_t p = fork();
  if (p == 0) {
    FILE *devnull = freopen("/dev/null", "w", stdout);
    (void)devnull;
    execl(exe, "hpsearch", "run", "-j", jobs, space, dir, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Sum of train_s and proto_s over dir's trials. */
static size_t timings(const char *dir, double *train, double *proto)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/trials", dir);
  DIR *d = opendir(path);
  size_t n = 0;
  *train = *proto = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (strncmp(e->d_name, "trial", 5))
      continue;
    snprintf(path, sizeof path, "%s/trials/%s/timing.txt", dir, e->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    char key[64];
    double v;
    while (fscanf(f, "%63s %lf%*[^\n]", key, &v) == 2) {
      if (!strcmp(key, "train_s"))
        *train += v;
      else if (!strcmp(key, "proto_s"))
        *proto += v;
    }
    fclose(f);
    n++;
  }
  if (d)
    closedir(d);
  return n;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: bench_search HPSEARCH [TRIALS]\n");
    return 2;
  }
  const char *exe = argv[1];
  int trials = argc > 2 ? atoi(argv[2]) : 8;
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char root[4096];
  snprintf(root, sizeof root, "%s/bench_search.XXXXXX", tmp);
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 2;
  }
  char space[4200], d1[4200], d2[4200];
  snprintf(space, sizeof space, "%s/bench.space", root);
  FILE *f = fopen(space, "w");
  if (!f)
    return 2;
  /* epochs of about a second on the spiral: 14400 training examples, two
   * hidden layers of 256 units (every trial the same size, so that two
   * workers can split the work evenly); the protocol's cost is per epoch
   * (a checkpoint, flushed to disk, and the progress files) */
  fprintf(f, "plugin mlp\nargs layers=2,256,256,3 N=6000\n"
             "seed 1\nrule momentum\nparam lr log 1e-3 1e-1\n"
             "param reg log 1e-6 1e-2\n"
             "stage only trials=%d epochs=3\n", trials);
  fclose(f);
  snprintf(d1, sizeof d1, "%s/j1", root);
  snprintf(d2, sizeof d2, "%s/j2", root);
  double t0 = now();
  int s1 = run(exe, "1", space, d1);
  double w1 = now() - t0;
  t0 = now();
  int s2 = run(exe, "2", space, d2);
  double w2 = now() - t0;
  if (s1 > 1 || s2 > 1) {
    fprintf(stderr, "bench_search: hpsearch failed (%d, %d)\n", s1, s2);
    return 2;
  }
  double train1, proto1, train2, proto2;
  size_t n1 = timings(d1, &train1, &proto1);
  size_t n2 = timings(d2, &train2, &proto2);
  double tpm1 = 60.0 * (double)n1 / w1, tpm2 = 60.0 * (double)n2 / w2;
  double speedup = tpm2 / tpm1;
  double over1 = proto1 / train1, over2 = proto2 / train2;
  double rest1 = (w1 - train1 - proto1) / train1;
  printf("bench_search: %d trials of 3 epochs (mlp 2-256-256-3, 14400 "
         "training examples), %ld online CPUs\n", trials,
         sysconf(_SC_NPROCESSORS_ONLN));
  printf("  -j1: %6.2f s wall, %6.1f trials/min\n", w1, tpm1);
  printf("  -j2: %6.2f s wall, %6.1f trials/min: %.2fx  [target >= 1.80x]\n",
         w2, tpm2, speedup);
  printf("  protocol (claims, heartbeats, checkpoints, stats, results) "
         "against training: %.2f%% with -j1, %.2f%% with -j2  [target <= "
         "2%%]\n", 100 * over1, 100 * over2);
  printf("  (the rest of -j1's wall time, process starts, plugin loading "
         "and planning: %.2f%% of training)\n", 100 * rest1);
  printf("  a trial's training took %.2fx as long with -j2 as with -j1 (1.00:"
         " each worker had a core to itself; near 2: the two shared one)\n",
         (train2 / (double)n2) / (train1 / (double)n1));
  int ok = speedup >= 1.8 && over1 <= 0.02 && over2 <= 0.02;
  printf("%s\n", ok ? "all targets met" : "a target was missed");
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_search: could not remove %s\n", root);
  return ok ? 0 : 1;
}
