/* hard_kernels_impl.h — the kernels of hard_layers.h, written once for both
 * element types.  Included only by hard_kernels.c, once per type, with:
 *   HL_REAL   the element type (double or float)
 *   HL_SFX    the name suffix (_f64 or _f32)
 *   HL_GEMM   cblas_dgemm or cblas_sgemm
 *   HL_EXP, HL_SQRT   the math functions of that type
 * No include guard: it is meant to be included more than once. */

#define HL_CAT_(a, b) a##b
#define HL_CAT(a, b) HL_CAT_(a, b)
#define HL_FN(name) HL_CAT(name, HL_SFX)

#define R HL_REAL

/* C = alpha op(A) op(B) + beta C, row-major, op(A) M x K, op(B) K x N, every
 * matrix stored densely.  beta = 0: BLAS does not read C, so host sentinels
 * never leak in. */
static void HL_FN(mm)(int ta, int tb, size_t M, size_t N, size_t K, R alpha,
                      const R *A, const R *B, R beta, R *C) {
  HL_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
          tb ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K,
          alpha, A, (blasint)(ta ? M : K), B, (blasint)(tb ? K : N), beta, C,
          (blasint)N);
}

/* ---- conv2d ------------------------------------------------------------ */

/* col[(c k + ky) k + kx][oy wo + ox] = src[c][oy s - pad + ky][ox s - pad + kx],
 * 0 where that falls in the padding; with `clamp`, the nearest edge pixel
 * instead. */
static void HL_FN(im2col)(const R *src, size_t C, size_t H, size_t W,
                          size_t k, size_t s, size_t pad, size_t ho,
                          size_t wo, int clamp, R *col) {
  size_t P = ho * wo;
  for (size_t c = 0; c < C; c++)
    for (size_t ky = 0; ky < k; ky++)
      for (size_t kx = 0; kx < k; kx++) {
        R *row = col + ((c * k + ky) * k + kx) * P;
        for (size_t oy = 0; oy < ho; oy++) {
          long iy = (long)(oy * s + ky) - (long)pad;
          int yin = iy >= 0 && iy < (long)H;
          if (clamp)
            iy = iy < 0 ? 0 : iy >= (long)H ? (long)H - 1 : iy;
          for (size_t ox = 0; ox < wo; ox++) {
            long ix = (long)(ox * s + kx) - (long)pad;
            int in = yin && ix >= 0 && ix < (long)W;
            if (clamp) {
              ix = ix < 0 ? 0 : ix >= (long)W ? (long)W - 1 : ix;
              in = 1;
            }
            row[oy * wo + ox] =
                in ? src[(c * H + (size_t)iy) * W + (size_t)ix] : 0;
          }
        }
      }
}

void HL_FN(hl_conv_fwd)(const hl_conv_geom *g, const R *x, const R *W,
                        const R *b, R *y, size_t n, R *tmp) {
  size_t P = g->ho * g->wo, K = g->cin * g->k * g->k;
  size_t in = g->cin * g->h * g->w, out = g->cout * P;
  for (size_t e = 0; e < n; e++) {
    HL_FN(im2col)(x + e * in, g->cin, g->h, g->w, g->k, g->stride, g->pad,
                  g->ho, g->wo, 0, tmp);
    R *ye = y + e * out;
    HL_FN(mm)(0, 0, g->cout, P, K, 1, W, tmp, 0, ye);
    for (size_t co = 0; co < g->cout; co++)
      for (size_t p = 0; p < P; p++)
        ye[co * P + p] += b[co];
  }
}

