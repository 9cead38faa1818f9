# The training step of the reference net against its GEMM floor: not part of
# `make check`; `make bench-train` builds and runs it.  Included after
# bench/local.mk, which starts EXTRA_PROGRAMS.
EXTRA_PROGRAMS += bench/bench_train
bench_bench_train_SOURCES = bench/bench_train.c
bench_bench_train_CFLAGS = $(AM_CFLAGS) $(OPENBLAS_CFLAGS)
bench_bench_train_LDADD = lib/libnncheck.la $(OPENBLAS_LIBS) -lm

bench-train: bench/bench_train$(EXEEXT) $(pkglib_LTLIBRARIES)
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	  $(abs_top_builddir)/bench/bench_train
.PHONY: bench-train
