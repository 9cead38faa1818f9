/* The sanity tool, run for real on real dlopen'ed plugins: every bundled
 * plugin and fixture with the exit fixtures/expect.tsv expects, each check
 * shown catching its fixture and passing its twin at several seeds, the
 * plots opened and read, the text (dumb) plots, a missing gnuplot, the
 * reports and every documented exit status. */
#include "config.h"
#include "testutil.h"
#include <nncheck/nncheck.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAN(...) RUN("sanity", __VA_ARGS__)

static const char *const CHECKS[] = {"chance", "reg", "overfit", "baseline",
                                     "init"};
#define NCHECKS (sizeof CHECKS / sizeof *CHECKS)

/* The verdict word in the table row of a check ("MISSING" if none). */
static const char *verdict_of(const char *out, const char *check)
{
  static char v[32];
  char pat[64];
  snprintf(pat, sizeof pat, "\n%-9s ", check);
  const char *p = strstr(out, pat);
  if (!p || sscanf(p + strlen(pat), "%31s", v) != 1)
    return "MISSING";
  return v;
}

/* The detail paragraph of a check ("check: ..."), up to its newline. */
static char *detail_of(const char *out, const char *check)
{
  static char line[4096];
  char pat[64];
  snprintf(pat, sizeof pat, "\n%s: ", check);
  const char *p = strstr(out, pat);
  if (!p)
    return "";
  p += strlen(pat);
  size_t n = strcspn(p, "\n");
  if (n >= sizeof line)
    n = sizeof line - 1;
  memcpy(line, p, n);
  line[n] = 0;
  return line;
}

/* ---- fixtures/expect.tsv --------------------------------------------------- */

typedef struct expect_row {
  char fixture[128], tool[32], check[64];
  int exit;
} expect_row;

static size_t tsv_read(expect_row *rows, size_t cap)
{
  const char *src = getenv("NNC_SRCDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/fixtures/expect.tsv", src && *src ? src : ".");
  char *text = read_file(path, NULL);
  ck_assert_msg(text, "cannot read %s", path);
  size_t n = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#' || !line[0])
      continue;
    ck_assert_msg(n < cap, "expect.tsv: too many rows");
    expect_row *r = &rows[n];
    char extra;
    ck_assert_msg(count_of(line, "\t") == 3, "expect.tsv: not four tab-"
                                             "separated columns: %s", line);
    ck_assert_msg(sscanf(line, "%127[^\t]\t%31[^\t]\t%d\t%63[^\t]%c",
                         r->fixture, r->tool, &r->exit, r->check,
                         &extra) == 4,
                  "expect.tsv: bad row: %s", line);
    ck_assert_msg(!strncmp(r->fixture, "bug_", 4),
                  "expect.tsv: %s is not a bug_ fixture", r->fixture);
    ck_assert_msg(r->exit >= 0 && r->exit <= 3, "expect.tsv: exit %d",
                  r->exit);
    for (size_t k = 0; k < n; k++)
      ck_assert_msg(strcmp(rows[k].fixture, r->fixture) ||
                        strcmp(rows[k].tool, r->tool),
                    "expect.tsv: %s %s twice", r->fixture, r->tool);
    n++;
  }
  free(text);
  return n;
}

/* The exit a tool must give on a plugin, and the check to name (NULL). */
static int tsv_exit(const expect_row *rows, size_t n, const char *name,
                         const char *tool, const char **check)
{
  *check = NULL;
  for (size_t k = 0; k < n; k++)
    if (!strcmp(rows[k].fixture, name) && !strcmp(rows[k].tool, tool)) {
      if (strcmp(rows[k].check, "-"))
        *check = rows[k].check;
      return rows[k].exit;
    }
  return !strncmp(name, "bug_", 4) && !strcmp(tool, "gradcheck") ? 1 : 0;
}

typedef struct listing {
  char name[128], kind[16];
} listing;

static size_t list_plugins(const char *tool, listing *v, size_t cap)
{
  run_result r = run_tool(tool, (const char *const[]){tool, "--list", NULL});
  ck_assert_int_eq(r.status, 0);
  size_t n = 0;
  char *save = NULL;
  for (char *line = strtok_r(r.out, "\n", &save); line && n < cap;
       line = strtok_r(NULL, "\n", &save)) {
    char *t1 = strchr(line, '\t');
    ck_assert_msg(t1 && strchr(t1 + 1, '\t'), "--list line: %s", line);
    *t1 = 0;
    *strchr(t1 + 1, '\t') = 0;
    snprintf(v[n].name, sizeof v[n].name, "%s", line);
    snprintf(v[n].kind, sizeof v[n].kind, "%s", t1 + 1);
    n++;
  }
  run_free(&r);
  return n;
}

