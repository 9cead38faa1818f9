#include "rng.h"
#include <math.h>
#include <stdlib.h>

uint64_t nnc_hash64(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void nnc_rng_init(nnc_rng *r, uint64_t seed, uint64_t stream)
{
  r->s = nnc_hash64(seed ^ nnc_hash64(stream + 0x51ed27aULL));
}

uint64_t nnc_rng_u64(nnc_rng *r)
{
  r->s += 0x9e3779b97f4a7c15ULL;
  uint64_t z = r->s;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double nnc_rng_uniform(nnc_rng *r)
{
  return (double)(nnc_rng_u64(r) >> 11) * 0x1.0p-53;
}

double nnc_rng_normal(nnc_rng *r)
{
  /* Box-Muller without a cached second value: the stream position then
   * depends only on how many normals were drawn. */
  double u1 = nnc_rng_uniform(r), u2 = nnc_rng_uniform(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

size_t nnc_rng_below(nnc_rng *r, size_t n)
{
  /* Lemire's multiply-shift; the tiny bias at 2^64/n is irrelevant here. */
  return (size_t)(((unsigned __int128)nnc_rng_u64(r) * n) >> 64);
}

static int cmp_size(const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

void nnc_rng_choose(nnc_rng *r, size_t n, size_t k, size_t *out)
{
  /* Floyd's algorithm: k draws, no O(n) memory. */
  size_t m = 0;
  for (size_t j = n - k; j < n; j++) {
    size_t t = nnc_rng_below(r, j + 1), v = t;
    for (size_t q = 0; q < m; q++)
      if (out[q] == t) {
        v = j;
        break;
      }
    out[m++] = v;
  }
  qsort(out, k, sizeof *out, cmp_size);
}
