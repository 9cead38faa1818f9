/* The FANN plugin under the real tools: what nncheck finds in a library
 * nobody here wrote, pinned down with numbers.
 *
 *  - FANN's raw train_slopes are not the gradient of FANN's MSE: with the
 *    linear error function and a smooth activation every checked coordinate
 *    has slope = -(s*n*m/2) x gradient exactly (s = 2 for a symmetric output
 *    activation, n examples, m outputs): the sign is flipped and the scale
 *    grows with the batch.  Scaled by -2/(s*n*m) (the plugin's default)
 *    they pass.
 *  - The default error function (tanh) makes the slopes no multiple of the
 *    MSE gradient at all; so do the stepwise activations and, on saturated
 *    units, FANN's clipped activation derivative.
 *  - sanity and lrprobe see the flipped sign as a gradient that climbs. */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC(...) RUN("gradcheck", __VA_ARGS__)
#define SAN(...) RUN("sanity", __VA_ARGS__)
#define LRP(...) RUN("lrprobe", __VA_ARGS__)

/* The configuration where FANN's slopes are exactly a multiple of the MSE
 * gradient: smooth sigmoid, linear error function. */
#define EXACT "act=sigmoid errfunc=linear grad=raw"
/* FANN as fann_create_standard makes it, slopes handed over raw. */
#define FANN_DEFAULTS "act=sigmoid_stepwise errfunc=tanh grad=raw"

/* Every checked coordinate's analytic/numeric ratio from a --json report;
 * returns how many, the extreme ratios in lo and hi. */
static size_t ratios(const char *json, double *lo, double *hi)
{
  size_t n = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (const char *p = json; (p = strstr(p, "\"analytic\": "));) {
    double a = strtod(p + strlen("\"analytic\": "), NULL);
    const char *q = strstr(p, "\"numeric\": ");
    ck_assert_ptr_nonnull(q);
    double num = strtod(q + strlen("\"numeric\": "), NULL);
    p = q;
    if (num == 0)
      continue;
    double r = a / num;
    *lo = fmin(*lo, r);
    *hi = fmax(*hi, r);
    n++;
  }
  return n;
}

/* One gradcheck --json run at the start point (no burn-in): its exit
 * status must be `want`; the ratios must all lie within rtol of `ratio`. */
static void expect_ratio(const char *args, const char *examples, int want,
                         double ratio, double rtol)
{
  run_result r = GC("fann", "--args", args, "--burn-in", "0", "--examples",
                    examples, "--json");
  ck_assert_msg(r.status == want, "gradcheck fann --args '%s' exit %d, "
                "expected %d: %s", args, r.status, want, r.err);
  double lo, hi;
  size_t n = ratios(r.out, &lo, &hi);
  ck_assert_msg(n >= 20, "%zu coordinates in the report", n);
  ck_assert_msg(fabs(lo / ratio - 1) < rtol && fabs(hi / ratio - 1) < rtol,
                "'%s', %s examples: analytic/numeric in [%.9g, %.9g], "
                "expected %g", args, examples, lo, hi, ratio);
  run_free(&r);
}

START_TEST(fann_defaults_raw_slopes_fail)
{
  run_result r = GC("fann", "--args", FANN_DEFAULTS);
  ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "verdict: FAIL"));
  run_free(&r);
}
END_TEST

START_TEST(raw_slope_is_minus_n_m_over_2_times_gradient)
{
  /* m = 3 outputs; n = 3 and 5 examples; s = 1 (sigmoid), 2 (tanh). */
  expect_ratio(EXACT, "3", 1, -4.5, 1e-6);
  expect_ratio(EXACT, "5", 1, -7.5, 1e-6);
  expect_ratio("grad=raw", "3", 1, -9.0, 1e-6);
  expect_ratio("act=elliot out=sigmoid errfunc=linear grad=raw", "4", 1, -6.0,
               1e-6);
}
END_TEST

START_TEST(scaled_slopes_pass)
{
  static const char *const configs[] = {
      "", "act=sigmoid", "act=tanh errfunc=linear grad=scaled",
      "act=elliot_symmetric errfunc=linear grad=scaled",
      "act=tanh out=linear errfunc=linear grad=scaled layers=2,12,8,3"};
  static const char *const seeds[] = {"1", "2", "3"};
  for (size_t c = 0; c < sizeof configs / sizeof *configs; c++)
    for (size_t k = 0; k < sizeof seeds / sizeof *seeds; k++) {
      run_result r = GC("fann", "--args", configs[c], "--seed", seeds[k]);
      ck_assert_msg(r.status == 0, "'%s' seed %s: exit %d\n%s%s", configs[c],
                    seeds[k], r.status, r.out, r.err);
      run_free(&r);
    }
  /* Every coordinate, at the start point: the ratio is exactly 1. */
  expect_ratio("act=sigmoid", "3", 0, 1.0, 1e-5);
}
END_TEST

