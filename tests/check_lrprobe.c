/* The lrprobe tool, run for real on real dlopen'ed plugins: the range test
 * on the reference net, a ladder that stays too low, a net whose gradient
 * points the wrong way and its correct twin, the step sweep, the ratios,
 * the plots, every documented exit status; and, in-process, that the probe
 * leaves the model and the optimizer exactly as it found them. */
#include "config.h"
#include "testutil.h"
#include <nncheck/lrprobe.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LP(...) RUN("lrprobe", __VA_ARGS__)

/* ---- reading the JSON report -------------------------------------------- */

/* The number after "key": following the first `anchor` (NULL: the start);
 * NaN when absent or null. */
static double jnum(const char *s, const char *anchor, const char *key)
{
  const char *p = anchor ? strstr(s, anchor) : s;
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\": ", key);
  if (!p || !(p = strstr(p, pat)))
    return NAN;
  p += strlen(pat);
  return strncmp(p, "null", 4) ? strtod(p, NULL) : NAN;
}

static int jtrue(const char *s, const char *anchor, const char *key)
{
  const char *p = anchor ? strstr(s, anchor) : s;
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\": ", key);
  if (!p || !(p = strstr(p, pat)))
    return -1;
  return !strncmp(p + strlen(pat), "true", 4);
}

/* n numbers of the array after "key": [ following anchor; returns how many
 * were read (null reads as NaN). */
static size_t jarr(const char *s, const char *anchor, const char *key,
                   double *v, size_t n)
{
  const char *p = anchor ? strstr(s, anchor) : s;
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\": [", key);
  if (!p || !(p = strstr(p, pat)))
    return 0;
  p += strlen(pat);
  size_t k = 0;
  while (k < n && *p && *p != ']') {
    while (*p == ' ' || *p == ',')
      p++;
    if (!strncmp(p, "null", 4)) {
      v[k++] = NAN;
      p += 4;
    } else {
      char *e;
      v[k++] = strtod(p, &e);
      if (e == p)
        break;
      p = e;
    }
  }
  return k;
}

/* A suggestion's field from the aggregate object "name": {"lr": ...}. */
static double sugg(const char *json, const char *name, const char *key)
{
  char anchor[64];
  snprintf(anchor, sizeof anchor, "\"%s\": {\"lr\"", name);
  return jnum(json, anchor, key);
}

static int sugg_unreliable(const char *json, const char *name)
{
  char anchor[64];
  snprintf(anchor, sizeof anchor, "\"%s\": {\"lr\"", name);
  return jtrue(json, anchor, "unreliable");
}

static const char *const SUGG[] = {"valley", "slide", "minimum/10",
                                   "steepest"};

/* ---- the reference net -------------------------------------------------- */

START_TEST(mlp_finds_a_valley)
{
  run_result r = LP("mlp", "--seed", "1", "--batch", "32", "--json");
  ck_assert_msg(r.status == 0, "exit %d\n%s\n%s", r.status, r.out, r.err);
  ck_assert(json_valid(r.out));
  ck_assert_msg(strstr(r.out, "\"verdict\": \"OK\""), "%s", r.out);
  double v = sugg(r.out, "valley", "log10"), sl = sugg(r.out, "slide", "log10"),
         mn = sugg(r.out, "minimum/10", "log10") + 1,
         st = sugg(r.out, "steepest", "log10");
  /* sensible for a small net on the spiral with plain SGD: the notes'
   * spiral example trains at 1e0; far below 1e-3 nothing moves */
  ck_assert_msg(v >= -3 && v <= 0, "valley at 10^%g", v);
  /* plausibly ordered: the slide starts the descent, the steepest point is
   * in it, nothing but minimum/10 lies past the minimum, and everything
   * inside the ladder */
  ck_assert_msg(sl <= st, "slide 10^%g after steepest 10^%g", sl, st);
  ck_assert_msg(v < mn && sl < mn && st <= mn,
                "valley %g slide %g steepest %g minimum %g", v, sl, st, mn);
  ck_assert_msg(sl >= -7 && mn <= 1, "outside the ladder: %g %g", sl, mn);
  /* three runs with different seeds agree */
  for (int k = 0; k < 4; k++) {
    ck_assert_msg(sugg_unreliable(r.out, SUGG[k]) == 0,
                  "%s unreliable: spread %g decades", SUGG[k],
                  sugg(r.out, SUGG[k], "spread"));
    ck_assert_msg(sugg(r.out, SUGG[k], "found") == 3, "%s found in %g runs",
                  SUGG[k], sugg(r.out, SUGG[k], "found"));
  }
  run_free(&r);

  r = LP("mlp", "--seed", "1", "--batch", "32");
  ck_assert_int_eq(r.status, 0);
  ck_assert(strstr(r.out, "verdict: OK"));
  for (int k = 0; k < 4; k++)
    ck_assert_msg(strstr(r.out, SUGG[k]), "text lacks %s", SUGG[k]);
  ck_assert(strstr(r.out, "<- valley"));
  ck_assert(strstr(r.out, "reliable"));
  ck_assert(!strstr(r.out, "UNRELIABLE"));
  run_free(&r);
}
END_TEST

