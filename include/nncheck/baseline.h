/* nncheck/baseline.h — CI regression baselines: compare a run against a
 * stored JSON report of an earlier run (the tool's own --json output).
 *
 * What is compared.  A gradcheck report: every (part, block) row and every
 * contract audit; a sanity report: every check.  Entries are matched by
 * name (and part).  A comparison finds a REGRESSION when
 *  - an entry that did not FAIL in the baseline FAILs now ("fails");
 *  - a gradcheck block's measured error grows: now > factor x max(baseline,
 *    floor) ("grew").  A block's measured error is the largest relative
 *    error among its coordinates that were judged by the relative-error
 *    bands (band happy, ok, uncomfortable or wrong); coordinates excused
 *    as round-off, both zero, inside their error bar, at a kink or
 *    INCONCLUSIVE do not count, and a block without such a coordinate is
 *    not compared for growth.  Errors below `floor` are round-off level:
 *    growth among them is not a regression;
 *  - an entry of the baseline is absent from this run ("missing"), or the
 *    run stopped with an error (verdict ERROR) that the baseline did not.
 * Notes (never regressions): entries new in this run, and run settings
 * that differ from the baseline's (plugin, args, seed, examples, kind).
 *
 * The baseline must be a report of the same tool with a schema version
 * this library reads ("nncheck-gradcheck/1", "nncheck-sanity/1"). */
#ifndef NNCHECK_BASELINE_H
#define NNCHECK_BASELINE_H

#include <stdio.h>
#include <nncheck/nncheck.h>
#include <nncheck/sanity.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnc_baseline_opts {
  double factor; /* a block regresses when its error exceeds factor x its
                    baseline error; default 10, must be >= 1 */
  double floor;  /* errors are compared from max(baseline, floor): growth
                    below it is round-off; default 1e-10 */
} nnc_baseline_opts;

void nnc_baseline_opts_init(nnc_baseline_opts *o);

/* What one finding is. */
enum nnc_bl_kind {
  NNC_BL_FAILS = 1,   /* did not FAIL in the baseline, FAILs now */
  NNC_BL_GREW = 2,    /* measured error grew past the factor */
  NNC_BL_MISSING = 3, /* in the baseline, not in this run */
  NNC_BL_ERROR = 4,   /* this run stopped with an error, the baseline's not */
  NNC_BL_NEW = 5,     /* note: in this run, not in the baseline */
  NNC_BL_SETTING = 6  /* note: a run setting differs from the baseline's */
};

typedef struct nnc_bl_finding {
  uint32_t kind;       /* enum nnc_bl_kind */
  int regression;      /* 1 for FAILS, GREW, MISSING, ERROR; 0 for notes */
  char name[192];      /* "block W1 (part data)", "audit overwrite",
                          "check chance", "run", or the setting's key */
  char was[64];        /* baseline verdict (or setting value) */
  char now[64];        /* this run's verdict (or setting value) */
  double base_err;     /* GREW, FAILS of a block: measured errors; NaN */
  double err;          /*   where not applicable */
  double limit;        /* GREW: the error this run was held to */
} nnc_bl_finding;

typedef struct nnc_baseline_result {
  char tool[32];       /* "gradcheck" or "sanity" */
  size_t compared;     /* entries present in both reports */
  size_t regressions;  /* findings with regression = 1 */
  size_t nfindings;
  nnc_bl_finding *findings; /* regressions first, then notes, each group
                               in the baseline's order */
  nnc_baseline_opts opts;   /* the options the comparison used */
} nnc_baseline_result;

/* Compare the JSON text of a run (current) against the JSON text of a
 * baseline.  NNC_EARG with err set when either is not valid JSON, not an
 * nncheck report, of different tools or of an unknown schema version;
 * NNC_ENOMEM.  On success *out (free with nnc_baseline_free) holds the
 * findings. */
int nnc_baseline_compare(const char *baseline, size_t baseline_len,
                         const char *current, size_t current_len,
                         const nnc_baseline_opts *o,
                         nnc_baseline_result **out, char *err,
                         size_t errlen);

/* A baseline file, read whole and checked (valid JSON, an nncheck report
 * of `tool` — NULL: any tool this library compares).  *text is malloc'ed.
 * NNC_ENOTFOUND when it does not exist, NNC_EIO when unreadable, NNC_EARG
 * when malformed; err names the file. */
int nnc_baseline_load(const char *path, const char *tool, char **text,
                      size_t *len, char *err, size_t errlen);

/* The same from results in memory: the result's JSON report against the
 * baseline text. */
int nnc_baseline_compare_gradcheck(const char *baseline, size_t baseline_len,
                                   const nnc_gradcheck_result *r,
                                   const nnc_baseline_opts *o,
                                   nnc_baseline_result **out, char *err,
                                   size_t errlen);
int nnc_baseline_compare_sanity(const char *baseline, size_t baseline_len,
                                const nnc_sanity_result *r,
                                const nnc_baseline_opts *o,
                                nnc_baseline_result **out, char *err,
                                size_t errlen);

/* Write a result's JSON report to path as a baseline, atomically: into a
 * temporary file beside it, flushed to disk, then renamed over path, so
 * that a reader sees the old file or the new one, never a part. */
int nnc_baseline_write_gradcheck(const nnc_gradcheck_result *r,
                                 const char *path, char *err, size_t errlen);
int nnc_baseline_write_sanity(const nnc_sanity_result *r, const char *path,
                              char *err, size_t errlen);
/* ... any JSON text (checked to be valid JSON first). */
int nnc_baseline_write(const char *json, size_t len, const char *path,
                       char *err, size_t errlen);

void nnc_baseline_free(nnc_baseline_result *r);
/* 0 when no regression, 1 (NNC_EXIT_PROBLEM) otherwise. */
int nnc_baseline_exit_status(const nnc_baseline_result *r);
/* One line per finding ("regression: block W1 (part data): PASS in the
 * baseline, FAIL now ..." or "note: ..."), then the summary line
 * "baseline comparison: PASS|FAIL (N entries compared, M regressions; factor
 * F, floor E)". */
int nnc_baseline_report_text(const nnc_baseline_result *r, FILE *f);

#ifdef __cplusplus
}
#endif
#endif /* NNCHECK_BASELINE_H */
