/* The conventions every tool keeps, and CI baselines:
 *  - the strict JSON reader refuses malformed input, naming line and column;
 *  - baselines (the library): the factor and floor rule at its edges,
 *    FAIL after PASS, missing entries, notes, wrong tool or schema, atomic
 *    writes;
 *  - baselines (the tools, for real): a degraded plugin fails against the
 *    baseline of its correct version and passes against its own; a missing
 *    or malformed baseline is one line and exit 2;
 *  - --quiet, --verbose, --color (always, never, auto on a terminal and on
 *    a pipe, NO_COLOR), --version, the renamed options' old spellings;
 *  - the same for babysit, hpsearch and ensemble, and their isolation: a
 *    plugin that crashes in training is one line and exit 3, its correct
 *    twin passes, and a crashed search worker leaves a directory the
 *    master still reads;
 *  - every JSON report carries its schema, and doc/json-schema.md lists
 *    every top-level key each tool emits. */
#include "config.h"
#include "jsonread.h"
#include "testutil.h"
#include <check.h>
#include <nncheck/baseline.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the JSON reader ------------------------------------------------------ */

START_TEST(json_reader_reads_valid_json)
{
  static const char *const text =
      " {\"a\": [1, -0, 2.5e-3, 1E5, true, false, null],\n"
      "  \"s\": \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\n"
      "  \"o\": {}, \"e\": [], \"u\": \"\xc3\xa9\"} ";
  nnci_jv *v;
  char err[256];
  ck_assert_msg(nnci_json_parse(text, strlen(text), &v, err, sizeof err) == 0,
                "%s", err);
  ck_assert_int_eq(v->type, NNCI_JOBJ);
  ck_assert_uint_eq(v->n, 5);
  const nnci_jv *a = nnci_json_get(v, "a");
  ck_assert_int_eq(a->type, NNCI_JARR);
  ck_assert_uint_eq(a->n, 7);
  ck_assert(a->items[0].num == 1 && a->items[2].num == 2.5e-3 &&
            a->items[3].num == 1e5);
  ck_assert(signbit(a->items[1].num));
  ck_assert(a->items[4].type == NNCI_JBOOL && a->items[4].b == 1);
  ck_assert(a->items[5].type == NNCI_JBOOL && a->items[5].b == 0);
  ck_assert_int_eq(a->items[6].type, NNCI_JNULL);
  ck_assert_str_eq(nnci_json_get_str(v, "s"),
                   "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  ck_assert_str_eq(nnci_json_get_str(v, "u"), "\xc3\xa9");
  ck_assert_uint_eq(nnci_json_get(v, "o")->n, 0);
  ck_assert_ptr_null(nnci_json_get(v, "missing"));
  nnci_json_free(v);

  /* nesting: 64 levels are read, 65 refused */
  char deep[200];
  for (int d = 64; d <= 65; d++) {
    memset(deep, '[', (size_t)d);
    memset(deep + d, ']', (size_t)d);
    int rc = nnci_json_parse(deep, 2 * (size_t)d, &v, err, sizeof err);
    ck_assert_msg(d == 64 ? rc == 0 : rc != 0, "depth %d: rc %d %s", d, rc,
                  err);
    nnci_json_free(v);
  }
}
END_TEST

START_TEST(json_reader_refuses_malformed_input)
{
  static const struct {
    const char *text;
    const char *why; /* a word the message must contain */
  } bad[] = {
      {"", "empty"},
      {"   \n ", "empty"},
      {"{", "a string key"},
      {"[1,]", "trailing comma"},
      {"{\"a\":1,}", "trailing comma"},
      {"[1,,2]", "a value"},
      {"[1 2]", "',' or ']'"},
      {"{\"a\" 1}", "':'"},
      {"{a:1}", "a string key"},
      {"{\"a\":1,\"a\":2}", "duplicate key"},
      {"01", "leading zero"},
      {"1.", "decimal point"},
      {".5", "a value"},
      {"+1", "a value"},
      {"1e", "exponent"},
      {"-", "a digit"},
      {"1e999", "out of the range"},
      {"NaN", "a value"},
      {"Infinity", "a value"},
      {"tru", "a value"},
      {"nul", "a value"},
      {"'a'", "a value"},
      {"\"abc", "never closed"},
      {"[1, 2", "never closed"},
      {"\"a\\x\"", "invalid escape"},
      {"\"\\u12\"", "hex digits"},
      {"\"\\ud800\"", "low half"},
      {"\"\\ud800\\u0041\"", "low half"},
      {"\"\\udc00\"", "lone low surrogate"},
      {"\"\\u0000\"", "\\u0000"},
      {"\"a\tb\"", "control character"},
      {"\"\xff\"", "UTF-8"},
      {"\"\xc0\xaf\"", "UTF-8"},
      {"\"\xed\xa0\x80\"", "UTF-8"},
      {"\"\xe2\x82\"", "UTF-8"},
      {"{\"a\":1}x", "after the JSON value"},
      {"1 2", "after the JSON value"},
      {"// c\n1", "a value"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    nnci_jv *v = (nnci_jv *)1;
    char err[256] = "";
    int rc = nnci_json_parse(bad[i].text, strlen(bad[i].text), &v, err,
                             sizeof err);
    ck_assert_msg(rc != 0, "case %zu (%s) was accepted", i, bad[i].text);
    ck_assert_msg(v == NULL, "case %zu: *out not NULL", i);
    ck_assert_msg(!strncmp(err, "line ", 5) && strstr(err, ", column "),
                  "case %zu: no line and column: %s", i, err);
    ck_assert_msg(strstr(err, bad[i].why), "case %zu (%s): '%s' not in: %s", i,
                  bad[i].text, bad[i].why, err);
  }
  /* the position is the offending byte's */
  nnci_jv *v;
  char err[256];
  const char *t = "{\n  \"a\": [1,\n        x]}";
  ck_assert(nnci_json_parse(t, strlen(t), &v, err, sizeof err) != 0);
  ck_assert_msg(!strncmp(err, "line 3, column 9:", 17), "%s", err);
}
END_TEST

/* ---- baselines in the library ------------------------------------------- */

/* A minimal gradcheck report: blocks "name:verdict:band:relerr,...". */
static char *grad_report(const char *verdict, const char *const *blocks)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fprintf(f, "{\"schema\": \"nncheck-gradcheck/1\", \"tool\": \"gradcheck\", "
             "\"plugin\": \"p\", \"args\": \"\", \"seed\": 1, \"blocks\": [");
  for (size_t i = 0; blocks[i]; i++) {
    char name[64], verd[16], band[32];
    double re;
    ck_assert(sscanf(blocks[i], "%63[^:]:%15[^:]:%31[^:]:%lf", name, verd,
                     band, &re) == 4);
    fprintf(f, "%s{\"part\": \"data\", \"block\": \"%s\", \"verdict\": \"%s\", "
               "\"coords\": [{\"relerr\": %.17g, \"band\": \"%s\"}, "
               "{\"relerr\": 0.5, \"band\": \"within round-off\"}]}",
            i ? ", " : "", name, verd, re, band);
  }
  fprintf(f, "], \"audits\": [{\"name\": \"overwrite\", \"verdict\": \"%s\"}], "
             "\"error\": null, \"verdict\": \"%s\"}",
          strcmp(verdict, "ERROR") ? "PASS" : "SKIP", verdict);
  fclose(f);
  return buf;
}

static nnc_baseline_result *compare(const char *base, const char *cur,
                                    double factor, double floor_)
{
  nnc_baseline_opts o;
  nnc_baseline_opts_init(&o);
  ck_assert(o.factor == 10 && o.floor == 1e-10);
  if (factor > 0)
    o.factor = factor;
  if (floor_ >= 0)
    o.floor = floor_;
  nnc_baseline_result *r = NULL;
  char err[512];
  int rc = nnc_baseline_compare(base, strlen(base), cur, strlen(cur), &o, &r,
                                err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  return r;
}

static int regressed(const nnc_baseline_result *r, const char *name,
                     uint32_t kind)
{
  for (size_t i = 0; i < r->nfindings; i++)
    if (strstr(r->findings[i].name, name) && r->findings[i].kind == kind)
      return r->findings[i].regression;
  return -1;
}

START_TEST(baseline_factor_and_floor_at_their_edges)
{
  char *base = grad_report("PASS", (const char *const[]){
                                       "W1:PASS:happy:1e-8",
                                       "b1:PASS:happy:1e-12", NULL});
  /* W1 may grow to 10 x 1e-8; b1 (below the floor) to 10 x 1e-10 */
  struct {
    double w1, b1;
    int w1_bad, b1_bad;
  } cases[] = {
      {9.9e-8, 9.9e-10, 0, 0},
      {1.01e-7, 9.9e-10, 1, 0},
      {9.9e-8, 1.01e-9, 0, 1},
      {1e-3, 1e-3, 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char w1[64], b1[64];
    snprintf(w1, sizeof w1, "W1:PASS:ok:%.17g", cases[i].w1);
    snprintf(b1, sizeof b1, "b1:PASS:ok:%.17g", cases[i].b1);
    char *cur = grad_report("PASS", (const char *const[]){w1, b1, NULL});
    nnc_baseline_result *r = compare(base, cur, -1, -1);
    ck_assert_msg((regressed(r, "block W1", NNC_BL_GREW) == 1) == cases[i].w1_bad,
                  "case %zu: W1", i);
    ck_assert_msg((regressed(r, "block b1", NNC_BL_GREW) == 1) == cases[i].b1_bad,
                  "case %zu: b1", i);
    ck_assert_uint_eq(r->regressions,
                      (size_t)(cases[i].w1_bad + cases[i].b1_bad));
    ck_assert_int_eq(nnc_baseline_exit_status(r), r->regressions ? 1 : 0);
    ck_assert_uint_eq(r->compared, 3);
    nnc_baseline_free(r);
    free(cur);
  }
  /* the factor and the floor are options */
  char *cur = grad_report("PASS", (const char *const[]){
                                      "W1:PASS:ok:5e-8", "b1:PASS:ok:5e-8",
                                      NULL});
  nnc_baseline_result *r = compare(base, cur, 4, 1e-8);
  ck_assert_int_eq(regressed(r, "block W1", NNC_BL_GREW), 1); /* 5 > 4 */
  ck_assert_int_eq(regressed(r, "block b1", NNC_BL_GREW), 1); /* 5e-8 > 4e-8 */
  nnc_baseline_free(r);
  r = compare(base, cur, 6, 1e-8);
  ck_assert_uint_eq(r->regressions, 0);
  nnc_baseline_free(r);
  free(cur);
  /* excused coordinates (the 0.5 within round-off) never count */
  cur = grad_report("PASS", (const char *const[]){"W1:PASS:within round-off:0.9",
                                                  "b1:PASS:happy:1e-12", NULL});
  r = compare(base, cur, -1, -1);
  ck_assert_uint_eq(r->regressions, 0);
  nnc_baseline_free(r);
  free(cur);
  free(base);
}
END_TEST

START_TEST(baseline_fails_missing_notes_and_refusals)
{
  char *base = grad_report("PASS", (const char *const[]){
                                       "W1:PASS:happy:1e-8",
                                       "W2:FAIL:wrong:0.5",
                                       "b1:PASS:happy:1e-8", NULL});
  char *cur = grad_report("FAIL", (const char *const[]){
                                      "W1:FAIL:wrong:0.4", "W2:FAIL:wrong:0.6",
                                      "b9:PASS:happy:1e-8", NULL});
  nnc_baseline_result *r = compare(base, cur, -1, -1);
  ck_assert_int_eq(regressed(r, "block W1", NNC_BL_FAILS), 1);
  ck_assert_int_eq(regressed(r, "block W2", NNC_BL_FAILS), -1); /* failed before */
  ck_assert_int_eq(regressed(r, "block W2", NNC_BL_GREW), -1);
  ck_assert_int_eq(regressed(r, "block b1", NNC_BL_MISSING), 1);
  ck_assert_int_eq(regressed(r, "block b9", NNC_BL_NEW), 0); /* a note */
  ck_assert_uint_eq(r->regressions, 2);
  ck_assert_int_eq(r->findings[0].regression, 1); /* regressions first */
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  nnc_baseline_report_text(r, f);
  fclose(f);
  ck_assert_msg(strstr(text, "regression: block W1 (part data): PASS in the "
                             "baseline, FAIL now"),
                "%s", text);
  ck_assert_msg(strstr(text, "baseline comparison: FAIL (3 entries compared, "
                             "2 regressions"),
                "%s", text);
  free(text);
  nnc_baseline_free(r);
  free(cur);
  /* a run that stopped with an error is one regression, not a list */
  cur = grad_report("ERROR", (const char *const[]){NULL});
  r = compare(base, cur, -1, -1);
  ck_assert_uint_eq(r->regressions, 1);
  ck_assert_uint_eq(r->findings[0].kind, NNC_BL_ERROR);
  nnc_baseline_free(r);
  free(cur);

  /* refusals: not JSON, no schema, other tool, unknown version, options */
  static const char *const refused[] = {
      "{\"tool\": \"gradcheck\"}",
      "{\"schema\": \"nncheck-sanity/1\", \"checks\": []}",
      "{\"schema\": \"nncheck-gradcheck/2\", \"blocks\": [], \"audits\": []}",
      "{\"schema\": \"nncheck-lrprobe/1\"}",
      "{\"schema\": \"nncheck-gradcheck/1\", \"audits\": []}",
      "[1, 2]",
      "{\"schema\": \"nncheck-gradcheck/1\",}",
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    char err[512] = "";
    r = (nnc_baseline_result *)1;
    int rc = nnc_baseline_compare(refused[i], strlen(refused[i]), base,
                                  strlen(base), NULL, &r, err, sizeof err);
    ck_assert_msg(rc == NNC_EARG && r == NULL && *err, "case %zu: rc %d", i, rc);
  }
  nnc_baseline_opts o = {0.5, 1e-10};
  char err[512];
  ck_assert_int_eq(nnc_baseline_compare(base, strlen(base), base, strlen(base),
                                        &o, &r, err, sizeof err),
                   NNC_EARG);
  free(base);
}
END_TEST

START_TEST(baseline_files_written_atomically_read_strictly)
{
  char *dir = make_tmpdir();
  char path[4200], err[8192];
  snprintf(path, sizeof path, "%s/b.json", dir);
  char *base = grad_report("PASS", (const char *const[]){"W1:PASS:happy:1e-8",
                                                        NULL});
  char *text;
  size_t len;
  ck_assert_int_eq(nnc_baseline_load(path, "gradcheck", &text, &len, err,
                                     sizeof err),
                   NNC_ENOTFOUND);
  ck_assert_msg(strstr(err, path) && strstr(err, "--write-baseline"), "%s", err);
  ck_assert_int_eq(nnc_baseline_write(base, strlen(base), path, err, sizeof err),
                   NNC_OK);
  ck_assert_int_eq(
      nnc_baseline_load(path, "gradcheck", &text, &len, err, sizeof err),
      NNC_OK);
  ck_assert_uint_eq(len, strlen(base));
  ck_assert_str_eq(text, base);
  free(text);
  ck_assert_int_eq(nnc_baseline_load(path, "sanity", &text, &len, err,
                                     sizeof err),
                   NNC_EARG);
  /* invalid JSON is refused and leaves the old file whole */
  ck_assert_int_eq(nnc_baseline_write("{\"a\":", 5, path, err, sizeof err),
                   NNC_EARG);
  text = read_file(path, &len);
  ck_assert_str_eq(text, base);
  free(text);
  /* no temporary file is left beside it */
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t files = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      files++;
  closedir(d);
  ck_assert_uint_eq(files, 1);
  /* a malformed file names itself, line and column */
  FILE *f = fopen(path, "w");
  fputs("{\"schema\": \"nncheck-gradcheck/1\",\n \"blocks\": [}", f);
  fclose(f);
  ck_assert_int_eq(nnc_baseline_load(path, NULL, &text, &len, err, sizeof err),
                   NNC_EARG);
  ck_assert_msg(strstr(err, path) && strstr(err, "line 2, column 13"), "%s",
                err);
  unlink(path);
  rmdir(dir);
  free(dir);
  free(base);
}
END_TEST

/* ---- baselines through the tools ------------------------------------------- */

static int one_line(const char *s, const char *prefix)
{
  return count_of(s, "\n") == 1 && !strncmp(s, prefix, strlen(prefix));
}

START_TEST(gradcheck_baseline_catches_a_degraded_plugin)
{
  char *dir = make_tmpdir();
  char ok[4200], okf[4200], bug[4200];
  snprintf(ok, sizeof ok, "%s/ok.json", dir);
  snprintf(bug, sizeof bug, "%s/bug.json", dir);
  snprintf(okf, sizeof okf, "%s/mlp.json", dir);

  /* a bug_/ok_ pair with the same blocks: the bug FAILs what passed */
  run_result r = RUN("gradcheck", "ok_l2_factor2", "--write-baseline", ok);
  ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
  run_free(&r);
  r = RUN("gradcheck", "ok_l2_factor2", "--json");
  size_t len;
  char *written = read_file(ok, &len);
  ck_assert_msg(written && !strcmp(written, r.out),
                "--write-baseline differs from --json");
  free(written);
  run_free(&r);
  r = RUN("gradcheck", "ok_l2_factor2", "--baseline", ok);
  ck_assert_msg(r.status == 0, "%d\n%s", r.status, r.out);
  ck_assert(strstr(r.out, "baseline comparison: PASS"));
  run_free(&r);
  r = RUN("gradcheck", "bug_l2_factor2", "--baseline", ok, "--quiet");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "regression: block W1 (part reg): PASS in the "
                              "baseline, FAIL now"),
                "%s", r.out);
  ck_assert(strstr(r.out, "baseline comparison: FAIL"));
  ck_assert(!strstr(r.out, "note:")); /* --quiet: regressions only */
  run_free(&r);
  /* against its own baseline nothing regressed (its FAIL is its own) */
  r = RUN("gradcheck", "bug_l2_factor2", "--write-baseline", bug);
  ck_assert_int_eq(r.status, 1);
  run_free(&r);
  r = RUN("gradcheck", "bug_l2_factor2", "--baseline", bug);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "baseline comparison: PASS (17 entries "
                              "compared, 0 regressions"),
                "%s", r.out);
  run_free(&r);

  /* a degraded build that still passes: the float32 mlp grows the error */
  r = RUN("gradcheck", "mlp", "--write-baseline", okf, "--quiet");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = RUN("gradcheck", "mlp", "--args", "dtype=float", "--baseline", okf,
          "--json");
  ck_assert_int_eq(r.status, 1);
  ck_assert(json_valid(r.out)); /* stdout stays JSON; findings on stderr */
  ck_assert_msg(strstr(r.err, "gradcheck: regression: block W1 (part data): "
                              "relative error grew"),
                "%s", r.err);
  ck_assert(strstr(r.err, "note: args differs"));
  run_free(&r);
  r = RUN("gradcheck", "mlp", "--args", "dtype=float", "--baseline", okf,
          "--baseline-factor", "1e9");
  ck_assert_msg(r.status == 0, "%d %s", r.status, r.out);
  run_free(&r);
  r = RUN("gradcheck", "mlp", "--args", "dtype=float", "--write-baseline",
          bug, "--quiet");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = RUN("gradcheck", "mlp", "--args", "dtype=float", "--baseline", bug);
  ck_assert_int_eq(r.status, 0);
  run_free(&r);

  /* bad baselines: one line, exit 2, before any work */
  char bad[4200];
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  FILE *f = fopen(bad, "w");
  fputs("{\"schema\": \"nncheck-gradcheck/1\", \"blocks\": [1,]}", f);
  fclose(f);
  const char *missing = "/nonexistent/baseline.json";
  const char *const files[] = {missing, bad};
  for (int i = 0; i < 2; i++) {
    r = RUN("gradcheck", "mlp", "--baseline", files[i]);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(one_line(r.err, "gradcheck: --baseline: "), "%s", r.err);
    ck_assert_msg(strstr(r.err, files[i]), "%s", r.err);
    ck_assert_str_eq(r.out, "");
    run_free(&r);
  }
  r = RUN("gradcheck", "mlp", "--baseline", bad);
  ck_assert_msg(strstr(r.err, "line 1, column 48: trailing comma"), "%s", r.err);
  run_free(&r);
  r = RUN("sanity", "mlp", "--baseline", ok); /* a gradcheck report */
  ck_assert_int_eq(r.status, 2);
  ck_assert_msg(one_line(r.err, "sanity: --baseline: ") &&
                    strstr(r.err, "is a gradcheck report, not sanity"),
                "%s", r.err);
  run_free(&r);
  r = RUN("gradcheck", "mlp", "--baseline-factor", "0.5");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  unlink(ok);
  unlink(bug);
  unlink(okf);
  unlink(bad);
  rmdir(dir);
  free(dir);
}
END_TEST

