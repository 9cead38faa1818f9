# Tests: Check suites run through automake's TAP driver, so that every Check
# test case is listed in `make check` output.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_TESTS_ENVIRONMENT = \
	CK_TAP_LOG_FILE_NAME=- CK_VERBOSITY=silent CK_DEFAULT_TIMEOUT=600 \
	NNC_TOOLS_DIR='$(abs_top_builddir)/tools' \
	NNC_TEST_PLUGINS='$(abs_top_builddir)/tests/plugins/.libs' \
	NNC_SRCDIR='$(abs_top_srcdir)' \
	NNC_BUILDDIR='$(abs_top_builddir)'; \
	export CK_TAP_LOG_FILE_NAME CK_VERBOSITY CK_DEFAULT_TIMEOUT NNC_TOOLS_DIR \
	NNC_TEST_PLUGINS NNC_SRCDIR NNC_BUILDDIR;

TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = lib/libnncheck.la $(CHECK_LIBS) -lm

noinst_HEADERS += tests/testutil.h

check_PROGRAMS += tests/check_model tests/check_gradcheck tests/check_user_suite \
	tests/check_plot tests/check_hardcases
TESTS += tests/check_model tests/check_gradcheck tests/check_user_suite \
	tests/check_plot tests/check_hardcases

tests_check_model_SOURCES = tests/check_model.c tests/testutil.c
tests_check_model_CFLAGS = $(TEST_CFLAGS)
tests_check_model_LDADD = $(TEST_LIBS)

tests_check_hardcases_SOURCES = tests/check_hardcases.c tests/testutil.c
tests_check_hardcases_CFLAGS = $(TEST_CFLAGS)
tests_check_hardcases_LDADD = $(TEST_LIBS)

tests_check_gradcheck_SOURCES = tests/check_gradcheck.c tests/testutil.c
tests_check_gradcheck_CFLAGS = $(TEST_CFLAGS)
tests_check_gradcheck_LDADD = $(TEST_LIBS)

# A user's own suite: a custom layer compiled into the test, checked
# in-process through nncheck/check.h.
tests_check_user_suite_SOURCES = tests/check_user_suite.c
tests_check_user_suite_CFLAGS = $(TEST_CFLAGS)
tests_check_user_suite_LDADD = $(TEST_LIBS)

tests_check_plot_SOURCES = tests/check_plot.c
tests_check_plot_CFLAGS = $(TEST_CFLAGS)
tests_check_plot_LDADD = $(TEST_LIBS)

# Plugins that exist to be refused or to misbehave: never bundled.
TESTPLUGIN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere $(SAN_LDFLAGS)
check_LTLIBRARIES += tests/plugins/abi_future.la tests/plugins/no_entry.la \
	tests/plugins/missing_loss.la tests/plugins/tiny_size.la \
	tests/plugins/nan_loss.la tests/plugins/nan_grad.la \
	tests/plugins/create_fails.la tests/plugins/tiny_grad.la \
	tests/plugins/big_offset.la tests/plugins/roundoff.la
tests_plugins_abi_future_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_abi_future_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_ABI_FUTURE
tests_plugins_abi_future_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_no_entry_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_no_entry_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_NO_ENTRY
tests_plugins_no_entry_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_missing_loss_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_missing_loss_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_MISSING_LOSS
tests_plugins_missing_loss_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_tiny_size_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_tiny_size_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_TINY_SIZE
tests_plugins_tiny_size_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_nan_loss_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_nan_loss_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_NAN_LOSS
tests_plugins_nan_loss_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_nan_grad_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_nan_grad_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_NAN_GRAD
tests_plugins_nan_grad_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_create_fails_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_create_fails_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_CREATE_FAILS
tests_plugins_create_fails_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_tiny_grad_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_tiny_grad_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_TINY_GRAD
tests_plugins_tiny_grad_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_big_offset_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_big_offset_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_BIG_OFFSET
tests_plugins_big_offset_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
tests_plugins_roundoff_la_SOURCES = tests/plugins/misbehave.c
tests_plugins_roundoff_la_CPPFLAGS = $(AM_CPPFLAGS) -DMB_ROUNDOFF
tests_plugins_roundoff_la_LDFLAGS = $(TESTPLUGIN_LDFLAGS)
