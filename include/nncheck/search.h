/* nncheck/search.h — hyperparameter search: random search on the right
 * scale, staged from coarse to fine, run by workers that share a directory,
 * summarised by a master at any time (the notes' "Hyperparameter
 * optimization": worker/master, one validation fold, log-scale random
 * search, best values on the border, coarse-to-fine stages).
 *
 * ---- The search-space file ----------------------------------------------
 * Plain text, one statement a line; '#' starts a comment; blank lines are
 * ignored; words are separated by blanks.  Errors name the file and line.
 *
 *   plugin NAME            the net: a bundled name or a path (required)
 *   args TEMPLATE...       its argument string, the rest of the line; each
 *                          {NAME} is replaced by the trial's value of
 *                          parameter NAME (integers as integers, reals as
 *                          %.17g), e.g. `args layers=2,{hidden},3 N=100`
 *   seed N                 the search seed [1]
 *   rule RULE              update rule: sgd momentum nesterov adagrad
 *                          rmsprop adam [sgd]
 *   lr X   mu X            learning rate, momentum when not searched
 *                          [the rule's defaults]
 *   batch N                mini-batch size when not searched [32]
 *   ema D                  decay of the exponential running average of the
 *                          parameters kept per trial, per step [0.95]
 *   topk K                 trials that propose the next stage's ranges and
 *                          whose median the border check reads [5]
 *   lease S                seconds a claim lives without a heartbeat [30]
 *   param NAME SCALE LO HI [limit A B]
 *                          a searched hyperparameter.  SCALE: log (sampled
 *                          as 10^uniform(log10 LO, log10 HI); LO > 0),
 *                          linear (uniform(LO, HI)), int (a uniform integer
 *                          of LO..HI), logint (round(10^uniform) in LO..HI,
 *                          LO >= 1).  limit: hard bounds no later stage
 *                          crosses (default: none for log and logint
 *                          beyond > 0 and >= 1; for linear and int, LO and
 *                          HI).  Where it goes: NAME in the args template as
 *                          {NAME}: into the argument string; lr, mu, batch:
 *                          the training options; any other NAME: the
 *                          plugin's set_hyper(NAME) (e.g. reg, dropout).
 *   stage NAME trials=N epochs=E [stop=Q]
 *                          a stage, in order, at least one: N random trials
 *                          of E epochs (E may be fractional, e.g. 0.5).
 *                          stop=Q (0 <= Q < 1, default 0.5; 0: never): the
 *                          early-stopping quantile, see below.
 *
 * ---- Stages, coarse to fine ---------------------------------------------
 * Stage 0 samples the declared ranges.  When every trial of stage s is
 * done, stage s + 1's ranges are proposed from stage s: per parameter, in
 * its scale (log10 for log and logint), the hull [a, b] of the values of
 * the top-k trials (best validation accuracy, then lower validation loss,
 * then lower index), widened by max(25% of b - a, 5% of the stage's width)
 * on each side and clipped to the limits.  Regions where most trials
 * diverged are dropped: the stage's range is cut into 5 equal bins (in
 * scale); a bin holding at least 2 trials of which more than half diverged
 * (NaN/Inf loss or gradient; a training loss above NNC_SEARCH_EXPLODE
 * times its first mini-batch loss; or a plugin error) is cut off the new range
 * when it lies at one of its ends (never past the top-k hull).
 *
 * ---- Border check --------------------------------------------------------
 * After each stage, per parameter: the position, in scale, of the best
 * trial's value and of the median of the top-k values within the stage's
 * range.  When either lies in the outer 10% of the range (the lower or the
 * upper tenth), a warning names the parameter and proposes the range widened
 * on that side by half its width (in scale; no further than the limit, and
 * "at its limit" when the limit is the border).
 *
 * ---- Early stopping, deterministic ---------------------------------------
 * A median-stopping rule in the spirit of successive halving / ASHA that
 * never depends on completion order: rungs are the epochs 1, 2, 4, 8, ...
 * below the stage's epochs.  At a rung r a trial of stage s > 0 stops when
 * its validation accuracy is below the Q-quantile of the validation
 * accuracies at epoch r of all trials of the earlier stages that reached
 * epoch r (at least 4 of them; fewer: no rung).  Those are complete before
 * stage s starts, so the thresholds are fixed in stage s's plan and every
 * worker applies the same ones.  Stage 0 stops only diverged trials.
 *
 * ---- The directory -------------------------------------------------------
 *   DIR/space.txt            the search-space file, copied at init
 *   DIR/stageS.plan          stage S's resolved ranges and rung thresholds
 *                            (text, written once, atomically: any worker
 *                            that finds stage S - 1 complete writes it; its
 *                            content is a function of the results only)
 *   DIR/claims/trialNNNN.aK  attempt K at trial NNNN: created with O_EXCL,
 *                            so one worker wins; its mtime is the heartbeat
 *                            (touched every epoch and every lease/4 s).  A
 *                            trial whose newest attempt is older than the
 *                            lease is claimed again as attempt K + 1 (again
 *                            O_EXCL: one winner).  A worker that sees a newer
 *                            attempt than its own abandons the trial.
 *   DIR/trials/trialNNNN/    per trial: epochEEEE-valA.AAAA.nnckpt after
 *                            every epoch (A = validation accuracy),
 *                            ema-epochEEEE-valA.AAAA.nnckpt at the end (the
 *                            running average), progress.txt (the result
 *                            so far), stats.json (per epoch; with the step
 *                            losses once done), loss.tsv (per step,
 *                            appended each epoch), and last result.txt (the
 *                            trial is done when it exists) and timing.txt
 *                            (seconds, worker: not reproducible).
 *   Every file but loss.tsv is written to a temporary name and renamed: a
 *   reader sees the old file or the complete new one (of loss.tsv, at worst
 *   a last line cut short).  Temporary files a dead worker left are removed
 *   by the worker that takes its trial over.  A re-claimed trial restarts from
 *   scratch: its result is a pure function of (search seed, trial index,
 *   stage plan), so the files it rewrites are bit-identical, whatever the
 *   number of workers and the order they finish in.
 *
 * Contracts as in nncheck.h: nnc_err codes, messages in err buffers,
 * nothing prints, nothing global. */
