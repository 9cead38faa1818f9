/* nn_layers_impl.h — the kernels of nn_layers.h, written once for both
 * element types.  Included only by nn_layers.c, once per type, with:
 *   NN_REAL   the element type (double or float)
 *   NN_SFX    the name suffix (_f64 or _f32)
 *   NN_GEMM   cblas_dgemm or cblas_sgemm
 *   NN_EXP, NN_LOG, NN_TANH   the math functions of that type
 * No include guard: it is meant to be included more than once. */

#define NN_CAT_(a, b) a##b
#define NN_CAT(a, b) NN_CAT_(a, b)
#define NN_FN(name) NN_CAT(name, NN_SFX)

#define NN_LANES (64 / sizeof(NN_REAL))

/* a vector load and store at any element's alignment */
#define NN_LD(p) (*(const NN_UVEC *)(const void *)(p))
#define NN_ST(p, v) (*(NN_UVEC *)(void *)(p) = (v))

/* Whether n rows through in x out weights go through the one-pass loops
 * below: a few rows (a gradient check's datapoints), outputs at least two
 * vectors wide (narrower ones are all edge), and weights many enough that a
 * product call's copy of them into its own layout costs more than its
 * kernel saves (a small layer stays in cache for it). */
static int NN_FN(few)(size_t n, size_t in, size_t out) {
  return n >= 1 && n <= 4 && out >= 2 * NN_LANES && in * out >= 4096;
}

/* acc (double lanes) += the squares of the lanes of v, widened */
static inline void NN_FN(sq_acc)(nn_vec_f64 *acc, const NN_VEC *v) {
#if NN_IS_FLOAT
  nn_half_f32 h[2];
  memcpy(h, v, sizeof h);
  nn_vec_f64 lo = __builtin_convertvector(h[0], nn_vec_f64);
  nn_vec_f64 hi = __builtin_convertvector(h[1], nn_vec_f64);
  *acc += lo * lo + hi * hi;
#else
  *acc += *v * *v;
#endif
}

/* Forward of at most four examples (a gradient check's few datapoints):
 * y[i,:] = b + sum_k x[i,k] W[k,:] (b NULL: from 0), the weights read once,
 * four rows at a time, the outputs kept at hand in column blocks of 256 (a
 * general product would first copy every weight into its own layout for so
 * few rows).  The sum of the squared weights comes with them into *ss
 * unless ss is NULL: the L2 term then needs no pass of its own. */
NN_CLONES static void NN_FN(fwd_few)(const NN_REAL *x, const NN_REAL *W,
                                     const NN_REAL *b, NN_REAL *y, size_t n,
                                     size_t in, size_t out, double *ss) {
  nn_vec_f64 acc = {0};
  double t[8] = {0};
  for (size_t j0 = 0; j0 < out; j0 += 256) {
    size_t jn = out - j0 < 256 ? out - j0 : 256;
    for (size_t i = 0; i < n; i++) {
      if (b)
        memcpy(y + i * out + j0, b + j0, jn * sizeof *y);
      else
        memset(y + i * out + j0, 0, jn * sizeof *y);
    }
    /* each output vector is loaded and stored once per four weight rows,
     * the additions in the order of k */
    for (size_t k = 0; k < in; k += 4) {
      size_t kn = in - k < 4 ? in - k : 4;
      const NN_REAL *w0 = W + k * out + j0;
      const NN_REAL *w1 = kn > 1 ? w0 + out : w0;
      const NN_REAL *w2 = kn > 2 ? w0 + 2 * out : w0;
      const NN_REAL *w3 = kn > 3 ? w0 + 3 * out : w0;
      NN_REAL c[4][4] = {{0}};
      for (size_t i = 0; i < n; i++)
        for (size_t q = 0; q < kn; q++)
          c[i][q] = x[i * in + k + q];
      size_t j = 0;
      for (; j + NN_LANES <= jn; j += NN_LANES) {
        NN_VEC v0 = NN_LD(w0 + j), v1 = NN_LD(w1 + j);
        NN_VEC v2 = NN_LD(w2 + j), v3 = NN_LD(w3 + j);
        if (ss) {
          NN_FN(sq_acc)(&acc, &v0);
          if (kn > 1)
            NN_FN(sq_acc)(&acc, &v1);
          if (kn > 2)
            NN_FN(sq_acc)(&acc, &v2);
          if (kn > 3)
            NN_FN(sq_acc)(&acc, &v3);
        }
        for (size_t i = 0; i < n; i++) {
          NN_REAL *yi = y + i * out + j0 + j;
          NN_ST(yi, NN_LD(yi) + c[i][0] * v0 + c[i][1] * v1 + c[i][2] * v2 +
                        c[i][3] * v3);
        }
      }
      for (; j < jn; j++) {
        const NN_REAL *wq[4] = {w0, w1, w2, w3};
        for (size_t q = 0; ss && q < kn; q++)
          t[j % 8] += (double)wq[q][j] * (double)wq[q][j];
        for (size_t i = 0; i < n; i++) {
          NN_REAL *yi = y + i * out + j0 + j;
          *yi = *yi + c[i][0] * w0[j] + c[i][1] * w1[j] + c[i][2] * w2[j] +
                c[i][3] * w3[j];
        }
      }
    }
  }
  if (!ss)
    return;
  double u[8];
  memcpy(u, &acc, sizeof u);
  for (size_t l = 0; l < 8; l++)
    u[l] += t[l];
  *ss = ((u[0] + u[4]) + (u[2] + u[6])) + ((u[1] + u[5]) + (u[3] + u[7]));
}

