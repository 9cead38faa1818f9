# The bundled plugins: the reference network (mlp) on OpenBLAS, its layers one
# by one, two minimal examples, and named configurations of mlp as correct
# fixtures.  Included by the top Makefile.am; paths are relative to the top.
#
# One source, several plugins:
#   plugins/mlp.c           -DMLP_NAME, -DMLP_SUMMARY, -DMLP_DEFAULT_ARGS (the
#                           default arguments, parsed before the user's)
#   plugins/layer_plugins.c -DNNC_LAYER_ID=1..6: affine relu tanh dropout
#                           softmax_loss svm_loss

NN_KERNEL_SOURCES = plugins/nn_layers.c plugins/nn_layers.h \
	plugins/nn_layers_impl.h
MLP_SOURCES = plugins/mlp.c plugins/mlp_args.c plugins/mlp_args.h \
	$(NN_KERNEL_SOURCES) plugins/nn_mlp1.c plugins/nn_mlp1.h \
	plugins/nn_mlp1_impl.h plugins/spiral.c plugins/spiral.h
LAYER_SOURCES = plugins/layer_plugins.c $(NN_KERNEL_SOURCES)
NN_PLUGIN_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
NN_PLUGIN_LIBADD = $(OPENBLAS_LIBS) -lm

# --- the reference network ---------------------------------------------------

pkglib_LTLIBRARIES += plugins/mlp.la
plugins_mlp_la_SOURCES = $(MLP_SOURCES)
plugins_mlp_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
plugins_mlp_la_CPPFLAGS = $(AM_CPPFLAGS)
plugins_mlp_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_mlp_la_LIBADD = $(NN_PLUGIN_LIBADD)

# --- its layers, one plugin each ---------------------------------------------

pkglib_LTLIBRARIES += plugins/affine.la plugins/relu.la plugins/tanh.la \
	plugins/dropout.la plugins/softmax_loss.la plugins/svm_loss.la

plugins_affine_la_SOURCES = $(LAYER_SOURCES)
plugins_affine_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
plugins_affine_la_CPPFLAGS = $(AM_CPPFLAGS) -DNNC_LAYER_ID=1
plugins_affine_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_affine_la_LIBADD = $(NN_PLUGIN_LIBADD)

plugins_relu_la_SOURCES = $(LAYER_SOURCES)
plugins_relu_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
plugins_relu_la_CPPFLAGS = $(AM_CPPFLAGS) -DNNC_LAYER_ID=2
plugins_relu_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_relu_la_LIBADD = $(NN_PLUGIN_LIBADD)

plugins_tanh_la_SOURCES = $(LAYER_SOURCES)
plugins_tanh_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
plugins_tanh_la_CPPFLAGS = $(AM_CPPFLAGS) -DNNC_LAYER_ID=3
plugins_tanh_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_tanh_la_LIBADD = $(NN_PLUGIN_LIBADD)

plugins_dropout_la_SOURCES = $(LAYER_SOURCES)
plugins_dropout_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
plugins_dropout_la_CPPFLAGS = $(AM_CPPFLAGS) -DNNC_LAYER_ID=4
plugins_dropout_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_dropout_la_LIBADD = $(NN_PLUGIN_LIBADD)

plugins_softmax_loss_la_SOURCES = $(LAYER_SOURCES)
plugins_softmax_loss_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
plugins_softmax_loss_la_CPPFLAGS = $(AM_CPPFLAGS) -DNNC_LAYER_ID=5
plugins_softmax_loss_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_softmax_loss_la_LIBADD = $(NN_PLUGIN_LIBADD)

plugins_svm_loss_la_SOURCES = $(LAYER_SOURCES)
plugins_svm_loss_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
plugins_svm_loss_la_CPPFLAGS = $(AM_CPPFLAGS) -DNNC_LAYER_ID=6
plugins_svm_loss_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_svm_loss_la_LIBADD = $(NN_PLUGIN_LIBADD)

# --- minimal examples to copy (plain C, no BLAS) ------------------------------

pkglib_LTLIBRARIES += plugins/example_layer.la plugins/example_net.la

plugins_example_layer_la_SOURCES = plugins/example_layer.c
plugins_example_layer_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_example_layer_la_LDFLAGS = $(PLUGIN_LDFLAGS)

plugins_example_net_la_SOURCES = plugins/example_net.c
plugins_example_net_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_example_net_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_example_net_la_LIBADD = -lm

# --- correct configurations of mlp, as fixtures --------------------------------

fixtures_LTLIBRARIES += fixtures/mlp_relu_kinks.la
fixtures_mlp_relu_kinks_la_SOURCES = $(MLP_SOURCES)
fixtures_mlp_relu_kinks_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
fixtures_mlp_relu_kinks_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMLP_NAME='"mlp_relu_kinks"' \
	-DMLP_SUMMARY='"correct mlp with 128 ReLU units over 3000 spiral points (2400 training): finite differences often cross kinks"' \
	-DMLP_DEFAULT_ARGS='"layers=2,64,64,3 N=1000"'
fixtures_mlp_relu_kinks_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_mlp_relu_kinks_la_LIBADD = $(NN_PLUGIN_LIBADD)

fixtures_LTLIBRARIES += fixtures/mlp_svm.la
fixtures_mlp_svm_la_SOURCES = $(MLP_SOURCES)
fixtures_mlp_svm_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
fixtures_mlp_svm_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMLP_NAME='"mlp_svm"' \
	-DMLP_SUMMARY='"correct mlp with the multiclass SVM (hinge) loss, margin 1: hinge kinks beside ReLU kinks"' \
	-DMLP_DEFAULT_ARGS='"loss=svm margin=1"'
fixtures_mlp_svm_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_mlp_svm_la_LIBADD = $(NN_PLUGIN_LIBADD)

fixtures_LTLIBRARIES += fixtures/mlp_f32.la
fixtures_mlp_f32_la_SOURCES = $(MLP_SOURCES)
fixtures_mlp_f32_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
fixtures_mlp_f32_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMLP_NAME='"mlp_f32"' \
	-DMLP_SUMMARY='"correct mlp computed in float: finite differences need float tolerances"' \
	-DMLP_DEFAULT_ARGS='"dtype=float"'
fixtures_mlp_f32_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_mlp_f32_la_LIBADD = $(NN_PLUGIN_LIBADD)

fixtures_LTLIBRARIES += fixtures/mlp_dropout.la
fixtures_mlp_dropout_la_SOURCES = $(MLP_SOURCES)
fixtures_mlp_dropout_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
fixtures_mlp_dropout_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMLP_NAME='"mlp_dropout"' \
	-DMLP_SUMMARY='"correct mlp with inverted dropout 0.5 in training mode: the seed fixes the mask"' \
	-DMLP_DEFAULT_ARGS='"dropout=0.5"'
fixtures_mlp_dropout_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_mlp_dropout_la_LIBADD = $(NN_PLUGIN_LIBADD)

fixtures_LTLIBRARIES += fixtures/mlp_tanh6.la
fixtures_mlp_tanh6_la_SOURCES = $(MLP_SOURCES)
fixtures_mlp_tanh6_la_CFLAGS = $(NN_PLUGIN_CFLAGS)
fixtures_mlp_tanh6_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DMLP_NAME='"mlp_tanh6"' \
	-DMLP_SUMMARY='"correct mlp with six hidden tanh layers of 50: first-layer gradients pass through seven layers"' \
	-DMLP_DEFAULT_ARGS='"act=tanh layers=2,50,50,50,50,50,50,3"'
fixtures_mlp_tanh6_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_mlp_tanh6_la_LIBADD = $(NN_PLUGIN_LIBADD)
