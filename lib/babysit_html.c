/* babysit_html.c — the report as one self-contained page: the diagnoses
 * with their evidence, the per-epoch and per-layer tables, and every plot's
 * SVG inline as a data: URI (each picture its own document, so the ids
 * gnuplot gives its elements never collide).  Nothing is fetched from
 * anywhere: no external script, style, font or address.  A few lines of
 * inline script count the pictures that loaded (for tests, and for a
 * reader who wonders whether a plot is missing). */
#include "config.h"
#include "babysit_internal.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fig {
  char name[160];
  char title[200];
  char caption[512];
} fig;

typedef struct figs {
  fig *v;
  size_t n, cap;
} figs;

static int collect(void *user, const char *name, const char *title,
                   const char *caption)
{
  figs *f = user;
  if (f->n == f->cap) {
    size_t c = f->cap ? 2 * f->cap : 16;
    fig *v = realloc(f->v, c * sizeof *v);
    if (!v)
      return NNC_ENOMEM;
    f->v = v;
    f->cap = c;
  }
  fig *g = &f->v[f->n++];
  snprintf(g->name, sizeof g->name, "%s", name);
  snprintf(g->title, sizeof g->title, "%s", title ? title : name);
  snprintf(g->caption, sizeof g->caption, "%s", caption ? caption : "");
  return 0;
}

static void esc(FILE *f, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
  static const char t[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    fputc(t[(v >> 18) & 63], f);
    fputc(t[(v >> 12) & 63], f);
    fputc(i + 1 < n ? t[(v >> 6) & 63] : '=', f);
    fputc(i + 2 < n ? t[v & 63] : '=', f);
  }
}

static unsigned char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *b = malloc(cap);
  while (b) {
    size_t k = fread(b + n, 1, cap - n, f);
    n += k;
    if (n < cap)
      break;
    unsigned char *nb = realloc(b, 2 * cap);
    if (!nb) {
      free(b);
      b = NULL;
      break;
    }
    b = nb;
    cap *= 2;
  }
  fclose(f);
  *len = n;
  return b;
}

static const char style[] =
    "body{font-family:sans-serif;margin:24px auto;max-width:1000px;"
    "color:#222;background:#fff;line-height:1.4}"
    "h1{font-size:1.5em;margin-bottom:0}h2{margin-top:1.6em;border-bottom:"
    "1px solid #ccc}.sub{color:#555;margin-top:4px}"
    ".diag{border-left:6px solid #2ca02c;padding:6px 12px;margin:10px 0;"
    "background:#f4faf4}.diag.found{border-color:#d62728;background:#fdf3f3}"
    ".diag.skip{border-color:#aaa;background:#f6f6f6}"
    ".diag b{display:block}.ev{font-size:.92em;color:#333}"
    ".todo{font-size:.92em;margin-top:4px}"
    "table{border-collapse:collapse;font-size:.85em;margin:8px 0}"
    "td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}"
    "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
    "figure{margin:18px 0}figure img{width:100%;max-width:900px;"
    "border:1px solid #eee}figcaption{font-size:.9em;color:#444}"
    ".verdict{font-size:1.1em;font-weight:bold;margin:12px 0}"
    "code{background:#f3f3f3;padding:1px 4px}";

static const char script[] =
    "window.addEventListener('load',function(){"
    "var n=0,im=document.querySelectorAll('figure img');"
    "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0&&"
    "im[i].getBoundingClientRect().height>0)n++;}"
    "document.body.setAttribute('data-plots-loaded',String(n));});";

static void num(FILE *f, double v, const char *fmt)
{
  if (isfinite(v))
    fprintf(f, fmt, v);
  else
    fputs("&ndash;", f);
}

