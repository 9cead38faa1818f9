# The landscape tool and checkpoints: Check suites through the TAP driver
# (LOG_DRIVER and the environment come from tests/local.mk).
check_PROGRAMS += tests/check_landscape tests/check_checkpoint
TESTS += tests/check_landscape tests/check_checkpoint

tests_check_landscape_SOURCES = tests/check_landscape.c tests/testutil.c
tests_check_landscape_CFLAGS = $(TEST_CFLAGS)
tests_check_landscape_LDADD = $(TEST_LIBS)

tests_check_checkpoint_SOURCES = tests/check_checkpoint.c tests/testutil.c
tests_check_checkpoint_CFLAGS = $(TEST_CFLAGS)
tests_check_checkpoint_LDADD = $(TEST_LIBS)
