/* landscape: pictures of a net's (or a layer's) loss surface around its
 * parameters: 1D and 2D slices, the line between two parameter sets, a
 * training run's trajectory.  Parse the options, read the checkpoints,
 * make the library calls, print the report, write the plots. */
#include "config.h"
#include "cli.h"
#include <nncheck/checkpoint.h>
#include <nncheck/landscape.h>
#include <nncheck/nncheck.h>
#include <nncheck/train.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
  fputs(
      "Usage: landscape [OPTIONS] PLUGIN [CHECKPOINT...]\n"
      "Pictures of the loss surface of a net (or of a layer's L = sum(r .* "
      "y))\naround its parameters: 1D slices along random directions and "
      "along the\nnegative gradient, a 2D slice on the plane of two random "
      "directions, the\nline between two parameter sets, and a training "
      "run's trajectory on the\nplane of its main directions of change.  "
      "PLUGIN is a path to a plugin .so\nor the name of a bundled plugin or "
      "fixture (see --list).\n"
      "\n"
      "Where (default in brackets):\n"
      "  --args STRING       argument string for the plugin's create() [\"\"]\n"
      "  --seed N            fixes every random choice: examples, directions,\n"
      "                      dropout masks, line samples, training [1]\n"
      "  --examples N        training examples (net) or inputs (layer) the\n"
      "                      slices and planes are evaluated on [256]\n"
      "  --part P            loss part: data, reg or all [all]\n"
      "  --eval              inference mode [training mode, dropout masks\n"
      "                      fixed by --seed across the whole picture]\n"
      "  --at CKPT           the current point: parameters from a checkpoint\n"
      "                      [the plugin's own; with --trajectory, its last]\n"
      "  --train EPOCHS      train from the current point with nnc_train\n"
      "                      (plain SGD unless --rule), snapshotting the\n"
      "                      parameters after every epoch; the trained point\n"
      "                      becomes the current point and the snapshots the\n"
      "                      trajectory [no training]\n"
      "  --rule NAME         with --train: sgd, momentum, nesterov, adagrad,\n"
      "                      rmsprop, adam [sgd]\n"
      "  --lr LR             with --train: learning rate [the rule's default]\n"
      "  --batch N           with --train: mini-batch size [32]\n"
      "  --save-checkpoints DIR  with --train: write each snapshot as\n"
      "                      DIR/epoch-NNNN.ckpt (epoch 0: the start) [no]\n"
      "  --save CKPT         write the current point as a checkpoint [no]\n"
      "\n"
      "Slices:\n"
      "  --norm MODE         direction normalisation: filter (each row of a\n"
      "                      shaped block, each other block, scaled to the\n"
      "                      weights' norm there), block, global or plain\n"
      "                      (unnormalised) [filter]\n"
      "  --blocks LIST       comma-separated blocks the directions move [all]\n"
      "  --alpha A           slices span a in [-A, A] [1]\n"
      "  --points N          points of a 1D slice, odd [51]\n"
      "  --directions K      random 1D directions [3]\n"
      "  --no-gradient       no slice along -gradient [one]\n"
      "  --grid N            points per axis of the 2D slice and of the\n"
      "                      trajectory plane, odd; 0: no 2D slice [31]\n"
      "  --no-slices         no 1D or 2D slices (only line or trajectory)\n"
      "                      [slices on]\n"
      "\n"
      "Line L((1-t) A + t B), t in [-0.5, 1.5], on the training and\n"
      "validation splits:\n"
      "  --from CKPT         A [the current point]\n"
      "  --from-init         A is the plugin's initial parameters [off]\n"
      "  --to CKPT           B [the current point]\n"
      "  --line-points N     points, rounded up to 4k+1 [41]\n"
      "  --line-examples N   examples per split, a seeded sample; 0: all "
      "[1000]\n"
      "  --fail-on-barrier H exit 1 when the loss rises more than H above the\n"
      "                      straight interpolation of the ends [off]\n"
      "\n"
      "Trajectory:\n"
      "  --trajectory CKPT   a checkpoint of the run, in order; repeat it, or\n"
      "                      list further CHECKPOINT arguments after PLUGIN\n"
      "                      [no trajectory]\n"
      "  --plane P           ends (the first and last checkpoints lie in the\n"
      "                      plane) or pca (the two main directions) [ends]\n"
      "\n"
      "Output:\n"
      "  --jobs N            threads (through the plugin's clone()); the\n"
      "                      numbers do not depend on it [online cores]\n"
      "  --json              print the report as JSON (schema\n"
      "                      nncheck-landscape/1) [the text report]\n"
      "  --plots DIR         write the pictures (.dat, .gp, .png, .svg) into\n"
      "                      DIR: landscape_1d, landscape_2d_contour,\n"
      "                      landscape_2d_heatmap, landscape_line,\n"
      "                      landscape_line_acc, landscape_trajectory [no\n"
      "                      plots]\n"
      "  --list              list the bundled plugins and fixtures: name,\n"
      "                      kind, description, tab-separated, and exit\n",
      f);
  fputs(CLI_ISOLATE_HELP, f);
  cli_usage_output(f);
  fputs(
      "\n"
      "Exit status:\n"
      "  0  the pictures were made (without gnuplot: their data and scripts,\n"
      "     with a warning saying how to render them)\n"
      "  1  --fail-on-barrier: the line has a barrier above H; or --train\n"
      "     diverged (NaN/Inf loss)\n"
      "  2  usage or bad input: arguments, plugin file, ABI mismatch, a\n"
      "     missing, corrupt or mismatched checkpoint\n"
      "  3  the plugin misbehaved: an error, NaN/Inf at the current point, a\n"
      "     broken contract\n"
      "\n",
      f);
  cli_usage_env(f);
}


