/* Performance contracts that a test can hold: parallel checks give the
 * serial report byte for byte, the reference net's fast paths compute what
 * its general ones do, and the hot loops allocate nothing.
 *
 * Allocations are counted by interposing malloc, calloc, realloc and the
 * aligned allocators in this program: the library and the dlopen'ed
 * plugins resolve them here, and every call is forwarded to glibc.  Each
 * is attributed by its caller's address: calls made from inside the BLAS
 * library are counted apart (OpenBLAS's small-matrix GEMM kernels malloc a
 * packing buffer per call, which no caller can avoid) and so are calls
 * from the dynamic loader (a new thread's TLS, once per thread started,
 * i.e. per checked part, never per coordinate); every other one must not
 * happen.  Under AddressSanitizer (which owns the allocator) the
 * counting tests are skipped. */
#include "config.h"
#include "testutil.h"
#include <nncheck/nncheck.h>
#include <nncheck/train.h>
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC(...) RUN("gradcheck", __VA_ARGS__)

#if defined(__SANITIZE_ADDRESS__)
#define NNC_COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NNC_COUNT_ALLOCS 0
#endif
#endif
#ifndef NNC_COUNT_ALLOCS
#define NNC_COUNT_ALLOCS 1
#endif

static atomic_size_t allocs;      /* allocation calls so far, every thread,
                                     the BLAS library's excepted */
static atomic_size_t blas_allocs; /* those made from inside the BLAS */
static atomic_size_t ld_allocs;   /* those made by the dynamic loader */
static void *callers[8];          /* where the first counted ones came from */

#if NNC_COUNT_ALLOCS
/* Count one allocation made from `from` (a return address). */
static void counted(void *from)
{
  Dl_info di;
  if (dladdr(from, &di) && di.dli_fname && strstr(di.dli_fname, "blas")) {
    atomic_fetch_add_explicit(&blas_allocs, 1, memory_order_relaxed);
    return;
  }
  if (dladdr(from, &di) && di.dli_fname && strstr(di.dli_fname, "ld-linux")) {
    atomic_fetch_add_explicit(&ld_allocs, 1, memory_order_relaxed);
    return;
  }
  size_t k = atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
  callers[k % 8] = from;
}
#define COUNT() counted(__builtin_return_address(0))

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
  COUNT();
  return __libc_malloc(n);
}

void *calloc(size_t n, size_t s)
{
  COUNT();
  return __libc_calloc(n, s);
}

void *realloc(void *p, size_t n)
{
  COUNT();
  return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }

int posix_memalign(void **p, size_t align, size_t n)
{
  COUNT();
  void *q = __libc_memalign(align, n);
  if (!q)
    return 12; /* ENOMEM */
  *p = q;
  return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
  COUNT();
  return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n);
void *memalign(size_t align, size_t n)
{
  COUNT();
  return __libc_memalign(align, n);
}
#endif

static size_t count(void)
{
  return atomic_load(&allocs);
}

/* The callers of the last counted allocations, as text. */
static const char *where(void)
{
  static char buf[2048];
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < 8; i++) {
    Dl_info di;
    if (!callers[i] || !dladdr(callers[i], &di))
      continue;
    k += (size_t)snprintf(buf + k, sizeof buf - k, " %s(%s)",
                          di.dli_sname ? di.dli_sname : "?",
                          di.dli_fname ? di.dli_fname : "?");
    if (k >= sizeof buf)
      break;
  }
  return buf;
}

/* ---- parallel checks ------------------------------------------------------ */

/* The same report, byte for byte, with 1 and 2 threads: nets and layers,
 * with and without kinks (ReLU inputs at exactly 0, tied max-pool windows,
 * where re-tests run backward on the clones), every coordinate or sampled,
 * a passing net and a failing one. */
