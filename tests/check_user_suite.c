#include "config.h"
/* A user's own Check suite, written the way the README tells users to:
 * their layer compiled into their test, checked in-process with
 * nncheck/check.h.  It also proves the assertion fails, with the report, at
 * the user's line, when the layer's gradient is wrong. */
#include <check.h>
#include <nncheck/check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The user's layer: the bundled example, compiled into this program. */
#include "../plugins/example_layer.c"

START_TEST(my_layer_gradient_is_right)
{
  ck_assert_gradcheck(NNC_PLUGIN_ENTRY(), "");
}
END_TEST

START_TEST(my_layer_with_options)
{
  nnc_gradcheck_opts o;
  nnc_gradcheck_opts_init(&o);
  o.seed = 99;
  o.samples = 0; /* every coordinate */
  ck_assert_gradcheck_opts(NNC_PLUGIN_ENTRY(), "", &o);
}
END_TEST

START_TEST(bundled_net_by_name)
{
  ck_assert_gradcheck_plugin("mlp", "layers=2,16,3");
}
END_TEST

/* This one must fail: a layer whose input gradient uses W instead of W^T. */
static const int broken_line = __LINE__ + 3;
START_TEST(broken_layer_must_fail)
{
  ck_assert_gradcheck_plugin("bug_affine_w_not_wt", "");
}
END_TEST

START_TEST(the_broken_layer_is_reported)
{
  /* Run the must-fail test in a runner of its own, without the TAP stream
   * this program reports through, and look at what Check recorded. */
  char *saved = getenv("CK_TAP_LOG_FILE_NAME");
  saved = saved ? strdup(saved) : NULL;
  unsetenv("CK_TAP_LOG_FILE_NAME");
  Suite *s = suite_create("must_fail");
  TCase *tc = tcase_create("must_fail");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, broken_layer_must_fail);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_FORK);
  srunner_run_all(sr, CK_SILENT);
  if (saved) {
    setenv("CK_TAP_LOG_FILE_NAME", saved, 1);
    free(saved);
  }
  ck_assert_int_eq(srunner_ntests_failed(sr), 1);
  TestResult **tr = srunner_failures(sr);
  const char *msg = tr_msg(tr[0]);
  ck_assert_msg(strstr(msg, "gradcheck failed (exit 1)"), "%s", msg);
  ck_assert_msg(strstr(msg, "FAIL") && strstr(msg, "input"), "%s", msg);
  ck_assert_msg(strstr(msg, "reproduce: gradcheck"), "%s", msg);
  ck_assert_msg(strstr(tr_lfile(tr[0]), "check_user_suite.c"), "%s",
                tr_lfile(tr[0]));
  ck_assert_int_eq(tr_lno(tr[0]), broken_line);
  free(tr);
  srunner_free(sr);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("user_suite");
  TCase *tc = tcase_create("user_suite");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, my_layer_gradient_is_right);
  tcase_add_test(tc, my_layer_with_options);
  tcase_add_test(tc, bundled_net_by_name);
  tcase_add_test(tc, the_broken_layer_is_reported);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
