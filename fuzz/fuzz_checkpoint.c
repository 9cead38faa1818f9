/* The checkpoint reader on arbitrary bytes: every file either reads into a
 * consistent checkpoint or is refused with one line naming what is wrong;
 * never a crash, a leak, a huge allocation or a read past the end. */
#include "config.h"
#include "fuzz_common.h"
#include <nncheck/checkpoint.h>
#include <nncheck/nncheck.h>
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;
static volatile double sink;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (fd < 0) {
    fd = memfd_create("ckpt", 0);
    if (fd < 0)
      abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0 ||
      (size && pwrite(fd, data, size, 0) != (ssize_t)size))
    abort();
  nnc_checkpoint *c = NULL;
  char err[1024];
  err[0] = 0;
  int rc = nnc_checkpoint_read(path, &c, err, sizeof err);
  if (rc != NNC_OK) {
    if (c)
      abort(); /* a refused file gives no checkpoint */
    fz_one_line("nnc_checkpoint_read", err, sizeof err);
    return 0;
  }
  /* Accepted: every block must be what the format promises. */
  size_t nb = nnc_checkpoint_num_blocks(c);
  if (nb == 0 || nb > NNC_CKPT_MAX_BLOCKS)
    abort();
  double sum = 0;
  for (size_t i = 0; i < nb; i++) {
    const nnc_block *b = nnc_checkpoint_block(c, i);
    if (!b || !b->name || !b->name[0] || b->count == 0 ||
        nnc_checkpoint_find(c, b->name) != (long)i)
      abort();
    size_t prod = 1;
    for (uint32_t d = 0; d < b->ndim; d++)
      prod *= b->shape[d];
    if (b->ndim && prod != b->count)
      abort();
    sum += nnc_checkpoint_value(c, i, 0) + nnc_checkpoint_value(c, i, b->count - 1);
  }
  const nnc_ckpt_meta *m = nnc_checkpoint_meta(c);
  if (m->plugin)
    sum += (double)strlen(m->plugin);
  if (m->args)
    sum += (double)strlen(m->args);
  (void)nnc_checkpoint_get(c, "seed");
  if (nnc_checkpoint_block(c, nb))
    abort();
  nnc_checkpoint_free(c);
  sink = sum; /* keep the reads alive */
  return 0;
}
