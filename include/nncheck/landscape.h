/* nncheck/landscape.h — pictures of the loss surface around a model's
 * parameters (the notes' "visualizing the loss function").
 *
 * The loss is a function of every parameter; one looks at it along one
 * direction, L(W + a·D), or on a plane, L(W + a·D1 + b·D2).  Here:
 *
 *  - 1D slices along seeded random directions and along the negative
 *    gradient, a in [-alpha, alpha];
 *  - a 2D slice on the plane of random directions 1 and 2 (the axes of
 *    the first two 1D slices);
 *  - the straight line between two parameter sets A and B,
 *    L((1-t)·A + t·B) for t in [-0.5, 1.5], on samples of the training
 *    and validation splits, with the barrier between them;
 *  - a training run's trajectory projected onto a plane through its last
 *    point, drawn on that plane's loss.
 *
 * Directions.  A random direction draws one standard normal per element,
 * each block from its own seeded stream (so one block's draw does not
 * depend on the others).  It is then normalised (opts.norm):
 *   filter  every row of a block with a shape (the slices along its first
 *           axis: a filter of a convolution, a row of a weight matrix),
 *           and every block without one as a whole, is scaled to the norm
 *           of the same row of the weights; rows of zero norm stay put.
 *           Rescaling a layer's weights rescales its directions with them,
 *           so nets with differently scaled layers (ReLU's positive
 *           homogeneity, batchnorm) give comparable pictures;
 *   block   every block as a whole is scaled to the block's norm;
 *   global  the whole direction is scaled to the norm of all parameters
 *           it moves (one factor);
 *   plain   the normal draws as they are.
 * The negative gradient keeps its direction: it is scaled as a whole to
 * the norm of the parameters it moves (plain: left as it is, so a = 1 is
 * one gradient step with learning rate 1).
 *
 * Evaluation.  Slices and the trajectory plane are evaluated on the
 * model's current selection (nnc_model_select: the training examples of a
 * net, the batch of inputs of a layer) with one seed for every point, so
 * dropout masks are the same across the whole picture, in training mode
 * unless opts.train is 0, on the loss part opts.part.  The line is
 * evaluated like training evaluates: nnc_evaluate over seeded samples of
 * each split, in inference mode (a net without a dataset, and a layer,
 * use the selection instead).  Every point is computed in double as
 * sum(c_k · V_k) in a fixed order and stored in the block's element type,
 * so the same point always has the same bits: the centre of a slice is the
 * current point itself, t = 0 and t = 1 of the line are A and B exactly.
 *
 * Threads.  Evaluations are independent; when the plugin offers clone(),
 * they are spread over opts.jobs instances, each used by one thread.
 * Results do not depend on the number of threads, bit for bit (as long as
 * the plugin is deterministic across its clones).
 *
 * Contracts as in nncheck.h: functions return an nnc_err code with the
 * message in nnc_landscape_error(); nothing prints.  The model's
 * parameters are changed while pictures are computed and restored, bit for
 * bit, before each call returns.
 */
#ifndef NNCHECK_LANDSCAPE_H
#define NNCHECK_LANDSCAPE_H

#include <nncheck/checkpoint.h>
#include <nncheck/nncheck.h>

