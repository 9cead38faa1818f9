/* init_attr.c — see init_attr.h. */
#include "config.h"
#include "init_attr.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

long nnci_weight_block(const nnc_model *m, size_t k)
{
  for (size_t b = 0; b < m->nparam; b++)
    if (m->blocks[b].ndim >= 2 && k-- == 0)
      return (long)b;
  return -1;
}

void nnci_init_attribute(const nnc_model *m, size_t k, uint32_t kind,
                         size_t units, nnci_attr *out)
{
  memset(out, 0, sizeof *out);
  out->w_rms = out->w_ref = out->b_mean = NAN;
  long w = nnci_weight_block(m, k);
  if (w < 0)
    return;
  const nnc_block *wb = &m->blocks[w];
  if (wb->shape[wb->ndim - 1] != units)
    return;
  snprintf(out->wblock, sizeof out->wblock, "%s", wb->name);
  double ss = 0;
  for (size_t i = 0; i < wb->count; i++) {
    double v = nnc_model_get(m, (size_t)w, i);
    ss += v * v;
  }
  out->w_rms = sqrt(ss / (double)wb->count);
  if (wb->ndim == 2)
    out->w_ref = sqrt((kind == NNC_ACT_RELU ? 2.0 : 1.0) /
                      (double)wb->shape[0]);
  size_t nb = (size_t)w + 1;
  if (nb < m->nparam && m->blocks[nb].ndim <= 1 &&
      m->blocks[nb].count == units) {
    snprintf(out->bblock, sizeof out->bblock, "%s", m->blocks[nb].name);
    double s = 0;
    for (size_t i = 0; i < units; i++)
      s += nnc_model_get(m, nb, i);
    out->b_mean = s / (double)units;
  }
}
