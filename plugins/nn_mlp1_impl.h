/* nn_mlp1_impl.h — the kernels of nn_mlp1.h, written once for both element
 * types.  Included only by nn_mlp1.c, once per type, with NN_REAL, NN_SFX,
 * NN_IS_FLOAT and NN_LANES (elements per 64-byte vector) defined.  No
 * include guard: it is meant to be included more than once.
 *
 * With D <= 4 inputs and K <= 5 classes every product of such a net is thin:
 * a general product call spends most of its time on edges and on copying
 * its operands into its own layout, and the bias, the ReLU, its decisions,
 * its mask and the bias gradient then each make a pass of their own over
 * the n x H hidden values.  Here the H hidden units run along the vector
 * lanes (zero-padded to whole vectors in the caller's scratch `pad`):
 *
 *   forward, per example: z = b1 + sum_d x_d W1[d,:], h = max(z, +0) with
 *     its decisions, s_k = b2_k + sum_j h_j W2[j,k];
 *   backward, per vector of hidden units, over the examples: dh = ds W2^T
 *     (the probe gradient), and under the mask h > 0: db1 += dh, dW1[d,:]
 *     += x_d dh; dW2[:,k] += ds_k h (all in registers), then dW = reg W +
 *     that sum.
 *
 * The decisions are folded into the fingerprint in the same 64-unit words
 * of the flat n x H output as affine_relu_fwd's, and -0 and NaN become +0
 * as there.  The order of every sum is fixed by the source: one machine
 * always gives the same bits.  D and K are compile-time constants of one
 * instance each, so that every accumulator is a register. */

#if NN_IS_FLOAT
#define M1_V __m512
#define M1_M __mmask16
#define M1_LOADU _mm512_loadu_ps
#define M1_MASKZ_LOADU _mm512_maskz_loadu_ps
#define M1_MASK_STOREU _mm512_mask_storeu_ps
#define M1_STOREU _mm512_storeu_ps
#define M1_SET1 _mm512_set1_ps
#define M1_ZERO _mm512_setzero_ps
#define M1_FMADD _mm512_fmadd_ps
#define M1_MUL _mm512_mul_ps
#define M1_ADD _mm512_add_ps
#define M1_MAX _mm512_max_ps
#define M1_MCMP _mm512_mask_cmp_ps_mask
#define M1_MASK_ADD _mm512_mask_add_ps
#define M1_MASK3_FMADD _mm512_mask3_fmadd_ps
#define M1_REDUCE _mm512_reduce_add_ps
#define M1_IV __m512i
#define M1_IZERO _mm512_setzero_si512
#define M1_ISET1 _mm512_set1_epi32
#define M1_IMASK_ADD _mm512_mask_add_epi32
#define M1_IREDUCE _mm512_reduce_add_epi32
#define M1_VPW 4 /* vectors per 64-unit word */
#else
#define M1_V __m512d
#define M1_M __mmask8
#define M1_LOADU _mm512_loadu_pd
#define M1_MASKZ_LOADU _mm512_maskz_loadu_pd
#define M1_MASK_STOREU _mm512_mask_storeu_pd
#define M1_STOREU _mm512_storeu_pd
#define M1_SET1 _mm512_set1_pd
#define M1_ZERO _mm512_setzero_pd
#define M1_FMADD _mm512_fmadd_pd
#define M1_MUL _mm512_mul_pd
#define M1_ADD _mm512_add_pd
#define M1_MAX _mm512_max_pd
#define M1_MCMP _mm512_mask_cmp_pd_mask
#define M1_MASK_ADD _mm512_mask_add_pd
#define M1_MASK3_FMADD _mm512_mask3_fmadd_pd
#define M1_REDUCE _mm512_reduce_add_pd
#define M1_IV __m512i
#define M1_IZERO _mm512_setzero_si512
#define M1_ISET1 _mm512_set1_epi64
#define M1_IMASK_ADD _mm512_mask_add_epi64
#define M1_IREDUCE _mm512_reduce_add_epi64
#define M1_VPW 8
#endif
#define M1_ALL ((M1_M)~(M1_M)0)
#define M1_TARGET __attribute__((target("avx512f,avx512dq,fma,popcnt")))
#define M1_INLINE M1_TARGET static inline __attribute__((always_inline))

