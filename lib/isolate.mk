# Isolation (plugin work in a supervised child) and crash-safe files.
# Included by the top Makefile.am; paths are relative to the top.
nncheckinclude_HEADERS += include/nncheck/isolate.h
lib_libnncheck_la_SOURCES += lib/isolate.c lib/isolate_internal.h lib/afile.c
include $(srcdir)/bench/isolate.mk