static void write_page(FILE *f, const nnc_babysit_result *r, const figs *g,
                       const char *dir)
{
  const nnc_babysit_opts *o = &r->opts;
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
        "\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>",
        f);
  fputs("babysit ", f);
  esc(f, r->plugin);
  fprintf(f, "</title>\n<style>%s</style>\n</head>\n", style);
  fprintf(f, "<body data-plots=\"%zu\" data-plots-loaded=\"0\">\n", g->n);
  fputs("<h1>babysit ", f);
  esc(f, r->plugin);
  fputs("</h1>\n<p class=\"sub\">", f);
  if (r->args[0]) {
    fputs("arguments <code>", f);
    esc(f, r->args);
    fputs("</code>; ", f);
  }
  fprintf(f, "rule %s, learning rate %.4g, schedule %s, batch %zu, %zu "
             "epochs, seed %llu, running average decay %.4g; %zu training "
             "and %zu validation examples, %u classes</p>\n",
          r->rule, o->sched.lr0, r->sched, o->batch, o->epochs,
          (unsigned long long)o->seed, o->ema_decay, r->n_train, r->n_val,
          (unsigned)r->n_classes);
  if (r->resumed)
    fprintf(f, "<p class=\"sub\">resumed at epoch %zu, step %zu</p>\n",
            r->start_epoch, r->start_step);
  fprintf(f, "<p class=\"verdict\">%s",
          r->error != NNC_OK ? "The run stopped with an error."
          : r->found         ? "Problems diagnosed: "
                             : "No problem diagnosed.");
  for (int i = 0, k = 0; r->error == NNC_OK && i < NNC_BS_NDIAG; i++)
    if (r->diag[i].status == NNC_BS_FOUND)
      fprintf(f, "%s<a href=\"#diag-%s\">%s</a>", k++ ? ", " : "",
              nnc_babysit_diag_name(i), nnc_babysit_diag_name(i));
  fputs("</p>\n", f);
  if (r->error != NNC_OK) {
    fputs("<p>", f);
    esc(f, r->error_msg);
    fputs("</p>\n", f);
  }
  fputs("<h2>Diagnoses</h2>\n", f);
  for (int pass = 0; pass < 3; pass++)
    for (int i = 0; i < NNC_BS_NDIAG; i++) {
      const nnc_bs_diag *d = &r->diag[i];
      int want = pass == 0 ? NNC_BS_FOUND : pass == 1 ? NNC_BS_OK : NNC_BS_SKIP;
      if (d->status != want)
        continue;
      fprintf(f, "<div class=\"diag%s\" id=\"diag-%s\"><b>",
              d->status == NNC_BS_FOUND  ? " found"
              : d->status == NNC_BS_SKIP ? " skip"
                                         : "",
              nnc_babysit_diag_name(i));
      esc(f, d->status == NNC_BS_FOUND  ? "\xe2\x9c\x97 "
             : d->status == NNC_BS_SKIP ? "\xe2\x80\x93 "
                                        : "\xe2\x9c\x93 ");
      esc(f, d->title);
      fputs("</b><div class=\"ev\">Evidence: ", f);
      esc(f, d->evidence);
      fputs("</div>", f);
      if (d->advice[0]) {
        fputs("<div class=\"todo\">What to do: ", f);
        esc(f, d->advice);
        fputs("</div>", f);
      }
      fputs("</div>\n", f);
    }
  fprintf(f, "<h2>Plots (%zu)</h2>\n", g->n);
  for (size_t i = 0; i < g->n; i++) {
    size_t pl = strlen(dir) + strlen(g->v[i].name) + 8, len = 0;
    char *path = malloc(pl);
    unsigned char *svg = NULL;
    if (path) {
      snprintf(path, pl, "%s/%s.svg", dir, g->v[i].name);
      svg = slurp(path, &len);
    }
    fprintf(f, "<figure id=\"%s\">", g->v[i].name);
    fputs("<img alt=\"", f);
    esc(f, g->v[i].title);
    fputs("\" src=\"data:image/svg+xml;base64,", f);
    if (svg)
      base64(f, svg, len);
    fputs("\"><figcaption><b>", f);
    esc(f, g->v[i].title);
    fputs(".</b> ", f);
    esc(f, g->v[i].caption);
    fputs(" <span class=\"sub\">(", f);
    esc(f, g->v[i].name);
    fputs(".svg, .png, .dat, .gp)</span></figcaption></figure>\n", f);
    free(svg);
    free(path);
  }
  fputs("<h2>Epochs</h2>\n<table><tr><th>epoch</th><th>step</th><th>lr</th>"
        "<th>batch loss</th><th>train loss</th><th>train acc</th><th>val "
        "loss</th><th>val acc</th><th>gap</th><th>avg val acc</th>"
        "<th>checkpoint</th></tr>\n",
        f);
  for (size_t k = 0; k < r->nepochs; k++) {
    const nnc_bs_epoch *e = &r->epochs[k];
    fprintf(f, "<tr><td>%zu</td><td>%zu</td><td>", e->epoch, e->step);
    num(f, e->lr, "%.3g");
    fputs("</td><td>", f);
    num(f, e->batch_loss, "%.4g");
    fputs("</td><td>", f);
    num(f, e->train_loss, "%.4g");
    fputs("</td><td>", f);
    num(f, e->train_acc, "%.4f");
    fputs("</td><td>", f);
    num(f, e->val_loss, "%.4g");
    fputs("</td><td>", f);
    num(f, e->val_acc, "%.4f");
    fputs("</td><td>", f);
    num(f, e->gap, "%.4f");
    fputs("</td><td>", f);
    num(f, e->ema_val_acc, "%.4f");
    fputs("</td><td>", f);
    esc(f, e->checkpoint);
    fputs("</td></tr>\n", f);
  }
  fputs("</table>\n", f);
  if (r->nprobes) {
    fputs("<h2>Layers</h2>\n<table><tr><th>layer</th><th>units</th><th>"
          "when</th><th>dead</th><th>saturated</th><th>near zero</th><th>"
          "zero</th><th>mean |a|</th><th>gradient RMS</th></tr>\n",
          f);
    for (size_t i = 0; i < r->nprobes; i++) {
      const nnc_bs_probe *p = &r->probes[i];
      for (int w = 0; w < 2 && (w == 0 || r->nepochs); w++) {
        const nnc_bs_layer_epoch *e = w ? &p->ep[r->nepochs - 1] : &p->init;
        fputs("<tr><td>", f);
        esc(f, p->name);
        fprintf(f, "</td><td>%zu</td><td>%s</td><td>", p->units,
                w ? "end" : "start");
        num(f, 100 * e->dead, "%.1f%%");
        fputs("</td><td>", f);
        num(f, 100 * e->sat_units, "%.1f%%");
        fputs("</td><td>", f);
        num(f, 100 * e->near_zero, "%.1f%%");
        fputs("</td><td>", f);
        num(f, 100 * e->zero, "%.1f%%");
        fputs("</td><td>", f);
        num(f, e->mean_abs, "%.3g");
        fputs("</td><td>", f);
        num(f, e->grad_rms, "%.3g");
        fputs("</td></tr>\n", f);
      }
    }
    fputs("</table>\n", f);
  }
  fprintf(f, "<script>%s</script>\n</body>\n</html>\n", script);
}

