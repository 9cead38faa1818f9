/* Shared by the files of the learning-rate probe only (lib/lrprobe*.c). */
#ifndef NNC_LRPROBE_INTERNAL_H
#define NNC_LRPROBE_INTERNAL_H
#include <nncheck/lrprobe.h>

/* A run's suggestions, usable flag, fall and rise from its recorded
 * curve; w0 is the first rung the suggestions look at.  NNC_ENOMEM. */
int nnci_lrprobe_suggest(const nnc_lrprobe_opts *o, size_t w0,
                         nnc_lrprobe_run *u);
/* Median, spread and reliability of each suggestion over the runs. */
void nnci_lrprobe_aggregate(nnc_lrprobe_result *r);
/* Each block's ratio crossings along run 0, and the first to diverge. */
void nnci_lrprobe_ratios(nnc_lrprobe_result *r);
/* The majority's verdict over the runs. */
void nnci_lrprobe_verdict(nnc_lrprobe_result *r);

#endif
