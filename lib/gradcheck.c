/* gradcheck: the analytic gradient against centered differences.
 *
 * What the CS231n notes advise, done for the user: centered differences,
 * relative error with max() (both-zero passes), double arithmetic, few
 * datapoints, burn-in before checking, data loss and regularization checked
 * apart, dropout kept on under one forced seed, a few coordinates of EVERY
 * block (first, last and a seeded spread), kinks recognised by the winner
 * fingerprint, bands printed beside each verdict and relaxed with depth. */
#include "config.h"
#include "audit.h"
#include "gc_internal.h"
#include "model.h"
#include "rng.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { STREAM_COORDS = 11, STREAM_BURNIN = 12 };

#define BURNIN_BATCH 32
#define BURNIN_EXTEND 10 /* at most this many times --burn-in steps */

void nnc_gradcheck_opts_init(nnc_gradcheck_opts *o)
{
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->examples = 3;
  o->samples = 10;
  o->burn_in = 5;
  o->h = 0;
  o->sweep_h = 0;
  o->parts = 1;
  o->part = 0;
  o->train = 1;
  o->block = NULL;
  o->index = -1;
  o->reg_dominates = 10;
  o->audits = 1;
  o->strict = 0;
  o->project = 0;
  o->probes = 4;
  o->winners = 1;
  o->threads = 1;
}

const char *nnc_verdict_name(int v)
{
  switch (v) {
  case NNC_PASS: return "PASS";
  case NNC_WARN: return "WARN";
  case NNC_FAIL: return "FAIL";
  case NNC_SKIP: return "SKIP";
  default: return "INCONCLUSIVE";
  }
}

void nnci_gc_warn(nnc_gradcheck_result *r, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char **nw = realloc(r->warnings, (r->nwarnings + 1) * sizeof *nw);
  if (!nw)
    return;
  r->warnings = nw;
  r->warnings[r->nwarnings] = strdup(buf);
  if (r->warnings[r->nwarnings])
    r->nwarnings++;
}

#define warn nnci_gc_warn

int nnc_verdict_rank(int v)
{
  switch (v) {
  case NNC_PASS: return 0;
  case NNC_SKIP: return 1;
  case NNC_WARN: return 2;
  case NNC_INCONCLUSIVE: return 3;
  default: return 4;
  }
}

typedef gc_ctx ctx;

static int loss_at(ctx *c, uint32_t part, double *L, int counted)
{
  c->part = part;
  return nnci_gc_loss(c, L, counted);
}

/* ---- burn-in: a few plain SGD steps so that the check happens in a
 * "characteristic" mode, not at the pathological symmetric init. ---------- */

