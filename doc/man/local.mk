# Manual pages: one per tool (section 1), the library and the plugin ABI
# (section 3), written in mdoc(7); the JSON report schemas.  Installed,
# distributed, and checked by tests/man.sh in make check: mandoc lint
# without a warning, and every tool's --help against its page, both ways.
# Included by the top Makefile.am; paths are relative to the top.
dist_man_MANS = doc/man/gradcheck.1 doc/man/sanity.1 doc/man/lrprobe.1 \
	doc/man/babysit.1 doc/man/hpsearch.1 doc/man/ensemble.1 \
	doc/man/landscape.1 doc/man/nncheck.3 doc/man/nncheck-plugin.3
dist_doc_DATA = doc/json-schema.md
EXTRA_DIST += doc/man/tool.1.template tests/man.sh
TESTS += tests/man.sh
