#!/bin/sh
# The manual pages and the tools' --help, checked against each other (TAP):
#  - every page under doc/man (and the template) passes
#    `mandoc -T lint -W warning` without a single message;
#  - every tool has a page with the sections every page carries, and the
#    options its --help lists are exactly the options its page's OPTIONS
#    section lists, each with its default in both (actions excepted);
#  - the exit statuses 0..3 and the environment are in both;
#  - nncheck-plugin.3 documents every callback of plugin.h, nncheck.3 every
#    function of nncheck.h and baseline.h and every macro of check.h.
# Needs mandoc (Debian package mandoc).
set -u
src=${NNC_SRCDIR:-.}
tools=${NNC_TOOLS_DIR:-tools}
man=$src/doc/man
n=0
fails=0
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
  n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"
  [ -s "$tmp/why" ] && sed 's/^/# /' "$tmp/why"
  : > "$tmp/why"
}
check() { # check DESCRIPTION: the status of the last command
  if [ "$2" -eq 0 ]; then ok "$1"; else notok "$1"; fi
}

MANDOC=${MANDOC:-mandoc}
if ! command -v "$MANDOC" >/dev/null 2>&1; then
  echo "1..1"
  echo "not ok 1 - mandoc not found: install the Debian package mandoc"
  exit 1
fi

# The tools: every executable under tools/ in the build tree.
: > "$tmp/tools"
for f in "$tools"/*; do
  [ -f "$f" ] && [ -x "$f" ] && basename "$f" >> "$tmp/tools"
done

# Options of a --help text: "-q", "--quiet", one a line, sorted; with -d
# those lacking a [default] (actions excepted).
help_opts() {
  awk -v want="$2" '
    function flush() {
      if (names != "" && (want == "names" || (body !~ /\[[^]]*\]/ && !action)))
        print names
      names = ""; body = ""; action = 0
    }
    /^  -/ {
      flush()
      line = $0; sub(/^  /, "", line)
      while (match(line, /^-(-[a-z][a-z-]*|[a-zA-Z])/)) {
        nm = substr(line, RSTART, RLENGTH)
        names = names (names == "" ? "" : " ") nm
        if (nm == "--help" || nm == "--version" || nm == "--list") action = 1
        line = substr(line, RLENGTH + 1); sub(/^(, | [A-Z]+ ?|=[A-Z]+)/, "", line)
        sub(/^ +/, "", line)
        if (line !~ /^-/) break
      }
      body = line; next
    }
    /^      / { if (names != "") body = body " " $0; next }
    { flush() }
    END { flush() }' "$1" | tr ' ' '\n' | sed '/^$/d' | sort -u
}

# Options of a page's OPTIONS section, likewise.
man_opts() {
  awk -v want="$2" '
    function flush() {
      if (names != "" && (want == "names" || (body !~ /Default/ && !action)))
        print names
      names = ""; body = ""; action = 0
    }
    /^\.Sh / { flush(); inopt = ($0 == ".Sh OPTIONS"); next }
    !inopt { next }
    /^\.It Fl / {
      flush()
      for (i = 2; i <= NF; i++)
        if ($(i - 1) == "Fl") {
          nm = "-" $i
          names = names (names == "" ? "" : " ") nm
          if (nm == "--help" || nm == "--version" || nm == "--list") action = 1
        }
      next
    }
    { if (names != "") body = body " " $0 }
    END { flush() }' "$1" | tr ' ' '\n' | sed '/^$/d' | sort -u
}

for page in "$man"/*.[135] "$man"/tool.1.template; do
  "$MANDOC" -T lint -W warning "$page" > "$tmp/why" 2>&1
  st=$?
  [ -s "$tmp/why" ] && st=1
  check "mandoc lint: $(basename "$page") has no warning" $st
done

while read -r t; do
  page=$man/$t.1
  if [ ! -f "$page" ]; then
    echo "tools/$t has no manual page doc/man/$t.1: copy doc/man/tool.1.template" > "$tmp/why"
    notok "$t: a manual page"
    continue
  fi
  ok "$t: a manual page"
  "$tools/$t" --help > "$tmp/help" 2>&1
  check "$t --help exits 0" $?
  help_opts "$tmp/help" names > "$tmp/h"
  man_opts "$page" names > "$tmp/m"
  [ -s "$tmp/h" ] || echo "no options parsed from --help" > "$tmp/why"
  comm -3 "$tmp/h" "$tmp/m" | sed 's/^\t/only in the page: /; /^only/!s/^/only in --help: /' >> "$tmp/why"
  [ -s "$tmp/why" ]; check "$t: --help and $t.1 list the same options ($(wc -l < "$tmp/h"))" $(( ! $? ))
  help_opts "$tmp/help" nodefault | sed 's/^/no [default] in --help: /' > "$tmp/why"
  [ -s "$tmp/why" ]; check "$t: --help gives every option's default" $(( ! $? ))
  man_opts "$page" nodefault | sed 's/^/no Default in the page: /' > "$tmp/why"
  [ -s "$tmp/why" ]; check "$t: $t.1 gives every option's default" $(( ! $? ))
  : > "$tmp/why"
  for code in 0 1 2 3; do
    grep -q "^  $code  " "$tmp/help" || echo "--help lacks exit status $code" >> "$tmp/why"
    sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /p' "$page" | grep -q "^\.It $code\$" ||
      echo "$t.1 lacks exit status $code" >> "$tmp/why"
  done
  for v in NNCHECK_PLUGIN_PATH NO_COLOR; do
    grep -q "^  $v" "$tmp/help" || echo "--help lacks $v" >> "$tmp/why"
    sed -n '/^\.Sh ENVIRONMENT/,/^\.Sh /p' "$page" | grep -q "^\.It Ev $v\$" ||
      echo "$t.1 ENVIRONMENT lacks $v" >> "$tmp/why"
  done
  for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES \
           EXAMPLES "SEE ALSO"; do
    grep -q "^\.Sh $s\$" "$page" || echo "$t.1 lacks section $s" >> "$tmp/why"
  done
  [ -s "$tmp/why" ]; check "$t: exit statuses, environment and sections in --help and $t.1" $(( ! $? ))
done < "$tmp/tools"

# The ABI page documents every callback; the library page every function.
: > "$tmp/why"
for cb in $(grep -o '(\*[a-z_]*)(' "$src/include/nncheck/plugin.h" | tr -d '(*)' | grep -v '^nnc_'); do
  grep -q "^\.It Ft .* Fn $cb " "$man/nncheck-plugin.3" ||
    echo "nncheck-plugin.3 does not document the callback $cb" >> "$tmp/why"
done
[ -s "$tmp/why" ]; check "nncheck-plugin.3 documents every callback of plugin.h" $(( ! $? ))
for fn in $(cat "$src/include/nncheck/nncheck.h" "$src/include/nncheck/baseline.h" |
            grep -o '\bnnc_[a-z0-9_]*(' | tr -d '(' | sort -u); do
  grep -q "Fn $fn\b" "$man/nncheck.3" ||
    echo "nncheck.3 does not mention $fn" >> "$tmp/why"
done
for mac in $(grep -o '^#define ck_assert_[a-z_]*' "$src/include/nncheck/check.h" | cut -d' ' -f2); do
  grep -q "Fn $mac\b" "$man/nncheck.3" ||
    echo "nncheck.3 does not mention $mac" >> "$tmp/why"
done
[ -s "$tmp/why" ]; check "nncheck.3 names every function of nncheck.h and baseline.h and every check.h macro" $(( ! $? ))

echo "1..$n"
[ "$fails" -eq 0 ]
