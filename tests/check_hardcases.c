/* gradcheck on hard cases, through the real tool on real plugins: contract
 * audits, error-bar verdicts, kinks and ties, projection mode, coverage,
 * and every bundled plugin at twenty seeds.  Each behaviour is shown on a
 * plugin it must catch and a twin it must pass. */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <nncheck/nncheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC(...) RUN("gradcheck", __VA_ARGS__)

/* The verdict word of an audit line "  NAME  VERDICT detail". */
static const char *audit_of(const char *out, const char *name)
{
  static char v[32];
  char pat[64];
  snprintf(pat, sizeof pat, "\n  %s ", name);
  const char *p = strstr(out, pat);
  if (!p || sscanf(p + strlen(pat), "%31s", v) != 1)
    return "MISSING";
  return v;
}

/* The last field ("verdict") of the table row (part, block). */
static const char *row_verdict(const char *out, const char *part,
                               const char *block)
{
  static char line[1024];
  for (const char *p = out; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n < sizeof line) {
      memcpy(line, p, n);
      line[n] = 0;
      char a[64], b[128];
      if (sscanf(line, "%63s %127s", a, b) == 2 && !strcmp(a, part) &&
          !strcmp(b, block)) {
        const char *vs[] = {" INCONCLUSIVE", " FAIL", " WARN", " SKIP", " PASS"};
        for (int k = 0; k < 5; k++)
          if (strstr(line, vs[k]))
            return vs[k] + 1;
      }
    }
    p = e ? e + 1 : NULL;
  }
  return "MISSING";
}

/* ---- contract audits ----------------------------------------------------- */

static const struct {
  const char *fixture;
  int status;
  const char *audit; /* the audit that must name it */
  const char *words; /* and a phrase of its detail */
} AUDITED[] = {
    {"bug_forward_mutates", 3, "side-effects", "changed parameter block"},
    {"bug_backward_mutates_dy", 3, "side-effects", "wrote into dy"},
    {"bug_dropout_seedless", 3, "determinism", "ignores the seed"},
    {"bug_dropout_fixed_mask", 3, "seed", "three other seeds do not"},
    {"bug_accumulate", 3, "overwrite", "never add"},
    {"bug_writes_past_grad", 3, NULL, "past the end of the gradient buffer"},
    {"bug_no_dx", 3, "overwrite", "unwritten"},
    {"bug_clip_dy", 1, "linearity", "not linear in dy"},
    {"bug_examples_mixed", 1, "independence", "examples are mixed"},
    {"bug_norm_batchstats", 1, "independence", "examples are mixed"},
};

START_TEST(audits_name_each_breach)
{
  for (size_t i = 0; i < sizeof AUDITED / sizeof *AUDITED; i++) {
    run_result r = GC(AUDITED[i].fixture);
    ck_assert_msg(r.status == AUDITED[i].status, "%s: exit %d\n%s\n%s",
                  AUDITED[i].fixture, r.status, r.out, r.err);
    const char *text = AUDITED[i].status == 3 ? r.err : r.out;
    ck_assert_msg(strstr(text, AUDITED[i].words), "%s: '%s' not in\n%s",
                  AUDITED[i].fixture, AUDITED[i].words, text);
    if (AUDITED[i].audit)
      ck_assert_str_eq(audit_of(r.out, AUDITED[i].audit), "FAIL");
    if (AUDITED[i].status == 3)
      ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
    run_free(&r);
    const char *twin = twin_of(AUDITED[i].fixture);
    r = GC(twin);
    ck_assert_msg(r.status == 0, "%s: exit %d\n%s", twin, r.status, r.out);
    if (AUDITED[i].audit)
      ck_assert_str_eq(audit_of(r.out, AUDITED[i].audit), "PASS");
    run_free(&r);
  }
}
END_TEST

START_TEST(mixed_examples_pass_the_gradient_check)
{
  /* consistent gradients: no coordinate fails, only the audit sees it */
  run_result r = GC("bug_examples_mixed");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, ": 0 FAIL,"), "%s", r.out);
  ck_assert_msg(strstr(r.out, "audit independence FAILED"), "%s", r.out);
  ck_assert_msg(strstr(r.out, "reproduce: gradcheck bug_examples_mixed"), "%s",
                r.out);
  run_free(&r);
  /* a layer that declares its batch coupled is not held to independence */
  r = GC("batchnorm");
  ck_assert_msg(r.status == 0, "%s", r.out);
  ck_assert_str_eq(audit_of(r.out, "independence"), "SKIP");
  ck_assert_str_eq(audit_of(r.out, "linearity"), "PASS");
  run_free(&r);
}
END_TEST

