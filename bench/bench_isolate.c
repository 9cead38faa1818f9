/* What isolation costs: `gradcheck mlp` with its plugin work in a
 * supervised child (fork, the shared breadcrumb record, a breadcrumb and a
 * deadline per callback, wait) against `gradcheck mlp --no-fork`, run
 * alternately, pair by pair, median of the per-pair wall-time ratios.
 * Exit 1 if it misses the target.
 *
 *   make bench-isolate   (or: bench/bench_isolate TOOL [ARGS] [PAIRS])
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench_util.h"

#define TARGET 1.25 /* a fork per run, on a run of about 10 ms */

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }

extern char **environ;

/* Run the tool to its end, output to /dev/null; its wall time. */
static double run(const char *tool, const char *args, int no_fork)
{
  const char *argv[8];
  int k = 0;
  argv[k++] = tool;
  argv[k++] = "mlp";
  if (*args) {
    argv[k++] = "--args";
    argv[k++] = args;
  }
  if (no_fork)
    argv[k++] = "--no-fork";
  argv[k] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  double t0 = now();
  pid_t pid;
  int st;
  if (posix_spawn(&pid, tool, &fa, NULL, (char *const *)argv, environ) != 0 ||
      waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
    fprintf(stderr, "bench_isolate: %s mlp failed\n", tool);
    exit(2);
  }
  double t = now() - t0;
  posix_spawn_file_actions_destroy(&fa);
  return t;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: bench_isolate TOOL [ARGS] [PAIRS]\n");
    return 2;
  }
  const char *tool = argv[1];
  const char *args = argc > 2 ? argv[2] : "";
  int pairs = argc > 3 ? atoi(argv[3]) : 41;
  if (pairs < 1)
    pairs = 1;
  double *fork_t = malloc(pairs * sizeof *fork_t),
         *self_t = malloc(pairs * sizeof *self_t),
         *ratio = malloc(pairs * sizeof *ratio);
  if (!fork_t || !self_t || !ratio)
    return 2;
  run(tool, args, 0); /* warm the page cache */
  for (int i = 0; i < pairs; i++) {
    fork_t[i] = run(tool, args, 0);
    self_t[i] = run(tool, args, 1);
    ratio[i] = fork_t[i] / self_t[i];
  }
  double r = median(ratio, pairs);
  printf("bench_isolate: gradcheck mlp '%s', %d pairs: supervised child "
         "%.2f ms, --no-fork %.2f ms (medians, %+.2f ms); median ratio "
         "%.3f (target <= %.2f)\n",
         args, pairs, 1e3 * median(fork_t, pairs), 1e3 * median(self_t, pairs),
         1e3 * (median(fork_t, pairs) - median(self_t, pairs)), r, TARGET);
  free(fork_t);
  free(self_t);
  free(ratio);
  return r <= TARGET ? 0 : 1;
}
