# Layers people get wrong: conv2d, max-pool, ReLU at zero, batch and layer
# normalization, softmax and self-attention.  The correct ones are bundled as
# plugins; their bug twins are fixtures built from the same source with
# -DHL_BUG=<id>, so that a twin differs from the correct layer by exactly one
# bug.  Included by the top Makefile.am; paths are relative to the top.
#
#   -DHL_LAYER=<id>  1 conv2d, 2 maxpool2, 3 relu, 4 batchnorm, 5 layernorm,
#                    6 softmax, 7 attention
#   -DHL_BUG=<id>    0: correct; the ids, names and one-line summaries of the
#                    bugs are in plugins/hard_layers.h and hard_layers.c
#   -DHL_NAME, -DHL_SUMMARY, -DHL_DEFAULT_ARGS: a named correct
#                    configuration (arguments parsed before the user's)

HARD_SOURCES = plugins/hard_layers.c plugins/hard_layers.h \
	plugins/hard_frame.c plugins/hard_kernels.c plugins/hard_kernels_impl.h \
	plugins/nn_layers.c plugins/nn_layers.h plugins/nn_layers_impl.h

# --- conv2d ---------------------------------------------------------------

pkglib_LTLIBRARIES += plugins/conv2d.la
plugins_conv2d_la_SOURCES = $(HARD_SOURCES)
plugins_conv2d_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
plugins_conv2d_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=1 -DHL_BUG=0
plugins_conv2d_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_conv2d_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/conv2d_f32.la
fixtures_conv2d_f32_la_SOURCES = $(HARD_SOURCES)
fixtures_conv2d_f32_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_conv2d_f32_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=1 -DHL_BUG=0 \
	-DHL_NAME='"conv2d_f32"' \
	-DHL_SUMMARY='"correct conv2d computed in float: finite differences need float tolerances"' \
	-DHL_DEFAULT_ARGS='"dtype=float"'
fixtures_conv2d_f32_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_conv2d_f32_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/bug_conv2d_noflip.la
fixtures_bug_conv2d_noflip_la_SOURCES = $(HARD_SOURCES)
fixtures_bug_conv2d_noflip_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_bug_conv2d_noflip_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=1 -DHL_BUG=1
fixtures_bug_conv2d_noflip_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_bug_conv2d_noflip_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/bug_conv2d_border.la
fixtures_bug_conv2d_border_la_SOURCES = $(HARD_SOURCES)
fixtures_bug_conv2d_border_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_bug_conv2d_border_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=1 -DHL_BUG=2
fixtures_bug_conv2d_border_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_bug_conv2d_border_la_LIBADD = $(OPENBLAS_LIBS) -lm

# --- 2x2 max-pool and ReLU, on quantized inputs with ties and zeros ------

pkglib_LTLIBRARIES += plugins/maxpool2.la
plugins_maxpool2_la_SOURCES = $(HARD_SOURCES)
plugins_maxpool2_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
plugins_maxpool2_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=2 -DHL_BUG=0
plugins_maxpool2_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_maxpool2_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/maxpool2_ties.la
fixtures_maxpool2_ties_la_SOURCES = $(HARD_SOURCES)
fixtures_maxpool2_ties_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_maxpool2_ties_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=2 -DHL_BUG=0 \
	-DHL_NAME='"maxpool2_ties"' \
	-DHL_SUMMARY='"correct 2x2 max-pool on inputs of 3 levels, where most windows tie: dy to the first maximum only"' \
	-DHL_DEFAULT_ARGS='"levels=3"'
fixtures_maxpool2_ties_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_maxpool2_ties_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/bug_maxpool_alltied.la
fixtures_bug_maxpool_alltied_la_SOURCES = $(HARD_SOURCES)
fixtures_bug_maxpool_alltied_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_bug_maxpool_alltied_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=2 -DHL_BUG=3
fixtures_bug_maxpool_alltied_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_bug_maxpool_alltied_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/relu_zeros.la
fixtures_relu_zeros_la_SOURCES = $(HARD_SOURCES)
fixtures_relu_zeros_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_relu_zeros_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=3 -DHL_BUG=0
fixtures_relu_zeros_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_relu_zeros_la_LIBADD = $(OPENBLAS_LIBS) -lm

# --- normalization ----------------------------------------------------------

pkglib_LTLIBRARIES += plugins/batchnorm.la
plugins_batchnorm_la_SOURCES = $(HARD_SOURCES)
plugins_batchnorm_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
plugins_batchnorm_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=4 -DHL_BUG=0
plugins_batchnorm_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_batchnorm_la_LIBADD = $(OPENBLAS_LIBS) -lm

pkglib_LTLIBRARIES += plugins/layernorm.la
plugins_layernorm_la_SOURCES = $(HARD_SOURCES)
plugins_layernorm_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
plugins_layernorm_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=5 -DHL_BUG=0
plugins_layernorm_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_layernorm_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/bug_layernorm_nomean.la
fixtures_bug_layernorm_nomean_la_SOURCES = $(HARD_SOURCES)
fixtures_bug_layernorm_nomean_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_bug_layernorm_nomean_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=5 -DHL_BUG=4
fixtures_bug_layernorm_nomean_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_bug_layernorm_nomean_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/bug_norm_batchstats.la
fixtures_bug_norm_batchstats_la_SOURCES = $(HARD_SOURCES)
fixtures_bug_norm_batchstats_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_bug_norm_batchstats_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=5 -DHL_BUG=5
fixtures_bug_norm_batchstats_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_bug_norm_batchstats_la_LIBADD = $(OPENBLAS_LIBS) -lm

# --- softmax and attention ----------------------------------------------------

pkglib_LTLIBRARIES += plugins/softmax.la
plugins_softmax_la_SOURCES = $(HARD_SOURCES)
plugins_softmax_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
plugins_softmax_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=6 -DHL_BUG=0
plugins_softmax_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_softmax_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/bug_softmax_diag.la
fixtures_bug_softmax_diag_la_SOURCES = $(HARD_SOURCES)
fixtures_bug_softmax_diag_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_bug_softmax_diag_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=6 -DHL_BUG=6
fixtures_bug_softmax_diag_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_bug_softmax_diag_la_LIBADD = $(OPENBLAS_LIBS) -lm

pkglib_LTLIBRARIES += plugins/attention.la
plugins_attention_la_SOURCES = $(HARD_SOURCES)
plugins_attention_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
plugins_attention_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=7 -DHL_BUG=0
plugins_attention_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_attention_la_LIBADD = $(OPENBLAS_LIBS) -lm

fixtures_LTLIBRARIES += fixtures/bug_attention_scale.la
fixtures_bug_attention_scale_la_SOURCES = $(HARD_SOURCES)
fixtures_bug_attention_scale_la_CFLAGS = $(PLUGIN_CFLAGS) $(OPENBLAS_CFLAGS)
fixtures_bug_attention_scale_la_CPPFLAGS = $(AM_CPPFLAGS) -DHL_LAYER=7 -DHL_BUG=7
fixtures_bug_attention_scale_la_LDFLAGS = $(PLUGIN_LDFLAGS)
fixtures_bug_attention_scale_la_LIBADD = $(OPENBLAS_LIBS) -lm
