/* CI regression baselines: read two JSON reports of one tool, match their
 * entries by name and list what regressed (see nncheck/baseline.h for the
 * rules).  The comparison works on the JSON text, so a baseline written by
 * the tool (--write-baseline) and one written by a user's own program
 * through nnc_baseline_write_* are the same thing. */
#include "config.h"
#include <nncheck/baseline.h>
#include "json.h"
#include "jsonread.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nnc_baseline_opts_init(nnc_baseline_opts *o)
{
  o->factor = 10;
  o->floor = 1e-10;
}

/* ---- reading and recognising a report -------------------------------- */

/* The tool and schema version of a parsed report; -1 with err set when it
 * is not a report this library compares. */
static int report_kind(const nnci_jv *v, const char *what, char *tool,
                       size_t toollen, char *err, size_t errlen)
{
  if (v->type != NNCI_JOBJ) {
    snprintf(err, errlen, "%s is not a JSON object: not an nncheck report",
             what);
    return -1;
  }
  const char *schema = nnci_json_get_str(v, "schema");
  if (!schema) {
    snprintf(err, errlen,
             "%s has no \"schema\" key: not an nncheck report (write one "
             "with --write-baseline)",
             what);
    return -1;
  }
  const char *slash = strrchr(schema, '/');
  if (strncmp(schema, "nncheck-", 8) != 0 || !slash || slash == schema + 8) {
    snprintf(err, errlen, "%s: schema \"%.64s\" is not an nncheck report "
                          "schema (nncheck-TOOL/N)",
             what, schema);
    return -1;
  }
  size_t n = (size_t)(slash - (schema + 8));
  if (n >= toollen)
    n = toollen - 1;
  memcpy(tool, schema + 8, n);
  tool[n] = 0;
  char *end;
  long ver = strtol(slash + 1, &end, 10);
  if (*end || ver < 1) {
    snprintf(err, errlen, "%s: schema \"%.64s\" has no version number", what,
             schema);
    return -1;
  }
  int known = !strcmp(tool, "gradcheck") ? NNCI_SCHEMA_GRADCHECK
              : !strcmp(tool, "sanity")  ? NNCI_SCHEMA_SANITY
                                         : 0;
  if (!known) {
    snprintf(err, errlen, "%s is a %s report: baselines compare gradcheck "
                          "and sanity reports",
             what, tool);
    return -1;
  }
  if (ver != known) {
    snprintf(err, errlen, "%s has schema %s, this nncheck reads %s/%d: "
                          "write a new baseline with this version",
             what, schema, tool, known);
    return -1;
  }
  return 0;
}

/* Parse and recognise; *v is freed by the caller. */
static int parse_report(const char *text, size_t len, const char *what,
                        nnci_jv **v, char *tool, size_t toollen, char *err,
                        size_t errlen)
{
  char perr[512];
  if (nnci_json_parse(text, len, v, perr, sizeof perr) != 0) {
    snprintf(err, errlen, "%s is not valid JSON: %s", what, perr);
    return NNC_EARG;
  }
  if (report_kind(*v, what, tool, toollen, err, errlen) != 0) {
    nnci_json_free(*v);
    *v = NULL;
    return NNC_EARG;
  }
  return NNC_OK;
}

/* ---- entries --------------------------------------------------------- */

typedef struct entry {
  char name[192];
  const char *verdict; /* points into the parsed tree */
  double err;          /* measured error (gradcheck blocks), NaN: none */
  int matched;
} entry;

typedef struct entries {
  entry *v;
  size_t n;
} entries;

/* A block's measured error: the largest relative error among coordinates
 * judged by the relative-error bands. */
static double measured_error(const nnci_jv *block)
{
  const nnci_jv *coords = nnci_json_get(block, "coords");
  double worst = NAN;
  if (!coords || coords->type != NNCI_JARR)
    return NAN;
  for (size_t i = 0; i < coords->n; i++) {
    const nnci_jv *c = &coords->items[i];
    const char *band = nnci_json_get_str(c, "band");
    double re = nnci_json_get_num(c, "relerr", NAN);
    if (!band || isnan(re))
      continue;
    if (strcmp(band, "happy") && strcmp(band, "ok") &&
        strcmp(band, "uncomfortable") && strcmp(band, "wrong"))
      continue;
    if (isnan(worst) || re > worst)
      worst = re;
  }
  return worst;
}

