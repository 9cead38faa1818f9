/* nn_mlp1.c — the one-hidden-layer kernels of nn_mlp1.h, for both element
 * types from nn_mlp1_impl.h. */
#include "nn_mlp1.h"

#include <math.h>
#include <string.h>

#define NN_CAT_(a, b) a##b
#define NN_CAT(a, b) NN_CAT_(a, b)
#define NN_FN(name) NN_CAT(name, NN_SFX)

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* asked at each pad(): valgrind, for one, runs without AVX-512 */
static int m1_cpu(void) {
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt");
}

#define NN_REAL double
#define NN_SFX _f64
#define NN_IS_FLOAT 0
#define NN_LANES 8
#include "nn_mlp1_impl.h"
#undef NN_REAL
#undef NN_SFX
#undef NN_IS_FLOAT
#undef NN_LANES

#define NN_REAL float
#define NN_SFX _f32
#define NN_IS_FLOAT 1
#define NN_LANES 16
#include "nn_mlp1_impl.h"

#else
static size_t m1_none(size_t D, size_t H, size_t K) {
  (void)D, (void)H, (void)K;
  return 0;
}
const nn_mlp1_ops nn_mlp1_f64 = {.pad = m1_none};
const nn_mlp1_ops nn_mlp1_f32 = {.pad = m1_none};
#endif
