/* isolate.c — plugin work in a supervised child, breadcrumbs in shared
 * memory, and a crash described in one line.
 *
 * Why a child: a plugin's SIGSEGV, abort(), exit() or endless loop would
 * otherwise take the tool with it, and the user would learn nothing but
 * "Segmentation fault".  The parent keeps nothing but a pipe (EOF when the
 * child is gone) and an anonymous MAP_SHARED record the child writes
 * before each callback.  The child never reads a clock (where the clock is
 * a system call, one read per callback costs a tenth of a small net's
 * loss): each callback entry takes a new sequence number, and the parent,
 * waking a few times per timeout, times a callback from the first moment it
 * saw its number until the number changes, on its own clock.  So a hung
 * callback is killed between --timeout and --timeout plus one wake period.
 *
 * The record is written by the child and only read by the parent after
 * the child is dead (or to time a callback), and the child's memory may
 * be corrupted by the plugin: the parent treats every field as untrusted
 * text, bounded and NUL-terminated before use. */
#include "config.h"

#include "isolate_internal.h"

#include <nncheck/nncheck.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define NSLOTS 320 /* models and clones at once: --jobs goes to 256 */
#define NGUARDS 1024
#define TEXT 64

struct nnci_slot {
  atomic_uint used;          /* claimed by a model */
  atomic_uint active;        /* inside a callback */
  atomic_ullong seq;         /* order of the last callback entry */
  atomic_uintptr_t thread;   /* pthread_self() of the last entry */
  atomic_int cb;             /* enum nnci_cb */
  long long coord;           /* -1: none */
  char plugin[TEXT];
  char block[TEXT];
  char phase[TEXT];
};

typedef struct guard {
  atomic_uintptr_t lo;       /* 0: free */
  uintptr_t hi;
  int before;
  char block[TEXT];
} guard;

typedef struct nnci_rec {
  long long timeout_ns;      /* per callback; 0: none */
  atomic_ullong seq;
  atomic_int faulted;        /* the fault handler ran */
  int fault_signo;
  uintptr_t fault_addr;
  uintptr_t fault_thread;
  nnci_slot slots[NSLOTS];
  guard guards[NGUARDS];
} nnci_rec;

/* The one process-wide pointer (see isolate.h): set in an isolated child,
 * or for a no_fork run; NULL in every other program. */
static nnci_rec *the_rec;

static const char *const CB_NAMES[NNCI_CB_COUNT] = {
    "nnc_plugin_entry", "create", "destroy", "num_blocks", "get_block",
    "loss", "backward", "layer_info", "forward", "layer_backward",
    "net_info", "predict", "winners", "num_probes", "probe", "reinit",
    "clone", "set_hyper", "sample_input"};

const char *nnci_cb_name(int cb)
{
  return cb >= 0 && cb < NNCI_CB_COUNT ? CB_NAMES[cb] : "?";
}

static long long now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void copy_text(char *dst, const char *src)
{
  size_t i = 0;
  if (src)
    for (; i + 1 < TEXT && src[i]; i++)
      dst[i] = src[i];
  dst[i] = 0;
}

/* ---- the child's side --------------------------------------------------------- */

int nnc_isolate_active(void) { return the_rec != NULL; }
int nnci_guard_pages(void) { return the_rec != NULL; }

int nnc_isolate_in_callback(void)
{
  nnci_rec *r = the_rec;
  for (size_t i = 0; r && i < NSLOTS; i++)
    if (atomic_load(&r->slots[i].used) && atomic_load(&r->slots[i].active))
      return 1;
  return 0;
}

nnci_slot *nnci_slot_claim(void)
{
  nnci_rec *r = the_rec;
  if (!r)
    return NULL;
  for (size_t i = 0; i < NSLOTS; i++) {
    unsigned z = 0;
    if (atomic_compare_exchange_strong(&r->slots[i].used, &z, 1u)) {
      nnci_slot *s = &r->slots[i];
      atomic_store(&s->active, 0u);
      s->coord = -1;
      s->plugin[0] = s->block[0] = s->phase[0] = 0;
      return s;
    }
  }
  return NULL;
}

void nnci_slot_release(nnci_slot *s)
{
  if (s) {
    atomic_store(&s->active, 0u);
    atomic_store(&s->used, 0u);
  }
}

