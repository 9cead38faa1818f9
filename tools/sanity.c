/* sanity: the checks before expensive training, on a net.
 * Parse the options, make one library call, print the report, exit with the
 * documented status. */
#include "config.h"
#include "cli.h"
#include <nncheck/baseline.h>
#include <nncheck/nncheck.h>
#include <nncheck/sanity.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
  fputs(
      "Usage: sanity [OPTIONS] PLUGIN\n"
      "Run the checks worth running before expensive training on a net, and\n"
      "report each verdict with the value expected beside the one measured.\n"
      "PLUGIN is a path to a plugin .so or the name of a bundled plugin or\n"
      "fixture (see --list).  A layer gets every check SKIPped: sanity checks\n"
      "need a net.\n"
      "\n"
      "Checks:\n"
      "  chance    the data loss at near-zero scores (weights re-drawn at\n"
      "            scale 1e-4 when the plugin has reinit), regularization off,\n"
      "            is the loss at chance: ln C for softmax, margin x (C-1) for\n"
      "            the SVM; tolerance from the spread of per-example losses\n"
      "  reg       raising the regularization strength (0, 1e-3, 1e-1, 10)\n"
      "            strictly raises the loss; the reg part is >= 0 and grows\n"
      "  overfit   a tiny subset, regularization off, reaches a near-zero loss\n"
      "            and 100% accuracy (Adam, a few learning rates in turn)\n"
      "  baseline  trained on zeroed inputs the net does worse than on the\n"
      "            real ones (needs NNC_CAP_ZERO_INPUT)\n"
      "  init      at the plugin's initialization no probed layer has most\n"
      "            ReLUs dead or tanh units saturated (WARN above 10%, FAIL\n"
      "            above 50%)\n"
      "\n"
      "Options (default in brackets):\n"
      "  --args STRING     argument string for the plugin's create() [\"\"]\n"
      "  --seed N          fixes every random choice: sample, subset, re-drawn\n"
      "                    weights, batches [1]\n"
      "  --check NAME      run only this check (chance, reg, overfit, baseline,\n"
      "                    init); repeat for several [all]\n"
      "  --examples N      training examples evaluated one by one at chance\n"
      "                    and forming the init batch (also --sample) [100]\n"
      "  --subset N        examples to overfit (and for the baseline) [20]\n"
      "  --epochs N        training budget per run, in epochs of full-subset\n"
      "                    batches [300]\n"
      "  --json            print the report as JSON (schema\n"
      "                    nncheck-sanity/1) [the text table]\n"
      "  --tap             print the report as TAP (one test per check)\n"
      "                    [the text table]\n"
      "  --plots DIR       write the plots (.dat, .gp, .png, .svg) into DIR;\n"
      "                    without gnuplot the .dat and .gp are still written\n"
      "                    and a warning says how to render them [no plots]\n"
      "  --dumb            draw the plots as text after the report (gnuplot's\n"
      "                    dumb terminal, 80 x 24) [off]\n"
      "  --list            list the bundled plugins and fixtures: name, kind,\n"
      "                    description, tab-separated, and exit\n",
      f);
  cli_usage_baseline(f);
  fputs(CLI_ISOLATE_HELP, f);
  cli_usage_output(f);
  fputs(
      "\n"
      "Exit status:\n"
      "  0  every check that ran passed (WARN and SKIP allowed), and no\n"
      "     regression from --baseline\n"
      "  1  a check FAILed, or --baseline found a regression\n"
      "  2  usage or bad input: arguments, plugin file, ABI mismatch, a\n"
      "     missing or malformed --baseline file\n"
      "  3  the plugin misbehaved: an error, NaN/Inf, a broken contract\n"
      "\n",
      f);
  cli_usage_env(f);
}


enum {
  OPT_ARGS = 256, OPT_SEED, OPT_CHECK, OPT_SAMPLE, OPT_SUBSET, OPT_EPOCHS,
  OPT_JSON, OPT_TAP, OPT_PLOTS, OPT_DUMB, OPT_LIST, OPT_SAMPLE_OLD
};

/* The report's JSON, for cli_baseline_finish. */
static void report_json(const void *res, FILE *f)
{
  nnc_sanity_report_json(res, f);
}