START_TEST(sanity_baseline_names_the_check)
{
  char *dir = make_tmpdir();
  char ok[4200];
  snprintf(ok, sizeof ok, "%s/ok.json", dir);
  run_result r = RUN("sanity", "ok_reg_sign", "--write-baseline", ok, "-q");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = RUN("sanity", "ok_reg_sign", "--baseline", ok, "-q");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = RUN("sanity", "bug_reg_sign", "--baseline", ok, "-q");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "regression: check reg: PASS in the baseline, "
                              "FAIL now"),
                "%s", r.out);
  run_free(&r);
  unlink(ok);
  rmdir(dir);
  free(dir);
}
END_TEST

/* ---- --quiet, --verbose, --color, --version ------------------------------ */

/* A quick run of each tool on the reference net. */
static const char *const *quick(int tool)
{
  static const char *const runs[][12] = {
      {"gradcheck", "mlp", NULL},
      {"sanity", "mlp", "--check", "chance", NULL},
      {"lrprobe", "mlp", "--runs", "1", "--steps", "30", NULL},
      {"landscape", "mlp", "--grid", "0", "--points", "5", "--directions",
       "1", NULL},
  };
  return runs[tool];
}

/* Run a quick run with extra arguments. */
static run_result quick_run(int tool, const char *a, const char *b)
{
  const char *argv[16];
  size_t n = 0;
  for (const char *const *p = quick(tool); *p; p++)
    argv[n++] = *p;
  if (a)
    argv[n++] = a;
  if (b)
    argv[n++] = b;
  argv[n] = NULL;
  return run_tool(argv[0], argv);
}

