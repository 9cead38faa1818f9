/* landscape_report.c — a landscape as a human table and as JSON. */
#include "config.h"
#include "json.h"

#include "landscape_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A barrier counts when it rises above the straight interpolation of the
 * ends by more than this fraction of the larger end's loss. */
#define BARRIER_FRACTION 0.01

static const char *part_text(uint32_t part)
{
  return part == NNC_F_DATA ? "data" : part == NNC_F_REG ? "reg" : "all";
}

static const char *norm_text(int norm)
{
  switch (norm) {
  case NNC_LS_FILTER:
    return "filter-normalised (each row of a shaped block, each other block "
           "as a whole, scaled to the weights' norm there)";
  case NNC_LS_BLOCK:
    return "block-normalised (each block scaled to its weights' norm)";
  case NNC_LS_GLOBAL:
    return "globally normalised (one factor: the norm of all moved weights)";
  default:
    return "plain (unnormalised standard normal draws)";
  }
}

static int line_has_barrier(const nnc_ls_line *l, int s)
{
  double l0 = l->loss[s][l->i0], l1 = l->loss[s][l->i1];
  double big = fmax(fabs(l0), fabs(l1));
  return isfinite(l->barrier[s]) && l->barrier[s] > BARRIER_FRACTION * big;
}

/* ---- text ---------------------------------------------------------------- */

static void text_line(const nnc_landscape_result *r, FILE *f)
{
  const nnc_ls_line *l = &r->line;
  fprintf(f, "\nline from %s (t = 0) to %s (t = 1): distance %.4g, %zu "
             "points over t in [-0.5, 1.5]\n",
          l->from, l->to, l->distance, l->n);
  if (l->on_selection)
    fprintf(f, "  on the model's selection (%s mode)\n",
            r->train ? "training" : "inference");
  else if (l->nsplits > 1)
    fprintf(f, "  inference mode, seeded samples of %zu training and %zu "
               "validation examples\n",
            l->examples[0], l->examples[1]);
  else
    fprintf(f, "  inference mode, a seeded sample of %zu training examples "
               "(no validation split)\n",
            l->examples[0]);
  fprintf(f, "  %-18s %12s %12s %12s %8s\n", "", "t = 0", "t = 1",
          "max excess", "at t");
  static const char *split[] = {"training", "validation"};
  for (int s = 0; s < l->nsplits; s++) {
    fprintf(f, "  %-18s %12.6g %12.6g %12.4g %8.3g\n",
            l->on_selection ? "loss" : split[s], l->loss[s][l->i0],
            l->loss[s][l->i1], l->barrier[s], l->barrier_t[s]);
    if (l->acc[s])
      fprintf(f, "  %-18s %12.4g %12.4g\n", "  accuracy", l->acc[s][l->i0],
              l->acc[s][l->i1]);
  }
  for (int s = 0; s < l->nsplits; s++) {
    double l0 = l->loss[s][l->i0], l1 = l->loss[s][l->i1];
    if (line_has_barrier(l, s))
      fprintf(f, "  %s: a barrier: the loss rises %.4g above the straight "
                 "interpolation of the ends at t = %.3g (%.1f%% of the "
                 "larger end)\n",
              l->on_selection ? "loss" : split[s], l->barrier[s],
              l->barrier_t[s], 100 * l->barrier[s] / fmax(l0, l1));
    else if (l->barrier[s] > 0)
      fprintf(f, "  %s: no barrier: between the ends the loss rises at most "
                 "%.3g above their straight interpolation (under %g%% of the "
                 "larger end)\n",
              l->on_selection ? "loss" : split[s], l->barrier[s],
              100 * BARRIER_FRACTION);
    else
      fprintf(f, "  %s: no barrier: between the ends the loss stays below "
                 "their straight interpolation\n",
              l->on_selection ? "loss" : split[s]);
  }
}

