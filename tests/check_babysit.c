/* The babysit tool and library, run for real: every diagnosis triggered by
 * one run configuration (the reference net with arguments, or a fixture)
 * and not by another; histograms of two half-runs (the second resumed from
 * a checkpoint of the first) adding up to the whole run's, with bit-equal
 * parameters at the end; the same seed giving byte-identical reports; the
 * progress lines; the noise number of first-layer filters; the plots.
 * The HTML report in a browser is check_babysit_report.c. */
#include "config.h"
#include "testutil.h"
#include <nncheck/babysit.h>
#include <nncheck/checkpoint.h>
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BS(...) RUN("babysit", "--quiet", __VA_ARGS__)
/* The whole text report: no --quiet (which keeps only the verdict line);
 * the progress lines go to stderr. */
#define BST(...) RUN("babysit", __VA_ARGS__)

/* The healthy reference run: every diagnosis looked for, none found. */
#define BASE "mlp", "--optim", "adam", "--lr", "1e-2", "--epochs", "30"

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

/* The status of diagnosis id in a JSON report: "FOUND", "ok", "skip". */
static const char *status_of(const char *json, const char *id)
{
  static char buf[16];
  char pat[96];
  snprintf(pat, sizeof pat, "{\"id\": \"%s\", \"status\": \"", id);
  const char *p = strstr(json, pat);
  if (!p)
    return "absent";
  p += strlen(pat);
  size_t n = strcspn(p, "\"");
  snprintf(buf, sizeof buf, "%.*s", (int)n, p);
  return buf;
}

/* ---- each diagnosis: a configuration that triggers it, one that does not */

typedef struct pair {
  const char *id;
  const char *const trig[16]; /* arguments after babysit --quiet --json */
} pair;

static const pair pairs[] = {
    {"lr_low", {"mlp", "--optim", "sgd", "--lr", "1e-4", "--epochs", "30"}},
    {"lr_high",
     {"mlp", "--optim", "momentum", "--lr", "1", "--epochs", "30"}},
    {"batch_small",
     {"mlp", "--optim", "adam", "--lr", "1e-2", "--epochs", "30", "--batch",
      "1"}},
    {"overfit",
     {"mlp", "--args", "N=20,val=0.5,layers=2,200,200,3,reg=0", "--optim",
      "adam", "--lr", "1e-2", "--epochs", "200"}},
    {"capacity",
     {"mlp", "--args", "layers=2,3", "--optim", "adam", "--lr", "1e-2",
      "--epochs", "60"}},
    {"dead",
     {"bug_relu_dead_init", "--optim", "adam", "--lr", "1e-3", "--epochs",
      "10"}},
    {"saturated",
     {"bug_tanh_saturated_init", "--optim", "adam", "--lr", "1e-3",
      "--epochs", "10"}},
    {"nan", {"mlp", "--optim", "sgd", "--lr", "1e4", "--epochs", "30"}},
};
#define NPAIRS (sizeof pairs / sizeof *pairs)

static run_result run_pair(const pair *p)
{
  const char *argv[24] = {"babysit", "--quiet", "--json"};
  size_t n = 3;
  for (size_t i = 0; p->trig[i]; i++)
    argv[n++] = p->trig[i];
  argv[n] = NULL;
  return run_tool("babysit", argv);
}

START_TEST(diagnosis_triggered)
{
  const pair *p = &pairs[_i];
  run_result r = run_pair(p);
  ck_assert_msg(r.status == 1, "%s: exit %d, want 1\n%s", p->id, r.status,
                r.err);
  ck_assert_msg(json_valid(r.out), "%s: invalid JSON", p->id);
  ck_assert_msg(!strcmp(status_of(r.out, p->id), "FOUND"),
                "%s: status %s, want FOUND\n%s", p->id,
                status_of(r.out, p->id), r.out);
  run_free(&r);
}
END_TEST