static int burn_in(ctx *c)
{
  nnc_model *m = c->m;
  nnc_gradcheck_result *r = c->r;
  size_t steps = c->o->burn_in;
  if (m->d.kind != NNC_KIND_NET || steps == 0)
    return NNC_OK;
  uint32_t flags = NNC_F_ALL | c->train;
  int rc;
  double L0;
  if ((rc = loss_at(c, NNC_F_ALL, &L0, 0)) != NNC_OK)
    return rc;
  r->burn_in_loss[0] = L0;
  /* Steps are taken in place, from the gradient in the model's buffers:
   * no copy of the parameters (a large net's check would need twice the
   * plugin's memory).  The first try of a step stores x - eta g exactly;
   * a backtrack or a rejected step moves back by the difference. */
  size_t *idx = NULL;
  size_t bs = 0;
  if (m->has_info) {
    bs = m->ni.n_train < BURNIN_BATCH ? m->ni.n_train : BURNIN_BATCH;
    idx = malloc(bs * sizeof *idx);
  }
  if (m->has_info && !idx) {
    return nnci_fail(m, NNC_ENOMEM, "out of memory for burn-in");
  }
  nnc_rng rng;
  nnc_rng_init(&rng, c->o->seed, STREAM_BURNIN);
  double eta = -1;
  size_t accepted = 0, limit = steps * BURNIN_EXTEND;
  /* A tiny symmetric init takes the same max() decision everywhere (every
   * SVM margin positive, ...), and a wrong gradient can look right there.
   * Where the plugin fingerprints its winners, burn-in goes on past the
   * requested steps until a decision on the checked examples has changed. */
  nnc_winners w0, wn;
  int watch = c->o->winners && nnc_model_winners(m, &w0) == NNC_OK &&
              w0.decisions > 0;
  int changed = 0;
  for (size_t s = 0; s < (watch && !changed ? limit : steps); s++) {
    nnc_batch batch = {NULL, 0, NNC_SPLIT_TRAIN, 0};
    if (idx) {
      nnc_rng_choose(&rng, m->ni.n_train, bs, idx);
      batch.index = idx;
      batch.count = bs;
    }
    uint64_t sseed = nnc_hash64(c->o->seed + 0x1000 + s);
    double Lb;
    r->loss_evals++;
    if ((rc = nnc_model_loss(m, idx ? &batch : NULL, sseed, flags, &Lb)))
      goto out;
    r->backward_calls++;
    if ((rc = nnc_model_backward(m)))
      goto out;
    double gn = 0, pn = 0;
    for (size_t b = 0; b < m->nparam; b++)
      for (size_t i = 0; i < m->blocks[b].count; i++) {
        double g = nnc_model_grad(m, b, i), p = nnc_model_get(m, b, i);
        gn += g * g;
        pn += p * p;
      }
    gn = sqrt(gn);
    pn = sqrt(pn);
    if (gn == 0)
      break; /* nothing to descend */
    /* The first step is sized to lower the loss by about a tenth to first
     * order (eta |g|^2 = 0.1 |L|): large enough to leave a tiny symmetric
     * init, where a wrong gradient can look right, within a few steps. */
    if (eta < 0)
      eta = Lb != 0 ? 0.1 * fabs(Lb) / (gn * gn) : (pn > 0 ? 1e-2 * pn : 1e-2) / gn;
    /* Backtrack until the batch loss goes down: a step that raises it says
     * nothing about the characteristic regime we are looking for. */
    int ok = 0;
    double applied = 0; /* the step now stored: x0 - applied g */
    for (int tries = 0; tries < 6 && !ok; tries++) {
      for (size_t b = 0; b < m->nparam; b++)
        for (size_t i = 0; i < m->blocks[b].count; i++)
          nnc_model_set(m, b, i,
                        nnc_model_get(m, b, i) -
                            (eta - applied) * nnc_model_grad(m, b, i));
      applied = eta;
      double La;
      r->loss_evals++;
      if ((rc = nnc_model_loss(m, idx ? &batch : NULL, sseed, flags, &La)))
        goto out;
      if (La < Lb)
        ok = 1;
      else
        eta *= 0.5;
    }
    if (!ok) { /* back to the last point (to rounding) and stop */
      for (size_t b = 0; b < m->nparam; b++)
        for (size_t i = 0; i < m->blocks[b].count; i++)
          nnc_model_set(m, b, i,
                        nnc_model_get(m, b, i) +
                            applied * nnc_model_grad(m, b, i));
      break;
    }
    accepted++;
    if (watch && !changed && s + 1 >= steps) {
      double Ls;
      if ((rc = loss_at(c, NNC_F_ALL, &Ls, 0)))
        goto out;
      changed = nnc_model_winners(m, &wn) == NNC_OK && wn.hash != w0.hash;
    }
  }
  r->burn_in_extended = watch && accepted > steps;
  r->burn_in_steps = accepted;
  double L1;
  if ((rc = loss_at(c, NNC_F_ALL, &L1, 0)) != NNC_OK)
    goto out;
  r->burn_in_loss[1] = L1;
  if (watch && !changed && accepted >= steps)
    warn(r,
         "burn-in: after %zu steps every max() decision on the checked "
         "examples is still as at the start; the check may sit at a "
         "pathological point (raise --burn-in)",
         accepted);
  if (accepted < steps)
    warn(r,
         "burn-in: only %zu of %zu SGD steps lowered the loss; the gradient "
         "may not point downhill (a sign or scale bug), or the loss is flat",
         accepted, steps);
out:
  free(idx);
  return rc;
}

/* ---- coordinates ------------------------------------------------------ */

/* First, last, and one seeded coordinate in each of k-2 equal strata of the
 * rest: every region of a block is visited, a bias is never missed, and a
 * bug in the tail of a large block is hit by the last element. */
