/* checkpoint_read.c — reading a checkpoint file, trusting nothing.
 *
 * The whole file is read into memory, and a cursor walks it with every
 * length checked against the bytes that are left before anything is
 * allocated from it, so a corrupt or hostile file ends in one sentence
 * naming the file, what is wrong and at which offset -- never in a huge
 * allocation or a read past the end.  The checksum is checked last, so
 * that a truncated or mis-structured file is described as such rather than
 * as "checksum mismatch". */
#include "config.h"

#include "checkpoint_internal.h"
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct cursor {
  const unsigned char *p;
  size_t pos, end;     /* end: where the checksum starts */
  const char *path;
  char *err;
  size_t errlen;
} cursor;

/* n more bytes must lie before the checksum; `what` names them. */
static int need(cursor *cu, size_t n, const char *what)
{
  if (n > cu->end - cu->pos)
    return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                "%s: truncated: %s needs %zu bytes at offset %zu, but only "
                "%zu remain before the checksum",
                cu->path, what, n, cu->pos, cu->end - cu->pos);
  return NNC_OK;
}

static int read_meta(nnc_checkpoint *c, cursor *cu, size_t len)
{
  const char *s = (const char *)cu->p + cu->pos;
  size_t base = cu->pos, i = 0;
  while (i < len) {
    size_t line = i;
    const char *nl = memchr(s + i, '\n', len - i);
    if (!nl)
      return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                  "%s: metadata line at offset %zu does not end in a "
                  "newline",
                  cu->path, base + line);
    size_t ln = (size_t)(nl - (s + i));
    const char *eq = memchr(s + i, '=', ln);
    if (!eq)
      return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                  "%s: metadata line at offset %zu is not key=value",
                  cu->path, base + line);
    size_t kn = (size_t)(eq - (s + i)), vn = ln - kn - 1;
    if (!nnci_ck_key_ok(s + i, kn))
      return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                  "%s: metadata key at offset %zu is not 1 to %u characters "
                  "of [a-z0-9_]",
                  cu->path, base + line, NNCI_CK_MAX_KEY);
    for (size_t k = 0; k < vn; k++)
      if (!nnci_ck_value_byte_ok((unsigned char)eq[1 + k]))
        return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                    "%s: metadata value of \"%.*s\" holds byte 0x%02x at "
                    "offset %zu: only printable text is allowed",
                    cu->path, (int)kn, s + i, (unsigned char)eq[1 + k],
                    base + (size_t)(eq + 1 + k - s));
    for (size_t k = 0; k < c->nkv; k++)
      if (strlen(c->kv[k].key) == kn && !memcmp(c->kv[k].key, s + i, kn))
        return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                    "%s: metadata key \"%.*s\" appears twice", cu->path,
                    (int)kn, s + i);
    if (nnci_ck_kv_add(c, s + i, kn, eq + 1, vn) != NNC_OK)
      return nnci_ck_fail(NNC_ENOMEM, cu->err, cu->errlen, "out of memory");
    i += ln + 1;
  }
  cu->pos += len;
  return NNC_OK;
}