#ifndef NNCHECK_SEARCH_H
#define NNCHECK_SEARCH_H

#include <nncheck/nncheck.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNC_SEARCH_MAX_PARAMS 16
#define NNC_SEARCH_MAX_STAGES 8
#define NNC_SEARCH_NAME 32       /* bytes of a parameter or stage name */
#define NNC_SEARCH_BORDER 0.1    /* the outer fraction the border check reads */
#define NNC_SEARCH_BINS 5        /* bins of the divergence rule */
#define NNC_SEARCH_EXPLODE 10.0  /* a trial whose training loss at an
                                    epoch's end exceeds this times its first
                                    mini-batch loss has exploded: stopped
                                    there and counted as diverged */

enum nnc_scale {
  NNC_SCALE_LOG = 0,     /* 10^uniform(log10 lo, log10 hi) */
  NNC_SCALE_LINEAR = 1,  /* uniform(lo, hi) */
  NNC_SCALE_INT = 2,     /* uniform integer lo..hi */
  NNC_SCALE_LOGINT = 3   /* round(10^uniform(log10 lo, log10(hi))) */
};
const char *nnc_scale_name(int scale); /* "log", ... */

typedef struct nnc_search_param {
  char name[NNC_SEARCH_NAME]; /* [A-Za-z0-9_] */
  int scale;            /* enum nnc_scale */
  double lo, hi;        /* the range (stage 0: as declared) */
  double lim_lo, lim_hi; /* hard limits no stage crosses */
} nnc_search_param;

typedef struct nnc_search_stage {
  char name[NNC_SEARCH_NAME];
  size_t trials;        /* random trials */
  double epochs;        /* epochs per trial */
  double stop_q;        /* early-stopping quantile; 0: never */
} nnc_search_stage;

typedef struct nnc_search_space {
  char plugin[1024];    /* bundled name or path */
  char args[1024];      /* the argument template */
  uint64_t seed;        /* search seed */
  int rule;             /* enum nnc_rule */
  double lr, mu;        /* fixed values; NaN: the rule's default */
  size_t batch;         /* fixed mini-batch size */
  double ema;           /* running-average decay per step */
  size_t topk;          /* trials proposing the next ranges */
  double lease;         /* seconds */
  size_t nparams;
  nnc_search_param params[NNC_SEARCH_MAX_PARAMS];
  size_t nstages;
  nnc_search_stage stages[NNC_SEARCH_MAX_STAGES];
} nnc_search_space;

/* Parse a search-space file (its text, and its name for messages).  Errors:
 * NNC_EARG with "NAME:LINE: what is wrong: what is accepted" in err. */
int nnc_search_space_parse(const char *text, const char *fname,
                           nnc_search_space *out, char *err, size_t errlen);
/* Read and parse a file: NNC_ENOTFOUND / NNC_EIO / NNC_EARG. */
int nnc_search_space_load(const char *path, nnc_search_space *out, char *err,
                          size_t errlen);

