/* Internal view of a landscape, shared by lib/landscape*.c only. */
#ifndef NNC_LANDSCAPE_INTERNAL_H
#define NNC_LANDSCAPE_INTERNAL_H

#include <nncheck/landscape.h>

/* Worker instances: w[0] is the caller's model, the others its clones,
 * each driven by one thread. */
typedef struct ls_pool {
  size_t n;
  nnc_model **w;
  int tried;           /* clones were attempted (once) */
} ls_pool;

/* A batch of independent evaluations at the points
 *   theta_p = sum_k coef[p * nv + k] * v[k]      (k in order, in double)
 * Loss mode: nnc_model_loss on the selection, with the picture's seed and
 * flags, into loss[p] (and the fingerprint into win[p] when win is set).
 * Eval mode: nnc_evaluate on idx[s] of split s, s < nsplits, into
 * eloss[s][p] and eacc[s][p]. */
typedef struct ls_job {
  const char *stage;
  size_t done_before, total; /* for progress: points of the stage */
  size_t npoints;
  size_t nv;
  const double *v[3];
  const double *coef;
  const double *const *vp; /* if set: point p is vp[p] itself (v, coef
                              unused) */
  int eval;
  int nsplits;
  const size_t *idx[2];
  size_t nidx[2];
  double *loss;
  uint64_t *win;
  double *eloss[2], *eacc[2];
  size_t nonfinite;    /* out: points whose loss was not finite (NaN) */
} ls_job;

struct nnc_landscape {
  nnc_model *m;
  nnc_landscape_opts o;
  char *blocks_opt;    /* owned copy of o.blocks */
  uint32_t flags;      /* loss flags of slices and planes */
  size_t P;            /* elements over all blocks */
  size_t nb;
  size_t *off;         /* nb + 1 offsets into flat vectors */
  double *center;      /* the current point, flat, in double */
  void **saved;        /* each block's bytes at the current point */
  unsigned char *moved; /* per block: directions move it */
  ls_pool pool;
  nnc_landscape_result r;
  char err[1024];
};

/* Set the message and return code. */
int nnci_ls_fail(nnc_landscape *ls, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Add a warning sentence to the result (no-op when out of memory). */
void nnci_ls_warn(nnc_landscape *ls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Run the job over the pool; the caller's model is back at the current
 * point afterwards, bit for bit. */
int nnci_ls_run(nnc_landscape *ls, ls_job *job);
void nnci_ls_pool_close(ls_pool *p);
/* Put the current point back into the caller's model. */
void nnci_ls_restore(nnc_landscape *ls);
/* A checkpoint as a flat vector (after checking that it fits). */
int nnci_ls_flatten(nnc_landscape *ls, const nnc_checkpoint *c, double *out);
/* n >= 2 points from lo to hi, both ends exact. */
void nnci_ls_axis(double *x, size_t n, double lo, double hi);
/* n (odd) points from -half to half, symmetric, with x[n/2] = 0 exactly. */
void nnci_ls_axis_sym(double *x, size_t n, double half);
/* Summarise a grid (min, kinks, nonfinite) after its evaluation. */
void nnci_ls_grid_stats(nnc_ls_grid *g);
void nnci_ls_grid_free(nnc_ls_grid *g);
int nnci_ls_grid_alloc(nnc_ls_grid *g, size_t nx, size_t ny, int winners);
/* Evaluate o + x·d1 + y·d2 over the grid's axes (already set). */
int nnci_ls_grid_eval(nnc_landscape *ls, nnc_ls_grid *g, const double *o,
                      const double *d1, const double *d2, const char *stage);
/* Random direction k over the moved blocks, normalised per opts.norm;
 * count_frozen: record rows of zero norm in the result's blocks. */
void nnci_ls_random_direction(nnc_landscape *ls, uint64_t k, double *d,
                              int count_frozen);
/* Dot product and norm over flat vectors, in a fixed order. */
double nnci_ls_dot(const double *a, const double *b, size_t n);

#endif
