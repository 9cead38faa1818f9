/* Seeded random numbers for lib/: explicit state, no globals, identical
 * streams on every platform (the same seed must give bit-identical reports). */
#ifndef NNC_RNG_H
#define NNC_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct nnc_rng { uint64_t s; } nnc_rng;

/* A stream from a seed and a purpose tag, so that independent choices drawn
 * from one user seed (batch, inputs, coordinates) do not share numbers. */
void nnc_rng_init(nnc_rng *r, uint64_t seed, uint64_t stream);
uint64_t nnc_rng_u64(nnc_rng *r);
double nnc_rng_uniform(nnc_rng *r);          /* [0, 1) */
double nnc_rng_normal(nnc_rng *r);           /* standard normal */
size_t nnc_rng_below(nnc_rng *r, size_t n);  /* [0, n), n > 0 */
/* k distinct values of [0, n) in increasing order (k <= n). */
void nnc_rng_choose(nnc_rng *r, size_t n, size_t k, size_t *out);
uint64_t nnc_hash64(uint64_t x);

#endif