static int read_block(nnc_checkpoint *c, cursor *cu, size_t bi)
{
  char what[96];
  size_t at = cu->pos;
  snprintf(what, sizeof what, "the name length of block %zu", bi);
  int rc = need(cu, 4, what);
  if (rc)
    return rc;
  uint32_t nl = nnci_ck_get_u32(cu->p + cu->pos);
  if (nl == 0 || nl > NNC_CKPT_MAX_NAME)
    return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                "%s: block %zu at offset %zu: name length %u is not in "
                "[1, %u]",
                cu->path, bi, at, nl, NNC_CKPT_MAX_NAME);
  cu->pos += 4;
  snprintf(what, sizeof what, "the name of block %zu", bi);
  if ((rc = need(cu, nl, what)))
    return rc;
  const char *name = (const char *)cu->p + cu->pos;
  if (!nnci_ck_name_ok(name, nl))
    return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                "%s: block %zu at offset %zu: its name holds a byte outside "
                "[A-Za-z0-9_.-] (a NUL or garbage): the file is corrupt",
                cu->path, bi, cu->pos);
  nnc_block *b = &c->blocks[bi];
  char *nm = malloc(nl + 1);
  if (!nm)
    return nnci_ck_fail(NNC_ENOMEM, cu->err, cu->errlen, "out of memory");
  memcpy(nm, name, nl);
  nm[nl] = 0;
  b->name = nm;
  c->nblocks = bi + 1; /* owned from here: freed with the checkpoint */
  cu->pos += nl;
  for (size_t k = 0; k < bi; k++)
    if (!strcmp(c->blocks[k].name, nm))
      return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                  "%s: two blocks are named '%s'", cu->path, nm);
  snprintf(what, sizeof what, "the dtype and ndim of block '%s'", nm);
  if ((rc = need(cu, 8, what)))
    return rc;
  b->dtype = nnci_ck_get_u32(cu->p + cu->pos);
  b->ndim = nnci_ck_get_u32(cu->p + cu->pos + 4);
  if (b->dtype != NNC_F64 && b->dtype != NNC_F32)
    return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                "%s: block '%s': unknown dtype %u at offset %zu (1 double, "
                "2 float)",
                cu->path, nm, b->dtype, cu->pos);
  if (b->ndim > NNC_MAX_DIMS)
    return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                "%s: block '%s': ndim %u at offset %zu is more than %d",
                cu->path, nm, b->ndim, cu->pos + 4, NNC_MAX_DIMS);
  cu->pos += 8;
  snprintf(what, sizeof what, "the shape and count of block '%s'", nm);
  if ((rc = need(cu, 8 * (size_t)b->ndim + 8, what)))
    return rc;
  uint64_t prod = 1;
  int overflow = 0;
  for (uint32_t d = 0; d < b->ndim; d++) {
    uint64_t s = nnci_ck_get_u64(cu->p + cu->pos + 8 * d);
    if (s == 0 || s > SIZE_MAX)
      return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                  "%s: block '%s': dimension %u is %llu at offset %zu",
                  cu->path, nm, d, (unsigned long long)s, cu->pos + 8 * d);
    if (prod > UINT64_MAX / s)
      overflow = 1;
    else
      prod *= s;
    b->shape[d] = (size_t)s;
  }
  cu->pos += 8 * (size_t)b->ndim;
  uint64_t count = nnci_ck_get_u64(cu->p + cu->pos);
  if (count == 0 || (b->ndim && (overflow || count != prod)))
    return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                "%s: block '%s': count %llu at offset %zu %s", cu->path, nm,
                (unsigned long long)count, cu->pos,
                count == 0 ? "is zero" : "does not match its shape");
  cu->pos += 8;
  size_t es = nnci_dtype_size(b->dtype);
  if (count > (cu->end - cu->pos) / es)
    return nnci_ck_fail(NNC_EIO, cu->err, cu->errlen,
                "%s: truncated or corrupt: block '%s' claims %llu elements "
                "(%s) at offset %zu, but only %zu bytes remain before the "
                "checksum",
                cu->path, nm, (unsigned long long)count,
                nnci_dtype_name(b->dtype), cu->pos, cu->end - cu->pos);
  b->count = (size_t)count;
  b->data = malloc(b->count * es);
  if (!b->data)
    return nnci_ck_fail(NNC_ENOMEM, cu->err, cu->errlen,
                "out of memory for block '%s' (%zu elements)", nm, b->count);
  const unsigned char *src = cu->p + cu->pos;
  for (size_t i = 0; i < b->count; i++) {
    if (es == 8) {
      uint64_t u = nnci_ck_get_u64(src + 8 * i);
      memcpy((double *)b->data + i, &u, 8);
    } else {
      uint32_t u = nnci_ck_get_u32(src + 4 * i);
      memcpy((float *)b->data + i, &u, 4);
    }
  }
  cu->pos += b->count * es;
  return NNC_OK;
}

