/* plot.h — plots as gnuplot data and script, rendered to PNG and SVG.
 *
 * A plot is a plain description the caller fills in: every pointer in it is
 * borrowed and only read, for the duration of the call.  nnc_plot_render()
 * writes, into a directory,
 *
 *   NAME.dat  the data: TSV, '#' comment headers naming the columns, one
 *             block per series (and one for a grid), blocks separated by two
 *             blank lines and addressed in the script with `index`;
 *   NAME.gp   a complete gnuplot script that renders NAME.png and NAME.svg
 *             when run as `gnuplot NAME.gp` from inside the directory (it
 *             names files only relatively, so the directory can be moved);
 *
 * then runs gnuplot on it (with -d: no ~/.gnuplot).  The same description
 * always gives byte-identical NAME.dat and NAME.gp (no dates; numbers in
 * the C locale as the shortest of %.15g, %.16g, %.17g that reads back as
 * the same double), and gnuplot renders those to identical PNG and SVG.
 *
 * Values gnuplot cannot place are written as NaN, which it skips: NaN and
 * Inf, and on a logarithmic axis zero and negative values.  A caller that
 * wants such values visible clamps them itself, and says so in a label.
 *
 * The gnuplot run is $NNCHECK_GNUPLOT if set and non-empty, else the one
 * configure found (NNC_GNUPLOT); a bare name is looked up in $PATH.
 */
#ifndef NNCHECK_PLOT_H
#define NNCHECK_PLOT_H

#include <stddef.h>
#include <stdio.h>

enum nnc_plot_kind {
  NNC_PLOT_XY = 0,     /* series of (x, y) points: plot */
  NNC_PLOT_HEATMAP = 1, /* grid of z coloured over (x, y): splot, pm3d map */
  NNC_PLOT_CONTOUR = 2, /* grid of z as contour lines over (x, y) */
  NNC_PLOT_IMAGE = 3    /* grid of z as cells of colour centred on (x, y),
                           unblended: with image */
};

enum nnc_plot_style {
  NNC_PLOT_LINES = 0,
  NNC_PLOT_POINTS = 1,
  NNC_PLOT_LINESPOINTS = 2,
  NNC_PLOT_IMPULSES = 3
};

enum nnc_plot_key {    /* where the legend goes */
  NNC_KEY_OUTSIDE = 0, /* right of the graph, never over the data (below
                          it on a heatmap, whose right has the colour box) */
  NNC_KEY_BELOW = 1,   /* under the graph, in rows */
  NNC_KEY_INSIDE = 2,  /* top right inside the graph */
  NNC_KEY_NONE = 3
};

typedef struct nnc_plot_series {
  const char *label;   /* legend entry; NULL or "": none */
  int style;           /* enum nnc_plot_style */
  size_t n;            /* points */
  const double *x;     /* n values; NULL: 0, 1, ..., n-1 */
  const double *y;     /* n values */
  const char *color;   /* gnuplot colour, e.g. "#d62728"; NULL: next default */
  int point_type;      /* gnuplot point type; 0: the default for the series */
  double point_size;   /* 0: 1 */
} nnc_plot_series;

typedef struct nnc_plot_ref {
  int vertical;        /* 0: the line y = at; 1: the line x = at */
  double at;
  const char *label;   /* legend entry; NULL or "": none */
  const char *color;   /* NULL: grey */
  int dash;            /* gnuplot dash type (1: solid); 0: 2, 4, 5, 3 in turn */
} nnc_plot_ref;

typedef struct nnc_plot_tic {
  double at;
  const char *label;
} nnc_plot_tic;

typedef struct nnc_plot_range {
  int set;             /* 0: autoscale */
  double min, max;
} nnc_plot_range;

/* The grid of a heatmap or contour plot: z[j * nx + i] is the value at
 * (x[i], y[j]).  Both axes need at least 2 values. */
typedef struct nnc_plot_grid {
  size_t nx, ny;
  const double *x;     /* nx values */
  const double *y;     /* ny values */
  const double *z;     /* nx * ny values, row j = y[j] */
  const char *zlabel;  /* what z is (colour box label, contour legend) */
  int logz;            /* logarithmic colour scale / contour levels */
  size_t nlevels;      /* contour levels; 0: about 10 chosen by gnuplot */
  const double *levels;
  int grey;            /* IMAGE: grey palette (black low, white high)
                          instead of viridis */
  int equal_axes;      /* IMAGE: one unit is as long in x as in y */
} nnc_plot_grid;

