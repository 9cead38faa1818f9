# Benchmarks: not part of `make check`; `make bench` builds and runs them.
EXTRA_PROGRAMS = bench/bench_gradcheck
bench_bench_gradcheck_SOURCES = bench/bench_gradcheck.c
bench_bench_gradcheck_LDADD = lib/libnncheck.la -lm
CLEANFILES += $(EXTRA_PROGRAMS)

bench: bench/bench_gradcheck$(EXEEXT) $(pkglib_LTLIBRARIES)
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_gradcheck
.PHONY: bench
