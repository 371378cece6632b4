#!/bin/sh
# dockerfile-ast.sh - strata's Dockerfile parser against the npm package
# dockerfile-ast on one corpus, in one run (not in CI).
#
#   bench/dockerfile-ast.sh [BUILD_DIR]            (default: build)
#   FILES=10000 SEED=1 bench/dockerfile-ast.sh build
#
# 1. Generates FILES Dockerfiles plus the hand-written cases of
#    bench/df-corpus/tricky/ into a temporary folder
#    (bench/df-corpus/gen.py; nothing is committed but the generator).
# 2. Installs dockerfile-ast (DOCKERFILE_AST_VERSION, default 0.7.1) with
#    npm into a temporary folder, unless NODE_MODULES names one that has
#    it already.
# 3. Parses every file in one process each: bench-dfparse (strata) and
#    bench/dockerfile-ast.js (node), each under /usr/bin/time for wall
#    time and peak RSS; both print FILE, LINE, KIND, canonical REF.
# 4. Compares the two outputs file by file (bench/df-corpus/compare.py):
#    the disagreements by cause, and which side the generator's oracle
#    says is right.
# Figures go to stdout; README.md "Benchmarks" quotes a run.
set -eu

build=${1:-build}
FILES=${FILES:-10000}
SEED=${SEED:-1}
DOCKERFILE_AST_VERSION=${DOCKERFILE_AST_VERSION:-0.7.1}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v node >/dev/null || { echo "dockerfile-ast.sh: node not found" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "dockerfile-ast.sh: /usr/bin/time not found" >&2; exit 2; }
ninja -C "$root/$build" bench/bench-dfparse >/dev/null
work=$(mktemp -d /tmp/strata-bench-dfast-XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ -n "${NODE_MODULES:-}" ]; then
  modules=$NODE_MODULES
else
  echo "installing dockerfile-ast@$DOCKERFILE_AST_VERSION with npm"
  mkdir "$work/npm"
  (cd "$work/npm" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --silent \
      "dockerfile-ast@$DOCKERFILE_AST_VERSION" >/dev/null)
  modules=$work/npm/node_modules
fi

echo "generating $FILES Dockerfiles (seed $SEED) in $work"
python3 "$root/bench/df-corpus/gen.py" "$work/corpus" "$FILES" "$SEED"
n=$(wc -l <"$work/corpus/list.txt")
bytes=$(xargs cat <"$work/corpus/list.txt" | wc -c)
echo "  $n files ($FILES generated + tricky), $bytes bytes"
# Both sides read the files from the page cache, not the disk.
xargs cat <"$work/corpus/list.txt" >/dev/null

# timed NAME OUT CMD...: runs CMD, stdout to OUT, and prints its figures.
timed() {
  name=$1 out=$2
  shift 2
  /usr/bin/time -o "$work/time.txt" \
    -f "%e s wall, %U s user, %S s sys, peak RSS %M KB" "$@" \
    >"$out" 2>"$work/err.txt"
  echo "  $name: $(cat "$work/time.txt")"
  sed 's/^/    /' "$work/err.txt"
}

echo "parsing (one process each, whole corpus)"
timed strata "$work/strata.tsv" "$root/$build/bench/bench-dfparse" \
  "$work/corpus/list.txt"
timed dockerfile-ast "$work/ast.tsv" env NODE_PATH="$modules" \
  node "$root/bench/dockerfile-ast.js" "$work/corpus/list.txt"

echo "comparison"
python3 "$root/bench/df-corpus/compare.py" "$work/corpus" \
  "$work/strata.tsv" "$work/ast.tsv" | sed 's/^/  /'
