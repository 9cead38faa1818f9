/* plot_run.c — put a plot on disk and run gnuplot on it.
 *
 * Every file lands under its final name only once complete (written under a
 * temporary name, then renamed), so a crash or a failing gnuplot never
 * leaves a partial file where an earlier rendering was.  gnuplot runs as a
 * child in the plot's directory, without a shell; what it prints is kept
 * for the error message.
 */
#include "config.h"

#include "plot.h"

#include <nncheck/isolate.h>
#include <nncheck/nncheck.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* posix_spawn can change the child's directory since glibc 2.29; elsewhere
 * the child is forked, changes directory and execs. */
#ifndef NNC_PLOT_SPAWN_CHDIR
#if defined(HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP) ||                      \
    (defined(__GLIBC__) &&                                                     \
     (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29)))
#define NNC_PLOT_SPAWN_CHDIR 1
#else
#define NNC_PLOT_SPAWN_CHDIR 0
#endif
#endif

#define ERR_TAIL 4096 /* bytes of gnuplot's output kept for the message */

const char *nnc_plot_gnuplot(void)
{
  const char *env = getenv("NNCHECK_GNUPLOT");
  if (env && *env)
    return env;
  return NNC_GNUPLOT;
}

/* ---- files --------------------------------------------------------------- */

/* Every file lands under its final name only once complete: nnc_afile
 * (lib/afile.c) writes it under a temporary name beside it and renames. */
static int stage_path(nnc_afile *st, const char *dir, const char *name,
                      const char *ext, int reserve, char *err, size_t errlen)
{
  char path[4096];
  memset(st, 0, sizeof *st);
  if ((size_t)snprintf(path, sizeof path, "%s/%s%s", dir, name, ext) >=
      sizeof path)
    return nnci_plot_fail(NNC_EARG, err, errlen, "'%s': path too long", dir);
  return reserve ? nnc_afile_reserve(st, path, err, errlen)
                 : nnc_afile_open(st, path, "w", err, errlen);
}

typedef int (*writer_fn)(const nnc_plot *, FILE *, char *, size_t);

/* Write NAME.ext's content into its temporary file, to be synced to disk
 * on commit, so that after the rename a crash cannot leave it empty. */
static int stage_write(nnc_afile *st, const nnc_plot *p, const char *dir,
                       const char *ext, writer_fn write, char *err,
                       size_t errlen)
{
  int rc = stage_path(st, dir, p->name, ext, 0, err, errlen);
  if (rc)
    return rc;
  st->sync = 1;
  /* stays open: committed (flushed, synced, renamed) or aborted by the
   * caller */
  return write(p, st->f, err, errlen);
}

/* ---- running gnuplot ----------------------------------------------------- */

typedef struct child_result {
  int spawn_errno; /* the program could not be started */
  int status;      /* waitpid status */
  char out[ERR_TAIL + 1]; /* the last of its stdout and stderr */
  size_t outlen;
} child_result;

/* Keep the tail: gnuplot's error comes last, after any warnings. */
static void drain(int fd, child_result *cr)
{
  char buf[1024];
  for (;;) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    size_t n = (size_t)k; /* <= sizeof buf < ERR_TAIL */
    if (cr->outlen + n > ERR_TAIL) {
      size_t drop = cr->outlen + n - ERR_TAIL;
      memmove(cr->out, cr->out + drop, cr->outlen - drop);
      cr->outlen -= drop;
    }
    memcpy(cr->out + cr->outlen, buf, n);
    cr->outlen += n;
  }
  cr->out[cr->outlen] = '\0';
}

static int wait_child(pid_t pid, int *status)
{
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR)
      return errno;
  return 0;
}

/* Run argv[0] (looked up in $PATH when it has no '/') in directory dir with
 * stdin from /dev/null and stdout and stderr captured; no shell.  Returns 0
 * when it ran (cr says how it ended) or an errno. */
