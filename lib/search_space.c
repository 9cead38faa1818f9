/* search_space.c — the search-space file, stage plans, sampling on the
 * right scale, the coarse-to-fine planner and the border check.  Pure
 * functions of their inputs: no files except nnc_search_space_load. */
#include "config.h"
#include "search_internal.h"
#include "rng.h"

#include <nncheck/train.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *nnc_scale_name(int scale)
{
  switch (scale) {
  case NNC_SCALE_LOG: return "log";
  case NNC_SCALE_LINEAR: return "linear";
  case NNC_SCALE_INT: return "int";
  case NNC_SCALE_LOGINT: return "logint";
  }
  return "?";
}

const char *nnc_trial_status_name(int st)
{
  switch (st) {
  case NNC_TRIAL_PENDING: return "pending";
  case NNC_TRIAL_OK: return "ok";
  case NNC_TRIAL_STOPPED: return "stopped";
  case NNC_TRIAL_DIVERGED: return "diverged";
  case NNC_TRIAL_FAILED: return "failed";
  }
  return "?";
}

int nnci_search_fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int is_log(int scale)
{
  return scale == NNC_SCALE_LOG || scale == NNC_SCALE_LOGINT;
}

/* Into and out of the parameter's scale. */
double nnci_to_scale(int scale, double v) { return is_log(scale) ? log10(v) : v; }
double nnci_from_scale(int scale, double s) { return is_log(scale) ? pow(10, s) : s; }

/* ---- parsing ---------------------------------------------------------------- */

static int parse_num(const char *s, double *out)
{
  if (!s || !*s)
    return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int parse_size(const char *s, size_t *out)
{
  if (!s || !isdigit((unsigned char)*s))
    return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || errno)
    return -1;
  *out = (size_t)v;
  return 0;
}

static int name_ok(const char *s)
{
  if (!*s || strlen(s) >= NNC_SEARCH_NAME)
    return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_')
      return 0;
  return 1;
}

#define MAXW 16
#define PFAIL(...)                                                             \
  return nnci_search_fail(NNC_EARG, err, errlen, __VA_ARGS__)