START_TEST(quiet_prints_only_the_verdict_line)
{
  for (int t = 0; t < 4; t++) {
    const char *tool = quick(t)[0];
    run_result full = quick_run(t, NULL, NULL);
    run_result q = quick_run(t, "--quiet", NULL);
    run_result q2 = quick_run(t, "-q", NULL);
    ck_assert_int_eq(q.status, full.status);
    ck_assert_msg(one_line(q.out, "verdict: "), "%s --quiet:\n%s", tool, q.out);
    ck_assert_msg(strstr(full.out, q.out), "%s: the quiet line is not the "
                                           "report's",
                  tool);
    ck_assert(count_of(full.out, "\n") > 5);
    ck_assert_str_eq(q.out, q2.out);
    run_free(&full);
    run_free(&q);
    run_free(&q2);
    run_result qv = quick_run(t, "--quiet", "--verbose");
    ck_assert_int_eq(qv.status, 2);
    ck_assert_msg(one_line(qv.err, tool), "%s", qv.err);
    run_free(&qv);
  }
}
END_TEST

START_TEST(verbose_says_what_was_loaded_on_stderr_only)
{
  for (int t = 0; t < 4; t++) {
    const char *tool = quick(t)[0];
    run_result full = quick_run(t, NULL, NULL);
    run_result v = quick_run(t, "--verbose", NULL);
    ck_assert_int_eq(v.status, full.status);
    ck_assert_str_eq(v.out, full.out); /* the report is untouched */
    char want[64];
    snprintf(want, sizeof want, "%s: loaded mlp from ", tool);
    ck_assert_msg(strstr(v.err, want) && strstr(v.err, "/mlp.so"), "%s: %s",
                  tool, v.err);
    ck_assert_str_eq(full.err, "");
    run_free(&full);
    run_free(&v);
  }
}
END_TEST

