/* Checkpoints in-process: a bit-exact round trip for double, float and
 * layer models; every kind of malformed file (truncated anywhere, flipped
 * bytes, wrong magic or version, absurd lengths, bad names and metadata,
 * trailing bytes) refused with NNC_EIO and a message naming the file and
 * the problem; a checkpoint that does not fit the model refused with
 * NNC_EARG naming the block, the model left untouched. */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nncheck/checkpoint.h>
#include <nncheck/nncheck.h>

static char *tmpdir;

static const char *in_tmp(const char *name)
{
  static char path[4][4096];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
  return path[k];
}

static nnc_model *load(const char *name, const char *args)
{
  nnc_model *m;
  char err[2048];
  int rc = nnc_model_load(name, args, &m, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s: %s", name, err);
  return m;
}

/* An independent bitwise CRC-32 (zlib's), to check the file's trailer. */
static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

static uint32_t le32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  fclose(f);
}

/* Put a correct CRC at the end of a buffer of n bytes (the last 4 are it). */
static void fix_crc(unsigned char *b, size_t n)
{
  put32(b + n - 4, crc32_ref(b, n - 4));
}

static void assert_same_blocks(const nnc_model *a, const nnc_model *b)
{
  ck_assert_uint_eq(nnc_model_num_blocks(a), nnc_model_num_blocks(b));
  for (size_t i = 0; i < nnc_model_num_blocks(a); i++) {
    const nnc_block *x = nnc_model_block(a, i), *y = nnc_model_block(b, i);
    size_t bytes = x->count * (x->dtype == NNC_F32 ? 4 : 8);
    ck_assert_msg(memcmp(x->data, y->data, bytes) == 0,
                  "block %s differs after the round trip", x->name);
  }
}

/* ---- round trips ------------------------------------------------------- */

