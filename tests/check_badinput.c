/* The hostile-input catalogue: every case of tests/badinput.tsv is run
 * through the real tool, which must refuse it with
 *   - the documented exit status (2 for usage and bad input),
 *   - exactly one line on stderr, "TOOL: ..." matching the case's pattern,
 *   - nothing on stdout, or a report whose verdict is ERROR: nothing that
 *     claims success (PASS, a TAP "ok"),
 *   - no signal, no sanitizer report.
 * The checkpoint cases read files made here from a valid checkpoint: cut
 * at many offsets, with a wrong magic, version, flags, lengths, counts,
 * names, metadata or checksum.  The reader is also run in-process on the
 * file cut at every offset and with every byte flipped.
 *
 * Placeholders in an argument of the catalogue:
 *   @EMPTY@          the empty string
 *   @TMP@            this run's scratch directory
 *   @TP:NAME@        the test plugin tests/plugins/.libs/NAME.so
 *   @CK:NAME@        a checkpoint file made from the valid one (ck_make)
 *   @CUT:N@          the valid checkpoint cut to its first N bytes
 *   @FILE:NAME@      another scratch file (file_make)
 *   @LONG:N@         N letters 'a'
 *   @NL@, @TAB@      a newline, a tab, inside an argument
 */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <nncheck/checkpoint.h>
#include <nncheck/nncheck.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ARGS 32

typedef struct bad_case {
  int line;                /* line in badinput.tsv */
  char *tool;              /* the tool to run: gradcheck, babysit, ... */
  int status;              /* expected exit status */
  char *pattern;           /* POSIX extended regex the message matches */
  char *args[MAX_ARGS];    /* arguments, placeholders unexpanded */
  size_t nargs;
} bad_case;

static bad_case *cases;
static size_t ncases;
static char *tmp;                  /* scratch directory */
static unsigned char *good;        /* the valid checkpoint */
static size_t good_len;

static const char *srcdir(void)
{
  const char *s = getenv("NNC_SRCDIR");
  return s && *s ? s : ".";
}

/* ---- the catalogue ------------------------------------------------------- */

static void load_catalogue(void)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/badinput.tsv", srcdir());
  char *text = read_file(path, NULL);
  if (!text) {
    fprintf(stderr, "check_badinput: cannot read %s\n", path);
    exit(99);
  }
  int lineno = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = 0;
    lineno++;
    if (line[0] == '#' || !line[0])
      continue;
    bad_case c;
    memset(&c, 0, sizeof c);
    c.line = lineno;
    char *f[MAX_ARGS + 3];
    size_t nf = 0;
    for (char *p = line;; p++) {
      f[nf++] = p;
      p = strchr(p, '\t');
      if (!p || nf == MAX_ARGS + 3)
        break;
      *p = 0;
    }
    if (nf < 3) {
      fprintf(stderr, "badinput.tsv:%d: fewer than 3 fields\n", lineno);
      exit(99);
    }
    c.tool = f[0];
    c.status = atoi(f[1]);
    c.pattern = f[2];
    for (size_t k = 3; k < nf; k++)
      c.args[c.nargs++] = f[k];
    cases = realloc(cases, (ncases + 1) * sizeof *cases);
    cases[ncases++] = c;
  }
  /* text stays allocated: the cases point into it */
}

/* ---- checkpoint files ---------------------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

static uint32_t get32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void reseal(unsigned char *b, size_t n)
{
  put32(b + n - 4, crc32_of(b, n - 4));
}

static void write_bytes(const char *path, const void *b, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "check_badinput: cannot write %s\n", path);
    exit(99);
  }
}

/* The valid file with its metadata replaced by `meta` (resealed). */
static unsigned char *with_meta(const char *meta, size_t *n)
{
  uint32_t ml = get32(good + 16);
  size_t mn = strlen(meta);
  *n = good_len - ml + mn;
  unsigned char *b = malloc(*n);
  memcpy(b, good, 24);
  put32(b + 16, (uint32_t)mn);
  memcpy(b + 24, meta, mn);
  memcpy(b + 24 + mn, good + 24 + ml, good_len - 24 - ml);
  reseal(b, *n);
  return b;
}

