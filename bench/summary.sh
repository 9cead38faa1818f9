#!/bin/sh
# The summary of `make bench`: every "RESULT name value target verdict" line
# of the benchmark logs given as arguments, as one table.  A verdict is
# PASS, MISS, SKIP (the comparison could not run, e.g. without
# python3-torch) or INFO (no target).  Exit 1 if any MISS.
echo
echo "summary (ratios measured in this run; see each benchmark's lines above)"
printf '%-34s %12s %10s  %s\n' "measure" "value" "target" "verdict"
st=0
for log in "$@"; do
  grep '^RESULT ' "$log" || :
done | while read -r _ name value target verdict; do
  printf '%-34s %12s %10s  %s\n' "$name" "$value" "$target" "$verdict"
done
for log in "$@"; do
  if grep -q '^RESULT .* MISS$' "$log"; then st=1; fi
  if ! grep -q '^RESULT ' "$log"; then
    echo "$log: no result lines (the benchmark failed to run)"
    st=1
  fi
done
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit $st
