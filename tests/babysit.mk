# The babysit suite: the tool run for real on the reference net and the
# fixtures, the library in-process for resuming, and the HTML report in
# headless Chromium (SKIPped when chromium is absent, unless
# NNC_REQUIRE_CHROMIUM=1).  Links zlib to decode the screenshot.  Included
# by the top Makefile.am after tests/local.mk; paths are relative to the
# top.
check_PROGRAMS += tests/check_babysit
TESTS += tests/check_babysit
tests_check_babysit_SOURCES = tests/check_babysit.c tests/testutil.c
tests_check_babysit_CFLAGS = $(TEST_CFLAGS)
tests_check_babysit_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_babysit_report
TESTS += tests/check_babysit_report
tests_check_babysit_report_SOURCES = tests/check_babysit_report.c tests/testutil.c
tests_check_babysit_report_CFLAGS = $(TEST_CFLAGS)
tests_check_babysit_report_LDADD = $(TEST_LIBS) -lz

# A least-squares net whose gradient of block b turns NaN at the sixth
# backward call: babysit must name step 6 and block b.
check_LTLIBRARIES += tests/plugins/nan_grad_late.la
tests_plugins_nan_grad_late_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_nan_grad_late_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_NAN_GRAD_LATE
tests_plugins_nan_grad_late_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
