#!/usr/bin/env bash
# test-layout.sh - TAP: the README's Layout table matches the tree: every
# module folder (a folder with a meson.build that builds a library or
# the executable) has a row, and every .c file in it is named in its row;
# and every module has its one public header FOLDER/FOLDER.h.
set -u
root=${1:?usage: test-layout.sh SOURCE_ROOT}
readme=$root/README.md
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }

table=$(sed -n '/^## Layout$/,/^House style/p' "$readme")
for mb in "$root"/*/meson.build; do
    dir=$(basename "$(dirname "$mb")")
    case $dir in tests | bench | build* | scripts | docs | examples) continue ;; esac
    grep -qE "static_library|executable" "$mb" || continue
    row=$(printf '%s\n' "$table" | grep "^| \`$dir/\` |")
    if [ -z "$row" ]; then
        nok "$dir/ has a row in README's Layout table"
        continue
    fi
    missing=
    for c in "$root/$dir"/*.c; do
        f=$(basename "$c")
        printf '%s' "$row" | grep -q "\`$f\`" || missing="$missing $f"
    done
    if [ -z "$missing" ]; then
        ok "$dir/: its row names every source file"
    else
        nok "$dir/: its row misses$missing"
    fi
    if [ "$dir" = cli ] || [ -f "$root/$dir/$dir.h" ]; then
        ok "$dir/ has its public header"
    else
        nok "$dir/ has no $dir/$dir.h"
    fi
done
# And no row names a folder that is gone.
for d in $(printf '%s\n' "$table" | sed -n 's/^| `\([a-z]*\)\/` |.*/\1/p'); do
    [ -d "$root/$d" ] || nok "README's Layout names $d/, which is not in the tree"
done
echo "1..$n"
[ "$bad" = 0 ]
