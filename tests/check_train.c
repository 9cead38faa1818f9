/* libnncheck's training core in-process: every update rule against values
 * worked out by hand on a quadratic bowl, the rules' speed on an
 * ill-conditioned bowl, L-BFGS, schedules, the seeded sampler, evaluation,
 * snapshots, and training runs on small in-process plugins and the bundled
 * reference net. */
#include "config.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nncheck/nncheck.h>
#include <nncheck/train.h>

#define TOL 1e-12
#define MAXN 32

/* ---- bowl: a net without a dataset --------------------------------------
 * f = 1/2 sum a_i x_i^2 (or Rosenbrock's function with f=rosen), the
 * vector split into blocks "x" and "y" with split=1, stored as float with
 * float=1.  nangrad=T: backward writes NaN into the last block's gradient
 * once some |x_i| > T; infgrad=K: backward writes Inf as element K's. */
typedef struct bowl {
  size_t n;
  double a[MAXN];
  double xd[MAXN];
  float xf[MAXN];
  int is_float, split, rosen;
  double nangrad;
  long infgrad; /* -1: none */
} bowl;

static size_t parse_list(const char *s, double *out)
{
  size_t n = 0;
  while (n < MAXN) {
    char *end;
    out[n] = strtod(s, &end);
    if (end == s)
      break;
    n++;
    if (*end != ',')
      break;
    s = end + 1;
  }
  return n;
}

static void *bowl_create(const char *args, char *err, size_t errlen)
{
  bowl *b = calloc(1, sizeof *b);
  const char *p;
  double x[MAXN];
  size_t nx = 0;
  b->n = 1;
  b->a[0] = 1;
  x[0] = 1;
  if ((p = strstr(args, "a=")))
    b->n = parse_list(p + 2, b->a);
  if ((p = strstr(args, "x=")))
    nx = parse_list(p + 2, x);
  if (nx != b->n && strstr(args, "x=")) {
    snprintf(err, errlen, "bowl: %zu values of a but %zu of x", b->n, nx);
    free(b);
    return NULL;
  }
  for (size_t i = 0; i < b->n; i++) {
    double v = strstr(args, "x=") ? x[i] : 1.0;
    b->xd[i] = v;
    b->xf[i] = (float)v;
  }
  b->is_float = strstr(args, "float=1") != NULL;
  b->split = strstr(args, "split=1") != NULL && b->n > 1;
  b->rosen = strstr(args, "f=rosen") != NULL;
  if (b->rosen)
    b->n = 2;
  if ((p = strstr(args, "nangrad=")))
    b->nangrad = atof(p + 8);
  b->infgrad = (p = strstr(args, "infgrad=")) ? atol(p + 8) : -1;
  return b;
}
static void bowl_destroy(void *p) { free(p); }
static size_t bowl_nblocks(void *p) { return ((bowl *)p)->split ? 2 : 1; }
static size_t bowl_first(const bowl *b, size_t i)
{
  return i ? b->n / 2 : 0;
}
static size_t bowl_count(const bowl *b, size_t i)
{
  if (!b->split)
    return b->n;
  return i ? b->n - b->n / 2 : b->n / 2;
}
static int bowl_block(void *p, size_t i, nnc_block *out)
{
  bowl *b = p;
  size_t f = bowl_first(b, i);
  out->name = i ? "y" : "x";
  out->data = b->is_float ? (void *)(b->xf + f) : (void *)(b->xd + f);
  out->count = bowl_count(b, i);
  out->dtype = b->is_float ? NNC_F32 : NNC_F64;
  return 0;
}
static double bowl_x(const bowl *b, size_t i)
{
  return b->is_float ? (double)b->xf[i] : b->xd[i];
}
static int bowl_loss(void *p, const nnc_batch *batch, uint64_t seed,
                     uint32_t flags, double *loss, char *err, size_t errlen)
{
  bowl *b = p;
  double f = 0;
  if (b->rosen) {
    double x0 = bowl_x(b, 0), x1 = bowl_x(b, 1);
    f = (1 - x0) * (1 - x0) + 100 * (x1 - x0 * x0) * (x1 - x0 * x0);
  } else {
    for (size_t i = 0; i < b->n; i++)
      f += 0.5 * b->a[i] * bowl_x(b, i) * bowl_x(b, i);
  }
  *loss = f;
  return 0;
}
static void bowl_put(const bowl *b, void *const *grads, size_t i, double g)
{
  size_t blk = b->split && i >= b->n / 2 ? 1 : 0;
  size_t k = i - bowl_first(b, blk);
  if (b->is_float)
    ((float *)grads[blk])[k] = (float)g;
  else
    ((double *)grads[blk])[k] = g;
}
static int bowl_backward(void *p, void *const *grads, char *err, size_t errlen)
{
  bowl *b = p;
  int blow = 0;
  for (size_t i = 0; i < b->n; i++)
    if (b->nangrad > 0 && fabs(bowl_x(b, i)) > b->nangrad)
      blow = 1;
  for (size_t i = 0; i < b->n; i++) {
    double g;
    if (b->rosen) {
      double x0 = bowl_x(b, 0), x1 = bowl_x(b, 1);
      g = i == 0 ? -2 * (1 - x0) - 400 * x0 * (x1 - x0 * x0)
                 : 200 * (x1 - x0 * x0);
    } else {
      g = b->a[i] * bowl_x(b, i);
    }
    if (blow && i + 1 == b->n)
      g = NAN;
    if ((long)i == b->infgrad)
      g = INFINITY;
    bowl_put(b, grads, i, g);
  }
  return 0;
}

static const nnc_plugin bowl_desc = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_NET,
    .name = "bowl",
    .summary = "1/2 sum a_i x_i^2, no dataset",
    .create = bowl_create,
    .destroy = bowl_destroy,
    .num_blocks = bowl_nblocks,
    .get_block = bowl_block,
    .loss = bowl_loss,
    .backward = bowl_backward,
};

/* ---- ds: a net with a dataset ---------------------------------------------
 * One parameter w.  Training example i has target i, validation example i
 * target i + 0.5; loss = mean over the batch of (w - t)^2 / 2; predict says
 * class 1 when w > t, and every label is 1.  The batches of training-mode
 * calls are recorded, in order, into `seen`. */
typedef struct ds {
  double w;
  size_t n_train, n_val;
  size_t seen[4096];
  size_t nseen;
  size_t batch_count[1024];
  size_t nbatches;
} ds;

static ds *last_ds; /* the instance the test opened last */

static void *ds_create(const char *args, char *err, size_t errlen)
{
  ds *d = calloc(1, sizeof *d);
  const char *p;
  d->n_train = 10;
  d->n_val = 4;
  if ((p = strstr(args, "n=")))
    d->n_train = (size_t)atol(p + 2);
  if ((p = strstr(args, "v=")))
    d->n_val = (size_t)atol(p + 2);
  last_ds = d;
  return d;
}
static void ds_destroy(void *p) { free(p); }
static size_t ds_nblocks(void *p) { return 1; }
static int ds_block(void *p, size_t i, nnc_block *out)
{
  ds *d = p;
  out->name = "w";
  out->data = &d->w;
  out->count = 1;
  out->dtype = NNC_F64;
  return 0;
}
static double ds_target(const nnc_batch *b, size_t k)
{
  size_t i = b && b->index ? b->index[k] : k;
  return b && b->index && b->split == NNC_SPLIT_VAL ? (double)i + 0.5
                                                    : (double)i;
}
static size_t ds_count(const ds *d, const nnc_batch *b)
{
  return b && b->index ? b->count : d->n_train;
}
static int ds_loss(void *p, const nnc_batch *batch, uint64_t seed,
                   uint32_t flags, double *loss, char *err, size_t errlen)
{
  ds *d = p;
  size_t n = ds_count(d, batch);
  double s = 0;
  for (size_t k = 0; k < n; k++) {
    double r = d->w - ds_target(batch, k);
    s += 0.5 * r * r;
  }
  if ((flags & NNC_F_TRAIN) && batch && batch->index) {
    for (size_t k = 0; k < n && d->nseen < 4096; k++)
      d->seen[d->nseen++] = batch->index[k];
    if (d->nbatches < 1024)
      d->batch_count[d->nbatches++] = n;
  }
  *loss = s / (double)n;
  return 0;
}
static int ds_backward(void *p, void *const *grads, char *err, size_t errlen)
{
  /* Only training uses the gradient here: the batch is not remembered, so
   * the gradient is that of the whole training split. */
  ds *d = p;
  double g = 0;
  for (size_t i = 0; i < d->n_train; i++)
    g += d->w - (double)i;
  ((double *)grads[0])[0] = g / (double)d->n_train;
  return 0;
}
static int ds_info(void *p, nnc_net_info *out)
{
  ds *d = p;
  out->n_train = d->n_train;
  out->n_val = d->n_val;
  out->n_classes = 2;
  return 0;
}
static int ds_predict(void *p, const nnc_batch *batch, int32_t *pred,
                      int32_t *label, char *err, size_t errlen)
{
  ds *d = p;
  size_t n = ds_count(d, batch);
  for (size_t k = 0; k < n; k++) {
    pred[k] = d->w > ds_target(batch, k);
    label[k] = 1;
  }
  return 0;
}

