/* nncheck/ensemble.h — model ensembles (the notes' "Model Ensembles"):
 * same hyperparameters with different initializations, the top trials of
 * a search, the checkpoints of one run, and the running average of the
 * parameters; each member's validation accuracy, the accuracy of the
 * averaged prediction, and the gain as members are added.
 *
 * Members are nets that share one validation split (the same examples with
 * the same labels, as the nets of one search do).  With the plugin's
 * scores() callback (class probabilities) the ensemble averages the
 * probabilities of its members and predicts the most probable class; when
 * a member lacks scores() it takes the majority vote of predict() instead
 * (ties: the lowest class).  Members are combined in the order given: the
 * gain curve adds them one at a time.
 *
 * Contracts as in nncheck.h: nnc_err codes, messages in err, nothing
 * prints, nothing global; reports hold no times nor addresses. */
#ifndef NNCHECK_ENSEMBLE_H
#define NNCHECK_ENSEMBLE_H

#include <nncheck/nncheck.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum nnc_ens_method {
  NNC_ENS_AVERAGE = 0, /* mean of the members' class probabilities */
  NNC_ENS_VOTE = 1     /* majority vote of predict() */
};

typedef struct nnc_ens_member {
  char name[256];      /* what it is: a checkpoint's file name, "seed 3" */
  double val_acc;      /* its own validation accuracy */
  double ens_acc;      /* the ensemble of members 0..this one */
  int extra;           /* evaluated alone, not part of the ensemble (e.g. a
                          running average shown beside the members) */
} nnc_ens_member;

typedef struct nnc_ensemble {
  char kind[64];       /* how the members were formed ("seeds", "top",
                          "run", "ema", "files") */
  int method;          /* enum nnc_ens_method */
  size_t n_val;        /* validation examples */
  uint32_t n_classes;
  size_t nmembers;     /* members and extras, members first */
  size_t nens;         /* ... of which members of the ensemble */
  nnc_ens_member *members;
  double mean_acc;     /* mean member accuracy */
  double best_acc;     /* best member accuracy */
  double ens_acc;      /* the whole ensemble */
  double gain;         /* ens_acc - mean_acc */
} nnc_ensemble;

/* Evaluate n members (models[0..n)) and ne extras (models[n..n+ne), evaluated
 * alone) on the validation split; names label them.  NNC_EARG when the
 * members do not share one validation split or a model is no classifier
 * with a validation split and predict(); plugin errors as returned. */
int nnc_ensemble_eval(nnc_model *const *models, const char *const *names,
                      size_t n, size_t ne, const char *kind,
                      nnc_ensemble **out, char *err, size_t errlen);
void nnc_ensemble_free(nnc_ensemble *e);

/* A member from a checkpoint: the plugin (spec, or NULL: the checkpoint's
 * "plugin") opened with the checkpoint's "args" (or args when not NULL),
 * then the checkpoint's parameters applied. */
int nnc_ensemble_open_checkpoint(const char *path, const char *spec,
                                 const char *args, nnc_model **out,
                                 char *err, size_t errlen);

/* Checkpoint files of one trial directory (search layout): the per-epoch
 * ones in epoch order (which = 0), the running averages (which = 1), or
 * the one of the best epoch (which = 2, by the validation accuracy in the
 * names, the earliest on a tie).  *paths is malloc'ed, each path too; free
 * with nnc_ensemble_paths_free. */
int nnc_ensemble_trial_files(const char *tdir, int which, char ***paths,
                             size_t *n, char *err, size_t errlen);
void nnc_ensemble_paths_free(char **paths, size_t n);

int nnc_ensemble_report_text(const nnc_ensemble *e, FILE *f);
int nnc_ensemble_report_json(const nnc_ensemble *e, FILE *f);
/* ens_gain: the ensemble's accuracy as members are added, each member's
 * own accuracy and their mean.  Returns as nnc_plot_emit (plot.h). */
int nnc_ensemble_plots(const nnc_ensemble *e, const char *pdir, char **text,
                       char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_ENSEMBLE_H */
