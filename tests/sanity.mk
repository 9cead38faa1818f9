# The sanity tool, run for real on every bundled plugin and fixture, with
# the exits fixtures/expect.tsv expects.  Included by the top Makefile.am.
check_PROGRAMS += tests/check_sanity
TESTS += tests/check_sanity
tests_check_sanity_SOURCES = tests/check_sanity.c tests/testutil.c
tests_check_sanity_CFLAGS = $(TEST_CFLAGS)
tests_check_sanity_LDADD = $(TEST_LIBS)
