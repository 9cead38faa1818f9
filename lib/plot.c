/* plot.c — write a plot's data and gnuplot script.
 *
 * Everything that reaches gnuplot is generated here, so this file is where
 * two promises are kept: a label never becomes a command (gnuplot runs
 * `backquoted` text as a shell command even inside double quotes), and the
 * same plot gives the same bytes (numbers are formatted in the C locale,
 * whatever locale the caller's thread uses, and nothing varies by time).
 * Putting the files on disk and running gnuplot is plot_run.c.
 */
#include "config.h"

#include "plot.h"

#include <nncheck/nncheck.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Series colours when the caller names none.  Red is left out: callers use
 * it to single out failing points. */
static const char *const auto_colors[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
/* Filled circle, square, up and down triangle, diamond: told apart without
 * colour too. */
static const int auto_points[] = {7, 5, 9, 11, 13};
/* Dash types of reference lines, in turn. */
static const int ref_dashes[] = {2, 4, 5, 3};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int nnci_plot_fail(int code, char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

void nnc_plot_init(nnc_plot *p, const char *name)
{
  memset(p, 0, sizeof *p);
  p->name = name;
  p->kind = NNC_PLOT_XY;
  p->key = NNC_KEY_OUTSIDE;
}

/* ---- validation ---------------------------------------------------------- */

/* The name becomes file names and a command-line argument: keep it to
 * characters that need no quoting anywhere and cannot start an option. */
int nnci_plot_name_ok(const char *name) {
  if (!name || !*name || name[0] == '.' || name[0] == '-')
    return 0;
  size_t n = 0;
  for (const char *s = name; *s; s++, n++) {
    unsigned char c = (unsigned char)*s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return 0;
  }
  return n <= NNCI_PLOT_NAME_MAX;
}

static int is_grid_kind(int kind)
{
  return kind == NNC_PLOT_HEATMAP || kind == NNC_PLOT_CONTOUR ||
         kind == NNC_PLOT_IMAGE;
}

static int range_ok(const nnc_plot_range *r, int logscale)
{
  if (!r->set)
    return 1;
  if (!isfinite(r->min) || !isfinite(r->max) || !(r->min < r->max))
    return 0;
  return !logscale || r->min > 0;
}

int nnc_plot_validate(const nnc_plot *p, char *err, size_t errlen)
{
  if (!p)
    return nnci_plot_fail(NNC_EARG, err, errlen, "plot: no plot given");
  if (!nnci_plot_name_ok(p->name))
    return nnci_plot_fail(
        NNC_EARG, err, errlen,
        "plot name '%s' is not a plain file stem (letters, digits, "
        "'_', '-', '.'; not starting with '.' or '-'; at most %d "
        "characters)",
        p->name ? p->name : "(null)", NNCI_PLOT_NAME_MAX);
  if (p->kind != NNC_PLOT_XY && !is_grid_kind(p->kind))
    return nnci_plot_fail(NNC_EARG, err, errlen, "plot %s: unknown kind %d",
                          p->name, p->kind);
  if (p->key < NNC_KEY_OUTSIDE || p->key > NNC_KEY_NONE)
    return nnci_plot_fail(NNC_EARG, err, errlen,
                          "plot %s: unknown key placement %d", p->name, p->key);
  if (!range_ok(&p->xrange, p->logx) || !range_ok(&p->yrange, p->logy))
    return nnci_plot_fail(
        NNC_EARG, err, errlen,
        "plot %s: an axis range must be finite with min < max, and "
        "positive on a logarithmic axis",
        p->name);
  if ((p->nseries && !p->series) || (p->nrefs && !p->refs) ||
      (p->nxtics && !p->xtics) || (p->nytics && !p->ytics))
    return nnci_plot_fail(NNC_EARG, err, errlen,
                          "plot %s: a count without its array", p->name);
  for (size_t i = 0; i < p->nseries; i++) {
    const nnc_plot_series *s = &p->series[i];
    if (s->style < NNC_PLOT_LINES || s->style > NNC_PLOT_IMPULSES)
      return nnci_plot_fail(NNC_EARG, err, errlen,
                            "plot %s: series %zu: unknown style %d", p->name, i,
                            s->style);
    if (s->n && !s->y)
      return nnci_plot_fail(NNC_EARG, err, errlen,
                            "plot %s: series %zu has no y values", p->name, i);
    if (s->point_size < 0 || !isfinite(s->point_size))
      return nnci_plot_fail(NNC_EARG, err, errlen,
                            "plot %s: series %zu: bad point size", p->name, i);
  }
  for (size_t i = 0; i < p->nrefs; i++)
    if (!isfinite(p->refs[i].at))
      return nnci_plot_fail(
          NNC_EARG, err, errlen,
          "plot %s: reference line %zu is not at a finite value", p->name, i);
  for (size_t i = 0; i < p->nxtics; i++)
    if (!isfinite(p->xtics[i].at))
      return nnci_plot_fail(NNC_EARG, err, errlen,
                            "plot %s: x tic %zu is not finite", p->name, i);
  for (size_t i = 0; i < p->nytics; i++)
    if (!isfinite(p->ytics[i].at))
      return nnci_plot_fail(NNC_EARG, err, errlen,
                            "plot %s: y tic %zu is not finite", p->name, i);
  if (is_grid_kind(p->kind)) {
    const nnc_plot_grid *g = &p->grid;
    if (g->nx < 2 || g->ny < 2 || !g->x || !g->y || !g->z)
      return nnci_plot_fail(
          NNC_EARG, err, errlen,
          "plot %s: a heatmap or contour needs a grid of at least "
          "2 x 2 values with x, y and z",
          p->name);
    if (g->nx > SIZE_MAX / g->ny)
      return nnci_plot_fail(NNC_EARG, err, errlen, "plot %s: grid too large",
                            p->name);
    if (g->nlevels && !g->levels)
      return nnci_plot_fail(NNC_EARG, err, errlen,
                            "plot %s: contour levels missing", p->name);
    for (size_t i = 0; i < g->nlevels; i++)
      if (!isfinite(g->levels[i]))
        return nnci_plot_fail(NNC_EARG, err, errlen,
                              "plot %s: contour level %zu is not finite",
                              p->name, i);
  }
  return NNC_OK;
}

/* ---- formatting ---------------------------------------------------------- */

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double:
 * exact like %.17g, without turning 0.1 into 0.10000000000000001. */
static void fmt_num(char buf[32], double v)
{
  if (!isfinite(v)) {
    strcpy(buf, "NaN");
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, 32, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v)
      return;
  }
}

/* A value as written to the data file: NaN where gnuplot could not place it
 * on the axis. */
static void fmt_axis(char buf[32], double v, int logscale)
{
  if (!isfinite(v) || (logscale && !(v > 0)))
    v = NAN;
  fmt_num(buf, v);
}

static int axis_ok(double v, int logscale)
{
  return isfinite(v) && (!logscale || v > 0);
}

/* Characters of a double-quoted gnuplot string.  Backslash and quote are
 * escaped; a backquote, which gnuplot would run as a shell command, is
 * written as the octal escape \140; newlines stay line breaks; other
 * control characters become spaces. */
static void put_gp_chars(FILE *f, const char *s)
{
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\\' || c == '"')
      fprintf(f, "\\%c", c);
    else if (c == '`')
      fputs("\\140", f);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c < 0x20 || c == 0x7f)
      fputc(' ', f);
    else
      fputc(c, f);
  }
}

