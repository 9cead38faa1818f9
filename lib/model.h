/* Internal view of nnc_model, shared by the files of lib/ only. */
#ifndef NNC_MODEL_H
#define NNC_MODEL_H
#include <nncheck/nncheck.h>
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
  double *gnorm;         /* their norms after the last backward */
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
};

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

#endif