START_TEST(inert_block_warns_and_strict_fails)
{
  run_result r = GC(test_plugin("inert_bug"));
  ck_assert_int_eq(r.status, 0);
  ck_assert_str_eq(audit_of(r.out, "inert"), "WARN");
  ck_assert_msg(strstr(r.out, "'gain'"), "%s", r.out);
  run_free(&r);
  r = GC(test_plugin("inert_bug"), "--strict");
  ck_assert_int_eq(r.status, 1);
  ck_assert_str_eq(audit_of(r.out, "inert"), "FAIL");
  run_free(&r);
  r = GC(test_plugin("inert_ok"), "--strict");
  ck_assert_int_eq(r.status, 0);
  ck_assert_str_eq(audit_of(r.out, "inert"), "PASS");
  run_free(&r);
}
END_TEST

START_TEST(roundoff_nondeterminism_warns_never_fails)
{
  run_result r = GC(test_plugin("roundoff"));
  ck_assert_msg(r.status == 0, "%s", r.out);
  ck_assert_str_eq(audit_of(r.out, "determinism"), "WARN");
  ck_assert_str_eq(audit_of(r.out, "seed"), "PASS");
  ck_assert_msg(strstr(r.out, "round-off level"), "%s", r.out);
  run_free(&r);
  r = GC(test_plugin("tiny_grad"));
  ck_assert_str_eq(audit_of(r.out, "determinism"), "PASS");
  run_free(&r);
}
END_TEST

/* ---- verdicts from error bars -------------------------------------------- */

START_TEST(noise_above_signal_is_inconclusive_not_pass)
{
  run_result r = GC(test_plugin("big_offset"));
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_null(strstr(r.out, " FAIL\n"));
  ck_assert_str_eq(row_verdict(r.out, "data", "w"), "INCONCLUSIVE");
  ck_assert_msg(strstr(r.out, "noise floor above the signal") &&
                    strstr(r.out, "scale the loss up"),
                "%s", r.out);
  ck_assert_msg(strstr(r.out, "verdict: INCONCLUSIVE"), "%s", r.out);
  run_free(&r);
  r = GC(test_plugin("big_offset"), "--strict");
  ck_assert_int_eq(r.status, 1);
  run_free(&r);
  /* the same function without the offset: a plain PASS */
  r = GC(test_plugin("tiny_grad"), "--strict");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
}
END_TEST

/* Sum of "checked" and the check_evals of a JSON report. */
static void eval_counts(const char *json, size_t *checked, size_t *evals)
{
  *checked = 0;
  const char *p = json;
  while ((p = strstr(p, "\"checked\": "))) {
    *checked += strtoul(p + 11, NULL, 10);
    p += 11;
  }
  const char *e = strstr(json, "\"check_evals\": ");
  *evals = e ? strtoul(e + 15, NULL, 10) : 0;
}

START_TEST(clear_coordinates_cost_two_evaluations)
{
  const char *p[] = {"mlp", "mlp_tanh6", "affine"};
  for (int i = 0; i < 3; i++) {
    run_result r = GC(p[i], "--json");
    size_t checked, evals;
    eval_counts(r.out, &checked, &evals);
    ck_assert_uint_gt(checked, 0);
    ck_assert_msg(evals <= 2 * checked + checked / 10,
                  "%s: %zu evaluations for %zu coordinates", p[i], evals,
                  checked);
    run_free(&r);
  }
  /* a doubtful one is escalated: h/2, h/4, Richardson, noise floor */
  run_result r = GC("bug_l2_factor2", "--json");
  ck_assert_msg(strstr(r.out, "\"escalated\": true"), "no escalation");
  run_free(&r);
}
END_TEST

START_TEST(float32_correct_nets_pass_and_inside_error_bars)
{
  const char *p[] = {"mlp_f32", "conv2d_f32"};
  for (int i = 0; i < 2; i++)
    for (int s = 1; s <= 5; s++) {
      char seed[8];
      snprintf(seed, sizeof seed, "%d", s);
      run_result r = GC(p[i], "--seed", seed);
      ck_assert_msg(r.status == 0, "%s seed %d\n%s", p[i], s, r.out);
      ck_assert_ptr_null(strstr(r.out, " FAIL\n"));
      run_free(&r);
    }
}
END_TEST

/* ---- kinks and ties ------------------------------------------------------- */

