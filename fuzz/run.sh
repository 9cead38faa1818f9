#!/bin/sh
# Build the libFuzzer harnesses with clang, outside the libtool build, and
# run each for FUZZ_SECONDS on a copy of its seed corpus.  Called by
# `make fuzz` (fuzz/local.mk), which passes the environment below.
#
#   SRCDIR BUILDDIR   the source tree and the configured build tree
#   CLANG             the compiler (clang, clang-14, ...)
#   FUZZ_SECONDS      seconds per harness (30 by default)
#   FUZZ_HARNESSES    which harnesses, space-separated (all by default)
#   FUZZ_JOBS         harnesses run at once (1 by default)
#   OPENBLAS_CFLAGS OPENBLAS_LIBS   as configure found them
#
# Prints one line per harness: seconds, executions, corpus size and
# crashes; exits 1 when any harness crashed (the reproducer is named).
set -eu
SRCDIR=${SRCDIR:-.}
BUILDDIR=${BUILDDIR:-.}
CLANG=${CLANG:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_HARNESSES=${FUZZ_HARNESSES:-"checkpoint mlp_args plugin_args cli_numbers lib_text"}
OPENBLAS_CFLAGS=${OPENBLAS_CFLAGS:-}
OPENBLAS_LIBS=${OPENBLAS_LIBS:--lopenblas}
SRCDIR=$(cd "$SRCDIR" && pwd)
BUILDDIR=$(cd "$BUILDDIR" && pwd)
OUT=$BUILDDIR/fuzz/build

if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "fuzz: skipped: $CLANG not found: install the Debian packages clang and libclang-rt-14-dev, or give CLANG=..."
  exit 0
fi
mkdir -p "$OUT/obj" "$OUT/var"
probe=$OUT/probe.c
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' > "$probe"
if ! "$CLANG" -fsanitize=fuzzer,address,undefined "$probe" -o "$OUT/probe" 2>/dev/null; then
  echo "fuzz: skipped: $CLANG cannot link -fsanitize=fuzzer,address,undefined: install the Debian package libclang-rt-14-dev"
  exit 0
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer $SAN -fsanitize=fuzzer-no-link -D_GNU_SOURCE -DHAVE_CONFIG_H"
INC="-I$BUILDDIR -I$SRCDIR/include -I$SRCDIR/lib -I$SRCDIR/plugins -I$SRCDIR/tools -I$SRCDIR/fuzz"
LINK="-fsanitize=fuzzer $SAN"

# One object per source; rebuilt when the source or a header is newer.
newest_header=$(ls -t "$SRCDIR"/include/nncheck/*.h "$SRCDIR"/lib/*.h "$SRCDIR"/plugins/*.h "$SRCDIR"/fuzz/*.h "$BUILDDIR/config.h" | head -n 1)
cc() { # cc OUT.o SRC FLAGS...
  o=$1 src=$2
  shift 2
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ "$newest_header" -nt "$o" ]; then
    "$CLANG" $CFLAGS $INC "$@" -c "$src" -o "$o"
  fi
}

echo "fuzz: building with $CLANG in $OUT"
libobjs=
for src in "$SRCDIR"/lib/*.c; do
  o=$OUT/obj/lib_$(basename "$src" .c).o
  cc "$o" "$src"
  libobjs="$libobjs $o"
done

# A plugin variant: its sources compiled with the variant's flags, linked
# into one object whose only global symbol is its renamed entry point.
variant() { # variant NAME "SOURCES" FLAGS...
  name=$1 srcs=$2
  shift 2
  objs=
  for s in $srcs; do
    o=$OUT/var/${name}_$(basename "$s" .c).o
    cc "$o" "$SRCDIR/plugins/$s" $OPENBLAS_CFLAGS -Dnnc_plugin_entry=fz_entry_$name "$@"
    objs="$objs $o"
  done
  ld -r -o "$OUT/var/$name.o" $objs
  objcopy --keep-global-symbol=fz_entry_$name "$OUT/var/$name.o"
  echo "$OUT/var/$name.o"
}

need_plugins=0
for h in $FUZZ_HARNESSES; do
  [ "$h" = plugin_args ] && need_plugins=1
done
pluginobjs=
if [ $need_plugins = 1 ]; then
  LAYER="layer_plugins.c nn_layers.c"
  HARD="hard_layers.c hard_frame.c hard_kernels.c nn_layers.c"
  id=1
  for n in affine relu tanh dropout softmax_loss svm_loss; do
    pluginobjs="$pluginobjs $(variant $n "$LAYER" -DNNC_LAYER_ID=$id)"
    id=$((id + 1))
  done
  id=1
  for n in conv2d maxpool2 hrelu batchnorm layernorm softmax attention; do
    pluginobjs="$pluginobjs $(variant $n "$HARD" -DHL_LAYER=$id -DHL_BUG=0)"
    id=$((id + 1))
  done
  pluginobjs="$pluginobjs $(variant mlp "mlp.c mlp_args.c nn_layers.c nn_mlp1.c spiral.c")"
fi

for h in $FUZZ_HARNESSES; do
  extra=
  case $h in
    checkpoint | lib_text) extra=$libobjs ;;
    mlp_args)
      cc "$OUT/obj/mlp_args.o" "$SRCDIR/plugins/mlp_args.c"
      cc "$OUT/obj/spiral.o" "$SRCDIR/plugins/spiral.c"
      extra="$OUT/obj/mlp_args.o $OUT/obj/spiral.o" ;;
    cli_numbers)
      cc "$OUT/obj/cli_fuzz.o" "$SRCDIR/tools/cli.c" -Dexit=fz_cli_exit
      extra="$OUT/obj/cli_fuzz.o $libobjs" ;;
    plugin_args) extra="$pluginobjs" ;;
    *) echo "fuzz: unknown harness '$h': give some of checkpoint mlp_args plugin_args cli_numbers lib_text" >&2
       exit 2 ;;
  esac
  cc "$OUT/obj/fuzz_$h.o" "$SRCDIR/fuzz/fuzz_$h.c"
  "$CLANG" $LINK "$OUT/obj/fuzz_$h.o" $extra $OPENBLAS_LIBS -ldl -lpthread -lm -o "$OUT/fuzz_$h"
done

# Run: the committed seeds are read, new inputs go to a working corpus.
status=0
for h in $FUZZ_HARNESSES; do
  work=$OUT/corpus/$h
  art=$OUT/artifacts/$h
  rm -rf "$art"
  mkdir -p "$work" "$art"
  log=$OUT/fuzz_$h.log
  start=$(date +%s)
  set +e
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  OPENBLAS_NUM_THREADS=1 \
    "$OUT/fuzz_$h" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
      -close_fd_mask=3 -max_len=4096 -timeout=25 -rss_limit_mb=3072 \
      -artifact_prefix="$art/" "$work" "$SRCDIR/fuzz/corpus/$h" > "$log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  # libFuzzer's reproducers: crash-, leak-, timeout-, oom-; a slow-unit- is
  # an input that took long (a big but valid size), said, not failed
  crashes=$(ls "$art" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
  slow=$(ls "$art" | grep -c '^slow-unit-' || true)
  corpus=$(ls "$work" | wc -l)
  echo "fuzz_$h: ${secs} s, ${runs:-?} executions, corpus $corpus, crashes $crashes, slow inputs $slow"
  if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    grep -m 3 -E 'ERROR|==[0-9]+==|runtime error|abort' "$log" | sed 's/^/  /' || true
    echo "  reproduce: $OUT/fuzz_$h $art/<file>; log: $log"
  fi
done
exit $status
