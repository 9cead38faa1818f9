/* JSON output shared by every report in lib/: strings escaped per RFC 8259,
 * numbers with %.17g so that they read back as the same double (non-finite
 * values become null). */
#ifndef NNC_JSON_H
#define NNC_JSON_H
#include <stdio.h>

void nnci_json_str(FILE *f, const char *s);
void nnci_json_num(FILE *f, double v);

#endif