int main(int argc, char **argv)
{
  cli_tool = "sanity";
  static const struct option longopts[] = {
      {"args", required_argument, 0, OPT_ARGS},
      {"seed", required_argument, 0, OPT_SEED},
      {"check", required_argument, 0, OPT_CHECK},
      {"examples", required_argument, 0, OPT_SAMPLE},
      {"sample", required_argument, 0, OPT_SAMPLE_OLD}, /* old spelling */
      {"subset", required_argument, 0, OPT_SUBSET},
      {"epochs", required_argument, 0, OPT_EPOCHS},
      {"json", no_argument, 0, OPT_JSON},
      {"tap", no_argument, 0, OPT_TAP},
      {"plots", required_argument, 0, OPT_PLOTS},
      {"dumb", no_argument, 0, OPT_DUMB},
      {"list", no_argument, 0, OPT_LIST},
      CLI_ISOLATE_LONGOPTS,
      {"help", no_argument, 0, 'h'},
      CLI_OUTPUT_LONGOPTS,
      CLI_BASELINE_LONGOPTS,
      {0, 0, 0, 0}};
  nnc_sanity_opts o;
  nnc_sanity_opts_init(&o);
  const char *args = "", *plots = NULL;
  int json = 0, tap = 0, list = 0, dumb = 0, unknown = 0, c;
  unsigned checks = 0;
  opterr = 0;
  while (!unknown &&
         (c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
    switch (c) {
    case OPT_ARGS: args = optarg; break;
    case OPT_SEED: o.seed = cli_u64("--seed", optarg, 0, UINT64_MAX); break;
    case OPT_CHECK: {
      int id = nnc_sanity_parse(optarg);
      if (id < 0) {
        cli_error("--check: '%s' is not one of chance, reg, overfit, "
                  "baseline, init",
                  optarg);
        return NNC_EXIT_USAGE;
      }
      checks |= 1u << id;
      break;
    }
    case OPT_SAMPLE: o.sample = cli_u64("--examples", optarg, 2, 1000000); break;
    case OPT_SAMPLE_OLD: o.sample = cli_u64("--sample", optarg, 2, 1000000); break;
    case OPT_SUBSET: o.subset = cli_u64("--subset", optarg, 2, 100000); break;
    case OPT_EPOCHS: o.epochs = cli_u64("--epochs", optarg, 1, 1000000); break;
    case OPT_JSON: json = 1; break;
    case OPT_TAP: tap = 1; break;
    case OPT_PLOTS: plots = optarg; break;
    case OPT_DUMB: dumb = 1; break;
    case OPT_LIST: list = 1; break;
    case 'h': usage(stdout); return 0;
    default:
      unknown = !cli_isolate_option(c, optarg) &&
                !cli_output_option(c, optarg) &&
                !cli_baseline_option(c, optarg);
    }
  }
  int stop = cli_args_done(argc, argv,
                           &(cli_args){.unknown = unknown, .list = list,
                                       .json = json, .tap = tap, .dumb = dumb,
                                       .args = cli_one_plugin});
  if (stop >= 0)
    return stop;
  if (checks)
    o.checks = checks;
  if (plots)
    cli_mkdirs("--plots", plots);
  cli_baseline_ready("sanity");
  int iso_status;
  if (cli_isolate(&iso_status))
    return iso_status;
  char err[4096];
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
  cli_verbose("checking: seed %llu, %zu examples, subset %zu, %zu epochs",
              (unsigned long long)o.seed, o.sample, o.subset, o.epochs);
  double t0 = cli_now();
  nnc_sanity_result *res = NULL;
  rc = nnc_sanity(m, &o, &res);
  if (!res) {
    cli_error("out of memory");
    nnc_model_close(m);
    return NNC_EXIT_USAGE;
  }
  cli_verbose("checked in %.3g s", cli_now() - t0);
  FILE *rep = json || tap ? stdout : cli_report_begin();
  if (json)
    nnc_sanity_report_json(res, stdout);
  else if (tap)
    nnc_sanity_report_tap(res, stdout);
  else
    nnc_sanity_report_text(res, rep);
  int status = nnc_sanity_exit_status(res);
  if (dumb && res->kind == NNC_KIND_NET) {
    char *text = NULL;
    int prc = nnc_sanity_plots_text(res, 80, 24, &text, err, sizeof err);
    if (prc == NNC_OK && text && *text)
      fprintf(rep, "\n%s", text);
    else if (prc == NNC_SANITY_UNRENDERED)
      cli_warn("--dumb: %s", err); /* a warning: the checks stand */
    else if (prc != NNC_OK) {
      cli_error("--dumb: %s", err);
      if (status == NNC_EXIT_OK)
        status = nnc_err_exit_status(prc);
    }
    free(text);
  }
  if (rep != stdout)
    cli_report_end(rep);
  fflush(stdout);
  if (rc != NNC_OK)
    cli_error("%s", res->error_msg);
  if (cli_bl.path || cli_bl.write) /* against, or as, a CI baseline */
    status = cli_baseline_finish(status, report_json, res,
                                 res->error != NNC_OK, !json && !tap);
  if (plots && res->kind == NNC_KIND_NET) {
    int prc = nnc_sanity_plots(res, plots, err, sizeof err);
    if (prc == NNC_SANITY_UNRENDERED)
      cli_warn("--plots: %s", err); /* a warning: data and scripts exist */
    else if (prc != NNC_OK) {
      cli_error("--plots: %s", err);
      if (status == NNC_EXIT_OK)
        status = nnc_err_exit_status(prc);
    }
  }
  nnc_sanity_free(res);
  nnc_model_close(m);
  return status;
}
