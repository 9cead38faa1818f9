/* nncheck/babysit.h — babysitting a training run (the notes' "Babysitting
 * the learning process"): train a net with a chosen update rule and
 * schedule, record what the notes say to watch, with epochs as the x axis,
 * and say in plain words what looks wrong, with the numbers that show it.
 *
 * What is recorded.
 *   - the loss of every mini-batch (training flags, before the update) and
 *     its trend: the centred moving average over a window of w steps,
 *     w = max(5, steps per epoch), truncated at the ends (the window of
 *     one epoch averages out which examples a batch holds);
 *   - per epoch: loss and accuracy on the training and validation splits
 *     (inference mode), their gap train - val, and the same on validation
 *     for the running average of the parameters (below);
 *   - per parameter block and step: the update:weight ratio |dW|/|W| of
 *     the update as stored (nnc_optim_ratio: updates, not raw gradients),
 *     and per epoch its geometric mean over the epoch's steps;
 *   - per probed layer and epoch: histograms of the activations and of
 *     their gradients over every value the epoch's training batches
 *     produced, in the fixed buckets below, and the unit statistics below;
 *     the same once more for the starting parameters, as "epoch 0", from
 *     one extra forward/backward pass on the first training batch;
 *   - when the plugin's input has an image shape (net_info input_ndim 2 for
 *     HxW or 3 for CxHxW), the first weight block's filters as images and
 *     their noise number (below), at the start and after every epoch;
 *   - the exponential running average of the parameters (below);
 *   - with a checkpoint directory, after every epoch a checkpoint file
 *     "epochEEEE-valA.AAAA.nnckpt" (E the epoch, A the validation accuracy,
 *     "nan" without one) and babysit_stats.json, the JSON report of the run
 *     so far, each written under a temporary name and renamed into place.
 *
 * Histogram buckets.  Decided before the run, the same for every layer,
 * kind, epoch and run, so that histograms compare and add exactly (counts
 * are uint64).  A value a goes to:
 *   bucket NNC_BS_BUCKET_ZERO            a == 0 (exactly)
 *   positive magnitude bucket j         10^(e_j) <= a < 10^(e_j + 1/4),
 *                                       e_j = NNC_BS_EXP_MIN + j/4,
 *                                       j = 0 .. NNC_BS_NMAG - 1
 *   positive underflow                  0 < a < 10^NNC_BS_EXP_MIN
 *   positive overflow                   a >= 10^NNC_BS_EXP_MAX
 *   and the mirror images for a < 0; NaN and +-Inf in NNC_BS_BUCKET_NONFINITE.
 * Bucket order runs from the most negative to the most positive value:
 *   0 negative overflow, 1 .. NMAG negative magnitudes (largest first),
 *   NMAG + 1 negative underflow, NMAG + 2 zero, NMAG + 3 positive
 *   underflow, NMAG + 4 .. 2 NMAG + 3 positive magnitudes (smallest
 *   first), 2 NMAG + 4 positive overflow, 2 NMAG + 5 non-finite.
 * The edges are the doubles pow(10, e) computed once; a value on an edge
 * goes to the bucket above it.  nnc_babysit_bucket() and
 * nnc_babysit_bucket_edges() give the mapping.
 *
 * Unit statistics of a probe (a probe's `count` values are batch x units,
 * row-major; units = count / batch size).  Over an epoch:
 *   dead       ReLU: the fraction of units that were <= 0 for EVERY example
 *              of every batch of the epoch.  Per unit, not per value: half
 *              the values of a healthy ReLU layer are 0, but a unit that is
 *              0 for every input never passes a gradient to its weights
 *              again (the notes' "dead" neuron); per value one could not
 *              tell the two apart.
 *   saturated  tanh: the fraction of units with |a| > sat_level (0.97, the
 *              level of sanity.h; tanh'(a) < 0.06 there) for most (more
 *              than half) of the examples of the epoch; sigmoid likewise
 *              within 1 - sat_level of 0 or 1.  Also reported per value.
 *   near zero  the fraction of values with 0 < |a| < 10^-2 (an edge of the
 *              buckets, so the histogram alone gives it); exact zeros are
 *              counted apart (for a ReLU they are the units that are off).
 *   mean |a|, and the RMS of the gradient.
 * A unit statistic compares the layer's units with the weight block that
 * feeds it (the k-th block of two or more dimensions for the k-th probe,
 * whose last dimension equals the units) and the bias after it: their RMS
 * and mean beside the notes' scale for the fan-in, sqrt(2/fan_in) for ReLU
 * and sqrt(1/fan_in) otherwise (the same attribution as sanity's init
 * check, nnci_init_attribute).
 *
 * The running average of the parameters (the notes' "Model Ensembles"):
 * after every step, for every parameter element, in double,
 *   ema = d_t * ema + (1 - d_t) * w,   d_t = min(decay, (1 + t) / (10 + t)),
 * t the step (1-based), starting from the initial parameters.  The ramp
 * keeps the first steps from being dominated by the initialization (the
 * form of TensorFlow's ExponentialMovingAverage with num_updates).  Each
 * epoch the averaged parameters (rounded to the block's element type) are
 * evaluated on validation beside the raw ones; they never feed training.
 *
 * The noise number of first-layer filters.  For filter f (a column of the
 * first weight block, reshaped to C x H x W), over every pair of
 * horizontally or vertically neighbouring pixels (p, q) of one channel,
 *   noise_f = mean (p - q)^2 / (2 var_f),
 * var_f the variance of the filter's values.  For independent values (white
 * noise, a random initialization) E(p - q)^2 = 2 var: noise = 1.  A smooth
 * filter (an edge, a blob, a bar) has neighbours alike: noise << 1; a
 * checkerboard approaches 2.  The report gives the median over filters.
 *
 * Diagnoses.  Each has a status (FOUND: a problem, exit 1; OK: looked for
 * and not seen; SKIP: could not be looked for, with the reason), the
 * evidence as numbers and, when FOUND, what to do.  "Late" means the last
 * half of the run's steps (at least one epoch), where a run shows what
 * its settings lead to rather than how it started.  r_late is the median,
 * over the weight blocks (two or more dimensions, nonzero at the start:
 * a bias that starts at 0 has no meaningful ratio), of each block's
 * geometric-mean update:weight ratio over the late steps.
 *
 * The loss curve the learning-rate rules read is the training loss over the
 * whole training split (inference mode) at the start and after every
 * epoch: exact, with no batch noise, so a slow linear decay is not hidden
 * by the scatter of single batches.  With fewer than two epochs it is the
 * batch-loss trend instead.  Its late half runs from epoch floor(E/2) (E
 * the epochs of the run) to the end.
 *
 *   lr_low     the learning rate is too low: r_late < ratio_low (1e-4, a
 *              decade below the notes' 1e-3) AND the loss decays linearly,
 *              not exponentially: the late half of the run still accounts
 *              for at least linear_frac (1/4) of the curve's whole fall
 *              (for exp(-t/tau) that is tau >= T / (2 ln 4), a time
 *              constant of a third of the run or more), or the trend fell
 *              by less than 1% in all.  Both: a converged net also has
 *              small updates, but its loss stopped falling long ago.
 *   lr_high    the learning rate is too high: the loss grows (below);
 *              or r_late > ratio_high (1e-2, a decade above 1e-3) AND the
 *              loss is stuck: the late half accounts for less than
 *              linear_frac of the fall (it levelled off while the updates
 *              stay large: the notes' "too much energy", bouncing around a
 *              worse loss than smaller steps reach); or the loss is
 *              exploding (the curve ends above where it started: with a
 *              batch-loss trend, by more than twice its noise nu); or the
 *              run diverged (see nan) after ratios above ratio_high with
 *              the last finite batch loss above the first (a step too
 *              large makes the loss grow before it overflows; a NaN out of
 *              a falling loss is a numerical bug, not the step size).
 *   batch_small the batch is too small: the loss is noisy.  Relative noise
 *              nu = sd(batch loss - trend) / mean(trend), over the late
 *              steps.  A batch of B examples has a loss whose sd is
 *              sd_example / sqrt(B); the notes' noisy curve is one whose
 *              batch-to-batch wiggle is as large as the loss itself: FOUND
 *              when nu > noise_max (0.5: half the loss level; a band of
 *              +-2 sd covering twice the level: the trend is invisible in
 *              single batches), with the batch size and the expected
 *              batch size for nu = 0.25 (nu scales as 1/sqrt(B)).
 *   overfit    training and validation accuracy apart: gap = train_acc -
 *              val_acc at the last epoch; FOUND when gap > gap_min (0.05,
 *              five points: a material difference) AND gap > z (3)
 *              binomial standard errors of the difference,
 *              sqrt(p_t(1-p_t)/n_t + p_v(1-p_v)/n_v) (not sampling noise
 *              of a small validation split).  Evidence also: the epoch
 *              of the best validation accuracy, when validation later
 *              fell.  Advice: stronger L2, more dropout, more data.
 *   capacity   too little capacity: validation tracks training (no
 *              overfit gap: gap <= gap_min or within z standard errors)
 *              at a low level: the training accuracy covers less than
 *              capacity_level (1/2) of the room between chance (the
 *              largest class share of the training split, 1/C when
 *              unknown) and 1, AND it has levelled off: over the last
 *              third of the epochs it rose by less than z standard errors
 *              (training longer would not help) and the loss curve
 *              levelled off too (its late half holds less than
 *              linear_frac of its fall).  Not assessed after a NaN.
 *              Advice: a bigger net.
 *   dead       a ReLU layer whose dead fraction (above) exceeds dead_max
 *              (1/2: most of the layer no longer learns; sanity's FAIL
 *              level) at the last epoch.  The suspected cause: at the
 *              start already (epoch 0): the initialization (a bias below
 *              -2 x weight RMS, or a weight RMS far from sqrt(2/fan_in));
 *              healthy at the start and dead later: a learning rate that
 *              knocked the units off (the notes' warning).
 *   saturated  a tanh/sigmoid layer whose saturated fraction exceeds
 *              sat_max (1/2) at the last epoch; the weight RMS feeding it
 *              against sqrt(1/fan_in) names the initialization when it is
 *              more than twice that scale.
 *   nan        a loss or gradient turned NaN/Inf: the first step (1-based)
 *              and the block whose gradient was first non-finite ("loss"
 *              when the loss itself was).  Training stops there.
 *
 * Resume.  A checkpoint written by a run holds, besides the parameters, the
 * run's state as auxiliary blocks (checkpoint.h, aux_blocks): the
 * optimizer's per-block state arrays ("aux.s1.NAME", "aux.s2.NAME") and
 * the averaged parameters ("aux.ema.NAME"), and as metadata the step count,
 * the step-seed generator, the schedule's state and every setting that
 * shapes the run (rule and its hyperparameters, schedule, batch, seed,
 * decay).  nnc_babysit with opts.resume continues from it, bit for bit:
 * the run to epoch 2 followed by a resumed run to epoch 4 ends with the
 * parameters of one run to epoch 4, and its histograms of epochs 3 and 4
 * are those of the whole run (histograms then add up exactly).  The resumed
 * run's result holds its own epochs only, numbered on from the checkpoint.
 *
 * Contracts as in nncheck.h: functions return an nnc_err code, nothing
 * prints, nothing is global; the model keeps the parameters training
 * reached.
 */
