/* The model handle: a net or a layer behind one interface.
 *
 * Everything the rest of nncheck does to a plugin goes through here, so this
 * is where the contract is enforced: every callback's failure becomes an
 * error with the plugin's own message, every number coming back is checked
 * for NaN/Inf, and the gradient buffers belong to the host, prefilled with a
 * sentinel so that an element backward never wrote is caught, not trusted. */
#include "config.h"
#include "model.h"
#include "hot.h"
#include "rng.h"
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Sentinels: NaNs with a payload no arithmetic produces. */
static const uint64_t SENT64 = 0x7ff4dead5e4715ffULL;
static const uint32_t SENT32 = 0x7fa5e471U;

/* RNG streams drawn from one user seed. */
enum { STREAM_BATCH = 1, STREAM_INPUT = 2, STREAM_R = 3 };

int nnci_fail(nnc_model *m, int err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
  nnci_one_line(m->err);
  return err;
}

size_t nnci_dtype_size(uint32_t dtype)
{
  return dtype == NNC_F32 ? sizeof(float) : sizeof(double);
}

const char *nnci_dtype_name(uint32_t dtype)
{
  return dtype == NNC_F32 ? "float" : "double";
}

double nnci_load(const void *p, uint32_t dtype, size_t i)
{
  return dtype == NNC_F32 ? (double)((const float *)p)[i]
                          : ((const double *)p)[i];
}

void nnci_store(void *p, uint32_t dtype, size_t i, double v)
{
  if (dtype == NNC_F32)
    ((float *)p)[i] = (float)v;
  else
    ((double *)p)[i] = v;
}

static void fill_sentinel(void *p, uint32_t dtype, size_t n)
{
  /* a few elements one by one, then the filled part copied over the rest
   * in doubling pieces up to 4 KiB (a source that stays in L1): vector-wide
   * stores instead of one per element */
  size_t es = nnci_dtype_size(dtype), first = n < 16 ? n : 16;
  for (size_t i = 0; i < first; i++)
    memcpy((char *)p + i * es, dtype == NNC_F32 ? (const void *)&SENT32
                                                : (const void *)&SENT64,
           es);
  for (size_t done = first; done < n;) {
    size_t k = done < 4096 / es ? done : 4096 / es;
    if (k > n - done)
      k = n - done;
    memcpy((char *)p + done * es, p, k * es);
    done += k;
  }
}

/* Whether every element of a gradient is finite: the scan every backward
 * makes, so it is made on the bits, in integers.  An element is NaN or Inf
 * (the sentinel included) exactly when its exponent field is all ones, and
 * then adding one at the field's lowest bit carries into the sign bit; an
 * OR of those sums has the bit if any element has.  The OR runs in LANES
 * independent lanes that the compiler keeps in vector registers: a pass
 * at the speed of reading the buffer. */
#define LANES 16
#define ALL_FINITE(NAME, T, U, EXP, ONE, TOP)                                  \
  static int NAME(const T *g, size_t n)                                        \
  {                                                                            \
    U acc[LANES] = {0}, all = 0;                                               \
    size_t i = 0;                                                              \
    for (; i + LANES <= n; i += LANES)                                         \
      NNCI_UNROLL(16)                                                          \
      for (size_t j = 0; j < LANES; j++) {                                     \
        U u;                                                                   \
        memcpy(&u, g + i + j, sizeof u);                                       \
        acc[j] |= (u & EXP) + ONE;                                             \
      }                                                                        \
    for (; i < n; i++) {                                                       \
      U u;                                                                     \
      memcpy(&u, g + i, sizeof u);                                             \
      all |= (u & EXP) + ONE;                                                  \
    }                                                                          \
    for (size_t j = 0; j < LANES; j++)                                         \
      all |= acc[j];                                                           \
    return !(all & TOP);                                                       \
  }
ALL_FINITE(all_finite_f32, float, uint32_t, 0x7f800000U, 0x00800000U,
           0x80000000U)
ALL_FINITE(all_finite_f64, double, uint64_t, 0x7ff0000000000000ULL,
           0x0010000000000000ULL, 0x8000000000000000ULL)
#undef ALL_FINITE
#undef LANES

static int is_sentinel(const void *p, uint32_t dtype, size_t i)
{
  if (dtype == NNC_F32) {
    uint32_t u;
    memcpy(&u, (const float *)p + i, 4);
    return u == SENT32;
  }
  uint64_t u;
  memcpy(&u, (const double *)p + i, 8);
  return u == SENT64;
}

/* Gradient buffers carry guard bytes on both sides: a backward that writes
 * outside its buffer is caught and named, not left to corrupt the heap.  In
 * an isolated process (see nncheck/isolate.h) they are upgraded to guard
 * pages: the buffer ends where a PROT_NONE page begins, so the first write
 * past its end faults on the spot and the supervising parent names the
 * buffer from the fault address; guard bytes stay before the buffer, with a
 * PROT_NONE page before them.  Layout, in both cases:
 *
 *   [guard page] [slack | header | GUARD bytes] [data] [GUARD bytes | guard page]
 *
 * (the guard bytes after the data only without pages). */