START_TEST(relu_on_exact_zeros_is_a_subgradient)
{
  const char *modes[2][2] = {{"relu_zeros", NULL}, {"relu_zeros", "--no-winners"}};
  for (int k = 0; k < 2; k++) {
    run_result r = modes[k][1] ? GC(modes[k][0], modes[k][1]) : GC(modes[k][0]);
    ck_assert_msg(r.status == 0, "%s\n%s", modes[k][1] ? modes[k][1] : "", r.out);
    ck_assert_msg(strstr(r.out, "on a kink at every step") &&
                      strstr(r.out, "is a valid subgradient"),
                  "%s", r.out);
    if (k)
      ck_assert_msg(strstr(r.out, "detected by one-sided differences"), "%s",
                    r.out);
    else
      ck_assert_msg(strstr(r.out, "detected by the winner fingerprint"), "%s",
                    r.out);
    run_free(&r);
  }
}
END_TEST

START_TEST(tied_maxima_checked_together)
{
  run_result r = GC("maxpool2_ties");
  ck_assert_msg(r.status == 0, "%s", r.out);
  run_free(&r);
  r = GC("bug_maxpool_alltied");
  ck_assert_msg(r.status == 1, "%s", r.out);
  ck_assert_msg(strstr(r.out, "exactly equal values") &&
                    strstr(r.out, "every tied maximum"),
                "%s", r.out);
  run_free(&r);
  /* the same inputs without ties would not show it: every coordinate alone
   * is a valid subgradient */
  r = GC("bug_maxpool_alltied", "--json");
  ck_assert_msg(strstr(r.out, "\"tied\": "), "%s", r.out);
  run_free(&r);
}
END_TEST

/* ---- projection mode ------------------------------------------------------ */

START_TEST(projection_finds_the_bad_coordinates)
{
  run_result r = GC("bug_tail_elements", "--project");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "random probe") && strstr(r.out, "bisected below"),
                "%s", r.out);
  /* the seven unrolled-tail elements of W1 (20503 = 8 * 2562 + 7) */
  for (int i = 20496; i <= 20502; i++) {
    char want[64];
    snprintf(want, sizeof want, "reg W1[%d]: a = ", i);
    ck_assert_msg(strstr(r.out, want), "%s not named\n%s", want, r.out);
  }
  ck_assert_msg(strstr(r.out, "probes)"), "%s", r.out);
  run_free(&r);
  r = GC("ok_tail_elements", "--project");
  ck_assert_msg(r.status == 0, "%s", r.out);
  run_free(&r);
  const char *good[] = {"mlp", "mlp_relu_kinks", "mlp_f32", "mlp_tanh6",
                        "conv2d", "attention", "layernorm"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    for (int s = 1; s <= 3; s++) {
      char seed[8];
      snprintf(seed, sizeof seed, "%d", s);
      r = GC(good[i], "--project", "--seed", seed);
      ck_assert_msg(r.status == 0, "%s --project seed %d\n%s", good[i], s,
                    r.out);
      run_free(&r);
    }
  const char *bad[] = {"bug_conv2d_noflip", "bug_layernorm_nomean",
                       "bug_softmax_diag", "bug_attention_scale"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    r = GC(bad[i], "--project");
    ck_assert_msg(r.status == 1, "%s --project\n%s", bad[i], r.out);
    run_free(&r);
  }
}
END_TEST

/* The JSON report of a check, malloc'ed. */
static char *json_of(const nnc_gradcheck_result *r)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  nnc_gradcheck_report_json(r, f);
  fclose(f);
  return buf;
}

/* Projection mode moves whole blocks (whole spans of a bisection) and puts
 * them back once per block, not after each probe: the parameters must
 * still leave the check bit for bit as they came, whatever the block sizes
 * (vector groups and their remainders), in double and float32, with a
 * bisection and without; and the same seed must give the same bytes. */