void HL_FN(hl_conv_bwd)(const hl_conv_geom *g, const R *x, const R *W,
                        const R *dy, R *dx, R *dW, R *db, size_t n, R *tmp) {
  size_t k = g->k, P = g->ho * g->wo, K = g->cin * k * k;
  size_t hw = g->h * g->w, in = g->cin * hw, out = g->cout * P;
  /* dx's convolution runs over dy dilated and padded to (h+k-1) x (w+k-1),
   * so that a stride-1 valid convolution with a k x k kernel gives h x w. */
  size_t hd = g->h + k - 1, wd = g->w + k - 1, lead = k - 1 - g->pad;
  R *col = tmp;                          /* K x P: im2col of x */
  R *dyd = col + K * P;                  /* cout x hd x wd */
  R *dcol = dyd + g->cout * hd * wd;     /* cout k k x h w */
  R *Wt = dcol + g->cout * k * k * hw;   /* cin x cout k k */
  for (size_t co = 0; co < g->cout; co++)
    db[co] = 0;
  if (n == 0)
    for (size_t i = 0; i < g->cout * K; i++)
      dW[i] = 0;
  /* dx = conv(dy, W^T): the kernel of input channel ci over output channel
   * co is W[co][ci] rotated by 180 degrees, since output pixel o took input
   * pixel o s - pad + kyx through tap kyx. */
  for (size_t ci = 0; ci < g->cin; ci++)
    for (size_t co = 0; co < g->cout; co++)
      for (size_t ky = 0; ky < k; ky++)
        for (size_t kx = 0; kx < k; kx++)
#if HL_BUG == HL_BUG_CONV2D_NOFLIP
          /* bug: channels transposed, kernel not rotated */
          Wt[((ci * g->cout + co) * k + ky) * k + kx] =
              W[((co * g->cin + ci) * k + ky) * k + kx];
#else
          Wt[((ci * g->cout + co) * k + ky) * k + kx] =
              W[((co * g->cin + ci) * k + (k - 1 - ky)) * k + (k - 1 - kx)];
#endif
  for (size_t e = 0; e < n; e++) {
    const R *dye = dy + e * out;
    for (size_t co = 0; co < g->cout; co++)
      for (size_t p = 0; p < P; p++)
        db[co] += dye[p + co * P];
#if HL_BUG == HL_BUG_CONV2D_BORDER
    /* bug: the patches for dW read the padding as the nearest edge pixel */
    HL_FN(im2col)(x + e * in, g->cin, g->h, g->w, k, g->stride, g->pad,
                  g->ho, g->wo, 1, col);
#else
    HL_FN(im2col)(x + e * in, g->cin, g->h, g->w, k, g->stride, g->pad,
                  g->ho, g->wo, 0, col);
#endif
    HL_FN(mm)(0, 1, g->cout, K, P, 1, dye, col, e ? 1 : 0, dW);
    for (size_t i = 0; i < g->cout * hd * wd; i++)
      dyd[i] = 0;
    for (size_t co = 0; co < g->cout; co++)
      for (size_t oy = 0; oy < g->ho; oy++)
        for (size_t ox = 0; ox < g->wo; ox++)
          dyd[(co * hd + lead + oy * g->stride) * wd + lead + ox * g->stride] =
              dye[(co * g->ho + oy) * g->wo + ox];
    HL_FN(im2col)(dyd, g->cout, hd, wd, k, 1, 0, g->h, g->w, 0, dcol);
    HL_FN(mm)(0, 0, g->cin, hw, g->cout * k * k, 1, Wt, dcol, 0, dx + e * in);
  }
}

/* ---- 2x2 max-pool -------------------------------------------------------- */

/* The window's first maximum in scan order, and how many elements equal
 * it unless `equal` is NULL. */
static size_t HL_FN(window_max)(const R *xc, size_t w, size_t oy, size_t ox,
                                size_t *equal) {
  size_t at[4], best = 0;
  for (size_t q = 0; q < 4; q++)
    at[q] = (2 * oy + q / 2) * w + 2 * ox + q % 2;
  for (size_t q = 1; q < 4; q++)
    if (xc[at[q]] > xc[at[best]])
      best = q;
  if (equal) {
    *equal = 0;
    for (size_t q = 0; q < 4; q++)
      *equal += xc[at[q]] == xc[at[best]];
  }
  return best;
}

