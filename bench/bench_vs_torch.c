/* nncheck against what users would pick instead: PyTorch on the CPU.
 *
 * Times are CPU time of each process (CLOCK_PROCESS_CPUTIME_ID here,
 * time.process_time() there): on a shared, loaded machine, time the
 * scheduler gives to other processes is counted on neither side.
 *
 * In one run, on one machine, with one thread on each side (OpenBLAS for
 * the reference net, torch.set_num_threads(1) for PyTorch), pair by pair:
 * this program times nncheck, then asks bench/torch_bench.py (started once,
 * driven through a pipe) to time the same computation, and prints the
 * ratio torch time / nncheck time, median over the pairs.
 *
 *  - gradcheck, full: torch.autograd.gradcheck (float64, its defaults:
 *    every input element perturbed, numerical against analytical Jacobian)
 *    of the spiral MLP's loss (2 inputs, 100 hidden ReLU, 3 classes, mean
 *    softmax cross-entropy over 3 examples + L2) as a function of its 603
 *    parameters, against nncheck's gradcheck of the same function checking
 *    every coordinate (--samples 0 --part all --burn-in 0, audits on).
 *    Target: nncheck takes >= 50x less time.
 *  - gradcheck, projection: torch's fast_mode (one random projection)
 *    against nncheck's projection mode (--project: 4 probes per block).
 *    Target >= 10x.
 *  - train step (loss, backward, SGD update lr 1e-2) of the spiral MLP,
 *    batch 300, float64: target >= 10x; of 3072-100-10, batch 256, float32
 *    and float64 (GEMM-bound): target >= 1.1x.
 *
 * Same function: the C side writes the parameters (an nncheck checkpoint)
 * and the examples into a temporary directory; the Python side reads them,
 * and its loss must equal nncheck's to 1e-12, or the bench stops.  The
 * GEMM-bound steps use seeded random data of the same shapes on the torch
 * side (the time does not depend on the values).
 *
 * Beside the spiral step, the five OpenBLAS matrix products of the same
 * step (the cblas calls the reference net makes with kernels=blas, same
 * shapes, transposes and betas) are timed in the same pairs: torch time /
 * products time is the most a step through OpenBLAS could reach (an INFO
 * line).  The step itself runs the net's one-hidden-layer kernels where the
 * processor has AVX-512, so it can take less time than those products.
 *
 * Without python3-torch, the torch lines say "skipped: python3-torch not
 * installed" and do not fail the bench.  Exit 1 if a ratio misses its target.
 *
 *   make bench            (or: bench/bench_vs_torch [PAIRS])
 */
#include "config.h"

#include <nncheck/checkpoint.h>
#include <nncheck/nncheck.h>
#include <nncheck/train.h>

#include "../plugins/spiral.h"
#include "rng.h"

#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define GC_SEED 1
#define STREAM_BATCH 1 /* the stream nnc_model_select draws examples from */

static double now(void) { return bench_clock(CLOCK_PROCESS_CPUTIME_ID); }

/* Median seconds per call of fn over 3 runs of enough calls to last
 * min_time (as torch_bench.py's time_it). */
static double time_it(int (*fn)(void *), void *arg, double min_time)
{
  if (fn(arg))
    return -1;
  long n = 1;
  for (;;) {
    double a = now();
    for (long i = 0; i < n; i++)
      if (fn(arg))
        return -1;
    if (now() - a >= min_time)
      break;
    n *= 2;
  }
  double runs[3];
  for (int r = 0; r < 3; r++) {
    double a = now();
    for (long i = 0; i < n; i++)
      if (fn(arg))
        return -1;
    runs[r] = (now() - a) / (double)n;
  }
  return median(runs, 3);
}

/* ---- the torch side ------------------------------------------------------- */

typedef struct py {
  pid_t pid;
  FILE *in, *out;
  char banner[256];
} py;

