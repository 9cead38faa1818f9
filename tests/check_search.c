/* The hyperparameter search and ensembles, for real: log-scale sampling
 * covers decades evenly (and a linear draw does not), the border check
 * fires on an optimum planted outside the range and not inside, the
 * planner drops diverged ends, space-file errors name their line, a worker
 * killed with SIGKILL mid-trial loses nothing and its trial completes
 * elsewhere with the same result, -j1 and -j2 give identical directories,
 * and an ensemble of differently initialised mlps beats its mean member
 * with deterministic reports. */
#include "config.h"
#include "testutil.h"
#include <nncheck/ensemble.h>
#include <nncheck/search.h>
#include <nncheck/train.h>
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HP(...) RUN("hpsearch", __VA_ARGS__)
#define ENS(...) RUN("ensemble", __VA_ARGS__)

static char *write_space(const char *dir, const char *name, const char *text)
{
  char *path = malloc(strlen(dir) + strlen(name) + 2);
  sprintf(path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static char *join(const char *a, const char *b)
{
  char *p = malloc(strlen(a) + strlen(b) + 2);
  sprintf(p, "%s/%s", a, b);
  return p;
}

static const char *tool_path(const char *tool)
{
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", getenv("NNC_TOOLS_DIR"), tool);
  return buf;
}

/* ---- sampling ------------------------------------------------------------ */

/* Counts per decade of 7000 draws over [1e-6, 1e1]; chi-square against
 * uniform with 6 degrees of freedom. */
static double decade_chi2(int scale, size_t *counts)
{
  nnc_search_space sp;
  char err[512];
  char text[256];
  snprintf(text, sizeof text,
           "plugin mlp\nparam lr %s 1e-6 1e1\nstage a trials=7000 epochs=1\n",
           scale == NNC_SCALE_LOG ? "log" : "linear");
  ck_assert_int_eq(nnc_search_space_parse(text, "t", &sp, err, sizeof err), 0);
  nnc_search_plan p;
  nnc_search_plan0(&sp, &p);
  memset(counts, 0, 7 * sizeof *counts);
  for (size_t i = 0; i < 7000; i++) {
    double v;
    nnc_search_sample(&p, 3, i, &v);
    ck_assert(v >= 1e-6 && v <= 1e1);
    int d = (int)floor(log10(v)) + 6;
    counts[d < 0 ? 0 : d > 6 ? 6 : d]++;
  }
  double chi2 = 0;
  for (int d = 0; d < 7; d++)
    chi2 += (counts[d] - 1000.0) * (counts[d] - 1000.0) / 1000.0;
  return chi2;
}

START_TEST(test_log_scale_covers_decades)
{
  size_t c[7];
  double chi2 = decade_chi2(NNC_SCALE_LOG, c);
  /* 22.46: the 0.999 quantile of chi-square with 6 degrees of freedom */
  ck_assert_msg(chi2 < 22.46, "log draws: chi2 %g", chi2);
  for (int d = 0; d < 7; d++)
    ck_assert_msg(c[d] > 880 && c[d] < 1120, "decade %d: %zu", d - 6, c[d]);
  /* the twin: a linear draw over the same range is nowhere near even */
  chi2 = decade_chi2(NNC_SCALE_LINEAR, c);
  ck_assert_msg(chi2 > 1000, "linear draws: chi2 %g", chi2);
  ck_assert(c[6] > 6000);
}
END_TEST

START_TEST(test_sampling_is_per_trial)
{
  nnc_search_space sp;
  char err[512];
  ck_assert_int_eq(nnc_search_space_parse(
                       "plugin mlp\nparam a log 1e-3 1\nparam h int 3 7\n"
                       "param b logint 10 1000\nstage s trials=4 epochs=1\n",
                       "t", &sp, err, sizeof err), 0);
  nnc_search_plan p;
  nnc_search_plan0(&sp, &p);
  double v1[3], v2[3], v3[3];
  nnc_search_sample(&p, 5, 17, v1);
  nnc_search_sample(&p, 5, 17, v2);
  nnc_search_sample(&p, 5, 18, v3);
  ck_assert(!memcmp(v1, v2, sizeof v1));
  ck_assert(v1[0] != v3[0]);
  int seen[8] = {0};
  for (size_t i = 0; i < 500; i++) {
    nnc_search_sample(&p, 5, i, v1);
    ck_assert(v1[1] == floor(v1[1]) && v1[1] >= 3 && v1[1] <= 7);
    ck_assert(v1[2] == floor(v1[2]) && v1[2] >= 10 && v1[2] <= 1000);
    seen[(int)v1[1]] = 1;
  }
  for (int h = 3; h <= 7; h++)
    ck_assert(seen[h]);
}
END_TEST

/* ---- the space file ---------------------------------------------------------- */

START_TEST(test_space_errors_name_the_line)
{
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"plugin mlp\nparam lr lgo 1 2\nstage a trials=1 epochs=1\n", "t:2: unknown scale 'lgo'"},
      {"plugin mlp\n\n# c\nparam lr log 0 1\nstage a trials=1 epochs=1\n", "t:4: lr: a log scale needs LO > 0"},
      {"plugin mlp\nparam lr log 1e-3 1\nstage a trials=0 epochs=1\n", "t:3: stage a: trials"},
      {"plugin mlp\nparam lr log 1e-3 1\nbogus 3\nstage a epochs=1 trials=2\n", "t:3: unknown statement 'bogus'"},
      {"param lr log 1e-3 1\nstage a epochs=1 trials=2\n", "no `plugin NAME` line"},
      {"plugin mlp\nargs layers=2,{h},3\nparam lr log 1e-3 1\nstage a trials=1 epochs=1\n", "{h} is not a declared parameter"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    nnc_search_space sp;
    char err[512] = "";
    ck_assert_int_eq(nnc_search_space_parse(cases[i].text, "t", &sp, err,
                                            sizeof err), NNC_EARG);
    ck_assert_msg(strstr(err, cases[i].want), "case %zu: '%s'", i, err);
  }
  /* the tool: one line, exit 2 */
  char *dir = make_tmpdir();
  char *space = write_space(dir, "bad.space", "plugin mlp\nparam lr lgo 1 2\n");
  char *sdir = join(dir, "s");
  run_result r = HP("run", space, sdir);
  ck_assert_int_eq(r.status, 2);
  ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
  ck_assert(strstr(r.err, "hpsearch: ") && strstr(r.err, "bad.space:2:"));
  run_free(&r);
  r = HP("status", sdir);
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  r = HP("frobnicate", sdir);
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  r = HP("worker", sdir);
  ck_assert_int_eq(r.status, 2);
  ck_assert(strstr(r.err, "not a search directory"));
  run_free(&r);
  r = ENS("top", sdir);
  ck_assert_int_eq(r.status, 2);
  ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
  run_free(&r);
  r = ENS("files", space);
  ck_assert_int_eq(r.status, 2);
  ck_assert(strstr(r.err, "ensemble: ") && strstr(r.err, "not an nncheck checkpoint"));
  run_free(&r);
  r = HP("--help");
  ck_assert_int_eq(r.status, 0);
  ck_assert(strstr(r.out, "Exit status") && strstr(r.out, "param lr log"));
  run_free(&r);
  free(space);
  free(sdir);
  free(dir);
}
END_TEST

/* ---- border check and planner (synthetic scores) ----------------------------- */

/* Trials of one stage whose accuracy peaks at log10(x) = opt. */
static void synth(const nnc_search_plan *p, double opt, nnc_trial *t, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    memset(&t[i], 0, sizeof t[i]);
    t[i].index = i;
    t[i].status = NNC_TRIAL_OK;
    nnc_search_sample(p, 11, i, t[i].values);
    double d = log10(t[i].values[0]) - opt;
    t[i].best_acc = exp(-d * d);
    t[i].best_loss = 1 - t[i].best_acc;
  }
}

