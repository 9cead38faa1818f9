#!/bin/sh
# The tools under valgrind's memcheck: gradcheck, sanity, lrprobe and
# landscape on the reference net, on fixtures (bug twins and correct ones,
# nets and layers) and on refused input, with small settings.  Each run
# must end with the tool's own expected exit status; a memory error or a
# definite leak makes valgrind exit 99 instead.  Called by
# `make check-valgrind` (tests/valgrind.mk) with:
#   SRCDIR BUILDDIR   the source tree and the configured build tree
#   VALGRIND          the valgrind command
#   LIBTOOL           the tree's libtool, which runs the real binaries
#                     behind the wrappers (--mode=execute)
set -eu
SRCDIR=${SRCDIR:-.}
BUILDDIR=${BUILDDIR:-.}
VALGRIND=${VALGRIND:-valgrind}
LIBTOOL=${LIBTOOL:-$BUILDDIR/libtool}
cd "$BUILDDIR"
if ! command -v "$VALGRIND" >/dev/null 2>&1; then
  echo "check-valgrind: $VALGRIND not found: install the Debian package valgrind" >&2
  exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncheck-vg-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1
VG="$VALGRIND --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
TP=$BUILDDIR/tests/plugins/.libs
runs=0
failed=0
# run EXPECTED-STATUS TOOL ARGS...
run() {
  want=$1
  tool=$2
  shift 2
  runs=$((runs + 1))
  log=$tmp/run$runs.log
  set +e
  $LIBTOOL --mode=execute $VG "tools/$tool" "$@" > "$tmp/out" 2> "$log"
  got=$?
  set -e
  if [ "$got" -ne "$want" ]; then
    failed=$((failed + 1))
    echo "FAIL: $tool $*: exit $got, expected $want$( [ "$got" -eq 99 ] && echo ' (valgrind found errors)')"
    sed 's/^/  /' "$log" | head -n 60
  else
    echo "ok: $tool $* (exit $got)"
  fi
}

start=$(date +%s)
# the reference net and its variants
run 0 gradcheck --args 'N=20' mlp
run 0 gradcheck --args 'N=20' --project mlp
run 0 gradcheck mlp_f32
run 0 gradcheck --sweep-h --json mlp
run 0 gradcheck --plots "$tmp/plots" --args 'N=20 layers=2,8,3' mlp
run 0 sanity --args 'N=20' --epochs 30 --check chance --check reg --check init mlp
run 0 sanity --check overfit --plots "$tmp/plots" mlp
run 0 lrprobe --runs 1 --steps 24 --no-sweep --json mlp
run 0 lrprobe --runs 1 --steps 24 --plots "$tmp/plots" mlp
# fixtures: bugs each tool must catch, and correct twins
run 1 gradcheck bug_l2_factor2
run 1 gradcheck bug_transposed_wgrad
run 1 gradcheck bug_softmax_diag
run 1 gradcheck bug_maxpool_alltied
run 3 gradcheck bug_writes_past_grad
run 3 gradcheck bug_forward_mutates
run 0 gradcheck conv2d
run 0 gradcheck maxpool2_ties
run 0 gradcheck attention
run 0 gradcheck layernorm
run 0 gradcheck --args 'dim=6' dropout
run 1 sanity bug_reg_sign
run 1 sanity bug_loss_offset
run 0 gradcheck linear_svm
# landscape: slices, a saved checkpoint read back, a line
run 0 landscape --args 'in=2 out=2' --examples 4 --points 5 --save "$tmp/a.ckpt" affine
run 0 landscape --args 'in=2 out=2' --examples 4 --points 5 --from-init --to "$tmp/a.ckpt" affine
run 0 landscape --args 'D=2 C=2 N=16 V=8' --examples 8 --points 5 --grid 0 --train 2 --save-checkpoints "$tmp/ck" linear_softmax
# refused input: the error paths free what they took
run 2 gradcheck --args 'foo=1' mlp
run 2 gradcheck --block nope mlp
run 2 gradcheck "$TP/abi_future.so"
run 2 gradcheck "$TP/no_entry.so"
run 3 gradcheck "$TP/nan_loss.so"
printf 'NNCCKPT\0garbage' > "$tmp/bad.ckpt"
run 2 landscape --at "$tmp/bad.ckpt" affine
run 2 lrprobe affine
echo "check-valgrind: $runs runs, $failed failed, $(( $(date +%s) - start )) s"
[ "$failed" -eq 0 ]
