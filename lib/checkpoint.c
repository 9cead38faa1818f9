/* checkpoint.c — saved parameter sets (the format is in
 * nncheck/checkpoint.h): capturing a model's blocks, writing them
 * crash-safely, checking and applying them to a model.  Reading and
 * validating a file is checkpoint_read.c. */
#include "config.h"
#include <nncheck/isolate.h>

#include <nncheck/checkpoint.h>

#include "checkpoint_internal.h"
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------ */

int nnci_ck_fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    nnci_one_line(err);
  }
  return code;
}

void nnci_ck_crc32_begin(crc32_ctx *c)
{
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t v = n;
    for (int k = 0; k < 8; k++)
      v = v & 1 ? 0xEDB88320u ^ (v >> 1) : v >> 1;
    c->table[n] = v;
  }
  c->crc = 0xFFFFFFFFu;
}

void nnci_ck_crc32_add(crc32_ctx *c, const void *p, size_t n)
{
  const unsigned char *b = p;
  uint32_t crc = c->crc;
  for (size_t i = 0; i < n; i++)
    crc = c->table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
  c->crc = crc;
}

uint32_t nnci_ck_crc32_end(const crc32_ctx *c) { return c->crc ^ 0xFFFFFFFFu; }

uint32_t nnci_ck_get_u32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

uint64_t nnci_ck_get_u64(const unsigned char *p)
{
  return (uint64_t)nnci_ck_get_u32(p) | (uint64_t)nnci_ck_get_u32(p + 4) << 32;
}

static void put_u32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

int nnci_ck_name_ok(const char *s, size_t n)
{
  if (n == 0 || n > NNC_CKPT_MAX_NAME)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

int nnci_ck_key_ok(const char *s, size_t n)
{
  if (n == 0 || n > NNCI_CK_MAX_KEY)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
          s[i] == '_'))
      return 0;
  return 1;
}

int nnci_ck_value_byte_ok(unsigned char c) { return c >= 0x20 && c != 0x7f; }

static void shape_str(const nnc_block *b, char *buf, size_t len)
{
  size_t k = 0;
  buf[0] = 0;
  if (!b->ndim) {
    snprintf(buf, len, "%zu (flat)", b->count);
    return;
  }
  for (uint32_t d = 0; d < b->ndim && k < len; d++)
    k += (size_t)snprintf(buf + k, len - k, "%s%zu", d ? "x" : "",
                          b->shape[d]);
}

/* ---- metadata ----------------------------------------------------------- */

void nnc_ckpt_meta_init(nnc_ckpt_meta *meta)
{
  memset(meta, 0, sizeof *meta);
  meta->epoch = meta->train_loss = meta->val_loss = meta->val_acc = NAN;
}

int nnci_ck_kv_add(nnc_checkpoint *c, const char *key, size_t kn,
                  const char *val, size_t vn)
{
  ck_kv *kv = realloc(c->kv, (c->nkv + 1) * sizeof *kv);
  if (!kv)
    return NNC_ENOMEM;
  c->kv = kv;
  kv[c->nkv].key = malloc(kn + 1);
  kv[c->nkv].value = malloc(vn + 1);
  if (!kv[c->nkv].key || !kv[c->nkv].value) {
    free(kv[c->nkv].key);
    free(kv[c->nkv].value);
    return NNC_ENOMEM;
  }
  memcpy(kv[c->nkv].key, key, kn);
  kv[c->nkv].key[kn] = 0;
  memcpy(kv[c->nkv].value, val, vn);
  kv[c->nkv].value[vn] = 0;
  c->nkv++;
  return NNC_OK;
}

const char *nnc_checkpoint_get(const nnc_checkpoint *c, const char *key)
{
  for (size_t i = 0; i < c->nkv; i++)
    if (!strcmp(c->kv[i].key, key))
      return c->kv[i].value;
  return NULL;
}

static int parse_u64(const char *s, uint64_t *v)
{
  char *end;
  if (!*s || *s == '-' || *s == '+' || *s == ' ')
    return -1;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end)
    return -1;
  *v = x;
  return 0;
}