#define GUARD 64
#define GUARD_BYTE 0xA5

typedef struct gbuf_hdr {
  void *base;            /* what malloc or mmap returned */
  size_t maplen;         /* mmap length; 0: malloc'ed */
  int guard_id[2];       /* registered guard pages, -1 none */
} gbuf_hdr;
#define HDR (((sizeof(gbuf_hdr) + 15) / 16) * 16)

/* The header sits below the guard bytes, 16-aligned: a float buffer that
 * ends on a page boundary may start at any multiple of 4. */
static gbuf_hdr *gbuf_hdr_of(void *p)
{
  return (gbuf_hdr *)(((uintptr_t)p - GUARD - HDR) & ~(uintptr_t)15);
}

static void *gbuf_alloc(size_t bytes, const char *name)
{
  if (nnci_guard_pages()) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (bytes + GUARD + HDR + 16 + pg - 1) / pg * pg;
    size_t len = body + 2 * pg;
    unsigned char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
      return NULL;
    if (mprotect(base, pg, PROT_NONE) != 0 ||
        mprotect(base + pg + body, pg, PROT_NONE) != 0) {
      munmap(base, len);
      return NULL;
    }
    unsigned char *p = base + pg + body - bytes;
    memset(p - GUARD, GUARD_BYTE, GUARD);
    gbuf_hdr *h = gbuf_hdr_of(p);
    h->base = base;
    h->maplen = len;
    h->guard_id[0] = nnci_guard_add(base, pg, name, 1);
    h->guard_id[1] = nnci_guard_add(base + pg + body, pg, name, 0);
    return p;
  }
  unsigned char *base = malloc(HDR + bytes + 2 * GUARD);
  if (!base)
    return NULL;
  unsigned char *p = base + HDR + GUARD;
  memset(p - GUARD, GUARD_BYTE, GUARD);
  memset(p, 0, bytes); /* a gradient before any backward reads as 0 */
  memset(p + bytes, GUARD_BYTE, GUARD);
  gbuf_hdr *h = gbuf_hdr_of(p);
  h->base = base;
  h->maplen = 0;
  h->guard_id[0] = h->guard_id[1] = -1;
  return p;
}

static void gbuf_free(void *p)
{
  if (!p)
    return;
  gbuf_hdr *h = gbuf_hdr_of(p);
  if (h->maplen) {
    nnci_guard_del(h->guard_id[0]);
    nnci_guard_del(h->guard_id[1]);
    munmap(h->base, h->maplen);
  } else {
    free(h->base);
  }
}

/* Offset of the first guard byte overwritten: negative before the buffer,
 * >= bytes after it; 0 with *ok = 1 when intact. */
static long gbuf_check(void *p, size_t bytes, int *ok)
{
  const unsigned char *b = p;
  *ok = 1;
  for (long i = -GUARD; i < 0; i++)
    if (b[i] != GUARD_BYTE) {
      *ok = 0;
      return i;
    }
  if (gbuf_hdr_of(p)->maplen)
    return 0; /* a guard page follows: a write there faulted */
  for (size_t i = 0; i < GUARD; i++)
    if (b[bytes + i] != GUARD_BYTE) {
      *ok = 0;
      return (long)(bytes + i);
    }
  return 0;
}

int nnci_grads_alloc(nnc_model *m)
{
  for (size_t i = 0; i < m->nblocks; i++)
    if (!m->grads[i] &&
        !(m->grads[i] = gbuf_alloc(m->blocks[i].count *
                                       nnci_dtype_size(m->blocks[i].dtype),
                                   m->blocks[i].name)))
      return nnci_fail(m, NNC_ENOMEM, "out of memory for block '%s'",
                       m->blocks[i].name);
  return NNC_OK;
}

static void shape_text(const nnc_block *b, char *buf, size_t len)
{
  size_t k = 0;
  buf[0] = 0;
  for (uint32_t d = 0; d < b->ndim && k < len; d++)
    k += (size_t)snprintf(buf + k, len - k, "%s%zu", d ? "x" : "", b->shape[d]);
  if (!b->ndim)
    snprintf(buf, len, "%zu", b->count);
}

typedef struct span {
  uintptr_t lo, hi;
  size_t block;
} span;