START_TEST(a_ladder_below_the_useful_rates_says_so)
{
  run_result r = LP("mlp", "--start", "1e-7", "--end", "1e-6");
  ck_assert_msg(r.status == 1, "exit %d\n%s", r.status, r.out);
  ck_assert_msg(strstr(r.out, "verdict: FLAT"), "%s", r.out);
  ck_assert(strstr(r.out, "never fell enough"));
  ck_assert(strstr(r.out, "raise --end"));
  run_free(&r);
  r = LP("mlp", "--start", "1e-7", "--end", "1e-6", "--json");
  ck_assert_int_eq(r.status, 1);
  for (int k = 0; k < 4; k++) {
    ck_assert_msg(isnan(sugg(r.out, SUGG[k], "lr")), "%s suggested",
                  SUGG[k]);
    ck_assert_int_eq(sugg_unreliable(r.out, SUGG[k]), 1);
  }
  run_free(&r);
  r = LP("mlp", "--start", "1e-7", "--end", "1e-6", "--tap");
  ck_assert_int_eq(r.status, 1);
  ck_assert(strstr(r.out, "not ok 1 - mlp: FLAT"));
  ck_assert_uint_eq(count_of(r.out, "# SKIP no usable range"), 4);
  run_free(&r);
}
END_TEST

START_TEST(same_seed_same_bytes)
{
  const char *fmt[] = {"--json", "--tap", "--runs"};
  for (int i = 0; i < 3; i++) {
    run_result a = i < 2 ? LP("mlp", "--seed", "5", fmt[i])
                         : LP("mlp_dropout", "--seed", "5", "--runs", "2");
    run_result b = i < 2 ? LP("mlp", "--seed", "5", fmt[i])
                         : LP("mlp_dropout", "--seed", "5", "--runs", "2");
    run_result c = i < 2 ? LP("mlp", "--seed", "6", fmt[i])
                         : LP("mlp_dropout", "--seed", "6", "--runs", "2");
    ck_assert_int_eq(a.status, 0);
    ck_assert_msg(!strcmp(a.out, b.out), "one seed, two reports");
    ck_assert_msg(strcmp(a.out, c.out), "two seeds, one report");
    run_free(&a);
    run_free(&b);
    run_free(&c);
  }
}
END_TEST

/* ---- in-process: the probe changes nothing -------------------------------- */

static size_t snapshot(const nnc_model *m, unsigned char **out)
{
  size_t total = 0;
  for (size_t b = 0; b < nnc_model_num_blocks(m); b++) {
    const nnc_block *k = nnc_model_block(m, b);
    total += k->count * (k->dtype == NNC_F32 ? 4 : 8);
  }
  unsigned char *p = malloc(total), *at = p;
  for (size_t b = 0; b < nnc_model_num_blocks(m); b++) {
    const nnc_block *k = nnc_model_block(m, b);
    size_t n = k->count * (k->dtype == NNC_F32 ? 4 : 8);
    memcpy(at, k->data, n);
    at += n;
  }
  *out = p;
  return total;
}

/* One step of `opt` on a fixed batch, then the parameters. */
static size_t step_then_snapshot(nnc_model *m, nnc_optim *opt,
                                 unsigned char **out)
{
  double L;
  ck_assert_int_eq(nnc_model_loss(m, NULL, 3, NNC_F_ALL | NNC_F_TRAIN, &L),
                   NNC_OK);
  ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
  ck_assert_int_eq(nnc_optim_step(opt, m), NNC_OK);
  return snapshot(m, out);
}