/* The twin configurations: the healthy reference run, and for the fixtures
 * their ok_ twins. */
START_TEST(diagnosis_not_triggered)
{
  const pair *p = &pairs[_i];
  run_result r;
  if (!strcmp(p->id, "dead"))
    r = BS("--json", "ok_relu_dead_init", "--optim", "adam", "--lr", "1e-3",
           "--epochs", "10");
  else if (!strcmp(p->id, "saturated"))
    r = BS("--json", "ok_tanh_saturated_init", "--optim", "adam", "--lr",
           "1e-3", "--epochs", "10");
  else
    r = BS("--json", BASE);
  ck_assert_msg(r.status == 0, "%s twin: exit %d, want 0\n%s", p->id,
                r.status, r.out);
  const char *st = status_of(r.out, p->id);
  ck_assert_msg(!strcmp(st, "ok"), "%s twin: status %s, want ok (looked for, "
                                   "not found)",
                p->id, st);
  run_free(&r);
}
END_TEST

START_TEST(nan_names_step_and_block)
{
  run_result r = BS("--json", "mlp", "--optim", "sgd", "--lr", "1e4",
                    "--epochs", "30");
  ck_assert_int_eq(r.status, 1);
  double step = jnum(r.out, NULL, "nan_step");
  ck_assert_msg(step >= 1, "nan_step %g", step);
  const char *b = strstr(r.out, "\"nan_block\": \"");
  ck_assert(b);
  b += strlen("\"nan_block\": \"");
  ck_assert_msg(*b && *b != '"', "no block named");
  /* the steps recorded end right before it */
  ck_assert_int_eq((int)jnum(r.out, "\"steps\"", "count"), (int)step - 1);
  run_free(&r);
  r = BST("mlp", "--optim", "sgd", "--lr", "1e4", "--epochs", "30");
  ck_assert_msg(strstr(r.out, "first at step "), "%s", r.out);
  run_free(&r);
  /* a gradient that turns NaN in one block at a known step */
  r = BS("--json", test_plugin("nan_grad_late"), "--epochs", "10");
  ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
  ck_assert_int_eq((int)jnum(r.out, NULL, "nan_step"), 6);
  ck_assert_msg(strstr(r.out, "\"nan_block\": \"b\""), "%s", r.out);
  ck_assert_str_eq(status_of(r.out, "nan"), "FOUND");
  /* not the learning rate's fault: no growing loss, small ratios */
  ck_assert_str_ne(status_of(r.out, "lr_high"), "FOUND");
  run_free(&r);
}
END_TEST

/* ---- histograms of two half-runs add up to the whole run's ---------------- */

static nnc_babysit_result *train(const char *args, size_t epochs,
                                 const char *ckdir, const char *resume,
                                 nnc_model **mp)
{
  char err[1024];
  nnc_model *m;
  ck_assert_msg(nnc_model_load("mlp", args, &m, err, sizeof err) == NNC_OK,
                "%s", err);
  nnc_babysit_opts o;
  nnc_babysit_opts_init(&o);
  nnc_optim_opts_init(&o.optim, NNC_RULE_ADAM);
  o.optim.lr = 3e-3;
  nnc_schedule_init(&o.sched, NNC_SCHED_STEP, 0);
  o.sched.mu0 = o.sched.mu1 = -1;
  o.sched.every = 1;
  o.sched.factor = 0.7;
  o.batch = 20;
  o.seed = 7;
  o.epochs = epochs;
  o.checkpoints = ckdir;
  o.resume = resume;
  nnc_babysit_result *r;
  int rc = nnc_babysit(m, &o, &r);
  ck_assert_msg(rc == NNC_OK, "%s", r ? r->error_msg : "oom");
  *mp = m;
  return r;
}