static const nnc_plugin ds_desc = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_NET,
    .name = "ds",
    .summary = "one weight over a tiny dataset",
    .create = ds_create,
    .destroy = ds_destroy,
    .num_blocks = ds_nblocks,
    .get_block = ds_block,
    .loss = ds_loss,
    .backward = ds_backward,
    .net_info = ds_info,
    .predict = ds_predict,
};

/* ---- sl: a layer, y = a*x + b elementwise (dim 3) ------------------------ */
typedef struct sl {
  double a[3], b[3], x[64 * 3];
  size_t n;
} sl;

static void *sl_create(const char *args, char *err, size_t errlen)
{
  sl *s = calloc(1, sizeof *s);
  for (int i = 0; i < 3; i++) {
    s->a[i] = 0.5 + i;
    s->b[i] = -0.25 * i;
  }
  return s;
}
static void sl_destroy(void *p) { free(p); }
static size_t sl_nblocks(void *p) { return 2; }
static int sl_block(void *p, size_t i, nnc_block *out)
{
  sl *s = p;
  out->name = i ? "b" : "a";
  out->data = i ? s->b : s->a;
  out->count = 3;
  out->dtype = NNC_F64;
  return 0;
}
static int sl_info(void *p, nnc_layer_info *out)
{
  out->dtype = NNC_F64;
  out->in_ndim = out->out_ndim = 1;
  out->in_shape[0] = out->out_shape[0] = 3;
  out->max_batch = 64;
  return 0;
}
static int sl_forward(void *p, const void *xv, void *yv, size_t n,
                      uint64_t seed, uint32_t flags, char *err, size_t errlen)
{
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
  sl *s = p;
  const double *dy = dyv;
  double *dx = dxv, *da = grads[0], *db = grads[1];
  for (int i = 0; i < 3; i++)
    da[i] = db[i] = 0;
  for (size_t k = 0; k < s->n * 3; k++) {
    da[k % 3] += dy[k] * s->x[k];
    db[k % 3] += dy[k];
    dx[k] = dy[k] * s->a[k % 3];
  }
  return 0;
}

static const nnc_plugin sl_desc = {
    .size = sizeof(nnc_plugin),
    .abi_version = NNC_ABI_VERSION,
    .kind = NNC_KIND_LAYER,
    .name = "scale_shift",
    .summary = "elementwise a*x+b",
    .create = sl_create,
    .destroy = sl_destroy,
    .num_blocks = sl_nblocks,
    .get_block = sl_block,
    .layer_info = sl_info,
    .forward = sl_forward,
    .layer_backward = sl_backward,
};

/* ---- helpers ------------------------------------------------------------- */

static nnc_model *open_model(const nnc_plugin *d, const char *args)
{
  nnc_model *m = NULL;
  char err[512];
  int rc = nnc_model_open(d, args, &m, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  return m;
}

/* mlp spelled out, so that its defaults may change: 300 spiral points, 240
 * of them for training */
#define MLP_ARGS "layers=2,100,3 K=3 N=100 val=0.2 reg=1e-3 "

static nnc_model *load_mlp(const char *args)
{
  nnc_model *m = NULL;
  char err[1024];
  int rc = nnc_model_load("mlp", args, &m, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  return m;
}

/* loss, backward, one update; returns the loss before it */
static double step(nnc_optim *opt, nnc_model *m)
{
  double L;
  ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L), NNC_OK);
  ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
  ck_assert_int_eq(nnc_optim_step(opt, m), NNC_OK);
  return L;
}

static nnc_optim *new_optim(nnc_model *m, int rule, double lr)
{
  nnc_optim_opts o;
  nnc_optim_opts_init(&o, rule);
  o.lr = lr;
  nnc_optim *opt = NULL;
  ck_assert_int_eq(nnc_optim_new(m, &o, &opt), NNC_OK);
  return opt;
}

static void expect_x(nnc_model *m, double e0, double e1)
{
  ck_assert_double_eq_tol(nnc_model_get(m, 0, 0), e0, TOL);
  ck_assert_double_eq_tol(nnc_model_get(m, 0, 1), e1, TOL);
}

/* ---- update rules, by hand ------------------------------------------------
 * All on f = (x0^2 + 4 x1^2) / 2 from x = (1, -2), lr 0.1, mu 0.9: the
 * gradient is (x0, 4 x1). */
#define BOWL2 "a=1,4 x=1,-2"

START_TEST(defaults_are_the_notes)
{
  nnc_optim_opts o;
  nnc_optim_opts_init(&o, NNC_RULE_SGD);
  ck_assert(o.lr == 1e-2 && o.mu == 0.9 && o.decay == 0.99 && o.eps == 1e-8);
  ck_assert(o.beta1 == 0.9 && o.beta2 == 0.999);
  nnc_optim_opts_init(&o, NNC_RULE_ADAM);
  ck_assert(o.lr == 1e-3);
  for (int r = NNC_RULE_SGD; r <= NNC_RULE_ADAM; r++)
    ck_assert_int_eq(nnc_rule_parse(nnc_rule_name(r)), r);
  ck_assert_int_eq(nnc_rule_parse("adadelta"), -1);
  ck_assert_str_eq(nnc_rule_name(NNC_RULE_NESTEROV), "nesterov");
}
END_TEST

START_TEST(sgd_by_hand)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_optim *opt = new_optim(m, NNC_RULE_SGD, 0.1);
  /* x <- x (1 - 0.1 a): 0.9^k and -2 * 0.6^k */
  ck_assert_double_eq_tol(step(opt, m), 8.5, TOL);
  expect_x(m, 0.9, -1.2);
  step(opt, m);
  expect_x(m, 0.81, -0.72);
  step(opt, m);
  expect_x(m, 0.729, -0.432);
  ck_assert_uint_eq(nnc_optim_steps(opt), 3);
  nnc_optim_free(opt);
  nnc_model_close(m);
}
END_TEST

START_TEST(momentum_by_hand)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_optim *opt = new_optim(m, NNC_RULE_MOMENTUM, 0.1);
  /* v1 = -0.1 (1, -8) = (-0.1, 0.8); x1 = (0.9, -1.2) */
  step(opt, m);
  expect_x(m, 0.9, -1.2);
  /* g1 = (0.9, -4.8); v2 = 0.9 v1 - 0.1 g1 = (-0.18, 1.2); x2 = (0.72, 0) */
  step(opt, m);
  expect_x(m, 0.72, 0.0);
  /* g2 = (0.72, 0); v3 = (-0.162 - 0.072, 1.08); x3 = (0.486, 1.08) */
  step(opt, m);
  expect_x(m, 0.486, 1.08);
  nnc_optim_free(opt);
  nnc_model_close(m);
}
END_TEST