START_TEST(every_plugin_exits_as_expect_tsv_says)
{
  static expect_row rows[256];
  static listing v[256], g[256];
  size_t nrows = tsv_read(rows, 256);
  size_t n = list_plugins("sanity", v, 256);
  /* the same plugins as gradcheck lists */
  ck_assert_uint_eq(list_plugins("gradcheck", g, 256), n);
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(v[i].name, g[i].name);
  /* every row names a bundled fixture with a correct twin */
  for (size_t k = 0; k < nrows; k++) {
    int found = 0, twin = 0;
    for (size_t i = 0; i < n; i++) {
      found |= !strcmp(v[i].name, rows[k].fixture);
      twin |= !strcmp(v[i].name, twin_of(rows[k].fixture));
    }
    ck_assert_msg(found, "expect.tsv names %s, which is not bundled",
                  rows[k].fixture);
    ck_assert_msg(twin, "%s has no twin %s", rows[k].fixture,
                  twin_of(rows[k].fixture));
  }
  size_t nets = 0, caught = 0;
  for (size_t i = 0; i < n; i++) {
    const char *check;
    int want = tsv_exit(rows, nrows, v[i].name, "sanity", &check);
    run_result r = SAN(v[i].name, "--seed", "1");
    ck_assert_msg(r.status == want,
                  "sanity %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s",
                  v[i].name, r.status, want, r.out, r.err);
    if (check) {
      const char *vd = verdict_of(r.out, check);
      ck_assert_msg(!strcmp(vd, want == 3 ? "ERROR" : "FAIL"),
                    "sanity %s: check %s is %s\n%s", v[i].name, check, vd,
                    r.out);
      caught++;
    }
    if (!strcmp(v[i].kind, "layer")) {
      /* a layer: every check skipped, saying why */
      for (size_t c = 0; c < NCHECKS; c++)
        ck_assert_str_eq(verdict_of(r.out, CHECKS[c]), "SKIP");
      ck_assert_msg(strstr(r.out, "sanity checks need a net"), "%s", r.out);
    } else {
      nets++;
    }
    if (want == 3)
      ck_assert_msg(count_of(r.err, "\n") == 1 &&
                        !strncmp(r.err, "sanity: ", 8),
                    "%s: stderr not one line: %s", v[i].name, r.err);
    run_free(&r);
  }
  ck_assert_uint_ge(nets, 40);
  ck_assert_uint_ge(caught, 9);
}
END_TEST

/* ---- each check on the bug it is for, and on the twin ---------------------- */

static const struct {
  const char *fixture, *check, *words;
} CAUGHT[] = {
    {"bug_loss_offset", "chance", "higher than at chance"},
    {"bug_reg_not_added", "reg", "not added to the loss"},
    {"bug_reg_sign", "reg", "wrong sign"},
    {"bug_tanh_saturated_init", "init", "saturated for most examples"},
    {"bug_relu_dead_init", "init", "negative bias init"},
    {"bug_grad_sign", "overfit", "went UP at every learning rate"},
};

START_TEST(each_check_catches_its_bug_and_passes_its_twin)
{
  for (size_t i = 0; i < sizeof CAUGHT / sizeof *CAUGHT; i++)
    for (int s = 1; s <= 10; s++) {
      char seed[8];
      snprintf(seed, sizeof seed, "%d", s);
      run_result r = SAN(CAUGHT[i].fixture, "--seed", seed);
      ck_assert_msg(r.status == 1, "%s seed %d: exit %d\n%s",
                    CAUGHT[i].fixture, s, r.status, r.out);
      ck_assert_msg(!strcmp(verdict_of(r.out, CAUGHT[i].check), "FAIL"),
                    "%s seed %d: %s is %s\n%s", CAUGHT[i].fixture, s,
                    CAUGHT[i].check, verdict_of(r.out, CAUGHT[i].check),
                    r.out);
      ck_assert_msg(strstr(detail_of(r.out, CAUGHT[i].check),
                           CAUGHT[i].words),
                    "%s: '%s' not in the %s detail\n%s", CAUGHT[i].fixture,
                    CAUGHT[i].words, CAUGHT[i].check, r.out);
      ck_assert_msg(strstr(r.out, "reproduce: sanity "), "%s", r.out);
      run_free(&r);
      /* the twin passes every check */
      const char *twin = twin_of(CAUGHT[i].fixture);
      r = SAN(twin, "--seed", seed);
      ck_assert_msg(r.status == 0, "%s seed %d: exit %d\n%s", twin, s,
                    r.status, r.out);
      for (size_t c = 0; c < NCHECKS; c++)
        ck_assert_msg(!strcmp(verdict_of(r.out, CHECKS[c]), "PASS"),
                      "%s seed %d: %s is %s\n%s", twin, s, CHECKS[c],
                      verdict_of(r.out, CHECKS[c]), r.out);
      run_free(&r);
    }
}
END_TEST

