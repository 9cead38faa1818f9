/* nncheck/nncheck.h — libnncheck: load a net or layer, check its gradients.
 *
 * Contracts in brief: every function that can fail returns an nnc_err code
 * (0 success, negative failure) and leaves a message where the comment says
 * (the model's nnc_model_error() or a caller-owned err buffer).  The library
 * never prints, never exits and keeps no mutable global state: two models
 * can be checked from two threads at once.  Reports are written only to
 * streams the caller passes in.
 */
#ifndef NNCHECK_NNCHECK_H
#define NNCHECK_NNCHECK_H

#include <stdio.h>
#include <nncheck/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */
/* X(name, value, exit status of a tool, text) */
#define NNC_ERRNO_MAP(X)                                                       \
  X(OK, 0, 0, "success")                                                       \
  X(EARG, -1, 2, "invalid argument")                                           \
  X(ENOTFOUND, -2, 2, "plugin or file not found")                              \
  X(ELOAD, -3, 2, "plugin could not be loaded")                                \
  X(EABI, -4, 2, "plugin ABI mismatch or malformed descriptor")                \
  X(EUNSUPPORTED, -5, 2, "the plugin lacks a callback this needs")             \
  X(EIO, -6, 2, "input/output error")                                          \
  X(EPLOT, -7, 2, "gnuplot failed")                                            \
  X(ENOMEM, -8, 2, "out of memory")                                            \
  X(EPLUGIN, -9, 3, "a plugin callback reported an error")                     \
  X(ENONFINITE, -10, 3, "the plugin produced NaN or Inf")                      \
  X(ECONTRACT, -11, 3, "the plugin broke the ABI contract")

typedef enum nnc_err {
#define NNC_ERR_ENUM_(name, val, ex, txt) NNC_##name = val,
  NNC_ERRNO_MAP(NNC_ERR_ENUM_)
#undef NNC_ERR_ENUM_
} nnc_err;

const char *nnc_strerror(int err);  /* "invalid argument" */
const char *nnc_err_name(int err);  /* "NNC_EARG" */
int nnc_err_exit_status(int err);   /* the documented tool exit status */

/* Tool exit statuses, shared by every tool. */
enum {
  NNC_EXIT_OK = 0,      /* everything checked passed */
  NNC_EXIT_PROBLEM = 1, /* a check found a problem (e.g. a wrong gradient) */
  NNC_EXIT_USAGE = 2,   /* usage or bad input: arguments, files, ABI */
  NNC_EXIT_PLUGIN = 3   /* the plugin misbehaved: error, NaN/Inf, contract */
};

/* ---- finding and listing plugins ------------------------------------------
 * A plugin is named by a path (anything containing '/', or ending in ".so")
 * or by the name of a bundled plugin or fixture, searched in order in:
 * the colon-separated directories of $NNCHECK_PLUGIN_PATH; the build tree
 * the running program belongs to (uninstalled use); the installed plugin and
 * fixture directories (nnc_plugin_dirs lists them). */
int nnc_plugin_resolve(const char *name, char *path, size_t pathlen,
                       char *err, size_t errlen);
/* The search directories, in order, ':'-separated, into buf. */
void nnc_plugin_dirs(char *buf, size_t buflen);

typedef struct nnc_plugin_listing {
  char name[64];        /* file name without ".so" */
  char path[4096];
  uint32_t kind;        /* enum nnc_kind, 0 if the file failed to load */
  char summary[256];    /* descriptor summary, or why it failed to load */
} nnc_plugin_listing;
/* Every bundled plugin found on the search path, sorted by name, first
 * occurrence of a name only.  *out is malloc'ed; free() it. */
int nnc_plugin_list(nnc_plugin_listing **out, size_t *n, char *err,
                    size_t errlen);

/* ---- the model: a net or a layer behind one handle ----------------------
 * A layer becomes a model with an extra block named "input" holding a seeded
 * batch of inputs, and the scalar loss L = sum(r .* y) with a seeded,
 * sign-sensitive random r.  Gradient buffers are owned by the model. */
typedef struct nnc_model nnc_model;

/* Open a model from a descriptor in this process (no dlopen).  `args` goes
 * to the plugin's create().  On failure *out is NULL and err says why. */
int nnc_model_open(const nnc_plugin *desc, const char *args, nnc_model **out,
                   char *err, size_t errlen);
/* Resolve, dlopen and validate a plugin, then open it. */
int nnc_model_load(const char *name_or_path, const char *args,
                   nnc_model **out, char *err, size_t errlen);
void nnc_model_close(nnc_model *m);