int nnc_search_space_parse(const char *text, const char *fname,
                           nnc_search_space *sp, char *err, size_t errlen)
{
  memset(sp, 0, sizeof *sp);
  sp->seed = 1;
  sp->rule = NNC_RULE_SGD;
  sp->lr = NAN;
  sp->mu = NAN;
  sp->batch = 32;
  sp->ema = 0.95;
  sp->topk = 5;
  sp->lease = 30;
  if (!fname)
    fname = "space";
  size_t lineno = 0;
  const char *p = text;
  char line[4096];
  while (*p) {
    lineno++;
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len >= sizeof line)
      PFAIL("%s:%zu: line longer than %zu bytes", fname, lineno,
            sizeof line - 1);
    memcpy(line, p, len);
    line[len] = 0;
    p = nl ? nl + 1 : p + len;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = 0;
    char raw[4096];
    memcpy(raw, line, sizeof raw);
    char *w[MAXW];
    size_t nw = 0;
    for (char *t = strtok(line, " \t\r"); t; t = strtok(NULL, " \t\r")) {
      if (nw == MAXW)
        PFAIL("%s:%zu: more than %d words", fname, lineno, MAXW);
      w[nw++] = t;
    }
    if (nw == 0)
      continue;
    const char *k = w[0];
    double v;
    size_t u;
    if (!strcmp(k, "plugin")) {
      if (nw != 2)
        PFAIL("%s:%zu: plugin takes one name or path, e.g. `plugin mlp`",
              fname, lineno);
      snprintf(sp->plugin, sizeof sp->plugin, "%s", w[1]);
    } else if (!strcmp(k, "args")) {
      const char *r = strstr(raw, "args") + 4;
      while (*r == ' ' || *r == '\t')
        r++;
      size_t rl = strlen(r);
      while (rl && (r[rl - 1] == ' ' || r[rl - 1] == '\t' || r[rl - 1] == '\r'))
        rl--;
      if (rl >= sizeof sp->args)
        PFAIL("%s:%zu: args longer than %zu bytes", fname, lineno,
              sizeof sp->args - 1);
      memcpy(sp->args, r, rl);
      sp->args[rl] = 0;
    } else if (!strcmp(k, "seed")) {
      size_t s;
      if (nw != 2 || parse_size(w[1], &s))
        PFAIL("%s:%zu: seed takes one integer >= 0", fname, lineno);
      sp->seed = s;
    } else if (!strcmp(k, "rule")) {
      int r = nw == 2 ? nnc_rule_parse(w[1]) : -1;
      if (r < 0)
        PFAIL("%s:%zu: rule: accepted: sgd, momentum, nesterov, adagrad, "
              "rmsprop, adam", fname, lineno);
      sp->rule = r;
    } else if (!strcmp(k, "lr") || !strcmp(k, "mu") || !strcmp(k, "ema")) {
      if (nw != 2 || parse_num(w[1], &v) || v < 0 ||
          (k[0] != 'l' && v >= 1) || (k[0] == 'l' && v <= 0))
        PFAIL("%s:%zu: %s takes one number (%s)", fname, lineno, k,
              k[0] == 'l' ? "> 0" : "in [0, 1)");
      *(k[0] == 'l' ? &sp->lr : k[0] == 'm' ? &sp->mu : &sp->ema) = v;
    } else if (!strcmp(k, "batch") || !strcmp(k, "topk")) {
      if (nw != 2 || parse_size(w[1], &u) || u == 0 || u > 1000000)
        PFAIL("%s:%zu: %s takes one integer in 1..1000000", fname, lineno, k);
      *(k[0] == 'b' ? &sp->batch : &sp->topk) = u;
    } else if (!strcmp(k, "lease")) {
      if (nw != 2 || parse_num(w[1], &v) || v < 0.5)
        PFAIL("%s:%zu: lease takes seconds >= 0.5", fname, lineno);
      sp->lease = v;
    } else if (!strcmp(k, "param")) {
      if (nw != 5 && nw != 8)
        PFAIL("%s:%zu: param takes NAME SCALE LO HI [limit A B], e.g. "
              "`param lr log 1e-6 1e1`", fname, lineno);
      if (sp->nparams == NNC_SEARCH_MAX_PARAMS)
        PFAIL("%s:%zu: at most %d parameters", fname, lineno,
              NNC_SEARCH_MAX_PARAMS);
      nnc_search_param *q = &sp->params[sp->nparams];
      if (!name_ok(w[1]))
        PFAIL("%s:%zu: parameter name '%s': use letters, digits and '_' "
              "(at most %d)", fname, lineno, w[1], NNC_SEARCH_NAME - 1);
      for (size_t j = 0; j < sp->nparams; j++)
        if (!strcmp(sp->params[j].name, w[1]))
          PFAIL("%s:%zu: parameter '%s' declared twice", fname, lineno, w[1]);
      snprintf(q->name, sizeof q->name, "%s", w[1]);
      q->scale = -1;
      for (int s = 0; s < 4; s++)
        if (!strcmp(w[2], nnc_scale_name(s)))
          q->scale = s;
      if (q->scale < 0)
        PFAIL("%s:%zu: unknown scale '%s': accepted: log, linear, int, logint",
              fname, lineno, w[2]);
      if (parse_num(w[3], &q->lo) || parse_num(w[4], &q->hi) || !(q->lo < q->hi))
        PFAIL("%s:%zu: %s: LO and HI must be numbers with LO < HI", fname,
              lineno, q->name);
      if (q->scale == NNC_SCALE_LOG && q->lo <= 0)
        PFAIL("%s:%zu: %s: a log scale needs LO > 0 (got %g)", fname, lineno,
              q->name, q->lo);
      if ((q->scale == NNC_SCALE_INT || q->scale == NNC_SCALE_LOGINT) &&
          (q->lo != floor(q->lo) || q->hi != floor(q->hi)))
        PFAIL("%s:%zu: %s: an integer scale needs integer LO and HI", fname,
              lineno, q->name);
      if (q->scale == NNC_SCALE_LOGINT && q->lo < 1)
        PFAIL("%s:%zu: %s: logint needs LO >= 1", fname, lineno, q->name);
      if (is_log(q->scale)) {
        q->lim_lo = q->scale == NNC_SCALE_LOGINT ? 1 : 0;
        q->lim_hi = INFINITY;
      } else {
        q->lim_lo = q->lo;
        q->lim_hi = q->hi;
      }
      if (nw == 8) {
        if (strcmp(w[5], "limit") || parse_num(w[6], &q->lim_lo) ||
            parse_num(w[7], &q->lim_hi) || q->lim_lo > q->lo ||
            q->lim_hi < q->hi)
          PFAIL("%s:%zu: %s: expected `limit A B` with A <= LO and B >= HI",
                fname, lineno, q->name);
        if (q->scale == NNC_SCALE_LOG && q->lim_lo <= 0)
          q->lim_lo = 0;
      }
      sp->nparams++;
    } else if (!strcmp(k, "stage")) {
      if (sp->nstages == NNC_SEARCH_MAX_STAGES)
        PFAIL("%s:%zu: at most %d stages", fname, lineno,
              NNC_SEARCH_MAX_STAGES);
      nnc_search_stage *s = &sp->stages[sp->nstages];
      if (nw < 3 || !name_ok(w[1]))
        PFAIL("%s:%zu: stage takes NAME trials=N epochs=E [stop=Q], e.g. "
              "`stage coarse trials=20 epochs=1`", fname, lineno);
      snprintf(s->name, sizeof s->name, "%s", w[1]);
      s->stop_q = 0.5;
      s->trials = 0;
      s->epochs = 0;
      for (size_t j = 2; j < nw; j++) {
        char *eq = strchr(w[j], '=');
        if (!eq)
          PFAIL("%s:%zu: stage %s: '%s' is not KEY=VALUE (trials, epochs, "
                "stop)", fname, lineno, s->name, w[j]);
        *eq = 0;
        const char *val = eq + 1;
        if (!strcmp(w[j], "trials")) {
          if (parse_size(val, &s->trials) || s->trials == 0 ||
              s->trials > 100000)
            PFAIL("%s:%zu: stage %s: trials takes an integer in 1..100000",
                  fname, lineno, s->name);
        } else if (!strcmp(w[j], "epochs")) {
          if (parse_num(val, &s->epochs) || s->epochs <= 0 ||
              s->epochs > NNC_SEARCH_MAX_EPOCHS)
            PFAIL("%s:%zu: stage %s: epochs takes a number in (0, %d]", fname,
                  lineno, s->name, NNC_SEARCH_MAX_EPOCHS);
        } else if (!strcmp(w[j], "stop")) {
          if (parse_num(val, &s->stop_q) || s->stop_q < 0 || s->stop_q >= 1)
            PFAIL("%s:%zu: stage %s: stop takes a quantile in [0, 1)", fname,
                  lineno, s->name);
        } else {
          PFAIL("%s:%zu: stage %s: unknown key '%s'; accepted: trials, "
                "epochs, stop", fname, lineno, s->name, w[j]);
        }
      }
      if (!s->trials || !s->epochs)
        PFAIL("%s:%zu: stage %s needs trials=N and epochs=E", fname, lineno,
              s->name);
      sp->nstages++;
    } else {
      PFAIL("%s:%zu: unknown statement '%s'; accepted: plugin, args, seed, "
            "rule, lr, mu, batch, ema, topk, lease, param, stage",
            fname, lineno, k);
    }
  }
  if (!sp->plugin[0])
    PFAIL("%s: no `plugin NAME` line: name the net to search", fname);
  if (!sp->nparams)
    PFAIL("%s: no `param` line: declare at least one hyperparameter", fname);
  if (!sp->nstages)
    PFAIL("%s: no `stage` line: declare at least one stage", fname);
  /* every {NAME} of the template is a parameter */
  for (const char *t = sp->args; (t = strchr(t, '{')); t++) {
    const char *e = strchr(t, '}');
    char nm[NNC_SEARCH_NAME + 1];
    size_t n = e ? (size_t)(e - t - 1) : 0;
    if (!e || n == 0 || n >= sizeof nm)
      PFAIL("%s: args: unterminated or empty {NAME} in '%s'", fname, sp->args);
    memcpy(nm, t + 1, n);
    nm[n] = 0;
    if (nnci_param_index(sp, nm) < 0)
      PFAIL("%s: args: {%s} is not a declared parameter", fname, nm);
  }
  return NNC_OK;
}

