/* Breadcrumbs: what lib/ tells the supervising parent before each plugin
 * callback (see nncheck/isolate.h).  Shared by lib/ only. */
#ifndef NNC_ISOLATE_INTERNAL_H
#define NNC_ISOLATE_INTERNAL_H
#include <nncheck/isolate.h>
#include <stddef.h>

/* The plugin callbacks, named in crash reports. */
enum nnci_cb {
  NNCI_CB_ENTRY, NNCI_CB_CREATE, NNCI_CB_DESTROY, NNCI_CB_NUM_BLOCKS,
  NNCI_CB_GET_BLOCK, NNCI_CB_LOSS, NNCI_CB_BACKWARD, NNCI_CB_LAYER_INFO,
  NNCI_CB_FORWARD, NNCI_CB_LAYER_BACKWARD, NNCI_CB_NET_INFO,
  NNCI_CB_PREDICT, NNCI_CB_WINNERS, NNCI_CB_NUM_PROBES, NNCI_CB_PROBE,
  NNCI_CB_REINIT, NNCI_CB_CLONE, NNCI_CB_SET_HYPER, NNCI_CB_SAMPLE_INPUT,
  NNCI_CB_COUNT
};
const char *nnci_cb_name(int cb);

/* One model's breadcrumb slot in the shared record; NULL when the process
 * is not isolated (every function below then does nothing). */
typedef struct nnci_slot nnci_slot;

/* A slot for a model of `plugin` (named later with nnci_slot_name), or
 * NULL when not isolated or when every slot is taken. */
nnci_slot *nnci_slot_claim(void);
void nnci_slot_release(nnci_slot *s);
void nnci_slot_name(nnci_slot *s, const char *plugin);
/* Entering and leaving callback cb: a new sequence number, by which the
 * parent times the callback. */
void nnci_slot_enter(nnci_slot *s, int cb);
void nnci_slot_leave(nnci_slot *s);
/* What the library is doing: phase (a constant string), and the block
 * name and coordinate being worked on (NULL / -1: none). */
void nnci_slot_phase(nnci_slot *s, const char *phase);
void nnci_slot_at(nnci_slot *s, const char *block, long long coord);

/* Guard pages around gradient buffers: whether to use them (isolated
 * processes only), and registering a PROT_NONE range so that a fault in
 * it is named: `before` 1 for the page before the buffer.  Returns a
 * handle for nnci_guard_del, or -1. */
int nnci_guard_pages(void);
int nnci_guard_add(const void *lo, size_t len, const char *block, int before);
void nnci_guard_del(int id);

#endif
