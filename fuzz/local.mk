# Fuzzing, outside the libtool build.  Included by the
# top Makefile.am.
#
#   make fuzz                      every libFuzzer harness of fuzz/ for
#                                  FUZZ_SECONDS (30) each, built with CLANG
#   make fuzz FUZZ_SECONDS=3600    an hour each
#   make fuzz FUZZ_HARNESSES='checkpoint mlp_args'   some of them
#
# The harnesses are built with clang whatever configure's CC is; without
# clang (or its libFuzzer runtime) `make fuzz` says so and succeeds.  Their
# objects, working corpora and crash reproducers go to fuzz/build/.
CLANG = clang
FUZZ_SECONDS = 30
FUZZ_HARNESSES = checkpoint mlp_args plugin_args cli_numbers lib_text
FUZZ_DIST = fuzz/run.sh fuzz/fuzz_common.h fuzz/fuzz_checkpoint.c \
	fuzz/fuzz_mlp_args.c fuzz/fuzz_plugin_args.c fuzz/fuzz_cli_numbers.c \
	fuzz/fuzz_lib_text.c fuzz/corpus
EXTRA_DIST += $(FUZZ_DIST) .ci/fuzz

fuzz: all
	SRCDIR='$(abs_top_srcdir)' BUILDDIR='$(abs_top_builddir)' \
	CLANG='$(CLANG)' FUZZ_SECONDS='$(FUZZ_SECONDS)' \
	FUZZ_HARNESSES='$(FUZZ_HARNESSES)' \
	OPENBLAS_CFLAGS='$(OPENBLAS_CFLAGS)' OPENBLAS_LIBS='$(OPENBLAS_LIBS)' \
	  $(SHELL) $(top_srcdir)/fuzz/run.sh

clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz/build

.PHONY: fuzz clean-fuzz
