/* babysit's HTML report opened in headless Chromium (Debian's chromium):
 * no console error, every plot loaded (counted by the page's own script
 * into a DOM attribute read back with --dump-dom), and a screenshot that is
 * not blank (decoded here with zlib).  A broken page proves the detectors
 * work.  Without chromium the whole program is skipped (TAP "1..0 # SKIP"),
 * unless NNC_REQUIRE_CHROMIUM=1, as CI sets it. */
#include "config.h"
#include "testutil.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BS(...) RUN("babysit", "--quiet", __VA_ARGS__)

/* ---- the report in a browser ------------------------------------------------------ */

/* A decoded PNG: 8-bit RGB or RGBA. */
typedef struct img {
  size_t w, h, ch;
  unsigned char *px;
} img;

static int paeth(int a, int b, int c)
{
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode a non-interlaced 8-bit RGB/RGBA PNG (what Chromium writes);
 * 0 on success. */
static int png_decode(const char *path, img *out)
{
  size_t len;
  unsigned char *f = (unsigned char *)read_file(path, &len);
  if (!f || len < 33 || memcmp(f, "\x89PNG\r\n\x1a\n", 8)) {
    free(f);
    return -1;
  }
  size_t pos = 8, zlen = 0;
  unsigned char *z = malloc(len);
  uint32_t w = 0, h = 0;
  int depth = 0, ctype = 0, inter = 0;
  while (pos + 12 <= len) {
    uint32_t n = be32(f + pos);
    const unsigned char *type = f + pos + 4, *data = f + pos + 8;
    if (pos + 12 + n > len)
      break;
    if (!memcmp(type, "IHDR", 4)) {
      w = be32(data);
      h = be32(data + 4);
      depth = data[8];
      ctype = data[9];
      inter = data[12];
    } else if (!memcmp(type, "IDAT", 4)) {
      memcpy(z + zlen, data, n);
      zlen += n;
    }
    pos += 12 + n;
  }
  int ch = ctype == 2 ? 3 : ctype == 6 ? 4 : 0;
  if (depth != 8 || !ch || inter || !w || !h) {
    free(f);
    free(z);
    return -1;
  }
  uLongf rawlen = (uLongf)h * (1 + (uLongf)w * ch);
  unsigned char *raw = malloc(rawlen);
  int zr = uncompress(raw, &rawlen, z, zlen);
  free(z);
  free(f);
  if (zr != Z_OK || rawlen != (uLongf)h * (1 + (uLongf)w * ch)) {
    free(raw);
    return -1;
  }
  size_t stride = (size_t)w * ch;
  unsigned char *px = malloc(stride * h);
  for (size_t y = 0; y < h; y++) {
    int ft = raw[y * (stride + 1)];
    const unsigned char *s = raw + y * (stride + 1) + 1;
    unsigned char *d = px + y * stride, *up = y ? d - stride : NULL;
    for (size_t x = 0; x < stride; x++) {
      int a = x >= (size_t)ch ? d[x - ch] : 0, b = up ? up[x] : 0,
          c = up && x >= (size_t)ch ? up[x - ch] : 0;
      int v = s[x];
      switch (ft) {
      case 1: v += a; break;
      case 2: v += b; break;
      case 3: v += (a + b) / 2; break;
      case 4: v += paeth(a, b, c); break;
      default: break;
      }
      d[x] = (unsigned char)v;
    }
  }
  free(raw);
  out->w = w;
  out->h = h;
  out->ch = (size_t)ch;
  out->px = px;
  return 0;
}

static const char *chromium(void)
{
  static const char *const cand[] = {"/usr/bin/chromium",
                                     "/usr/bin/chromium-browser"};
  for (size_t i = 0; i < 2; i++)
    if (access(cand[i], X_OK) == 0)
      return cand[i];
  return NULL;
}

/* Run headless Chromium on a file with extra arguments. */
static run_result browse(const char *file, const char *a1, const char *a2)
{
  char *ud = make_tmpdir();
  char udarg[4200], url[4200];
  snprintf(udarg, sizeof udarg, "--user-data-dir=%s", ud);
  snprintf(url, sizeof url, "file://%s", file);
  const char *argv[] = {chromium(), "--headless", "--no-sandbox",
                        "--disable-gpu", "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        udarg, "--enable-logging=stderr", "--v=0",
                        "--virtual-time-budget=10000", a1, a2, url, NULL};
  if (!a2) {
    argv[13] = url;
    argv[14] = NULL;
  }
  run_result r = run_prog(chromium(), argv);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", ud);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", ud);
  free(ud);
  return r;
}

/* Console messages Chromium logged (--enable-logging=stderr): lines with
 * ":CONSOLE" ("[...:INFO:CONSOLE:1] \"message\", source: ..."). */
static size_t console_lines(const char *err) { return count_of(err, ":CONSOLE"); }

/* The first console line, for a failure message of bounded length. */
static const char *first_console(const char *err)
{
  static char buf[400];
  const char *p = strstr(err, ":CONSOLE");
  snprintf(buf, sizeof buf, "%.300s", p ? p : "(none)");
  return buf;
}

