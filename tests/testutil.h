/* Helpers for the suites that run the real tools on real plugins. */
#ifndef NNC_TESTUTIL_H
#define NNC_TESTUTIL_H
#include <check.h>
#include <stddef.h>
#include <stdint.h>

typedef struct run_result {
  int status;       /* exit status, or 128 + signal */
  char *out;        /* stdout, NUL-terminated */
  char *err;        /* stderr */
  const char *tool; /* the tool run_tool() ran; NULL from run_prog() */
} run_result;

/* Run tools/TOOL with the NULL-terminated argv (argv[0] is ignored). */
run_result run_tool(const char *tool, const char *const *argv);
/* Run tools/TOOL on the arguments after it: RUN("sanity", "mlp", "--json"). */
#define RUN(tool, ...)                                                         \
  run_tool(tool, (const char *const[]){tool, __VA_ARGS__, NULL})
/* A tool's refusal: exit status `status` and exactly one line on stderr,
 * "TOOL: ..." containing needle.  Frees r. */
void expect_error(run_result r, int status, const char *needle);
/* Run any program (path) with argv. */
run_result run_prog(const char *path, const char *const *argv);
void run_free(run_result *r);
/* A fresh empty directory under $TMPDIR; free() the result. */
char *make_tmpdir(void);
/* Whole file into memory (NUL-terminated); NULL if unreadable. */
char *read_file(const char *path, size_t *len);
/* The path of a test-only plugin by name (tests/plugins/.libs/NAME.so). */
const char *test_plugin(const char *name);
/* 1 if s is one syntactically valid JSON value. */
int json_valid(const char *s);
/* The correct twin of a bug_ fixture: ok_X for bug_X, or for a bundled
 * layer's bug the bundled layer itself. */
const char *twin_of(const char *bug);
/* The exit status `tool` must give on bundled plugin `name`, from
 * fixtures/expect.tsv (under $NNC_SRCDIR) and its defaults: 0 for a correct
 * plugin; for a bug_ fixture 1 under gradcheck and 0 under other tools. */
int expected_exit(const char *tool, const char *name);
/* Count occurrences of needle in hay. */
size_t count_of(const char *hay, const char *needle);
/* Seconds on a monotonic clock. */
double now_s(void);
/* The big-endian 32-bit number at p (PNG headers). */
uint32_t be32(const unsigned char *p);
/* Store v at p little-endian, in 4 or 8 bytes (checkpoint headers). */
void put32(unsigned char *p, uint32_t v);
void put64(unsigned char *p, uint64_t v);

/* One test of a suite, under its own name. */
typedef struct test_case {
  const char *name;
  const TTest *t;
} test_case;
/* A suite's main: each case in a test case of its own with `timeout`
 * seconds, run in `mode` (CK_ENV: CK_VERBOSITY decides); the exit status. */
int run_cases(const char *suite_name, const test_case *cases, size_t n,
              double timeout, enum print_output mode);

#endif
