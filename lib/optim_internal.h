/* optim_internal.h — the optimizer's state arrays, for saving a training
 * run into a checkpoint and resuming it bit for bit.  Not part of the API:
 * nnc_optim_save/restore are the in-memory snapshots. */
#ifndef NNC_OPTIM_INTERNAL_H
#define NNC_OPTIM_INTERNAL_H

#include <nncheck/train.h>

/* Blocks the optimizer updates. */
size_t nnci_optim_nblocks(const nnc_optim *opt);
/* State array `which` (1: velocity, cache or first moment; 2: Adam's second
 * moment) of block b, count elements of double; NULL while the rule has not
 * made it.  With make, a missing one is made (zeroed); NULL when out of
 * memory or b is out of range. */
double *nnci_optim_state(nnc_optim *opt, size_t b, int which, int make);
/* Set the step count (Adam's bias correction counts from it). */
void nnci_optim_set_steps(nnc_optim *opt, size_t t);

#endif