START_TEST(the_probe_leaves_model_and_optimizer_bit_identical)
{
  const char *nets[] = {"mlp", "mlp_f32", "mlp_dropout", "bug_lr_gradsign"};
  for (int i = 0; i < 4; i++) {
    char err[1024];
    nnc_model *m;
    ck_assert_msg(nnc_model_load(nets[i], "", &m, err, sizeof err) == NNC_OK,
                  "%s", err);
    unsigned char *before, *after;
    size_t n = snapshot(m, &before);
    nnc_lrprobe_opts o;
    nnc_lrprobe_opts_init(&o);
    o.runs = 2;
    o.end = 1e3; /* into divergence and NaN: restored all the same */
    nnc_lrprobe_result *res;
    ck_assert_int_eq(nnc_lrprobe(m, NULL, &o, &res), NNC_OK);
    ck_assert_uint_eq(snapshot(m, &after), n);
    ck_assert_msg(!memcmp(before, after, n), "%s: parameters changed",
                  nets[i]);
    nnc_lrprobe_free(res);
    free(after);

    /* a caller's optimizer with momentum built up: the probe starts from
     * its state and puts it back, so the next step is the one it would
     * have been */
    nnc_optim_opts oo;
    nnc_optim_opts_init(&oo, NNC_RULE_MOMENTUM);
    oo.lr = 1e-3;
    nnc_optim *opt;
    ck_assert_int_eq(nnc_optim_new(m, &oo, &opt), NNC_OK);
    unsigned char *tmp;
    for (int k = 0; k < 3; k++) {
      step_then_snapshot(m, opt, &tmp);
      free(tmp);
    }
    nnc_params *p0;
    nnc_optim_state *s0;
    ck_assert_int_eq(nnc_params_save(m, &p0), NNC_OK);
    ck_assert_int_eq(nnc_optim_save(opt, &s0), NNC_OK);
    size_t steps = nnc_optim_steps(opt);
    unsigned char *expect, *got, *mid0, *mid1;
    snapshot(m, &mid0);
    step_then_snapshot(m, opt, &expect);
    ck_assert_int_eq(nnc_params_restore(m, p0), NNC_OK);
    ck_assert_int_eq(nnc_optim_restore(opt, s0), NNC_OK);
    o.rule = NNC_RULE_SGD; /* ignored: the caller's optimizer is probed */
    ck_assert_int_eq(nnc_lrprobe(m, opt, &o, &res), NNC_OK);
    ck_assert(res->caller_optim);
    ck_assert_str_eq(res->rule, "momentum");
    nnc_lrprobe_free(res);
    snapshot(m, &mid1);
    ck_assert_msg(!memcmp(mid0, mid1, n), "%s: parameters changed",
                  nets[i]);
    ck_assert_uint_eq(nnc_optim_steps(opt), steps);
    ck_assert(nnc_optim_options(opt)->lr == 1e-3);
    step_then_snapshot(m, opt, &got);
    ck_assert_msg(!memcmp(expect, got, n),
                  "%s: the step after the probe differs: optimizer state "
                  "not restored",
                  nets[i]);
    free(expect);
    free(got);
    free(mid0);
    free(mid1);
    free(before);
    nnc_params_free(p0);
    nnc_optim_state_free(s0);
    nnc_optim_free(opt);
    nnc_model_close(m);
  }
}
END_TEST

/* ---- the step sweep --------------------------------------------------------- */