#ifndef NNCHECK_BABYSIT_H
#define NNCHECK_BABYSIT_H

#include <nncheck/train.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the fixed histogram buckets ----------------------------------------- */
#define NNC_BS_EXP_MIN (-8)  /* smallest magnitude edge: 10^-8 */
#define NNC_BS_EXP_MAX 4     /* largest magnitude edge: 10^4 */
#define NNC_BS_PER_DECADE 4  /* buckets per decade */
#define NNC_BS_NMAG ((NNC_BS_EXP_MAX - NNC_BS_EXP_MIN) * NNC_BS_PER_DECADE)
#define NNC_BS_BUCKET_ZERO (NNC_BS_NMAG + 2)
#define NNC_BS_BUCKET_NONFINITE (2 * NNC_BS_NMAG + 5)
#define NNC_BS_NBUCKETS (2 * NNC_BS_NMAG + 6)

/* The bucket of a value (see the header comment). */
size_t nnc_babysit_bucket(double a);
/* Bucket b holds values in [lo, hi) (for negative buckets (lo, hi] by
 * magnitude: lo < hi always, as numbers); overflow buckets reach +-Inf,
 * the zero bucket is [0, 0], the non-finite one NaN, NaN. */
void nnc_babysit_bucket_edges(size_t b, double *lo, double *hi);

