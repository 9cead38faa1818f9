/* Learning-rate schedules of the notes' "Annealing the learning rate" and the
 * momentum ramp, as functions of the (fractional) epoch.  Only PLATEAU keeps
 * state, and it lives in the caller's struct: the library keeps none. */
#include "config.h"
#include <nncheck/train.h>
#include <math.h>
#include <string.h>

static const char *const sched_names[] = {"const", "step", "exp", "inv_t",
                                          "plateau"};
#define NSCHED ((int)(sizeof sched_names / sizeof *sched_names))

const char *nnc_sched_name(int kind)
{
  return kind >= 0 && kind < NSCHED ? sched_names[kind] : "unknown";
}

int nnc_sched_parse(const char *name)
{
  if (!name)
    return -1;
  for (int i = 0; i < NSCHED; i++)
    if (!strcmp(name, sched_names[i]))
      return i;
  if (!strcmp(name, "1/t"))
    return NNC_SCHED_INV_T;
  return -1;
}

void nnc_schedule_init(nnc_schedule *s, int kind, double lr0)
{
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->lr0 = lr0;
  s->factor = 0.5;   /* the notes: "by a half every 5 epochs", and 0.5 when
                        the validation error stops improving */
  s->every = 5;
  s->k = 0.1;        /* the notes give no value */
  s->patience = 3;   /* nor here */
  s->threshold = 1e-4;
  s->min_lr = 0;
  s->mu0 = s->mu1 = 0.9;
  s->mu_epochs = 0;
  s->lr = lr0;
  s->best = INFINITY;
  s->since_best = 0;
}

double nnc_schedule_lr(const nnc_schedule *s, double epoch)
{
  double lr;
  switch (s->kind) {
  case NNC_SCHED_STEP:
    lr = s->every > 0 ? s->lr0 * pow(s->factor, floor(epoch / s->every))
                      : s->lr0;
    break;
  case NNC_SCHED_EXP:
    lr = s->lr0 * exp(-s->k * epoch);
    break;
  case NNC_SCHED_INV_T:
    lr = s->lr0 / (1 + s->k * epoch);
    break;
  case NNC_SCHED_PLATEAU:
    lr = s->lr;
    break;
  default:
    lr = s->lr0;
    break;
  }
  return lr < s->min_lr ? s->min_lr : lr;
}

double nnc_schedule_mu(const nnc_schedule *s, double epoch)
{
  if (!(s->mu_epochs > 0) || s->mu1 < 0)
    return s->mu0;
  double f = epoch / s->mu_epochs;
  if (f > 1)
    f = 1;
  if (f < 0)
    f = 0;
  return s->mu0 + (s->mu1 - s->mu0) * f;
}

void nnc_schedule_observe(nnc_schedule *s, double val_loss)
{
  if (s->kind != NNC_SCHED_PLATEAU)
    return;
  /* Relative improvement, so the threshold means the same at every loss
   * scale; a NaN never improves. */
  double bar = s->best - s->threshold * fabs(s->best);
  if (isfinite(val_loss) && (!isfinite(s->best) || val_loss < bar)) {
    s->best = val_loss;
    s->since_best = 0;
    return;
  }
  s->since_best += 1;
  if (s->since_best >= s->patience) {
    s->lr *= s->factor;
    if (s->lr < s->min_lr)
      s->lr = s->min_lr;
    s->since_best = 0;
  }
}
