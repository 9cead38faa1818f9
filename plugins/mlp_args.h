/* mlp_args.h — the configuration of the reference network (mlp.c), read
 * from its argument string by mlp_args.c. */
#ifndef NNC_PLUGINS_MLP_ARGS_H
#define NNC_PLUGINS_MLP_ARGS_H

#include <stddef.h>
#include <stdint.h>

#ifndef MLP_NAME
#define MLP_NAME "mlp"
#endif

#define MLP_MAX_LAYERS 32    /* affine layers */
/* Values in one weight matrix (2^28: 2 GiB of doubles) and in the data
 * (2^24, N*K*D: drawn at create()), at most, so that a huge size is
 * refused, never allocated. */
#define MLP_MAX_ELEMS ((size_t)1 << 28)
#define MLP_MAX_DATA ((size_t)1 << 24)

enum { ACT_RELU, ACT_TANH };
enum { LOSS_SOFTMAX, LOSS_SVM };

typedef struct mlp_cfg {
  size_t sizes[MLP_MAX_LAYERS + 1]; /* input, hidden..., classes */
  size_t n_sizes;
  int act;           /* ACT_* */
  int loss;          /* LOSS_* */
  int is_float;      /* dtype=float */
  double dropout;    /* drop probability */
  double reg;        /* L2 strength */
  double scale;      /* weight std; 0: auto */
  double val;        /* validation fraction */
  double margin;     /* SVM margin */
  size_t K, N, D;    /* classes, points per class, input dimensions */
  int bars;          /* data=bars: images of oriented bars, not the spiral */
  size_t side, channels; /* bars: S x S pixels, C channels (D = C*S*S) */
  uint64_t data_seed, init_seed;
  int threads;
  int blas_only;     /* kernels=blas: never the mlp1 kernels */
} mlp_cfg;

/* The plugin's args_help: every key, its default and accepted values. */
extern const char mlp_args_help[];

/* Fill *c with the defaults, then MLP_DEFAULT_ARGS, then args (NULL: none),
 * each string overriding the one before, and check the result as a whole.
 * 0, or -1 with the reason in err; *c is then unspecified. */
int mlp_cfg_parse(mlp_cfg *c, const char *args, char *err, size_t errlen);

/* err = "MLP_NAME: " and the formatted reason, truncated to errlen. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void mlp_set_err(char *err, size_t errlen, const char *fmt, ...);

#endif /* NNC_PLUGINS_MLP_ARGS_H */
