/* gradcheck: is a net's or a layer's analytic gradient right?
 * Parse the options, make one library call, print the report, exit with the
 * documented status. */
#include "config.h"
#include "cli.h"
#include <nncheck/baseline.h>
#include <nncheck/nncheck.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
  fputs(
      "Usage: gradcheck [OPTIONS] PLUGIN\n"
      "Check a net's or a layer's analytic gradient against centered finite\n"
      "differences, block by block.  PLUGIN is a path to a plugin .so or the\n"
      "name of a bundled plugin or fixture (see --list).\n"
      "\n"
      "Options (default in brackets):\n"
      "  --args STRING     argument string for the plugin's create() [\"\"]\n"
      "  --seed N          fixes every random choice: datapoints, inputs,\n"
      "                    coordinates, dropout masks [1]\n"
      "  --examples N      datapoints (net) or batch size (layer) [3]\n"
      "  --samples K       coordinates per block: first, last and a seeded\n"
      "                    spread; 0 checks every coordinate [10]\n"
      "  --burn-in N       plain SGD steps before checking (nets) [5]\n"
      "  --h H             finite-difference step, relative to max(1,|x|)\n"
      "                    [1e-5 for double blocks, 1e-2 for float32 blocks]\n"
      "  --sweep-h         also sweep h over 1e-1 .. 1e-10 and report the\n"
      "                    error per step (plotted with --plots) [off]\n"
      "  --part P          check only one loss part: data, reg or all\n"
      "                    [data, reg and all apart, when there is a reg term]\n"
      "  --block NAME      check only this block [every block]\n"
      "  --index I         with --block: check only this coordinate [sampled,\n"
      "                    see --samples]\n"
      "  --eval            evaluate in inference mode (dropout off) [train mode,\n"
      "                    dropout on under the fixed seed]\n"
      "  --reg-warn F      warn when a block's regularization gradient exceeds\n"
      "                    F times its data gradient [10]\n"
      "  --no-audits       skip the contract audits (determinism, seed, side\n"
      "                    effects, overwrite, linearity, independence, inert)\n"
      "                    [audits on]\n"
      "  --strict          an inert block, an INCONCLUSIVE verdict or a run\n"
      "                    where nothing carried a derivative fails [off]\n"
      "  --project         projection mode: every coordinate of every block,\n"
      "                    through random sign probes per block; a mismatch is\n"
      "                    bisected down to the bad coordinates [off]\n"
      "  --probes K        probes per block in projection mode [4]\n"
      "  --no-winners      ignore the plugin's winner fingerprint; infer kinks\n"
      "                    from one-sided differences [use it]\n"
      "  --json            print the report as JSON (schema\n"
      "                    nncheck-gradcheck/1) [the text table]\n"
      "  --tap             print the report as TAP (one test per block and\n"
      "                    part) [the text table]\n"
      "  --threads N       check coordinates on N threads, each on its own\n"
      "                    clone of the plugin (its clone callback); 'auto':\n"
      "                    one per online core.  The report is the serial\n"
      "                    one, byte for byte; without clone() the check runs\n"
      "                    on one thread and says so [1]\n"
      "  --plots DIR       write error plots (.dat, .gp, .png, .svg) into DIR\n"
      "                    [no plots]\n"
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
      "  0  every checked gradient passed (INCONCLUSIVE entries are reported,\n"
      "     and fail only with --strict), and no regression from --baseline\n"
      "  1  a gradient problem was found (a block FAILed), or --baseline\n"
      "     found a regression\n"
      "  2  usage or bad input: arguments, plugin file, ABI mismatch, a\n"
      "     missing or malformed --baseline file\n"
      "  3  the plugin misbehaved: an error, NaN/Inf, a broken contract\n"
      "\n",
      f);
  cli_usage_env(f);
}