START_TEST(nesterov_by_hand)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_optim *opt = new_optim(m, NNC_RULE_NESTEROV, 0.1);
  /* the notes' x_ahead form: v_prev = v; v = mu v - lr dx;
   * x += -mu v_prev + (1 + mu) v.
   * v1 = (-0.1, 0.8); x1 = x0 + 1.9 v1 = (0.81, -0.48) */
  step(opt, m);
  expect_x(m, 0.81, -0.48);
  /* g1 = (0.81, -1.92); v2 = (-0.09 - 0.081, 0.72 + 0.192) = (-0.171,
   * 0.912); x2 = x1 - 0.9 v1 + 1.9 v2 = (0.5751, 0.5328) */
  step(opt, m);
  expect_x(m, 0.5751, 0.5328);
  /* g2 = (0.5751, 2.1312); v3 = (-0.1539 - 0.05751, 0.8208 - 0.21312) =
   * (-0.21141, 0.60768); x3 = x2 - 0.9 v2 + 1.9 v3 = (0.327321, 0.866592) */
  step(opt, m);
  expect_x(m, 0.327321, 0.866592);
  nnc_optim_free(opt);
  nnc_model_close(m);
}
END_TEST

START_TEST(adagrad_by_hand)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_optim *opt = new_optim(m, NNC_RULE_ADAGRAD, 0.1);
  const double eps = 1e-8;
  /* cache = (1, 64): x1 = x0 - 0.1 g / (sqrt(cache) + eps) */
  double x0 = 1 - 0.1 * 1 / (1 + eps), x1 = -2 - 0.1 * -8 / (8 + eps);
  step(opt, m);
  expect_x(m, x0, x1);
  /* cache += g1^2 */
  double g0 = x0, g1 = 4 * x1;
  double c0 = 1 + g0 * g0, c1 = 64 + g1 * g1;
  x0 -= 0.1 * g0 / (sqrt(c0) + eps);
  x1 -= 0.1 * g1 / (sqrt(c1) + eps);
  step(opt, m);
  expect_x(m, x0, x1);
  nnc_optim_free(opt);
  nnc_model_close(m);
}
END_TEST

START_TEST(rmsprop_by_hand)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_optim *opt = new_optim(m, NNC_RULE_RMSPROP, 0.1);
  const double eps = 1e-8;
  /* decay 0.99: cache = 0.01 g^2 = (0.01, 0.64), sqrt (0.1, 0.8): the
   * first step is about lr / 0.1 = 1 along -sign(g) */
  double x0 = 1 - 0.1 * 1 / (0.1 + eps), x1 = -2 - 0.1 * -8 / (0.8 + eps);
  step(opt, m);
  expect_x(m, x0, x1);
  ck_assert(fabs(x0) < 1e-6 && fabs(x1 + 1) < 1e-6);
  double g0 = x0, g1 = 4 * x1;
  double c0 = 0.99 * 0.01 + 0.01 * (g0 * g0);
  double c1 = 0.99 * 0.64 + 0.01 * (g1 * g1);
  x0 -= 0.1 * g0 / (sqrt(c0) + eps);
  x1 -= 0.1 * g1 / (sqrt(c1) + eps);
  step(opt, m);
  expect_x(m, x0, x1);
  nnc_optim_free(opt);
  nnc_model_close(m);
}
END_TEST

START_TEST(adam_by_hand)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_optim *opt = new_optim(m, NNC_RULE_ADAM, 0.1);
  const double eps = 1e-8;
  /* t = 1: m = 0.1 g, v = 0.001 g^2; bias correction divides by 0.1 and
   * 0.001, so mt = g, vt = g^2 and the step is lr g / (|g| + eps) */
  double x0 = 1 - 0.1 * 1 / (1 + eps), x1 = -2 - 0.1 * -8 / (8 + eps);
  double m0 = 0.1 * 1, m1 = 0.1 * -8, v0 = 0.001 * 1, v1 = 0.001 * 64;
  step(opt, m);
  expect_x(m, x0, x1);
  /* t = 2: 1 - 0.9^2 = 0.19, 1 - 0.999^2 = 0.001999 */
  double g0 = x0, g1 = 4 * x1;
  m0 = 0.9 * m0 + 0.1 * g0;
  m1 = 0.9 * m1 + 0.1 * g1;
  v0 = 0.999 * v0 + 0.001 * (g0 * g0);
  v1 = 0.999 * v1 + 0.001 * (g1 * g1);
  x0 -= 0.1 * (m0 / 0.19) / (sqrt(v0 / 0.001999) + eps);
  x1 -= 0.1 * (m1 / 0.19) / (sqrt(v1 / 0.001999) + eps);
  step(opt, m);
  expect_x(m, x0, x1);
  /* t = 3: 1 - 0.9^3 = 0.271, 1 - 0.999^3 = 0.002997001 */
  g0 = x0;
  g1 = 4 * x1;
  m0 = 0.9 * m0 + 0.1 * g0;
  m1 = 0.9 * m1 + 0.1 * g1;
  v0 = 0.999 * v0 + 0.001 * (g0 * g0);
  v1 = 0.999 * v1 + 0.001 * (g1 * g1);
  x0 -= 0.1 * (m0 / 0.271) / (sqrt(v0 / 0.002997001) + eps);
  x1 -= 0.1 * (m1 / 0.271) / (sqrt(v1 / 0.002997001) + eps);
  step(opt, m);
  expect_x(m, x0, x1);
  /* without the correction the third step would have been far shorter */
  ck_assert(fabs(nnc_model_get(m, 0, 0) - 0.7) < 0.01);
  nnc_optim_free(opt);
  nnc_model_close(m);
}
END_TEST

START_TEST(ratio_is_the_stored_update)
{
  /* blocks x = (1, -2) with a = (1, 4) and y = (3, -4) with a = (9, 16):
   * SGD's update is 0.01 g, so |dx|/|x| = 0.01 sqrt(65) / sqrt(5) and
   * |dy|/|y| = 0.01 sqrt(27^2 + 64^2) / 5 */
  nnc_model *m = open_model(&bowl_desc, "a=1,4,9,16 x=1,-2,3,-4 split=1");
  ck_assert_uint_eq(nnc_model_num_blocks(m), 2);
  nnc_optim *opt = new_optim(m, NNC_RULE_SGD, 0.01);
  ck_assert(nnc_optim_ratio(opt, 0) == 0);
  step(opt, m);
  ck_assert_double_eq_tol(nnc_optim_ratio(opt, 0), 0.01 * sqrt(13.0), TOL);
  ck_assert_double_eq_tol(nnc_optim_ratio(opt, 1), 0.01 * sqrt(193.0), TOL);
  nnc_optim_free(opt);
  nnc_model_close(m);

  /* float: an update below half an ulp of 1 is not applied, and the ratio
   * says so; a larger one is rounded, and the ratio measures the rounding */
  m = open_model(&bowl_desc, "a=1 x=1 float=1");
  opt = new_optim(m, NNC_RULE_SGD, 1e-9);
  step(opt, m);
  ck_assert(nnc_model_get(m, 0, 0) == 1.0);
  ck_assert(nnc_optim_ratio(opt, 0) == 0.0);
  nnc_optim_options(opt)->lr = 1e-3;
  step(opt, m);
  double stored = (double)(float)(1.0 - 1e-3);
  ck_assert(nnc_model_get(m, 0, 0) == stored);
  ck_assert(nnc_optim_ratio(opt, 0) == fabs(stored - 1.0));
  ck_assert(nnc_optim_ratio(opt, 0) != 1e-3);
  nnc_optim_free(opt);
  nnc_model_close(m);
}
END_TEST

/* A block of 19 elements: the update loop takes whole groups of elements at
 * a time and the last ones one by one.  Every element must be the rule
 * worked out here one element at a time, to the bit, whichever way the
 * loop took it; and the ratio |dw|/|w| over the whole block. */