/* hidden units padded to whole vectors */
static size_t NN_FN(m1_hp)(size_t H) {
  return (H + NN_LANES - 1) / NN_LANES * NN_LANES;
}

/* the mask of the last vector's real lanes */
static M1_M NN_FN(m1_tail)(size_t H) {
  size_t r = H % NN_LANES;
  return r ? (M1_M)((1u << r) - 1) : M1_ALL;
}

/* W2 (H x K) transposed into K rows of Hp, zero-padded */
static void NN_FN(m1_w2t)(const NN_REAL *W2, NN_REAL *W2t, size_t H,
                          size_t K) {
  size_t Hp = NN_FN(m1_hp)(H);
  for (size_t k = 0; k < K; k++) {
    for (size_t j = 0; j < H; j++)
      W2t[k * Hp + j] = W2[j * K + k];
    for (size_t j = H; j < Hp; j++)
      W2t[k * Hp + j] = 0;
  }
}

/* Decisions of consecutive units appended to the 64-unit words of the flat
 * output, each full word one fingerprint step (as nn_relu_fwd folds them). */
typedef struct NN_FN(m1_pack) {
  uint64_t cur;
  unsigned nb; /* bits in cur */
} NN_FN(m1_pack);

static inline void NN_FN(m1_put)(NN_FN(m1_pack) *p, nn_winners *w,
                                 uint64_t bits, unsigned nbits) {
  p->cur |= p->nb ? bits << p->nb : bits;
  if (p->nb + nbits < 64) {
    p->nb += nbits;
    return;
  }
  nn_winners_add_word(w, p->cur, 64, 0);
  p->cur = p->nb ? bits >> (64 - p->nb) : 0;
  p->nb = p->nb + nbits - 64;
}

/* Rows i .. i+R-1 of the forward (R constant): each weight vector is loaded
 * once for the R rows (one vector load a cycle is the limit here). */
M1_INLINE void NN_FN(m1_fwd_rows)(const NN_REAL *x, const NN_REAL *pad,
                                  const NN_REAL *b2, NN_REAL *h, NN_REAL *s,
                                  size_t i, size_t H, nn_winners *w,
                                  NN_FN(m1_pack) *pk, M1_IV *tvp,
                                  const size_t R, const size_t D,
                                  const size_t K) {
  const int fp = w != NULL; /* locals: the stores to h may alias memory */
  M1_IV tv = *tvp;
  const size_t Hp = NN_FN(m1_hp)(H), NB = Hp / NN_LANES;
  const NN_REAL *W1p = pad, *b1p = pad + D * Hp, *W2t = b1p + Hp;
  const M1_M tail = NN_FN(m1_tail)(H);
  const M1_V z0 = M1_ZERO();
  const M1_IV one = M1_ISET1(1);
  M1_V xv[2][4], acc[2][5];
#pragma GCC unroll 2
  for (size_t r = 0; r < R; r++) {
#pragma GCC unroll 4
    for (size_t d = 0; d < D; d++)
      xv[r][d] = M1_SET1(x[(i + r) * D + d]);
#pragma GCC unroll 5
    for (size_t k = 0; k < K; k++)
      acc[r][k] = z0;
  }
  uint64_t rb[2][NN_M1_HMAX / 64]; /* the rows' decisions */
  /* a word of decisions at a time, its vectors unrolled: each one's bits go
   * in at a constant place */
  for (size_t g = 0; g < NB; g += M1_VPW) {
    uint64_t word[2] = {0, 0};
#pragma GCC unroll 8
    for (size_t v = 0; v < M1_VPW; v++) {
      size_t jb = g + v, o = jb * NN_LANES;
      if (jb >= NB)
        break;
      M1_M m = jb + 1 < NB ? M1_ALL : tail;
      M1_V bv = M1_LOADU(b1p + o), w1[4], w2[5];
#pragma GCC unroll 4
      for (size_t d = 0; d < D; d++)
        w1[d] = M1_LOADU(W1p + d * Hp + o);
#pragma GCC unroll 5
      for (size_t k = 0; k < K; k++)
        w2[k] = M1_LOADU(W2t + k * Hp + o);
#pragma GCC unroll 2
      for (size_t r = 0; r < R; r++) {
        M1_V z = bv;
#pragma GCC unroll 4
        for (size_t d = 0; d < D; d++)
          z = M1_FMADD(xv[r][d], w1[d], z);
        M1_V hv = M1_MAX(z, z0); /* the second operand on ties, NaN: +0 */
        M1_MASK_STOREU(h + (i + r) * H + o, m, hv);
#pragma GCC unroll 5
        for (size_t k = 0; k < K; k++)
          acc[r][k] = M1_FMADD(hv, w2[k], acc[r][k]);
        if (fp) {
          word[r] |= (uint64_t)M1_MCMP(m, z, z0, _CMP_GT_OQ)
                     << (v * NN_LANES);
          tv = M1_IMASK_ADD(tv, M1_MCMP(m, z, z0, _CMP_EQ_OQ), tv, one);
        }
      }
    }
#pragma GCC unroll 2
    for (size_t r = 0; r < R; r++)
      rb[r][g / M1_VPW] = word[r];
  }
#pragma GCC unroll 2
  for (size_t r = 0; r < R; r++) {
#pragma GCC unroll 5
    for (size_t k = 0; k < K; k++)
      s[(i + r) * K + k] = b2[k] + M1_REDUCE(acc[r][k]);
    if (fp)
      for (size_t q = 0, left = H; left > 0; q++) {
        unsigned nbits = left < 64 ? (unsigned)left : 64;
        NN_FN(m1_put)(pk, w, rb[r][q], nbits);
        left -= nbits;
      }
  }
  *tvp = tv;
}