void nnci_slot_name(nnci_slot *s, const char *plugin)
{
  if (s)
    copy_text(s->plugin, plugin);
}

void nnci_slot_enter(nnci_slot *s, int cb)
{
  if (!s)
    return;
  nnci_rec *r = the_rec;
  atomic_store_explicit(&s->cb, cb, memory_order_relaxed);
  atomic_store_explicit(&s->thread, (uintptr_t)pthread_self(),
                        memory_order_relaxed);
  if (r)
    atomic_store_explicit(&s->seq, atomic_fetch_add(&r->seq, 1) + 1,
                          memory_order_relaxed);
  atomic_store_explicit(&s->active, 1u, memory_order_release);
}

void nnci_slot_leave(nnci_slot *s)
{
  if (s)
    atomic_store_explicit(&s->active, 0u, memory_order_release);
}

void nnci_slot_phase(nnci_slot *s, const char *phase)
{
  if (!s)
    return;
  copy_text(s->phase, phase);
  s->block[0] = 0;
  s->coord = -1;
}

void nnci_slot_at(nnci_slot *s, const char *block, long long coord)
{
  if (!s)
    return;
  copy_text(s->block, block);
  s->coord = block ? coord : -1;
}

int nnci_guard_add(const void *lo, size_t len, const char *block, int before)
{
  nnci_rec *r = the_rec;
  if (!r || !lo)
    return -1;
  for (int i = 0; i < NGUARDS; i++) {
    uintptr_t z = 0;
    guard *g = &r->guards[i];
    /* claim with a placeholder, fill, then publish the real bound */
    if (atomic_compare_exchange_strong(&g->lo, &z, (uintptr_t)1)) {
      g->hi = (uintptr_t)lo + len;
      g->before = before;
      copy_text(g->block, block);
      atomic_store(&g->lo, (uintptr_t)lo);
      return i;
    }
  }
  return -1;
}

void nnci_guard_del(int id)
{
  if (the_rec && id >= 0 && id < NGUARDS)
    atomic_store(&the_rec->guards[id].lo, (uintptr_t)0);
}

/* The child's fault handler: note the signal, the address and the thread,
 * then die of the signal as if there were no handler. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
  (void)uc;
  nnci_rec *r = the_rec;
  int z = 0;
  if (r && atomic_compare_exchange_strong(&r->faulted, &z, 1)) {
    r->fault_signo = sig;
    r->fault_addr = si ? (uintptr_t)si->si_addr : 0;
    r->fault_thread = (uintptr_t)pthread_self();
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void child_setup(nnci_rec *r, int wfd)
{
  the_rec = r;
#ifdef __linux__
  /* the child must not outlive a killed parent */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  (void)wfd;
  /* an alternate stack, so that a stack overflow is still reported */
  static const size_t ALT = 64 * 1024;
  stack_t ss;
  ss.ss_sp = mmap(NULL, ALT, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ss.ss_size = ALT;
  ss.ss_flags = 0;
  if (ss.ss_sp != MAP_FAILED)
    sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP,
                      SIGSYS};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    sigaction(sigs[i], &sa, NULL);
  /* every line on its way out at once: a crash loses no printed line */
  setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ---- the parent's side --------------------------------------------------------- */

void nnc_isolate_opts_init(nnc_isolate_opts *o)
{
  memset(o, 0, sizeof *o);
  o->timeout = NNC_ISOLATE_TIMEOUT;
}

static const char *sig_name(int sig)
{
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGILL: return "SIGILL";
  case SIGABRT: return "SIGABRT";
  case SIGTRAP: return "SIGTRAP";
  case SIGSYS: return "SIGSYS";
  case SIGKILL: return "SIGKILL";
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGHUP: return "SIGHUP";
  case SIGPIPE: return "SIGPIPE";
  case SIGQUIT: return "SIGQUIT";
  case SIGALRM: return "SIGALRM";
  case SIGXCPU: return "SIGXCPU";
  case SIGXFSZ: return "SIGXFSZ";
  case SIGUSR1: return "SIGUSR1";
  case SIGUSR2: return "SIGUSR2";
  default: return NULL;
  }
}

/* A bounded copy of untrusted text from the record. */
static void safe_copy(char *dst, size_t cap, const char *src, size_t srccap)
{
  size_t i = 0;
  for (; i + 1 < cap && i < srccap && src[i]; i++)
    dst[i] = (unsigned char)src[i] < 0x20 ? '?' : src[i];
  dst[i] = 0;
}

