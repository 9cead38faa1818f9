/* hpsearch: random hyperparameter search, coarse to fine, by workers that
 * share a directory; a local pool, mpirun and Slurm run the same worker.
 * Parse the options, make the library calls, print, exit with the
 * documented status. */
#include "config.h"
#include "cli.h"
#include <nncheck/search.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *f)
{
  fputs(
      "Usage: hpsearch run [OPTIONS] SPACE DIR   init, run -j workers, report\n"
      "       hpsearch init SPACE DIR            start (or check) a search\n"
      "       hpsearch worker [OPTIONS] DIR      one worker (mpirun, Slurm)\n"
      "       hpsearch status [OPTIONS] DIR      the master's summary, any time\n"
      "       hpsearch sbatch [OPTIONS] DIR      write a Slurm job-array script\n"
      "Random search (never a grid) over the hyperparameters of a net, on a\n"
      "log scale for rates and strengths, staged from coarse to fine: each\n"
      "stage's ranges come from the best trials of the one before, without\n"
      "the ends where most trials diverged.  Each trial trains on the net's\n"
      "training split and is judged on its one validation split after every\n"
      "epoch; it writes DIR/trials/trialNNNN/epochEEEE-valA.AAAA.nnckpt per\n"
      "epoch, the running average ema-epochEEEE-valA.AAAA.nnckpt, stats.json,\n"
      "loss.tsv and result.txt.  Workers claim trials atomically; a claim\n"
      "without a heartbeat for the lease is taken over; results do not\n"
      "depend on the number of workers.  Re-running resumes.\n"
      "\n"
      "SPACE, the search-space file (one statement a line, # comments):\n"
      "  plugin mlp\n"
      "  args layers=2,{hidden},3 N=100     {NAME}: a parameter's value\n"
      "  seed 1\n"
      "  rule momentum                      sgd momentum nesterov adagrad\n"
      "                                     rmsprop adam\n"
      "  batch 32     mu 0.9     ema 0.95   topk 5     lease 30\n"
      "  param lr log 1e-4 1e1              log | linear | int | logint\n"
      "  param reg log 1e-6 1e-1            other names: set_hyper(NAME)\n"
      "  param dropout linear 0 0.5 limit 0 0.9\n"
      "  param hidden logint 10 200\n"
      "  stage coarse trials=20 epochs=1\n"
      "  stage fine trials=10 epochs=5 stop=0.5\n"
      "The full description is in the header nncheck/search.h.\n"
      "\n"
      "Options (default in brackets):\n"
      "  -j, --jobs N      run: local worker processes [1]\n"
      "  --top K           status, run: trials listed [10]\n"
      "  --plots DIR       status, run: hp_PARAM per parameter (validation\n"
      "                    accuracy against its value, on its scale) and\n"
      "                    hp_curves (loss of the best trials) into DIR\n"
      "                    [no plots]\n"
      "  --dumb            status, run: the plots as text after the report\n"
      "                    [off]\n"
      "  --json            status, run: the report as JSON (schema\n"
      "                    nncheck-hpsearch/1) [the text report]\n"
      "  --max-trials N    worker: stop after N trials [no limit]\n"
      "  --lease S         worker: seconds a claim lives without heartbeat\n"
      "                    [the space's lease]\n"
      "  -n, --tasks N     sbatch: array tasks (workers) [4]\n"
      "  --partition P     sbatch: Slurm partition [the cluster's default]\n"
      "  -o, --script FILE sbatch: the script [DIR/hpsearch.sbatch]\n"
      "  --list            list the bundled plugins and fixtures: name, kind,\n"
      "                    description, tab-separated, and exit\n",
      f);
  fputs(CLI_ISOLATE_HELP, f);
  fputs("                    (worker, and run's workers: the trials run in a\n"
        "                    supervised child; a trial's files are written\n"
        "                    atomically and a crashed worker's claim is\n"
        "                    taken over once its lease ran out)\n",
        f);
  cli_usage_output(f);
  fputs(
      "\n"
      "Exit status:\n"
      "  0  run, status: the search is complete and no best value lies on a\n"
      "     border (status of an unfinished search: 0); init, worker, sbatch:\n"
      "     done\n"
      "  1  a best value (or the median of the top trials) lies in the outer\n"
      "     10% of a range: the warning proposes the widened range; or no\n"
      "     trial reached a validation accuracy\n"
      "  2  usage or bad input: arguments, space file (named with its line),\n"
      "     directory, plugin\n"
      "  3  the plugin failed in every trial, or a worker failed (the plugin\n"
      "     crashed or hung in it)\n"
      "\n",
      f);
  cli_usage_env(f);
}