START_TEST(projection_leaves_every_bit_and_repeats_itself)
{
  const struct {
    const char *plugin, *args;
    uint32_t verdict;
  } cases[] = {
      /* blocks of 111, 37, 185 and 5: no multiple of 8 */
      {"mlp", "layers=3,37,5 reg=1e-3", NNC_PASS},
      {"mlp", "layers=3,37,5 reg=1e-3 dtype=float", NNC_PASS},
      {"mlp", "layers=2,200,3 reg=1e-3", NNC_PASS},
      {"mlp_relu_kinks", "", NNC_PASS},
      /* a mismatch, bisected down to the bad coordinates */
      {"bug_tail_elements", "", NNC_FAIL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char err[1024];
    nnc_model *m;
    ck_assert_msg(nnc_model_load(cases[i].plugin, cases[i].args, &m, err,
                                 sizeof err) == NNC_OK,
                  "%s", err);
    size_t nb = 0;
    while (nnc_model_block(m, nb))
      nb++;
    void **before = calloc(nb, sizeof *before);
    size_t *bytes = calloc(nb, sizeof *bytes);
    ck_assert(before && bytes);
    for (size_t b = 0; b < nb; b++) {
      const nnc_block *blk = nnc_model_block(m, b);
      bytes[b] = blk->count * (blk->dtype == NNC_F32 ? 4 : 8);
      before[b] = malloc(bytes[b]);
      ck_assert_ptr_nonnull(before[b]);
      memcpy(before[b], blk->data, bytes[b]);
    }
    nnc_gradcheck_opts o;
    nnc_gradcheck_opts_init(&o);
    o.project = 1;
    o.burn_in = 0; /* training steps would move them on purpose */
    o.seed = 3;
    char *json[2];
    for (int run = 0; run < 2; run++) {
      nnc_gradcheck_result *r;
      ck_assert_int_eq(nnc_gradcheck(m, &o, &r), NNC_OK);
      ck_assert_msg(r->verdict == cases[i].verdict, "%s %s: verdict %u",
                    cases[i].plugin, cases[i].args, (unsigned)r->verdict);
      json[run] = json_of(r);
      nnc_gradcheck_free(r);
      for (size_t b = 0; b < nb; b++)
        ck_assert_msg(!memcmp(before[b], nnc_model_block(m, b)->data,
                              bytes[b]),
                      "%s %s: block %s changed by the check", cases[i].plugin,
                      cases[i].args, nnc_model_block(m, b)->name);
    }
    ck_assert_str_eq(json[0], json[1]);
    free(json[0]);
    free(json[1]);
    for (size_t b = 0; b < nb; b++)
      free(before[b]);
    free(before);
    free(bytes);
    nnc_model_close(m);
  }
}
END_TEST

/* ---- coverage -------------------------------------------------------------- */

START_TEST(coverage_per_block)
{
  run_result r = GC("mlp");
  ck_assert_msg(strstr(r.out, " live ") && strstr(r.out, " kinks ") &&
                    strstr(r.out, " inc "),
                "%s", r.out);
  /* the regularization of a bias is exactly zero: never a PASS */
  ck_assert_str_eq(row_verdict(r.out, "reg", "b1"), "SKIP");
  ck_assert_msg(strstr(r.out, "no live entry"), "%s", r.out);
  run_free(&r);
}
END_TEST

/* ---- twenty seeds ----------------------------------------------------------- */

START_TEST(every_plugin_at_twenty_seeds)
{
  run_result l = GC("--list");
  ck_assert_int_eq(l.status, 0);
  size_t n = 0;
  char *save = NULL;
  for (char *line = strtok_r(l.out, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    *strchr(line, '\t') = 0;
    int want = expected_exit("gradcheck", line);
    for (int s = 1; s <= 20; s++) {
      char seed[8];
      snprintf(seed, sizeof seed, "%d", s);
      run_result r = GC(line, "--seed", seed);
      ck_assert_msg(r.status == want, "%s --seed %d: exit %d, expected %d\n%s%s",
                    line, s, r.status, want, r.out, r.err);
      run_free(&r);
    }
    n++;
  }
  ck_assert_uint_ge(n, 60);
  run_free(&l);
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"audits", audits_name_each_breach},
      {"mixed_examples", mixed_examples_pass_the_gradient_check},
      {"inert", inert_block_warns_and_strict_fails},
      {"roundoff", roundoff_nondeterminism_warns_never_fails},
      {"inconclusive", noise_above_signal_is_inconclusive_not_pass},
      {"escalation", clear_coordinates_cost_two_evaluations},
      {"float32", float32_correct_nets_pass_and_inside_error_bars},
      {"relu_zeros", relu_on_exact_zeros_is_a_subgradient},
      {"ties", tied_maxima_checked_together},
      {"projection", projection_finds_the_bad_coordinates},
      {"projection_restores", projection_leaves_every_bit_and_repeats_itself},
      {"coverage", coverage_per_block},
      {"twenty_seeds", every_plugin_at_twenty_seeds},
  };
  return run_cases("hardcases", cases, sizeof cases / sizeof *cases, 1200,
                   CK_ENV);
}
