# `make check-valgrind`: the tools on the reference net, fixtures and
# refused input under valgrind's memcheck (tests/valgrind.sh), through
# libtool so that the real binaries behind the wrappers are checked.
# Needs the Debian package valgrind.  Included by the top Makefile.am.
VALGRIND = valgrind
EXTRA_DIST += tests/valgrind.sh .ci/valgrind
check-valgrind: all $(check_LTLIBRARIES)
	SRCDIR='$(abs_top_srcdir)' BUILDDIR='$(abs_top_builddir)' \
	VALGRIND='$(VALGRIND)' LIBTOOL='$(abs_top_builddir)/libtool' \
	  $(SHELL) $(top_srcdir)/tests/valgrind.sh
.PHONY: check-valgrind