/* ---- one stage's plan ---------------------------------------------------- */
#define NNC_SEARCH_MAX_RUNGS 16
typedef struct nnc_search_plan {
  size_t stage;         /* 0-based */
  size_t first;         /* global index of its first trial */
  size_t trials;        /* how many */
  double epochs;
  size_t nparams;       /* as the space */
  nnc_search_param params[NNC_SEARCH_MAX_PARAMS]; /* this stage's ranges */
  size_t nrungs;
  size_t rung_epoch[NNC_SEARCH_MAX_RUNGS]; /* rung epochs, increasing */
  double rung_min[NNC_SEARCH_MAX_RUNGS];   /* stop below this accuracy */
} nnc_search_plan;

/* Stage 0's plan: the declared ranges, no rungs. */
void nnc_search_plan0(const nnc_search_space *sp, nnc_search_plan *out);
int nnc_search_plan_write(const nnc_search_plan *p, FILE *f);
int nnc_search_plan_parse(const char *text, nnc_search_plan *out, char *err,
                          size_t errlen);

/* ---- sampling ------------------------------------------------------------ */
/* One value of parameter p drawn with u ~ uniform[0, 1): deterministic, on
 * p's scale; integers come back integral. */
double nnc_search_value(const nnc_search_param *p, double u);
/* The values of trial `index` (global) under plan p: parameter j draws its
 * u from stream (seed, index, j); independent of every other trial. */
void nnc_search_sample(const nnc_search_plan *p, uint64_t seed, size_t index,
                       double *values);
/* Position of v in [lo, hi] in p's scale, 0 at lo, 1 at hi. */
double nnc_search_pos(const nnc_search_param *p, double lo, double hi,
                      double v);

/* ---- a trial's outcome --------------------------------------------------- */
enum nnc_trial_status {
  NNC_TRIAL_PENDING = 0,  /* not done (maybe running) */
  NNC_TRIAL_OK = 1,       /* trained every epoch */
  NNC_TRIAL_STOPPED = 2,  /* stopped early at a rung */
  NNC_TRIAL_DIVERGED = 3, /* NaN/Inf loss or gradient */
  NNC_TRIAL_FAILED = 4    /* the plugin failed (error text kept) */
};
const char *nnc_trial_status_name(int st);

#define NNC_SEARCH_MAX_EPOCHS 1000
typedef struct nnc_trial {
  size_t index;         /* global trial index */
  size_t stage;
  int status;           /* enum nnc_trial_status */
  double values[NNC_SEARCH_MAX_PARAMS]; /* the sampled hyperparameters */
  double best_acc;      /* best validation accuracy over epochs; NaN: none */
  double best_loss;     /* validation loss at that epoch */
  size_t best_epoch;    /* 1-based; 0: none */
  double ema_acc;       /* running average's validation accuracy; NaN */
  size_t nepochs;       /* epochs completed */
  double *train_loss;   /* per epoch (nepochs each) */
  double *val_loss;
  double *val_acc;
  size_t nsteps;        /* step losses (in-progress trials: so far) */
  double *step_epoch;
  double *step_loss;
  char error[256];      /* FAILED: the plugin's message */
  double train_s;       /* seconds training (timing.txt; not reproducible) */
  double proto_s;       /* seconds in the claim/checkpoint protocol */
} nnc_trial;

/* The score trials are ranked by: higher accuracy, then lower loss, then
 * lower index; diverged, failed and pending trials last. */
int nnc_trial_cmp(const nnc_trial *a, const nnc_trial *b);

/* ---- the planner and the border check ------------------------------------ */
/* Stage s + 1's plan from stage s's plan and its complete trials (n of
 * them, in any order; trials of earlier stages for the rungs: all in
 * `all`, nall). */
int nnc_search_plan_next(const nnc_search_space *sp,
                         const nnc_search_plan *cur, const nnc_trial *trials,
                         size_t n, const nnc_trial *all, size_t nall,
                         nnc_search_plan *next, char *err, size_t errlen);

typedef struct nnc_border_warning {
  char param[NNC_SEARCH_NAME];
  int upper;            /* 0: the lower border, 1: the upper */
  int what;             /* 0: the best value, 1: the median of the top-k,
                           2: both */
  double value;         /* the value at the border (best, else median) */
  double pos;           /* its position in [0, 1] */
  double lo, hi;        /* the stage's range */
  double new_lo, new_hi; /* the proposed range */
  int at_limit;         /* the border is a hard limit: nothing to widen */
} nnc_border_warning;

/* The border check over n trials of one stage under plan p; writes at most
 * NNC_SEARCH_MAX_PARAMS warnings (one per parameter), returns how many. */
