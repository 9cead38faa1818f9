/* nncheck/train.h — the training core: update rules, schedules, seeded
 * mini-batches, epochs, evaluation.  Works on any nnc_model (net plugins;
 * a layer model trains its parameters, never its "input" block, on
 * L = sum(r .* y) over its selected batch).
 *
 * Contracts as in nncheck.h: functions return an nnc_err code and leave
 * the message in nnc_model_error(m); nothing prints, nothing is global.
 * Every parameter is updated in double arithmetic and stored back in the
 * block's element type. */
#ifndef NNCHECK_TRAIN_H
#define NNCHECK_TRAIN_H

#include <nncheck/nncheck.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- update rules (the notes' "Parameter updates") ---------------------- */
enum nnc_rule {
  NNC_RULE_SGD = 0,      /* x += -lr * dx */
  NNC_RULE_MOMENTUM = 1, /* v = mu*v - lr*dx; x += v */
  NNC_RULE_NESTEROV = 2, /* the notes' x_ahead form: v_prev = v;
                            v = mu*v - lr*dx; x += -mu*v_prev + (1+mu)*v */
  NNC_RULE_ADAGRAD = 3,  /* cache += dx^2; x += -lr*dx/(sqrt(cache)+eps) */
  NNC_RULE_RMSPROP = 4,  /* cache = decay*cache + (1-decay)*dx^2; ... */
  NNC_RULE_ADAM = 5      /* m, v with bias correction (t from 1) */
};
const char *nnc_rule_name(int rule);     /* "sgd", "momentum", ... */
int nnc_rule_parse(const char *name);    /* -1 if unknown */

typedef struct nnc_optim_opts {
  int rule;          /* enum nnc_rule */
  double lr;         /* learning rate; default 1e-2 (1e-3 for adam) */
  double mu;         /* momentum; default 0.9 */
  double decay;      /* RMSprop decay rate; default 0.99 */
  double beta1;      /* Adam; default 0.9 */
  double beta2;      /* Adam; default 0.999 */
  double eps;        /* Adagrad/RMSprop/Adam; default 1e-8 */
} nnc_optim_opts;
/* The notes' defaults for a rule (lr 1e-3 for Adam, 1e-2 for the others). */
void nnc_optim_opts_init(nnc_optim_opts *o, int rule);

/* Optimizer state for one model: per block velocity / cache / moments, and
 * the step count.  Owned by the caller; free with nnc_optim_free.  o NULL:
 * SGD with the defaults.  It may step the model it was made for or any
 * model with the same block sizes (a clone). */
typedef struct nnc_optim nnc_optim;
int nnc_optim_new(nnc_model *m, const nnc_optim_opts *o, nnc_optim **out);
void nnc_optim_free(nnc_optim *opt);
/* The options in force; a schedule changes lr and mu between steps. */
nnc_optim_opts *nnc_optim_options(nnc_optim *opt);
/* One update of every parameter block from the model's gradient.  Requires
 * a successful nnc_model_backward since the parameters last changed (the
 * gradient buffers are not checked again).  A layer model's "input" block
 * is left alone.  Records each block's update:weight ratio |dw|/|w|, dw the
 * change as stored, w the values before it.  Afterwards the model needs a
 * new loss before the next backward.  A rule or mu changed between steps
 * takes effect at the next step; a rule's state starts at zero the first
 * time it is used. */
int nnc_optim_step(nnc_optim *opt, nnc_model *m);
/* |dw|/|w| of model block b in the last step (0 before any step, for a layer's
 * "input" and when dw = w = 0; Inf if |w| = 0 and dw != 0). */
double nnc_optim_ratio(const nnc_optim *opt, size_t block);
size_t nnc_optim_steps(const nnc_optim *opt);
/* Snapshots, for probes that must change nothing: the optimizer state
 * (options, step count, ratios and every state array), and (nnc_params_*)
 * the stored bytes of every block of the model, a layer's "input"
 * included.  Restoring is bit-exact and needs a model with the same blocks
 * (NNC_EARG otherwise; nnc_optim_restore leaves no message, having no
 * model).  Save fails only with NNC_ENOMEM. */
typedef struct nnc_optim_state nnc_optim_state;
int nnc_optim_save(const nnc_optim *opt, nnc_optim_state **out);
int nnc_optim_restore(nnc_optim *opt, const nnc_optim_state *st);
void nnc_optim_state_free(nnc_optim_state *st);

typedef struct nnc_params nnc_params;
int nnc_params_save(const nnc_model *m, nnc_params **out);
int nnc_params_restore(nnc_model *m, const nnc_params *p);
void nnc_params_free(nnc_params *p);