/* ---- progress on a terminal ------------------------------------------------ */

typedef struct progress {
  double last;
  const char *stage;
  int tty;       /* stderr is a terminal: a bar; else a line per stage */
} progress;

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void on_progress(void *user, const char *stage, size_t done,
                        size_t total)
{
  progress *p = user;
  double t = now();
  if (!p->tty) { /* --verbose on a pipe: one line per finished stage */
    if (done == total)
      fprintf(stderr, "landscape: %s %zu/%zu done\n", stage, done, total);
    return;
  }
  if (done < total && p->stage == stage && t - p->last < 0.1)
    return;
  p->last = t;
  p->stage = stage;
  fprintf(stderr, "\rlandscape: %s %zu/%zu%s", stage, done, total,
          done == total ? "\n" : "   ");
  fflush(stderr);
}

/* ---- training with snapshots ------------------------------------------------- */

typedef struct snaps {
  nnc_checkpoint **c;
  size_t n, cap;
  uint64_t seed;
  int failed;
  char err[1024];
} snaps;

static int snap_push(snaps *s, nnc_checkpoint *c);

static int snap_add(snaps *s, nnc_model *m, double epoch, double tl,
                    double vl, double va)
{
  nnc_ckpt_meta meta;
  nnc_ckpt_meta_init(&meta);
  meta.has_seed = 1;
  meta.seed = s->seed;
  meta.epoch = epoch;
  meta.train_loss = tl;
  meta.val_loss = vl;
  meta.val_acc = va;
  nnc_checkpoint *c;
  int rc = nnc_checkpoint_capture(m, &meta, &c, s->err, sizeof s->err);
  if (rc == NNC_OK && (rc = snap_push(s, c)) != NNC_OK) {
    nnc_checkpoint_free(c);
    snprintf(s->err, sizeof s->err, "out of memory");
  }
  return rc;
}

static int on_epoch(void *user, nnc_model *m, const nnc_epoch_info *e)
{
  snaps *s = user;
  if (snap_add(s, m, (double)e->epoch, e->train_loss, e->val_loss,
               e->val_acc) != NNC_OK) {
    s->failed = 1;
    return 1;
  }
  return 0;
}

/* ---- options ---------------------------------------------------------------- */