size_t nnc_search_border(const nnc_search_space *sp, const nnc_search_plan *p,
                         const nnc_trial *trials, size_t n,
                         nnc_border_warning *out);
/* The warning as one sentence into buf. */
void nnc_border_format(const nnc_border_warning *w, int scale, char *buf,
                       size_t len);

/* ---- the directory protocol ---------------------------------------------- */
/* Create DIR (if missing) with the space file's text copied to space.txt and
 * stage 0's plan; an existing DIR with the same space.txt is resumed
 * (nothing is rewritten); a different one is NNC_EARG. */
int nnc_search_init(const char *dir, const char *space_text,
                    const char *space_name, char *err, size_t errlen);

typedef struct nnc_worker_opts {
  double poll;          /* seconds between looks while others work [0.2] */
  size_t max_trials;    /* stop after this many trials; 0: no limit */
  const char *id;       /* worker name written to timing.txt ("pid N") */
  double lease;         /* overrides the space's lease when > 0 */
} nnc_worker_opts;
void nnc_worker_opts_init(nnc_worker_opts *o);

typedef struct nnc_worker_stats {
  size_t trials;        /* trials this worker completed */
  size_t reclaimed;     /* ... of which it took over from a dead worker */
  size_t abandoned;     /* trials it gave up (another took them over) */
  size_t planned;       /* stage plans it wrote */
} nnc_worker_stats;

/* The worker loop: claim a trial, train it, write its files, repeat; plan
 * the next stage when one is complete; return NNC_OK when every stage is
 * done (or max_trials reached).  Plugin failures are recorded in the
 * trial (FAILED), not returned; bad space/plan files are NNC_EARG,
 * unwritable files NNC_EIO. */
int nnc_search_worker(const char *dir, const nnc_worker_opts *o,
                      nnc_worker_stats *st, char *err, size_t errlen);

/* Run one trial of the search in dir into out_dir (the trial's files), with
 * an init seed offset (0 for the search itself; ensembles of one trial's
 * hyperparameters use 1, 2, ...).  Used by the worker and by ensemble. */
int nnc_search_run_trial(const char *dir, size_t index, uint64_t init_offset,
                         const char *out_dir, char *err, size_t errlen);

/* The model of trial `index` opened with its arguments and hyperparameters
 * (parameters as created, not trained).  For ensemble. */
int nnc_search_open_model(const char *dir, size_t index, nnc_model **out,
                          char *err, size_t errlen);

/* ---- the master ----------------------------------------------------------- */
typedef struct nnc_search_summary {
  nnc_search_space space;
  size_t nplans;        /* stage plans written so far */
  nnc_search_plan plans[NNC_SEARCH_MAX_STAGES];
  size_t ntrials;       /* trials of the planned stages */
  nnc_trial *trials;    /* by index; pending ones with what they wrote */
  size_t done, running, pending; /* counts (running: a live claim) */
  size_t nwarn;
  nnc_border_warning warn[NNC_SEARCH_MAX_STAGES * NNC_SEARCH_MAX_PARAMS];
  size_t warn_stage[NNC_SEARCH_MAX_STAGES * NNC_SEARCH_MAX_PARAMS];
  int complete;         /* every stage done */
} nnc_search_summary;

/* Read the directory as it is now (workers may be running). */
int nnc_search_summarize(const char *dir, nnc_search_summary **out,
                         char *err, size_t errlen);
void nnc_search_summary_free(nnc_search_summary *s);
/* Reports: the best `top` trials, per stage counts, border warnings.  No
 * times, no worker names: two searches with one seed give identical
 * reports. */
int nnc_search_report_text(const nnc_search_summary *s, size_t top, FILE *f);
int nnc_search_report_json(const nnc_search_summary *s, size_t top, FILE *f);
/* Plots into pdir (or as text into *text, see nnc_plot_emit): hp_NAME per
 * parameter (validation accuracy against the value, log axis for log
 * scales, one colour per stage) and hp_curves (the step losses of the top
 * trials). */
int nnc_search_plots(const nnc_search_summary *s, size_t top,
                     const char *pdir, char **text, char *err, size_t errlen);

/* The Slurm job-array script running `nworkers` workers of program `exe`
 * on dir (absolute paths are best); env (NULL-terminated "KEY=VALUE"
 * strings, may be NULL) is exported by the script before the worker
 * starts, e.g. the plugin search path. */
int nnc_search_sbatch(const char *dir, const char *exe, size_t nworkers,
                      const char *partition, const char *const *env, FILE *f);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_SEARCH_H */
