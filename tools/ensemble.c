/* ensemble: model ensembles from a search directory or from checkpoints.
 * Parse the options, gather the members, make the library call, print,
 * exit with the documented status. */
#include "config.h"
#include "cli.h"
#include <nncheck/ensemble.h>
#include <nncheck/search.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
  fputs(
      "Usage: ensemble top [OPTIONS] DIR          the best trials of a search\n"
      "       ensemble seeds [OPTIONS] DIR TRIAL  one trial's hyperparameters,\n"
      "                                           different initializations\n"
      "       ensemble run [OPTIONS] TRIALDIR     the checkpoints of one run\n"
      "       ensemble files [OPTIONS] CKPT...    any checkpoints of one net\n"
      "Each member is evaluated on the net's validation split; the ensemble\n"
      "averages the members' class probabilities (the plugin's scores()) or,\n"
      "when a member lacks scores(), takes the majority vote of predict().\n"
      "Reported: each member's accuracy, the ensemble's accuracy as members\n"
      "are added in order, and the gain over the mean member.  The running\n"
      "averages of the parameters (ema-*.nnckpt, written by hpsearch) are\n"
      "evaluated beside the members, or are the members with --ema.\n"
      "\n"
      "  top     members: the best-epoch checkpoint of each of the K best\n"
      "          trials of search DIR, best first\n"
      "  seeds   trains trial TRIAL (a number) of search DIR again K times\n"
      "          with the initialization seeds 0..K-1 (seed 0 is the trial\n"
      "          itself) into DIR/ensembles/trialNNNN/initKK; members: their\n"
      "          best-epoch checkpoints\n"
      "  run     members: every epochEEEE-*.nnckpt of one trial directory, in\n"
      "          epoch order (-k K: the last K)\n"
      "  files   members: the checkpoints named, in order\n"
      "\n"
      "Options (default in brackets):\n"
      "  -k, --members K   top, seeds: members [5]; run: the last K epochs\n"
      "                    [all]\n"
      "  --ema             top, run: the running averages are the members\n"
      "                    [the checkpoints; the averages evaluated beside]\n"
      "  --plugin P        the net, when the checkpoints or DIR/space.txt do\n"
      "                    not name it [theirs]\n"
      "  --args STRING     its argument string for create() [the\n"
      "                    checkpoint's]\n"
      "  --plots DIR       write ens_gain (.dat, .gp, .png, .svg) into DIR\n"
      "                    [no plots]\n"
      "  --dumb            draw the plot as text after the report [off]\n"
      "  --json            print the report as JSON (schema\n"
      "                    nncheck-ensemble/1) [the text report]\n"
      "  --list            list the bundled plugins and fixtures: name, kind,\n"
      "                    description, tab-separated, and exit\n",
      f);
  fputs(CLI_ISOLATE_HELP, f);
  cli_usage_output(f);
  fputs(
      "\n"
      "Exit status:\n"
      "  0  the ensemble is at least as accurate as its mean member\n"
      "  1  the ensemble is less accurate than its mean member\n"
      "  2  usage or bad input: arguments, directories, checkpoints that do\n"
      "     not fit the net, members without one shared validation split\n"
      "  3  the plugin failed (an error, NaN/Inf, bad probabilities, a crash\n"
      "     or a hang)\n"
      "\n",
      f);
  cli_usage_env(f);
}

enum { OPT_EMA = 256, OPT_PLUGIN, OPT_ARGS, OPT_PLOTS, OPT_DUMB, OPT_JSON,
       OPT_LIST };

typedef struct members {
  char **paths;       /* checkpoints, members then extras */
  char **names;
  size_t n, ne, cap;
} members;

static void add(members *m, const char *path, const char *name)
{
  if (m->n + m->ne == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 16;
    m->paths = realloc(m->paths, m->cap * sizeof *m->paths);
    m->names = realloc(m->names, m->cap * sizeof *m->names);
    if (!m->paths || !m->names) {
      cli_error("out of memory");
      exit(NNC_EXIT_USAGE);
    }
  }
  m->paths[m->n + m->ne] = strdup(path);
  m->names[m->n + m->ne] = strdup(name);
}