START_TEST(the_bundled_nets_pass_at_ten_seeds)
{
  const char *nets[] = {"mlp", "mlp_dropout", "mlp_f32", "mlp_relu_kinks",
                        "mlp_svm", "mlp_tanh6"};
  for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
    for (int s = 1; s <= 10; s++) {
      char seed[8];
      snprintf(seed, sizeof seed, "%d", s);
      run_result r = SAN(nets[i], "--seed", seed);
      ck_assert_msg(r.status == 0, "%s seed %d\n%s", nets[i], s, r.out);
      for (size_t c = 0; c < NCHECKS; c++) {
        const char *v = verdict_of(r.out, CHECKS[c]);
        ck_assert_msg(!strcmp(v, "PASS") || !strcmp(v, "WARN"),
                      "%s seed %d: %s is %s\n%s", nets[i], s, CHECKS[c], v,
                      r.out);
      }
      run_free(&r);
    }
}
END_TEST

/* ---- what each check prints -------------------------------------------------- */

START_TEST(expected_beside_measured)
{
  run_result r = SAN("mlp");
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, "expected") && strstr(r.out, "measured"), "%s",
                r.out);
  /* ln 3 and its tolerance from the spread of per-example losses */
  ck_assert_msg(strstr(r.out, "1.09861 +- "), "%s", r.out);
  const char *d = detail_of(r.out, "chance");
  ck_assert_msg(strstr(d, "evaluated one by one") &&
                    strstr(d, "standard error") && strstr(d, "scale 0.0001"),
                "%s", d);
  ck_assert_msg(strstr(detail_of(r.out, "reg"), "0, 0.001, 0.1, 10"), "%s",
                r.out);
  ck_assert_msg(strstr(detail_of(r.out, "overfit"), "20 seeded training "
                                                    "examples"),
                "%s", r.out);
  ck_assert_msg(strstr(detail_of(r.out, "baseline"), "label entropy"), "%s",
                r.out);
  ck_assert_msg(strstr(detail_of(r.out, "init"), "sqrt(2/fan_in)"), "%s",
                r.out);
  run_free(&r);
  /* the loss off by exactly the constant */
  r = SAN("bug_loss_offset");
  ck_assert_msg(strstr(r.out, "2.09861 (off by 1)"), "%s", r.out);
  /* ... which also keeps the loss from 0 with every example right */
  ck_assert_msg(strstr(detail_of(r.out, "overfit"), "a constant added"),
                "%s", r.out);
  run_free(&r);
  /* the chain shows where it fails to rise */
  r = SAN("bug_reg_sign");
  ck_assert_msg(strstr(r.out, " !< "), "%s", r.out);
  run_free(&r);
  /* the weight scale that caused the saturation */
  r = SAN("bug_tanh_saturated_init");
  d = detail_of(r.out, "init");
  ck_assert_msg(strstr(d, "fed by W1 of RMS") &&
                    strstr(d, "sqrt(1/fan_in) for its fan-in: 0.25") &&
                    strstr(d, "times the notes' scale"),
                "%s", d);
  run_free(&r);
  r = SAN("bug_relu_dead_init");
  ck_assert_msg(strstr(detail_of(r.out, "init"), "b1 of mean -5"), "%s",
                r.out);
  run_free(&r);
}
END_TEST

