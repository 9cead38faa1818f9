/* nncheck/plugin.h — the plugin ABI: the only nncheck header a plugin includes.
 *
 * A plugin is a net (a scalar loss over its own data) or a layer (forward
 * x -> y, backward dy -> dx).  It exports one function, NNC_PLUGIN_ENTRY,
 * that returns a pointer to a static, constant nnc_plugin descriptor.  The
 * same descriptor can be handed to libnncheck in-process (nnc_model_open),
 * without dlopen: that is how a user's own Check suite uses nncheck.
 *
 * Compatibility.  The descriptor carries its own size and the ABI version it
 * was built against.  The host refuses an ABI version it does not know, naming
 * both.  New optional callbacks are only ever appended at the end of
 * nnc_plugin; the host copies min(size, sizeof(nnc_plugin)) bytes into a
 * zeroed descriptor, so a plugin built against an older header reads as
 * "newer callbacks absent".  The plain-data structs a plugin fills
 * (nnc_block, nnc_layer_info, nnc_net_info, nnc_winners, nnc_probe) end in
 * reserved words that the host zeroes before each call and that a plugin
 * leaves alone: a later version gives them a meaning whose zero value is
 * today's behaviour.
 *
 * Conventions for every callback:
 *  - `self` is what create() returned.  Calls on one instance never overlap;
 *    different instances (see clone) may be used from different threads at
 *    once, so a plugin keeps no mutable global state.
 *  - A fallible callback returns 0 on success and non-zero on failure, after
 *    writing one line of NUL-terminated text into err (errlen bytes, owned by
 *    the host).  No heap memory changes hands across the boundary.
 *  - Element types: every buffer holds elements of the dtype stated for it
 *    (double or float).  Losses always come back as double.
 *  - Gradient buffers are placed by the host.  backward callbacks ASSIGN
 *    (overwrite) every element of every gradient buffer they are given; they
 *    never add to what is there, never read it, and never write outside it.
 *    The host may fill them with sentinels beforehand and may surround them
 *    with guard pages to catch writes outside.
 *  - Callbacks that compute (loss, forward) leave the parameter values
 *    untouched; backward callbacks leave the parameters, x and dy untouched.
 */
#ifndef NNCHECK_PLUGIN_H
#define NNCHECK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNC_ABI_VERSION 1u                /* bumped only on an incompatible change */
#define NNC_PLUGIN_ENTRY nnc_plugin_entry /* the one exported symbol */
#define NNC_PLUGIN_ENTRY_NAME "nnc_plugin_entry"
#define NNC_MAX_DIMS 4

#if defined(__GNUC__) || defined(__clang__)
#define NNC_EXPORT __attribute__((visibility("default")))
#else
#define NNC_EXPORT
#endif

/* Element types. */
enum nnc_dtype { NNC_F64 = 1, NNC_F32 = 2 };

/* Plugin kinds. */
enum nnc_kind { NNC_KIND_NET = 1, NNC_KIND_LAYER = 2 };

/* Flags for loss() and forward().  NNC_F_TRAIN selects training mode (dropout
 * and any other train-only randomness on, drawn from the seed); without it
 * the plugin evaluates in inference mode.  A net's loss is the sum of the
 * parts selected by NNC_F_DATA and NNC_F_REG (data + regularization, data
 * only, regularization only); neither part selected is never asked.  A layer
 * ignores the part bits. */
#define NNC_F_TRAIN 0x1u
#define NNC_F_DATA 0x2u
#define NNC_F_REG 0x4u
#define NNC_F_ALL (NNC_F_DATA | NNC_F_REG)
/* Net, only when net_info sets NNC_CAP_ZERO_INPUT: every input example is
 * replaced by zeros (labels kept), for the input-independent baseline. */
#define NNC_F_ZERO_INPUT 0x8u

/* Capabilities a net declares in nnc_net_info.caps. */
#define NNC_CAP_ZERO_INPUT 0x1u /* honours NNC_F_ZERO_INPUT */

/* Splits of a net's dataset. */
enum nnc_split { NNC_SPLIT_TRAIN = 0, NNC_SPLIT_VAL = 1 };

/* Loss types, so that tools know the loss at chance. */
enum nnc_loss_type {
  NNC_LOSS_OTHER = 0,   /* unknown: chance-level checks are skipped */
  NNC_LOSS_SOFTMAX = 1, /* mean softmax cross-entropy over the batch */
  NNC_LOSS_SVM = 2      /* mean multiclass SVM (hinge) loss with `margin` */
};

/* Kinds of probed activations (for histograms and dead/saturated units). */
enum nnc_act_kind {
  NNC_ACT_OTHER = 0,
  NNC_ACT_RELU = 1,
  NNC_ACT_TANH = 2,
  NNC_ACT_SIGMOID = 3,
  NNC_ACT_LINEAR = 4 /* pre-activations, scores */
};