/* 1 when this machine can give a pseudo-terminal (a bare chroot without
 * /dev/pts cannot); NNC_REQUIRE_PTY=1 makes its absence a failure. */
static int have_pty(void)
{
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m >= 0) {
    close(m);
    return 1;
  }
  const char *req = getenv("NNC_REQUIRE_PTY");
  ck_assert_msg(!(req && !strcmp(req, "1")),
                "NNC_REQUIRE_PTY=1 but no pseudo-terminal: %s",
                strerror(errno));
  fprintf(stderr, "# no pseudo-terminal here (%s): colour on a terminal "
                  "not tested\n", strerror(errno));
  return 0;
}

/* Run a tool with stdout on a pseudo-terminal; NO_COLOR set to no_color
 * (NULL: unset).  Returns what the terminal received. */
static char *run_on_pty(const char *const *argv, const char *no_color)
{
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ck_assert(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
  const char *sname = ptsname(m);
  ck_assert_ptr_nonnull(sname);
  char path[4096];
  const char *dir = getenv("NNC_TOOLS_DIR");
  snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tools", argv[0]);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int s = open(sname, O_RDWR);
    int null = open("/dev/null", O_WRONLY);
    if (s < 0 || null < 0)
      _exit(127);
    dup2(s, 1);
    dup2(null, 2);
    if (no_color)
      setenv("NO_COLOR", no_color, 1);
    else
      unsetenv("NO_COLOR");
    execv(path, (char *const *)argv);
    _exit(127);
  }
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  char buf[4096];
  for (;;) {
    ssize_t got = read(m, buf, sizeof buf);
    if (got <= 0)
      break; /* EIO once the child has closed the terminal */
    fwrite(buf, 1, (size_t)got, f);
  }
  fclose(f);
  int st;
  waitpid(pid, &st, 0);
  close(m);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 127, "could not run %s",
                path);
  return out;
}