/* Make the checkpoint variant `name` as a file; its path in out. */
static int ck_make(const char *name, char *out, size_t outlen)
{
  snprintf(out, outlen, "%s/ck_%s.ckpt", tmp, name);
  size_t n = good_len;
  unsigned char *b = malloc(n + 64);
  memcpy(b, good, n);
  uint32_t ml = get32(good + 16);
  size_t blk = 24 + ml;                    /* the first block */
  uint32_t nl = get32(good + blk);
  size_t dt = blk + 4 + nl, shape = dt + 8; /* dtype, ndim; shape */
  uint32_t ndim = get32(good + dt + 4);
  size_t count = shape + 8 * (size_t)ndim;
  int seal = 1;
  if (!strcmp(name, "good"))
    ;
  else if (!strcmp(name, "magic"))
    memcpy(b, "NNCCKPX", 8);
  else if (!strcmp(name, "png"))
    memcpy(b, "\x89PNG\r\n\x1a\n", 8);
  else if (!strcmp(name, "version0"))
    put32(b + 8, 0);
  else if (!strcmp(name, "version2"))
    put32(b + 8, 2);
  else if (!strcmp(name, "flags"))
    put32(b + 12, 1);
  else if (!strcmp(name, "metalen_huge"))
    put32(b + 16, 0xFFFFFFFFu);
  else if (!strcmp(name, "metalen_over"))
    put32(b + 16, (uint32_t)(n - 24)); /* runs into the blocks */
  else if (!strcmp(name, "nblocks0"))
    put32(b + 20, 0);
  else if (!strcmp(name, "nblocks_huge"))
    put32(b + 20, 0xFFFFFFFFu);
  else if (!strcmp(name, "nblocks_more"))
    put32(b + 20, get32(good + 20) + 1);
  else if (!strcmp(name, "nblocks_less"))
    put32(b + 20, get32(good + 20) - 1);
  else if (!strcmp(name, "namelen0"))
    put32(b + blk, 0);
  else if (!strcmp(name, "namelen_huge"))
    put32(b + blk, 0x7FFFFFFFu);
  else if (!strcmp(name, "namelen_256"))
    put32(b + blk, 256);
  else if (!strcmp(name, "name_nul"))
    b[blk + 4] = 0;
  else if (!strcmp(name, "name_slash"))
    b[blk + 4] = '/';
  else if (!strcmp(name, "name_space"))
    b[blk + 4] = ' ';
  else if (!strcmp(name, "dtype0"))
    put32(b + dt, 0);
  else if (!strcmp(name, "dtype3"))
    put32(b + dt, 3);
  else if (!strcmp(name, "dtype_float")) /* halves the data it claims */
    put32(b + dt, 2);
  else if (!strcmp(name, "ndim9"))
    put32(b + dt + 4, 9);
  else if (!strcmp(name, "ndim_huge"))
    put32(b + dt + 4, 0xFFFFFFFFu);
  else if (!strcmp(name, "dim0"))
    put64(b + shape, 0);
  else if (!strcmp(name, "dim_huge"))
    put64(b + shape, UINT64_MAX);
  else if (!strcmp(name, "dim_overflow")) { /* shapes whose product wraps */
    put64(b + shape, (uint64_t)1 << 32);
    if (ndim > 1)
      put64(b + shape + 8, (uint64_t)1 << 32);
  } else if (!strcmp(name, "count0"))
    put64(b + count, 0);
  else if (!strcmp(name, "count_mismatch"))
    put64(b + count, 1);
  else if (!strcmp(name, "count_huge"))
    put64(b + count, UINT64_MAX);
  else if (!strcmp(name, "crc")) {
    b[n - 1] ^= 0x55;
    seal = 0;
  } else if (!strcmp(name, "bitflip_data")) {
    b[n - 8] ^= 1; /* a value changed, the checksum not updated */
    seal = 0;
  } else if (!strcmp(name, "trailing")) {
    memcpy(b + n - 4, "JUNK", 4);
    n += 4;
  } else if (!strcmp(name, "empty"))
    n = 0, seal = 0;
  else if (!strncmp(name, "meta_", 5)) {
    static const struct {
      const char *name, *meta;
    } metas[] = {
        {"meta_nonl", "plugin=affine"},
        {"meta_noeq", "plugin affine\n"},
        {"meta_badkey", "Plugin=affine\n"},
        {"meta_emptykey", "=affine\n"},
        {"meta_dupkey", "seed=1\nseed=2\n"},
        {"meta_ctrl", "args=a\tb\n"},
        {"meta_seed_text", "seed=one\n"},
        {"meta_seed_neg", "seed=-1\n"},
        {"meta_seed_big", "seed=18446744073709551616\n"},
        {"meta_epoch_text", "epoch=two\n"},
        {"meta_loss_empty", "train_loss=\n"},
        {"meta_step_real", "step=1.5\n"},
    };
    size_t k = 0;
    while (k < sizeof metas / sizeof *metas && strcmp(metas[k].name, name))
      k++;
    if (k == sizeof metas / sizeof *metas) {
      free(b);
      return -1;
    }
    free(b);
    b = with_meta(metas[k].meta, &n);
    seal = 0;
  } else {
    free(b);
    return -1;
  }
  if (seal && n >= 4)
    reseal(b, n);
  write_bytes(out, b, n);
  free(b);
  return 0;
}

