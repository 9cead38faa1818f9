/* Contract audits (lib/audit.c), run by gradcheck before any difference. */
#ifndef NNC_AUDIT_H
#define NNC_AUDIT_H
#include "model.h"

/* Run the audits that apply to the model's kind, appending to r->audits.
 * *stop is set when an audit found a contract breach that makes finite
 * differences meaningless (the audit's detail says which). */
int nnci_audit(nnc_model *m, nnc_gradcheck_result *r, uint64_t seed,
               uint32_t train, int *stop);
/* After the coordinate checks: blocks whose every checked derivative was
 * exactly 0 on both sides. */
void nnci_audit_inert(nnc_model *m, nnc_gradcheck_result *r, int strict);

#endif