const char *nnc_model_error(const nnc_model *m); /* last failure, or "" */
const nnc_plugin *nnc_model_desc(const nnc_model *m); /* validated copy */
const char *nnc_model_path(const nnc_model *m);  /* "" when in-process */
/* The plugin as the caller named it (bundled name or path); "" in-process. */
const char *nnc_model_spec(const nnc_model *m);
const char *nnc_model_args(const nnc_model *m);
uint32_t nnc_model_kind(const nnc_model *m);

/* Choose the examples the model is evaluated on: for a net, `n` examples of
 * the training split drawn with `seed` (when the plugin has a dataset;
 * otherwise its own default batch); for a layer, a batch of `n` inputs and
 * the loss weights r, drawn with `seed`.  Called once by nnc_model_open with
 * n = 3, seed = 0. */
int nnc_model_select(nnc_model *m, size_t n, uint64_t seed);
/* How many examples the current selection holds (0: plugin default). */
size_t nnc_model_examples(const nnc_model *m);

size_t nnc_model_num_blocks(const nnc_model *m);
const nnc_block *nnc_model_block(const nnc_model *m, size_t i);
long nnc_model_find_block(const nnc_model *m, const char *name); /* -1 */
/* Read and write one parameter as double; the setter returns the value
 * actually stored (rounded to float for a float block). */
double nnc_model_get(const nnc_model *m, size_t block, size_t i);
double nnc_model_set(nnc_model *m, size_t block, size_t i, double v);
/* The gradient of the last nnc_model_backward, as double. */
double nnc_model_grad(const nnc_model *m, size_t block, size_t i);
/* The Euclidean norm of a block's gradient after the last backward (0
 * before any), computed when asked: a pass over the block. */
double nnc_model_grad_norm(const nnc_model *m, size_t block);

/* The loss over the selection (batch == NULL) or a given batch of a net.
 * NaN or Inf from the plugin is NNC_ENONFINITE. */
int nnc_model_loss(nnc_model *m, const nnc_batch *batch, uint64_t seed,
                   uint32_t flags, double *loss);
/* The gradient of the last loss into the model's buffers.  Checks that
 * every element was written and finite. */
int nnc_model_backward(nnc_model *m);
/* The winner fingerprint of the last loss; NNC_EUNSUPPORTED without one. */
int nnc_model_winners(nnc_model *m, nnc_winners *out);
int nnc_model_net_info(nnc_model *m, nnc_net_info *out);
/* The class probabilities of a net's examples (the plugin's scores()):
 * out holds batch->count x n_classes doubles.  NNC_EUNSUPPORTED without
 * scores() or net_info; NNC_ENONFINITE (or NNC_ECONTRACT for a negative
 * entry or a row not summing to 1 within 1e-6) when a row is wrong. */
int nnc_model_scores(nnc_model *m, const nnc_batch *batch, double *out);

/* ---- gradcheck ------------------------------------------------------------ */
enum nnc_verdict {
  NNC_PASS = 0,  /* within the happy or acceptable band, or the error bar */
  NNC_WARN = 1,  /* uncomfortable band: probably right, look at it */
  NNC_FAIL = 2,  /* wrong */
  NNC_SKIP = 3,  /* not checked (no live entries, not applicable) */
  NNC_INCONCLUSIVE = 4 /* the numbers carry no verdict; `why` says why */
};
/* Severity order for "the worst of": PASS < SKIP < WARN < INCONCLUSIVE <
 * FAIL. */
int nnc_verdict_rank(int v);

/* Why a coordinate is INCONCLUSIVE. */
enum nnc_why {
  NNC_WHY_NONE = 0,
  NNC_WHY_NOISE = 1, /* the noise floor is above the signal */
  NNC_WHY_FLOAT = 2, /* float32 cannot resolve the difference */
  NNC_WHY_KINK = 3   /* on a kink, and no point off it could be tested */
};
const char *nnc_verdict_name(int v); /* "PASS", ... */

/* flags of one checked coordinate */
#define NNC_GC_KINK 0x1u        /* a max() winner changed between x-h, x+h */
#define NNC_GC_KINK_RESOLVED 0x2u /* ... and a smaller h avoided it */
#define NNC_GC_TINY 0x4u        /* |a| and |n| below 1e-10 */
#define NNC_GC_NOISE 0x8u       /* |a-n| within the round-off of f */
#define NNC_GC_ZERO 0x10u       /* both exactly zero */
#define NNC_GC_ESCALATED 0x20u  /* doubtful: h/2, h/4, Richardson, noise floor */
#define NNC_GC_AT_KINK 0x40u    /* a kink between x-t and x+t at every step */
#define NNC_GC_SUBGRADIENT 0x80u /* analytic value within the one-sided range */
#define NNC_GC_JITTER 0x100u    /* re-tested at a point off the kink: right */
#define NNC_GC_TIED 0x200u      /* a tied set moved together (see group) */
#define NNC_GC_PROJECTION 0x400u /* a random projection of the whole block */

