/* Internal view of checkpoints, shared by lib/checkpoint*.c only. */
#ifndef NNC_CHECKPOINT_INTERNAL_H
#define NNC_CHECKPOINT_INTERNAL_H

#include <nncheck/checkpoint.h>

static const unsigned char NNCI_CK_MAGIC[8] = {'N', 'N', 'C', 'C',
                                               'K', 'P', 'T', 0};
#define NNCI_CK_HEADER 24u /* magic, version, flags, meta_len, nblocks */
#define NNCI_CK_CRC 4u     /* the trailing checksum */
#define NNCI_CK_MAX_KEY 64u

typedef struct ck_kv {
  char *key, *value;
} ck_kv;

struct nnc_checkpoint {
  char path[4096];
  nnc_ckpt_meta meta;  /* strings point into kv */
  size_t nkv;
  ck_kv *kv;           /* every metadata line, in file order */
  size_t nblocks;
  nnc_block *blocks;   /* data: one malloc per block; names: malloc'ed */
};

/* CRC-32 as zlib computes it (reflected polynomial 0xEDB88320, initial and
 * final XOR 0xFFFFFFFF).  The table is built per call: 256 steps, nothing
 * next to hashing a file, and no global state. */
typedef struct crc32_ctx {
  uint32_t table[256];
  uint32_t crc;
} crc32_ctx;
void nnci_ck_crc32_begin(crc32_ctx *c);
void nnci_ck_crc32_add(crc32_ctx *c, const void *p, size_t n);
uint32_t nnci_ck_crc32_end(const crc32_ctx *c);

/* Format the message into err (when given) and return code. */
int nnci_ck_fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
uint32_t nnci_ck_get_u32(const unsigned char *p); /* little-endian */
uint64_t nnci_ck_get_u64(const unsigned char *p);
/* A block name: 1..NNC_CKPT_MAX_NAME bytes of [A-Za-z0-9_.-]. */
int nnci_ck_name_ok(const char *s, size_t n);
/* A metadata key: 1..64 bytes of [a-z0-9_]. */
int nnci_ck_key_ok(const char *s, size_t n);
/* A byte a metadata value may hold: printable, no control character. */
int nnci_ck_value_byte_ok(unsigned char c);
/* Append key=value (copied); NNC_ENOMEM. */
int nnci_ck_kv_add(nnc_checkpoint *c, const char *key, size_t kn,
                   const char *val, size_t vn);
/* Parse the known keys into c->meta; NNC_EIO naming a malformed one. */
int nnci_ck_meta_from_kv(nnc_checkpoint *c, char *err, size_t errlen);

/* The trailing auxiliary blocks (metadata aux_blocks; 0 when absent or
 * malformed). */
size_t nnci_ck_aux_blocks(const nnc_checkpoint *c);

#endif
