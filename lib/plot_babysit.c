/* plot_babysit.c — the plots of a babysat run, with epochs as the x axis:
 * the loss (linear and log), the accuracies and their gap, the update:weight
 * ratios, the unit statistics, per-layer histograms as epochs x buckets
 * images, and first-layer filters.  One builder feeds the files, the text
 * rendering and the HTML page. */
#include "config.h"
#include "babysit_internal.h"
#include "plot.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef int (*plot_cb)(void *ctx, const nnc_plot *p, const char *caption);

static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                     "#9467bd", "#8c564b", "#e377c2",
                                     "#17becf", "#bcbd22"};
#define NCOL (sizeof colors / sizeof *colors)

/* ---- loss ------------------------------------------------------------------- */

static int plot_loss(const nnc_babysit_result *r, int logy, plot_cb cb,
                     void *ctx, double *ep, double *tl, double *vl)
{
  nnc_plot p;
  nnc_plot_init(&p, logy ? "babysit_loss_log" : "babysit_loss");
  p.title = logy ? "Loss per batch, log scale" : "Loss per batch";
  p.xlabel = "epoch";
  p.ylabel = logy ? "loss (log)" : "loss";
  p.logy = logy;
  nnc_plot_series s[4];
  memset(s, 0, sizeof s);
  s[0] = (nnc_plot_series){"batch loss", NNC_PLOT_POINTS, r->nsteps,
                           r->step_epoch, r->step_loss, "#b0b0b0", 7, 0.35};
  s[1] = (nnc_plot_series){"trend (moving average)", NNC_PLOT_LINES, r->nsteps,
                           r->step_epoch, r->step_trend, "#1f77b4", 0, 0};
  for (size_t k = 0; k < r->nepochs; k++) {
    ep[k] = (double)r->epochs[k].epoch;
    tl[k] = r->epochs[k].train_loss;
    vl[k] = r->epochs[k].val_loss;
  }
  s[2] = (nnc_plot_series){"training loss (epoch end)", NNC_PLOT_LINESPOINTS,
                           r->nepochs, ep, tl, "#2ca02c", 5, 0.8};
  s[3] = (nnc_plot_series){"validation loss", NNC_PLOT_LINESPOINTS,
                           r->nepochs, ep, vl, "#d62728", 9, 0.8};
  p.series = s;
  p.nseries = r->n_val ? 4 : 3;
  p.key = NNC_KEY_INSIDE; /* a falling loss leaves the top right empty */
  return cb(ctx, &p,
            logy ? "The same on a log scale: exponential progress is a "
                   "straight line; a flat line is a stuck loss."
                 : "Every mini-batch loss (grey) and its moving average; "
                   "linear decay is slow learning, a wide grey band a "
                   "small batch.");
}

static int plot_acc(const nnc_babysit_result *r, plot_cb cb, void *ctx,
                    double *ep, double *a, double *b, double *c, double *g)
{
  if (!r->nepochs)
    return NNC_OK;
  for (size_t k = 0; k < r->nepochs; k++) {
    ep[k] = (double)r->epochs[k].epoch;
    a[k] = r->epochs[k].train_acc;
    b[k] = r->epochs[k].val_acc;
    c[k] = r->epochs[k].ema_val_acc;
    g[k] = r->epochs[k].gap;
  }
  nnc_plot p;
  nnc_plot_init(&p, "babysit_acc");
  p.title = "Training and validation accuracy";
  p.xlabel = "epoch";
  p.ylabel = "accuracy";
  nnc_plot_series s[4] = {
      {"training", NNC_PLOT_LINESPOINTS, r->nepochs, ep, a, "#2ca02c", 5, 0.8},
      {"validation", NNC_PLOT_LINESPOINTS, r->nepochs, ep, b, "#d62728", 9,
       0.8},
      {"validation, running average of the parameters", NNC_PLOT_LINESPOINTS,
       r->nepochs, ep, c, "#9467bd", 6, 0.8},
      {"gap (training - validation)", NNC_PLOT_LINES, r->nepochs, ep, g,
       "#7f7f7f", 0, 0}};
  nnc_plot_ref ref[1] = {{0, r->chance, "chance (largest class share)",
                          "#bcbd22", 3}};
  p.series = s;
  p.nseries = r->n_val ? 4 : 1;
  p.refs = ref;
  p.nrefs = isfinite(r->chance) ? 1 : 0;
  p.key = NNC_KEY_BELOW;
  return cb(ctx, &p,
            "A large gap is overfitting; validation tracking training at a "
            "low level is too little capacity.");
}

