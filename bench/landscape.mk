# The landscape benchmark: not part of `make check`; `make bench-landscape`
# builds and runs it.  Included after bench/local.mk.
EXTRA_PROGRAMS += bench/bench_landscape
bench_bench_landscape_SOURCES = bench/bench_landscape.c
bench_bench_landscape_LDADD = lib/libnncheck.la -lm
CLEANFILES += bench/bench_landscape$(EXEEXT)

bench-landscape: bench/bench_landscape$(EXEEXT) $(pkglib_LTLIBRARIES)
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_landscape
.PHONY: bench-landscape
