/* Isolation, for real: plugins that crash, abort, exit or hang inside a
 * callback, run through every tool and through the library's own API; the
 * contract checks on parameter blocks; the same bytes with and without the
 * supervised child. */
#include "config.h"
#include "testutil.h"
#include <nncheck/isolate.h>
#include <nncheck/nncheck.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* stderr is exactly this one line */
static void one_line_is(const run_result *r, const char *line, const char *what)
{
  char want[1024];
  snprintf(want, sizeof want, "%s\n", line);
  ck_assert_msg(!strcmp(r->err, want), "%s: stderr\n%s\nwanted\n%s", what,
                r->err, want);
}

/* ---- every tool, every way of misbehaving ------------------------------------ */

static const struct {
  const char *tool, *plugin, *line;
} CRASHES[] = {
    {"gradcheck", "bug_crash_segv",
     "gradcheck: plugin crashed: SIGSEGV in backward() while auditing the "
     "contract: run with --no-fork under gdb to debug"},
    {"gradcheck", "bug_crash_coord",
     "gradcheck: plugin crashed: SIGSEGV in loss() (block W, coordinate 17) "
     "while checking gradients: run with --no-fork under gdb to debug"},
    {"gradcheck", "bug_crash_abort",
     "gradcheck: plugin crashed: SIGABRT in loss() while checking gradients: "
     "run with --no-fork under gdb to debug"},
    {"gradcheck", "bug_crash_exit",
     "gradcheck: plugin exited: loss() called exit(0) while checking "
     "gradients: a plugin reports failure by returning non-zero with a "
     "message in err, never by ending the process"},
    {"gradcheck", "bug_writes_past_grad",
     "gradcheck: plugin crashed: backward() wrote past the end of the "
     "gradient buffer of block b1 (SIGSEGV on its guard page) while auditing "
     "the contract: keep every write inside [0, count); run with --no-fork "
     "under gdb to see the write"},
    {"sanity", "bug_crash_segv",
     "sanity: plugin crashed: SIGSEGV in backward() while overfitting a tiny "
     "subset: run with --no-fork under gdb to debug"},
    {"sanity", "bug_crash_abort",
     "sanity: plugin crashed: SIGABRT in loss() while overfitting a tiny "
     "subset: run with --no-fork under gdb to debug"},
    {"sanity", "bug_crash_exit",
     "sanity: plugin exited: loss() called exit(0) while overfitting a tiny "
     "subset: a plugin reports failure by returning non-zero with a message "
     "in err, never by ending the process"},
    {"lrprobe", "bug_crash_segv",
     "lrprobe: plugin crashed: SIGSEGV in backward() while probing learning "
     "rates: run with --no-fork under gdb to debug"},
    {"lrprobe", "bug_writes_past_grad",
     "lrprobe: plugin crashed: backward() wrote past the end of the gradient "
     "buffer of block b1 (SIGSEGV on its guard page) while probing learning "
     "rates: keep every write inside [0, count); run with --no-fork under gdb "
     "to see the write"},
    {"landscape", "bug_crash_abort",
     "landscape: plugin crashed: SIGABRT in loss() while slicing the loss "
     "landscape: run with --no-fork under gdb to debug"},
    {"landscape", "bug_crash_exit",
     "landscape: plugin exited: loss() called exit(0) while slicing the loss "
     "landscape: a plugin reports failure by returning non-zero with a "
     "message in err, never by ending the process"},
};

START_TEST(each_crash_is_one_line_and_exit_3)
{
  for (size_t i = 0; i < sizeof CRASHES / sizeof *CRASHES; i++) {
    for (int s = 1; s <= 3; s++) {
      char seed[8];
      snprintf(seed, sizeof seed, "%d", s);
      run_result r = RUN(CRASHES[i].tool, CRASHES[i].plugin, "--seed", seed);
      ck_assert_msg(r.status == 3, "%s %s: exit %d\n%s", CRASHES[i].tool,
                    CRASHES[i].plugin, r.status, r.err);
      one_line_is(&r, CRASHES[i].line, CRASHES[i].plugin);
      run_free(&r);
    }
    /* the twin, through the same child, passes */
    const char *twin = twin_of(CRASHES[i].plugin);
    run_result r = RUN(CRASHES[i].tool, twin);
    ck_assert_msg(r.status == 0, "%s %s: exit %d\n%s\n%s", CRASHES[i].tool,
                  twin, r.status, r.out, r.err);
    run_free(&r);
  }
}
END_TEST

