/* The gradcheck tool, run for real on real dlopen'ed plugins: every bundled
 * fixture, every behaviour the notes ask for, every documented exit status.
 * Each behaviour is shown on a plugin it must catch and on a twin it must
 * pass. */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GC(...) RUN("gradcheck", __VA_ARGS__)

/* The table row of (part, block) in a text report, or NULL. */
static char *row_of(const char *out, const char *part, const char *block)
{
  static char line[1024];
  const char *p = out;
  while (*p) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n < sizeof line) {
      memcpy(line, p, n);
      line[n] = 0;
      char a[64], b[128];
      if (sscanf(line, "%63s %127s", a, b) == 2 && !strcmp(a, part) &&
          !strcmp(b, block) &&
          (strstr(line, " PASS") || strstr(line, " FAIL") ||
           strstr(line, " WARN") || strstr(line, " SKIP")))
        return line;
    }
    if (!e)
      break;
    p = e + 1;
  }
  return NULL;
}

static const char *verdict_of(const char *out, const char *part,
                              const char *block)
{
  const char *r = row_of(out, part, block);
  if (!r)
    return "MISSING";
  if (strstr(r, " FAIL"))
    return "FAIL";
  if (strstr(r, " WARN"))
    return "WARN";
  if (strstr(r, " SKIP"))
    return "SKIP";
  return "PASS";
}

/* The "checked" column of a (part, block) row; -1 when there is no row. */
static long checked_of(const char *out, const char *part, const char *block)
{
  const char *r = row_of(out, part, block);
  char a[64], b[128];
  size_t elements, checked;
  if (!r || sscanf(r, "%63s %127s %zu %zu", a, b, &elements, &checked) != 4)
    return -1;
  return (long)checked;
}

/* ---- every bundled plugin and fixture at default options ---------------- */

typedef struct listing {
  char name[128], kind[16];
} listing;

static size_t list_plugins(listing *v, size_t cap)
{
  run_result r = GC("--list");
  ck_assert_int_eq(r.status, 0);
  size_t n = 0;
  char *save = NULL;
  for (char *line = strtok_r(r.out, "\n", &save); line && n < cap;
       line = strtok_r(NULL, "\n", &save)) {
    char *t1 = strchr(line, '\t');
    ck_assert_msg(t1, "--list line without a tab: %s", line);
    char *t2 = strchr(t1 + 1, '\t');
    ck_assert_msg(t2 && strlen(t2 + 1) > 10,
                  "--list line lacks a description: %s", line);
    *t1 = *t2 = 0;
    snprintf(v[n].name, sizeof v[n].name, "%s", line);
    snprintf(v[n].kind, sizeof v[n].kind, "%s", t1 + 1);
    ck_assert_msg(!strcmp(v[n].kind, "net") || !strcmp(v[n].kind, "layer"),
                  "%s: kind '%s'", v[n].name, v[n].kind);
    n++;
  }
  run_free(&r);
  return n;
}

static int listed(const listing *v, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].name, name))
      return 1;
  return 0;
}

START_TEST(every_bundled_plugin_at_defaults)
{
  listing v[256];
  size_t n = list_plugins(v, 256), bugs = 0, good = 0;
  const char *must[] = {"mlp", "affine", "relu", "tanh", "dropout",
                        "softmax_loss", "svm_loss", "example_layer",
                        "example_net", "mlp_relu_kinks", "mlp_svm", "mlp_f32",
                        "mlp_dropout", "mlp_tanh6"};
  for (size_t i = 0; i < sizeof must / sizeof *must; i++)
    ck_assert_msg(listed(v, n, must[i]), "%s is not bundled", must[i]);
  for (size_t i = 0; i < n; i++) {
    int bug = !strncmp(v[i].name, "bug_", 4);
    if (bug) {
      const char *twin = twin_of(v[i].name);
      ck_assert_msg(listed(v, n, twin), "%s has no correct twin %s",
                    v[i].name, twin);
      bugs++;
    } else {
      good++;
    }
    run_result r = GC(v[i].name, "--seed", "1");
    int want = expected_exit("gradcheck", v[i].name);
    ck_assert_msg(r.status == want,
                  "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s",
                  v[i].name, r.status, want, r.out, r.err);
    if (want == 1)
      ck_assert_msg(strstr(r.out, "reproduce: gradcheck"),
                    "%s: no reproduce line", v[i].name);
    run_free(&r);
  }
  ck_assert_uint_ge(bugs, 12);
  ck_assert_uint_ge(good, 25);
}
END_TEST

