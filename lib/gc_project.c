/* Projection mode: every coordinate of a block at once.
 *
 * Per block (never one pooled direction across blocks, where a small block
 * drowns), K random sign-sensitive probes v (Rademacher, seeded) compare the
 * analytic g.v with the directional difference (f(x+tv) - f(x-tv)) / 2t.  On
 * a mismatch, group testing: the block's coordinates are halved and each
 * half probed alone, recursing into the halves that still disagree, down to
 * single coordinates, which then get a full coordinate check.  One bad
 * coordinate in N costs O(K + log N) probes.
 *
 * Cost.  A probe moves every coordinate of its span twice, and where a
 * forward does little more than read the weights (a net on a few examples)
 * writing a block of 10^6 costs about as much as an evaluation.  So each
 * move is one streaming pass, the least there is: the block is copied once
 * (x0); a probe writes x+ = x0 + t v from the copy, then x- = x+ - 2t v in
 * place, summing g.(x+ - x-) on the way; the block goes back to x0 with one
 * copy when another span is probed, before a coordinate check and at the
 * end.  The spans are contiguous (the block, then halves of halves): no
 * index arrays.  Signs are bits, 64 per draw, turned into steps four at a
 * time through a table; sums run in vector lanes in a fixed order, so the
 * same seed gives the same bits.  The analytic side takes the steps as
 * stored, x+ - x-, so both sides see the direction the plugin saw; its
 * midpoint is x0 to within a rounding of x0. */
#include "config.h"
#include "gc_internal.h"
#include "rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { STREAM_PROBE = 31 };
#define MAX_FOUND 8   /* bad coordinates reported per block */

typedef struct probe {
  double ad;      /* analytic directional derivative g.v */
  double fd;      /* finite difference along v (Richardson when escalated) */
  double t;       /* step */
  double noise;   /* modelled round-off of fd */
  double errbar;  /* escalated: truncation + round-off + the analytic's own
                     rounding */
  int kink;
  int mismatch;   /* g.v outside the error bar of the difference */
  uint32_t evals;
} probe;

/* A probed range: coordinates [lo, lo + n) of the block, the whole block or
 * a half of bisection. */
typedef struct span {
  size_t lo, n;
  double ss;   /* sum of squares of its values at the base point */
  double g2;   /* sum of squares of its analytic gradient */
} span;

typedef struct search {
  gc_ctx *c;       /* the check */
  size_t b;        /* the block */
  nnc_gc_block *gb; /* its entry in the result */
  nnc_rng rng;     /* the signs of its probes, in the order drawn */
  size_t found;    /* bad coordinates named so far */
  uint64_t *bits;  /* a probe's signs: bit j of word w is coordinate
                      64 w + j of the probed span, 1 for +1, 0 for -1 */
  void *data;      /* the block's values, as the plugin reads them */
  const void *x0;  /* their copy at the base point (c->scratch) */
  uint32_t dt;     /* the block's element type */
  size_t es;       /* its element size */
  size_t dirty_lo, dirty_n; /* the span whose values differ from x0 */
} search;

/* Signs as bits, 64 per draw: a probe of N coordinates costs N/64 draws. */
static void draw_signs(nnc_rng *rng, uint64_t *bits, size_t n)
{
  for (size_t w = 0; w < (n + 63) / 64; w++)
    bits[w] = nnc_rng_u64(rng);
}

/* The steps of four coordinates from four sign bits q: tab[q][j] is +t when
 * bit j of q is set, else -t.  A pass then reads one row per four
 * coordinates and adds, with no branch and no conversion per element. */
typedef double steps[16][4];

static void make_steps(steps tab, double t)
{
  for (int q = 0; q < 16; q++)
    for (int j = 0; j < 4; j++)
      tab[q][j] = (q >> j) & 1 ? t : -t;
}