static const char *base(const char *p)
{
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* Trial dir's files of a kind; exits 2 when there are none. */
static char **files(const char *tdir, int which, size_t *n)
{
  char err[2048];
  char **v = NULL;
  int rc = nnc_ensemble_trial_files(tdir, which, &v, n, err, sizeof err);
  if (rc) {
    cli_error("%s", err);
    exit(NNC_EXIT_USAGE);
  }
  return v;
}

/* The plugin spec of a search directory (space.txt), or NULL. */
static char *search_plugin(const char *dir)
{
  char path[4200], err[2048];
  snprintf(path, sizeof path, "%s/space.txt", dir);
  nnc_search_space sp;
  if (nnc_search_space_load(path, &sp, err, sizeof err))
    return NULL;
  return strdup(sp.plugin);
}

/* cli_args.args: a known command (each checks its own arguments). */
static int check_command(int argc, char **argv)
{
  if (optind < argc &&
      (!strcmp(argv[optind], "top") || !strcmp(argv[optind], "seeds") ||
       !strcmp(argv[optind], "run") || !strcmp(argv[optind], "files")))
    return -1;
  cli_error("%s%s: give top, seeds, run or files (see ensemble --help)",
            optind >= argc ? "no command" : "unknown command ",
            optind >= argc ? "" : argv[optind]);
  return NNC_EXIT_USAGE;
}

int main(int argc, char **argv)
{
  cli_tool = "ensemble";
  static const struct option longopts[] = {
      {"members", required_argument, 0, 'k'},
      {"ema", no_argument, 0, OPT_EMA},
      {"plugin", required_argument, 0, OPT_PLUGIN},
      {"args", required_argument, 0, OPT_ARGS},
      {"plots", required_argument, 0, OPT_PLOTS},
      {"dumb", no_argument, 0, OPT_DUMB},
      {"json", no_argument, 0, OPT_JSON},
      {"list", no_argument, 0, OPT_LIST},
      {"help", no_argument, 0, 'h'},
      CLI_ISOLATE_LONGOPTS,
      CLI_OUTPUT_LONGOPTS,
      {0, 0, 0, 0}};
  size_t k = 0;
  int ema = 0, dumb = 0, json = 0, list = 0, unknown = 0, c;
  const char *plugin = NULL, *args = NULL, *plots = NULL;
  opterr = 0;
  /* options may come before or after the command */
  while (!unknown &&
         (c = getopt_long(argc, argv, CLI_SHORTOPTS "k:", longopts, NULL)) !=
             -1) {
    switch (c) {
    case 'k': k = cli_u64("--members", optarg, 1, 1000); break;
    case OPT_EMA: ema = 1; break;
    case OPT_PLUGIN: plugin = optarg; break;
    case OPT_ARGS: args = optarg; break;
    case OPT_PLOTS: plots = optarg; break;
    case OPT_DUMB: dumb = 1; break;
    case OPT_JSON: json = 1; break;
    case OPT_LIST: list = 1; break;
    case 'h': usage(stdout); return NNC_EXIT_OK;
    default:
      unknown = !cli_isolate_option(c, optarg) &&
                !cli_output_option(c, optarg);
    }
  }
  int stop = cli_args_done(argc, argv,
                           &(cli_args){.unknown = unknown, .list = list,
                                       .json = json, .tap = -1, .dumb = dumb,
                                       .args = check_command});
  if (stop >= 0)
    return stop;
  const char *cmd = argv[optind++];
  if (plots)
    cli_mkdirs("--plots", plots);
  /* From here on the plugin runs in a supervised child (seeds trains,
   * every command evaluates): a crash or a hang is one line and exit 3. */
  int iso_status;
  if (cli_isolate(&iso_status))
    return iso_status;
  int nargs = argc - optind;
  char err[2048];
  members M = {0};
  char *spec = NULL;
  const char *kind = cmd;
  if (!strcmp(cmd, "top")) {
    if (nargs != 1) {
      cli_error("top takes DIR: see ensemble --help");
      return NNC_EXIT_USAGE;
    }
    const char *dir = argv[optind];
    nnc_search_summary *s = NULL;
    int rc = nnc_search_summarize(dir, &s, err, sizeof err);
    if (rc) {
      cli_error("%s", err);
      return nnc_err_exit_status(rc);
    }
    spec = strdup(s->space.plugin);
    /* the best trials, ranked as the master ranks them */
    nnc_trial **order = malloc((s->ntrials + 1) * sizeof *order);
    size_t nu = 0;
    for (size_t i = 0; order && i < s->ntrials; i++)
      if (s->trials[i].status == NNC_TRIAL_OK ||
          s->trials[i].status == NNC_TRIAL_STOPPED)
        if (s->trials[i].best_acc == s->trials[i].best_acc)
          order[nu++] = &s->trials[i];
    for (size_t i = 1; i < nu; i++) /* insertion sort by nnc_trial_cmp */
      for (size_t j = i; j > 0 && nnc_trial_cmp(order[j], order[j - 1]) < 0;
           j--) {
        nnc_trial *t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
    size_t want = k ? k : 5;
    for (size_t i = 0; i < nu && M.n < want; i++) {
      char tdir[4200], name[300];
      snprintf(tdir, sizeof tdir, "%s/trials/trial%04zu", dir,
               order[i]->index);
      size_t nf = 0;
      char **v = NULL;
      if (nnc_ensemble_trial_files(tdir, ema ? 1 : 2, &v, &nf, err,
                                   sizeof err))
        continue; /* a stopped trial has no running average */
      snprintf(name, sizeof name, "trial%04zu/%s", order[i]->index,
               base(v[0]));
      add(&M, v[0], name);
      M.n++;
      nnc_ensemble_paths_free(v, nf);
    }
    for (size_t i = 0; !ema && i < M.n; i++) { /* their running averages */
      char tdir[4200], name[300];
      snprintf(tdir, sizeof tdir, "%s", M.paths[i]);
      *strrchr(tdir, '/') = 0;
      size_t nf = 0;
      char **v = NULL;
      if (nnc_ensemble_trial_files(tdir, 1, &v, &nf, err, sizeof err))
        continue;
      snprintf(name, sizeof name, "%.9s/%s", M.names[i], base(v[0]));
      add(&M, v[0], name);
      M.ne++;
      nnc_ensemble_paths_free(v, nf);
    }
    free(order);
    nnc_search_summary_free(s);
    if (ema)
      kind = "top, running averages";
    if (M.n == 0) {
      cli_error("%s: no finished trial with a checkpoint%s: run the search "
                "first", dir, ema ? " and a running average" : "");
      return NNC_EXIT_USAGE;
    }
  } else if (!strcmp(cmd, "seeds")) {
    if (nargs != 2) {
      cli_error("seeds takes DIR TRIAL: see ensemble --help");
      return NNC_EXIT_USAGE;
    }
    const char *dir = argv[optind];
    size_t trial = cli_u64("TRIAL", argv[optind + 1], 0, 1000000);
    spec = search_plugin(dir);
    size_t want = k ? k : 5;
    char edir[4200];
    snprintf(edir, sizeof edir, "%s/ensembles", dir);
    cli_mkdirs("DIR", edir);
    snprintf(edir, sizeof edir, "%s/ensembles/trial%04zu", dir, trial);
    cli_mkdirs("DIR", edir);
    for (size_t s = 0; s < want; s++) {
      char odir[4300], name[300];
      snprintf(odir, sizeof odir, "%s/init%02zu", edir, s);
      int rc = nnc_search_run_trial(dir, trial, s, odir, err, sizeof err);
      if (rc) {
        cli_error("%s", err);
        return nnc_err_exit_status(rc);
      }
      size_t nf = 0;
      char **v = NULL;
      if (nnc_ensemble_trial_files(odir, 2, &v, &nf, err, sizeof err)) {
        cli_error("trial %zu with initialization %zu ended without a "
                  "checkpoint (it diverged or failed): %s", trial, s, err);
        return NNC_EXIT_PROBLEM;
      }
      snprintf(name, sizeof name, "init %zu: %s", s, base(v[0]));
      add(&M, v[0], name);
      M.n++;
      nnc_ensemble_paths_free(v, nf);
    }
  } else if (!strcmp(cmd, "run")) {
    if (nargs != 1) {
      cli_error("run takes TRIALDIR: see ensemble --help");
      return NNC_EXIT_USAGE;
    }
    const char *tdir = argv[optind];
    char sdir[4200];
    snprintf(sdir, sizeof sdir, "%s/../..", tdir);
    spec = search_plugin(sdir);
    size_t nf = 0;
    char **v = files(tdir, ema ? 1 : 0, &nf);
    size_t from = k && k < nf ? nf - k : 0;
    for (size_t i = from; i < nf; i++) {
      add(&M, v[i], base(v[i]));
      M.n++;
    }
    nnc_ensemble_paths_free(v, nf);
    if (!ema) {
      char **e = NULL;
      size_t ne = 0;
      if (!nnc_ensemble_trial_files(tdir, 1, &e, &ne, err, sizeof err)) {
        add(&M, e[0], base(e[0]));
        M.ne++;
        nnc_ensemble_paths_free(e, ne);
      }
    } else
      kind = "run, running averages";
  } else { /* files */
    if (nargs < 1) {
      cli_error("files takes one or more checkpoints: see ensemble --help");
      return NNC_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
      add(&M, argv[i], argv[i]);
      M.n++;
    }
  }
  if (plugin) {
    free(spec);
    spec = strdup(plugin);
  }
  size_t tot = M.n + M.ne;
  nnc_model **models = calloc(tot, sizeof *models);
  int st = NNC_EXIT_OK;
  for (size_t i = 0; i < tot; i++) {
    int rc = nnc_ensemble_open_checkpoint(M.paths[i], spec, args, &models[i],
                                          err, sizeof err);
    if (rc) {
      cli_error("%s", err);
      st = nnc_err_exit_status(rc);
      break;
    }
  }
  nnc_ensemble *e = NULL;
  if (!st) {
    int rc = nnc_ensemble_eval(models, (const char *const *)M.names, M.n, M.ne,
                               kind, &e, err, sizeof err);
    if (rc) {
      cli_error("%s", err);
      st = nnc_err_exit_status(rc);
    }
  }
  if (e) {
    if (!st && e->gain < 0)
      st = NNC_EXIT_PROBLEM;
    cli_verbose("evaluated %zu members (and %zu beside them) on %zu "
                "validation examples by %s",
                e->nens, e->nmembers - e->nens, e->n_val,
                e->method == NNC_ENS_AVERAGE ? "averaged probabilities"
                                             : "majority vote");
    if (json)
      nnc_ensemble_report_json(e, stdout);
    else {
      FILE *f = cli_report_begin();
      nnc_ensemble_report_text(e, f);
      if (st == NNC_EXIT_OK)
        fprintf(f, "verdict: PASS -- exit 0\n");
      else
        fprintf(f, "verdict: FAIL (the ensemble is less accurate than its "
                   "mean member) -- exit %d\n", st);
      cli_report_end(f);
    }
    fflush(stdout);
    if (plots) {
      int prc = nnc_ensemble_plots(e, plots, NULL, err, sizeof err);
      if (prc == NNC_PLOTS_UNRENDERED)
        cli_warn("--plots: %s", err); /* a warning: the verdict stands */
      else if (prc) {
        cli_error("--plots: %s", err);
        st = NNC_EXIT_USAGE;
      }
    }
    if (dumb) {
      char *text = NULL;
      int drc = nnc_ensemble_plots(e, NULL, &text, err, sizeof err);
      cli_print_text_plots(drc, text, err);
    }
    nnc_ensemble_free(e);
  }
  for (size_t i = 0; i < tot; i++) {
    nnc_model_close(models[i]);
    free(M.paths[i]);
    free(M.names[i]);
  }
  free(models);
  free(M.paths);
  free(M.names);
  free(spec);
  return st;
}