START_TEST(long_blocks_follow_the_rules_bit_for_bit)
{
  enum { N = 19 };
  const char *args = "a=1,4,9,0.5,2,3,7,1.5,6,8,0.25,5,2.5,3.5,10,1,4,0.75,2 "
                     "x=1,-2,0.5,3,-1.5,0.25,2,-0.75,1.25,-3,4,-0.5,1.75,"
                     "-2.5,0.125,-1,2.25,-4,0.375";
  for (int fl = 0; fl < 2; fl++)
    for (int rule = NNC_RULE_SGD; rule <= NNC_RULE_ADAM; rule++) {
      char spec[512];
      snprintf(spec, sizeof spec, "%s%s", args, fl ? " float=1" : "");
      nnc_model *m = open_model(&bowl_desc, spec);
      ck_assert_uint_eq(nnc_model_block(m, 0)->count, N);
      nnc_optim *opt = new_optim(m, rule, rule <= NNC_RULE_NESTEROV ? 0.1
                                                                    : 0.05);
      const nnc_optim_opts *o = nnc_optim_options(opt);
      double v1[N] = {0}, v2[N] = {0};
      for (int t = 1; t <= 3; t++) {
        double L, w[N], g[N], want[N], sd = 0, sw = 0;
        ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L), NNC_OK);
        ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
        for (size_t i = 0; i < N; i++) {
          w[i] = nnc_model_get(m, 0, i);
          g[i] = nnc_model_grad(m, 0, i);
        }
        ck_assert_int_eq(nnc_optim_step(opt, m), NNC_OK);
        double lr = o->lr, mu = o->mu, dr = o->decay, b1 = o->beta1,
               b2 = o->beta2, eps = o->eps;
        double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
        for (size_t i = 0; i < N; i++) {
          double gi = g[i], d, vp;
          switch (rule) {
          case NNC_RULE_SGD: d = -lr * gi; break;
          case NNC_RULE_MOMENTUM:
            v1[i] = mu * v1[i] - lr * gi;
            d = v1[i];
            break;
          case NNC_RULE_NESTEROV:
            vp = v1[i];
            v1[i] = mu * vp - lr * gi;
            d = -mu * vp + (1 + mu) * v1[i];
            break;
          case NNC_RULE_ADAGRAD:
            v1[i] += gi * gi;
            d = -lr * gi / (sqrt(v1[i]) + eps);
            break;
          case NNC_RULE_RMSPROP:
            v1[i] = dr * v1[i] + (1 - dr) * (gi * gi);
            d = -lr * gi / (sqrt(v1[i]) + eps);
            break;
          default:
            v1[i] = b1 * v1[i] + (1 - b1) * gi;
            v2[i] = b2 * v2[i] + (1 - b2) * (gi * gi);
            d = -lr * (v1[i] / bc1) / (sqrt(v2[i] / bc2) + eps);
            break;
          }
          want[i] = fl ? (double)(float)(w[i] + d) : w[i] + d;
          sd += (want[i] - w[i]) * (want[i] - w[i]);
          sw += w[i] * w[i];
        }
        for (size_t i = 0; i < N; i++)
          ck_assert_msg(nnc_model_get(m, 0, i) == want[i],
                        "%s %s step %d element %zu: %.17g, the rule says "
                        "%.17g",
                        fl ? "float" : "double", nnc_rule_name(rule), t, i,
                        nnc_model_get(m, 0, i), want[i]);
        ck_assert_double_eq_tol(nnc_optim_ratio(opt, 0), sqrt(sd) / sqrt(sw),
                                1e-14 * sqrt(sd) / sqrt(sw));
      }
      nnc_optim_free(opt);
      nnc_model_close(m);
    }
}
END_TEST

/* Backward's scan for NaN and Inf looks at every element of a long block:
 * a gradient whose squares overflow is still finite (and has a norm), an
 * infinite element anywhere is named with its index, float or double. */
START_TEST(gradient_scan_tells_huge_from_infinite)
{
  /* a_i = 1e300 i (float: 1e37 i), x = 1: the gradient is a */
  char spec[1024];
  for (int fl = 0; fl < 2; fl++)
    for (int inf_at = -1; inf_at < 19; inf_at += 6) {
      size_t k = (size_t)snprintf(spec, sizeof spec, "a=");
      for (int i = 0; i < 19; i++)
        k += (size_t)snprintf(spec + k, sizeof spec - k, "%s%de%d",
                              i ? "," : "", i + 1, fl ? 37 : 300);
      snprintf(spec + k, sizeof spec - k, " infgrad=%d%s", inf_at,
               fl ? " float=1" : "");
      nnc_model *m = open_model(&bowl_desc, spec);
      double L;
      ck_assert_int_eq(nnc_model_loss(m, NULL, 1, NNC_F_ALL, &L), NNC_OK);
      if (inf_at < 0) {
        ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
        /* |g| = 1e300 sqrt(sum i^2), i = 1..19: the sum is 2470 */
        double want = (fl ? 1e37 : 1e300) * sqrt(2470.0);
        ck_assert_double_eq_tol(nnc_model_grad_norm(m, 0), want, 1e-6 * want);
      } else {
        char at[64];
        snprintf(at, sizeof at, "'x' at index %d", inf_at);
        ck_assert_int_eq(nnc_model_backward(m), NNC_ENONFINITE);
        ck_assert_msg(strstr(nnc_model_error(m), at), "%s",
                      nnc_model_error(m));
      }
      nnc_model_close(m);
    }
}
END_TEST

START_TEST(layer_input_is_never_updated)
{
  nnc_model *m = open_model(&sl_desc, "");
  ck_assert_int_eq(nnc_model_select(m, 4, 3), NNC_OK);
  long in = nnc_model_find_block(m, "input");
  ck_assert_int_eq(in, 2);
  const nnc_block *ib = nnc_model_block(m, 2);
  double before[12];
  memcpy(before, ib->data, sizeof before);
  double a0 = nnc_model_get(m, 0, 0);
  for (int rule = NNC_RULE_SGD; rule <= NNC_RULE_ADAM; rule++) {
    nnc_optim *opt = new_optim(m, rule, 0.1);
    step(opt, m);
    step(opt, m);
    ck_assert(nnc_optim_ratio(opt, 2) == 0);
    ck_assert(nnc_optim_ratio(opt, 0) > 0);
    nnc_optim_free(opt);
  }
  ck_assert(memcmp(before, ib->data, sizeof before) == 0);
  ck_assert(nnc_model_get(m, 0, 0) != a0);
  nnc_model_close(m);
}
END_TEST

/* ---- speed on an ill-conditioned bowl ----------------------------------- */

/* a_i = 100^(i/9), i = 0..9 (condition number 100), x = 1 */
static void ill_args(char *buf, size_t len)
{
  size_t k = (size_t)snprintf(buf, len, "a=");
  for (int i = 0; i < 10; i++)
    k += (size_t)snprintf(buf + k, len - k, "%s%.17g", i ? "," : "",
                          pow(100.0, i / 9.0));
  snprintf(buf + k, len - k, " x=1,1,1,1,1,1,1,1,1,1");
}

#define ILL_TARGET 1e-6

static size_t steps_to_target(int rule, double lr)
{
  char args[512];
  ill_args(args, sizeof args);
  nnc_model *m = open_model(&bowl_desc, args);
  nnc_optim *opt = new_optim(m, rule, lr);
  size_t k = 0;
  while (k < 20000 && step(opt, m) >= ILL_TARGET)
    k++;
  nnc_optim_free(opt);
  nnc_model_close(m);
  return k;
}

START_TEST(momentum_and_adam_beat_sgd)
{
  /* the same lr for every rule: 1e-2, stable for SGD (lr * a_max = 1) */
  size_t sgd = steps_to_target(NNC_RULE_SGD, 1e-2);
  size_t mom = steps_to_target(NNC_RULE_MOMENTUM, 1e-2);
  size_t nag = steps_to_target(NNC_RULE_NESTEROV, 1e-2);
  size_t adam = steps_to_target(NNC_RULE_ADAM, 1e-2);
  ck_assert_msg(sgd > 300 && sgd < 20000, "sgd took %zu steps", sgd);
  ck_assert_msg(2 * mom < sgd, "momentum %zu vs sgd %zu", mom, sgd);
  ck_assert_msg(2 * nag < sgd, "nesterov %zu vs sgd %zu", nag, sgd);
  ck_assert_msg(nag < mom, "nesterov %zu vs momentum %zu", nag, mom);
  ck_assert_msg(adam < sgd, "adam %zu vs sgd %zu", adam, sgd);

  /* L-BFGS with unit steps (Armijo only, no exact line search) needs about
   * 30 iterations here: far fewer, still */
  char args[512];
  ill_args(args, sizeof args);
  nnc_model *m = open_model(&bowl_desc, args);
  double trace[41];
  size_t done = 0, k = 0;
  ck_assert_int_eq(nnc_lbfgs(m, NULL, 0, NNC_F_ALL, 40, 10, trace, &done),
                   NNC_OK);
  while (k <= done && trace[k] >= ILL_TARGET)
    k++;
  ck_assert_msg(k <= 40 && 10 * k < sgd && k < nag,
                "L-BFGS took %zu iterations, SGD %zu, Nesterov %zu", k, sgd,
                nag);
  for (size_t j = 1; j <= done; j++)
    ck_assert(trace[j] <= trace[j - 1]);
  nnc_model_close(m);
}
END_TEST