/* Where each bug must show: (fixture, part, block).  The part column is the
 * report's: data, reg, data+reg or layer. */
static const struct {
  const char *fixture, *part, *block;
} WHERE[] = {
    {"bug_bias_one_example", "data", "b2"},
    {"bug_softmax_no_minus1", "data", "W2"},
    {"bug_softmax_no_minus1", "data", "b2"},
    {"bug_dropout_mask", "data", "W1"},
    {"bug_l2_factor2", "reg", "W1"},
    {"bug_l2_factor2", "data+reg", "W1"},
    {"bug_tail_elements", "reg", "W1"},
    {"bug_reg_masks_data", "data", "W1"},
    {"bug_affine_w_not_wt", "layer", "input"},
    {"bug_sigmoid_preact", "layer", "input"},
    {"bug_dropout_noscale", "layer", "input"},
    {"bug_svm_margin_count", "data", "W"},
    {"bug_conv2d_noflip", "layer", "input"},
    {"bug_conv2d_border", "layer", "W"},
    {"bug_layernorm_nomean", "layer", "input"},
    {"bug_softmax_diag", "layer", "input"},
    {"bug_attention_scale", "layer", "Wk"},
};

START_TEST(each_bug_shows_where_it_is)
{
  for (size_t i = 0; i < sizeof WHERE / sizeof *WHERE; i++) {
    run_result r = GC(WHERE[i].fixture, "--seed", "1");
    ck_assert_msg(!strcmp(verdict_of(r.out, WHERE[i].part, WHERE[i].block),
                          "FAIL"),
                  "%s: %s %s is %s, expected FAIL\n%s", WHERE[i].fixture,
                  WHERE[i].part, WHERE[i].block,
                  verdict_of(r.out, WHERE[i].part, WHERE[i].block), r.out);
    run_free(&r);
    /* the twin passes the same block */
    const char *twin = twin_of(WHERE[i].fixture);
    r = GC(twin, "--seed", "1");
    const char *v = verdict_of(r.out, WHERE[i].part, WHERE[i].block);
    ck_assert_msg(!strcmp(v, "PASS"), "%s: %s %s is %s\n%s", twin,
                  WHERE[i].part, WHERE[i].block, v, r.out);
    run_free(&r);
  }
}
END_TEST

START_TEST(square_weight_transposed)
{
  run_result r = GC("bug_transposed_wgrad", "--seed", "1");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "failures"), "%s", r.out);
  /* only the square hidden-to-hidden weight is wrong */
  ck_assert_str_eq(verdict_of(r.out, "data", "W2"), "FAIL");
  ck_assert_str_eq(verdict_of(r.out, "data", "W1"), "PASS");
  run_free(&r);
}
END_TEST

START_TEST(layer_never_writing_dx_is_a_contract_breach)
{
  run_result r = GC("bug_no_dx");
  ck_assert_int_eq(r.status, 3);
  ck_assert_msg(strstr(r.err, "unwritten") && strstr(r.err, "input"),
                "%s", r.err);
  ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
  run_free(&r);
  r = GC("ok_no_dx");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
}
END_TEST

/* ---- the notes' tips, each shown on a plugin it matters for ------------- */