enum { OPT_TOP = 256, OPT_PLOTS, OPT_DUMB, OPT_JSON, OPT_MAXT, OPT_LEASE,
       OPT_PART, OPT_LIST };

/* What the local pool hands on to its workers: --timeout, --no-fork. */
static const char *pool_timeout;
static int pool_nofork;

static int report(const char *dir, size_t top, const char *plots, int dumb,
                  int json)
{
  char err[2048];
  nnc_search_summary *s = NULL;
  int rc = nnc_search_summarize(dir, &s, err, sizeof err);
  if (rc) {
    cli_error("%s", err);
    return nnc_err_exit_status(rc);
  }
  int st = NNC_EXIT_OK;
  const char *verdict = "RUNNING (the search is not complete)";
  size_t usable = 0, failed = 0;
  for (size_t i = 0; i < s->ntrials; i++) {
    usable += s->trials[i].best_acc == s->trials[i].best_acc;
    failed += s->trials[i].status == NNC_TRIAL_FAILED;
  }
  if (s->complete) {
    verdict = "PASS";
    if (failed == s->ntrials) {
      st = NNC_EXIT_PLUGIN;
      verdict = "ERROR (the plugin failed in every trial)";
    } else if (!usable) {
      st = NNC_EXIT_PROBLEM;
      verdict = "FAIL (no trial reached a validation accuracy)";
    } else if (s->nwarn) {
      st = NNC_EXIT_PROBLEM;
      verdict = "WARN (a best value lies on the border of its range)";
    }
  }
  cli_verbose("%s: %zu trials, %zu done, %zu with a validation accuracy, "
              "%zu failed", dir, s->ntrials, s->done, usable, failed);
  if (json)
    nnc_search_report_json(s, top, stdout);
  else {
    FILE *f = cli_report_begin();
    nnc_search_report_text(s, top, f);
    fprintf(f, "verdict: %s -- exit %d\n", verdict, st);
    cli_report_end(f);
  }
  fflush(stdout);
  if (plots) {
    cli_mkdirs("--plots", plots);
    int prc = nnc_search_plots(s, top, plots, NULL, err, sizeof err);
    if (prc == NNC_PLOTS_UNRENDERED)
      cli_warn("--plots: %s", err); /* a warning: the verdict stands */
    else if (prc) {
      cli_error("--plots: %s", err);
      nnc_search_summary_free(s);
      return NNC_EXIT_USAGE;
    }
  }
  if (dumb) {
    char *text = NULL;
    int drc = nnc_search_plots(s, top, NULL, &text, err, sizeof err);
    cli_print_text_plots(drc, text, err);
  }
  nnc_search_summary_free(s);
  return st;
}

static int do_init(const char *space, const char *dir)
{
  char err[2048];
  FILE *f = fopen(space, "rb");
  if (!f) {
    cli_error("%s: cannot read the space file: %s", space, strerror(errno));
    return NNC_EXIT_USAGE;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  char buf[4096];
  size_t n;
  while (m && (n = fread(buf, 1, sizeof buf, f)) > 0)
    fwrite(buf, 1, n, m);
  fclose(f);
  if (!m || fclose(m) != 0) {
    cli_error("out of memory reading %s", space);
    return NNC_EXIT_USAGE;
  }
  nnc_search_space sp;
  int rc = nnc_search_space_parse(text, space, &sp, err, sizeof err);
  char path[4096], perr[1024];
  if (!rc && nnc_plugin_resolve(sp.plugin, path, sizeof path, perr,
                                sizeof perr)) {
    rc = NNC_ENOTFOUND;
    snprintf(err, sizeof err, "%s: plugin: %s", space, perr);
  }
  if (!rc)
    rc = nnc_search_init(dir, text, space, err, sizeof err);
  free(text);
  if (rc) {
    cli_error("%s", err);
    return NNC_EXIT_USAGE;
  }
  return NNC_EXIT_OK;
}

static int do_worker(const char *dir, size_t max_trials, double lease)
{
  nnc_worker_opts o;
  nnc_worker_opts_init(&o);
  o.max_trials = max_trials;
  o.lease = lease;
  char id[128], err[2048];
  const char *rank = getenv("OMPI_COMM_WORLD_RANK");
  const char *task = getenv("SLURM_ARRAY_TASK_ID");
  char host[64] = "";
  gethostname(host, sizeof host - 1);
  snprintf(id, sizeof id, "host %s pid %ld%s%s%s%s\n", host, (long)getpid(),
           rank ? " mpi-rank " : "", rank ? rank : "",
           task ? " slurm-task " : "", task ? task : "");
  o.id = id;
  nnc_worker_stats st;
  int rc = nnc_search_worker(dir, &o, &st, err, sizeof err);
  if (rc) {
    cli_error("worker: %s", err);
    return nnc_err_exit_status(rc);
  }
  cli_verbose("worker pid %ld: %zu trials done (%zu taken over from a dead "
              "worker), %zu given up, %zu stage plans written",
              (long)getpid(), st.trials, st.reclaimed, st.abandoned,
              st.planned);
  return NNC_EXIT_OK;
}

static const char *self_exe(void)
{
  static char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0)
    return NULL;
  path[n] = 0;
  return path;
}