START_TEST(lbfgs_on_rosenbrock)
{
  nnc_model *m = open_model(&bowl_desc, "f=rosen a=0,0 x=-1.2,1");
  double trace[201];
  size_t done = 0;
  ck_assert_int_eq(nnc_lbfgs(m, NULL, 0, NNC_F_ALL, 200, 5, trace, &done),
                   NNC_OK);
  ck_assert_double_eq_tol(trace[0], 24.2, 1e-12);
  ck_assert_msg(trace[200] < 1e-12, "f = %g after %zu iterations", trace[200],
                done);
  ck_assert_double_eq_tol(nnc_model_get(m, 0, 0), 1.0, 1e-5);
  ck_assert_double_eq_tol(nnc_model_get(m, 0, 1), 1.0, 1e-5);
  size_t k = 0;
  while (trace[k] >= 1e-10)
    k++;
  ck_assert_msg(k < 100, "L-BFGS needed %zu iterations", k);
  for (size_t j = 1; j <= 200; j++)
    ck_assert(trace[j] <= trace[j - 1]);
  nnc_model_close(m);
}
END_TEST

/* ---- schedules ----------------------------------------------------------- */

START_TEST(schedules_at_epochs)
{
  nnc_schedule s;
  nnc_schedule_init(&s, NNC_SCHED_CONST, 0.1);
  ck_assert(nnc_schedule_lr(&s, 0) == 0.1 && nnc_schedule_lr(&s, 50) == 0.1);
  ck_assert(nnc_schedule_mu(&s, 7) == 0.9);

  nnc_schedule_init(&s, NNC_SCHED_STEP, 0.1); /* half every 5 epochs */
  ck_assert(s.factor == 0.5 && s.every == 5);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 0), 0.1, TOL);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 4.99), 0.1, TOL);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 5), 0.05, TOL);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 12.5), 0.025, TOL);
  s.factor = 0.1;
  s.every = 20; /* "by 0.1 every 20 epochs" */
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 45), 0.001, TOL);
  s.min_lr = 0.005;
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 45), 0.005, TOL);

  nnc_schedule_init(&s, NNC_SCHED_EXP, 0.1);
  s.k = 0.5;
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 0), 0.1, TOL);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 2), 0.1 * exp(-1.0), TOL);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 3.5), 0.1 * exp(-1.75), TOL);

  nnc_schedule_init(&s, NNC_SCHED_INV_T, 0.1);
  s.k = 0.5;
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 2), 0.05, TOL);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 6), 0.025, TOL);
  s.min_lr = 0.04;
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 6), 0.04, TOL);

  for (int k = NNC_SCHED_CONST; k <= NNC_SCHED_PLATEAU; k++)
    ck_assert_int_eq(nnc_sched_parse(nnc_sched_name(k)), k);
  ck_assert_int_eq(nnc_sched_parse("1/t"), NNC_SCHED_INV_T);
  ck_assert_int_eq(nnc_sched_parse("cosine"), -1);
}
END_TEST

START_TEST(plateau_waits_for_patience)
{
  nnc_schedule s;
  nnc_schedule_init(&s, NNC_SCHED_PLATEAU, 0.1);
  s.patience = 2;
  s.factor = 0.5;
  s.threshold = 1e-4;
  s.min_lr = 0.02;
  nnc_schedule_observe(&s, 1.0);
  nnc_schedule_observe(&s, 0.9); /* improvements */
  ck_assert(nnc_schedule_lr(&s, 2) == 0.1);
  /* 0.89995 is better, but by less than 1e-4 of 0.9: no improvement */
  nnc_schedule_observe(&s, 0.89995);
  ck_assert(nnc_schedule_lr(&s, 3) == 0.1);
  nnc_schedule_observe(&s, 0.95); /* second epoch without: decay */
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 4), 0.05, TOL);
  nnc_schedule_observe(&s, 0.95); /* the count started again */
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 5), 0.05, TOL);
  nnc_schedule_observe(&s, 0.5); /* an improvement resets it */
  nnc_schedule_observe(&s, NAN);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 7), 0.05, TOL);
  nnc_schedule_observe(&s, 0.6);
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 8), 0.025, TOL);
  nnc_schedule_observe(&s, 0.6);
  nnc_schedule_observe(&s, 0.6); /* 0.0125 is below min_lr */
  ck_assert_double_eq_tol(nnc_schedule_lr(&s, 10), 0.02, TOL);
  /* other kinds ignore what they are told */
  nnc_schedule_init(&s, NNC_SCHED_STEP, 0.1);
  for (int i = 0; i < 10; i++)
    nnc_schedule_observe(&s, 5.0);
  ck_assert(nnc_schedule_lr(&s, 1) == 0.1);
}
END_TEST

START_TEST(momentum_ramp)
{
  nnc_schedule s;
  nnc_schedule_init(&s, NNC_SCHED_CONST, 0.1);
  s.mu0 = 0.5;
  s.mu1 = 0.99;
  s.mu_epochs = 10;
  ck_assert_double_eq_tol(nnc_schedule_mu(&s, 0), 0.5, TOL);
  ck_assert_double_eq_tol(nnc_schedule_mu(&s, 5), 0.745, TOL);
  ck_assert_double_eq_tol(nnc_schedule_mu(&s, 10), 0.99, TOL);
  ck_assert_double_eq_tol(nnc_schedule_mu(&s, 30), 0.99, TOL);
  s.mu_epochs = 0;
  ck_assert(nnc_schedule_mu(&s, 5) == 0.5);
}
END_TEST

/* ---- the sampler --------------------------------------------------------- */

/* Draw one epoch of batches into order[], checking each batch. */
static void one_epoch(nnc_sampler *s, size_t n, size_t batch, size_t e,
                      size_t *order)
{
  size_t got = 0;
  while (got < n) {
    double ep;
    const nnc_batch *b = nnc_sampler_next(s, &ep);
    size_t want = n - got < batch ? n - got : batch;
    ck_assert_uint_eq(b->count, want);
    ck_assert_ptr_nonnull(b->index);
    ck_assert_uint_eq(b->split, NNC_SPLIT_TRAIN);
    memcpy(order + got, b->index, b->count * sizeof *order);
    got += b->count;
    ck_assert_double_eq_tol(ep, (double)e + (double)got / (double)n, TOL);
  }
}

START_TEST(sampler_covers_every_example_once)
{
  nnc_model *m = open_model(&ds_desc, "n=10");
  nnc_sampler *s, *t, *u;
  ck_assert_int_eq(nnc_sampler_new(m, 3, 0, 7, &s), NNC_OK);
  ck_assert_int_eq(nnc_sampler_new(m, 3, 0, 7, &t), NNC_OK);
  ck_assert_int_eq(nnc_sampler_new(m, 3, 0, 8, &u), NNC_OK);
  ck_assert_uint_eq(nnc_sampler_size(s), 10);
  size_t ord[3][10], ord_t[3][10], ord_u[10];
  for (size_t e = 0; e < 3; e++) {
    one_epoch(s, 10, 3, e, ord[e]);
    one_epoch(t, 10, 3, e, ord_t[e]);
    int seen[10] = {0};
    for (int k = 0; k < 10; k++) {
      ck_assert_uint_lt(ord[e][k], 10);
      seen[ord[e][k]]++;
    }
    for (int k = 0; k < 10; k++)
      ck_assert_int_eq(seen[k], 1);
  }
  one_epoch(u, 10, 3, 0, ord_u);
  ck_assert(memcmp(ord, ord_t, sizeof ord) == 0);           /* seeded */
  ck_assert(memcmp(ord[0], ord[1], sizeof ord[0]) != 0);    /* per epoch */
  ck_assert(memcmp(ord[1], ord[2], sizeof ord[0]) != 0);
  ck_assert(memcmp(ord[0], ord_u, sizeof ord_u) != 0);      /* per seed */
  size_t sorted = 1;
  for (int k = 1; k < 10; k++)
    sorted &= ord[0][k] > ord[0][k - 1];
  ck_assert(!sorted);
  nnc_sampler_free(s);
  nnc_sampler_free(t);
  nnc_sampler_free(u);
  ck_assert_int_eq(nnc_sampler_new(m, 0, 0, 7, &s), NNC_EARG);
  nnc_model_close(m);
}
END_TEST