/* L-BFGS on the full batch (batch NULL: the model's selection or the
 * plugin's default; otherwise the given examples), for comparison with the
 * first-order rules: `iters` iterations with `history` pairs (0: 10) and a
 * backtracking (Armijo) line search, every loss with one seed and flags.
 * trace[k] (if not NULL, iters + 1 entries) receives the loss before
 * iteration k and after the last; *done the iterations run.  It stops early,
 * returning NNC_OK, at a zero gradient or when no step along the search
 * direction decreases the loss; the remaining trace entries then repeat the
 * last loss.  The parameters are left at the last accepted point. */
int nnc_lbfgs(nnc_model *m, const nnc_batch *batch, uint64_t seed,
              uint32_t flags, size_t iters, size_t history, double *trace,
              size_t *done);

/* ---- schedules (the notes' "Annealing the learning rate") --------------- */
enum nnc_sched_kind {
  NNC_SCHED_CONST = 0,
  NNC_SCHED_STEP = 1,    /* lr0 * factor^floor(epoch / every) */
  NNC_SCHED_EXP = 2,     /* lr0 * exp(-k * epoch) */
  NNC_SCHED_INV_T = 3,   /* lr0 / (1 + k * epoch) */
  NNC_SCHED_PLATEAU = 4  /* multiply by factor when the validation loss has
                            not improved by `threshold` (relative) for
                            `patience` epochs */
};
typedef struct nnc_schedule {
  int kind;
  double lr0;
  double factor;     /* STEP, PLATEAU: multiplier, e.g. 0.5 */
  double every;      /* STEP: epochs between decays */
  double k;          /* EXP, INV_T: decay rate */
  double patience;   /* PLATEAU: epochs without improvement */
  double threshold;  /* PLATEAU: relative improvement that counts; 1e-4 */
  double min_lr;     /* no schedule goes below this; default 0 */
  /* momentum schedule: mu ramps linearly from mu0 to mu1 over mu_epochs
   * (mu_epochs 0: constant mu0) */
  double mu0, mu1, mu_epochs;
  /* PLATEAU state: set by nnc_schedule_init, reset by nnc_train */
  double lr, best;   /* current lr; best loss seen (Inf before any) */
  double since_best; /* epochs since it improved */
} nnc_schedule;
/* A schedule of `kind` from lr0 with the defaults: factor 0.5 every 5
 * epochs (the notes' "by a half every 5 epochs"), k 0.1, patience 3,
 * threshold 1e-4, min_lr 0, constant momentum mu0 = mu1 = 0.9.  The notes
 * give no k and no patience: those are ours. */
void nnc_schedule_init(nnc_schedule *s, int kind, double lr0);
const char *nnc_sched_name(int kind);  /* "const", "step", ... */
int nnc_sched_parse(const char *name); /* -1 if unknown */
/* Learning rate and momentum at a (fractional) epoch; a training run asks
 * at the epoch each step starts in.  PLATEAU answers its current lr.  mu1
 * < 0 reads as mu0. */
double nnc_schedule_lr(const nnc_schedule *s, double epoch);
double nnc_schedule_mu(const nnc_schedule *s, double epoch);
/* PLATEAU: tell the schedule an epoch's validation loss (other kinds
 * ignore it).  A loss below best - threshold * |best| is an improvement;
 * after `patience` epochs in a row without one, lr *= factor (not below
 * min_lr) and the count starts again.  NaN never improves. */
void nnc_schedule_observe(nnc_schedule *s, double val_loss);

/* ---- data: seeded mini-batches, epochs, evaluation ---------------------- */
/* A sampler over the training split (net_info().n_train examples), or over
 * `subset` of them drawn with the seed (0 or >= n_train: all): each epoch a
 * fresh shuffle drawn from (seed, epoch), cut into batches of `batch` (the
 * last one may be smaller).  A net without a dataset (n_train 0) gets its
 * default batch (index NULL) and a layer model its selected batch: one
 * batch is then one epoch. */
typedef struct nnc_sampler nnc_sampler;
int nnc_sampler_new(nnc_model *m, size_t batch, size_t subset, uint64_t seed,
                    nnc_sampler **out);
void nnc_sampler_free(nnc_sampler *s);
/* The next batch, valid until the next call; *epoch (if not NULL) is the
 * fractional epoch after it (examples seen / examples in an epoch). */
const nnc_batch *nnc_sampler_next(nnc_sampler *s, double *epoch);
/* Examples per epoch: 0 for a net's own default batch (its size is the
 * plugin's secret), the size of a layer's selected batch. */
