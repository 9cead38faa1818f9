/* init_attr.h — which weight and bias blocks feed a probed layer, and how
 * their scale compares with the notes' initialization for its fan-in.
 * Shared by sanity's init check and babysitting; not part of the API. */
#ifndef NNC_INIT_ATTR_H
#define NNC_INIT_ATTR_H

#include "model.h"

typedef struct nnci_attr {
  char wblock[64];     /* the weight block feeding the layer ("" if none) */
  double w_rms;        /* its root mean square; NaN */
  double w_ref;        /* sqrt(2/fan_in) for ReLU, sqrt(1/fan_in) otherwise,
                          for a 2-D block (fan_in its first dimension); NaN */
  char bblock[64];     /* the bias block right after it ("" if none) */
  double b_mean;       /* its mean; NaN */
} nnci_attr;

/* The k-th block of two or more dimensions, or -1. */
long nnci_weight_block(const nnc_model *m, size_t k);

/* Probe k of `units` units and activation `kind` is fed by the k-th weight
 * block when that block's last dimension is `units`; the bias is the next
 * block when it is flat with `units` elements. */
void nnci_init_attribute(const nnc_model *m, size_t k, uint32_t kind,
                         size_t units, nnci_attr *out);

#endif