enum {
  OPT_ARGS = 256, OPT_SEED, OPT_EXAMPLES, OPT_SAMPLES, OPT_BURNIN, OPT_H,
  OPT_SWEEP, OPT_PART, OPT_BLOCK, OPT_INDEX, OPT_EVAL, OPT_REGWARN, OPT_JSON,
  OPT_TAP, OPT_PLOTS, OPT_LIST, OPT_NOAUDITS, OPT_STRICT, OPT_PROJECT, OPT_PROBES, OPT_NOWINNERS, OPT_DUMB,
  OPT_THREADS
};

/* The report's JSON, for cli_baseline_finish. */
static void report_json(const void *res, FILE *f)
{
  nnc_gradcheck_report_json(res, f);
}

int main(int argc, char **argv)
{
  cli_tool = "gradcheck";
  static const struct option longopts[] = {
      {"args", required_argument, 0, OPT_ARGS},
      {"seed", required_argument, 0, OPT_SEED},
      {"examples", required_argument, 0, OPT_EXAMPLES},
      {"samples", required_argument, 0, OPT_SAMPLES},
      {"burn-in", required_argument, 0, OPT_BURNIN},
      {"h", required_argument, 0, OPT_H},
      {"sweep-h", no_argument, 0, OPT_SWEEP},
      {"part", required_argument, 0, OPT_PART},
      {"block", required_argument, 0, OPT_BLOCK},
      {"index", required_argument, 0, OPT_INDEX},
      {"eval", no_argument, 0, OPT_EVAL},
      {"reg-warn", required_argument, 0, OPT_REGWARN},
      {"json", no_argument, 0, OPT_JSON},
      {"tap", no_argument, 0, OPT_TAP},
      {"plots", required_argument, 0, OPT_PLOTS},
      {"list", no_argument, 0, OPT_LIST},
      {"no-audits", no_argument, 0, OPT_NOAUDITS},
      {"strict", no_argument, 0, OPT_STRICT},
      {"project", no_argument, 0, OPT_PROJECT},
      {"probes", required_argument, 0, OPT_PROBES},
      {"no-winners", no_argument, 0, OPT_NOWINNERS},
      {"dumb", no_argument, 0, OPT_DUMB},
      CLI_ISOLATE_LONGOPTS,
      {"threads", required_argument, 0, OPT_THREADS},
      {"help", no_argument, 0, 'h'},
      CLI_OUTPUT_LONGOPTS,
      CLI_BASELINE_LONGOPTS,
      {0, 0, 0, 0}};
  nnc_gradcheck_opts o;
  nnc_gradcheck_opts_init(&o);
  const char *args = "", *plots = NULL;
  int json = 0, tap = 0, list = 0, dumb = 0, unknown = 0, c;
  opterr = 0;
  while (!unknown &&
         (c = getopt_long(argc, argv, CLI_SHORTOPTS, longopts, NULL)) != -1) {
    switch (c) {
    case OPT_ARGS: args = optarg; break;
    case OPT_SEED: o.seed = cli_u64("--seed", optarg, 0, UINT64_MAX); break;
    case OPT_EXAMPLES:
      o.examples = cli_u64("--examples", optarg, 1, 1000000);
      break;
    case OPT_SAMPLES: o.samples = cli_u64("--samples", optarg, 0, 1u << 30); break;
    case OPT_BURNIN: o.burn_in = cli_u64("--burn-in", optarg, 0, 100000); break;
    case OPT_H: o.h = cli_double("--h", optarg, 1e-15, 1); break;
    case OPT_SWEEP: o.sweep_h = 1; break;
    case OPT_PART:
      if (!strcmp(optarg, "data"))
        o.part = NNC_F_DATA;
      else if (!strcmp(optarg, "reg"))
        o.part = NNC_F_REG;
      else if (!strcmp(optarg, "all"))
        o.part = NNC_F_ALL;
      else {
        cli_error("--part: '%s' is not one of data, reg, all", optarg);
        return NNC_EXIT_USAGE;
      }
      break;
    case OPT_BLOCK: o.block = optarg; break;
    case OPT_INDEX:
      o.index = (long)cli_u64("--index", optarg, 0, (uint64_t)1 << 62);
      break;
    case OPT_EVAL: o.train = 0; break;
    case OPT_REGWARN:
      o.reg_dominates = cli_double("--reg-warn", optarg, 0, 1e300);
      break;
    case OPT_JSON: json = 1; break;
    case OPT_TAP: tap = 1; break;
    case OPT_PLOTS: plots = optarg; break;
    case OPT_LIST: list = 1; break;
    case OPT_NOAUDITS: o.audits = 0; break;
    case OPT_STRICT: o.strict = 1; break;
    case OPT_PROJECT: o.project = 1; break;
    case OPT_PROBES: o.probes = cli_u64("--probes", optarg, 1, 1000); break;
    case OPT_NOWINNERS: o.winners = 0; break;
    case OPT_DUMB: dumb = 1; break;
    case OPT_THREADS:
      o.threads = !strcmp(optarg, "auto")
                      ? 0
                      : (size_t)cli_u64("--threads", optarg, 1, 256);
      break;
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
  if (o.index >= 0 && !o.block) {
    cli_error("--index needs --block NAME to say which block it indexes");
    return NNC_EXIT_USAGE;
  }
  if (plots)
    cli_mkdirs("--plots", plots);
  cli_baseline_ready("gradcheck");
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
  cli_verbose("checking: seed %llu, %zu examples, %zu samples per block, "
              "%zu burn-in steps, %s mode%s%s",
              (unsigned long long)o.seed, o.examples, o.samples, o.burn_in,
              o.train ? "training" : "inference",
              o.project ? ", projection" : "", o.audits ? "" : ", no audits");
  double t0 = cli_now();
  nnc_gradcheck_result *res = NULL;
  rc = nnc_gradcheck(m, &o, &res);
  if (!res) {
    cli_error("out of memory");
    nnc_model_close(m);
    return NNC_EXIT_USAGE;
  }
  if (rc == NNC_EARG && !res->nblocks && !res->naudits) {
    cli_error("%s", res->error_msg); /* bad input: no report */
    nnc_gradcheck_free(res);
    nnc_model_close(m);
    return NNC_EXIT_USAGE;
  }
  cli_verbose("checked in %.3g s: %zu loss evaluations, %zu backward calls",
              cli_now() - t0, res->loss_evals, res->backward_calls);
  if (json)
    nnc_gradcheck_report_json(res, stdout);
  else if (tap)
    nnc_gradcheck_report_tap(res, stdout);
  else {
    FILE *f = cli_report_begin();
    nnc_gradcheck_report_text(res, f);
    cli_report_end(f);
  }
  fflush(stdout);
  int status = nnc_gradcheck_exit_status(res);
  if (rc != NNC_OK)
    cli_error("%s", res->error_msg);
  if (cli_bl.path || cli_bl.write) /* against, or as, a CI baseline */
    status = cli_baseline_finish(status, report_json, res,
                                 res->error != NNC_OK, !json && !tap);
  if (dumb && res->nblocks) {
    char *text = NULL;
    int drc = nnc_gradcheck_plots_text(res, &text, err, sizeof err);
    cli_print_text_plots(drc, text, err);
  }
  if (plots && res->nblocks) {
    int prc = nnc_gradcheck_plots(res, plots, err, sizeof err);
    if (prc == NNC_PLOTS_UNRENDERED)
      cli_warn("--plots: %s", err); /* a warning: the verdict stands */
    else if (prc != NNC_OK) {
      cli_error("--plots: %s", err);
      if (status == NNC_EXIT_OK)
        status = nnc_err_exit_status(prc);
    }
  }
  nnc_gradcheck_free(res);
  nnc_model_close(m);
  return status;
}
