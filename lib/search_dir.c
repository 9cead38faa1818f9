/* search_dir.c — the files of a search directory: atomic writes, the
 * space copy, stage plans, trial results (result.txt / progress.txt). */
#include "config.h"
#include "search_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double nnci_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int nnci_read_text(const char *path, char **text, char *err, size_t errlen)
{
  *text = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return nnci_search_fail(errno == ENOENT ? NNC_ENOTFOUND : NNC_EIO, err,
                            errlen, "%s: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) {
      fclose(f);
      return NNC_ENOMEM;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (n + 1 < cap)
      break;
    cap *= 2;
    char *nb = realloc(buf, cap);
    if (!nb)
      free(buf);
    buf = nb;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return nnci_search_fail(NNC_EIO, err, errlen, "%s: read error", path);
  }
  buf[n] = 0;
  *text = buf;
  return NNC_OK;
}

int nnci_write_atomic(const char *path, const char *data, size_t len,
                      char *err, size_t errlen)
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    return nnci_search_fail(NNC_EIO, err, errlen, "%s: cannot create: %s",
                            tmp, strerror(errno));
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return nnci_search_fail(NNC_EIO, err, errlen, "%s: cannot write: %s",
                              path, strerror(e));
    }
    off += (size_t)w;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return nnci_search_fail(NNC_EIO, err, errlen, "%s: cannot write: %s", path,
                            strerror(e));
  }
  return NNC_OK;
}

int nnci_write_stream(const char *path, FILE *mem, char **buf, size_t *len,
                      char *err, size_t errlen)
{
  if (fclose(mem) != 0 || !*buf)
    return NNC_ENOMEM;
  int rc = nnci_write_atomic(path, *buf, *len, err, errlen);
  free(*buf);
  *buf = NULL;
  return rc;
}

int nnci_mkdir(const char *path, char *err, size_t errlen)
{
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    return nnci_search_fail(NNC_EIO, err, errlen, "%s: cannot create the "
                            "directory: %s", path, strerror(errno));
  return NNC_OK;
}

void nnci_trial_dir(const char *dir, size_t index, char *buf, size_t len)
{
  snprintf(buf, len, "%s/trials/trial%04zu", dir, index);
}

/* ---- init ------------------------------------------------------------------ */

int nnc_search_init(const char *dir, const char *space_text,
                    const char *space_name, char *err, size_t errlen)
{
  nnc_search_space sp;
  int rc = nnc_search_space_parse(space_text, space_name, &sp, err, errlen);
  if (rc)
    return rc;
  char path[4200];
  if ((rc = nnci_mkdir(dir, err, errlen)))
    return rc;
  snprintf(path, sizeof path, "%s/space.txt", dir);
  char *old = NULL;
  if (nnci_read_text(path, &old, NULL, 0) == NNC_OK) {
    int same = !strcmp(old, space_text);
    free(old);
    if (!same)
      return nnci_search_fail(NNC_EARG, err, errlen,
                              "%s holds a different search: resume it with "
                              "the same space file or use a new directory",
                              dir);
  } else if ((rc = nnci_write_atomic(path, space_text, strlen(space_text), err,
                                     errlen)))
    return rc;
  snprintf(path, sizeof path, "%s/claims", dir);
  if ((rc = nnci_mkdir(path, err, errlen)))
    return rc;
  snprintf(path, sizeof path, "%s/trials", dir);
  if ((rc = nnci_mkdir(path, err, errlen)))
    return rc;
  snprintf(path, sizeof path, "%s/stage0.plan", dir);
  struct stat st;
  if (stat(path, &st) == 0)
    return NNC_OK;
  nnc_search_plan p;
  nnc_search_plan0(&sp, &p);
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m)
    return NNC_ENOMEM;
  nnc_search_plan_write(&p, m);
  return nnci_write_stream(path, m, &buf, &len, err, errlen);
}

int nnci_plan_load(const char *dir, size_t s, nnc_search_plan *p, char *err,
                   size_t errlen)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/stage%zu.plan", dir, s);
  char *text = NULL;
  int rc = nnci_read_text(path, &text, err, errlen);
  if (rc == NNC_ENOTFOUND)
    return 1;
  if (rc)
    return rc;
  rc = nnc_search_plan_parse(text, p, err, errlen);
  free(text);
  if (rc)
    return nnci_search_fail(NNC_EIO, err, errlen, "%s: malformed stage plan: "
                            "remove it to have it planned again", path);
  return NNC_OK;
}

