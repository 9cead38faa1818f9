/* Finding, loading and validating plugins.
 *
 * The host trusts nothing in a descriptor: the version is checked before any
 * other field is read, the size decides which fields exist (a smaller,
 * older descriptor reads as "newer callbacks absent"), and the callbacks a
 * kind requires must all be there, so that later code can call them without
 * further checks. */
#include "config.h"
#include "model.h"
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NNC_PKGLIBDIR
#define NNC_PKGLIBDIR "/usr/local/lib/nncheck"
#endif

void nnci_one_line(char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = '?';
}

void nnci_msg(char *buf, size_t len, const char *fmt, ...)
{
  if (!buf || !len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  nnci_one_line(buf);
}

/* The smallest descriptor version 1 accepts: up to layer_backward. */
#define NNC_DESC_MIN_SIZE                                                      \
  (offsetof(nnc_plugin, layer_backward) + sizeof(void (*)(void)))

int nnci_validate_desc(const nnc_plugin *in, nnc_plugin *out,
                       const char *what, char *err, size_t errlen)
{
  memset(out, 0, sizeof *out);
  if (!in) {
    nnci_msg(err, errlen, "%s: the entry point returned no descriptor (NULL)",
             what);
    return NNC_EABI;
  }
  /* abi_version sits at a fixed offset in every version: read it first. */
  if (in->abi_version != NNC_ABI_VERSION) {
    nnci_msg(err, errlen,
             "%s: plugin ABI version %u, but this nncheck speaks version %u: "
             "rebuild the plugin against this nncheck's plugin.h",
             what, (unsigned)in->abi_version, (unsigned)NNC_ABI_VERSION);
    return NNC_EABI;
  }
  if (in->size < NNC_DESC_MIN_SIZE || in->size > (1u << 16)) {
    nnci_msg(err, errlen,
             "%s: descriptor size %u is impossible for ABI version %u "
             "(at least %zu): set .size = sizeof(nnc_plugin)",
             what, (unsigned)in->size, (unsigned)NNC_ABI_VERSION,
             (size_t)NNC_DESC_MIN_SIZE);
    return NNC_EABI;
  }
  memcpy(out, in, in->size < sizeof *out ? in->size : sizeof *out);
  out->size = sizeof *out;
  const char *missing = NULL;
  if (out->kind != NNC_KIND_NET && out->kind != NNC_KIND_LAYER) {
    nnci_msg(err, errlen,
             "%s: descriptor kind %u is neither NNC_KIND_NET (1) nor "
             "NNC_KIND_LAYER (2)",
             what, (unsigned)out->kind);
    return NNC_EABI;
  }
  if (!out->name || !out->name[0])
    missing = "name";
  else if (!out->summary)
    missing = "summary";
  else if (!out->create)
    missing = "create";
  else if (!out->destroy)
    missing = "destroy";
  else if (!out->num_blocks)
    missing = "num_blocks";
  else if (!out->get_block)
    missing = "get_block";
  else if (out->kind == NNC_KIND_NET && !out->loss)
    missing = "loss";
  else if (out->kind == NNC_KIND_NET && !out->backward)
    missing = "backward";
  else if (out->kind == NNC_KIND_LAYER && !out->layer_info)
    missing = "layer_info";
  else if (out->kind == NNC_KIND_LAYER && !out->forward)
    missing = "forward";
  else if (out->kind == NNC_KIND_LAYER && !out->layer_backward)
    missing = "layer_backward";
  if (missing) {
    nnci_msg(err, errlen,
             "%s: descriptor lacks the required field '%s' for a %s plugin",
             what, missing, out->kind == NNC_KIND_NET ? "net" : "layer");
    return NNC_EABI;
  }
  return NNC_OK;
}

int nnci_dlopen_plugin(const char *path, void **dl, const nnc_plugin **desc,
                       char *err, size_t errlen)
{
  *dl = NULL;
  *desc = NULL;
  struct stat st;
  if (stat(path, &st) != 0) {
    nnci_msg(err, errlen, "%s: %s", path, strerror(errno));
    return NNC_ENOTFOUND;
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    nnci_msg(err, errlen,
             "%s: cannot load: %s: give a plugin .so (built with -shared "
             "-fPIC against nncheck's plugin.h)",
             path, e ? e : "?");
    return NNC_ELOAD;
  }
  nnc_plugin_entry_fn entry;
  void *sym = dlsym(h, NNC_PLUGIN_ENTRY_NAME);
  memcpy(&entry, &sym, sizeof entry);
  if (!sym) {
    nnci_msg(err, errlen,
             "no entry point %s in %s: not an nncheck plugin, or the "
             "symbol is not exported (declare it with NNC_EXPORT)",
             NNC_PLUGIN_ENTRY_NAME, path);
    dlclose(h);
    return NNC_ELOAD;
  }
  *dl = h;
  *desc = entry();
  return NNC_OK;
}

/* The directory of the running program, for uninstalled use. */
static int exe_dir(char *buf, size_t len)
{
  ssize_t k = readlink("/proc/self/exe", buf, len - 1);
  if (k <= 0)
    return -1;
  buf[k] = 0;
  char *slash = strrchr(buf, '/');
  if (!slash)
    return -1;
  *slash = 0;
  return 0;
}

static int is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void append_dir(char *buf, size_t len, const char *dir)
{
  size_t used = strlen(buf);
  if (used + strlen(dir) + 2 > len)
    return;
  if (used)
    buf[used++] = ':';
  strcpy(buf + used, dir);
}

void nnc_plugin_dirs(char *buf, size_t buflen)
{
  if (!buf || !buflen)
    return;
  buf[0] = 0;
  const char *env = getenv("NNCHECK_PLUGIN_PATH");
  if (env && *env)
    append_dir(buf, buflen, env);
  /* A program of the build tree lives in DIR/ or, behind a libtool wrapper,
   * in DIR/.libs/; the tree's plugins are then in ../plugins/.libs. */
  char exe[PATH_MAX], cand[PATH_MAX + 64];
  if (exe_dir(exe, sizeof exe) == 0) {
    const char *ups[] = {"/..", "/../.."};
    for (size_t u = 0; u < 2; u++) {
      /* the top of a configured build tree has config.status */
      snprintf(cand, sizeof cand, "%s%s/config.status", exe, ups[u]);
      if (access(cand, F_OK) != 0)
        continue;
      snprintf(cand, sizeof cand, "%s%s/plugins/.libs", exe, ups[u]);
      if (!is_dir(cand))
        continue;
      char real[PATH_MAX];
      if (realpath(cand, real)) {
        append_dir(buf, buflen, real);
        size_t k = strlen(real);
        snprintf(real + k - strlen("plugins/.libs"),
                 sizeof real - (k - strlen("plugins/.libs")),
                 "fixtures/.libs");
        if (is_dir(real))
          append_dir(buf, buflen, real);
      }
      break;
    }
  }
  append_dir(buf, buflen, NNC_PKGLIBDIR);
  append_dir(buf, buflen, NNC_PKGLIBDIR "/fixtures");
}

static int valid_name(const char *s)
{
  if (!*s)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
      return 0;
  return 1;
}

int nnc_plugin_resolve(const char *name, char *path, size_t pathlen,
                       char *err, size_t errlen)
{
  if (!name || !*name) {
    nnci_msg(err, errlen, "no plugin given: name a bundled plugin (see "
                          "--list) or a path to a plugin .so");
    return NNC_EARG;
  }
  size_t nl = strlen(name);
  if (strchr(name, '/') || (nl > 3 && !strcmp(name + nl - 3, ".so"))) {
    if (access(name, R_OK) != 0) {
      nnci_msg(err, errlen, "plugin file %s: %s", name, strerror(errno));
      return NNC_ENOTFOUND;
    }
    nnci_msg(path, pathlen, "%s", name);
    return NNC_OK;
  }
  if (!valid_name(name)) {
    nnci_msg(err, errlen,
             "'%s' is not a plugin name (letters, digits, _ - .) nor a path",
             name);
    return NNC_EARG;
  }
  char dirs[8192];
  nnc_plugin_dirs(dirs, sizeof dirs);
  char *save = NULL;
  for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    char cand[PATH_MAX + 128];
    snprintf(cand, sizeof cand, "%s/%s.so", d, name);
    if (access(cand, R_OK) == 0) {
      nnci_msg(path, pathlen, "%s", cand);
      return NNC_OK;
    }
  }
  nnci_msg(err, errlen,
           "no bundled plugin named '%s': run with --list to see them, or "
           "give a path to a .so",
           name);
  return NNC_ENOTFOUND;
}