START_TEST(sampler_subset)
{
  nnc_model *m = open_model(&ds_desc, "n=50");
  size_t first[6] = {0}, distinct = 0;
  for (uint64_t seed = 1; seed <= 6; seed++) {
    nnc_sampler *s, *t;
    ck_assert_int_eq(nnc_sampler_new(m, 4, 6, seed, &s), NNC_OK);
    ck_assert_int_eq(nnc_sampler_new(m, 4, 6, seed, &t), NNC_OK);
    ck_assert_uint_eq(nnc_sampler_size(s), 6);
    const size_t *ex = nnc_sampler_examples(s);
    ck_assert(memcmp(ex, nnc_sampler_examples(t), 6 * sizeof *ex) == 0);
    for (int k = 0; k < 6; k++) {
      ck_assert_uint_lt(ex[k], 50);
      if (k)
        ck_assert_uint_gt(ex[k], ex[k - 1]);
    }
    first[seed - 1] = ex[0];
    for (size_t e = 0; e < 3; e++) {
      size_t ord[6];
      one_epoch(s, 6, 4, e, ord);
      int hits[6] = {0};
      for (int k = 0; k < 6; k++) {
        const size_t *f = ex;
        size_t j = 0;
        while (j < 6 && f[j] != ord[k])
          j++;
        ck_assert_uint_lt(j, 6); /* from the subset */
        hits[j]++;
      }
      for (int k = 0; k < 6; k++)
        ck_assert_int_eq(hits[k], 1);
    }
    nnc_sampler_free(s);
    nnc_sampler_free(t);
  }
  for (int i = 1; i < 6; i++)
    distinct += first[i] != first[0];
  ck_assert_uint_gt(distinct, 0);
  /* a subset as large as the split is the split */
  nnc_sampler *s;
  ck_assert_int_eq(nnc_sampler_new(m, 4, 500, 1, &s), NNC_OK);
  ck_assert_uint_eq(nnc_sampler_size(s), 50);
  ck_assert_uint_eq(nnc_sampler_examples(s)[49], 49);
  nnc_sampler_free(s);
  nnc_model_close(m);
}
END_TEST

START_TEST(sampler_without_dataset)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_sampler *s;
  ck_assert_int_eq(nnc_sampler_new(m, 32, 0, 1, &s), NNC_OK);
  ck_assert_uint_eq(nnc_sampler_size(s), 0);
  ck_assert_ptr_null(nnc_sampler_examples(s));
  for (int e = 1; e <= 3; e++) {
    double ep;
    const nnc_batch *b = nnc_sampler_next(s, &ep);
    ck_assert_ptr_null(b->index);
    ck_assert(ep == e);
  }
  nnc_sampler_free(s);
  nnc_model_close(m);
  /* a layer: its selected batch is the dataset, one step an epoch */
  m = open_model(&sl_desc, "");
  ck_assert_int_eq(nnc_model_select(m, 5, 2), NNC_OK);
  ck_assert_int_eq(nnc_sampler_new(m, 2, 0, 1, &s), NNC_OK);
  ck_assert_uint_eq(nnc_sampler_size(s), 5);
  double ep;
  ck_assert_ptr_null(nnc_sampler_next(s, &ep)->index);
  ck_assert(ep == 1);
  nnc_sampler_free(s);
  nnc_model_close(m);
}
END_TEST

/* ---- evaluation ---------------------------------------------------------- */

START_TEST(evaluate_weights_batches_by_size)
{
  nnc_model *m = open_model(&ds_desc, "n=10 v=4");
  nnc_model_set(m, 0, 0, 4.5);
  double L, A;
  /* training targets 0..9: mean (4.5 - i)^2 / 2 = 82.5 / 20; w > t for
   * i = 0..4.  In batches 3,3,3,1 an unweighted mean of batch means would
   * give 5.125. */
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_TRAIN, NULL, 0, 3, NNC_F_ALL,
                                &L, &A),
                   NNC_OK);
  ck_assert_double_eq_tol(L, 4.125, TOL);
  ck_assert_double_eq_tol(A, 0.5, TOL);
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_TRAIN, NULL, 0, 0, NNC_F_ALL,
                                &L, NULL),
                   NNC_OK);
  ck_assert_double_eq_tol(L, 4.125, TOL);
  /* validation targets 0.5..3.5: (16 + 9 + 4 + 1) / 8, all below w */
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_VAL, NULL, 0, 3, NNC_F_ALL, &L,
                                &A),
                   NNC_OK);
  ck_assert_double_eq_tol(L, 3.75, TOL);
  ck_assert_double_eq_tol(A, 1.0, TOL);
  /* chosen examples */
  size_t idx[2] = {9, 0};
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_TRAIN, idx, 2, 1, NNC_F_ALL, &L,
                                &A),
                   NNC_OK);
  ck_assert_double_eq_tol(L, 10.125, TOL);
  ck_assert_double_eq_tol(A, 0.5, TOL);
  size_t bad[1] = {10};
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_TRAIN, bad, 1, 1, NNC_F_ALL, &L,
                                &A),
                   NNC_EARG);
  ck_assert_int_eq(nnc_evaluate(m, 7, NULL, 0, 1, NNC_F_ALL, &L, &A),
                   NNC_EARG);
  nnc_model_close(m);
  /* no dataset: the own batch, no predictions, no validation split */
  m = open_model(&bowl_desc, BOWL2);
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_TRAIN, NULL, 0, 8, NNC_F_ALL,
                                &L, &A),
                   NNC_OK);
  ck_assert_double_eq_tol(L, 8.5, TOL);
  ck_assert(isnan(A));
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_VAL, NULL, 0, 8, NNC_F_ALL, &L,
                                &A),
                   NNC_OK);
  ck_assert(isnan(L) && isnan(A));
  nnc_model_close(m);
}
END_TEST

/* ---- snapshots ----------------------------------------------------------- */

/* the stored bytes of every block */
static void dump(nnc_model *m, unsigned char *buf, size_t len)
{
  size_t k = 0;
  for (size_t b = 0; b < nnc_model_num_blocks(m); b++) {
    const nnc_block *blk = nnc_model_block(m, b);
    size_t bytes = blk->count * (blk->dtype == NNC_F32 ? 4 : 8);
    ck_assert_uint_le(k + bytes, len);
    memcpy(buf + k, blk->data, bytes);
    k += bytes;
  }
}