START_TEST(burn_in_reveals_what_the_first_iteration_hides)
{
  /* At a tiny init every SVM margin is positive: the hard-coded count is
   * right there, and only a check after burn-in sees it. */
  run_result r = GC("bug_svm_margin_count", "--burn-in", "0");
  ck_assert_msg(r.status == 0, "without burn-in the bug should hide:\n%s", r.out);
  ck_assert_msg(strstr(r.out, "burn-in: none"), "%s", r.out);
  run_free(&r);
  r = GC("bug_svm_margin_count");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "burn-in: ") && strstr(r.out, "SGD steps"),
                "%s", r.out);
  run_free(&r);
  r = GC("ok_svm_margin_count");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
}
END_TEST

START_TEST(dropout_checked_under_a_forced_seed)
{
  /* Training mode keeps dropout on with one seed for f(x+h), f(x-h) and the
   * analytic gradient; the mask bug is caught.  Turning dropout off (--eval)
   * would hide it, which is why it is not the default. */
  run_result r = GC("bug_dropout_mask");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "dropout stays on"), "%s", r.out);
  run_free(&r);
  r = GC("bug_dropout_mask", "--eval");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  const char *good[] = {"ok_dropout_mask", "mlp_dropout"};
  for (int i = 0; i < 2; i++) {
    r = GC(good[i]);
    ck_assert_msg(r.status == 0, "%s\n%s", good[i], r.out);
    run_free(&r);
  }
}
END_TEST

START_TEST(regularization_checked_apart_from_data)
{
  run_result r = GC("bug_reg_masks_data");
  ck_assert_int_eq(r.status, 1);
  ck_assert_str_eq(verdict_of(r.out, "data", "W1"), "FAIL");
  ck_assert_str_ne(verdict_of(r.out, "data+reg", "W1"), "FAIL");
  ck_assert_msg(strstr(r.out, "regularization gradient is"), "%s", r.out);
  run_free(&r);
  /* the combined loss alone would have passed it */
  r = GC("bug_reg_masks_data", "--part", "all");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = GC("ok_reg_masks_data");
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, "regularization gradient is"), "%s", r.out);
  run_free(&r);
  /* a moderate regularization raises no such warning */
  r = GC("mlp");
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_null(strstr(r.out, "regularization gradient is"));
  ck_assert_str_eq(verdict_of(r.out, "reg", "W1"), "PASS");
  ck_assert_str_eq(verdict_of(r.out, "data", "W1"), "PASS");
  ck_assert_str_eq(verdict_of(r.out, "data+reg", "W1"), "PASS");
  run_free(&r);
}
END_TEST

START_TEST(every_block_sampled_first_last_and_spread)
{
  run_result r = GC("mlp", "--json");
  ck_assert_int_eq(r.status, 0);
  ck_assert(json_valid(r.out));
  /* biases are checked as blocks of their own, in every part */
  const char *blocks[] = {"\"block\": \"W1\"", "\"block\": \"b1\"",
                          "\"block\": \"W2\"", "\"block\": \"b2\""};
  for (int i = 0; i < 4; i++)
    ck_assert_msg(count_of(r.out, blocks[i]) == 3, "%s", blocks[i]);
  run_free(&r);
  /* a bug confined to the tail of a large block is found at its end */
  r = GC("bug_tail_elements", "--json");
  ck_assert_int_eq(r.status, 1);
  run_free(&r);
  r = GC("bug_tail_elements", "--samples", "10");
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_eq(checked_of(r.out, "reg", "W1"), 10);
  ck_assert_int_eq(checked_of(r.out, "reg", "b2"), 3); /* all of a small block */
  ck_assert_msg(strstr(row_of(r.out, "reg", "W1"), " 20502 "),
                "the worst coordinate is the last\n%s", r.out);
  run_free(&r);
  r = GC("bug_tail_elements", "--samples", "4");
  ck_assert_int_eq(checked_of(r.out, "reg", "W1"), 4);
  ck_assert_int_eq(r.status, 1);
  run_free(&r);
  r = GC("ok_tail_elements", "--samples", "4");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
}
END_TEST