M1_INLINE void NN_FN(m1_fwd_body)(const NN_REAL *x, const NN_REAL *pad,
                                  const NN_REAL *b2, NN_REAL *h, NN_REAL *s,
                                  size_t n, size_t H, nn_winners *w,
                                  const size_t D, const size_t K) {
  NN_FN(m1_pack) pk = {0, 0};
  M1_IV tv = M1_IZERO(); /* the ties, lane by lane */
  size_t i = 0;
  for (; i + 2 <= n; i += 2)
    NN_FN(m1_fwd_rows)(x, pad, b2, h, s, i, H, w, &pk, &tv, 2, D, K);
  if (i < n)
    NN_FN(m1_fwd_rows)(x, pad, b2, h, s, i, H, w, &pk, &tv, 1, D, K);
  if (w) {
    if (pk.nb)
      nn_winners_add_word(w, pk.cur, pk.nb, 0);
    w->ties += (uint64_t)M1_IREDUCE(tv);
  }
}

M1_INLINE void NN_FN(m1_bwd_body)(const NN_REAL *x, const NN_REAL *h,
                                  const NN_REAL *ds, const NN_REAL *W1,
                                  const NN_REAL *W2, const NN_REAL *W2t,
                                  NN_REAL *gh, NN_REAL *dW1, NN_REAL *db1,
                                  NN_REAL *dW2, size_t n, size_t H,
                                  double reg, const size_t D,
                                  const size_t K) {
  const size_t Hp = NN_FN(m1_hp)(H), NB = Hp / NN_LANES;
  const M1_M tail = NN_FN(m1_tail)(H);
  const M1_V z0 = M1_ZERO(), rv = M1_SET1((NN_REAL)reg);
  for (size_t jb = 0; jb < NB; jb++) {
    size_t o = jb * NN_LANES;
    M1_M m = jb + 1 < NB ? M1_ALL : tail;
    M1_V w2[5], e[5], ad[4], adb = z0;
#pragma GCC unroll 5
    for (size_t k = 0; k < K; k++) {
      w2[k] = M1_LOADU(W2t + k * Hp + o);
      e[k] = z0;
    }
#pragma GCC unroll 4
    for (size_t d = 0; d < D; d++)
      ad[d] = z0;
    for (size_t i = 0; i < n; i++) {
      M1_V hv = M1_MASKZ_LOADU(m, h + i * H + o);
      M1_M on = M1_MCMP(m, hv, z0, _CMP_GT_OQ);
      M1_V sv[5];
#pragma GCC unroll 5
      for (size_t k = 0; k < K; k++)
        sv[k] = M1_SET1(ds[k * n + i]);
      M1_V dh = M1_MUL(sv[0], w2[0]);
#pragma GCC unroll 5
      for (size_t k = 1; k < K; k++)
        dh = M1_FMADD(sv[k], w2[k], dh);
      if (gh)
        M1_MASK_STOREU(gh + i * H + o, m, dh);
      adb = M1_MASK_ADD(adb, on, adb, dh);
#pragma GCC unroll 4
      for (size_t d = 0; d < D; d++)
        ad[d] = M1_MASK3_FMADD(M1_SET1(x[i * D + d]), dh, ad[d], on);
#pragma GCC unroll 5
      for (size_t k = 0; k < K; k++)
        e[k] = M1_FMADD(sv[k], hv, e[k]);
    }
    M1_MASK_STOREU(db1 + o, m, adb);
#pragma GCC unroll 4
    for (size_t d = 0; d < D; d++) {
      M1_V g = ad[d];
      if (reg != 0)
        g = M1_FMADD(rv, M1_MASKZ_LOADU(m, W1 + d * H + o), g);
      M1_MASK_STOREU(dW1 + d * H + o, m, g);
    }
    NN_REAL t[5][NN_LANES];
#pragma GCC unroll 5
    for (size_t k = 0; k < K; k++)
      M1_STOREU(t[k], e[k]);
    for (size_t l = 0; l < NN_LANES && o + l < H; l++)
      for (size_t k = 0; k < K; k++) {
        size_t at = (o + l) * K + k;
        dW2[at] = reg != 0 ? (NN_REAL)reg * W2[at] + t[k][l] : t[k][l];
      }
  }
}