START_TEST(no_fork_runs_in_process)
{
  /* the same crash, unsupervised: the tool itself dies of the signal,
   * where a debugger would stop (under AddressSanitizer, its SEGV report
   * and exit 1 instead) */
  const char *segv[] = {"bug_crash_segv", "bug_writes_past_grad"};
  for (int i = 0; i < 2; i++) {
    run_result r = RUN("gradcheck", segv[i], "--no-fork");
    /* under AddressSanitizer: its SEGV report, then exit 1, or SIGABRT
     * with ASAN_OPTIONS=abort_on_error=1 (as CI runs it) */
    ck_assert_msg(r.status == 128 + SIGSEGV ||
                      ((r.status == 1 || r.status == 128 + SIGABRT) &&
                       strstr(r.err, "AddressSanitizer: SEGV")),
                  "%s: exit %d\n%s", segv[i], r.status, r.err);
    ck_assert_msg(!strstr(r.err, "gradcheck: "), "%s", r.err);
    run_free(&r);
  }
  run_result r;
  r = RUN("gradcheck", "bug_crash_exit", "--no-fork");
  ck_assert_int_eq(r.status, 0); /* exit(0) really ends the process */
  run_free(&r);
}
END_TEST

START_TEST(a_hang_is_killed_at_the_timeout)
{
  const char *tools[] = {"gradcheck", "sanity", "lrprobe", "landscape"};
  for (size_t t = 0; t < 4; t++) {
    double t0 = now_s();
    run_result r = RUN(tools[t], test_plugin("crash_hang"), "--timeout", "1");
    double took = now_s() - t0;
    ck_assert_msg(r.status == 3, "%s: exit %d\n%s", tools[t], r.status, r.err);
    char want[512];
    snprintf(want, sizeof want, "%s: plugin hung: loss() ran longer than 1 s",
             tools[t]);
    ck_assert_msg(!strncmp(r.err, want, strlen(want)), "%s", r.err);
    ck_assert_msg(strstr(r.err, ": raise --timeout SECONDS if it is only "
                                "slow, or run with --no-fork under gdb"),
                  "%s", r.err);
    ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
    ck_assert_msg(took < 8, "%s: %g s for a 1 s timeout", tools[t], took);
    run_free(&r);
    r = RUN(tools[t], test_plugin("crash_hang_ok"), "--timeout", "1");
    ck_assert_msg(r.status == 0, "%s: exit %d\n%s", tools[t], r.status, r.err);
    run_free(&r);
  }
  /* a timeout of 0 is no limit; a bad one is a usage error */
  run_result r = RUN("gradcheck", "mlp", "--timeout", "0");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = RUN("gradcheck", "mlp", "--timeout", "-1");
  ck_assert_int_eq(r.status, 2);
  ck_assert_msg(strstr(r.err, "--timeout"), "%s", r.err);
  run_free(&r);
}
END_TEST

/* a equals b once every "bug_crash_destroy" in a reads "ok_crash_destroy" */
static int same_but_name(const char *a, const char *b)
{
  const char *bug = "bug_crash_destroy", *ok = "ok_crash_destroy";
  while (*a || *b) {
    if (!strncmp(a, bug, strlen(bug)) && !strncmp(b, ok, strlen(ok))) {
      a += strlen(bug);
      b += strlen(ok);
      continue;
    }
    if (*a++ != *b++)
      return 0;
  }
  return 1;
}

START_TEST(the_report_written_so_far_is_kept)
{
  /* destroy() crashes after the whole report is out: it is all there, and
   * the crash is still reported */
  const char *tools[] = {"gradcheck", "sanity", "lrprobe", "landscape"};
  for (size_t t = 0; t < 4; t++) {
    run_result r = RUN(tools[t], "bug_crash_destroy", "--json");
    ck_assert_msg(r.status == 3, "%s: exit %d", tools[t], r.status);
    ck_assert_msg(json_valid(r.out), "%s: not JSON:\n%s", tools[t], r.out);
    char want[256];
    snprintf(want, sizeof want,
             "%s: plugin crashed: SIGSEGV in destroy() while closing the "
             "plugin: run with --no-fork under gdb to debug",
             tools[t]);
    one_line_is(&r, want, tools[t]);
    run_result k = RUN(tools[t], "ok_crash_destroy", "--json");
    ck_assert_int_eq(k.status, 0);
    /* the same report as the twin's, but for the name */
    ck_assert_msg(same_but_name(r.out, k.out), "%s:\n%s\n---\n%s", tools[t],
                  r.out, k.out);
    run_free(&k);
    run_free(&r);
  }
}
END_TEST

/* ---- contract checks on the blocks ------------------------------------------- */

