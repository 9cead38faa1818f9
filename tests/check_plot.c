/* check_plot.c — the plot layer and the gradcheck plots, through real
 * gnuplot, into a fresh temporary directory per test.
 *
 * A failing test leaves its directory behind (failure messages name the
 * files); set NNCHECK_KEEP_PLOTS=1 to keep every directory (their names go
 * to stderr) and look at the pictures.
 */
#include "config.h"

#include "plot.h"

#include <nncheck/nncheck.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixture: one temporary directory per test --------------------------- */

static char tmpdir[4096];

static void make_tmpdir(void)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/check_plot.XXXXXX",
           base && *base ? base : "/tmp");
  ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_tmpdir(void)
{
  if (getenv("NNCHECK_KEEP_PLOTS")) {
    fprintf(stderr, "check_plot: kept %s\n", tmpdir);
    return;
  }
  chmod(tmpdir, 0700);
  nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers -------------------------------------------------------------- */

static char *path_in(const char *dir, const char *file)
{
  static char buf[8192];
  snprintf(buf, sizeof buf, "%s/%s", dir, file);
  return buf;
}

/* The whole file, NUL-terminated; *len its size. */
static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = 2 * cap + 8192;
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
    size_t k = fread(buf + n, 1, 4096, f);
    n += k;
    if (k < 4096)
      break;
  }
  fclose(f);
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

static unsigned long be32(const unsigned char *p)
{
  return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
         (unsigned long)p[2] << 8 | (unsigned long)p[3];
}

/* A PNG of 900 x 600: the signature, then IHDR with width and height. */
static void assert_png_900x600(const char *path)
{
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n',
                                       0x1a, '\n'};
  size_t n;
  unsigned char *png = (unsigned char *)slurp(path, &n);
  ck_assert_msg(n > 33, "%s: only %zu bytes", path, n);
  ck_assert_msg(memcmp(png, sig, 8) == 0, "%s: no PNG signature", path);
  ck_assert_msg(memcmp(png + 12, "IHDR", 4) == 0, "%s: no IHDR first", path);
  ck_assert_msg(be32(png + 16) == 900 && be32(png + 20) == 600,
                "%s: %lu x %lu, not 900 x 600", path, be32(png + 16),
                be32(png + 20));
  free(png);
}

/* An SVG document holding each of the NULL-terminated strings. */
static void assert_svg(const char *path, const char *const *want)
{
  char *svg = slurp(path, NULL);
  const char *s = svg;
  while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
    s++;
  ck_assert_msg(strncmp(s, "<?xml", 5) == 0 || strncmp(s, "<svg", 4) == 0,
                "%s does not start as XML: %.40s", path, s);
  const char *root = strstr(s, "<svg");
  ck_assert_msg(root != NULL, "%s has no <svg element", path);
  ck_assert_msg(strstr(root, "viewBox=\"0 0 900 600\"") != NULL,
                "%s is not 900 x 600", path);
  ck_assert_msg(strstr(svg, "</svg>") != NULL, "%s is not complete", path);
  for (; want && *want; want++)
    ck_assert_msg(strstr(svg, *want) != NULL, "%s lacks \"%s\"", path, *want);
  free(svg);
}

static void assert_contains(const char *path, const char *want)
{
  char *text = slurp(path, NULL);
  ck_assert_msg(strstr(text, want) != NULL, "%s lacks \"%s\"", path, want);
  free(text);
}

static void assert_lacks(const char *path, const char *unwanted)
{
  char *text = slurp(path, NULL);
  ck_assert_msg(strstr(text, unwanted) == NULL, "%s contains \"%s\"", path,
                unwanted);
  free(text);
}

/* No temporary file left behind in dir. */
static void assert_no_tmp(const char *dir)
{
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  while ((e = readdir(d)))
    ck_assert_msg(strstr(e->d_name, ".tmp.") == NULL, "left behind: %s/%s",
                  dir, e->d_name);
  closedir(d);
}