/* Other scratch files. */
static int file_make(const char *name, char *out, size_t outlen)
{
  snprintf(out, outlen, "%s/file_%s", tmp, name);
  if (!strcmp(name, "text")) {
    write_bytes(out, "this is not a plugin\n", 21);
  } else if (!strcmp(name, "empty.so")) {
    write_bytes(out, "", 0);
  } else if (!strcmp(name, "text.so")) {
    write_bytes(out, "not an ELF file\n", 16);
  } else if (!strcmp(name, "dir.so")) {
    mkdir(out, 0777);
  } else if (!strcmp(name, "dir")) {
    mkdir(out, 0777);
  } else if (!strcmp(name, "missing.so") || !strcmp(name, "missing")) {
    unlink(out);
  } else if (!strcmp(name, "unreadable.so") || !strcmp(name, "unreadable")) {
    write_bytes(out, "x", 1);
    chmod(out, 0);
  } else if (!strcmp(name, "plainfile")) {
    write_bytes(out, "x", 1);
  } else if (!strcmp(name, "under_file")) { /* a directory under a file */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s/file_plainfile", tmp);
    write_bytes(parent, "x", 1);
    snprintf(out, outlen, "%s/sub", parent);
  } else
    return -1;
  return 0;
}

/* Expand one argument's placeholders; NULL when the case must be skipped
 * (an unreadable file when running as root, who reads everything). */
static char *expand(const char *a, int *skip)
{
  char buf[16384], one[8192];
  size_t k = 0;
  buf[0] = 0;
  while (*a) {
    one[0] = 0;
    if (*a == '@') {
      const char *e = strchr(a + 1, '@');
      if (!e) {
        fprintf(stderr, "badinput.tsv: unterminated placeholder in %s\n", a);
        exit(99);
      }
      char ph[256];
      snprintf(ph, sizeof ph, "%.*s", (int)(e - a - 1), a + 1);
      a = e + 1;
      if (!strcmp(ph, "EMPTY"))
        ;
      else if (!strcmp(ph, "TMP"))
        snprintf(one, sizeof one, "%s", tmp);
      else if (!strcmp(ph, "NL"))
        strcpy(one, "\n");
      else if (!strcmp(ph, "TAB"))
        strcpy(one, "\t");
      else if (!strncmp(ph, "TP:", 3))
        snprintf(one, sizeof one, "%s", test_plugin(ph + 3));
      else if (!strncmp(ph, "LONG:", 5)) {
        size_t n = (size_t)atol(ph + 5);
        if (n >= sizeof one)
          n = sizeof one - 1;
        memset(one, 'a', n);
        one[n] = 0;
      } else if (!strncmp(ph, "CUT:", 4)) {
        long v = atol(ph + 4); /* negative: that many bytes off the end */
        size_t n = v < 0 ? good_len - (size_t)-v : (size_t)v;
        if (n > good_len)
          n = good_len;
        snprintf(one, sizeof one, "%s/cut_%zu.ckpt", tmp, n);
        write_bytes(one, good, n);
      } else if (!strncmp(ph, "CK:", 3)) {
        if (ck_make(ph + 3, one, sizeof one)) {
          fprintf(stderr, "badinput.tsv: unknown checkpoint variant %s\n", ph);
          exit(99);
        }
      } else if (!strncmp(ph, "FILE:", 5)) {
        if (file_make(ph + 5, one, sizeof one)) {
          fprintf(stderr, "badinput.tsv: unknown file %s\n", ph);
          exit(99);
        }
        if (strstr(ph, "unreadable") && geteuid() == 0)
          *skip = 1;
      } else {
        fprintf(stderr, "badinput.tsv: unknown placeholder @%s@\n", ph);
        exit(99);
      }
    } else {
      one[0] = *a++;
      one[1] = 0;
    }
    size_t n = strlen(one);
    if (k + n >= sizeof buf)
      n = sizeof buf - 1 - k;
    memcpy(buf + k, one, n);
    buf[k += n] = 0;
  }
  return strdup(buf);
}

/* ---- the tests ------------------------------------------------------------ */