static int py_start(py *p, const char *exe, const char *script,
                    const char *dir)
{
  int to[2], from[2];
  if (pipe(to) || pipe(from))
    return -1;
  p->pid = fork();
  if (p->pid < 0)
    return -1;
  if (p->pid == 0) {
    dup2(to[0], 0);
    dup2(from[1], 1);
    close(to[1]);
    close(from[0]);
    execlp(exe, exe, script, dir, "1", (char *)NULL);
    printf("skip %s could not be started\n", exe);
    fflush(stdout);
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  p->in = fdopen(to[1], "w");
  p->out = fdopen(from[0], "r");
  if (!p->in || !p->out || !fgets(p->banner, sizeof p->banner, p->out))
    snprintf(p->banner, sizeof p->banner, "skip no answer\n");
  p->banner[strcspn(p->banner, "\n")] = 0;
  return strncmp(p->banner, "ready", 5) ? -1 : 0;
}

static void py_stop(py *p)
{
  if (p->in) {
    fputs("quit\n", p->in);
    fclose(p->in);
  }
  if (p->out)
    fclose(p->out);
  if (p->pid > 0)
    waitpid(p->pid, NULL, 0);
  memset(p, 0, sizeof *p);
}

/* One command; the number after "ok", or NaN. */
static double py_ask(py *p, const char *cmd)
{
  char line[1024];
  fprintf(p->in, "%s\n", cmd);
  fflush(p->in);
  if (!fgets(line, sizeof line, p->out))
    return NAN;
  if (strncmp(line, "ok ", 3)) {
    fprintf(stderr, "bench_vs_torch: torch side, '%s': %s", cmd, line);
    return NAN;
  }
  return strtod(line + 3, NULL);
}

/* ---- the nncheck side ------------------------------------------------------ */

typedef struct gc_arg {
  nnc_model *m;
  nnc_gradcheck_opts o;
} gc_arg;

static int run_gc(void *a)
{
  gc_arg *g = a;
  nnc_gradcheck_result *r;
  int rc = nnc_gradcheck(g->m, &g->o, &r);
  int bad = rc != NNC_OK || r->verdict == NNC_FAIL;
  if (bad)
    fprintf(stderr, "bench_vs_torch: the check failed: %s\n", r->error_msg);
  nnc_gradcheck_free(r);
  return bad;
}

typedef struct step_arg {
  nnc_model *m;
  nnc_optim *opt;
  size_t *win, batch, n_train, k0;
  uint64_t seed;
} step_arg;

/* loss + backward + SGD on the next in-order window of the training split */
static int run_step(void *a)
{
  step_arg *s = a;
  if (s->k0 + s->batch > s->n_train)
    s->k0 = 0;
  for (size_t j = 0; j < s->batch; j++)
    s->win[j] = s->k0 + j;
  s->k0 += s->batch;
  nnc_batch b = {s->win, s->batch, NNC_SPLIT_TRAIN, 0};
  double L;
  int rc = nnc_model_loss(s->m, &b, s->seed++, NNC_F_ALL | NNC_F_TRAIN, &L);
  if (rc == NNC_OK)
    rc = nnc_model_backward(s->m);
  if (rc == NNC_OK)
    rc = nnc_optim_step(s->opt, s->m);
  if (rc != NNC_OK)
    fprintf(stderr, "bench_vs_torch: %s\n", nnc_model_error(s->m));
  return rc != NNC_OK;
}

static int step_new(step_arg *s, const char *args, size_t batch, char *err,
                    size_t errlen)
{
  memset(s, 0, sizeof *s);
  int rc = nnc_model_load("mlp", args, &s->m, err, errlen);
  if (rc != NNC_OK)
    return rc;
  nnc_net_info ni;
  nnc_model_net_info(s->m, &ni);
  s->n_train = ni.n_train;
  s->batch = batch;
  s->win = malloc(batch * sizeof *s->win);
  nnc_optim_opts oo;
  nnc_optim_opts_init(&oo, NNC_RULE_SGD);
  oo.lr = 1e-2;
  if (!s->win || batch > ni.n_train ||
      nnc_optim_new(s->m, &oo, &s->opt) != NNC_OK) {
    snprintf(err, errlen, "cannot set up a step of batch %zu", batch);
    return NNC_EARG;
  }
  s->seed = 1;
  return NNC_OK;
}

static void step_free(step_arg *s)
{
  nnc_optim_free(s->opt);
  nnc_model_close(s->m);
  free(s->win);
}

/* The spiral step's products: forward x.W1 (beta 0: the bias comes with
 * the ReLU) and h.W2 (beta 1 over the bias), backward dW2 = h^T.dS (beta 1
 * over reg W2), dh = dS.W2^T and dW1 = x^T.dh (beta 1 over reg W1). */
enum { PB = 300, PD = 2, PH = 100, PK = 3 };
typedef struct prod_bufs {
  double x[PB * PD], W1[PD * PH], h[PB * PH], W2[PH * PK], s[PB * PK];
  double dS[PB * PK], dW2[PH * PK], dh[PB * PH], dW1[PD * PH];
} prod_bufs;

static int run_products(void *a)
{
  prod_bufs *p = a;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PB, PH, PD, 1, p->x,
              PD, p->W1, PH, 0, p->h, PH);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PB, PK, PH, 1, p->h,
              PH, p->W2, PK, 1, p->s, PK);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, PH, PK, PB, 1, p->h,
              PH, p->dS, PK, 1, p->dW2, PK);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, PB, PH, PK, 1, p->dS,
              PK, p->W2, PK, 0, p->dh, PH);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, PD, PH, PB, 1, p->x,
              PD, p->dh, PH, 1, p->dW1, PH);
  return 0;
}

