/* nncheck/lrprobe.h — which learning rates a net can take: the
 * learning-rate range test, the step-size sweep along -grad and the
 * update:weight ratio of every parameter block along the way.
 *
 * The range test.  From the model's current parameters, take one optimizer
 * step per rung of an exponential ladder
 *
 *   lr_i = start * (end / start)^(i / (N - 1)),   i = 0 .. N-1,
 *
 * each step on a fresh seeded mini-batch.  The loss recorded for rung i is
 * the training loss (all parts, train mode) on the next batch, after the
 * step at lr_i: the loss the step led to, measured on data it did not see.
 * The losses are smoothed by a bias-corrected exponential moving average,
 *
 *   avg_i = beta * avg_{i-1} + (1 - beta) * raw_i,  avg_{-1} = 0,
 *   smoothed_i = avg_i / (1 - beta^(i+1)),
 *
 * and the ladder stops early when the smoothed loss exceeds stop_factor
 * times its best so far (best + (stop_factor - 1) * |best| for a loss that
 * can be negative; the start level below counts as the first "best", so a
 * first step that already blows the loss up stops the ladder at once) or a
 * loss or gradient turns NaN/Inf; the non-finite point is not recorded.  The test is repeated `runs` times, run r with
 * seed + r (its batches and dropout masks).  Before every run and at the
 * end, the parameters and the optimizer state are restored to what they
 * were (nnc_params_save/restore, nnc_optim_save/restore): the probe changes
 * nothing.
 *
 * Suggestions are computed per run on the smoothed curve, in x = log10(lr),
 * over the rungs from w0 = ceil(N / 10) on (the average rests on fewer than
 * a tenth of the ladder's batches before that; fastai skips them too), or
 * over all rungs when the ladder stopped before rung w0 + 3:
 *
 *   valley     the longest strictly decreasing subsequence of smoothed
 *              losses (fastai's "valley"); with a and b the rungs of its
 *              first and last element, the rung a + round(2/3 (b - a)),
 *              two thirds of the way down it.  (fastai's code takes about
 *              half way; its documentation says two thirds.)
 *   slide      where the loss starts to slide: with slopes m_i over windows
 *              of half a decade, m_i = (s_{i+W} - s_i) / (x_{i+W} - x_i),
 *              the steepest window i* = argmin m_i ending at or before the
 *              minimum, the slide is the first rung j of the unbroken run
 *              of windows j .. i* each falling at least half as fast as
 *              m_{i*}: the start of the steepest sustained descent.
 *   minimum/10 the rung of the smoothed minimum, one decade lower.
 *   steepest   the rung whose slope of smoothed loss against log10(lr)
 *              (central differences) is most negative, within the
 *              sustained descent: from the slide to the end of the
 *              steepest window (from w0 to the minimum when there is no
 *              slide).  Outside it, where the loss is still flat, the
 *              slope of a bias-corrected average of few batches wiggles
 *              as steeply as the real descent of a lagging average.
 *
 * Over the runs, each suggestion gets its median and spread (max - min, in
 * decades); spread > unreliable_decades marks it unreliable.
 *
 * A range is usable when the minimum of the smoothed loss (from rung w0
 * on) lies below the start level, the mean training loss at the starting
 * parameters over the run's first `ref_batches` batches, by at least
 * min_drop of it, and by at least three standard errors of the difference
 * where a flat ladder would only show noise: the batch-to-batch standard
 * deviation at the start, through the start level's average (none when
 * its batches cover the training set) and through the smoothing, whose
 * variance at rung i is (1 - beta)/(1 + beta) * (1 + beta^(i+1)) /
 * (1 - beta^(i+1)) times the batch variance.
 * A run without a usable range that stopped by diverging says that no
 * learning rate lowered the loss (RISES: e.g. a gradient that points the
 * wrong way); one that ran to `end` without falling says the ladder stayed
 * below the useful rates (FLAT).  The verdict is the majority's.
 *
 * The step sweep (the optimization notes' experiment).  From the starting
 * parameters, with the gradient of one seeded batch, the loss on that batch
 * after one plain step W - s * dW for s = 1e-10, 1e-9 .. 1e-1, parameters
 * restored after each, beside the first-order prediction -s * |dW|^2.
 * At small steps their ratio is 1 for a gradient that matches the loss:
 * -1 when the gradient points uphill, another value when it is wrong in
 * part (a cheap directional gradient check along the gradient itself).
 *
 * Update:weight ratios.  After every step of run 0, nnc_optim_ratio of each
 * block; the learning rate at which it first reaches 1e-3 (the notes' rule
 * of thumb for a healthy update) and 1e-2, interpolated in log-log between
 * rungs; the block that reaches 1e-2 first is named as the one that
 * diverges first.  A block whose weights start at exactly zero (biases,
 * usually) has a ratio that says nothing about the learning rate (its
 * first update is infinitely large relative to it, and every later one
 * comparable to all before it): it is reported but never named.
 *
 * Contracts as in nncheck.h: nothing prints, nothing is global; the model
 * is left as it was found, also after an error.
 */