START_TEST(step_sweep_falls_then_explodes)
{
  /* the optimization notes' setting: raw pixels, small steps help, 1e-1
   * is a disaster */
  run_result r = LP("ok_lr_gradsign", "--json", "--runs", "1");
  ck_assert_msg(r.status == 0, "%s\n%s", r.out, r.err);
  double loss[10], step[10];
  double L0 = jnum(r.out, "\"sweep\": {", "loss0");
  ck_assert_uint_eq(jarr(r.out, "\"sweep\": {", "loss", loss, 10), 10);
  ck_assert_uint_eq(jarr(r.out, "\"sweep\": {", "step", step, 10), 10);
  ck_assert(step[0] == 1e-10 && step[9] > 0.099 && step[9] < 0.101);
  for (int j = 0; j <= 4; j++) /* 1e-10 .. 1e-6 */
    ck_assert_msg(loss[j] < L0, "step %g: %g from %g", step[j], loss[j], L0);
  for (int j = 1; j <= 4; j++)
    ck_assert_msg(loss[j] < loss[j - 1], "no steady fall at %g", step[j]);
  ck_assert_msg(loss[9] > 100 * L0, "1e-1: %g from %g", loss[9], L0);
  ck_assert_int_eq(jtrue(r.out, "\"sweep\": {", "descends"), 1);
  ck_assert_int_eq(jtrue(r.out, "\"sweep\": {", "mismatch"), 0);
  double q = jnum(r.out, "\"sweep\": {", "agree");
  ck_assert_msg(fabs(q - 1) < 1e-3, "change/pred %g", q);
  run_free(&r);

  r = LP("ok_lr_gradsign", "--runs", "1");
  ck_assert(strstr(r.out, "step sweep along -grad"));
  ck_assert(strstr(r.out, "lowest loss at step 1e-05"));
  ck_assert(strstr(r.out, "falls as the first order predicts"));
  run_free(&r);

  /* the reference net takes 1e-1 in its stride: falling all the way */
  r = LP("mlp", "--json", "--runs", "1");
  L0 = jnum(r.out, "\"sweep\": {", "loss0");
  ck_assert_uint_eq(jarr(r.out, "\"sweep\": {", "loss", loss, 10), 10);
  for (int j = 0; j < 10; j++)
    ck_assert_msg(loss[j] <= L0, "mlp step %d: %g from %g", j, loss[j], L0);
  ck_assert(loss[9] < loss[6]);
  run_free(&r);

  /* a gradient wrong in part: the loss falls at half the promised rate */
  r = LP("bug_softmax_no_minus1", "--runs", "1");
  ck_assert_msg(strstr(r.out, "run gradcheck"), "%s", r.out);
  run_free(&r);
}
END_TEST

/* ---- update:weight ratios ---------------------------------------------------- */

START_TEST(ratio_crossings_ordered_and_first_diverger_named)
{
  run_result r = LP("mlp", "--json", "--runs", "1");
  ck_assert_int_eq(r.status, 0);
  const char *blocks[] = {"W1", "b1", "W2", "b2"};
  const int zero[] = {0, 1, 0, 1};
  double first = INFINITY;
  const char *name = NULL;
  for (int k = 0; k < 4; k++) {
    char anchor[64];
    snprintf(anchor, sizeof anchor, "{\"name\": \"%s\"", blocks[k]);
    ck_assert_int_eq(jtrue(r.out, anchor, "zero_start"), zero[k]);
    if (zero[k])
      continue;
    double c3 = jnum(r.out, anchor, "lr_ratio_1e-3"),
           c2 = jnum(r.out, anchor, "lr_ratio_1e-2");
    ck_assert_msg(isfinite(c3) && isfinite(c2) && c3 < c2,
                  "%s: 1e-3 at %g, 1e-2 at %g", blocks[k], c3, c2);
    /* SGD: the ratio grows about in proportion to lr */
    ck_assert_msg(c2 / c3 > 3 && c2 / c3 < 30, "%s: %g %g", blocks[k], c3,
                  c2);
    if (c2 < first) {
      first = c2;
      name = blocks[k];
    }
  }
  char want[64];
  snprintf(want, sizeof want, "\"diverges_first\": \"%s\"", name);
  ck_assert_msg(strstr(r.out, want), "expected %s\n", want);
  run_free(&r);

  r = LP("mlp", "--runs", "1");
  snprintf(want, sizeof want, "diverges first: %s (", name);
  ck_assert_msg(strstr(r.out, want), "%s", r.out);
  ck_assert(strstr(r.out, "starts at zero: its ratio says nothing"));
  run_free(&r);
}
END_TEST

/* ---- a net it must catch and the twin it passes ----------------------------- */

START_TEST(gradient_pointing_the_wrong_way_exits_1)
{
  run_result r = LP("bug_lr_gradsign");
  ck_assert_msg(r.status == 1, "exit %d\n%s\n%s", r.status, r.out, r.err);
  ck_assert(strstr(r.out, "verdict: RISES"));
  ck_assert(strstr(r.out, "no learning rate lowered the loss"));
  ck_assert(strstr(r.out, "points uphill"));
  ck_assert(strstr(r.out, "RISES along -grad"));
  run_free(&r);
  r = LP("bug_lr_gradsign", "--json");
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_eq(jtrue(r.out, "\"sweep\": {", "descends"), 0);
  ck_assert_msg(jnum(r.out, "\"sweep\": {", "agree") < -0.99, "%s", r.out);
  ck_assert(jnum(r.out, NULL, "usable_runs") == 0);
  run_free(&r);
  r = LP("bug_lr_gradsign", "--tap");
  ck_assert(!strncmp(r.out, "TAP version 13\n1..7\nnot ok 1 - ", 30));
  run_free(&r);

  r = LP("ok_lr_gradsign");
  ck_assert_msg(r.status == 0, "exit %d\n%s", r.status, r.out);
  ck_assert(strstr(r.out, "verdict: OK"));
  run_free(&r);
  r = LP("ok_lr_gradsign", "--json");
  double v = sugg(r.out, "valley", "lr");
  ck_assert_msg(v > 1e-6 && v < 1e-4, "valley %g", v); /* its sweep: 1e-5 */
  run_free(&r);
}
END_TEST

