/* What every nncheck tool shares: strict number parsing, one-line errors
 * ("TOOL: what is wrong: what to do") on stderr with the documented exit
 * status, and the output conventions (--quiet, --verbose, --color,
 * --version) and CI baselines (--baseline, --write-baseline) every tool
 * spells the same way.
 *
 * A tool adds the shared options to its own:
 *   static const struct option longopts[] = {..., CLI_OUTPUT_LONGOPTS,
 *                                             {0, 0, 0, 0}};
 *   while ((c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, 0)) != -1)
 *     switch (c) { ...; default: if (cli_output_option(c, optarg)) break; ...}
 * then, after parsing, cli_args_done() (which calls cli_output_ready(), the
 * colour's resolution), and prints its text report through
 * cli_report_begin() / cli_report_end(). */
#ifndef NNC_CLI_H
#define NNC_CLI_H
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

extern const char *cli_tool; /* the tool's name, for messages */

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a whole string as a number within [lo, hi]; on failure print one
 * line naming the option and exit 2. */
uint64_t cli_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi);
double cli_double(const char *opt, const char *s, double lo, double hi);
/* --list: every bundled plugin and fixture, one a line: name, kind,
 * description, tab-separated.  Returns the exit status. */
int cli_list_plugins(void);
/* --dumb: print plots drawn as text after the report, or, when drawing
 * failed (rc != 0), one warning line: the verdict stands either way.
 * Frees text. */
void cli_print_text_plots(int rc, char *text, const char *err);
/* ---- the end of option parsing ------------------------------------------ */

/* After getopt_long() (optind and optopt as it left them), the checks
 * every tool makes alike, in this order, so that of two mistakes each tool
 * names the same one: an option no case took ("unknown option 'X'", or
 * "option 'X' needs a value or is unknown"), cli_output_ready(), --list
 * (the bundled plugins instead of any work), the arguments (args below),
 * --json with --tap, then --dumb with --json or --tap.  Returns the exit
 * status to end with (after one line on stderr, or the list), or -1 to go
 * on.  The option loop stops at the first option it does not know:
 *
 *   while (!unknown && (c = getopt_long(...)) != -1)
 *     switch (c) { ...; default: unknown = !cli_isolate_option(c, optarg) &&
 *                                          !cli_output_option(c, optarg); }
 *   int stop = cli_args_done(argc, argv, &(cli_args){.unknown = unknown,
 *                                                    .list = list, ...});
 *   if (stop >= 0)
 *     return stop;
 */
typedef struct cli_args {
  int unknown; /* getopt_long() stopped at an option no case took */
  int list;    /* --list */
  int json;    /* --json */
  int tap;     /* --tap; -1 for a tool that has no --tap */
  int dumb;    /* --dumb: plots drawn as text after the text report */
  /* Checks the arguments after the options (argv[optind] on): one line and
   * the exit status when they are wrong, -1 when they are right.
   * cli_one_plugin, the tool's own, or NULL: the tool checks them after. */
  int (*args)(int argc, char **argv);
} cli_args;
int cli_args_done(int argc, char **argv, const cli_args *a);
/* cli_args.args of a tool that takes one PLUGIN: "no PLUGIN given" or "one
 * PLUGIN expected, got N arguments", exit 2. */
int cli_one_plugin(int argc, char **argv);

/* Create a directory and its parents; exits 2 with a message on failure. */
void cli_mkdirs(const char *opt, const char *dir);

/* Isolation, for every tool (see nncheck/isolate.h): the plugin work runs
 * in a supervised child; a crash, a hang past --timeout or an exit() inside
 * a callback becomes one line on stderr and exit status 3.  In a tool:
 *
 *   longopts:  CLI_ISOLATE_LONGOPTS,
 *   switch:    default: if (cli_isolate_option(c, optarg)) break; ...
 *   usage:     ... CLI_ISOLATE_HELP ...
 *   main:      if (cli_isolate(&status)) return status;   (before opening
 *              the plugin)
 */
#define CLI_OPT_NOFORK 0x4e01
#define CLI_OPT_TIMEOUT 0x4e02
#define CLI_OPT_OUTPUT 0x4e03
#define CLI_ISOLATE_LONGOPTS                                                   \
  {"no-fork", no_argument, 0, CLI_OPT_NOFORK},                                 \
  {"timeout", required_argument, 0, CLI_OPT_TIMEOUT},                          \
  {"output", required_argument, 0, CLI_OPT_OUTPUT}
#define CLI_ISOLATE_HELP                                                       \
  "  --output FILE     write the report into FILE instead of stdout, complete\n"\
  "                    or not at all (a temporary file renamed into place)\n" \
  "                    [stdout]\n"                                            \
  "  --timeout SECONDS one plugin callback may run this long before it is\n"   \
  "                    killed and reported as hung (exit 3); 0: no limit [60]\n"\
  "  --no-fork         run the plugin in this process, unsupervised, to debug\n"\
  "                    it under gdb [a supervised child: a crash, a hang or\n" \
  "                    an exit() in a callback is reported in one line, exit\n"\
  "                    3, and the output written so far is kept]\n"
/* 1 when c was --no-fork, --timeout or --output (taken), 0 otherwise. */
int cli_isolate_option(int c, const char *arg);
/* Split into the supervised child: returns 0 in the child (go on with the
 * plugin work; with --no-fork, in this process) and 1 in the parent once
 * the child has ended, with the tool's exit status in *status (the
 * child's own, or 3 after printing what happened in one line).  With
 * --output FILE, the child's stdout goes to a temporary file beside FILE,
 * renamed over FILE when the tool ends normally having written something;
 * never after a crash or a plugin's exit(). */