static size_t pick_coords(const nnc_gradcheck_opts *o, size_t count,
                          uint64_t stream, size_t *out)
{
  size_t k = o->samples;
  if (k == 0 || count <= k) {
    for (size_t i = 0; i < count; i++)
      out[i] = i;
    return count;
  }
  if (k < 2)
    k = 2;
  nnc_rng rng;
  nnc_rng_init(&rng, o->seed, stream);
  size_t inner = count - 2, strata = k - 2, n = 0;
  out[n++] = 0;
  for (size_t s = 0; s < strata; s++) {
    size_t lo = 1 + inner * s / strata, hi = 1 + inner * (s + 1) / strata;
    if (hi > lo)
      out[n++] = lo + nnc_rng_below(&rng, hi - lo);
  }
  out[n++] = count - 1;
  return n;
}

static uint64_t name_stream(const char *s)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return STREAM_COORDS ^ h;
}

/* The bands of the notes, for a block: relerr above fail_tol is wrong, between
 * pass_tol and fail_tol uncomfortable.  Deeper blocks accumulate round-off
 * on the way, so the bands widen with depth; float32 elements resolve far
 * less, so their bands are those of float arithmetic. */
static void set_bands(nnc_gc_block *gb, const nnc_block *blk)
{
  double relax = blk->depth > 2 ? blk->depth / 2.0 : 1.0;
  gb->relax = relax;
  if (blk->dtype == NNC_F32) {
    gb->pass_tol = 1e-2 * relax;
    gb->fail_tol = 1e-1 * relax;
  } else {
    gb->pass_tol = 1e-4 * relax;
    gb->fail_tol = 1e-2 * relax;
  }
  if (gb->fail_tol > 0.5)
    gb->fail_tol = 0.5;
  if (gb->pass_tol > gb->fail_tol)
    gb->pass_tol = gb->fail_tol;
}

double nnci_default_h(const nnc_gradcheck_opts *o, uint32_t dtype)
{
  if (o->h > 0)
    return o->h;
  /* Near the optimum of truncation (h^2) against round-off (eps/h) for a
   * centered difference: eps^(1/3), rounded to what the notes suggest. */
  return dtype == NNC_F32 ? 1e-2 : 1e-5;
}

/* Sum of |r_i y_i| of a layer: the size of the terms the scalar loss adds,
 * which is what its round-off scales with, not the (cancelling) sum. */
static double loss_scale(nnc_model *m)
{
  if (m->d.kind != NNC_KIND_LAYER)
    return 0;
  double s = 0;
  for (size_t i = 0; i < m->n * m->out_count; i++)
    s += fabs(m->r[i] * nnci_load(m->y, m->li.dtype, i));
  return s;
}

/* How many coordinates pick_coords may return for a block. */
static size_t coords_cap(const nnc_gradcheck_opts *o, size_t count)
{
  size_t k = o->samples < 2 ? 2 : o->samples;
  return o->samples == 0 || k > count ? count : k;
}

/* The part's analytic gradient stays in the model's buffers until a
 * backward elsewhere (a kink's jittered re-test) would overwrite it: only
 * then is it copied, so a check without kinks pays no copy. */
int nnci_gc_keep(gc_ctx *c)
{
  nnc_model *m = c->m;
  if (c->grad_kept || (c->gsrc && c->gsrc != m))
    return NNC_OK;
  if (!c->grad) {
    c->grad = calloc(m->nblocks, sizeof *c->grad);
    if (!c->grad)
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
  }
  for (size_t b = 0; b < m->nblocks; b++) {
    free(c->grad[b]);
    c->grad[b] = malloc(m->blocks[b].count * sizeof **c->grad);
    if (!c->grad[b])
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->blocks[b].count; i++)
      c->grad[b][i] = nnc_model_grad(m, b, i);
  }
  c->grad_kept = 1;
  return NNC_OK;
}

double nnci_gc_grad(const gc_ctx *c, size_t b, size_t i)
{
  return c->grad_kept ? c->grad[b][i]
                      : nnc_model_grad(c->gsrc ? c->gsrc : c->m, b, i);
}

static void free_grads(ctx *c)
{
  for (size_t b = 0; c->grad && b < c->m->nblocks; b++)
    free(c->grad[b]);
  free(c->grad);
  c->grad = NULL;
}

