/* The strict JSON reader: a recursive-descent parser over a byte range,
 * refusing everything RFC 8259 does not allow (see jsonread.h). */
#include "config.h"
#include "jsonread.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
  const unsigned char *s, *end, *p;
  char *err;
  size_t errlen;
  int failed;
} parser;

static void fail(parser *ps, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(parser *ps, const unsigned char *at, const char *fmt, ...)
{
  if (ps->failed)
    return;
  ps->failed = 1;
  size_t line = 1, col = 1;
  for (const unsigned char *q = ps->s; q < at; q++) {
    if (*q == '\n') {
      line++;
      col = 1;
    } else if ((*q & 0xC0) != 0x80) /* count characters, not bytes */
      col++;
  }
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (ps->errlen)
    snprintf(ps->err, ps->errlen, "line %zu, column %zu: %s", line, col, what);
}

static void skip_ws(parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                             *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static void unexpected(parser *ps, const char *wanted)
{
  if (ps->p >= ps->end)
    fail(ps, ps->p, "expected %s, found the end of the input", wanted);
  else if (*ps->p >= 0x20 && *ps->p < 0x7f)
    fail(ps, ps->p, "expected %s, found '%c'", wanted, *ps->p);
  else
    fail(ps, ps->p, "expected %s, found byte 0x%02x", wanted, *ps->p);
}

/* ---- strings ------------------------------------------------------------ */

typedef struct buf {
  char *b;
  size_t n, cap;
} buf;

static int put(buf *o, const char *p, size_t n)
{
  if (o->n + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 32;
    while (cap < o->n + n + 1)
      cap *= 2;
    char *nb = realloc(o->b, cap);
    if (!nb)
      return -1;
    o->b = nb;
    o->cap = cap;
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
  o->b[o->n] = 0;
  return 0;
}

static int put_utf8(buf *o, unsigned long cp)
{
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return put(o, u, n);
}

static int hex4(parser *ps, unsigned long *v)
{
  *v = 0;
  for (int k = 0; k < 4; k++) {
    if (ps->p >= ps->end) {
      unexpected(ps, "four hex digits after \\u");
      return -1;
    }
    unsigned c = *ps->p, d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else {
      unexpected(ps, "four hex digits after \\u");
      return -1;
    }
    *v = *v * 16 + d;
    ps->p++;
  }
  return 0;
}

/* One raw UTF-8 sequence starting at ps->p, validated (no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
static int utf8_seq(parser *ps, buf *o)
{
  const unsigned char *q = ps->p;
  unsigned c = *q;
  size_t n;
  unsigned long cp, min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    fail(ps, q, "invalid UTF-8 byte 0x%02x in a string", c);
    return -1;
  }
  if ((size_t)(ps->end - q) < n) {
    fail(ps, q, "truncated UTF-8 sequence in a string");
    return -1;
  }
  for (size_t k = 1; k < n; k++) {
    if ((q[k] & 0xC0) != 0x80) {
      fail(ps, q, "invalid UTF-8 sequence in a string");
      return -1;
    }
    cp = (cp << 6) | (q[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    fail(ps, q, "invalid UTF-8 sequence (overlong, surrogate or beyond "
                "U+10FFFF) in a string");
    return -1;
  }
  ps->p += n;
  return put(o, (const char *)q, n);
}

/* A string; ps->p at the opening quote.  *out is malloc'ed. */
static int string(parser *ps, char **out)
{
  buf o = {NULL, 0, 0};
  const unsigned char *start = ps->p;
  ps->p++;
  if (put(&o, "", 0))
    goto nomem;
  for (;;) {
    if (ps->p >= ps->end) {
      fail(ps, start, "string never closed");
      goto bad;
    }
    unsigned c = *ps->p;
    if (c == '"') {
      ps->p++;
      break;
    }
    if (c < 0x20) {
      fail(ps, ps->p, "raw control character 0x%02x in a string: escape it",
           c);
      goto bad;
    }
    if (c == '\\') {
      ps->p++;
      if (ps->p >= ps->end) {
        fail(ps, start, "string never closed");
        goto bad;
      }
      char e = (char)*ps->p++, ch;
      switch (e) {
      case '"': ch = '"'; break;
      case '\\': ch = '\\'; break;
      case '/': ch = '/'; break;
      case 'b': ch = '\b'; break;
      case 'f': ch = '\f'; break;
      case 'n': ch = '\n'; break;
      case 'r': ch = '\r'; break;
      case 't': ch = '\t'; break;
      case 'u': {
        const unsigned char *at = ps->p - 2;
        unsigned long cp, lo;
        if (hex4(ps, &cp))
          goto bad;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail(ps, at, "lone low surrogate \\u%04lX", cp);
          goto bad;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
            fail(ps, at, "high surrogate \\u%04lX without its low half", cp);
            goto bad;
          }
          ps->p += 2;
          if (hex4(ps, &lo))
            goto bad;
          if (lo < 0xDC00 || lo > 0xDFFF) {
            fail(ps, at, "high surrogate \\u%04lX without its low half", cp);
            goto bad;
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) {
          fail(ps, at, "\\u0000 in a string is not supported");
          goto bad;
        }
        if (put_utf8(&o, cp))
          goto nomem;
        continue;
      }
      default:
        fail(ps, ps->p - 2, "invalid escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
        goto bad;
      }
      if (put(&o, &ch, 1))
        goto nomem;
      continue;
    }
    if (c < 0x80) {
      const unsigned char *q = ps->p;
      while (q < ps->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
        q++;
      if (put(&o, (const char *)ps->p, (size_t)(q - ps->p)))
        goto nomem;
      ps->p = q;
      continue;
    }
    if (utf8_seq(ps, &o)) {
      if (!ps->failed)
        goto nomem;
      goto bad;
    }
  }
  *out = o.b;
  return 0;
nomem:
  fail(ps, ps->p, "out of memory");
bad:
  free(o.b);
  return -1;
}

/* ---- numbers --------------------------------------------------------------- */

static int is_digit(const unsigned char *p, const unsigned char *end)
{
  return p < end && *p >= '0' && *p <= '9';
}

static int number(parser *ps, double *v)
{
  const unsigned char *start = ps->p, *p = ps->p, *end = ps->end;
  if (p < end && *p == '-')
    p++;
  if (!is_digit(p, end)) {
    ps->p = p;
    unexpected(ps, "a digit");
    return -1;
  }
  if (*p == '0') {
    p++;
    if (is_digit(p, end)) {
      fail(ps, p, "leading zero in a number");
      return -1;
    }
  } else
    while (is_digit(p, end))
      p++;
  if (p < end && *p == '.') {
    p++;
    if (!is_digit(p, end)) {
      ps->p = p;
      unexpected(ps, "a digit after the decimal point");
      return -1;
    }
    while (is_digit(p, end))
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (!is_digit(p, end)) {
      ps->p = p;
      unexpected(ps, "a digit in the exponent");
      return -1;
    }
    while (is_digit(p, end))
      p++;
  }
  char tmp[512];
  size_t n = (size_t)(p - start);
  if (n >= sizeof tmp) {
    fail(ps, start, "number of %zu characters is too long", n);
    return -1;
  }
  memcpy(tmp, start, n);
  tmp[n] = 0;
  *v = strtod(tmp, NULL);
  if (!isfinite(*v)) {
    fail(ps, start, "number %s is out of the range of a double", tmp);
    return -1;
  }
  ps->p = p;
  return 0;
}

/* ---- values -------------------------------------------------------------- */

static int literal(parser *ps, const char *word)
{
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return 0;
  ps->p += n;
  return 1;
}

static int value(parser *ps, nnci_jv *v, int depth);

static int push(nnci_jv *v, size_t *cap, char *key)
{
  if (v->n == *cap) {
    size_t nc = *cap ? 2 * *cap : 8;
    nnci_jv *ni = realloc(v->items, nc * sizeof *ni);
    if (!ni)
      return -1;
    v->items = ni;
    if (v->type == NNCI_JOBJ) {
      char **nk = realloc(v->keys, nc * sizeof *nk);
      if (!nk)
        return -1;
      v->keys = nk;
    }
    *cap = nc;
  }
  memset(&v->items[v->n], 0, sizeof v->items[v->n]);
  if (v->type == NNCI_JOBJ)
    v->keys[v->n] = key;
  v->n++;
  return 0;
}

static int container(parser *ps, nnci_jv *v, int depth)
{
  int obj = *ps->p == '{';
  const unsigned char *open = ps->p;
  v->type = obj ? NNCI_JOBJ : NNCI_JARR;
  if (depth >= NNCI_JSON_MAX_DEPTH) {
    fail(ps, open, "nested deeper than %d levels", NNCI_JSON_MAX_DEPTH);
    return -1;
  }
  ps->p++;
  size_t cap = 0;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
    ps->p++;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    skip_ws(ps);
    if (obj) {
      if (ps->p >= ps->end || *ps->p != '"') {
        unexpected(ps, "a string key");
        return -1;
      }
      const unsigned char *kat = ps->p;
      if (string(ps, &key))
        return -1;
      for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key)) {
          fail(ps, kat, "duplicate key \"%s\"", key);
          free(key);
          return -1;
        }
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        free(key);
        unexpected(ps, "':' after the key");
        return -1;
      }
      ps->p++;
    }
    if (push(v, &cap, key)) {
      free(key);
      fail(ps, ps->p, "out of memory");
      return -1;
    }
    if (value(ps, &v->items[v->n - 1], depth + 1))
      return -1;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
        fail(ps, ps->p, "trailing comma before '%c'", *ps->p);
        return -1;
      }
      continue;
    }
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
      ps->p++;
      return 0;
    }
    if (ps->p >= ps->end) {
      fail(ps, open, "%s never closed", obj ? "object" : "array");
      return -1;
    }
    unexpected(ps, obj ? "',' or '}'" : "',' or ']'");
    return -1;
  }
}