/* ---- plots --------------------------------------------------------------------- */

/* Data lines of block `index` in a .dat file. */
static size_t dat_points(const char *dat, int index)
{
  char tag[32];
  snprintf(tag, sizeof tag, "# index %d:", index);
  const char *p = strstr(dat, tag);
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

START_TEST(plots_rendered)
{
  char *dir = make_tmpdir();
  run_result r = LP("mlp", "--plots", dir, "--json");
  ck_assert_msg(r.status == 0, "%s\n%s", r.out, r.err);
  size_t rungs = (size_t)jnum(r.out, "\"runs\": [", "rungs");
  const char *names[] = {"lrprobe_loss", "lrprobe_steps", "lrprobe_ratio"};
  const char *labels[][4] = {
      {"raw loss, seed 1", "smoothed, seed 1", "smoothed, seed 3", "valley "},
      {"loss after one step W - s*dW", "loss before the step", "step size",
       "-grad"},
      {"W1", "b2 (starts at zero)", "1e-3: the notes' healthy ratio",
       "1e-2: too high"}};
  const char *ext[] = {"dat", "gp", "png", "svg"};
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 4; k++) {
      char p[4200];
      snprintf(p, sizeof p, "%s/%s.%s", dir, names[i], ext[k]);
      size_t len;
      char *c = read_file(p, &len);
      ck_assert_msg(c && len > 200, "%s missing or empty", p);
      if (k == 2) {
        ck_assert_msg(!memcmp(c, "\x89PNG\r\n\x1a\n", 8), "%s: not a PNG", p);
        ck_assert_msg(len > 5000, "%s: %zu bytes", p, len);
      }
      if (k == 3) {
        ck_assert_msg(strstr(c, "<svg"), "%s: not an SVG", p);
        for (int q = 0; q < 4; q++)
          ck_assert_msg(strstr(c, labels[i][q]), "%s lacks \"%s\"", p,
                        labels[i][q]);
      }
      if (k == 0 && i == 0) {
        ck_assert_uint_eq(dat_points(c, 0), rungs); /* raw, run 0 */
        ck_assert_uint_eq(dat_points(c, 1), rungs); /* smoothed, run 0 */
        ck_assert(strstr(c, "learning rate"));
      }
      if (k == 0 && i == 1)
        ck_assert_uint_eq(dat_points(c, 0), 10);
      if (k == 0 && i == 2)
        ck_assert_uint_eq(dat_points(c, 3), rungs); /* b2 */
      if (k == 1)
        ck_assert_msg(strstr(c, "logscale x"), "%s: x not logarithmic", p);
      if (k == 1 && i == 2)
        ck_assert_msg(strstr(c, "logscale y"), "%s: y not logarithmic", p);
      free(c);
    }
  run_free(&r);
  free(dir);
}
END_TEST

/* ---- exit statuses, reports, usage --------------------------------------------- */

START_TEST(layer_needs_a_net_exit_2)
{
  run_result r = LP("affine");
  ck_assert_msg(r.status == 2, "exit %d\n%s\n%s", r.status, r.out, r.err);
  ck_assert(strstr(r.err, "needs a net"));
  ck_assert(strstr(r.err, "unbounded below"));
  ck_assert_uint_eq(count_of(r.err, "\n"), 1);
  run_free(&r);
  r = LP("relu", "--json");
  ck_assert_int_eq(r.status, 2);
  ck_assert(json_valid(r.out));
  ck_assert(strstr(r.out, "\"exit\": 2"));
  run_free(&r);
}
END_TEST

START_TEST(plugin_failing_at_the_start_exit_3)
{
  const char *bad[] = {"nan_loss", "nan_grad"};
  for (int i = 0; i < 2; i++) {
    run_result r = LP(test_plugin(bad[i]));
    ck_assert_msg(r.status == 3, "%s: exit %d\n%s\n%s", bad[i], r.status,
                  r.out, r.err);
    ck_assert_msg(strstr(r.err, "starting"), "%s: %s", bad[i], r.err);
    run_free(&r);
  }
}
END_TEST