static void put_gp_string(FILE *f, const char *s)
{
  fputc('"', f);
  put_gp_chars(f, s);
  fputc('"', f);
}

/* Text inside a '#' comment line of the data file: one line, no tabs. */
static void put_comment_text(FILE *f, const char *s)
{
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
  }
}

static const char *or_default(const char *s, const char *dflt)
{
  return s && *s ? s : dflt;
}

/* printf and strtod follow the thread's locale: switch this thread, and
 * only it, to the C locale while writing. */
typedef struct c_numeric {
  locale_t c, old;
} c_numeric;

static int c_numeric_begin(c_numeric *cn)
{
  cn->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (cn->c == (locale_t)0)
    return -1;
  cn->old = uselocale(cn->c);
  return 0;
}

static void c_numeric_end(c_numeric *cn)
{
  uselocale(cn->old);
  freelocale(cn->c);
}

/* ---- the data file ------------------------------------------------------- */

static double series_x(const nnc_plot_series *s, size_t i)
{
  return s->x ? s->x[i] : (double)i;
}

/* Points of a series gnuplot can draw on this plot's axes. */
static size_t series_valid(const nnc_plot *p, const nnc_plot_series *s)
{
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    if (axis_ok(series_x(s, i), p->logx) && axis_ok(s->y[i], p->logy))
      n++;
  return n;
}