START_TEST(few_datapoints_said_and_settable)
{
  run_result r = GC("mlp");
  ck_assert_msg(strstr(r.out, "3 training examples"), "%s", r.out);
  run_free(&r);
  r = GC("mlp", "--examples", "2");
  ck_assert_msg(strstr(r.out, "2 training examples"), "%s", r.out);
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = GC("affine", "--examples", "4");
  ck_assert_msg(strstr(r.out, "4 seeded inputs"), "%s", r.out);
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
}
END_TEST

START_TEST(float32_said_and_checked_with_float_tolerances)
{
  run_result r = GC("mlp_f32");
  ck_assert_msg(r.status == 0, "%s", r.out);
  ck_assert_msg(strstr(r.out, "float32") &&
                    strstr(r.out, "build the plugin in double"),
                "%s", r.out);
  run_free(&r);
  r = GC("mlp");
  ck_assert_ptr_null(strstr(r.out, "build the plugin in double"));
  run_free(&r);
}
END_TEST

START_TEST(tiny_values_warned)
{
  run_result r = GC(test_plugin("tiny_grad"));
  ck_assert_msg(strstr(r.out, "below 1e-10") && strstr(r.out, "scale the loss"),
                "%s", r.out);
  run_free(&r);
  r = GC("example_net");
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_null(strstr(r.out, "below 1e-10"));
  run_free(&r);
}
END_TEST

START_TEST(bands_printed_and_relaxed_with_depth)
{
  run_result r = GC("mlp_tanh6");
  ck_assert_msg(r.status == 0, "%s", r.out);
  ck_assert_msg(strstr(r.out, "bands:") && strstr(r.out, "1e-7 happy"), "%s",
                r.out);
  ck_assert_msg(strstr(r.out, "bands x"), "depth relaxation shown\n%s", r.out);
  run_free(&r);
  r = GC("mlp");
  ck_assert_ptr_null(strstr(r.out, "bands x"));
  run_free(&r);
}
END_TEST

START_TEST(kinks_recognised_by_winners)
{
  /* a large step crosses ReLU kinks; the fingerprint notices and smaller
   * steps resolve them, so a correct net passes */
  run_result r = GC("mlp_relu_kinks", "--h", "0.05", "--json");
  ck_assert_msg(r.status == 0, "%s", r.out);
  ck_assert_msg(strstr(r.out, "\"kink\": true"), "no kink seen at h=0.05");
  run_free(&r);
  for (int s = 1; s <= 5; s++) {
    char seed[8];
    snprintf(seed, sizeof seed, "%d", s);
    r = GC("mlp_relu_kinks", "--seed", seed);
    ck_assert_msg(r.status == 0, "seed %d\n%s", s, r.out);
    run_free(&r);
    r = GC("mlp_svm", "--seed", seed);
    ck_assert_msg(r.status == 0, "seed %d\n%s", s, r.out);
    run_free(&r);
  }
}
END_TEST

START_TEST(step_sweep_and_plots)
{
  char *dir = make_tmpdir();
  run_result r = GC("mlp", "--sweep-h", "--plots", dir);
  ck_assert_msg(r.status == 0, "%s\n%s", r.out, r.err);
  const char *row = strstr(r.out, "\nW1 ");
  ck_assert_msg(row, "no sweep row for W1\n%s", r.out);
  double e[10];
  ck_assert_int_eq(sscanf(row, "\nW1 %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf",
                          &e[0], &e[1], &e[2], &e[3], &e[4], &e[5], &e[6],
                          &e[7], &e[8], &e[9]),
                   10);
  /* round-off dominates at h = 1e-10, truncation at 1e-1; 1e-5 beats both */
  ck_assert_msg(e[4] < e[9] && e[4] < e[0], "%g %g %g", e[0], e[4], e[9]);
  const char *names[] = {"gradcheck_errors", "gradcheck_hsweep"};
  const char *ext[] = {"dat", "gp", "png", "svg"};
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 4; k++) {
      char p[4200];
      snprintf(p, sizeof p, "%s/%s.%s", dir, names[i], ext[k]);
      size_t len;
      char *c = read_file(p, &len);
      ck_assert_msg(c && len > 100, "%s missing or empty", p);
      if (k == 2)
        ck_assert(!memcmp(c, "\x89PNG\r\n\x1a\n", 8));
      if (k == 3)
        ck_assert(strstr(c, "<svg"));
      free(c);
    }
  run_free(&r);
  free(dir);
}
END_TEST