START_TEST(json_and_tap)
{
  const char *plugins[] = {"mlp", "bug_lr_gradsign", "example_net"};
  for (int i = 0; i < 3; i++) {
    run_result r = LP(plugins[i], "--json");
    ck_assert_msg(json_valid(r.out), "%s: invalid JSON\n%s", plugins[i],
                  r.out);
    ck_assert(strstr(r.out, "\"tool\": \"lrprobe\""));
    run_free(&r);
    r = LP(plugins[i], "--tap");
    ck_assert(!strncmp(r.out, "TAP version 13\n1..7\n", 20));
    ck_assert_uint_eq(count_of(r.out, "ok "), 7);
    run_free(&r);
  }
}
END_TEST

START_TEST(update_rules)
{
  const char *rules[] = {"adam", "momentum", "nesterov", "rmsprop"};
  for (int i = 0; i < 4; i++) {
    run_result r = LP("mlp", "--optim", rules[i], "--runs", "1");
    ck_assert_msg(r.status == 0, "%s: exit %d\n%s", rules[i], r.status,
                  r.out);
    char want[64];
    snprintf(want, sizeof want, "ladder: %s,", rules[i]);
    ck_assert_msg(strstr(r.out, want), "%s", r.out);
    run_free(&r);
  }
}
END_TEST

START_TEST(bad_arguments_exit_2)
{
  const char *const cases[][8] = {
      {"lrprobe", NULL},
      {"lrprobe", "mlp", "mlp", NULL},
      {"lrprobe", "mlp", "--start", "1", "--end", "0.1", NULL},
      {"lrprobe", "mlp", "--steps", "1", NULL},
      {"lrprobe", "mlp", "--runs", "0", NULL},
      {"lrprobe", "mlp", "--optim", "sgdd", NULL},
      {"lrprobe", "mlp", "--batch", "x", NULL},
      {"lrprobe", "mlp", "--json", "--tap", NULL},
      {"lrprobe", "mlp", "--frobnicate", NULL},
      {"lrprobe", "no_such_plugin", NULL},
      {"lrprobe", "mlp", "--args", "layers=oops", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    run_result r = run_tool("lrprobe", cases[i]);
    ck_assert_msg(r.status == 2, "case %zu: exit %d\n%s", i, r.status, r.err);
    ck_assert_msg(count_of(r.err, "\n") == 1 && !strncmp(r.err, "lrprobe: ", 9),
                  "case %zu: not one line: %s", i, r.err);
    run_free(&r);
  }
}
END_TEST

START_TEST(help_lists_every_option_and_exit_status)
{
  run_result r = LP("--help");
  ck_assert_int_eq(r.status, 0);
  const char *opts[] = {"--args", "--seed", "--start", "--end", "--steps",
                        "--runs", "--optim", "--batch", "--beta",
                        "--min-drop", "--no-sweep", "--plots", "--json",
                        "--tap", "--help", "[1e-7]", "[10]", "[100]", "[3]",
                        "[sgd]", "[32]", "[0.98]", "Exit status", "  0 ",
                        "  1 ", "  2 ", "  3 ", "valley", "slide",
                        "minimum/10", "steepest", "needs a net"};
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
    ck_assert_msg(strstr(r.out, opts[i]), "--help lacks %s", opts[i]);
  run_free(&r);
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"mlp_valley", mlp_finds_a_valley},
      {"too_low", a_ladder_below_the_useful_rates_says_so},
      {"determinism", same_seed_same_bytes},
      {"unchanged", the_probe_leaves_model_and_optimizer_bit_identical},
      {"step_sweep", step_sweep_falls_then_explodes},
      {"ratios", ratio_crossings_ordered_and_first_diverger_named},
      {"gradsign", gradient_pointing_the_wrong_way_exits_1},
      {"plots", plots_rendered},
      {"layer", layer_needs_a_net_exit_2},
      {"misbehaving", plugin_failing_at_the_start_exit_3},
      {"json_tap", json_and_tap},
      {"rules", update_rules},
      {"bad_arguments", bad_arguments_exit_2},
      {"help", help_lists_every_option_and_exit_status},
  };
  return run_cases("lrprobe", cases, sizeof cases / sizeof *cases, 600,
                   CK_ENV);
}
