# Hyperparameter search and ensembles: library part, headers and the
# hpsearch and ensemble tools.  Included by the top Makefile.am; paths are
# relative to the top.

lib_libnncheck_la_SOURCES += lib/search_internal.h lib/search_space.c \
	lib/search_dir.c lib/search_worker.c lib/search_report.c
nncheckinclude_HEADERS += include/nncheck/search.h

bin_PROGRAMS += tools/hpsearch
tools_hpsearch_SOURCES = tools/hpsearch.c tools/cli.c tools/cli.h
tools_hpsearch_LDADD = lib/libnncheck.la

lib_libnncheck_la_SOURCES += lib/ensemble.c
nncheckinclude_HEADERS += include/nncheck/ensemble.h

bin_PROGRAMS += tools/ensemble
tools_ensemble_SOURCES = tools/ensemble.c tools/cli.c tools/cli.h
tools_ensemble_LDADD = lib/libnncheck.la