int nnci_param_index(const nnc_search_space *sp, const char *name)
{
  for (size_t j = 0; j < sp->nparams; j++)
    if (!strcmp(sp->params[j].name, name))
      return (int)j;
  return -1;
}

int nnc_search_space_load(const char *path, nnc_search_space *out, char *err,
                          size_t errlen)
{
  char *text = NULL;
  int rc = nnci_read_text(path, &text, err, errlen);
  if (rc)
    return rc;
  rc = nnc_search_space_parse(text, path, out, err, errlen);
  free(text);
  return rc;
}

/* ---- plans ------------------------------------------------------------------ */

void nnc_search_plan0(const nnc_search_space *sp, nnc_search_plan *out)
{
  memset(out, 0, sizeof *out);
  out->trials = sp->stages[0].trials;
  out->epochs = sp->stages[0].epochs;
  out->nparams = sp->nparams;
  memcpy(out->params, sp->params, sizeof sp->params);
}

static void put_num(FILE *f, double v)
{
  if (isinf(v))
    fputs(v > 0 ? "inf" : "-inf", f);
  else
    fprintf(f, "%.17g", v);
}

int nnc_search_plan_write(const nnc_search_plan *p, FILE *f)
{
  fprintf(f, "stage %zu\nfirst %zu\ntrials %zu\nepochs ", p->stage, p->first,
          p->trials);
  put_num(f, p->epochs);
  fputc('\n', f);
  for (size_t j = 0; j < p->nparams; j++) {
    const nnc_search_param *q = &p->params[j];
    fprintf(f, "param %s %s ", q->name, nnc_scale_name(q->scale));
    put_num(f, q->lo);
    fputc(' ', f);
    put_num(f, q->hi);
    fputc(' ', f);
    put_num(f, q->lim_lo);
    fputc(' ', f);
    put_num(f, q->lim_hi);
    fputc('\n', f);
  }
  for (size_t r = 0; r < p->nrungs; r++) {
    fprintf(f, "rung %zu ", p->rung_epoch[r]);
    put_num(f, p->rung_min[r]);
    fputc('\n', f);
  }
  fputs("end\n", f);
  return ferror(f) ? NNC_EIO : NNC_OK;
}

