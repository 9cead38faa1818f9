# The training core (include/nncheck/train.h): update rules and snapshots,
# L-BFGS, schedules, the seeded sampler, evaluation and the training loop.
nncheckinclude_HEADERS += include/nncheck/train.h
lib_libnncheck_la_SOURCES += lib/optim.c lib/optim_kernel.h lib/hot.h \
	lib/lbfgs.c lib/schedule.c lib/sampler.c lib/train.c