/* One parameter block, described by get_block().  The plugin owns `data`. */
typedef struct nnc_block {
  const char *name;   /* unique in the model, [A-Za-z0-9_.-]+; owned by the
                         plugin, valid for the life of the instance */
  void *data;         /* the parameter values, `count` elements of `dtype`;
                         stable address for the life of the instance, shared
                         with no other block.  The host may write them
                         between calls (to perturb a coordinate, take a
                         training step or restore). */
  size_t count;       /* number of elements, > 0 */
  uint32_t dtype;     /* enum nnc_dtype */
  uint32_t ndim;      /* 0 (flat) .. NNC_MAX_DIMS */
  size_t shape[NNC_MAX_DIMS]; /* row-major; product equals count if ndim > 0 */
  uint32_t depth;     /* layers between this block and the loss (1: feeds the
                         loss directly); 0: unknown.  Relaxes tolerances. */
  uint32_t reserved[7];
} nnc_block;

/* A batch of a net's examples. */
typedef struct nnc_batch {
  const size_t *index; /* `count` example indices into `split`; NULL: the
                          plugin's own default batch (count and split then
                          ignored) */
  size_t count;
  uint32_t split;      /* enum nnc_split */
  uint32_t reserved;
} nnc_batch;

/* What a net tells about its data (optional callback net_info). */
typedef struct nnc_net_info {
  size_t n_train;       /* examples in the training split; 0: no dataset, and
                           loss() only ever receives index == NULL */
  size_t n_val;         /* examples in the validation split (may be 0) */
  uint32_t n_classes;   /* classes, if a classifier; 0 otherwise */
  uint32_t loss_type;   /* enum nnc_loss_type */
  double margin;        /* SVM margin (NNC_LOSS_SVM), usually 1 */
  uint32_t input_ndim;  /* shape of one input example, e.g. 3x32x32 for an */
  uint32_t caps;        /* image (first-layer weights are then rendered);
                           caps: NNC_CAP_* bits */
  size_t input_shape[NNC_MAX_DIMS];
  uint32_t reserved[8];
} nnc_net_info;

/* What a layer is (required for layers). */
typedef struct nnc_layer_info {
  uint32_t dtype;       /* element type of x, y, dy and dx */
  uint32_t in_ndim;     /* shape of ONE example's input, row-major */
  size_t in_shape[NNC_MAX_DIMS];
  uint32_t out_ndim;    /* shape of one example's output */
  uint32_t coupled;     /* 0: examples of a batch are independent (output i
                           depends on input i only); 1: coupled (batchnorm) */
  size_t out_shape[NNC_MAX_DIMS];
  size_t max_batch;     /* largest batch forward() accepts; 0: any */
  double in_lo, in_hi;  /* if in_lo < in_hi, inputs must lie in [in_lo,
                           in_hi] (e.g. positive for a log); the host draws
                           and perturbs inside.  Otherwise any real input. */
  uint32_t reserved[8];
} nnc_layer_info;

/* The winners of every max()-type decision (ReLU, max-pool, SVM hinge, ...)
 * in the last loss()/forward(): kink detection compares fingerprints. */
typedef struct nnc_winners {
  uint64_t hash;        /* fingerprint of all winner identities; equal
                           fingerprints mean no decision changed */
  uint64_t decisions;   /* number of decisions taken */
  uint64_t ties;        /* decisions taken between exactly equal values
                           (ReLU at exactly 0, tied max-pool window) */
  uint64_t reserved[5];
} nnc_winners;

/* One probed activation of the last loss()/forward() and, after backward,
 * its gradient.  Pointers stay valid until the next call on the instance. */
typedef struct nnc_probe {
  const char *name;     /* e.g. "relu1" */
  uint32_t kind;        /* enum nnc_act_kind */
  uint32_t dtype;       /* element type of value and grad */
  const void *value;    /* `count` activations over the batch */
  const void *grad;     /* dL/d(value) after backward; NULL if unavailable */
  size_t count;
  uint32_t reserved[8];
} nnc_probe;

/* The descriptor.  Required fields and callbacks are marked; everything
 * marked "optional" may be NULL, and a tool that needs it says which check
 * it skipped and why. */
