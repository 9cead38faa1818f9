# What a user does with the INSTALLED nncheck (tests/installcheck.sh): the
# tools find the bundled plugins by name, an out-of-tree plugin builds with
# pkg-config and is passed (its broken copy failed), and examples/user-suite
# builds, passes and fails when broken.  Runs in `make installcheck`, hence
# in `make distcheck`.  Included by the top Makefile.am.
EXTRA_DIST += tests/installcheck.sh examples/user-suite/Makefile \
	examples/user-suite/my_layer.c examples/user-suite/my_layer.h \
	examples/user-suite/test_my_layer.c

installcheck-local: installcheck-user
installcheck-user:
	$(SHELL) $(srcdir)/tests/installcheck.sh '$(srcdir)' '$(DESTDIR)$(bindir)' \
	  '$(DESTDIR)$(prefix)' '$(DESTDIR)$(pkgconfigdir)' '$(CC)'
.PHONY: installcheck-user