static int collect(const nnci_jv *rep, const char *tool, entries *out,
                   const char *what, char *err, size_t errlen)
{
  const int grad = !strcmp(tool, "gradcheck");
  const char *lists[2] = {grad ? "audits" : "checks", grad ? "blocks" : NULL};
  size_t total = 0;
  for (int l = 0; l < 2 && lists[l]; l++) {
    const nnci_jv *a = nnci_json_get(rep, lists[l]);
    if (!a || a->type != NNCI_JARR) {
      snprintf(err, errlen, "%s has no \"%s\" array: not a complete %s "
                            "report",
               what, lists[l], tool);
      return NNC_EARG;
    }
    total += a->n;
  }
  out->v = calloc(total ? total : 1, sizeof *out->v);
  out->n = 0;
  if (!out->v) {
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  for (int l = 0; l < 2 && lists[l]; l++) {
    const nnci_jv *a = nnci_json_get(rep, lists[l]);
    for (size_t i = 0; i < a->n; i++) {
      const nnci_jv *it = &a->items[i];
      entry *e = &out->v[out->n];
      const char *verdict = nnci_json_get_str(it, "verdict");
      const char *name =
          nnci_json_get_str(it, !strcmp(lists[l], "blocks") ? "block" : "name");
      if (!verdict || !name) {
        snprintf(err, errlen, "%s: entry %zu of \"%s\" lacks its %s", what,
                 i + 1, lists[l], name ? "verdict" : "name");
        return NNC_EARG;
      }
      e->verdict = verdict;
      e->err = NAN;
      if (!strcmp(lists[l], "blocks")) {
        const char *part = nnci_json_get_str(it, "part");
        snprintf(e->name, sizeof e->name, "block %.120s (part %.40s)", name,
                 part ? part : "?");
        e->err = measured_error(it);
      } else
        snprintf(e->name, sizeof e->name, "%s %.150s",
                 grad ? "audit" : "check", name);
      out->n++;
    }
  }
  return NNC_OK;
}

/* ---- findings --------------------------------------------------------- */

typedef struct fl {
  nnc_bl_finding *v;
  size_t n, cap;
} fl;

static nnc_bl_finding *add(fl *l, uint32_t kind, const char *name,
                           const char *was, const char *now)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    nnc_bl_finding *nv = realloc(l->v, cap * sizeof *nv);
    if (!nv)
      return NULL;
    l->v = nv;
    l->cap = cap;
  }
  nnc_bl_finding *f = &l->v[l->n++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->regression = kind <= NNC_BL_ERROR;
  snprintf(f->name, sizeof f->name, "%s", name);
  snprintf(f->was, sizeof f->was, "%s", was ? was : "");
  snprintf(f->now, sizeof f->now, "%s", now ? now : "");
  f->base_err = f->err = f->limit = NAN;
  return f;
}

static int failing(const char *verdict)
{
  return !strcmp(verdict, "FAIL") || !strcmp(verdict, "ERROR");
}

/* A top-level scalar as text, for the settings notes. */
static void scalar_text(const nnci_jv *v, char *buf, size_t len)
{
  if (!v)
    snprintf(buf, len, "(absent)");
  else if (v->type == NNCI_JSTR)
    snprintf(buf, len, "\"%.*s\"", (int)(len > 3 ? len - 3 : 0), v->str);
  else if (v->type == NNCI_JNUM)
    snprintf(buf, len, "%.17g", v->num);
  else if (v->type == NNCI_JBOOL)
    snprintf(buf, len, "%s", v->b ? "true" : "false");
  else
    snprintf(buf, len, "null");
}