static int parse_real(const char *s, double *v)
{
  char *end;
  if (!*s || *s == ' ')
    return -1;
  errno = 0;
  double x = strtod(s, &end);
  if (*end || (errno && isfinite(x) && x != 0))
    return -1;
  *v = x;
  return 0;
}

/* The known keys into c->meta; a malformed known value is an error. */
int nnci_ck_meta_from_kv(nnc_checkpoint *c, char *err, size_t errlen)
{
  nnc_ckpt_meta *m = &c->meta;
  nnc_ckpt_meta_init(m);
  m->plugin = nnc_checkpoint_get(c, "plugin");
  m->args = nnc_checkpoint_get(c, "args");
  static const struct {
    const char *key;
    int integer;
  } known[] = {{"seed", 1},       {"step", 1},     {"epoch", 0},
               {"train_loss", 0}, {"val_loss", 0}, {"val_acc", 0}};
  for (size_t k = 0; k < sizeof known / sizeof *known; k++) {
    const char *v = nnc_checkpoint_get(c, known[k].key);
    if (!v)
      continue;
    uint64_t u = 0;
    double d = 0;
    if (known[k].integer ? parse_u64(v, &u) : parse_real(v, &d))
      return nnci_ck_fail(NNC_EIO, err, errlen,
                  "%s: metadata %s=\"%.40s\" is not %s", c->path,
                  known[k].key, v,
                  known[k].integer ? "a whole number" : "a number");
    if (!strcmp(known[k].key, "seed")) {
      m->has_seed = 1;
      m->seed = u;
    } else if (!strcmp(known[k].key, "step")) {
      m->has_step = 1;
      m->step = u;
    } else if (!strcmp(known[k].key, "epoch")) {
      m->epoch = d;
    } else if (!strcmp(known[k].key, "train_loss")) {
      m->train_loss = d;
    } else if (!strcmp(known[k].key, "val_loss")) {
      m->val_loss = d;
    } else {
      m->val_acc = d;
    }
  }
  return NNC_OK;
}

/* ---- in memory ---------------------------------------------------------- */

void nnc_checkpoint_free(nnc_checkpoint *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->nblocks; i++) {
    free((char *)c->blocks[i].name);
    free(c->blocks[i].data);
  }
  free(c->blocks);
  for (size_t i = 0; i < c->nkv; i++) {
    free(c->kv[i].key);
    free(c->kv[i].value);
  }
  free(c->kv);
  free(c);
}

const char *nnc_checkpoint_path(const nnc_checkpoint *c) { return c->path; }
const nnc_ckpt_meta *nnc_checkpoint_meta(const nnc_checkpoint *c)
{
  return &c->meta;
}
size_t nnc_checkpoint_num_blocks(const nnc_checkpoint *c) { return c->nblocks; }

const nnc_block *nnc_checkpoint_block(const nnc_checkpoint *c, size_t i)
{
  return i < c->nblocks ? &c->blocks[i] : NULL;
}

long nnc_checkpoint_find(const nnc_checkpoint *c, const char *name)
{
  for (size_t i = 0; i < c->nblocks; i++)
    if (!strcmp(c->blocks[i].name, name))
      return (long)i;
  return -1;
}

double nnc_checkpoint_value(const nnc_checkpoint *c, size_t block, size_t i)
{
  const nnc_block *b = &c->blocks[block];
  return nnci_load(b->data, b->dtype, i);
}

/* Format a known numeric field into the key=value list. */
static int kv_real(nnc_checkpoint *c, const char *key, double v)
{
  char buf[64];
  if (isnan(v))
    return NNC_OK;
  snprintf(buf, sizeof buf, "%.17g", v);
  return nnci_ck_kv_add(c, key, strlen(key), buf, strlen(buf));
}