START_TEST(snapshots_restore_bit_exact)
{
  for (int fl = 0; fl < 2; fl++) {
    nnc_model *m = open_model(&bowl_desc, fl ? "a=1,3,5,7 x=1,-1,2,-2 "
                                               "split=1 float=1"
                                             : "a=1,3,5,7 x=1,-1,2,-2 "
                                               "split=1");
    for (int rule = NNC_RULE_MOMENTUM; rule <= NNC_RULE_ADAM; rule++) {
      nnc_optim *opt = new_optim(m, rule, 0.05);
      for (int k = 0; k < 3; k++)
        step(opt, m);
      nnc_params *p;
      nnc_optim_state *st;
      ck_assert_int_eq(nnc_params_save(m, &p), NNC_OK);
      ck_assert_int_eq(nnc_optim_save(opt, &st), NNC_OK);
      unsigned char at[256], after[256], again[256];
      memset(at, 0, sizeof at);
      memset(after, 0, sizeof after);
      memset(again, 0, sizeof again);
      dump(m, at, sizeof at);
      double r0 = nnc_optim_ratio(opt, 0);
      for (int k = 0; k < 4; k++)
        step(opt, m);
      dump(m, after, sizeof after);
      ck_assert(memcmp(at, after, sizeof at) != 0);
      /* a probe that changes the options too */
      nnc_optim_options(opt)->lr = 7;
      step(opt, m);
      ck_assert_int_eq(nnc_params_restore(m, p), NNC_OK);
      ck_assert_int_eq(nnc_optim_restore(opt, st), NNC_OK);
      dump(m, again, sizeof again);
      ck_assert(memcmp(at, again, sizeof at) == 0);
      ck_assert(nnc_optim_ratio(opt, 0) == r0);
      ck_assert_uint_eq(nnc_optim_steps(opt), 3);
      for (int k = 0; k < 4; k++)
        step(opt, m);
      memset(again, 0, sizeof again);
      dump(m, again, sizeof again);
      ck_assert(memcmp(after, again, sizeof after) == 0);
      nnc_params_free(p);
      nnc_optim_state_free(st);
      nnc_optim_free(opt);
    }
    nnc_model_close(m);
  }
  /* another shape is refused */
  nnc_model *a = open_model(&bowl_desc, "a=1,2 x=1,1");
  nnc_model *b = open_model(&bowl_desc, "a=1,2,3 x=1,1,1");
  nnc_params *p;
  nnc_optim_state *st;
  nnc_optim *oa = new_optim(a, NNC_RULE_ADAM, 0.1);
  nnc_optim *ob = new_optim(b, NNC_RULE_ADAM, 0.1);
  ck_assert_int_eq(nnc_params_save(a, &p), NNC_OK);
  ck_assert_int_eq(nnc_optim_save(oa, &st), NNC_OK);
  ck_assert_int_eq(nnc_params_restore(b, p), NNC_EARG);
  ck_assert_int_eq(nnc_optim_restore(ob, st), NNC_EARG);
  ck_assert_int_eq(nnc_optim_step(oa, b), NNC_EARG);
  nnc_params_free(p);
  nnc_optim_state_free(st);
  nnc_optim_free(oa);
  nnc_optim_free(ob);
  nnc_model_close(a);
  nnc_model_close(b);
}
END_TEST

/* ---- training runs ------------------------------------------------------- */

typedef struct seen_steps {
  size_t n, stop_at;
  double mu[64], lr[64], epoch[64];
  size_t epochs;
} seen_steps;

static int on_step(void *user, nnc_model *m, const nnc_step_info *s)
{
  seen_steps *v = user;
  if (v->n < 64) {
    v->mu[v->n] = s->mu;
    v->lr[v->n] = s->lr;
    v->epoch[v->n] = s->epoch;
  }
  v->n++;
  ck_assert_uint_eq(s->step, v->n);
  return v->stop_at && s->step >= v->stop_at;
}

static int on_epoch(void *user, nnc_model *m, const nnc_epoch_info *e)
{
  seen_steps *v = user;
  v->epochs++;
  ck_assert_uint_eq(e->epoch, v->epochs);
  return 0;
}

START_TEST(no_dataset_one_step_per_epoch)
{
  nnc_model *m = open_model(&bowl_desc, BOWL2);
  nnc_train_opts o;
  nnc_train_opts_init(&o);
  o.optim.rule = NNC_RULE_MOMENTUM;
  o.sched.kind = NNC_SCHED_STEP;
  o.sched.lr0 = 0.1;
  o.sched.every = 2;
  o.sched.factor = 0.5;
  o.sched.mu0 = 0.5;
  o.sched.mu1 = 0.99;
  o.sched.mu_epochs = 4;
  o.epochs = 6;
  seen_steps v = {0};
  o.on_step = on_step;
  o.on_epoch = on_epoch;
  o.user = &v;
  nnc_train_log *log;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  ck_assert_uint_eq(log->nsteps, 6);
  ck_assert_uint_eq(log->nepochs, 6);
  ck_assert_uint_eq(v.n, 6);
  ck_assert_uint_eq(v.epochs, 6);
  ck_assert_uint_eq(log->nblocks, 1);
  ck_assert(!log->diverged);
  const double lr[6] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
  for (size_t k = 0; k < 6; k++) {
    ck_assert(log->step_epoch[k] == (double)(k + 1));
    ck_assert_double_eq_tol(log->step_lr[k], lr[k], TOL);
    ck_assert_double_eq_tol(v.lr[k], lr[k], TOL);
    /* step k + 1 starts at epoch k: mu = 0.5 + 0.49 k / 4, then 0.99 */
    double mu = k < 4 ? 0.5 + 0.49 * (double)k / 4 : 0.99;
    ck_assert_double_eq_tol(v.mu[k], mu, TOL);
    ck_assert(log->ratio[k] > 0);
    ck_assert(log->epochs[k].epoch == k + 1);
    ck_assert(isnan(log->epochs[k].val_loss));
    ck_assert(isnan(log->epochs[k].train_acc));
  }
  /* the epoch's train loss is the loss at the parameters after it, which
   * is the next step's batch loss */
  for (size_t k = 0; k + 1 < 6; k++)
    ck_assert_double_eq_tol(log->epochs[k].train_loss, log->step_loss[k + 1],
                            TOL);
  ck_assert(log->step_loss[5] < log->step_loss[0]);
  nnc_train_log_free(log);

  /* max_steps, and a hook that stops the run */
  o.epochs = 100;
  o.max_steps = 7;
  memset(&v, 0, sizeof v);
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  ck_assert_uint_eq(log->nsteps, 7);
  nnc_train_log_free(log);
  o.max_steps = 0;
  memset(&v, 0, sizeof v);
  v.stop_at = 4;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  ck_assert_uint_eq(log->nsteps, 4);
  ck_assert_uint_eq(log->nepochs, 3); /* stopped before the 4th epoch's end */
  nnc_train_log_free(log);
  /* bad options */
  o.batch = 0;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_EARG);
  ck_assert_ptr_null(log);
  nnc_model_close(m);
}
END_TEST

START_TEST(dataset_runs_use_the_sampler)
{
  nnc_model *m = open_model(&ds_desc, "n=10 v=4");
  ds *d = last_ds;
  nnc_train_opts o;
  nnc_train_opts_init(&o);
  o.batch = 3;
  o.subset = 4;
  o.epochs = 2;
  o.seed = 5;
  o.optim.lr = 0.1;
  nnc_train_log *log;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  /* 4 examples in batches of 3: 3 + 1, twice */
  ck_assert_uint_eq(log->nsteps, 4);
  const double ep[4] = {0.75, 1, 1.75, 2};
  for (int k = 0; k < 4; k++)
    ck_assert_double_eq_tol(log->step_epoch[k], ep[k], TOL);
  ck_assert_uint_eq(d->nbatches, 4);
  ck_assert_uint_eq(d->batch_count[0], 3);
  ck_assert_uint_eq(d->batch_count[1], 1);
  ck_assert_uint_eq(d->nseen, 8);
  /* the training examples are the sampler's subset, each once an epoch */
  nnc_sampler *s;
  ck_assert_int_eq(nnc_sampler_new(m, 3, 4, 5, &s), NNC_OK);
  const size_t *ex = nnc_sampler_examples(s);
  for (int e = 0; e < 2; e++) {
    int hits[4] = {0};
    for (int k = 0; k < 4; k++) {
      int j = 0;
      while (j < 4 && ex[j] != d->seen[4 * e + k])
        j++;
      ck_assert_int_lt(j, 4);
      hits[j]++;
    }
    for (int k = 0; k < 4; k++)
      ck_assert_int_eq(hits[k], 1);
  }
  /* the epoch's train evaluation is over the subset, in eval mode */
  double L, A;
  ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_TRAIN, ex, 4, 2, NNC_F_ALL, &L,
                                &A),
                   NNC_OK);
  ck_assert_uint_eq(log->nepochs, 2);
  ck_assert_double_eq_tol(log->epochs[1].train_loss, L, TOL);
  ck_assert_double_eq_tol(log->epochs[1].train_acc, A, TOL);
  ck_assert(isfinite(log->epochs[1].val_loss));
  ck_assert_uint_eq(d->nseen, 8); /* evaluation is not training */
  nnc_sampler_free(s);
  nnc_train_log_free(log);
  nnc_model_close(m);
}
END_TEST

