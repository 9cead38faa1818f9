/* bench_util.h — what every benchmark here needs: a clock in seconds and
 * the median of a set of times (or ratios). */
#ifndef NNC_BENCH_UTIL_H
#define NNC_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* seconds on `clock` (CLOCK_MONOTONIC for wall time, CLOCK_PROCESS_CPUTIME_ID
 * or CLOCK_THREAD_CPUTIME_ID for CPU time) */
static inline double bench_clock(clockid_t clock)
{
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* qsort's comparison of doubles, ascending */
static inline int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* the median of v[0..n-1]; sorts v */
static inline double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif /* NNC_BENCH_UTIL_H */