static void text_traj(const nnc_landscape_result *r, FILE *f)
{
  const nnc_ls_traj *t = &r->traj;
  fprintf(f, "\ntrajectory of %zu checkpoints on the %s plane through the "
             "last: it holds %.1f%% of the squared parameter changes\n",
          t->n,
          t->plane == NNC_LS_PLANE_ENDS
              ? "first-to-last + main-direction"
              : "two-main-directions (PCA)",
          100 * t->explained);
  fprintf(f, "  %-24s %12s %12s %10s %12s\n", "checkpoint", "x", "y",
          "residual", "loss");
  for (size_t i = 0; i < t->n; i++)
    fprintf(f, "  %-24.24s %12.5g %12.5g %10.2g %12.6g\n", t->label[i],
            t->x[i], t->y[i], t->residual[i], t->loss[i]);
  fprintf(f, "  plane loss: min %.6g at (%.4g, %.4g), %zu x %zu points\n",
          t->grid.min, t->grid.min_x, t->grid.min_y, t->grid.nx, t->grid.ny);
}

int nnc_landscape_report_text(const nnc_landscape *ls, FILE *f)
{
  const nnc_landscape_result *r = &ls->r;
  fprintf(f, "landscape: %s%s%s%s  (%s)\n", r->plugin,
          r->args[0] ? " --args \"" : "", r->args, r->args[0] ? "\"" : "",
          r->kind == NNC_KIND_NET ? "net" : "layer: L = sum(r .* y)");
  if (r->examples)
    fprintf(f, "evaluated on %zu %s, seed %llu, loss part %s, %s mode%s\n",
            r->examples,
            r->kind == NNC_KIND_NET ? "training examples" : "inputs",
            (unsigned long long)r->seed, part_text(r->part),
            r->train ? "training" : "inference",
            r->train ? " (dropout masks fixed by the seed)" : "");
  else
    fprintf(f, "evaluated on the plugin's own batch, seed %llu, loss part "
               "%s, %s mode\n",
            (unsigned long long)r->seed, part_text(r->part),
            r->train ? "training" : "inference");
  fprintf(f, "current point: loss %.10g; |w| %.6g over the moved blocks",
          r->loss, r->param_norm);
  if (isfinite(r->grad_norm))
    fprintf(f, "; |gradient| %.6g", r->grad_norm);
  fprintf(f, "\nthreads: %zu%s\n", r->jobs,
          r->cloned ? "" : " (the plugin has no clone())");
  fprintf(f, "\n%-12s %10s %6s %12s %8s  %s\n", "block", "elements", "moved",
          "|w|", "rows", "zero rows");
  for (size_t b = 0; b < r->nblocks; b++) {
    const nnc_ls_block *k = &r->blocks[b];
    fprintf(f, "%-12s %10zu %6s %12.5g %8zu  %zu\n", k->name, k->count,
            k->moved ? "yes" : "no", k->norm, k->rows, k->frozen_rows);
  }
  if (r->nslices) {
    fprintf(f, "\ndirections: %s; a in [-%g, %g]\n", norm_text(r->norm),
            r->alpha, r->alpha);
    fprintf(f, "%-10s %10s %11s %11s %11s %11s %11s %11s %6s\n", "slice",
            "|D|", "L(-alpha)", "L(0)", "L(+alpha)", "slope", "curvature",
            "min", "kinks");
    for (size_t i = 0; i < r->nslices; i++) {
      const nnc_ls_slice *s = &r->slices[i];
      fprintf(f, "%-10s %10.4g %11.5g %11.5g %11.5g %11.4g %11.4g %11.5g ",
              s->label, s->norm, s->loss[0], s->loss[s->n / 2],
              s->loss[s->n - 1], s->slope, s->curvature, s->min);
      if (s->winners)
        fprintf(f, "%6zu\n", s->kinks);
      else
        fprintf(f, "%6s\n", "-");
    }
    fputs("  slope and curvature: dL/da and d2L/da2 at a = 0 from the "
          "neighbouring points; kinks: winner fingerprint changes along "
          "the slice\n",
          f);
  }
  if (r->has_grid) {
    const nnc_ls_grid *g = &r->grid;
    fprintf(f, "\n2D slice on random directions 1 and 2 (cosine %.3g), %zu "
               "x %zu points: L(0, 0) = %.10g, min %.6g at (%.3g, %.3g)",
            r->plane_cos, g->nx, g->ny, g->loss[(g->ny / 2) * g->nx + g->nx / 2],
            g->min, g->min_x, g->min_y);
    if (g->winners)
      fprintf(f, "; %zu kinks between neighbours", g->kinks);
    fputc('\n', f);
  }
  if (r->has_line)
    text_line(r, f);
  if (r->has_traj)
    text_traj(r, f);
  if (r->nwarnings) {
    fputs("\nwarnings:\n", f);
    for (size_t i = 0; i < r->nwarnings; i++)
      fprintf(f, "  - %s\n", r->warnings[i]);
  }
  fprintf(f, "\n%zu loss evaluations\n", r->evals);
  return ferror(f) ? NNC_EIO : NNC_OK;
}