static int run_in_dir(const char *dir, char *const argv[], child_result *cr)
{
  int out[2];
  int search = strchr(argv[0], '/') == NULL;
  memset(cr, 0, sizeof *cr);
  if (pipe2(out, O_CLOEXEC) != 0)
    return errno;
  pid_t pid;
#if NNC_PLOT_SPAWN_CHDIR
  posix_spawn_file_actions_t fa;
  int e = posix_spawn_file_actions_init(&fa);
  if (e) {
    close(out[0]);
    close(out[1]);
    return e;
  }
  if (!(e = posix_spawn_file_actions_addchdir_np(&fa, dir)) &&
      !(e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
      !(e = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) &&
      !(e = posix_spawn_file_actions_adddup2(&fa, out[1], 2)))
    e = search ? posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ)
               : posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  if (e) {
    close(out[0]);
    cr->spawn_errno = e;
    return 0;
  }
#else
  /* A second pipe reports a failed chdir or exec: it closes on a
   * successful exec, or carries the errno. */
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return e;
  }
  pid = fork();
  if (pid < 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    close(ep[0]);
    close(ep[1]);
    return e;
  }
  if (pid == 0) {
    int nul = open("/dev/null", O_RDONLY);
    if (chdir(dir) == 0 && nul >= 0 && dup2(nul, 0) >= 0 &&
        dup2(out[1], 1) >= 0 && dup2(out[1], 2) >= 0) {
      if (search)
        execvp(argv[0], argv);
      else
        execv(argv[0], argv);
    }
    int ce = errno;
    ssize_t w = write(ep[1], &ce, sizeof ce);
    (void)w;
    _exit(127);
  }
  close(out[1]);
  close(ep[1]);
  int ce;
  ssize_t k;
  do
    k = read(ep[0], &ce, sizeof ce);
  while (k < 0 && errno == EINTR);
  close(ep[0]);
  if (k == (ssize_t)sizeof ce) {
    close(out[0]);
    int st;
    wait_child(pid, &st);
    cr->spawn_errno = ce;
    return 0;
  }
#endif
  drain(out[0], cr);
  close(out[0]);
  return wait_child(pid, &cr->status);
}

/* gnuplot's output as one line: lines joined with " | ", the echo of the
 * failing command's caret line dropped. */
static void one_line(const char *in, char *outbuf, size_t outlen)
{
  size_t o = 0;
  int first = 1;
  if (!outlen)
    return;
  outbuf[0] = '\0';
  while (*in) {
    const char *eol = strchr(in, '\n');
    size_t n = eol ? (size_t)(eol - in) : strlen(in);
    size_t a = 0, b = n;
    while (a < b && (unsigned char)in[a] <= ' ')
      a++;
    while (b > a && (unsigned char)in[b - 1] <= ' ')
      b--;
    int caret_only = 1;
    for (size_t i = a; i < b; i++)
      if (in[i] != '^' && in[i] != ' ')
        caret_only = 0;
    if (b > a && !caret_only) {
      if (!first && o + 3 < outlen) {
        memcpy(outbuf + o, " | ", 3);
        o += 3;
      }
      first = 0;
      for (size_t i = a; i < b && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];
        outbuf[o++] = c < 0x20 ? ' ' : (char)c;
      }
      outbuf[o] = '\0';
    }
    in += n + (eol ? 1 : 0);
  }
}

/* dir as a shell word, quoted when the shell would not keep it as is, for
 * the "render it yourself" advice. */
