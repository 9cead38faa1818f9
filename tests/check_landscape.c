/* The landscape, in-process and through the tool: the shapes the math
 * gives (a linear softmax is convex, a linear SVM piecewise linear), the
 * line's ends bit for bit, filter normalisation's invariance to rescaling
 * a ReLU layer, the trajectory plane through the first and last
 * checkpoints, threads giving the serial bits, the rendered pictures, and
 * bad input refused with one line. */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <nncheck/checkpoint.h>
#include <nncheck/landscape.h>
#include <nncheck/nncheck.h>
#include <nncheck/train.h>

#define LS(...) RUN("landscape", __VA_ARGS__)

static char *tmpdir;

static const char *in_tmp(const char *name)
{
  static char path[8][4096];
  static int k;
  k = (k + 1) % 8;
  snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
  return path[k];
}

static nnc_model *load(const char *name, const char *args, size_t examples)
{
  nnc_model *m;
  char err[2048];
  int rc = nnc_model_load(name, args, &m, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s: %s", name, err);
  ck_assert_int_eq(nnc_model_select(m, examples, 1), NNC_OK);
  return m;
}

static nnc_landscape *landscape(nnc_model *m, const nnc_landscape_opts *o)
{
  nnc_landscape *ls;
  char err[2048];
  int rc = nnc_landscape_new(m, o, &ls, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  return ls;
}

static void slices(nnc_landscape *ls)
{
  int rc = nnc_landscape_slices(ls);
  ck_assert_msg(rc == NNC_OK, "%s", nnc_landscape_error(ls));
}

/* Plain gradient descent on seeded mini-batches of the training split (or
 * the selection when batch is 0), without the training core. */
static void descend(nnc_model *m, size_t steps, double lr, size_t batch,
                    uint64_t seed)
{
  nnc_net_info ni;
  ck_assert_int_eq(nnc_model_net_info(m, &ni), NNC_OK);
  size_t idx[512];
  uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t k = 0; k < steps; k++) {
    nnc_batch b = {idx, batch, NNC_SPLIT_TRAIN, 0};
    for (size_t j = 0; j < batch; j++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      idx[j] = (size_t)((s >> 33) % ni.n_train);
    }
    double L;
    ck_assert_int_eq(nnc_model_loss(m, batch ? &b : NULL, k, NNC_F_ALL, &L),
                     NNC_OK);
    ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
    for (size_t bl = 0; bl < nnc_model_num_blocks(m); bl++)
      for (size_t i = 0; i < nnc_model_block(m, bl)->count; i++)
        nnc_model_set(m, bl, i,
                      nnc_model_get(m, bl, i) - lr * nnc_model_grad(m, bl, i));
  }
}

static nnc_checkpoint *capture(const nnc_model *m)
{
  nnc_checkpoint *c;
  char err[1024];
  ck_assert_int_eq(nnc_checkpoint_capture(m, NULL, &c, err, sizeof err),
                   NNC_OK);
  return c;
}

/* Second difference of three loss values, relative to their size. */
static double d2(double a, double b, double c) { return a - 2 * b + c; }

/* ---- shapes ---------------------------------------------------------------- */

/* Every collinear, equally spaced triple of a grid: rows, columns and both
 * diagonals.  fn gets the three flat indices. */
typedef void (*triple_fn)(void *user, size_t a, size_t b, size_t c);
static void each_triple(const nnc_ls_grid *g, triple_fn fn, void *user)
{
  static const int dirs[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
  for (size_t j = 0; j < g->ny; j++)
    for (size_t i = 0; i < g->nx; i++)
      for (int d = 0; d < 4; d++) {
        long i0 = (long)i - dirs[d][0], j0 = (long)j - dirs[d][1];
        long i2 = (long)i + dirs[d][0], j2 = (long)j + dirs[d][1];
        if (i0 < 0 || j0 < 0 || i2 >= (long)g->nx || j2 >= (long)g->ny ||
            j0 >= (long)g->ny || j2 < 0)
          continue;
        fn(user, (size_t)j0 * g->nx + (size_t)i0, j * g->nx + i,
           (size_t)j2 * g->nx + (size_t)i2);
      }
}

typedef struct convex_acc {
  const double *z;
  double worst, most;
  size_t n;
} convex_acc;

static void convex_triple(void *u, size_t a, size_t b, size_t c)
{
  convex_acc *x = u;
  double v = d2(x->z[a], x->z[b], x->z[c]) / fmax(1, fabs(x->z[b]));
  x->worst = fmin(x->worst, v);
  x->most = fmax(x->most, v);
  x->n++;
}

START_TEST(linear_softmax_slice_is_convex)
{
  nnc_model *m = load("linear_softmax", "scale=1", 1000);
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  o.grid = 21;
  o.points = 21;
  o.directions = 2;
  nnc_landscape *ls = landscape(m, &o);
  slices(ls);
  const nnc_landscape_result *r = nnc_landscape_get(ls);
  ck_assert(r->has_grid);
  const nnc_ls_grid *g = &r->grid;
  convex_acc x = {g->loss, INFINITY, -INFINITY, 0};
  each_triple(g, convex_triple, &x);
  ck_assert_uint_eq(x.n, 2 * 19 * 21 + 2 * 19 * 19);
  /* convex: no second difference below round-off; curved: some above */
  ck_assert_msg(x.worst >= -1e-12, "a second difference of %g", x.worst);
  ck_assert_msg(x.most > 1e-4, "the slice is flat (largest %g)", x.most);
  for (size_t k = 0; k < r->nslices; k++) {
    const nnc_ls_slice *s = &r->slices[k];
    for (size_t i = 1; i + 1 < s->n; i++)
      ck_assert_msg(d2(s->loss[i - 1], s->loss[i], s->loss[i + 1]) >= -1e-12,
                    "slice %s not convex at %zu", s->label, i);
    ck_assert_uint_eq(s->kinks, 0); /* softmax: no max() decision at all */
  }
  /* the centre is the current point, bit for bit, and the first slice is
   * the grid's middle row */
  double L;
  ck_assert_int_eq(nnc_model_loss(m, NULL, o.seed, NNC_F_ALL | NNC_F_TRAIN, &L),
                   NNC_OK);
  double c = g->loss[(g->ny / 2) * g->nx + g->nx / 2];
  ck_assert(memcmp(&c, &L, sizeof L) == 0 && memcmp(&r->loss, &L, 8) == 0);
  ck_assert(memcmp(r->slices[0].loss, g->loss + (g->ny / 2) * g->nx,
                   g->nx * sizeof *g->loss) == 0);
  ck_assert(r->slices[0].a[10] == 0 && g->x[10] == 0 && g->y[10] == 0);
  /* along -gradient the loss first decreases */
  const nnc_ls_slice *gs = &r->slices[r->nslices - 1];
  ck_assert(gs->gradient && gs->slope < 0);
  nnc_landscape_free(ls);
  nnc_model_close(m);
}
END_TEST

typedef struct pwl_acc {
  const double *z;
  const uint64_t *w;
  size_t same, kinked, bent;
  double worst;
} pwl_acc;

static void pwl_triple(void *u, size_t a, size_t b, size_t c)
{
  pwl_acc *x = u;
  double v = fabs(d2(x->z[a], x->z[b], x->z[c])) / fmax(1, fabs(x->z[b]));
  if (x->w[a] == x->w[b] && x->w[b] == x->w[c]) {
    x->same++;
    x->worst = fmax(x->worst, v);
  } else {
    x->kinked++;
    x->bent += v > 1e-6;
  }
}

START_TEST(linear_svm_slice_is_piecewise_linear)
{
  /* the data part: the regularization's quadratic would bend it */
  nnc_model *m = load("linear_svm", "scale=1", 16);
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  o.grid = 21;
  o.points = 41;
  o.alpha = 0.5;
  o.directions = 2;
  o.part = NNC_F_DATA;
  nnc_landscape *ls = landscape(m, &o);
  slices(ls);
  const nnc_landscape_result *r = nnc_landscape_get(ls);
  ck_assert(r->has_winners && r->grid.winners);
  pwl_acc x = {r->grid.loss, r->grid.winners, 0, 0, 0, 0};
  each_triple(&r->grid, pwl_triple, &x);
  /* between points where no margin changed sign the loss is linear */
  ck_assert_msg(x.same >= 50, "only %zu kink-free triples", x.same);
  ck_assert_msg(x.worst < 1e-12, "a second difference of %g away from the "
                "kinks", x.worst);
  /* ... and it bends at kinks */
  ck_assert_msg(x.kinked > 0 && x.bent > 0, "%zu kinked triples, %zu bent",
                x.kinked, x.bent);
  ck_assert(r->grid.kinks > 0);
  /* convex all the same */
  convex_acc cx = {r->grid.loss, INFINITY, -INFINITY, 0};
  each_triple(&r->grid, convex_triple, &cx);
  ck_assert(cx.worst >= -1e-12);
  /* the 1D slices too: zero second differences between equal
   * fingerprints, a slope change at each kink */
  for (size_t k = 0; k < r->nslices; k++) {
    const nnc_ls_slice *s = &r->slices[k];
    for (size_t i = 1; i + 1 < s->n; i++)
      if (s->winners[i - 1] == s->winners[i] &&
          s->winners[i] == s->winners[i + 1])
        ck_assert_msg(fabs(d2(s->loss[i - 1], s->loss[i], s->loss[i + 1])) <
                          1e-12 * fmax(1, s->loss[i]),
                      "slice %s bends at %zu without a kink", s->label, i);
    ck_assert_uint_gt(s->kinks, 0);
  }
  nnc_landscape_free(ls);
  nnc_model_close(m);
}
END_TEST

/* ---- the line -------------------------------------------------------------- */

START_TEST(line_reproduces_the_ends_bit_for_bit)
{
  nnc_model *m = load("linear_softmax", "", 1000);
  nnc_checkpoint *A = capture(m);
  descend(m, 40, 0.5, 32, 3);
  nnc_checkpoint *B = capture(m);
  descend(m, 5, 0.5, 32, 4); /* the current point is neither end */
  nnc_checkpoint *cur = capture(m);
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  o.line_examples = 0; /* every example: the test evaluates the same */
  o.line_points = 19;  /* rounded up to 21 */
  nnc_landscape *ls = landscape(m, &o);
  int rc = nnc_landscape_line(ls, A, "A", B, "B");
  ck_assert_msg(rc == NNC_OK, "%s", nnc_landscape_error(ls));
  const nnc_landscape_result *r = nnc_landscape_get(ls);
  const nnc_ls_line *l = &r->line;
  ck_assert_uint_eq(l->n, 21);
  ck_assert(l->t[l->i0] == 0 && l->t[l->i1] == 1 && l->t[0] == -0.5 &&
            l->t[l->n - 1] == 1.5);
  ck_assert_int_eq(l->nsplits, 2);
  /* the model is back at the current point */
  nnc_checkpoint *after = capture(m);
  for (size_t b = 0; b < nnc_checkpoint_num_blocks(cur); b++)
    ck_assert(memcmp(nnc_checkpoint_block(cur, b)->data,
                     nnc_checkpoint_block(after, b)->data,
                     nnc_checkpoint_block(cur, b)->count * 8) == 0);
  nnc_net_info ni;
  nnc_model_net_info(m, &ni);
  size_t *idx = malloc((ni.n_train + ni.n_val) * sizeof *idx);
  for (size_t i = 0; i < ni.n_train + ni.n_val; i++)
    idx[i] = i;
  const nnc_checkpoint *ends[2] = {A, B};
  for (int e = 0; e < 2; e++) {
    char err[1024];
    ck_assert_int_eq(nnc_checkpoint_apply(ends[e], m, err, sizeof err),
                     NNC_OK);
    size_t at = e ? l->i1 : l->i0;
    for (int s = 0; s < 2; s++) {
      double L, acc;
      ck_assert_int_eq(nnc_evaluate(m, s ? NNC_SPLIT_VAL : NNC_SPLIT_TRAIN,
                                    idx, s ? ni.n_val : ni.n_train,
                                    o.eval_batch, NNC_F_ALL, &L, &acc),
                       NNC_OK);
      ck_assert_msg(memcmp(&L, &l->loss[s][at], sizeof L) == 0,
                    "end %d split %d: %.17g on the line, %.17g evaluated", e,
                    s, l->loss[s][at], L);
      ck_assert(memcmp(&acc, &l->acc[s][at], sizeof acc) == 0);
    }
  }
  /* convex: the loss stays below the straight interpolation */
  ck_assert(l->barrier[0] < 0 && l->barrier[1] < 0);
  ck_assert(l->distance > 0);
  free(idx);
  nnc_landscape_free(ls);
  nnc_checkpoint_free(A);
  nnc_checkpoint_free(B);
  nnc_checkpoint_free(cur);
  nnc_checkpoint_free(after);
  nnc_model_close(m);
}
END_TEST

START_TEST(line_of_a_layer_on_its_selection)
{
  nnc_model *m = load("affine", "in=5,out=4", 7);
  nnc_checkpoint *A = capture(m);
  for (size_t i = 0; i < nnc_model_block(m, 0)->count; i++)
    nnc_model_set(m, 0, i, nnc_model_get(m, 0, i) * -1.25 + 0.1);
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  nnc_landscape *ls = landscape(m, &o);
  ck_assert_int_eq(nnc_landscape_line(ls, A, NULL, NULL, NULL), NNC_OK);
  const nnc_landscape_result *r = nnc_landscape_get(ls);
  ck_assert(r->line.on_selection && r->line.nsplits == 1);
  ck_assert_str_eq(r->line.to, "current");
  double L;
  ck_assert_int_eq(nnc_model_loss(m, NULL, o.seed, NNC_F_ALL | NNC_F_TRAIN,
                                  &L),
                   NNC_OK);
  ck_assert(memcmp(&L, &r->line.loss[0][r->line.i1], 8) == 0);
  char err[1024];
  ck_assert_int_eq(nnc_checkpoint_apply(A, m, err, sizeof err), NNC_OK);
  ck_assert_int_eq(nnc_model_loss(m, NULL, o.seed, NNC_F_ALL | NNC_F_TRAIN,
                                  &L),
                   NNC_OK);
  ck_assert(memcmp(&L, &r->line.loss[0][r->line.i0], 8) == 0);
  nnc_landscape_free(ls);
  nnc_checkpoint_free(A);
  nnc_model_close(m);
}
END_TEST

/* ---- filter normalisation ---------------------------------------------- */

/* W1 *= c, b1 *= c, W2 /= c: the same function (ReLU is positively
 * homogeneous), differently scaled layers. */
static void rescale(nnc_model *m, double c)
{
  const char *names[] = {"W1", "b1", "W2"};
  double f[] = {c, c, 1 / c};
  for (int k = 0; k < 3; k++) {
    long b = nnc_model_find_block(m, names[k]);
    ck_assert(b >= 0);
    for (size_t i = 0; i < nnc_model_block(m, (size_t)b)->count; i++)
      nnc_model_set(m, (size_t)b, i, f[k] * nnc_model_get(m, (size_t)b, i));
  }
}

/* The largest relative difference between the slices (and grids) of the
 * mlp before and after rescaling, with normalisation `norm`. */
static double rescaling_change(int norm)
{
  nnc_model *m = load("mlp", "layers=2,32,3", 200);
  /* biases away from 0, so that they move too */
  for (size_t b = 0; b < nnc_model_num_blocks(m); b++)
    if (nnc_model_block(m, b)->name[0] == 'b')
      for (size_t i = 0; i < nnc_model_block(m, b)->count; i++)
        nnc_model_set(m, b, i, 0.1 * sin((double)(i + 7 * b)));
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  o.norm = norm;
  o.part = NNC_F_DATA; /* L2 is not invariant */
  o.points = 11;
  o.grid = 9;
  o.directions = 2;
  o.gradient = 0;
  nnc_landscape *a = landscape(m, &o);
  slices(a);
  rescale(m, 3.7);
  nnc_landscape *b = landscape(m, &o);
  slices(b);
  const nnc_landscape_result *ra = nnc_landscape_get(a),
                             *rb = nnc_landscape_get(b);
  double worst = fabs(ra->loss - rb->loss) / ra->loss;
  ck_assert_msg(worst < 1e-12, "rescaling changed the net: %g", worst);
  for (size_t k = 0; k < ra->nslices; k++)
    for (size_t i = 0; i < ra->slices[k].n; i++) {
      double x = ra->slices[k].loss[i], y = rb->slices[k].loss[i];
      worst = fmax(worst, fabs(x - y) / fmax(1, fabs(x)));
    }
  for (size_t i = 0; i < ra->grid.nx * ra->grid.ny; i++) {
    double x = ra->grid.loss[i], y = rb->grid.loss[i];
    worst = fmax(worst, fabs(x - y) / fmax(1, fabs(x)));
  }
  nnc_landscape_free(a);
  nnc_landscape_free(b);
  nnc_model_close(m);
  return worst;
}

START_TEST(filter_normalisation_is_invariant_to_relu_rescaling)
{
  double filter = rescaling_change(NNC_LS_FILTER);
  double block = rescaling_change(NNC_LS_BLOCK);
  double global = rescaling_change(NNC_LS_GLOBAL);
  double plain = rescaling_change(NNC_LS_PLAIN);
  ck_assert_msg(filter < 1e-12, "filter-normalised slices changed by %g",
                filter);
  ck_assert_msg(block < 1e-12, "block-normalised slices changed by %g", block);
  ck_assert_msg(global > 1e-2, "global directions changed by only %g", global);
  ck_assert_msg(plain > 1e-2, "plain directions changed by only %g", plain);
}
END_TEST

/* ---- the trajectory ---------------------------------------------------------- */

static void trajectory_case(const char *plugin, const char *args, size_t n,
                            int plane, double *explained)
{
  nnc_model *m = load(plugin, args, 200);
  nnc_checkpoint **c = calloc(n, sizeof *c);
  for (size_t i = 0; i < n; i++) {
    if (i)
      descend(m, 15, 0.4 / (double)i, 16, i);
    c[i] = capture(m);
  }
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  o.plane = plane;
  o.grid = 9;
  nnc_landscape *ls = landscape(m, &o);
  int rc = nnc_landscape_trajectory(ls, (const nnc_checkpoint *const *)c,
                                    NULL, n);
  ck_assert_msg(rc == NNC_OK, "%s", nnc_landscape_error(ls));
  const nnc_landscape_result *r = nnc_landscape_get(ls);
  const nnc_ls_traj *t = &r->traj;
  ck_assert_uint_eq(t->n, n);
  ck_assert(t->x[n - 1] == 0 && t->y[n - 1] == 0 && t->residual[n - 1] == 0);
  if (plane == NNC_LS_PLANE_ENDS) {
    ck_assert_msg(t->residual[0] < 1e-12, "the first checkpoint is %g off "
                  "the plane", t->residual[0]);
    ck_assert(t->x[0] < 0 && fabs(t->y[0]) < 1e-12 * fabs(t->x[0]));
  }
  ck_assert(t->explained > 0 && t->explained <= 1 + 1e-12);
  /* each checkpoint's loss is the model's there, bit for bit */
  for (size_t i = 0; i < n; i++) {
    char err[1024];
    double L;
    ck_assert_int_eq(nnc_checkpoint_apply(c[i], m, err, sizeof err), NNC_OK);
    ck_assert_int_eq(nnc_model_loss(m, NULL, o.seed, NNC_F_ALL | NNC_F_TRAIN,
                                    &L),
                     NNC_OK);
    ck_assert(memcmp(&L, &t->loss[i], sizeof L) == 0);
  }
  *explained = t->explained;
  nnc_landscape_free(ls);
  for (size_t i = 0; i < n; i++)
    nnc_checkpoint_free(c[i]);
  free(c);
  nnc_model_close(m);
}

START_TEST(trajectory_plane_holds_the_first_and_last_checkpoints)
{
  double ends, pca, two;
  trajectory_case("linear_softmax", "", 8, NNC_LS_PLANE_ENDS, &ends);
  trajectory_case("linear_softmax", "", 8, NNC_LS_PLANE_PCA, &pca);
  /* PCA holds the most a plane through the last point can */
  ck_assert_msg(pca >= ends - 1e-12, "pca %g < ends %g", pca, ends);
  trajectory_case("mlp", "layers=2,16,3", 6, NNC_LS_PLANE_ENDS, &ends);
  /* two checkpoints: one direction of change, a random second axis */
  trajectory_case("linear_softmax", "", 2, NNC_LS_PLANE_ENDS, &two);
  ck_assert(fabs(two - 1) < 1e-12);
}
END_TEST

/* ---- threads ------------------------------------------------------------------ */

static void compute_all(nnc_model *m, size_t jobs, nnc_checkpoint *const *c,
                        size_t n, nnc_landscape **out)
{
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  o.jobs = jobs;
  o.grid = 11;
  o.points = 15;
  o.line_points = 13;
  nnc_landscape *ls = landscape(m, &o);
  slices(ls);
  ck_assert_int_eq(nnc_landscape_line(ls, c[0], NULL, NULL, NULL), NNC_OK);
  ck_assert_int_eq(
      nnc_landscape_trajectory(ls, (const nnc_checkpoint *const *)c, NULL, n),
      NNC_OK);
  *out = ls;
}

#define SAME(a, b, n, what)                                                    \
  ck_assert_msg(memcmp((a), (b), (n) * sizeof *(a)) == 0,                      \
                "%s differ between 1 and 3 threads", what)

START_TEST(threads_give_the_serial_bits)
{
  nnc_model *m = load("mlp", "layers=2,64,3,dropout=0.3", 240);
  nnc_checkpoint *c[4];
  for (size_t i = 0; i < 4; i++) {
    if (i)
      descend(m, 10, 0.3, 32, i);
    c[i] = capture(m);
  }
  nnc_landscape *s, *p;
  compute_all(m, 1, c, 4, &s);
  compute_all(m, 3, c, 4, &p);
  const nnc_landscape_result *a = nnc_landscape_get(s),
                             *b = nnc_landscape_get(p);
  ck_assert_uint_eq(a->jobs, 1);
  ck_assert_uint_eq(b->jobs, 3);
  ck_assert_uint_eq(a->nslices, b->nslices);
  for (size_t k = 0; k < a->nslices; k++) {
    SAME(a->slices[k].loss, b->slices[k].loss, a->slices[k].n, "slices");
    SAME(a->slices[k].winners, b->slices[k].winners, a->slices[k].n,
         "fingerprints");
  }
  SAME(a->grid.loss, b->grid.loss, a->grid.nx * a->grid.ny, "2D slices");
  for (int k = 0; k < a->line.nsplits; k++) {
    SAME(a->line.loss[k], b->line.loss[k], a->line.n, "lines");
    SAME(a->line.acc[k], b->line.acc[k], a->line.n, "line accuracies");
  }
  SAME(a->traj.grid.loss, b->traj.grid.loss,
       a->traj.grid.nx * a->traj.grid.ny, "trajectory planes");
  SAME(a->traj.x, b->traj.x, a->traj.n, "trajectory coordinates");
  nnc_landscape_free(s);
  nnc_landscape_free(p);
  for (size_t i = 0; i < 4; i++)
    nnc_checkpoint_free(c[i]);
  nnc_model_close(m);
}
END_TEST

/* ---- the tool --------------------------------------------------------------- */

static void assert_picture(const char *dir, const char *name)
{
  char path[4200];
  size_t n;
  snprintf(path, sizeof path, "%s/%s.png", dir, name);
  unsigned char *png = (unsigned char *)read_file(path, &n);
  ck_assert_msg(png && n > 1000, "%s missing or tiny", path);
  ck_assert_msg(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "%s: not a PNG",
                path);
  ck_assert(be32(png + 16) == 900 && be32(png + 20) == 600);
  free(png);
  snprintf(path, sizeof path, "%s/%s.svg", dir, name);
  char *svg = read_file(path, NULL);
  ck_assert_msg(svg && strstr(svg, "<svg") && strstr(svg, "</svg>"),
                "%s: not a complete SVG", path);
  free(svg);
  snprintf(path, sizeof path, "%s/%s.dat", dir, name);
  char *dat = read_file(path, NULL);
  ck_assert_msg(dat && dat[0] == '#', "%s: no header", path);
  free(dat);
  snprintf(path, sizeof path, "%s/%s.gp", dir, name);
  char *gp = read_file(path, NULL);
  ck_assert_msg(gp && strstr(gp, name), "%s", path);
  free(gp);
}

START_TEST(tool_draws_every_picture)
{
  const char *dir = in_tmp("plots");
  const char *ck = in_tmp("run");
  run_result r = LS("linear_svm", "--train", "4", "--lr", "0.2", "--from-init",
                    "--plots", dir, "--save-checkpoints", ck, "--json",
                    "--grid", "15");
  ck_assert_msg(r.status == 0, "exit %d\n%s", r.status, r.err);
  ck_assert_msg(json_valid(r.out), "invalid JSON:\n%s", r.out);
  ck_assert_str_eq(r.err, ""); /* no progress: stderr is not a terminal */
  const char *names[] = {"landscape_1d", "landscape_2d_contour",
                         "landscape_2d_heatmap", "landscape_line",
                         "landscape_line_acc", "landscape_trajectory"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    assert_picture(dir, names[i]);
  char *gp = read_file(in_tmp("plots/landscape_2d_contour.gp"), NULL);
  ck_assert(strstr(gp, "current point"));
  free(gp);
  ck_assert(strstr(r.out, "\"trajectory\"") && strstr(r.out, "\"line\""));
  run_free(&r);
  /* the snapshots are checkpoints: the trajectory again, from files */
  char files[5][4200];
  for (int i = 0; i < 5; i++)
    snprintf(files[i], sizeof files[i], "%s/epoch-%04d.ckpt", ck, i);
  r = LS("linear_svm", "--no-slices", "--json", "--grid", "15",
         "--trajectory", files[0], files[1], files[2], files[3], files[4]);
  ck_assert_msg(r.status == 0, "exit %d\n%s", r.status, r.err);
  const char *p = strstr(r.out, "\"residual\": ");
  ck_assert_ptr_nonnull(p);
  ck_assert_msg(fabs(strtod(p + 12, NULL)) < 1e-12, "first residual %s", p);
  ck_assert(strstr(r.out, "\"label\": \"epoch 0\""));
  run_free(&r);
}
END_TEST

START_TEST(tool_without_gnuplot_leaves_data_and_scripts)
{
  const char *dir = in_tmp("unrendered");
  setenv("NNCHECK_GNUPLOT", "/nonexistent/gnuplot", 1);
  run_result r = LS("linear_softmax", "--plots", dir, "--grid", "5",
                    "--points", "5");
  unsetenv("NNCHECK_GNUPLOT");
  ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
  ck_assert_msg(count_of(r.err, "\n") == 1, "not one line: %s", r.err);
  ck_assert_msg(strstr(r.err, "without rendering") &&
                    strstr(r.err, "gnuplot landscape_1d.gp && gnuplot "
                                  "landscape_2d_contour.gp"),
                "%s", r.err);
  const char *names[] = {"landscape_1d", "landscape_2d_contour",
                         "landscape_2d_heatmap"};
  for (size_t i = 0; i < 3; i++) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.dat", dir, names[i]);
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    snprintf(path, sizeof path, "%s/%s.gp", dir, names[i]);
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    snprintf(path, sizeof path, "%s/%s.png", dir, names[i]);
    ck_assert_msg(stat(path, &st) != 0, "%s rendered", path);
  }
  run_free(&r);
}
END_TEST

static char *without_threads(const char *json)
{
  char *s = strdup(json), *p = strstr(s, "\"threads\": ");
  ck_assert_ptr_nonnull(p);
  char *e = strchr(p, '\n');
  memmove(p, e, strlen(e) + 1);
  return s;
}

START_TEST(tool_threads_give_the_serial_output)
{
  const char *a = in_tmp("a.ckpt");
  run_result r = LS("mlp", "--args", "layers=2,32,3", "--save", a,
                    "--no-slices");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  run_result one = LS("mlp", "--args", "layers=2,32,3", "--seed", "5",
                      "--jobs", "1", "--json", "--grid", "11", "--to", a,
                      "--from-init", "--at", a);
  run_result two = LS("mlp", "--args", "layers=2,32,3", "--seed", "5",
                      "--jobs", "2", "--json", "--grid", "11", "--to", a,
                      "--from-init", "--at", a);
  ck_assert_msg(one.status == 0, "%s", one.err);
  ck_assert_msg(two.status == 0, "%s", two.err);
  char *x = without_threads(one.out), *y = without_threads(two.out);
  ck_assert_msg(!strcmp(x, y), "outputs differ with 2 threads");
  free(x);
  free(y);
  run_free(&one);
  run_free(&two);
}
END_TEST

START_TEST(tool_refuses_bad_input_with_one_line)
{
  const char *good = in_tmp("good.ckpt"), *cut = in_tmp("cut.ckpt");
  run_result r = LS("linear_softmax", "--save", good, "--no-slices");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  size_t n;
  char *b = read_file(good, &n);
  FILE *f = fopen(cut, "wb");
  fwrite(b, 1, n / 2, f);
  fclose(f);
  free(b);
  expect_error(LS("linear_softmax", "--at", in_tmp("none.ckpt")), 2,
               "none.ckpt");
  expect_error(LS("linear_softmax", "--from", cut), 2, "truncated");
  expect_error(LS("linear_softmax", "--to", cut), 2, "cut.ckpt");
  expect_error(LS("mlp", "--at", good), 2, "has no block 'W1'");
  expect_error(LS("linear_softmax", "--args", "D=4", "--to", good), 2,
               "block 'W' is 5x3 in the checkpoint but 4x3");
  expect_error(LS("linear_softmax", "--trajectory", good, cut), 2,
               "truncated");
  expect_error(LS("linear_softmax", "--trajectory", good), 2,
               "at least two");
  expect_error(LS("linear_softmax", good), 2, "need --trajectory");
  expect_error(LS("linear_softmax", "--points", "10"), 2, "odd");
  expect_error(LS("linear_softmax", "--grid", "4"), 2, "odd");
  expect_error(LS("linear_softmax", "--norm", "l2"), 2, "filter");
  expect_error(LS("linear_softmax", "--part", "both"), 2, "data, reg, all");
  expect_error(LS("linear_softmax", "--blocks", "W,V"), 2, "no block 'V'");
  expect_error(LS("linear_softmax", "--from", good, "--from-init"), 2,
               "choose one");
  expect_error(LS("linear_softmax", "--from-init"), 2, "one point");
  expect_error(LS("linear_softmax", "--lr", "0.1"), 2, "--train");
  expect_error(LS("linear_softmax", "--bogus"), 2, "--bogus");
  expect_error(LS("linear_softmax", "--alpha", "-1"), 2, "--alpha");
  expect_error(LS("no_such_plugin"), 2, "no_such_plugin");
  r = LS("--json");
  ck_assert_int_eq(r.status, 2);
  run_free(&r);
  /* a plugin whose loss is NaN misbehaves: exit 3 */
  expect_error(LS(test_plugin("nan_loss")), 3, "returned nan");
}
END_TEST

START_TEST(tool_help_lists_every_option_and_exit_status)
{
  run_result r = LS("--help");
  ck_assert_int_eq(r.status, 0);
  const char *opts[] = {"--args", "--seed", "--examples", "--part", "--eval",
                        "--at", "--train", "--rule", "--lr", "--batch",
                        "--save-checkpoints", "--save", "--norm", "--blocks",
                        "--alpha", "--points", "--directions", "--no-gradient",
                        "--grid", "--no-slices", "--from", "--from-init",
                        "--to", "--line-points", "--line-examples",
                        "--fail-on-barrier", "--trajectory", "--plane",
                        "--jobs", "--json", "--plots", "--list", "--help"};
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
    ck_assert_msg(strstr(r.out, opts[i]), "--help lacks %s", opts[i]);
  ck_assert(strstr(r.out, "Exit status") && strstr(r.out, "  0  ") &&
            strstr(r.out, "  1  ") && strstr(r.out, "  2  ") &&
            strstr(r.out, "  3  "));
  run_free(&r);
  r = LS("--list");
  ck_assert_int_eq(r.status, 0);
  ck_assert(strstr(r.out, "linear_softmax\tnet\t") &&
            strstr(r.out, "linear_svm\tnet\t"));
  run_free(&r);
}
END_TEST

/* Two copies of one trained ReLU net, the second with its hidden units
 * permuted: the same function at both ends, a barrier between. */
START_TEST(tool_reports_a_barrier_between_permuted_twins)
{
  nnc_model *m = load("mlp", "layers=2,24,3", 240);
  descend(m, 300, 1.0, 0, 1);
  char err[1024];
  const char *a = in_tmp("twin_a.ckpt"), *b = in_tmp("twin_b.ckpt");
  ck_assert_int_eq(nnc_checkpoint_write(m, a, NULL, err, sizeof err), NNC_OK);
  size_t H = 24;
  long W1 = nnc_model_find_block(m, "W1"), b1 = nnc_model_find_block(m, "b1"),
       W2 = nnc_model_find_block(m, "W2");
  double *w1 = malloc(2 * H * sizeof *w1), *bb = malloc(H * sizeof *bb),
         *w2 = malloc(H * 3 * sizeof *w2);
  for (size_t i = 0; i < 2 * H; i++)
    w1[i] = nnc_model_get(m, (size_t)W1, i);
  for (size_t i = 0; i < H; i++)
    bb[i] = nnc_model_get(m, (size_t)b1, i);
  for (size_t i = 0; i < 3 * H; i++)
    w2[i] = nnc_model_get(m, (size_t)W2, i);
  for (size_t j = 0; j < H; j++) { /* unit j takes unit (j + 7) mod H */
    size_t s = (j + 7) % H;
    for (size_t d = 0; d < 2; d++)
      nnc_model_set(m, (size_t)W1, d * H + j, w1[d * H + s]);
    nnc_model_set(m, (size_t)b1, j, bb[s]);
    for (size_t k = 0; k < 3; k++)
      nnc_model_set(m, (size_t)W2, j * 3 + k, w2[s * 3 + k]);
  }
  ck_assert_int_eq(nnc_checkpoint_write(m, b, NULL, err, sizeof err), NNC_OK);
  free(w1);
  free(bb);
  free(w2);
  nnc_model_close(m);
  run_result r = LS("mlp", "--args", "layers=2,24,3", "--from", a, "--to", b,
                    "--no-slices", "--fail-on-barrier", "0.05");
  ck_assert_msg(r.status == 1, "exit %d\n%s\n%s", r.status, r.out, r.err);
  ck_assert_msg(strstr(r.out, "a barrier"), "%s", r.out);
  ck_assert_msg(strstr(r.err, "--fail-on-barrier"), "%s", r.err);
  run_free(&r);
  /* a convex loss has none */
  const char *c = in_tmp("lin.ckpt");
  r = LS("linear_softmax", "--args", "scale=2", "--save", c, "--no-slices");
  ck_assert_int_eq(r.status, 0);
  run_free(&r);
  r = LS("linear_softmax", "--from", c, "--no-slices", "--fail-on-barrier",
         "0");
  ck_assert_msg(r.status == 0, "%s\n%s", r.out, r.err);
  ck_assert(strstr(r.out, "no barrier"));
  run_free(&r);
}
END_TEST

int main(void)
{
  tmpdir = make_tmpdir();
  Suite *s = suite_create("landscape");
  TCase *shapes = tcase_create("shapes");
  tcase_set_timeout(shapes, 600);
  tcase_add_test(shapes, linear_softmax_slice_is_convex);
  tcase_add_test(shapes, linear_svm_slice_is_piecewise_linear);
  tcase_add_test(shapes, line_reproduces_the_ends_bit_for_bit);
  tcase_add_test(shapes, line_of_a_layer_on_its_selection);
  tcase_add_test(shapes, filter_normalisation_is_invariant_to_relu_rescaling);
  tcase_add_test(shapes, trajectory_plane_holds_the_first_and_last_checkpoints);
  tcase_add_test(shapes, threads_give_the_serial_bits);
  suite_add_tcase(s, shapes);
  TCase *tool = tcase_create("tool");
  tcase_set_timeout(tool, 600);
  tcase_add_test(tool, tool_draws_every_picture);
  tcase_add_test(tool, tool_without_gnuplot_leaves_data_and_scripts);
  tcase_add_test(tool, tool_threads_give_the_serial_output);
  tcase_add_test(tool, tool_refuses_bad_input_with_one_line);
  tcase_add_test(tool, tool_help_lists_every_option_and_exit_status);
  tcase_add_test(tool, tool_reports_a_barrier_between_permuted_twins);
  suite_add_tcase(s, tool);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    failed++;
  free(tmpdir);
  return failed ? 1 : 0;
}
