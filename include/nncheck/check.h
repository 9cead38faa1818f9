/* nncheck/check.h — assertions for a user's own Check (libcheck) suite.
 *
 *   #include <check.h>
 *   #include <nncheck/check.h>
 *   extern const nnc_plugin *my_layer_entry(void);
 *
 *   START_TEST(my_layer_gradient)
 *   {
 *     ck_assert_gradcheck(my_layer_entry(), "dim=8");
 *   }
 *   END_TEST
 *
 * A failing assertion reports at the caller's file and line, with the brief
 * gradcheck report (failed audits, each failure with the band that decided
 * it and a reproduce line) as its message.  Header-only: link with -lnncheck and
 * Check's own flags (pkg-config --cflags --libs nncheck check). */
#ifndef NNCHECK_CHECK_H
#define NNCHECK_CHECK_H

#include <check.h>
#include <stdlib.h>
#include <nncheck/nncheck.h>

/* The gradient of an in-process descriptor passes at default options. */
#define ck_assert_gradcheck(desc, args)                                        \
  ck_assert_gradcheck_opts((desc), (args), NULL)

/* ... with options (an nnc_gradcheck_opts *, NULL for defaults). */
#define ck_assert_gradcheck_opts(desc, args, opts)                             \
  NNC_CK_ASSERT_GRADCHECK_((desc), NULL, (args), (opts))

/* A plugin named like the tools name it (bundled name or path to a .so). */
#define ck_assert_gradcheck_plugin(name_or_path, args)                         \
  NNC_CK_ASSERT_GRADCHECK_(NULL, (name_or_path), (args), NULL)

/* Each argument is evaluated exactly once. */
#define NNC_CK_ASSERT_GRADCHECK_(desc, path, args, opts)                       \
  do {                                                                         \
    char *nnc_ck_report_ = NULL;                                               \
    int nnc_ck_status_ =                                                       \
        nnc_check_gradient((desc), (path), (args), (opts), &nnc_ck_report_);   \
    if (nnc_ck_status_ != NNC_EXIT_OK) {                                       \
      ck_assert_msg(nnc_ck_status_ == NNC_EXIT_OK,                             \
                    "gradcheck failed (exit %d):\n%.3000s", nnc_ck_status_,    \
                    nnc_ck_report_ ? nnc_ck_report_ : "(no report)");         \
    }                                                                          \
    free(nnc_ck_report_);                                                      \
  } while (0)

#endif /* NNCHECK_CHECK_H */
