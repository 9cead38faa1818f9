/* The library's small text parsers and its JSON string writer on arbitrary
 * text: update-rule, normalisation and sanity-check names, plugin names
 * (nnc_plugin_resolve) and the JSON escaping every report uses.  Names are
 * recognised exactly or refused; resolving refuses with one line; the JSON
 * writer emits one well-formed string literal for any bytes. */
#include "config.h"
#include "fuzz_common.h"
#include "json.h"
#include <nncheck/landscape.h>
#include <nncheck/nncheck.h>
#include <nncheck/sanity.h>
#include <nncheck/train.h>

static void check_json_string(const char *in)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f)
    abort();
  nnci_json_str(f, in);
  fclose(f);
  if (len < 2 || out[0] != '"' || out[len - 1] != '"')
    abort();
  /* Inside: no raw control byte, every quote and backslash escaped. */
  for (size_t i = 1; i + 1 < len; i++) {
    unsigned char ch = (unsigned char)out[i];
    if (ch < 0x20 || ch == '"')
      abort();
    if (ch == '\\') {
      char e = out[++i];
      if (i + 1 >= len)
        abort();
      if (e == 'u') {
        if (i + 4 >= len)
          abort();
        i += 4;
      } else if (!strchr("\"\\nrtbf/", e))
        abort();
    }
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = fz_string(data, size);
  static const char *const rules[] = {"sgd", "momentum", "nesterov",
                                      "adagrad", "rmsprop", "adam"};
  int r = nnc_rule_parse(s);
  if (r >= 0 && (r >= 6 || strcmp(s, rules[r])))
    abort();
  int n = nnc_ls_norm_parse(s);
  if (n >= 0 && n > NNC_LS_PLAIN)
    abort();
  int c = nnc_sanity_parse(s);
  if (c >= 0 && c >= 32)
    abort();
  char path[512], err[512];
  err[0] = 0;
  int rc = nnc_plugin_resolve(s, path, sizeof path, err, sizeof err);
  if (rc != NNC_OK)
    fz_one_line("nnc_plugin_resolve", err, sizeof err);
  check_json_string(s);
  free(s);
  return 0;
}
