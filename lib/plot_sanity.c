/* plot_sanity.c — the plots of the sanity checks, through the plot layer.
 *
 *   sanity_chance    each example's loss at near-zero scores, the expected
 *                    value and its tolerance band;
 *   sanity_reg       the loss, its reg part and its data part against the
 *                    regularization strength (one slot per strength);
 *   sanity_overfit   the subset's loss per epoch, log scale, one curve per
 *                    learning rate tried, and the target;
 *   sanity_baseline  the same with real and with zeroed inputs;
 *   sanity_init      the dead or saturated share of every probed layer
 *                    against the WARN and FAIL lines.
 *
 * Axes in epochs and losses on a log scale, as the notes draw them. */
#include "config.h"
#include "plot.h"
#include "sanity_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(NNC_SANITY_UNRENDERED == NNC_PLOT_UNRENDERED,
               "sanity.h and plot.h must agree on the unrendered code");

#define FAIL_COLOR "#d62728"
#define WARN_COLOR "#ff7f0e"
#define OK_COLOR "#2ca02c"
#define NSERIES (NNC_SANITY_MAX_RUNS + 3)

/* One plot and the storage its description points into. */
typedef struct built {
  nnc_plot p;
  nnc_plot_series series[NSERIES];
  nnc_plot_ref refs[6];
  char labels[NSERIES + 6][96];
  char title[256];
  void *own[NSERIES + 4]; /* malloc'ed arrays */
  size_t nown;
} built;

static void *take(built *b, size_t bytes)
{
  if (b->nown >= sizeof b->own / sizeof *b->own)
    return NULL;
  void *p = calloc(bytes ? bytes : 1, 1);
  if (p)
    b->own[b->nown++] = p;
  return p;
}

static void built_free(built *b)
{
  for (size_t k = 0; k < b->nown; k++)
    free(b->own[k]);
  b->nown = 0;
}

static const char *label(built *b, size_t i, const char *fmt, double v)
{
  snprintf(b->labels[i], sizeof b->labels[i], fmt, v);
  return b->labels[i];
}

static int ran(const nnc_sanity_result *r, int id)
{
  uint32_t v = r->items[id].verdict;
  return r->kind == NNC_KIND_NET && v != NNC_SKIP &&
         !(r->error && r->error_check == id);
}

/* ---- the plots --------------------------------------------------------- */

static int chance_plot(const nnc_sanity_result *r, built *b)
{
  const struct nnc_sanity_chance *c = &r->chance;
  if (!ran(r, NNC_SANITY_CHANCE) || !c->loss)
    return 1;
  size_t n = c->n ? c->n : 1;
  double *x = take(b, n * sizeof *x);
  if (!x)
    return NNC_ENOMEM;
  for (size_t k = 0; k < n; k++)
    x[k] = (double)(k + 1);
  nnc_plot_init(&b->p, "sanity_chance");
  snprintf(b->title, sizeof b->title,
           "loss at chance: mean %.6g, expected %.6g +- %.2g (%s)", c->mean,
           c->expected, c->tol, nnc_verdict_name((int)r->items[0].verdict));
  b->p.title = b->title;
  b->p.xlabel = c->n ? "example (evaluated alone)" : "the plugin's batch";
  b->p.ylabel = "data loss";
  b->series[0] = (nnc_plot_series){.label = "per-example loss",
                                   .style = NNC_PLOT_POINTS, .n = n, .x = x,
                                   .y = c->loss};
  size_t nr = 0;
  b->refs[nr++] = (nnc_plot_ref){.at = c->expected,
                                 .label = label(b, 0, "expected %.6g",
                                                c->expected),
                                 .color = OK_COLOR, .dash = 1};
  b->refs[nr++] = (nnc_plot_ref){.at = c->expected + c->tol,
                                 .label = label(b, 1, "tolerance +-%.2g",
                                                c->tol),
                                 .color = WARN_COLOR, .dash = 2};
  b->refs[nr++] = (nnc_plot_ref){.at = c->expected - c->tol,
                                 .color = WARN_COLOR, .dash = 2};
  b->refs[nr++] = (nnc_plot_ref){.at = c->mean,
                                 .label = label(b, 2, "measured mean %.6g",
                                                c->mean),
                                 .color = "#1f77b4", .dash = 4};
  if (isfinite(c->entropy))
    b->refs[nr++] = (nnc_plot_ref){.at = c->entropy,
                                   .label = label(b, 3, "label entropy %.6g",
                                                  c->entropy),
                                   .color = "#7f7f7f", .dash = 5};
  b->p.nrefs = nr;
  b->p.refs = b->refs;
  b->p.nseries = 1;
  b->p.series = b->series;
  b->p.key = NNC_KEY_BELOW;
  return NNC_OK;
}