/* Two coordinates at a time, computed in double whatever the element type
 * (the steps are doubles: a float32 block stores x0 + t v and x+ - 2t v
 * each rounded once, as a scalar cast would).  GNU vector types of 16
 * bytes: one SSE2 instruction per operation on x86-64, whatever the target
 * offers elsewhere. */
typedef double v2d __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));

#if defined(__has_builtin)
#if __has_builtin(__builtin_convertvector)
#define HAVE_CONVERTVECTOR 1
#endif
#endif

static inline v2d f32_to_v2d(v2f f)
{
#ifdef HAVE_CONVERTVECTOR
  return __builtin_convertvector(f, v2d);
#else
  return (v2d){f[0], f[1]};
#endif
}

static inline v2f v2d_to_f32(v2d v)
{
#ifdef HAVE_CONVERTVECTOR
  return __builtin_convertvector(v, v2f);
#else
  return (v2f){(float)v[0], (float)v[1]};
#endif
}

static inline v2d ld_f64(const double *p)
{
  v2d v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline v2d ld_f32(const float *p)
{
  v2f f;
  memcpy(&f, p, sizeof f);
  return f32_to_v2d(f);
}

static inline void st_f64(double *p, v2d v)
{
  memcpy(p, &v, sizeof v);
}

static inline void st_f32(float *p, v2d v)
{
  v2f f = v2d_to_f32(v);
  memcpy(p, &f, sizeof f);
}

/* A value as the block stores it. */
static inline v2d rnd_f64(v2d v)
{
  return v;
}

static inline v2d rnd_f32(v2d v)
{
  return f32_to_v2d(v2d_to_f32(v));
}

/* Partial sums: eight interleaved (element i of a span goes to lane i % 8:
 * lanes 2j and 2j+1 are the two of vector sj, a[] takes the remainder one
 * by one), added in a fixed order at the end: the loops run four
 * independent vector chains, and the sums are the same on every run. */
#define NACC 8
#define ACC(i) ((i) & (NACC - 1))

static double acc_sum(v2d s0, v2d s1, v2d s2, v2d s3, const double *a)
{
  double l[NACC] = {s0[0] + a[0], s0[1] + a[1], s1[0] + a[2], s1[1] + a[3],
                    s2[0] + a[4], s2[1] + a[5], s3[0] + a[6], s3[1] + a[7]};
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/* The passes over a span of element type T (TS its suffix) with the
 * analytic gradient in type G (GS):
 *  - stats: the sum of squares of the span's values (and of its gradient,
 *    when g is given), copying the values to x0 on the way when x0 is given;
 *  - plus: write x+ = x0 + t v from the copy;
 *  - minus: in place, write x- = x+ - 2t v (tab holds the steps 2t) and
 *    return g.(x+ - x-) on the values as stored (float32 rounds each one
 *    differently: the analytic side uses the direction the plugin saw).
 * Each is one streaming pass.  Whole groups of 8 (of 64 where signs are
 * read) go through vectors, the rest one by one into the same lanes. */
#define SQ2(TS, GS, j)                                                        \
  do {                                                                        \
    v2d u = ld_##TS(x + i + 2 * j);                                           \
    sa##j += u * u;                                                           \
    if (g) {                                                                  \
      v2d gu = ld_##GS(g + i + 2 * j);                                        \
      sb##j += gu * gu;                                                       \
    }                                                                         \
  } while (0)
#define MINUS2(TS, GS, j, row)                                                \
  do {                                                                        \
    v2d up = ld_##TS(d + k + 2 * j), um = rnd_##TS(up - ld_f64(row));         \
    st_##TS(d + k + 2 * j, um);                                               \
    s##j += ld_##GS(g + k + 2 * j) * (up - um);                               \
  } while (0)
#define PASSES(T, TS, G, GS, SFX)                                             \
  static void stats_##SFX(T *restrict x0, const T *restrict x,                \
                          const G *restrict g, size_t n, double *ss,          \
                          double *g2)                                         \
  {                                                                           \
    v2d sa0 = {0}, sa1 = {0}, sa2 = {0}, sa3 = {0};                           \
    v2d sb0 = {0}, sb1 = {0}, sb2 = {0}, sb3 = {0};                           \
    double a[NACC] = {0}, b[NACC] = {0};                                      \
    size_t i = 0;                                                             \
    for (; i + 8 <= n; i += 8) {                                              \
      if (x0)                                                                 \
        memcpy(x0 + i, x + i, 8 * sizeof *x);                                 \
      SQ2(TS, GS, 0);                                                         \
      SQ2(TS, GS, 1);                                                         \
      SQ2(TS, GS, 2);                                                         \
      SQ2(TS, GS, 3);                                                         \
    }                                                                         \
    for (; i < n; i++) {                                                      \
      double xi = (double)x[i], gi = g ? (double)g[i] : 0;                    \
      if (x0)                                                                 \
        x0[i] = x[i];                                                         \
      a[ACC(i)] += xi * xi;                                                   \
      b[ACC(i)] += gi * gi;                                                   \
    }                                                                         \
    *ss = acc_sum(sa0, sa1, sa2, sa3, a);                                     \
    *g2 = acc_sum(sb0, sb1, sb2, sb3, b);                                     \
  }                                                                           \
  static double minus_##SFX(T *restrict d, const G *restrict g,               \
                            const uint64_t *restrict bits, size_t n,          \
                            const steps tab)                                  \
  {                                                                           \
    v2d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                               \
    double a[NACC] = {0};                                                     \
    size_t i = 0;                                                             \
    for (; i + 64 <= n; i += 64) {                                            \
      uint64_t w = bits[i / 64];                                              \
      for (size_t k = i; k < i + 64; k += 8, w >>= 8) {                       \
        const double *r = tab[w & 15], *q = tab[(w >> 4) & 15];               \
        MINUS2(TS, GS, 0, r);                                                 \
        MINUS2(TS, GS, 1, r + 2);                                             \
        MINUS2(TS, GS, 2, q);                                                 \
        MINUS2(TS, GS, 3, q + 2);                                             \
      }                                                                       \
    }                                                                         \
    for (uint64_t w = i < n ? bits[i / 64] : 0; i < n; i++, w >>= 1) {        \
      T xp = d[i], xm = (T)((double)xp - tab[w & 1][0]);                      \
      d[i] = xm;                                                              \
      a[ACC(i)] += (double)g[i] * ((double)xp - (double)xm);                  \
    }                                                                         \
    return acc_sum(s0, s1, s2, s3, a);                                        \
  }