START_TEST(color_only_on_a_terminal_or_when_asked)
{
  const char *const green = "\033[32m";
  unsetenv("NO_COLOR");
  for (int t = 0; t < 4; t++) {
    const char *tool = quick(t)[0];
    run_result always = quick_run(t, "--color=always", NULL);
    run_result never = quick_run(t, "--color", "never");
    run_result pipe = quick_run(t, NULL, NULL); /* auto, on a pipe */
    ck_assert_msg(strstr(always.out, green), "%s --color=always", tool);
    ck_assert(strstr(always.out, "\033[0m"));
    ck_assert_msg(!strchr(never.out, '\033'), "%s --color never", tool);
    ck_assert_msg(!strchr(pipe.out, '\033'), "%s on a pipe", tool);
    ck_assert_str_eq(never.out, pipe.out);
    run_free(&always);
    run_free(&never);
    run_free(&pipe);
  }
  /* auto on a terminal: colour unless NO_COLOR is set and not empty */
  const char *const argv[] = {"gradcheck", "mlp", NULL};
  char *tty = have_pty() ? run_on_pty(argv, NULL) : NULL;
  if (tty) {
    ck_assert_msg(strstr(tty, green), "no colour on a terminal:\n%s", tty);
    free(tty);
    tty = run_on_pty(argv, "1");
    ck_assert_msg(!strchr(tty, '\033'), "colour despite NO_COLOR=1");
    ck_assert(strstr(tty, "verdict: PASS"));
    free(tty);
    tty = run_on_pty(argv, "");
    ck_assert_msg(strstr(tty, green), "an empty NO_COLOR must not count");
    free(tty);
    const char *const never[] = {"gradcheck", "mlp", "--color=never", NULL};
    tty = run_on_pty(never, NULL);
    ck_assert(!strchr(tty, '\033'));
    free(tty);
  }
  /* an explicit --color=always is honoured even under NO_COLOR */
  setenv("NO_COLOR", "1", 1);
  run_result r = RUN("gradcheck", "mlp", "--color=always");
  ck_assert(strstr(r.out, green));
  run_free(&r);
  r = RUN("gradcheck", "mlp");
  ck_assert(!strchr(r.out, '\033'));
  run_free(&r);
  unsetenv("NO_COLOR");
  /* machine output is never coloured */
  r = RUN("gradcheck", "mlp", "--color=always", "--json");
  ck_assert(!strchr(r.out, '\033') && json_valid(r.out));
  run_free(&r);
  r = RUN("sanity", "mlp", "--check", "chance", "--color=always", "--tap");
  ck_assert(!strchr(r.out, '\033'));
  run_free(&r);
  r = RUN("gradcheck", "mlp", "--color=sometimes");
  ck_assert_int_eq(r.status, 2);
  ck_assert_msg(one_line(r.err, "gradcheck: --color: 'sometimes'"), "%s", r.err);
  run_free(&r);
}
END_TEST

