/* mlp's argument string (plugins/mlp_args.c) on arbitrary text: it parses
 * into a configuration that mlp can allocate without overflow, or is
 * refused with one line naming the argument. */
#include "fuzz_common.h"
#include "mlp_args.h"
#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *args = fz_string(data, size);
  mlp_cfg c;
  char err[512];
  err[0] = 0;
  if (mlp_cfg_parse(&c, args, err, sizeof err) != 0) {
    fz_one_line("mlp_cfg_parse", err, sizeof err);
    if (strncmp(err, "mlp: ", 5))
      abort(); /* the message names the plugin */
    free(args);
    return 0;
  }
  /* Accepted: the configuration is whole and its sizes multiply safely. */
  if (c.n_sizes < 2 || c.n_sizes > MLP_MAX_LAYERS + 1 ||
      c.sizes[0] != c.D || c.sizes[c.n_sizes - 1] != c.K || c.K < 2 ||
      c.D < 2 || c.N < 1 || c.threads < 1 || c.threads > 1024)
    abort();
  if (!(c.dropout >= 0 && c.dropout < 1) || !(c.val >= 0 && c.val < 1) ||
      !(c.reg >= 0) || !isfinite(c.reg) || !(c.margin > 0) ||
      !isfinite(c.margin) || !(c.scale >= 0) || !isfinite(c.scale))
    abort();
  size_t total = c.N * c.K;
  if (total / c.K != c.N || total > (size_t)INT32_MAX)
    abort();
  /* what create() allocates at once stays within MLP_MAX_ELEMS values */
  if (c.D > MLP_MAX_DATA / total)
    abort();
  for (size_t l = 0; l < c.n_sizes; l++) {
    if (c.sizes[l] == 0 || c.sizes[l] > ((size_t)1 << 40) / total)
      abort();
    if (l + 1 < c.n_sizes && c.sizes[l] > MLP_MAX_ELEMS / c.sizes[l + 1])
      abort();
  }
  free(args);
  return 0;
}