#define PLUS(T, TS)                                                           \
  static void plus_##TS(T *restrict d, const T *restrict x,                   \
                        const uint64_t *restrict bits, size_t n,              \
                        const steps tab)                                      \
  {                                                                           \
    size_t i = 0;                                                             \
    for (; i + 64 <= n; i += 64) {                                            \
      uint64_t w = bits[i / 64];                                              \
      for (size_t k = i; k < i + 64; k += 4, w >>= 4) {                       \
        const double *r = tab[w & 15];                                        \
        st_##TS(d + k, ld_##TS(x + k) + ld_f64(r));                           \
        st_##TS(d + k + 2, ld_##TS(x + k + 2) + ld_f64(r + 2));               \
      }                                                                       \
    }                                                                         \
    for (uint64_t w = i < n ? bits[i / 64] : 0; i < n; i++, w >>= 1)          \
      d[i] = (T)((double)x[i] + tab[w & 1][0]);                               \
  }

PASSES(double, f64, double, f64, f64)
PASSES(float, f32, float, f32, f32)
PASSES(float, f32, double, f64, f32k)
PLUS(double, f64)
PLUS(float, f32)

/* The base gradient of the block: kept as double once something else ran
 * backward, else in the model's buffer, in the block's type. */
static const double *grad_kept(const search *s)
{
  return s->c->grad_kept ? s->c->grad[s->b] : NULL;
}

