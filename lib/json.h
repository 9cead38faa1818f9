/* JSON output shared by every report in lib/: strings escaped per RFC 8259,
 * numbers with %.17g so that they read back as the same double (non-finite
 * values become null). */
#ifndef NNC_JSON_H
#define NNC_JSON_H
#include <stdio.h>

/* Every JSON report starts with its schema, "nncheck-TOOL/VERSION": the
 * version is raised whenever a key changes meaning or disappears (adding
 * a key does not raise it).  doc/json-schema.md documents each key. */
#define NNCI_SCHEMA_GRADCHECK 1
#define NNCI_SCHEMA_SANITY 1
#define NNCI_SCHEMA_LRPROBE 1
#define NNCI_SCHEMA_LANDSCAPE 1
#define NNCI_SCHEMA_BABYSIT 1
#define NNCI_SCHEMA_HPSEARCH 1
#define NNCI_SCHEMA_ENSEMBLE 1
/* Writes `{` and the "schema" and "tool" keys, ending after the comma. */
void nnci_json_head(FILE *f, const char *tool, int version);

void nnci_json_str(FILE *f, const char *s);
void nnci_json_num(FILE *f, double v);

#endif