static int reg_plot(const nnc_sanity_result *r, built *b)
{
  const struct nnc_sanity_reg *g = &r->reg;
  if (!ran(r, NNC_SANITY_REG) || !g->n)
    return 1;
  double *x = take(b, g->n * sizeof *x), *data = take(b, g->n * sizeof *x);
  nnc_plot_tic *tics = take(b, g->n * sizeof *tics);
  if (!x || !data || !tics)
    return NNC_ENOMEM;
  for (size_t k = 0; k < g->n; k++) {
    x[k] = (double)k;
    data[k] = g->data;
    snprintf(b->labels[4 + k], sizeof b->labels[4 + k], "%g", g->lambda[k]);
    tics[k] = (nnc_plot_tic){(double)k, b->labels[4 + k]};
  }
  nnc_plot_init(&b->p, "sanity_reg");
  snprintf(b->title, sizeof b->title,
           "raising the regularization must raise the loss (%s)",
           nnc_verdict_name((int)r->items[NNC_SANITY_REG].verdict));
  b->p.title = b->title;
  b->p.xlabel = "regularization strength (set_hyper \"reg\")";
  b->p.ylabel = "loss at the same parameters";
  b->series[0] = (nnc_plot_series){.label = "data + reg",
                                   .style = NNC_PLOT_LINESPOINTS, .n = g->n,
                                   .x = x, .y = g->total};
  b->series[1] = (nnc_plot_series){.label = "reg part alone",
                                   .style = NNC_PLOT_LINESPOINTS, .n = g->n,
                                   .x = x, .y = g->part};
  b->series[2] = (nnc_plot_series){.label = "data part alone",
                                   .style = NNC_PLOT_LINES, .n = g->n, .x = x,
                                   .y = data};
  b->p.nseries = 3;
  b->p.series = b->series;
  b->p.nxtics = g->n;
  b->p.xtics = tics;
  b->p.xrange = (nnc_plot_range){1, -0.25, (double)g->n - 0.75};
  b->refs[0] = (nnc_plot_ref){.at = 0, .color = "#7f7f7f", .dash = 1};
  b->p.nrefs = 1;
  b->p.refs = b->refs;
  return NNC_OK;
}

/* Curves of runs: x epochs 0..nepochs, y the subset's loss. */
static int add_run(built *b, size_t i, const nnc_sanity_run *run,
                   const char *name)
{
  double *x = take(b, (run->nepochs + 1) * sizeof *x);
  if (!x)
    return NNC_ENOMEM;
  for (size_t k = 0; k <= run->nepochs; k++)
    x[k] = (double)k;
  b->series[i] = (nnc_plot_series){.label = name, .style = NNC_PLOT_LINES,
                                   .n = run->nepochs + 1, .x = x,
                                   .y = run->loss};
  return NNC_OK;
}

static int overfit_plot(const nnc_sanity_result *r, built *b)
{
  const struct nnc_sanity_overfit *o = &r->overfit;
  if (!ran(r, NNC_SANITY_OVERFIT) || !o->nruns)
    return 1;
  nnc_plot_init(&b->p, "sanity_overfit");
  snprintf(b->title, sizeof b->title,
           "overfitting %zu examples, regularization off: loss per epoch "
           "(%s)",
           o->subset, nnc_verdict_name((int)r->items[NNC_SANITY_OVERFIT].verdict));
  b->p.title = b->title;
  b->p.xlabel = "epoch";
  b->p.ylabel = "data loss over the subset";
  b->p.logy = 1;
  for (size_t k = 0; k < o->nruns; k++) {
    const nnc_sanity_run *run = &o->runs[k];
    char how[32];
    snprintf(b->labels[4 + k], sizeof b->labels[4 + k], "%s%s%s",
             nnci_sanity_method(run, how, sizeof how),
             (long)k == o->chosen ? " (met the target)" : "",
             run->diverged ? " (diverged)" : "");
    if (add_run(b, k, run, b->labels[4 + k]))
      return NNC_ENOMEM;
  }
  b->p.nseries = o->nruns;
  b->p.series = b->series;
  b->refs[0] = (nnc_plot_ref){.at = o->target,
                              .label = label(b, 0, "target %.3g", o->target),
                              .color = FAIL_COLOR, .dash = 2};
  b->p.nrefs = 1;
  b->p.refs = b->refs;
  return NNC_OK;
}