/* The slot the crash belongs to: the faulting thread's active one, else
 * the active one entered last, else (outside any callback) the one
 * entered last.  -1 when no model was ever used. */
static int pick_slot(const nnci_rec *r, int use_thread, uintptr_t thread,
                     int *active)
{
  int best = -1, best_active = 0;
  unsigned long long best_seq = 0;
  for (int i = 0; i < NSLOTS; i++) {
    const nnci_slot *s = &r->slots[i];
    unsigned long long seq = atomic_load(&s->seq);
    int act = atomic_load(&s->active) != 0;
    if (!seq)
      continue;
    if (use_thread && act && atomic_load(&s->thread) == thread) {
      *active = 1;
      return i;
    }
    if (act > best_active || (act == best_active && seq > best_seq)) {
      best = i;
      best_active = act;
      best_seq = seq;
    }
  }
  *active = best_active;
  return best;
}

static void fill_where(nnc_crash *c, const nnci_slot *s, int active)
{
  c->in_callback = active;
  if (!s)
    return;
  int cb = atomic_load(&s->cb);
  snprintf(c->callback, sizeof c->callback, "%s", nnci_cb_name(cb));
  safe_copy(c->plugin, sizeof c->plugin, s->plugin, TEXT);
  safe_copy(c->block, sizeof c->block, s->block, TEXT);
  safe_copy(c->phase, sizeof c->phase, s->phase, TEXT);
  c->coord = c->block[0] ? s->coord : -1;
}

/* " (block W1, coordinate 17) while checking gradients" */
static void where_text(const nnc_crash *c, char *buf, size_t len)
{
  size_t k = 0;
  buf[0] = 0;
  if (c->block[0] && c->coord >= 0)
    k += (size_t)snprintf(buf + k, len - k, " (block %s, coordinate %lld)",
                          c->block, c->coord);
  else if (c->block[0])
    k += (size_t)snprintf(buf + k, len - k, " (block %s)", c->block);
  if (c->phase[0] && k < len)
    snprintf(buf + k, len - k, " while %s", c->phase);
}

static void describe(nnc_crash *c)
{
  char where[256];
  where_text(c, where, sizeof where);
  const char *sn = sig_name(c->signo);
  char sbuf[32];
  if (!sn) {
    snprintf(sbuf, sizeof sbuf, "signal %d", c->signo);
    sn = sbuf;
  }
  switch (c->kind) {
  case NNC_CRASH_GUARD:
    snprintf(c->text, sizeof c->text,
             "plugin crashed: %s() wrote %s the gradient buffer of block %s "
             "(%s on its guard page)%s",
             c->callback[0] ? c->callback : "a callback",
             c->guard_before ? "before the start of" : "past the end of",
             c->guard_block, sn, where);
    snprintf(c->advice, sizeof c->advice,
             "keep every write inside [0, count); run with --no-fork under "
             "gdb to see the write");
    break;
  case NNC_CRASH_EXIT:
    snprintf(c->text, sizeof c->text, "plugin exited: %s() called exit(%d)%s",
             c->callback, c->exit_code, where);
    snprintf(c->advice, sizeof c->advice,
             "a plugin reports failure by returning non-zero with a message "
             "in err, never by ending the process");
    break;
  case NNC_CRASH_TIMEOUT:
    snprintf(c->text, sizeof c->text,
             "plugin hung: %s() ran longer than %g s%s", c->callback,
             c->seconds, where);
    snprintf(c->advice, sizeof c->advice,
             "raise --timeout SECONDS if it is only slow, or run with "
             "--no-fork under gdb and interrupt it to see where it loops");
    break;
  default:
    if (c->in_callback)
      snprintf(c->text, sizeof c->text, "plugin crashed: %s in %s()%s", sn,
               c->callback, where);
    else if (c->callback[0])
      snprintf(c->text, sizeof c->text,
               "crashed: %s outside any plugin callback (after %s()%s)", sn,
               c->callback, where);
    else
      snprintf(c->text, sizeof c->text,
               "crashed: %s before any plugin callback", sn);
    snprintf(c->advice, sizeof c->advice,
             c->signo == SIGKILL
                 ? "killed from outside (out of memory?): run with --no-fork "
                   "to see more"
                 : "run with --no-fork under gdb to debug");
    break;
  }
}