START_TEST(test_border_planted_outside_and_inside)
{
  nnc_search_space sp;
  char err[512];
  ck_assert_int_eq(nnc_search_space_parse(
                       "plugin mlp\nparam lr log 1e-4 1e-1\n"
                       "stage a trials=40 epochs=1\nstage b trials=10 epochs=2\n",
                       "t", &sp, err, sizeof err), 0);
  nnc_search_plan p;
  nnc_search_plan0(&sp, &p);
  nnc_trial t[40];
  nnc_border_warning w[NNC_SEARCH_MAX_PARAMS];
  /* outside, above the range: 10^0.5 */
  synth(&p, 0.5, t, 40);
  size_t nw = nnc_search_border(&sp, &p, t, 40, w);
  ck_assert_uint_eq(nw, 1);
  ck_assert_str_eq(w[0].param, "lr");
  ck_assert_int_eq(w[0].upper, 1);
  ck_assert(!w[0].at_limit);
  ck_assert_double_eq_tol(w[0].new_lo, 1e-4, 1e-12);
  ck_assert(w[0].new_hi > 1e-1 * 10);  /* widened by half the width: 1.5 decades */
  char buf[512];
  nnc_border_format(&w[0], NNC_SCALE_LOG, buf, sizeof buf);
  ck_assert(strstr(buf, "upper 10%") && strstr(buf, "widen the range"));
  /* outside, below */
  synth(&p, -6, t, 40);
  nw = nnc_search_border(&sp, &p, t, 40, w);
  ck_assert_uint_eq(nw, 1);
  ck_assert_int_eq(w[0].upper, 0);
  ck_assert(w[0].new_lo < 1e-5);
  /* inside: the middle of the range in log scale */
  synth(&p, -2.5, t, 40);
  nw = nnc_search_border(&sp, &p, t, 40, w);
  ck_assert_uint_eq(nw, 0);
  /* and the next stage narrows around it */
  nnc_search_plan next;
  ck_assert_int_eq(nnc_search_plan_next(&sp, &p, t, 40, t, 40, &next, err,
                                        sizeof err), 0);
  ck_assert(next.params[0].lo > 1e-4 && next.params[0].hi < 1e-1);
  ck_assert(next.params[0].lo < pow(10, -2.5) && next.params[0].hi > pow(10, -2.5));
  ck_assert_uint_eq(next.first, 40);
  ck_assert_uint_eq(next.trials, 10);
}
END_TEST