static int baseline_plot(const nnc_sanity_result *r, built *b)
{
  const struct nnc_sanity_baseline *bl = &r->baseline;
  if (!ran(r, NNC_SANITY_BASELINE) || !bl->zero.loss)
    return 1;
  char how[32];
  nnc_plot_init(&b->p, "sanity_baseline");
  snprintf(b->title, sizeof b->title,
           "input-independent baseline: real against zeroed inputs, %s "
           "(%s)",
           nnci_sanity_method(&bl->real, how, sizeof how),
           nnc_verdict_name((int)r->items[NNC_SANITY_BASELINE].verdict));
  b->p.title = b->title;
  b->p.xlabel = "epoch";
  b->p.ylabel = "data loss over the subset";
  b->p.logy = 1;
  if (add_run(b, 0, &bl->real, "real inputs") ||
      add_run(b, 1, &bl->zero, "zeroed inputs"))
    return NNC_ENOMEM;
  b->p.nseries = 2;
  b->p.series = b->series;
  if (isfinite(bl->entropy) && bl->entropy > 0 &&
      r->loss_type == NNC_LOSS_SOFTMAX) {
    b->refs[0] = (nnc_plot_ref){.at = bl->entropy,
                                .label = label(b, 0,
                                               "label entropy %.4g: the best "
                                               "without input",
                                               bl->entropy),
                                .color = "#7f7f7f", .dash = 2};
    b->p.nrefs = 1;
    b->p.refs = b->refs;
  }
  return NNC_OK;
}

static int init_plot(const nnc_sanity_result *r, built *b)
{
  const struct nnc_sanity_init *in = &r->init;
  if (!ran(r, NNC_SANITY_INIT) || !in->nprobes)
    return 1;
  size_t n = in->nprobes;
  double *x = take(b, n * sizeof *x), *y = take(b, n * sizeof *y);
  nnc_plot_tic *tics = take(b, n * sizeof *tics);
  if (!x || !y || !tics)
    return NNC_ENOMEM;
  for (size_t k = 0; k < n; k++) {
    x[k] = (double)k;
    y[k] = 100 * in->probes[k].frac; /* NaN (not assessed) is not drawn */
    tics[k] = (nnc_plot_tic){(double)k, in->probes[k].name};
  }
  nnc_plot_init(&b->p, "sanity_init");
  snprintf(b->title, sizeof b->title,
           "health of the initialization: dead ReLUs, saturated tanh (%s)",
           nnc_verdict_name((int)r->items[NNC_SANITY_INIT].verdict));
  b->p.title = b->title;
  b->p.xlabel = "probed activation";
  b->p.ylabel = "% of units dead or saturated";
  b->series[0] = (nnc_plot_series){.label = "dead (ReLU) or saturated",
                                   .style = NNC_PLOT_IMPULSES, .n = n, .x = x,
                                   .y = y, .color = "#1f77b4"};
  b->series[1] = (nnc_plot_series){.style = NNC_PLOT_POINTS, .n = n, .x = x,
                                   .y = y, .color = "#1f77b4"};
  b->p.nseries = 2;
  b->p.series = b->series;
  b->p.nxtics = n;
  b->p.xtics = tics;
  b->p.xrange = (nnc_plot_range){1, -0.5, (double)n - 0.5};
  b->p.yrange = (nnc_plot_range){1, 0, 105};
  b->refs[0] = (nnc_plot_ref){.at = 100 * r->opts.fail_frac,
                              .label = label(b, 0, "FAIL above %g%%",
                                             100 * r->opts.fail_frac),
                              .color = FAIL_COLOR, .dash = 2};
  b->refs[1] = (nnc_plot_ref){.at = 100 * r->opts.warn_frac,
                              .label = label(b, 1, "WARN above %g%%",
                                             100 * r->opts.warn_frac),
                              .color = WARN_COLOR, .dash = 4};
  b->p.nrefs = 2;
  b->p.refs = b->refs;
  return NNC_OK;
}

