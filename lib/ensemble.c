/* ensemble.c — members' class probabilities averaged (or their votes
 * counted) over one validation split, the gain as members are added, the
 * reports and the plot. */
#include "config.h"
#include <nncheck/ensemble.h>
#include <nncheck/checkpoint.h>
#include "json.h"
#include "model.h"
#include "plot.h"
#include "search_internal.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256

/* Labels, predictions and (when available) probabilities of one model over
 * the validation split. */
static int member_eval(nnc_model *m, size_t n_val, uint32_t K, int32_t *pred,
                       int32_t *label, double *prob, char *err, size_t errlen)
{
  size_t idx[CHUNK];
  char perr[1024];
  for (size_t k0 = 0; k0 < n_val; k0 += CHUNK) {
    size_t c = n_val - k0 < CHUNK ? n_val - k0 : CHUNK;
    for (size_t k = 0; k < c; k++)
      idx[k] = k0 + k;
    nnc_batch b = {idx, c, NNC_SPLIT_VAL, 0};
    if (m->d.predict(m->self, &b, pred + k0, label + k0, perr, sizeof perr))
      return nnci_search_fail(NNC_EPLUGIN, err, errlen, "%s: predict() "
                              "failed: %s", m->d.name, perr);
    if (prob) {
      int rc = nnc_model_scores(m, &b, prob + k0 * K);
      if (rc)
        return nnci_search_fail(rc, err, errlen, "%s", nnc_model_error(m));
    }
  }
  return NNC_OK;
}

static size_t argmax(const double *v, size_t K)
{
  size_t best = 0;
  for (size_t c = 1; c < K; c++)
    if (v[c] > v[best])
      best = c;
  return best;
}

int nnc_ensemble_eval(nnc_model *const *models, const char *const *names,
                      size_t n, size_t ne, const char *kind,
                      nnc_ensemble **out, char *err, size_t errlen)
{
  *out = NULL;
  if (n == 0)
    return nnci_search_fail(NNC_EARG, err, errlen, "an ensemble needs at "
                            "least one member");
  size_t tot = n + ne;
  size_t n_val = 0;
  uint32_t K = 0;
  int vote = 0;
  for (size_t i = 0; i < tot; i++) {
    nnc_model *m = models[i];
    nnci_phase(m, "evaluating an ensemble");
    if (m->d.kind != NNC_KIND_NET || !m->has_info || !m->d.predict ||
        m->ni.n_val == 0 || m->ni.n_classes == 0)
      return nnci_search_fail(NNC_EARG, err, errlen,
                              "%s: an ensemble member must be a classifier "
                              "with a validation split and predict()",
                              names[i]);
    if (i == 0) {
      n_val = m->ni.n_val;
      K = m->ni.n_classes;
    } else if (m->ni.n_val != n_val || m->ni.n_classes != K)
      return nnci_search_fail(NNC_EARG, err, errlen,
                              "%s: %zu validation examples of %u classes, "
                              "not %zu of %u as %s: members must share one "
                              "validation split", names[i], m->ni.n_val,
                              m->ni.n_classes, n_val, K, names[0]);
    if (i < n && !m->d.scores)
      vote = 1;
  }
  nnc_ensemble *e = calloc(1, sizeof *e);
  int32_t *pred = malloc(2 * n_val * sizeof *pred);
  int32_t *label0 = malloc(n_val * sizeof *label0);
  double *prob = vote ? NULL : malloc(n_val * K * sizeof *prob);
  double *sum = calloc(n_val * K, sizeof *sum);
  if (!e || !pred || !label0 || (!vote && !prob) || !sum ||
      !(e->members = calloc(tot, sizeof *e->members))) {
    free(pred);
    free(label0);
    free(prob);
    free(sum);
    if (e)
      free(e->members);
    free(e);
    return NNC_ENOMEM;
  }
  snprintf(e->kind, sizeof e->kind, "%s", kind ? kind : "files");
  e->method = vote ? NNC_ENS_VOTE : NNC_ENS_AVERAGE;
  e->n_val = n_val;
  e->n_classes = K;
  e->nmembers = tot;
  e->nens = n;
  int rc = NNC_OK;
  double acc_sum = 0;
  e->best_acc = -INFINITY;
  for (size_t i = 0; i < tot && !rc; i++) {
    nnc_ens_member *mb = &e->members[i];
    snprintf(mb->name, sizeof mb->name, "%s", names[i]);
    mb->extra = i >= n;
    int32_t *label = pred + n_val;
    rc = member_eval(models[i], n_val, K, pred, label, (vote || i >= n)
                     ? NULL : prob, err, errlen);
    if (rc)
      break;
    if (i == 0)
      memcpy(label0, label, n_val * sizeof *label0);
    else if (memcmp(label0, label, n_val * sizeof *label0)) {
      rc = nnci_search_fail(NNC_EARG, err, errlen,
                            "%s: its validation labels differ from %s's: "
                            "members must share one validation split",
                            names[i], names[0]);
      break;
    }
    size_t right = 0;
    for (size_t k = 0; k < n_val; k++)
      right += pred[k] == label[k];
    mb->val_acc = (double)right / (double)n_val;
    mb->ens_acc = NAN;
    if (i >= n)
      continue;
    acc_sum += mb->val_acc;
    if (mb->val_acc > e->best_acc)
      e->best_acc = mb->val_acc;
    for (size_t k = 0; k < n_val; k++) {
      if (vote) {
        if (pred[k] >= 0 && (uint32_t)pred[k] < K)
          sum[k * K + (size_t)pred[k]] += 1;
      } else {
        for (size_t c = 0; c < K; c++)
          sum[k * K + c] += prob[k * K + c];
      }
    }
    size_t eright = 0;
    for (size_t k = 0; k < n_val; k++)
      eright += (int32_t)argmax(sum + k * K, K) == label0[k];
    mb->ens_acc = (double)eright / (double)n_val;
  }
  free(pred);
  free(label0);
  free(prob);
  free(sum);
  if (rc) {
    nnc_ensemble_free(e);
    return rc;
  }
  e->mean_acc = acc_sum / (double)n;
  e->ens_acc = e->members[n - 1].ens_acc;
  e->gain = e->ens_acc - e->mean_acc;
  *out = e;
  return NNC_OK;
}