START_TEST(blocks_that_move_or_overlap)
{
  const struct {
    const char *fixture, *words;
  } C[] = {
      {"bug_block_moves", "block 'W' moved its data to another address "
                          "after backward()"},
      {"bug_blocks_overlap", "blocks 'W' and 'b' share memory (48 bytes of "
                             "'b' lie inside 'W'): give every block its own "
                             "storage"},
  };
  const char *tools[] = {"gradcheck", "sanity", "lrprobe", "landscape"};
  for (size_t i = 0; i < 2; i++)
    for (size_t t = 0; t < 4; t++) {
      run_result r = RUN(tools[t], C[i].fixture);
      ck_assert_msg(r.status == 3, "%s %s: exit %d", tools[t], C[i].fixture,
                    r.status);
      ck_assert_msg(strstr(r.err, C[i].words), "%s: %s", tools[t], r.err);
      ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
      run_free(&r);
      r = RUN(tools[t], twin_of(C[i].fixture));
      ck_assert_msg(r.status == 0, "%s %s: exit %d\n%s", tools[t],
                    twin_of(C[i].fixture), r.status, r.err);
      run_free(&r);
    }
  /* a block without data, and a gradient with a NaN, named by block (and
   * index) under every tool */
  for (size_t t = 0; t < 4; t++) {
    run_result r = RUN(tools[t], test_plugin("null_data"));
    ck_assert_msg(r.status == 3, "%s: exit %d", tools[t], r.status);
    ck_assert_msg(strstr(r.err, "block 'b' has no data: set data to the "
                                "parameter values"),
                  "%s", r.err);
    run_free(&r);
  }
  const char *grad_tools[] = {"gradcheck", "lrprobe", "landscape"};
  for (size_t t = 0; t < 3; t++) {
    run_result r = RUN(grad_tools[t], test_plugin("nan_grad"));
    ck_assert_msg(r.status == 3, "%s: exit %d", grad_tools[t], r.status);
    ck_assert_msg(strstr(r.err, "block 'w' at index 1"), "%s: %s",
                  grad_tools[t], r.err);
    run_free(&r);
  }
}
END_TEST

START_TEST(descriptors_that_lie_about_their_size)
{
  const struct {
    const char *plugin, *words;
  } L[] = {
      {"tiny_size", "descriptor size 16 is impossible for ABI version 1"},
      {"huge_size", "descriptor size 1048576 is impossible for ABI version 1"},
  };
  const char *tools[] = {"gradcheck", "sanity", "lrprobe", "landscape"};
  for (size_t i = 0; i < 2; i++)
    for (size_t t = 0; t < 4; t++) {
      run_result r = RUN(tools[t], test_plugin(L[i].plugin));
      ck_assert_msg(r.status == 2, "%s %s: exit %d", tools[t], L[i].plugin,
                    r.status);
      ck_assert_msg(strstr(r.err, L[i].words) &&
                        strstr(r.err, "set .size = sizeof(nnc_plugin)"),
                    "%s", r.err);
      ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
      run_free(&r);
    }
}
END_TEST

/* ---- determinism across runs and across the two modes ------------------------- */

START_TEST(same_seed_same_bytes_forked_or_not)
{
  const char *tools[] = {"gradcheck", "sanity", "lrprobe"};
  const char *plugins[] = {"mlp", "mlp_dropout", "bug_l2_factor2"};
  for (size_t t = 0; t < 3; t++)
    for (size_t p = 0; p < 3; p++)
      for (int json = 0; json < 2; json++) {
        const char *fmt = json ? "--json" : "--seed";
        const char *fv = json ? "--seed" : "5";
        const char *sv = json ? "5" : NULL;
        run_result a = json ? RUN(tools[t], plugins[p], fmt, fv, sv)
                            : RUN(tools[t], plugins[p], fmt, fv);
        run_result b = json ? RUN(tools[t], plugins[p], fmt, fv, sv)
                            : RUN(tools[t], plugins[p], fmt, fv);
        run_result c = json ? RUN(tools[t], plugins[p], fmt, fv, sv,
                                  "--no-fork")
                            : RUN(tools[t], plugins[p], fmt, fv, "--no-fork");
        ck_assert_msg(strlen(a.out) > 100, "%s %s: %s", tools[t], plugins[p],
                      a.err);
        ck_assert_msg(!strcmp(a.out, b.out), "%s %s: two runs differ",
                      tools[t], plugins[p]);
        ck_assert_msg(!strcmp(a.out, c.out), "%s %s: --no-fork differs",
                      tools[t], plugins[p]);
        ck_assert_int_eq(a.status, c.status);
        ck_assert_str_eq(a.err, c.err);
        if (json)
          ck_assert(json_valid(a.out));
        run_free(&a);
        run_free(&b);
        run_free(&c);
      }
}
END_TEST

