# Performance contracts a test can hold: threaded checks give the serial
# report byte for byte; the per-coordinate and per-step loops allocate
# nothing (malloc interposed in the test program).
check_PROGRAMS += tests/check_perf
TESTS += tests/check_perf
tests_check_perf_SOURCES = tests/check_perf.c tests/testutil.c
tests_check_perf_CFLAGS = $(TEST_CFLAGS)
tests_check_perf_LDADD = $(TEST_LIBS)