START_TEST(version_and_old_spellings)
{
  static const char *const all[] = {"gradcheck", "sanity", "lrprobe",
                                    "landscape", "babysit", "hpsearch",
                                    "ensemble"};
  for (int t = 0; t < 7; t++) {
    const char *tool = all[t];
    run_result r = run_tool(tool, (const char *const[]){tool, "--version", NULL});
    char want[64];
    snprintf(want, sizeof want, "%s (nncheck) %s\n", tool, PACKAGE_VERSION);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, want);
    run_free(&r);
  }
  /* renamed options keep their old spelling */
  run_result a = RUN("sanity", "mlp", "--check", "chance", "--examples", "40");
  run_result b = RUN("sanity", "mlp", "--check", "chance", "--sample", "40");
  ck_assert_int_eq(a.status, 0);
  ck_assert_str_eq(a.out, b.out);
  run_free(&a);
  run_free(&b);
  a = RUN("lrprobe", "mlp", "--runs", "1", "--steps", "20", "--rule", "adam");
  b = RUN("lrprobe", "mlp", "--runs", "1", "--steps", "20", "--optim", "adam");
  ck_assert_int_eq(a.status, b.status);
  ck_assert_str_eq(a.out, b.out);
  run_free(&a);
  run_free(&b);
  a = RUN("lrprobe", "mlp", "--optim", "sgdd");
  ck_assert_msg(one_line(a.err, "lrprobe: --optim: 'sgdd'"), "%s", a.err);
  run_free(&a);
  /* every tool lists the bundled plugins */
  a = RUN("lrprobe", "--list");
  ck_assert_int_eq(a.status, 0);
  ck_assert(strstr(a.out, "mlp\tnet\t"));
  run_free(&a);
}
END_TEST

/* ---- the newer tools: babysit, hpsearch, ensemble ------------------------ */

/* A small search of plugin, run in dir/PLUGIN by two local workers;
 * returns the search directory (free it). */