typedef struct nnc_plot {
  const char *name;    /* file stem: letters, digits, '_', '-', '.'; not
                          starting with '.' or '-'; at most 128 characters */
  const char *title, *xlabel, *ylabel; /* NULL: none */
  int kind;            /* enum nnc_plot_kind */
  int logx, logy;      /* logarithmic axes */
  nnc_plot_range xrange, yrange;
  int key;             /* enum nnc_plot_key */
  size_t nrefs;        /* reference lines (XY plots only), drawn dashed */
  const nnc_plot_ref *refs;
  size_t nxtics;       /* labelled x tics replacing the automatic ones */
  const nnc_plot_tic *xtics;
  size_t nytics;       /* labelled y tics replacing the automatic ones */
  const nnc_plot_tic *ytics;
  size_t nseries;      /* XY: the data; grid kinds: curves drawn over it */
  const nnc_plot_series *series;
  nnc_plot_grid grid;  /* heatmap and contour kinds only */
} nnc_plot;

/* Zero *p and set its name: an XY plot, autoscaled, legend outside. */
void nnc_plot_init(nnc_plot *p, const char *name);

/* NNC_EARG, with the reason in err, when p cannot be rendered as described
 * (bad name, unknown kind or style, missing arrays, a grid too small). */
int nnc_plot_validate(const nnc_plot *p, char *err, size_t errlen);

/* The two files' contents, to any stream (deterministic; for tests and for
 * callers that keep them elsewhere).  NNC_EIO when the stream fails. */
int nnc_plot_write_dat(const nnc_plot *p, FILE *f, char *err, size_t errlen);
int nnc_plot_write_gp(const nnc_plot *p, FILE *f, char *err, size_t errlen);

/* What nnc_plot_render and nnc_plot_run_gnuplot return when gnuplot could
 * not be started (not installed, or $NNCHECK_GNUPLOT names no program):
 * positive, not an error code, because NAME.dat and NAME.gp are in place;
 * err says how to render them by hand (`cd DIR && gnuplot NAME.gp`).  A
 * caller that needs the pictures treats it as a failure; one that only
 * wanted them treats it as a warning. */
#define NNC_PLOT_UNRENDERED 1

/* Create dir (and its parents) if missing, write NAME.dat and NAME.gp into
 * it through temporary files renamed into place, and run gnuplot there to
 * make NAME.png and NAME.svg (also renamed into place, so a failed run
 * leaves earlier renderings intact).  NNC_OK; NNC_PLOT_UNRENDERED (gnuplot
 * could not be started; the data and script are written); or NNC_EARG
 * (invalid plot), NNC_EIO (directory or file), NNC_EPLOT (gnuplot ran and
 * failed: its error output is in err), NNC_ENOMEM. */
int nnc_plot_render(const nnc_plot *p, const char *dir, char *err,
                    size_t errlen);

/* Run gnuplot on dir/NAME.gp as written by nnc_plot_render.  Returns as
 * nnc_plot_render. */
int nnc_plot_run_gnuplot(const char *dir, const char *name, char *err,
                         size_t errlen);

/* Text rendering, for a terminal: gnuplot's dumb terminal, cols x rows
 * characters (NNC_PLOT_TEXT_MIN_* .. NNC_PLOT_TEXT_MAX). */
#define NNC_PLOT_TEXT_MIN_COLS 40
#define NNC_PLOT_TEXT_MIN_ROWS 10
#define NNC_PLOT_TEXT_MAX 1000

/* The script that draws NAME.dat as text into NAME.txt (deterministic). */
int nnc_plot_write_gp_text(const nnc_plot *p, size_t cols, size_t rows,
                           FILE *f, char *err, size_t errlen);

/* Draw the plot as text: in a private temporary directory (under $TMPDIR,
 * else /tmp; removed before returning) write NAME.dat and the text script,
 * run gnuplot, and hand back what it drew in *text (malloc'ed, NUL-
 * terminated, the caller frees).  Nothing is written anywhere else.
 * NNC_OK; NNC_PLOT_UNRENDERED (gnuplot could not be started; *text NULL);
 * NNC_EARG, NNC_EIO, NNC_EPLOT, NNC_ENOMEM as for nnc_plot_render. */
int nnc_plot_render_text(const nnc_plot *p, size_t cols, size_t rows,
                         char **text, char *err, size_t errlen);

/* For a tool's set of plots: render into dir when text is NULL, otherwise
 * draw as text (80 x 24) and append it, with a blank line, to *text
 * (malloc'ed; the caller frees).  Returns as the call it makes. */
int nnc_plot_emit(const nnc_plot *p, const char *dir, char **text, char *err,
                  size_t errlen);

/* The gnuplot program that will be run: $NNCHECK_GNUPLOT or NNC_GNUPLOT. */
const char *nnc_plot_gnuplot(void);

/* ---- shared by plot.c and plot_run.c, not part of the plot API ----------- */

#define NNCI_PLOT_NAME_MAX 128 /* longest plot name, in characters */

/* Format the reason into err (when err and errlen allow) and return code. */
int nnci_plot_fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Whether name is a valid plot name (see nnc_plot.name). */
int nnci_plot_name_ok(const char *name);

#endif /* NNCHECK_PLOT_H */
