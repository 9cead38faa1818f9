/* Shared by the files of gradcheck: lib/gradcheck.c (orchestration),
 * lib/gc_coord.c (one coordinate's verdict), lib/gc_project.c
 * (projections and bisection). */
#ifndef NNC_GC_INTERNAL_H
#define NNC_GC_INTERNAL_H
#include "model.h"

/* Round-off of f is modelled as this many ulps of its magnitude: a forward
 * pass of many operations loses more than one. */
#define NNCI_NOISE_ULPS 64.0
#define NNCI_TINY 1e-10

typedef struct gc_ctx {
  nnc_model *m;
  const nnc_gradcheck_opts *o;
  nnc_gradcheck_result *r;
  uint64_t seed;     /* the seed every loss of the check uses */
  uint32_t train;    /* NNC_F_TRAIN or 0 */
  /* the part being checked, at the base point */
  uint32_t part;
  double f0;         /* its loss */
  nnc_winners w0;    /* its winner fingerprint */
  int have_w;        /* the plugin gives fingerprints */
  double scale;      /* a layer's sum |r_i y_i| (what its round-off scales
                        with); 0 for a net */
  double **grad;     /* the analytic gradient, per block, as double, once
                        something else has run backward (a kink's jittered
                        re-test); until then the model's buffers hold it */
  int grad_kept;     /* grad holds this part's gradient */
  nnc_model *gsrc;   /* the model whose buffers hold the base gradient: m,
                        or for a worker on a clone the checked model (a
                        clone's backward never touches it: nothing to keep) */
  void *scratch;     /* projection mode: the probed block's values at the
                        base point, grown on demand, kept across blocks */
  size_t scratch_n;  /* its size in bytes */
  /* parallel checks (lib/gc_parallel.c): clones made on first use */
  nnc_model **clones;
  size_t nclones;
  int pool_tried;    /* clones were attempted (once per check) */
} gc_ctx;

/* One coordinate to check: block b, flat index i, into *out. */
typedef struct gc_item {
  size_t b, i;
  nnc_gc_block *gb;  /* the block's entry (bands, grad_norm, counters) */
  nnc_gc_coord *out;
} gc_item;

/* One centered difference at relative step h (times max(1,|x|)). */
typedef struct gc_est {
  double numeric;    /* (f(x+h) - f(x-h)) / (x+h - (x-h)) as stored */
  double h;          /* absolute step */
  double step;       /* (x+h) - (x-h) as stored */
  double fp, fm;     /* f(x+h), f(x-h) */
  double xp, xm, x;  /* the stored values */
  double noise;      /* modelled round-off of numeric */
  int kink;          /* fingerprints at x+h and x-h differ */
  uint64_t hp, hm;   /* the fingerprints */
} gc_est;

int nnci_gc_loss(gc_ctx *c, double *L, int counted);
/* The base point's analytic gradient of (b, i). */
double nnci_gc_grad(const gc_ctx *c, size_t b, size_t i);
/* Keep a copy of the base gradient before a backward elsewhere. */
int nnci_gc_keep(gc_ctx *c);
int nnci_gc_centered(gc_ctx *c, size_t b, size_t i, double h, gc_est *e);
double nnci_relerr(double a, double n);
double nnci_gc_eps(uint32_t dtype);
/* The band a relative error falls in, for a block. */
uint32_t nnci_band_verdict(const nnc_gc_block *gb, double rel);
double nnci_default_h(const nnc_gradcheck_opts *o, uint32_t dtype);
/* Check coordinate i of block b into *out (verdict, error bar, kinks). */
int nnci_gc_coord(gc_ctx *c, size_t b, size_t i, nnc_gc_block *gb,
                  nnc_gc_coord *out);
/* Tied sets of block b (exactly equal values moved together), appended to
 * gb->coords (room for `room` entries). */
int nnci_gc_ties(gc_ctx *c, size_t b, nnc_gc_block *gb, size_t room);
/* Projection mode for block b: k probes, bisection on a mismatch; entries
 * appended to gb->coords. */
int nnci_gc_project(gc_ctx *c, size_t b, nnc_gc_block *gb);
/* Check items[0..n) as nnci_gc_coord would one after the other, on
 * threads over clones (c->o->threads); the entries, block counters and
 * result counters come out as in the serial order, bit for bit.  Falls back
 * to the serial loop (with a warning) when the plugin cannot be cloned.
 * *done is how many items, from the first, hold their verdict (n unless an
 * error stopped the check, as the serial loop would have). */
int nnci_gc_check_items(gc_ctx *c, const gc_item *items, size_t n,
                        size_t *done);
/* Close the clones of a check. */
void nnci_gc_pool_close(gc_ctx *c);
void nnci_gc_warn(nnc_gradcheck_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append an entry to gb->coords, growing it; NULL when out of memory. */
nnc_gc_coord *nnci_gc_push(nnc_gc_block *gb);

#endif