void NN_FN(nn_affine_fwd)(const NN_REAL *x, const NN_REAL *W,
                          const NN_REAL *b, NN_REAL *y, size_t n, size_t in,
                          size_t out) {
  if (n == 0)
    return;
  if (NN_FN(few)(n, in, out)) {
    NN_FN(fwd_few)(x, W, b, y, n, in, out, NULL);
    return;
  }
  for (size_t i = 0; i < n; i++)
    memcpy(y + i * out, b, out * sizeof *y);
  NN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)n,
          (blasint)out, (blasint)in, 1, x, (blasint)in, W, (blasint)out, 1, y,
          (blasint)out);
}

/* db = the column sums of dy (n x out) */
NN_CLONES static void NN_FN(colsum)(const NN_REAL *dy, NN_REAL *db, size_t n,
                                    size_t out) {
  size_t j = 0;
  for (; j + NN_LANES <= out; j += NN_LANES) {
    NN_VEC a = {0};
    for (size_t i = 0; i < n; i++)
      a += NN_LD(dy + i * out + j);
    NN_ST(db + j, a);
  }
  for (; j < out; j++) {
    NN_REAL a = 0;
    for (size_t i = 0; i < n; i++)
      a += dy[i * out + j];
    db[j] = a;
  }
}

/* dW = r W over count elements */
NN_CLONES static void NN_FN(scaled)(const NN_REAL *W, NN_REAL *dW,
                                    size_t count, NN_REAL r) {
  size_t k = 0;
  for (; k + NN_LANES <= count; k += NN_LANES)
    NN_ST(dW + k, r * NN_LD(W + k));
  for (; k < count; k++)
    dW[k] = r * W[k];
}

/* Whether every element of v is finite. */
static int NN_FN(finite_all)(const NN_REAL *v, size_t count) {
  for (size_t k = 0; k < count; k++)
    if (!(v[k] - v[k] == 0))
      return 0;
  return 1;
}

/* Backward of a batch of at most four examples (a gradient check's few
 * datapoints), one pass over the weights row by row instead of four (dW = r
 * W, the product into dW, dx = dy W^T): dW[k,:] = r W[k,:] + sum_i x[i,k]
 * dy[i,:] and dx[i,k] = dy[i,:] . W[k,:], in lane sums.  Rows i >= n are
 * row 0 with the coefficient 0 (dy is finite: checked by the caller). */