START_TEST(layer_trains_on_its_batch)
{
  nnc_model *m = open_model(&sl_desc, "");
  ck_assert_int_eq(nnc_model_select(m, 6, 4), NNC_OK);
  const nnc_block *ib = nnc_model_block(m, 2);
  double before[18];
  memcpy(before, ib->data, sizeof before);
  double b0 = nnc_model_get(m, 1, 0);
  nnc_train_opts o;
  nnc_train_opts_init(&o);
  o.epochs = 3;
  nnc_train_log *log;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  ck_assert_uint_eq(log->nsteps, 3);
  ck_assert_uint_eq(log->nepochs, 3);
  ck_assert_uint_eq(log->nblocks, 2); /* "input" is not a parameter */
  ck_assert(memcmp(before, ib->data, sizeof before) == 0);
  ck_assert(nnc_model_get(m, 1, 0) != b0);
  /* L = sum r .* y is linear in b: each step lowers it by lr |dL/db|^2 */
  ck_assert(log->step_loss[1] < log->step_loss[0]);
  nnc_train_log_free(log);
  nnc_model_close(m);
}
END_TEST

START_TEST(huge_lr_diverges)
{
  /* f = x^2 / 2 from 1 with lr 1e100: x1 = -1e100, x2 = 1e200, and the
   * third loss overflows */
  nnc_model *m = open_model(&bowl_desc, "a=1 x=1");
  nnc_train_opts o;
  nnc_train_opts_init(&o);
  o.optim.lr = 1e100;
  o.epochs = 10;
  nnc_train_log *log;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  ck_assert(log->diverged);
  ck_assert_uint_eq(log->nan_step, 3);
  ck_assert_uint_eq(log->nsteps, 2);
  ck_assert_str_eq(log->nan_block, "");
  nnc_train_log_free(log);
  nnc_model_close(m);

  /* a gradient that goes NaN names its block: x grows as (-4)^k */
  m = open_model(&bowl_desc, "a=1,1 x=1,1 split=1 nangrad=10");
  o.optim.lr = 5;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  ck_assert(log->diverged);
  ck_assert_uint_eq(log->nan_step, 3);
  ck_assert_str_eq(log->nan_block, "y");
  nnc_train_log_free(log);
  nnc_model_close(m);

  /* the reference net */
  m = load_mlp(MLP_ARGS);
  o.optim.lr = 1e30;
  o.epochs = 5;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  ck_assert(log->diverged);
  ck_assert_uint_gt(log->nan_step, 1);
  ck_assert_uint_eq(log->nan_step, log->nsteps + 1);
  for (size_t k = 0; k < log->nsteps; k++)
    ck_assert(isfinite(log->step_loss[k]));
  nnc_train_log_free(log);
  nnc_model_close(m);
}
END_TEST

static nnc_train_log *train_mlp(const char *args, uint64_t seed, double *L0)
{
  char full[256];
  snprintf(full, sizeof full, MLP_ARGS "%s", args);
  nnc_model *m = load_mlp(full);
  if (L0)
    ck_assert_int_eq(nnc_evaluate(m, NNC_SPLIT_TRAIN, NULL, 0, 256,
                                  NNC_F_ALL, L0, NULL),
                     NNC_OK);
  nnc_train_opts o;
  nnc_train_opts_init(&o);
  o.optim.rule = NNC_RULE_NESTEROV;
  o.optim.lr = 0.1;
  o.epochs = 8;
  o.seed = seed;
  nnc_train_log *log;
  ck_assert_int_eq(nnc_train(m, &o, &log), NNC_OK);
  nnc_model_close(m);
  return log;
}

START_TEST(mlp_training_lowers_the_loss)
{
  double L0;
  nnc_train_log *log = train_mlp("", 1, &L0);
  ck_assert(!log->diverged);
  ck_assert_uint_eq(log->nepochs, 8);
  /* 240 training examples in batches of 32: 8 steps an epoch */
  ck_assert_uint_eq(log->nsteps, 64);
  ck_assert(log->step_epoch[7] == 1.0 && log->step_epoch[63] == 8.0);
  ck_assert_uint_eq(log->nblocks, 4);
  const nnc_epoch_info *last = &log->epochs[7];
  ck_assert_msg(last->train_loss < 0.8 * L0, "train loss %g from %g",
                last->train_loss, L0);
  ck_assert(last->train_loss < log->epochs[0].train_loss);
  ck_assert(isfinite(last->val_loss) && last->val_acc >= 0 &&
            last->val_acc <= 1);
  ck_assert_msg(last->train_acc > 0.5, "accuracy %g (chance 1/3)",
                last->train_acc);
  /* blocks W1 b1 W2 b2; the biases start at 0, so their first ratio is
   * Inf */
  for (size_t k = 0; k < log->nsteps; k++)
    for (size_t b = 0; b < 4; b++) {
      double r = log->ratio[k * 4 + b];
      if (b % 2 && k == 0)
        ck_assert(isinf(r));
      else if (b % 2)
        ck_assert(r > 0 && isfinite(r));
      else
        ck_assert_msg(r > 0 && r < 1, "step %zu block %zu: ratio %g", k, b,
                      r);
    }
  nnc_train_log_free(log);
}
END_TEST

START_TEST(same_seed_same_log)
{
  /* dropout makes every step's seed matter */
  nnc_train_log *a = train_mlp("dropout=0.5", 3, NULL);
  nnc_train_log *b = train_mlp("dropout=0.5", 3, NULL);
  nnc_train_log *c = train_mlp("dropout=0.5", 4, NULL);
  ck_assert_uint_eq(a->nsteps, b->nsteps);
  ck_assert(memcmp(a->step_loss, b->step_loss,
                   a->nsteps * sizeof *a->step_loss) == 0);
  ck_assert(memcmp(a->ratio, b->ratio,
                   a->nsteps * a->nblocks * sizeof *a->ratio) == 0);
  ck_assert(memcmp(a->epochs, b->epochs, a->nepochs * sizeof *a->epochs) ==
            0);
  ck_assert(memcmp(a->step_loss, c->step_loss,
                   a->nsteps * sizeof *a->step_loss) != 0);
  nnc_train_log_free(a);
  nnc_train_log_free(b);
  nnc_train_log_free(c);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("train");
  TCase *rules = tcase_create("rules");
  tcase_add_test(rules, defaults_are_the_notes);
  tcase_add_test(rules, sgd_by_hand);
  tcase_add_test(rules, momentum_by_hand);
  tcase_add_test(rules, nesterov_by_hand);
  tcase_add_test(rules, adagrad_by_hand);
  tcase_add_test(rules, rmsprop_by_hand);
  tcase_add_test(rules, adam_by_hand);
  tcase_add_test(rules, ratio_is_the_stored_update);
  tcase_add_test(rules, long_blocks_follow_the_rules_bit_for_bit);
  tcase_add_test(rules, gradient_scan_tells_huge_from_infinite);
  tcase_add_test(rules, layer_input_is_never_updated);
  tcase_add_test(rules, momentum_and_adam_beat_sgd);
  tcase_add_test(rules, lbfgs_on_rosenbrock);
  tcase_add_test(rules, snapshots_restore_bit_exact);
  suite_add_tcase(s, rules);
  TCase *sched = tcase_create("schedules");
  tcase_add_test(sched, schedules_at_epochs);
  tcase_add_test(sched, plateau_waits_for_patience);
  tcase_add_test(sched, momentum_ramp);
  suite_add_tcase(s, sched);
  TCase *data = tcase_create("data");
  tcase_add_test(data, sampler_covers_every_example_once);
  tcase_add_test(data, sampler_subset);
  tcase_add_test(data, sampler_without_dataset);
  tcase_add_test(data, evaluate_weights_batches_by_size);
  suite_add_tcase(s, data);
  TCase *runs = tcase_create("runs");
  tcase_add_test(runs, no_dataset_one_step_per_epoch);
  tcase_add_test(runs, dataset_runs_use_the_sampler);
  tcase_add_test(runs, layer_trains_on_its_batch);
  tcase_add_test(runs, huge_lr_diverges);
  tcase_add_test(runs, mlp_training_lowers_the_loss);
  tcase_add_test(runs, same_seed_same_log);
  suite_add_tcase(s, runs);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