START_TEST(threads_give_the_serial_report)
{
  const char *runs[][4] = {
      {"mlp", "--samples", "10", NULL},
      {"mlp_relu_kinks", "--samples", "0", NULL},
      {"relu_zeros", "--samples", "0", NULL},
      {"maxpool2_ties", "--samples", "0", NULL},
      {"bug_l2_factor2", "--samples", "10", NULL},
      {"mlp_f32", "--samples", "10", NULL},
  };
  size_t kinked = 0;
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    run_result a = GC(runs[i][0], runs[i][1], runs[i][2], "--json");
    run_result b =
        GC(runs[i][0], runs[i][1], runs[i][2], "--json", "--threads", "2");
    run_result t = GC(runs[i][0], runs[i][1], runs[i][2], "--threads", "2");
    run_result s = GC(runs[i][0], runs[i][1], runs[i][2]);
    ck_assert_msg(json_valid(a.out), "%s: invalid JSON", runs[i][0]);
    ck_assert_msg(a.status == b.status, "%s: exit %d serial, %d threaded",
                  runs[i][0], a.status, b.status);
    ck_assert_msg(!strcmp(a.out, b.out),
                  "%s %s %s: the JSON report differs between 1 and 2 threads",
                  runs[i][0], runs[i][1], runs[i][2]);
    ck_assert_msg(!strcmp(s.out, t.out),
                  "%s: the text report differs between 1 and 2 threads",
                  runs[i][0]);
    ck_assert_int_eq(a.status, strncmp(runs[i][0], "bug_", 4) ? 0 : 1);
    /* the kinked runs really crossed kinks */
    if (strstr(runs[i][0], "zeros") || strstr(runs[i][0], "ties"))
      kinked += strstr(a.out, "\"kinks\": 0,") == NULL;
    run_free(&a);
    run_free(&b);
    run_free(&t);
    run_free(&s);
  }
  ck_assert_msg(kinked == 2, "the kinked fixtures crossed no kink");
}
END_TEST

/* A plugin without clone() is checked serially, with a note saying so, and
 * the same verdicts. */
START_TEST(no_clone_falls_back_with_a_note)
{
  run_result a = GC("example_net", "--json");
  run_result b = GC("example_net", "--json", "--threads", "2");
  ck_assert_int_eq(a.status, 0);
  ck_assert_int_eq(b.status, 0);
  ck_assert_ptr_null(strstr(a.out, "clone()"));
  ck_assert_ptr_nonnull(strstr(b.out, "has no clone(): coordinates checked on "
                                      "one thread, not 2"));
  run_free(&a);
  run_free(&b);
  run_result bad = GC("mlp", "--threads", "0");
  ck_assert_int_eq(bad.status, 2);
  ck_assert_ptr_nonnull(strstr(bad.err, "--threads"));
  run_free(&bad);
  run_result autot = GC("mlp", "--threads", "auto");
  ck_assert_int_eq(autot.status, 0);
  run_free(&autot);
}
END_TEST

/* ---- no allocation in the hot loops -------------------------------------- */

static size_t allocs_of_check(nnc_model *m, size_t samples, size_t threads)
{
  nnc_gradcheck_opts o;
  nnc_gradcheck_opts_init(&o);
  o.samples = samples;
  o.threads = threads;
  o.burn_in = 0;
  nnc_gradcheck_result *r = NULL;
  size_t before = count();
  int rc = nnc_gradcheck(m, &o, &r);
  size_t n = count() - before;
  ck_assert_msg(rc == NNC_OK && r->verdict == NNC_PASS, "%s",
                r ? r->error_msg : "no result");
  size_t checked = 0;
  for (size_t b = 0; b < r->nblocks; b++)
    checked += r->blocks[b].checked;
  nnc_gradcheck_free(r);
  ck_assert(checked > 0);
  return n;
}

/* A check of 10 coordinates per block and one of 60 per block (150 more in
 * all, each costing two or more evaluations, on 1 and on 2 threads) make
 * exactly as many allocations: checking a coordinate allocates nothing. */
START_TEST(no_allocation_per_coordinate)
{
  if (!NNC_COUNT_ALLOCS)
    return; /* the sanitizer owns malloc */
  char err[1024];
  nnc_model *m;
  ck_assert_msg(nnc_model_load("mlp", "reg=1e-3", &m, err, sizeof err) ==
                    NNC_OK,
                "%s", err);
  for (size_t threads = 1; threads <= 2; threads++) {
    allocs_of_check(m, 10, threads); /* warm-up: buffers sized */
    size_t few = allocs_of_check(m, 10, threads);
    size_t many = allocs_of_check(m, 60, threads);
    ck_assert_msg(few > 0, "the counting wrapper saw no allocation at all");
    /* serially the counts must be equal.  On threads, which worker first
     * meets a rarer path (a kink re-test, an escalation) depends on timing,
     * and a worker's first time there may allocate once, in either measured
     * check (the warm-up need not have sent every worker there): fewer extra
     * allocations than threads, never one per coordinate (checking 50 more
     * coordinates per block would add hundreds) */
    size_t apart = many >= few ? many - few : few - many;
    ck_assert_msg(apart < threads,
                  "threads=%zu: %zu allocations checking 10 coordinates per "
                  "block, %zu checking 60; last callers:%s",
                  threads, few, many, where());
  }
  nnc_model_close(m);
}
END_TEST

