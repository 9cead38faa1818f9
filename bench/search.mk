# The hyperparameter-search benchmark: trials per minute with 1 and 2 local
# workers, and the claim/checkpoint protocol against training.  Not part of
# `make check`; `make bench-search` builds and runs it.  Included after
# bench/local.mk, which starts EXTRA_PROGRAMS.
EXTRA_PROGRAMS += bench/bench_search
bench_bench_search_SOURCES = bench/bench_search.c
bench_bench_search_LDADD = -lm

bench-search: bench/bench_search$(EXEEXT) tools/hpsearch$(EXEEXT) $(pkglib_LTLIBRARIES)
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_search $(abs_top_builddir)/tools/hpsearch
.PHONY: bench-search