/* db = the row sums of the K x n matrix ds */
M1_TARGET static void NN_FN(m1_rowsum)(const NN_REAL *ds, void *db, size_t n,
                                       size_t K) {
  NN_REAL *out = db;
  for (size_t k = 0; k < K; k++) {
    const NN_REAL *dk = ds + k * n;
    M1_V acc = M1_ZERO();
    size_t i = 0;
    for (; i + NN_LANES <= n; i += NN_LANES)
      acc = M1_ADD(acc, M1_LOADU(dk + i));
    if (i < n)
      acc = M1_ADD(acc, M1_MASKZ_LOADU((M1_M)((1u << (n - i)) - 1), dk + i));
    out[k] = M1_REDUCE(acc);
  }
}

#if !NN_IS_FLOAT
/* e^x in eight lanes, to about an ulp: x = k ln2 + r with |r| <= ln2/2
 * (ln2 in two parts, each product with one rounding), e^r by its Taylor
 * polynomial of degree 13 (the first term left out is below 1e-17), then
 * times 2^k, which goes smoothly to +0 below the smallest double.  NaN stays
 * NaN. */
M1_INLINE __m512d m1_exp_pd(__m512d x) {
  x = _mm512_max_pd(_mm512_set1_pd(-1000.0), x); /* NaN: the second operand */
  __m512d k = _mm512_roundscale_pd(
      _mm512_mul_pd(x, _mm512_set1_pd(0x1.71547652b82fep0)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(0x1.62e42fefa39efp-1), x);
  r = _mm512_fnmadd_pd(k, _mm512_set1_pd(0x1.abc9e3b39803fp-56), r);
  static const double c[14] = {1.0,           1.0,
                               1.0 / 2,       1.0 / 6,
                               1.0 / 24,      1.0 / 120,
                               1.0 / 720,     1.0 / 5040,
                               1.0 / 40320,   1.0 / 362880,
                               1.0 / 3628800, 1.0 / 39916800,
                               1.0 / 479001600, 1.0 / 6227020800.0};
  __m512d p = _mm512_set1_pd(c[13]);
  for (int j = 12; j >= 0; j--)
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c[j]));
  return _mm512_scalef_pd(p, k);
}

/* The mean softmax cross-entropy of n rows of K scores, eight rows at a
 * time: the columns gathered, the exponentials in vectors, one logarithm
 * per eight rows (of the product of their normalisers, each in [1, K]),
 * and ds = d(mean)/ds into dsT transposed (K x n), as m1_bwd reads it. */