/* After two warm-up steps, N train steps (loss, backward, SGD update) make
 * no allocation, on shuffled and on in-order batches, double and float. */
START_TEST(no_allocation_per_train_step)
{
  if (!NNC_COUNT_ALLOCS)
    return;
  const char *args[] = {"layers=2,100,3 dtype=double",
                        "layers=2,100,3 dtype=float",
                        "layers=2,50,50,3 dropout=0.5"};
  for (size_t a = 0; a < 3; a++) {
    char err[1024];
    nnc_model *m;
    ck_assert_msg(nnc_model_load("mlp", args[a], &m, err, sizeof err) ==
                      NNC_OK,
                  "%s", err);
    nnc_sampler *smp;
    nnc_optim *opt;
    ck_assert(nnc_sampler_new(m, 32, 0, 1, &smp) == NNC_OK);
    ck_assert(nnc_optim_new(m, NULL, &opt) == NNC_OK);
    size_t win[32];
    nnc_batch in_order = {win, 32, NNC_SPLIT_TRAIN, 0};
    size_t before = 0;
    int ok = 1;
    for (int s = 0; s < 42; s++) {
      if (s == 2)
        before = count();
      const nnc_batch *b = nnc_sampler_next(smp, NULL);
      if (s % 2) {
        for (size_t j = 0; j < 32; j++)
          win[j] = (size_t)s * 7 % 200 + j;
        b = &in_order;
      }
      double L;
      /* no ck_assert in here: Check allocates to record each one */
      ok &= nnc_model_loss(m, b, (uint64_t)s, NNC_F_ALL | NNC_F_TRAIN, &L) ==
                NNC_OK &&
            nnc_model_backward(m) == NNC_OK && nnc_optim_step(opt, m) == NNC_OK;
    }
    size_t n = count() - before;
    ck_assert_msg(ok, "%s: a train step failed", args[a]);
    ck_assert_msg(n == 0, "%s: %zu allocations in 40 train steps; last "
                          "callers:%s",
                  args[a], n, where());
    nnc_optim_free(opt);
    nnc_sampler_free(smp);
    nnc_model_close(m);
  }
}
END_TEST

/* The reference net's loops for a few rows (at most four examples through
 * a layer of many weights: one pass over the weights, their sum of squares
 * in passing) against its GEMM path: the same examples repeated to more
 * than four rows have the same mean loss and the same gradients. */
