/* nncheck/checkpoint.h — a model's parameters saved to a file and read back.
 *
 * A checkpoint holds every block of a model (a layer's "input" block
 * included): name, element type, shape and the values, bit for bit, with
 * a little text about where they came from (plugin, arguments, seed, epoch,
 * step, losses).  Training runs write them (`landscape --train`, babysitting,
 * hyperparameter search); `landscape` reads them to draw the line between
 * two of them or a run's trajectory.
 *
 * The file format, version 1.  All integers are unsigned little-endian;
 * offsets in bytes from the start of the file.
 *
 *   0   magic    8 bytes "NNCCKPT" followed by one 0 byte
 *   8   version  u32, 1
 *   12  flags    u32, 0 (a reader refuses other values)
 *   16  meta_len u32, <= NNC_CKPT_MAX_META
 *   20  nblocks  u32, 1 .. NNC_CKPT_MAX_BLOCKS
 *   24  meta     meta_len bytes of text: lines "key=value\n", keys of
 *                [a-z0-9_] (at most 64 bytes), values of printable bytes
 *                (0x20..0x7e and 0x80..0xff; no NUL, no control
 *                characters), each key once, every line ending in '\n'
 *   then nblocks blocks, one after the other:
 *       name_len u32, 1 .. NNC_CKPT_MAX_NAME
 *       name     name_len bytes of [A-Za-z0-9_.-] (no terminating 0)
 *       dtype    u32, 1 (IEEE double) or 2 (IEEE float): enum nnc_dtype
 *       ndim     u32, 0 .. NNC_MAX_DIMS
 *       shape    ndim x u64, each >= 1
 *       count    u64, >= 1; the product of shape when ndim > 0
 *       data     count elements of dtype, little-endian IEEE 754
 *   last  crc    u32: CRC-32 (the polynomial and conventions of zlib's
 *                crc32(), i.e. of gzip and PNG) of every byte before it;
 *                the file ends right after it.
 *
 * Metadata keys written by nncheck: plugin, args, seed, epoch, step,
 * train_loss, val_loss, val_acc (numbers as C-locale text, "%.17g" for
 * reals; an unrecorded value is simply absent).  Readers keep unknown keys
 * (nnc_checkpoint_get) and refuse nothing for them.  One key changes how
 * blocks are read: aux_blocks=K says that the last K blocks are not
 * parameters but the state of the run that wrote the file (babysit.h: an
 * optimizer's moments, averaged parameters), needed to resume it;
 * nnc_checkpoint_check and nnc_checkpoint_apply ignore them.
 *
 * Writing is crash-safe: the file is written under a temporary name in the
 * same directory, flushed to disk (fsync), then renamed over PATH, and the
 * directory is synced, so PATH is always either the old file or the
 * complete new one.  Reading validates everything before trusting it: each
 * length is bounded and checked against the bytes left in the file, names
 * and metadata are checked byte by byte, counts against shapes, and the
 * checksum last.
 *
 * Errors: NNC_ENOTFOUND (no such file), NNC_EIO (unreadable, not a
 * checkpoint, malformed, truncated or corrupt: the message names the file,
 * what is wrong and where), NNC_EARG (a checkpoint that does not fit the
 * model: the message names the block and both shapes or types), NNC_ENOMEM.
 * Messages go into the caller's err buffer, one line.
 */
#ifndef NNCHECK_CHECKPOINT_H
#define NNCHECK_CHECKPOINT_H

#include <nncheck/nncheck.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNC_CKPT_VERSION 1u           /* the format version written */
#define NNC_CKPT_MAX_META (1u << 20)  /* bytes of metadata text */
#define NNC_CKPT_MAX_BLOCKS 4096u     /* blocks in one checkpoint */
#define NNC_CKPT_MAX_NAME 255u        /* bytes of a block name */

/* What a checkpoint says about where its parameters came from.  On
 * writing, NULL strings and unset values are left out (plugin and args:
 * NULL takes the model's); on reading, absent ones come back so. */
typedef struct nnc_ckpt_meta {
  const char *plugin;   /* plugin name, e.g. "mlp"; NULL: absent */
  const char *args;     /* its argument string; NULL: absent */
  int has_seed;         /* seed recorded */
  uint64_t seed;        /* the run's seed */
  int has_step;         /* step recorded */
  uint64_t step;        /* optimizer steps taken */
  double epoch;         /* epochs completed (fractional); NaN: absent */
  double train_loss;    /* NaN: absent */
  double val_loss;      /* NaN: absent */
  double val_acc;       /* NaN: absent */
} nnc_ckpt_meta;

/* Everything absent. */
void nnc_ckpt_meta_init(nnc_ckpt_meta *meta);

/* A checkpoint in memory, read from a file or captured from a model. */
typedef struct nnc_checkpoint nnc_checkpoint;

/* Copy every block of the model (values bit for bit) with the metadata
 * (may be NULL).  The copy owns its memory: the model may change or close
 * afterwards. */
int nnc_checkpoint_capture(const nnc_model *m, const nnc_ckpt_meta *meta,
                           nnc_checkpoint **out, char *err, size_t errlen);
/* Write a checkpoint to path, crash-safely (see above). */
int nnc_checkpoint_save(const nnc_checkpoint *c, const char *path, char *err,
                        size_t errlen);
/* Capture and save in one call. */
int nnc_checkpoint_write(const nnc_model *m, const char *path,
                         const nnc_ckpt_meta *meta, char *err, size_t errlen);
/* Read and validate a file.  On failure *out is NULL and err says what is
 * wrong with which file. */
int nnc_checkpoint_read(const char *path, nnc_checkpoint **out, char *err,
                        size_t errlen);
/* Set the model's parameters to the checkpoint's.  Every block of the model
 * must be in the checkpoint under its name with the same element type and
 * shape, and the checkpoint may hold no other block (but its auxiliary
 * ones); otherwise NNC_EARG
 * naming the first difference, and the model is left untouched. */
int nnc_checkpoint_apply(const nnc_checkpoint *c, nnc_model *m, char *err,
                         size_t errlen);
/* Whether the checkpoint fits the model, as nnc_checkpoint_apply checks it,
 * without changing anything: NNC_OK or NNC_EARG with the reason. */
int nnc_checkpoint_check(const nnc_checkpoint *c, const nnc_model *m,
                         char *err, size_t errlen);
void nnc_checkpoint_free(nnc_checkpoint *c);

/* ---- accessors: valid until nnc_checkpoint_free ------------------------- */
/* The file it was read from; "" for a captured checkpoint. */
const char *nnc_checkpoint_path(const nnc_checkpoint *c);
const nnc_ckpt_meta *nnc_checkpoint_meta(const nnc_checkpoint *c);
/* The raw text of any metadata key, known or not; NULL if absent. */
const char *nnc_checkpoint_get(const nnc_checkpoint *c, const char *key);
size_t nnc_checkpoint_num_blocks(const nnc_checkpoint *c);
/* Block i in file order: name, data (host byte order, count elements of
 * dtype), count, dtype, ndim, shape.  depth is 0.  NULL past the end. */
const nnc_block *nnc_checkpoint_block(const nnc_checkpoint *c, size_t i);
long nnc_checkpoint_find(const nnc_checkpoint *c, const char *name); /* -1 */
/* One value of block i as double. */
double nnc_checkpoint_value(const nnc_checkpoint *c, size_t block, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_CHECKPOINT_H */
