/* The update rules of the notes' "Parameter updates", their per-block state,
 * and snapshots of that state and of a model's parameters.
 *
 * Every rule reads the stored value and the gradient as double, computes the
 * new value in double and stores it back in the block's element type.  The
 * update:weight ratio is taken from what was stored, so a float block whose
 * update rounds away reports the 0 it really got.  A layer model's "input"
 * block is data, not a parameter: no rule ever touches it. */
#include "config.h"
#include "model.h"
#include "hot.h"
#include "optim_internal.h"
#include <nncheck/train.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if NNCI_X86
#include <immintrin.h>
#endif

static const char *const rule_names[] = {"sgd",     "momentum", "nesterov",
                                         "adagrad", "rmsprop",  "adam"};
#define NRULES ((int)(sizeof rule_names / sizeof *rule_names))

const char *nnc_rule_name(int rule)
{
  return rule >= 0 && rule < NRULES ? rule_names[rule] : "unknown";
}

int nnc_rule_parse(const char *name)
{
  for (int i = 0; name && i < NRULES; i++)
    if (!strcmp(name, rule_names[i]))
      return i;
  return -1;
}

void nnc_optim_opts_init(nnc_optim_opts *o, int rule)
{
  memset(o, 0, sizeof *o);
  o->rule = rule;
  o->lr = rule == NNC_RULE_ADAM ? 1e-3 : 1e-2;
  o->mu = 0.9;
  o->decay = 0.99;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
}

struct nnc_optim {
  nnc_optim_opts o;
  size_t nb;        /* blocks the rules update: the model's, "input" excluded */
  size_t *count;    /* their element counts, to refuse another model */
  double **s1;      /* velocity (momentum, Nesterov), cache (Adagrad,
                       RMSprop) or first moment (Adam); NULL until needed */
  double **s2;      /* Adam's second moment; NULL until needed */
  double *ratio;    /* |dw|/|w| of the last step, per block */
  size_t t;         /* steps taken */
};

struct nnc_optim_state {
  nnc_optim_opts o;
  size_t nb, t;
  size_t *count;
  double **s1, **s2; /* NULL where the optimizer had none */
  double *ratio;
};

/* The blocks a rule updates: a layer's "input" is the last block and is
 * excluded; a net's blocks are all parameters, whatever their names. */
static size_t trained_blocks(const nnc_model *m)
{
  return m->d.kind == NNC_KIND_LAYER ? m->nparam : m->nblocks;
}

static void free_arrays(double **a, size_t nb)
{
  if (!a)
    return;
  for (size_t b = 0; b < nb; b++)
    free(a[b]);
  free(a);
}

int nnc_optim_new(nnc_model *m, const nnc_optim_opts *o, nnc_optim **out)
{
  *out = NULL;
  nnc_optim_opts def;
  if (!o) {
    nnc_optim_opts_init(&def, NNC_RULE_SGD);
    o = &def;
  }
  if (o->rule < 0 || o->rule >= NRULES)
    return nnci_fail(m, NNC_EARG, "unknown update rule %d", o->rule);
  nnc_optim *p = calloc(1, sizeof *p);
  if (!p)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  p->o = *o;
  p->nb = trained_blocks(m);
  size_t nb1 = p->nb + 1; /* no zero-size allocations */
  p->count = calloc(nb1, sizeof *p->count);
  p->s1 = calloc(nb1, sizeof *p->s1);
  p->s2 = calloc(nb1, sizeof *p->s2);
  p->ratio = calloc(nb1, sizeof *p->ratio);
  if (!p->count || !p->s1 || !p->s2 || !p->ratio) {
    nnc_optim_free(p);
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  }
  for (size_t b = 0; b < p->nb; b++)
    p->count[b] = m->blocks[b].count;
  *out = p;
  return NNC_OK;
}

void nnc_optim_free(nnc_optim *opt)
{
  if (!opt)
    return;
  free_arrays(opt->s1, opt->nb);
  free_arrays(opt->s2, opt->nb);
  free(opt->count);
  free(opt->ratio);
  free(opt);
}

