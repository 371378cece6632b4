#!/usr/bin/env bash
# check.sh - TAP: the man pages and shell completions docs/gendoc.py made
# in the build say what the program does. Everything is read back from
# the binary as a user sees it (`strata --help`, `strata CMD --help`), not
# from the JSON the pages were made from:
#   - every command `strata --help` lists has its page, whose synopsis is
#     the usage line and which names every option with its help text;
#     strata(1) lists every command; each page renders with man -l and
#     groff -ww without a warning, and whatis reads its NAME;
#   - strata.yaml(5) has every key of the schema, and gendoc.py refuses a
#     configuration.md that disagrees with the schema;
#   - bash, zsh and fish complete every command word, every option of every
#     command, the values of every option with choices, files, and the
#     configured sinks, bases and images of the -c FILE on the line.
# env: STRATA_EXE, DOCS_BUILD (the build's docs/), SRC (the source root).
set -u
exe=${STRATA_EXE:?}
build=${DOCS_BUILD:?}
src=${SRC:?}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -n "${KEEP:-}" ] && trap 'echo "# kept $tmp"' EXIT
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else nok "$2"; fi; }
norm() { tr -s ' \n\t' '   ' | sed 's/^ //; s/ $//'; }
# A page as text on one line per paragraph (no wrapping), ASCII.
render() { MANWIDTH=4000 man -E ascii -l "$1" 2>/dev/null | col -b; }

mapfile -t cmds < <("$exe" --help | sed -n '/^commands:/,/^$/p' |
    sed '1d;/^$/d' | cut -c3-24 | sed 's/ *$//')
[ ${#cmds[@]} -ge 20 ] || nok "strata --help lists the commands (${#cmds[@]})"

# The options of `strata CMD --help`: "NAME<TAB>VALUE<TAB>HELP" per line.
options() {
    "$exe" "$@" --help | awk '
        /^options:/ { on = 1; next }
        !on { next }
        /^  -/ {
            if (name != "") print name "\t" value "\t" help
            line = substr($0, 3)
            if (length(line) > 24 && substr(line, 25, 1) != " " && substr(line, 23, 2) == "  ") {
                head = substr(line, 1, 22); help = substr(line, 25)
            } else if (match(line, /  +[^ ]/)) {
                head = substr(line, 1, RSTART - 1); help = substr(line, RSTART + RLENGTH - 1)
            } else { head = line; help = "" }
            sub(/^-., /, "", head)
            split(head, w, " "); name = w[1]; value = w[2]
            next
        }
        /^                          / { sub(/^ +/, ""); help = help (help == "" ? "" : " ") $0 }
        END { if (name != "") print name "\t" value "\t" help }'
}

have_man=1
command -v man >/dev/null && command -v groff >/dev/null || have_man=0

# ---- the command pages ------------------------------------------------
for c in "${cmds[@]}"; do
    page=$build/strata-${c// /-}.1
    if [ ! -f "$page" ]; then
        nok "strata $c: no page $page"
        continue
    fi
    if [ $have_man = 0 ]; then
        skip "strata $c: man or groff is not installed"
        continue
    fi
    text=$(render "$page")
    flat=$(printf '%s\n' "$text" | norm)
    want=$("$exe" $c --help | head -1 | sed 's/^usage: //')
    syn=$(printf '%s\n' "$text" | sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' | norm)
    [ "$syn" = "$want" ]
    check $? "strata-${c// /-}(1): the synopsis is the usage line"
    [ "$syn" = "$want" ] || printf '#   page:  %s\n#   usage: %s\n' "$syn" "$want"
    missing=
    while IFS=$'\t' read -r name value help; do
        [ "$name" = --help ] && continue
        h=$(printf '%s' "$help" | norm)
        case "$flat" in
        *"$name${value:+ $value} $h"*) ;;
        *) missing="$missing $name" ;;
        esac
    done < <(options $c)
    [ -z "$missing" ]
    check $? "strata-${c// /-}(1): every option with its help text${missing:+ (missing:$missing)}"
    summary=$("$exe" --help | sed -n "s/^  $(printf '%-22s' "$c") //p")
    case "$flat" in *"strata-${c// /-} - ${summary%.}"*) ok "strata-${c// /-}(1): NAME has the summary" ;;
    *) nok "strata-${c// /-}(1): NAME has the summary '$summary'" ;; esac
done

