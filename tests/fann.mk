# The FANN plugin's suite: gradcheck, sanity and lrprobe run for real on a
# library nobody here wrote.  Only when configure found FANN.  Included by
# the top Makefile.am after tests/local.mk and plugins/fann.mk.
if HAVE_FANN
check_PROGRAMS += tests/check_fann
TESTS += tests/check_fann
tests_check_fann_SOURCES = tests/check_fann.c tests/testutil.c
tests_check_fann_CFLAGS = $(TEST_CFLAGS)
tests_check_fann_LDADD = $(TEST_LIBS)
endif
