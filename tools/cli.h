/* What every nncheck tool shares: strict number parsing and one-line errors
 * ("TOOL: what is wrong: what to do") on stderr with the documented exit
 * status. */
#ifndef NNC_CLI_H
#define NNC_CLI_H
#include <stdint.h>
#include <stddef.h>

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

#endif
