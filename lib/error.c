/* Error codes: one table (NNC_ERRNO_MAP in nncheck.h) gives names, texts and
 * the tool exit status, so they cannot drift apart. */
#include <nncheck/nncheck.h>

const char *nnc_strerror(int err)
{
  switch (err) {
#define NNC_ERR_TEXT_(name, val, ex, txt) case val: return txt;
    NNC_ERRNO_MAP(NNC_ERR_TEXT_)
#undef NNC_ERR_TEXT_
  }
  return "unknown error";
}

const char *nnc_err_name(int err)
{
  switch (err) {
#define NNC_ERR_NAME_(name, val, ex, txt) case val: return "NNC_" #name;
    NNC_ERRNO_MAP(NNC_ERR_NAME_)
#undef NNC_ERR_NAME_
  }
  return "NNC_EUNKNOWN";
}

int nnc_err_exit_status(int err)
{
  switch (err) {
#define NNC_ERR_EXIT_(name, val, ex, txt) case val: return ex;
    NNC_ERRNO_MAP(NNC_ERR_EXIT_)
#undef NNC_ERR_EXIT_
  }
  return NNC_EXIT_USAGE;
}