START_TEST(few_rows_agree_with_the_product)
{
  const char *args[] = {"layers=80,64,64,5 D=80 K=5 N=40 reg=1e-2",
                        "layers=80,64,64,5 D=80 K=5 N=40 reg=1e-2 "
                        "dtype=float"};
  for (size_t a = 0; a < 2; a++) {
    double tol = a ? 2e-5 : 1e-12;
    nnc_model *m;
    char err[1024];
    ck_assert_msg(nnc_model_load("mlp", args[a], &m, err, sizeof err) ==
                      NNC_OK,
                  "%s", err);
    size_t nb = nnc_model_num_blocks(m);
    for (size_t n = 1; n <= 4; n++) {
      size_t idx[12], reps = (5 + n - 1) / n, big = n * reps;
      for (size_t k = 0; k < big; k++)
        idx[k] = 3 * (k % n) + 1;
      nnc_batch few = {idx, n, NNC_SPLIT_TRAIN, 0};
      nnc_batch many = {idx, big, NNC_SPLIT_TRAIN, 0};
      double L1, L2;
      ck_assert_int_eq(nnc_model_loss(m, &few, 7, NNC_F_ALL, &L1), NNC_OK);
      ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
      double *g = NULL;
      size_t total = 0;
      for (size_t b = 0; b < nb; b++)
        total += nnc_model_block(m, b)->count;
      g = malloc(total * sizeof *g);
      ck_assert_ptr_nonnull(g);
      for (size_t b = 0, o = 0; b < nb; b++)
        for (size_t i = 0; i < nnc_model_block(m, b)->count; i++)
          g[o++] = nnc_model_grad(m, b, i);
      ck_assert_int_eq(nnc_model_loss(m, &many, 7, NNC_F_ALL, &L2), NNC_OK);
      ck_assert_int_eq(nnc_model_backward(m), NNC_OK);
      ck_assert_msg(fabs(L1 - L2) <= tol * fabs(L2),
                    "%s, %zu examples: loss %.17g against %.17g over %zu rows",
                    args[a], n, L1, L2, big);
      double worst = 0, scale = 0;
      for (size_t b = 0, o = 0; b < nb; b++)
        for (size_t i = 0; i < nnc_model_block(m, b)->count; i++, o++) {
          double d = fabs(g[o] - nnc_model_grad(m, b, i));
          worst = d > worst ? d : worst;
          scale = fabs(g[o]) > scale ? fabs(g[o]) : scale;
        }
      ck_assert_msg(scale > 0 && worst <= tol * scale * 10,
                    "%s, %zu examples: gradients differ by %g (largest %g)",
                    args[a], n, worst, scale);
      free(g);
    }
    nnc_model_close(m);
  }
}
END_TEST

/* The mlp plugin's descriptor, by a dlopen of the file the loader resolves
 * (the handle is kept for the life of the test). */
static const nnc_plugin *mlp_descriptor(void)
{
  nnc_model *m;
  char err[1024];
  ck_assert_msg(nnc_model_load("mlp", NULL, &m, err, sizeof err) == NNC_OK,
                "%s", err);
  void *h = dlopen(nnc_model_path(m), RTLD_NOW | RTLD_LOCAL);
  ck_assert_msg(h != NULL, "%s", dlerror());
  nnc_model_close(m);
  nnc_plugin_entry_fn entry =
      (nnc_plugin_entry_fn)dlsym(h, NNC_PLUGIN_ENTRY_NAME);
  ck_assert_ptr_nonnull(entry);
  return entry();
}

static double elem_at(const void *p, int fl, size_t i)
{
  return fl ? ((const float *)p)[i] : ((const double *)p)[i];
}

/* The reference net's one-hidden-layer kernels (kernels=auto, where the
 * processor has AVX-512) against its OpenBLAS path (kernels=blas), double
 * and float: the same loss, gradients, ReLU decisions, activations and
 * their gradients, over hidden widths that end mid-vector and mid-word, a
 * word exactly and one unit, and the limits of inputs and classes; the
 * whole training split and a batch of odd size with repeats; biases moved
 * off 0, so that the decisions are not the weights' signs alone, but kept
 * at 0 for one unit, whose exact ties on the spiral's points at the origin
 * count in the first shape. */
