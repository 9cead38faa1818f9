# Benchmarks: not part of `make check`; `make bench` builds and runs them.
EXTRA_PROGRAMS = bench/bench_gradcheck bench/bench_project bench/bench_vs_torch
bench_bench_vs_torch_SOURCES = bench/bench_vs_torch.c plugins/spiral.c
bench_bench_vs_torch_LDADD = lib/libnncheck.la -lm
EXTRA_DIST += bench/torch_bench.py bench/summary.sh
bench_bench_gradcheck_SOURCES = bench/bench_gradcheck.c
bench_bench_gradcheck_LDADD = lib/libnncheck.la -lm
bench_bench_project_SOURCES = bench/bench_project.c
bench_bench_project_LDADD = lib/libnncheck.la -lm
CLEANFILES += $(EXTRA_PROGRAMS)

bench: bench/bench_gradcheck$(EXEEXT) bench/bench_project$(EXEEXT) bench/bench_train$(EXEEXT) $(pkglib_LTLIBRARIES)
	st=0; \
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_gradcheck || st=1; \
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_project || st=1; \
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_train || st=1; \
	exit $$st
.PHONY: bench
