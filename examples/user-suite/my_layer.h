/* my_layer.h — a user's own layer: y = leaky_relu(W x + b).
 *
 * The descriptor is the plugin ABI's (nncheck/plugin.h): the same code is a
 * plugin file for the tools (my_layer.so, built by `make plugin`) and is
 * linked straight into the Check suite, which hands the descriptor to
 * nncheck in-process (no dlopen). */
#ifndef MY_LAYER_H
#define MY_LAYER_H

#include <nncheck/plugin.h>

/* The layer's descriptor.  Arguments: "in=5 out=3 leak=0.1" (defaults). */
const nnc_plugin *my_layer(void);

#endif