static int cmp_span(const void *a, const void *b)
{
  const span *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

/* Two blocks sharing memory: a perturbation of one moves the other, so
 * every finite difference through them is wrong, and the host's writes
 * (steps, restores) clobber each other.  Sorted by address, a block
 * overlaps another exactly when it starts before the furthest end so far. */
static int check_overlap(nnc_model *m, size_t n)
{
  if (n < 2)
    return NNC_OK;
  span *s = malloc(n * sizeof *s);
  if (!s)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const nnc_block *b = &m->blocks[i];
    s[i].lo = (uintptr_t)b->data;
    s[i].hi = s[i].lo + b->count * nnci_dtype_size(b->dtype);
    s[i].block = i;
  }
  qsort(s, n, sizeof *s, cmp_span);
  size_t far = 0;
  for (size_t k = 1; k < n; k++) {
    if (s[k].lo < s[far].hi) {
      const nnc_block *a = &m->blocks[s[far].block], *b = &m->blocks[s[k].block];
      int rc = nnci_fail(
          m, NNC_ECONTRACT,
          "%s: blocks '%s' and '%s' share memory (%zu bytes of '%s' lie "
          "inside '%s'): give every block its own storage, or declare one "
          "block for it",
          m->d.name, a->name, b->name,
          (size_t)((s[k].hi < s[far].hi ? s[k].hi : s[far].hi) - s[k].lo),
          b->name, a->name);
      free(s);
      return rc;
    }
    if (s[k].hi > s[far].hi)
      far = k;
  }
  free(s);
  return NNC_OK;
}

/* The blocks must stay what get_block() first said (plugin.h): the host
 * keeps their addresses and writes the parameters through them.  Asked
 * again after every backward, which training calls once a step. */
static int check_blocks_stable(nnc_model *m, const char *after)
{
  nnci_enter(m, NNCI_CB_NUM_BLOCKS);
  size_t n = m->d.num_blocks(m->self);
  nnci_leave(m);
  if (n != m->nparam)
    return nnci_fail(m, NNC_ECONTRACT,
                     "%s: num_blocks() said %zu, and %zu after %s(): the "
                     "blocks are fixed for the life of the instance",
                     m->d.name, m->nparam, n, after);
  for (size_t i = 0; i < n; i++) {
    nnc_block now;
    memset(&now, 0, sizeof now);
    const nnc_block *was = &m->blocks[i];
    nnci_enter(m, NNCI_CB_GET_BLOCK);
    int rc = m->d.get_block(m->self, i, &now);
    nnci_leave(m);
    if (rc != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: get_block(%zu) failed after %s()",
                       m->d.name, i, after);
    const char *what = NULL;
    if (now.data != was->data)
      what = "moved its data to another address";
    else if (now.count != was->count)
      what = "changed its element count";
    else if (now.dtype != was->dtype)
      what = "changed its element type";
    else if (now.ndim != was->ndim ||
             memcmp(now.shape, was->shape, sizeof now.shape))
      what = "changed its shape";
    if (what)
      return nnci_fail(m, NNC_ECONTRACT,
                       "%s: block '%s' %s after %s() (count %zu, data %p; "
                       "now count %zu, data %p): a block's data and size must "
                       "stay as get_block() first gave them for the life of "
                       "the instance (the host writes the parameters there)",
                       m->d.name, was->name, what, after, was->count,
                       was->data, now.count, now.data);
  }
  return NNC_OK;
}

static int read_blocks(nnc_model *m)
{
  nnci_enter(m, NNCI_CB_NUM_BLOCKS);
  size_t n = m->d.num_blocks(m->self);
  nnci_leave(m);
  if (n > 4096)
    return nnci_fail(m, NNC_ECONTRACT,
                     "%s: num_blocks() returned %zu: more than 4096 blocks "
                     "is not a plausible answer",
                     m->d.name, n);
  size_t extra = m->d.kind == NNC_KIND_LAYER ? 1 : 0;
  m->nparam = n;
  m->nblocks = n + extra;
  m->blocks = calloc(n + extra + 1, sizeof *m->blocks);
  m->grads = calloc(n + extra + 1, sizeof *m->grads);
  if (!m->blocks || !m->grads)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    nnc_block *b = &m->blocks[i];
    nnci_enter(m, NNCI_CB_GET_BLOCK);
    int grc = m->d.get_block(m->self, i, b);
    nnci_leave(m);
    if (grc != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: get_block(%zu) failed", m->d.name,
                       i);
    if (!b->name || !b->name[0])
      return nnci_fail(m, NNC_ECONTRACT, "%s: block %zu has no name",
                       m->d.name, i);
    if (!b->data || !b->count)
      return nnci_fail(m, NNC_ECONTRACT,
                       "%s: block '%s' has %s: set data to the parameter "
                       "values and count to their number",
                       m->d.name, b->name, !b->data ? "no data" : "count 0");
    if (b->dtype != NNC_F64 && b->dtype != NNC_F32)
      return nnci_fail(m, NNC_ECONTRACT,
                       "%s: block '%s' has dtype %u: use NNC_F64 or NNC_F32",
                       m->d.name, b->name, (unsigned)b->dtype);
    if (b->ndim > NNC_MAX_DIMS)
      return nnci_fail(m, NNC_ECONTRACT, "%s: block '%s' has ndim %u > %d",
                       m->d.name, b->name, (unsigned)b->ndim, NNC_MAX_DIMS);
    if (b->ndim) {
      size_t p = 1;
      for (uint32_t d = 0; d < b->ndim; d++)
        p *= b->shape[d];
      if (p != b->count) {
        char s[128];
        shape_text(b, s, sizeof s);
        return nnci_fail(m, NNC_ECONTRACT,
                         "%s: block '%s' has shape %s (%zu elements) but "
                         "count %zu",
                         m->d.name, b->name, s, p, b->count);
      }
    }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(m->blocks[j].name, b->name))
        return nnci_fail(m, NNC_ECONTRACT,
                         "%s: two blocks are named '%s': names must be unique",
                         m->d.name, b->name);
    m->grads[i] = gbuf_alloc(b->count * nnci_dtype_size(b->dtype), b->name);
    if (!m->grads[i])
      return nnci_fail(m, NNC_ENOMEM, "out of memory for block '%s'", b->name);
  }
  return check_overlap(m, n);
}