START_TEST(test_planner_drops_diverged_end)
{
  nnc_search_space sp;
  char err[512];
  ck_assert_int_eq(nnc_search_space_parse(
                       "plugin mlp\ntopk 8\nparam lr log 1e-5 1e2\n"
                       "stage a trials=60 epochs=1\nstage b trials=10 epochs=1\n",
                       "t", &sp, err, sizeof err), 0);
  nnc_search_plan p;
  nnc_search_plan0(&sp, &p);
  nnc_trial t[60];
  /* accuracy rises with lr, and everything above 10 diverges: the best
   * trials sit just below the cliff */
  for (size_t i = 0; i < 60; i++) {
    memset(&t[i], 0, sizeof t[i]);
    t[i].index = i;
    nnc_search_sample(&p, 4, i, t[i].values);
    double x = log10(t[i].values[0]);
    if (x > 1) {
      t[i].status = NNC_TRIAL_DIVERGED;
      t[i].best_acc = t[i].best_loss = NAN;
    } else {
      t[i].status = NNC_TRIAL_OK;
      t[i].best_acc = 0.5 + 0.05 * x;
      t[i].best_loss = 1;
    }
  }
  nnc_search_plan next;
  ck_assert_int_eq(nnc_search_plan_next(&sp, &p, t, 60, t, 60, &next, err,
                                        sizeof err), 0);
  /* the top hull ends below 10; its margin would reach past 10, into the
   * bin [10^0.6, 10^2] where every trial diverged: cut */
  double best = -1e9;
  for (size_t i = 0; i < 60; i++)
    if (t[i].status == NNC_TRIAL_OK && t[i].values[0] > best)
      best = t[i].values[0];
  ck_assert_msg(next.params[0].hi <= fmax(best, pow(10, 0.6)) * 1.000001,
                "hi %g best %g", next.params[0].hi, best);
  ck_assert(next.params[0].lo > 1e-5);
}
END_TEST

/* ---- end to end ------------------------------------------------------------- */

static const char spiral_space[] =
    "# a small search on the spiral data\n"
    "plugin mlp\n"
    "args layers=2,{hidden},3 N=100\n"
    "seed 7\n"
    "rule momentum\n"
    "param lr log 1e-3 1e1\n"
    "param reg log 1e-6 1e-1\n"
    "param dropout linear 0 0.5\n"
    "param hidden logint 10 100\n"
    "stage coarse trials=8 epochs=1\n"
    "stage fine trials=4 epochs=4\n";

/* Every file of dir/trials, recursively, compared byte for byte with
 * other/trials (timing.txt aside). */
