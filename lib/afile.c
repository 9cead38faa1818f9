/* afile.c — files that appear complete or not at all.
 *
 * Every file nncheck writes is written under a temporary name in its own
 * directory (so that the rename is atomic: same file system) and renamed
 * over the final name once complete.  A crash, a kill or a full disk at any
 * moment leaves the earlier file, or none, under the final name; only a
 * hidden-in-plain-sight "NAME.tmp.XXXXXX" may be left behind. */
#include "config.h"

#include <nncheck/isolate.h>
#include <nncheck/nncheck.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int afail(int code, char *err, size_t errlen, const char *fmt,
                 const char *a, const char *b)
{
  if (err && errlen)
    snprintf(err, errlen, fmt, a, b);
  return code;
}

/* Create "path.tmp.XXXXXX" with O_EXCL: not mkstemp, whose files are
 * private (0600); the renamed file gets the umask's permissions like any
 * other the user makes. */
static int create_tmp(nnc_afile *a)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  size_t n = strlen(a->path);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t x = (uint64_t)getpid() * 0x9e3779b97f4a7c15u ^
               (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
               (uint64_t)(uintptr_t)a;
  memcpy(a->tmp, a->path, n);
  memcpy(a->tmp + n, ".tmp.", 5);
  a->tmp[n + 11] = '\0';
  for (int attempt = 0; attempt < 100; attempt++) {
    for (int i = 0; i < 6; i++) {
      /* splitmix64: a new name per attempt */
      uint64_t z = (x += 0x9e3779b97f4a7c15u);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
      a->tmp[n + 5 + i] = alphabet[(z ^ (z >> 31)) % (sizeof alphabet - 1)];
    }
    int fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  return -1;
}

static int start(nnc_afile *a, const char *path, int *fd, char *err,
                 size_t errlen)
{
  memset(a, 0, sizeof *a);
  if (!path || !*path)
    return afail(NNC_EARG, err, errlen, "no file name given%s%s", "", "");
  if (strlen(path) >= sizeof a->path)
    return afail(NNC_EARG, err, errlen, "%s: file name too long%s", path, "");
  snprintf(a->path, sizeof a->path, "%s", path);
  *fd = create_tmp(a);
  if (*fd < 0) {
    int e = errno;
    a->tmp[0] = 0; /* the names tried belong to others */
    return afail(e == ENOMEM ? NNC_ENOMEM : NNC_EIO, err, errlen,
                 "cannot write '%s': %s: check that its directory exists "
                 "and is writable", path, strerror(e));
  }
  return NNC_OK;
}

int nnc_afile_open(nnc_afile *a, const char *path, const char *mode,
                   char *err, size_t errlen)
{
  int fd, rc = start(a, path, &fd, err, errlen);
  if (rc)
    return rc;
  a->f = fdopen(fd, mode && *mode ? mode : "w");
  if (!a->f) {
    int e = errno;
    close(fd);
    nnc_afile_abort(a);
    return afail(NNC_EIO, err, errlen, "cannot write '%s': %s", path,
                 strerror(e));
  }
  return NNC_OK;
}

int nnc_afile_reserve(nnc_afile *a, const char *path, char *err,
                      size_t errlen)
{
  int fd, rc = start(a, path, &fd, err, errlen);
  if (rc)
    return rc;
  close(fd);
  return NNC_OK;
}

/* fsync the directory holding path, so that the rename is on disk too. */
static void sync_dir_of(const char *path)
{
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = 0;
  else
    *slash = 0;
  int fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int nnc_afile_commit(nnc_afile *a, char *err, size_t errlen)
{
  if (!a->tmp[0])
    return afail(NNC_EARG, err, errlen, "'%s': nothing to commit%s", a->path,
                 "");
  int e = 0;
  if (a->f) {
    if (fflush(a->f) != 0 || ferror(a->f))
      e = errno ? errno : EIO;
    else if (a->sync && fsync(fileno(a->f)) != 0)
      e = errno;
    if (fclose(a->f) != 0 && !e)
      e = errno ? errno : EIO;
    a->f = NULL;
  }
  if (!e && rename(a->tmp, a->path) != 0)
    e = errno;
  if (e) {
    nnc_afile_abort(a);
    return afail(NNC_EIO, err, errlen,
                 "cannot write '%s': %s", a->path, strerror(e));
  }
  a->tmp[0] = 0;
  if (a->sync)
    sync_dir_of(a->path);
  return NNC_OK;
}

void nnc_afile_abort(nnc_afile *a)
{
  if (a->f) {
    fclose(a->f);
    a->f = NULL;
  }
  if (a->tmp[0])
    unlink(a->tmp);
  a->tmp[0] = 0;
}