static int pnum(const char *s, double *v)
{
  if (!strcmp(s, "inf")) {
    *v = INFINITY;
    return 0;
  }
  if (!strcmp(s, "-inf")) {
    *v = -INFINITY;
    return 0;
  }
  return parse_num(s, v);
}

int nnc_search_plan_parse(const char *text, nnc_search_plan *p, char *err,
                          size_t errlen)
{
  memset(p, 0, sizeof *p);
  char *buf = strdup(text);
  if (!buf)
    return NNC_ENOMEM;
  int ended = 0, bad = 0;
  char *save = NULL;
  for (char *ln = strtok_r(buf, "\n", &save); ln && !bad;
       ln = strtok_r(NULL, "\n", &save)) {
    char a[64], b[64], c[64], d[64], e[64], g[64];
    int n = sscanf(ln, "%63s %63s %63s %63s %63s %63s", a, b, c, d, e, g);
    if (n >= 2 && !strcmp(a, "stage"))
      bad = parse_size(b, &p->stage);
    else if (n >= 2 && !strcmp(a, "first"))
      bad = parse_size(b, &p->first);
    else if (n >= 2 && !strcmp(a, "trials"))
      bad = parse_size(b, &p->trials);
    else if (n >= 2 && !strcmp(a, "epochs"))
      bad = pnum(b, &p->epochs);
    else if (n == 6 && !strcmp(a, "param") &&
             p->nparams < NNC_SEARCH_MAX_PARAMS) {
      nnc_search_param *q = &p->params[p->nparams++];
      snprintf(q->name, sizeof q->name, "%.31s", b);
      q->scale = -1;
      for (int s = 0; s < 4; s++)
        if (!strcmp(c, nnc_scale_name(s)))
          q->scale = s;
      char lim[2][64];
      if (sscanf(ln, "%*s %*s %*s %*s %*s %63s %63s", lim[0], lim[1]) != 2)
        bad = 1;
      else
        bad = q->scale < 0 || pnum(d, &q->lo) || pnum(e, &q->hi) ||
              pnum(lim[0], &q->lim_lo) || pnum(lim[1], &q->lim_hi);
    } else if (n >= 3 && !strcmp(a, "rung") &&
               p->nrungs < NNC_SEARCH_MAX_RUNGS) {
      bad = parse_size(b, &p->rung_epoch[p->nrungs]) ||
            pnum(c, &p->rung_min[p->nrungs]);
      p->nrungs++;
    } else if (!strcmp(a, "end"))
      ended = 1;
    else
      bad = 1;
  }
  free(buf);
  if (bad || !ended || !p->trials || !p->nparams)
    return nnci_search_fail(NNC_EIO, err, errlen,
                            "stage plan is malformed or truncated");
  return NNC_OK;
}

