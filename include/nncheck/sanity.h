/* nncheck/sanity.h — the checks to run before expensive training (the
 * notes' "Before learning: sanity checks"), on a net:
 *
 *   chance    the data loss at near-zero scores is the loss at chance:
 *             ln C for softmax, margin * (C - 1) for the multiclass SVM;
 *   reg       raising the regularization strength raises the loss, and the
 *             regularization part alone is >= 0 and grows;
 *   overfit   a tiny subset (20 examples), regularization off, can be
 *             trained to a near-zero loss and 100% training accuracy;
 *   baseline  trained on zeroed inputs, the same net does worse than on
 *             the real ones (the input-independent baseline);
 *   init      at the plugin's own initialization no layer has most of its
 *             ReLUs dead or its tanh units saturated.
 *
 * Every check says what it expected next to what it measured and why it
 * gave its verdict; a check whose plugin lacks an optional callback it
 * needs is SKIPped with the reason.  Contracts as in nncheck.h: functions
 * return an nnc_err code, nothing prints, nothing is global.
 */
#ifndef NNCHECK_SANITY_H
#define NNCHECK_SANITY_H

#include <nncheck/nncheck.h>

#ifdef __cplusplus
extern "C" {
#endif

enum nnc_sanity_id {
  NNC_SANITY_CHANCE = 0,
  NNC_SANITY_REG = 1,
  NNC_SANITY_OVERFIT = 2,
  NNC_SANITY_BASELINE = 3,
  NNC_SANITY_INIT = 4,
  NNC_SANITY_NCHECKS = 5
};
/* "chance", "reg", "overfit", "baseline", "init"; NULL for another id. */
const char *nnc_sanity_name(int id);
/* The id of a check name, or -1. */
int nnc_sanity_parse(const char *name);

#define NNC_SANITY_MAX_REG 8 /* regularization strengths tried, at most */
#define NNC_SANITY_MAX_LR 8  /* learning rates of the overfit ladder */
#define NNC_SANITY_MAX_RUNS (NNC_SANITY_MAX_LR + 1) /* ... and an extension */

typedef struct nnc_sanity_opts {
  uint64_t seed;       /* every random choice: sample, subset, re-draws of
                          the weights, batches; default 1 */
  unsigned checks;     /* bit (1u << id) for each check to run; default all */
  size_t sample;       /* seeded training examples evaluated one by one at
                          chance and forming the init batch; default 100 */
  double tiny_scale;   /* weight scale of the re-draw for the chance check;
                          default 1e-4 */
  double z;            /* chance tolerance: z standard errors; default 4 */
  double floor_rel;    /* ... plus this times the expected loss; 1e-3 */
  size_t nreg;         /* regularization strengths, increasing, the first
                          0; default 4: 0, 1e-3, 1e-1, 10 */
  double reg[NNC_SANITY_MAX_REG];
  size_t subset;       /* examples to overfit; default 20 */
  size_t epochs;       /* budget per training run, full-subset batches;
                          default 300 */
  size_t nlr;          /* Adam learning rates tried in order until one
                          overfits; default 5: 1e-2, 3e-2, 1e-1, 3e-3, 1e-3 */
  double lr[NNC_SANITY_MAX_LR];
  size_t extend;       /* when no rate overfits within the budget, the
                          best run that learnt (its loss fell by learn_rel)
                          is repeated with this many times the budget;
                          reaching the target then is a WARN (slow), not a
                          PASS; default 10 */
  double learn_rel;    /* default 0.05 */
  double target_rel;   /* overfit: data loss below target_rel * initial
                          loss ... default 0.05 */
  double target_abs;   /* ... or below target_abs; default 1e-2 */
  double baseline_margin; /* zero-input loss at least this fraction above
                             the real-input loss; default 0.1 */
  double warn_frac;    /* init: WARN above this fraction of dead or
                          saturated units in a layer; default 0.1 */
  double fail_frac;    /* ... FAIL above this; default 0.5 */
  double sat_level;    /* tanh unit saturated where |a| > sat_level (sigmoid:
                          within 1 - sat_level of 0 or 1); default 0.97 */
} nnc_sanity_opts;

void nnc_sanity_opts_init(nnc_sanity_opts *o);

/* One verdict with the numbers that decided it, as printed. */
typedef struct nnc_sanity_item {
  uint32_t verdict;    /* NNC_PASS, NNC_WARN, NNC_FAIL, NNC_SKIP or
                          NNC_INCONCLUSIVE (the numbers carry no verdict) */
  char expected[192];  /* what a correct net gives */
  char measured[192];  /* what this one gave */
  char detail[1536];   /* how it was measured and why this verdict */
} nnc_sanity_item;

/* One training run on the subset. */
typedef struct nnc_sanity_run {
  double lr;           /* Adam learning rate */
  int extended;        /* a repeat of the best run with the extended budget */
  uint32_t flags;      /* the loss flags it trained with */
  size_t nepochs;      /* epochs run (a run stops once it meets the target) */
  double *loss;        /* nepochs + 1 entries: the data loss over the subset
                          in inference mode, before training and after each
                          epoch */
  double *acc;         /* nepochs + 1 entries: accuracy; NaN without
                          predict() or with zeroed inputs */
  double loss0, loss_end, loss_min;
  double acc_end;
  size_t reached;      /* first epoch meeting the target; 0: never */
  int diverged;        /* the loss or gradient went NaN/Inf: stopped */
} nnc_sanity_run;

/* One probed activation at initialization. */
typedef struct nnc_sanity_probe {
  char name[64];
  uint32_t kind;       /* enum nnc_act_kind */
  size_t units;        /* per example */
  size_t examples;
  double frac;         /* fraction of units dead (ReLU: 0 for every example)
                          or saturated (tanh, sigmoid: for most examples);
                          NaN: kind not assessed */
  double mean_abs;     /* mean |activation| */
  char wblock[64];     /* the weight block feeding it ("" if not found) */
  double w_rms;        /* its root mean square */
  double w_ref;        /* the notes' scale for its fan-in: sqrt(2/fan_in)
                          for ReLU, sqrt(1/fan_in) otherwise; NaN unknown */
  char bblock[64];     /* the bias block after it ("" if none) */
  double b_mean;       /* its mean */
  uint32_t verdict;
} nnc_sanity_probe;

typedef struct nnc_sanity_result {
  char plugin[64];
  char spec[4096];     /* as named: bundled name or path; "" in-process */
  char path[4096];
  char args[1024];
  uint32_t kind;
  uint64_t seed;
  nnc_sanity_opts opts;
  /* what the plugin offers */
  int has_info, has_predict, has_reinit, has_hyper, has_probes, has_zero;
  size_t n_train;
  uint32_t n_classes, loss_type;
  double margin;

  nnc_sanity_item items[NNC_SANITY_NCHECKS];

  struct nnc_sanity_chance {
    size_t n;          /* examples evaluated (0: the plugin's own batch) */
    double *loss;      /* n per-example data losses */
    int reinit;        /* evaluated after a re-draw at tiny_scale */
    int reg_zeroed;    /* set_hyper("reg", 0) accepted */
    int have_labels;   /* label frequencies known (predict) */
    double expected;   /* ln C, or margin * (C - 1) */
    double entropy;    /* label entropy of the sample (softmax); NaN */
    double mean, sd, se, tol;
  } chance;

  struct nnc_sanity_reg {
    size_t n;
    double lambda[NNC_SANITY_MAX_REG];
    double total[NNC_SANITY_MAX_REG];  /* loss with NNC_F_ALL */
    double part[NNC_SANITY_MAX_REG];   /* loss with NNC_F_REG */
    double data;                       /* loss with NNC_F_DATA */
    double grad_norm;  /* norm of the reg-only gradient at the largest
                          strength, when the loss did not move; NaN */
  } reg;

  struct nnc_sanity_overfit {
    size_t subset;     /* examples */
    size_t *index;     /* their training-split indices */
    size_t nruns;
    nnc_sanity_run runs[NNC_SANITY_MAX_RUNS];
    long chosen;       /* the run that met the target, -1: none */
    long best;         /* the run with the lowest final loss */
    double target;     /* the loss to get below (of the best run) */
    /* Where the extended run stopped short of the target: the slope of
     * the loss along the gradient backward() reports, analytic (|g|) and
     * by centered differences, and their relative error.  Agreeing, the
     * run stopped at a real minimum (capacity); disagreeing, the gradient
     * is wrong.  NaN when not probed. */
    double probe_analytic, probe_numeric, probe_relerr;
  } overfit;

  struct nnc_sanity_baseline {
    nnc_sanity_run real, zero;
    double majority;   /* largest class share of the subset: the most a
                          net that sees no input can get right; NaN */
    double entropy;    /* label entropy of the subset: the least loss a
                          softmax net that sees no input can reach; NaN */
  } baseline;

  struct nnc_sanity_init {
    size_t n;          /* examples in the batch */
    int reinit;        /* re-drawn at the plugin's default scale */
    size_t nprobes;
    nnc_sanity_probe *probes;
  } init;

  uint32_t verdict;    /* worst item verdict (SKIP and INCONCLUSIVE do not
                          fail) */
  int error;           /* NNC_OK, or the error that stopped the checks */
  int error_check;     /* the check it stopped in, -1 before any */
  char error_msg[1024];
} nnc_sanity_result;

/* Run the selected checks on a model.  Always returns a result (unless out
 * of memory); res->error says whether the checks ran to the end.  Every
 * check starts from the model's parameters as given, and they are restored
 * at the end; its regularization strength (set_hyper "reg") is left at 0
 * when the plugin takes it, and a plugin that keeps the scale of its last
 * reinit() as its default keeps the tiny one of the chance check (which
 * runs last for that reason).  A layer gets every check SKIPped: sanity
 * checks need a net. */
int nnc_sanity(nnc_model *m, const nnc_sanity_opts *o,
               nnc_sanity_result **res);
void nnc_sanity_free(nnc_sanity_result *r);
/* The tool exit status: 0 passed (WARN allowed), 1 a check FAILed, or the
 * error's status (2 usage, 3 the plugin misbehaved). */
int nnc_sanity_exit_status(const nnc_sanity_result *r);

/* Reports, to a caller-owned stream. */
int nnc_sanity_report_text(const nnc_sanity_result *r, FILE *f);
int nnc_sanity_report_json(const nnc_sanity_result *r, FILE *f);
int nnc_sanity_report_tap(const nnc_sanity_result *r, FILE *f);

/* nnc_sanity_plots' non-error return when gnuplot could not be started:
 * every NAME.dat and NAME.gp is written and err says how to render them
 * (the plot layer's NNC_PLOT_UNRENDERED). */
#define NNC_SANITY_UNRENDERED 1

/* Plots into dir (created if missing), each as NAME.dat, NAME.gp,
 * NAME.png and NAME.svg: sanity_chance (per-example losses against the
 * expected band), sanity_reg (loss against strength), sanity_overfit (loss
 * per epoch, log scale, one curve per learning rate), sanity_baseline (real
 * against zeroed inputs) and sanity_init (dead or saturated fraction per
 * layer), for the checks that ran.  NNC_OK, NNC_SANITY_UNRENDERED or an
 * error with err filled. */
int nnc_sanity_plots(const nnc_sanity_result *r, const char *dir, char *err,
                     size_t errlen);
/* The same plots drawn as text (gnuplot's dumb terminal, cols x rows
 * characters each), one after another under a title line, into *text
 * (malloc'ed, caller frees). */
int nnc_sanity_plots_text(const nnc_sanity_result *r, size_t cols,
                          size_t rows, char **text, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_SANITY_H */