START_TEST(bad_input_refused)
{
  const bad_case *c = &cases[_i];
  const char *argv[MAX_ARGS + 2];
  char *owned[MAX_ARGS];
  int skip = 0;
  argv[0] = c->tool;
  for (size_t k = 0; k < c->nargs; k++)
    argv[k + 1] = owned[k] = expand(c->args[k], &skip);
  argv[c->nargs + 1] = NULL;
  if (skip) {
    for (size_t k = 0; k < c->nargs; k++)
      free(owned[k]);
    return; /* root reads unreadable files: nothing to refuse */
  }
  run_result r = run_tool(c->tool, argv);
  char what[512];
  snprintf(what, sizeof what, "badinput.tsv:%d (%s", c->line, c->tool);
  for (size_t k = 0; k < c->nargs; k++)
    snprintf(what + strlen(what), sizeof what - strlen(what), " %s",
             c->args[k]);
  snprintf(what + strlen(what), sizeof what - strlen(what), ")");

  ck_assert_msg(r.status < 128, "%s: killed by signal %d; stderr: %s", what,
                r.status - 128, r.err);
  ck_assert_msg(r.status == c->status, "%s: exit %d, expected %d; stderr: %s",
                what, r.status, c->status, r.err);
  size_t len = strlen(r.err);
  const char *nl = strchr(r.err, '\n');
  ck_assert_msg(len > 0 && nl == r.err + len - 1,
                "%s: stderr is not exactly one line: \"%s\"", what, r.err);
  size_t tl = strlen(c->tool);
  ck_assert_msg(!strncmp(r.err, c->tool, tl) && !strncmp(r.err + tl, ": ", 2),
                "%s: the message does not start with \"%s: \": %s", what,
                c->tool, r.err);
  regex_t re;
  ck_assert_msg(regcomp(&re, c->pattern, REG_EXTENDED | REG_NOSUB) == 0,
                "%s: bad pattern %s", what, c->pattern);
  int match = regexec(&re, r.err, 0, NULL, 0) == 0;
  regfree(&re);
  ck_assert_msg(match, "%s: the message \"%.*s\" does not match /%s/", what,
                (int)(len ? len - 1 : 0), r.err, c->pattern);
  /* A tool may still print its report, but only one that says ERROR. */
  ck_assert_msg(r.out[0] == 0 || (strstr(r.out, "ERROR") &&
                                  !strstr(r.out, "PASS") &&
                                  !strstr(r.out, "\nok ") &&
                                  strncmp(r.out, "ok ", 3)),
                "%s: stdout claims more than an error: \"%.300s\"", what,
                r.out);
  run_free(&r);
  for (size_t k = 0; k < c->nargs; k++)
    free(owned[k]);
}
END_TEST

/* The reader itself, in-process, on the valid file cut at every offset and
 * with every single byte changed: always NNC_EIO with one line naming the
 * file, never a crash or a checkpoint. */
START_TEST(reader_every_cut_and_flip)
{
  char path[4096], err[1024];
  snprintf(path, sizeof path, "%s/every.ckpt", tmp);
  unsigned char *b = malloc(good_len);
  size_t refused = 0;
  for (size_t mode = 0; mode < 2; mode++)
    for (size_t i = 0; i < good_len; i++) {
      memcpy(b, good, good_len);
      size_t n = good_len;
      if (mode == 0)
        n = i; /* cut */
      else
        b[i] ^= 0x5a; /* flipped: the checksum no longer agrees */
      write_bytes(path, b, n);
      nnc_checkpoint *c = NULL;
      err[0] = 0;
      int rc = nnc_checkpoint_read(path, &c, err, sizeof err);
      ck_assert_msg(rc == NNC_EIO && !c,
                    "%s at byte %zu: read gave %d (%s)",
                    mode ? "flip" : "cut", i, rc, err);
      ck_assert_msg(err[0] && !strchr(err, '\n') && strstr(err, path),
                    "%s at byte %zu: the message is not one line naming the "
                    "file: %s",
                    mode ? "flip" : "cut", i, err);
      refused++;
    }
  ck_assert_uint_eq(refused, 2 * good_len);
  free(b);
  /* and the untouched file reads */
  write_bytes(path, good, good_len);
  nnc_checkpoint *c = NULL;
  ck_assert_int_eq(nnc_checkpoint_read(path, &c, err, sizeof err), NNC_OK);
  nnc_checkpoint_free(c);
}
END_TEST