size_t nnc_sampler_size(const nnc_sampler *s);
/* The examples of the subset (or all training examples), in increasing
 * order; NULL when the sampler hands out the model's own batch. */
const size_t *nnc_sampler_examples(const nnc_sampler *s);

/* Mean loss (with `flags`, eval mode unless NNC_F_TRAIN is set; seed 0)
 * and, when the plugin predicts, accuracy over the n examples idx of a
 * split, in batches of `batch` (0: one batch).  idx NULL: the whole split.
 * Batch means are weighted by batch size: the result is the mean over the
 * examples.  acc is NaN without predict().  A net without a dataset and a
 * layer model evaluate their own batch as the training split and have no
 * validation split; an empty split gives NaN for both and NNC_OK.  loss and
 * acc may be NULL. */
int nnc_evaluate(nnc_model *m, uint32_t split, const size_t *idx, size_t n,
                 size_t batch, uint32_t flags, double *loss, double *acc);

/* ---- a training run ----------------------------------------------------- */
typedef struct nnc_step_info {
  size_t step;         /* 1-based */
  double epoch;        /* fractional, after this step */
  double loss;         /* the batch loss (training flags) before the update */
  double lr, mu;       /* in force for this update */
  const nnc_optim *opt; /* ratios of this step: nnc_optim_ratio */
} nnc_step_info;

typedef struct nnc_epoch_info {
  size_t epoch;        /* 1-based, completed */
  double train_loss, train_acc;  /* eval mode, over the training examples
                                    (the subset if one); NaN without
                                    evaluation (eval_epochs 0) */
  double val_loss, val_acc;      /* NaN without a validation split */
  double lr;           /* in force for the epoch's last step */
} nnc_epoch_info;

typedef struct nnc_train_opts {
  nnc_optim_opts optim;
  nnc_schedule sched;  /* its lr0 (when > 0) and mu0, mu1 (when >= 0)
                          override optim.lr and optim.mu; nnc_train_opts_init
                          sets a constant schedule with lr0 0, mu0 = mu1 = -1:
                          optim's.  PLATEAU state is reset at the start and
                          observes the validation loss, else the training
                          loss, else the epoch's mean batch loss. */
  double epochs;       /* default 10; may be fractional; 0 with max_steps:
                          until max_steps */
  size_t batch;        /* default 32 */
  size_t subset;       /* train on this many seeded examples; 0: all */
  uint64_t seed;       /* batches, subset, every step's loss seed (dropout
                          masks); default 1 */
  uint32_t flags;      /* loss flags for training; NNC_F_ALL | NNC_F_TRAIN */
  size_t eval_batch;   /* evaluation batch size; default 256 (0: 256) */
  int eval_epochs;     /* evaluate train/val after each epoch; default 1 */
  size_t max_steps;    /* stop after this many steps; 0: no limit */
  /* Optional hooks; a non-zero return stops the run (not an error). */
  int (*on_step)(void *user, nnc_model *m, const nnc_step_info *s);
  int (*on_epoch)(void *user, nnc_model *m, const nnc_epoch_info *e);
  void *user;
} nnc_train_opts;
void nnc_train_opts_init(nnc_train_opts *o);

typedef struct nnc_train_log {
  size_t nsteps;       /* updates made */
  double *step_epoch;  /* per step: epoch after it */
  double *step_loss;   /* per step: batch loss before the update */
  double *step_lr;
  size_t nblocks;      /* parameter blocks (input excluded) */
  double *ratio;       /* nsteps x nblocks update:weight ratios: ratio[k *
                          nblocks + b] is model block b in step k + 1 */
  size_t nepochs;      /* completed epochs only */
  nnc_epoch_info *epochs;
  int diverged;        /* a loss or gradient went NaN/Inf: stopped there */
  size_t nan_step;     /* ... the step (1-based) whose loss or gradient it
                          was, always nsteps + 1: no update was made from
                          it (an epoch's evaluation finding it counts as
                          the next step) */
  char nan_block[64];  /* ... and the first block whose gradient was not
                          finite, if any */
} nnc_train_log;

/* Train with the options (NULL: the defaults); the log (caller frees with
 * nnc_train_log_free) holds every step and epoch.  A NaN/Inf loss or
 * gradient stops the run with log->diverged set and returns NNC_OK (it is a
 * finding, not an error); plugin failures return their error, with *log
 * NULL.  The model keeps the parameters the run reached. */
int nnc_train(nnc_model *m, const nnc_train_opts *o, nnc_train_log **log);
void nnc_train_log_free(nnc_train_log *log);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_TRAIN_H */