static int value(parser *ps, nnci_jv *v, int depth)
{
  skip_ws(ps);
  if (ps->p >= ps->end) {
    unexpected(ps, "a value");
    return -1;
  }
  switch (*ps->p) {
  case '{':
  case '[':
    return container(ps, v, depth);
  case '"':
    v->type = NNCI_JSTR;
    return string(ps, &v->str);
  case 't':
  case 'f':
  case 'n':
    if (literal(ps, "true")) {
      v->type = NNCI_JBOOL;
      v->b = 1;
      return 0;
    }
    if (literal(ps, "false")) {
      v->type = NNCI_JBOOL;
      return 0;
    }
    if (literal(ps, "null")) {
      v->type = NNCI_JNULL;
      return 0;
    }
    break;
  default:
    if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
      v->type = NNCI_JNUM;
      return number(ps, &v->num);
    }
  }
  unexpected(ps, "a value (object, array, string, number, true, false or "
                 "null)");
  return -1;
}

static void clear(nnci_jv *v)
{
  free(v->str);
  for (size_t i = 0; i < v->n; i++) {
    clear(&v->items[i]);
    if (v->keys)
      free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
}

void nnci_json_free(nnci_jv *v)
{
  if (!v)
    return;
  clear(v);
  free(v);
}

int nnci_json_parse(const char *text, size_t len, nnci_jv **out, char *err,
                    size_t errlen)
{
  parser ps = {(const unsigned char *)text, (const unsigned char *)text + len,
               (const unsigned char *)text, err, errlen, 0};
  *out = NULL;
  if (errlen)
    err[0] = 0;
  nnci_jv *v = calloc(1, sizeof *v);
  if (!v) {
    fail(&ps, ps.p, "out of memory");
    return -1;
  }
  skip_ws(&ps);
  if (ps.p >= ps.end) {
    fail(&ps, ps.p, "empty input: no JSON value");
    nnci_json_free(v);
    return -1;
  }
  if (value(&ps, v, 0) == 0) {
    skip_ws(&ps);
    if (ps.p < ps.end)
      fail(&ps, ps.p, "text after the JSON value");
  }
  if (ps.failed) {
    nnci_json_free(v);
    return -1;
  }
  *out = v;
  return 0;
}

const nnci_jv *nnci_json_get(const nnci_jv *v, const char *key)
{
  if (!v || v->type != NNCI_JOBJ)
    return NULL;
  for (size_t i = 0; i < v->n; i++)
    if (!strcmp(v->keys[i], key))
      return &v->items[i];
  return NULL;
}

const char *nnci_json_get_str(const nnci_jv *v, const char *key)
{
  const nnci_jv *m = nnci_json_get(v, key);
  return m && m->type == NNCI_JSTR ? m->str : NULL;
}

double nnci_json_get_num(const nnci_jv *v, const char *key, double dflt)
{
  const nnci_jv *m = nnci_json_get(v, key);
  return m && m->type == NNCI_JNUM ? m->num : dflt;
}
