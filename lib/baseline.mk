# CI regression baselines (include/nncheck/baseline.h) and the strict JSON
# reader they rest on.  Included by the top Makefile.am; paths are relative
# to the top.
lib_libnncheck_la_SOURCES += lib/baseline.c lib/jsonread.c lib/jsonread.h
nncheckinclude_HEADERS += include/nncheck/baseline.h