START_TEST(missing_callbacks_skip_with_a_reason)
{
  /* no net_info at all */
  run_result r = SAN("example_net");
  ck_assert_int_eq(r.status, 0);
  for (size_t c = 0; c < NCHECKS; c++)
    ck_assert_str_eq(verdict_of(r.out, CHECKS[c]), "SKIP");
  ck_assert_msg(strstr(detail_of(r.out, "chance"), "no class count"), "%s",
                r.out);
  ck_assert_msg(strstr(detail_of(r.out, "reg"), "set_hyper"), "%s", r.out);
  ck_assert_msg(strstr(detail_of(r.out, "init"), "probe"), "%s", r.out);
  run_free(&r);
  /* a linear SVM without predict, reinit, set_hyper or zero inputs */
  r = SAN("ok_svm_margin_count");
  ck_assert_int_eq(r.status, 0);
  ck_assert_str_eq(verdict_of(r.out, "chance"), "PASS");
  ck_assert_msg(strstr(detail_of(r.out, "chance"), "margin x (C-1)"), "%s",
                r.out);
  ck_assert_msg(strstr(detail_of(r.out, "overfit"), "no predict()"), "%s",
                r.out);
  ck_assert_msg(strstr(detail_of(r.out, "baseline"), "NNC_CAP_ZERO_INPUT"),
                "%s", r.out);
  run_free(&r);
  /* a layer */
  r = SAN("conv2d", "--json");
  ck_assert_int_eq(r.status, 0);
  ck_assert(json_valid(r.out));
  ck_assert_uint_eq(count_of(r.out, "\"verdict\": \"SKIP\""), NCHECKS);
  ck_assert_msg(strstr(r.out, "sanity checks need a net"), "%s", r.out);
  run_free(&r);
}
END_TEST

START_TEST(slow_learning_warns_and_passes)
{
  /* inputs scaled to 2e-4: no rate overfits within the budget, the best
   * one does within the extended one */
  run_result r = SAN("ok_reg_masks_data");
  ck_assert_msg(r.status == 0, "%s", r.out);
  ck_assert_str_eq(verdict_of(r.out, "overfit"), "WARN");
  ck_assert_msg(strstr(detail_of(r.out, "overfit"), "learns, slowly"), "%s",
                r.out);
  run_free(&r);
  /* and the budget is an option */
  r = SAN("ok_reg_masks_data", "--check", "overfit", "--epochs", "3000");
  ck_assert_msg(r.status == 0, "%s", r.out);
  ck_assert_str_eq(verdict_of(r.out, "overfit"), "PASS");
  ck_assert_str_eq(verdict_of(r.out, "chance"), "SKIP");
  run_free(&r);
}
END_TEST

START_TEST(short_of_the_target_the_gradient_decides)
{
  /* one hidden unit cannot memorise 20 examples of 3 classes: training
   * stops at a real minimum, where the gradient agrees with the loss */
  for (int s = 1; s <= 5; s++) {
    char seed[8];
    snprintf(seed, sizeof seed, "%d", s);
    run_result r = SAN("ok_grad_sign", "--args", "H=1", "--check", "overfit",
                       "--seed", seed);
    ck_assert_msg(r.status == 0, "seed %d\n%s", s, r.out);
    ck_assert_str_eq(verdict_of(r.out, "overfit"), "WARN");
    ck_assert_msg(strstr(detail_of(r.out, "overfit"), "a real minimum"),
                  "%s", r.out);
    run_free(&r);
  }
  /* a wrong gradient stalls where it disagrees with the loss */
  for (int s = 1; s <= 5; s++) {
    char seed[8];
    snprintf(seed, sizeof seed, "%d", s);
    run_result r = SAN("bug_softmax_no_minus1", "--check", "overfit",
                       "--seed", seed);
    ck_assert_msg(r.status == 1, "seed %d\n%s", s, r.out);
    ck_assert_msg(strstr(detail_of(r.out, "overfit"),
                         "is not the gradient of this loss"),
                  "%s", r.out);
    run_free(&r);
  }
  /* every example right but the loss held up: a floor in the loss */
  run_result r = SAN("bug_loss_offset", "--check", "overfit", "--json");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "a constant added to it") &&
                    strstr(r.out, "the gradient is right"),
                "%s", r.out);
  run_free(&r);
}
END_TEST

/* The mlp plugin zeroes its inputs on request: examples then differ only
 * by their label. */
