/* Shared by the lib/search*.c files only. */
#ifndef NNC_SEARCH_INTERNAL_H
#define NNC_SEARCH_INTERNAL_H
#include <nncheck/search.h>
#include <stdio.h>

int nnci_search_fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
double nnci_to_scale(int scale, double v);
double nnci_from_scale(int scale, double s);
int nnci_param_index(const nnc_search_space *sp, const char *name);
/* The usable trials of t sorted best first into order; how many. */
size_t nnci_rank(const nnc_trial *t, size_t n, const nnc_trial **order);

/* A whole file, NUL-terminated (malloc'ed): NNC_ENOTFOUND, NNC_EIO. */
int nnci_read_text(const char *path, char **text, char *err, size_t errlen);
/* Write len bytes to path through a temporary name beside it and rename. */
int nnci_write_atomic(const char *path, const char *data, size_t len,
                      char *err, size_t errlen);
/* A memory stream's text written atomically (closes the stream). */
int nnci_write_stream(const char *path, FILE *mem, char **buf, size_t *len,
                      char *err, size_t errlen);
int nnci_mkdir(const char *path, char *err, size_t errlen);
double nnci_now(void); /* seconds, monotonic */

/* DIR/trials/trialNNNN into buf. */
void nnci_trial_dir(const char *dir, size_t index, char *buf, size_t len);
/* Read a trial's result.txt, else its progress.txt (status pending), into
 * t (arrays malloc'ed; free with nnci_trial_clear).  1 when neither exists,
 * 0 when read, an error code when malformed. */
int nnci_trial_load(const char *tdir, size_t nparams, nnc_trial *t);
void nnci_trial_clear(nnc_trial *t);
/* The result/progress text of a trial. */
void nnci_trial_write(const nnc_trial *t, size_t nparams, FILE *f);
/* Stage plan S of dir: 0, 1 when it does not exist yet, or an error. */
int nnci_plan_load(const char *dir, size_t s, nnc_search_plan *p, char *err,
                   size_t errlen);
/* Trial args from the template and the values. */
int nnci_trial_args(const nnc_search_space *sp, const double *values,
                    char *out, size_t len);
#endif