typedef struct nnc_plugin {
  uint32_t size;        /* required: sizeof(nnc_plugin) as built */
  uint32_t abi_version; /* required: NNC_ABI_VERSION as built */
  uint32_t kind;        /* required: enum nnc_kind */
  uint32_t reserved0;
  const char *name;     /* required: short name, e.g. "mlp" */
  const char *summary;  /* required: one line saying what it is */
  const char *args_help; /* optional: the argument string's syntax */

  /* --- lifecycle (required) --------------------------------------------- */
  /* A new instance from the argument string (NULL or "" for defaults).  The
   * instance owns its parameters, its data and any scratch it needs.
   * Returns NULL with a message in err on bad arguments. */
  void *(*create)(const char *args, char *err, size_t errlen);
  void (*destroy)(void *self);

  /* --- parameters (required) -------------------------------------------- */
  /* Number of parameter blocks; constant for the life of the instance (a
   * layer may have none). */
  size_t (*num_blocks)(void *self);
  /* Describe block i < num_blocks() into *out (zeroed by the host).  The
   * answer is constant for the life of the instance. */
  int (*get_block)(void *self, size_t i, nnc_block *out);

  /* --- net (required when kind == NNC_KIND_NET) ------------------------- */
  /* The loss at the current parameters over `batch` (NULL or index == NULL:
   * the plugin's own default batch).  `seed` fixes every random choice
   * (dropout masks, augmentation): two calls with one seed, one batch and one
   * parameter state give the same value.  May cache what backward needs. */
  int (*loss)(void *self, const nnc_batch *batch, uint64_t seed,
              uint32_t flags, double *loss, char *err, size_t errlen);
  /* The gradient of the last loss() call (same batch, seed, flags and
   * parameters) into grads[i], a host-owned buffer of block i's count and
   * dtype, for every block.  Assigns every element. */
  int (*backward)(void *self, void *const *grads, char *err, size_t errlen);

  /* --- layer (required when kind == NNC_KIND_LAYER) --------------------- */
  /* Describe the layer into *out (zeroed by the host); constant. */
  int (*layer_info)(void *self, nnc_layer_info *out);
  /* y = layer(x) for a batch of n examples; x and y are host-owned,
   * n * in_count and n * out_count elements.  `seed` and NNC_F_TRAIN as for
   * loss().  Must not write x.  May cache what layer_backward needs. */
  int (*forward)(void *self, const void *x, void *y, size_t n, uint64_t seed,
                 uint32_t flags, char *err, size_t errlen);
  /* Given dy = dL/dy for the last forward (n * out_count elements), assign
   * dx = dL/dx (n * in_count elements) and grads[i] = dL/d(block i), where
   * L = sum(dy .* y) treats dy as constant.  Must not write dy or x. */
  int (*layer_backward)(void *self, const void *dy, void *dx,
                        void *const *grads, char *err, size_t errlen);

  /* --- optional ---------------------------------------------------------- */
  /* Net: dataset sizes, class count, loss type, input shape.  Enables few-
   * datapoint batches, train/validation evaluation, loss at chance. */
  int (*net_info)(void *self, nnc_net_info *out);
  /* Net: for each example of `batch`, the predicted class into pred[k] and
   * the true class into label[k].  Enables accuracy. */
  int (*predict)(void *self, const nnc_batch *batch, int32_t *pred,
                 int32_t *label, char *err, size_t errlen);
  /* Both: the winner fingerprint of the last loss()/forward().  Enables kink
   * detection; without it kinks are inferred from the numbers. */
  int (*winners)(void *self, nnc_winners *out);
  /* Both: probed activations (per-layer histograms, dead ReLUs, saturated
   * tanh).  num_probes is constant; probe(i) describes the last call. */
  size_t (*num_probes)(void *self);
  int (*probe)(void *self, size_t i, nnc_probe *out);
  /* Both: re-draw the parameters from `seed`; `scale` > 0 sets the weight
   * scale (standard deviation of the weights), 0 keeps the plugin default. */
  int (*reinit)(void *self, uint64_t seed, double scale, char *err,
                size_t errlen);
  /* Both: an independent instance with the same arguments, parameters and
   * data, usable from another thread.  Enables parallel checks. */
  void *(*clone)(void *self, char *err, size_t errlen);
  /* Both: set a named hyperparameter.  Well-known keys: "reg" (L2
   * strength), "dropout" (drop probability).  Non-zero for an unknown key.
   * Enables the regularization sanity check and hyperparameter search. */
  int (*set_hyper)(void *self, const char *key, double value, char *err,
                   size_t errlen);
  /* Layer: draw a batch of n inputs into x (n * in_count elements) from
   * `seed`, instead of the host's Gaussian or uniform draw.  For layers whose
   * interesting inputs have structure the host cannot guess: quantized
   * images with exact ties for max-pool, exact zeros before a ReLU, token
   * ids.  The same seed must give the same inputs. */
  int (*sample_input)(void *self, void *x, size_t n, uint64_t seed,
                      char *err, size_t errlen);
  /* Net: for each example k of `batch`, its class probabilities into
   * out[k * n_classes + c], c < net_info().n_classes (host-owned, count x
   * n_classes doubles), in inference mode (no dropout): each row finite,
   * >= 0 and summing to 1.  A softmax classifier gives its softmax; any
   * other (an SVM) the softmax of its class scores.  Leaves the parameters
   * and what backward needs untouched.  Enables averaged-prediction
   * ensembles; without it an ensemble takes the majority vote of
   * predict(). */
  int (*scores)(void *self, const nnc_batch *batch, double *out, char *err,
                size_t errlen);
} nnc_plugin;

/* The entry point a plugin exports:
 *
 *   NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void) { return &my_plugin; }
 */
typedef const nnc_plugin *(*nnc_plugin_entry_fn)(void);
NNC_EXPORT const nnc_plugin *NNC_PLUGIN_ENTRY(void);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_PLUGIN_H */
