/* A small strict JSON reader (RFC 8259), for reading back the reports
 * nncheck writes: baselines.  Strict means: one value and nothing after it
 * but whitespace; no trailing commas, comments, NaN, leading zeros or '+';
 * strings of valid UTF-8 without raw control characters; \u escapes with
 * paired surrogates; no duplicate keys in an object; nesting at most
 * NNCI_JSON_MAX_DEPTH deep.  Anything else is refused with the line and
 * column of the first offending byte. */
#ifndef NNC_JSONREAD_H
#define NNC_JSONREAD_H
#include <stddef.h>

#define NNCI_JSON_MAX_DEPTH 64

enum nnci_jtype {
  NNCI_JNULL = 0,
  NNCI_JBOOL = 1,
  NNCI_JNUM = 2,
  NNCI_JSTR = 3,
  NNCI_JARR = 4,
  NNCI_JOBJ = 5
};

typedef struct nnci_jv {
  int type;               /* enum nnci_jtype */
  int b;                  /* NNCI_JBOOL: 0 or 1 */
  double num;             /* NNCI_JNUM: the value (finite) */
  char *str;              /* NNCI_JSTR: NUL-terminated UTF-8 (no NUL inside) */
  size_t n;               /* NNCI_JARR, NNCI_JOBJ: number of items */
  struct nnci_jv *items;  /* ... the items, in document order */
  char **keys;            /* NNCI_JOBJ: keys[i] names items[i] */
} nnci_jv;

/* Parse text[0..len) as one JSON value into *out (free with
 * nnci_json_free).  On failure returns -1, *out is NULL and err holds
 * "line L, column C: what is wrong". */
int nnci_json_parse(const char *text, size_t len, nnci_jv **out, char *err,
                    size_t errlen);
void nnci_json_free(nnci_jv *v);
/* The member `key` of an object; NULL when absent or v is not an object. */
const nnci_jv *nnci_json_get(const nnci_jv *v, const char *key);
/* Typed accessors: the member's value, or NULL/dflt when it is absent or of
 * another type. */
const char *nnci_json_get_str(const nnci_jv *v, const char *key);
double nnci_json_get_num(const nnci_jv *v, const char *key, double dflt);

#endif