static void shell_word(const char *s, char *out, size_t outlen)
{
  int plain = *s != '\0';
  for (const char *p = s; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_-./+=:,@%", *p))
      plain = 0;
  if (plain) {
    snprintf(out, outlen, "%s", s);
    return;
  }
  size_t o = 0;
  if (outlen < 3)
    return;
  out[o++] = '\'';
  for (; *s && o + 5 < outlen; s++) {
    if (*s == '\'') {
      memcpy(out + o, "'\\''", 4);
      o += 4;
    } else {
      out[o++] = *s;
    }
  }
  out[o++] = '\'';
  out[o] = '\0';
}

/* Run `gnuplot -d [-e vars] script` in dir.  NNC_OK; NNC_PLOT_UNRENDERED
 * when it could not be started (*why: the errno); NNC_EPLOT when it ran and
 * failed (its output in err); NNC_EIO or NNC_ENOMEM. */
static int exec_gnuplot(const char *dir, const char *vars, const char *script,
                        int *why, char *err, size_t errlen)
{
  const char *gp = nnc_plot_gnuplot();
  char *resolved = NULL;
  int rc = NNC_OK;
  *why = 0;
  child_result *cr = malloc(sizeof *cr);
  if (!cr)
    return nnci_plot_fail(NNC_ENOMEM, err, errlen, "out of memory");
  /* The child runs in dir: a relative program path must not be read from
   * there. */
  const char *prog = gp;
  if (strchr(gp, '/') && gp[0] != '/' && (resolved = realpath(gp, NULL)))
    prog = resolved;
  /* -d: no ~/.gnuplot, so that the user's settings cannot change the
   * rendering.  Only base names: the child's working directory is dir. */
  char *argv[6];
  size_t k = 0;
  argv[k++] = (char *)prog;
  argv[k++] = "-d";
  if (vars) {
    argv[k++] = "-e";
    argv[k++] = (char *)vars;
  }
  argv[k++] = (char *)script;
  argv[k] = NULL;
  int e = run_in_dir(dir, argv, cr);
  if (e) {
    rc = nnci_plot_fail(e == ENOMEM ? NNC_ENOMEM : NNC_EIO, err, errlen,
                        "cannot run gnuplot '%s' in '%s': %s", gp, dir,
                        strerror(e));
  } else if (cr->spawn_errno) {
    *why = cr->spawn_errno;
    rc = NNC_PLOT_UNRENDERED;
  } else if (!WIFEXITED(cr->status) || WEXITSTATUS(cr->status) != 0) {
    char line[ERR_TAIL + 1];
    one_line(cr->out, line, sizeof line);
    if (WIFSIGNALED(cr->status))
      rc = nnci_plot_fail(NNC_EPLOT, err, errlen,
                          "gnuplot '%s' killed by signal %d on %s/%s: %s", gp,
                          WTERMSIG(cr->status), dir, script, line);
    else
      rc = nnci_plot_fail(NNC_EPLOT, err, errlen,
                          "gnuplot '%s' failed (exit %d) on %s/%s: %s", gp,
                          WEXITSTATUS(cr->status), dir, script,
                          *line ? line : "no message");
  }
  free(cr);
  free(resolved);
  return rc;
}

int nnc_plot_run_gnuplot(const char *dir, const char *name, char *err,
                         size_t errlen)
{
  if (!dir || !*dir || !nnci_plot_name_ok(name))
    return nnci_plot_fail(NNC_EARG, err, errlen,
                          "plot: bad directory or plot name");
  nnc_afile png, svg;
  memset(&svg, 0, sizeof svg);
  int rc, why;
  /* gnuplot writes into temporary files reserved here, renamed once it has
   * exited successfully: a failed or killed run leaves earlier renderings
   * intact, and never a partial picture under the final name. */
  if ((rc = stage_path(&png, dir, name, ".png", 1, err, errlen)))
    goto out;
  if ((rc = stage_path(&svg, dir, name, ".svg", 1, err, errlen)))
    goto out;
  char script[NNCI_PLOT_NAME_MAX + 8];
  snprintf(script, sizeof script, "%s.gp", name);
  char vars[2 * (NNCI_PLOT_NAME_MAX + 16) + 64];
  snprintf(vars, sizeof vars, "png_out = '%s'; svg_out = '%s'",
           strrchr(png.tmp, '/') + 1, strrchr(svg.tmp, '/') + 1);
  rc = exec_gnuplot(dir, vars, script, &why, err, errlen);
  if (rc == NNC_PLOT_UNRENDERED) {
    /* Not having gnuplot loses the pictures, not the plot: the data and
     * the script are in place, and anyone with gnuplot can draw them. */
    char word[8192];
    shell_word(dir, word, sizeof word);
    nnci_plot_fail(rc, err, errlen,
                   "gnuplot '%s' could not be started (%s): wrote "
                   "%s/%s.dat and %s/%s without rendering them; to render: "
                   "`cd %s && gnuplot %s` (install gnuplot, Debian package "
                   "gnuplot-nox, or set NNCHECK_GNUPLOT to its path)",
                   nnc_plot_gnuplot(), strerror(why), dir, name, dir, script,
                   word, script);
  } else if (rc == NNC_OK && !(rc = nnc_afile_commit(&png, err, errlen))) {
    rc = nnc_afile_commit(&svg, err, errlen);
  }
out:
  nnc_afile_abort(&png);
  nnc_afile_abort(&svg);
  return rc;
}

/* mkdir -p: every missing component, with the umask's permissions. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
  char *path = strdup(dir);
  if (!path)
    return nnci_plot_fail(NNC_ENOMEM, err, errlen, "out of memory");
  int e = 0;
  for (char *s = path + 1; !e; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char c = *s;
    *s = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
      e = errno;
    *s = c;
    if (!c)
      break;
  }
  free(path);
  struct stat st;
  if (!e && stat(dir, &st) != 0)
    e = errno;
  if (e)
    return nnci_plot_fail(NNC_EIO, err, errlen,
                          "cannot create directory '%s': %s", dir, strerror(e));
  if (!S_ISDIR(st.st_mode))
    return nnci_plot_fail(NNC_EIO, err, errlen,
                          "'%s' exists and is not a directory", dir);
  return NNC_OK;
}

int nnc_plot_render(const nnc_plot *p, const char *dir, char *err,
                    size_t errlen)
{
  int rc = nnc_plot_validate(p, err, errlen);
  if (rc)
    return rc;
  if (!dir || !*dir)
    return nnci_plot_fail(NNC_EARG, err, errlen, "plot %s: no directory given",
                          p->name);
  if ((rc = make_dirs(dir, err, errlen)))
    return rc;
  nnc_afile dat, gp;
  memset(&gp, 0, sizeof gp);
  if (!(rc = stage_write(&dat, p, dir, ".dat", nnc_plot_write_dat, err,
                         errlen)) &&
      !(rc = stage_write(&gp, p, dir, ".gp", nnc_plot_write_gp, err, errlen)) &&
      !(rc = nnc_afile_commit(&dat, err, errlen)) &&
      !(rc = nnc_afile_commit(&gp, err, errlen)))
    rc = nnc_plot_run_gnuplot(dir, p->name, err, errlen);
  nnc_afile_abort(&dat);
  nnc_afile_abort(&gp);
  return rc;
}

/* ---- text rendering ------------------------------------------------------ */

static int write_file(const char *dir, const char *file, const nnc_plot *p,
                      size_t cols, size_t rows, char *err, size_t errlen)
{
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "w");
  if (!f)
    return nnci_plot_fail(NNC_EIO, err, errlen, "cannot write '%s': %s", path,
                          strerror(errno));
  int rc = cols ? nnc_plot_write_gp_text(p, cols, rows, f, err, errlen)
                : nnc_plot_write_dat(p, f, err, errlen);
  if (fclose(f) && !rc)
    rc = nnci_plot_fail(NNC_EIO, err, errlen, "cannot write '%s': %s", path,
                        strerror(errno));
  return rc;
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t n = 0, cap = 4096;
  char *buf = malloc(cap);
  for (size_t k; buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += k;
    if (cap - n - 1 == 0) {
      char *b = realloc(buf, cap *= 2);
      if (!b) {
        free(buf);
        buf = NULL;
      }
      buf = b;
    }
  }
  if (buf)
    buf[n] = '\0';
  fclose(f);
  return buf;
}

