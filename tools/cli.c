#include "config.h"
#include "cli.h"
#include <nncheck/isolate.h>
#include <nncheck/baseline.h>
#include <nncheck/nncheck.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_tool = "nncheck";
cli_output cli_out = {0, 0, CLI_COLOR_AUTO, 0};
cli_baseline cli_bl = {NULL, NULL, 10, 1e-10, NULL, 0};

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

int cli_args_done(int argc, char **argv, const cli_args *a)
{
  if (a->unknown) {
    /* getopt_long() sets optopt for a short option it knows that lacks
     * its value, 0 for an option it does not know */
    if (optopt)
      cli_error("option '%s' needs a value or is unknown: see %s --help",
                argv[optind - 1], cli_tool);
    else
      cli_error("unknown option '%s': see %s --help", argv[optind - 1],
                cli_tool);
    return NNC_EXIT_USAGE;
  }
  cli_output_ready();
  if (a->list)
    return cli_list_plugins();
  if (a->args) {
    int st = a->args(argc, argv);
    if (st >= 0)
      return st;
  }
  if (a->json && a->tap > 0) {
    cli_error("--json and --tap exclude each other: choose one");
    return NNC_EXIT_USAGE;
  }
  if (a->dumb && (a->json || a->tap > 0)) {
    cli_error("--dumb draws into the text report: not with --json%s (use "
              "--plots DIR)",
              a->tap < 0 ? "" : " or --tap");
    return NNC_EXIT_USAGE;
  }
  return -1;
}

int cli_one_plugin(int argc, char **argv)
{
  (void)argv;
  if (optind >= argc)
    cli_error("no PLUGIN given: see %s --help or %s --list", cli_tool,
              cli_tool);
  else if (optind != argc - 1)
    cli_error("one PLUGIN expected, got %d arguments: see %s --help",
              argc - optind, cli_tool);
  else
    return -1;
  return NNC_EXIT_USAGE;
}