/* ---- sampling --------------------------------------------------------------- */

double nnc_search_value(const nnc_search_param *p, double u)
{
  switch (p->scale) {
  case NNC_SCALE_LOG:
    return pow(10, log10(p->lo) + u * (log10(p->hi) - log10(p->lo)));
  case NNC_SCALE_LINEAR:
    return p->lo + u * (p->hi - p->lo);
  case NNC_SCALE_INT: {
    double lo = ceil(p->lo), hi = floor(p->hi);
    double v = lo + floor(u * (hi - lo + 1));
    return v > hi ? hi : v;
  }
  case NNC_SCALE_LOGINT: {
    double lo = ceil(p->lo), hi = floor(p->hi);
    double v = round(pow(10, log10(lo) + u * (log10(hi) - log10(lo))));
    return v < lo ? lo : v > hi ? hi : v;
  }
  }
  return NAN;
}

void nnc_search_sample(const nnc_search_plan *p, uint64_t seed, size_t index,
                       double *values)
{
  for (size_t j = 0; j < p->nparams; j++) {
    nnc_rng r;
    nnc_rng_init(&r, seed, nnc_hash64(0x5ea7c400ULL + index) ^ (uint64_t)j);
    values[j] = nnc_search_value(&p->params[j], nnc_rng_uniform(&r));
  }
}

double nnc_search_pos(const nnc_search_param *p, double lo, double hi, double v)
{
  double a = nnci_to_scale(p->scale, lo), b = nnci_to_scale(p->scale, hi);
  double x = nnci_to_scale(p->scale, v);
  return b > a ? (x - a) / (b - a) : 0.5;
}

/* ---- ranking ------------------------------------------------------------------ */

static int usable(const nnc_trial *t)
{
  return (t->status == NNC_TRIAL_OK || t->status == NNC_TRIAL_STOPPED) &&
         isfinite(t->best_acc);
}

int nnc_trial_cmp(const nnc_trial *a, const nnc_trial *b)
{
  int ua = usable(a), ub = usable(b);
  if (ua != ub)
    return ua ? -1 : 1;
  if (ua) {
    if (a->best_acc != b->best_acc)
      return a->best_acc > b->best_acc ? -1 : 1;
    double la = isfinite(a->best_loss) ? a->best_loss : INFINITY;
    double lb = isfinite(b->best_loss) ? b->best_loss : INFINITY;
    if (la != lb)
      return la < lb ? -1 : 1;
  }
  return a->index < b->index ? -1 : a->index > b->index;
}

static int cmp_ptr(const void *a, const void *b)
{
  return nnc_trial_cmp(*(const nnc_trial *const *)a,
                       *(const nnc_trial *const *)b);
}

/* The usable trials sorted best first into order; returns how many. */
size_t nnci_rank(const nnc_trial *t, size_t n, const nnc_trial **order)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (usable(&t[i]))
      order[k++] = &t[i];
  qsort(order, k, sizeof *order, cmp_ptr);
  return k;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The q-quantile of v (sorted in place), linear interpolation. */