static prod_bufs *prod_new(void)
{
  prod_bufs *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  double *all = (double *)p;
  for (size_t i = 0; i < sizeof *p / sizeof *all; i++)
    all[i] = 0.01 * (double)(i % 97) - 0.3;
  return p;
}

/* The 3 checked examples and the 300 training examples, for torch. */
static int write_data(const char *path)
{
  enum { K = 3, N = 100, D = 2 };
  double *x = malloc(K * N * D * sizeof *x);
  int32_t *y = malloc(K * N * sizeof *y);
  FILE *f = fopen(path, "wb");
  if (!x || !y || !f || spiral_make(K, N, D, 0, x, y)) {
    free(x);
    free(y);
    if (f)
      fclose(f);
    return -1;
  }
  size_t sel[3];
  nnc_rng r;
  nnc_rng_init(&r, GC_SEED, STREAM_BATCH);
  nnc_rng_choose(&r, K * N, 3, sel);
  uint32_t n = 3;
  fwrite(&n, 4, 1, f);
  for (int k = 0; k < 3; k++)
    fwrite(x + sel[k] * D, sizeof *x, D, f);
  for (int k = 0; k < 3; k++)
    fwrite(y + sel[k], sizeof *y, 1, f);
  n = K * N;
  fwrite(&n, 4, 1, f);
  fwrite(x, sizeof *x, (size_t)K * N * D, f);
  fwrite(y, sizeof *y, (size_t)K * N, f);
  free(x);
  free(y);
  return fclose(f) ? -1 : 0;
}

/* ---- the table ---------------------------------------------------------------- */

typedef struct row {
  const char *name, *what, *torch_cmd;
  double target;
  double c, t, ratio; /* medians */
  int skipped;
} row;

static int missed;