/* How the child ended, into *status and *c. */
static void judge(const nnci_rec *r, int wst, int timed_out,
                  const nnci_slot *hung, int *status, nnc_crash *c)
{
  int active = 0;
  if (timed_out) {
    c->kind = NNC_CRASH_TIMEOUT;
    c->signo = SIGKILL;
    c->seconds = (double)r->timeout_ns / 1e9;
    fill_where(c, hung, 1);
    describe(c);
    *status = NNC_EXIT_PLUGIN;
    return;
  }
  if (WIFEXITED(wst)) {
    int k = pick_slot(r, 0, 0, &active);
    if (k >= 0 && active) {
      c->kind = NNC_CRASH_EXIT;
      c->exit_code = WEXITSTATUS(wst);
      fill_where(c, &r->slots[k], 1);
      describe(c);
      *status = NNC_EXIT_PLUGIN;
    } else {
      *status = WEXITSTATUS(wst);
    }
    return;
  }
  int sig = WIFSIGNALED(wst) ? WTERMSIG(wst) : SIGKILL;
  int faulted = atomic_load(&((nnci_rec *)r)->faulted) &&
                r->fault_signo == sig;
  if (!faulted && (sig == SIGINT || sig == SIGTERM || sig == SIGHUP ||
                   sig == SIGPIPE)) {
    /* not the plugin's doing: the caller ends the same way */
    c->kind = NNC_CRASH_INTERRUPTED;
    c->signo = sig;
    snprintf(c->text, sizeof c->text, "interrupted by %s", sig_name(sig));
    *status = 128 + sig;
    return;
  }
  c->kind = NNC_CRASH_SIGNAL;
  c->signo = sig;
  int k = pick_slot(r, faulted, r->fault_thread, &active);
  fill_where(c, k >= 0 ? &r->slots[k] : NULL, active);
  if (faulted && (sig == SIGSEGV || sig == SIGBUS)) {
    for (int i = 0; i < NGUARDS; i++) {
      const guard *g = &r->guards[i];
      uintptr_t lo = atomic_load(&((guard *)g)->lo);
      if (lo > 1 && r->fault_addr >= lo && r->fault_addr < g->hi) {
        c->kind = NNC_CRASH_GUARD;
        c->guard_before = g->before;
        safe_copy(c->guard_block, sizeof c->guard_block, g->block, TEXT);
        break;
      }
    }
  }
  describe(c);
  *status = NNC_EXIT_PLUGIN;
}

/* The parent's view of each slot: the callback it last saw running and
 * since when (its own clock). */
typedef struct watch {
  unsigned long long seq[NSLOTS];
  long long since[NSLOTS];
} watch;

/* Milliseconds to sleep: a tenth of the timeout, between 10 and 250;
 * *expired the slot whose callback has run past the timeout, or -1. */
static int next_wake(nnci_rec *r, watch *w, long long now, int *expired)
{
  *expired = -1;
  if (!r->timeout_ns)
    return 250;
  for (int i = 0; i < NSLOTS; i++) {
    nnci_slot *s = &r->slots[i];
    if (!atomic_load_explicit(&s->active, memory_order_acquire)) {
      w->seq[i] = 0;
      continue;
    }
    unsigned long long q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if (q != w->seq[i]) {
      w->seq[i] = q;
      w->since[i] = now;
    } else if (now - w->since[i] >= r->timeout_ns) {
      *expired = i;
      return 0;
    }
  }
  long long ms = r->timeout_ns / 10000000LL;
  return ms < 10 ? 10 : ms > 250 ? 250 : (int)ms;
}

/* Wait for the child, killing it when a callback outlives the timeout;
 * *status and *c say how it ended. */