int cli_isolate(int *status);
/* ---- output conventions ------------------------------------------------- */

enum {
  CLI_OPT_QUIET = 1000, CLI_OPT_VERBOSE, CLI_OPT_COLOR, CLI_OPT_VERSION,
  CLI_OPT_BASELINE, CLI_OPT_WRITE_BASELINE, CLI_OPT_BASELINE_FACTOR,
  CLI_OPT_BASELINE_FLOOR
};
enum { CLI_COLOR_AUTO = 0, CLI_COLOR_ALWAYS = 1, CLI_COLOR_NEVER = 2 };

/* Short options every tool takes: -h (help), -q (quiet), -v (verbose). */
#define CLI_SHORTOPTS "hqv"
#define CLI_OUTPUT_LONGOPTS                                                    \
  {"quiet", no_argument, 0, CLI_OPT_QUIET},                                    \
      {"verbose", no_argument, 0, CLI_OPT_VERBOSE},                            \
      {"color", required_argument, 0, CLI_OPT_COLOR},                          \
      {"colour", required_argument, 0, CLI_OPT_COLOR},                         \
      {"version", no_argument, 0, CLI_OPT_VERSION}
#define CLI_BASELINE_LONGOPTS                                                  \
  {"baseline", required_argument, 0, CLI_OPT_BASELINE},                        \
      {"write-baseline", required_argument, 0, CLI_OPT_WRITE_BASELINE},        \
      {"baseline-factor", required_argument, 0, CLI_OPT_BASELINE_FACTOR},      \
      {"baseline-floor", required_argument, 0, CLI_OPT_BASELINE_FLOOR}

typedef struct cli_output {
  int quiet;      /* text report: only the verdict line; no warnings */
  int verbose;    /* what was loaded and done, on stderr */
  int color_mode; /* CLI_COLOR_AUTO, _ALWAYS or _NEVER (--color) */
  int color;      /* resolved: colour verdict words on stdout */
} cli_output;
extern cli_output cli_out;

/* Handle -q, -v, --quiet, --verbose, --color, --version: 1 when c was one
 * of them (--version prints and exits 0; a bad --color value exits 2). */
int cli_output_option(int c, const char *arg);
/* After parsing: refuse --quiet with --verbose (exit 2), and resolve the
 * colour: always; never; auto = stdout is a terminal and NO_COLOR is unset
 * or empty.  An explicit --color=always wins over NO_COLOR. */
void cli_output_ready(void);
/* stderr line "TOOL: ..." when --verbose. */
void cli_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* stderr line "TOOL: ..." unless --quiet: for warnings. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Seconds on a monotonic clock, for --verbose timings. */
double cli_now(void);

/* A text report goes into the stream cli_report_begin() returns (never
 * NULL: stdout itself when memory is short); cli_report_end() prints it to
 * stdout: with --quiet only its lines starting "verdict:", "regression:" or
 * "baseline comparison:",
 * and with colour the verdict words coloured. */
FILE *cli_report_begin(void);
void cli_report_end(FILE *f);
/* Print text to f, colouring the verdict words when cli_out.color and f is
 * stdout: PASS and OK green, WARN and INCONCLUSIVE yellow, FAIL and ERROR
 * red (whole words), and the word after "verdict: " by the same rule, with
 * RISES and FLAT red. */
void cli_emit(FILE *f, const char *text);

/* --help pieces every tool prints alike: the shared options (-q, -v,
 * --color, --version, -h) with their defaults; the baseline options; the
 * environment and files. */
void cli_usage_output(FILE *f);
void cli_usage_baseline(FILE *f);
void cli_usage_env(FILE *f);

/* ---- CI baselines (gradcheck, sanity) --------------------------------- */

typedef struct cli_baseline {
  const char *path;     /* --baseline FILE, or NULL */
  const char *write;    /* --write-baseline FILE, or NULL */
  double factor, floor; /* --baseline-factor, --baseline-floor */
  char *text;           /* the baseline, read before the run */
  size_t len;
} cli_baseline;
extern cli_baseline cli_bl;

/* Handle --baseline, --write-baseline, --baseline-factor, --baseline-floor:
 * 1 when c was one of them. */
int cli_baseline_option(int c, const char *arg);
/* Before the run: read and check the --baseline file (exit 2 with one line
 * when it is missing or malformed, before any work is done). */
void cli_baseline_ready(const char *tool);
/* After the run: print the comparison (rc, res and err as returned by
 * nnc_baseline_compare_*) into the report (text mode, to stdout) or to
 * stderr (--json, --tap), and return the status it adds: 0, 1 for a
 * regression, 2 when the comparison itself failed. */
struct nnc_baseline_result;
int cli_baseline_show(int rc, const struct nnc_baseline_result *res,
                      const char *err, int text_mode);
/* After the run, with --baseline and/or --write-baseline: render the run's
 * JSON report (report_json(res, f)), compare it with the baseline and show
 * the findings as cli_baseline_show does, then write it as the new baseline
 * unless the run stopped with an error (run_failed).  Returns status, or
 * what these found when status is 0. */
int cli_baseline_finish(int status, void (*report_json)(const void *, FILE *),
                        const void *res, int run_failed, int text_mode);

#endif