START_TEST(half_runs_add_up)
{
  /* dropout: every step's seed matters; Adam: its moments matter; a step
   * schedule: its state matters */
  const char *args = "layers=2,50,40,3 dropout=0.2";
  char *d1 = make_tmpdir();
  nnc_model *ma, *mb, *mc;
  nnc_babysit_result *a = train(args, 2, d1, NULL, &ma);
  ck_assert_int_eq((int)a->nepochs, 2);
  char ck[4096];
  snprintf(ck, sizeof ck, "%s/%s", d1, a->epochs[1].checkpoint);
  ck_assert_msg(!strncmp(a->epochs[1].checkpoint, "epoch0002-val0.", 15),
                "checkpoint name %s", a->epochs[1].checkpoint);
  nnc_babysit_result *b = train(args, 4, NULL, ck, &mb);
  nnc_babysit_result *c = train(args, 4, NULL, NULL, &mc);
  ck_assert(b->resumed);
  ck_assert_int_eq((int)b->start_epoch, 2);
  ck_assert_int_eq((int)b->nepochs, 2);
  ck_assert_int_eq((int)b->epochs[0].epoch, 3);
  ck_assert_int_eq((int)c->nepochs, 4);
  ck_assert_int_eq((int)b->epochs[1].step, (int)c->epochs[3].step);
  ck_assert_uint_eq(c->nprobes, 2);
  for (size_t i = 0; i < c->nprobes; i++) {
    for (int g = 0; g < 2; g++) {
      uint64_t sum_halves = 0, sum_whole = 0;
      for (size_t k = 0; k < NNC_BS_NBUCKETS; k++) {
        uint64_t h = 0, w = 0;
        for (size_t e = 0; e < 2; e++) {
          const nnc_bs_layer_epoch *ea = &a->probes[i].ep[e],
                                   *eb = &b->probes[i].ep[e];
          h += g ? ea->grad.n[k] + eb->grad.n[k] : ea->act.n[k] + eb->act.n[k];
        }
        for (size_t e = 0; e < 4; e++)
          w += g ? c->probes[i].ep[e].grad.n[k] : c->probes[i].ep[e].act.n[k];
        ck_assert_msg(h == w, "%s %s bucket %zu: halves %llu, whole %llu",
                      c->probes[i].name, g ? "grad" : "act", k,
                      (unsigned long long)h, (unsigned long long)w);
        sum_halves += h;
        sum_whole += w;
      }
      ck_assert(sum_whole > 0 && sum_halves == sum_whole);
    }
    /* epoch by epoch, too */
    for (size_t e = 0; e < 2; e++)
      ck_assert(!memcmp(&b->probes[i].ep[e].act, &c->probes[i].ep[e + 2].act,
                        sizeof(nnc_bs_hist)));
  }
  /* bit-identical parameters, losses and accuracies */
  for (size_t k = 0; k < nnc_model_num_blocks(mc); k++) {
    const nnc_block *x = nnc_model_block(mb, k), *y = nnc_model_block(mc, k);
    ck_assert_msg(!memcmp(x->data, y->data, x->count * sizeof(double)),
                  "block %s differs after resuming", x->name);
  }
  ck_assert(!memcmp(&b->epochs[1].val_loss, &c->epochs[3].val_loss,
                    sizeof(double)));
  ck_assert(!memcmp(&b->epochs[1].ema_val_loss, &c->epochs[3].ema_val_loss,
                    sizeof(double)));
  /* the checkpoint is an ordinary one for other tools: its auxiliary
   * blocks are ignored when applied */
  nnc_checkpoint *cp;
  char err[1024];
  ck_assert(nnc_checkpoint_read(ck, &cp, err, sizeof err) == NNC_OK);
  ck_assert(nnc_checkpoint_num_blocks(cp) > nnc_model_num_blocks(ma));
  ck_assert_msg(nnc_checkpoint_apply(cp, ma, err, sizeof err) == NNC_OK,
                "%s", err);
  nnc_checkpoint_free(cp);
  /* the statistics file */
  char st[4096];
  snprintf(st, sizeof st, "%s/babysit_stats.json", d1);
  char *js = read_file(st, NULL);
  ck_assert_msg(js && json_valid(js), "babysit_stats.json");
  ck_assert_int_eq((int)jnum(js, "\"epoch\": 2", "step"), (int)a->epochs[1].step);
  free(js);
  nnc_babysit_free(a);
  nnc_babysit_free(b);
  nnc_babysit_free(c);
  nnc_model_close(ma);
  nnc_model_close(mb);
  nnc_model_close(mc);
  free(d1);
}
END_TEST