static int supervise(pid_t pid, int rfd, nnci_rec *r, int *status,
                     nnc_crash *c)
{
  int wst = 0, timed_out = 0, eof = 0;
  nnci_slot hung;
  memset(&hung, 0, sizeof hung);
  watch *w = calloc(1, sizeof *w);
  if (!w)
    r->timeout_ns = 0; /* no memory to time callbacks: wait for the end */
  for (;;) {
    int expired = -1;
    int ms = w ? next_wake(r, w, now_ns(), &expired) : 250;
    if (expired >= 0) {
      /* copy the breadcrumb before the kill: it names the hung call */
      nnci_slot *s = &r->slots[expired];
      atomic_store(&hung.cb, atomic_load(&s->cb));
      hung.coord = s->coord;
      memcpy(hung.plugin, s->plugin, TEXT);
      memcpy(hung.block, s->block, TEXT);
      memcpy(hung.phase, s->phase, TEXT);
      kill(pid, SIGKILL);
      timed_out = 1;
      while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
      break;
    }
    if (!eof) {
      struct pollfd p = {rfd, POLLIN, 0};
      int k = poll(&p, 1, ms);
      if (k > 0) {
        char buf[64];
        ssize_t n = read(rfd, buf, sizeof buf);
        if (n == 0)
          eof = 1; /* the child is gone (or closed its end) */
      }
    } else {
      /* EOF comes as the child's files close, a moment before it can be
       * waited for: check again soon */
      struct timespec ts = {0, 20000L};
      nanosleep(&ts, NULL);
    }
    pid_t got = waitpid(pid, &wst, WNOHANG);
    if (got == pid)
      break;
    if (got < 0 && errno != EINTR) {
      /* reaped behind our back (SIGCHLD ignored?): the outcome is lost */
      int e = errno;
      kill(pid, SIGKILL);
      c->kind = NNC_CRASH_SIGNAL;
      snprintf(c->text, sizeof c->text,
               "lost track of the supervised child (waitpid: %s)",
               strerror(e));
      snprintf(c->advice, sizeof c->advice,
               "do not ignore SIGCHLD, or run with --no-fork");
      *status = NNC_EXIT_PLUGIN;
      free(w);
      return NNC_OK;
    }
  }
  free(w);
  judge(r, wst, timed_out, &hung, status, c);
  return NNC_OK;
}

static nnci_rec *new_rec(const nnc_isolate_opts *o, int shared)
{
  void *p = mmap(NULL, sizeof(nnci_rec), PROT_READ | PROT_WRITE,
                 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  nnci_rec *r = p; /* zero-filled by mmap */
  double t = o->timeout > 0 ? o->timeout : 0;
  r->timeout_ns = t > 1e9 ? 0 : (long long)(t * 1e9);
  return r;
}

int nnc_isolate_fork(const nnc_isolate_opts *o, int *status, nnc_crash *crash)
{
  nnc_isolate_opts def;
  if (!o) {
    nnc_isolate_opts_init(&def);
    o = &def;
  }
  memset(crash, 0, sizeof *crash);
  crash->coord = -1;
  *status = 0;
  if (o->no_fork) {
    nnci_rec *r = new_rec(o, 0);
    if (!r)
      return NNC_ENOMEM;
    r->timeout_ns = 0; /* nobody watches */
    the_rec = r;
    return 0;
  }
  nnci_rec *r = new_rec(o, 1);
  if (!r)
    return NNC_ENOMEM;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    munmap(r, sizeof *r);
    return NNC_EIO;
  }
  fflush(NULL); /* nothing buffered twice */
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    munmap(r, sizeof *r);
    return NNC_EIO;
  }
  if (pid == 0) {
    close(fds[0]);
    child_setup(r, fds[1]);
    if (getppid() != parent) /* the parent died before prctl */
      _exit(NNC_EXIT_PLUGIN);
    return 0; /* fds[1] stays open until the child ends */
  }
  close(fds[1]);
  supervise(pid, fds[0], r, status, crash);
  close(fds[0]);
  munmap(r, sizeof *r);
  return 1;
}

int nnc_isolate_run(int (*fn)(void *), void *arg, const nnc_isolate_opts *o,
                    int *status, nnc_crash *crash)
{
  if (o && o->no_fork) {
    nnci_rec *saved = the_rec;
    int rc = nnc_isolate_fork(o, status, crash);
    if (rc < 0)
      return rc;
    nnci_rec *mine = the_rec;
    *status = fn(arg);
    the_rec = saved;
    /* models opened by fn are closed by now: their slots go with it */
    munmap(mine, sizeof *mine);
    return NNC_OK;
  }
  int rc = nnc_isolate_fork(o, status, crash);
  if (rc < 0)
    return rc;
  if (rc == 0)
    exit(fn(arg));
  return NNC_OK;
}