int nnc_babysit_html(const nnc_babysit_result *r, const char *dir, char *err,
                     size_t errlen)
{
  figs g = {NULL, 0, 0};
  size_t n = 0;
  int rc = nnci_bs_plots_each(r, dir, &n, collect, &g, err, errlen);
  if (rc != NNC_OK) {
    free(g.v);
    return rc;
  }
  size_t pl = strlen(dir) + 64;
  char *tmp = malloc(pl), *dst = malloc(pl);
  if (!tmp || !dst) {
    free(tmp);
    free(dst);
    free(g.v);
    snprintf(err, errlen, "out of memory");
    return NNC_ENOMEM;
  }
  snprintf(dst, pl, "%s/index.html", dir);
  snprintf(tmp, pl, "%s/.index.html.XXXXXX", dir);
  int fd = mkstemp(tmp);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    snprintf(err, errlen, "%s: cannot create a file there: %s", dir,
             strerror(errno));
    if (fd >= 0)
      close(fd);
    rc = NNC_EIO;
  } else {
    fchmod(fd, 0644);
    write_page(f, r, &g, dir);
    int bad = fflush(f) != 0 || ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, dst) != 0) {
      snprintf(err, errlen, "%s: cannot write it: %s", dst, strerror(errno));
      unlink(tmp);
      rc = NNC_EIO;
    }
  }
  free(tmp);
  free(dst);
  free(g.v);
  return rc;
}