START_TEST(mlp_honours_zero_input)
{
  nnc_model *m;
  char err[512];
  ck_assert_int_eq(nnc_model_load("mlp", "", &m, err, sizeof err), NNC_OK);
  nnc_net_info ni;
  ck_assert_int_eq(nnc_model_net_info(m, &ni), NNC_OK);
  ck_assert(ni.caps & NNC_CAP_ZERO_INPUT);
  size_t idx[64];
  for (size_t k = 0; k < 64; k++)
    idx[k] = k;
  double lz[64], lr[64];
  for (size_t k = 0; k < 64; k++) {
    nnc_batch b = {&idx[k], 1, NNC_SPLIT_TRAIN, 0};
    ck_assert_int_eq(nnc_model_loss(m, &b, 1, NNC_F_DATA | NNC_F_ZERO_INPUT,
                                    &lz[k]),
                     NNC_OK);
    ck_assert_int_eq(nnc_model_loss(m, &b, 1, NNC_F_DATA, &lr[k]), NNC_OK);
  }
  /* with zeroed inputs the scores are the same for every example, so the
   * losses take one value per class: at most 3 distinct values */
  double seen[64];
  size_t nseen = 0, distinct_real = 0;
  for (size_t k = 0; k < 64; k++) {
    size_t j = 0;
    while (j < nseen && seen[j] != lz[k])
      j++;
    if (j == nseen)
      seen[nseen++] = lz[k];
    distinct_real += k && lr[k] != lr[k - 1];
  }
  ck_assert_uint_le(nseen, 3);
  ck_assert_uint_gt(distinct_real, 30);
  /* and its gradient: W1 (fed by the zeros) gets none, the output bias
   * (which can learn the class frequencies) does */
  nnc_batch b = {idx, 64, NNC_SPLIT_TRAIN, 0};
  double loss;
  ck_assert_int_eq(nnc_model_loss(m, &b, 1, NNC_F_DATA | NNC_F_ZERO_INPUT,
                                  &loss),
                   NNC_OK);
  ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
  ck_assert(nnc_model_grad_norm(m, 0) == 0);
  ck_assert(nnc_model_grad_norm(m, 3) > 0);
  nnc_model_close(m);
}
END_TEST

/* ---- plots ------------------------------------------------------------------ */

/* A tiny XML well-formedness check: every element closed in order, tags,
 * comments, processing instructions and CDATA terminated. */
static int xml_well_formed(const char *s)
{
  char stack[64][64];
  int depth = 0, root = 0;
  while ((s = strchr(s, '<'))) {
    if (!strncmp(s, "<?", 2) || !strncmp(s, "<!--", 4) ||
        !strncmp(s, "<![CDATA[", 9) || !strncmp(s, "<!", 2)) {
      const char *end = !strncmp(s, "<?", 2)      ? strstr(s, "?>")
                        : !strncmp(s, "<!--", 4)  ? strstr(s, "-->")
                        : !strncmp(s, "<![", 3)   ? strstr(s, "]]>")
                                                  : strchr(s, '>');
      if (!end)
        return 0;
      s = end + 1;
      continue;
    }
    const char *end = s + 1;
    char quote = 0;
    for (; *end && (quote || *end != '>'); end++)
      if (*end == '"' || *end == '\'')
        quote = quote == *end ? 0 : quote ? quote : *end;
    if (!*end)
      return 0;
    char name[64];
    int closing = s[1] == '/';
    if (sscanf(s + 1 + closing, "%63[^ \t\n/>]", name) != 1)
      return 0;
    if (closing) {
      if (!depth || strcmp(stack[depth - 1], name))
        return 0;
      depth--;
    } else if (end[-1] != '/') {
      if (depth == 64 || (depth == 0 && root++))
        return 0;
      snprintf(stack[depth++], sizeof stack[0], "%s", name);
    }
    s = end + 1;
  }
  return depth == 0 && root == 1;
}

/* Data lines (not comments, not blank) of block `index` of a .dat file. */
static size_t dat_rows(const char *dat, int index)
{
  char pat[32];
  snprintf(pat, sizeof pat, "# index %d:", index);
  const char *p = strstr(dat, pat);
  if (!p)
    return 0;
  size_t n = 0;
  p = strchr(p, '\n');
  while (p && p[1] && p[1] != '\n') {
    p++;
    if (*p != '#')
      n++;
    p = strchr(p, '\n');
  }
  return n;
}

static char *file_in(const char *dir, const char *name, const char *ext,
                     size_t *len)
{
  char path[4300];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  return read_file(path, len);
}

