# The isolation benchmark: not part of `make check`; `make bench-isolate`
# builds and runs it.  Included after bench/local.mk.
EXTRA_PROGRAMS += bench/bench_isolate
bench_bench_isolate_SOURCES = bench/bench_isolate.c
CLEANFILES += bench/bench_isolate$(EXEEXT)

# The tool itself, not libtool's wrapper script around it in the build tree.
bench-isolate: bench/bench_isolate$(EXEEXT) tools/gradcheck$(EXEEXT) $(pkglib_LTLIBRARIES)
	st=0; \
	LD_LIBRARY_PATH='$(abs_top_builddir)/lib/.libs' \
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_isolate \
	  $(abs_top_builddir)/tools/.libs/gradcheck || st=1; \
	LD_LIBRARY_PATH='$(abs_top_builddir)/lib/.libs' \
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_isolate \
	  $(abs_top_builddir)/tools/.libs/gradcheck 'layers=2,100,100,3' 41 || st=1; \
	exit $$st
.PHONY: bench-isolate
