# The hostile-input catalogue (tests/badinput.tsv) run through the real
# tools, and the checkpoint reader on every cut and flipped byte of a valid
# file.  Included by the top Makefile.am.
check_PROGRAMS += tests/check_badinput
TESTS += tests/check_badinput
tests_check_badinput_SOURCES = tests/check_badinput.c tests/testutil.c
tests_check_badinput_CFLAGS = $(TEST_CFLAGS)
tests_check_badinput_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/badinput.tsv tests/fuzz-regress
