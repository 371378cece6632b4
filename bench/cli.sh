#!/bin/sh
# cli.sh - where a person waits on the command line (not in CI):
#
#   bench/cli.sh [BUILD_DIR]                  (default: build)
#   RUNS=30 FILES=10000 SEED=1 NODE_MODULES=DIR bench/cli.sh build
#
# 1. Start-up: `strata --version` against `git --version`, RUNS pairs
#    (bench/pairs.py: A and B in turn, the ratio pair by pair), and where
#    strata's start-up goes: the shared libraries it maps (ldd), the
#    dynamic loader's own count (LD_DEBUG=statistics), and, when valgrind
#    is installed, the instructions spent in the loader, in library
#    constructors and in strata's main().
# 2. `strata dockerfile refs` over the corpus of bench/dockerfile-ast.sh
#    (bench/df-corpus/gen.py: FILES generated Dockerfiles plus the tricky
#    ones) in ONE strata process, against the npm package dockerfile-ast
#    0.7.1 in one node process (bench/dockerfile-ast.js), RUNS5 pairs.
#    strata's output is first checked against bench-dfparse's (the parser
#    alone), so the CLI is known to print every reference.
# 3. The same strata command one process per file over the first PERFILE
#    files, against one process for those files: what a CI job that runs
#    strata once per Dockerfile pays.
# Figures go to stdout; README.md "Benchmarks" quotes a run.
set -eu

build=${1:-build}
RUNS=${RUNS:-30}
RUNS5=${RUNS5:-5}
FILES=${FILES:-10000}
SEED=${SEED:-1}
PERFILE=${PERFILE:-1000}
DOCKERFILE_AST_VERSION=${DOCKERFILE_AST_VERSION:-0.7.1}
root=$(cd "$(dirname "$0")/.." && pwd)
strata=$root/$build/cli/strata
pairs="python3 $root/bench/pairs.py"
for t in git node npm python3; do
  command -v "$t" >/dev/null || { echo "cli.sh: needs $t" >&2; exit 2; }
done
ninja -C "$root/$build" cli/strata bench/bench-dfparse >/dev/null
work=$(mktemp -d /tmp/strata-bench-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "1. start-up: strata --version (A) against git --version (B)"
echo "  $("$strata" --version), $(git --version), $(ldd "$strata" | wc -l) shared objects mapped by strata, $(ldd "$(command -v git)" | wc -l) by git"
$pairs -n "$RUNS" --warmup 3 -- "$strata" --version --vs git --version
LD_DEBUG=statistics "$strata" --version 2>&1 >/dev/null |
  sed -n 's/^ *[0-9]*: *//p' | grep -E 'total startup|relocation:|number of relocations:|load objects' |
  sed 's/^/  ld.so: /'
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
  valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$strata" --version \
    >/dev/null 2>&1
  callgrind_annotate --inclusive=yes "$work/cg" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { total = $1 }
    /rtld.c:dl_main/ { loader = $1 }
    /dl-init.c:_dl_init/ { ctors = $1 }
    /libc_start_call_main.h:\(below main\)/ { main = $1 }
    END {
      printf "  instructions: %s in all; dynamic loader (mapping, relocations) %s; library constructors %s; main() and exit %s\n",
        total, loader, ctors, main
    }'
fi

# peak NAME CMD...: the peak RSS of one run, from GNU time (whose own is
# small, unlike the python that pairs.py forks from).
peak() {
  name=$1
  shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>&1 || true
    echo "  peak RSS, $name: $(tail -n 1 "$work/rss") KiB (/usr/bin/time)"
  fi
}
peak "strata --version" "$strata" --version
peak "git --version" git --version

echo "2. dockerfile refs over the corpus, one process each side"
if [ -n "${NODE_MODULES:-}" ]; then
  modules=$NODE_MODULES
else
  echo "  installing dockerfile-ast@$DOCKERFILE_AST_VERSION with npm"
  mkdir "$work/npm"
  (cd "$work/npm" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --silent \
      "dockerfile-ast@$DOCKERFILE_AST_VERSION" >/dev/null)
  modules=$work/npm/node_modules
fi
python3 "$root/bench/df-corpus/gen.py" "$work/corpus" "$FILES" "$SEED" >/dev/null
list=$work/corpus/list.txt
n=$(wc -l <"$list")
echo "  $n files, $(xargs cat <"$list" | wc -c) bytes (page cache warmed)"
# The files' names as strata's arguments: one exec, no shell in between.
printf '#!/bin/sh\nexec "%s" dockerfile refs' "$strata" >"$work/all.sh"
sed 's/^/ /' "$list" | tr -d '\n' >>"$work/all.sh"
printf '\n' >>"$work/all.sh"
chmod +x "$work/all.sh"
printf '#!/bin/sh\nNODE_PATH="%s" exec node "%s" "%s"\n' "$modules" \
  "$root/bench/dockerfile-ast.js" "$list" >"$work/ast.sh"
chmod +x "$work/ast.sh"
# strata's CLI prints what the parser finds: compare with bench-dfparse.
"$root/$build/bench/bench-dfparse" "$list" 2>/dev/null |
  awk -F '\t' '$4 !~ /^!/ { print $1 ":" $2 "\t" $3 "\t" $4 }' >"$work/want"
"$work/all.sh" >"$work/got" 2>/dev/null || true
if cmp -s "$work/want" "$work/got"; then
  echo "  strata's output: $(wc -l <"$work/got") references, the same as the parser's (bench-dfparse)"
else
  echo "  strata's output differs from bench-dfparse's:" >&2
  diff "$work/want" "$work/got" | head >&2
  exit 1
fi
"$work/ast.sh" >"$work/ast.tsv" 2>/dev/null
echo "  dockerfile-ast's output: $(wc -l <"$work/ast.tsv") references (usable or not; see bench/dockerfile-ast.sh for the comparison)"
echo "  A: strata dockerfile refs FILE... (one process), B: node dockerfile-ast.js LIST (one process)"
$pairs -n "$RUNS5" -- "$work/all.sh" --vs "$work/ast.sh"
peak "strata dockerfile refs, $n files" "$work/all.sh"
peak "dockerfile-ast, $n files" "$work/ast.sh"

echo "3. strata dockerfile refs over the first $PERFILE files: one process per file (A) against one process (B)"
head -n "$PERFILE" "$list" >"$work/some"
printf '#!/bin/sh\nwhile read -r f; do "%s" dockerfile refs "$f"; done <"%s"\n' \
  "$strata" "$work/some" >"$work/each.sh"
printf '#!/bin/sh\nexec "%s" dockerfile refs' "$strata" >"$work/one.sh"
sed 's/^/ /' "$work/some" | tr -d '\n' >>"$work/one.sh"
printf '\n' >>"$work/one.sh"
chmod +x "$work/each.sh" "$work/one.sh"
$pairs -n "$RUNS5" -- "$work/each.sh" --vs "$work/one.sh"