/* Set up the base point of a part: its loss, fingerprint and gradient. */
static int base_point(ctx *c, uint32_t part)
{
  nnc_model *m = c->m;
  int rc;
  double L;
  if ((rc = loss_at(c, part, &L, 0)))
    return rc;
  if (part == NNC_F_ALL)
    c->r->loss = L;
  c->f0 = L;
  c->scale = loss_scale(m);
  c->have_w = c->o->winners && nnc_model_winners(m, &c->w0) == NNC_OK;
  c->r->backward_calls++;
  c->grad_kept = 0;
  return nnc_model_backward(m);
}

/* The block's verdict: the worst entry (rank, then error), and never PASS
 * when no checked entry carried a derivative above round-off. */
static void block_verdict(nnc_gc_block *gb)
{
  gb->verdict = NNC_PASS;
  gb->worst = 0;
  for (size_t k = 0; k < gb->ncoords; k++) {
    const nnc_gc_coord *w = &gb->coords[gb->worst], *q = &gb->coords[k];
    int rq = nnc_verdict_rank((int)q->verdict), rw = nnc_verdict_rank((int)w->verdict);
    if (rq > rw || (rq == rw && q->relerr > w->relerr))
      gb->worst = k;
    if (rq > nnc_verdict_rank((int)gb->verdict))
      gb->verdict = q->verdict;
  }
  if (gb->live == 0 && gb->verdict == NNC_PASS)
    gb->verdict = NNC_SKIP;
}

/* A part: the base point, then the chosen coordinates of every block
 * (serially or on threads, with one result either way), then per block its
 * projections, tied sets and verdict.  Each block's gradient norm is read
 * right after the base point, before any re-test runs a backward. */
static int check_part(ctx *c, uint32_t part, long only_block,
                      double *norms_out)
{
  nnc_model *m = c->m;
  nnc_gradcheck_result *r = c->r;
  int rc;
  if ((rc = base_point(c, part)))
    return rc;
  size_t first = r->nblocks, total = 0;
  size_t **idx = calloc(m->nblocks, sizeof *idx);
  size_t *nidx = calloc(m->nblocks, sizeof *nidx);
  gc_item *items = NULL;
  if (!idx || !nidx) {
    rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t b = 0; b < m->nblocks; b++) {
    if (only_block >= 0 && (size_t)only_block != b)
      continue;
    const nnc_block *blk = &m->blocks[b];
    nnc_gc_block *gb = &r->blocks[r->nblocks++];
    memset(gb, 0, sizeof *gb);
    gb->name = strdup(blk->name);
    gb->part = part;
    gb->dtype = blk->dtype;
    gb->depth = blk->depth;
    gb->count = blk->count;
    set_bands(gb, blk);
    gb->grad_norm = nnc_model_grad_norm(m, b);
    if (norms_out)
      norms_out[b] = gb->grad_norm;
    size_t n = 0;
    if (c->o->index >= 0) {
      if ((size_t)c->o->index >= blk->count) {
        rc = nnci_fail(m, NNC_EARG,
                       "index %ld is outside block '%s' (%zu elements)",
                       c->o->index, blk->name, blk->count);
        goto out;
      }
      if ((idx[b] = malloc(sizeof **idx)))
        idx[b][n++] = (size_t)c->o->index;
    } else if (!c->o->project) {
      if ((idx[b] = malloc(coords_cap(c->o, blk->count) * sizeof **idx)))
        n = pick_coords(c->o, blk->count, name_stream(blk->name), idx[b]);
    }
    /* room for every checked coordinate up front: checking one allocates
     * nothing */
    gb->coords = n ? calloc(n, sizeof *gb->coords) : NULL;
    int need = c->o->index >= 0 || !c->o->project;
    if ((need && !idx[b]) || (n && !gb->coords)) {
      rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
      goto out;
    }
    nidx[b] = n;
    total += n;
  }
  items = malloc((total ? total : 1) * sizeof *items);
  if (!items) {
    rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
    goto out;
  }
  size_t k = 0;
  for (size_t b = 0, g = first; b < m->nblocks; b++) {
    if (only_block >= 0 && (size_t)only_block != b)
      continue;
    nnc_gc_block *gb = &r->blocks[g++];
    for (size_t j = 0; j < nidx[b]; j++)
      items[k++] = (gc_item){b, idx[b][j], gb, &gb->coords[j]};
  }
  size_t done = 0;
  rc = nnci_gc_check_items(c, items, total, &done);
  /* as the serial loop leaves them: the entries checked, and on an error
   * the one that stopped it */
  for (size_t q = 0; q < total && q <= done; q++) {
    if (q < done)
      items[q].gb->checked++;
    if (q < done || rc != NNC_OK)
      items[q].gb->ncoords++;
  }
  if (rc != NNC_OK)
    goto out;
  for (size_t b = 0, g = first; b < m->nblocks; b++) {
    if (only_block >= 0 && (size_t)only_block != b)
      continue;
    nnc_gc_block *gb = &r->blocks[g++];
    if (c->o->project && c->o->index < 0 && (rc = nnci_gc_project(c, b, gb)))
      goto out;
    if (c->o->index < 0 && (rc = nnci_gc_ties(c, b, gb, 0)))
      goto out;
    block_verdict(gb);
  }
out:
  for (size_t b = 0; idx && b < m->nblocks; b++)
    free(idx[b]);
  free(idx);
  free(nidx);
  free(items);
  return rc;
}