#ifndef NNCHECK_LRPROBE_H
#define NNCHECK_LRPROBE_H

#include <nncheck/train.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The suggestions, in report order. */
enum nnc_lr_sugg {
  NNC_LR_VALLEY = 0,
  NNC_LR_SLIDE = 1,
  NNC_LR_MIN10 = 2,
  NNC_LR_STEEPEST = 3,
  NNC_LR_NSUGG = 4
};
const char *nnc_lr_sugg_name(int s); /* "valley", "slide", "minimum/10",
                                        "steepest" */

/* Why a run's ladder ended. */
enum nnc_lr_stop {
  NNC_LR_STOP_END = 0,      /* every rung was taken */
  NNC_LR_STOP_DIVERGED = 1, /* the smoothed loss passed stop_factor x best */
  NNC_LR_STOP_NONFINITE = 2 /* a loss or a gradient turned NaN/Inf */
};
const char *nnc_lr_stop_name(int stop); /* "end", "diverged", "nonfinite" */

enum nnc_lr_verdict {
  NNC_LR_OK = 0,    /* a usable range: suggestions are given (exit 0) */
  NNC_LR_RISES = 1, /* no learning rate lowered the loss: it rose until the
                       ladder stopped (exit 1) */
  NNC_LR_FLAT = 2,  /* the loss never fell by min_drop and never diverged:
                       the ladder lies below the useful rates (exit 1) */
  NNC_LR_ERROR = 3  /* the probe could not run: see error (exit 2 or 3) */
};
const char *nnc_lr_verdict_name(int v); /* "OK", "RISES", "FLAT", "ERROR" */

typedef struct nnc_lrprobe_opts {
  uint64_t seed;       /* run r uses seed + r: batches, dropout; default 1 */
  double start, end;   /* the ladder's first and last rate; 1e-7, 10 */
  size_t steps;        /* rungs N, >= 2; default 100 */
  size_t runs;         /* K repetitions with different seeds; default 3 */
  int rule;            /* enum nnc_rule, with the notes' defaults for its
                          other hyperparameters; default NNC_RULE_SGD.
                          Ignored when the caller passes an optimizer. */
  size_t batch;        /* examples per step; default 32 */
  double beta;         /* EMA smoothing; default 0.98 */
  double stop_factor;  /* stop when smoothed > this x best; default 4 */
  double min_drop;     /* relative fall that makes a range usable; 0.05 */
  double unreliable_decades; /* spread above this is unreliable; 1 */
  size_t ref_batches;  /* batches averaged for the start level; default 8 */
  int sweep;           /* run the step-size sweep; default 1 */
} nnc_lrprobe_opts;
void nnc_lrprobe_opts_init(nnc_lrprobe_opts *o);

/* One run of the ladder.  Arrays hold the n recorded rungs. */
typedef struct nnc_lrprobe_run {
  uint64_t seed;
  size_t n;            /* rungs recorded (finite losses) */
  double *lr;          /* n learning rates */
  double *raw;         /* n losses after the step, on the next batch */
  double *smooth;      /* n bias-corrected EMA values */
  double *ratio;       /* n x nblocks update:weight ratios (row i: rung i) */
  int stop;            /* enum nnc_lr_stop */
  double stop_lr;      /* the rate of the rung that stopped it (NaN: end) */
  double start_level;  /* mean loss at the start over ref_batches batches */
  double start_sd;     /* their standard deviation: the batch noise */
  double start_se;     /* the standard error of start_level (0 when the
                          batches cover the training set) */
  size_t best;         /* rung of the smoothed minimum (over all rungs) */
  double drop;         /* (start_level - min smoothed from w0) /
                          |start_level| */
  double need;         /* the fall the minimum's rung needs: min_drop, or
                          three standard errors of start_level - smoothed
                          there if that is more */
  int usable;          /* drop >= need */
  double rise_lr;      /* first rung, from w0, whose smoothed loss exceeds
                          start_level by its need (NaN: none) */
  double sugg[NNC_LR_NSUGG]; /* log10(lr) of each suggestion; NaN: none */
  size_t valley_from, valley_to; /* rungs a and b of the valley */
} nnc_lrprobe_run;

/* A suggestion over the runs. */
typedef struct nnc_lrprobe_sugg {
  double median;       /* log10(lr); NaN when no run gave one */
  double lo, hi;       /* min and max over the runs that gave one */
  double spread;       /* hi - lo, decades */
  size_t found;        /* runs that gave one */
  int unreliable;      /* spread > unreliable_decades, or found < runs */
} nnc_lrprobe_sugg;

