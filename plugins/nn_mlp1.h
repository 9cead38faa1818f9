/* nn_mlp1.h — a net of one hidden ReLU layer with few inputs and few
 * classes (the spiral MLP: 2 inputs, 3 classes), forward and backward each
 * in one pass over the examples, in AVX-512 registers (nn_mlp1_impl.h says
 * how).  Built into the mlp plugins only.
 *
 * pad: the scratch elements the kernels need for D inputs, H hidden units
 *   and K classes, or 0 where the processor or the shape is not theirs
 *   (then nothing else here may be called, and the net runs on nn_ops).
 * fwd: h = max(x W1 + b1, +0) (n x H), its decisions folded into *w unless
 *   w is NULL (as nn_affine_relu_fwd folds them), and s = h W2 + b2 (n x K).
 * softmax: the mean softmax cross-entropy of the n x K scores s, and its
 *   gradient transposed (K x n) into dsT, as bwd takes it; tmp: n x K
 *   scratch.
 * bwd: from that h and dsT: gh = dL/dh unless gh is NULL, dW1 and dW2 (each
 *   plus reg W), db1 and db2.
 * Conventions as in nn_layers.h: row-major, outputs assigned. */
#ifndef NNC_PLUGINS_NN_MLP1_H
#define NNC_PLUGINS_NN_MLP1_H

#include "nn_layers.h"

#define NN_M1_HMAX 1024 /* the widest hidden layer the kernels take */

typedef struct nn_mlp1_ops {
  size_t (*pad)(size_t D, size_t H, size_t K);
  void (*fwd)(const void *x, const void *W1, const void *b1, const void *W2,
              const void *b2, void *h, void *s, size_t n, size_t D, size_t H,
              size_t K, void *pad, nn_winners *w);
  double (*softmax)(const void *s, const int32_t *label, size_t n, size_t K,
                    void *dsT, void *tmp);
  void (*bwd)(const void *x, const void *h, const void *dsT, const void *W1,
              const void *W2, void *gh, void *dW1, void *db1, void *dW2,
              void *db2, size_t n, size_t D, size_t H, size_t K, double reg,
              void *pad);
} nn_mlp1_ops;

extern const nn_mlp1_ops nn_mlp1_f64;
extern const nn_mlp1_ops nn_mlp1_f32;

#endif /* NNC_PLUGINS_NN_MLP1_H */