/* ---- trial results ----------------------------------------------------------- */

static void wnum(FILE *f, double v)
{
  if (isnan(v))
    fputs(" nan", f);
  else if (isinf(v))
    fputs(v > 0 ? " inf" : " -inf", f);
  else
    fprintf(f, " %.17g", v);
}

void nnci_trial_write(const nnc_trial *t, size_t nparams, FILE *f)
{
  fprintf(f, "trial %zu\nstage %zu\nstatus %s\nvalues", t->index, t->stage,
          nnc_trial_status_name(t->status));
  for (size_t j = 0; j < nparams; j++)
    wnum(f, t->values[j]);
  fputs("\nbest_acc", f);
  wnum(f, t->best_acc);
  fputs("\nbest_loss", f);
  wnum(f, t->best_loss);
  fprintf(f, "\nbest_epoch %zu\nema_acc", t->best_epoch);
  wnum(f, t->ema_acc);
  fputc('\n', f);
  for (size_t e = 0; e < t->nepochs; e++) {
    fprintf(f, "epoch %zu", e + 1);
    wnum(f, t->train_loss[e]);
    wnum(f, t->val_loss[e]);
    wnum(f, t->val_acc[e]);
    fputc('\n', f);
  }
  if (t->error[0]) {
    fputs("error ", f);
    for (const char *c = t->error; *c; c++)
      fputc(*c == '\n' ? ' ' : *c, f);
    fputc('\n', f);
  }
  fputs("end\n", f);
}

void nnci_trial_clear(nnc_trial *t)
{
  free(t->train_loss);
  free(t->val_loss);
  free(t->val_acc);
  free(t->step_epoch);
  free(t->step_loss);
  t->train_loss = t->val_loss = t->val_acc = NULL;
  t->step_epoch = t->step_loss = NULL;
  t->nepochs = t->nsteps = 0;
}

static int rnum(const char *s, char **end, double *v)
{
  while (*s == ' ')
    s++;
  if (!strncmp(s, "nan", 3)) {
    *v = NAN;
    *end = (char *)s + 3;
    return 0;
  }
  *v = strtod(s, end);
  return *end == s;
}

static int parse_trial(char *text, size_t nparams, nnc_trial *t)
{
  int ended = 0;
  char *save = NULL;
  for (char *ln = strtok_r(text, "\n", &save); ln;
       ln = strtok_r(NULL, "\n", &save)) {
    char *sp = strchr(ln, ' ');
    char *rest = sp ? sp + 1 : ln + strlen(ln);
    if (sp)
      *sp = 0;
    char *end;
    if (!strcmp(ln, "trial"))
      t->index = (size_t)strtoull(rest, NULL, 10);
    else if (!strcmp(ln, "stage"))
      t->stage = (size_t)strtoull(rest, NULL, 10);
    else if (!strcmp(ln, "status")) {
      t->status = -1;
      for (int s = 0; s <= NNC_TRIAL_FAILED; s++)
        if (!strcmp(rest, nnc_trial_status_name(s)))
          t->status = s;
      if (t->status < 0)
        return NNC_EIO;
    } else if (!strcmp(ln, "values")) {
      char *p = rest;
      for (size_t j = 0; j < nparams; j++, p = end)
        if (rnum(p, &end, &t->values[j]))
          return NNC_EIO;
    } else if (!strcmp(ln, "best_acc")) {
      if (rnum(rest, &end, &t->best_acc))
        return NNC_EIO;
    } else if (!strcmp(ln, "best_loss")) {
      if (rnum(rest, &end, &t->best_loss))
        return NNC_EIO;
    } else if (!strcmp(ln, "best_epoch"))
      t->best_epoch = (size_t)strtoull(rest, NULL, 10);
    else if (!strcmp(ln, "ema_acc")) {
      if (rnum(rest, &end, &t->ema_acc))
        return NNC_EIO;
    } else if (!strcmp(ln, "epoch")) {
      size_t e = (size_t)strtoull(rest, &end, 10);
      if (e != t->nepochs + 1 || e > NNC_SEARCH_MAX_EPOCHS + 1)
        return NNC_EIO;
      double a, b, c;
      char *p = end;
      if (rnum(p, &end, &a) || rnum(end, &p, &b) || rnum(p, &end, &c))
        return NNC_EIO;
      double *na = realloc(t->train_loss, e * sizeof *na);
      if (na)
        t->train_loss = na;
      double *nb = realloc(t->val_loss, e * sizeof *nb);
      if (nb)
        t->val_loss = nb;
      double *nc = realloc(t->val_acc, e * sizeof *nc);
      if (nc)
        t->val_acc = nc;
      if (!na || !nb || !nc)
        return NNC_ENOMEM;
      t->train_loss[e - 1] = a;
      t->val_loss[e - 1] = b;
      t->val_acc[e - 1] = c;
      t->nepochs = e;
    } else if (!strcmp(ln, "error"))
      snprintf(t->error, sizeof t->error, "%s", rest);
    else if (!strcmp(ln, "end"))
      ended = 1;
    else
      return NNC_EIO;
  }
  return ended ? NNC_OK : NNC_EIO;
}

