# The conventions every tool keeps (--quiet, --verbose, --color, --version,
# JSON schemas and their documentation) and CI baselines: the library's
# comparison and strict JSON reader (compiled in, to test it directly), and
# the tools run for real.  Included by the top Makefile.am after
# tests/local.mk; paths are relative to the top.
check_PROGRAMS += tests/check_conventions
TESTS += tests/check_conventions
tests_check_conventions_SOURCES = tests/check_conventions.c tests/testutil.c \
	lib/jsonread.c
tests_check_conventions_CFLAGS = $(TEST_CFLAGS)
tests_check_conventions_LDADD = $(TEST_LIBS)