nnc_optim_opts *nnc_optim_options(nnc_optim *opt) { return &opt->o; }

double nnc_optim_ratio(const nnc_optim *opt, size_t block)
{
  return block < opt->nb ? opt->ratio[block] : 0.0;
}

size_t nnc_optim_steps(const nnc_optim *opt) { return opt->t; }

/* ---- the rules -------------------------------------------------------------
 * One pass per block and rule, specialised by element type and vector width
 * (lib/optim_kernel.h): the coefficients live in locals, so stores into the
 * parameters cannot make the compiler reload them, and the loop carries no
 * rule switch.  The update and both sums of the ratio are one pass.
 *
 * The sums are OPT_LANES independent partial sums, lane j taking the
 * elements i = j mod OPT_LANES, added up at the end in a fixed tree: one sum
 * would chain every element's addition to the last and make the pass
 * latency-bound; a fixed order keeps the ratio reproducible.  On x86-64 the
 * loop is built for AVX2 (4 doubles a step) beside the baseline's SSE2 (2)
 * and the CPU picks; the element-type conversions are spelled with
 * intrinsics, which GCC turns into one instruction where its generic vector
 * conversion takes several.  Elsewhere a portable version computes one
 * element at a time.  All of them give the same bits. */
typedef struct coefs {
  int rule;
  double lr, mu, decay, b1, b2, eps;
  double bc1, bc2; /* Adam's bias corrections 1 - beta^t */
} coefs;

#define OPT_LANES 8

static double lanes_sum(const double *l)
{
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

static double put1_f32(float *p, double v)
{
  *p = (float)v;
  return (double)*p;
}

static double put1_f64(double *p, double v)
{
  *p = v;
  return v;
}

#if NNCI_X86
#define AVX2 __attribute__((target("avx2")))

/* 2 floats <-> 2 doubles (SSE2) and 4 <-> 4 (AVX) */
static __m128d get2_f32(const float *p)
{
  return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p)));
}

static __m128d put2_f32(float *p, __m128d v)
{
  __m128 f = _mm_cvtpd_ps(v);
  _mm_storel_epi64((__m128i *)p, _mm_castps_si128(f));
  return _mm_cvtps_pd(f);
}

static __m128d put2_f64(double *p, __m128d v)
{
  _mm_storeu_pd(p, v);
  return v;
}

AVX2 static __m256d get4_f32(const float *p)
{
  return _mm256_cvtps_pd(_mm_loadu_ps(p));
}

AVX2 static __m256d put4_f32(float *p, __m256d v)
{
  __m128 f = _mm256_cvtpd_ps(v);
  _mm_storeu_ps(p, f);
  return _mm256_cvtps_pd(f);
}

AVX2 static __m256d put4_f64(double *p, __m256d v)
{
  _mm256_storeu_pd(p, v);
  return v;
}

#define K_NAME step_f32_sse2
#define K_ATTR
#define K_T float
#define K_V __m128d
#define K_W 2
#define K_LOADX get2_f32
#define K_STOREX put2_f32
#define K_STORE1 put1_f32
#define K_LOADS _mm_loadu_pd
#define K_STORES _mm_storeu_pd
#define K_SQRT _mm_sqrt_pd
#include "optim_kernel.h"

#define K_NAME step_f64_sse2
#define K_ATTR
#define K_T double
#define K_V __m128d
#define K_W 2
#define K_LOADX _mm_loadu_pd
#define K_STOREX put2_f64
#define K_STORE1 put1_f64
#define K_LOADS _mm_loadu_pd
#define K_STORES _mm_storeu_pd
#define K_SQRT _mm_sqrt_pd
#include "optim_kernel.h"

#define K_NAME step_f32_avx2
#define K_ATTR AVX2
#define K_T float
#define K_V __m256d
#define K_W 4
#define K_LOADX get4_f32
#define K_STOREX put4_f32
#define K_STORE1 put1_f32
#define K_LOADS _mm256_loadu_pd
#define K_STORES _mm256_storeu_pd
#define K_SQRT _mm256_sqrt_pd
#include "optim_kernel.h"

