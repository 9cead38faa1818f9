/* Shared by the files of babysitting (babysit*.c, plot_babysit.c); not part
 * of the API. */
#ifndef NNC_BABYSIT_INTERNAL_H
#define NNC_BABYSIT_INTERNAL_H

#include "model.h"
#include "init_attr.h"
#include <nncheck/babysit.h>
#include <stdio.h>

/* Per-probe accumulator over one epoch. */
typedef struct nnci_bs_acc {
  nnc_bs_layer_epoch e;  /* histograms and counts so far */
  uint32_t kind;
  size_t units;          /* 0: unknown (not yet seen) */
  uint64_t *alive;       /* per unit: examples with a > 0 (ReLU) */
  uint64_t *sat;         /* per unit: examples saturated (tanh, sigmoid) */
  double sum_abs, sum_g2;
  uint64_t sat_vals, near, zero, gvalues;
} nnci_bs_acc;

/* Add the probes' values and gradients of the last loss/backward over a
 * batch of n examples.  NNC_OK or a model error. */
int nnci_bs_acc_add(nnc_model *m, nnci_bs_acc *acc, size_t nprobes, size_t n,
                    double sat_level);
/* Finish the epoch's statistics into *out and reset the accumulator. */
void nnci_bs_acc_finish(nnci_bs_acc *acc, nnc_bs_layer_epoch *out);
void nnci_bs_acc_free(nnci_bs_acc *acc, size_t nprobes);

/* First-layer filters: shape from net_info and the first weight block;
 * 0 when there is no image input or no matching block. */
int nnci_bs_filters_shape(nnc_model *m, nnc_bs_filters *f, long *block);
/* Median noise number of the filters of model block `block`; copies the
 * values into out (nfilters x C x H x W) when not NULL. */
double nnci_bs_filter_noise(const nnc_model *m, size_t block,
                            const nnc_bs_filters *f, double *out);

/* The trend (centred moving average) of the step losses, and the measures
 * the diagnoses use (r_late, late_frac, trend_*, noise_rel). */
void nnci_bs_measures(nnc_babysit_result *r);

/* Checkpoints of a run (babysit_ckpt.c). */
typedef struct nnci_bs_state {
  nnc_optim *opt;
  double **ema;          /* per block, count doubles */
  nnc_schedule *sched;
  uint64_t rng;          /* the step-seed generator's state */
  size_t step, epoch;
} nnci_bs_state;
/* Write the epoch's checkpoint into dir; its file name into name. */
int nnci_bs_ckpt_write(nnc_model *m, const nnc_babysit_result *r,
                       const nnci_bs_state *st, const char *dir, char *name,
                       size_t namelen);
/* Read a checkpoint: parameters into the model, settings into r->opts,
 * state into st (optimizer made here; ema arrays filled). */
int nnci_bs_ckpt_resume(nnc_model *m, nnc_babysit_result *r,
                        nnci_bs_state *st, const char *path);
/* Write babysit_stats.json into dir atomically. */
int nnci_bs_stats_write(const nnc_babysit_result *r, const char *dir,
                        char *err, size_t errlen);

/* Median of the finite values of v (reordered); NaN when none. */
double nnci_bs_median(double *v, size_t n);
/* The first block of two or more dimensions, or -1. */
#define nnci_weight_block_first(m) nnci_weight_block((m), 0)

/* Render every plot into dir (plot_babysit.c), calling on_plot (if not
 * NULL) after each with its name, title and a one-line caption; a non-zero
 * return from it stops.  Returns as nnc_babysit_plots. */
typedef int (*nnci_bs_plot_fn)(void *user, const char *name,
                               const char *title, const char *caption);
int nnci_bs_plots_each(const nnc_babysit_result *r, const char *dir,
                       size_t *nplots, nnci_bs_plot_fn on_plot, void *user,
                       char *err, size_t errlen);

/* Append to a fixed buffer, truncating. */
void nnci_bs_add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
