# Babysitting a training run (include/nncheck/babysit.h) in the library, and
# the babysit tool.  init_attr.c (which blocks feed a probed layer) is shared
# with sanity's init check.  Included by the top Makefile.am; paths are
# relative to the top.
lib_libnncheck_la_SOURCES += lib/babysit.c lib/babysit_internal.h \
	lib/babysit_stats.c lib/babysit_diag.c lib/babysit_ckpt.c \
	lib/babysit_report.c lib/babysit_html.c lib/plot_babysit.c \
	lib/init_attr.c lib/init_attr.h lib/optim_internal.h
nncheckinclude_HEADERS += include/nncheck/babysit.h

bin_PROGRAMS += tools/babysit
tools_babysit_SOURCES = tools/babysit.c tools/cli.c tools/cli.h
tools_babysit_LDADD = lib/libnncheck.la