/* The fuzzers' findings, kept in tests/fuzz-regress/ as the harness's raw
 * input and named after the harness (fuzz/fuzz_HARNESS.c): each is fed
 * again to what the harness fed it to, through the real tools where the
 * harness called the tools' code.  cli_numbers-*: the first byte picked a
 * range, the rest is an option value; plugin_args-*: the first byte picked
 * the plugin, the rest is its argument string, now refused before anything
 * big is allocated; lib_text-*: a plugin name. */
START_TEST(fuzz_regressions)
{
  char dir[4096], path[4200], err[1024];
  snprintf(dir, sizeof dir, "%s/tests/fuzz-regress", srcdir());
  const char *names[] = {"cli_numbers-leading-formfeed",
                         "cli_numbers-newlines", "lib_text-newline-in-name",
                         "plugin_args-mlp-33M-examples", NULL};
  /* fuzz/fuzz_plugin_args.c's table, by bundled name */
  static const char *const plugins[] = {
      "affine",  "relu",     "tanh",       "dropout",   "softmax_loss",
      "svm_loss", "conv2d",  "maxpool2",   "relu_zeros", "batchnorm",
      "layernorm", "softmax", "attention", "mlp"};
  for (size_t i = 0; names[i]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    size_t n;
    char *raw = read_file(path, &n);
    ck_assert_msg(raw != NULL, "cannot read %s", path);
    if (!strncmp(names[i], "cli_numbers-", 12)) {
      const char *v = n ? raw + 1 : raw; /* NUL-terminated by read_file */
      const char *opts[] = {"--seed", "--h", "--examples", "--reg-warn", NULL};
      for (size_t k = 0; opts[k]; k++) {
        run_result r = run_tool(
            "gradcheck", (const char *const[]){"gradcheck", opts[k], v, "mlp", NULL});
        ck_assert_msg(r.status == 2 && count_of(r.err, "\n") == 1 &&
                          r.err[strlen(r.err) - 1] == '\n' && !r.out[0],
                      "%s %s: exit %d, stderr \"%s\"", names[i], opts[k],
                      r.status, r.err);
        run_free(&r);
      }
    } else if (!strncmp(names[i], "plugin_args-", 12)) {
      const char *plugin = plugins[n ? (unsigned char)raw[0] % 14 : 0];
      run_result r = run_tool("gradcheck",
                              (const char *const[]){"gradcheck", "--args",
                                                    n ? raw + 1 : raw, plugin,
                                                    NULL});
      ck_assert_msg(r.status == 2 && count_of(r.err, "\n") == 1 &&
                        r.err[strlen(r.err) - 1] == '\n' && !r.out[0],
                    "%s (%s): exit %d, stderr \"%s\"", names[i], plugin,
                    r.status, r.err);
      run_free(&r);
    } else {
      char out[512];
      err[0] = 0;
      int rc = nnc_plugin_resolve(raw, out, sizeof out, err, sizeof err);
      ck_assert_msg(rc != NNC_OK && err[0] && !strchr(err, '\n'),
                    "%s: %d \"%s\"", names[i], rc, err);
    }
    free(raw);
  }
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("badinput");
  TCase *tc = tcase_create("catalogue");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, bad_input_refused, 0, (int)ncases);
  suite_add_tcase(s, tc);
  TCase *rd = tcase_create("reader");
  tcase_set_timeout(rd, 600);
  tcase_add_test(rd, reader_every_cut_and_flip);
  tcase_add_test(rd, fuzz_regressions);
  suite_add_tcase(s, rd);
  return s;
}

int main(void)
{
  load_catalogue();
  tmp = make_tmpdir();
  if (!tmp) {
    fprintf(stderr, "check_badinput: cannot make a scratch directory\n");
    return 99;
  }
  /* The valid checkpoint every variant starts from, written by the tool
   * the checkpoint cases run: landscape on the affine layer. */
  char path[4096];
  snprintf(path, sizeof path, "%s/good.ckpt", tmp);
  run_result r = run_tool(
      "landscape",
      (const char *const[]){"landscape", "affine", "--args", "in=2 out=2",
                            "--examples", "2", "--no-slices", "--save", path,
                            NULL});
  good = (unsigned char *)read_file(path, &good_len);
  if (r.status != 0 || !good || good_len < 64) {
    fprintf(stderr, "check_badinput: cannot write a valid checkpoint: %s\n",
            r.err);
    return 99;
  }
  run_free(&r);
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'",
           tmp, tmp);
  if (system(cmd) != 0)
    fprintf(stderr, "check_badinput: could not remove %s\n", tmp);
  return failed ? 1 : 0;
}