#define K_NAME step_f64_avx2
#define K_ATTR AVX2
#define K_T double
#define K_V __m256d
#define K_W 4
#define K_LOADX _mm256_loadu_pd
#define K_STOREX put4_f64
#define K_STORE1 put1_f64
#define K_LOADS _mm256_loadu_pd
#define K_STORES _mm256_storeu_pd
#define K_SQRT _mm256_sqrt_pd
#include "optim_kernel.h"

static void step_f32(float *x, const float *g, double *s1, double *s2,
                     size_t n, const coefs *k, double *sum_d, double *sum_w)
{
  if (__builtin_cpu_supports("avx2"))
    step_f32_avx2(x, g, s1, s2, n, k, sum_d, sum_w);
  else
    step_f32_sse2(x, g, s1, s2, n, k, sum_d, sum_w);
}

static void step_f64(double *x, const double *g, double *s1, double *s2,
                     size_t n, const coefs *k, double *sum_d, double *sum_w)
{
  if (__builtin_cpu_supports("avx2"))
    step_f64_avx2(x, g, s1, s2, n, k, sum_d, sum_w);
  else
    step_f64_sse2(x, g, s1, s2, n, k, sum_d, sum_w);
}
#undef AVX2

#else /* portable: one element at a time, in the same lanes */

#define K_NAME step_f32
#define K_ATTR
#define K_T float
#define K_V double
#define K_W 1
#define K_LOADX(p) ((double)*(p))
#define K_STOREX put1_f32
#define K_STORE1 put1_f32
#define K_LOADS(p) (*(p))
#define K_STORES(p, v) (*(p) = (v))
#define K_SQRT sqrt
#include "optim_kernel.h"

#define K_NAME step_f64
#define K_ATTR
#define K_T double
#define K_V double
#define K_W 1
#define K_LOADX(p) (*(p))
#define K_STOREX put1_f64
#define K_STORE1 put1_f64
#define K_LOADS(p) (*(p))
#define K_STORES(p, v) (*(p) = (v))
#define K_SQRT sqrt
#include "optim_kernel.h"
#endif

static int check_opts(nnc_model *m, const nnc_optim_opts *o)
{
  if (o->rule < 0 || o->rule >= NRULES)
    return nnci_fail(m, NNC_EARG, "unknown update rule %d", o->rule);
  if (!isfinite(o->lr) || !isfinite(o->mu))
    return nnci_fail(m, NNC_EARG, "lr=%g mu=%g: both must be finite", o->lr,
                     o->mu);
  if (!(o->decay >= 0 && o->decay <= 1))
    return nnci_fail(m, NNC_EARG, "decay=%g: accepted values are in [0, 1]",
                     o->decay);
  if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
    return nnci_fail(m, NNC_EARG,
                     "beta1=%g beta2=%g: accepted values are in [0, 1)",
                     o->beta1, o->beta2);
  if (!(o->eps >= 0) || !isfinite(o->eps))
    return nnci_fail(m, NNC_EARG, "eps=%g: accepted values are >= 0", o->eps);
  return NNC_OK;
}

static int same_shape(nnc_model *m, size_t nb, const size_t *count)
{
  if (trained_blocks(m) != nb)
    return nnci_fail(m, NNC_EARG,
                     "the optimizer state was made for %zu blocks, the model "
                     "has %zu",
                     nb, trained_blocks(m));
  for (size_t b = 0; b < nb; b++)
    if (m->blocks[b].count != count[b])
      return nnci_fail(m, NNC_EARG,
                       "block '%s' has %zu elements, the optimizer state %zu",
                       m->blocks[b].name, m->blocks[b].count, count[b]);
  return NNC_OK;
}

/* State arrays appear on the first step of a rule that needs them, zeroed:
 * a rule changed between steps starts its state from zero. */