static int plot_ratio(const nnc_babysit_result *r, plot_cb cb, void *ctx,
                      double *buf)
{
  if (!r->nsteps || !r->nblocks)
    return NNC_OK;
  nnc_plot_series *s = calloc(r->nblocks, sizeof *s);
  if (!s)
    return NNC_ENOMEM;
  size_t ns = 0;
  for (size_t b = 0; b < r->nblocks; b++) {
    double *y = buf + b * r->nsteps;
    for (size_t k = 0; k < r->nsteps; k++)
      y[k] = r->ratio[k * r->nblocks + b];
    s[ns++] = (nnc_plot_series){r->blocks[b].name, NNC_PLOT_LINES, r->nsteps,
                                r->step_epoch, y, colors[b % NCOL], 0, 0};
  }
  nnc_plot p;
  nnc_plot_init(&p, "babysit_ratio");
  p.title = "Update:weight ratio per parameter block";
  p.xlabel = "epoch";
  p.ylabel = "|dW| / |W| (log)";
  p.logy = 1;
  nnc_plot_ref ref[3] = {
      {0, 1e-3, "1e-3 (the notes)", "#000000", 1},
      {0, r->opts.ratio_low, "too low below", "#7f7f7f", 2},
      {0, r->opts.ratio_high, "too high above", "#d62728", 2}};
  p.refs = ref;
  p.nrefs = 3;
  p.series = s;
  p.nseries = ns;
  p.key = NNC_KEY_BELOW;
  int rc = cb(ctx, &p,
              "Size of each step's update against the weights it changes; "
              "about 1e-3 is healthy (biases that start at 0 read high).");
  free(s);
  return rc;
}

static int plot_units(const nnc_babysit_result *r, plot_cb cb, void *ctx,
                      double *buf)
{
  if (!r->nprobes)
    return NNC_OK;
  size_t ne = r->nepochs + 1;
  double *ep = buf;
  nnc_plot_series *s = calloc(2 * r->nprobes, sizeof *s);
  char (*lab)[96] = calloc(2 * r->nprobes, sizeof *lab);
  if (!s || !lab) {
    free(s);
    free(lab);
    return NNC_ENOMEM;
  }
  ep[0] = (double)r->start_epoch;
  for (size_t k = 0; k < r->nepochs; k++)
    ep[k + 1] = (double)r->epochs[k].epoch;
  size_t ns = 0;
  for (size_t i = 0; i < r->nprobes; i++) {
    const nnc_bs_probe *p = &r->probes[i];
    double *bad = buf + ne * (1 + 2 * i), *nz = bad + ne;
    int relu = p->kind == NNC_ACT_RELU;
    for (size_t k = 0; k < ne; k++) {
      const nnc_bs_layer_epoch *e = k ? &p->ep[k - 1] : &p->init;
      bad[k] = relu ? e->dead : e->sat_units;
      nz[k] = e->near_zero;
    }
    snprintf(lab[2 * i], sizeof lab[0], "%s: %s units", p->name,
             relu ? "dead" : "saturated");
    snprintf(lab[2 * i + 1], sizeof lab[0], "%s: values near zero",
             p->name);
    s[ns++] = (nnc_plot_series){lab[2 * i], NNC_PLOT_LINESPOINTS, ne, ep, bad,
                                colors[i % NCOL], 7, 0.8};
    s[ns++] = (nnc_plot_series){lab[2 * i + 1], NNC_PLOT_LINESPOINTS, ne, ep,
                                nz, colors[i % NCOL], 4, 0.8};
  }
  nnc_plot p;
  nnc_plot_init(&p, "babysit_units");
  p.title = "Dead, saturated and near-zero units per layer";
  p.xlabel = "epoch (0: the start)";
  p.ylabel = "fraction";
  p.yrange = (nnc_plot_range){1, -0.02, 1.02};
  nnc_plot_ref ref[1] = {{0, r->opts.dead_max, "problem above", "#d62728",
                          2}};
  p.refs = ref;
  p.nrefs = 1;
  p.series = s;
  p.nseries = ns;
  p.key = NNC_KEY_BELOW;
  int rc = cb(ctx, &p,
              "Dead ReLUs (zero for every example of the epoch), saturated "
              "tanh units (|a| > 0.97 for most examples) and values with "
              "0 < |a| < 0.01.");
  free(s);
  free(lab);
  return rc;
}

/* ---- histograms --------------------------------------------------------------- */