static int setup_layer(nnc_model *m)
{
  nnc_layer_info *li = &m->li;
  nnci_enter(m, NNCI_CB_LAYER_INFO);
  int lrc = m->d.layer_info(m->self, li);
  nnci_leave(m);
  if (lrc != 0)
    return nnci_fail(m, NNC_EPLUGIN, "%s: layer_info() failed", m->d.name);
  if (li->dtype != NNC_F64 && li->dtype != NNC_F32)
    return nnci_fail(m, NNC_ECONTRACT,
                     "%s: layer_info dtype %u: use NNC_F64 or NNC_F32",
                     m->d.name, (unsigned)li->dtype);
  if (li->in_ndim > NNC_MAX_DIMS || li->out_ndim > NNC_MAX_DIMS)
    return nnci_fail(m, NNC_ECONTRACT, "%s: layer_info ndim > %d", m->d.name,
                     NNC_MAX_DIMS);
  m->in_count = m->out_count = 1;
  for (uint32_t d = 0; d < li->in_ndim; d++)
    m->in_count *= li->in_shape[d];
  for (uint32_t d = 0; d < li->out_ndim; d++)
    m->out_count *= li->out_shape[d];
  if (!m->in_count || !m->out_count)
    return nnci_fail(m, NNC_ECONTRACT,
                     "%s: layer_info gives an empty input or output shape",
                     m->d.name);
  return NNC_OK;
}

static int open_instance(nnc_model *m, const char *args, char *err,
                         size_t errlen)
{
  char perr[1024] = "";
  nnci_slot_name(m->slot, m->d.name);
  nnci_phase(m, "opening the plugin");
  nnci_enter(m, NNCI_CB_CREATE);
  m->self = m->d.create(args ? args : "", perr, sizeof perr);
  nnci_leave(m);
  if (!m->self) {
    nnci_msg(err, errlen, "%s: create(\"%s\") failed: %s", m->d.name,
             args ? args : "", perr[0] ? perr : "(the plugin gave no reason)");
    return NNC_EARG;
  }
  int rc = read_blocks(m);
  if (rc == NNC_OK && m->d.kind == NNC_KIND_LAYER)
    rc = setup_layer(m);
  if (rc == NNC_OK && m->d.kind == NNC_KIND_NET && m->d.net_info) {
    nnci_enter(m, NNCI_CB_NET_INFO);
    int nrc = m->d.net_info(m->self, &m->ni);
    nnci_leave(m);
    if (nrc != 0)
      rc = nnci_fail(m, NNC_EPLUGIN, "%s: net_info() failed", m->d.name);
    else
      m->has_info = m->ni.n_train > 0;
  }
  if (rc == NNC_OK)
    rc = nnc_model_select(m, 3, 0);
  if (rc != NNC_OK)
    nnci_msg(err, errlen, "%s", m->err);
  return rc;
}

static nnc_model *model_new(void)
{
  nnc_model *m = calloc(1, sizeof *m);
  if (m) {
    m->slot = nnci_slot_claim();
    nnci_phase(m, "loading the plugin");
  }
  return m;
}

void nnci_phase(nnc_model *m, const char *phase)
{
  m->phase = phase;
  nnci_slot_phase(m->slot, phase);
}

void nnci_at(nnc_model *m, size_t block, long long coord)
{
  if (m->slot)
    nnci_slot_at(m->slot, block < m->nblocks ? m->blocks[block].name : NULL,
                 coord);
}

int nnci_call_reinit(nnc_model *m, uint64_t seed, double scale, char *err,
                     size_t errlen)
{
  nnci_enter(m, NNCI_CB_REINIT);
  int rc = m->d.reinit(m->self, seed, scale, err, errlen);
  nnci_leave(m);
  return rc;
}

int nnci_call_predict(nnc_model *m, const nnc_batch *b, int32_t *pred,
                      int32_t *label, char *err, size_t errlen)
{
  nnci_enter(m, NNCI_CB_PREDICT);
  int rc = m->d.predict(m->self, b, pred, label, err, errlen);
  nnci_leave(m);
  return rc;
}

int nnci_call_set_hyper(nnc_model *m, const char *key, double v, char *err,
                        size_t errlen)
{
  nnci_enter(m, NNCI_CB_SET_HYPER);
  int rc = m->d.set_hyper(m->self, key, v, err, errlen);
  nnci_leave(m);
  return rc;
}