static void same_trees(const char *a, const char *b)
{
  DIR *d = opendir(a);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  size_t nfiles = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "timing.txt") ||
        !strcmp(e->d_name, "claims") || strstr(e->d_name, "slurm-") ||
        !strcmp(e->d_name, "hpsearch.sbatch"))
      continue;
    char *pa = join(a, e->d_name), *pb = join(b, e->d_name);
    struct stat st;
    ck_assert_int_eq(stat(pa, &st), 0);
    if (S_ISDIR(st.st_mode))
      same_trees(pa, pb);
    else {
      size_t la, lb;
      char *fa = read_file(pa, &la), *fb = read_file(pb, &lb);
      ck_assert_msg(fa && fb, "%s missing in one tree", pb);
      ck_assert_msg(la == lb && !memcmp(fa, fb, la), "%s differs from %s",
                    pa, pb);
      free(fa);
      free(fb);
      nfiles++;
    }
    free(pa);
    free(pb);
  }
  closedir(d);
}

START_TEST(test_same_results_j1_j2)
{
  char *dir = make_tmpdir();
  char *space = write_space(dir, "s.space", spiral_space);
  char *d1 = join(dir, "j1"), *d2 = join(dir, "j2");
  run_result r1 = HP("run", "-j", "1", "--json", space, d1);
  run_result r2 = HP("run", "-j", "2", "--json", space, d2);
  ck_assert_msg(r1.status <= 1, "%s", r1.err);
  ck_assert_msg(r2.status <= 1, "%s", r2.err);
  ck_assert_int_eq(r1.status, r2.status);
  ck_assert(json_valid(r1.out));
  ck_assert_str_eq(r1.out, r2.out);
  ck_assert(strstr(r1.out, "\"complete\": true"));
  same_trees(d1, d2);
  /* every trial has its per-epoch checkpoints, stats and result */
  char *t = join(d1, "trials/trial0009/stats.json");
  char *s = read_file(t, NULL);
  ck_assert_ptr_nonnull(s);
  ck_assert(json_valid(s));
  free(s);
  free(t);
  /* the master's plots */
  char *pd = join(dir, "plots");
  run_result rs = HP("status", "--plots", pd, d2);
  ck_assert_int_eq(rs.status, r1.status);
  ck_assert(strstr(rs.out, "best trials"));
  const char *names[] = {"hp_lr.png", "hp_reg.svg", "hp_hidden.png",
                         "hp_dropout.png", "hp_curves.png"};
  for (size_t i = 0; i < 5; i++) {
    char *f = join(pd, names[i]);
    size_t len = 0;
    char *c = read_file(f, &len);
    ck_assert_msg(c && len > 100, "%s", f);
    free(c);
    free(f);
  }
  char *gp = join(pd, "hp_lr.gp");
  char *g = read_file(gp, NULL);
  ck_assert(g && strstr(g, "set logscale x"));
  free(g);
  free(gp);
  gp = join(pd, "hp_dropout.gp");
  g = read_file(gp, NULL);
  ck_assert(g && !strstr(g, "set logscale x"));
  free(g);
  free(gp);
  run_free(&rs);
  /* ensembles: the top trials and one run, reports deterministic */
  run_result e1 = ENS("top", "--json", "-k", "4", d1);
  run_result e2 = ENS("top", "--json", "-k", "4", d2);
  ck_assert_msg(e1.status <= 1, "%s", e1.err);
  ck_assert(json_valid(e1.out));
  ck_assert_str_eq(e1.out, e2.out);
  ck_assert_uint_eq(count_of(e1.out, "\"extra\": false"), 4);
  ck_assert(strstr(e1.out, "ema-epoch")); /* the running averages beside */
  run_free(&e1);
  run_free(&e2);
  run_free(&r1);
  run_free(&r2);
  free(pd);
  free(d1);
  free(d2);
  free(space);
  free(dir);
}
END_TEST

static pid_t spawn(const char *tool, const char *const *argv)
{
  pid_t p = fork();
  if (p == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(tool_path(tool), (char *const *)argv);
    _exit(127);
  }
  return p;
}

static int exists(const char *dir, const char *rel)
{
  char *p = join(dir, rel);
  struct stat st;
  int ok = stat(p, &st) == 0;
  free(p);
  return ok;
}

