#include "config.h"
#include "testutil.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *dflt)
{
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

static void append(char **buf, size_t *len, size_t *cap, const char *p,
                   size_t n)
{
  if (*len + n + 1 > *cap) {
    *cap = (*len + n + 1) * 2;
    *buf = realloc(*buf, *cap);
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  (*buf)[*len] = 0;
}

run_result run_prog(const char *path, const char *const *argv)
{
  run_result r = {0, NULL, NULL, NULL};
  int po[2], pe[2];
  if (pipe(po) || pipe(pe))
    abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(po[1], 1);
    dup2(pe[1], 2);
    close(po[0]);
    close(pe[0]);
    close(po[1]);
    close(pe[1]);
    size_t n = 0;
    while (argv[n])
      n++;
    char **av = calloc(n + 2, sizeof *av);
    av[0] = (char *)path;
    for (size_t i = 1; i < n; i++)
      av[i] = (char *)argv[i];
    execv(path, av);
    fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  close(po[1]);
  close(pe[1]);
  size_t lo = 0, co = 0, le = 0, ce = 0;
  append(&r.out, &lo, &co, "", 0);
  append(&r.err, &le, &ce, "", 0);
  struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR)
      break;
    for (int k = 0; k < 2; k++) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t got = read(fds[k].fd, buf, sizeof buf);
      if (got <= 0) {
        close(fds[k].fd);
        fds[k].fd = -1;
        open_fds--;
      } else if (k == 0)
        append(&r.out, &lo, &co, buf, (size_t)got);
      else
        append(&r.err, &le, &ce, buf, (size_t)got);
    }
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

run_result run_tool(const char *tool, const char *const *argv)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", env_or("NNC_TOOLS_DIR", "tools"), tool);
  run_result r = run_prog(path, argv);
  r.tool = tool;
  return r;
}

void expect_error(run_result r, int status, const char *needle)
{
  ck_assert_msg(r.status == status, "exit %d, expected %d; stderr: %s",
                r.status, status, r.err);
  size_t tl = r.tool ? strlen(r.tool) : 0;
  ck_assert_msg(tl && !strncmp(r.err, r.tool, tl) &&
                    !strncmp(r.err + tl, ": ", 2),
                "stderr: %s", r.err);
  ck_assert_msg(strstr(r.err, needle), "'%s' not in: %s", needle, r.err);
  ck_assert_msg(count_of(r.err, "\n") == 1, "not one line: %s", r.err);
  run_free(&r);
}

void run_free(run_result *r)
{
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

char *make_tmpdir(void)
{
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/nncheck-test-XXXXXX", env_or("TMPDIR", "/tmp"));
  char *d = mkdtemp(tmpl);
  return d ? strdup(d) : NULL;
}

char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0, got;
  char tmp[65536];
  while ((got = fread(tmp, 1, sizeof tmp, f)) > 0)
    append(&buf, &n, &cap, tmp, got);
  fclose(f);
  if (!buf)
    buf = calloc(1, 1);
  if (len)
    *len = n;
  return buf;
}

const char *test_plugin(const char *name)
{
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s.so",
           env_or("NNC_TEST_PLUGINS", "tests/plugins/.libs"), name);
  return path;
}

const char *twin_of(const char *bug)
{
  static const char *map[][2] = {
      {"bug_conv2d_noflip", "conv2d"},     {"bug_conv2d_border", "conv2d"},
      {"bug_maxpool_alltied", "maxpool2_ties"},
      {"bug_layernorm_nomean", "layernorm"},
      {"bug_norm_batchstats", "layernorm"}, {"bug_softmax_diag", "softmax"},
      {"bug_attention_scale", "attention"}};
  static char buf[160];
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (!strcmp(bug, map[i][0]))
      return map[i][1];
  snprintf(buf, sizeof buf, "ok_%s", bug + 4);
  return buf;
}

int expected_exit(const char *tool, const char *name)
{
  int bug = !strncmp(name, "bug_", 4);
  int want = bug && !strcmp(tool, "gradcheck") ? 1 : 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/fixtures/expect.tsv",
           env_or("NNC_SRCDIR", "."));
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot read %s\n", path);
    abort();
  }
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n')
      continue;
    char fx[256], tl[64];
    int ex;
    if (sscanf(line, "%255[^\t]\t%63[^\t]\t%d", fx, tl, &ex) == 3 &&
        !strcmp(fx, name) && !strcmp(tl, tool))
      want = ex;
  }
  fclose(f);
  return want;
}

size_t count_of(const char *hay, const char *needle)
{
  size_t n = 0, k = strlen(needle);
  for (const char *p = hay; (p = strstr(p, needle)); p += k)
    n++;
  return n;
}

/* ---- a strict JSON syntax check (RFC 8259), enough to prove a report
 * parses ------------------------------------------------------------------ */
static const char *ws(const char *p)
{
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
    p++;
  return p;
}

static const char *value(const char *p, int depth);

static const char *string(const char *p)
{
  if (*p++ != '"')
    return NULL;
  while (*p != '"') {
    if ((unsigned char)*p < 0x20)
      return NULL;
    if (*p == '\\') {
      p++;
      if (*p == 'u') {
        for (int i = 1; i <= 4; i++)
          if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
            return NULL;
        p += 5;
        continue;
      }
      if (!*p || !strchr("\"\\/bfnrt", *p))
        return NULL;
    }
    p++;
  }
  return p + 1;
}

static const char *number(const char *p)
{
  if (*p == '-')
    p++;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (*p >= '0' && *p <= '9')
      p++;
  else
    return NULL;
  if (*p == '.') {
    p++;
    if (!(*p >= '0' && *p <= '9'))
      return NULL;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-')
      p++;
    if (!(*p >= '0' && *p <= '9'))
      return NULL;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  return p;
}

static const char *value(const char *p, int depth)
{
  if (depth > 64)
    return NULL;
  p = ws(p);
  if (*p == '{') {
    p = ws(p + 1);
    if (*p == '}')
      return p + 1;
    for (;;) {
      if (!(p = string(ws(p))))
        return NULL;
      p = ws(p);
      if (*p++ != ':')
        return NULL;
      if (!(p = value(p, depth + 1)))
        return NULL;
      p = ws(p);
      if (*p == '}')
        return p + 1;
      if (*p++ != ',')
        return NULL;
    }
  }
  if (*p == '[') {
    p = ws(p + 1);
    if (*p == ']')
      return p + 1;
    for (;;) {
      if (!(p = value(p, depth + 1)))
        return NULL;
      p = ws(p);
      if (*p == ']')
        return p + 1;
      if (*p++ != ',')
        return NULL;
    }
  }
  if (*p == '"')
    return string(p);
  if (!strncmp(p, "true", 4))
    return p + 4;
  if (!strncmp(p, "false", 5))
    return p + 5;
  if (!strncmp(p, "null", 4))
    return p + 4;
  return number(p);
}

int json_valid(const char *s)
{
  const char *p = value(s, 0);
  return p && !*ws(p);
}

double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

void put32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

void put64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

int run_cases(const char *suite_name, const test_case *cases, size_t n,
              double timeout, enum print_output mode)
{
  Suite *s = suite_create(suite_name);
  for (size_t i = 0; i < n; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, timeout);
    tcase_add_test(tc, cases[i].t);
    suite_add_tcase(s, tc);
  }
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, mode);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
