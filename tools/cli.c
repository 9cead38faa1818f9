#include "config.h"
#include "cli.h"
#include <nncheck/nncheck.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *cli_tool = "nncheck";

void cli_error(const char *fmt, ...)
{
  char msg[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* one line whatever the message quotes (an argument with a newline) */
  for (char *p = msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  fprintf(stderr, "%s: %s\n", cli_tool, msg);
}

uint64_t cli_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
  char *end;
  errno = 0;
  if (!s || !isdigit((unsigned char)*s)) { /* no sign, no blank */
    cli_error("%s: '%s' is not a whole number in [%llu, %llu]: give one in "
              "that range",
              opt, s ? s : "", (unsigned long long)lo, (unsigned long long)hi);
    exit(NNC_EXIT_USAGE);
  }
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi) {
    cli_error("%s: '%s' is not a whole number in [%llu, %llu]: give one in "
              "that range",
              opt, s, (unsigned long long)lo, (unsigned long long)hi);
    exit(NNC_EXIT_USAGE);
  }
  return v;
}

double cli_double(const char *opt, const char *s, double lo, double hi)
{
  char *end;
  errno = 0;
  /* the whole string: no leading blank either (strtod would skip it) */
  double v = s && *s && !isspace((unsigned char)*s) ? strtod(s, &end) : NAN;
  if (!s || !*s || isspace((unsigned char)*s) || errno || *end ||
      !isfinite(v) || v < lo || v > hi) {
    cli_error("%s: '%s' is not a number in [%g, %g]: give one in that range",
              opt, s ? s : "", lo, hi);
    exit(NNC_EXIT_USAGE);
  }
  return v;
}

void cli_mkdirs(const char *opt, const char *dir)
{
  char buf[4096];
  if (!*dir || strlen(dir) >= sizeof buf) {
    cli_error("%s: '%s' is not a usable directory name", opt, dir);
    exit(NNC_EXIT_USAGE);
  }
  strcpy(buf, dir);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || !*p) {
      char c = *p;
      *p = 0;
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        cli_error("%s: cannot create directory %s: %s", opt, buf,
                  strerror(errno));
        exit(NNC_EXIT_USAGE);
      }
      *p = c;
      if (!c)
        break;
    }
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    cli_error("%s: %s is not a directory", opt, dir);
    exit(NNC_EXIT_USAGE);
  }
}

int cli_list_plugins(void)
{
  nnc_plugin_listing *v;
  size_t n;
  char err[512];
  int rc = nnc_plugin_list(&v, &n, err, sizeof err);
  if (rc != NNC_OK) {
    cli_error("--list: %s", err);
    return nnc_err_exit_status(rc);
  }
  for (size_t i = 0; i < n; i++)
    printf("%s\t%s\t%s\n", v[i].name,
           v[i].kind == NNC_KIND_NET     ? "net"
           : v[i].kind == NNC_KIND_LAYER ? "layer"
                                         : "broken",
           v[i].summary);
  free(v);
  return 0;
}

void cli_print_text_plots(int rc, char *text, const char *err)
{
  if (rc == NNC_OK && text) {
    fputs("\n", stdout);
    fputs(text, stdout);
    fflush(stdout);
  } else
    cli_error("--dumb: %s", err);
  free(text);
}