START_TEST(test_sigkill_mid_trial_loses_nothing)
{
  static const char space_text[] =
      "plugin mlp\nargs layers=2,{hidden},3 N=400\nseed 3\nlease 1\n"
      "rule momentum\nparam lr log 1e-2 1\nparam hidden int 30 60\n"
      "stage only trials=3 epochs=30\n";
  char *dir = make_tmpdir();
  char *space = write_space(dir, "k.space", space_text);
  char *ref = join(dir, "ref"), *d = join(dir, "killed");
  run_result r = HP("run", space, ref);
  ck_assert_msg(r.status <= 1, "%s", r.err);
  run_free(&r);
  r = HP("init", space, d);
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  const char *argv[] = {"hpsearch", "worker", d, NULL};
  pid_t w = spawn("hpsearch", argv);
  /* wait until the worker is inside trial 0: its first epoch is written,
   * the trial is not done */
  int inside = 0;
  for (int k = 0; k < 4000 && !inside; k++) {
    inside = exists(d, "trials/trial0000/progress.txt") &&
             !exists(d, "trials/trial0000/result.txt");
    if (!inside)
      usleep(2000);
  }
  ck_assert_msg(inside, "the worker never got inside trial 0");
  kill(w, SIGKILL);
  int status;
  waitpid(w, &status, 0);
  ck_assert(WIFSIGNALED(status));
  ck_assert(!exists(d, "trials/trial0000/result.txt"));
  ck_assert(exists(d, "claims/trial0000.a0"));
  /* the master reads the half-done search */
  r = HP("status", d);
  ck_assert_int_eq(r.status, 0);
  ck_assert(strstr(r.out, "0 of 3 planned trials done"));
  run_free(&r);
  /* another worker takes the trial over once the lease ran out */
  r = HP("worker", d);
  ck_assert_msg(r.status == 0, "%s", r.err);
  run_free(&r);
  ck_assert(exists(d, "claims/trial0000.a1"));
  ck_assert(!exists(d, "claims/trial0000.a2"));
  same_trees(ref, d);
  /* nothing half-written is left, every checkpoint reads back */
  char *td = join(d, "trials/trial0000");
  run_result e = ENS("run", td);
  ck_assert_msg(e.status <= 1, "%s", e.err);
  ck_assert_uint_eq(count_of(e.out, "epoch00"), 31); /* 30 + the average */
  run_free(&e);
  DIR *dd = opendir(td);
  struct dirent *de;
  while ((de = readdir(dd)))
    ck_assert_msg(!strstr(de->d_name, ".tmp."), "left over: %s", de->d_name);
  closedir(dd);
  free(td);
  r = HP("status", "--json", d);
  run_result r2 = HP("status", "--json", ref);
  ck_assert_str_eq(r.out, r2.out);
  run_free(&r);
  run_free(&r2);
  free(ref);
  free(d);
  free(space);
  free(dir);
}
END_TEST

START_TEST(test_border_warning_end_to_end)
{
  /* momentum with learning rates below the good ones (about 0.3 to 1 on
   * the spiral): the best lr sits at the top of the range */
  static const char space_text[] =
      "plugin mlp\nseed 2\nrule momentum\nparam lr log 1e-4 1e-1\n"
      "stage only trials=12 epochs=20\n";
  char *dir = make_tmpdir();
  char *space = write_space(dir, "b.space", space_text);
  char *d = join(dir, "s");
  run_result r = HP("run", space, d);
  ck_assert_msg(r.status == 1, "status %d: %s%s", r.status, r.out, r.err);
  ck_assert_msg(strstr(r.out, "warning: stage 0: lr: ") &&
                    strstr(r.out, "upper 10%"), "%s", r.out);
  run_free(&r);
  /* sbatch writes an array script running the same worker */
  r = HP("sbatch", "-n", "3", d);
  ck_assert_int_eq(r.status, 0);
  char *sb = join(d, "hpsearch.sbatch");
  char *s = read_file(sb, NULL);
  ck_assert(s && strstr(s, "#SBATCH --array=0-2") && strstr(s, "' worker '"));
  free(s);
  free(sb);
  run_free(&r);
  free(d);
  free(space);
  free(dir);
}
END_TEST