NN_CLONES static void NN_FN(bwd_few)(const NN_REAL *x, const NN_REAL *W,
                                     const NN_REAL *dy, NN_REAL *dx,
                                     NN_REAL *dW, size_t n, size_t in,
                                     size_t out, NN_REAL r) {
  const NN_REAL *d0 = dy, *d1 = n > 1 ? dy + out : dy;
  const NN_REAL *d2 = n > 2 ? dy + 2 * out : dy, *d3 = n > 3 ? dy + 3 * out : dy;
  for (size_t k = 0; k < in; k++) {
    const NN_REAL *wk = W + k * out;
    NN_REAL *gk = dW + k * out;
    NN_REAL c0 = x[k], c1 = n > 1 ? x[in + k] : 0;
    NN_REAL c2 = n > 2 ? x[2 * in + k] : 0, c3 = n > 3 ? x[3 * in + k] : 0;
    NN_VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    size_t j = 0;
    for (; j + NN_LANES <= out; j += NN_LANES) {
      NN_VEC w = NN_LD(wk + j);
      NN_VEC e0 = NN_LD(d0 + j), e1 = NN_LD(d1 + j);
      NN_VEC e2 = NN_LD(d2 + j), e3 = NN_LD(d3 + j);
      NN_ST(gk + j, r * w + (c0 * e0 + c1 * e1) + (c2 * e2 + c3 * e3));
      a0 += e0 * w;
      a1 += e1 * w;
      a2 += e2 * w;
      a3 += e3 * w;
    }
    NN_REAL t[4][NN_LANES];
    memcpy(t[0], &a0, sizeof t[0]);
    memcpy(t[1], &a1, sizeof t[1]);
    memcpy(t[2], &a2, sizeof t[2]);
    memcpy(t[3], &a3, sizeof t[3]);
    for (; j < out; j++) {
      NN_REAL w = wk[j];
      gk[j] = r * w + (c0 * d0[j] + c1 * d1[j]) + (c2 * d2[j] + c3 * d3[j]);
      t[0][j % NN_LANES] += d0[j] * w;
      t[1][j % NN_LANES] += d1[j] * w;
      t[2][j % NN_LANES] += d2[j] * w;
      t[3][j % NN_LANES] += d3[j] * w;
    }
    if (!dx)
      continue;
    for (size_t i = 0; i < n; i++) {
      for (size_t h = NN_LANES / 2; h > 0; h /= 2)
        for (size_t l = 0; l < h; l++)
          t[i][l] += t[i][l + h];
      dx[i * in + k] = t[i][0];
    }
  }
}

void NN_FN(nn_affine_bwd_l2)(const NN_REAL *x, const NN_REAL *W,
                             const NN_REAL *dy, NN_REAL *dx, NN_REAL *dW,
                             NN_REAL *db, size_t n, size_t in, size_t out,
                             double reg) {
  NN_REAL r = (NN_REAL)reg;
  if (NN_FN(few)(n, in, out) && NN_FN(finite_all)(dy, n * out)) {
    if (db)
      NN_FN(colsum)(dy, db, n, out);
    NN_FN(bwd_few)(x, W, dy, dx, dW, n, in, out, r);
    return;
  }
  /* dW starts as reg W (or is not read: beta = 0), so host sentinels never
   * leak in */
  if (reg != 0)
    NN_FN(scaled)(W, dW, in * out, r);
  if (n == 0) {
    for (size_t j = 0; db && j < out; j++)
      db[j] = 0;
    if (reg == 0)
      for (size_t k = 0; k < in * out; k++)
        dW[k] = 0;
    return;
  }
  if (db)
    NN_FN(colsum)(dy, db, n, out);
  NN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)in, (blasint)out,
          (blasint)n, 1, x, (blasint)in, dy, (blasint)out, reg != 0 ? 1 : 0,
          dW, (blasint)out);
  if (dx)
    NN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)n, (blasint)in,
            (blasint)out, 1, dy, (blasint)out, W, (blasint)out, 0, dx,
            (blasint)in);
}

void NN_FN(nn_affine_bwd)(const NN_REAL *x, const NN_REAL *W,
                          const NN_REAL *dy, NN_REAL *dx, NN_REAL *dW,
                          NN_REAL *db, size_t n, size_t in, size_t out) {
  NN_FN(nn_affine_bwd_l2)(x, W, dy, dx, dW, db, n, in, out, 0);
}