START_TEST(resume_by_the_tool)
{
  char *d = make_tmpdir();
  run_result r = BS("--json", "mlp", "--optim", "adam", "--epochs", "2",
                    "--checkpoints", d);
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  DIR *dir = opendir(d);
  struct dirent *de;
  char ck[4096] = "";
  int n = 0;
  while ((de = readdir(dir))) {
    if (strstr(de->d_name, ".nnckpt")) {
      n++;
      ck_assert_msg(!strncmp(de->d_name, "epoch000", 8) &&
                        strstr(de->d_name, "-val0."),
                    "checkpoint name %s", de->d_name);
      if (strstr(de->d_name, "epoch0002"))
        snprintf(ck, sizeof ck, "%s/%s", d, de->d_name);
    }
  }
  closedir(dir);
  ck_assert_int_eq(n, 2);
  r = BS("--json", "mlp", "--epochs", "4", "--resume", ck);
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "\"resumed\": true"));
  ck_assert_int_eq((int)jnum(r.out, NULL, "start_epoch"), 2);
  ck_assert(strstr(r.out, "\"rule\": \"adam\""));
  run_free(&r);
  /* the checkpoint decides the run's settings */
  r = BS("mlp", "--epochs", "4", "--resume", ck, "--lr", "0.1");
  ck_assert_int_eq(r.status, 2);
  ck_assert(strstr(r.err, "--lr"));
  run_free(&r);
  r = BS("mlp", "--epochs", "2", "--resume", ck);
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  free(d);
}
END_TEST

/* ---- determinism, progress, usage ----------------------------------------- */

START_TEST(same_seed_same_report)
{
  run_result a = BS("--json", "mlp", "--args", "dropout=0.3", "--epochs",
                    "5", "--seed", "3");
  run_result b = BS("--json", "mlp", "--args", "dropout=0.3", "--epochs",
                    "5", "--seed", "3");
  ck_assert(!strcmp(a.out, b.out));
  run_result c = BS("--json", "mlp", "--args", "dropout=0.3", "--epochs",
                    "5", "--seed", "4");
  ck_assert(strcmp(a.out, c.out));
  run_free(&a);
  run_free(&b);
  run_free(&c);
  a = BS("mlp", "--epochs", "5", "--seed", "3");
  b = BS("mlp", "--epochs", "5", "--seed", "3");
  ck_assert(!strcmp(a.out, b.out));
  ck_assert(strstr(a.out, "verdict: "));
  run_free(&a);
  run_free(&b);
}
END_TEST

START_TEST(progress_lines_without_a_terminal)
{
  run_result r = run_tool("babysit", (const char *const[]){
                                         "babysit", "mlp", "--epochs", "3",
                                         NULL});
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(count_of(r.err, "babysit: epoch ") == 3, "%s", r.err);
  ck_assert(strstr(r.err, "babysit: epoch 3/3, step 24:"));
  ck_assert(!strchr(r.err, '\r'));
  run_free(&r);
  r = BS("mlp", "--epochs", "3");
  ck_assert_msg(r.err[0] == 0, "--quiet: %s", r.err);
  /* and of the report only the verdict line, as every tool's --quiet */
  ck_assert_msg(!strncmp(r.out, "verdict: ", 9) &&
                    count_of(r.out, "\n") == 1,
                "--quiet: %s", r.out);
  run_free(&r);
}
END_TEST