START_TEST(tanh_error_function_is_no_multiple)
{
  /* Even scaled, the tanh error function's slopes are no multiple of the
   * MSE gradient: their ratio to it differs from coordinate to coordinate. */
  run_result r = GC("fann", "--args", "act=sigmoid errfunc=tanh",
                    "--burn-in", "0", "--json");
  ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
  double lo, hi;
  ck_assert_uint_ge(ratios(r.out, &lo, &hi), 20);
  ck_assert_msg(hi - lo > 0.1, "ratios in [%g, %g]", lo, hi);
  run_free(&r);
}
END_TEST

START_TEST(stepwise_and_saturation_fail)
{
  /* The stepwise activations are piecewise linear forward but use the
   * smooth derivative backward; saturated units get FANN's clipped
   * derivative (value clipped to [0.01, 0.99] or [-0.98, 0.98]). */
  static const char *const configs[] = {
      "act=sigmoid_stepwise", "act=tanh_stepwise", "scale=5",
      "act=sigmoid scale=5"};
  for (size_t c = 0; c < sizeof configs / sizeof *configs; c++) {
    run_result r = GC("fann", "--args", configs[c]);
    ck_assert_msg(r.status == 1, "'%s': exit %d\n%s%s", configs[c], r.status,
                  r.out, r.err);
    run_free(&r);
  }
}
END_TEST

START_TEST(loss_is_fanns_mse)
{
  /* The loss computed in double equals FANN's own (float) MSE. */
  run_result a = GC("fann", "--burn-in", "0", "--json");
  run_result b = GC("fann", "--args", "mse=fann", "--burn-in", "0", "--json");
  const char *pa = strstr(a.out, "\"loss\": "), *pb = strstr(b.out, "\"loss\": ");
  ck_assert_ptr_nonnull(pa);
  ck_assert_ptr_nonnull(pb);
  double la = strtod(pa + 8, NULL), lb = strtod(pb + 8, NULL);
  ck_assert_msg(la > 0 && fabs(la - lb) <= 1e-6 * la, "double %.17g, FANN "
                "%.17g", la, lb);
  run_free(&a);
  run_free(&b);
}
END_TEST

START_TEST(sanity_sees_the_sign)
{
  run_result r = SAN("fann", "--args", EXACT);
  ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "points the wrong way"));
  run_free(&r);
  r = SAN("fann", "--args", "act=sigmoid");
  ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
  run_free(&r);
}
END_TEST

START_TEST(lrprobe_sees_the_sign)
{
  run_result r = LRP("fann", "--args", EXACT);
  ck_assert_msg(r.status == 1, "exit %d: %s", r.status, r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "points uphill"));
  run_free(&r);
  r = LRP("fann", "--args", "act=sigmoid");
  ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
  run_free(&r);
}
END_TEST

START_TEST(bad_arguments_exit_2)
{
  static const char *const bad[] = {"act=relu", "layers=3,8,3", "errfunc=x",
                                    "grad=yes", "K=4", "steepness=0", "what"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    run_result r = GC("fann", "--args", bad[i]);
    ck_assert_msg(r.status == 2, "'%s': exit %d", bad[i], r.status);
    ck_assert_msg(count_of(r.err, "\n") == 1 && strstr(r.err, "fann: "),
                  "'%s': %s", bad[i], r.err);
    run_free(&r);
  }
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"fann_defaults_fail", fann_defaults_raw_slopes_fail},
      {"raw_ratio", raw_slope_is_minus_n_m_over_2_times_gradient},
      {"scaled_pass", scaled_slopes_pass},
      {"tanh_errfunc", tanh_error_function_is_no_multiple},
      {"stepwise_saturation", stepwise_and_saturation_fail},
      {"loss_is_mse", loss_is_fanns_mse},
      {"sanity", sanity_sees_the_sign},
      {"lrprobe", lrprobe_sees_the_sign},
      {"bad_arguments", bad_arguments_exit_2},
  };
  return run_cases("fann", cases, sizeof cases / sizeof *cases, 600,
                   CK_ENV);
}