static int kv_text(nnc_checkpoint *c, const char *key, const char *v,
                   char *err, size_t errlen)
{
  size_t n = strlen(v);
  for (size_t i = 0; i < n; i++)
    if (!nnci_ck_value_byte_ok((unsigned char)v[i]))
      return nnci_ck_fail(NNC_EARG, err, errlen,
                  "checkpoint metadata %s holds a control character (byte "
                  "0x%02x at %zu): only printable text can be saved",
                  key, (unsigned char)v[i], i);
  if (nnci_ck_kv_add(c, key, strlen(key), v, n) != NNC_OK)
    return nnci_ck_fail(NNC_ENOMEM, err, errlen, "out of memory");
  return NNC_OK;
}

int nnc_checkpoint_capture(const nnc_model *m, const nnc_ckpt_meta *meta,
                           nnc_checkpoint **out, char *err, size_t errlen)
{
  *out = NULL;
  nnc_checkpoint *c = calloc(1, sizeof *c);
  nnc_ckpt_meta none;
  if (!meta) {
    nnc_ckpt_meta_init(&none);
    meta = &none;
  }
  if (!c)
    return nnci_ck_fail(NNC_ENOMEM, err, errlen, "out of memory");
  int rc = kv_text(c, "plugin", meta->plugin ? meta->plugin
                                             : nnc_model_desc(m)->name,
                   err, errlen);
  if (rc == NNC_OK)
    rc = kv_text(c, "args", meta->args ? meta->args : nnc_model_args(m), err,
                 errlen);
  char num[32];
  if (rc == NNC_OK && meta->has_seed) {
    snprintf(num, sizeof num, "%llu", (unsigned long long)meta->seed);
    rc = nnci_ck_kv_add(c, "seed", 4, num, strlen(num));
  }
  if (rc == NNC_OK)
    rc = kv_real(c, "epoch", meta->epoch);
  if (rc == NNC_OK && meta->has_step) {
    snprintf(num, sizeof num, "%llu", (unsigned long long)meta->step);
    rc = nnci_ck_kv_add(c, "step", 4, num, strlen(num));
  }
  if (rc == NNC_OK)
    rc = kv_real(c, "train_loss", meta->train_loss);
  if (rc == NNC_OK)
    rc = kv_real(c, "val_loss", meta->val_loss);
  if (rc == NNC_OK)
    rc = kv_real(c, "val_acc", meta->val_acc);
  size_t nb = nnc_model_num_blocks(m);
  if (rc == NNC_OK) {
    c->blocks = calloc(nb ? nb : 1, sizeof *c->blocks);
    if (!c->blocks)
      rc = NNC_ENOMEM;
  }
  for (size_t i = 0; rc == NNC_OK && i < nb; i++) {
    const nnc_block *b = nnc_model_block(m, i);
    nnc_block *d = &c->blocks[i];
    size_t bytes = b->count * nnci_dtype_size(b->dtype);
    char *name = strdup(b->name);
    void *data = malloc(bytes);
    if (!name || !data) {
      free(name);
      free(data);
      rc = NNC_ENOMEM;
      break;
    }
    memcpy(data, b->data, bytes);
    *d = *b;
    memset(d->reserved, 0, sizeof d->reserved);
    d->depth = 0;
    d->name = name;
    d->data = data;
    c->nblocks++;
  }
  if (rc == NNC_ENOMEM)
    nnci_ck_fail(rc, err, errlen, "out of memory capturing the parameters");
  if (rc == NNC_OK)
    rc = nnci_ck_meta_from_kv(c, err, errlen);
  if (rc != NNC_OK) {
    nnc_checkpoint_free(c);
    return rc;
  }
  *out = c;
  return NNC_OK;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct writer {
  FILE *f;
  crc32_ctx crc;
  int bad;
} writer;

static void w_bytes(writer *w, const void *p, size_t n)
{
  nnci_ck_crc32_add(&w->crc, p, n);
  if (n && fwrite(p, 1, n, w->f) != n)
    w->bad = 1;
}

static void w_u32(writer *w, uint32_t v)
{
  unsigned char b[4];
  put_u32(b, v);
  w_bytes(w, b, 4);
}

static void w_u64(writer *w, uint64_t v)
{
  unsigned char b[8];
  put_u64(b, v);
  w_bytes(w, b, 8);
}

/* Block values in little-endian order, in chunks. */
static void w_data(writer *w, const nnc_block *b)
{
  unsigned char buf[8192];
  size_t es = nnci_dtype_size(b->dtype), per = sizeof buf / es;
  for (size_t i = 0; i < b->count; i += per) {
    size_t n = b->count - i < per ? b->count - i : per;
    for (size_t k = 0; k < n; k++) {
      if (es == 8) {
        uint64_t u;
        memcpy(&u, (const double *)b->data + i + k, 8);
        put_u64(buf + 8 * k, u);
      } else {
        uint32_t u;
        memcpy(&u, (const float *)b->data + i + k, 4);
        put_u32(buf + 4 * k, u);
      }
    }
    w_bytes(w, buf, n * es);
  }
}

static size_t meta_len(const nnc_checkpoint *c)
{
  size_t n = 0;
  for (size_t i = 0; i < c->nkv; i++)
    n += strlen(c->kv[i].key) + 1 + strlen(c->kv[i].value) + 1;
  return n;
}

int nnc_checkpoint_save(const nnc_checkpoint *c, const char *path, char *err,
                        size_t errlen)
{
  if (!path || !*path)
    return nnci_ck_fail(NNC_EARG, err, errlen, "checkpoint: no file name given");
  if (c->nblocks == 0 || c->nblocks > NNC_CKPT_MAX_BLOCKS)
    return nnci_ck_fail(NNC_EARG, err, errlen,
                "%s: a checkpoint holds 1 to %u blocks, not %zu", path,
                NNC_CKPT_MAX_BLOCKS, c->nblocks);
  size_t ml = meta_len(c);
  if (ml > NNC_CKPT_MAX_META)
    return nnci_ck_fail(NNC_EARG, err, errlen,
                "%s: %zu bytes of metadata, more than the %u a checkpoint "
                "holds",
                path, ml, NNC_CKPT_MAX_META);
  /* Written beside the target and renamed into place, synced: a crash at
   * any moment leaves the old checkpoint or the new one, never a part. */
  nnc_afile af;
  char aerr[512];
  int arc = nnc_afile_open(&af, path, "wb", aerr, sizeof aerr);
  if (arc != NNC_OK)
    return nnci_ck_fail(arc, err, errlen, "checkpoint: %s", aerr);
  af.sync = 1;
  writer w = {af.f, {{0}, 0}, 0};
  nnci_ck_crc32_begin(&w.crc);
  w_bytes(&w, NNCI_CK_MAGIC, sizeof NNCI_CK_MAGIC);
  w_u32(&w, NNC_CKPT_VERSION);
  w_u32(&w, 0);
  w_u32(&w, (uint32_t)ml);
  w_u32(&w, (uint32_t)c->nblocks);
  for (size_t i = 0; i < c->nkv; i++) {
    w_bytes(&w, c->kv[i].key, strlen(c->kv[i].key));
    w_bytes(&w, "=", 1);
    w_bytes(&w, c->kv[i].value, strlen(c->kv[i].value));
    w_bytes(&w, "\n", 1);
  }
  for (size_t i = 0; i < c->nblocks; i++) {
    const nnc_block *b = &c->blocks[i];
    size_t nl = strlen(b->name);
    w_u32(&w, (uint32_t)nl);
    w_bytes(&w, b->name, nl);
    w_u32(&w, b->dtype);
    w_u32(&w, b->ndim);
    for (uint32_t d = 0; d < b->ndim; d++)
      w_u64(&w, b->shape[d]);
    w_u64(&w, b->count);
    w_data(&w, b);
  }
  unsigned char tail[4];
  put_u32(tail, nnci_ck_crc32_end(&w.crc));
  if (fwrite(tail, 1, 4, w.f) != 4)
    w.bad = 1;
  if (w.bad) {
    nnc_afile_abort(&af);
    return nnci_ck_fail(NNC_EIO, err, errlen,
                        "%s: cannot write the checkpoint: %s", path,
                        strerror(errno ? errno : EIO));
  }
  if (nnc_afile_commit(&af, aerr, sizeof aerr) != NNC_OK)
    return nnci_ck_fail(NNC_EIO, err, errlen, "checkpoint: %s", aerr);
  return NNC_OK;
}

int nnc_checkpoint_write(const nnc_model *m, const char *path,
                         const nnc_ckpt_meta *meta, char *err, size_t errlen)
{
  nnc_checkpoint *c;
  int rc = nnc_checkpoint_capture(m, meta, &c, err, errlen);
  if (rc != NNC_OK)
    return rc;
  rc = nnc_checkpoint_save(c, path, err, errlen);
  nnc_checkpoint_free(c);
  return rc;
}

/* ---- against a model ---------------------------------------------------- */

size_t nnci_ck_aux_blocks(const nnc_checkpoint *c)
{
  const char *v = nnc_checkpoint_get(c, "aux_blocks");
  uint64_t k;
  if (!v || parse_u64(v, &k) || k > c->nblocks)
    return 0;
  return (size_t)k;
}

static const char *ck_name(const nnc_checkpoint *c)
{
  return c->path[0] ? c->path : "checkpoint";
}

int nnc_checkpoint_check(const nnc_checkpoint *c, const nnc_model *m,
                         char *err, size_t errlen)
{
  const char *plugin = nnc_model_desc(m)->name;
  size_t nb = nnc_model_num_blocks(m);
  for (size_t i = 0; i < nb; i++) {
    const nnc_block *b = nnc_model_block(m, i);
    long k = nnc_checkpoint_find(c, b->name);
    if (k < 0)
      return nnci_ck_fail(NNC_EARG, err, errlen,
                  "%s: has no block '%s', which the model (%s) has: it was "
                  "saved from another net%s%s%s",
                  ck_name(c), b->name, plugin,
                  c->meta.plugin ? " (" : "",
                  c->meta.plugin ? c->meta.plugin : "",
                  c->meta.plugin ? ")" : "");
    const nnc_block *s = &c->blocks[k];
    if (s->dtype != b->dtype)
      return nnci_ck_fail(NNC_EARG, err, errlen,
                  "%s: block '%s' is %s in the checkpoint but %s in the "
                  "model (%s)",
                  ck_name(c), b->name, nnci_dtype_name(s->dtype),
                  nnci_dtype_name(b->dtype), plugin);
    int same = s->count == b->count && s->ndim == b->ndim;
    for (uint32_t d = 0; same && d < b->ndim; d++)
      same = s->shape[d] == b->shape[d];
    if (!same) {
      char a[96], bb[96];
      shape_str(s, a, sizeof a);
      shape_str(b, bb, sizeof bb);
      return nnci_ck_fail(NNC_EARG, err, errlen,
                  "%s: block '%s' is %s in the checkpoint but %s in the "
                  "model (%s)",
                  ck_name(c), b->name, a, bb, plugin);
    }
  }
  for (size_t k = 0; k < c->nblocks - nnci_ck_aux_blocks(c); k++)
    if (nnc_model_find_block(m, c->blocks[k].name) < 0)
      return nnci_ck_fail(NNC_EARG, err, errlen,
                  "%s: block '%s' of the checkpoint is not in the model (%s)",
                  ck_name(c), c->blocks[k].name, plugin);
  return NNC_OK;
}

int nnc_checkpoint_apply(const nnc_checkpoint *c, nnc_model *m, char *err,
                         size_t errlen)
{
  int rc = nnc_checkpoint_check(c, m, err, errlen);
  if (rc != NNC_OK)
    return rc;
  for (size_t i = 0; i < nnc_model_num_blocks(m); i++) {
    const nnc_block *b = nnc_model_block(m, i);
    const nnc_block *s = &c->blocks[nnc_checkpoint_find(c, b->name)];
    memcpy(b->data, s->data, b->count * nnci_dtype_size(b->dtype));
  }
  return NNC_OK;
}
