/* test_my_layer.c — the layer's Check suite, with nncheck's assertions.
 * The descriptor goes to nncheck in-process: no plugin file, no dlopen. */
#include <check.h>
#include <nncheck/check.h>
#include <stdlib.h>

#include "my_layer.h"

START_TEST(gradient_at_defaults)
{
  ck_assert_gradcheck(my_layer(), "");
}
END_TEST

START_TEST(gradient_wide_and_leaky)
{
  ck_assert_gradcheck(my_layer(), "in=16 out=8 leak=0.3");
}
END_TEST

START_TEST(gradient_every_coordinate_other_seed)
{
  nnc_gradcheck_opts o;
  nnc_gradcheck_opts_init(&o);
  o.seed = 7;
  o.samples = 0; /* every coordinate of every block */
  ck_assert_gradcheck_opts(my_layer(), "in=4 out=4", &o);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("my_layer");
  TCase *tc = tcase_create("gradients");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, gradient_at_defaults);
  tcase_add_test(tc, gradient_wide_and_leaky);
  tcase_add_test(tc, gradient_every_coordinate_other_seed);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