static void print_row(const row *r)
{
  if (r->skipped) {
    printf("%-22s %-44s skipped: python3-torch not installed\n", r->name,
           r->what);
    printf("RESULT %s skipped %.2f SKIP\n", r->name, r->target);
    return;
  }
  int ok = r->ratio >= r->target;
  missed |= !ok;
  printf("%-22s %-44s %10.4f %10.4f %8.2fx  >= %.1fx %s\n", r->name, r->what,
         1e3 * r->c, 1e3 * r->t, r->ratio, r->target, ok ? "met" : "MISSED");
  printf("RESULT %s %.4g %.2f %s\n", r->name, r->ratio, r->target,
         ok ? "PASS" : "MISS");
}

int main(int argc, char **argv)
{
  int pairs = argc > 1 ? atoi(argv[1]) : 5;
  if (pairs < 1)
    pairs = 1;
  char path[1280], err[1024];
  const char *tmp = getenv("TMPDIR");
  char tdir[1024];
  snprintf(tdir, sizeof tdir, "%s/nncheck-vs-torch-XXXXXX",
           tmp && tmp[0] ? tmp : P_tmpdir);
  char *d = mkdtemp(tdir);
  if (!d) {
    perror("bench_vs_torch: mkdtemp");
    return 2;
  }
  const char *small = "layers=2,100,3 val=0 threads=1";
  nnc_model *m;
  int rc = nnc_model_load("mlp", small, &m, err, sizeof err);
  if (rc != NNC_OK) {
    fprintf(stderr, "bench_vs_torch: %s\n", err);
    return 2;
  }
  snprintf(path, sizeof path, "%s/params.ckpt", d);
  if (nnc_checkpoint_write(m, path, NULL, err, sizeof err) != NNC_OK) {
    fprintf(stderr, "bench_vs_torch: %s\n", err);
    return 2;
  }
  snprintf(path, sizeof path, "%s/data.f64", d);
  if (write_data(path)) {
    fprintf(stderr, "bench_vs_torch: cannot write %s\n", path);
    return 2;
  }
  /* the torch side: bench/torch_bench.py next to this program's sources */
  const char *srcdir = getenv("NNC_SRCDIR");
  char script[1024];
  snprintf(script, sizeof script, "%s/bench/torch_bench.py",
           srcdir ? srcdir : ".");
  const char *pys[3] = {getenv("NNC_PYTHON"), "python3", "/usr/bin/python3"};
  py p;
  memset(&p, 0, sizeof p);
  int have_torch = 0;
  for (int i = 0; i < 3 && !have_torch; i++) {
    if (!pys[i])
      continue;
    if (py_start(&p, pys[i], script, d) == 0)
      have_torch = 1;
    else
      py_stop(&p);
  }

  /* the same function on both sides */
  nnc_gradcheck_opts full;
  nnc_gradcheck_opts_init(&full);
  full.seed = GC_SEED;
  full.samples = 0;
  full.part = NNC_F_ALL;
  full.burn_in = 0;
  nnc_gradcheck_opts proj = full;
  proj.project = 1;
  if ((rc = nnc_model_select(m, 3, GC_SEED)) != NNC_OK) {
    fprintf(stderr, "bench_vs_torch: %s\n", nnc_model_error(m));
    return 2;
  }
  double Lc = NAN;
  nnc_model_loss(m, NULL, GC_SEED, NNC_F_ALL, &Lc);
  printf("nncheck against PyTorch, one thread each, ratio = torch time / "
         "nncheck time (process CPU time), median of %d interleaved pairs\n",
         pairs);
  if (have_torch) {
    double Lt = py_ask(&p, "loss");
    printf("%s; spiral MLP loss on the 3 checked examples: nncheck %.17g, "
           "torch %.17g\n",
           p.banner, Lc, Lt);
    if (!(fabs(Lt - Lc) <= 1e-12 * fabs(Lc))) {
      fprintf(stderr, "bench_vs_torch: the two sides do not compute the same "
                      "function\n");
      py_stop(&p);
      return 2;
    }
  }
  printf("\n%-22s %-44s %10s %10s %9s %9s\n", "pair", "compared", "nncheck ms",
         "torch ms", "ratio", "target");

  row rows[5] = {
      {"gradcheck_full", "every coordinate vs gradcheck()", "gradcheck full",
       50, 0, 0, 0, 0},
      {"gradcheck_projection", "--project vs gradcheck(fast_mode=True)",
       "gradcheck fast", 10, 0, 0, 0, 0},
      {"train_step_spiral_f64", "step 2-100-3, batch 300, double",
       "step small", 10, 0, 0, 0, 0},
      {"train_step_gemm_f32", "step 3072-100-10, batch 256, float",
       "step big32", 1.1, 0, 0, 0, 0},
      {"train_step_gemm_f64", "step 3072-100-10, batch 256, double",
       "step big64", 1.1, 0, 0, 0, 0},
  };
  step_arg steps[3];
  const char *step_args[3] = {
      small, "layers=3072,100,10 D=3072 K=10 N=128 dtype=float threads=1",
      "layers=3072,100,10 D=3072 K=10 N=128 dtype=double threads=1"};
  size_t step_batch[3] = {300, 256, 256};
  for (int i = 0; i < 3; i++)
    if (step_new(&steps[i], step_args[i], step_batch[i], err, sizeof err)) {
      fprintf(stderr, "bench_vs_torch: %s\n", err);
      return 2;
    }
  gc_arg ga = {m, full}, gp = {m, proj};
  prod_bufs *pb = prod_new();
  double *pq = malloc((size_t)pairs * sizeof *pq);
  double *pc = malloc((size_t)pairs * sizeof *pc);
  if (!pb || !pq || !pc)
    return 2;
  for (int k = 0; k < 5; k++) {
    double *c = malloc((size_t)pairs * sizeof *c);
    double *t = malloc((size_t)pairs * sizeof *t);
    double *q = malloc((size_t)pairs * sizeof *q);
    for (int r = 0; r < pairs; r++) {
      if (k == 0)
        c[r] = time_it(run_gc, &ga, 0.2);
      else if (k == 1)
        c[r] = time_it(run_gc, &gp, 0.2);
      else
        c[r] = time_it(run_step, &steps[k - 2], 0.1);
      if (c[r] < 0)
        return 2;
      if (k == 2)
        pc[r] = time_it(run_products, pb, 0.1);
      t[r] = have_torch ? py_ask(&p, rows[k].torch_cmd) : NAN;
      q[r] = t[r] / c[r];
      if (k == 2)
        pq[r] = t[r] / pc[r];
    }
    rows[k].c = median(c, pairs);
    rows[k].skipped = !have_torch;
    if (have_torch) {
      rows[k].t = median(t, pairs);
      rows[k].ratio = median(q, pairs);
      if (isnan(rows[k].ratio))
        return 2;
    }
    print_row(&rows[k]);
    if (k == 2) {
      printf("  the same step's five OpenBLAS products alone: %.4f ms "
             "(%.0f%% of the step)",
             1e3 * median(pc, pairs), 100 * median(pc, pairs) / rows[k].c);
      if (have_torch) {
        double pm = median(pq, pairs);
        printf("; torch / products alone: %.2fx, the most a step through "
               "OpenBLAS could reach\n",
               pm);
        printf("RESULT train_step_spiral_products_ceiling %.4g - INFO\n", pm);
      } else {
        printf("\n");
      }
    }
    fflush(stdout);
    free(c);
    free(t);
    free(q);
  }
  for (int i = 0; i < 3; i++)
    step_free(&steps[i]);
  free(pb);
  free(pq);
  free(pc);
  if (have_torch)
    py_stop(&p);
  nnc_model_close(m);
  snprintf(path, sizeof path, "%s/params.ckpt", d);
  remove(path);
  snprintf(path, sizeof path, "%s/data.f64", d);
  remove(path);
  rmdir(d);
  return missed ? 1 : 0;
}
