#include "config.h"
#include "json.h"
#include <math.h>

void nnci_json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\t': fputs("\\t", f); break;
    case '\r': fputs("\\r", f); break;
    default:
      if (*p < 0x20)
        fprintf(f, "\\u%04x", *p);
      else
        fputc(*p, f);
    }
  }
  fputc('"', f);
}

void nnci_json_num(FILE *f, double v)
{
  if (isfinite(v))
    fprintf(f, "%.17g", v);
  else
    fputs("null", f);
}

void nnci_json_head(FILE *f, const char *tool, int version)
{
  fprintf(f, "{\n  \"schema\": \"nncheck-%s/%d\",\n  \"tool\": \"%s\",", tool,
          version, tool);
}