static size_t grid_valid(const nnc_plot *p)
{
  const nnc_plot_grid *g = &p->grid;
  size_t n = 0;
  for (size_t j = 0; j < g->ny; j++)
    for (size_t i = 0; i < g->nx; i++)
      if (axis_ok(g->x[i], p->logx) && axis_ok(g->y[j], p->logy) &&
          axis_ok(g->z[j * g->nx + i], g->logz))
        n++;
  return n;
}

/* Series i as data block `block` (blocks are numbered after the grid, if
 * any, and only series with a drawable point get one). */
static void write_series_block(const nnc_plot *p, FILE *f, size_t i,
                               size_t block)
{
  const nnc_plot_series *s = &p->series[i];
  char bx[32], by[32];
  fprintf(f, "# index %zu: series %zu", block, i);
  if (s->label && *s->label) {
    fputs(": ", f);
    put_comment_text(f, s->label);
  }
  fputs("\n# ", f);
  put_comment_text(f, or_default(p->xlabel, "x"));
  fputc('\t', f);
  put_comment_text(f, or_default(p->ylabel, "y"));
  fputc('\n', f);
  for (size_t k = 0; k < s->n; k++) {
    fmt_axis(bx, series_x(s, k), p->logx);
    fmt_axis(by, s->y[k], p->logy);
    fprintf(f, "%s\t%s\n", bx, by);
  }
}

static void write_grid_block(const nnc_plot *p, FILE *f)
{
  const nnc_plot_grid *g = &p->grid;
  char bx[32], by[32], bz[32];
  fputs("# index 0: grid", f);
  fprintf(f, " of %zu x %zu; one scan per y, scans separated by a blank "
             "line\n# ",
          g->nx, g->ny);
  put_comment_text(f, or_default(p->xlabel, "x"));
  fputc('\t', f);
  put_comment_text(f, or_default(p->ylabel, "y"));
  fputc('\t', f);
  put_comment_text(f, or_default(g->zlabel, "z"));
  fputc('\n', f);
  for (size_t j = 0; j < g->ny; j++) {
    if (j)
      fputc('\n', f);
    fmt_axis(by, g->y[j], p->logy);
    for (size_t i = 0; i < g->nx; i++) {
      fmt_axis(bx, g->x[i], p->logx);
      fmt_axis(bz, g->z[j * g->nx + i], g->logz);
      fprintf(f, "%s\t%s\t%s\n", bx, by, bz);
    }
  }
}

static int write_dat_body(const nnc_plot *p, FILE *f)
{
  size_t block = 0;
  fprintf(f, "# %s.dat: the data of %s.gp, one block per series, addressed "
             "there with `index`.\n",
          p->name, p->name);
  if (p->logx || p->logy || (is_grid_kind(p->kind) && p->grid.logz))
    fputs("# NaN: not drawn (not finite, or not positive on a logarithmic "
          "axis).\n",
          f);
  if (is_grid_kind(p->kind)) {
    write_grid_block(p, f);
    block++;
  }
  for (size_t i = 0; i < p->nseries; i++) {
    if (!series_valid(p, &p->series[i]))
      continue;
    if (block)
      fputs("\n\n", f);
    write_series_block(p, f, i, block++);
  }
  return 0;
}

