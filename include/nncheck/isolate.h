/* nncheck/isolate.h — surviving a plugin that crashes, hangs or exits, and
 * writing files that are never half there.
 *
 * Isolation.  A plugin is somebody else's C code: it may dereference NULL,
 * abort(), call exit() from a callback or loop forever.  nnc_isolate_fork()
 * splits the program like fork(): the child does all the plugin work and
 * goes on as if nothing happened; the parent only supervises and, once the
 * child has ended, learns how (its exit status, or a crash description).
 * Before every plugin callback the library writes a breadcrumb into memory
 * shared with the parent — which callback, on which model, in which phase of
 * the work, at which block and coordinate, and a sequence number the parent
 * times it by — so that a crash names where it happened: "SIGSEGV in
 * backward() (block W1, coordinate 17) while checking gradients".  A
 * callback still running after the timeout (as the parent's clock sees it,
 * checked ten times per timeout, at most every 250 ms) is killed (SIGKILL)
 * and reported as hung.  A write past the end
 * of a gradient buffer lands on a guard page (models opened in an isolated
 * child surround their gradient buffers with PROT_NONE pages) and is
 * reported as such.
 *
 * With no_fork the work runs in this process, unsupervised, so that a
 * debugger sees the plugin's fault where it happens (guard pages included).
 *
 * Contract: call nnc_isolate_fork() from a single-threaded program, before
 * opening any model: models opened before it are not watched.  The child
 * must end by returning from main() or calling exit() (its status is passed
 * through); stdout is line-buffered in the child, so a crash loses no line
 * already printed.  This is the one place the library keeps process-wide
 * state: the child's pointer to its shared record and its fault handlers,
 * set once in the child (or for the run, with no_fork) and never in a
 * program that does not ask for isolation.
 *
 * Files.  nnc_afile writes a file under a temporary name in the same
 * directory and renames it into place once complete, so that a crash or a
 * kill at any moment leaves either the old file or the complete new one
 * under the final name, never a part.  Every file nncheck writes (reports,
 * plots, checkpoints) goes through it.
 */
#ifndef NNCHECK_ISOLATE_H
#define NNCHECK_ISOLATE_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- isolation ------------------------------------------------------------ */

typedef struct nnc_isolate_opts {
  int no_fork;          /* run in this process, unsupervised (debugging) */
  double timeout;       /* seconds one plugin callback may run; 0: no limit */
} nnc_isolate_opts;

/* Default seconds one plugin callback may run. */
#define NNC_ISOLATE_TIMEOUT 60.0

void nnc_isolate_opts_init(nnc_isolate_opts *o); /* fork, 60 s */

/* How the child ended, when it did not simply exit. */
enum nnc_crash_kind {
  NNC_CRASH_NONE = 0,   /* the child exited normally: its status stands */
  NNC_CRASH_SIGNAL = 1, /* killed by a signal (SIGSEGV, SIGABRT, ...) */
  NNC_CRASH_GUARD = 2,  /* SIGSEGV on a guard page around a gradient buffer */
  NNC_CRASH_EXIT = 3,   /* exit() called inside a plugin callback */
  NNC_CRASH_TIMEOUT = 4, /* a callback outlived the timeout: killed */
  NNC_CRASH_INTERRUPTED = 5 /* SIGINT, SIGTERM, SIGHUP or SIGPIPE from
                               outside: not the plugin's doing (status 128 +
                               the signal; a tool dies of the same signal) */
};

typedef struct nnc_crash {
  int kind;             /* enum nnc_crash_kind */
  int signo;            /* NNC_CRASH_SIGNAL, _GUARD: the signal */
  int exit_code;        /* NNC_CRASH_EXIT: the code passed to exit() */
  int in_callback;      /* the fault happened inside a plugin callback */
  char callback[32];    /* that callback, e.g. "backward"; "" outside */
  char plugin[64];      /* the plugin's name, "" when unknown */
  char block[64];       /* the block being worked on, "" when none */
  long long coord;      /* the coordinate in it, -1 when none */
  char phase[64];       /* what the library was doing, e.g. "checking
                           gradients"; "" when unknown */
  char guard_block[64]; /* NNC_CRASH_GUARD: the buffer's block name */
  int guard_before;     /* NNC_CRASH_GUARD: 1 before the buffer, 0 past it */
  double seconds;       /* NNC_CRASH_TIMEOUT: the limit that was exceeded */
  char text[512];       /* one line: "plugin crashed: SIGSEGV in backward()
                           (block W1, coordinate 17) while checking
                           gradients" */
  char advice[256];     /* what to do, for a tool's user: "run with
                           --no-fork under gdb to debug" */
} nnc_crash;

/* Split into a supervised child.  Returns 0 in the child (and, with
 * o->no_fork, in this process): go on with the plugin work.  Returns 1 in
 * the parent once the child has ended: *status is its exit status when it
 * exited normally, NNC_EXIT_PLUGIN (3) when it crashed, hung or exited
 * inside a callback, in which case crash->kind says so and crash->text
 * describes it in one line (crash->kind is NNC_CRASH_NONE otherwise).  A
 * child killed by SIGINT, SIGTERM, SIGHUP or SIGPIPE from outside is not
 * the plugin's doing: crash->kind is NNC_CRASH_INTERRUPTED, crash->signo
 * the signal and *status 128 + signo, for the caller to end the same way
 * (raise(signo)).  Negative
 * (NNC_EIO, NNC_ENOMEM) when no child could be made: nothing has happened,
 * the caller may go on unsupervised.  o NULL: the defaults. */
int nnc_isolate_fork(const nnc_isolate_opts *o, int *status, nnc_crash *crash);

/* The same as a call: fn(arg) runs in a supervised child (or in-process
 * with no_fork) and its return value is the child's exit status.  Returns
 * NNC_OK with *status (and *crash) as nnc_isolate_fork's parent, or a
 * negative error when no child could be made (fn has not run). */
int nnc_isolate_run(int (*fn)(void *), void *arg, const nnc_isolate_opts *o,
                    int *status, nnc_crash *crash);

/* Whether this process is an isolated child (or a no_fork run). */
int nnc_isolate_active(void);
/* Whether a plugin callback is running in this process right now: an
 * atexit() handler tells a plugin's exit() from the program's own. */
int nnc_isolate_in_callback(void);

/* ---- crash-safe files -------------------------------------------------------- */

typedef struct nnc_afile {
  FILE *f;              /* write the content here */
  char path[4096];      /* the final name */
  char tmp[4160];       /* the temporary name beside it */
  int sync;             /* fsync the file and its directory on commit */
} nnc_afile;

/* Open a temporary file beside path (same directory, created exclusively,
 * 0666 less the umask), for writing with mode "w" or "wb".  NNC_OK, or
 * NNC_EARG / NNC_EIO / NNC_ENOMEM with the reason in err. */
int nnc_afile_open(nnc_afile *a, const char *path, const char *mode,
                   char *err, size_t errlen);
/* Reserve a temporary name beside path without opening a stream (a->f
 * NULL), for a file another program writes (gnuplot's PNG and SVG). */
int nnc_afile_reserve(nnc_afile *a, const char *path, char *err,
                      size_t errlen);
/* Flush, close and rename into place (fsync first when a->sync).  On any
 * failure the temporary file is removed and the final name untouched. */
int nnc_afile_commit(nnc_afile *a, char *err, size_t errlen);
/* Close and remove the temporary file; the final name is untouched.
 * Harmless after commit or on a zeroed struct. */
void nnc_afile_abort(nnc_afile *a);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_ISOLATE_H */