START_TEST(test_refused_trials_fail_once)
{
  /* the plugin refuses every trial's arguments: each trial is recorded as
   * failed once (never handed out again and again), and the search ends
   * with the plugin's own message and exit 3 */
  static const char space_text[] =
      "plugin mlp\nargs layers=2,{hidden},3 N=60 nosuchkey=1\nseed 3\n"
      "lease 2\nparam lr log 1e-3 1e0\nparam hidden logint 5 20\n"
      "stage only trials=3 epochs=1\n";
  char *dir = make_tmpdir();
  char *space = write_space(dir, "f.space", space_text);
  char *d = join(dir, "s");
  run_result r = HP("run", space, d);
  ck_assert_msg(r.status == 3, "status %d: %s%s", r.status, r.out, r.err);
  ck_assert_msg(strstr(r.out, "3 failed") &&
                    strstr(r.out, "unknown argument key 'nosuchkey'"),
                "%s", r.out);
  run_free(&r);
  char *c = join(d, "claims/trial0000.a1");
  ck_assert_msg(access(c, F_OK) != 0, "trial 0 was claimed twice");
  free(c);
  free(d);
  free(space);
  free(dir);
}
END_TEST

/* ---- ensembles ------------------------------------------------------------ */

START_TEST(test_scores_are_probabilities)
{
  nnc_model *m = NULL;
  char err[1024];
  ck_assert_int_eq(nnc_model_load("mlp", "N=50", &m, err, sizeof err), 0);
  ck_assert_ptr_nonnull(nnc_model_desc(m)->scores);
  size_t idx[30];
  for (size_t i = 0; i < 30; i++)
    idx[i] = i;
  nnc_batch b = {idx, 30, NNC_SPLIT_VAL, 0};
  double p[30 * 3];
  ck_assert_int_eq(nnc_model_scores(m, &b, p), 0);
  for (size_t k = 0; k < 30; k++) {
    double s = p[3 * k] + p[3 * k + 1] + p[3 * k + 2];
    ck_assert_double_eq_tol(s, 1, 1e-12);
    ck_assert(p[3 * k] > 0 && p[3 * k + 1] > 0 && p[3 * k + 2] > 0);
  }
  /* a layer has no class probabilities */
  nnc_model *l = NULL;
  ck_assert_int_eq(nnc_model_load("relu", "", &l, err, sizeof err), 0);
  ck_assert_int_eq(nnc_model_scores(l, &b, p), NNC_EUNSUPPORTED);
  nnc_model_close(l);
  nnc_model_close(m);
}
END_TEST

START_TEST(test_ensemble_beats_mean_member)
{
  enum { K = 5 };
  nnc_model *ms[K];
  char err[1024], names[K][32];
  const char *np[K];
  for (int i = 0; i < K; i++) {
    nnc_train_opts o;
    nnc_train_opts_init(&o);
    nnc_optim_opts_init(&o.optim, NNC_RULE_MOMENTUM);
    o.optim.lr = 0.03;
    o.epochs = 5;
    o.seed = 100 + (uint64_t)i; /* and its own batches */
    o.eval_epochs = 0;
    nnc_train_log *log = NULL;
    /* a different initialization per member */
    char args[64];
    snprintf(args, sizeof args, "layers=2,100,3 N=300 init_seed=%d", i + 1);
    ck_assert_int_eq(nnc_model_load("mlp", args, &ms[i], err, sizeof err), 0);
    ck_assert_int_eq(nnc_train(ms[i], &o, &log), 0);
    ck_assert(!log->diverged);
    nnc_train_log_free(log);
    snprintf(names[i], sizeof names[i], "init %d", i + 1);
    np[i] = names[i];
  }
  nnc_ensemble *e = NULL;
  ck_assert_int_eq(nnc_ensemble_eval(ms, np, K, 0, "seeds", &e, err,
                                     sizeof err), 0);
  ck_assert_int_eq(e->method, NNC_ENS_AVERAGE);
  ck_assert_uint_eq(e->n_val, 180);
  ck_assert_msg(e->ens_acc > e->mean_acc,
                "ensemble %.4f vs mean member %.4f", e->ens_acc, e->mean_acc);
  ck_assert_double_eq(e->members[0].ens_acc, e->members[0].val_acc);
  /* deterministic reports */
  char *a = NULL, *b = NULL;
  size_t la, lb;
  FILE *f = open_memstream(&a, &la);
  nnc_ensemble_report_json(e, f);
  fclose(f);
  nnc_ensemble *e2 = NULL;
  ck_assert_int_eq(nnc_ensemble_eval(ms, np, K, 0, "seeds", &e2, err,
                                     sizeof err), 0);
  f = open_memstream(&b, &lb);
  nnc_ensemble_report_json(e2, f);
  fclose(f);
  ck_assert(json_valid(a));
  ck_assert_str_eq(a, b);
  free(a);
  free(b);
  nnc_ensemble_free(e2);
  nnc_ensemble_free(e);
  /* members that do not share a validation split are refused */
  nnc_model *other = NULL;
  ck_assert_int_eq(nnc_model_load("mlp", "N=50", &other, err, sizeof err), 0);
  nnc_model *pair[2] = {ms[0], other};
  const char *pn[2] = {"a", "b"};
  ck_assert_int_eq(nnc_ensemble_eval(pair, pn, 2, 0, "files", &e, err,
                                     sizeof err), NNC_EARG);
  ck_assert(strstr(err, "share one validation split"));
  nnc_model_close(other);
  for (int i = 0; i < K; i++)
    nnc_model_close(ms[i]);
}
END_TEST