/* ---- the library's own API ------------------------------------------------------- */

static const char *fixture_path(const char *name)
{
  static char path[4096];
  const char *b = getenv("NNC_BUILDDIR");
  snprintf(path, sizeof path, "%s/fixtures/.libs/%s.so", b && *b ? b : ".",
           name);
  return path;
}

static int check_fixture(void *arg)
{
  nnc_model *m;
  char err[1024];
  if (nnc_model_load(fixture_path(arg), "", &m, err, sizeof err))
    return 2;
  nnc_gradcheck_result *res = NULL;
  nnc_gradcheck(m, NULL, &res);
  int st = nnc_gradcheck_exit_status(res);
  nnc_gradcheck_free(res);
  nnc_model_close(m);
  return st;
}

static int returns_7(void *arg)
{
  (void)arg;
  return 7;
}

static int exits_5(void *arg)
{
  (void)arg;
  exit(5); /* outside any plugin callback: the program's own decision */
}

START_TEST(library_runs_a_function_in_a_supervised_child)
{
  nnc_isolate_opts o;
  nnc_isolate_opts_init(&o);
  ck_assert(o.timeout == NNC_ISOLATE_TIMEOUT && !o.no_fork);
  int status;
  nnc_crash c;
  ck_assert_int_eq(nnc_isolate_run(check_fixture, "bug_crash_segv", &o,
                                   &status, &c), NNC_OK);
  ck_assert_int_eq(status, NNC_EXIT_PLUGIN);
  ck_assert_int_eq(c.kind, NNC_CRASH_SIGNAL);
  ck_assert_int_eq(c.signo, SIGSEGV);
  ck_assert_int_eq(c.in_callback, 1);
  ck_assert_str_eq(c.callback, "backward");
  ck_assert_str_eq(c.plugin, "bug_crash_segv");
  ck_assert_str_eq(c.phase, "auditing the contract");
  ck_assert_str_eq(c.text, "plugin crashed: SIGSEGV in backward() while "
                           "auditing the contract");
  ck_assert_int_eq(nnc_isolate_run(check_fixture, "bug_crash_coord", &o,
                                   &status, &c), NNC_OK);
  ck_assert_str_eq(c.block, "W");
  ck_assert_int_eq(c.coord, 17);
  ck_assert_int_eq(nnc_isolate_run(check_fixture, "bug_writes_past_grad", &o,
                                   &status, &c), NNC_OK);
  ck_assert_int_eq(c.kind, NNC_CRASH_GUARD);
  ck_assert_str_eq(c.guard_block, "b1");
  ck_assert_int_eq(c.guard_before, 0);
  ck_assert_int_eq(nnc_isolate_run(check_fixture, "ok_crash_segv", &o,
                                   &status, &c), NNC_OK);
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(c.kind, NNC_CRASH_NONE);
  ck_assert_int_eq(nnc_isolate_run(returns_7, NULL, &o, &status, &c), NNC_OK);
  ck_assert_int_eq(status, 7);
  ck_assert_int_eq(nnc_isolate_run(exits_5, NULL, &o, &status, &c), NNC_OK);
  ck_assert_int_eq(status, 5);
  ck_assert_int_eq(c.kind, NNC_CRASH_NONE);
  /* no_fork: in this process, and isolation is over afterwards */
  o.no_fork = 1;
  ck_assert_int_eq(nnc_isolate_run(returns_7, NULL, &o, &status, &c), NNC_OK);
  ck_assert_int_eq(status, 7);
  ck_assert_int_eq(nnc_isolate_active(), 0);
  ck_assert_int_eq(nnc_isolate_run(check_fixture, "ok_crash_segv", &o,
                                   &status, &c), NNC_OK);
  ck_assert_int_eq(status, 0);
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"crashes", each_crash_is_one_line_and_exit_3},
      {"no_fork", no_fork_runs_in_process},
      {"timeout", a_hang_is_killed_at_the_timeout},
      {"partial_report", the_report_written_so_far_is_kept},
      {"blocks", blocks_that_move_or_overlap},
      {"descriptor_size", descriptors_that_lie_about_their_size},
      {"determinism", same_seed_same_bytes_forked_or_not},
      {"library", library_runs_a_function_in_a_supervised_child},
  };
  return run_cases("isolate", cases, sizeof cases / sizeof *cases, 600,
                   CK_NORMAL);
}
