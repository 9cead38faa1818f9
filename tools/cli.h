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

#endif
