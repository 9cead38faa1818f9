# The training core's suite: update rules by hand, L-BFGS, schedules, the
# sampler, evaluation, snapshots, and runs on in-process plugins and mlp.
check_PROGRAMS += tests/check_train
TESTS += tests/check_train
tests_check_train_SOURCES = tests/check_train.c
tests_check_train_CFLAGS = $(TEST_CFLAGS)
tests_check_train_LDADD = $(TEST_LIBS)