enum {
  OPT_ARGS = 256, OPT_SEED, OPT_EXAMPLES, OPT_PART, OPT_EVAL, OPT_AT,
  OPT_TRAIN, OPT_RULE, OPT_LR, OPT_BATCH, OPT_SAVECK, OPT_SAVE, OPT_NORM,
  OPT_BLOCKS, OPT_ALPHA, OPT_POINTS, OPT_DIRS, OPT_NOGRAD, OPT_GRID,
  OPT_NOSLICES, OPT_FROM, OPT_FROMINIT, OPT_TO, OPT_LPOINTS, OPT_LEXAMPLES,
  OPT_BARRIER, OPT_TRAJ, OPT_PLANE, OPT_JOBS, OPT_JSON, OPT_PLOTS, OPT_LIST
};

typedef struct tool {
  const char *args, *at, *from, *to, *plots, *save, *save_dir, *rule;
  const char **traj;
  size_t ntraj;
  int from_init, json, list, no_slices;
  double epochs, lr, fail_barrier;
  size_t batch, examples;
} tool;

/* Everything main() owns, released in one place on every path. */
typedef struct held {
  nnc_model *m;
  nnc_checkpoint *at, *from, *to, *init;
  snaps s;
  nnc_landscape *ls;
  nnc_train_log *log;
} held;

static void release(held *h)
{
  nnc_landscape_free(h->ls);
  nnc_train_log_free(h->log);
  for (size_t i = 0; i < h->s.n; i++)
    nnc_checkpoint_free(h->s.c[i]);
  free(h->s.c);
  nnc_checkpoint_free(h->at);
  nnc_checkpoint_free(h->from);
  nnc_checkpoint_free(h->to);
  nnc_checkpoint_free(h->init);
  nnc_model_close(h->m);
}

/* Read a checkpoint and check it against the model: NULL and *status set
 * (with the message printed) on failure. */
static nnc_checkpoint *read_ckpt(const char *opt, const char *path,
                                 const nnc_model *m, int *status)
{
  char err[2048];
  nnc_checkpoint *c;
  int rc = nnc_checkpoint_read(path, &c, err, sizeof err);
  if (rc == NNC_OK && (rc = nnc_checkpoint_check(c, m, err, sizeof err)))
    nnc_checkpoint_free(c);
  if (rc != NNC_OK) {
    cli_error("%s: %s", opt, err);
    *status = nnc_err_exit_status(rc);
    return NULL;
  }
  return c;
}

static int snap_push(snaps *s, nnc_checkpoint *c)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    nnc_checkpoint **v = realloc(s->c, cap * sizeof *v);
    if (!v)
      return NNC_ENOMEM;
    s->c = v;
    s->cap = cap;
  }
  s->c[s->n++] = c;
  return NNC_OK;
}

