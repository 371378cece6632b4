#!/usr/bin/env bash
# stall.sh - TAP: one git remote that stalls must not stop the daemon
# (issue 21, defect 8). The world of lib.sh (a real registry, file://
# remotes for runtime, app and web) plus a fourth repository served by
# tests/servers/gitstall.py that drips one byte every 5 s: its fetch lasts
# until scan.fetch_timeout (120 s), far longer than this test. The daemon
# must be ready (/readyz 200) and watching within a few seconds, scan the
# healthy repositories meanwhile, pin web's Dockerfile within 45 s of a
# base update, and end within its drain bound on SIGTERM, the dripping
# fetch cut short; and a pr job whose fetch drips must end with it.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

make_world || { nok "world set up"; finish; }
ok "world set up: registry, base v1, three file:// remotes"

# The dripping remote: a bare repository under gitstall's root.
mkdir -p "$work/stall"
git init -q --bare -b main "$work/stall/slow.git"
git init -q -b main "$work/src/slow"
printf 'FROM %s\n' "$BASE" >"$work/src/slow/Dockerfile"
git -C "$work/src/slow" add Dockerfile
git -C "$work/src/slow" -c user.name=dev -c user.email=dev@example.com \
    commit -qm initial
git -C "$work/src/slow" push -q "$work/stall/slow.git" main
$py "$src/tests/servers/gitstall.py" "$work/stall" >"$work/gitstall.port" &
pids+=("$!")
wait_until 10 test -s "$work/gitstall.port" || { nok "gitstall started"; finish; }
gport=$(head -n 1 "$work/gitstall.port")
SLOW=$R/acme/slow:1

APP_REPO_YAML="  - url: http://127.0.0.1:$gport/drip-5/slow.git
    images: [{name: $SLOW}]
    on_base_update: [pr]" write_config 1s "[pr]"

started=$(now_ms)
"$strata" -c "$work/strata.yaml" run >>"$work/daemon.log" 2>&1 &
dpid=$!
pids+=("$dpid")
wait_until 10 grep -q 'api: listening on .*(port [0-9]*)' "$work/daemon.log" ||
    { nok "the API listens"; finish; }
api=http://127.0.0.1:$(grep -o 'api: listening on .*(port [0-9]*)' \
    "$work/daemon.log" | tail -n 1 | sed 's/.*(port \([0-9]*\))/\1/')
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")" = 200 ]; }
wait_until 10 ready
check "/readyz answers 200 while a remote drips (before: 503 until its fetch ended)" ready
ready_ms=$(($(now_ms) - started))
echo "# ready after $ready_ms ms"
check "ready within 5 s of the start" test "$ready_ms" -lt 5000
dripping() { grep -q '^drip-5 ' "$work/stall/gitstall.log"; }
wait_until 10 dripping
check "the dripping remote is being fetched meanwhile" dripping

# Watching: the base is seen without waiting for the scans.
wait_until 10 base_known
check "the base is watched within seconds of the start" base_known

# The healthy repositories are scanned while the other drips.
scanned() { grep -q "scan file://$work/git/web.git: 1 Dockerfiles" "$work/daemon.log"; }
wait_until 20 scanned
check "web is scanned while the dripping fetch goes on" scanned
in_graph() {
    acurl -fsS "$api/api/v1/graph" 2>/dev/null | grep -q "$WEB"
}
wait_until 10 in_graph
check "the graph the daemon plans with has web" in_graph

# A base update: web is pinned within 45 s, the drip notwithstanding.
base_v2=$(push_base v2)
pushed=$(now_ms)
pinned() {
    git --git-dir "$work/git/web.git" show strata/pin-debian-12-slim:Dockerfile \
        2>/dev/null | grep -q "$BASE@$base_v2"
}
wait_until 45 pinned
check "web's strata/pin-debian-12-slim pins the new base within 45 s" pinned
echo "# pinned after $(($(now_ms) - pushed)) ms"
check "the dripping fetch is still under way" \
    sh -c "! grep -q 'scan http://127.0.0.1:$gport/drip-5/slow.git' '$work/daemon.log'"

# SIGTERM: the daemon ends within its drain bound (30 s), the drip cut.
stopped=$(now_ms)
kill -TERM "$dpid"
gone() { ! kill -0 "$dpid" 2>/dev/null; }
wait_until 30 gone
check "SIGTERM ends the daemon within its drain bound" gone
echo "# exited $(($(now_ms) - stopped)) ms after SIGTERM"
wait "$dpid" 2>/dev/null
is "$?" 0 "and it exits 0"
check "the dripping fetch was cancelled" \
    grep -q "slow.git.*cancel" "$work/daemon.log"

# A job's fetch, too. The slow repository is scanned once through its
# healthy URL (run --once), so the graph knows its image; then the daemon
# runs with the dripping URL and a base update starts a pr job for it,
# whose fetch drips (or waits for the mirror the background scan holds).
# SIGTERM must end it at once (before: the drain waited its 30 s bound),
# and the job is queued again for the next start, no attempt spent.
APP_REPO_YAML="  - url: http://127.0.0.1:$gport/ok/slow.git
    images: [{name: $SLOW}]
    on_base_update: [pr]" write_config 1s "[pr]"
"$strata" -c "$work/strata.yaml" run --once >>"$work/once.log" 2>&1
check "the slow repository scanned once through its healthy URL" \
    grep -q "scan http://127.0.0.1:$gport/ok/slow.git: 1 Dockerfiles" "$work/once.log"
APP_REPO_YAML="  - url: http://127.0.0.1:$gport/drip-5/slow.git
    images: [{name: $SLOW}]
    on_base_update: [pr]" write_config 1s "[pr]"
"$strata" -c "$work/strata.yaml" run >>"$work/daemon2.log" 2>&1 &
dpid=$!
pids+=("$dpid")
wait_until 10 grep -q 'api: listening on .*(port [0-9]*)' "$work/daemon2.log"
base_v3=$(push_base v3)
slow_running() { grep -q "pr $SLOW: claimed -> running" "$work/daemon2.log"; }
wait_until 30 slow_running
check "a pr job for the slow repository runs" slow_running
sleep 1
stopped=$(now_ms)
kill -TERM "$dpid"
wait_until 30 gone
took=$(($(now_ms) - stopped))
echo "# exited $took ms after SIGTERM"
check "SIGTERM ends the pr job's fetch: the daemon exits within 5 s" test "$took" -lt 5000
wait "$dpid" 2>/dev/null
is "$?" 0 "and it exits 0"
check "the job is queued again for the next start, not failed" \
    grep -q "cancelled by the shutdown: queued again" "$work/daemon2.log"
is "$(jobs_json | jpy "[(j['state'], j['attempts']) for j in d if j['image'] == '$SLOW' and j['base_digest'] == '$base_v3']")" \
    '[["queued", 0]]' "the store has it queued, no attempt spent (never left running)"
finish
