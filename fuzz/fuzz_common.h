/* What the libFuzzer harnesses share: the input as a C string of exactly
 * its own size (so that a read past its end is an ASan report), and the
 * property every error message must have -- one non-empty line. */
#ifndef NNC_FUZZ_COMMON_H
#define NNC_FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[0..size) as a NUL-terminated string; an embedded NUL ends it, as
 * it would end a command-line argument. */
static inline char *fz_string(const uint8_t *data, size_t size)
{
  size_t n = strnlen((const char *)data, size);
  char *s = malloc(n + 1);
  if (!s)
    abort();
  memcpy(s, data, n);
  s[n] = 0;
  return s;
}

/* An error message: non-empty, NUL-terminated within its buffer, no
 * newline (the tools print it as one line). */
static inline void fz_one_line(const char *what, const char *err, size_t len)
{
  size_t n = strnlen(err, len);
  if (n == 0 || n == len || memchr(err, '\n', n)) {
    fprintf(stderr, "%s: bad error message (%zu bytes): \"%.*s\"\n", what, n,
            (int)n, err);
    abort();
  }
}
#endif
