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

# A descriptor whose size is absurdly large (tiny_size is its small twin in
# tests/local.mk).
check_LTLIBRARIES += tests/plugins/huge_size.la
tests_plugins_huge_size_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_huge_size_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_HUGE_SIZE
tests_plugins_huge_size_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)

# A block without data.
check_LTLIBRARIES += tests/plugins/null_data.la
tests_plugins_null_data_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_null_data_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_NULL_DATA
tests_plugins_null_data_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