/* A parameter block's update:weight ratio along run 0's ladder. */
typedef struct nnc_lrprobe_block {
  char name[64];
  size_t index;        /* model block index */
  size_t count;        /* elements */
  double norm0;        /* |w| at the start */
  int zero_start;      /* norm0 == 0: ratio meaningless, never named */
  double cross3, cross2; /* lr at which the ratio first reaches 1e-3 and
                            1e-2 (log-log interpolation); NaN: not within
                            the ladder; start (flag below) if at rung 0 */
  int below3, below2;  /* ... already reached at the first rung */
  double max_ratio;    /* largest finite ratio seen */
} nnc_lrprobe_block;

typedef struct nnc_lrprobe_result {
  char plugin[64];
  char spec[4096];     /* the plugin as named; "" in-process */
  char args[1024];
  uint32_t kind;
  nnc_lrprobe_opts opts; /* as run (defaults filled in) */
  char rule[16];       /* update rule name */
  int caller_optim;    /* probed the caller's optimizer (its state) */
  size_t w0;           /* first rung the suggestions look at */
  size_t nruns;
  nnc_lrprobe_run *runs;
  nnc_lrprobe_sugg sugg[NNC_LR_NSUGG];
  size_t nblocks;      /* parameter blocks (a layer's input excluded) */
  nnc_lrprobe_block *blocks;
  long diverges_first; /* index into blocks, -1: none reached 1e-2 */
  /* the step sweep */
  size_t nsweep;       /* 10 when run, 0 otherwise */
  double sweep_step[10];
  double sweep_loss[10]; /* loss after the step; NaN/Inf kept as is */
  double sweep_pred[10]; /* first-order change -s |dW|^2 */
  double sweep_loss0;  /* loss before any step, same batch and seed */
  double sweep_gnorm2; /* |dW|^2 over every block */
  int sweep_descends;  /* at the smallest step whose first-order change
                          -s|dW|^2 is resolvable (above 1e-10 |loss| for
                          double blocks, 1e-4 with a float32 block) and
                          still small (below 0.1 |loss|): 1 the loss falls,
                          0 it rises (the gradient points uphill), -1 no
                          step qualifies */
  double sweep_agree;  /* there: change / (-s|dW|^2), 1 for a gradient that
                          matches the loss; NaN: no step qualifies */
  int sweep_mismatch;  /* |sweep_agree - 1| > 0.02 at a step where the
                          first order must hold (change below 1e-3 |loss|):
                          the gradient disagrees with the loss */
  size_t usable_runs;
  int verdict;         /* enum nnc_lr_verdict */
  size_t loss_evals, backward_calls;
  int error;           /* NNC_OK or the error that stopped the probe */
  char error_msg[1024];
} nnc_lrprobe_result;

/* Probe the model.  opt: the caller's optimizer, whose state (and options)
 * are used as the starting point and restored afterwards; NULL: a fresh
 * optimizer of o->rule.  o NULL: defaults.  Always returns a result
 * (unless out of memory, then NNC_ENOMEM and *res NULL); res->error says
 * whether the probe ran, res->verdict what it found.  A layer is refused
 * with NNC_EUNSUPPORTED: its scalar L = sum(r .* y) is linear in the
 * output and unbounded below, so there is no loss whose fall could choose
 * a learning rate. */
int nnc_lrprobe(nnc_model *m, nnc_optim *opt, const nnc_lrprobe_opts *o,
                nnc_lrprobe_result **res);
void nnc_lrprobe_free(nnc_lrprobe_result *r);
/* 0 usable range, 1 RISES or FLAT, 2 or 3 for an error (nnc_err map). */
int nnc_lrprobe_exit_status(const nnc_lrprobe_result *r);

/* Reports to a caller-owned stream: the human table, JSON, TAP. */
int nnc_lrprobe_report_text(const nnc_lrprobe_result *r, FILE *f);
int nnc_lrprobe_report_json(const nnc_lrprobe_result *r, FILE *f);
int nnc_lrprobe_report_tap(const nnc_lrprobe_result *r, FILE *f);
/* Plots into dir (created if missing): lrprobe_loss (loss against lr, log
 * x, raw and smoothed, suggestions as vertical lines), lrprobe_steps (the
 * step sweep, log x) and lrprobe_ratio (ratio per block against lr,
 * log-log, with the 1e-3 and 1e-2 lines); each as NAME.dat, NAME.gp,
 * NAME.png, NAME.svg. */
/* The same plots drawn as text (gnuplot's dumb terminal, 80 x 24): *text is
 * malloc'ed (caller frees); NNC_PLOTS_UNRENDERED without gnuplot. */
int nnc_lrprobe_plots_text(const nnc_lrprobe_result *r, char **text,
                           char *err, size_t errlen);
int nnc_lrprobe_plots(const nnc_lrprobe_result *r, const char *dir,
                      char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_LRPROBE_H */
