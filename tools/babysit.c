/* babysit: train a net and watch it the way the notes say, then say what
 * looks wrong.  Parse the options, make one library call, print the report
 * (and the plots, the page, the checkpoints), exit with the documented
 * status. */
#include "config.h"
#include "cli.h"
#include <nncheck/babysit.h>
#include <nncheck/checkpoint.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
  fputs(
      "Usage: babysit [OPTIONS] PLUGIN\n"
      "Train a net with a chosen update rule and schedule and watch it, with\n"
      "epochs as the x axis: the loss of every batch and its trend (linear\n"
      "and log), training and validation accuracy and their gap, every\n"
      "parameter block's update:weight ratio (about 1e-3 is healthy), per\n"
      "layer histograms of activations and gradients in fixed buckets with\n"
      "the fractions of dead ReLUs, saturated tanh units (|a| > 0.97) and\n"
      "near-zero values, first-layer filters as images when the input is an\n"
      "image, and a running average of the parameters evaluated beside the\n"
      "raw ones.  Then it says in plain words, with the numbers, whether the\n"
      "learning rate is too low or too high, the batch too small, the net\n"
      "overfitting or too small, a layer dead or saturated (and the suspected\n"
      "init), or where a NaN appeared.  PLUGIN is a path to a plugin .so or\n"
      "the name of a bundled plugin or fixture.\n"
      "\n"
      "Diagnoses (thresholds in include/nncheck/babysit.h):\n"
      "  lr_low       median late update:weight ratio < 1e-4 and the loss\n"
      "               still falling linearly\n"
      "  lr_high      ratio > 1e-2 and the loss stuck high or growing\n"
      "  batch_small  batch losses scatter around their trend by more than\n"
      "               half the loss level\n"
      "  overfit      train - val accuracy > 0.05 and > 3 standard errors\n"
      "  capacity     no gap, training accuracy below half the way from\n"
      "               chance to 1, and levelled off\n"
      "  dead         more than half a ReLU layer's units zero for every\n"
      "               example of the last epoch\n"
      "  saturated    more than half a tanh layer's units at |a| > 0.97\n"
      "  nan          a loss or gradient turned NaN/Inf: step and block\n"
      "\n"
      "Options (default in brackets):\n"
      "  --args STRING     argument string for the plugin's create() [\"\"]\n"
      "  --seed N          batches, dropout masks [1]\n"
      "  --optim RULE      sgd, momentum, nesterov, adagrad, rmsprop, adam\n"
      "                    [sgd]\n"
      "  --lr LR           learning rate [1e-2; 1e-3 for adam]\n"
      "  --momentum MU     momentum (momentum, nesterov) [0.9]\n"
      "  --sched KIND      const, step, exp, inv_t, plateau [const]\n"
      "  --decay-factor F  step, plateau: multiply lr by F [0.5]\n"
      "  --decay-every E   step: every E epochs [5]\n"
      "  --decay-k K       exp, inv_t: decay rate [0.1]\n"
      "  --epochs N        epochs to train (with --resume: the epoch to\n"
      "                    reach) [10]\n"
      "  --batch N         examples per step [32]\n"
      "  --ema DECAY       running average of the parameters, per step, in\n"
      "                    [0, 1) [0.99]\n"
      "  --checkpoints DIR after every epoch DIR/epochEEEE-valA.AAAA.nnckpt\n"
      "                    (parameters, optimizer state, running average)\n"
      "                    and DIR/babysit_stats.json (the report so far),\n"
      "                    each written atomically [no checkpoints]\n"
      "  --resume CKPT     continue a run from one of its checkpoints, bit\n"
      "                    for bit (its rule, lr, schedule, batch, seed and\n"
      "                    decay are the checkpoint's) [a fresh run]\n"
      "  --plots DIR       write every plot (.dat, .gp, .png, .svg) into DIR\n"
      "                    [no plots]\n"
      "  --report DIR      write DIR/index.html: one self-contained page with\n"
      "                    the diagnoses and every plot (readable offline),\n"
      "                    and the plots beside it [no page]\n"
      "  --dumb            draw the plots as text after the report [off]\n"
      "  --json            print the report as JSON (schema\n"
      "                    nncheck-babysit/1) [the text report]\n"
      "  --list            list the bundled plugins and fixtures: name, kind,\n"
      "                    description, tab-separated, and exit\n",
      f);
  fputs(CLI_ISOLATE_HELP, f);
  fputs("                    (the checkpoints, babysit_stats.json, plots and\n"
        "                    page are written by the child as it goes)\n",
        f);
  cli_usage_output(f);
  fputs(
      "\n"
      "Exit status:\n"
      "  0  trained; no problem diagnosed\n"
      "  1  a diagnosis found a problem (a NaN during training included)\n"
      "  2  usage or bad input: arguments, plugin file, ABI mismatch, a\n"
      "     checkpoint that is not this net's; and a layer plugin\n"
      "  3  the plugin misbehaved: a callback failed or broke the contract,\n"
      "     crashed or hung (see --timeout)\n"
      "\n",
      f);
  cli_usage_env(f);
}

