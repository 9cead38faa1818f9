/* Crash-safe output, for real: the tools are killed with SIGKILL at seeded
 * random moments while they write plots, checkpoints and --output reports,
 * and no file under a final name is ever incomplete: every PNG ends with
 * its IEND chunk, every SVG with </svg>, every JSON report parses, every
 * checkpoint's CRC verifies through the strict reader, every data file and
 * script ends its last line. */
#include "config.h"
#include "testutil.h"
#include <nncheck/checkpoint.h>
#include <nncheck/nncheck.h>
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ends_with(const char *buf, size_t n, const void *tail, size_t k)
{
  return n >= k && !memcmp(buf + n - k, tail, k);
}

/* Checks every final-named file in dir; returns how many it checked and
 * adds the temporary files it saw to *tmps. */
static size_t verify_dir(const char *dir, size_t *tmps)
{
  static const unsigned char IEND[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D',
                                         0xae, 0x42, 0x60, 0x82};
  size_t checked = 0;
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s", dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *nm = e->d_name;
    if (nm[0] == '.' || !strcmp(nm, "ck"))
      continue;
    if (strstr(nm, ".tmp.")) {
      (*tmps)++;
      continue;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, nm);
    size_t n;
    char *buf = read_file(path, &n);
    ck_assert_msg(buf != NULL, "%s unreadable", path);
    const char *ext = strrchr(nm, '.');
    ck_assert_msg(ext, "%s: unexpected file", path);
    if (!strcmp(ext, ".png")) {
      ck_assert_msg(ends_with(buf, n, IEND, 12), "%s: no IEND (%zu bytes)",
                    path, n);
    } else if (!strcmp(ext, ".svg")) {
      while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
      ck_assert_msg(ends_with(buf, n, "</svg>", 6), "%s: no </svg>", path);
    } else if (!strcmp(ext, ".json")) {
      ck_assert_msg(n > 2 && json_valid(buf), "%s: not JSON (%zu bytes)",
                    path, n);
    } else if (!strcmp(ext, ".ckpt")) {
      nnc_checkpoint *c = NULL;
      char err[1024];
      ck_assert_msg(nnc_checkpoint_read(path, &c, err, sizeof err) == NNC_OK,
                    "%s: %s", path, err);
      nnc_checkpoint_free(c);
    } else if (!strcmp(ext, ".dat") || !strcmp(ext, ".gp")) {
      ck_assert_msg(n > 0 && buf[n - 1] == '\n', "%s: cut short (%zu bytes)",
                    path, n);
    } else {
      ck_abort_msg("%s: unexpected file", path);
    }
    free(buf);
    checked++;
  }
  closedir(d);
  return checked;
}

/* Start tools/argv[0] in its own process group, output to /dev/null. */
static void remove_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (unlink(path) != 0)
      remove_dir(path);
  }
  closedir(d);
  rmdir(dir);
}

static pid_t start(const char *const *argv)
{
  const char *dir = getenv("NNC_TOOLS_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tools", argv[0]);
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);
    int nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    dup2(nul, 2);
    execv(path, (char *const *)argv);
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

static int finish(pid_t pid)
{
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ;
  return st;
}

static uint64_t next(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

START_TEST(killed_at_random_moments_nothing_is_half_written)
{
  char *dir = make_tmpdir();
  ck_assert(dir);
  char ck[4200], cur[4200], out[4][4200];
  snprintf(ck, sizeof ck, "%s/ck", dir);
  snprintf(cur, sizeof cur, "%s/current.ckpt", dir);
  const char *names[] = {"gradcheck", "lrprobe", "sanity", "landscape"};
  for (int i = 0; i < 4; i++)
    snprintf(out[i], sizeof out[i], "%s/%s.json", dir, names[i]);
  const char *const runs[4][16] = {
      {"gradcheck", "mlp", "--sweep-h", "--plots", dir, "--json", "--output",
       out[0], NULL},
      {"lrprobe", "mlp", "--plots", dir, "--json", "--output", out[1], NULL},
      {"sanity", "mlp", "--plots", dir, "--json", "--output", out[2], NULL},
      {"landscape", "mlp", "--train", "3", "--save-checkpoints", ck, "--save",
       cur, "--plots", dir, "--json", "--output", out[3], NULL},
  };
  /* once to the end: how long each takes, and every file in place */
  double took[4];
  for (int i = 0; i < 4; i++) {
    double t0 = now_s();
    int st = finish(start(runs[i]));
    took[i] = now_s() - t0;
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %d",
                  names[i], st);
  }
  size_t tmps = 0, checked = verify_dir(dir, &tmps) + verify_dir(ck, &tmps);
  ck_assert_uint_ge(checked, 40);
  ck_assert_uint_eq(tmps, 0);
  /* then killed, again and again, at seeded moments of the same runs */
  uint64_t rng = 20261125;
  size_t interrupted = 0;
  const int kills = 16;
  for (int k = 0; k < kills; k++) {
    int i = k % 4;
    double at = took[i] * (double)(next(&rng) >> 11) / 9007199254740992.0;
    pid_t pid = start(runs[i]);
    struct timespec ts = {(time_t)at, (long)((at - (double)(time_t)at) * 1e9)};
    nanosleep(&ts, NULL);
    /* the supervisor alone (its child follows it), or the whole group
     * (supervisor, child and gnuplot at once) */
    kill(k % 2 ? -pid : pid, SIGKILL);
    int st = finish(pid);
    interrupted += WIFSIGNALED(st);
    checked += verify_dir(dir, &tmps) + verify_dir(ck, &tmps);
  }
  /* most kills landed mid-run, and some mid-file */
  ck_assert_msg(interrupted >= (size_t)kills / 2, "only %zu of %d runs "
                "interrupted", interrupted, kills);
  ck_assert_msg(tmps > 0, "no kill landed while a file was being written");
  /* and a run to the end puts everything back */
  for (int i = 0; i < 4; i++) {
    int st = finish(start(runs[i]));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", names[i]);
  }
  verify_dir(dir, &tmps);
  verify_dir(ck, &tmps);
  remove_dir(dir);
  free(dir);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("killsafe");
  TCase *tc = tcase_create("kills");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, killed_at_random_moments_nothing_is_half_written);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