/* ---- JSON ---------------------------------------------------------------- */


static void jarr(FILE *f, const double *v, size_t n)
{
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    if (i)
      fputs(", ", f);
    nnci_json_num(f, v[i]);
  }
  fputc(']', f);
}

static void jgrid(FILE *f, const nnc_ls_grid *g, const char *ind)
{
  fprintf(f, "{\n%s  \"x\": ", ind);
  jarr(f, g->x, g->nx);
  fprintf(f, ",\n%s  \"y\": ", ind);
  jarr(f, g->y, g->ny);
  fprintf(f, ",\n%s  \"loss\": [", ind);
  for (size_t j = 0; j < g->ny; j++) {
    fprintf(f, "%s\n%s    ", j ? "," : "", ind);
    jarr(f, g->loss + j * g->nx, g->nx);
  }
  fprintf(f, "\n%s  ],\n%s  \"min\": ", ind, ind);
  nnci_json_num(f, g->min);
  fputs(", \"min_at\": [", f);
  nnci_json_num(f, g->min_x);
  fputs(", ", f);
  nnci_json_num(f, g->min_y);
  fprintf(f, "], \"nonfinite\": %zu", g->nonfinite);
  if (g->winners)
    fprintf(f, ", \"kinks\": %zu", g->kinks);
  else
    fputs(", \"kinks\": null", f);
  fprintf(f, "\n%s}", ind);
}

static void json_line(const nnc_ls_line *l, FILE *f)
{
  fputs(",\n  \"line\": {\n    \"from\": ", f);
  nnci_json_str(f, l->from);
  fputs(", \"to\": ", f);
  nnci_json_str(f, l->to);
  fputs(", \"distance\": ", f);
  nnci_json_num(f, l->distance);
  fprintf(f, ", \"on_selection\": %s,\n    \"t\": ",
          l->on_selection ? "true" : "false");
  jarr(f, l->t, l->n);
  static const char *split[] = {"train", "val"};
  for (int s = 0; s < l->nsplits; s++) {
    fprintf(f, ",\n    \"%s\": {\"examples\": %zu, \"loss\": ", split[s],
            l->examples[s]);
    jarr(f, l->loss[s], l->n);
    fputs(", \"acc\": ", f);
    if (l->acc[s])
      jarr(f, l->acc[s], l->n);
    else
      fputs("null", f);
    fputs(", \"loss_at_0\": ", f);
    nnci_json_num(f, l->loss[s][l->i0]);
    fputs(", \"loss_at_1\": ", f);
    nnci_json_num(f, l->loss[s][l->i1]);
    fputs(", \"barrier\": ", f);
    nnci_json_num(f, l->barrier[s]);
    fputs(", \"barrier_t\": ", f);
    nnci_json_num(f, l->barrier_t[s]);
    fprintf(f, ", \"has_barrier\": %s}",
            line_has_barrier(l, s) ? "true" : "false");
  }
  fprintf(f, ",\n    \"nonfinite\": %zu\n  }", l->nonfinite);
}

static void json_traj(const nnc_ls_traj *t, FILE *f)
{
  fprintf(f, ",\n  \"trajectory\": {\n    \"plane\": \"%s\", \"explained\": ",
          t->plane == NNC_LS_PLANE_ENDS ? "ends" : "pca");
  nnci_json_num(f, t->explained);
  fprintf(f, ", \"random_axis\": %s,\n    \"points\": [",
          t->random_axis ? "true" : "false");
  for (size_t i = 0; i < t->n; i++) {
    fputs(i ? ",\n      {\"label\": " : "\n      {\"label\": ", f);
    nnci_json_str(f, t->label[i]);
    fputs(", \"x\": ", f);
    nnci_json_num(f, t->x[i]);
    fputs(", \"y\": ", f);
    nnci_json_num(f, t->y[i]);
    fputs(", \"residual\": ", f);
    nnci_json_num(f, t->residual[i]);
    fputs(", \"loss\": ", f);
    nnci_json_num(f, t->loss[i]);
    fputc('}', f);
  }
  fputs("\n    ],\n    \"grid\": ", f);
  jgrid(f, &t->grid, "    ");
  fputs("\n  }", f);
}

