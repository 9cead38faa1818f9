# The search and ensemble suite: the hpsearch and ensemble tools run for
# real on the bundled mlp, and the library in-process.  Included by the
# top Makefile.am after tests/local.mk; paths are relative to the top.

check_PROGRAMS += tests/check_search
TESTS += tests/check_search

tests_check_search_SOURCES = tests/check_search.c tests/testutil.c
tests_check_search_CFLAGS = $(TEST_CFLAGS)
tests_check_search_LDADD = $(TEST_LIBS)

# The cluster checks: a search run by `mpirun -np 2` workers and by a Slurm
# job array on a real single-node Slurm, compared with one local worker.
# Needs root and the Debian packages slurm-wlm, munge, openmpi-bin; a part
# whose programs are missing is skipped.  Not part of `make check`.
EXTRA_DIST += .ci/cluster
check-cluster: all
	HPSEARCH='$(abs_top_builddir)/tools/hpsearch' \
	NNCHECK_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs' \
	MPIRUN='$(MPIRUN)' $(SHELL) $(abs_top_srcdir)/.ci/cluster
.PHONY: check-cluster