int nnc_plot_write_dat(const nnc_plot *p, FILE *f, char *err, size_t errlen)
{
  int rc = nnc_plot_validate(p, err, errlen);
  if (rc)
    return rc;
  c_numeric cn;
  if (c_numeric_begin(&cn))
    return nnci_plot_fail(NNC_ENOMEM, err, errlen, "plot %s: no C locale: %s",
                          p->name, strerror(errno));
  write_dat_body(p, f);
  c_numeric_end(&cn);
  if (ferror(f) || fflush(f))
    return nnci_plot_fail(NNC_EIO, err, errlen,
                          "plot %s: cannot write the data: %s", p->name,
                          strerror(errno));
  return NNC_OK;
}

/* ---- the script ---------------------------------------------------------- */

static const char *style_name(int style)
{
  switch (style) {
  case NNC_PLOT_POINTS: return "points";
  case NNC_PLOT_LINESPOINTS: return "linespoints";
  case NNC_PLOT_IMPULSES: return "impulses";
  default: return "lines";
  }
}

/* The legend entry: label and suffix, or none without a label. */
static void put_title(FILE *f, const char *label, const char *suffix)
{
  if (label && *label) {
    fputs(" title \"", f);
    put_gp_chars(f, label);
    put_gp_chars(f, suffix);
    fputc('"', f);
  } else {
    fputs(" notitle", f);
  }
}

/* Line colour, width, point type and size of series i. */
static void put_series_look(FILE *f, const nnc_plot_series *s, size_t auto_i)
{
  char b[32];
  fputs(" lc rgb ", f);
  put_gp_string(f, s->color ? s->color : auto_colors[auto_i % COUNT(auto_colors)]);
  if (s->style == NNC_PLOT_LINES || s->style == NNC_PLOT_LINESPOINTS ||
      s->style == NNC_PLOT_IMPULSES)
    fputs(" lw 1.5", f);
  if (s->style == NNC_PLOT_POINTS || s->style == NNC_PLOT_LINESPOINTS) {
    fprintf(f, " pt %d", s->point_type > 0
                             ? s->point_type
                             : auto_points[auto_i % COUNT(auto_points)]);
    if (s->point_size > 0) {
      fmt_num(b, s->point_size);
      fprintf(f, " ps %s", b);
    }
  }
}

static void put_range(FILE *f, const char *axis, const nnc_plot_range *r)
{
  char a[32], b[32];
  if (!r->set)
    return;
  fmt_num(a, r->min);
  fmt_num(b, r->max);
  fprintf(f, "set %srange [%s:%s]\n", axis, a, b);
}

/* Rotate labelled x tics when they would not fit side by side. */
/* Labelled y tics (never rotated). */
static void put_ytics(FILE *f, const nnc_plot *p)
{
  char b[32];
  if (!p->nytics)
    return;
  fputs("set ytics (", f);
  for (size_t i = 0; i < p->nytics; i++) {
    fmt_num(b, p->ytics[i].at);
    if (i)
      fputs(", ", f);
    put_gp_string(f, or_default(p->ytics[i].label, ""));
    fprintf(f, " %s", b);
  }
  fputs(")\nset mytics 1\n", f);
}

static void put_xtics(FILE *f, const nnc_plot *p)
{
  char b[32];
  size_t chars = 0;
  if (!p->nxtics)
    return;
  for (size_t i = 0; i < p->nxtics; i++)
    chars += strlen(or_default(p->xtics[i].label, "")) + 2;
  fputs("set xtics (", f);
  for (size_t i = 0; i < p->nxtics; i++) {
    fmt_num(b, p->xtics[i].at);
    if (i)
      fputs(", ", f);
    put_gp_string(f, or_default(p->xtics[i].label, ""));
    fprintf(f, " %s", b);
  }
  fputs(")", f);
  if (chars > 80)
    fputs(" rotate by 30 right", f);
  fputs("\nset mxtics 1\n", f);
}