static char *small_search(const char *dir, const char *plugin, int epochs)
{
  char space[4200];
  snprintf(space, sizeof space, "%s/%s.space", dir, plugin);
  FILE *f = fopen(space, "w");
  ck_assert(f);
  /* the crash fixture takes no arguments: only the rate is searched */
  int mlp = !strcmp(plugin, "mlp");
  fprintf(f, "plugin %s\n%sseed 1\nrule momentum\nparam lr log 1e-2 1\n%s"
             "stage coarse trials=4 epochs=%d\n",
          plugin, mlp ? "args layers=2,{hidden},3 N=100\n" : "",
          mlp ? "param hidden int 10 30\n" : "", epochs);
  fclose(f);
  char *sdir = malloc(4300);
  snprintf(sdir, 4300, "%s/%s", dir, plugin);
  run_result r = RUN("hpsearch", "run", "-j", "2", "--quiet", space, sdir);
  ck_assert_msg(r.status <= 1 || !strcmp(plugin, "bug_crash_abort"),
                "hpsearch run: %d %s", r.status, r.err);
  run_free(&r);
  return sdir;
}

START_TEST(babysit_hpsearch_ensemble_keep_the_conventions)
{
  const char *const green = "\033[32m";
  unsetenv("NO_COLOR");
  /* babysit: --quiet is the verdict line (and no progress), --verbose says
   * what was loaded */
  run_result full = RUN("babysit", "mlp", "--epochs", "2");
  run_result q = RUN("babysit", "mlp", "--epochs", "2", "-q");
  run_result v = RUN("babysit", "mlp", "--epochs", "2", "--verbose");
  ck_assert_int_eq(full.status, 0);
  ck_assert_int_eq(q.status, 0);
  ck_assert_msg(one_line(q.out, "verdict: "), "%s", q.out);
  ck_assert_str_eq(q.err, "");
  ck_assert(strstr(full.out, q.out) && count_of(full.out, "\n") > 5);
  ck_assert_str_eq(v.out, full.out);
  ck_assert_msg(strstr(v.err, "babysit: loaded mlp from ") &&
                    strstr(v.err, "/mlp.so"),
                "%s", v.err);
  run_free(&full);
  run_free(&q);
  run_free(&v);
  q = RUN("babysit", "mlp", "--quiet", "--verbose");
  ck_assert_int_eq(q.status, 2);
  ck_assert_msg(one_line(q.err, "babysit: "), "%s", q.err);
  run_free(&q);

  /* isolation: a plugin that aborts in training is one line and exit 3;
   * its twin passes; the checkpoints written before the crash are kept */
  char *dir = make_tmpdir();
  char ck[4300], ckf[4400];
  snprintf(ck, sizeof ck, "%s/ck", dir);
  run_result r = RUN("babysit", "bug_crash_abort", "--epochs", "10",
                     "--quiet", "--checkpoints", ck);
  ck_assert_int_eq(r.status, 3);
  ck_assert_msg(one_line(r.err, "babysit: plugin crashed: SIGABRT in loss()"),
                "%s", r.err);
  run_free(&r);
  snprintf(ckf, sizeof ckf, "%s/babysit_stats.json", ck);
  size_t len;
  char *js = read_file(ckf, &len);
  ck_assert_msg(js && json_valid(js), "the stats before the crash are lost");
  free(js);
  r = RUN("babysit", "ok_crash_abort", "--epochs", "10", "--quiet");
  ck_assert_msg(r.status == 0, "%d %s", r.status, r.err);
  run_free(&r);

  /* hpsearch and ensemble: their text reports end in a verdict line,
   * coloured when asked */
  char *s = small_search(dir, "mlp", 1);
  run_result st = RUN("hpsearch", "status", s);
  run_result sq = RUN("hpsearch", "-q", "status", s);
  run_result sc = RUN("hpsearch", "status", "--color=always", s);
  ck_assert(st.status <= 1 && sq.status == st.status);
  ck_assert_msg(one_line(sq.out, "verdict: "), "%s", sq.out);
  ck_assert(strstr(st.out, sq.out) && count_of(st.out, "\n") > 5);
  ck_assert_msg(strstr(sc.out, "\033[") && !strchr(st.out, '\033'), "%s",
                sc.out);
  run_free(&st);
  run_free(&sq);
  run_free(&sc);
  run_result e = RUN("ensemble", "top", "-k", "3", s);
  run_result eq = RUN("ensemble", "top", "-k", "3", "--quiet", s);
  run_result ec = RUN("ensemble", "--color", "always", "top", "-k", "3", s);
  run_result ev = RUN("ensemble", "top", "--members", "3", "-v", s);
  ck_assert_msg(e.status <= 1, "%s", e.err);
  ck_assert_msg(one_line(eq.out, "verdict: "), "%s", eq.out);
  ck_assert(strstr(e.out, eq.out));
  ck_assert(e.status != 0 || strstr(ec.out, green));
  ck_assert(!strchr(e.out, '\033'));
  ck_assert_str_eq(ev.out, e.out); /* --members is -k */
  ck_assert(strstr(ev.err, "ensemble: evaluated 3 members"));
  run_free(&e);
  run_free(&eq);
  run_free(&ec);
  run_free(&ev);
  free(s);

  /* a search whose plugin aborts: each worker says so in one line, exit 3;
   * the directory stays readable and its checkpoints complete */
  s = small_search(dir, "bug_crash_abort", 20);
  st = RUN("hpsearch", "status", s);
  ck_assert_msg(st.status == 0 && strstr(st.out, "verdict: RUNNING"), "%s",
                st.out);
  run_free(&st);
  r = RUN("hpsearch", "worker", "--max-trials", "1", s);
  ck_assert_int_eq(r.status, 3);
  ck_assert_msg(one_line(r.err, "hpsearch: plugin crashed: SIGABRT in "
                                "loss() while training a trial"),
                "%s", r.err);
  run_free(&r);
  char td[4400];
  snprintf(td, sizeof td, "%s/trials/trial0000", s);
  r = RUN("ensemble", "run", "--plugin", "ok_crash_abort", td);
  ck_assert_msg(r.status <= 1, "the crashed trial's checkpoints: %s", r.err);
  run_free(&r);
  free(s);
  free(dir);
}
END_TEST

