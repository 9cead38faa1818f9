/* Clones of a model, for work spread over threads.
 *
 * A clone is a model of its own around an instance made by the plugin's
 * clone() callback (the ABI allows different instances on different
 * threads at once).  It shares the original's validated descriptor, checks
 * that the clone describes the same blocks, and copies the selection (a
 * net's chosen examples, a layer's inputs and loss weights), so that a loss
 * on the clone is the loss on the original.  Gradient buffers are made only
 * when asked for (a clone that only evaluates losses needs none).  A clone
 * is closed with nnc_model_close, before the original. */
#include "config.h"

#include "model.h"

#include <stdlib.h>
#include <string.h>

static void *dup_mem(const void *p, size_t bytes)
{
  if (!p)
    return NULL;
  void *q = malloc(bytes ? bytes : 1);
  if (q)
    memcpy(q, p, bytes);
  return q;
}

static int same_block(const nnc_block *a, const nnc_block *b)
{
  if (!a->name || strcmp(a->name, b->name) || a->count != b->count ||
      a->dtype != b->dtype || a->ndim != b->ndim || !a->data)
    return 0;
  for (uint32_t d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d])
      return 0;
  return 1;
}

int nnci_model_clone(const nnc_model *m, int with_grads, nnc_model **out,
                     char *err, size_t errlen)
{
  *out = NULL;
  if (!m->d.clone) {
    nnci_msg(err, errlen, "%s has no clone()", m->d.name);
    return NNC_EUNSUPPORTED;
  }
  nnc_model *c = calloc(1, sizeof *c);
  if (!c)
    return NNC_ENOMEM;
  c->d = m->d;
  memcpy(c->path, m->path, sizeof c->path);
  memcpy(c->spec, m->spec, sizeof c->spec);
  memcpy(c->args, m->args, sizeof c->args);
  char perr[1024] = "";
  c->self = nnci_call_clone(m, perr, sizeof perr);
  if (!c->self) {
    free(c);
    nnci_msg(err, errlen, "%s: clone() failed: %s", m->d.name,
             perr[0] ? perr : "(no reason given)");
    return NNC_EPLUGIN;
  }
  nnci_attach(c, m);
  c->nparam = m->nparam;
  c->nblocks = m->nblocks;
  c->blocks = calloc(m->nblocks + 1, sizeof *c->blocks);
  c->grads = calloc(m->nblocks + 1, sizeof *c->grads);
  int rc = c->blocks && c->grads ? NNC_OK : NNC_ENOMEM;
  for (size_t i = 0; rc == NNC_OK && i < m->nparam; i++) {
    nnci_enter(c, NNCI_CB_GET_BLOCK);
    int grc = m->d.get_block(c->self, i, &c->blocks[i]);
    nnci_leave(c);
    if (grc != 0 || !same_block(&c->blocks[i], &m->blocks[i])) {
      nnci_msg(err, errlen,
               "%s: the clone's block %zu differs from the original's '%s' "
               "(clone() must give the same blocks)",
               m->d.name, i, m->blocks[i].name);
      rc = NNC_ECONTRACT;
    }
  }
  c->has_info = m->has_info;
  c->ni = m->ni;
  if (rc == NNC_OK && m->nsel) {
    c->sel = dup_mem(m->sel, m->nsel * sizeof *m->sel);
    c->nsel = m->nsel;
    if (!c->sel)
      rc = NNC_ENOMEM;
  }
  if (rc == NNC_OK && m->d.kind == NNC_KIND_LAYER) {
    size_t es = nnci_dtype_size(m->li.dtype);
    c->li = m->li;
    c->in_count = m->in_count;
    c->out_count = m->out_count;
    c->n = m->n;
    c->x = dup_mem(m->x, m->n * m->in_count * es);
    c->y = malloc(m->n * m->out_count * es);
    c->dy = dup_mem(m->dy, m->n * m->out_count * es);
    c->r = dup_mem(m->r, m->n * m->out_count * sizeof *m->r);
    if (!c->x || !c->y || !c->dy || !c->r)
      rc = NNC_ENOMEM;
    else {
      c->blocks[m->nparam] = m->blocks[m->nparam];
      c->blocks[m->nparam].data = c->x;
    }
  }
  if (rc == NNC_OK && with_grads)
    rc = nnci_grads_alloc(c);
  if (rc != NNC_OK) {
    if (rc == NNC_ENOMEM)
      nnci_msg(err, errlen, "out of memory for a clone of %s", m->d.name);
    nnc_model_close(c);
    return rc;
  }
  *out = c;
  return NNC_OK;
}

void nnci_model_sync(nnc_model *dst, const nnc_model *src)
{
  for (size_t b = 0; b < src->nblocks && b < dst->nblocks; b++)
    memcpy(dst->blocks[b].data, src->blocks[b].data,
           src->blocks[b].count * nnci_dtype_size(src->blocks[b].dtype));
  dst->have_loss = 0;
}