START_TEST(plots_written_and_readable)
{
  char *dir = make_tmpdir();
  run_result r = SAN("mlp", "--plots", dir, "--json");
  ck_assert_msg(r.status == 0, "%s\n%s", r.out, r.err);
  ck_assert_str_eq(r.err, "");
  const char *names[] = {"sanity_chance", "sanity_reg", "sanity_overfit",
                         "sanity_baseline", "sanity_init"};
  for (size_t i = 0; i < 5; i++) {
    size_t len;
    char *png = file_in(dir, names[i], "png", &len);
    ck_assert_msg(png && len > 1000, "%s.png missing or small", names[i]);
    ck_assert(!memcmp(png, "\x89PNG\r\n\x1a\n", 8));
    ck_assert(!memcmp(png + 12, "IHDR", 4));
    ck_assert_msg(be32((unsigned char *)png + 16) == 900 &&
                      be32((unsigned char *)png + 20) == 600,
                  "%s.png is not 900 x 600", names[i]);
    free(png);
    char *svg = file_in(dir, names[i], "svg", NULL);
    ck_assert_msg(svg && strstr(svg, "<svg") && xml_well_formed(svg),
                  "%s.svg does not parse", names[i]);
    free(svg);
    char *gp = file_in(dir, names[i], "gp", NULL);
    ck_assert_msg(gp && strstr(gp, names[i]), "%s.gp", names[i]);
    ck_assert_msg(!strstr(gp, dir), "%s.gp names the directory", names[i]);
    free(gp);
  }
  /* the series are in the data: the overfit curve holds one row per epoch
   * of the run (as many as the JSON says), on a log axis in epochs */
  const char *ep = strstr(r.out, "\"runs\": [");
  ck_assert_ptr_nonnull(ep);
  ep = strstr(ep, "\"epochs\": ");
  ck_assert_ptr_nonnull(ep);
  size_t epochs = strtoul(ep + 10, NULL, 10);
  char *dat = file_in(dir, "sanity_overfit", "dat", NULL);
  ck_assert_msg(strstr(dat, "# index 0: series 0: Adam lr 0.01"), "%s", dat);
  ck_assert_uint_eq(dat_rows(dat, 0), epochs + 1);
  free(dat);
  char *gp = file_in(dir, "sanity_overfit", "gp", NULL);
  ck_assert(strstr(gp, "set logscale y") && strstr(gp, "\"epoch\""));
  free(gp);
  /* the reg plot: one row per strength for the loss and its parts */
  dat = file_in(dir, "sanity_reg", "dat", NULL);
  for (int s = 0; s < 3; s++)
    ck_assert_uint_eq(dat_rows(dat, s), 4);
  free(dat);
  /* the chance plot: every per-example loss */
  dat = file_in(dir, "sanity_chance", "dat", NULL);
  ck_assert_uint_eq(dat_rows(dat, 0), 100);
  free(dat);
  /* the baseline: real and zeroed inputs */
  dat = file_in(dir, "sanity_baseline", "dat", NULL);
  ck_assert_msg(strstr(dat, "real inputs") && strstr(dat, "zeroed inputs"),
                "%s", dat);
  ck_assert_uint_ge(dat_rows(dat, 1), 2);
  free(dat);
  run_free(&r);
  free(dir);
}
END_TEST

START_TEST(dumb_terminal_plots_as_text)
{
  run_result r = SAN("bug_grad_sign", "--dumb");
  ck_assert_int_eq(r.status, 1);
  const char *t = strstr(r.out, "\nsanity_overfit: ");
  ck_assert_msg(t, "no text plot\n%s", r.out);
  ck_assert_msg(strstr(t, "epoch") && strstr(t, "Adam lr 0.01") &&
                    strstr(t, "+-----"),
                "%s", t);
  for (size_t i = 0; i < 5; i++) {
    char pat[64];
    snprintf(pat, sizeof pat, "\nsanity_%s: ", CHECKS[i]);
    ck_assert_msg(strstr(r.out, pat), "no %s\n%s", pat, r.out);
  }
  /* the report comes first, unchanged */
  run_result plain = SAN("bug_grad_sign");
  ck_assert(!strncmp(r.out, plain.out, strlen(plain.out)));
  run_free(&plain);
  /* same seed, same text */
  run_result again = SAN("bug_grad_sign", "--dumb");
  ck_assert_str_eq(r.out, again.out);
  run_free(&again);
  run_free(&r);
  /* text plots belong to the text report */
  r = SAN("mlp", "--dumb", "--json");
  ck_assert_int_eq(r.status, 2);
  ck_assert_msg(strstr(r.err, "--dumb") && count_of(r.err, "\n") == 1, "%s",
                r.err);
  run_free(&r);
}
END_TEST