static double quantile(double *v, size_t n, double q)
{
  qsort(v, n, sizeof *v, cmp_double);
  double h = q * (double)(n - 1);
  size_t i = (size_t)floor(h);
  if (i + 1 >= n)
    return v[n - 1];
  return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

/* ---- the planner ------------------------------------------------------------- */

static double clampd(double v, double lo, double hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

int nnc_search_plan_next(const nnc_search_space *sp,
                         const nnc_search_plan *cur, const nnc_trial *trials,
                         size_t n, const nnc_trial *all, size_t nall,
                         nnc_search_plan *next, char *err, size_t errlen)
{
  size_t s = cur->stage + 1;
  if (s >= sp->nstages)
    return nnci_search_fail(NNC_EARG, err, errlen, "no stage after stage %zu",
                            cur->stage);
  *next = *cur;
  next->stage = s;
  next->first = cur->first + cur->trials;
  next->trials = sp->stages[s].trials;
  next->epochs = sp->stages[s].epochs;
  next->nrungs = 0;
  const nnc_trial **order = malloc((n + nall + 1) * sizeof *order);
  if (!order)
    return NNC_ENOMEM;
  size_t nu = nnci_rank(trials, n, order);
  size_t k = nu < sp->topk ? nu : sp->topk;
  for (size_t j = 0; j < cur->nparams && k > 0; j++) {
    const nnc_search_param *q = &cur->params[j];
    int sc = q->scale;
    double a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < k; i++) {
      double x = nnci_to_scale(sc, order[i]->values[j]);
      a = x < a ? x : a;
      b = x > b ? x : b;
    }
    double A0 = nnci_to_scale(sc, q->lo), B0 = nnci_to_scale(sc, q->hi);
    double margin = fmax(0.25 * (b - a), 0.05 * (B0 - A0));
    double A = a - margin, B = b + margin;
    /* drop the ends where most trials diverged */
    double bw = (B0 - A0) / NNC_SEARCH_BINS;
    for (int bin = 0; bin < NNC_SEARCH_BINS; bin++) {
      double u = A0 + bin * bw, v = u + bw;
      size_t cnt = 0, bad = 0;
      for (size_t i = 0; i < n; i++) {
        if (trials[i].status == NNC_TRIAL_PENDING)
          continue;
        double x = nnci_to_scale(sc, trials[i].values[j]);
        if (x >= u && (x < v || (bin == NNC_SEARCH_BINS - 1 && x <= v))) {
          cnt++;
          bad += trials[i].status == NNC_TRIAL_DIVERGED ||
                 trials[i].status == NNC_TRIAL_FAILED;
        }
      }
      if (cnt < 2 || 2 * bad <= cnt)
        continue;
      if (u <= A && A < v)
        A = fmin(v, a);
      if (u < B && B <= v)
        B = fmax(u, b);
    }
    double L = nnci_to_scale(sc, q->lim_lo), H = nnci_to_scale(sc, q->lim_hi);
    if (is_log(sc) && q->lim_lo <= 0)
      L = -INFINITY;
    A = clampd(A, L, H);
    B = clampd(B, L, H);
    nnc_search_param *o = &next->params[j];
    o->lo = nnci_from_scale(sc, A);
    o->hi = nnci_from_scale(sc, B);
    if (sc == NNC_SCALE_INT || sc == NNC_SCALE_LOGINT) {
      o->lo = floor(o->lo + 1e-9);
      o->hi = ceil(o->hi - 1e-9);
      if (sc == NNC_SCALE_LOGINT && o->lo < 1)
        o->lo = 1;
    }
    if (!(o->lo < o->hi)) { /* all top values equal: keep a small range */
      double w = 0.05 * (B0 - A0);
      o->lo = nnci_from_scale(sc, clampd(a - w, L, H));
      o->hi = nnci_from_scale(sc, clampd(b + w, L, H));
      if (sc == NNC_SCALE_INT || sc == NNC_SCALE_LOGINT) {
        o->lo = floor(o->lo);
        o->hi = ceil(o->hi);
        if (o->lo == o->hi)
          o->hi = o->lo + 1;
      }
    }
  }
  /* rungs: epochs 1, 2, 4, ... below the stage's epochs, against the
   * earlier stages' accuracies at that epoch */
  double q = sp->stages[s].stop_q;
  double *acc = malloc((nall + 1) * sizeof *acc);
  if (!acc) {
    free(order);
    return NNC_ENOMEM;
  }
  for (size_t r = 1; q > 0 && (double)r < next->epochs &&
                     next->nrungs < NNC_SEARCH_MAX_RUNGS; r *= 2) {
    size_t m = 0;
    for (size_t i = 0; i < nall; i++)
      if (all[i].stage < s && all[i].nepochs >= r &&
          isfinite(all[i].val_acc[r - 1]))
        acc[m++] = all[i].val_acc[r - 1];
    if (m < 4)
      continue;
    next->rung_epoch[next->nrungs] = r;
    next->rung_min[next->nrungs] = quantile(acc, m, q);
    next->nrungs++;
  }
  free(acc);
  free(order);
  return NNC_OK;
}

/* ---- the border check ---------------------------------------------------------- */

size_t nnc_search_border(const nnc_search_space *sp, const nnc_search_plan *p,
                         const nnc_trial *trials, size_t n,
                         nnc_border_warning *out)
{
  const nnc_trial **order = malloc((n + 1) * sizeof *order);
  if (!order)
    return 0;
  size_t nu = nnci_rank(trials, n, order);
  size_t k = nu < sp->topk ? nu : sp->topk, nw = 0;
  double *med = malloc((k + 1) * sizeof *med);
  if (!med) {
    free(order);
    return 0;
  }
  for (size_t j = 0; j < p->nparams && k > 0; j++) {
    const nnc_search_param *q = &p->params[j];
    for (size_t i = 0; i < k; i++)
      med[i] = order[i]->values[j];
    double mv = quantile(med, k, 0.5);
    double best = order[0]->values[j];
    double pb = nnc_search_pos(q, q->lo, q->hi, best);
    double pm = nnc_search_pos(q, q->lo, q->hi, mv);
    int side = -1, what = 0;
    double val = best, pos = pb;
    double lo_edge = NNC_SEARCH_BORDER, hi_edge = 1 - NNC_SEARCH_BORDER;
    int bl = pb < lo_edge, bh = pb > hi_edge, ml = pm < lo_edge,
        mh = pm > hi_edge;
    if (bl || ml) {
      side = 0;
      what = bl && ml ? 2 : bl ? 0 : 1;
    } else if (bh || mh) {
      side = 1;
      what = bh && mh ? 2 : bh ? 0 : 1;
    }
    if (side < 0)
      continue;
    if (what == 1) {
      val = mv;
      pos = pm;
    }
    nnc_border_warning *w = &out[nw++];
    memset(w, 0, sizeof *w);
    snprintf(w->param, sizeof w->param, "%s", q->name);
    w->upper = side;
    w->what = what;
    w->value = val;
    w->pos = pos;
    w->lo = q->lo;
    w->hi = q->hi;
    int sc = q->scale;
    double A = nnci_to_scale(sc, q->lo), B = nnci_to_scale(sc, q->hi);
    double L = is_log(sc) && q->lim_lo <= 0 ? -INFINITY
                                            : nnci_to_scale(sc, q->lim_lo);
    double H = nnci_to_scale(sc, q->lim_hi);
    double wdt = 0.5 * (B - A);
    w->new_lo = q->lo;
    w->new_hi = q->hi;
    if (side == 0) {
      w->at_limit = A <= L;
      w->new_lo = nnci_from_scale(sc, fmax(A - wdt, L));
    } else {
      w->at_limit = B >= H;
      w->new_hi = nnci_from_scale(sc, fmin(B + wdt, H));
    }
    if (sc == NNC_SCALE_INT || sc == NNC_SCALE_LOGINT) {
      w->new_lo = floor(w->new_lo);
      w->new_hi = ceil(w->new_hi);
    }
  }
  free(med);
  free(order);
  return nw;
}

void nnc_border_format(const nnc_border_warning *w, int scale, char *buf,
                       size_t len)
{
  static const char *whatn[] = {"the best value", "the median of the top trials",
                                "the best value and the median of the top "
                                "trials"};
  if (w->at_limit)
    snprintf(buf, len,
             "%s: %s (%.4g) lies in the %s 10%% of [%.4g, %.4g] (%s scale), "
             "and that border is its limit: nothing to widen",
             w->param, whatn[w->what], w->value, w->upper ? "upper" : "lower",
             w->lo, w->hi, nnc_scale_name(scale));
  else
    snprintf(buf, len,
             "%s: %s (%.4g) lies in the %s 10%% of [%.4g, %.4g] (%s scale): "
             "widen the range to [%.4g, %.4g]",
             w->param, whatn[w->what], w->value, w->upper ? "upper" : "lower",
             w->lo, w->hi, nnc_scale_name(scale), w->new_lo, w->new_hi);
}