typedef struct nnc_bs_hist {
  uint64_t n[NNC_BS_NBUCKETS]; /* values per bucket */
} nnc_bs_hist;

/* ---- diagnoses ------------------------------------------------------------ */
enum nnc_bs_diag_id {
  NNC_BS_LR_LOW = 0,
  NNC_BS_LR_HIGH = 1,
  NNC_BS_BATCH_SMALL = 2,
  NNC_BS_OVERFIT = 3,
  NNC_BS_CAPACITY = 4,
  NNC_BS_DEAD = 5,
  NNC_BS_SATURATED = 6,
  NNC_BS_NAN = 7,
  NNC_BS_NDIAG = 8
};
/* "lr_low", "lr_high", "batch_small", "overfit", "capacity", "dead",
 * "saturated", "nan"; NULL for another id. */
const char *nnc_babysit_diag_name(int id);
int nnc_babysit_diag_parse(const char *name); /* -1 if unknown */

enum nnc_bs_status {
  NNC_BS_OK = 0,    /* looked for, not seen */
  NNC_BS_FOUND = 1, /* a problem: exit 1 */
  NNC_BS_SKIP = 2   /* could not be looked for: `evidence` says why */
};
const char *nnc_babysit_status_name(int s); /* "ok", "FOUND", "skip" */