static void put_key(FILE *f, int key)
{
  switch (key) {
  case NNC_KEY_BELOW:
    fputs("set key below horizontal maxrows 4\n", f);
    break;
  case NNC_KEY_INSIDE:
    fputs("set key inside top right opaque box\n", f);
    break;
  case NNC_KEY_NONE:
    fputs("unset key\n", f);
    break;
  default:
    fputs("set key outside right top vertical Left reverse samplen 2\n", f);
  }
}

/* Colour and dash type of reference line i. */
static void put_ref_look(FILE *f, const nnc_plot_ref *r, size_t i)
{
  fprintf(f, "dt %d lw 1.2 lc rgb ",
          r->dash > 0 ? r->dash : ref_dashes[i % COUNT(ref_dashes)]);
  put_gp_string(f, r->color ? r->color : "#606060");
}

/* Vertical reference lines are arrows across the graph (gnuplot leaves
 * out those outside the x range); their legend entries come from NaN
 * placeholders in the plot command. */
static void put_vertical_refs(FILE *f, const nnc_plot *p)
{
  char b[32];
  for (size_t i = 0; i < p->nrefs; i++) {
    const nnc_plot_ref *r = &p->refs[i];
    if (!r->vertical || !axis_ok(r->at, p->logx))
      continue;
    fmt_num(b, r->at);
    fprintf(f,
            "set arrow from first %s, graph 0 to first %s, graph 1 nohead "
            "back ",
            b, b);
    put_ref_look(f, r, i);
    fputc('\n', f);
  }
}

/* The plot command's clauses, one per line. */
static void put_xy_clauses(FILE *f, const nnc_plot *p)
{
  const char *sep = "plot ";
  char b[32];
  size_t block = 0, auto_i = 0;
  for (size_t i = 0; i < p->nseries; i++) {
    const nnc_plot_series *s = &p->series[i];
    size_t look = s->color ? auto_i : auto_i++;
    fputs(sep, f);
    sep = ", \\\n     ";
    if (series_valid(p, s)) {
      fprintf(f, "\"%s.dat\" index %zu using 1:2 with %s", p->name, block++,
              style_name(s->style));
      put_series_look(f, s, look);
      put_title(f, s->label, "");
    } else {
      /* Keep the legend entry, and say why nothing is drawn. */
      fprintf(f, "NaN with %s", style_name(s->style));
      put_series_look(f, s, look);
      put_title(f, s->label, " (no data)");
    }
  }
  for (size_t i = 0; i < p->nrefs; i++) {
    const nnc_plot_ref *r = &p->refs[i];
    if (r->vertical ? !axis_ok(r->at, p->logx) || !r->label || !*r->label
                    : !axis_ok(r->at, p->logy))
      continue;
    /* A horizontal line outside a fixed y range would only stretch it. */
    if (!r->vertical && p->yrange.set &&
        (r->at < p->yrange.min || r->at > p->yrange.max))
      continue;
    fmt_num(b, r->at);
    fputs(sep, f);
    sep = ", \\\n     ";
    /* A horizontal line is a constant function, so that autoscaling keeps
     * it in view. */
    fprintf(f, "%s with lines ", r->vertical ? "NaN" : b);
    put_ref_look(f, r, i);
    put_title(f, r->label, "");
  }
  if (sep[0] == 'p')
    fputs("plot NaN notitle", f);
  fputc('\n', f);
}

/* Curves over a grid are drawn at the smallest z of the grid, so that they
 * neither stretch the z and colour ranges nor hide under the map. */