/* A net whose scores() is wrong (rows sum to 2) or absent, built in-process
 * from the bundled mlp's own callbacks. */
static int (*real_scores)(void *, const nnc_batch *, double *, char *, size_t);
static int double_scores(void *self, const nnc_batch *b, double *out,
                         char *err, size_t errlen)
{
  int rc = real_scores(self, b, out, err, errlen);
  for (size_t k = 0; !rc && k < 3 * b->count; k++)
    out[k] *= 2;
  return rc;
}

START_TEST(test_scores_contract_and_vote)
{
  char err[1024];
  nnc_model *base = NULL;
  ck_assert_int_eq(nnc_model_load("mlp", "N=50", &base, err, sizeof err), 0);
  nnc_plugin d = *nnc_model_desc(base);
  real_scores = d.scores;
  d.scores = double_scores;
  nnc_model *bad = NULL;
  ck_assert_int_eq(nnc_model_open(&d, "N=50", &bad, err, sizeof err), 0);
  size_t idx[4] = {0, 1, 2, 3};
  nnc_batch b = {idx, 4, NNC_SPLIT_VAL, 0};
  double p[12];
  ck_assert_int_eq(nnc_model_scores(bad, &b, p), NNC_ECONTRACT);
  ck_assert(strstr(nnc_model_error(bad), "sums to"));
  ck_assert_int_eq(nnc_model_scores(base, &b, p), NNC_OK); /* the twin */
  /* without scores(): a majority vote */
  d.scores = NULL;
  nnc_model *ms[3] = {NULL, NULL, NULL};
  const char *names[3] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    char args[64];
    snprintf(args, sizeof args, "N=50 init_seed=%d", i + 1);
    ck_assert_int_eq(nnc_model_open(&d, args, &ms[i], err, sizeof err), 0);
  }
  nnc_ensemble *e = NULL;
  ck_assert_int_eq(nnc_ensemble_eval(ms, names, 3, 0, "files", &e, err,
                                     sizeof err), 0);
  ck_assert_int_eq(e->method, NNC_ENS_VOTE);
  ck_assert_double_eq(e->members[0].ens_acc, e->members[0].val_acc);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  nnc_ensemble_report_text(e, f);
  fclose(f);
  ck_assert(strstr(text, "majority vote"));
  free(text);
  nnc_ensemble_free(e);
  for (int i = 0; i < 3; i++)
    nnc_model_close(ms[i]);
  nnc_model_close(bad);
  nnc_model_close(base);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("search");
  TCase *t = tcase_create("sampling");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, test_log_scale_covers_decades);
  tcase_add_test(t, test_sampling_is_per_trial);
  tcase_add_test(t, test_space_errors_name_the_line);
  tcase_add_test(t, test_border_planted_outside_and_inside);
  tcase_add_test(t, test_planner_drops_diverged_end);
  suite_add_tcase(s, t);
  t = tcase_create("workers");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, test_same_results_j1_j2);
  tcase_add_test(t, test_sigkill_mid_trial_loses_nothing);
  tcase_add_test(t, test_border_warning_end_to_end);
  tcase_add_test(t, test_refused_trials_fail_once);
  suite_add_tcase(s, t);
  t = tcase_create("ensemble");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, test_scores_are_probabilities);
  tcase_add_test(t, test_ensemble_beats_mean_member);
  tcase_add_test(t, test_scores_contract_and_vote);
  suite_add_tcase(s, t);
  return s;
}

int main(void)
{
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_ENV);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