START_TEST(mlp1_kernels_agree_with_blas)
{
  const nnc_plugin *d = mlp_descriptor();
  const char *shapes[] = {"layers=2,100,3", "layers=2,8,2 K=2",
                          "layers=3,7,4 D=3 K=4", "layers=4,130,5 D=4 K=5",
                          "layers=2,64,3", "layers=2,1,2 K=2"};
  for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
    for (int fl = 0; fl < 2; fl++)
      for (int b = 0; b < 2; b++) {
        double tol = fl ? 3e-5 : 1e-12, L[2];
        nnc_winners w[2];
        nnc_probe pr[2];
        void *self[2], *grads[2][4];
        size_t idx[5] = {4, 0, 4, 17, 30};
        nnc_batch odd = {idx, 5, NNC_SPLIT_TRAIN, 0};
        char what[160], err[1024];
        snprintf(what, sizeof what, "%s%s, %s", shapes[sh],
                 fl ? " float" : "", b ? "5 examples" : "the training split");
        for (int k = 0; k < 2; k++) {
          char args[256];
          snprintf(args, sizeof args, "%s N=37 val=0.1 reg=1e-2 kernels=%s%s",
                   shapes[sh], k ? "blas" : "auto", fl ? " dtype=float" : "");
          self[k] = d->create(args, err, sizeof err);
          ck_assert_msg(self[k] != NULL, "%s", err);
          ck_assert_uint_eq(d->num_blocks(self[k]), 4);
          for (size_t bl = 0; bl < 4; bl++) {
            nnc_block blk;
            memset(&blk, 0, sizeof blk);
            ck_assert_int_eq(d->get_block(self[k], bl, &blk), 0);
            grads[k][bl] = calloc(blk.count, 8);
            ck_assert_ptr_nonnull(grads[k][bl]);
            for (size_t i = 1; bl == 1 && i < blk.count; i++) {
              double v = 0.1 * sin(3.0 * (double)i + 1);
              if (fl)
                ((float *)blk.data)[i] = (float)v;
              else
                ((double *)blk.data)[i] = v;
            }
          }
          ck_assert_msg(d->loss(self[k], b ? &odd : NULL, 3, NNC_F_ALL, &L[k],
                                err, sizeof err) == 0,
                        "%s", err);
          ck_assert_int_eq(d->winners(self[k], &w[k]), 0);
          ck_assert_msg(d->backward(self[k], grads[k], err, sizeof err) == 0,
                        "%s", err);
          memset(&pr[k], 0, sizeof pr[k]);
          ck_assert_int_eq(d->probe(self[k], 0, &pr[k]), 0);
        }
        ck_assert_msg(fabs(L[0] - L[1]) <= tol * fabs(L[1]),
                      "%s: loss %.17g against %.17g", what, L[0], L[1]);
        ck_assert_msg(w[0].decisions == w[1].decisions &&
                          w[0].ties == w[1].ties && w[0].hash == w[1].hash &&
                          (b || sh || w[0].ties > 0),
                      "%s: decisions %llu/%llu ties %llu/%llu hash "
                      "%016llx/%016llx",
                      what, (unsigned long long)w[0].decisions,
                      (unsigned long long)w[1].decisions,
                      (unsigned long long)w[0].ties,
                      (unsigned long long)w[1].ties,
                      (unsigned long long)w[0].hash,
                      (unsigned long long)w[1].hash);
        for (size_t bl = 0; bl < 4; bl++) {
          nnc_block blk;
          memset(&blk, 0, sizeof blk);
          d->get_block(self[0], bl, &blk);
          double worst = 0, scale = 0;
          for (size_t i = 0; i < blk.count; i++) {
            double a = elem_at(grads[0][bl], fl, i);
            double c = elem_at(grads[1][bl], fl, i);
            worst = fabs(a - c) > worst ? fabs(a - c) : worst;
            scale = fabs(c) > scale ? fabs(c) : scale;
          }
          ck_assert_msg(scale > 0 && worst <= tol * scale * 10,
                        "%s: block %s differs by %g (largest %g)", what,
                        blk.name, worst, scale);
        }
        ck_assert_uint_eq(pr[0].count, pr[1].count);
        ck_assert_ptr_nonnull(pr[0].grad);
        for (size_t i = 0; i < pr[0].count; i++) {
          double v0 = elem_at(pr[0].value, fl, i);
          double v1 = elem_at(pr[1].value, fl, i);
          double g0 = elem_at(pr[0].grad, fl, i);
          double g1 = elem_at(pr[1].grad, fl, i);
          ck_assert_msg((v0 > 0) == (v1 > 0) &&
                            fabs(v0 - v1) <= tol * (1 + fabs(v1)) &&
                            fabs(g0 - g1) <= tol * (1e-3 + fabs(g1)),
                        "%s: unit value %zu: %g/%g, gradient %g/%g", what, i,
                        v0, v1, g0, g1);
        }
        for (int k = 0; k < 2; k++) {
          for (size_t bl = 0; bl < 4; bl++)
            free(grads[k][bl]);
          d->destroy(self[k]);
        }
      }
}
END_TEST

int main(void)
{
  const test_case cases[] = {
      {"threads_identical", threads_give_the_serial_report},
      {"threads_no_clone", no_clone_falls_back_with_a_note},
      {"few_rows", few_rows_agree_with_the_product},
      {"mlp1_kernels", mlp1_kernels_agree_with_blas},
      {"alloc_per_coordinate", no_allocation_per_coordinate},
      {"alloc_per_train_step", no_allocation_per_train_step},
  };
  return run_cases("perf", cases, sizeof cases / sizeof *cases, 600,
                   CK_ENV);
}