static void bucket_label(size_t b, char *buf, size_t len)
{
  double lo, hi;
  nnc_babysit_bucket_edges(b, &lo, &hi);
  if (b == NNC_BS_BUCKET_ZERO)
    snprintf(buf, len, "0");
  else if (b == NNC_BS_BUCKET_NONFINITE)
    snprintf(buf, len, "NaN/Inf");
  else if (b == NNC_BS_BUCKET_ZERO + 1)
    snprintf(buf, len, "+<1e%d", NNC_BS_EXP_MIN);
  else if (b == NNC_BS_BUCKET_ZERO - 1)
    snprintf(buf, len, "-<1e%d", NNC_BS_EXP_MIN);
  else if (b == 0)
    snprintf(buf, len, "<=-1e%d", NNC_BS_EXP_MAX);
  else if (b == NNC_BS_BUCKET_NONFINITE - 1)
    snprintf(buf, len, ">=1e%d", NNC_BS_EXP_MAX);
  else if (b > NNC_BS_BUCKET_ZERO)
    snprintf(buf, len, "1e%d", (int)lround(log10(lo)));
  else
    snprintf(buf, len, "-1e%d", (int)lround(log10(-hi)));
}

/* Does bucket b start a decade (or is it special)? */
static int bucket_tic(size_t b)
{
  if (b == 0 || b >= NNC_BS_BUCKET_NONFINITE - 1 ||
      (b >= NNC_BS_BUCKET_ZERO - 1 && b <= NNC_BS_BUCKET_ZERO + 1))
    return 1;
  size_t j = b > NNC_BS_BUCKET_ZERO ? b - NNC_BS_BUCKET_ZERO - 2
                                    : NNC_BS_BUCKET_ZERO - 2 - b + 1;
  return j % NNC_BS_PER_DECADE == 0;
}

static int plot_hist(const nnc_babysit_result *r, size_t i, int grad,
                     plot_cb cb, void *ctx)
{
  const nnc_bs_probe *pr = &r->probes[i];
  size_t ne = r->nepochs + 1;
  if (r->nepochs < 1)
    return NNC_OK;
  size_t lo = NNC_BS_NBUCKETS, hi = 0;
  for (size_t k = 0; k < ne; k++) {
    const nnc_bs_layer_epoch *e = k ? &pr->ep[k - 1] : &pr->init;
    const nnc_bs_hist *h = grad ? &e->grad : &e->act;
    for (size_t b = 0; b < NNC_BS_NBUCKETS; b++)
      if (h->n[b]) {
        if (b < lo)
          lo = b;
        if (b > hi)
          hi = b;
      }
  }
  if (lo > hi)
    return NNC_OK; /* nothing recorded (no gradients) */
  /* a margin of two buckets, and never fewer than 2 rows */
  lo = lo >= 2 ? lo - 2 : 0;
  hi = hi + 2 < NNC_BS_NBUCKETS ? hi + 2 : NNC_BS_NBUCKETS - 1;
  size_t ny = hi - lo + 1;
  double *x = malloc(ne * sizeof *x), *y = malloc(ny * sizeof *y);
  double *z = malloc(ne * ny * sizeof *z);
  nnc_plot_tic *t = calloc(ny, sizeof *t);
  char (*tl)[24] = calloc(ny, sizeof *tl);
  int rc = NNC_ENOMEM;
  if (x && y && z && t && tl) {
    x[0] = (double)r->start_epoch;
    for (size_t k = 1; k < ne; k++)
      x[k] = (double)r->epochs[k - 1].epoch;
    size_t nt = 0;
    for (size_t j = 0; j < ny; j++) {
      y[j] = (double)(lo + j);
      size_t b = lo + j;
      /* on a tall axis the rows around zero are too close to label each */
      int crowded = ny > 24 && b != NNC_BS_BUCKET_ZERO &&
                    b + 2 >= NNC_BS_BUCKET_ZERO && b <= NNC_BS_BUCKET_ZERO + 2;
      if (bucket_tic(b) && !crowded) {
        bucket_label(lo + j, tl[nt], sizeof tl[0]);
        t[nt].at = y[j];
        t[nt].label = tl[nt];
        nt++;
      }
    }
    for (size_t k = 0; k < ne; k++) {
      const nnc_bs_layer_epoch *e = k ? &pr->ep[k - 1] : &pr->init;
      const nnc_bs_hist *h = grad ? &e->grad : &e->act;
      uint64_t tot = 0;
      for (size_t b = 0; b < NNC_BS_NBUCKETS; b++)
        tot += h->n[b];
      /* log10 of the share; an empty bucket one decade below the
       * smallest share a single value can have (gnuplot's image needs
       * every cell defined) */
      double floor_z = tot ? log10(1.0 / (double)tot) - 1 : -9;
      for (size_t j = 0; j < ny; j++)
        z[j * ne + k] = tot && h->n[lo + j]
                            ? log10((double)h->n[lo + j] / (double)tot)
                            : floor_z;
    }
    char name[160], title[160], cap[400];
    snprintf(name, sizeof name, "babysit_hist_%s_%s", grad ? "grad" : "act",
             pr->name);
    for (char *c = name; *c; c++)
      if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'))
        *c = '_';
    snprintf(title, sizeof title, "%s %s: %s per epoch", pr->name,
             pr->kind == NNC_ACT_RELU   ? "(ReLU)"
             : pr->kind == NNC_ACT_TANH ? "(tanh)"
                                        : "",
             grad ? "histogram of the gradients" : "histogram of the "
                                                   "activations");
    snprintf(cap, sizeof cap,
             "Share (log10) of the epoch's %s in fixed buckets (quarter decades of "
             "|value|, sign, exact zero); epoch 0 is the start.  Buckets "
             "are the same for every layer and epoch, so columns compare "
             "and counts add.",
             grad ? "gradients" : "activations");
    nnc_plot p;
    nnc_plot_init(&p, name);
    p.kind = NNC_PLOT_IMAGE;
    p.title = title;
    p.xlabel = "epoch (0: the start)";
    p.ylabel = grad ? "gradient value (signed, log magnitude)"
                    : "activation value (signed, log magnitude)";
    p.key = NNC_KEY_NONE;
    p.nytics = nt;
    p.ytics = t;
    p.xrange = (nnc_plot_range){1, x[0] - 0.5, x[ne - 1] + 0.5};
    p.yrange = (nnc_plot_range){1, (double)lo - 0.5, (double)hi + 0.5};
    p.grid = (nnc_plot_grid){ne, ny, x, y, z,
                             "log10 share of values (lowest: empty)", 0, 0,
                             NULL, 0, 0};
    rc = cb(ctx, &p, cap);
  }
  free(x);
  free(y);
  free(z);
  free(t);
  free(tl);
  return rc;
}

