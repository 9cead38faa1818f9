# Benchmarks: not part of `make check`; `make bench` builds and runs them.
EXTRA_PROGRAMS = bench/bench_gradcheck bench/bench_project bench/bench_vs_torch
bench_bench_vs_torch_SOURCES = bench/bench_vs_torch.c plugins/spiral.c
bench_bench_vs_torch_CFLAGS = $(AM_CFLAGS) $(OPENBLAS_CFLAGS)
bench_bench_vs_torch_LDADD = lib/libnncheck.la $(OPENBLAS_LIBS) -lm
EXTRA_DIST += bench/torch_bench.py bench/summary.sh
bench_bench_gradcheck_SOURCES = bench/bench_gradcheck.c bench/bench_util.h
bench_bench_gradcheck_LDADD = lib/libnncheck.la -lm
bench_bench_project_SOURCES = bench/bench_project.c
bench_bench_project_LDADD = lib/libnncheck.la -lm
CLEANFILES += $(EXTRA_PROGRAMS)

# One command: every benchmark in one run, each one's own lines, then one
# table of every ratio against its target (bench/summary.sh).  Exit 1 if a
# ratio misses its target; a benchmark that cannot run (no python3-torch)
# says "skipped" and does not fail.
BENCH_ENV = NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	NNC_SRCDIR='$(abs_top_srcdir)' OPENBLAS_NUM_THREADS=1
bench: bench/bench_gradcheck$(EXEEXT) bench/bench_project$(EXEEXT) \
	bench/bench_train$(EXEEXT) bench/bench_vs_torch$(EXEEXT) $(pkglib_LTLIBRARIES)
	@for b in bench_gradcheck bench_project bench_train bench_vs_torch; do \
	  echo "== $$b"; \
	  $(BENCH_ENV) $(abs_top_builddir)/bench/$$b > bench/$$b.log 2>&1; \
	  cat bench/$$b.log; \
	done; \
	$(SHELL) $(abs_top_srcdir)/bench/summary.sh bench/bench_gradcheck.log \
	  bench/bench_project.log bench/bench_train.log bench/bench_vs_torch.log
CLEANFILES += bench/bench_gradcheck.log bench/bench_project.log \
	bench/bench_train.log bench/bench_vs_torch.log
.PHONY: bench