START_TEST(missing_gnuplot_still_writes_data_and_scripts)
{
  char *dir = make_tmpdir();
  setenv("NNCHECK_GNUPLOT", "/nonexistent/gnuplot", 1);
  run_result r = SAN("mlp", "--plots", dir);
  run_result d = SAN("mlp", "--dumb");
  unsetenv("NNCHECK_GNUPLOT");
  /* the checks stand: exit 0, one warning line saying how to render */
  ck_assert_msg(r.status == 0, "%s\n%s", r.out, r.err);
  ck_assert_msg(count_of(r.err, "\n") == 1 && strstr(r.err, "/nonexistent"),
                "%s", r.err);
  char want[4300];
  snprintf(want, sizeof want, "`cd %s && gnuplot sanity_chance.gp && gnuplot "
                              "sanity_reg.gp && gnuplot sanity_overfit.gp && "
                              "gnuplot sanity_baseline.gp && gnuplot "
                              "sanity_init.gp`",
           dir);
  ck_assert_msg(strstr(r.err, want), "no '%s' in\n%s", want, r.err);
  const char *names[] = {"sanity_chance", "sanity_reg", "sanity_overfit",
                         "sanity_baseline", "sanity_init"};
  for (size_t i = 0; i < 5; i++) {
    char *f = file_in(dir, names[i], "dat", NULL);
    ck_assert_msg(f, "%s.dat missing", names[i]);
    free(f);
    ck_assert_ptr_nonnull(f = file_in(dir, names[i], "gp", NULL));
    free(f);
    ck_assert_ptr_null(f = file_in(dir, names[i], "png", NULL));
  }
  /* the advice works once gnuplot is there */
  for (size_t i = 0; i < 5; i++) {
    char script[64];
    snprintf(script, sizeof script, "%s.gp", names[i]);
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    run_result g = run_prog(NNC_GNUPLOT, (const char *const[]){"gnuplot",
                                                               script, NULL});
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_msg(g.status == 0, "%s: %s", script, g.err);
    run_free(&g);
    size_t len;
    char *png = file_in(dir, names[i], "png", &len);
    ck_assert_msg(png && len > 1000 && !memcmp(png, "\x89PNG", 4),
                  "%s.png not rendered by hand", names[i]);
    free(png);
  }
  run_free(&r);
  /* the text plots: a warning, the report as ever */
  ck_assert_msg(d.status == 0, "%s", d.err);
  ck_assert_msg(strstr(d.err, "--dumb: ") && count_of(d.err, "\n") == 1,
                "%s", d.err);
  ck_assert_ptr_null(strstr(d.out, "\nsanity_overfit: "));
  run_free(&d);
  free(dir);
}
END_TEST

/* ---- reports ------------------------------------------------------------------ */

START_TEST(same_seed_same_bytes)
{
  const char *p[] = {"mlp_dropout", "bug_grad_sign", "ok_relu_dead_init"};
  for (size_t i = 0; i < 3; i++) {
    run_result a = SAN(p[i], "--seed", "7", "--json");
    run_result b = SAN(p[i], "--seed", "7", "--json");
    run_result c = SAN(p[i], "--seed", "8", "--json");
    ck_assert_str_eq(a.out, b.out);
    ck_assert_str_ne(a.out, c.out);
    run_free(&a);
    run_free(&b);
    run_free(&c);
    a = SAN(p[i], "--seed", "7");
    b = SAN(p[i], "--seed", "7");
    ck_assert_str_eq(a.out, b.out);
    run_free(&a);
    run_free(&b);
  }
}
END_TEST

START_TEST(json_and_tap)
{
  const char *p[] = {"mlp", "bug_loss_offset", "bug_accumulate"};
  const int status[] = {0, 1, 3};
  for (int i = 0; i < 3; i++) {
    run_result r = SAN(p[i], "--json");
    ck_assert_int_eq(r.status, status[i]);
    ck_assert_msg(json_valid(r.out), "%s: invalid JSON\n%s", p[i], r.out);
    ck_assert(strstr(r.out, "\"tool\": \"sanity\""));
    ck_assert_uint_eq(count_of(r.out, "\"expected\": \""), NCHECKS);
    ck_assert_uint_eq(count_of(r.out, "\"measured\": \""), NCHECKS);
    char want[32];
    snprintf(want, sizeof want, "\"exit\": %d", status[i]);
    ck_assert_msg(strstr(r.out, want), "%s", r.out);
    run_free(&r);
    r = SAN(p[i], "--tap");
    ck_assert_int_eq(r.status, status[i]);
    unsigned plan = 0;
    ck_assert(sscanf(strstr(r.out, "1.."), "1..%u", &plan) == 1);
    size_t nok = count_of(r.out, "\nok "), nnot = count_of(r.out, "\nnot ok ");
    ck_assert_uint_eq(nok + nnot, plan);
    ck_assert_msg(status[i] ? nnot > 0 : nnot == 0, "%s", r.out);
    run_free(&r);
  }
  run_result r = SAN("example_net", "--tap");
  ck_assert_uint_eq(count_of(r.out, "# SKIP"), NCHECKS);
  run_free(&r);
  r = SAN("bug_loss_offset", "--json");
  ck_assert_msg(strstr(r.out, "\"name\": \"chance\", \"verdict\": \"FAIL\""),
                "%s", r.out);
  run_free(&r);
}
END_TEST

