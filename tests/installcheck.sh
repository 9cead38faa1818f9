#!/bin/sh
# After `make install`: what a user does with the INSTALLED nncheck.
#  1. the installed tools find the bundled plugins and fixtures by name;
#  2. an out-of-tree plugin (a copy of plugins/example_layer.c) builds with
#     `pkg-config --cflags --libs nncheck` against the installed headers;
#     the installed gradcheck passes it (exit 0) and fails a broken copy
#     (exit 1);
#  3. examples/user-suite, a user's own project with its Check suite, builds
#     and passes with `make check`, and fails when built with
#     -DMY_LAYER_BROKEN, the assertion's report naming the bad block.
# Usage: installcheck.sh SRCDIR BINDIR PREFIX PKGCONFIGDIR CC
# (PREFIX and the directories with DESTDIR in front, if any.)
set -eu
srcdir=$1 bindir=$2 prefix=$3 pcdir=$4 cc=$5
work=$(mktemp -d -t nncheck-installcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT
PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
pkgconf="pkg-config --define-variable=prefix=$prefix"
fail() { echo "installcheck: $*" >&2; exit 1; }
# exit status of a command, without stopping the script
status() { st=0; "$@" >"$work/out" 2>&1 || st=$?; echo "$st"; }

# 1. bundled plugins and fixtures, by name, from every tool
for tool in gradcheck sanity landscape; do
  "$bindir/$tool" --list >"$work/list" || fail "$tool --list failed"
  for name in mlp example_layer example_net bug_l2_factor2; do
    grep -q "^$name	" "$work/list" || fail "$tool --list lacks $name"
  done
done
for tool in gradcheck sanity lrprobe; do
  st=$(status "$bindir/$tool" example_net)
  [ "$st" = 0 ] || fail "installed $tool example_net: exit $st: $(cat "$work/out")"
done

# 2. an out-of-tree plugin against the installed headers
cp "$srcdir/plugins/example_layer.c" "$work/user_layer.c"
sed 's/db\[i % DIM\] += dy\[i\];/db[i % DIM] += 2 * dy[i];/' \
  "$work/user_layer.c" >"$work/user_layer_broken.c"
cmp -s "$work/user_layer.c" "$work/user_layer_broken.c" &&
  fail "could not plant the bug in the copy of example_layer.c"
for v in user_layer user_layer_broken; do
  # shellcheck disable=SC2046
  $cc -std=c11 -O2 -shared -fPIC -fvisibility=hidden \
    $($pkgconf --cflags --libs nncheck) "$work/$v.c" -o "$work/$v.so" ||
    fail "cannot build $v.so against the installed nncheck"
done
st=$(status "$bindir/gradcheck" "$work/user_layer.so")
[ "$st" = 0 ] || fail "gradcheck user_layer.so: exit $st, expected 0: $(cat "$work/out")"
st=$(status "$bindir/gradcheck" "$work/user_layer_broken.so")
[ "$st" = 1 ] || fail "gradcheck user_layer_broken.so: exit $st, expected 1: $(cat "$work/out")"
grep -q "FAIL" "$work/out" || fail "the broken plugin's report names no FAIL"

# 3. the user's own project, correct and broken
for v in ok broken; do
  mkdir "$work/suite-$v"
  cp "$srcdir/examples/user-suite/Makefile" "$srcdir/examples/user-suite/my_layer.c" \
    "$srcdir/examples/user-suite/my_layer.h" \
    "$srcdir/examples/user-suite/test_my_layer.c" "$work/suite-$v/"
done
st=$(status make -C "$work/suite-ok" check CC="$cc" PKG_CONFIG="$pkgconf")
[ "$st" = 0 ] || fail "examples/user-suite: make check exit $st: $(cat "$work/out")"
grep -q "100%: Checks: 3, Failures: 0" "$work/out" ||
  fail "examples/user-suite: not 3 passing checks: $(cat "$work/out")"
st=$(status make -C "$work/suite-broken" check CC="$cc" PKG_CONFIG="$pkgconf" \
  CPPFLAGS=-DMY_LAYER_BROKEN)
[ "$st" != 0 ] || fail "examples/user-suite with -DMY_LAYER_BROKEN passed"
grep -q "gradcheck failed (exit 1)" "$work/out" ||
  fail "examples/user-suite, broken: no gradcheck failure reported: $(cat "$work/out")"
grep -q "test_my_layer.c:" "$work/out" ||
  fail "examples/user-suite, broken: the failure does not point at the test file"
[ "$(status make -C "$work/suite-ok" plugin CC="$cc" PKG_CONFIG="$pkgconf")" = 0 ] ||
  fail "examples/user-suite: make plugin failed: $(cat "$work/out")"
st=$(status "$bindir/gradcheck" "$work/suite-ok/my_layer.so")
[ "$st" = 0 ] || fail "gradcheck my_layer.so: exit $st: $(cat "$work/out")"
echo "installcheck: installed tools, an out-of-tree plugin and examples/user-suite: OK"