/* y = x + b elementwise (y may be x) */
NN_CLONES static void NN_FN(add_to)(const NN_REAL *x, const NN_REAL *b,
                                    NN_REAL *y, size_t count) {
  size_t k = 0;
  for (; k + NN_LANES <= count; k += NN_LANES)
    NN_ST(y + k, NN_LD(x + k) + NN_LD(b + k));
  for (; k < count; k++)
    y[k] = x[k] + b[k];
}

/* y = max(x, +0) (y may be x): -0 and NaN become +0, as x > 0 ? x : +0 */
NN_CLONES static void NN_FN(relu_plain)(const NN_REAL *x, NN_REAL *y,
                                        size_t count) {
  const NN_VEC z = {0};
  size_t k = 0;
  for (; k + NN_LANES <= count; k += NN_LANES) {
    NN_VEC v = NN_LD(x + k);
    NN_ST(y + k, (NN_VEC)((NN_IVEC)v & (v > z)));
  }
  for (; k < count; k++)
    y[k] = NN_FN(nn_keep)(x[k], x[k] > 0);
}

/* dx = y > 0 ? dy : +0 */
NN_CLONES static void NN_FN(relu_mask)(const NN_REAL *y, const NN_REAL *dy,
                                       NN_REAL *dx, size_t count) {
  const NN_VEC z = {0};
  size_t k = 0;
  for (; k + NN_LANES <= count; k += NN_LANES)
    NN_ST(dx + k, (NN_VEC)((NN_IVEC)NN_LD(dy + k) &
                                (NN_LD(y + k) > z)));
  for (; k < count; k++)
    dx[k] = NN_FN(nn_keep)(dy[k], y[k] > 0);
}

/* One word of n <= 64 units: y = max(x + b, +0) (b NULL: no bias; y may
 * be x), the decisions folded into *w as one fingerprint step. */
static void NN_FN(relu_word)(const NN_REAL *x, const NN_REAL *b, NN_REAL *y,
                             size_t n, nn_winners *w) {
  uint64_t won = 0, ties = 0;
#if NN_HAVE_AVX512_RELU
  if (nn_avx512()) {
    NN_FN(relun_avx512)(x, b, y, n, &won, &ties);
    nn_winners_add_word(w, won, n, ties);
    return;
  }
#endif
  if (b) {
    NN_FN(add_to)(x, b, y, n);
    x = y;
  }
#if NN_HAVE_SSE2
  if (n == 64) {
    NN_FN(relu64)(x, y, &won, &ties);
    nn_winners_add_word(w, won, n, ties);
    return;
  }
#endif
  for (size_t j = 0; j < n; j++) {
    NN_REAL v = x[j];
    won |= (uint64_t)(v > 0) << j;
    ties += v == 0;
    y[j] = NN_FN(nn_keep)(v, v > 0);
  }
  nn_winners_add_word(w, won, n, ties);
}

void NN_FN(nn_relu_fwd)(const NN_REAL *x, NN_REAL *y, size_t count,
                        nn_winners *w) {
  if (!w) {
    NN_FN(relu_plain)(x, y, count);
    return;
  }
  /* the decisions of 64 units packed into a word, one fingerprint step per
   * word */
  for (size_t k0 = 0; k0 < count; k0 += 64)
    NN_FN(relu_word)(x + k0, NULL, y + k0, count - k0 < 64 ? count - k0 : 64,
                     w);
}

/* The bias row repeated, so that the bias of any 64 consecutive units of
 * the output matrix is one contiguous stretch of it. */
#define NN_TILE 2112

/* affine_relu_fwd, and *ss = sum W^2 when it comes in passing (few rows):
 * returns whether it did */