M1_TARGET static double m1_softmax8_f64(const double *s,
                                        const int32_t *label, size_t n,
                                        size_t K, double *dsT) {
  const __m512i iota = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i idx =
      _mm512_mullo_epi64(iota, _mm512_set1_epi64((long long)K));
  const __m512d wv = _mm512_set1_pd(n ? 1.0 / (double)n : 0);
  double total = 0;
  for (size_t i0 = 0; i0 < n; i0 += 8) {
    __mmask8 live = n - i0 >= 8 ? (__mmask8)0xFF
                                : (__mmask8)((1u << (n - i0)) - 1);
    __m512d sk[5], e[5], z = _mm512_setzero_pd(), sy = z, mx = z;
    __mmask8 my[5] = {0, 0, 0, 0, 0};
    for (size_t l = 0; l < 8 && i0 + l < n; l++)
      my[label[i0 + l]] |= (__mmask8)(1u << l);
    for (size_t k = 0; k < K; k++) {
      sk[k] = _mm512_mask_i64gather_pd(_mm512_setzero_pd(), live, idx,
                                       s + i0 * K + k, 8);
      mx = k ? _mm512_max_pd(sk[k], mx) : sk[k];
      sy = _mm512_mask_mov_pd(sy, my[k], sk[k]);
    }
    for (size_t k = 0; k < K; k++) {
      e[k] = m1_exp_pd(_mm512_sub_pd(sk[k], mx));
      z = _mm512_add_pd(z, e[k]);
    }
    double prod = _mm512_mask_reduce_mul_pd(live, z);
    total += log(prod) - _mm512_mask_reduce_add_pd(live, _mm512_sub_pd(sy, mx));
    __m512d r = _mm512_div_pd(wv, z);
    for (size_t k = 0; k < K; k++) {
      __m512d d = _mm512_mul_pd(e[k], r);
      d = _mm512_mask_sub_pd(d, my[k], d, wv);
      _mm512_mask_storeu_pd(dsT + k * n + i0, live, d);
    }
  }
  return n ? total / (double)n : 0;
}

static double NN_FN(m1_softmax)(const void *s, const int32_t *label,
                                     size_t n, size_t K, void *dsT,
                                     void *tmp) {
  (void)tmp;
  return m1_softmax8_f64(s, label, n, K, dsT);
}
#else
/* float: the kernels' softmax (its logarithms and sums in double), then ds
 * transposed */
static double NN_FN(m1_softmax)(const void *s, const int32_t *label,
                                     size_t n, size_t K, void *dsT,
                                     void *tmp) {
  double L = NN_FN(nn_softmax_loss)(s, label, n, K, NULL, NULL, tmp);
  const NN_REAL *d = tmp;
  NN_REAL *t = dsT;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < K; k++)
      t[k * n + i] = d[i * K + k];
  return L;
}
#endif

#define M1_INST(Dc, Kc)                                                        \
  M1_TARGET static void NN_FN(m1_fwd_##Dc##_##Kc)(                             \
      const NN_REAL *x, const NN_REAL *pad, const NN_REAL *b2, NN_REAL *h,     \
      NN_REAL *s, size_t n, size_t H, nn_winners *w) {                         \
    NN_FN(m1_fwd_body)(x, pad, b2, h, s, n, H, w, Dc, Kc);                     \
  }                                                                            \
  M1_TARGET static void NN_FN(m1_bwd_##Dc##_##Kc)(                             \
      const NN_REAL *x, const NN_REAL *h, const NN_REAL *ds,                   \
      const NN_REAL *W1, const NN_REAL *W2, const NN_REAL *W2t, NN_REAL *gh,   \
      NN_REAL *dW1, NN_REAL *db1, NN_REAL *dW2, size_t n, size_t H,            \
      double reg) {                                                            \
    NN_FN(m1_bwd_body)(x, h, ds, W1, W2, W2t, gh, dW1, db1, dW2, n, H, reg,    \
                       Dc, Kc);                                                \
  }
#define M1_INST_K(Dc)                                                          \
  M1_INST(Dc, 2) M1_INST(Dc, 3) M1_INST(Dc, 4) M1_INST(Dc, 5)
M1_INST_K(1)
M1_INST_K(2)
M1_INST_K(3)
M1_INST_K(4)
#undef M1_INST_K
#undef M1_INST

typedef void (*NN_FN(m1_fwd_fn))(const NN_REAL *, const NN_REAL *,
                                 const NN_REAL *, NN_REAL *, NN_REAL *, size_t,
                                 size_t, nn_winners *);