int nnc_baseline_compare(const char *baseline, size_t baseline_len,
                         const char *current, size_t current_len,
                         const nnc_baseline_opts *o,
                         nnc_baseline_result **out, char *err, size_t errlen)
{
  nnc_baseline_opts dflt;
  nnc_baseline_opts_init(&dflt);
  if (!o)
    o = &dflt;
  *out = NULL;
  if (!(o->factor >= 1) || !isfinite(o->factor) || !(o->floor >= 0) ||
      !isfinite(o->floor)) {
    snprintf(err, errlen, "baseline options: factor %g must be >= 1 and "
                          "floor %g >= 0, both finite",
             o->factor, o->floor);
    return NNC_EARG;
  }
  nnci_jv *bv = NULL, *cv = NULL;
  char btool[32], ctool[32];
  entries be = {NULL, 0}, ce = {NULL, 0};
  fl regs = {NULL, 0, 0}, notes = {NULL, 0, 0};
  nnc_baseline_result *r = NULL;
  int rc = parse_report(baseline, baseline_len, "the baseline", &bv, btool,
                        sizeof btool, err, errlen);
  if (rc == NNC_OK)
    rc = parse_report(current, current_len, "this run's report", &cv, ctool,
                      sizeof ctool, err, errlen);
  if (rc == NNC_OK && strcmp(btool, ctool)) {
    snprintf(err, errlen, "the baseline is a %s report, this run is %s: "
                          "compare reports of one tool",
             btool, ctool);
    rc = NNC_EARG;
  }
  if (rc == NNC_OK)
    rc = collect(bv, btool, &be, "the baseline", err, errlen);
  if (rc == NNC_OK)
    rc = collect(cv, ctool, &ce, "this run's report", err, errlen);
  if (rc != NNC_OK)
    goto done;
  rc = NNC_ENOMEM;
  if (!(r = calloc(1, sizeof *r)))
    goto nomem;
  snprintf(r->tool, sizeof r->tool, "%s", ctool);
  r->opts = *o;

  const char *bverd = nnci_json_get_str(bv, "verdict");
  const char *cverd = nnci_json_get_str(cv, "verdict");
  int cur_error = cverd && !strcmp(cverd, "ERROR");
  if (cur_error && !(bverd && !strcmp(bverd, "ERROR"))) {
    const char *msg = nnci_json_get_str(cv, "error");
    nnc_bl_finding *f = add(&regs, NNC_BL_ERROR, "run", bverd, "ERROR");
    if (!f)
      goto nomem;
    if (msg)
      snprintf(f->now, sizeof f->now, "ERROR (%.50s)", msg);
  }
  for (size_t i = 0; i < be.n; i++) {
    entry *b = &be.v[i], *c = NULL;
    for (size_t j = 0; j < ce.n && !c; j++)
      if (!ce.v[j].matched && !strcmp(ce.v[j].name, b->name))
        c = &ce.v[j];
    if (!c) {
      if (!cur_error && !add(&regs, NNC_BL_MISSING, b->name, b->verdict,
                             "not in this run"))
        goto nomem;
      continue;
    }
    c->matched = 1;
    r->compared++;
    nnc_bl_finding *f = NULL;
    if (!failing(b->verdict) && failing(c->verdict)) {
      if (!(f = add(&regs, NNC_BL_FAILS, b->name, b->verdict, c->verdict)))
        goto nomem;
      f->base_err = b->err;
      f->err = c->err;
    } else if (!isnan(b->err) && !isnan(c->err)) {
      double limit = o->factor * fmax(b->err, o->floor);
      if (c->err > limit) {
        if (!(f = add(&regs, NNC_BL_GREW, b->name, b->verdict, c->verdict)))
          goto nomem;
        f->base_err = b->err;
        f->err = c->err;
        f->limit = limit;
      }
    }
  }
  for (size_t j = 0; j < ce.n; j++)
    if (!ce.v[j].matched &&
        !add(&notes, NNC_BL_NEW, ce.v[j].name, "not in the baseline",
             ce.v[j].verdict))
      goto nomem;
  static const char *const settings[] = {"plugin", "args", "kind", "seed",
                                         "examples"};
  for (size_t k = 0; k < sizeof settings / sizeof *settings; k++) {
    const nnci_jv *x = nnci_json_get(bv, settings[k]);
    const nnci_jv *y = nnci_json_get(cv, settings[k]);
    if (!x && !y)
      continue;
    char a[64], b[64];
    scalar_text(x, a, sizeof a);
    scalar_text(y, b, sizeof b);
    if (strcmp(a, b) && !add(&notes, NNC_BL_SETTING, settings[k], a, b))
      goto nomem;
  }
  r->regressions = regs.n;
  r->nfindings = regs.n + notes.n;
  if (r->nfindings) {
    if (!(r->findings = malloc(r->nfindings * sizeof *r->findings)))
      goto nomem;
    if (regs.n)
      memcpy(r->findings, regs.v, regs.n * sizeof *regs.v);
    if (notes.n)
      memcpy(r->findings + regs.n, notes.v, notes.n * sizeof *notes.v);
  }
  *out = r;
  r = NULL;
  rc = NNC_OK;
  goto done;
nomem:
  snprintf(err, errlen, "out of memory");
  rc = NNC_ENOMEM;
done:
  nnc_baseline_free(r);
  free(regs.v);
  free(notes.v);
  free(be.v);
  free(ce.v);
  nnci_json_free(bv);
  nnci_json_free(cv);
  return rc;
}

