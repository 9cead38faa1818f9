/* libnncheck in-process: descriptor validation and compatibility, the model
 * handle over nets and layers, sentinels, error table, seeded streams. */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <nncheck/nncheck.h>
#include "rng.h"

/* ---- a tiny in-process layer: y = a*x + b elementwise (dim 3) ----------- */
typedef struct sl {
  double a[3], b[3], x[64];
  size_t n;
  int skip_dx, accumulate;
} sl;

static void *sl_create(const char *args, char *err, size_t errlen)
{
  (void)err;
  (void)errlen;
  sl *s = calloc(1, sizeof *s);
  for (int i = 0; i < 3; i++) {
    s->a[i] = 0.5 + i;
    s->b[i] = -0.25 * i;
  }
  s->skip_dx = args && strstr(args, "skip_dx") != NULL;
  return s;
}
static void sl_destroy(void *p) { free(p); }
static size_t sl_num_blocks(void *p) { (void)p; return 2; }
static int sl_get_block(void *p, size_t i, nnc_block *out)
{
  sl *s = p;
  out->name = i ? "b" : "a";
  out->data = i ? s->b : s->a;
  out->count = 3;
  out->dtype = NNC_F64;
  out->ndim = 1;
  out->shape[0] = 3;
  return 0;
}
static int sl_info(void *p, nnc_layer_info *out)
{
  (void)p;
  out->dtype = NNC_F64;
  out->in_ndim = out->out_ndim = 1;
  out->in_shape[0] = out->out_shape[0] = 3;
  out->max_batch = 20;
  return 0;
}
static int sl_forward(void *p, const void *xv, void *yv, size_t n,
                      uint64_t seed, uint32_t flags, char *err, size_t errlen)
{
  (void)seed;
  (void)flags;
  (void)err;
  (void)errlen;
  sl *s = p;
  const double *x = xv;
  double *y = yv;
  s->n = n;
  for (size_t k = 0; k < n * 3; k++) {
    s->x[k] = x[k];
    y[k] = s->a[k % 3] * x[k] + s->b[k % 3];
  }
  return 0;
}
static int sl_backward(void *p, const void *dyv, void *dxv,
                       void *const *grads, char *err, size_t errlen)
{
  (void)err;
  (void)errlen;
  sl *s = p;
  const double *dy = dyv;
  double *dx = dxv, *da = grads[0], *db = grads[1];
  for (int i = 0; i < 3; i++)
    da[i] = db[i] = 0;
  for (size_t k = 0; k < s->n * 3; k++) {
    da[k % 3] += dy[k] * s->x[k];
    db[k % 3] += dy[k];
    if (!s->skip_dx)
      dx[k] = dy[k] * s->a[k % 3];
  }
  return 0;
}

static nnc_plugin sl_desc(void)
{
  nnc_plugin d = {
      .size = sizeof(nnc_plugin),
      .abi_version = NNC_ABI_VERSION,
      .kind = NNC_KIND_LAYER,
      .name = "scale_shift",
      .summary = "elementwise a*x+b",
      .create = sl_create,
      .destroy = sl_destroy,
      .num_blocks = sl_num_blocks,
      .get_block = sl_get_block,
      .layer_info = sl_info,
      .forward = sl_forward,
      .layer_backward = sl_backward,
  };
  return d;
}

START_TEST(layer_becomes_a_model_with_an_input_block)
{
  nnc_plugin d = sl_desc();
  nnc_model *m;
  char err[256];
  ck_assert_int_eq(nnc_model_open(&d, "", &m, err, sizeof err), NNC_OK);
  ck_assert_uint_eq(nnc_model_num_blocks(m), 3);
  const nnc_block *in = nnc_model_block(m, 2);
  ck_assert_str_eq(in->name, "input");
  ck_assert_uint_eq(in->count, 3 * 3); /* 3 examples by default */
  ck_assert_int_eq(nnc_model_select(m, 5, 42), NNC_OK);
  ck_assert_uint_eq(nnc_model_block(m, 2)->count, 15);
  /* L = sum(r .* y) is linear in b: dL/db_j = sum over examples of r */
  double L0, L1;
  ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L0), NNC_OK);
  ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
  double g = nnc_model_grad(m, 1, 0);
  nnc_model_set(m, 1, 0, nnc_model_get(m, 1, 0) + 1.0);
  ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L1), NNC_OK);
  ck_assert_double_eq_tol(L1 - L0, g, 1e-12);
  ck_assert(g != 0);
  /* the input gradient is the model's gradient of block "input": with one
   * example, db = r and dx = r .* a */
  ck_assert_int_eq(nnc_model_select(m, 1, 7), NNC_OK);
  ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L0), NNC_OK);
  ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
  ck_assert_double_eq_tol(nnc_model_grad(m, 2, 1),
                          nnc_model_grad(m, 1, 1) * 1.5, 1e-12);
  /* the same seed draws the same inputs, another seed others */
  ck_assert_int_eq(nnc_model_select(m, 5, 42), NNC_OK);
  double x0 = nnc_model_get(m, 2, 0);
  ck_assert_int_eq(nnc_model_select(m, 5, 42), NNC_OK);
  ck_assert(nnc_model_get(m, 2, 0) == x0);
  ck_assert_int_eq(nnc_model_select(m, 5, 43), NNC_OK);
  ck_assert(nnc_model_get(m, 2, 0) != x0);
  /* max_batch caps the batch */
  ck_assert_int_eq(nnc_model_select(m, 100, 1), NNC_OK);
  ck_assert_uint_eq(nnc_model_examples(m), 20);
  nnc_model_close(m);
}
END_TEST