typedef int (*builder)(const nnc_sanity_result *, built *);
static const builder builders[] = {chance_plot, reg_plot, overfit_plot,
                                   baseline_plot, init_plot};
#define NPLOTS (sizeof builders / sizeof *builders)

/* ---- rendering ----------------------------------------------------------- */

static void shell_word(const char *s, char *out, size_t len)
{
  int plain = 1;
  for (const char *p = s; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_-./+=:,@%", *p))
      plain = 0;
  if (plain) {
    snprintf(out, len, "%s", s);
    return;
  }
  out[0] = '\0';
  nnci_sanity_add(out, len, "'");
  for (; *s; s++)
    nnci_sanity_add(out, len, *s == '\'' ? "'\\''" : "%c", *s);
  nnci_sanity_add(out, len, "'");
}

int nnc_sanity_plots(const nnc_sanity_result *r, const char *dir, char *err,
                     size_t errlen)
{
  if (!r || !dir || !*dir) {
    snprintf(err, errlen, "sanity plots: no result or no directory");
    return NNC_EARG;
  }
  int rc = NNC_OK, unrendered = 0;
  char first[1024] = "", names[NPLOTS][32];
  size_t nun = 0;
  for (size_t i = 0; i < NPLOTS && (rc == NNC_OK || rc == NNC_PLOT_UNRENDERED);
       i++) {
    built *b = calloc(1, sizeof *b);
    if (!b)
      return NNC_ENOMEM;
    int brc = builders[i](r, b);
    if (brc == NNC_OK) {
      rc = nnc_plot_render(&b->p, dir, err, errlen);
      if (rc == NNC_PLOT_UNRENDERED) {
        if (!unrendered++)
          snprintf(first, sizeof first, "%s", err);
        snprintf(names[nun++], sizeof names[0], "%s", b->p.name);
      }
    } else if (brc < 0) {
      rc = brc;
      snprintf(err, errlen, "sanity plots: out of memory");
    }
    built_free(b);
    free(b);
  }
  if (rc != NNC_OK && rc != NNC_PLOT_UNRENDERED)
    return rc;
  if (!unrendered)
    return NNC_OK;
  /* One message for every plot left unrendered: the plot layer's reason,
   * then each script to run. */
  char *cut = strstr(first, "could not be started (");
  char *close = cut ? strchr(cut, ')') : NULL;
  if (close)
    close[1] = '\0';
  char word[4096];
  shell_word(dir, word, sizeof word);
  snprintf(err, errlen, "%s: wrote the data and scripts of %zu plot%s into "
                        "%s without rendering them; to render: `cd %s",
           close ? first : "gnuplot could not be started", nun,
           nun > 1 ? "s" : "", dir, word);
  for (size_t k = 0; k < nun; k++)
    nnci_sanity_add(err, errlen, " && gnuplot %s.gp", names[k]);
  nnci_sanity_add(err, errlen, "` (install gnuplot, Debian package "
                               "gnuplot-nox, or set NNCHECK_GNUPLOT to its "
                               "path)");
  return NNC_SANITY_UNRENDERED;
}

int nnc_sanity_plots_text(const nnc_sanity_result *r, size_t cols,
                          size_t rows, char **text, char *err, size_t errlen)
{
  *text = NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NNC_ENOMEM;
  int rc = NNC_OK;
  size_t shown = 0;
  for (size_t i = 0; i < NPLOTS && rc == NNC_OK; i++) {
    built *b = calloc(1, sizeof *b);
    if (!b) {
      rc = NNC_ENOMEM;
      break;
    }
    int brc = builders[i](r, b);
    if (brc == NNC_OK) {
      char *t = NULL;
      rc = nnc_plot_render_text(&b->p, cols, rows, &t, err, errlen);
      if (rc == NNC_OK)
        fprintf(f, "%s%s: %s\n%s", shown++ ? "\n" : "", b->p.name,
                b->p.title, t);
      free(t);
    } else if (brc < 0) {
      rc = brc;
      snprintf(err, errlen, "sanity plots: out of memory");
    }
    built_free(b);
    free(b);
  }
  if (fclose(f) && rc == NNC_OK) {
    rc = NNC_ENOMEM;
    snprintf(err, errlen, "sanity plots: out of memory");
  }
  if (rc != NNC_OK) {
    free(buf);
    return rc;
  }
  *text = buf;
  return NNC_OK;
}