typedef void (*NN_FN(m1_bwd_fn))(const NN_REAL *, const NN_REAL *,
                                 const NN_REAL *, const NN_REAL *,
                                 const NN_REAL *, const NN_REAL *, NN_REAL *,
                                 NN_REAL *, NN_REAL *, NN_REAL *, size_t,
                                 size_t, double);
#define M1_ROW(Dc, op)                                                         \
  {NN_FN(m1_##op##_##Dc##_2), NN_FN(m1_##op##_##Dc##_3),                       \
   NN_FN(m1_##op##_##Dc##_4), NN_FN(m1_##op##_##Dc##_5)}
static const NN_FN(m1_fwd_fn) NN_FN(m1_fwd_tab)[4][4] = {
    M1_ROW(1, fwd), M1_ROW(2, fwd), M1_ROW(3, fwd), M1_ROW(4, fwd)};
static const NN_FN(m1_bwd_fn) NN_FN(m1_bwd_tab)[4][4] = {
    M1_ROW(1, bwd), M1_ROW(2, bwd), M1_ROW(3, bwd), M1_ROW(4, bwd)};
#undef M1_ROW

static size_t NN_FN(m1_pad)(size_t D, size_t H, size_t K) {
  if (!m1_cpu() || D < 1 || D > 4 || K < 2 || K > 5 || H < 1 ||
      H > NN_M1_HMAX)
    return 0;
  return (D + 1 + K) * NN_FN(m1_hp)(H);
}

static void NN_FN(m1_fwd)(const void *x, const void *W1, const void *b1,
                          const void *W2, const void *b2, void *h, void *s,
                          size_t n, size_t D, size_t H, size_t K, void *pad,
                          nn_winners *w) {
  size_t Hp = NN_FN(m1_hp)(H);
  NN_REAL *p = pad;
  for (size_t d = 0; d < D; d++) {
    memcpy(p + d * Hp, (const NN_REAL *)W1 + d * H, H * sizeof *p);
    memset(p + d * Hp + H, 0, (Hp - H) * sizeof *p);
  }
  memcpy(p + D * Hp, b1, H * sizeof *p);
  memset(p + D * Hp + H, 0, (Hp - H) * sizeof *p);
  NN_FN(m1_w2t)(W2, p + (D + 1) * Hp, H, K);
  NN_FN(m1_fwd_tab)[D - 1][K - 2](x, p, b2, h, s, n, H, w);
}

/* W2 is transposed again rather than taken from the forward's copy in pad:
 * a predict() or scores() between loss() and backward() runs a forward of
 * its own over the same scratch. */
static void NN_FN(m1_bwd)(const void *x, const void *h, const void *ds,
                          const void *W1, const void *W2, void *gh, void *dW1,
                          void *db1, void *dW2, void *db2, size_t n, size_t D,
                          size_t H, size_t K, double reg, void *pad) {
  NN_REAL *W2t = (NN_REAL *)pad + (D + 1) * NN_FN(m1_hp)(H);
  NN_FN(m1_w2t)(W2, W2t, H, K);
  NN_FN(m1_bwd_tab)[D - 1][K - 2](x, h, ds, W1, W2, W2t, gh, dW1, db1, dW2, n,
                                  H, reg);
  NN_FN(m1_rowsum)(ds, db2, n, K);
}

const nn_mlp1_ops NN_FN(nn_mlp1) = {
    .pad = NN_FN(m1_pad),
    .fwd = NN_FN(m1_fwd),
    .softmax = NN_FN(m1_softmax),
    .bwd = NN_FN(m1_bwd),
};

#undef M1_V
#undef M1_M
#undef M1_LOADU
#undef M1_MASKZ_LOADU
#undef M1_MASK_STOREU
#undef M1_STOREU
#undef M1_SET1
#undef M1_ZERO
#undef M1_FMADD
#undef M1_MUL
#undef M1_ADD
#undef M1_MAX
#undef M1_MCMP
#undef M1_MASK_ADD
#undef M1_MASK3_FMADD
#undef M1_REDUCE
#undef M1_ALL
#undef M1_IV
#undef M1_IZERO
#undef M1_ISET1
#undef M1_IMASK_ADD
#undef M1_IREDUCE
#undef M1_VPW
#undef M1_TARGET
#undef M1_INLINE