typedef struct nnc_bs_diag {
  int status;          /* enum nnc_bs_status */
  char title[128];     /* the diagnosis in plain words */
  char evidence[1024]; /* the numbers that decided it, with thresholds */
  char advice[512];    /* what to do (FOUND only; "" otherwise) */
} nnc_bs_diag;

/* Progress, for a caller that shows it (the library prints nothing). */
typedef struct nnc_bs_progress {
  size_t epoch;        /* epochs completed (0 during the first) */
  size_t epochs;       /* epochs the run will end at */
  size_t step;         /* steps taken in all (a resumed run counts on) */
  size_t steps_total;  /* steps the run will end at (0: unknown) */
  double loss;         /* the last batch loss */
  int end_of_epoch;    /* called after an epoch's evaluation */
  double train_acc, val_acc, ema_val_acc; /* that epoch's; NaN otherwise */
} nnc_bs_progress;

typedef struct nnc_babysit_opts {
  nnc_optim_opts optim; /* update rule and hyperparameters; default SGD
                           with the notes' defaults (lr 1e-2) */
  nnc_schedule sched;  /* learning-rate schedule; kind CONST by default;
                          lr0 0 takes optim.lr, mu0 < 0 optim.mu */
  size_t epochs;       /* the run ends after this epoch; default 10.  With
                          resume: the epoch to reach (must be later than
                          the checkpoint's) */
  size_t batch;        /* examples per step; default 32 */
  uint64_t seed;       /* batches, dropout masks, the epoch-0 batch;
                          default 1 */
  double ema_decay;    /* running average decay per step, in [0, 1);
                          default 0.99 (about the last 100 steps) */
  size_t eval_batch;   /* evaluation batch; default 256 */
  const char *checkpoints; /* directory for per-epoch checkpoints and
                              babysit_stats.json (created); NULL: none */
  const char *resume;  /* checkpoint to continue from; NULL: start fresh.
                          Its settings override optim, sched, batch, seed
                          and ema_decay */
  /* thresholds of the diagnoses (see the header comment) */
  double ratio_low;    /* default 1e-4 */
  double ratio_high;   /* default 1e-2 */
  double linear_frac;  /* default 0.25 */
  double noise_max;    /* default 0.5 */
  double gap_min;      /* default 0.05 */
  double z;            /* default 3 */
  double capacity_level; /* default 0.5 */
  double dead_max;     /* default 0.5 */
  double sat_max;      /* default 0.5 */
  double sat_level;    /* default 0.97 */
  /* optional progress hook: called after every step and every epoch; a
   * non-zero return stops the run (what was recorded is kept) */
  int (*progress)(void *user, const nnc_bs_progress *p);
  void *user;
} nnc_babysit_opts;
void nnc_babysit_opts_init(nnc_babysit_opts *o);

