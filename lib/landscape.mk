# Checkpoints and the landscape tool.  Included by the top Makefile.am;
# paths are relative to the top.
lib_libnncheck_la_SOURCES += \
	lib/checkpoint.c lib/checkpoint_internal.h lib/checkpoint_read.c \
	lib/landscape.c lib/landscape_internal.h lib/landscape_pool.c \
	lib/landscape_paths.c lib/landscape_report.c lib/landscape_plot.c
nncheckinclude_HEADERS += include/nncheck/checkpoint.h \
	include/nncheck/landscape.h

bin_PROGRAMS += tools/landscape
tools_landscape_SOURCES = tools/landscape.c tools/cli.c tools/cli.h
tools_landscape_LDADD = lib/libnncheck.la
