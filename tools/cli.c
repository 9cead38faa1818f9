#include "config.h"
#include "cli.h"
#include <nncheck/isolate.h>
#include <nncheck/nncheck.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *cli_tool = "nncheck";

void cli_error(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", cli_tool);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

uint64_t cli_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') {
    cli_error("%s: '%s' is not a whole number: give one in [%llu, %llu]", opt,
              s ? s : "", (unsigned long long)lo, (unsigned long long)hi);
    exit(NNC_EXIT_USAGE);
  }
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi) {
    cli_error("%s: '%s' is not a whole number in [%llu, %llu]", opt, s,
              (unsigned long long)lo, (unsigned long long)hi);
    exit(NNC_EXIT_USAGE);
  }
  return v;
}

double cli_double(const char *opt, const char *s, double lo, double hi)
{
  char *end;
  errno = 0;
  double v = s && *s ? strtod(s, &end) : NAN;
  if (!s || !*s || errno || *end || !isfinite(v) || v < lo || v > hi) {
    cli_error("%s: '%s' is not a number in [%g, %g]", opt, s ? s : "", lo, hi);
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

static nnc_isolate_opts cli_iso;
static int cli_iso_set;
static const char *cli_out_path;
static nnc_afile cli_out;

/* atexit, in the process that printed the report: into place, unless a
 * plugin callback is ending the process or nothing was written. */
static void cli_out_commit(void)
{
  if (!cli_out.f || nnc_isolate_in_callback())
    return;
  fflush(stdout);
  char err[1024];
  if (lseek(STDOUT_FILENO, 0, SEEK_CUR) <= 0)
    nnc_afile_abort(&cli_out);
  else if (nnc_afile_commit(&cli_out, err, sizeof err) != NNC_OK)
    cli_error("--output: %s", err);
}

int cli_isolate_option(int c, const char *arg)
{
  if (!cli_iso_set) {
    nnc_isolate_opts_init(&cli_iso);
    cli_iso_set = 1;
  }
  if (c == CLI_OPT_NOFORK)
    cli_iso.no_fork = 1;
  else if (c == CLI_OPT_TIMEOUT)
    cli_iso.timeout = cli_double("--timeout", arg, 0, 1e9);
  else if (c == CLI_OPT_OUTPUT)
    cli_out_path = arg;
  else
    return 0;
  return 1;
}

int cli_isolate(int *status)
{
  if (!cli_iso_set)
    cli_isolate_option(0, NULL);
  if (cli_out_path) {
    char err[1024];
    if (nnc_afile_open(&cli_out, cli_out_path, "w", err, sizeof err)) {
      cli_error("--output: %s", err);
      *status = NNC_EXIT_USAGE;
      return 1;
    }
  }
  nnc_crash crash;
  int rc = nnc_isolate_fork(&cli_iso, status, &crash);
  if (rc < 0)
    /* no child could be made: go on unsupervised, and say so */
    cli_error("cannot start a supervised child (%s): running the plugin in "
              "this process",
              nnc_strerror(rc));
  if (rc <= 0) {
    if (cli_out.f) {
      fflush(stdout);
      if (dup2(fileno(cli_out.f), STDOUT_FILENO) < 0) {
        cli_error("--output: %s: %s", cli_out_path, strerror(errno));
        exit(NNC_EXIT_USAGE);
      }
      atexit(cli_out_commit);
    }
    return 0;
  }
  /* the child committed the report, or it crashed: no temporary file */
  nnc_afile_abort(&cli_out);
  if (crash.kind == NNC_CRASH_INTERRUPTED) {
    /* the user's ^C (or a closed pipe): end as the child did, silently */
    signal(crash.signo, SIG_DFL);
    raise(crash.signo);
  } else if (crash.kind != NNC_CRASH_NONE) {
    cli_error("%s: %s", crash.text, crash.advice);
  }
  return 1;
}