pages=("$build"/*.1 "$build"/*.5)
if [ $have_man = 1 ]; then
    # ---- every page renders cleanly ------------------------------------
    bad_pages=
    for p in "${pages[@]}"; do
        w=$( { groff -ww -z -man "$p"; MANWIDTH=80 man --warnings -E UTF-8 -l "$p" >/dev/null; } 2>&1)
        if [ -n "$w" ]; then
            bad_pages="$bad_pages $(basename "$p")"
            printf '%s\n' "$w" | sed 's/^/#   /' | head -5
        fi
    done
    [ -z "$bad_pages" ]
    check $? "${#pages[@]} pages render with groff -ww and man --warnings without a warning${bad_pages:+ (not:$bad_pages)}"
    bad_pages=
    for p in "${pages[@]}"; do
        lexgrog "$p" >/dev/null 2>&1 || bad_pages="$bad_pages $(basename "$p")"
    done
    [ -z "$bad_pages" ]
    check $? "whatis reads the NAME of every page (lexgrog)${bad_pages:+ (not:$bad_pages)}"

    # ---- strata(1) -----------------------------------------------------
    top=$(render "$build/strata.1")
    missing=
    for c in "${cmds[@]}"; do
        printf '%s\n' "$top" | grep -q "^ *strata $c\$" || missing="$missing '$c'"
        printf '%s\n' "$top" | grep -q "strata-${c// /-}(1)" || missing="$missing strata-${c// /-}(1)"
    done
    [ -z "$missing" ]
    check $? "strata(1) lists every command and its page${missing:+ (missing:$missing)}"
    missing=
    for o in --config --log-level --log-format --help --version; do
        printf '%s\n' "$top" | grep -q -- "$o" || missing="$missing $o"
    done
    [ -z "$missing" ]
    check $? "strata(1) has the global options${missing:+ (missing:$missing)}"

    # ---- strata.yaml(5) --------------------------------------------------
    yaml=$(render "$build/strata.yaml.5")
    keys=$("$exe" __describe | /usr/bin/python3 -c '
import json, sys
def walk(s, p, by):
    s = by.get(s.get("ref"), s)
    by.setdefault(s["id"], s)
    for f in s["fields"]:
        print(p + f["key"])
        if "section" in f and p.count(".") < 6:
            sub = {"list": "[].", "map": ".NAME."}.get(f["kind"], ".")
            walk(f["section"], p + f["key"] + sub, by)
walk(json.load(sys.stdin)["config_schema"], "", {})')
    idx=$(printf '%s\n' "$yaml" | sed -n '/^KEY INDEX/,/^SEE ALSO/p')
    missing=
    nk=0
    while read -r k; do
        nk=$((nk + 1))
        printf '%s\n' "$idx" | grep -qxF "       $k" || missing="$missing $k"
    done <<<"$keys"
    [ -z "$missing" ] && [ $nk -ge 100 ]
    check $? "strata.yaml(5) indexes all $nk keys of the schema${missing:+ (missing:$missing)}"
    missing=
    while read -r h; do
        printf '%s\n' "$yaml" | grep -qiF -- "$h" || missing="$missing '$h'"
    done < <(sed -n 's/^##* //p' "$src/docs/configuration.md" | grep -v '^Configuration$\|^For developers$')
    [ -z "$missing" ]
    check $? "strata.yaml(5) has every section of docs/configuration.md${missing:+ (missing:$missing)}"
    cat=$(render "$build/strata-catalog.5")
    missing=
    for k in ref policy description tier os owners lifecycle max_age soak signing_key verify teams; do
        printf '%s\n' "$cat" | grep -qE "^       (.*, )?$k(,| |\$)" || missing="$missing $k"
    done
    [ -z "$missing" ]
    check $? "strata-catalog(5) describes every key of the catalog${missing:+ (missing:$missing)}"
else
    skip "man or groff is not installed: rendering not checked"
fi

# ---- gendoc.py checks the documentation against the schema ---------------
mkdir -p "$tmp/docs"
cp "$src/docs/catalog.md" "$tmp/docs/"
sed -e 's/^| `max_concurrency` | integer 1..256 | `8`/| `max_concurrency` | integer 1..256 | `16`/' \
    -e '/^| `tlog` | boolean/d' \
    -e 's/^| `insecure` |/| `insecur` |/' \
    -e 's/`enforce`, `warn`, `off`/`enforce`, `warn`/' \
    "$src/docs/configuration.md" >"$tmp/docs/configuration.md"
/usr/bin/python3 "$src/docs/gendoc.py" --strata "$exe" --docs "$tmp/docs" \
    --outdir "$tmp/out" --only man 2>"$tmp/gendoc.err"
rc=$?
for want in "'insecur' in section 'registries' is not in the schema" \
    "key 'insecure' of section 'registry' is not documented" \
    "key 'tlog' of section 'verify' is not documented" \
    "'max_concurrency' in section 'registries': default '16' on the page, '8' in the schema" \
    "'mode' in section 'watch.verify': the page lists ['enforce', 'warn'], the schema ['enforce', 'off', 'warn']"; do
    grep -qF -- "$want" "$tmp/gendoc.err" || { rc=0; echo "#   gendoc.py did not say: $want"; }
done
[ $rc != 0 ]
check $? "gendoc.py refuses a configuration.md that disagrees with the schema, naming each difference"
/usr/bin/python3 "$src/docs/gendoc.py" --strata "$exe" --docs "$src/docs" \
    --outdir "$tmp/out2" --only man --expect strata.1 strata-pin.1 2>"$tmp/gendoc.err"
rc=$?
grep -q "strata-run.1 is generated but not declared in docs/meson.build" "$tmp/gendoc.err" || rc=0
[ $rc != 0 ]
check $? "gendoc.py fails when docs/meson.build does not declare a command's page"

# ---- completions ----------------------------------------------------------
cat >"$tmp/strata.yaml" <<'YAML'
state: ./state.db
watch:
  bases:
    - ref: debian:12-slim
    - ref: registry.example.com/base/python:3.12
repos:
  - url: https://git.example.com/acme/app.git
    images:
      - name: registry.example.com/acme/payments:1
      - name: registry.example.com/acme/web:2
notify:
  - name: ops-slack
    type: exec
    command: cat
  - type: exec
    command: cat
YAML
touch "$tmp/Dockerfile.fixture"
# The same names in a configuration that does not load in this shell: a
# secret from a variable the daemon has and the shell has not.
sed 's/^notify:/api:\n  token: ${STRATA_DOCS_TEST_UNSET_TOKEN}\nnotify:/' \
    "$tmp/strata.yaml" >"$tmp/secret.yaml"
unset STRATA_DOCS_TEST_UNSET_TOKEN
for f in strata secret; do
    for k in sinks bases images; do
        "$exe" -c "$tmp/$f.yaml" __complete $k >"$tmp/$f.$k" 2>"$tmp/$f.$k.err" ||
            echo "exit $?" >>"$tmp/$f.$k.err"
    done
done
is_names() { [ "$(cat "$1")" = "$2" ] && [ ! -s "$1.err" ]; }
is_names "$tmp/strata.sinks" "$(printf 'ops-slack\nexec-2')" &&
    is_names "$tmp/strata.bases" "$(printf 'docker.io/library/debian:12-slim\nregistry.example.com/base/python:3.12')" &&
    is_names "$tmp/strata.images" "$(printf 'registry.example.com/acme/payments:1\nregistry.example.com/acme/web:2')"
check $? "strata __complete prints the configured sinks, bases and images (canonical), nothing on stderr"
is_names "$tmp/secret.sinks" "$(printf 'ops-slack\nexec-2')" &&
    is_names "$tmp/secret.bases" "$(printf 'debian:12-slim\nregistry.example.com/base/python:3.12')" &&
    is_names "$tmp/secret.images" "$(printf 'registry.example.com/acme/payments:1\nregistry.example.com/acme/web:2')"
check $? "from a configuration whose secret is not in this shell's environment, the names as written"
"$exe" -c "$tmp/nope.yaml" __complete sinks >"$tmp/nope.out" 2>&1
[ $? = 0 ] && [ ! -s "$tmp/nope.out" ]
check $? "no configuration: no names, no message"

# What each shell completes for each line of $tmp/lines, in $tmp/SHELL.out.
{
    echo "strata "
    echo "strata gr"
    echo "strata graph "
    echo "strata verify "
    for c in "${cmds[@]}"; do echo "strata $c --"; done
    for c in "${cmds[@]}"; do
        options $c | while IFS=$'\t' read -r name value help; do
            case $value in *"|"*) echo "strata $c $name " ;; esac
        done
    done
    echo "strata --log-level "
    echo "strata -c $tmp/strata.yaml notify test "
    echo "strata -c $tmp/strata.yaml approve "
    echo "strata --config=$tmp/strata.yaml scan diff "
    echo "strata -c $tmp/strata.yaml rebase --old-base "
    echo "strata pin $tmp/Dockerfile.fi"
    echo "strata -c $tmp/secret.yaml notify test "
} >"$tmp/lines"

# The candidates for LINE in OUT, one a line.
got() { awk -v l="> $2" '$0 == l { on = 1; next } /^> / { on = 0 } on' "$1"; }
# Every word of WANT among the candidates for LINE? Prints the missing.
lacks() {
    local f=$1 line=$2 w
    shift 2
    for w in "$@"; do got "$f" "$line" | grep -qxF -- "$w" || printf ' %s' "$w"; done
}

cd "$tmp" || exit 1
for sh in bash zsh fish; do
    case $sh in
    bash) run() { bash "$here/complete.bash" "$build/completion/strata"; } ;;
    zsh) run() { zsh -f "$here/complete.zsh" "$build/completion"; } ;;
    fish) run() { fish -N "$here/complete.fish" "$build/completion/strata.fish"; } ;;
    esac
    if ! command -v $sh >/dev/null; then
        skip "$sh is not installed: its completion is not checked"
        continue
    fi
    PATH=$(dirname "$exe"):$PATH run <"$tmp/lines" >"$tmp/$sh.out" 2>"$tmp/$sh.err"
    if [ $? != 0 ] || ! grep -q "^> strata -c $tmp/secret.yaml notify test \$" "$tmp/$sh.out"; then
        nok "$sh: the completion ran over every line"
        sed 's/^/#   /' "$tmp/$sh.err" | head -5
        continue
    fi
    f=$tmp/$sh.out
    m=$(lacks "$f" "strata " version pin graph notify verify check-state)
    m="$m$(lacks "$f" "strata gr" graph)$(lacks "$f" "strata graph " scan show impacted)"
    m="$m$(lacks "$f" "strata verify " bundle)"
    [ -z "$m" ]
    check $? "$sh: command words${m:+ (missing:$m)}"
    m=
    for c in "${cmds[@]}"; do
        miss=$(lacks "$f" "strata $c --" $(options $c | cut -f1) --config)
        [ -n "$miss" ] && m="$m [$c:$miss]"
    done
    [ -z "$m" ]
    check $? "$sh: every option of every command${m:+ (missing:$m)}"
    m= nc=0
    for c in "${cmds[@]}"; do
        while IFS=$'\t' read -r name value help; do
            case $value in *"|"*) ;; *) continue ;; esac
            nc=$((nc + 1))
            want=$(printf '%s\n' ${value//|/ } | sort)
            have=$(got "$f" "strata $c $name " | sort)
            [ "$want" = "$have" ] || m="$m [$c $name: $(echo $have)]"
        done < <(options $c)
    done
    m="$m$(lacks "$f" "strata --log-level " debug info warn error)"
    [ -z "$m" ] && [ $nc -ge 10 ]
    check $? "$sh: the values of all $nc options with choices, and --log-level's${m:+ (wrong:$m)}"
    m=$(lacks "$f" "strata -c $tmp/strata.yaml notify test " ops-slack exec-2)
    m="$m$(lacks "$f" "strata -c $tmp/strata.yaml approve " docker.io/library/debian:12-slim \
        registry.example.com/base/python:3.12 registry.example.com/acme/payments:1)"
    m="$m$(lacks "$f" "strata --config=$tmp/strata.yaml scan diff " \
        registry.example.com/acme/payments:1 registry.example.com/acme/web:2)"
    m="$m$(lacks "$f" "strata -c $tmp/strata.yaml rebase --old-base " docker.io/library/debian:12-slim)"
    m="$m$(lacks "$f" "strata -c $tmp/secret.yaml notify test " ops-slack exec-2)"
    got "$f" "strata -c $tmp/strata.yaml rebase --old-base " | grep -q payments && m="$m (an image offered as a base)"
    [ -z "$m" ]
    check $? "$sh: the configured sinks, bases and images of -c FILE${m:+ (missing:$m)}"
    if [ $sh = zsh ]; then
        m=$(lacks "$f" "strata pin $tmp/Dockerfile.fi" '<files>')
    else
        m=$(lacks "$f" "strata pin $tmp/Dockerfile.fi" "$tmp/Dockerfile.fixture")
    fi
    [ -z "$m" ]
    check $? "$sh: files for a PATH argument${m:+ (missing:$m)}"
done

echo "1..$n"
[ "$bad" = 0 ]