/* A contract audit, run before any finite difference. */
typedef struct nnc_audit {
  const char *name;   /* "determinism", "seed", "side-effects", "overwrite",
                         "linearity", "independence", "inert" */
  uint32_t verdict;   /* NNC_PASS, NNC_WARN, NNC_FAIL or NNC_SKIP */
  uint32_t breach;    /* a FAIL that breaks the ABI contract (exit 3) */
  char detail[640];   /* what was done and seen, in a sentence */
} nnc_audit;
#define NNC_MAX_AUDITS 16

typedef struct nnc_gc_coord {
  size_t index;       /* flat index in the block */
  double analytic;    /* the plugin's gradient */
  double numeric;     /* centered difference (f(x+h)-f(x-h))/(x+h - (x-h)) */
  double relerr;      /* |a-n| / max(|a|,|n|); 0 when both are 0 */
  double h;           /* the step used */
  double noise;       /* modelled round-off level of `numeric` */
  double errbar;      /* escalated: error bar of `numeric` (trunc+roundoff) */
  double trunc;       /* ... its truncation term (Richardson) */
  double roundoff;    /* ... its round-off term (measured noise floor) */
  double d_minus;     /* at a kink: the one-sided derivatives */
  double d_plus;
  uint32_t verdict;
  uint32_t flags;     /* NNC_GC_* */
  uint32_t why;       /* enum nnc_why, for NNC_INCONCLUSIVE */
  uint32_t evals;     /* loss evaluations this entry cost */
  size_t group;       /* NNC_GC_TIED: coordinates moved together;
                         NNC_GC_PROJECTION: coordinates in the probe */
} nnc_gc_coord;

typedef struct nnc_gc_block {
  const char *name;   /* block name */
  uint32_t part;      /* NNC_F_DATA, NNC_F_REG or NNC_F_ALL */
  double relax;       /* factor applied to the bands for depth */
  uint32_t verdict;
  uint32_t dtype;
  uint32_t depth;
  size_t count;       /* elements in the block */
  size_t checked;     /* coordinates checked */
  size_t live;        /* ... of which carried a derivative above round-off */
  size_t tiny;        /* ... of which compared values below 1e-10 */
  size_t kinks;       /* ... of which crossed a kink */
  size_t inconclusive; /* ... of which were INCONCLUSIVE */
  size_t failed;      /* ... of which FAILed */
  size_t probes;      /* projection mode: probes compared */
  size_t worst;       /* index into coords of the worst one */
  double pass_tol;    /* relerr below this passes */
  double fail_tol;    /* relerr above this fails; between: WARN */
  double grad_norm;   /* norm of the analytic gradient of this part */
  size_t ncoords;     /* entries in coords: the checked coordinates, then
                         tied sets and projection probes */
  nnc_gc_coord *coords;
} nnc_gc_block;

typedef struct nnc_gc_sweep {   /* error against step size, per block */
  const char *name;
  uint32_t part;
  size_t nh;
  double *h;          /* nh steps */
  double *relerr;     /* worst relerr over the block's coordinates at h */
} nnc_gc_sweep;

typedef struct nnc_gradcheck_opts {
  uint64_t seed;       /* every random choice; default 1 */
  size_t examples;     /* datapoints (net) or batch (layer); default 3 */
  size_t samples;      /* coordinates per block; default 10 (0: all) */
  size_t burn_in;      /* SGD steps before checking (nets); default 5 */
  double h;            /* step; 0: 1e-5 for double, 1e-2 for float */
  int sweep_h;         /* also sweep h over 1e-1 .. 1e-10 */
  int parts;           /* check data, reg and both apart; default 1 */
  uint32_t part;       /* only this part: NNC_F_DATA, NNC_F_REG or NNC_F_ALL;
                          0: every part (default) */
  int train;           /* evaluate in training mode (dropout on); default 1 */
  const char *block;   /* check only this block (NULL: all) */
  long index;          /* ... and only this index (-1: sampled) */
  double reg_dominates; /* warn when |g_reg| > this * |g_data|; default 10 */
  int audits;          /* run the contract audits first; default 1 */
  int strict;          /* an inert block or an INCONCLUSIVE verdict fails */
  int project;         /* projection mode: every coordinate of every block
                          through K random probes per block */
  size_t probes;       /* K, probes per block in projection mode; default 4 */
  int winners;         /* trust the plugin's winner fingerprint for kinks;
                          default 1 (0: infer kinks from the numbers) */
  size_t threads;      /* coordinates checked concurrently, each thread on
                          its own clone of the plugin (clone callback);
                          default 1; 0: one per online core.  The result is
                          the serial one, bit for bit; without clone() the
                          check runs serially and says so */
} nnc_gradcheck_opts;