#ifdef __cplusplus
extern "C" {
#endif

enum nnc_ls_norm {
  NNC_LS_FILTER = 0, /* per row of a shaped block, per block otherwise */
  NNC_LS_BLOCK = 1,  /* per block */
  NNC_LS_GLOBAL = 2, /* one factor for the whole direction */
  NNC_LS_PLAIN = 3   /* unnormalised */
};
const char *nnc_ls_norm_name(int norm); /* "filter", ... */
int nnc_ls_norm_parse(const char *name); /* -1 if unknown */

/* The plane of a trajectory.  Both pass through the last checkpoint. */
enum nnc_ls_plane {
  NNC_LS_PLANE_ENDS = 0, /* first axis towards the first checkpoint, second
                            the main direction (PCA) of what remains of the
                            other checkpoints' differences: the first and
                            last checkpoints lie in the plane */
  NNC_LS_PLANE_PCA = 1   /* the two main directions (PCA) of the
                            differences from the last checkpoint; the first
                            may lie off the plane (see residual) */
};

typedef struct nnc_landscape_opts {
  uint64_t seed;        /* directions, line samples, dropout masks; 1 */
  uint32_t part;        /* NNC_F_DATA, NNC_F_REG or NNC_F_ALL (default) */
  int train;            /* training mode, dropout masks fixed by seed; 1 */
  int norm;             /* enum nnc_ls_norm; NNC_LS_FILTER */
  const char *blocks;   /* comma-separated names of the blocks directions
                           move; NULL: every block */
  double alpha;         /* slices span [-alpha, alpha]; 1 */
  size_t points;        /* points of a 1D slice (odd: 0 is one); 51 */
  size_t directions;    /* random 1D slices; 3 */
  int gradient;         /* also the slice along -gradient; 1 */
  size_t grid;          /* points per axis of a 2D picture (odd); 31 */
  size_t line_points;   /* points of the line, rounded up to 4k+1 so that
                           t = 0 and t = 1 are points; 41 */
  size_t line_examples; /* examples per split for the line; 1000 (0: all) */
  size_t eval_batch;    /* batch size of nnc_evaluate; 256 */
  int plane;            /* enum nnc_ls_plane; NNC_LS_PLANE_ENDS */
  size_t jobs;          /* threads; 0: one per online core */
  /* Optional: called after each evaluation, from any thread but never
   * from two at once; stage is "1D slices", "2D slice", "line" or
   * "trajectory". */
  void (*progress)(void *user, const char *stage, size_t done, size_t total);
  void *user;
} nnc_landscape_opts;
void nnc_landscape_opts_init(nnc_landscape_opts *o);

/* ---- results ------------------------------------------------------------- */

typedef struct nnc_ls_block {
  const char *name;
  size_t count;
  uint32_t dtype;
  int moved;          /* random directions move it (opts.blocks) */
  double norm;        /* |w| at the current point */
  size_t rows;        /* rows normalised apart (1: the block as a whole) */
  size_t frozen_rows; /* rows of zero norm, which directions leave alone */
} nnc_ls_block;

typedef struct nnc_ls_slice {
  char label[32];     /* "random 1", ..., "-gradient" */
  int gradient;       /* along the negative gradient */
  double norm;        /* |D| */
  size_t n;
  double *a;          /* n steps, -alpha .. alpha; a[n/2] = 0 */
  double *loss;       /* n losses; NaN where the loss was not finite */
  uint64_t *winners;  /* n winner fingerprints; NULL without them */
  size_t nonfinite;   /* points whose loss was NaN or Inf */
  size_t kinks;       /* fingerprint changes between neighbouring points */
  double slope;       /* dL/da at 0, centered difference on the points */
  double curvature;   /* d2L/da2 at 0, second difference on the points */
  double min, min_at; /* the smallest loss and its a */
} nnc_ls_slice;

typedef struct nnc_ls_grid {
  size_t nx, ny;
  double *x, *y;      /* the axes */
  double *loss;       /* loss[j * nx + i] at (x[i], y[j]); NaN: not finite */
  uint64_t *winners;  /* same layout; NULL without fingerprints */
  size_t nonfinite;
  size_t kinks;       /* neighbouring points (in x or y) whose fingerprints
                         differ */
  double min, min_x, min_y; /* the smallest loss and where */
} nnc_ls_grid;

typedef struct nnc_ls_line {
  char from[512], to[512]; /* what A and B are: a file, "init", "current" */
  double distance;    /* |B - A| */
  size_t n;
  double *t;          /* n values, -0.5 .. 1.5; t[i0] = 0, t[i1] = 1 */
  size_t i0, i1;
  int nsplits;        /* 1: training only; 2: training and validation */
  int on_selection;   /* evaluated on the selection, not on split samples */
  size_t examples[2]; /* per split */
  double *loss[2];    /* [0] training, [1] validation: n losses each */
  double *acc[2];     /* accuracies; NULL without predict() */
  double barrier[2];  /* max over the points strictly between t = 0 and
                         t = 1 of L(t) - ((1-t)·L(0) + t·L(1)): > 0 a bump
                         between A and B, < 0 the loss stays below the
                         straight interpolation (as a convex loss does) */
  double barrier_t[2]; /* ... where */
  size_t nonfinite;
} nnc_ls_line;

typedef struct nnc_ls_traj {
  int plane;          /* enum nnc_ls_plane */
  size_t n;           /* checkpoints, in order; the last is the origin */
  char (*label)[64];  /* each checkpoint's name: "epoch 3", a file name */
  double *x, *y;      /* coordinates in the plane (distance units) */
  double *residual;   /* |off-plane part| / |difference from the last| */
  double *loss;       /* the loss at each checkpoint itself */
  double explained;   /* fraction of the squared differences the plane
                         holds */
  int random_axis;    /* the differences span one direction only: the
                         second axis is a seeded random direction */
  nnc_ls_grid grid;   /* the loss on the plane around the trajectory */
} nnc_ls_traj;

typedef struct nnc_landscape_result {
  char plugin[64];
  char spec[4096];    /* the plugin as named; "" in-process */
  char args[1024];
  uint32_t kind;      /* enum nnc_kind */
  uint64_t seed;
  size_t examples;    /* examples (net) or inputs (layer) of the selection;
                         0: the plugin's own batch */
  uint32_t part;
  int train;
  int norm;
  double alpha;
  size_t jobs;        /* threads used */
  int cloned;         /* the plugin offers clone() */
  int has_winners;    /* the plugin fingerprints its kinks */
  double loss;        /* at the current point */
  double grad_norm;   /* |gradient| over the moved blocks; NaN: not taken */
  double param_norm;  /* |w| over the moved blocks */
  size_t nblocks;
  nnc_ls_block *blocks;
  size_t nslices;
  nnc_ls_slice *slices; /* random directions 1..K, then -gradient */
  int has_grid;
  nnc_ls_grid grid;   /* the plane of random directions 1 and 2 */
  double plane_cos;   /* cosine between those two directions */
  int has_line;
  nnc_ls_line line;
  int has_traj;
  nnc_ls_traj traj;
  size_t evals;       /* loss evaluations (line: nnc_evaluate calls) */
  size_t nwarnings;
  char **warnings;    /* plain sentences */
} nnc_landscape_result;

/* ---- computing them ---------------------------------------------------------
 * nnc_landscape_new takes the model's current parameters as the current
 * point and its loss there; the model must stay open (and its selection
 * unchanged) until nnc_landscape_free.  Each picture call adds its part to
 * the result; a failed call leaves the earlier parts intact. */
typedef struct nnc_landscape nnc_landscape;

int nnc_landscape_new(nnc_model *m, const nnc_landscape_opts *o,
                      nnc_landscape **out, char *err, size_t errlen);
/* The 1D slices and (opts.grid > 0) the 2D slice. */
int nnc_landscape_slices(nnc_landscape *ls);
/* The line from a to b; NULL stands for the current point.  Labels name
 * them in reports (NULL: the checkpoint's path, or "current"). */
int nnc_landscape_line(nnc_landscape *ls, const nnc_checkpoint *a,
                       const char *a_label, const nnc_checkpoint *b,
                       const char *b_label);
/* The trajectory of n >= 2 checkpoints in order (the last is the plane's
 * origin); labels may be NULL (each checkpoint's epoch or path). */
int nnc_landscape_trajectory(nnc_landscape *ls,
                             const nnc_checkpoint *const *ckpt,
                             const char *const *labels, size_t n);
const nnc_landscape_result *nnc_landscape_get(const nnc_landscape *ls);
const char *nnc_landscape_error(const nnc_landscape *ls);
/* Closes the clones; the model keeps the current point's parameters. */
void nnc_landscape_free(nnc_landscape *ls);

/* nnc_landscape_plots' non-error return when gnuplot could not be
 * started: every NAME.dat and NAME.gp is written and err says how to
 * render them (the plot layer's NNC_PLOT_UNRENDERED). */
#define NNC_LANDSCAPE_UNRENDERED 1

/* Reports, to a caller-owned stream; plots into dir (created if missing),
 * for the parts computed: landscape_1d (every 1D slice), landscape_2d_contour
 * and landscape_2d_heatmap (the 2D slice, current point marked),
 * landscape_line (loss on each split beside the straight interpolation of
 * the ends), landscape_line_acc (accuracy, when the plugin predicts),
 * landscape_trajectory (the checkpoints on their plane's contour plot).
 * Each as NAME.dat, NAME.gp, NAME.png and NAME.svg.  NNC_OK,
 * NNC_LANDSCAPE_UNRENDERED, or an error with err filled. */
int nnc_landscape_report_text(const nnc_landscape *ls, FILE *f);
int nnc_landscape_report_json(const nnc_landscape *ls, FILE *f);
int nnc_landscape_plots(const nnc_landscape *ls, const char *dir, char *err,
                        size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_LANDSCAPE_H */