int nnc_landscape_report_json(const nnc_landscape *ls, FILE *f)
{
  const nnc_landscape_result *r = &ls->r;
  nnci_json_head(f, "landscape", NNCI_SCHEMA_LANDSCAPE);
  fputs("\n  \"plugin\": ", f);
  nnci_json_str(f, r->plugin);
  fputs(",\n  \"spec\": ", f);
  nnci_json_str(f, r->spec);
  fputs(",\n  \"args\": ", f);
  nnci_json_str(f, r->args);
  fprintf(f, ",\n  \"kind\": \"%s\",\n  \"seed\": %llu,\n  \"examples\": "
             "%zu,\n  \"part\": \"%s\",\n  \"mode\": \"%s\",\n  \"norm\": "
             "\"%s\",\n  \"alpha\": ",
          r->kind == NNC_KIND_NET ? "net" : "layer",
          (unsigned long long)r->seed, r->examples, part_text(r->part),
          r->train ? "train" : "eval", nnc_ls_norm_name(r->norm));
  nnci_json_num(f, r->alpha);
  fprintf(f, ",\n  \"threads\": %zu,\n  \"clone\": %s,\n  \"loss\": ",
          r->jobs, r->cloned ? "true" : "false");
  nnci_json_num(f, r->loss);
  fputs(",\n  \"param_norm\": ", f);
  nnci_json_num(f, r->param_norm);
  fputs(",\n  \"grad_norm\": ", f);
  nnci_json_num(f, r->grad_norm);
  fputs(",\n  \"blocks\": [", f);
  for (size_t b = 0; b < r->nblocks; b++) {
    const nnc_ls_block *k = &r->blocks[b];
    fputs(b ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
    nnci_json_str(f, k->name);
    fprintf(f, ", \"count\": %zu, \"dtype\": \"%s\", \"moved\": %s, "
               "\"norm\": ",
            k->count, k->dtype == NNC_F32 ? "float" : "double",
            k->moved ? "true" : "false");
    nnci_json_num(f, k->norm);
    fprintf(f, ", \"rows\": %zu, \"zero_rows\": %zu}", k->rows,
            k->frozen_rows);
  }
  fputs("\n  ],\n  \"slices\": [", f);
  for (size_t i = 0; i < r->nslices; i++) {
    const nnc_ls_slice *s = &r->slices[i];
    fputs(i ? ",\n    {\"label\": " : "\n    {\"label\": ", f);
    nnci_json_str(f, s->label);
    fprintf(f, ", \"direction\": \"%s\", \"norm\": ",
            s->gradient ? "-gradient" : "random");
    nnci_json_num(f, s->norm);
    fputs(", \"slope\": ", f);
    nnci_json_num(f, s->slope);
    fputs(", \"curvature\": ", f);
    nnci_json_num(f, s->curvature);
    fputs(", \"min\": ", f);
    nnci_json_num(f, s->min);
    fputs(", \"min_at\": ", f);
    nnci_json_num(f, s->min_at);
    if (s->winners)
      fprintf(f, ", \"kinks\": %zu", s->kinks);
    else
      fputs(", \"kinks\": null", f);
    fprintf(f, ", \"nonfinite\": %zu,\n     \"a\": ", s->nonfinite);
    jarr(f, s->a, s->n);
    fputs(",\n     \"loss\": ", f);
    jarr(f, s->loss, s->n);
    fputc('}', f);
  }
  fputs(r->nslices ? "\n  ]" : "]", f);
  if (r->has_grid) {
    fputs(",\n  \"plane\": ", f);
    jgrid(f, &r->grid, "  ");
    fputs(",\n  \"plane_cos\": ", f);
    nnci_json_num(f, r->plane_cos);
  }
  if (r->has_line)
    json_line(&r->line, f);
  if (r->has_traj)
    json_traj(&r->traj, f);
  fprintf(f, ",\n  \"evaluations\": %zu,\n  \"warnings\": [", r->evals);
  for (size_t i = 0; i < r->nwarnings; i++) {
    fputs(i ? ", " : "", f);
    nnci_json_str(f, r->warnings[i]);
  }
  fputs("]\n}\n", f);
  return ferror(f) ? NNC_EIO : NNC_OK;
}