/* ---- bad input: one line, the documented status --------------------------- */

START_TEST(bad_arguments_exit_2_misbehaving_exit_3)
{
  expect_error(SAN("no_such_plugin"), 2, "no_such_plugin");
  expect_error(SAN("mlp", "--seed", "abc"), 2, "--seed");
  expect_error(SAN("mlp", "--subset", "1"), 2, "--subset");
  expect_error(SAN("mlp", "--epochs", "0"), 2, "--epochs");
  expect_error(SAN("mlp", "--sample", "x"), 2, "--sample");
  expect_error(SAN("mlp", "--check", "bogus"), 2, "bogus");
  expect_error(SAN("mlp", "--json", "--tap"), 2, "--json");
  expect_error(SAN("mlp", "--bogus"), 2, "--bogus");
  expect_error(SAN("mlp", "extra"), 2, "one PLUGIN");
  expect_error(run_tool("sanity", (const char *const[]){"sanity", NULL}), 2,
               "no PLUGIN");
  expect_error(SAN("mlp", "--args", "nosuchkey=1"), 2, "nosuchkey");
  expect_error(SAN(test_plugin("abi_future")), 2, "version 99");
  /* NaN from the plugin: exit 3, named */
  expect_error(SAN("ok_grad_sign", "--args", "xscale=1e308"), 3, "loss()");
  run_result r = SAN("ok_grad_sign", "--args", "xscale=1e308");
  ck_assert_msg(strstr(r.out, "verdict: ERROR (NNC_ENONFINITE) -- exit 3"),
                "%s", r.out);
  run_free(&r);
  /* a NaN gradient at the very first step is the plugin's, not a
   * divergence */
  r = SAN("bug_accumulate");
  ck_assert_int_eq(r.status, 3);
  ck_assert_msg(strstr(r.err, "first training step") &&
                    strstr(r.err, "block 'W1'"),
                "%s", r.err);
  run_free(&r);
}
END_TEST

START_TEST(help_lists_every_option_and_exit_status)
{
  run_result r = SAN("--help");
  ck_assert_int_eq(r.status, 0);
  const char *opts[] = {"--args", "--seed", "--check", "--sample", "--subset",
                        "--epochs", "--json", "--tap", "--plots", "--dumb",
                        "--list", "--help", "Exit status", "  0 ", "  1 ",
                        "  2 ", "  3 ", "[20]", "[300]", "[100]", "[1]"};
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
    ck_assert_msg(strstr(r.out, opts[i]), "--help lacks %s", opts[i]);
  for (size_t c = 0; c < NCHECKS; c++)
    ck_assert_msg(strstr(r.out, CHECKS[c]), "--help lacks %s", CHECKS[c]);
  run_free(&r);
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"expect_tsv", every_plugin_exits_as_expect_tsv_says},
      {"caught_and_twins", each_check_catches_its_bug_and_passes_its_twin},
      {"bundled_nets", the_bundled_nets_pass_at_ten_seeds},
      {"expected_measured", expected_beside_measured},
      {"skips", missing_callbacks_skip_with_a_reason},
      {"slow", slow_learning_warns_and_passes},
      {"stall_probe", short_of_the_target_the_gradient_decides},
      {"zero_input", mlp_honours_zero_input},
      {"plots", plots_written_and_readable},
      {"dumb", dumb_terminal_plots_as_text},
      {"no_gnuplot", missing_gnuplot_still_writes_data_and_scripts},
      {"determinism", same_seed_same_bytes},
      {"json_tap", json_and_tap},
      {"bad_input", bad_arguments_exit_2_misbehaving_exit_3},
      {"help", help_lists_every_option_and_exit_status},
  };
  return run_cases("sanity", cases, sizeof cases / sizeof *cases, 1200,
                   CK_ENV);
}
