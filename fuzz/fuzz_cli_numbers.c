/* The tools' number parsers (tools/cli.c: cli_u64, cli_double) on
 * arbitrary text.  They exit(2) on bad input; this harness builds cli.c
 * with exit() redirected to a longjmp, so that a refusal returns here.
 * An accepted string must give a value inside the asked range that strtoull
 * / strtod agree with; a refused one must print exactly one line. */
#include "fuzz_common.h"
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <setjmp.h>

static jmp_buf back;
static int exit_status = -1;

void fz_cli_exit(int status);
void fz_cli_exit(int status)
{
  exit_status = status;
  longjmp(back, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  /* The first byte picks the range, like the tools' options do. */
  static const struct {
    uint64_t lo, hi;
    double dlo, dhi;
  } ranges[] = {{0, UINT64_MAX, 1e-15, 1},   {1, 1000000, 0, 1e300},
                {2, 10000, 1e-300, 1e300},  {0, (uint64_t)1 << 62, 0, 0.9999},
                {3, 100001, 1e-9, 0.999999}, {1, 256, 1e-12, 1e6}};
  unsigned pick = data[0] % (sizeof ranges / sizeof *ranges);
  int as_double = data[0] & 0x80;
  char *s = fz_string(data + 1, size - 1);
  cli_tool = "fuzz";
  exit_status = -1;
  char *msg = NULL;
  size_t msglen = 0;
  FILE *real_stderr = stderr, *mem = open_memstream(&msg, &msglen);
  if (!mem)
    abort();
  stderr = mem; /* glibc's stderr is a variable: catch what cli.c prints */
  if (setjmp(back) == 0) {
    if (as_double) {
      double v = cli_double("--x", s, ranges[pick].dlo, ranges[pick].dhi);
      char *end;
      double w = strtod(s, &end);
      if (!isfinite(v) || v < ranges[pick].dlo || v > ranges[pick].dhi ||
          *end || !(v == w))
        abort();
    } else {
      uint64_t v = cli_u64("--x", s, ranges[pick].lo, ranges[pick].hi);
      char *end;
      errno = 0;
      unsigned long long w = strtoull(s, &end, 10);
      if (v < ranges[pick].lo || v > ranges[pick].hi || *end || errno ||
          v != w || s[0] < '0' || s[0] > '9')
        abort();
    }
  } else if (exit_status != 2) {
    abort(); /* a refusal is exit status 2, nothing else */
  }
  stderr = real_stderr;
  fclose(mem);
  if (exit_status == -1 ? msglen != 0
                        : (msglen < 2 || strncmp(msg, "fuzz: --x: ", 11) ||
                           strchr(msg, '\n') != msg + msglen - 1)) {
    fprintf(stderr, "cli: refusal not one line: \"%s\"\n", msg);
    abort();
  }
  free(msg);
  free(s);
  return 0;
}