int nnc_plot_render_text(const nnc_plot *p, size_t cols, size_t rows,
                         char **text, char *err, size_t errlen)
{
  *text = NULL;
  /* validate the size and the plot before touching the file system */
  FILE *null = fopen("/dev/null", "w");
  if (!null)
    return nnci_plot_fail(NNC_EIO, err, errlen, "cannot open /dev/null: %s",
                          strerror(errno));
  int rc = nnc_plot_write_gp_text(p, cols, rows, null, err, errlen);
  fclose(null);
  if (rc)
    return rc;
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/nncheck-plot-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    return nnci_plot_fail(NNC_EIO, err, errlen,
                          "cannot create a temporary directory '%s': %s", dir,
                          strerror(errno));
  char dat[NNCI_PLOT_NAME_MAX + 8], gp[NNCI_PLOT_NAME_MAX + 8],
      txt[NNCI_PLOT_NAME_MAX + 8];
  snprintf(dat, sizeof dat, "%s.dat", p->name);
  snprintf(gp, sizeof gp, "%s.gp", p->name);
  snprintf(txt, sizeof txt, "%s.txt", p->name);
  int why;
  if (!(rc = write_file(dir, dat, p, 0, 0, err, errlen)) &&
      !(rc = write_file(dir, gp, p, cols, rows, err, errlen)))
    rc = exec_gnuplot(dir, NULL, gp, &why, err, errlen);
  if (rc == NNC_PLOT_UNRENDERED)
    nnci_plot_fail(rc, err, errlen,
                   "gnuplot '%s' could not be started (%s): no text "
                   "rendering of %s (install gnuplot, Debian package "
                   "gnuplot-nox, or set NNCHECK_GNUPLOT to its path)",
                   nnc_plot_gnuplot(), strerror(why), p->name);
  char path[8192];
  if (rc == NNC_OK) {
    snprintf(path, sizeof path, "%s/%s", dir, txt);
    if (!(*text = slurp(path)))
      rc = nnci_plot_fail(NNC_EIO, err, errlen,
                          "gnuplot wrote no text rendering of %s", p->name);
    else { /* the dumb terminal starts each page with a form feed */
      char *o = *text;
      for (const char *c = *text; *c; c++)
        if (*c != '\f')
          *o++ = *c;
      *o = '\0';
    }
  }
  const char *files[] = {dat, gp, txt};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  return rc;
}

int nnc_plot_emit(const nnc_plot *p, const char *dir, char **text, char *err,
                  size_t errlen)
{
  if (!text)
    return nnc_plot_render(p, dir, err, errlen);
  char *t = NULL;
  int rc = nnc_plot_render_text(p, 80, 24, &t, err, errlen);
  if (rc == NNC_OK && t) {
    size_t had = *text ? strlen(*text) : 0, add = strlen(t);
    char *n = realloc(*text, had + add + 2);
    if (!n) {
      free(t);
      return NNC_ENOMEM;
    }
    memcpy(n + had, t, add);
    n[had + add] = '\n';
    n[had + add + 1] = 0;
    *text = n;
  }
  free(t);
  return rc;
}