static int ensure_state(nnc_model *m, nnc_optim *opt, int rule)
{
  int need1 = rule != NNC_RULE_SGD, need2 = rule == NNC_RULE_ADAM;
  for (size_t b = 0; b < opt->nb; b++) {
    if (need1 && !opt->s1[b] &&
        !(opt->s1[b] = calloc(opt->count[b], sizeof **opt->s1)))
      return nnci_fail(m, NNC_ENOMEM, "out of memory for the optimizer state");
    if (need2 && !opt->s2[b] &&
        !(opt->s2[b] = calloc(opt->count[b], sizeof **opt->s2)))
      return nnci_fail(m, NNC_ENOMEM, "out of memory for the optimizer state");
  }
  return NNC_OK;
}

int nnc_optim_step(nnc_optim *opt, nnc_model *m)
{
  int rc = check_opts(m, &opt->o);
  if (rc == NNC_OK)
    rc = same_shape(m, opt->nb, opt->count);
  if (rc == NNC_OK)
    rc = ensure_state(m, opt, opt->o.rule);
  if (rc != NNC_OK)
    return rc;
  opt->t++;
  coefs k = {opt->o.rule, opt->o.lr,    opt->o.mu,  opt->o.decay,
             opt->o.beta1, opt->o.beta2, opt->o.eps, 1.0, 1.0};
  if (k.rule == NNC_RULE_ADAM) {
    k.bc1 = 1 - pow(k.b1, (double)opt->t);
    k.bc2 = 1 - pow(k.b2, (double)opt->t);
  }
  for (size_t b = 0; b < opt->nb; b++) {
    nnc_block *blk = &m->blocks[b];
    double sd, sw;
    if (blk->dtype == NNC_F32)
      step_f32(blk->data, m->grads[b], opt->s1[b], opt->s2[b], blk->count, &k,
               &sd, &sw);
    else
      step_f64(blk->data, m->grads[b], opt->s1[b], opt->s2[b], blk->count, &k,
               &sd, &sw);
    opt->ratio[b] = sw > 0 ? sqrt(sd) / sqrt(sw) : sd > 0 ? INFINITY : 0.0;
  }
  /* The parameters moved: the last loss no longer describes them. */
  m->have_loss = 0;
  return NNC_OK;
}

/* ---- snapshots ----------------------------------------------------------- */

static double **copy_arrays(double *const *src, const size_t *count, size_t nb,
                            int *oom)
{
  double **dst = calloc(nb + 1, sizeof *dst);
  if (!dst) {
    *oom = 1;
    return NULL;
  }
  for (size_t b = 0; b < nb; b++) {
    if (!src[b])
      continue;
    dst[b] = malloc(count[b] * sizeof **dst);
    if (!dst[b]) {
      *oom = 1;
      return dst;
    }
    memcpy(dst[b], src[b], count[b] * sizeof **dst);
  }
  return dst;
}

void nnc_optim_state_free(nnc_optim_state *st)
{
  if (!st)
    return;
  free_arrays(st->s1, st->nb);
  free_arrays(st->s2, st->nb);
  free(st->count);
  free(st->ratio);
  free(st);
}

int nnc_optim_save(const nnc_optim *opt, nnc_optim_state **out)
{
  *out = NULL;
  nnc_optim_state *st = calloc(1, sizeof *st);
  if (!st)
    return NNC_ENOMEM;
  int oom = 0;
  st->o = opt->o;
  st->nb = opt->nb;
  st->t = opt->t;
  st->count = malloc((opt->nb + 1) * sizeof *st->count);
  st->ratio = malloc((opt->nb + 1) * sizeof *st->ratio);
  st->s1 = copy_arrays(opt->s1, opt->count, opt->nb, &oom);
  st->s2 = copy_arrays(opt->s2, opt->count, opt->nb, &oom);
  if (oom || !st->count || !st->ratio) {
    nnc_optim_state_free(st);
    return NNC_ENOMEM;
  }
  memcpy(st->count, opt->count, opt->nb * sizeof *st->count);
  memcpy(st->ratio, opt->ratio, opt->nb * sizeof *st->ratio);
  *out = st;
  return NNC_OK;
}