static int do_pool(const char *dir, size_t jobs)
{
  const char *exe = self_exe();
  if (!exe) {
    cli_error("cannot find the program's own path to start workers: run "
              "`hpsearch worker DIR` by hand");
    return NNC_EXIT_USAGE;
  }
  pid_t *pids = calloc(jobs, sizeof *pids);
  if (!pids)
    return NNC_EXIT_USAGE;
  fflush(NULL);
  for (size_t k = 0; k < jobs; k++) {
    pid_t p = fork();
    if (p == 0) {
      const char *wargv[8];
      size_t n = 0;
      wargv[n++] = "hpsearch";
      wargv[n++] = "worker";
      if (pool_timeout) {
        wargv[n++] = "--timeout";
        wargv[n++] = pool_timeout;
      }
      if (pool_nofork)
        wargv[n++] = "--no-fork";
      wargv[n++] = "--";
      wargv[n++] = dir;
      wargv[n] = NULL;
      execv(exe, (char *const *)wargv);
      _exit(127);
    }
    pids[k] = p;
  }
  int worst = 0;
  for (size_t k = 0; k < jobs; k++) {
    int status = 0;
    if (pids[k] <= 0 || waitpid(pids[k], &status, 0) < 0) {
      worst = NNC_EXIT_PLUGIN;
      continue;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code > worst)
      worst = code;
  }
  free(pids);
  return worst;
}

/* cli_args.args: a known command with as many arguments as it takes. */
static int check_command(int argc, char **argv)
{
  if (optind >= argc) {
    cli_error("no command: give run, init, worker, status or sbatch (see "
              "hpsearch --help)");
    return NNC_EXIT_USAGE;
  }
  const char *cmd = argv[optind];
  static const char *const cmds[] = {"run", "init", "worker", "status",
                                     "sbatch"};
  int known = 0;
  for (size_t i = 0; i < 5; i++)
    known |= !strcmp(cmd, cmds[i]);
  if (!known) {
    cli_error("unknown command '%s': give run, init, worker, status or "
              "sbatch (see hpsearch --help)", cmd);
    return NNC_EXIT_USAGE;
  }
  int nargs = argc - optind - 1;
  int want = !strcmp(cmd, "run") || !strcmp(cmd, "init") ? 2 : 1;
  if (nargs != want) {
    cli_error("%s takes %s: see hpsearch --help", cmd,
              want == 2 ? "SPACE DIR" : "DIR");
    return NNC_EXIT_USAGE;
  }
  return -1;
}