START_TEST(plots_without_gnuplot_still_write_data_and_scripts)
{
  char *dir = make_tmpdir();
  setenv("NNCHECK_GNUPLOT", "/nonexistent/gnuplot", 1);
  run_result r = GC("mlp", "--sweep-h", "--plots", dir);
  unsetenv("NNCHECK_GNUPLOT");
  ck_assert_msg(r.status == 0, "the verdict stands: %d\n%s", r.status, r.err);
  ck_assert_msg(strstr(r.err, "to render: cd ") &&
                    strstr(r.err, "gnuplot gradcheck_hsweep.gp") &&
                    count_of(r.err, "\n") == 1,
                "%s", r.err);
  const char *files[] = {"gradcheck_errors.dat", "gradcheck_errors.gp",
                         "gradcheck_hsweep.dat", "gradcheck_hsweep.gp"};
  for (int i = 0; i < 4; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    size_t len;
    char *c = read_file(p, &len);
    ck_assert_msg(c && len > 50, "%s missing", p);
    free(c);
  }
  char png[4200];
  snprintf(png, sizeof png, "%s/gradcheck_errors.png", dir);
  ck_assert_ptr_null(read_file(png, NULL));
  run_free(&r);
  free(dir);
}
END_TEST

START_TEST(plots_as_text_on_request)
{
  run_result r = GC("mlp", "--sweep-h", "--dumb");
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, "worst relative error against the step h") &&
                    strstr(r.out, "step h of the centered difference") &&
                    strstr(r.out, "+------"),
                "%s", r.out);
  run_free(&r);
  r = run_tool("lrprobe", (const char *const[]){"lrprobe", "mlp", "--dumb", NULL});
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, "learning rate") && strstr(r.out, "+------"),
                "%s", r.out);
  run_free(&r);
  r = GC("mlp", "--dumb", "--json");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
}
END_TEST

/* ---- reports ------------------------------------------------------------ */

START_TEST(same_seed_same_bytes)
{
  const char *plugins[] = {"mlp_dropout", "bug_l2_factor2", "dropout"};
  for (int i = 0; i < 3; i++) {
    run_result a = GC(plugins[i], "--seed", "7", "--json");
    run_result b = GC(plugins[i], "--seed", "7", "--json");
    run_result c = GC(plugins[i], "--seed", "8", "--json");
    ck_assert_str_eq(a.out, b.out);
    ck_assert_str_ne(a.out, c.out);
    run_free(&a);
    run_free(&b);
    run_free(&c);
    a = GC(plugins[i], "--seed", "7");
    b = GC(plugins[i], "--seed", "7");
    ck_assert_str_eq(a.out, b.out);
    run_free(&a);
    run_free(&b);
  }
}
END_TEST

START_TEST(json_and_tap)
{
  const char *p[] = {"mlp", "bug_l2_factor2", "bug_affine_w_not_wt"};
  for (int i = 0; i < 3; i++) {
    run_result r = GC(p[i], "--json");
    ck_assert_msg(json_valid(r.out), "%s: invalid JSON\n%s", p[i], r.out);
    ck_assert(strstr(r.out, "\"relerr\""));
    ck_assert(strstr(r.out, "\"analytic\""));
    ck_assert(strstr(r.out, "\"numeric\""));
    ck_assert(strstr(r.out, i ? "\"verdict\": \"FAIL\"" : "\"verdict\": \"PASS\""));
    run_free(&r);
    r = GC(p[i], "--tap");
    unsigned plan = 0;
    ck_assert(sscanf(strstr(r.out, "1.."), "1..%u", &plan) == 1);
    size_t nok = count_of(r.out, "\nok "), nnot = count_of(r.out, "\nnot ok ");
    ck_assert_uint_eq(nok + nnot, plan);
    ck_assert_msg(i ? nnot > 0 : nnot == 0, "%s", r.out);
    ck_assert_int_eq(r.status, i ? 1 : 0);
    run_free(&r);
  }
}
END_TEST

