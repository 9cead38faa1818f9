# The search and ensemble suite: the hpsearch and ensemble tools run for
# real on the bundled mlp, and the library in-process.  Included by the
# top Makefile.am after tests/local.mk; paths are relative to the top.

check_PROGRAMS += tests/check_search
TESTS += tests/check_search

tests_check_search_SOURCES = tests/check_search.c tests/testutil.c
tests_check_search_CFLAGS = $(TEST_CFLAGS)
tests_check_search_LDADD = $(TEST_LIBS)
