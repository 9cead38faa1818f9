/* lrprobe: which learning rates can a net take?
 * Parse the options, make one library call, print the report, exit with the
 * documented status. */
#include "config.h"
#include "cli.h"
#include <nncheck/lrprobe.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
  fputs(
      "Usage: lrprobe [OPTIONS] PLUGIN\n"
      "Learning-rate range test on a net: from its current parameters, one\n"
      "optimizer step per rung of an exponential ladder of learning rates,\n"
      "each on a fresh seeded mini-batch; the loss after each step, smoothed\n"
      "by a bias-corrected moving average (beta 0.98); stop when the smoothed\n"
      "loss passes 4x its best or turns NaN/Inf.  Then the parameters and the\n"
      "optimizer state are restored: the probe changes nothing.  Also: the\n"
      "optimization notes' step sweep (the loss after one step W - s*dW for\n"
      "s = 1e-10 .. 1e-1) and each block's update:weight ratio along the\n"
      "ladder.  PLUGIN is a path to a plugin .so or the name of a bundled\n"
      "plugin or fixture.\n"
      "\n"
      "Suggestions, in log10(lr) on the smoothed curve, from the first tenth\n"
      "of the ladder on:\n"
      "  valley      two thirds down the longest strictly decreasing\n"
      "              subsequence of the smoothed loss (fastai's valley)\n"
      "  slide       where the loss starts to slide: the first rung of the\n"
      "              unbroken run of half-decade windows, ending at the\n"
      "              steepest one, each falling at least half as fast\n"
      "  minimum/10  the rate of the smoothed minimum, divided by 10\n"
      "  steepest    the most negative slope of the smoothed loss against\n"
      "              log10(lr), within the sustained descent (from the\n"
      "              slide to the end of the steepest window)\n"
      "Each is the median over the runs (run r uses seed + r), with its\n"
      "spread (max - min, decades); a spread above 1 decade, or a run without\n"
      "one, marks it unreliable.\n"
      "\n"
      "Options (default in brackets):\n"
      "  --args STRING   argument string for the plugin's create() [\"\"]\n"
      "  --seed N        fixes every random choice: batches, dropout masks;\n"
      "                  run r uses seed + r [1]\n"
      "  --start LR      first learning rate of the ladder [1e-7]\n"
      "  --end LR        last learning rate of the ladder [10]\n"
      "  --steps N       rungs of the ladder, one step each [100]\n"
      "  --runs K        repetitions with different seeds [3]\n"
      "  --rule RULE     update rule: sgd, momentum, nesterov, adagrad,\n"
      "                  rmsprop, adam (the notes' other defaults); also\n"
      "                  spelled --optim [sgd]\n"
      "  --batch N       examples per step [32]\n"
      "  --beta B        smoothing of the recorded loss: an exponential\n"
      "                  moving average, bias-corrected [0.98]\n"
      "  --min-drop F    a usable range needs the smoothed minimum this\n"
      "                  fraction below the start level (the mean loss at the\n"
      "                  starting parameters over 8 batches), or three\n"
      "                  standard errors of the difference if more [0.05]\n"
      "  --no-sweep      skip the step sweep along -grad [run it]\n"
      "  --plots DIR     write lrprobe_loss, lrprobe_steps and lrprobe_ratio\n"
      "                  (.dat, .gp, .png, .svg) into DIR [no plots]\n"
      "  --dumb          draw the plots as text after the report (gnuplot's\n"
      "                  dumb terminal, 80 x 24) [off]\n"
      "  --json          print the report as JSON (schema nncheck-lrprobe/1)\n"
      "                  [the text report]\n"
      "  --tap           print the report as TAP [the text report]\n"
      "  --list          list the bundled plugins and fixtures: name, kind,\n"
      "                  description, tab-separated, and exit\n",
      f);
  fputs(CLI_ISOLATE_HELP, f);
  cli_usage_output(f);
  fputs(
      "\n"
      "Exit status:\n"
      "  0  a usable range was found (the smoothed loss fell enough below\n"
      "     the start level, see --min-drop, in most runs)\n"
      "  1  no usable range: no learning rate lowered the loss (it rose until\n"
      "     the ladder stopped: RISES, e.g. a gradient pointing the wrong\n"
      "     way), or the loss never fell nor diverged in [--start, --end]\n"
      "     (FLAT: raise --end); or the step sweep saw the loss rise along\n"
      "     -grad at small steps\n"
      "  2  usage or bad input: arguments, plugin file, ABI mismatch; and a\n"
      "     layer plugin: its scalar L = sum(r .* y) is unbounded below, so\n"
      "     lrprobe needs a net\n"
      "  3  the plugin misbehaved: an error or NaN/Inf at the starting point,\n"
      "     or an error during the ladder (NaN/Inf during the ladder is its\n"
      "     expected end, not misbehaviour)\n"
      "\n",
      f);
  cli_usage_env(f);
}