/* Split a shell line of plain words and '...' words. */
static size_t split_words(char *s, const char **argv, size_t cap)
{
  size_t n = 0;
  while (*s && n + 1 < cap) {
    while (*s == ' ')
      s++;
    if (!*s)
      break;
    char *w = s, *o = s;
    while (*s && *s != ' ') {
      if (*s == '\'') {
        s++;
        while (*s && *s != '\'')
          *o++ = *s++;
        if (*s)
          s++;
      } else {
        *o++ = *s++;
      }
    }
    if (*s)
      s++;
    *o = 0;
    argv[n++] = w;
  }
  argv[n] = NULL;
  return n;
}

START_TEST(reproduce_line_reproduces)
{
  const char *p[] = {"bug_l2_factor2", "bug_affine_w_not_wt"};
  for (int i = 0; i < 2; i++) {
    run_result r = GC(p[i]);
    ck_assert_int_eq(r.status, 1);
    char *line = strstr(r.out, "reproduce: gradcheck ");
    ck_assert_ptr_nonnull(line);
    line += strlen("reproduce: ");
    char *end = strchr(line, '\n');
    *end = 0;
    const char *argv[32];
    size_t n = split_words(line, argv, 32);
    ck_assert_uint_ge(n, 6);
    ck_assert_str_eq(argv[0], "gradcheck");
    run_result again = run_tool("gradcheck", argv);
    ck_assert_msg(again.status == 1, "%s\n%s", line, again.out);
    /* exactly one coordinate of one block, and it fails */
    size_t rows = count_of(again.out, " FAIL\n") + count_of(again.out, " PASS\n");
    ck_assert_msg(rows == 1 && strstr(again.out, " 1 ") &&
                      strstr(again.out, " FAIL\n"),
                  "%s", again.out);
    run_free(&again);
    run_free(&r);
  }
}
END_TEST

/* ---- bad input: one line, the documented status ------------------------- */

START_TEST(bad_arguments_exit_2)
{
  expect_error(GC("no_such_plugin"), 2, "no_such_plugin");
  expect_error(GC("/nonexistent/dir/x.so"), 2, "/nonexistent/dir/x.so");
  expect_error(GC("mlp", "--seed", "abc"), 2, "--seed");
  expect_error(GC("mlp", "--seed", "-3"), 2, "--seed");
  expect_error(GC("mlp", "--samples", "1x"), 2, "--samples");
  expect_error(GC("mlp", "--h", "0"), 2, "--h");
  expect_error(GC("mlp", "--h", "nan"), 2, "--h");
  expect_error(GC("mlp", "--part", "both"), 2, "--part");
  expect_error(GC("mlp", "--index", "3"), 2, "--block");
  expect_error(GC("mlp", "--block", "W9"), 2, "W9");
  expect_error(GC("mlp", "--block", "W1", "--index", "999999"), 2, "999999");
  expect_error(GC("mlp", "--json", "--tap"), 2, "--json");
  expect_error(GC("mlp", "--bogus"), 2, "--bogus");
  expect_error(GC("mlp", "extra"), 2, "one PLUGIN");
  expect_error(run_tool("gradcheck", (const char *const[]){"gradcheck", NULL}),
               2, "no PLUGIN");
  expect_error(GC("mlp", "--args", "layers=2,x,3"), 2, "layers");
  expect_error(GC("mlp", "--args", "nosuchkey=1"), 2, "nosuchkey");
  expect_error(GC("bad name!"), 2, "bad name!");
}
END_TEST

