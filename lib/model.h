/* Internal view of nnc_model, shared by the files of lib/ only. */
#ifndef NNC_MODEL_H
#define NNC_MODEL_H
#include <nncheck/nncheck.h>
#include "isolate_internal.h"
#include <stdarg.h>

struct nnc_model {
  nnc_plugin d;          /* validated copy of the descriptor */
  void *dl;              /* dlopen handle, NULL in-process */
  void *self;            /* the plugin instance */
  char path[4096];
  char spec[4096];       /* as the caller named it */
  char args[1024];
  char err[1024];        /* last failure */
  size_t nparam;         /* the plugin's own blocks */
  size_t nblocks;        /* nparam, + 1 ("input") for a layer */
  nnc_block *blocks;
  void **grads;          /* host-owned gradient buffers, one per block */
  uint32_t last_flags;
  int have_loss;         /* a loss was computed and may be differentiated */
  /* net */
  int has_info;
  nnc_net_info ni;
  size_t *sel;           /* selected training examples */
  size_t nsel;
  /* layer */
  nnc_layer_info li;
  size_t in_count, out_count; /* per example */
  size_t n;              /* batch */
  void *x, *y, *dy;      /* x is the data of the "input" block */
  double *r;             /* loss weights */
  const char *phase;     /* what the library is doing (constant string) */
  nnci_slot *slot;       /* breadcrumbs for a supervising parent; NULL when
                            the process is not isolated */
};

/* Around every plugin callback: the breadcrumb (callback, sequence). */
static inline void nnci_enter(const nnc_model *m, int cb)
{
  if (m->slot)
    nnci_slot_enter(m->slot, cb);
}
static inline void nnci_leave(const nnc_model *m)
{
  if (m->slot)
    nnci_slot_leave(m->slot);
}
/* What the library is doing with the model, for crash reports: a phase
 * ("checking gradients"; a constant string), then the block index and
 * coordinate being worked on (coord -1: the block as a whole). */
void nnci_phase(nnc_model *m, const char *phase);
void nnci_at(nnc_model *m, size_t block, long long coord);
/* The optional callbacks, called through the breadcrumbs; each returns
 * what the callback returned. */
int nnci_call_reinit(nnc_model *m, uint64_t seed, double scale, char *err,
                     size_t errlen);
int nnci_call_predict(nnc_model *m, const nnc_batch *b, int32_t *pred,
                      int32_t *label, char *err, size_t errlen);
int nnci_call_set_hyper(nnc_model *m, const char *key, double v, char *err,
                        size_t errlen);
size_t nnci_call_num_probes(nnc_model *m);
int nnci_call_probe(nnc_model *m, size_t i, nnc_probe *out);
void *nnci_call_clone(const nnc_model *m, char *err, size_t errlen);
/* A slot for a model made by hand (a clone), carrying m's phase. */
void nnci_attach(nnc_model *c, const nnc_model *m);

/* Set the model's error message; returns err for `return nnci_fail(...)`. */
int nnci_fail(nnc_model *m, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* snprintf into a caller buffer, tolerating NULL/0. */
/* Replace every control byte of s (a newline a plugin or a file name
 * brought in) by '?', so that a message stays one line. */
void nnci_one_line(char *s);
void nnci_msg(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* backward with the gradient buffers prefilled with the sentinel (checked
 * for unwritten and non-finite elements afterwards), zeros or a finite
 * pattern (nnci_prefill_value), for the overwrite audit. */
enum { NNCI_PREFILL_SENTINEL, NNCI_PREFILL_ZERO, NNCI_PREFILL_PATTERN };
int nnci_backward(nnc_model *m, int prefill);
double nnci_prefill_value(size_t i);
size_t nnci_dtype_size(uint32_t dtype);
const char *nnci_dtype_name(uint32_t dtype);
double nnci_load(const void *p, uint32_t dtype, size_t i);
void nnci_store(void *p, uint32_t dtype, size_t i, double v);
/* Validate a descriptor and copy it; 0 or NNC_EABI with err filled. */
int nnci_validate_desc(const nnc_plugin *in, nnc_plugin *out,
                       const char *what, char *err, size_t errlen);
int nnci_dlopen_plugin(const char *path, void **dl, const nnc_plugin **desc,
                       char *err, size_t errlen);

/* Gradient buffers (with their guards) for every block that has none. */
int nnci_grads_alloc(nnc_model *m);
/* A model around the plugin's clone() of m's instance, with m's blocks and
 * selection, and gradient buffers if with_grads (lib/model_clone.c).
 * NNC_EUNSUPPORTED without clone(); err says why it failed. */
int nnci_model_clone(const nnc_model *m, int with_grads, nnc_model **out,
                     char *err, size_t errlen);
/* Copy every block's values (a layer's input included) from src to dst. */
void nnci_model_sync(nnc_model *dst, const nnc_model *src);

#endif