/* Statistics of one probed layer over one epoch. */
typedef struct nnc_bs_layer_epoch {
  nnc_bs_hist act;     /* activations */
  nnc_bs_hist grad;    /* their gradients (empty without probe gradients) */
  uint64_t values;     /* activation values seen */
  uint64_t examples;   /* examples seen (rows) */
  double dead;         /* fraction of units dead (ReLU; NaN otherwise) */
  double sat_units;    /* fraction of units saturated (tanh, sigmoid; NaN
                          otherwise) */
  double sat_values;   /* fraction of values saturated (tanh, sigmoid) */
  double near_zero;    /* fraction of values with 0 < |a| < 1e-2 */
  double zero;         /* fraction of values exactly 0 */
  double mean_abs;     /* mean |a| */
  double grad_rms;     /* RMS of the gradient values; NaN without them */
} nnc_bs_layer_epoch;

typedef struct nnc_bs_probe {
  char name[64];
  uint32_t kind;       /* enum nnc_act_kind */
  size_t units;        /* per example (0: unknown) */
  char wblock[64];     /* the weight block feeding it ("" if not found) */
  double w_rms0, w_ref; /* its RMS at the start; the notes' scale */
  char bblock[64];     /* the bias block after it ("" if none) */
  double b_mean0;      /* its mean at the start */
  nnc_bs_layer_epoch init; /* epoch 0: the starting parameters */
  nnc_bs_layer_epoch *ep;  /* nepochs entries */
} nnc_bs_probe;

typedef struct nnc_bs_block {
  char name[64];
  size_t count;
  int weight;          /* two or more dimensions and nonzero at the start:
                          counted in r_late */
  double norm0;        /* |W| at the start of the run */
  double *ratio_epoch; /* nepochs geometric means of the step ratios */
  double ratio_late;   /* geometric mean over the late steps (NaN: none) */
} nnc_bs_block;

typedef struct nnc_bs_epoch {
  size_t epoch;        /* 1-based, counted from the start of training */
  size_t step;         /* steps taken in all at its end */
  double lr;           /* in force for its last step */
  double batch_loss;   /* mean of its batch losses */
  double train_loss, train_acc; /* inference mode, whole training split */
  double val_loss, val_acc;     /* NaN without a validation split */
  double gap;          /* train_acc - val_acc */
  double ema_val_loss, ema_val_acc; /* the running average's */
  double filter_noise; /* median noise number of the first-layer filters;
                          NaN without an image input */
  char checkpoint[256]; /* the file written (name only); "" none */
} nnc_bs_epoch;

/* First-layer filters as images. */
typedef struct nnc_bs_filters {
  int present;         /* an image input and a matching weight block */
  char block[64];      /* the weight block */
  size_t channels, height, width; /* C x H x W of one filter */
  size_t nfilters;     /* columns of the block */
  double noise0;       /* median noise number at the start */
  double noise;        /* ... at the end */
  double *values0;     /* nfilters x C x H x W, the filters at the start */
  double *values;      /* ... and at the end */
} nnc_bs_filters;

