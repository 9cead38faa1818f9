# Isolation: crashing, exiting and hanging plugins under every tool and the
# library's API; crash-safe files under random kills.  Included by the top
# Makefile.am.
check_PROGRAMS += tests/check_isolate
TESTS += tests/check_isolate
tests_check_isolate_SOURCES = tests/check_isolate.c tests/testutil.c
tests_check_isolate_CFLAGS = $(TEST_CFLAGS)
tests_check_isolate_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_killsafe
TESTS += tests/check_killsafe
tests_check_killsafe_SOURCES = tests/check_killsafe.c tests/testutil.c
tests_check_killsafe_CFLAGS = $(TEST_CFLAGS)
tests_check_killsafe_LDADD = $(TEST_LIBS)
