# The sanity checks (include/nncheck/sanity.h) in the library, and the tool
# that runs them.  Included by the top Makefile.am; paths are relative to
# the top.
lib_libnncheck_la_SOURCES += lib/sanity.c lib/sanity_internal.h \
	lib/sanity_init.c lib/sanity_train.c lib/sanity_report.c \
	lib/plot_sanity.c
nncheckinclude_HEADERS += include/nncheck/sanity.h

bin_PROGRAMS += tools/sanity
tools_sanity_SOURCES = tools/sanity.c tools/cli.c tools/cli.h
tools_sanity_LDADD = lib/libnncheck.la