static int restore_arrays(double **dst, double *const *src, const size_t *count,
                          size_t nb)
{
  for (size_t b = 0; b < nb; b++) {
    if (!src[b]) { /* the state had none: the lazy allocation re-zeroes */
      free(dst[b]);
      dst[b] = NULL;
      continue;
    }
    if (!dst[b] && !(dst[b] = malloc(count[b] * sizeof **dst)))
      return NNC_ENOMEM;
    memcpy(dst[b], src[b], count[b] * sizeof **dst);
  }
  return NNC_OK;
}

int nnc_optim_restore(nnc_optim *opt, const nnc_optim_state *st)
{
  if (st->nb != opt->nb)
    return NNC_EARG;
  for (size_t b = 0; b < st->nb; b++)
    if (st->count[b] != opt->count[b])
      return NNC_EARG;
  if (restore_arrays(opt->s1, st->s1, st->count, st->nb) != NNC_OK ||
      restore_arrays(opt->s2, st->s2, st->count, st->nb) != NNC_OK)
    return NNC_ENOMEM;
  opt->o = st->o;
  opt->t = st->t;
  memcpy(opt->ratio, st->ratio, st->nb * sizeof *opt->ratio);
  return NNC_OK;
}

struct nnc_params {
  size_t nb;
  size_t *count;
  uint32_t *dtype;
  void **data; /* raw bytes of every block, "input" included */
};

void nnc_params_free(nnc_params *p)
{
  if (!p)
    return;
  for (size_t b = 0; p->data && b < p->nb; b++)
    free(p->data[b]);
  free(p->data);
  free(p->count);
  free(p->dtype);
  free(p);
}

int nnc_params_save(const nnc_model *m, nnc_params **out)
{
  *out = NULL;
  nnc_params *p = calloc(1, sizeof *p);
  if (!p)
    return NNC_ENOMEM;
  p->nb = m->nblocks;
  p->count = calloc(p->nb + 1, sizeof *p->count);
  p->dtype = calloc(p->nb + 1, sizeof *p->dtype);
  p->data = calloc(p->nb + 1, sizeof *p->data);
  if (!p->count || !p->dtype || !p->data) {
    nnc_params_free(p);
    return NNC_ENOMEM;
  }
  for (size_t b = 0; b < p->nb; b++) {
    const nnc_block *blk = &m->blocks[b];
    size_t bytes = blk->count * nnci_dtype_size(blk->dtype);
    p->count[b] = blk->count;
    p->dtype[b] = blk->dtype;
    if (!(p->data[b] = malloc(bytes))) {
      nnc_params_free(p);
      return NNC_ENOMEM;
    }
    memcpy(p->data[b], blk->data, bytes);
  }
  *out = p;
  return NNC_OK;
}

int nnc_params_restore(nnc_model *m, const nnc_params *p)
{
  if (p->nb != m->nblocks)
    return nnci_fail(m, NNC_EARG,
                     "the snapshot holds %zu blocks, the model has %zu", p->nb,
                     m->nblocks);
  for (size_t b = 0; b < p->nb; b++)
    if (p->count[b] != m->blocks[b].count || p->dtype[b] != m->blocks[b].dtype)
      return nnci_fail(m, NNC_EARG,
                       "block '%s' is %zu %s elements, the snapshot's %zu %s",
                       m->blocks[b].name, m->blocks[b].count,
                       nnci_dtype_name(m->blocks[b].dtype), p->count[b],
                       nnci_dtype_name(p->dtype[b]));
  for (size_t b = 0; b < p->nb; b++)
    memcpy(m->blocks[b].data, p->data[b],
           p->count[b] * nnci_dtype_size(p->dtype[b]));
  m->have_loss = 0;
  return NNC_OK;
}

/* ---- state arrays, for checkpoints of a run (optim_internal.h) ----------- */

size_t nnci_optim_nblocks(const nnc_optim *opt) { return opt->nb; }

double *nnci_optim_state(nnc_optim *opt, size_t b, int which, int make)
{
  if (b >= opt->nb || (which != 1 && which != 2))
    return NULL;
  double **a = which == 1 ? opt->s1 : opt->s2;
  if (!a[b] && make)
    a[b] = calloc(opt->count[b], sizeof **a);
  return a[b];
}

void nnci_optim_set_steps(nnc_optim *opt, size_t t) { opt->t = t; }