static void assert_same_file(const char *a, const char *b)
{
  size_t na, nb;
  char *x = slurp(a, &na), *y = slurp(b, &nb);
  ck_assert_msg(na == nb && memcmp(x, y, na) == 0, "%s and %s differ", a, b);
  free(x);
  free(y);
}

/* `gnuplot NAME.gp` in dir, as a user would run it (no shell; HOME moved
 * so that no ~/.gnuplot takes part).  Returns its exit status. */
static int run_by_hand(const char *dir, const char *script)
{
  pid_t pid = fork();
  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    int nul = open("/dev/null", O_RDWR);
    if (chdir(dir) != 0 || nul < 0)
      _exit(126);
    dup2(nul, 0);
    setenv("HOME", dir, 1);
    execlp(nnc_plot_gnuplot(), nnc_plot_gnuplot(), script, (char *)NULL);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ck_assert_int_eq(errno, EINTR);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- a sample XY plot ------------------------------------------------------ */

enum { NPTS = 50 };
static double xs[NPTS], train[NPTS], val[NPTS];
static nnc_plot_series sample_series[2];
static const nnc_plot_ref sample_refs[] = {
    {.at = 1e-2, .label = "1e-2: above is wrong", .color = "#d62728"},
    {.vertical = 1, .at = 10, .label = "epoch 10 (lr decay)"},
};

static void sample_plot(nnc_plot *p, const char *name)
{
  for (int i = 0; i < NPTS; i++) {
    xs[i] = i + 1;
    train[i] = 2.3 * exp(-0.1 * i) + 0.05;
    val[i] = 2.3 * exp(-0.08 * i) + 0.1;
  }
  train[0] = 0.5; /* a value that must appear in the data file as 0.5 */
  sample_series[0] = (nnc_plot_series){.label = "train_loss",
                                       .style = NNC_PLOT_LINES, .n = NPTS,
                                       .x = xs, .y = train};
  sample_series[1] = (nnc_plot_series){.label = "val \"loss\" \\ `echo x`",
                                       .style = NNC_PLOT_LINESPOINTS,
                                       .n = NPTS, .x = xs, .y = val};
  nnc_plot_init(p, name);
  p->title = "loss_curve: train and validation";
  p->xlabel = "epoch";
  p->ylabel = "loss";
  p->logy = 1;
  p->nseries = 2;
  p->series = sample_series;
  p->nrefs = 2;
  p->refs = sample_refs;
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(test_xy_files)
{
  nnc_plot p;
  char err[1024] = "";
  sample_plot(&p, "loss_curve");
  int rc = nnc_plot_render(&p, tmpdir, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "render: %d %s", rc, err);

  assert_png_900x600(path_in(tmpdir, "loss_curve.png"));
  /* the hostile label arrives as text, its command not run */
  const char *labels[] = {"train_loss", "epoch 10 (lr decay)",
                          "1e-2: above is wrong", "\\ `echo x`", NULL};
  assert_svg(path_in(tmpdir, "loss_curve.svg"), labels);

  const char *dat = path_in(tmpdir, "loss_curve.dat");
  assert_contains(dat, "# index 0: series 0: train_loss\n# epoch\tloss\n");
  assert_contains(dat, "\n1\t0.5\n2\t");
  assert_contains(dat, "\n\n\n# index 1: series 1: val \"loss\"");

  const char *gp = path_in(tmpdir, "loss_curve.gp");
  assert_contains(gp, "set terminal pngcairo noenhanced size 900,600");
  assert_contains(gp, "set terminal svg noenhanced size 900,600 dynamic");
  assert_contains(gp, "\"loss_curve.dat\" index 1 using 1:2");
  /* relative names only: the directory can be moved */
  assert_lacks(gp, tmpdir);
  /* a backquote in a label stays text: gnuplot would run it */
  assert_contains(gp, "\\140echo x\\140");
  assert_lacks(gp, "`echo");
  assert_no_tmp(tmpdir);
}
END_TEST

START_TEST(test_rerun_reproduces)
{
  nnc_plot p;
  char err[1024] = "";
  sample_plot(&p, "rerun");
  ck_assert_msg(nnc_plot_render(&p, tmpdir, err, sizeof err) == NNC_OK, "%s",
                err);
  char *dir2 = strdup(path_in(tmpdir, "by_hand"));
  ck_assert_int_eq(mkdir(dir2, 0777), 0);
  /* Copy the script and data elsewhere: it must not depend on where it
   * was written. */
  const char *files[] = {"rerun.gp", "rerun.dat"};
  for (int i = 0; i < 2; i++) {
    size_t n;
    char *text = slurp(path_in(tmpdir, files[i]), &n);
    FILE *f = fopen(path_in(dir2, files[i]), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, n, f), n);
    fclose(f);
    free(text);
  }
  ck_assert_int_eq(run_by_hand(dir2, "rerun.gp"), 0);
  char a[8192];
  snprintf(a, sizeof a, "%s", path_in(tmpdir, "rerun.png"));
  assert_same_file(a, path_in(dir2, "rerun.png"));
  snprintf(a, sizeof a, "%s", path_in(tmpdir, "rerun.svg"));
  assert_same_file(a, path_in(dir2, "rerun.svg"));
  free(dir2);
}
END_TEST

/* Everything written to a stream as a string. */
static char *to_string(int (*write)(const nnc_plot *, FILE *, char *, size_t),
                       const nnc_plot *p)
{
  char *buf = NULL, err[256] = "";
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(write(p, f, err, sizeof err) == NNC_OK, "%s", err);
  fclose(f);
  return buf;
}

START_TEST(test_deterministic)
{
  nnc_plot p;
  char err[1024] = "";
  sample_plot(&p, "same");
  char *d1 = to_string(nnc_plot_write_dat, &p);
  char *d2 = to_string(nnc_plot_write_dat, &p);
  char *g1 = to_string(nnc_plot_write_gp, &p);
  char *g2 = to_string(nnc_plot_write_gp, &p);
  ck_assert_str_eq(d1, d2);
  ck_assert_str_eq(g1, g2);
  free(d1);
  free(d2);
  free(g1);
  free(g2);

  char *a = strdup(path_in(tmpdir, "a")), *b = strdup(path_in(tmpdir, "b"));
  ck_assert_msg(nnc_plot_render(&p, a, err, sizeof err) == NNC_OK, "%s", err);
  ck_assert_msg(nnc_plot_render(&p, b, err, sizeof err) == NNC_OK, "%s", err);
  const char *ext[] = {".dat", ".gp", ".png", ".svg"};
  for (int i = 0; i < 4; i++) {
    char fa[8192], file[64];
    snprintf(file, sizeof file, "same%s", ext[i]);
    snprintf(fa, sizeof fa, "%s", path_in(a, file));
    assert_same_file(fa, path_in(b, file));
  }
  free(a);
  free(b);
}
END_TEST

START_TEST(test_numbers_round_trip)
{
  double x[] = {0.1, 1.0 / 3, 1e-300, -2.5e17, 0, NAN, INFINITY};
  double y[] = {1, 2, 3, 4, 5, 6, 7};
  nnc_plot_series s = {.label = "s", .n = 7, .x = x, .y = y};
  nnc_plot p;
  nnc_plot_init(&p, "numbers");
  p.nseries = 1;
  p.series = &s;
  char *dat = to_string(nnc_plot_write_dat, &p);
  char *line = strstr(dat, "\n0.1\t1\n");
  ck_assert_msg(line != NULL, "0.1 not written as 0.1:\n%s", dat);
  line++;
  for (int i = 0; i < 5; i++) {
    char *end;
    double v = strtod(line, &end);
    ck_assert_msg(v == x[i], "x[%d] read back as %.17g", i, v);
    line = strchr(end, '\n') + 1;
  }
  ck_assert_msg(strncmp(line, "NaN\t6\nNaN\t7\n", 12) == 0,
                "NaN and Inf not written as NaN: %s", line);
  free(dat);
}
END_TEST

START_TEST(test_log_axis_drops_nonpositive)
{
  double x[] = {1, 2, 3, 4}, y[] = {1e-3, 0, -1, 1e2};
  nnc_plot_series s = {.label = "with zero", .style = NNC_PLOT_POINTS,
                       .n = 4, .x = x, .y = y};
  nnc_plot p;
  char err[1024] = "";
  nnc_plot_init(&p, "logdrop");
  p.logy = 1;
  p.nseries = 1;
  p.series = &s;
  ck_assert_msg(nnc_plot_render(&p, tmpdir, err, sizeof err) == NNC_OK, "%s",
                err);
  const char *dat = path_in(tmpdir, "logdrop.dat");
  assert_contains(dat, "\n1\t0.001\n2\tNaN\n3\tNaN\n4\t100\n");
  assert_png_900x600(path_in(tmpdir, "logdrop.png"));
}
END_TEST

START_TEST(test_empty_and_nested_dir)
{
  double y[] = {0, -1};
  nnc_plot_series s = {.label = "nothing positive", .n = 2, .y = y};
  nnc_plot p;
  char err[1024] = "";
  nnc_plot_init(&p, "empty");
  p.logy = 1;
  p.nseries = 1;
  p.series = &s;
  char *dir = strdup(path_in(tmpdir, "x/y/z"));
  ck_assert_msg(nnc_plot_render(&p, dir, err, sizeof err) == NNC_OK, "%s",
                err);
  assert_png_900x600(path_in(dir, "empty.png"));
  const char *labels[] = {"nothing positive (no data)", "no data", NULL};
  assert_svg(path_in(dir, "empty.svg"), labels);
  free(dir);
}
END_TEST

START_TEST(test_missing_gnuplot)
{
  nnc_plot p;
  char err[2048] = "";
  sample_plot(&p, "nognuplot");
  setenv("NNCHECK_GNUPLOT", "/nonexistent", 1);
  int rc = nnc_plot_render(&p, tmpdir, err, sizeof err);
  unsetenv("NNCHECK_GNUPLOT");
  /* not an error code: the plot is written, only not rendered */
  ck_assert_int_eq(rc, NNC_PLOT_UNRENDERED);
  ck_assert_int_gt(rc, 0);
  ck_assert_msg(strstr(err, "gnuplot") && strstr(err, "/nonexistent"),
                "message does not name gnuplot: %s", err);
  /* ... and says how to render it by hand */
  char want[8192];
  snprintf(want, sizeof want, "`cd %s && gnuplot nognuplot.gp`", tmpdir);
  ck_assert_msg(strstr(err, want), "no '%s' in: %s", want, err);
  ck_assert_msg(strchr(err, '\n') == NULL, "not one line: %s", err);
  ck_assert(exists(path_in(tmpdir, "nognuplot.dat")));
  ck_assert(exists(path_in(tmpdir, "nognuplot.gp")));
  ck_assert(!exists(path_in(tmpdir, "nognuplot.png")));
  ck_assert(!exists(path_in(tmpdir, "nognuplot.svg")));
  assert_no_tmp(tmpdir);
  /* which works, once gnuplot is there */
  ck_assert_int_eq(run_by_hand(tmpdir, "nognuplot.gp"), 0);
  assert_png_900x600(path_in(tmpdir, "nognuplot.png"));

  /* a directory the shell would split is quoted in the advice */
  char *dir = strdup(path_in(tmpdir, "with space"));
  setenv("NNCHECK_GNUPLOT", "no-such-gnuplot-program", 1);
  rc = nnc_plot_render(&p, dir, err, sizeof err);
  unsetenv("NNCHECK_GNUPLOT");
  ck_assert_int_eq(rc, NNC_PLOT_UNRENDERED);
  snprintf(want, sizeof want, "`cd '%s' && gnuplot nognuplot.gp`", dir);
  ck_assert_msg(strstr(err, want), "no '%s' in: %s", want, err);
  free(dir);
}
END_TEST

/* The dumb terminal: the plot as text, drawn in a private directory that
 * is gone afterwards. */
START_TEST(test_text_rendering)
{
  nnc_plot p;
  char err[2048] = "";
  char *text = NULL;
  sample_plot(&p, "loss_text");
  char *priv = strdup(path_in(tmpdir, "private"));
  ck_assert_int_eq(mkdir(priv, 0700), 0);
  setenv("TMPDIR", priv, 1);
  int rc = nnc_plot_render_text(&p, 80, 24, &text, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "render_text: %d %s", rc, err);
  ck_assert_ptr_nonnull(text);
  /* 24 rows of at most 80 columns, with the title, the legend and the axis
   * label as text */
  size_t rows = 0, widest = 0, w = 0;
  for (const char *c = text; *c; c++) {
    if (*c == '\n') {
      rows++;
      widest = w > widest ? w : widest;
      w = 0;
    } else {
      w++;
    }
  }
  ck_assert_msg(rows == 24 && widest <= 80, "%zu rows, %zu wide:\n%s", rows,
                widest, text);
  ck_assert_msg(strstr(text, "loss_curve: train and validation") &&
                    strstr(text, "train_loss") && strstr(text, "epoch"),
                "%s", text);
  /* the same plot, the same text */
  char *again = NULL;
  ck_assert_int_eq(nnc_plot_render_text(&p, 80, 24, &again, err, sizeof err),
                   NNC_OK);
  ck_assert_str_eq(text, again);
  free(again);
  free(text);
  /* a wider request is honoured */
  ck_assert_int_eq(nnc_plot_render_text(&p, 120, 30, &text, err, sizeof err),
                   NNC_OK);
  ck_assert_msg(strchr(text, '\n') - text == 120, "%s", text);
  free(text);
  /* nothing left behind: not in the private directory, not in tmpdir */
  DIR *d = opendir(priv);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  while ((e = readdir(d)))
    ck_assert_msg(e->d_name[0] == '.', "left behind: %s", e->d_name);
  closedir(d);
  ck_assert(!exists(path_in(tmpdir, "loss_text.dat")));

  /* the script says so, and is deterministic */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_int_eq(nnc_plot_write_gp_text(&p, 80, 24, f, err, sizeof err),
                   NNC_OK);
  fclose(f);
  ck_assert_msg(strstr(buf, "set terminal dumb noenhanced size 80,24") &&
                    strstr(buf, "set output \"loss_text.txt\"") &&
                    !strstr(buf, "pngcairo"),
                "%s", buf);
  free(buf);

  /* a size outside the range is refused; without gnuplot, no text */
  text = (char *)1;
  ck_assert_int_eq(nnc_plot_render_text(&p, 5, 24, &text, err, sizeof err),
                   NNC_EARG);
  ck_assert_ptr_null(text);
  ck_assert_msg(strstr(err, "5 x 24"), "%s", err);
  setenv("NNCHECK_GNUPLOT", "/nonexistent", 1);
  rc = nnc_plot_render_text(&p, 80, 24, &text, err, sizeof err);
  unsetenv("NNCHECK_GNUPLOT");
  ck_assert_int_eq(rc, NNC_PLOT_UNRENDERED);
  ck_assert_ptr_null(text);
  ck_assert_msg(strstr(err, "/nonexistent") && strstr(err, "gnuplot-nox"),
                "%s", err);
  unsetenv("TMPDIR");
  rmdir(priv);
  free(priv);
}
END_TEST

START_TEST(test_gnuplot_error_reported)
{
  nnc_plot p;
  char err[1024] = "";
  sample_plot(&p, "badcolor");
  sample_series[0].color = "no-such-colour";
  int rc = nnc_plot_render(&p, tmpdir, err, sizeof err);
  ck_assert_int_eq(rc, NNC_EPLOT);
  ck_assert_msg(strstr(err, "badcolor.gp") && strstr(err, "color"),
                "gnuplot's message missing: %s", err);
  ck_assert_msg(strchr(err, '\n') == NULL, "not one line: %s", err);
  ck_assert(!exists(path_in(tmpdir, "badcolor.png")));
  assert_no_tmp(tmpdir);
}
END_TEST

START_TEST(test_unwritable_dir)
{
  nnc_plot p;
  char err[1024] = "";
  sample_plot(&p, "nowhere");
  /* under a regular file: fails even for root */
  FILE *f = fopen(path_in(tmpdir, "file"), "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  int rc = nnc_plot_render(&p, path_in(tmpdir, "file/sub"), err, sizeof err);
  ck_assert_int_eq(rc, NNC_EIO);
  ck_assert_msg(strstr(err, "file/sub") != NULL, "path not named: %s", err);

  if (geteuid() != 0) {
    char *ro = strdup(path_in(tmpdir, "readonly"));
    ck_assert_int_eq(mkdir(ro, 0555), 0);
    rc = nnc_plot_render(&p, ro, err, sizeof err);
    ck_assert_int_eq(rc, NNC_EIO);
    ck_assert_msg(strstr(err, "nowhere.dat") != NULL, "file not named: %s",
                  err);
    chmod(ro, 0700);
    free(ro);
  }
}
END_TEST

START_TEST(test_invalid_plot)
{
  nnc_plot p;
  char err[1024] = "";
  sample_plot(&p, "../escape");
  ck_assert_int_eq(nnc_plot_render(&p, tmpdir, err, sizeof err), NNC_EARG);
  ck_assert_msg(strstr(err, "../escape") != NULL, "%s", err);
  sample_plot(&p, "-option");
  ck_assert_int_eq(nnc_plot_render(&p, tmpdir, err, sizeof err), NNC_EARG);
  sample_plot(&p, "ok");
  p.yrange = (nnc_plot_range){1, 0, 1}; /* log axis from 0 */
  ck_assert_int_eq(nnc_plot_render(&p, tmpdir, err, sizeof err), NNC_EARG);
  nnc_plot_init(&p, "grid");
  p.kind = NNC_PLOT_HEATMAP; /* without a grid */
  ck_assert_int_eq(nnc_plot_render(&p, tmpdir, err, sizeof err), NNC_EARG);
}
END_TEST

START_TEST(test_heatmap_and_contour)
{
  enum { NX = 21, NY = 11 };
  double gx[NX], gy[NY], gz[NX * NY];
  for (int i = 0; i < NX; i++)
    gx[i] = -1 + 2.0 * i / (NX - 1);
  for (int j = 0; j < NY; j++)
    gy[j] = -1 + 2.0 * j / (NY - 1);
  for (int j = 0; j < NY; j++)
    for (int i = 0; i < NX; i++)
      gz[j * NX + i] = gx[i] * gx[i] + 2 * gy[j] * gy[j];
  double px[] = {0.9, 0.5, 0.2, 0.05}, py[] = {0.8, -0.4, 0.2, -0.05};
  nnc_plot_series path = {.label = "sgd_path", .style = NNC_PLOT_LINESPOINTS,
                          .n = 4, .x = px, .y = py, .color = "#d62728"};
  double levels[] = {0.25, 0.5, 1, 2};
  char err[1024] = "";
  const char *names[] = {"heat", "contour"};
  for (int k = 0; k < 2; k++) {
    nnc_plot p;
    nnc_plot_init(&p, names[k]);
    p.kind = k ? NNC_PLOT_CONTOUR : NNC_PLOT_HEATMAP;
    p.title = "loss_surface";
    p.xlabel = "w_1";
    p.ylabel = "w_2";
    p.grid = (nnc_plot_grid){.nx = NX, .ny = NY, .x = gx, .y = gy, .z = gz,
                             .zlabel = "loss_value",
                             .nlevels = k ? 4 : 0, .levels = levels};
    p.nseries = 1;
    p.series = &path;
    int rc = nnc_plot_render(&p, tmpdir, err, sizeof err);
    ck_assert_msg(rc == NNC_OK, "%s: %d %s", names[k], rc, err);
    char file[64];
    snprintf(file, sizeof file, "%s.png", names[k]);
    assert_png_900x600(path_in(tmpdir, file));
    snprintf(file, sizeof file, "%s.svg", names[k]);
    const char *labels[] = {"sgd_path", "loss_surface", NULL};
    assert_svg(path_in(tmpdir, file), labels);
    snprintf(file, sizeof file, "%s.gp", names[k]);
    assert_contains(path_in(tmpdir, file), "splot \"");
    assert_contains(path_in(tmpdir, file),
                    k ? "set contour base" : "set pm3d map");
    snprintf(file, sizeof file, "%s.dat", names[k]);
    /* scans of the grid separated by one blank line, then the path */
    assert_contains(path_in(tmpdir, file), "# w_1\tw_2\tloss_value\n-1\t-1\t3\n");
    assert_contains(path_in(tmpdir, file), "\t-1\t3\n\n-1\t-0.8\t");
    assert_contains(path_in(tmpdir, file), "\n\n\n# index 1: series 0: sgd_path");
  }
  assert_contains(path_in(tmpdir, "contour.gp"),
                  "set cntrparam levels discrete 0.25, 0.5, 1, 2");
}
END_TEST

/* ---- gradcheck plots from a hand-built result ------------------------------ */

enum { NB = 3, NC = 6, NH = 5 };
static nnc_gc_block gc_blocks[NB];
static nnc_gc_coord gc_coords[NB][NC];
static nnc_gc_sweep gc_sweeps[2];
static double gc_h[NH] = {1e-1, 1e-3, 1e-5, 1e-7, 1e-9};
static double gc_sweep_err[2][NH] = {{1e-2, 1e-6, 1e-10, 1e-8, 0},
                                     {3e-1, 2e-1, 4e-1, 5e-1, 6e-1}};

static void sample_result(nnc_gradcheck_result *r)
{
  static const char *const names[NB] = {"W1", "b1", "W1"};
  static const uint32_t parts[NB] = {NNC_F_DATA, NNC_F_DATA, NNC_F_REG};
  memset(r, 0, sizeof *r);
  strcpy(r->plugin, "mlp_fixture");
  r->h_double = 1e-5;
  for (int b = 0; b < NB; b++) {
    nnc_gc_block *B = &gc_blocks[b];
    memset(B, 0, sizeof *B);
    B->name = names[b];
    B->part = parts[b];
    B->dtype = NNC_F64;
    B->count = 100;
    B->checked = NC;
    B->ncoords = NC;
    B->pass_tol = 1e-7;
    B->fail_tol = 1e-2;
    B->coords = gc_coords[b];
    for (int j = 0; j < NC; j++) {
      nnc_gc_coord *c = &gc_coords[b][j];
      memset(c, 0, sizeof *c);
      c->index = (size_t)j * 13;
      c->relerr = pow(10, -(double)(5 + j));
      c->verdict = NNC_PASS;
    }
  }
  gc_coords[0][2].relerr = 0.5; /* a wrong gradient */
  gc_coords[0][2].verdict = NNC_FAIL;
  gc_coords[1][0].relerr = 0; /* both exactly zero */
  gc_coords[1][0].flags = NNC_GC_ZERO;
  gc_coords[2][1].flags = NNC_GC_KINK;
  r->nblocks = NB;
  r->blocks = gc_blocks;
  r->verdict = NNC_FAIL;
  const char *swept[2] = {"W1", "b1"};
  for (int k = 0; k < 2; k++)
    gc_sweeps[k] = (nnc_gc_sweep){.name = swept[k], .part = NNC_F_DATA,
                                  .nh = NH, .h = gc_h,
                                  .relerr = gc_sweep_err[k]};
}

START_TEST(test_gradcheck_plots)
{
  nnc_gradcheck_result r;
  char err[1024] = "";
  sample_result(&r);
  r.nsweeps = 2;
  r.sweeps = gc_sweeps;
  int rc = nnc_gradcheck_plots(&r, tmpdir, err, sizeof err);
  ck_assert_msg(rc == NNC_OK, "gradcheck plots: %d %s", rc, err);

  assert_png_900x600(path_in(tmpdir, "gradcheck_errors.png"));
  const char *labels[] = {"data:W1", "data:b1", "reg:W1", "FAIL",
                          "1e-2: above is wrong", "1e-4", "1e-7",
                          "exactly 0 is drawn at 1e-17", NULL};
  assert_svg(path_in(tmpdir, "gradcheck_errors.svg"), labels);
  const char *dat = path_in(tmpdir, "gradcheck_errors.dat");
  assert_contains(dat, "# index 0: series 0: data:W1\n");
  assert_contains(dat, "\t0.5\n"); /* the failing coordinate */
  assert_contains(dat, "\t1e-17\n"); /* the exact zero, on the floor */
  const char *gp = path_in(tmpdir, "gradcheck_errors.gp");
  assert_contains(gp, "set logscale y");
  assert_contains(gp, "title \"FAIL");

  assert_png_900x600(path_in(tmpdir, "gradcheck_hsweep.png"));
  const char *sweep_labels[] = {"data:W1", "data:b1", "h used", NULL};
  assert_svg(path_in(tmpdir, "gradcheck_hsweep.svg"), sweep_labels);
  const char *sgp = path_in(tmpdir, "gradcheck_hsweep.gp");
  assert_contains(sgp, "set logscale x");
  assert_contains(sgp, "set logscale y");
  assert_contains(path_in(tmpdir, "gradcheck_hsweep.dat"),
                  "\n1e-05\t1e-10\n");
  assert_no_tmp(tmpdir);
}
END_TEST

START_TEST(test_gradcheck_plots_no_sweep)
{
  nnc_gradcheck_result r;
  char err[1024] = "";
  sample_result(&r);
  ck_assert_msg(nnc_gradcheck_plots(&r, tmpdir, err, sizeof err) == NNC_OK,
                "%s", err);
  ck_assert(exists(path_in(tmpdir, "gradcheck_errors.png")));
  ck_assert(!exists(path_in(tmpdir, "gradcheck_hsweep.gp")));

  /* a result with no blocks still plots, saying there is nothing */
  memset(&r, 0, sizeof r);
  ck_assert_msg(nnc_gradcheck_plots(&r, tmpdir, err, sizeof err) == NNC_OK,
                "%s", err);
  assert_png_900x600(path_in(tmpdir, "gradcheck_errors.png"));

  setenv("NNCHECK_GNUPLOT", "/nonexistent", 1);
  sample_result(&r);
  int rc = nnc_gradcheck_plots(&r, tmpdir, err, sizeof err);
  unsetenv("NNCHECK_GNUPLOT");
  ck_assert_int_eq(rc, NNC_PLOT_UNRENDERED);
  ck_assert(exists(path_in(tmpdir, "gradcheck_errors.dat")));
}
END_TEST

static Suite *plot_suite(void)
{
  Suite *s = suite_create("plot");
  TCase *tc = tcase_create("render");
  tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_xy_files);
  tcase_add_test(tc, test_rerun_reproduces);
  tcase_add_test(tc, test_deterministic);
  tcase_add_test(tc, test_numbers_round_trip);
  tcase_add_test(tc, test_log_axis_drops_nonpositive);
  tcase_add_test(tc, test_empty_and_nested_dir);
  tcase_add_test(tc, test_missing_gnuplot);
  tcase_add_test(tc, test_text_rendering);
  tcase_add_test(tc, test_gnuplot_error_reported);
  tcase_add_test(tc, test_unwritable_dir);
  tcase_add_test(tc, test_invalid_plot);
  tcase_add_test(tc, test_heatmap_and_contour);
  suite_add_tcase(s, tc);

  TCase *gc = tcase_create("gradcheck");
  tcase_add_checked_fixture(gc, make_tmpdir, remove_tmpdir);
  tcase_set_timeout(gc, 60);
  tcase_add_test(gc, test_gradcheck_plots);
  tcase_add_test(gc, test_gradcheck_plots_no_sweep);
  suite_add_tcase(s, gc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(plot_suite());
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