START_TEST(unwritten_gradient_is_a_contract_breach)
{
  nnc_plugin d = sl_desc();
  nnc_model *m;
  char err[256];
  ck_assert_int_eq(nnc_model_open(&d, "skip_dx", &m, err, sizeof err), NNC_OK);
  double L;
  ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L), NNC_OK);
  ck_assert_int_eq(nnc_model_backward(m), NNC_ECONTRACT);
  ck_assert_msg(strstr(nnc_model_error(m), "unwritten") &&
                    strstr(nnc_model_error(m), "'input'"),
                "%s", nnc_model_error(m));
  ck_assert_int_eq(nnc_err_exit_status(NNC_ECONTRACT), 3);
  nnc_model_close(m);
}
END_TEST

START_TEST(descriptor_versions_and_sizes)
{
  nnc_plugin d = sl_desc();
  nnc_model *m = NULL;
  char err[512];
  d.abi_version = 2;
  ck_assert_int_eq(nnc_model_open(&d, "", &m, err, sizeof err), NNC_EABI);
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(err, "version 2") && strstr(err, "version 1"), "%s", err);
  /* An older, smaller descriptor: whatever lies past its size is never
   * read, so optional callbacks there read as absent. */
  union {
    nnc_plugin d;
    unsigned char bytes[sizeof(nnc_plugin) + 64];
  } old;
  memset(&old, 0xA5, sizeof old);
  old.d = sl_desc();
  size_t cut = offsetof(nnc_plugin, net_info);
  memset(old.bytes + cut, 0xA5, sizeof old - cut); /* garbage "callbacks" */
  old.d.size = (uint32_t)cut;
  ck_assert_int_eq(nnc_model_open(&old.d, "", &m, err, sizeof err), NNC_OK);
  ck_assert_ptr_null(nnc_model_desc(m)->winners);
  ck_assert_ptr_null(nnc_model_desc(m)->clone);
  nnc_winners w;
  double L;
  ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L), NNC_OK);
  ck_assert_int_eq(nnc_model_winners(m, &w), NNC_EUNSUPPORTED);
  nnc_model_close(m);
  /* missing required callbacks are named */
  d = sl_desc();
  d.layer_backward = NULL;
  ck_assert_int_eq(nnc_model_open(&d, "", &m, err, sizeof err), NNC_EABI);
  ck_assert_msg(strstr(err, "layer_backward"), "%s", err);
  d = sl_desc();
  d.kind = 7;
  ck_assert_int_eq(nnc_model_open(&d, "", &m, err, sizeof err), NNC_EABI);
  ck_assert_msg(strstr(err, "kind 7"), "%s", err);
  ck_assert_int_eq(nnc_model_open(NULL, "", &m, err, sizeof err), NNC_EABI);
}
END_TEST

START_TEST(error_table)
{
  ck_assert_str_eq(nnc_strerror(NNC_OK), "success");
  ck_assert_str_eq(nnc_err_name(NNC_EABI), "NNC_EABI");
  ck_assert_int_eq(nnc_err_exit_status(NNC_EARG), 2);
  ck_assert_int_eq(nnc_err_exit_status(NNC_EABI), 2);
  ck_assert_int_eq(nnc_err_exit_status(NNC_ENONFINITE), 3);
  ck_assert_int_eq(nnc_err_exit_status(NNC_EPLUGIN), 3);
  ck_assert_str_eq(nnc_strerror(12345), "unknown error");
}
END_TEST

START_TEST(seeded_streams)
{
  nnc_rng a, b, c;
  nnc_rng_init(&a, 5, 1);
  nnc_rng_init(&b, 5, 1);
  nnc_rng_init(&c, 5, 2);
  int differ = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t x = nnc_rng_u64(&a), y = nnc_rng_u64(&b), z = nnc_rng_u64(&c);
    ck_assert(x == y);
    differ += x != z;
  }
  ck_assert_int_gt(differ, 95);
  size_t pick[50];
  nnc_rng_choose(&a, 60, 50, pick);
  for (int i = 1; i < 50; i++)
    ck_assert(pick[i] > pick[i - 1] && pick[i] < 60);
  double s = 0, s2 = 0;
  for (int i = 0; i < 20000; i++) {
    double v = nnc_rng_normal(&a);
    s += v;
    s2 += v * v;
  }
  ck_assert_double_eq_tol(s / 20000, 0, 0.05);
  ck_assert_double_eq_tol(s2 / 20000, 1, 0.05);
}
END_TEST

START_TEST(gradcheck_in_process)
{
  nnc_plugin d = sl_desc();
  nnc_model *m;
  char err[256];
  ck_assert_int_eq(nnc_model_open(&d, "", &m, err, sizeof err), NNC_OK);
  nnc_gradcheck_result *r;
  ck_assert_int_eq(nnc_gradcheck(m, NULL, &r), NNC_OK);
  ck_assert_int_eq(r->verdict, NNC_PASS);
  ck_assert_uint_eq(r->nblocks, 3); /* a, b, input: one part for a layer */
  for (size_t k = 0; k < r->nblocks; k++) {
    ck_assert_uint_gt(r->blocks[k].checked, 0);
    ck_assert_uint_eq(r->blocks[k].live, r->blocks[k].checked);
  }
  ck_assert_int_eq(nnc_gradcheck_exit_status(r), 0);
  nnc_gradcheck_free(r);
  nnc_model_close(m);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("model");
  TCase *tc = tcase_create("model");
  tcase_add_test(tc, layer_becomes_a_model_with_an_input_block);
  tcase_add_test(tc, unwritten_gradient_is_a_contract_breach);
  tcase_add_test(tc, descriptor_versions_and_sizes);
  tcase_add_test(tc, error_table);
  tcase_add_test(tc, seeded_streams);
  tcase_add_test(tc, gradcheck_in_process);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