void HL_FN(hl_maxpool_fwd)(const R *x, R *y, size_t n, size_t c, size_t h,
                           size_t w, nn_winners *win) {
  size_t ho = h / 2, wo = w / 2;
  for (size_t m = 0; m < n * c; m++) {
    const R *xc = x + m * h * w;
    for (size_t oy = 0; oy < ho; oy++)
      for (size_t ox = 0; ox < wo; ox++) {
        size_t equal, q = HL_FN(window_max)(xc, w, oy, ox, &equal);
        y[(m * ho + oy) * wo + ox] = xc[(2 * oy + q / 2) * w + 2 * ox + q % 2];
        /* the winner's identity, one of four: a bijective step per outcome */
        uint64_t hsh = (win->hash ^ (q + 1)) * NN_GOLDEN;
        win->hash = hsh ^ (hsh >> 29);
        win->decisions++;
        win->ties += equal > 1;
      }
  }
}

void HL_FN(hl_maxpool_bwd)(const R *x, const R *dy, R *dx, size_t n,
                           size_t c, size_t h, size_t w) {
  size_t ho = h / 2, wo = w / 2;
  for (size_t i = 0; i < n * c * h * w; i++)
    dx[i] = 0;
  for (size_t m = 0; m < n * c; m++) {
    const R *xc = x + m * h * w;
    R *dxc = dx + m * h * w;
    for (size_t oy = 0; oy < ho; oy++)
      for (size_t ox = 0; ox < wo; ox++) {
        R g = dy[(m * ho + oy) * wo + ox];
        size_t q = HL_FN(window_max)(xc, w, oy, ox, NULL);
#if HL_BUG == HL_BUG_MAXPOOL_ALLTIED
        /* bug: the mask x == max(window) holds at every tied element */
        R mx = xc[(2 * oy + q / 2) * w + 2 * ox + q % 2];
        for (size_t r = 0; r < 4; r++) {
          size_t at = (2 * oy + r / 2) * w + 2 * ox + r % 2;
          if (xc[at] == mx)
            dxc[at] = g;
        }
#else
        dxc[(2 * oy + q / 2) * w + 2 * ox + q % 2] = g;
#endif
      }
  }
}

/* ---- normalisation ------------------------------------------------------- */

/* The groups of an axis: how many, their size, and where member t of group
 * gi lives. */
static size_t HL_FN(norm_groups)(int axis, size_t n, size_t D, size_t *m) {
  *m = axis == HL_NORM_BATCH ? n : axis == HL_NORM_EXAMPLE ? D : n * D;
  return axis == HL_NORM_BATCH ? D : axis == HL_NORM_EXAMPLE ? n : 1;
}

static size_t HL_FN(norm_at)(int axis, size_t D, size_t gi, size_t t) {
  return axis == HL_NORM_BATCH ? t * D + gi
         : axis == HL_NORM_EXAMPLE ? gi * D + t
                                   : t;
}

void HL_FN(hl_norm_fwd)(const R *x, const R *gamma, const R *beta, R *y,
                        R *xhat, R *istd, size_t n, size_t D, int axis,
                        double eps) {
  size_t m, groups = HL_FN(norm_groups)(axis, n, D, &m);
  for (size_t gi = 0; gi < groups; gi++) {
    R mean = 0, var = 0;
    for (size_t t = 0; t < m; t++)
      mean += x[HL_FN(norm_at)(axis, D, gi, t)];
    mean /= (R)m;
    for (size_t t = 0; t < m; t++) {
      R c = x[HL_FN(norm_at)(axis, D, gi, t)] - mean;
      var += c * c;
    }
    var /= (R)m;
    R is = 1 / HL_SQRT(var + (R)eps);
    istd[gi] = is;
    for (size_t t = 0; t < m; t++) {
      size_t i = HL_FN(norm_at)(axis, D, gi, t);
      xhat[i] = (x[i] - mean) * is;
    }
  }
  for (size_t i = 0; i < n * D; i++)
    y[i] = gamma[i % D] * xhat[i] + beta[i % D];
}

