# The FANN plugin: a net from a library nobody here wrote (FANN, its double
# build libdoublefann), its weights, MSE and backpropagated slopes exposed to
# nncheck.  Built only when configure found FANN (Debian: libfann-dev).
# Included by the top Makefile.am; paths are relative to the top.
if HAVE_FANN
pkglib_LTLIBRARIES += plugins/fann.la
plugins_fann_la_SOURCES = plugins/fann_net.c plugins/spiral.c plugins/spiral.h
plugins_fann_la_CFLAGS = $(PLUGIN_CFLAGS) $(FANN_CFLAGS)
plugins_fann_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_fann_la_LIBADD = $(FANN_LIBS)
endif