static int cmp_listing(const void *a, const void *b)
{
  return strcmp(((const nnc_plugin_listing *)a)->name,
                ((const nnc_plugin_listing *)b)->name);
}

int nnc_plugin_list(nnc_plugin_listing **out, size_t *n, char *err,
                    size_t errlen)
{
  *out = NULL;
  *n = 0;
  size_t cap = 0;
  nnc_plugin_listing *v = NULL;
  char dirs[8192];
  nnc_plugin_dirs(dirs, sizeof dirs);
  char *save = NULL;
  for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    DIR *dir = opendir(d);
    if (!dir)
      continue;
    struct dirent *e;
    while ((e = readdir(dir))) {
      size_t l = strlen(e->d_name);
      if (l < 4 || strcmp(e->d_name + l - 3, ".so") || l - 3 >= 64)
        continue;
      char nm[64];
      memcpy(nm, e->d_name, l - 3);
      nm[l - 3] = 0;
      int dup = 0;
      for (size_t i = 0; i < *n; i++)
        if (!strcmp(v[i].name, nm))
          dup = 1;
      if (dup)
        continue;
      if (*n == cap) {
        cap = cap ? cap * 2 : 32;
        nnc_plugin_listing *nv = realloc(v, cap * sizeof *v);
        if (!nv) {
          closedir(dir);
          free(v);
          nnci_msg(err, errlen, "out of memory listing plugins");
          return NNC_ENOMEM;
        }
        v = nv;
      }
      nnc_plugin_listing *L = &v[(*n)++];
      memset(L, 0, sizeof *L);
      strcpy(L->name, nm);
      snprintf(L->path, sizeof L->path, "%s/%s", d, e->d_name);
      void *dl;
      const nnc_plugin *desc;
      nnc_plugin copy;
      char why[512];
      int rc = nnci_dlopen_plugin(L->path, &dl, &desc, why, sizeof why);
      if (rc == NNC_OK)
        rc = nnci_validate_desc(desc, &copy, L->path, why, sizeof why);
      if (rc == NNC_OK) {
        L->kind = copy.kind;
        snprintf(L->summary, sizeof L->summary, "%s", copy.summary);
      } else {
        snprintf(L->summary, sizeof L->summary, "(does not load: %.220s)", why);
      }
      if (dl)
        dlclose(dl);
    }
    closedir(dir);
  }
  if (*n)
    qsort(v, *n, sizeof *v, cmp_listing);
  *out = v;
  return NNC_OK;
}