int main(int argc, char **argv)
{
  cli_tool = "landscape";
  static const struct option longopts[] = {
      {"args", required_argument, 0, OPT_ARGS},
      {"seed", required_argument, 0, OPT_SEED},
      {"examples", required_argument, 0, OPT_EXAMPLES},
      {"part", required_argument, 0, OPT_PART},
      {"eval", no_argument, 0, OPT_EVAL},
      {"at", required_argument, 0, OPT_AT},
      {"train", required_argument, 0, OPT_TRAIN},
      {"rule", required_argument, 0, OPT_RULE},
      {"lr", required_argument, 0, OPT_LR},
      {"batch", required_argument, 0, OPT_BATCH},
      {"save-checkpoints", required_argument, 0, OPT_SAVECK},
      {"save", required_argument, 0, OPT_SAVE},
      {"norm", required_argument, 0, OPT_NORM},
      {"blocks", required_argument, 0, OPT_BLOCKS},
      {"alpha", required_argument, 0, OPT_ALPHA},
      {"points", required_argument, 0, OPT_POINTS},
      {"directions", required_argument, 0, OPT_DIRS},
      {"no-gradient", no_argument, 0, OPT_NOGRAD},
      {"grid", required_argument, 0, OPT_GRID},
      {"no-slices", no_argument, 0, OPT_NOSLICES},
      {"from", required_argument, 0, OPT_FROM},
      {"from-init", no_argument, 0, OPT_FROMINIT},
      {"to", required_argument, 0, OPT_TO},
      {"line-points", required_argument, 0, OPT_LPOINTS},
      {"line-examples", required_argument, 0, OPT_LEXAMPLES},
      {"fail-on-barrier", required_argument, 0, OPT_BARRIER},
      {"trajectory", required_argument, 0, OPT_TRAJ},
      {"plane", required_argument, 0, OPT_PLANE},
      {"jobs", required_argument, 0, OPT_JOBS},
      {"json", no_argument, 0, OPT_JSON},
      {"plots", required_argument, 0, OPT_PLOTS},
      {"list", no_argument, 0, OPT_LIST},
      CLI_ISOLATE_LONGOPTS,
      {"help", no_argument, 0, 'h'},
      CLI_OUTPUT_LONGOPTS,
      {0, 0, 0, 0}};
  nnc_landscape_opts o;
  nnc_landscape_opts_init(&o);
  tool t;
  memset(&t, 0, sizeof t);
  t.args = "";
  t.examples = 256;
  t.fail_barrier = NAN;
  t.lr = NAN;
  t.batch = 32;
  t.traj = calloc((size_t)argc + 1, sizeof *t.traj);
  if (!t.traj) {
    cli_error("out of memory");
    return NNC_EXIT_USAGE;
  }
  int c, unknown = 0;
  opterr = 0;
  while (!unknown &&
         (c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
    switch (c) {
    case OPT_ARGS: t.args = optarg; break;
    case OPT_SEED: o.seed = cli_u64("--seed", optarg, 0, UINT64_MAX); break;
    case OPT_EXAMPLES:
      t.examples = cli_u64("--examples", optarg, 1, 100000000);
      break;
    case OPT_PART:
      if (!strcmp(optarg, "data"))
        o.part = NNC_F_DATA;
      else if (!strcmp(optarg, "reg"))
        o.part = NNC_F_REG;
      else if (!strcmp(optarg, "all"))
        o.part = NNC_F_ALL;
      else {
        cli_error("--part: '%s' is not one of data, reg, all", optarg);
        goto usage;
      }
      break;
    case OPT_EVAL: o.train = 0; break;
    case OPT_AT: t.at = optarg; break;
    case OPT_TRAIN: t.epochs = cli_double("--train", optarg, 1, 1e6); break;
    case OPT_RULE:
      if (nnc_rule_parse(optarg) < 0) {
        cli_error("--rule: '%s' is not one of sgd, momentum, nesterov, "
                  "adagrad, rmsprop, adam",
                  optarg);
        goto usage;
      }
      t.rule = optarg;
      break;
    case OPT_LR: t.lr = cli_double("--lr", optarg, 1e-12, 1e6); break;
    case OPT_BATCH: t.batch = cli_u64("--batch", optarg, 1, 100000000); break;
    case OPT_SAVECK: t.save_dir = optarg; break;
    case OPT_SAVE: t.save = optarg; break;
    case OPT_NORM:
      if ((o.norm = nnc_ls_norm_parse(optarg)) < 0) {
        cli_error("--norm: '%s' is not one of filter, block, global, plain",
                  optarg);
        goto usage;
      }
      break;
    case OPT_BLOCKS: o.blocks = optarg; break;
    case OPT_ALPHA: o.alpha = cli_double("--alpha", optarg, 1e-12, 1e12); break;
    case OPT_POINTS:
      o.points = cli_u64("--points", optarg, 3, 100001);
      if (o.points % 2 == 0) {
        cli_error("--points: %zu is even: give an odd number, so that the "
                  "current point is one of them",
                  o.points);
        goto usage;
      }
      break;
    case OPT_DIRS: o.directions = cli_u64("--directions", optarg, 0, 64); break;
    case OPT_NOGRAD: o.gradient = 0; break;
    case OPT_GRID:
      o.grid = cli_u64("--grid", optarg, 0, 4001);
      if (o.grid && (o.grid < 3 || o.grid % 2 == 0)) {
        cli_error("--grid: %zu: give 0 or an odd number >= 3, so that the "
                  "current point is on the grid",
                  o.grid);
        goto usage;
      }
      break;
    case OPT_NOSLICES: t.no_slices = 1; break;
    case OPT_FROM: t.from = optarg; break;
    case OPT_FROMINIT: t.from_init = 1; break;
    case OPT_TO: t.to = optarg; break;
    case OPT_LPOINTS:
      o.line_points = cli_u64("--line-points", optarg, 5, 100001);
      break;
    case OPT_LEXAMPLES:
      o.line_examples = cli_u64("--line-examples", optarg, 0, 100000000);
      break;
    case OPT_BARRIER:
      t.fail_barrier = cli_double("--fail-on-barrier", optarg, 0, 1e300);
      break;
    case OPT_TRAJ: t.traj[t.ntraj++] = optarg; break;
    case OPT_PLANE:
      if (!strcmp(optarg, "ends"))
        o.plane = NNC_LS_PLANE_ENDS;
      else if (!strcmp(optarg, "pca"))
        o.plane = NNC_LS_PLANE_PCA;
      else {
        cli_error("--plane: '%s' is not one of ends, pca", optarg);
        goto usage;
      }
      break;
    case OPT_JOBS: o.jobs = cli_u64("--jobs", optarg, 1, 256); break;
    case OPT_JSON: t.json = 1; break;
    case OPT_PLOTS: t.plots = optarg; break;
    case OPT_LIST: t.list = 1; break;
    case 'h': usage(stdout); free(t.traj); return 0;
    default:
      unknown = !cli_isolate_option(c, optarg) &&
                !cli_output_option(c, optarg);
    }
  }
  /* the arguments after PLUGIN are trajectory checkpoints: checked here */
  int stop = cli_args_done(argc, argv,
                           &(cli_args){.unknown = unknown, .list = t.list});
  if (stop >= 0) {
    free(t.traj);
    return stop;
  }
  if (optind >= argc) {
    cli_error("no PLUGIN given: see landscape --help or landscape --list");
    goto usage;
  }
  const char *plugin = argv[optind++];
  if (optind < argc && !t.ntraj) {
    cli_error("'%s': extra arguments after PLUGIN are trajectory "
              "checkpoints and need --trajectory",
              argv[optind]);
    goto usage;
  }
  while (optind < argc)
    t.traj[t.ntraj++] = argv[optind++];
  if (t.from && t.from_init) {
    cli_error("--from and --from-init both give the line's start: choose "
              "one");
    goto usage;
  }
  if (t.ntraj && t.epochs > 0) {
    cli_error("--trajectory and --train both give the trajectory: choose "
              "one");
    goto usage;
  }
  if (t.ntraj == 1) {
    cli_error("--trajectory: one checkpoint is not a trajectory: give at "
              "least two");
    goto usage;
  }
  if (!(t.epochs > 0) && (t.rule || !isnan(t.lr) || t.save_dir)) {
    cli_error("--rule, --lr and --save-checkpoints go with --train EPOCHS");
    goto usage;
  }
  if (!isnan(t.fail_barrier) && !t.from && !t.from_init && !t.to) {
    cli_error("--fail-on-barrier needs a line: give --from, --from-init or "
              "--to");
    goto usage;
  }
  if (t.plots)
    cli_mkdirs("--plots", t.plots);
  if (t.save_dir)
    cli_mkdirs("--save-checkpoints", t.save_dir);

  int iso_status;
  if (cli_isolate(&iso_status)) {
    free(t.traj);
    return iso_status;
  }
  char err[2048];
  held h;
  memset(&h, 0, sizeof h);
  h.s.seed = o.seed;
  int status = NNC_EXIT_OK;
  int rc = nnc_model_load(plugin, t.args, &h.m, err, sizeof err);
  if (rc != NNC_OK) {
    cli_error("%s", err);
    status = nnc_err_exit_status(rc);
    goto out;
  }
  nnc_model *m = h.m;
  cli_verbose("loaded %s from %s (%s, %zu parameter blocks, args \"%s\")",
              plugin, nnc_model_path(m),
              nnc_model_kind(m) == NNC_KIND_NET ? "net" : "layer",
              nnc_model_num_blocks(m), t.args);
  double t0 = cli_now();
  if ((rc = nnc_model_select(m, t.examples, o.seed)) != NNC_OK) {
    cli_error("%s", nnc_model_error(m));
    status = nnc_err_exit_status(rc);
    goto out;
  }
  /* Every checkpoint is read and checked before anything is computed. */
  if ((t.at && !(h.at = read_ckpt("--at", t.at, m, &status))) ||
      (t.from && !(h.from = read_ckpt("--from", t.from, m, &status))) ||
      (t.to && !(h.to = read_ckpt("--to", t.to, m, &status))))
    goto out;
  for (size_t i = 0; i < t.ntraj; i++) {
    nnc_checkpoint *ck = read_ckpt("--trajectory", t.traj[i], m, &status);
    if (!ck)
      goto out;
    if (snap_push(&h.s, ck) != NNC_OK) {
      nnc_checkpoint_free(ck);
      cli_error("out of memory");
      status = NNC_EXIT_USAGE;
      goto out;
    }
  }
  if (t.from_init &&
      (rc = nnc_checkpoint_capture(m, NULL, &h.init, err, sizeof err))) {
    cli_error("%s", err);
    status = nnc_err_exit_status(rc);
    goto out;
  }
  const nnc_checkpoint *current =
      h.at ? h.at : t.ntraj ? h.s.c[t.ntraj - 1] : NULL;
  if (current && (rc = nnc_checkpoint_apply(current, m, err, sizeof err))) {
    cli_error("%s", err);
    status = nnc_err_exit_status(rc);
    goto out;
  }
  if (t.from_init && !t.to && !t.at && !t.ntraj && !(t.epochs > 0)) {
    cli_error("--from-init: the current point is the plugin's init, so the "
              "line would be one point: give --to CKPT, --at CKPT or "
              "--train EPOCHS");
    status = NNC_EXIT_USAGE;
    goto out;
  }
  progress prog = {0, NULL, isatty(2)};
  if ((prog.tty && !cli_out.quiet) || cli_out.verbose) {
    o.progress = on_progress;
    o.user = &prog;
  }
  if (t.epochs > 0) {
    nnc_train_opts tr;
    nnc_train_opts_init(&tr);
    if (t.rule) /* the schedule stays constant at optim's lr and mu */
      nnc_optim_opts_init(&tr.optim, nnc_rule_parse(t.rule));
    if (!isnan(t.lr))
      tr.optim.lr = t.lr;
    tr.epochs = t.epochs;
    tr.batch = t.batch;
    tr.seed = o.seed;
    tr.flags = o.part | NNC_F_TRAIN;
    tr.on_epoch = on_epoch;
    tr.user = &h.s;
    if (snap_add(&h.s, m, 0, NAN, NAN, NAN) != NNC_OK) {
      cli_error("%s", h.s.err);
      status = NNC_EXIT_USAGE;
      goto out;
    }
    if ((isatty(2) && !cli_out.quiet) || cli_out.verbose)
      fprintf(stderr, "landscape: training %g epochs\n", t.epochs);
    rc = nnc_train(m, &tr, &h.log);
    if (rc != NNC_OK || h.s.failed) {
      cli_error("--train: %s", h.s.failed ? h.s.err : nnc_model_error(m));
      status = rc != NNC_OK ? nnc_err_exit_status(rc) : NNC_EXIT_USAGE;
      goto out;
    }
    if (h.log && h.log->diverged) {
      cli_error("--train: the loss went NaN/Inf at step %zu%s%s: lower --lr",
                h.log->nan_step, h.log->nan_block[0] ? " in block " : "",
                h.log->nan_block);
      status = NNC_EXIT_PROBLEM;
      goto out;
    }
    for (size_t i = 0; t.save_dir && i < h.s.n; i++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/epoch-%04zu.ckpt", t.save_dir, i);
      if ((rc = nnc_checkpoint_save(h.s.c[i], path, err, sizeof err))) {
        cli_error("--save-checkpoints: %s", err);
        status = nnc_err_exit_status(rc);
        goto out;
      }
    }
  }
  if (t.save) {
    nnc_ckpt_meta meta;
    nnc_ckpt_meta_init(&meta);
    meta.has_seed = 1;
    meta.seed = o.seed;
    if (t.epochs > 0)
      meta.epoch = t.epochs;
    if ((rc = nnc_checkpoint_write(m, t.save, &meta, err, sizeof err))) {
      cli_error("--save: %s", err);
      status = nnc_err_exit_status(rc);
      goto out;
    }
  }

  rc = nnc_landscape_new(m, &o, &h.ls, err, sizeof err);
  if (rc != NNC_OK) {
    cli_error("%s", err);
    status = nnc_err_exit_status(rc);
    goto out;
  }
  nnc_landscape *ls = h.ls;
  if (!t.no_slices)
    rc = nnc_landscape_slices(ls);
  if (rc == NNC_OK && (t.from || t.from_init || t.to))
    rc = nnc_landscape_line(ls, h.from ? h.from : h.init,
                            t.from_init ? "init" : NULL, h.to, NULL);
  if (rc == NNC_OK && h.s.n >= 2)
    rc = nnc_landscape_trajectory(ls, (const nnc_checkpoint *const *)h.s.c,
                                  NULL, h.s.n);
  cli_verbose("computed in %.3g s", cli_now() - t0);
  if (rc != NNC_OK)
    status = nnc_err_exit_status(rc);
  const nnc_landscape_result *r = nnc_landscape_get(ls);
  char barrier[512] = "";
  if (status == NNC_EXIT_OK && !isnan(t.fail_barrier) && r->has_line)
    for (int k = 0; k < r->line.nsplits; k++)
      if (r->line.barrier[k] > t.fail_barrier) {
        snprintf(barrier, sizeof barrier,
                 "--fail-on-barrier: on the %s split the loss rises %.4g "
                 "above the straight interpolation (limit %g)",
                 k ? "validation" : "training", r->line.barrier[k],
                 t.fail_barrier);
        status = NNC_EXIT_PROBLEM;
        break;
      }
  if (t.json)
    nnc_landscape_report_json(ls, stdout);
  else {
    /* the text report ends, like every tool's, in one verdict line */
    FILE *f = cli_report_begin();
    nnc_landscape_report_text(ls, f);
    if (rc != NNC_OK)
      fprintf(f, "\nverdict: ERROR (%s) -- exit %d\n", nnc_err_name(rc),
              status);
    else if (barrier[0])
      fprintf(f, "\nverdict: FAIL (a barrier on the line above %g) -- exit "
                 "%d\n",
              t.fail_barrier, status);
    else
      fprintf(f, "\nverdict: OK (the pictures were computed%s) -- exit %d\n",
              !isnan(t.fail_barrier) ? "; no barrier on the line above the "
                                       "limit"
                                     : "",
              status);
    cli_report_end(f);
  }
  fflush(stdout);
  if (rc != NNC_OK)
    cli_error("%s", nnc_landscape_error(ls));
  if (barrier[0])
    cli_error("%s", barrier);
  if (t.plots) {
    int prc = nnc_landscape_plots(ls, t.plots, err, sizeof err);
    if (prc == NNC_LANDSCAPE_UNRENDERED) {
      cli_warn("--plots: %s", err); /* a warning: data and scripts exist */
    } else if (prc != NNC_OK) {
      cli_error("--plots: %s", err);
      if (status == NNC_EXIT_OK)
        status = nnc_err_exit_status(prc);
    }
  }
out:
  release(&h);
  free(t.traj);
  return status;
usage:
  free(t.traj);
  return NNC_EXIT_USAGE;
}