static void round_trip(const char *plugin, const char *args)
{
  nnc_model *m = load(plugin, args);
  /* perturb every parameter so that nothing is at a default value */
  for (size_t b = 0; b < nnc_model_num_blocks(m); b++)
    for (size_t i = 0; i < nnc_model_block(m, b)->count; i++)
      nnc_model_set(m, b, i,
                    nnc_model_get(m, b, i) * 1.5 + 1e-3 * (double)(i % 7) -
                        0.1 * (double)b);
  nnc_ckpt_meta meta;
  nnc_ckpt_meta_init(&meta);
  meta.has_seed = 1;
  meta.seed = 18446744073709551615ULL;
  meta.has_step = 1;
  meta.step = 1234;
  meta.epoch = 2.5;
  meta.train_loss = 0.1 + 0.2; /* not a short decimal: %.17g must keep it */
  meta.val_loss = 1e-300;
  meta.val_acc = 0.75;
  char err[2048];
  const char *path = in_tmp("round.ckpt");
  int rc = nnc_checkpoint_write(m, path, &meta, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  /* no temporary file is left beside it */
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  while ((e = readdir(d)))
    ck_assert_msg(!strstr(e->d_name, ".tmp."), "left behind: %s", e->d_name);
  closedir(d);
  /* the trailer is zlib's CRC-32 of everything before it */
  size_t n;
  unsigned char *bytes = (unsigned char *)read_file(path, &n);
  ck_assert_uint_eq(le32(bytes + n - 4), crc32_ref(bytes, n - 4));
  ck_assert(memcmp(bytes, "NNCCKPT\0", 8) == 0);
  free(bytes);

  nnc_checkpoint *c;
  rc = nnc_checkpoint_read(path, &c, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  const nnc_ckpt_meta *got = nnc_checkpoint_meta(c);
  ck_assert_str_eq(got->plugin, nnc_model_desc(m)->name);
  ck_assert_str_eq(got->args, args);
  ck_assert(got->has_seed && got->seed == meta.seed);
  ck_assert(got->has_step && got->step == 1234);
  ck_assert(got->epoch == 2.5 && got->train_loss == meta.train_loss &&
            got->val_loss == 1e-300 && got->val_acc == 0.75);
  ck_assert_str_eq(nnc_checkpoint_get(c, "step"), "1234");
  ck_assert_ptr_null(nnc_checkpoint_get(c, "nonexistent"));
  ck_assert_str_eq(nnc_checkpoint_path(c), path);
  ck_assert_uint_eq(nnc_checkpoint_num_blocks(c), nnc_model_num_blocks(m));
  for (size_t b = 0; b < nnc_model_num_blocks(m); b++) {
    const nnc_block *mb = nnc_model_block(m, b);
    const nnc_block *cb = nnc_checkpoint_block(c, b);
    ck_assert_str_eq(cb->name, mb->name);
    ck_assert_uint_eq(cb->dtype, mb->dtype);
    ck_assert_uint_eq(cb->ndim, mb->ndim);
    ck_assert_uint_eq(cb->count, mb->count);
    for (uint32_t k = 0; k < mb->ndim; k++)
      ck_assert_uint_eq(cb->shape[k], mb->shape[k]);
    ck_assert(memcmp(cb->data, mb->data,
                     mb->count * (mb->dtype == NNC_F32 ? 4 : 8)) == 0);
    ck_assert(nnc_checkpoint_value(c, b, mb->count - 1) ==
              nnc_model_get(m, b, mb->count - 1));
  }
  ck_assert_ptr_null(nnc_checkpoint_block(c, nnc_model_num_blocks(m)));
  /* applied to a fresh instance, every bit comes back */
  nnc_model *fresh = load(plugin, args);
  if (nnc_model_kind(fresh) == NNC_KIND_LAYER)
    nnc_model_select(fresh, nnc_model_examples(m), 0);
  rc = nnc_checkpoint_apply(c, fresh, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  assert_same_blocks(m, fresh);
  double l1, l2;
  ck_assert_int_eq(nnc_model_loss(m, NULL, 3, NNC_F_ALL, &l1), NNC_OK);
  ck_assert_int_eq(nnc_model_loss(fresh, NULL, 3, NNC_F_ALL, &l2), NNC_OK);
  ck_assert_msg(memcmp(&l1, &l2, sizeof l1) == 0, "loss %.17g vs %.17g", l1,
                l2);
  /* saved again, the file is byte-identical */
  const char *again = in_tmp("again.ckpt");
  rc = nnc_checkpoint_save(c, again, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "%s", err);
  size_t n1, n2;
  char *f1 = read_file(path, &n1), *f2 = read_file(again, &n2);
  ck_assert(n1 == n2 && memcmp(f1, f2, n1) == 0);
  free(f1);
  free(f2);
  nnc_checkpoint_free(c);
  nnc_model_close(fresh);
  nnc_model_close(m);
}

START_TEST(round_trip_double_net) { round_trip("mlp", "layers=2,16,3"); }
END_TEST

START_TEST(round_trip_float_net) { round_trip("mlp_f32", ""); }
END_TEST

START_TEST(round_trip_layer_with_input) { round_trip("affine", ""); }
END_TEST

START_TEST(overwrite_is_atomic_and_failures_leave_the_old_file)
{
  nnc_model *m = load("linear_softmax", "");
  char err[2048];
  const char *path = in_tmp("keep.ckpt");
  ck_assert_int_eq(nnc_checkpoint_write(m, path, NULL, err, sizeof err),
                   NNC_OK);
  size_t n0;
  char *before = read_file(path, &n0);
  nnc_model_set(m, 0, 0, 42);
  ck_assert_int_eq(nnc_checkpoint_write(m, path, NULL, err, sizeof err),
                   NNC_OK);
  nnc_checkpoint *c;
  ck_assert_int_eq(nnc_checkpoint_read(path, &c, err, sizeof err), NNC_OK);
  ck_assert(nnc_checkpoint_value(c, 0, 0) == 42);
  nnc_checkpoint_free(c);
  /* a directory that does not exist: NNC_EIO naming the path */
  const char *bad = in_tmp("no/such/dir/x.ckpt");
  int rc = nnc_checkpoint_write(m, bad, NULL, err, sizeof err);
  ck_assert_int_eq(rc, NNC_EIO);
  ck_assert_msg(strstr(err, bad) != NULL, "%s", err);
  /* metadata must be printable text */
  nnc_ckpt_meta meta;
  nnc_ckpt_meta_init(&meta);
  meta.args = "a\nb";
  rc = nnc_checkpoint_write(m, path, &meta, err, sizeof err);
  ck_assert_int_eq(rc, NNC_EARG);
  ck_assert_msg(strstr(err, "control character"), "%s", err);
  free(before);
  nnc_model_close(m);
}
END_TEST

/* ---- malformed files ---------------------------------------------------- */

/* A valid file of linear_softmax with D=2, C=2: blocks W (2x2), b (2). */
static unsigned char *good_file(size_t *n)
{
  nnc_model *m = load("linear_softmax", "D=2,C=2");
  char err[2048];
  nnc_ckpt_meta meta;
  nnc_ckpt_meta_init(&meta);
  meta.has_seed = 1;
  meta.seed = 7;
  const char *path = in_tmp("good.ckpt");
  ck_assert_int_eq(nnc_checkpoint_write(m, path, &meta, err, sizeof err),
                   NNC_OK);
  nnc_model_close(m);
  return (unsigned char *)read_file(path, n);
}

/* Offsets of the fields of good_file(). */
typedef struct layout {
  size_t meta, meta_len, blk0, name0, dtype0, ndim0, shape0, count0, data0,
      blk1, data1, crc;
} layout;

static layout layout_of(const unsigned char *b, size_t n)
{
  layout L;
  L.meta_len = le32(b + 16);
  L.meta = 24;
  L.blk0 = 24 + L.meta_len;
  L.name0 = L.blk0 + 4;
  L.dtype0 = L.name0 + le32(b + L.blk0);
  L.ndim0 = L.dtype0 + 4;
  L.shape0 = L.ndim0 + 4;
  L.count0 = L.shape0 + 8 * le32(b + L.ndim0);
  L.data0 = L.count0 + 8;
  L.blk1 = L.data0 + 8 * 4; /* W: 2x2 doubles */
  L.data1 = L.blk1 + 4 + 1 + 4 + 4 + 8 + 8;
  L.crc = n - 4;
  ck_assert_uint_eq(L.data1 + 16, L.crc);
  return L;
}

/* Write the buffer, read it back: expect failure with code and a message
 * naming the file and containing `what`. */
static void expect_bad(const char *label, const unsigned char *b, size_t n,
                       int code, const char *what)
{
  const char *path = in_tmp("bad.ckpt");
  write_bytes(path, b, n);
  nnc_checkpoint *c = (nnc_checkpoint *)1;
  char err[2048] = "";
  int rc = nnc_checkpoint_read(path, &c, err, sizeof err);
  ck_assert_msg(rc == code, "%s: code %d (%s), expected %d", label, rc, err,
                code);
  ck_assert_msg(c == NULL, "%s: *out not NULL on failure", label);
  ck_assert_msg(strstr(err, path) != NULL, "%s: message lacks the path: %s",
                label, err);
  ck_assert_msg(strstr(err, what) != NULL,
                "%s: message lacks \"%s\": %s", label, what, err);
  ck_assert_msg(!strchr(err, '\n'), "%s: not one line: %s", label, err);
}

START_TEST(truncated_anywhere)
{
  size_t n;
  unsigned char *b = good_file(&n);
  layout L = layout_of(b, n);
  size_t cuts[] = {0, 1, 5, 8, 12, 20, 24, 27, L.meta + 3, L.blk0,
                   L.blk0 + 2, L.name0, L.dtype0 + 2, L.ndim0, L.shape0 + 4,
                   L.count0 + 7, L.data0, L.data0 + 13, L.blk1 + 1, L.data1,
                   L.data1 + 9, L.crc, L.crc + 1, n - 1};
  size_t ncuts = sizeof cuts / sizeof *cuts;
  for (size_t k = 0; k < ncuts; k++) {
    char label[64];
    snprintf(label, sizeof label, "truncated to %zu of %zu bytes", cuts[k], n);
    expect_bad(label, b, cuts[k], NNC_EIO, "truncated");
  }
  /* and every other length too: never accepted, always NNC_EIO */
  for (size_t k = 0; k < n; k++) {
    const char *path = in_tmp("cut.ckpt");
    write_bytes(path, b, k);
    nnc_checkpoint *c;
    char err[2048];
    ck_assert_int_eq(nnc_checkpoint_read(path, &c, err, sizeof err), NNC_EIO);
  }
  free(b);
}
END_TEST

START_TEST(flipped_and_absurd_fields)
{
  size_t n;
  unsigned char *g = good_file(&n);
  layout L = layout_of(g, n);
  unsigned char *b = malloc(n + 64);
  struct {
    const char *label, *what;
    size_t at;
    int width;       /* 1: set a byte, 4: a u32, 8: a u64 */
    uint64_t value;
    int fix;         /* recompute the CRC, so only this field is wrong */
  } cases[] = {
      {"magic", "not an nncheck checkpoint", 3, 1, 'X', 1},
      {"version 2", "written by a newer nncheck", 8, 4, 2, 1},
      {"version 0", "format version 0", 8, 4, 0, 1},
      {"flags", "flags", 12, 4, 1, 1},
      {"metadata length absurd", "metadata length", 16, 4, 0xFFFFFFF0u, 1},
      {"metadata length past the end", "truncated", 16, 4, 1u << 19, 1},
      {"no blocks", "block count", 20, 4, 0, 1},
      {"too many blocks", "block count", 20, 4, 100000, 1},
      {"metadata key upper case", "metadata key", L.meta, 1, 'P', 1},
      {"metadata line without '='", "not key=value", L.meta + 6, 1, ':', 1},
      {"metadata control character", "byte 0x01", L.meta + 8, 1, 1, 1},
      {"name length absurd", "name length", L.blk0, 4, 0xFFFFFFF0u, 1},
      {"name length zero", "name length", L.blk0, 4, 0, 1},
      {"NUL in a name", "name holds a byte", L.name0, 1, 0, 1},
      {"garbage in a name", "name holds a byte", L.name0, 1, 0xC3, 1},
      {"unknown dtype", "unknown dtype 3", L.dtype0, 4, 3, 1},
      {"ndim too large", "ndim 9", L.ndim0, 4, 9, 1},
      {"zero dimension", "dimension 0 is 0", L.shape0, 8, 0, 1},
      {"count not the shape's", "does not match its shape", L.count0, 8, 5,
       1},
      {"count absurd", "does not match its shape", L.count0, 8,
       (uint64_t)1 << 62, 1},
      {"shape absurd", "does not match its shape", L.shape0, 8,
       (uint64_t)1 << 40, 1},
      {"second block renamed to the first", "two blocks are named 'W'",
       L.blk1 + 4, 1, 'W', 1},
      {"flipped data bit", "checksum mismatch", L.data0 + 5, 1, 0x5a, 0},
      {"flipped bias bit", "checksum mismatch", L.data1 + 15, 1, 0x01, 0},
      {"flipped checksum", "checksum mismatch", L.crc + 2, 1, 0x77, 0},
      {"flipped metadata byte", "checksum mismatch", L.meta + 1, 1, 'x', 0},
  };
  size_t ncases = sizeof cases / sizeof *cases;
  for (size_t k = 0; k < ncases; k++) {
    memcpy(b, g, n);
    if (cases[k].width == 1)
      b[cases[k].at] = (unsigned char)cases[k].value;
    else if (cases[k].width == 4)
      put32(b + cases[k].at, (uint32_t)cases[k].value);
    else
      put64(b + cases[k].at, cases[k].value);
    if (cases[k].fix)
      fix_crc(b, n);
    ck_assert_msg(memcmp(b, g, n) != 0, "%s: nothing changed",
                  cases[k].label);
    expect_bad(cases[k].label, b, n, NNC_EIO, cases[k].what);
  }
  /* bytes appended after the checksum */
  memcpy(b, g, n);
  memcpy(b + n, "appended", 8);
  expect_bad("appended bytes", b, n + 8, NNC_EIO, "unexpected bytes");
  /* a metadata value that is not a number where one is expected */
  {
    const char *meta = "seed=abc\n";
    size_t ml = strlen(meta), old = L.meta_len;
    size_t m2 = n - old + ml;
    unsigned char *c = malloc(m2);
    memcpy(c, g, 24);
    put32(c + 16, (uint32_t)ml);
    memcpy(c + 24, meta, ml);
    memcpy(c + 24 + ml, g + 24 + old, n - 24 - old);
    fix_crc(c, m2);
    expect_bad("seed=abc", c, m2, NNC_EIO, "not a whole number");
    /* a duplicated key */
    const char *dup = "seed=1\nseed=2\n";
    size_t dl = strlen(dup), m3 = n - old + dl;
    unsigned char *d = malloc(m3);
    memcpy(d, g, 24);
    put32(d + 16, (uint32_t)dl);
    memcpy(d + 24, dup, dl);
    memcpy(d + 24 + dl, g + 24 + old, n - 24 - old);
    fix_crc(d, m3);
    expect_bad("duplicate key", d, m3, NNC_EIO, "appears twice");
    /* the last line without its newline */
    d[24 + dl - 1] = '3';
    fix_crc(d, m3);
    expect_bad("no final newline", d, m3, NNC_EIO, "does not end in a newline");
    free(c);
    free(d);
  }
  /* an empty file, a directory, a missing file */
  expect_bad("empty", g, 0, NNC_EIO, "truncated");
  nnc_checkpoint *c;
  char err[2048];
  ck_assert_int_eq(nnc_checkpoint_read(tmpdir, &c, err, sizeof err), NNC_EIO);
  ck_assert_msg(strstr(err, "directory"), "%s", err);
  ck_assert_int_eq(nnc_checkpoint_read(in_tmp("missing.ckpt"), &c, err,
                                       sizeof err),
                   NNC_ENOTFOUND);
  ck_assert_msg(strstr(err, "missing.ckpt"), "%s", err);
  /* a file that is not a checkpoint at all */
  write_bytes(in_tmp("text.ckpt"), (const unsigned char *)"hello, world\n",
              13);
  ck_assert_int_eq(nnc_checkpoint_read(in_tmp("text.ckpt"), &c, err,
                                       sizeof err),
                   NNC_EIO);
  ck_assert_msg(strstr(err, "not an nncheck checkpoint"), "%s", err);
  free(b);
  free(g);
}
END_TEST

/* ---- against a model ---------------------------------------------------- */

static void expect_mismatch(const char *from, const char *from_args,
                            const char *to, const char *to_args,
                            const char *what)
{
  nnc_model *a = load(from, from_args), *b = load(to, to_args);
  char err[2048];
  const char *path = in_tmp("mm.ckpt");
  ck_assert_int_eq(nnc_checkpoint_write(a, path, NULL, err, sizeof err),
                   NNC_OK);
  nnc_checkpoint *c;
  ck_assert_int_eq(nnc_checkpoint_read(path, &c, err, sizeof err), NNC_OK);
  /* the model is untouched by a refused apply */
  double before = nnc_model_get(b, 0, 0);
  int rc = nnc_checkpoint_apply(c, b, err, sizeof err);
  ck_assert_msg(rc == NNC_EARG, "%s -> %s: %d (%s)", from, to, rc, err);
  ck_assert_msg(strstr(err, what) && strstr(err, path),
                "%s -> %s: message lacks \"%s\" or the path: %s", from, to,
                what, err);
  ck_assert(nnc_model_get(b, 0, 0) == before);
  ck_assert_int_eq(nnc_checkpoint_check(c, b, err, sizeof err), NNC_EARG);
  nnc_checkpoint_free(c);
  nnc_model_close(a);
  nnc_model_close(b);
}

START_TEST(mismatched_models_are_refused_by_name)
{
  expect_mismatch("mlp", "layers=2,16,3", "mlp", "layers=2,20,3",
                  "block 'W1' is 2x16 in the checkpoint but 2x20 in the model");
  expect_mismatch("mlp_f32", "", "mlp", "",
                  "block 'W1' is float in the checkpoint but double");
  expect_mismatch("mlp", "", "linear_softmax", "", "has no block 'W'");
  expect_mismatch("mlp", "layers=2,16,16,3", "mlp", "layers=2,16,3",
                  "block 'W2' is 16x16 in the checkpoint but 16x3");
  /* a checkpoint with every block of the model and more: an affine
   * layer's (W, b, input) against a ReLU's (input of the same shape) */
  expect_mismatch("affine", "in=4", "relu", "dim=4",
                  "block 'W' of the checkpoint is not in the model");
}
END_TEST

int main(void)
{
  tmpdir = make_tmpdir();
  Suite *s = suite_create("checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, round_trip_double_net);
  tcase_add_test(tc, round_trip_float_net);
  tcase_add_test(tc, round_trip_layer_with_input);
  tcase_add_test(tc, overwrite_is_atomic_and_failures_leave_the_old_file);
  tcase_add_test(tc, truncated_anywhere);
  tcase_add_test(tc, flipped_and_absurd_fields);
  tcase_add_test(tc, mismatched_models_are_refused_by_name);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    failed++;
  free(tmpdir);
  return failed ? 1 : 0;
}