typedef struct nnc_babysit_result {
  char plugin[64];
  char spec[4096];     /* as named; "" in-process */
  char args[1024];
  nnc_babysit_opts opts; /* as run (the checkpoint's settings on resume;
                            pointers cleared) */
  char rule[16];
  char sched[16];
  size_t n_train, n_val;
  uint32_t n_classes;
  double chance;       /* largest class share of the training split (1/C
                          without predict); NaN without classes */
  size_t steps_per_epoch;
  /* resume */
  int resumed;         /* continued from a checkpoint */
  char resumed_from[4096];
  size_t start_epoch, start_step; /* where this run began (0, 0 fresh) */
  /* steps of this run */
  size_t nsteps;
  double *step_epoch;  /* fractional epoch after each step */
  double *step_loss;   /* batch loss before the update */
  double *step_trend;  /* the centred moving average */
  double *step_lr;
  size_t nblocks;
  double *ratio;       /* nsteps x nblocks update:weight ratios */
  nnc_bs_block *blocks;
  size_t trend_window; /* w */
  /* epochs of this run */
  size_t nepochs;
  nnc_bs_epoch *epochs;
  size_t nprobes;
  nnc_bs_probe *probes;
  nnc_bs_filters filters;
  double train_loss0, train_acc0; /* at the start of this run (inference
                                      mode, whole training split) */
  /* measures behind the diagnoses */
  double r_late;       /* median late ratio over weight blocks; NaN */
  int curve_epochs;    /* the loss curve below is the training loss at the
                          end of each epoch (from two epochs on: exact,
                          no batch noise); 0: the batch-loss trend */
  double late_frac;    /* share of the curve's fall in the late half */
  double trend_start, trend_end, trend_fall; /* the curve's first and last
                                                value; fall = (start - end)
                                                / start */
  double noise_rel;    /* nu */
  int diverged;        /* a NaN/Inf stopped the run */
  size_t nan_step;     /* its step (1-based, counted from the start) */
  char nan_block[64];  /* its block, or "loss" */
  nnc_bs_diag diag[NNC_BS_NDIAG];
  int found;           /* diagnoses FOUND */
  int error;           /* NNC_OK, or the error that stopped the run */
  char error_msg[1024];
} nnc_babysit_result;

/* Train and watch.  Always returns a result unless out of memory (then
 * NNC_ENOMEM and *res NULL); res->error says whether the run went to the
 * end (an error keeps what was recorded before it).  A layer is refused
 * with NNC_EUNSUPPORTED: babysitting needs a net's loss. */
int nnc_babysit(nnc_model *m, const nnc_babysit_opts *o,
                nnc_babysit_result **res);
void nnc_babysit_free(nnc_babysit_result *r);
/* 0 nothing FOUND, 1 a diagnosis FOUND, 2 or 3 for an error. */
int nnc_babysit_exit_status(const nnc_babysit_result *r);

/* (Re)compute the diagnoses from what the result recorded (nnc_babysit
 * does it; for callers that change thresholds in r->opts). */
void nnc_babysit_diagnose(nnc_babysit_result *r);

/* Reports to a caller-owned stream: the human text and JSON.  Both are
 * byte-identical for one seed. */
int nnc_babysit_report_text(const nnc_babysit_result *r, FILE *f);
int nnc_babysit_report_json(const nnc_babysit_result *r, FILE *f);

/* Plots into dir (created if missing), each NAME.dat, NAME.gp, NAME.png,
 * NAME.svg: babysit_loss (batch loss and trend, linear), babysit_loss_log
 * (the same, log y), babysit_acc (train, val, running-average val and the
 * gap), babysit_ratio (per block, log y, with the 1e-3 line and the
 * ratio_low/ratio_high band), babysit_units (dead, saturated and near-zero
 * fractions per layer), babysit_hist_act_NAME and babysit_hist_grad_NAME
 * per probe (epochs x buckets, colour the share of values, log), and with
 * an image input babysit_filters0 and babysit_filters (the first-layer
 * filters at the start and the end).  *nplots (if not NULL) receives the
 * number of plots.  NNC_OK, NNC_PLOTS_UNRENDERED (gnuplot could not be
 * started: data and scripts written) or an error with err filled. */
int nnc_babysit_plots(const nnc_babysit_result *r, const char *dir,
                      size_t *nplots, char *err, size_t errlen);
/* The same plots drawn as text (80 x 24 each) into *text (malloc'ed). */
int nnc_babysit_plots_text(const nnc_babysit_result *r, char **text,
                           char *err, size_t errlen);
/* The report as one self-contained page: renders the plots into dir (as
 * nnc_babysit_plots) and writes dir/index.html holding the diagnoses, the
 * tables and every plot's SVG inline as a data: URI (no script, font or
 * address from outside; a small inline script counts the plots that
 * loaded into <body data-plots-loaded>, beside data-plots, the number
 * written).  Needs gnuplot: NNC_PLOTS_UNRENDERED without it (the page is
 * then not written). */
int nnc_babysit_html(const nnc_babysit_result *r, const char *dir,
                     char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_BABYSIT_H */