size_t nnci_call_num_probes(nnc_model *m)
{
  nnci_enter(m, NNCI_CB_NUM_PROBES);
  size_t n = m->d.num_probes(m->self);
  nnci_leave(m);
  return n;
}

int nnci_call_probe(nnc_model *m, size_t i, nnc_probe *out)
{
  nnci_enter(m, NNCI_CB_PROBE);
  int rc = m->d.probe(m->self, i, out);
  nnci_leave(m);
  return rc;
}

void *nnci_call_clone(const nnc_model *m, char *err, size_t errlen)
{
  nnci_enter(m, NNCI_CB_CLONE);
  void *c = m->d.clone(m->self, err, errlen);
  nnci_leave(m);
  return c;
}

void nnci_attach(nnc_model *c, const nnc_model *m)
{
  c->slot = nnci_slot_claim();
  nnci_slot_name(c->slot, m->d.name);
  nnci_phase(c, m->phase);
}

int nnc_model_open(const nnc_plugin *desc, const char *args, nnc_model **out,
                   char *err, size_t errlen)
{
  *out = NULL;
  nnc_model *m = model_new();
  if (!m) {
    nnci_msg(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  int rc = nnci_validate_desc(desc, &m->d, "in-process plugin", err, errlen);
  if (rc == NNC_OK) {
    snprintf(m->args, sizeof m->args, "%s", args ? args : "");
    rc = open_instance(m, args, err, errlen);
  }
  if (rc != NNC_OK) {
    nnc_model_close(m);
    return rc;
  }
  *out = m;
  return NNC_OK;
}

int nnc_model_load(const char *name_or_path, const char *args,
                   nnc_model **out, char *err, size_t errlen)
{
  *out = NULL;
  char path[4096];
  int rc = nnc_plugin_resolve(name_or_path, path, sizeof path, err, errlen);
  if (rc != NNC_OK)
    return rc;
  nnc_model *m = model_new();
  if (!m) {
    nnci_msg(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  const nnc_plugin *desc;
  nnci_enter(m, NNCI_CB_ENTRY);
  rc = nnci_dlopen_plugin(path, &m->dl, &desc, err, errlen);
  nnci_leave(m);
  if (rc == NNC_OK)
    rc = nnci_validate_desc(desc, &m->d, path, err, errlen);
  if (rc == NNC_OK) {
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->spec, sizeof m->spec, "%s", name_or_path);
    snprintf(m->args, sizeof m->args, "%s", args ? args : "");
    rc = open_instance(m, args, err, errlen);
  }
  if (rc != NNC_OK) {
    nnc_model_close(m);
    return rc;
  }
  *out = m;
  return NNC_OK;
}

void nnc_model_close(nnc_model *m)
{
  if (!m)
    return;
  if (m->self && m->d.destroy) {
    nnci_phase(m, "closing the plugin");
    nnci_enter(m, NNCI_CB_DESTROY);
    m->d.destroy(m->self);
    nnci_leave(m);
  }
  for (size_t i = 0; i < m->nblocks; i++)
    gbuf_free(m->grads[i]);
  free(m->grads);
  free(m->blocks);
  free(m->sel);
  free(m->x);
  free(m->y);
  free(m->dy);
  free(m->r);
  if (m->dl)
    dlclose(m->dl);
  nnci_slot_release(m->slot);
  free(m);
}

const char *nnc_model_error(const nnc_model *m) { return m->err; }
const nnc_plugin *nnc_model_desc(const nnc_model *m) { return &m->d; }
const char *nnc_model_path(const nnc_model *m) { return m->path; }
const char *nnc_model_spec(const nnc_model *m) { return m->spec; }
const char *nnc_model_args(const nnc_model *m) { return m->args; }
uint32_t nnc_model_kind(const nnc_model *m) { return m->d.kind; }
size_t nnc_model_num_blocks(const nnc_model *m) { return m->nblocks; }

const nnc_block *nnc_model_block(const nnc_model *m, size_t i)
{
  return i < m->nblocks ? &m->blocks[i] : NULL;
}

long nnc_model_find_block(const nnc_model *m, const char *name)
{
  for (size_t i = 0; i < m->nblocks; i++)
    if (!strcmp(m->blocks[i].name, name))
      return (long)i;
  return -1;
}

size_t nnc_model_examples(const nnc_model *m)
{
  return m->d.kind == NNC_KIND_LAYER ? m->n : m->nsel;
}

int nnc_model_select(nnc_model *m, size_t n, uint64_t seed)
{
  if (n == 0)
    return nnci_fail(m, NNC_EARG, "the number of examples must be at least 1");
  if (m->d.kind == NNC_KIND_NET) {
    free(m->sel);
    m->sel = NULL;
    m->nsel = 0;
    if (!m->has_info)
      return NNC_OK; /* the plugin's own batch */
    if (n > m->ni.n_train)
      n = m->ni.n_train;
    m->sel = malloc(n * sizeof *m->sel);
    if (!m->sel)
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
    nnc_rng r;
    nnc_rng_init(&r, seed, STREAM_BATCH);
    nnc_rng_choose(&r, m->ni.n_train, n, m->sel);
    m->nsel = n;
    return NNC_OK;
  }
  if (m->li.max_batch && n > m->li.max_batch)
    n = m->li.max_batch;
  size_t es = nnci_dtype_size(m->li.dtype);
  free(m->x);
  free(m->y);
  free(m->dy);
  free(m->r);
  gbuf_free(m->grads[m->nparam]);
  m->grads[m->nparam] = NULL;
  m->n = n;
  m->x = malloc(n * m->in_count * es);
  m->y = malloc(n * m->out_count * es);
  m->dy = malloc(n * m->out_count * es);
  m->r = malloc(n * m->out_count * sizeof *m->r);
  m->grads[m->nparam] = gbuf_alloc(n * m->in_count * es, "input");
  if (!m->x || !m->y || !m->dy || !m->r || !m->grads[m->nparam])
    return nnci_fail(m, NNC_ENOMEM, "out of memory for a batch of %zu", n);
  nnc_rng rx, rr;
  nnc_rng_init(&rx, seed, STREAM_INPUT);
  nnc_rng_init(&rr, seed, STREAM_R);
  double lo = m->li.in_lo, hi = m->li.in_hi;
  int ranged = lo < hi;
  if (m->d.sample_input) {
    char perr[1024] = "";
    nnci_enter(m, NNCI_CB_SAMPLE_INPUT);
    int src = m->d.sample_input(m->self, m->x, n, nnc_rng_u64(&rx), perr,
                                sizeof perr);
    nnci_leave(m);
    if (src != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: sample_input() failed: %s",
                       m->d.name, perr[0] ? perr : "(no reason given)");
    for (size_t i = 0; i < n * m->in_count; i++)
      if (!isfinite(nnci_load(m->x, m->li.dtype, i)))
        return nnci_fail(m, NNC_ENONFINITE,
                         "%s: sample_input() wrote a NaN or Inf at x[%zu]",
                         m->d.name, i);
  } else {
    for (size_t i = 0; i < n * m->in_count; i++) {
      /* Inside a declared range, keep 5% clear of each end so that a
       * finite-difference step never leaves it. */
      double v = ranged ? lo + (hi - lo) * (0.05 + 0.9 * nnc_rng_uniform(&rx))
                        : nnc_rng_normal(&rx);
      nnci_store(m->x, m->li.dtype, i, v);
    }
  }
  /* Gaussian weights: every output matters, with either sign and unequal
   * sizes, so a sign, a swap or a symmetry bug cannot cancel out. */
  for (size_t i = 0; i < n * m->out_count; i++) {
    m->r[i] = nnc_rng_normal(&rr);
    nnci_store(m->dy, m->li.dtype, i, m->r[i]);
  }
  nnc_block *b = &m->blocks[m->nparam];
  memset(b, 0, sizeof *b);
  b->name = "input";
  b->data = m->x;
  b->count = n * m->in_count;
  b->dtype = m->li.dtype;
  b->ndim = 1 + m->li.in_ndim;
  if (b->ndim > NNC_MAX_DIMS)
    b->ndim = 0;
  else {
    b->shape[0] = n;
    for (uint32_t d = 0; d < m->li.in_ndim; d++)
      b->shape[d + 1] = m->li.in_shape[d];
  }
  b->depth = 1;
  m->have_loss = 0;
  return NNC_OK;
}

double nnc_model_get(const nnc_model *m, size_t block, size_t i)
{
  const nnc_block *b = &m->blocks[block];
  return nnci_load(b->data, b->dtype, i);
}

double nnc_model_set(nnc_model *m, size_t block, size_t i, double v)
{
  nnc_block *b = &m->blocks[block];
  nnci_store(b->data, b->dtype, i, v);
  return nnci_load(b->data, b->dtype, i);
}

/* Asked for, not kept: a training step never reads it, so backward does
 * not spend a pass over the gradient on it.  Four partial sums (a fixed
 * order: the same bits every time); a sum of squares that overflows is
 * taken again with every element scaled by the largest. */
double nnc_model_grad_norm(const nnc_model *m, size_t block)
{
  const nnc_block *blk = &m->blocks[block];
  const void *g = m->grads[block];
  if (!g) /* a model made without gradient buffers */
    return 0;
  size_t n = blk->count, n4 = n & ~(size_t)3;
  double s4[4] = {0, 0, 0, 0}, ss;
  if (blk->dtype == NNC_F32) {
    const float *f = g;
    for (size_t i = 0; i < n4; i += 4)
      for (int j = 0; j < 4; j++)
        s4[j] += (double)f[i + j] * (double)f[i + j];
    for (size_t i = n4; i < n; i++)
      s4[0] += (double)f[i] * (double)f[i];
  } else {
    const double *d = g;
    for (size_t i = 0; i < n4; i += 4)
      for (int j = 0; j < 4; j++)
        s4[j] += d[i + j] * d[i + j];
    for (size_t i = n4; i < n; i++)
      s4[0] += d[i] * d[i];
  }
  ss = (s4[0] + s4[1]) + (s4[2] + s4[3]);
  if (isfinite(ss) || isnan(ss))
    return sqrt(ss);
  double big = 0;
  for (size_t i = 0; i < n; i++) {
    double a = fabs(nnci_load(g, blk->dtype, i));
    if (a > big)
      big = a;
  }
  if (isinf(big))
    return big;
  ss = 0;
  for (size_t i = 0; i < n; i++) {
    double v = nnci_load(g, blk->dtype, i) / big;
    ss += v * v;
  }
  return big * sqrt(ss);
}

double nnc_model_grad(const nnc_model *m, size_t block, size_t i)
{
  return nnci_load(m->grads[block], m->blocks[block].dtype, i);
}

static const char *flags_text(uint32_t flags)
{
  switch (flags & NNC_F_ALL) {
  case NNC_F_DATA: return "data";
  case NNC_F_REG: return "reg";
  default: return "data+reg";
  }
}

int nnc_model_loss(nnc_model *m, const nnc_batch *batch, uint64_t seed,
                   uint32_t flags, double *loss)
{
  char perr[1024] = "";
  m->have_loss = 0;
  if (m->d.kind == NNC_KIND_NET) {
    nnc_batch sel = {m->sel, m->nsel, NNC_SPLIT_TRAIN, 0};
    const nnc_batch *b = batch ? batch : (m->sel ? &sel : NULL);
    double L = NAN;
    nnci_enter(m, NNCI_CB_LOSS);
    int lrc = m->d.loss(m->self, b, seed, flags, &L, perr, sizeof perr);
    nnci_leave(m);
    if (lrc != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: loss() failed: %s", m->d.name,
                       perr[0] ? perr : "(no reason given)");
    if (!isfinite(L))
      return nnci_fail(m, NNC_ENONFINITE,
                       "%s: loss() returned %g (%s part, seed %llu): find "
                       "where the forward pass overflows or divides by zero",
                       m->d.name, L, flags_text(flags),
                       (unsigned long long)seed);
    *loss = L;
  } else {
    nnci_enter(m, NNCI_CB_FORWARD);
    int frc = m->d.forward(m->self, m->x, m->y, m->n, seed, flags, perr,
                           sizeof perr);
    nnci_leave(m);
    if (frc != 0)
      return nnci_fail(m, NNC_EPLUGIN, "%s: forward() failed: %s", m->d.name,
                       perr[0] ? perr : "(no reason given)");
    double L = 0;
    size_t ny = m->n * m->out_count;
    for (size_t i = 0; i < ny; i++) {
      double y = nnci_load(m->y, m->li.dtype, i);
      if (!isfinite(y))
        return nnci_fail(m, NNC_ENONFINITE,
                         "%s: forward() wrote %g into y[%zu] (example %zu): "
                         "find where the forward pass overflows",
                         m->d.name, y, i, i / m->out_count);
      L += m->r[i] * y;
    }
    *loss = L;
  }
  m->last_flags = flags;
  m->have_loss = 1;
  return NNC_OK;
}

int nnc_model_backward(nnc_model *m)
{
  return nnci_backward(m, NNCI_PREFILL_SENTINEL);
}

static void fill_prefill(void *p, uint32_t dtype, size_t n, int mode)
{
  if (mode == NNCI_PREFILL_SENTINEL) {
    fill_sentinel(p, dtype, n);
    return;
  }
  for (size_t i = 0; i < n; i++)
    nnci_store(p, dtype, i, mode == NNCI_PREFILL_ZERO ? 0.0 : nnci_prefill_value(i));
}

double nnci_prefill_value(size_t i)
{
  return 0.25 * (double)(1 + i % 7); /* exact in float and double */
}

int nnci_backward(nnc_model *m, int prefill)
{
  if (!m->have_loss)
    return nnci_fail(m, NNC_EARG, "backward without a preceding loss");
  char perr[1024] = "";
  for (size_t i = 0; i < m->nblocks; i++)
    fill_prefill(m->grads[i], m->blocks[i].dtype, m->blocks[i].count, prefill);
  int rc;
  if (m->d.kind == NNC_KIND_NET) {
    nnci_enter(m, NNCI_CB_BACKWARD);
    rc = m->d.backward(m->self, m->grads, perr, sizeof perr);
  } else {
    nnci_enter(m, NNCI_CB_LAYER_BACKWARD);
    rc = m->d.layer_backward(m->self, m->dy, m->grads[m->nparam], m->grads,
                             perr, sizeof perr);
  }
  nnci_leave(m);
  if (rc != 0)
    return nnci_fail(m, NNC_EPLUGIN, "%s: %s() failed: %s", m->d.name,
                     m->d.kind == NNC_KIND_NET ? "backward" : "layer_backward",
                     perr[0] ? perr : "(no reason given)");
  if ((rc = check_blocks_stable(
           m, m->d.kind == NNC_KIND_NET ? "backward" : "layer_backward")))
    return rc;
  for (size_t b = 0; b < m->nblocks; b++) {
    const nnc_block *gb = &m->blocks[b];
    size_t bytes = gb->count * nnci_dtype_size(gb->dtype);
    int ok;
    long at = gbuf_check(m->grads[b], bytes, &ok);
    if (!ok) {
      int is_input = m->d.kind == NNC_KIND_LAYER && b == m->nparam;
      long el = at < 0 ? -1 - (-at - 1) / (long)nnci_dtype_size(gb->dtype)
                       : at / (long)nnci_dtype_size(gb->dtype);
      return nnci_fail(m, NNC_ECONTRACT,
                       "%s: backward wrote %s the gradient buffer of %s '%s' "
                       "(element %ld of %zu): keep every write inside "
                       "[0, count)",
                       m->d.name, at < 0 ? "before" : "past the end of",
                       is_input ? "the input" : "block", gb->name, el,
                       gb->count);
    }
  }
  if (prefill != NNCI_PREFILL_SENTINEL)
    return NNC_OK;
  for (size_t b = 0; b < m->nblocks; b++) {
    const nnc_block *blk = &m->blocks[b];
    if (blk->dtype == NNC_F32 ? all_finite_f32(m->grads[b], blk->count)
                              : all_finite_f64(m->grads[b], blk->count))
      continue;
    /* Something is NaN (the sentinel is one) or Inf: find what and where. */
    size_t unwritten = 0, first = 0;
    for (size_t i = 0; i < blk->count; i++) {
      if (is_sentinel(m->grads[b], blk->dtype, i)) {
        if (!unwritten++)
          first = i;
        continue;
      }
      double g = nnci_load(m->grads[b], blk->dtype, i);
      if (!isfinite(g))
        return nnci_fail(m, NNC_ENONFINITE,
                         "%s: backward wrote %g into the gradient of block "
                         "'%s' at index %zu: find where the backward pass "
                         "overflows or divides by zero",
                         m->d.name, g, blk->name, i);
    }
    if (unwritten) {
      int is_input = m->d.kind == NNC_KIND_LAYER && b == m->nparam;
      return nnci_fail(
          m, NNC_ECONTRACT,
          "%s: backward left %zu of %zu elements of the gradient of %s '%s' "
          "unwritten (first at index %zu): backward must assign every "
          "element of %s, including zeros",
          m->d.name, unwritten, blk->count, is_input ? "the input" : "block",
          blk->name, first, is_input ? "dx" : "grads[i]");
    }
  }
  return NNC_OK;
}

int nnc_model_winners(nnc_model *m, nnc_winners *out)
{
  memset(out, 0, sizeof *out);
  if (!m->d.winners)
    return NNC_EUNSUPPORTED;
  nnci_enter(m, NNCI_CB_WINNERS);
  int wrc = m->d.winners(m->self, out);
  nnci_leave(m);
  if (wrc != 0)
    return nnci_fail(m, NNC_EPLUGIN, "%s: winners() failed", m->d.name);
  return NNC_OK;
}

int nnc_model_net_info(nnc_model *m, nnc_net_info *out)
{
  memset(out, 0, sizeof *out);
  if (!m->has_info && !m->d.net_info)
    return NNC_EUNSUPPORTED;
  *out = m->ni;
  return NNC_OK;
}

int nnc_model_scores(nnc_model *m, const nnc_batch *batch, double *out)
{
  if (!m->d.scores || !m->has_info || m->ni.n_classes == 0)
    return nnci_fail(m, NNC_EUNSUPPORTED, "%s: no scores() callback (or no "
                     "class count in net_info)", m->d.name);
  char perr[1024] = "";
  if (m->d.scores(m->self, batch, out, perr, sizeof perr) != 0)
    return nnci_fail(m, NNC_EPLUGIN, "%s: scores() failed: %s", m->d.name,
                     perr);
  size_t K = m->ni.n_classes, n = batch && batch->index ? batch->count : 0;
  for (size_t k = 0; k < n; k++) {
    double sum = 0;
    for (size_t c = 0; c < K; c++) {
      double v = out[k * K + c];
      if (!isfinite(v))
        return nnci_fail(m, NNC_ENONFINITE, "%s: scores() gave %g for "
                         "example %zu, class %zu", m->d.name, v, k, c);
      if (v < 0)
        return nnci_fail(m, NNC_ECONTRACT, "%s: scores() gave the negative "
                         "probability %g for example %zu", m->d.name, v, k);
      sum += v;
    }
    if (fabs(sum - 1) > 1e-6)
      return nnci_fail(m, NNC_ECONTRACT, "%s: scores() row %zu sums to %.9g, "
                       "not 1", m->d.name, k, sum);
  }
  return NNC_OK;
}