void nnc_baseline_free(nnc_baseline_result *r)
{
  if (!r)
    return;
  free(r->findings);
  free(r);
}

int nnc_baseline_exit_status(const nnc_baseline_result *r)
{
  return r && r->regressions ? NNC_EXIT_PROBLEM : NNC_EXIT_OK;
}

int nnc_baseline_report_text(const nnc_baseline_result *r, FILE *f)
{
  for (size_t i = 0; i < r->nfindings; i++) {
    const nnc_bl_finding *x = &r->findings[i];
    switch (x->kind) {
    case NNC_BL_FAILS:
      fprintf(f, "regression: %s: %s in the baseline, %s now", x->name, x->was,
              x->now);
      if (!isnan(x->base_err) && !isnan(x->err))
        fprintf(f, " (relative error %.3g, was %.3g)", x->err, x->base_err);
      fputc('\n', f);
      break;
    case NNC_BL_GREW:
      fprintf(f, "regression: %s: relative error grew %.3g -> %.3g, above "
                 "%g x max(%.3g, floor %g) = %.3g (%s now)\n",
              x->name, x->base_err, x->err, r->opts.factor, x->base_err,
              r->opts.floor, x->limit, x->now);
      break;
    case NNC_BL_MISSING:
      fprintf(f, "regression: %s: %s in the baseline, not checked in this "
                 "run (run with the baseline's options, or write a new "
                 "baseline)\n",
              x->name, x->was);
      break;
    case NNC_BL_ERROR:
      fprintf(f, "regression: run: %s in the baseline, %s now\n",
              x->was[0] ? x->was : "no error", x->now);
      break;
    case NNC_BL_NEW:
      fprintf(f, "note: %s: %s in this run, not in the baseline\n", x->name,
              x->now);
      break;
    case NNC_BL_SETTING:
      fprintf(f, "note: %s differs: %s in the baseline, %s now\n", x->name,
              x->was, x->now);
      break;
    }
  }
  fprintf(f, "baseline comparison: %s (%zu entr%s compared, %zu regression%s; factor "
             "%g, floor %g)\n",
          r->regressions ? "FAIL" : "PASS", r->compared,
          r->compared == 1 ? "y" : "ies", r->regressions,
          r->regressions == 1 ? "" : "s", r->opts.factor, r->opts.floor);
  return NNC_OK;
}

/* ---- files ---------------------------------------------------------------- */

int nnc_baseline_load(const char *path, const char *tool, char **text,
                      size_t *len, char *err, size_t errlen)
{
  *text = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    snprintf(err, errlen, "cannot read baseline %s: %s%s", path, strerror(e),
             e == ENOENT ? " (write one with --write-baseline FILE)" : "");
    return e == ENOENT ? NNC_ENOTFOUND : NNC_EIO;
  }
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  for (;;) {
    if (!b) {
      fclose(f);
      snprintf(err, errlen, "out of memory reading baseline %s", path);
      return NNC_ENOMEM;
    }
    n += fread(b + n, 1, cap - n - 1, f);
    if (n < cap - 1)
      break;
    cap *= 2;
    char *nb = realloc(b, cap);
    if (!nb)
      free(b);
    b = nb;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    snprintf(err, errlen, "cannot read baseline %s: read error", path);
    return NNC_EIO;
  }
  b[n] = 0;
  nnci_jv *v;
  char t[32], what[4200];
  snprintf(what, sizeof what, "baseline %s", path);
  int rc = parse_report(b, n, what, &v, t, sizeof t, err, errlen);
  if (rc == NNC_OK && tool && strcmp(t, tool)) {
    snprintf(err, errlen, "baseline %s is a %s report, not %s: give a %s "
                          "--json report",
             path, t, tool, tool);
    rc = NNC_EARG;
  }
  if (rc == NNC_OK) {
    entries e = {NULL, 0};
    rc = collect(v, t, &e, what, err, errlen);
    free(e.v);
  }
  nnci_json_free(v);
  if (rc != NNC_OK) {
    free(b);
    return rc;
  }
  *text = b;
  *len = n;
  return NNC_OK;
}