void HL_FN(hl_norm_bwd)(const R *xhat, const R *istd, const R *gamma,
                        const R *dy, R *dx, R *dgamma, R *dbeta, size_t n,
                        size_t D, int axis) {
  for (size_t j = 0; j < D; j++)
    dgamma[j] = dbeta[j] = 0;
  for (size_t i = 0; i < n * D; i++) {
    dgamma[i % D] += dy[i] * xhat[i];
    dbeta[i % D] += dy[i];
  }
  /* dx = istd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) per group, with
   * dxhat = gamma dy: the mean and the variance both depend on every member. */
  size_t m, groups = HL_FN(norm_groups)(axis, n, D, &m);
  for (size_t gi = 0; gi < groups; gi++) {
    R s1 = 0, s2 = 0;
    for (size_t t = 0; t < m; t++) {
      size_t i = HL_FN(norm_at)(axis, D, gi, t);
      R g = gamma[i % D] * dy[i];
      s1 += g;
      s2 += g * xhat[i];
    }
    s1 /= (R)m;
    s2 /= (R)m;
    for (size_t t = 0; t < m; t++) {
      size_t i = HL_FN(norm_at)(axis, D, gi, t);
      R g = gamma[i % D] * dy[i];
#if HL_BUG == HL_BUG_LAYERNORM_NOMEAN
      /* bug: the variance's share, xhat mean(dxhat xhat), is left out */
      (void)s2;
      dx[i] = istd[gi] * (g - s1);
#else
      dx[i] = istd[gi] * (g - s1 - xhat[i] * s2);
#endif
    }
  }
}

/* ---- softmax ------------------------------------------------------------- */

/* One row; the maximum is subtracted first so that exp never overflows. */
static void HL_FN(softmax_row)(const R *s, R *p, size_t D) {
  R mx = s[0], z = 0;
  for (size_t j = 1; j < D; j++)
    if (s[j] > mx)
      mx = s[j];
  for (size_t j = 0; j < D; j++)
    z += p[j] = HL_EXP(s[j] - mx);
  for (size_t j = 0; j < D; j++)
    p[j] /= z;
}

void HL_FN(hl_softmax_fwd)(const R *x, R *y, size_t n, size_t D) {
  for (size_t i = 0; i < n; i++)
    HL_FN(softmax_row)(x + i * D, y + i * D, D);
}

/* dx = J^T dy with J = diag(p) - p p^T, row by row; may run in place
 * (dx == dy). */
static void HL_FN(softmax_row_bwd)(const R *p, const R *dy, R *dx, size_t D) {
#if HL_BUG == HL_BUG_SOFTMAX_DIAG
  /* bug: only the diagonal p (1 - p) of the Jacobian */
  for (size_t j = 0; j < D; j++)
    dx[j] = dy[j] * p[j] * (1 - p[j]);
#else
  R dot = 0;
  for (size_t j = 0; j < D; j++)
    dot += dy[j] * p[j];
  for (size_t j = 0; j < D; j++)
    dx[j] = p[j] * (dy[j] - dot);
#endif
}

void HL_FN(hl_softmax_bwd)(const R *y, const R *dy, R *dx, size_t n,
                           size_t D) {
  for (size_t i = 0; i < n; i++)
    HL_FN(softmax_row_bwd)(y + i * D, dy + i * D, dx + i * D, D);
}

/* ---- attention ----------------------------------------------------------- */

