/* spiral.h — CS231n's spiral data set, seeded and reproducible.
 *
 * K classes of N points each.  Class j's points lie on an arm:
 *   r = linspace(0, 1, N),  t = linspace(4j, 4(j+1), N) + 0.2 * gaussian,
 *   point = (r sin t, r cos t).
 * With D > 2 input dimensions every 2-D point p becomes M p + 0.01 * gaussian
 * for a fixed random D x 2 matrix M (standard normal entries), so benchmarks
 * can feed wide inputs that still carry the spiral's structure.
 * The examples are then shuffled; the seed fixes everything.  The generator
 * keeps no state between calls. */
#ifndef NNC_PLUGINS_SPIRAL_H
#define NNC_PLUGINS_SPIRAL_H

#include <stddef.h>
#include <stdint.h>

/* The number of examples held out for validation when a fraction `val` of
 * `total` is: round(val * total).  The training split is the rest. */
size_t spiral_n_val(size_t total, double val);

/* Fill x (N*K rows of D doubles, row-major) and label (N*K classes in
 * [0, K)) with the shuffled spiral: a training split of the first
 * N*K - spiral_n_val(...) rows and a validation split of the rest.
 * Requires K >= 1, N >= 1, D >= 2.  Returns 0, or -1 when out of memory. */
int spiral_make(size_t K, size_t N, size_t D, uint64_t seed, double *x,
                int32_t *label);

/* Small images of oriented bars, the image data set of mlp (data=bars).
 * K classes, N images each, C channels of S x S pixels (row-major C, y,
 * x).  Class j is the orientation angle pi * j / K.  Image: a bar through
 * a random point near the centre (offset uniform in [-S/4, S/4] across the
 * bar), of Gaussian profile exp(-d^2 / (2 w^2)), w uniform in [0.6, 1.2]
 * pixels and amplitude uniform in [0.5, 1], d the distance from the bar's
 * axis, angle jittered by up to a quarter of the spacing between classes;
 * every channel carries it with its own gain (uniform in [0.5, 1]), plus
 * independent Gaussian pixel noise of sd 0.3.  Shuffled; the split is as
 * for the spiral.  The seed fixes everything.  Requires K >= 1, N >= 1,
 * C >= 1, S >= 2.  Returns 0, or -1 when out of memory. */
int bars_make(size_t K, size_t N, size_t C, size_t S, uint64_t seed,
              double *x, int32_t *label);

#endif /* NNC_PLUGINS_SPIRAL_H */