START_TEST(dumb_plots_after_the_report)
{
  run_result r = BST("mlp", "--epochs", "3", "--dumb");
  ck_assert_int_eq(r.status, 0);
  const char *v = strstr(r.out, "verdict: ");
  ck_assert(v);
  ck_assert_msg(strstr(v, "Loss per batch") && strstr(v, "Update:weight"),
                "no text plots after the verdict");
  run_free(&r);
  r = BS("mlp", "--epochs", "3", "--dumb", "--json");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
}
END_TEST

START_TEST(usage_errors)
{
  run_result r = BS("mlp", "--bogus");
  ck_assert_int_eq(r.status, 2);
  ck_assert_int_eq((int)count_of(r.err, "\n"), 1);
  run_free(&r);
  r = BS("mlp", "--optim", "fast");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  r = BS("relu"); /* a layer */
  ck_assert_int_eq(r.status, 2);
  ck_assert(strstr(r.err, "layer"));
  run_free(&r);
  r = BS("mlp", "--resume", "/nonexistent/x.nnckpt");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  r = BS("mlp", "--epochs", "0");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  r = run_tool("babysit", (const char *const[]){"babysit", "--help", NULL});
  ck_assert_int_eq(r.status, 0);
  const char *need[] = {"--args", "--seed", "--optim", "--lr", "--sched",
                        "--epochs", "--batch", "--ema", "--checkpoints",
                        "--resume", "--plots", "--report", "--json",
                        "--dumb", "--list", "Exit status", "  0 ", "  1 ",
                        "  2 ", "  3 "};
  for (size_t i = 0; i < sizeof need / sizeof *need; i++)
    ck_assert_msg(strstr(r.out, need[i]), "--help lacks %s", need[i]);
  run_free(&r);
}
END_TEST

/* ---- buckets --------------------------------------------------------------- */

START_TEST(bucket_edges)
{
  ck_assert_uint_eq(nnc_babysit_bucket(0.0), NNC_BS_BUCKET_ZERO);
  ck_assert_uint_eq(nnc_babysit_bucket(-0.0), NNC_BS_BUCKET_ZERO);
  ck_assert_uint_eq(nnc_babysit_bucket(NAN), NNC_BS_BUCKET_NONFINITE);
  ck_assert_uint_eq(nnc_babysit_bucket(INFINITY), NNC_BS_BUCKET_NONFINITE);
  ck_assert_uint_eq(nnc_babysit_bucket(1e-300), NNC_BS_BUCKET_ZERO + 1);
  ck_assert_uint_eq(nnc_babysit_bucket(1e300), NNC_BS_BUCKET_NONFINITE - 1);
  ck_assert_uint_eq(nnc_babysit_bucket(-1e300), 0);
  for (size_t b = 0; b < NNC_BS_NBUCKETS; b++) {
    double lo, hi;
    nnc_babysit_bucket_edges(b, &lo, &hi);
    if (b == NNC_BS_BUCKET_ZERO || b == NNC_BS_BUCKET_NONFINITE)
      continue;
    ck_assert_msg(lo < hi, "bucket %zu: [%g, %g)", b, lo, hi);
    double mid = isinf(lo) ? hi * 2 : isinf(hi) ? lo * 2
                 : lo == 0 || hi == 0 ? (lo + hi) / 2
                                      : copysign(sqrt(lo * hi), lo + hi);
    ck_assert_msg(nnc_babysit_bucket(mid) == b, "bucket %zu: %g goes to %zu",
                  b, mid, nnc_babysit_bucket(mid));
    /* mirror image */
    ck_assert_uint_eq(nnc_babysit_bucket(-mid), NNC_BS_NBUCKETS - 2 - b);
    if (b > NNC_BS_BUCKET_ZERO + 1 && isfinite(lo))
      ck_assert_msg(nnc_babysit_bucket(lo) == b, "edge %g of bucket %zu", lo,
                    b);
  }
  ck_assert_uint_eq(nnc_babysit_bucket(1e-2) , nnc_babysit_bucket(1.1e-2));
  ck_assert_uint_ne(nnc_babysit_bucket(1e-2), nnc_babysit_bucket(0.99e-2));
}
END_TEST