/* ---- first-layer filters ---------------------------------------------------------- */

static int plot_filters(const nnc_babysit_result *r, int start, plot_cb cb,
                        void *ctx)
{
  const nnc_bs_filters *f = &r->filters;
  if (!f->present || !f->nfilters)
    return NNC_OK;
  const double *v = start ? f->values0 : f->values;
  size_t C = f->channels, H = f->height, W = f->width;
  size_t n = f->nfilters < 100 ? f->nfilters : 100;
  size_t cols = (size_t)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
  size_t tw = C * W + (C - 1), th = H; /* channels side by side */
  size_t nx = cols * (tw + 1) - 1, ny = rows * (th + 1) - 1;
  double *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
  double *z = malloc(nx * ny * sizeof *z);
  int rc = NNC_ENOMEM;
  if (x && y && z) {
    for (size_t i = 0; i < nx; i++)
      x[i] = (double)i;
    for (size_t j = 0; j < ny; j++)
      y[j] = (double)j;
    for (size_t k = 0; k < nx * ny; k++)
      z[k] = 0; /* between filters: the grey of a zero weight */
    size_t D = C * H * W;
    for (size_t u = 0; u < n; u++) {
      const double *fv = v + u * D;
      double mx = 0;
      for (size_t d = 0; d < D; d++)
        mx = fmax(mx, fabs(fv[d]));
      size_t tx = (u % cols) * (tw + 1), ty = (u / cols) * (th + 1);
      for (size_t c = 0; c < C; c++)
        for (size_t yy = 0; yy < H; yy++)
          for (size_t xx = 0; xx < W; xx++) {
            /* image row 0 at the top: y grows downwards in the grid */
            size_t gx = tx + c * (W + 1) + xx, gy = ny - 1 - (ty + yy);
            z[gy * nx + gx] = mx > 0 ? fv[(c * H + yy) * W + xx] / mx : 0;
          }
    }
    char title[200], cap[400];
    snprintf(title, sizeof title,
             "First-layer filters (%s) %s: noise %.2f", f->block,
             start ? "at the start" : "at the end",
             start ? f->noise0 : f->noise);
    snprintf(cap, sizeof cap,
             "%zu of %zu filters of %zux%zux%zu, each scaled to its largest "
             "|weight|%s.  Noise number: mean squared difference of "
             "neighbouring pixels over twice the variance (1 white noise, "
             "<< 1 smooth).",
             n, f->nfilters, C, H, W,
             C > 1 ? ", channels side by side" : "");
    nnc_plot p;
    nnc_plot_init(&p, start ? "babysit_filters0" : "babysit_filters");
    p.kind = NNC_PLOT_IMAGE;
    p.title = title;
    p.key = NNC_KEY_NONE;
    p.xrange = (nnc_plot_range){1, -0.5, (double)nx - 0.5};
    p.yrange = (nnc_plot_range){1, -0.5, (double)ny - 0.5};
    nnc_plot_tic none[1] = {{-10, ""}};
    p.nxtics = 1;
    p.xtics = none;
    p.nytics = 1;
    p.ytics = none;
    p.grid = (nnc_plot_grid){nx, ny, x, y, z, "weight / max |weight|", 0,
                             0, NULL, 1, 1};
    rc = cb(ctx, &p, cap);
  }
  free(x);
  free(y);
  free(z);
  return rc;
}

