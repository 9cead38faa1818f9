/* Shared by the files of the sanity checks (sanity.c, sanity_train.c,
 * sanity_report.c, plot_sanity.c); not part of the API. */
#ifndef NNC_SANITY_INTERNAL_H
#define NNC_SANITY_INTERNAL_H

#include "model.h"
#include <nncheck/sanity.h>
#include <nncheck/train.h>

/* RNG streams drawn from the one user seed. */
enum {
  NNCI_SANITY_STREAM_SAMPLE = 31, /* the evaluation sample */
  NNCI_SANITY_STREAM_TINY = 32,   /* the tiny re-draw for chance */
  NNCI_SANITY_STREAM_INIT = 33    /* the default re-draw for init and
                                     training */
};

/* The state of one nnc_sanity() call. */
typedef struct nnci_sanity {
  nnc_model *m;
  const nnc_sanity_opts *o;
  nnc_sanity_result *r;
  nnc_params *orig;      /* the parameters as the caller gave them */
  size_t *sample;        /* seeded training examples, increasing */
  size_t nsample;        /* 0: the plugin's own batch */
  int32_t *sample_label; /* their labels (predict), or NULL */
} nnci_sanity;

/* Append to a NUL-terminated buffer, truncating. */
void nnci_sanity_add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set an item's verdict and its expected and measured texts. */
void nnci_sanity_set(nnc_sanity_item *it, uint32_t verdict,
                     const char *expected, const char *measured);
/* A seed of its own for a purpose, from the user's. */
uint64_t nnci_sanity_seed(const nnci_sanity *c, uint64_t stream);
/* Put the caller's parameters back. */
int nnci_sanity_restore(nnci_sanity *c);
/* The plugin's optional callbacks, failures as model errors. */
int nnci_sanity_reinit(nnci_sanity *c, uint64_t seed, double scale);
int nnci_sanity_predict(nnci_sanity *c, const size_t *idx, size_t n,
                        int32_t *pred, int32_t *label);
/* The loss with `flags` over the sample (or the plugin's own batch). */
int nnci_sanity_sample_loss(nnci_sanity *c, uint32_t flags, double *loss);
/* The label frequencies of n labels: largest share and entropy (nats). */
void nnci_sanity_label_stats(const int32_t *label, size_t n, uint32_t classes,
                             double *majority, double *entropy);

/* "Adam lr 0.01" or "L-BFGS": how a run trained. */
const char *nnci_sanity_method(const nnc_sanity_run *run, char *buf,
                               size_t len);

/* sanity_init.c: the initialization check. */
int nnci_sanity_init(nnci_sanity *c);

/* sanity_train.c: the overfit and baseline checks. */
int nnci_sanity_overfit(nnci_sanity *c);
int nnci_sanity_baseline(nnci_sanity *c);
void nnci_sanity_run_free(nnc_sanity_run *run);

#endif
