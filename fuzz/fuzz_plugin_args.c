/* Every bundled plugin's create() on an arbitrary argument string: the six
 * layers of plugins/layer_plugins.c, the seven hard layers of
 * plugins/hard_layers.c and the reference net mlp.  The first byte picks the
 * plugin, the rest is the string.  Each is built into this harness with its
 * entry point renamed (fz_entry_*, see fuzz/run.sh) and every other symbol
 * made local, so that the variants do not collide.  An accepted string must
 * give an instance whose blocks and shapes agree; a refused one, one line
 * naming the plugin. */
#include "fuzz_common.h"
#include <nncheck/plugin.h>

#define FZ_PLUGINS(X)                                                          \
  X(affine) X(relu) X(tanh) X(dropout) X(softmax_loss) X(svm_loss)            \
  X(conv2d) X(maxpool2) X(hrelu) X(batchnorm) X(layernorm) X(softmax)         \
  X(attention) X(mlp)

#define FZ_DECLARE(n) const nnc_plugin *fz_entry_##n(void);
FZ_PLUGINS(FZ_DECLARE)
#define FZ_ENTRY(n) fz_entry_##n,
static const nnc_plugin *(*const entries[])(void) = {FZ_PLUGINS(FZ_ENTRY)};
#define NENTRIES (sizeof entries / sizeof *entries)

static size_t count_of(const size_t *shape, uint32_t ndim)
{
  size_t c = 1;
  for (uint32_t d = 0; d < ndim; d++)
    c *= shape[d];
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const nnc_plugin *d = entries[data[0] % NENTRIES]();
  char *args = fz_string(data + 1, size - 1);
  char err[1024];
  err[0] = 0;
  void *self = d->create(args, err, sizeof err);
  if (!self) {
    fz_one_line(d->name, err, sizeof err);
    size_t nl = strlen(d->name);
    if (strncmp(err, d->name, nl) || strncmp(err + nl, ": ", 2))
      abort(); /* the message names the plugin */
    free(args);
    return 0;
  }
  size_t nb = d->num_blocks(self);
  for (size_t i = 0; i < nb; i++) {
    nnc_block b;
    memset(&b, 0, sizeof b);
    if (d->get_block(self, i, &b) != 0 || !b.name || !b.data || !b.count ||
        b.ndim > NNC_MAX_DIMS || (b.ndim && count_of(b.shape, b.ndim) != b.count))
      abort();
  }
  if (d->kind == NNC_KIND_LAYER) {
    nnc_layer_info li;
    memset(&li, 0, sizeof li);
    if (d->layer_info(self, &li) != 0 || li.in_ndim > NNC_MAX_DIMS ||
        li.out_ndim > NNC_MAX_DIMS || !count_of(li.in_shape, li.in_ndim) ||
        !count_of(li.out_shape, li.out_ndim))
      abort();
  }
  d->destroy(self);
  free(args);
  return 0;
}