static const void *grad_buf(const search *s)
{
  return (s->c->gsrc ? s->c->gsrc : s->c->m)->grads[s->b];
}

/* Put the span that a probe moved back to x0: one copy. */
static void restore(search *s)
{
  if (s->dirty_n)
    memcpy((char *)s->data + s->dirty_lo * s->es,
           (const char *)s->x0 + s->dirty_lo * s->es, s->dirty_n * s->es);
  s->dirty_n = 0;
}

/* The sums of a span, from the copy at the base point. */
static void span_stats(const search *s, span *sp)
{
  const double *gk = grad_kept(s);
  const void *gb = grad_buf(s);
  size_t lo = sp->lo;
  if (s->dt == NNC_F32) {
    const float *x = (const float *)s->x0 + lo;
    if (gk)
      stats_f32k(NULL, x, gk + lo, sp->n, &sp->ss, &sp->g2);
    else
      stats_f32(NULL, x, (const float *)gb + lo, sp->n, &sp->ss, &sp->g2);
  } else {
    stats_f64(NULL, (const double *)s->x0 + lo,
              (gk ? gk : (const double *)gb) + lo, sp->n, &sp->ss, &sp->g2);
  }
}

/* Directional difference along v = the signs in s->bits over span sp. */
static int probe_dir(search *s, const span *sp, double hrel, probe *p)
{
  gc_ctx *c = s->c;
  nnc_model *m = c->m;
  const uint32_t dt = s->dt;
  const size_t lo = sp->lo, n = sp->n;
  int rc;
  /* one step for the whole probe, sized to the span's values */
  double t = hrel * fmax(1, sqrt(sp->ss / (double)n));
  steps tab, tab2;
  make_steps(tab, t);
  make_steps(tab2, 2 * t);
  /* The span is written whole: only another span moved before needs to go
   * back first. */
  if (s->dirty_n && (s->dirty_lo != lo || s->dirty_n != n))
    restore(s);
  s->dirty_lo = lo;
  s->dirty_n = n;
  if (dt == NNC_F32)
    plus_f32((float *)s->data + lo, (const float *)s->x0 + lo, s->bits, n,
             tab);
  else
    plus_f64((double *)s->data + lo, (const double *)s->x0 + lo, s->bits, n,
             tab);
  double fp, fm;
  nnc_winners wp, wm;
  if ((rc = nnci_gc_loss(c, &fp, 1)))
    return rc;
  int have_w = c->have_w && nnc_model_winners(m, &wp) == NNC_OK;
  /* x+ - 2t v in place, and g.(x+ - x-) in the same pass */
  const double *gk = grad_kept(s);
  const void *gb = grad_buf(s);
  double ad;
  if (dt == NNC_F32) {
    float *d = (float *)s->data + lo;
    ad = gk ? minus_f32k(d, gk + lo, s->bits, n, tab2)
            : minus_f32(d, (const float *)gb + lo, s->bits, n, tab2);
  } else {
    ad = minus_f64((double *)s->data + lo, (gk ? gk : (const double *)gb) + lo,
                   s->bits, n, tab2);
  }
  if ((rc = nnci_gc_loss(c, &fm, 1)))
    return rc;
  have_w = have_w && nnc_model_winners(m, &wm) == NNC_OK;
  p->ad = ad / (2 * t);
  /* the analytic side's own rounding: the plugin computed each g_i in its
   * element type */
  p->errbar = NNCI_NOISE_ULPS * nnci_gc_eps(dt) * sqrt(sp->g2);
  p->fd = (fp - fm) / (2 * t);
  p->t = t;
  double mag = fmax(fmax(fabs(fp), fabs(fm)), c->scale);
  p->noise = NNCI_NOISE_ULPS * nnci_gc_eps(dt) * mag / (2 * t);
  if (4 * c->r->nondeterminism / (2 * t) > p->noise)
    p->noise = 4 * c->r->nondeterminism / (2 * t);
  p->kink = have_w && (wp.hash != wm.hash || wp.ties != wm.ties);
  p->evals += 2;
  return NNC_OK;
}