/* ---- JSON schemas and their documentation ------------------------------- */

/* The keys of the "### Top-level keys" table of "## TOOL" in the doc. */
static int documented(const char *doc, const char *tool, const char *key)
{
  char head[64], row[160];
  snprintf(head, sizeof head, "\n## %s ", tool);
  const char *s = strstr(doc, head);
  ck_assert_msg(s, "doc/json-schema.md has no section for %s", tool);
  const char *t = strstr(s, "### Top-level keys");
  ck_assert(t);
  const char *end = strstr(t + 1, "\n### ");
  const char *next = strstr(s + 1, "\n## ");
  if (!end || (next && next < end))
    end = next;
  snprintf(row, sizeof row, "\n| `%s` |", key);
  const char *hit = strstr(t, row);
  return hit && (!end || hit < end);
}

START_TEST(every_json_report_has_its_schema_and_documented_keys)
{
  char path[4200];
  const char *src = getenv("NNC_SRCDIR");
  snprintf(path, sizeof path, "%s/doc/json-schema.md", src && *src ? src : ".");
  size_t len;
  char *doc = read_file(path, &len);
  ck_assert_msg(doc, "cannot read %s", path);
  static const char *const runs[][16] = {
      {"gradcheck", "mlp", "--sweep-h", "--json", NULL},
      {"gradcheck", "mlp_relu_kinks", "--json", NULL},
      {"sanity", "mlp", "--json", NULL},
      {"sanity", "affine", "--json", NULL},
      {"lrprobe", "mlp", "--runs", "2", "--steps", "30", "--json", NULL},
      {"landscape", "mlp", "--train", "2", "--from-init", "--grid", "5",
       "--points", "5", "--line-points", "9", "--json", NULL},
  };
  char *tmp = make_tmpdir();
  char *search = small_search(tmp, "mlp", 1);
  const char *const more[][16] = {
      {"babysit", "mlp", "--epochs", "2", "--quiet", "--json", NULL},
      {"hpsearch", "status", "--json", search, NULL},
      {"ensemble", "top", "-k", "2", "--json", search, NULL},
  };
  size_t nruns = sizeof runs / sizeof *runs;
  for (size_t i = 0; i < nruns + sizeof more / sizeof *more; i++) {
    const char *const *argv = i < nruns ? runs[i] : more[i - nruns];
    const char *tool = argv[0];
    run_result r = run_tool(tool, argv);
    ck_assert_msg(r.status <= 1, "%s: exit %d %s", tool, r.status, r.err);
    nnci_jv *v;
    char err[256];
    ck_assert_msg(nnci_json_parse(r.out, strlen(r.out), &v, err, sizeof err) ==
                      0,
                  "%s: %s", tool, err);
    ck_assert(v->type == NNCI_JOBJ && v->n > 3);
    char schema[64];
    snprintf(schema, sizeof schema, "nncheck-%s/1", tool);
    ck_assert_str_eq(v->keys[0], "schema");
    ck_assert_str_eq(nnci_json_get_str(v, "schema"), schema);
    ck_assert_str_eq(nnci_json_get_str(v, "tool"), tool);
    for (size_t k = 0; k < v->n; k++)
      ck_assert_msg(documented(doc, tool, v->keys[k]),
                    "doc/json-schema.md does not document %s's top-level key "
                    "\"%s\"",
                    tool, v->keys[k]);
    nnci_json_free(v);
    run_free(&r);
  }
  free(search);
  free(tmp);
  /* the check can fail: an invented key is not documented */
  ck_assert(!documented(doc, "gradcheck", "no_such_key"));
  ck_assert(!documented(doc, "landscape", "coords")); /* a nested key */
  free(doc);
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"json_valid", json_reader_reads_valid_json},
      {"json_malformed", json_reader_refuses_malformed_input},
      {"baseline_factor_floor", baseline_factor_and_floor_at_their_edges},
      {"baseline_findings", baseline_fails_missing_notes_and_refusals},
      {"baseline_files", baseline_files_written_atomically_read_strictly},
      {"gradcheck_baseline", gradcheck_baseline_catches_a_degraded_plugin},
      {"sanity_baseline", sanity_baseline_names_the_check},
      {"quiet", quiet_prints_only_the_verdict_line},
      {"verbose", verbose_says_what_was_loaded_on_stderr_only},
      {"color", color_only_on_a_terminal_or_when_asked},
      {"version_aliases", version_and_old_spellings},
      {"newer_tools", babysit_hpsearch_ensemble_keep_the_conventions},
      {"json_schema", every_json_report_has_its_schema_and_documented_keys},
  };
  return run_cases("conventions", cases, sizeof cases / sizeof *cases, 600,
                   CK_ENV);
}
