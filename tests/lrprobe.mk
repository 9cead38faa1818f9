# The lrprobe suite: the tool run for real on bundled plugins and fixtures,
# and the library in-process for the "changes nothing" assertions.
# Included by the top Makefile.am after tests/local.mk; paths are relative
# to the top.

check_PROGRAMS += tests/check_lrprobe
TESTS += tests/check_lrprobe

tests_check_lrprobe_SOURCES = tests/check_lrprobe.c tests/testutil.c
tests_check_lrprobe_CFLAGS = $(TEST_CFLAGS)
tests_check_lrprobe_LDADD = $(TEST_LIBS)