int nnc_baseline_write(const char *json, size_t len, const char *path,
                       char *err, size_t errlen)
{
  nnci_jv *v;
  char perr[512];
  if (nnci_json_parse(json, len, &v, perr, sizeof perr) != 0) {
    snprintf(err, errlen, "refusing to write %s: not valid JSON: %s", path,
             perr);
    return NNC_EARG;
  }
  nnci_json_free(v);
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 16);
  if (!tmp) {
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  memcpy(tmp, path, pl);
  memcpy(tmp + pl, ".tmp.XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create a temporary file beside %s: %s",
             path, strerror(errno));
    free(tmp);
    return NNC_EIO;
  }
  const char *p = json;
  size_t left = len;
  int e = 0;
  while (left && !e) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      e = w < 0 ? errno : EIO;
    else {
      p += w;
      left -= (size_t)w;
    }
  }
  if (!e && fchmod(fd, 0644) != 0)
    e = errno;
  if (!e && fsync(fd) != 0)
    e = errno;
  if (close(fd) != 0 && !e)
    e = errno;
  if (!e && rename(tmp, path) != 0)
    e = errno;
  if (e) {
    unlink(tmp);
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
    free(tmp);
    return NNC_EIO;
  }
  free(tmp);
  return NNC_OK;
}

/* ---- from results in memory ---------------------------------------------- */

static int render(const void *r, int grad, char **text, size_t *len,
                  char *err, size_t errlen)
{
  *text = NULL;
  *len = 0;
  FILE *f = open_memstream(text, len);
  if (!f) {
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  if (grad)
    nnc_gradcheck_report_json(r, f);
  else
    nnc_sanity_report_json(r, f);
  if (fclose(f) != 0 || !*text) {
    free(*text);
    *text = NULL;
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  return NNC_OK;
}

static int compare_result(const char *baseline, size_t baseline_len,
                          const void *r, int grad,
                          const nnc_baseline_opts *o,
                          nnc_baseline_result **out, char *err, size_t errlen)
{
  char *text;
  size_t len;
  *out = NULL;
  int rc = render(r, grad, &text, &len, err, errlen);
  if (rc == NNC_OK)
    rc = nnc_baseline_compare(baseline, baseline_len, text, len, o, out, err,
                              errlen);
  free(text);
  return rc;
}

int nnc_baseline_compare_gradcheck(const char *baseline, size_t baseline_len,
                                   const nnc_gradcheck_result *r,
                                   const nnc_baseline_opts *o,
                                   nnc_baseline_result **out, char *err,
                                   size_t errlen)
{
  return compare_result(baseline, baseline_len, r, 1, o, out, err, errlen);
}

int nnc_baseline_compare_sanity(const char *baseline, size_t baseline_len,
                                const nnc_sanity_result *r,
                                const nnc_baseline_opts *o,
                                nnc_baseline_result **out, char *err,
                                size_t errlen)
{
  return compare_result(baseline, baseline_len, r, 0, o, out, err, errlen);
}

static int write_result(const void *r, int grad, const char *path, char *err,
                        size_t errlen)
{
  char *text;
  size_t len;
  int rc = render(r, grad, &text, &len, err, errlen);
  if (rc == NNC_OK)
    rc = nnc_baseline_write(text, len, path, err, errlen);
  free(text);
  return rc;
}

int nnc_baseline_write_gradcheck(const nnc_gradcheck_result *r,
                                 const char *path, char *err, size_t errlen)
{
  return write_result(r, 1, path, err, errlen);
}

int nnc_baseline_write_sanity(const nnc_sanity_result *r, const char *path,
                              char *err, size_t errlen)
{
  return write_result(r, 0, path, err, errlen);
}