START_TEST(bad_plugins_exit_2_misbehaving_exit_3)
{
  char *dir = make_tmpdir();
  char fake[4200];
  snprintf(fake, sizeof fake, "%s/fake.so", dir);
  FILE *f = fopen(fake, "w");
  fputs("not an ELF file\n", f);
  fclose(f);
  expect_error(GC(fake), 2, "cannot load");
  expect_error(GC(test_plugin("abi_future")), 2, "version 99");
  run_result r = GC(test_plugin("abi_future"));
  ck_assert(strstr(r.err, "speaks version 1"));
  run_free(&r);
  expect_error(GC(test_plugin("no_entry")), 2, "no entry point nnc_plugin_entry");
  expect_error(GC(test_plugin("missing_loss")), 2, "'loss'");
  expect_error(GC(test_plugin("tiny_size")), 2, "size 16");
  expect_error(GC(test_plugin("create_fails")), 2, "refuses to start");
  expect_error(GC(test_plugin("nan_loss")), 3, "loss() returned nan");
  expect_error(GC(test_plugin("nan_grad")), 3, "block 'w' at index 1");
  unlink(fake);
  rmdir(dir);
  free(dir);
}
END_TEST

START_TEST(plugin_search_path)
{
  /* a name resolves through $NNCHECK_PLUGIN_PATH ... */
  char dirs[8192];
  snprintf(dirs, sizeof dirs, "%s", test_plugin("x"));
  *strrchr(dirs, '/') = 0;
  setenv("NNCHECK_PLUGIN_PATH", dirs, 1);
  run_result r = GC("tiny_grad");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  unsetenv("NNCHECK_PLUGIN_PATH");
  /* ... and bundled names resolve in the build tree without it */
  r = GC("tiny_grad");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  r = GC("mlp");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
}
END_TEST

START_TEST(help_lists_every_option_and_exit_status)
{
  run_result r = GC("--help");
  ck_assert_int_eq(r.status, 0);
  const char *opts[] = {"--args", "--seed", "--examples", "--samples",
                        "--burn-in", "--h", "--sweep-h", "--part", "--block",
                        "--index", "--eval", "--reg-warn", "--json", "--tap", "--dumb",
                        "--plots", "--list", "--help", "Exit status",
                        "  0 ", "  1 ", "  2 ", "  3 "};
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
    ck_assert_msg(strstr(r.out, opts[i]), "--help lacks %s", opts[i]);
  run_free(&r);
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"fixtures", every_bundled_plugin_at_defaults},
      {"bug_locations", each_bug_shows_where_it_is},
      {"transposed", square_weight_transposed},
      {"no_dx", layer_never_writing_dx_is_a_contract_breach},
      {"burn_in", burn_in_reveals_what_the_first_iteration_hides},
      {"dropout_seed", dropout_checked_under_a_forced_seed},
      {"reg_apart", regularization_checked_apart_from_data},
      {"every_block", every_block_sampled_first_last_and_spread},
      {"few_datapoints", few_datapoints_said_and_settable},
      {"float32", float32_said_and_checked_with_float_tolerances},
      {"tiny", tiny_values_warned},
      {"bands", bands_printed_and_relaxed_with_depth},
      {"kinks", kinks_recognised_by_winners},
      {"sweep_plots", step_sweep_and_plots},
      {"no_gnuplot", plots_without_gnuplot_still_write_data_and_scripts},
      {"dumb", plots_as_text_on_request},
      {"determinism", same_seed_same_bytes},
      {"json_tap", json_and_tap},
      {"reproduce", reproduce_line_reproduces},
      {"bad_arguments", bad_arguments_exit_2},
      {"bad_plugins", bad_plugins_exit_2_misbehaving_exit_3},
      {"search_path", plugin_search_path},
      {"help", help_lists_every_option_and_exit_status},
  };
  return run_cases("gradcheck", cases, sizeof cases / sizeof *cases, 600,
                   CK_ENV);
}