static int NN_FN(affine_relu_ss)(const NN_REAL *x, const NN_REAL *W,
                                 const NN_REAL *b, NN_REAL *y, size_t n,
                                 size_t in, size_t out, nn_winners *w,
                                 double *ss) {
  int got = 0;
  if (n == 0)
    return 0;
  if (NN_FN(few)(n, in, out)) {
    NN_FN(fwd_few)(x, W, NULL, y, n, in, out, ss);
    got = ss != NULL;
  } else
    NN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)n,
            (blasint)out, (blasint)in, 1, x, (blasint)in, W, (blasint)out, 0,
            y, (blasint)out);
  size_t count = n * out;
  if (out + 64 > NN_TILE) { /* wide rows: the bias, then the ReLU */
    for (size_t i = 0; i < n; i++)
      NN_FN(add_to)(y + i * out, b, y + i * out, out);
    NN_FN(nn_relu_fwd)(y, y, count, w);
    return got;
  }
  NN_REAL tile[NN_TILE];
  for (size_t k = 0; k < out + 64; k += out)
    memcpy(tile + k, b, (out + 64 - k < out ? out + 64 - k : out) * sizeof *b);
  if (!w) {
    for (size_t k0 = 0, o = 0; k0 < count; k0 += 64, o = (o + 64) % out) {
      size_t m = count - k0 < 64 ? count - k0 : 64;
      NN_FN(add_to)(y + k0, tile + o, y + k0, m);
      NN_FN(relu_plain)(y + k0, y + k0, m);
    }
    return got;
  }
  for (size_t k0 = 0, o = 0; k0 < count; k0 += 64, o = (o + 64) % out)
    NN_FN(relu_word)(y + k0, tile + o, y + k0,
                     count - k0 < 64 ? count - k0 : 64, w);
  return got;
}

void NN_FN(nn_affine_relu_fwd)(const NN_REAL *x, const NN_REAL *W,
                               const NN_REAL *b, NN_REAL *y, size_t n,
                               size_t in, size_t out, nn_winners *w) {
  NN_FN(affine_relu_ss)(x, W, b, y, n, in, out, w, NULL);
}

void NN_FN(nn_relu_bwd)(const NN_REAL *restrict y, const NN_REAL *restrict dy,
                        NN_REAL *restrict dx, size_t count) {
  NN_FN(relu_mask)(y, dy, dx, count);
}

/* the same over n rows of width, and db = the column sums of dx */
NN_CLONES static void NN_FN(relu_mask_sum)(const NN_REAL *y,
                                           const NN_REAL *dy, NN_REAL *dx,
                                           NN_REAL *db, size_t n,
                                           size_t width) {
  const NN_VEC z = {0};
  for (size_t j = 0; j < width; j++)
    db[j] = 0;
  for (size_t i = 0; i < n; i++) {
    const NN_REAL *yi = y + i * width, *gi = dy + i * width;
    NN_REAL *di = dx + i * width;
    size_t k = 0;
    for (; k + NN_LANES <= width; k += NN_LANES) {
      NN_VEC g = (NN_VEC)((NN_IVEC)NN_LD(gi + k) & (NN_LD(yi + k) > z));
      NN_ST(di + k, g);
      NN_ST(db + k, NN_LD(db + k) + g);
    }
    for (; k < width; k++) {
      di[k] = NN_FN(nn_keep)(gi[k], yi[k] > 0);
      db[k] += di[k];
    }
  }
}

void NN_FN(nn_relu_bwd_sum)(const NN_REAL *y, const NN_REAL *dy, NN_REAL *dx,
                            NN_REAL *db, size_t n, size_t width) {
  NN_FN(relu_mask_sum)(y, dy, dx, db, n, width);
}

void NN_FN(nn_tanh_fwd)(const NN_REAL *x, NN_REAL *y, size_t count) {
  for (size_t k = 0; k < count; k++)
    y[k] = NN_TANH(x[k]);
}

void NN_FN(nn_tanh_bwd)(const NN_REAL *y, const NN_REAL *dy, NN_REAL *dx,
                        size_t count) {
  for (size_t k = 0; k < count; k++)
    dx[k] = dy[k] * (1 - y[k] * y[k]);
}

