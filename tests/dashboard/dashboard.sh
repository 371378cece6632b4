#!/usr/bin/env bash
# dashboard.sh - TAP: the live dashboard in a real browser. A world on
# loopback (tests/e2e/lib.sh: registry, git remotes, images built on a
# base), a daemon with an API token and a signature policy on the base;
# then Debian's Chromium, driven by puppeteer-core (tests/dashboard/
# dashboard.js), reads every page, checks it with axe-core, takes
# screenshots at 1280 and 390 px (kept in $DASH_OUT), sees a base pushed
# to the registry show up live through the event stream, and approves
# the held digest through the page with the token typed into it; that
# digest's libc6 jumps a major version, so pull_requests.evidence.hold_on
# holds it next, and the page shows why and approves it too. Before
# that, curl checks the headers and the CSRF defence.
#
# The npm packages (tests/dashboard/package.json, pinned in
# package-lock.json) are installed with `npm ci` into $DASH_BUILD/npm on
# first use; without node, npm, chromium or the npm registry it skips.
. "$(dirname "$0")/../e2e/lib.sh"
need docker-registry git curl openssl node npm
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || skip_all "chromium is not installed ($chromium)"
build=${DASH_BUILD:?DASH_BUILD is not set}
out=${DASH_OUT:-$build}
npmdir=$build/npm
mkdir -p "$npmdir" "$out"
if [ ! -f "$npmdir/node_modules/puppeteer-core/package.json" ] ||
    [ ! -f "$npmdir/node_modules/axe-core/axe.min.js" ] ||
    ! cmp -s "$src/tests/dashboard/package-lock.json" "$npmdir/package-lock.json"; then
    cp "$src/tests/dashboard/package.json" "$src/tests/dashboard/package-lock.json" "$npmdir/"
    (cd "$npmdir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error \
        >npm.log 2>&1) || {
        tail -n 5 "$npmdir/npm.log" | sed 's/^/# /'
        skip_all "npm ci of puppeteer-core and axe-core failed (no registry?); see $npmdir/npm.log"
    }
fi

# The base carries a package database (libc6 2.36, Debian 12): under
# hold_on: [major], the push of libc6 3.0 (dashboard.js) is held.
push_base() {
    $py - "$1" <<'PY' | $py "$reg_py" seed --port "$port" - | jpy 'd["digest"]'
import json, sys
status = "".join("Package: %s\nStatus: install ok installed\nArchitecture: amd64\n"
                 "Version: %s\n\n" % p for p in (("bash", "5.2.15-2"), ("libc6", "2.36-9")))
print(json.dumps({"name": "library/debian", "tag": "12-slim", "created": "2026-01-01T00:00:00Z",
                  "layers": [{"files": {"etc/mark": sys.argv[1] + "\n", "var/lib/dpkg/status": status,
                                        "etc/os-release": 'ID=debian\nVERSION_ID="12"\n'}}]}))
PY
}
make_world || {
    nok "world set up"
    finish
}
(cd "$work" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out k.pem 2>/dev/null && openssl pkey -in k.pem -pubout -out k.pub) || {
    nok "a key made with openssl"
    finish
}
API_TOKEN=dash-t0ken-$RANDOM$RANDOM
EXTRA_YAML="api:
  listen: \"127.0.0.1:0\"
  token: \"$API_TOKEN\"
pull_requests:
  evidence:
    hold_on: [major]" write_config 1s "[pr]"
# The base's updates must be signed with k; unsigned ones are
# quarantined after 2 s, for someone to approve.
$py - "$work/strata.yaml" "$work/k.pub" <<'PY'
import sys
path, key = sys.argv[1:]
s = open(path).read().replace(
    "  bases:\n", "  verify: {keys: [%s], wait: 2s}\n  bases:\n" % key, 1)
open(path, "w").write(s)
PY
cp "$work/strata.yaml" "$work/cli.yaml"
start_daemon || {
    nok "daemon started"
    finish
}
ok "daemon up with an API token, API on $api"
rt_seen() { [ "$(count_events base.first_seen "$RUNTIME")" = 1 ]; }
check "the graph is scanned (the runtime image is watched)" wait_until 60 rt_seen

# ---- headers and the CSRF defence, with curl ---------------------------------
hdrs() { curl -sS -D - -o /dev/null "$@"; }
hdrs "$api/" >"$work/h.txt"
check "GET / is served without the token" grep -q '^HTTP/1.1 200' "$work/h.txt"
check "with Content-Security-Policy default-src 'none', script-src 'self'" grep -qi \
    "^content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" "$work/h.txt"
check "and X-Content-Type-Options: nosniff" grep -qi '^x-content-type-options: nosniff' "$work/h.txt"
check "and Referrer-Policy: no-referrer" grep -qi '^referrer-policy: no-referrer' "$work/h.txt"
check "the page has no inline script or style" bash -c \
    "curl -sS '$api/' | grep -Eiv '<script src=|<link rel=' | grep -Eiq '<script|<style|style=' && exit 1 || exit 0"
hdrs "$api/dashboard/app.js" >"$work/h.txt"
check "app.js is served as JavaScript, with the same headers" bash -c \
    "grep -qi '^content-type: text/javascript' '$work/h.txt' && grep -qi '^x-content-type-options: nosniff' '$work/h.txt'"
is "$(curl -s -o /dev/null -w '%{http_code}' "$api/api/v1/bases")" 401 \
    "the API still wants the token (401 without it)"
hdrs -H "Authorization: Bearer $API_TOKEN" "$api/api/v1/bases" >"$work/h.txt"
check "API answers carry the CSP and nosniff too" bash -c \
    "grep -qi '^content-security-policy:' '$work/h.txt' && grep -qi '^x-content-type-options: nosniff' '$work/h.txt'"
post() { # ORIGIN CONTENT-TYPE: the status of an approval POST
    curl -sS -o "$work/post.out" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $API_TOKEN" ${1:+-H "Origin: $1"} \
        ${2:+-H "Content-Type: $2"} --data-binary '{"ref": "x"}' \
        "$api/api/v1/bases/approve"
}
is "$(post http://evil.example application/json)" 403 "a cross-origin POST (with the token) is refused: 403"
check "saying why" grep -q 'cross-origin' "$work/post.out"
is "$(post "http://attacker.test:${api##*:}" application/json)" 403 "another host on the same port: 403"
is "$(post '' text/plain)" 415 "a POST that is not JSON (what a cross-site form can send): 415"
is "$(post '' application/x-www-form-urlencoded)" 415 "a form POST: 415"
is "$(post "$api" application/json)" 404 "from the daemon's own origin it goes through (404: no such base)"
is "$(post '' 'application/json; charset=utf-8')" 404 "JSON with a charset, no Origin (curl, the CLI): goes through"

# ---- the browser ------------------------------------------------------------------
export DASH_URL=$api API_TOKEN BASE RUNTIME APP WEB REG_PY=$reg_py \
    REG_PORT=$port OUT_DIR=$out CHROMIUM=$chromium
while IFS= read -r line; do
    case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) nok "${line#not ok - }" ;;
    "#"*) echo "$line" ;;
    *) echo "# $line" ;;
    esac
done < <(cd "$work" && NODE_PATH="$npmdir/node_modules" timeout 300 node \
    "$src/tests/dashboard/dashboard.js" 2>&1)
for f in overview-1280 overview-390 lineage-1280 lineage-390 approvals-held-1280 approvals-hold-1280; do
    check "screenshot $f.png kept" test -s "$out/$f.png"
done
echo "# screenshots in $out"
finish