static long attr(const char *dom, const char *name)
{
  char pat[64];
  snprintf(pat, sizeof pat, "%s=\"", name);
  const char *p = strstr(dom, pat);
  return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

START_TEST(report_in_chromium)
{
  char *d = make_tmpdir();
  run_result r = BS("mlp", "--args", "data=bars,reg=0.1", "--optim",
                    "momentum", "--lr", "0.02", "--epochs", "20", "--report",
                    d);
  ck_assert_msg(r.status == 0, "%s", r.err);
  run_free(&r);
  char page[4096], shot[4096];
  snprintf(page, sizeof page, "%s/index.html", d);
  snprintf(shot, sizeof shot, "%s/shot.png", d);
  char *html = read_file(page, NULL);
  ck_assert(html);
  /* self-contained: nothing fetched from anywhere */
  ck_assert(!strstr(html, "http://") && !strstr(html, "https://"));
  ck_assert(!strstr(html, "src=\"/") && !strstr(html, "src=\"file"));
  for (const char *h = html; (h = strstr(h, "href=\"")); h += 6)
    ck_assert_msg(h[6] == '#', "a link out of the page: %.60s", h);
  for (const char *h = html; (h = strstr(h, "src=\"")); h += 5)
    ck_assert_msg(!strncmp(h + 5, "data:", 5), "a picture from outside: "
                                               "%.60s", h);
  long want = attr(html, "data-plots");
  ck_assert_msg(want >= 9, "data-plots %ld", want);
  ck_assert_int_eq((long)count_of(html, "<figure"), want);
  ck_assert(strstr(html, "Diagnoses"));
  free(html);
  /* 1. no console error; 2. every plot loaded */
  r = browse(page, "--dump-dom", NULL);
  ck_assert_msg(r.status == 0, "chromium exit %d", r.status);
  ck_assert_msg(console_lines(r.err) == 0, "console message: %s",
                first_console(r.err));
  ck_assert_int_eq(attr(r.out, "data-plots-loaded"), want);
  run_free(&r);
  /* 3. a screenshot that is not blank */
  char sarg[4200];
  snprintf(sarg, sizeof sarg, "--screenshot=%s", shot);
  r = browse(page, sarg, "--window-size=1280,2000");
  run_free(&r);
  img im;
  ck_assert_msg(png_decode(shot, &im) == 0, "screenshot not a PNG");
  ck_assert_uint_eq(im.w, 1280);
  size_t nonwhite = 0, n = im.w * im.h;
  unsigned char *seen = calloc(1 << 15, 1);
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *p = im.px + i * im.ch;
    nonwhite += p[0] < 240 || p[1] < 240 || p[2] < 240;
    unsigned k = (unsigned)(p[0] >> 3) << 10 | (unsigned)(p[1] >> 3) << 5 |
                 (unsigned)(p[2] >> 3);
    if (!seen[k]) {
      seen[k] = 1;
      distinct++;
    }
  }
  ck_assert_msg(nonwhite > n / 50, "screenshot nearly blank: %zu of %zu "
                                   "pixels not white",
                nonwhite, n);
  ck_assert_msg(distinct > 50, "screenshot has %zu colours", distinct);
  free(seen);
  free(im.px);
  free(d);
}
END_TEST

/* The detectors themselves: a page with a console error and a broken
 * picture must be caught. */
START_TEST(chromium_checks_catch_a_broken_page)
{
  char *d = make_tmpdir();
  char page[4096];
  snprintf(page, sizeof page, "%s/index.html", d);
  FILE *f = fopen(page, "w");
  fputs("<!DOCTYPE html><html><body data-plots=\"2\" data-plots-loaded=\"0\">"
        "<figure><img src=\"data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDov"
        "L3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMCIgaGVpZ2h0PSIxMCIvPg==\">"
        "</figure><figure><img src=\"missing.svg\"></figure>"
        "<script>console.error('broken');"
        "window.addEventListener('load',function(){var n=0,im=document."
        "querySelectorAll('figure img');for(var i=0;i<im.length;i++){if(im[i]"
        ".complete&&im[i].naturalWidth>0)n++;}document.body.setAttribute("
        "'data-plots-loaded',String(n));});</script></body></html>",
        f);
  fclose(f);
  run_result r = browse(page, "--dump-dom", NULL);
  ck_assert_msg(console_lines(r.err) >= 1, "console error not seen");
  ck_assert_int_eq(attr(r.out, "data-plots-loaded"), 1);
  run_free(&r);
  free(d);
}
END_TEST

int main(void)
{
  if (!chromium()) {
    const char *req = getenv("NNC_REQUIRE_CHROMIUM");
    if (req && !strcmp(req, "1")) {
      printf("1..1\nnot ok 1 - NNC_REQUIRE_CHROMIUM=1 but chromium is not "
             "installed (apt-get install chromium)\n");
      return 1;
    }
    printf("1..0 # SKIP chromium is not installed\n");
    return 0;
  }
  Suite *s = suite_create("babysit_report");
  TCase *t = tcase_create("browser");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, report_in_chromium);
  tcase_add_test(t, chromium_checks_catch_a_broken_page);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