/* A probe, dodging kinks with smaller steps; a disagreement beyond the
 * round-off is escalated to half the step and Richardson, and judged
 * against that error bar: a single wrong coordinate among 10^5 moves g.v
 * by far less than the bands but by far more than the error bar. */
static int probe_smooth(search *s, const span *sp, probe *p)
{
  double hrel = nnci_default_h(s->c->o, s->dt);
  int rc;
  memset(p, 0, sizeof *p);
  for (int t = 0; t < 4; t++, hrel /= 10) {
    if ((rc = probe_dir(s, sp, hrel, p)))
      return rc;
    if (!p->kink)
      break;
  }
  if (p->kink)
    return NNC_OK;
  double ea = p->errbar;
  if (fabs(p->ad - p->fd) <= p->noise + ea)
    return NNC_OK;
  probe q;
  memset(&q, 0, sizeof q);
  if ((rc = probe_dir(s, sp, hrel / 2, &q)))
    return rc;
  p->evals += q.evals;
  if (q.kink) {
    p->kink = 1;
    return NNC_OK;
  }
  double r = (4 * q.fd - p->fd) / 3;
  p->errbar = fabs(q.fd - p->fd) + 2 * q.noise + ea;
  p->fd = r;
  p->mismatch = fabs(p->ad - r) > 3 * p->errbar;
  return NNC_OK;
}

static int mismatch(const nnc_gc_block *gb, const probe *p)
{
  (void)gb;
  return !p->kink && p->mismatch;
}

/* Group testing on coordinates [lo, lo + n): the set disagrees as a whole.
 * Probe each half with fresh signs (twice if neither half disagrees, in
 * case the errors happened to cancel) and recurse where they still
 * disagree. */
static int bisect(search *s, size_t lo, size_t n)
{
  int rc;
  if (s->found >= MAX_FOUND)
    return NNC_OK;
  if (n == 1) {
    restore(s); /* the coordinate check starts from the base point */
    nnc_gc_coord *e = nnci_gc_push(s->gb);
    if (!e)
      return nnci_fail(s->c->m, NNC_ENOMEM, "out of memory");
    size_t at = s->gb->ncoords - 1;
    if ((rc = nnci_gc_coord(s->c, s->b, lo, s->gb, &s->gb->coords[at])))
      return rc;
    s->gb->checked++;
    s->found++;
    return NNC_OK;
  }
  size_t h = n / 2;
  for (int attempt = 0; attempt < 2; attempt++) {
    int bad[2];
    for (int half = 0; half < 2; half++) {
      span sp = {half ? lo + h : lo, half ? n - h : h, 0, 0};
      draw_signs(&s->rng, s->bits, sp.n);
      span_stats(s, &sp);
      probe p;
      if ((rc = probe_smooth(s, &sp, &p)))
        return rc;
      s->gb->probes++;
      bad[half] = mismatch(s->gb, &p);
    }
    if (bad[0] && (rc = bisect(s, lo, h)))
      return rc;
    if (bad[1] && (rc = bisect(s, lo + h, n - h)))
      return rc;
    if (bad[0] || bad[1])
      return NNC_OK;
  }
  return NNC_OK;
}