/* ---- all of them -------------------------------------------------------------------- */

static int each_plot(const nnc_babysit_result *r, plot_cb cb, void *ctx)
{
  size_t ne = r->nepochs + 1;
  size_t nb = r->nblocks ? r->nblocks : 1;
  size_t need = 5 * ne + nb * (r->nsteps + 1) + ne * (1 + 2 * r->nprobes) + 8;
  double *buf = malloc(need * sizeof *buf);
  if (!buf)
    return NNC_ENOMEM;
  int rc = NNC_OK, worst = NNC_OK;
#define STEP(call)                                                             \
  do {                                                                         \
    rc = (call);                                                               \
    if (rc < 0) {                                                              \
      free(buf);                                                               \
      return rc;                                                               \
    }                                                                          \
    if (rc > 0)                                                                \
      worst = rc;                                                              \
  } while (0)
  STEP(plot_loss(r, 0, cb, ctx, buf, buf + ne, buf + 2 * ne));
  STEP(plot_loss(r, 1, cb, ctx, buf, buf + ne, buf + 2 * ne));
  STEP(plot_acc(r, cb, ctx, buf, buf + ne, buf + 2 * ne, buf + 3 * ne,
                buf + 4 * ne));
  STEP(plot_ratio(r, cb, ctx, buf));
  STEP(plot_units(r, cb, ctx, buf));
  for (size_t i = 0; i < r->nprobes; i++) {
    STEP(plot_hist(r, i, 0, cb, ctx));
    STEP(plot_hist(r, i, 1, cb, ctx));
  }
  STEP(plot_filters(r, 1, cb, ctx));
  STEP(plot_filters(r, 0, cb, ctx));
#undef STEP
  free(buf);
  return worst;
}

/* ---- the three consumers ------------------------------------------------------------ */

typedef struct file_ctx {
  const char *dir;
  char *err;
  size_t errlen;
  size_t n;
  nnci_bs_plot_fn on_plot;
  void *user;
} file_ctx;

static int to_file(void *ctx, const nnc_plot *p, const char *caption)
{
  file_ctx *c = ctx;
  int rc = nnc_plot_render(p, c->dir, c->err, c->errlen);
  if (rc < 0)
    return rc;
  c->n++;
  if (c->on_plot) {
    int k = c->on_plot(c->user, p->name, p->title, caption);
    if (k)
      return k;
  }
  return rc;
}

int nnci_bs_plots_each(const nnc_babysit_result *r, const char *dir,
                       size_t *nplots, nnci_bs_plot_fn on_plot, void *user,
                       char *err, size_t errlen)
{
  file_ctx c = {dir, err, errlen, 0, on_plot, user};
  int rc = each_plot(r, to_file, &c);
  if (nplots)
    *nplots = c.n;
  if (rc == NNC_ENOMEM)
    snprintf(err, errlen, "out of memory drawing the plots");
  return rc;
}

int nnc_babysit_plots(const nnc_babysit_result *r, const char *dir,
                      size_t *nplots, char *err, size_t errlen)
{
  return nnci_bs_plots_each(r, dir, nplots, NULL, NULL, err, errlen);
}

typedef struct text_ctx {
  char **text;
  char *err;
  size_t errlen;
} text_ctx;

static int to_text(void *ctx, const nnc_plot *p, const char *caption)
{
  (void)caption;
  text_ctx *c = ctx;
  if (p->kind == NNC_PLOT_IMAGE)
    return NNC_OK; /* images of cells do not read as characters */
  return nnc_plot_emit(p, NULL, c->text, c->err, c->errlen);
}

int nnc_babysit_plots_text(const nnc_babysit_result *r, char **text,
                           char *err, size_t errlen)
{
  *text = NULL;
  text_ctx c = {text, err, errlen};
  return each_plot(r, to_text, &c);
}