static double grid_zbase(const nnc_plot *p)
{
  const nnc_plot_grid *g = &p->grid;
  double lo = INFINITY;
  for (size_t k = 0; k < g->nx * g->ny; k++)
    if (axis_ok(g->z[k], g->logz) && g->z[k] < lo)
      lo = g->z[k];
  return isfinite(lo) ? lo : (g->logz ? 1 : 0);
}

static void put_grid_clauses(FILE *f, const nnc_plot *p)
{
  char zb[32];
  size_t block = 1, auto_i = 0;
  const nnc_plot_grid *g = &p->grid;
  fprintf(f, "splot \"%s.dat\" index 0 using 1:2:3", p->name);
  if (p->kind == NNC_PLOT_HEATMAP) {
    fputs(" with pm3d notitle", f);
  } else if (p->kind == NNC_PLOT_IMAGE) {
    fputs(" with image notitle", f);
  } else {
    fputs(" with lines nosurface", f);
    put_title(f, or_default(g->zlabel, "z"), "");
  }
  fmt_num(zb, grid_zbase(p));
  for (size_t i = 0; i < p->nseries; i++) {
    const nnc_plot_series *s = &p->series[i];
    size_t look = s->color ? auto_i : auto_i++;
    if (!series_valid(p, s))
      continue;
    fprintf(f, ", \\\n      \"%s.dat\" index %zu using 1:2:(%s) with %s",
            p->name, block++, zb, style_name(s->style));
    put_series_look(f, s, look);
    if (p->kind == NNC_PLOT_CONTOUR)
      fputs(" nocontours", f);
    put_title(f, s->label, "");
  }
  fputc('\n', f);
}

static void put_grid_settings(FILE *f, const nnc_plot *p)
{
  const nnc_plot_grid *g = &p->grid;
  char b[32];
  fputs("set view map\n", f);
  /* The map's default margins leave a third of the picture empty; the
   * right one leaves room for the colour box and its label. */
  fputs("set lmargin at screen 0.09\nset rmargin at screen 0.78\n"
        "set tmargin at screen 0.91\nset bmargin at screen 0.17\n",
        f);
  /* Grid data fills the axes exactly. */
  if (!p->xrange.set)
    fputs("set autoscale xfix\n", f);
  if (!p->yrange.set)
    fputs("set autoscale yfix\n", f);
  if (p->kind == NNC_PLOT_IMAGE) {
    if (g->grey)
      fputs("set palette grey\n", f);
    else
      fputs("set palette defined (0 \"#440154\", 1 \"#3b528b\", "
            "2 \"#21918c\", 3 \"#5ec962\", 4 \"#fde725\")\n",
            f);
    if (g->equal_axes)
      fputs("set size ratio -1\n", f);
    if (g->logz)
      fputs("set logscale cb\n", f);
    if (g->zlabel && *g->zlabel) {
      fputs("set cblabel ", f);
      put_gp_string(f, g->zlabel);
      fputc('\n', f);
    }
    fputs("set colorbox\nset autoscale cbfix\n", f);
  } else if (p->kind == NNC_PLOT_HEATMAP) {
    /* Perceptually uniform and readable in grey (viridis). */
    fputs("set palette defined (0 \"#440154\", 1 \"#3b528b\", 2 \"#21918c\", "
          "3 \"#5ec962\", 4 \"#fde725\")\n",
          f);
    fputs("set pm3d map\n", f);
    if (g->logz)
      fputs("set logscale cb\n", f);
    if (g->zlabel && *g->zlabel) {
      fputs("set cblabel ", f);
      put_gp_string(f, g->zlabel);
      fputc('\n', f);
    }
    fputs("set colorbox\nset autoscale cbfix\n", f);
  } else {
    /* Contour levels take the default line types: give them the series
     * colours, so that none is the red callers keep for emphasis. */
    for (size_t i = 0; i < COUNT(auto_colors); i++)
      fprintf(f, "set linetype %zu lc rgb \"%s\" lw 1.5\n", i + 1,
              auto_colors[i]);
    fprintf(f, "set linetype cycle %zu\n", COUNT(auto_colors));
    fputs("set contour base\n", f);
    if (g->logz)
      fputs("set logscale z\n", f);
    if (g->nlevels) {
      fputs("set cntrparam levels discrete ", f);
      for (size_t i = 0; i < g->nlevels; i++) {
        fmt_num(b, g->levels[i]);
        fprintf(f, "%s%s", i ? ", " : "", b);
      }
      fputc('\n', f);
    } else {
      fputs("set cntrparam levels auto 10\n", f);
    }
    fputs("set cntrlabel format \"%.3g\"\n", f);
  }
}