/* ---- first-layer filters ----------------------------------------------------- */

START_TEST(filter_noise_separates_trained_from_random)
{
  run_result r = BS("--json", "mlp", "--args", "data=bars,reg=0.1", "--optim",
                    "momentum", "--lr", "0.02", "--epochs", "60");
  ck_assert_msg(r.status == 0, "%s", r.out);
  double n0 = jnum(r.out, "\"filters\": {", "noise0");
  double n1 = jnum(r.out, "\"filters\": {", "noise");
  ck_assert_msg(n0 > 0.85 && n0 < 1.15, "random init: noise %g, want ~1", n0);
  ck_assert_msg(n1 < 0.5, "trained with L2: noise %g, want < 0.5", n1);
  ck_assert_int_eq((int)jnum(r.out, "\"filters\": {", "height"), 8);
  run_free(&r);
  /* the spiral has no image: no filters */
  r = BS("--json", "mlp", "--epochs", "2");
  ck_assert(strstr(r.out, "\"filters\": null"));
  run_free(&r);
}
END_TEST

/* ---- plots ---------------------------------------------------------------------- */

static int nonempty(const char *dir, const char *name, const char *ext)
{
  char p[4096];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s.%s", dir, name, ext);
  return stat(p, &st) == 0 && st.st_size > 200;
}

START_TEST(plots_written)
{
  char *d = make_tmpdir();
  run_result r = BS("mlp", "--args", "data=bars,layers=64,30,20,3", "--epochs",
                    "3", "--plots", d);
  ck_assert_msg(r.status == 0 || r.status == 1, "%s", r.err);
  const char *names[] = {"babysit_loss", "babysit_loss_log", "babysit_acc",
                         "babysit_ratio", "babysit_units",
                         "babysit_hist_act_relu1", "babysit_hist_grad_relu1",
                         "babysit_hist_act_relu2", "babysit_hist_grad_relu2",
                         "babysit_filters", "babysit_filters0"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    for (int e = 0; e < 4; e++) {
      const char *ext = (const char *[]){"png", "svg", "dat", "gp"}[e];
      ck_assert_msg(nonempty(d, names[i], ext), "%s.%s missing", names[i],
                    ext);
    }
  char p[4096];
  snprintf(p, sizeof p, "%s/babysit_loss_log.gp", d);
  char *gp = read_file(p, NULL);
  ck_assert(gp && strstr(gp, "set logscale y"));
  free(gp);
  snprintf(p, sizeof p, "%s/babysit_ratio.dat", d);
  run_free(&r);
  free(d);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("babysit");
  TCase *t = tcase_create("diagnoses");
  tcase_set_timeout(t, 600);
  tcase_add_loop_test(t, diagnosis_triggered, 0, NPAIRS);
  tcase_add_loop_test(t, diagnosis_not_triggered, 0, NPAIRS);
  tcase_add_test(t, nan_names_step_and_block);
  suite_add_tcase(s, t);
  t = tcase_create("resume");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, half_runs_add_up);
  tcase_add_test(t, resume_by_the_tool);
  suite_add_tcase(s, t);
  t = tcase_create("tool");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, same_seed_same_report);
  tcase_add_test(t, progress_lines_without_a_terminal);
  tcase_add_test(t, usage_errors);
  tcase_add_test(t, dumb_plots_after_the_report);
  tcase_add_test(t, bucket_edges);
  tcase_add_test(t, filter_noise_separates_trained_from_random);
  tcase_add_test(t, plots_written);
  suite_add_tcase(s, t);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