void NN_FN(nn_dropout_fwd)(const NN_REAL *x, NN_REAL *y, size_t count,
                           double p, uint64_t seed, uint64_t layer) {
  NN_REAL scale = (NN_REAL)(1.0 / (1.0 - p));
  uint64_t base = nn_stream(seed, layer);
  for (size_t k = 0; k < count; k++)
    y[k] = nn_dropout_kept(base, k, p) ? x[k] * scale : 0;
}

void NN_FN(nn_dropout_bwd)(const NN_REAL *dy, NN_REAL *dx, size_t count,
                           double p, uint64_t seed, uint64_t layer) {
  NN_REAL scale = (NN_REAL)(1.0 / (1.0 - p));
  uint64_t base = nn_stream(seed, layer);
  for (size_t k = 0; k < count; k++)
    dx[k] = nn_dropout_kept(base, k, p) ? dy[k] * scale : 0;
}

/* The mean softmax loss takes the logarithm of a product of eight rows'
 * normalisers (each in [1, C], so the product stays far from overflow), in
 * double, instead of one per row: the same sum, an eighth of the
 * logarithms.  Per-row losses and weighted sums take one per row. */
#define NN_LOG_GROUP 8

double NN_FN(nn_softmax_loss)(const NN_REAL *s, const int32_t *label,
                              size_t n, size_t C, const NN_REAL *weight,
                              NN_REAL *per, NN_REAL *ds) {
  double total = 0;
  NN_REAL mean_w = n ? (NN_REAL)(1.0 / (double)n) : 0;
  int grouped = !weight && !per;
  double prod = 1, lsum = 0; /* a group's normalisers and label margins */
  for (size_t i = 0; i < n; i++) {
    const NN_REAL *si = s + i * C;
    size_t yi = (size_t)label[i];
    NN_REAL m = si[0];
    for (size_t j = 1; j < C; j++)
      if (si[j] > m)
        m = si[j];
    NN_REAL z = 0;
    NN_REAL *di = ds ? ds + i * C : NULL;
    if (di)
      for (size_t j = 0; j < C; j++)
        z += di[j] = NN_EXP(si[j] - m); /* each exponential once */
    else
      for (size_t j = 0; j < C; j++)
        z += NN_EXP(si[j] - m);
    NN_REAL wi = weight ? weight[i] : mean_w;
    if (grouped) {
      prod *= (double)z;
      lsum += (double)(si[yi] - m);
      if ((i + 1) % NN_LOG_GROUP == 0 || i + 1 == n) {
        total += log(prod) - lsum;
        prod = 1;
        lsum = 0;
      }
    } else {
      NN_REAL li = NN_LOG(z) - (si[yi] - m);
      total += weight ? (double)wi * (double)li : (double)li;
      if (per)
        per[i] = li;
    }
    if (di) {
      NN_REAL r = wi / z; /* one division a row */
      for (size_t j = 0; j < C; j++)
        di[j] *= r;
      di[yi] -= wi;
    }
  }
  return weight || n == 0 ? total : total / (double)n;
}

double NN_FN(nn_svm_loss)(const NN_REAL *s, const int32_t *label, size_t n,
                          size_t C, double margin, const NN_REAL *weight,
                          NN_REAL *per, NN_REAL *ds, nn_winners *w) {
  double total = 0;
  NN_REAL mean_w = n ? (NN_REAL)(1.0 / (double)n) : 0;
  NN_REAL delta = (NN_REAL)margin;
  for (size_t i = 0; i < n; i++) {
    const NN_REAL *si = s + i * C;
    size_t yi = (size_t)label[i];
    NN_REAL wi = weight ? weight[i] : mean_w;
    NN_REAL li = 0;
    size_t active = 0;
    for (size_t j = 0; j < C; j++) {
      if (j == yi)
        continue;
      NN_REAL mj = si[j] - si[yi] + delta;
      int won = mj > 0;
      if (w)
        nn_winners_add(w, won, mj == 0);
      if (won) {
        li += mj;
        active++;
      }
      if (ds)
        ds[i * C + j] = won ? wi : 0;
    }
    if (ds)
      ds[i * C + yi] = -wi * (NN_REAL)active;
    total += weight ? (double)wi * (double)li : (double)li;
    if (per)
      per[i] = li;
  }
  return weight || n == 0 ? total : total / (double)n;
}