static int sweep(ctx *c, uint32_t part)
{
  static const double hs[] = {1e-1, 1e-2, 1e-3, 1e-4, 1e-5,
                              1e-6, 1e-7, 1e-8, 1e-9, 1e-10};
  const size_t nh = sizeof hs / sizeof hs[0];
  nnc_model *m = c->m;
  nnc_gradcheck_result *r = c->r;
  int rc;
  if ((rc = base_point(c, part)))
    return rc;
  r->sweeps = calloc(m->nblocks, sizeof *r->sweeps);
  if (!r->sweeps)
    return nnci_fail(m, NNC_ENOMEM, "out of memory");
  for (size_t b = 0; b < m->nblocks; b++) {
    const nnc_block *blk = &m->blocks[b];
    nnc_gc_sweep *s = &r->sweeps[r->nsweeps];
    s->name = strdup(blk->name);
    s->part = part;
    s->h = malloc(nh * sizeof *s->h);
    s->relerr = malloc(nh * sizeof *s->relerr);
    if (!s->h || !s->relerr)
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
    r->nsweeps++;
    s->nh = nh;
    size_t cap = coords_cap(c->o, blk->count);
    size_t *idx = malloc(cap * sizeof *idx);
    if (!idx)
      return nnci_fail(m, NNC_ENOMEM, "out of memory");
    size_t n = pick_coords(c->o, blk->count, name_stream(blk->name), idx);
    for (size_t j = 0; j < nh; j++) {
      double worst = 0;
      for (size_t k = 0; k < n; k++) {
        gc_est e;
        if ((rc = nnci_gc_centered(c, b, idx[k], hs[j], &e))) {
          free(idx);
          return rc;
        }
        double re = nnci_relerr(nnci_gc_grad(c, b, idx[k]), e.numeric);
        if (re > worst)
          worst = re;
      }
      s->h[j] = hs[j];
      s->relerr[j] = worst;
    }
    free(idx);
  }
  return NNC_OK;
}

static void summarize(ctx *c, const double *norms_data, const double *norms_reg)
{
  int all_skip = 1;
  nnc_model *m = c->m;
  nnc_gradcheck_result *r = c->r;
  if (norms_data && norms_reg)
    for (size_t b = 0; b < m->nparam; b++) {
      double d = norms_data[b], g = norms_reg[b];
      if (g > 0 && g > c->o->reg_dominates * d)
        warn(r,
             "block %s: the regularization gradient is %.3g times the data "
             "gradient (|g_reg| = %.3g, |g_data| = %.3g); the data+reg check "
             "cannot see a data-gradient bug under it, the data-only check "
             "can",
             m->blocks[b].name, d > 0 ? g / d : INFINITY, g, d);
    }
  for (size_t k = 0; k < r->nblocks; k++) {
    const nnc_gc_block *gb = &r->blocks[k];
    if (gb->tiny)
      warn(r,
           "block %s (%s): %zu compared value(s) below 1e-10 in magnitude: "
           "scale the loss up (e.g. by 1e4) so that they can be checked",
           gb->name,
           gb->part == NNC_F_DATA ? "data" : gb->part == NNC_F_REG ? "reg" : "all",
           gb->tiny);
    /* a block without live entries does not make the whole run SKIP */
    if (gb->verdict != NNC_SKIP &&
        nnc_verdict_rank((int)gb->verdict) > nnc_verdict_rank((int)r->verdict))
      r->verdict = gb->verdict;
    all_skip &= gb->verdict == NNC_SKIP;
  }
  if (r->nblocks && all_skip)
    r->verdict = NNC_SKIP; /* nothing anywhere carried a derivative */
  for (size_t k = 0; k < r->naudits; k++)
    if (r->audits[k].verdict == NNC_FAIL)
      r->verdict = NNC_FAIL;
}