/* Everything before the first terminal: labels, axes, ranges, grid, key,
 * reference lines.  Shared by the PNG/SVG script and the text one. */
static void write_gp_settings(const nnc_plot *p, FILE *f)
{
  int grid = is_grid_kind(p->kind);
  size_t valid = grid ? grid_valid(p) : 0;
  for (size_t i = 0; i < p->nseries; i++)
    valid += series_valid(p, &p->series[i]);

  fputs("set encoding utf8\n", f);
  if (p->title && *p->title) {
    fputs("set title ", f);
    put_gp_string(f, p->title);
    fputc('\n', f);
  }
  if (p->xlabel && *p->xlabel) {
    fputs("set xlabel ", f);
    put_gp_string(f, p->xlabel);
    fputc('\n', f);
  }
  if (p->ylabel && *p->ylabel) {
    fputs("set ylabel ", f);
    put_gp_string(f, p->ylabel);
    fputc('\n', f);
  }
  if (p->logx)
    fputs("set logscale x\nset format x \"%.0te%T\"\n", f);
  if (p->logy)
    fputs("set logscale y\nset format y \"%.0te%T\"\n", f);
  put_range(f, "x", &p->xrange);
  put_range(f, "y", &p->yrange);
  if (!valid) {
    /* gnuplot cannot autoscale from nothing: fix a range and say why. */
    if (!p->xrange.set)
      fputs(p->logx ? "set xrange [1:10]\n" : "set xrange [0:1]\n", f);
    if (!p->yrange.set)
      fputs(p->logy ? "set yrange [1:10]\n" : "set yrange [0:1]\n", f);
    fputs("set label \"no data\" at graph 0.5, graph 0.5 center\n", f);
  }
  put_xtics(f, p);
  put_ytics(f, p);
  /* Labelled x tics name categories: no vertical grid lines through them. */
  fprintf(f, "set grid %sback lc rgb \"#d0d0d0\" lw 1 dt 1\n",
          p->nxtics ? "noxtics ytics " : "");
  if ((p->kind == NNC_PLOT_HEATMAP || p->kind == NNC_PLOT_IMAGE) &&
      p->key == NNC_KEY_OUTSIDE)
    /* Beside a heatmap is its colour box: the legend goes in a row at the
     * bottom, under the x label. */
    fputs("set key at screen 0.5, screen 0.05 center center horizontal "
          "samplen 2\n",
          f);
  else
    put_key(f, p->key);
  /* Reference lines span the graph exactly; in y, a margin keeps extreme
   * points and lines off the border, where they would hide (on a log axis
   * gnuplot would otherwise widen to whole decades, putting a line at a
   * decade exactly on the border). */
  if (!grid && !p->xrange.set && valid)
    fputs("set autoscale xfix\n", f);
  if (!grid && !p->yrange.set && valid)
    fputs("set autoscale yfix\nset offsets 0, 0, graph 0.04, graph 0.04\n",
          f);
  if (grid)
    put_grid_settings(f, p);
  else
    put_vertical_refs(f, p);
}

static void write_gp_plot(const nnc_plot *p, FILE *f)
{
  if (is_grid_kind(p->kind))
    put_grid_clauses(f, p);
  else
    put_xy_clauses(f, p);
}