void cli_print_text_plots(int rc, char *text, const char *err)
{
  if (rc == NNC_OK && text && cli_out.quiet) {
    /* --quiet: only the verdict line */
  } else if (rc == NNC_OK && text) {
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
static nnc_afile cli_outfile;

/* atexit, in the process that printed the report: into place, unless a
 * plugin callback is ending the process or nothing was written. */
static void cli_out_commit(void)
{
  if (!cli_outfile.f || nnc_isolate_in_callback())
    return;
  fflush(stdout);
  char err[1024];
  if (lseek(STDOUT_FILENO, 0, SEEK_CUR) <= 0)
    nnc_afile_abort(&cli_outfile);
  else if (nnc_afile_commit(&cli_outfile, err, sizeof err) != NNC_OK)
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
    /* the report goes to a file: no colour unless asked for */
    if (cli_out.color_mode != CLI_COLOR_ALWAYS)
      cli_out.color = 0;
    char err[1024];
    if (nnc_afile_open(&cli_outfile, cli_out_path, "w", err, sizeof err)) {
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
    if (cli_outfile.f) {
      fflush(stdout);
      if (dup2(fileno(cli_outfile.f), STDOUT_FILENO) < 0) {
        cli_error("--output: %s: %s", cli_out_path, strerror(errno));
        exit(NNC_EXIT_USAGE);
      }
      atexit(cli_out_commit);
    }
    return 0;
  }
  /* the child committed the report, or it crashed: no temporary file */
  nnc_afile_abort(&cli_outfile);
  if (crash.kind == NNC_CRASH_INTERRUPTED) {
    /* the user's ^C (or a closed pipe): end as the child did, silently */
    signal(crash.signo, SIG_DFL);
    raise(crash.signo);
  } else if (crash.kind != NNC_CRASH_NONE) {
    cli_error("%s: %s", crash.text, crash.advice);
  }
  return 1;
}

/* ---- output conventions ------------------------------------------------- */

int cli_output_option(int c, const char *arg)
{
  switch (c) {
  case 'q':
  case CLI_OPT_QUIET: cli_out.quiet = 1; return 1;
  case 'v':
  case CLI_OPT_VERBOSE: cli_out.verbose = 1; return 1;
  case CLI_OPT_COLOR:
    if (!strcmp(arg, "auto"))
      cli_out.color_mode = CLI_COLOR_AUTO;
    else if (!strcmp(arg, "always"))
      cli_out.color_mode = CLI_COLOR_ALWAYS;
    else if (!strcmp(arg, "never"))
      cli_out.color_mode = CLI_COLOR_NEVER;
    else {
      cli_error("--color: '%s' is not one of auto, always, never", arg);
      exit(NNC_EXIT_USAGE);
    }
    return 1;
  case CLI_OPT_VERSION:
    printf("%s (nncheck) %s\n", cli_tool, PACKAGE_VERSION);
    exit(NNC_EXIT_OK);
  }
  return 0;
}

void cli_output_ready(void)
{
  if (cli_out.quiet && cli_out.verbose) {
    cli_error("--quiet and --verbose contradict each other: choose one");
    exit(NNC_EXIT_USAGE);
  }
  const char *nc = getenv("NO_COLOR");
  switch (cli_out.color_mode) {
  case CLI_COLOR_ALWAYS: cli_out.color = 1; break;
  case CLI_COLOR_NEVER: cli_out.color = 0; break;
  default: cli_out.color = isatty(1) && !(nc && *nc);
  }
}

static void vline(const char *fmt, va_list ap)
{
  fprintf(stderr, "%s: ", cli_tool);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cli_verbose(const char *fmt, ...)
{
  if (!cli_out.verbose)
    return;
  va_list ap;
  va_start(ap, fmt);
  vline(fmt, ap);
  va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
  if (cli_out.quiet)
    return;
  va_list ap;
  va_start(ap, fmt);
  vline(fmt, ap);
  va_end(ap);
}

double cli_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static char *report_buf;
static size_t report_len;

FILE *cli_report_begin(void)
{
  report_buf = NULL;
  report_len = 0;
  FILE *f = open_memstream(&report_buf, &report_len);
  return f ? f : stdout;
}

/* The ANSI colour of a verdict word, or NULL. */
static const char *word_color(const char *w, size_t n, int after_verdict)
{
#define IS(s) (n == sizeof(s) - 1 && !memcmp(w, s, n))
  if (IS("PASS") || (after_verdict && IS("OK")))
    return "\033[32m";
  if (IS("WARN") || IS("INCONCLUSIVE"))
    return "\033[33m";
  if (IS("FAIL") || IS("ERROR") ||
      (after_verdict && (IS("RISES") || IS("FLAT"))))
    return "\033[31m";
  return NULL;
#undef IS
}

static int word_char(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_';
}

void cli_emit(FILE *f, const char *text)
{
  if (!cli_out.color || f != stdout) {
    fputs(text, f);
    return;
  }
  const char *p = text;
  int bol = 1;
  while (*p) {
    int after_verdict = 0;
    if (bol) {
      static const char *const heads[] = {"verdict: ", "baseline comparison: "};
      for (size_t k = 0; k < 2; k++) {
        size_t hl = strlen(heads[k]);
        if (!strncmp(p, heads[k], hl)) {
          fwrite(p, 1, hl, f);
          p += hl;
          after_verdict = 1;
          break;
        }
      }
    }
    bol = 0;
    if (word_char(*p)) {
      const char *q = p;
      while (word_char(*q))
        q++;
      const char *c = word_color(p, (size_t)(q - p), after_verdict);
      if (c)
        fprintf(f, "%s\033[1m%.*s\033[0m", c, (int)(q - p), p);
      else
        fwrite(p, 1, (size_t)(q - p), f);
      p = q;
      continue;
    }
    bol = *p == '\n';
    fputc(*p++, f);
  }
}

/* Print the lines of text that --quiet keeps (or all of them). */
static void emit_filtered(const char *text, const char *const *keep)
{
  if (!cli_out.quiet || !keep) {
    cli_emit(stdout, text);
    return;
  }
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
    int k = 0;
    for (const char *const *h = keep; *h && !k; h++)
      k = !strncmp(p, *h, strlen(*h));
    if (k) {
      char *line = strndup(p, n);
      if (line)
        cli_emit(stdout, line);
      free(line);
    }
    p += n;
  }
}

static const char *const quiet_keep[] = {"verdict:", "baseline comparison:",
                                         "regression:", NULL};

void cli_report_end(FILE *f)
{
  if (f == stdout) {
    fflush(stdout);
    return;
  }
  fclose(f);
  if (report_buf)
    emit_filtered(report_buf, quiet_keep);
  fflush(stdout);
  free(report_buf);
  report_buf = NULL;
}

void cli_usage_output(FILE *f)
{
  fputs("  -q, --quiet       print only the verdict line (and errors); no\n"
        "                    warnings [off]\n"
        "  -v, --verbose     also say on stderr which plugin file was loaded,\n"
        "                    with which settings, and how long it took [off]\n"
        "  --color WHEN      colour the verdict words PASS, WARN, FAIL: auto\n"
        "                    (when stdout is a terminal and NO_COLOR is unset\n"
        "                    or empty), always or never [auto]\n"
        "  --version         print the version and exit\n"
        "  -h, --help        print this help and exit\n",
        f);
}

void cli_usage_baseline(FILE *f)
{
  fputs("  --baseline FILE   compare this run with FILE, the --json report of\n"
        "                    an earlier run: exit 1, naming each entry, when\n"
        "                    one that did not FAIL there FAILs now, when one\n"
        "                    is missing, or when a block's relative error\n"
        "                    grew past the factor [no comparison]\n"
        "  --baseline-factor F  growth limit: a block regresses when its\n"
        "                    error exceeds F x max(baseline error, floor) [10]\n"
        "  --baseline-floor E   errors below E are round-off: growth among\n"
        "                    them is not a regression [1e-10]\n"
        "  --write-baseline FILE  write this run's --json report to FILE\n"
        "                    (atomically) as the baseline for later runs\n"
        "                    [none]\n",
        f);
}

void cli_usage_env(FILE *f)
{
  fputs("Environment:\n"
        "  NNCHECK_PLUGIN_PATH  colon-separated directories searched first for\n"
        "                    a PLUGIN given by name; then the build tree and\n"
        "                    the installed plugin directory\n"
        "  NO_COLOR          when set and not empty, no colour under\n"
        "                    --color=auto\n",
        f);
}

/* ---- CI baselines ------------------------------------------------------- */

int cli_baseline_option(int c, const char *arg)
{
  switch (c) {
  case CLI_OPT_BASELINE: cli_bl.path = arg; return 1;
  case CLI_OPT_WRITE_BASELINE: cli_bl.write = arg; return 1;
  case CLI_OPT_BASELINE_FACTOR:
    cli_bl.factor = cli_double("--baseline-factor", arg, 1, 1e300);
    return 1;
  case CLI_OPT_BASELINE_FLOOR:
    cli_bl.floor = cli_double("--baseline-floor", arg, 0, 1);
    return 1;
  }
  return 0;
}

void cli_baseline_ready(const char *tool)
{
  if (!cli_bl.path)
    return;
  char err[8192];
  int rc = nnc_baseline_load(cli_bl.path, tool, &cli_bl.text, &cli_bl.len, err,
                             sizeof err);
  if (rc != NNC_OK) {
    cli_error("--baseline: %s", err);
    exit(NNC_EXIT_USAGE);
  }
}

int cli_baseline_show(int rc, const struct nnc_baseline_result *res,
                      const char *err, int text_mode)
{
  if (rc != NNC_OK) {
    cli_error("--baseline: %s", err);
    return nnc_err_exit_status(rc);
  }
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (!m) {
    cli_error("--baseline: out of memory");
    return NNC_EXIT_USAGE;
  }
  nnc_baseline_report_text(res, m);
  fclose(m);
  if (text_mode) {
    if (!cli_out.quiet)
      fputc('\n', stdout);
    emit_filtered(text, quiet_keep);
    fflush(stdout);
  } else
    for (char *p = text; p && *p;) {
      char *nl = strchr(p, '\n');
      if (nl)
        *nl = 0;
      if (!cli_out.quiet || strncmp(p, "note:", 5))
        fprintf(stderr, "%s: %s\n", cli_tool, p);
      p = nl ? nl + 1 : p + strlen(p);
    }
  free(text);
  return nnc_baseline_exit_status(res);
}

int cli_baseline_finish(int status, void (*report_json)(const void *, FILE *),
                        const void *res, int run_failed, int text_mode)
{
  char err[1024] = "out of memory";
  char *json = NULL;
  size_t len = 0;
  FILE *mf = open_memstream(&json, &len);
  if (mf) {
    report_json(res, mf);
    if (fclose(mf)) {
      free(json);
      json = NULL;
    }
  }
  int rc;
  if (cli_bl.path) {
    nnc_baseline_opts bo = {cli_bl.factor, cli_bl.floor};
    nnc_baseline_result *br = NULL;
    rc = json ? nnc_baseline_compare(cli_bl.text, cli_bl.len, json, len, &bo,
                                     &br, err, sizeof err)
              : NNC_ENOMEM;
    int bst = cli_baseline_show(rc, br, err, text_mode);
    if (status == NNC_EXIT_OK)
      status = bst;
    nnc_baseline_free(br);
    free(cli_bl.text);
    cli_bl.text = NULL;
  }
  if (!cli_bl.write) {
    free(json);
    return status;
  }
  if (run_failed) {
    cli_error("--write-baseline: the run stopped with an error: no "
              "baseline written to %s",
              cli_bl.write);
    rc = NNC_EARG;
  } else if (!json) {
    cli_error("--write-baseline: out of memory");
    rc = NNC_ENOMEM;
  } else if ((rc = nnc_baseline_write(json, len, cli_bl.write, err,
                                      sizeof err)) != NNC_OK) {
    cli_error("--write-baseline: %s", err);
  } else {
    cli_verbose("baseline written to %s", cli_bl.write);
  }
  if (rc != NNC_OK && status == NNC_EXIT_OK)
    status = run_failed ? NNC_EXIT_USAGE : nnc_err_exit_status(rc);
  free(json);
  return status;
}