void nnc_gradcheck_opts_init(nnc_gradcheck_opts *o);

typedef struct nnc_gradcheck_result {
  char plugin[64];
  char spec[4096];    /* the plugin as it was named: bundled name or path */
  char path[4096];    /* the file it was loaded from; "" in-process */
  char args[1024];
  uint32_t kind;
  uint64_t seed;
  size_t examples;    /* datapoints used (0: the plugin's own batch) */
  int any_float;      /* some block is float32 */
  int has_winners;    /* kink detection by fingerprint available */
  double h_double, h_float;
  size_t nparts;
  uint32_t parts[3];  /* the parts checked, in order */
  size_t burn_in_steps;
  int burn_in_extended; /* went past the requested steps until a max()
                           decision on the checked examples changed */
  double burn_in_loss[2]; /* loss before and after burn-in */
  double loss;        /* loss at the checked point (all parts) */
  size_t nblocks;
  nnc_gc_block *blocks; /* one per (part, block) checked */
  size_t nsweeps;
  nnc_gc_sweep *sweeps;
  size_t naudits;
  nnc_audit audits[NNC_MAX_AUDITS];
  double nondeterminism; /* |L1 - L2| of two losses with one seed */
  size_t nwarnings;
  char **warnings;    /* plain sentences */
  size_t loss_evals;  /* loss calls made, burn-in included */
  size_t check_evals; /* loss calls made while checking coordinates */
  size_t backward_calls;
  uint32_t verdict;   /* worst block verdict */
  int strict;         /* INCONCLUSIVE and inert blocks fail */
  int error;          /* NNC_OK, or the error that stopped the check */
  char error_msg[1024];
} nnc_gradcheck_result;

/* Check the model's analytic gradient.  Always returns a result (unless out
 * of memory); res->error says whether the check ran to the end, and
 * res->verdict what it found. */
int nnc_gradcheck(nnc_model *m, const nnc_gradcheck_opts *o,
                  nnc_gradcheck_result **res);
void nnc_gradcheck_free(nnc_gradcheck_result *res);
/* The tool exit status for a result. */
int nnc_gradcheck_exit_status(const nnc_gradcheck_result *res);

/* Reports, to a caller-owned stream.  `text` is the human table. */
int nnc_gradcheck_report_text(const nnc_gradcheck_result *r, FILE *f);
/* Only what went wrong: failed audits, failures with reproduce lines, the
 * verdict (what nncheck/check.h puts into a failed assertion). */
int nnc_gradcheck_report_brief(const nnc_gradcheck_result *r, FILE *f);
int nnc_gradcheck_report_json(const nnc_gradcheck_result *r, FILE *f);
int nnc_gradcheck_report_tap(const nnc_gradcheck_result *r, FILE *f);
/* Plots into dir (created if missing): per-block error plots and, when
 * swept, error against h.  Each as NAME.dat, NAME.gp, NAME.png, NAME.svg.
 * Returns NNC_OK, NNC_PLOTS_UNRENDERED when gnuplot could not be started
 * (the data and scripts are written, and err says how to render them; a
 * warning, not a failure), or an error. */
#define NNC_PLOTS_UNRENDERED 1
/* The same plots drawn as text (gnuplot's dumb terminal, 80 x 24), for a
 * terminal: *text is malloc'ed (caller frees).  NNC_PLOTS_UNRENDERED
 * without gnuplot. */
int nnc_gradcheck_plots_text(const nnc_gradcheck_result *r, char **text,
                             char *err, size_t errlen);
int nnc_gradcheck_plots(const nnc_gradcheck_result *r, const char *dir,
                        char *err, size_t errlen);

/* One call for test suites: open (desc in-process, or name_or_path through
 * the loader), check, and return the tool exit status; *report (malloc'ed,
 * caller frees) holds the brief text report.  opts may be NULL. */
int nnc_check_gradient(const nnc_plugin *desc, const char *name_or_path,
                       const char *args, const nnc_gradcheck_opts *opts,
                       char **report);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_NNCHECK_H */