void nnc_ensemble_free(nnc_ensemble *e)
{
  if (!e)
    return;
  free(e->members);
  free(e);
}

int nnc_ensemble_open_checkpoint(const char *path, const char *spec,
                                 const char *args, nnc_model **out, char *err,
                                 size_t errlen)
{
  *out = NULL;
  nnc_checkpoint *c = NULL;
  int rc = nnc_checkpoint_read(path, &c, err, errlen);
  if (rc)
    return rc;
  const nnc_ckpt_meta *meta = nnc_checkpoint_meta(c);
  if (!spec)
    spec = meta->plugin;
  if (!args)
    args = meta->args ? meta->args : "";
  if (!spec) {
    nnc_checkpoint_free(c);
    return nnci_search_fail(NNC_EARG, err, errlen, "%s: the checkpoint names "
                            "no plugin: give it", path);
  }
  nnc_model *m = NULL;
  rc = nnc_model_load(spec, args, &m, err, errlen);
  if (!rc) {
    rc = nnc_checkpoint_apply(c, m, err, errlen);
    if (rc) {
      nnc_model_close(m);
      m = NULL;
    }
  }
  nnc_checkpoint_free(c);
  *out = m;
  return rc;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void nnc_ensemble_paths_free(char **paths, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
}

int nnc_ensemble_trial_files(const char *tdir, int which, char ***paths,
                             size_t *n, char *err, size_t errlen)
{
  *paths = NULL;
  *n = 0;
  DIR *d = opendir(tdir);
  if (!d)
    return nnci_search_fail(NNC_ENOTFOUND, err, errlen, "%s: no such run "
                            "directory", tdir);
  size_t cap = 16, k = 0;
  char **v = malloc(cap * sizeof *v);
  struct dirent *de;
  const char *prefix = which == 1 ? "ema-epoch" : "epoch";
  while (v && (de = readdir(d))) {
    size_t L = strlen(de->d_name);
    if (strncmp(de->d_name, prefix, strlen(prefix)) || L < 7 ||
        strcmp(de->d_name + L - 7, ".nnckpt"))
      continue;
    if (k == cap) {
      char **nv = realloc(v, 2 * cap * sizeof *v);
      if (!nv)
        break;
      v = nv;
      cap *= 2;
    }
    v[k++] = strdup(de->d_name);
  }
  closedir(d);
  if (!v)
    return NNC_ENOMEM;
  qsort(v, k, sizeof *v, cmp_str);
  if (k == 0) {
    free(v);
    return nnci_search_fail(NNC_ENOTFOUND, err, errlen, "%s: no %s*.nnckpt "
                            "checkpoint", tdir, prefix);
  }
  if (which == 2) { /* the best epoch by the accuracy in the name */
    size_t best = 0;
    double bv = -1;
    for (size_t i = 0; i < k; i++) {
      const char *p = strstr(v[i], "-val");
      double a = p ? strtod(p + 4, NULL) : -1;
      if (a == a && a > bv) {
        bv = a;
        best = i;
      }
    }
    char *keep = v[best];
    for (size_t i = 0; i < k; i++)
      if (i != best)
        free(v[i]);
    v[0] = keep;
    k = 1;
  }
  for (size_t i = 0; i < k; i++) {
    size_t len = strlen(tdir) + strlen(v[i]) + 2;
    char *full = malloc(len);
    if (full)
      snprintf(full, len, "%s/%s", tdir, v[i]);
    free(v[i]);
    v[i] = full;
  }
  *paths = v;
  *n = k;
  return NNC_OK;
}

int nnc_ensemble_report_text(const nnc_ensemble *e, FILE *f)
{
  fprintf(f, "ensemble (%s): %zu members, %s over %zu validation examples "
             "of %u classes\n", e->kind, e->nens,
          e->method == NNC_ENS_AVERAGE ? "averaged class probabilities"
                                       : "majority vote of predictions "
                                         "(a member has no scores())",
          e->n_val, e->n_classes);
  fprintf(f, "  %-3s %-40s %-8s %-8s\n", "#", "member", "val_acc",
          "ensemble");
  for (size_t i = 0; i < e->nens; i++)
    fprintf(f, "  %-3zu %-40s %-8.4f %-8.4f\n", i + 1, e->members[i].name,
            e->members[i].val_acc, e->members[i].ens_acc);
  fprintf(f, "mean member %.4f, best member %.4f, ensemble %.4f: gain %+.4f "
             "over the mean member, %+.4f over the best\n",
          e->mean_acc, e->best_acc, e->ens_acc, e->gain,
          e->ens_acc - e->best_acc);
  for (size_t i = e->nens; i < e->nmembers; i++)
    fprintf(f, "also: %s alone: %.4f\n", e->members[i].name,
            e->members[i].val_acc);
  return ferror(f) ? NNC_EIO : NNC_OK;
}

int nnc_ensemble_report_json(const nnc_ensemble *e, FILE *f)
{
  nnci_json_head(f, "ensemble", NNCI_SCHEMA_ENSEMBLE);
  fputs("\n \"kind\": ", f);
  nnci_json_str(f, e->kind);
  fprintf(f, ", \"method\": \"%s\", \"n_val\": %zu, \"n_classes\": %u,\n "
             "\"members\": [",
          e->method == NNC_ENS_AVERAGE ? "average" : "vote", e->n_val,
          e->n_classes);
  for (size_t i = 0; i < e->nmembers; i++) {
    fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
    nnci_json_str(f, e->members[i].name);
    fputs(", \"val_acc\": ", f);
    nnci_json_num(f, e->members[i].val_acc);
    fputs(", \"ensemble_acc\": ", f);
    nnci_json_num(f, e->members[i].ens_acc);
    fprintf(f, ", \"extra\": %s}", e->members[i].extra ? "true" : "false");
  }
  fputs("],\n \"mean_member_acc\": ", f);
  nnci_json_num(f, e->mean_acc);
  fputs(", \"best_member_acc\": ", f);
  nnci_json_num(f, e->best_acc);
  fputs(", \"ensemble_acc\": ", f);
  nnci_json_num(f, e->ens_acc);
  fputs(", \"gain\": ", f);
  nnci_json_num(f, e->gain);
  fputs("}\n", f);
  return ferror(f) ? NNC_EIO : NNC_OK;
}

int nnc_ensemble_plots(const nnc_ensemble *e, const char *pdir, char **text,
                       char *err, size_t errlen)
{
  size_t n = e->nens;
  double *x = malloc((n + 1) * sizeof *x), *ya = malloc((n + 1) * sizeof *ya),
         *ym = malloc((n + 1) * sizeof *ym);
  if (!x || !ya || !ym) {
    free(x);
    free(ya);
    free(ym);
    return NNC_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    x[i] = (double)(i + 1);
    ya[i] = e->members[i].ens_acc;
    ym[i] = e->members[i].val_acc;
  }
  nnc_plot_series s[2];
  memset(s, 0, sizeof s);
  s[0].label = "ensemble of the first k";
  s[0].style = NNC_PLOT_LINESPOINTS;
  s[0].n = n;
  s[0].x = x;
  s[0].y = ya;
  s[0].color = "#d62728";
  s[1].label = "member k alone";
  s[1].style = NNC_PLOT_POINTS;
  s[1].n = n;
  s[1].x = x;
  s[1].y = ym;
  s[1].color = "#1f77b4";
  s[1].point_type = 7;
  nnc_plot_ref ref = {0, e->mean_acc, "mean member", NULL, 0};
  nnc_plot p;
  nnc_plot_init(&p, "ens_gain");
  p.title = "validation accuracy as members are added";
  p.xlabel = "members (k)";
  p.ylabel = "validation accuracy";
  p.nseries = 2;
  p.series = s;
  p.nrefs = 1;
  p.refs = &ref;
  p.xrange.set = 1;
  p.xrange.min = 0.5;
  p.xrange.max = (double)n + 0.5;
  int rc = nnc_plot_emit(&p, pdir, text, err, errlen);
  free(x);
  free(ya);
  free(ym);
  return rc;
}