void HL_FN(hl_attn_fwd)(const hl_attn_geom *g, const R *x, const R *Wq,
                        const R *Wk, const R *Wv, const R *Wo, R *y, size_t n,
                        R *cache) {
  size_t T = g->T, dm = g->dm, d = g->d;
  R alpha = (R)(1 / sqrt((double)d));
  for (size_t e = 0; e < n; e++) {
    const R *X = x + e * T * dm;
    R *Xc = cache + e * hl_attn_cache(g);
    R *Q = Xc + T * dm, *K = Q + T * d, *V = K + T * d, *P = V + T * d;
    R *A = P + T * T;
    for (size_t i = 0; i < T * dm; i++)
      Xc[i] = X[i];
    HL_FN(mm)(0, 0, T, d, dm, 1, X, Wq, 0, Q);
    HL_FN(mm)(0, 0, T, d, dm, 1, X, Wk, 0, K);
    HL_FN(mm)(0, 0, T, d, dm, 1, X, Wv, 0, V);
    HL_FN(mm)(0, 1, T, T, d, alpha, Q, K, 0, P);
    for (size_t t = 0; t < T; t++)
      HL_FN(softmax_row)(P + t * T, P + t * T, T);
    HL_FN(mm)(0, 0, T, d, T, 1, P, V, 0, A);
    HL_FN(mm)(0, 0, T, dm, d, 1, A, Wo, 0, y + e * T * dm);
  }
}

void HL_FN(hl_attn_bwd)(const hl_attn_geom *g, const R *Wq, const R *Wk,
                        const R *Wv, const R *Wo, const R *dy, R *dx, R *dWq,
                        R *dWk, R *dWv, R *dWo, size_t n, const R *cache,
                        R *tmp) {
  size_t T = g->T, dm = g->dm, d = g->d;
  R alpha = (R)(1 / sqrt((double)d));
  R *dA = tmp, *dP = dA + T * d, *dQ = dP + T * T, *dK = dQ + T * d;
  R *dV = dK + T * d;
  if (n == 0) {
    for (size_t i = 0; i < dm * d; i++)
      dWq[i] = dWk[i] = dWv[i] = dWo[i] = 0;
    return;
  }
  for (size_t e = 0; e < n; e++) {
    const R *X = cache + e * hl_attn_cache(g);
    const R *Q = X + T * dm, *K = Q + T * d, *V = K + T * d, *P = V + T * d;
    const R *A = P + T * T, *dY = dy + e * T * dm;
    R beta = e ? 1 : 0; /* parameter gradients sum over the batch */
    HL_FN(mm)(1, 0, d, dm, T, 1, A, dY, beta, dWo);
    HL_FN(mm)(0, 1, T, d, dm, 1, dY, Wo, 0, dA);
    HL_FN(mm)(0, 1, T, T, d, 1, dA, V, 0, dP);
    HL_FN(mm)(1, 0, T, d, T, 1, P, dA, 0, dV);
    for (size_t t = 0; t < T; t++) /* dS = softmax backward of dP, in place */
      HL_FN(softmax_row_bwd)(P + t * T, dP + t * T, dP + t * T, T);
    HL_FN(mm)(0, 0, T, d, T, alpha, dP, K, 0, dQ);
#if HL_BUG == HL_BUG_ATTENTION_SCALE
    /* bug: S = Q K^T / sqrt(d) scaled dQ, but dK is taken from Q K^T */
    HL_FN(mm)(1, 0, T, d, T, 1, dP, Q, 0, dK);
#else
    HL_FN(mm)(1, 0, T, d, T, alpha, dP, Q, 0, dK);
#endif
    HL_FN(mm)(1, 0, dm, d, T, 1, X, dQ, beta, dWq);
    HL_FN(mm)(1, 0, dm, d, T, 1, X, dK, beta, dWk);
    HL_FN(mm)(1, 0, dm, d, T, 1, X, dV, beta, dWv);
    R *dX = dx + e * T * dm;
    HL_FN(mm)(0, 1, T, dm, d, 1, dQ, Wq, 0, dX);
    HL_FN(mm)(0, 1, T, dm, d, 1, dK, Wk, 1, dX);
    HL_FN(mm)(0, 1, T, dm, d, 1, dV, Wv, 1, dX);
  }
}

#undef R
#undef HL_FN
#undef HL_CAT
#undef HL_CAT_