/* Sixteen partial sums in double, two vectors of eight lanes (a single sum
 * chains every addition to the previous one and makes this pass over all
 * the weights latency-bound), then the lanes pairwise. */
NN_CLONES static double NN_FN(sumsq_lanes)(const NN_REAL *x, size_t count) {
  nn_vec_f64 a = {0}, b = {0};
  size_t k = 0;
  for (; k + 16 <= count; k += 16) {
    nn_vec_f64 u, v;
#if NN_IS_FLOAT
    u = __builtin_convertvector(*(const nn_half_f32 *)(const void *)(x + k),
                                nn_vec_f64);
    v = __builtin_convertvector(
        *(const nn_half_f32 *)(const void *)(x + k + 8), nn_vec_f64);
#else
    u = *(const nn_uvec_f64 *)(const void *)(x + k);
    v = *(const nn_uvec_f64 *)(const void *)(x + k + 8);
#endif
    a += u * u;
    b += v * v;
  }
  a += b;
  double t[8];
  memcpy(t, &a, sizeof t);
  for (; k < count; k++)
    t[k % 8] += (double)x[k] * (double)x[k];
  return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

double NN_FN(nn_sumsq)(const NN_REAL *x, size_t count) {
  return NN_FN(sumsq_lanes)(x, count);
}

/* ---- void-pointer adapters for nn_ops ----------------------------------- */

static void NN_FN(op_affine_fwd)(const void *x, const void *W, const void *b,
                                 void *y, size_t n, size_t in, size_t out) {
  NN_FN(nn_affine_fwd)(x, W, b, y, n, in, out);
}

static void NN_FN(op_affine_bwd)(const void *x, const void *W, const void *dy,
                                 void *dx, void *dW, void *db, size_t n,
                                 size_t in, size_t out) {
  NN_FN(nn_affine_bwd)(x, W, dy, dx, dW, db, n, in, out);
}

static void NN_FN(op_affine_bwd_l2)(const void *x, const void *W,
                                    const void *dy, void *dx, void *dW,
                                    void *db, size_t n, size_t in, size_t out,
                                    double reg) {
  NN_FN(nn_affine_bwd_l2)(x, W, dy, dx, dW, db, n, in, out, reg);
}

static void NN_FN(op_relu_fwd)(const void *x, void *y, size_t count,
                               nn_winners *w) {
  NN_FN(nn_relu_fwd)(x, y, count, w);
}

static void NN_FN(op_relu_bwd)(const void *y, const void *dy, void *dx,
                               size_t count) {
  NN_FN(nn_relu_bwd)(y, dy, dx, count);
}

static void NN_FN(op_affine_relu_fwd)(const void *x, const void *W,
                                      const void *b, void *y, size_t n,
                                      size_t in, size_t out, nn_winners *w) {
  NN_FN(nn_affine_relu_fwd)(x, W, b, y, n, in, out, w);
}

static int NN_FN(op_affine_fwd_ss)(const void *x, const void *W,
                                   const void *b, void *y, size_t n,
                                   size_t in, size_t out, int relu,
                                   nn_winners *w, double *ss) {
  if (relu)
    return NN_FN(affine_relu_ss)(x, W, b, y, n, in, out, w, ss);
  if (NN_FN(few)(n, in, out)) {
    NN_FN(fwd_few)(x, W, b, y, n, in, out, ss);
    return ss != NULL;
  }
  NN_FN(nn_affine_fwd)(x, W, b, y, n, in, out);
  return 0;
}

static void NN_FN(op_relu_bwd_sum)(const void *y, const void *dy, void *dx,
                                   void *db, size_t n, size_t width) {
  NN_FN(nn_relu_bwd_sum)(y, dy, dx, db, n, width);
}

static void NN_FN(op_tanh_fwd)(const void *x, void *y, size_t count) {
  NN_FN(nn_tanh_fwd)(x, y, count);
}

static void NN_FN(op_tanh_bwd)(const void *y, const void *dy, void *dx,
                               size_t count) {
  NN_FN(nn_tanh_bwd)(y, dy, dx, count);
}

static void NN_FN(op_dropout_fwd)(const void *x, void *y, size_t count,
                                  double p, uint64_t seed, uint64_t layer) {
  NN_FN(nn_dropout_fwd)(x, y, count, p, seed, layer);
}

static void NN_FN(op_dropout_bwd)(const void *dy, void *dx, size_t count,
                                  double p, uint64_t seed, uint64_t layer) {
  NN_FN(nn_dropout_bwd)(dy, dx, count, p, seed, layer);
}

static double NN_FN(op_softmax_loss)(const void *s, const int32_t *label,
                                     size_t n, size_t C, const void *weight,
                                     void *per, void *ds) {
  return NN_FN(nn_softmax_loss)(s, label, n, C, weight, per, ds);
}

static double NN_FN(op_svm_loss)(const void *s, const int32_t *label,
                                 size_t n, size_t C, double margin,
                                 const void *weight, void *per, void *ds,
                                 nn_winners *w) {
  return NN_FN(nn_svm_loss)(s, label, n, C, margin, weight, per, ds, w);
}

static double NN_FN(op_sumsq)(const void *x, size_t count) {
  return NN_FN(nn_sumsq)(x, count);
}

static void NN_FN(op_axpy)(size_t count, double alpha, const void *x,
                           void *y) {
  const NN_REAL *xs = x;
  NN_REAL *ys = y;
  NN_REAL a = (NN_REAL)alpha;
  for (size_t k = 0; k < count; k++)
    ys[k] += a * xs[k];
}

static void NN_FN(op_zero)(void *x, size_t count) {
  NN_REAL *xs = x;
  for (size_t k = 0; k < count; k++)
    xs[k] = 0;
}

static void NN_FN(op_from_double)(const double *src, void *dst,
                                  size_t count) {
  NN_REAL *d = dst;
  for (size_t k = 0; k < count; k++)
    d[k] = (NN_REAL)src[k];
}

static void NN_FN(op_argmax)(const void *s, size_t n, size_t C,
                             int32_t *pred) {
  const NN_REAL *ss = s;
  for (size_t i = 0; i < n; i++) {
    size_t best = 0;
    for (size_t j = 1; j < C; j++)
      if (ss[i * C + j] > ss[i * C + best])
        best = j;
    pred[i] = (int32_t)best;
  }
}

const nn_ops NN_FN(nn_ops) = {
    .elem = sizeof(NN_REAL),
    .is_float = sizeof(NN_REAL) == sizeof(float),
    .affine_fwd = NN_FN(op_affine_fwd),
    .affine_bwd = NN_FN(op_affine_bwd),
    .affine_bwd_l2 = NN_FN(op_affine_bwd_l2),
    .relu_fwd = NN_FN(op_relu_fwd),
    .relu_bwd = NN_FN(op_relu_bwd),
    .affine_relu_fwd = NN_FN(op_affine_relu_fwd),
    .relu_bwd_sum = NN_FN(op_relu_bwd_sum),
    .affine_fwd_ss = NN_FN(op_affine_fwd_ss),
    .tanh_fwd = NN_FN(op_tanh_fwd),
    .tanh_bwd = NN_FN(op_tanh_bwd),
    .dropout_fwd = NN_FN(op_dropout_fwd),
    .dropout_bwd = NN_FN(op_dropout_bwd),
    .softmax_loss = NN_FN(op_softmax_loss),
    .svm_loss = NN_FN(op_svm_loss),
    .sumsq = NN_FN(op_sumsq),
    .axpy = NN_FN(op_axpy),
    .zero = NN_FN(op_zero),
    .from_double = NN_FN(op_from_double),
    .argmax = NN_FN(op_argmax),
};

#undef NN_FN
#undef NN_CAT
#undef NN_CAT_
#undef NN_LANES
#undef NN_LD
#undef NN_ST
#undef NN_TILE
#undef NN_LOG_GROUP
