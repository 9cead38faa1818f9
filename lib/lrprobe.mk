# The learning-rate probe: library part, its header and the lrprobe tool.
# Included by the top Makefile.am; paths are relative to the top.

lib_libnncheck_la_SOURCES += lib/lrprobe.c lib/lrprobe_internal.h \
	lib/lrprobe_suggest.c lib/lrprobe_report.c lib/lrprobe_plot.c
nncheckinclude_HEADERS += include/nncheck/lrprobe.h

bin_PROGRAMS += tools/lrprobe
tools_lrprobe_SOURCES = tools/lrprobe.c tools/cli.c tools/cli.h
tools_lrprobe_LDADD = lib/libnncheck.la