int main(int argc, char **argv)
{
  cli_tool = "hpsearch";
  signal(SIGPIPE, SIG_IGN);
  static const struct option longopts[] = {
      {"jobs", required_argument, 0, 'j'},
      {"tasks", required_argument, 0, 'n'},
      {"script", required_argument, 0, 'o'},
      {"top", required_argument, 0, OPT_TOP},
      {"plots", required_argument, 0, OPT_PLOTS},
      {"dumb", no_argument, 0, OPT_DUMB},
      {"json", no_argument, 0, OPT_JSON},
      {"max-trials", required_argument, 0, OPT_MAXT},
      {"lease", required_argument, 0, OPT_LEASE},
      {"partition", required_argument, 0, OPT_PART},
      {"list", no_argument, 0, OPT_LIST},
      {"help", no_argument, 0, 'h'},
      CLI_ISOLATE_LONGOPTS,
      CLI_OUTPUT_LONGOPTS,
      {0, 0, 0, 0}};
  size_t jobs = 1, top = 10, max_trials = 0, ntasks = 4;
  double lease = 0;
  const char *plots = NULL, *partition = NULL, *outfile = NULL;
  int dumb = 0, json = 0, list = 0, unknown = 0, c;
  opterr = 0;
  /* options may come before or after the command */
  while (!unknown && (c = getopt_long(argc, argv, CLI_SHORTOPTS "j:n:o:",
                                      longopts, NULL)) != -1) {
    switch (c) {
    case 'j': jobs = cli_u64("--jobs", optarg, 1, 256); break;
    case 'n': ntasks = cli_u64("--tasks", optarg, 1, 100000); break;
    case 'o': outfile = optarg; break;
    case OPT_TOP: top = cli_u64("--top", optarg, 1, 1000000); break;
    case OPT_PLOTS: plots = optarg; break;
    case OPT_DUMB: dumb = 1; break;
    case OPT_JSON: json = 1; break;
    case OPT_MAXT: max_trials = cli_u64("--max-trials", optarg, 1, 1000000); break;
    case OPT_LEASE: lease = cli_double("--lease", optarg, 0.5, 1e7); break;
    case OPT_PART: partition = optarg; break;
    case OPT_LIST: list = 1; break;
    case 'h': usage(stdout); return NNC_EXIT_OK;
    default:
      if (c == CLI_OPT_TIMEOUT)
        pool_timeout = optarg;
      else if (c == CLI_OPT_NOFORK)
        pool_nofork = 1;
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
  /* Only a worker runs the plugin: it trains in a supervised child, so a
   * crash or a hang is one line and exit 3, and the directory holds only
   * what was written atomically (the claim is taken over once its lease
   * ran out).  The other commands read and write the directory
   * themselves (run's workers are separate processes, each supervised);
   * they still honour --output. */
  if (strcmp(cmd, "worker"))
    cli_isolate_option(CLI_OPT_NOFORK, NULL);
  int iso_status;
  if (cli_isolate(&iso_status))
    return iso_status;
  if (!strcmp(cmd, "init"))
    return do_init(argv[optind], argv[optind + 1]);
  if (!strcmp(cmd, "worker"))
    return do_worker(argv[optind], max_trials, lease);
  if (!strcmp(cmd, "status"))
    return report(argv[optind], top, plots, dumb, json);
  if (!strcmp(cmd, "sbatch")) {
    const char *dir = argv[optind];
    char adir[PATH_MAX], path[PATH_MAX + 32];
    if (!realpath(dir, adir)) {
      cli_error("%s: %s: start the search with `hpsearch init SPACE DIR` "
                "first", dir, strerror(errno));
      return NNC_EXIT_USAGE;
    }
    const char *exe = self_exe();
    if (!outfile) {
      snprintf(path, sizeof path, "%s/hpsearch.sbatch", adir);
      outfile = path;
    }
    /* what the worker needs from this environment: where the plugins
     * and (in a build tree) the library are */
    static const char *const keep[] = {"NNCHECK_PLUGIN_PATH",
                                       "LD_LIBRARY_PATH", "NNCHECK_GNUPLOT"};
    char *env[4] = {NULL, NULL, NULL, NULL};
    size_t ne = 0;
    for (size_t i = 0; i < 3; i++) {
      const char *v = getenv(keep[i]);
      if (v && *v && (env[ne] = malloc(strlen(keep[i]) + strlen(v) + 2)))
        sprintf(env[ne++], "%s=%s", keep[i], v);
    }
    FILE *f = fopen(outfile, "w");
    int bad = !f || nnc_search_sbatch(adir, exe ? exe : "hpsearch", ntasks,
                                      partition, (const char *const *)env, f);
    for (size_t i = 0; i < ne; i++)
      free(env[i]);
    if (f && fclose(f))
      bad = 1;
    if (bad) {
      cli_error("%s: cannot write the script: %s", outfile, strerror(errno));
      return NNC_EXIT_USAGE;
    }
    printf("%s\n", outfile);
    return NNC_EXIT_OK;
  }
  /* run */
  const char *dir = argv[optind + 1];
  int rc = do_init(argv[optind], dir);
  if (rc)
    return rc;
  int wst = do_pool(dir, jobs);
  int st = report(dir, top, plots, dumb, json);
  if (wst) {
    /* a worker that ended with 2 or 3 said why in its own line */
    if (wst < NNC_EXIT_USAGE || wst > NNC_EXIT_PLUGIN)
      cli_error("a worker stopped with status %d: run the same command "
                "again to resume", wst);
    return wst >= NNC_EXIT_USAGE && wst <= NNC_EXIT_PLUGIN ? wst
                                                           : NNC_EXIT_PLUGIN;
  }
  return st;
}
