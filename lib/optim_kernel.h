/* optim_kernel.h — the update loop of every rule for one element type and
 * one vector width: a template that lib/optim.c includes once per version
 * (hence no include guard).  Before each inclusion it defines
 *
 *   K_NAME          the function to define
 *   K_ATTR          its attributes (a target), or nothing
 *   K_T             the element type, float or double
 *   K_V, K_W        the type the loop computes in: K_W doubles (K_W = 1:
 *                   double itself; otherwise a vector of K_W doubles)
 *   K_LOADX(p)      K_W elements of K_T at p, as K_V
 *   K_STOREX(p, v)  v rounded to K_T and stored at p; the stored values
 *                   read back as K_V
 *   K_STORE1(p, v)  the same for one element and a double
 *   K_LOADS(p), K_STORES(p, v)  K_W doubles of rule state at p
 *   K_SQRT(v)       the correctly rounded square root of every lane
 *
 * and the file undefines them.  Every version makes the same operations on
 * every element (IEEE additions, products, quotients, square roots and
 * conversions, one rounding each: none of the versions enables FMA), and
 * adds its squares into the same OPT_LANES partial sums in the same order,
 * element i into lane i mod OPT_LANES: a version computes the same bits as
 * any other, only more elements at a time. */

/* The change d of the elements the group holds, in the rules' own words
 * (train.h).  V: the computing type; LDS, STS, SQRT: its state access and
 * square root; o: the group's first element. */
#define K_SGD(V, LDS, STS, SQRT, o) d = -lr * gi;
#define K_MOMENTUM(V, LDS, STS, SQRT, o)                                       \
  {                                                                            \
    V v = LDS(s1 + (o));                                                       \
    v = mu * v - lr * gi;                                                      \
    STS(s1 + (o), v);                                                          \
    d = v;                                                                     \
  }
#define K_NESTEROV(V, LDS, STS, SQRT, o)                                       \
  {                                                                            \
    V vp = LDS(s1 + (o));                                                      \
    V v = mu * vp - lr * gi;                                                   \
    STS(s1 + (o), v);                                                          \
    d = -mu * vp + (1 + mu) * v;                                               \
  }
#define K_ADAGRAD(V, LDS, STS, SQRT, o)                                        \
  {                                                                            \
    V c = LDS(s1 + (o));                                                       \
    c += gi * gi;                                                              \
    STS(s1 + (o), c);                                                          \
    d = -lr * gi / (SQRT(c) + eps);                                            \
  }
#define K_RMSPROP(V, LDS, STS, SQRT, o)                                        \
  {                                                                            \
    V c = LDS(s1 + (o));                                                       \
    c = dr * c + (1 - dr) * (gi * gi);                                         \
    STS(s1 + (o), c);                                                          \
    d = -lr * gi / (SQRT(c) + eps);                                            \
  }
#define K_ADAM(V, LDS, STS, SQRT, o)                                           \
  {                                                                            \
    V m1 = LDS(s1 + (o)), m2 = LDS(s2 + (o));                                  \
    m1 = b1 * m1 + (1 - b1) * gi;                                              \
    m2 = b2 * m2 + (1 - b2) * (gi * gi);                                       \
    STS(s1 + (o), m1);                                                         \
    STS(s2 + (o), m2);                                                         \
    V mt = m1 / bc1;                                                           \
    V vt = m2 / bc2;                                                           \
    d = -lr * mt / (SQRT(vt) + eps);                                           \
  }

/* One group: the update, the store, and the squares of the stored change
 * and of the old value into the partial sums SD and SW. */
#define K_GROUP(V, LDX, STX, LDS, STS, SQRT, RULE, o, SD, SW)                  \
  {                                                                            \
    V w = LDX(x + (o)), gi = LDX(g + (o)), d;                                  \
    RULE(V, LDS, STS, SQRT, o)                                                 \
    V a = STX(x + (o), w + d) - w;                                             \
    SD += a * a;                                                               \
    SW += w * w;                                                               \
  }

#define K_LOAD1(p) ((double)*(p))
#define K_LOADS1(p) (*(p))
#define K_STORES1(p, v) (*(p) = (v))

/* Whole groups of OPT_LANES elements in K_V steps, then the last few one at
 * a time into the lanes they belong to. */
#define K_LOOP(RULE)                                                           \
  for (; i + OPT_LANES <= n; i += OPT_LANES) {                                 \
    NNCI_UNROLL(8)                                                             \
    for (size_t j = 0; j < NACC; j++) {                                        \
      const size_t o = i + j * K_W;                                            \
      K_GROUP(K_V, K_LOADX, K_STOREX, K_LOADS, K_STORES, K_SQRT, RULE, o,      \
              vd[j], vw[j])                                                    \
    }                                                                          \
  }                                                                            \
  for (size_t j = 0; j < NACC; j++) {                                          \
    memcpy(ld + j * K_W, &vd[j], sizeof vd[j]);                                \
    memcpy(lw + j * K_W, &vw[j], sizeof vw[j]);                                \
  }                                                                            \
  for (; i < n; i++)                                                           \
    K_GROUP(double, K_LOAD1, K_STORE1, K_LOADS1, K_STORES1, sqrt, RULE, i,     \
            ld[i % OPT_LANES], lw[i % OPT_LANES])

K_ATTR static void K_NAME(K_T *restrict x, const K_T *restrict g,
                          double *restrict s1, double *restrict s2, size_t n,
                          const coefs *k, double *sum_d, double *sum_w)
{
  enum { NACC = OPT_LANES / K_W }; /* K_V accumulators per sum */
  const double lr = k->lr, mu = k->mu, dr = k->decay, b1 = k->b1, b2 = k->b2,
               eps = k->eps, bc1 = k->bc1, bc2 = k->bc2;
  K_V vd[NACC], vw[NACC];
  double ld[OPT_LANES], lw[OPT_LANES];
  size_t i = 0;
  for (size_t j = 0; j < NACC; j++)
    vd[j] = vw[j] = (K_V){0};
  switch (k->rule) {
  case NNC_RULE_SGD:
    K_LOOP(K_SGD)
    break;
  case NNC_RULE_MOMENTUM:
    K_LOOP(K_MOMENTUM)
    break;
  case NNC_RULE_NESTEROV:
    K_LOOP(K_NESTEROV)
    break;
  case NNC_RULE_ADAGRAD:
    K_LOOP(K_ADAGRAD)
    break;
  case NNC_RULE_RMSPROP:
    K_LOOP(K_RMSPROP)
    break;
  default: /* NNC_RULE_ADAM */
    K_LOOP(K_ADAM)
    break;
  }
  *sum_d = lanes_sum(ld);
  *sum_w = lanes_sum(lw);
}

#undef K_SGD
#undef K_MOMENTUM
#undef K_NESTEROV
#undef K_ADAGRAD
#undef K_RMSPROP
#undef K_ADAM
#undef K_GROUP
#undef K_LOAD1
#undef K_LOADS1
#undef K_STORES1
#undef K_LOOP
#undef K_NAME
#undef K_ATTR
#undef K_T
#undef K_V
#undef K_W
#undef K_LOADX
#undef K_STOREX
#undef K_STORE1
#undef K_LOADS
#undef K_STORES
#undef K_SQRT