static int parse(nnc_checkpoint *c, const unsigned char *buf, size_t size,
                 char *err, size_t errlen)
{
  const char *path = c->path;
  if (size < sizeof NNCI_CK_MAGIC && memcmp(buf, NNCI_CK_MAGIC, size) == 0)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: truncated: %zu bytes, not even the 8 magic bytes of a "
                "checkpoint",
                path, size);
  if (size < sizeof NNCI_CK_MAGIC || memcmp(buf, NNCI_CK_MAGIC, sizeof NNCI_CK_MAGIC) != 0)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: not an nncheck checkpoint (it does not start with the "
                "magic bytes \"NNCCKPT\\0\")",
                path);
  if (size < NNCI_CK_HEADER + NNCI_CK_CRC)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: truncated: %zu bytes, shorter than the %u-byte header "
                "and checksum",
                path, size, NNCI_CK_HEADER + NNCI_CK_CRC);
  uint32_t version = nnci_ck_get_u32(buf + 8), flags = nnci_ck_get_u32(buf + 12);
  if (version != NNC_CKPT_VERSION)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: checkpoint format version %u; this nncheck reads "
                "version %u%s",
                path, version, NNC_CKPT_VERSION,
                version > NNC_CKPT_VERSION ? ": written by a newer nncheck"
                                           : "");
  if (flags != 0)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: header flags 0x%08x: version %u defines none", path,
                flags, NNC_CKPT_VERSION);
  uint32_t ml = nnci_ck_get_u32(buf + 16), nb = nnci_ck_get_u32(buf + 20);
  if (ml > NNC_CKPT_MAX_META)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: metadata length %u at offset 16 is more than %u", path,
                ml, NNC_CKPT_MAX_META);
  if (nb == 0 || nb > NNC_CKPT_MAX_BLOCKS)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: block count %u at offset 20 is not in [1, %u]", path, nb,
                NNC_CKPT_MAX_BLOCKS);
  cursor cu = {buf, NNCI_CK_HEADER, size - NNCI_CK_CRC, path, err, errlen};
  int rc = need(&cu, ml, "the metadata");
  if (rc)
    return rc;
  if ((rc = read_meta(c, &cu, ml)))
    return rc;
  c->blocks = calloc(nb, sizeof *c->blocks);
  if (!c->blocks)
    return nnci_ck_fail(NNC_ENOMEM, err, errlen, "out of memory");
  for (size_t i = 0; i < nb; i++)
    if ((rc = read_block(c, &cu, i)))
      return rc;
  if (cu.pos != cu.end)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: %zu unexpected bytes after the last block (offset %zu): "
                "the file is corrupt or was appended to",
                path, cu.end - cu.pos, cu.pos);
  crc32_ctx crc;
  nnci_ck_crc32_begin(&crc);
  nnci_ck_crc32_add(&crc, buf, size - NNCI_CK_CRC);
  uint32_t want = nnci_ck_get_u32(buf + size - NNCI_CK_CRC), got = nnci_ck_crc32_end(&crc);
  if (want != got)
    return nnci_ck_fail(NNC_EIO, err, errlen,
                "%s: checksum mismatch (stored 0x%08x, computed 0x%08x): the "
                "file is corrupt",
                path, want, got);
  return nnci_ck_meta_from_kv(c, err, errlen);
}

int nnc_checkpoint_read(const char *path, nnc_checkpoint **out, char *err,
                        size_t errlen)
{
  *out = NULL;
  if (!path || !*path)
    return nnci_ck_fail(NNC_EARG, err, errlen, "checkpoint: no file name given");
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return nnci_ck_fail(errno == ENOENT ? NNC_ENOTFOUND : NNC_EIO, err, errlen,
                "%s: cannot open the checkpoint: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return nnci_ck_fail(NNC_EIO, err, errlen, "%s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return nnci_ck_fail(NNC_EIO, err, errlen, "%s: %s", path,
                S_ISDIR(st.st_mode) ? "is a directory, not a checkpoint"
                                    : "not a regular file");
  }
  if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2) {
    close(fd);
    return nnci_ck_fail(NNC_EIO, err, errlen, "%s: too large to be read", path);
  }
  size_t size = (size_t)st.st_size, got = 0;
  unsigned char *buf = malloc(size ? size : 1);
  if (!buf) {
    close(fd);
    return nnci_ck_fail(NNC_ENOMEM, err, errlen, "%s: out of memory for %zu bytes",
                path, size);
  }
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      int e = r < 0 ? errno : 0;
      close(fd);
      free(buf);
      return nnci_ck_fail(NNC_EIO, err, errlen, "%s: read failed at byte %zu: %s",
                  path, got, e ? strerror(e) : "the file shrank");
    }
    got += (size_t)r;
  }
  close(fd);
  nnc_checkpoint *c = calloc(1, sizeof *c);
  if (!c) {
    free(buf);
    return nnci_ck_fail(NNC_ENOMEM, err, errlen, "out of memory");
  }
  snprintf(c->path, sizeof c->path, "%s", path);
  int rc = parse(c, buf, size, err, errlen);
  free(buf);
  if (rc != NNC_OK) {
    nnc_checkpoint_free(c);
    return rc;
  }
  *out = c;
  return NNC_OK;
}