enum {
  OPT_ARGS = 256, OPT_SEED, OPT_START, OPT_END, OPT_STEPS, OPT_RUNS,
  OPT_OPTIM, OPT_BATCH, OPT_BETA, OPT_MINDROP, OPT_NOSWEEP, OPT_PLOTS, OPT_JSON, OPT_TAP, OPT_DUMB,
  OPT_LIST, OPT_OPTIM_OLD
};

int main(int argc, char **argv)
{
  cli_tool = "lrprobe";
  static const struct option longopts[] = {
      {"args", required_argument, 0, OPT_ARGS},
      {"seed", required_argument, 0, OPT_SEED},
      {"start", required_argument, 0, OPT_START},
      {"end", required_argument, 0, OPT_END},
      {"steps", required_argument, 0, OPT_STEPS},
      {"runs", required_argument, 0, OPT_RUNS},
      {"rule", required_argument, 0, OPT_OPTIM},
      {"optim", required_argument, 0, OPT_OPTIM_OLD}, /* old spelling */
      {"batch", required_argument, 0, OPT_BATCH},
      {"beta", required_argument, 0, OPT_BETA},
      {"min-drop", required_argument, 0, OPT_MINDROP},
      {"no-sweep", no_argument, 0, OPT_NOSWEEP},
      {"plots", required_argument, 0, OPT_PLOTS},
      {"dumb", no_argument, 0, OPT_DUMB},
      {"json", no_argument, 0, OPT_JSON},
      {"tap", no_argument, 0, OPT_TAP},
      CLI_ISOLATE_LONGOPTS,
      {"list", no_argument, 0, OPT_LIST},
      {"help", no_argument, 0, 'h'},
      CLI_OUTPUT_LONGOPTS,
      {0, 0, 0, 0}};
  nnc_lrprobe_opts o;
  nnc_lrprobe_opts_init(&o);
  const char *args = "", *plots = NULL;
  int json = 0, tap = 0, dumb = 0, list = 0, unknown = 0, c;
  opterr = 0;
  while (!unknown &&
         (c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
    switch (c) {
    case OPT_ARGS: args = optarg; break;
    case OPT_SEED: o.seed = cli_u64("--seed", optarg, 0, UINT64_MAX - 256); break;
    case OPT_START: o.start = cli_double("--start", optarg, 1e-300, 1e300); break;
    case OPT_END: o.end = cli_double("--end", optarg, 1e-300, 1e300); break;
    case OPT_STEPS: o.steps = cli_u64("--steps", optarg, 2, 10000); break;
    case OPT_RUNS: o.runs = cli_u64("--runs", optarg, 1, 256); break;
    case OPT_OPTIM:
    case OPT_OPTIM_OLD:
      if ((o.rule = nnc_rule_parse(optarg)) < 0) {
        cli_error("%s: '%s' is not one of sgd, momentum, nesterov, "
                  "adagrad, rmsprop, adam",
                  c == OPT_OPTIM ? "--rule" : "--optim", optarg);
        return NNC_EXIT_USAGE;
      }
      break;
    case OPT_BATCH: o.batch = cli_u64("--batch", optarg, 1, 1000000); break;
    case OPT_BETA: o.beta = cli_double("--beta", optarg, 0, 0.9999); break;
    case OPT_MINDROP:
      o.min_drop = cli_double("--min-drop", optarg, 1e-9, 0.999999);
      break;
    case OPT_NOSWEEP: o.sweep = 0; break;
    case OPT_PLOTS: plots = optarg; break;
    case OPT_DUMB: dumb = 1; break;
    case OPT_JSON: json = 1; break;
    case OPT_TAP: tap = 1; break;
    case OPT_LIST: list = 1; break;
    case 'h': usage(stdout); return 0;
    default:
      unknown = !cli_isolate_option(c, optarg) &&
                !cli_output_option(c, optarg);
    }
  }
  int stop = cli_args_done(argc, argv,
                           &(cli_args){.unknown = unknown, .list = list,
                                       .json = json, .tap = tap, .dumb = dumb,
                                       .args = cli_one_plugin});
  if (stop >= 0)
    return stop;
  if (!(o.start < o.end)) {
    cli_error("--start %g must be below --end %g", o.start, o.end);
    return NNC_EXIT_USAGE;
  }
  if (plots)
    cli_mkdirs("--plots", plots);
  int iso_status;
  if (cli_isolate(&iso_status))
    return iso_status;
  char err[2048];
  nnc_model *m;
  int rc = nnc_model_load(argv[optind], args, &m, err, sizeof err);
  if (rc != NNC_OK) {
    cli_error("%s", err);
    return nnc_err_exit_status(rc);
  }
  cli_verbose("loaded %s from %s (%s, %zu parameter blocks, args \"%s\")",
              argv[optind], nnc_model_path(m),
              nnc_model_kind(m) == NNC_KIND_NET ? "net" : "layer",
              nnc_model_num_blocks(m), args);
  cli_verbose("probing: seed %llu, lr %g .. %g in %zu rungs, %zu runs, "
              "batch %zu",
              (unsigned long long)o.seed, o.start, o.end, o.steps, o.runs,
              o.batch);
  double t0 = cli_now();
  nnc_lrprobe_result *res = NULL;
  rc = nnc_lrprobe(m, NULL, &o, &res);
  if (!res) {
    cli_error("out of memory");
    nnc_model_close(m);
    return NNC_EXIT_USAGE;
  }
  cli_verbose("probed in %.3g s", cli_now() - t0);
  if (json)
    nnc_lrprobe_report_json(res, stdout);
  else if (tap)
    nnc_lrprobe_report_tap(res, stdout);
  else {
    FILE *f = cli_report_begin();
    nnc_lrprobe_report_text(res, f);
    cli_report_end(f);
  }
  fflush(stdout);
  int status = nnc_lrprobe_exit_status(res);
  if (rc != NNC_OK)
    cli_error("%s", res->error_msg);
  if (dumb && res->nruns && res->error == NNC_OK) {
    char *text = NULL;
    int drc = nnc_lrprobe_plots_text(res, &text, err, sizeof err);
    cli_print_text_plots(drc, text, err);
  }
  if (plots && res->nruns && res->error == NNC_OK) {
    int prc = nnc_lrprobe_plots(res, plots, err, sizeof err);
    if (prc == NNC_PLOTS_UNRENDERED)
      cli_warn("--plots: %s", err); /* a warning: the verdict stands */
    else if (prc != NNC_OK) {
      cli_error("--plots: %s", err);
      if (status == NNC_EXIT_OK)
        status = nnc_err_exit_status(prc);
    }
  }
  nnc_lrprobe_free(res);
  nnc_model_close(m);
  return status;
}