int nnci_gc_project(gc_ctx *c, size_t b, nnc_gc_block *gb)
{
  nnc_model *m = c->m;
  size_t n = m->blocks[b].count;
  size_t K = c->o->probes ? c->o->probes : 4;
  search s;
  memset(&s, 0, sizeof s);
  s.c = c;
  s.b = b;
  s.gb = gb;
  s.dt = m->blocks[b].dtype;
  s.es = s.dt == NNC_F32 ? sizeof(float) : sizeof(double);
  s.data = m->blocks[b].data;
  nnc_rng_init(&s.rng, c->o->seed, STREAM_PROBE + 7919 * b);
  s.bits = malloc((n + 63) / 64 * sizeof *s.bits);
  int rc = NNC_OK;
  if (!s.bits) {
    rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
    goto out;
  }
  /* the block at the base point, once for all its probes (kept for the
   * next block: a large block is not allocated again) */
  if (c->scratch_n < n * s.es) {
    free(c->scratch);
    c->scratch_n = 0;
    if (!(c->scratch = malloc(n * s.es))) {
      rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
      goto out;
    }
    c->scratch_n = n * s.es;
  }
  s.x0 = c->scratch;
  /* the copy and the values' sum of squares in one pass; the gradient's
   * is the block's norm, read at the base point */
  span all = {0, n, 0, gb->grad_norm * gb->grad_norm};
  double unused;
  if (s.dt == NNC_F32)
    stats_f32(c->scratch, s.data, NULL, n, &all.ss, &unused);
  else
    stats_f64(c->scratch, s.data, NULL, n, &all.ss, &unused);
  int any_bad = 0;
  size_t kinked = 0;
  for (size_t k = 0; k < K + kinked && k < 3 * K; k++) {
    draw_signs(&s.rng, s.bits, n);
    probe p;
    if ((rc = probe_smooth(&s, &all, &p)))
      goto out;
    gb->probes++;
    nnc_gc_coord *e = nnci_gc_push(gb);
    if (!e) {
      rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
      goto out;
    }
    e->index = k;
    e->group = n;
    e->analytic = p.ad;
    e->numeric = p.fd;
    e->h = p.t;
    e->noise = p.noise;
    e->evals = p.evals;
    e->relerr = nnci_relerr(p.ad, p.fd);
    e->flags = NNC_GC_PROJECTION | (p.kink ? NNC_GC_KINK | NNC_GC_AT_KINK : 0);
    double mx = fmax(fabs(p.ad), fabs(p.fd));
    if (p.ad == 0 && p.fd == 0) {
      e->flags |= NNC_GC_ZERO;
      e->verdict = NNC_PASS;
    } else if (p.kink) {
      e->verdict = NNC_INCONCLUSIVE;
      e->why = NNC_WHY_KINK;
      gb->inconclusive++;
      kinked++; /* draw another probe in its place */
    } else if (!p.mismatch) {
      e->verdict = NNC_PASS; /* within its error bar */
      if (e->relerr > gb->pass_tol)
        e->flags |= NNC_GC_NOISE;
    } else {
      /* beyond the error bar: bisection decides; a disagreement no
       * coordinate accounts for is reported, not failed, below */
      e->verdict = NNC_FAIL;
      e->flags |= NNC_GC_ESCALATED;
      any_bad = 1;
    }
    e->errbar = p.errbar;
    if (!(e->flags & NNC_GC_ZERO) && mx > p.noise)
      gb->live++;
  }
  if (any_bad) {
    size_t first = gb->ncoords;
    if ((rc = bisect(&s, 0, n)))
      goto out;
    size_t bad = 0;
    for (size_t q = first; q < gb->ncoords; q++)
      bad += gb->coords[q].verdict == NNC_FAIL;
    for (size_t q = 0; q < first; q++) {
      nnc_gc_coord *e = &gb->coords[q];
      if (!(e->flags & NNC_GC_PROJECTION) || e->verdict != NNC_FAIL)
        continue;
      if (bad)
        gb->failed++;
      else { /* e.g. a kink the probe crossed without a fingerprint */
        e->verdict = NNC_INCONCLUSIVE;
        e->why = c->have_w ? NNC_WHY_NOISE : NNC_WHY_KINK;
        gb->inconclusive++;
      }
    }
  }
out:
  restore(&s); /* the block leaves as it came, bit for bit */
  free(s.bits);
  return rc;
}