static void load_steps(const char *tdir, nnc_trial *t)
{
  char path[4300];
  snprintf(path, sizeof path, "%s/loss.tsv", tdir);
  char *text = NULL;
  if (nnci_read_text(path, &text, NULL, 0))
    return;
  size_t n = 0;
  for (const char *c = text; *c; c++)
    n += *c == '\n';
  t->step_epoch = malloc((n + 1) * sizeof(double));
  t->step_loss = malloc((n + 1) * sizeof(double));
  if (!t->step_epoch || !t->step_loss) {
    free(text);
    return;
  }
  char *save = NULL;
  for (char *ln = strtok_r(text, "\n", &save); ln && t->nsteps < n;
       ln = strtok_r(NULL, "\n", &save)) {
    if (ln[0] == '#')
      continue;
    char *end, *p;
    double e, l;
    if (rnum(ln, &end, &e) || rnum(end, &p, &l))
      continue;
    t->step_epoch[t->nsteps] = e;
    t->step_loss[t->nsteps++] = l;
  }
  free(text);
}

static void load_timing(const char *tdir, nnc_trial *t)
{
  char path[4300];
  snprintf(path, sizeof path, "%s/timing.txt", tdir);
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  char key[64];
  double v;
  while (fscanf(f, "%63s %lf%*[^\n]", key, &v) == 2) {
    if (!strcmp(key, "train_s"))
      t->train_s = v;
    else if (!strcmp(key, "proto_s"))
      t->proto_s = v;
  }
  fclose(f);
}

int nnci_trial_load(const char *tdir, size_t nparams, nnc_trial *t)
{
  size_t index = t->index, stage = t->stage;
  memset(t, 0, sizeof *t);
  t->index = index;
  t->stage = stage;
  t->best_acc = t->best_loss = t->ema_acc = NAN;
  for (size_t j = 0; j < NNC_SEARCH_MAX_PARAMS; j++)
    t->values[j] = NAN;
  char path[4300];
  static const char *const names[] = {"result.txt", "progress.txt"};
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/%s", tdir, names[k]);
    char *text = NULL;
    int rc = nnci_read_text(path, &text, NULL, 0);
    if (rc == NNC_ENOTFOUND)
      continue;
    if (rc)
      return rc;
    rc = parse_trial(text, nparams, t);
    free(text);
    if (rc) {
      nnci_trial_clear(t);
      return rc;
    }
    if (k == 1)
      t->status = NNC_TRIAL_PENDING;
    t->index = index;
    load_steps(tdir, t);
    if (k == 0)
      load_timing(tdir, t);
    return 0;
  }
  return 1;
}

int nnci_trial_args(const nnc_search_space *sp, const double *values,
                    char *out, size_t len)
{
  size_t o = 0;
  for (const char *t = sp->args; *t;) {
    if (*t == '{') {
      const char *e = strchr(t, '}');
      char nm[NNC_SEARCH_NAME + 1];
      size_t n = (size_t)(e - t - 1);
      memcpy(nm, t + 1, n);
      nm[n] = 0;
      int j = nnci_param_index(sp, nm);
      char num[64];
      const nnc_search_param *q = &sp->params[j];
      if (q->scale == NNC_SCALE_INT || q->scale == NNC_SCALE_LOGINT)
        snprintf(num, sizeof num, "%.0f", values[j]);
      else
        snprintf(num, sizeof num, "%.17g", values[j]);
      size_t nl = strlen(num);
      if (o + nl >= len)
        return NNC_EARG;
      memcpy(out + o, num, nl);
      o += nl;
      t = e + 1;
    } else {
      if (o + 1 >= len)
        return NNC_EARG;
      out[o++] = *t++;
    }
  }
  out[o] = 0;
  return NNC_OK;
}