int nnc_gradcheck(nnc_model *m, const nnc_gradcheck_opts *opts,
                  nnc_gradcheck_result **res)
{
  nnc_gradcheck_opts defaults;
  if (!opts) {
    nnc_gradcheck_opts_init(&defaults);
    opts = &defaults;
  }
  nnc_gradcheck_result *r = calloc(1, sizeof *r);
  *res = r;
  if (!r)
    return NNC_ENOMEM;
  ctx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.o = opts;
  c.r = r;
  c.seed = opts->seed;
  c.train = opts->train ? NNC_F_TRAIN : 0;
  snprintf(r->plugin, sizeof r->plugin, "%s", m->d.name);
  snprintf(r->path, sizeof r->path, "%s", m->path);
  snprintf(r->spec, sizeof r->spec, "%s", m->spec);
  snprintf(r->args, sizeof r->args, "%s", m->args);
  r->kind = m->d.kind;
  r->seed = opts->seed;
  r->strict = opts->strict;
  r->has_winners = m->d.winners != NULL && opts->winners;
  r->h_double = nnci_default_h(opts, NNC_F64);
  r->h_float = nnci_default_h(opts, NNC_F32);
  int rc = NNC_OK;
  double *nd = NULL, *nr = NULL;
  long only = -1;
  if (opts->block) {
    only = nnc_model_find_block(m, opts->block);
    if (only < 0) {
      char list[512] = "";
      size_t k = 0;
      for (size_t b = 0; b < m->nblocks && k < sizeof list; b++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", b ? ", " : "",
                              m->blocks[b].name);
      rc = nnci_fail(m, NNC_EARG, "no block named '%s' in %s: its blocks are %s",
                     opts->block, m->d.name, list);
      goto done;
    }
    /* a bad index is bad input: refused before anything is computed */
    if (opts->index >= 0 && (size_t)opts->index >= m->blocks[only].count) {
      rc = nnci_fail(m, NNC_EARG,
                     "index %ld is outside block '%s': give one in [0, %zu]",
                     opts->index, m->blocks[only].name,
                     m->blocks[only].count - 1);
      goto done;
    }
  }
  if ((rc = nnc_model_select(m, opts->examples ? opts->examples : 3,
                             opts->seed)))
    goto done;
  r->examples = nnc_model_examples(m);
  for (size_t b = 0; b < m->nblocks; b++)
    if (m->blocks[b].dtype == NNC_F32)
      r->any_float = 1;
  if (opts->audits) {
    int stop = 0;
    nnci_phase(m, "auditing the contract");
    if ((rc = nnci_audit(m, r, opts->seed, c.train, &stop)))
      goto done;
    if (stop) {
      const nnc_audit *a = &r->audits[r->naudits - 1];
      rc = nnci_fail(m, NNC_ECONTRACT, "%s: contract audit '%s' failed: %s",
                     m->d.name, a->name, a->detail);
      goto done;
    }
  }
  nnci_phase(m, "burning in");
  if ((rc = burn_in(&c)))
    goto done;
  nnci_phase(m, "checking gradients");

  /* Which parts: a net with a regularization term is checked on the data
   * loss alone, the regularization alone and both. */
  if (m->d.kind == NNC_KIND_NET && opts->parts && opts->part != NNC_F_ALL) {
    double Lreg;
    if ((rc = loss_at(&c, NNC_F_REG, &Lreg, 0)))
      goto done;
    if (Lreg != 0 || opts->part == NNC_F_REG) {
      if (!opts->part || opts->part == NNC_F_DATA)
        r->parts[r->nparts++] = NNC_F_DATA;
      if (!opts->part || opts->part == NNC_F_REG)
        r->parts[r->nparts++] = NNC_F_REG;
      if (!opts->part)
        r->parts[r->nparts++] = NNC_F_ALL;
    } else {
      r->parts[r->nparts++] = opts->part ? opts->part : NNC_F_ALL;
      warn(r, "the regularization loss is 0 at this point: no separate "
              "regularization check (the plugin has none, or its strength "
              "is 0)");
    }
  } else {
    r->parts[r->nparts++] = opts->part ? opts->part : NNC_F_ALL;
  }
  /* The loss at the checked point, said in the report: the combined part
   * computes it anyway when it is checked. */
  int all_checked = 0;
  for (size_t p = 0; p < r->nparts; p++)
    all_checked |= r->parts[p] == NNC_F_ALL;
  if (!all_checked && (rc = loss_at(&c, NNC_F_ALL, &r->loss, 0)))
    goto done;
  size_t per_part = only >= 0 ? 1 : m->nblocks;
  r->blocks = calloc(r->nparts * per_part, sizeof *r->blocks);
  nd = calloc(m->nblocks, sizeof *nd);
  nr = calloc(m->nblocks, sizeof *nr);
  if (!r->blocks || !nd || !nr) {
    rc = nnci_fail(m, NNC_ENOMEM, "out of memory");
    goto done;
  }
  int have_d = 0, have_r = 0;
  for (size_t p = 0; p < r->nparts; p++) {
    uint32_t part = r->parts[p];
    double *norms = part == NNC_F_DATA ? nd : part == NNC_F_REG ? nr : NULL;
    if ((rc = check_part(&c, part, only, norms)))
      goto done;
    have_d |= part == NNC_F_DATA;
    have_r |= part == NNC_F_REG;
  }
  if (opts->sweep_h)
    nnci_phase(m, "sweeping the step size");
  if (opts->sweep_h && (rc = sweep(&c, r->parts[0])))
    goto done;
  if (!r->has_winners)
    warn(r, "%s: kinks are inferred from one-sided differences that "
            "disagree beyond their error bars, which costs more evaluations "
            "and misses kinks the step straddles cleanly; implement winners() "
            "for exact kink detection",
         opts->winners ? "the plugin gives no winner fingerprint"
                       : "winner fingerprints ignored (--no-winners)");
  nnci_phase(m, "auditing the contract");
  if (opts->audits && only < 0)
    nnci_audit_inert(m, r, opts->strict);
  nnci_phase(m, "reporting");
  summarize(&c, have_d && only < 0 ? nd : NULL, have_r && only < 0 ? nr : NULL);
done:
  nnci_gc_pool_close(&c);
  free_grads(&c);
  free(c.scratch);
  free(nd);
  free(nr);
  r->error = rc;
  if (rc != NNC_OK)
    snprintf(r->error_msg, sizeof r->error_msg, "%s", m->err);
  return rc;
}

void nnc_gradcheck_free(nnc_gradcheck_result *r)
{
  if (!r)
    return;
  for (size_t k = 0; k < r->nblocks; k++) {
    free((char *)r->blocks[k].name);
    free(r->blocks[k].coords);
  }
  free(r->blocks);
  for (size_t k = 0; k < r->nsweeps; k++) {
    free((char *)r->sweeps[k].name);
    free(r->sweeps[k].h);
    free(r->sweeps[k].relerr);
  }
  free(r->sweeps);
  for (size_t k = 0; k < r->nwarnings; k++)
    free(r->warnings[k]);
  free(r->warnings);
  free(r);
}

int nnc_gradcheck_exit_status(const nnc_gradcheck_result *r)
{
  if (!r)
    return NNC_EXIT_USAGE;
  if (r->error != NNC_OK)
    return nnc_err_exit_status(r->error);
  if (r->verdict == NNC_FAIL ||
      (r->strict &&
       (r->verdict == NNC_INCONCLUSIVE || r->verdict == NNC_SKIP)))
    return NNC_EXIT_PROBLEM;
  return NNC_EXIT_OK;
}