static void write_gp_body(const nnc_plot *p, FILE *f)
{
  fprintf(f,
          "# %s.gp: renders %s.png and %s.svg from %s.dat.\n"
          "# Run it as `gnuplot %s.gp` in this directory.\n",
          p->name, p->name, p->name, p->name, p->name);
  if (p->logx || p->logy)
    fputs("# On logarithmic axes, zero and negative values are not drawn.\n",
          f);
  fprintf(f,
          "if (!exists(\"png_out\")) png_out = \"%s.png\"\n"
          "if (!exists(\"svg_out\")) svg_out = \"%s.svg\"\n",
          p->name, p->name);
  write_gp_settings(p, f);
  fputs("\nset terminal pngcairo noenhanced size 900,600 font \"sans,10\"\n"
        "set output png_out\n",
        f);
  write_gp_plot(p, f);
  fputs("\nset terminal svg noenhanced size 900,600 dynamic font \"sans,10\"\n"
        "set output svg_out\n"
        "replot\n"
        "unset output\n",
        f);
}

/* The text rendering: the same settings and plot on gnuplot's dumb
 * terminal, written to NAME.txt. */
static void write_gp_text_body(const nnc_plot *p, size_t cols, size_t rows,
                               FILE *f)
{
  fprintf(f,
          "# %s.gp: draws %s.dat as text into %s.txt (%zu x %zu).\n",
          p->name, p->name, p->name, cols, rows);
  write_gp_settings(p, f);
  /* A terminal is narrow: a legend beside the graph would squeeze it. */
  if (p->key == NNC_KEY_OUTSIDE)
    put_key(f, NNC_KEY_BELOW);
  fprintf(f,
          "\nset terminal dumb noenhanced size %zu,%zu\n"
          "set output \"%s.txt\"\n",
          cols, rows, p->name);
  write_gp_plot(p, f);
  fputs("unset output\n", f);
}

/* Either script: text != 0 for the dumb terminal at cols x rows. */
static int write_gp_any(const nnc_plot *p, int text, size_t cols, size_t rows,
                        FILE *f, char *err, size_t errlen)
{
  int rc = nnc_plot_validate(p, err, errlen);
  if (rc)
    return rc;
  if (text && (cols < NNC_PLOT_TEXT_MIN_COLS || cols > NNC_PLOT_TEXT_MAX ||
               rows < NNC_PLOT_TEXT_MIN_ROWS || rows > NNC_PLOT_TEXT_MAX))
    return nnci_plot_fail(NNC_EARG, err, errlen,
                          "plot %s: text size %zu x %zu is outside %d..%d "
                          "columns and %d..%d rows",
                          p->name, cols, rows, NNC_PLOT_TEXT_MIN_COLS,
                          NNC_PLOT_TEXT_MAX, NNC_PLOT_TEXT_MIN_ROWS,
                          NNC_PLOT_TEXT_MAX);
  c_numeric cn;
  if (c_numeric_begin(&cn))
    return nnci_plot_fail(NNC_ENOMEM, err, errlen, "plot %s: no C locale: %s",
                          p->name, strerror(errno));
  if (text)
    write_gp_text_body(p, cols, rows, f);
  else
    write_gp_body(p, f);
  c_numeric_end(&cn);
  if (ferror(f) || fflush(f))
    return nnci_plot_fail(NNC_EIO, err, errlen,
                          "plot %s: cannot write the script: %s", p->name,
                          strerror(errno));
  return NNC_OK;
}

int nnc_plot_write_gp(const nnc_plot *p, FILE *f, char *err, size_t errlen)
{
  return write_gp_any(p, 0, 0, 0, f, err, errlen);
}

int nnc_plot_write_gp_text(const nnc_plot *p, size_t cols, size_t rows,
                           FILE *f, char *err, size_t errlen)
{
  return write_gp_any(p, 1, cols, rows, f, err, errlen);
}