enum {
  OPT_ARGS = 256, OPT_SEED, OPT_OPTIM, OPT_LR, OPT_MU, OPT_SCHED, OPT_FACTOR,
  OPT_EVERY, OPT_K, OPT_EPOCHS, OPT_BATCH, OPT_EMA, OPT_CKPT, OPT_RESUME,
  OPT_PLOTS, OPT_REPORT, OPT_DUMB, OPT_JSON, OPT_LIST
};

/* Progress on stderr: a bar redrawn in place on a terminal, one line per
 * epoch otherwise. */
typedef struct prog {
  int tty;
  int last; /* last drawn per mille */
} prog;

static int on_progress(void *user, const nnc_bs_progress *p)
{
  prog *g = user;
  if (!g->tty) {
    if (!p->end_of_epoch)
      return 0;
    fprintf(stderr, "babysit: epoch %zu/%zu, step %zu: batch loss %.4g",
            p->epoch, p->epochs, p->step, p->loss);
    if (isfinite(p->train_acc))
      fprintf(stderr, ", train acc %.4f", p->train_acc);
    if (isfinite(p->val_acc))
      fprintf(stderr, ", val acc %.4f (average %.4f)", p->val_acc,
              p->ema_val_acc);
    fputc('\n', stderr);
    return 0;
  }
  int pm = p->steps_total ? (int)(1000.0 * (double)p->step /
                                  (double)p->steps_total)
                          : 0;
  if (pm > 1000)
    pm = 1000;
  if (pm == g->last && !p->end_of_epoch)
    return 0;
  g->last = pm;
  char bar[31];
  int fill = pm * 30 / 1000;
  for (int i = 0; i < 30; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[30] = 0;
  fprintf(stderr, "\rbabysit [%s] %3d%% epoch %zu/%zu step %zu loss %-9.4g",
          bar, pm / 10, p->epoch, p->epochs, p->step, p->loss);
  fflush(stderr);
  return 0;
}

int main(int argc, char **argv)
{
  cli_tool = "babysit";
  static const struct option longopts[] = {
      {"args", required_argument, 0, OPT_ARGS},
      {"seed", required_argument, 0, OPT_SEED},
      {"optim", required_argument, 0, OPT_OPTIM},
      {"lr", required_argument, 0, OPT_LR},
      {"momentum", required_argument, 0, OPT_MU},
      {"sched", required_argument, 0, OPT_SCHED},
      {"decay-factor", required_argument, 0, OPT_FACTOR},
      {"decay-every", required_argument, 0, OPT_EVERY},
      {"decay-k", required_argument, 0, OPT_K},
      {"epochs", required_argument, 0, OPT_EPOCHS},
      {"batch", required_argument, 0, OPT_BATCH},
      {"ema", required_argument, 0, OPT_EMA},
      {"checkpoints", required_argument, 0, OPT_CKPT},
      {"resume", required_argument, 0, OPT_RESUME},
      {"plots", required_argument, 0, OPT_PLOTS},
      {"report", required_argument, 0, OPT_REPORT},
      {"dumb", no_argument, 0, OPT_DUMB},
      {"json", no_argument, 0, OPT_JSON},
      {"list", no_argument, 0, OPT_LIST},
      {"help", no_argument, 0, 'h'},
      CLI_ISOLATE_LONGOPTS,
      CLI_OUTPUT_LONGOPTS,
      {0, 0, 0, 0}};
  nnc_babysit_opts o;
  nnc_babysit_opts_init(&o);
  const char *args = NULL, *plots = NULL, *report = NULL;
  int json = 0, dumb = 0, list = 0, unknown = 0, c, rule = NNC_RULE_SGD;
  double lr = NAN, mu = NAN, factor = NAN, every = NAN, k = NAN;
  int sched = NNC_SCHED_CONST;
  const char *run_opt = NULL; /* an option the checkpoint decides */
  opterr = 0;
  while (!unknown &&
         (c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
    switch (c) {
    case OPT_ARGS: args = optarg; break;
    case OPT_SEED:
      o.seed = cli_u64("--seed", optarg, 0, UINT64_MAX);
      run_opt = "--seed";
      break;
    case OPT_OPTIM:
      if ((rule = nnc_rule_parse(optarg)) < 0) {
        cli_error("--optim: '%s' is not one of sgd, momentum, nesterov, "
                  "adagrad, rmsprop, adam",
                  optarg);
        return NNC_EXIT_USAGE;
      }
      run_opt = "--optim";
      break;
    case OPT_LR: lr = cli_double("--lr", optarg, 0, 1e300); run_opt = "--lr"; break;
    case OPT_MU: mu = cli_double("--momentum", optarg, 0, 0.9999); run_opt = "--momentum"; break;
    case OPT_SCHED:
      if ((sched = nnc_sched_parse(optarg)) < 0) {
        cli_error("--sched: '%s' is not one of const, step, exp, inv_t, "
                  "plateau",
                  optarg);
        return NNC_EXIT_USAGE;
      }
      run_opt = "--sched";
      break;
    case OPT_FACTOR: factor = cli_double("--decay-factor", optarg, 1e-6, 1); run_opt = "--decay-factor"; break;
    case OPT_EVERY: every = cli_double("--decay-every", optarg, 1e-6, 1e9); run_opt = "--decay-every"; break;
    case OPT_K: k = cli_double("--decay-k", optarg, 0, 1e9); run_opt = "--decay-k"; break;
    case OPT_EPOCHS: o.epochs = cli_u64("--epochs", optarg, 1, 1000000); break;
    case OPT_BATCH: o.batch = cli_u64("--batch", optarg, 1, 100000000); run_opt = "--batch"; break;
    case OPT_EMA: o.ema_decay = cli_double("--ema", optarg, 0, 0.999999999); run_opt = "--ema"; break;
    case OPT_CKPT: o.checkpoints = optarg; break;
    case OPT_RESUME: o.resume = optarg; break;
    case OPT_PLOTS: plots = optarg; break;
    case OPT_REPORT: report = optarg; break;
    case OPT_DUMB: dumb = 1; break;
    case OPT_JSON: json = 1; break;
    case OPT_LIST: list = 1; break;
    case 'h': usage(stdout); return 0;
    default:
      unknown = !cli_isolate_option(c, optarg) &&
                !cli_output_option(c, optarg);
    }
  }
  int stop = cli_args_done(argc, argv,
                           &(cli_args){.unknown = unknown, .list = list,
                                       .json = json, .tap = -1, .dumb = dumb,
                                       .args = cli_one_plugin});
  if (stop >= 0)
    return stop;
  if (o.resume && run_opt) {
    cli_error("%s: with --resume the run's settings are the checkpoint's; "
              "leave %s out (--epochs says where to stop)",
              run_opt, run_opt);
    return NNC_EXIT_USAGE;
  }
  nnc_optim_opts_init(&o.optim, rule);
  if (!isnan(lr))
    o.optim.lr = lr;
  if (!isnan(mu))
    o.optim.mu = mu;
  nnc_schedule_init(&o.sched, sched, 0);
  o.sched.mu0 = o.sched.mu1 = -1;
  if (!isnan(factor))
    o.sched.factor = factor;
  if (!isnan(every))
    o.sched.every = every;
  if (!isnan(k))
    o.sched.k = k;
  if (plots)
    cli_mkdirs("--plots", plots);
  if (report)
    cli_mkdirs("--report", report);
  if (o.checkpoints)
    cli_mkdirs("--checkpoints", o.checkpoints);
  /* From here on the plugin runs in a supervised child: it writes the
   * checkpoints, babysit_stats.json, the report, the plots and the page
   * itself, so whatever it finished survives a crash of the plugin. */
  int iso_status;
  if (cli_isolate(&iso_status))
    return iso_status;
  char err[2048];
  /* Resuming without --args: the arguments the run was made with. */
  nnc_checkpoint *ck = NULL;
  int rc;
  if (o.resume && !args) {
    rc = nnc_checkpoint_read(o.resume, &ck, err, sizeof err);
    if (rc != NNC_OK) {
      cli_error("--resume: %s", err);
      return nnc_err_exit_status(rc);
    }
    args = nnc_checkpoint_meta(ck)->args;
  }
  nnc_model *m;
  rc = nnc_model_load(argv[optind], args ? args : "", &m, err, sizeof err);
  nnc_checkpoint_free(ck);
  if (rc != NNC_OK) {
    cli_error("%s", err);
    return nnc_err_exit_status(rc);
  }
  cli_verbose("loaded %s from %s (%s, %zu parameter blocks, args \"%s\")",
              argv[optind], nnc_model_path(m),
              nnc_model_kind(m) == NNC_KIND_NET ? "net" : "layer",
              nnc_model_num_blocks(m), args ? args : "");
  cli_verbose("training: seed %llu, %zu epochs, batch %zu, %s, lr %g%s%s",
              (unsigned long long)o.seed, o.epochs, o.batch,
              nnc_rule_name(o.optim.rule), o.optim.lr,
              o.resume ? ", resuming from " : "", o.resume ? o.resume : "");
  double t0 = cli_now();
  prog g = {isatty(2), -1};
  if (!cli_out.quiet) {
    o.progress = on_progress;
    o.user = &g;
  }
  nnc_babysit_result *res = NULL;
  rc = nnc_babysit(m, &o, &res);
  if (g.tty && !cli_out.quiet)
    fputc('\n', stderr);
  if (!res) {
    cli_error("out of memory");
    nnc_model_close(m);
    return NNC_EXIT_USAGE;
  }
  cli_verbose("trained in %.3g s: %zu steps", cli_now() - t0, res->nsteps);
  if (json)
    nnc_babysit_report_json(res, stdout);
  else {
    FILE *f = cli_report_begin();
    nnc_babysit_report_text(res, f);
    cli_report_end(f);
  }
  fflush(stdout);
  int status = nnc_babysit_exit_status(res);
  if (rc != NNC_OK)
    cli_error("%s", res->error_msg);
  int have = res->nsteps > 0;
  if (dumb && have) {
    char *text = NULL;
    int drc = nnc_babysit_plots_text(res, &text, err, sizeof err);
    cli_print_text_plots(drc, text, err);
  }
  if (plots && have) {
    int prc = nnc_babysit_plots(res, plots, NULL, err, sizeof err);
    if (prc == NNC_PLOTS_UNRENDERED)
      cli_warn("--plots: %s", err); /* a warning: the verdict stands */
    else if (prc != NNC_OK) {
      cli_error("--plots: %s", err);
      if (status == NNC_EXIT_OK)
        status = nnc_err_exit_status(prc);
    }
  }
  if (report && have) {
    int hrc = nnc_babysit_html(res, report, err, sizeof err);
    if (hrc != NNC_OK) {
      cli_error("--report: %s", hrc == NNC_PLOTS_UNRENDERED
                                    ? "gnuplot could not be started: the page "
                                      "needs its pictures"
                                    : err);
      if (status == NNC_EXIT_OK)
        status = hrc == NNC_PLOTS_UNRENDERED ? NNC_EXIT_USAGE
                                             : nnc_err_exit_status(hrc);
    }
  }
  nnc_babysit_free(res);
  nnc_model_close(m);
  return status;
}
