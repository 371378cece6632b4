#!/usr/bin/env bash
# stream.sh - TAP: GET /api/v1/stream, the daemon's Server-Sent Events,
# with curl -N against `strata run` on a real world (tests/e2e/lib.sh):
# a base pushed to the registry arrives as "id: N" + "data: {event}" with
# the objects GET /api/v1/events lists; Last-Event-ID resumes after that
# id with nothing missed; a new client starts at the newest event; a
# comment heartbeat every 15 s; at most 64 subscribers (503 with
# Retry-After beyond), and a subscriber that hangs up frees its place at
# once; SIGTERM ends every stream and the daemon still exits 0.
. "$(dirname "$0")/../e2e/lib.sh"
need docker-registry git curl

make_world || {
    nok "world set up"
    finish
}
write_config 1s "[pr]"
start_daemon || {
    nok "daemon started"
    finish
}
ok "daemon up, API on $api"
rt_seen() { [ "$(count_events base.first_seen "$RUNTIME")" = 1 ]; }
check "the graph is scanned" wait_until 60 rt_seen

last_id() { curl -fsS "$api/api/v1/events?tail=1" | jpy "d['items'][0]['id'] if d['items'] else 0"; }
before=$(last_id)
curl -sN -D "$work/live.h" -m 30 "$api/api/v1/stream" >"$work/live.out" 2>/dev/null &
live_pid=$!
pids+=("$live_pid")
check "the stream answers 200" wait_until 10 grep -q '^HTTP/1.1 200' "$work/live.h"
check "as text/event-stream, not cached" bash -c \
    "grep -qi '^content-type: text/event-stream' '$work/live.h' && grep -qi '^cache-control: no-store' '$work/live.h'"
sleep 0.5
v2=$(push_base v2)
updated_in_stream() { grep -q "^data: {.*\"type\":\"base.updated\".*\"new\":\"$v2\"" "$work/live.out"; }
check "a base pushed to the registry arrives on the stream (base.updated)" \
    wait_until 30 updated_in_stream
check "and the pull requests it plans" wait_until 60 grep -q '"type":"pr.opened"\|"type":"pr.branch_pushed"' "$work/live.out"
sleep 1
kill "$live_pid" 2>/dev/null
wait "$live_pid" 2>/dev/null
ids=$(grep '^id: ' "$work/live.out" | cut -d' ' -f2 | tr '\n' ' ')
is "$(echo "$ids" | awk -v b="$before" '{print ($1 == b + 1) ? "yes" : "no: " $1}')" yes \
    "a new client starts right after the newest event (no old ones)"
api_ids=$(curl -fsS "$api/api/v1/events?after=$before&limit=500" | jpy "' '.join(str(e['id']) for e in d['items'])")
is "$ids" "$api_ids " "every event since, in order, each once (as /api/v1/events lists them)"
is "$($py - "$work/live.out" "$api/api/v1/events?after=$before&limit=500" <<'PY'
import json, sys, urllib.request
got = [json.loads(l[6:]) for l in open(sys.argv[1]) if l.startswith("data: ")]
want = json.load(urllib.request.urlopen(sys.argv[2]))["items"]
print("same" if got == want else "differs: %r vs %r" % (got[:2], want[:2]))
PY
)" same "each data line is the JSON object /api/v1/events gives"

is "$(curl -sI -m 3 -o /dev/null -w '%{http_code} %{exitcode}' "$api/api/v1/stream")" "200 0" \
    "HEAD answers the headers at once (no endless body)"

# ---- Last-Event-ID ----------------------------------------------------------
set -- $ids
mid=$2
curl -sN -m 2 -H "Last-Event-ID: $mid" "$api/api/v1/stream" >"$work/resume.out" 2>/dev/null
want=$(curl -fsS "$api/api/v1/events?after=$mid&limit=500" | jpy "' '.join(str(e['id']) for e in d['items'])")
is "$(grep '^id: ' "$work/resume.out" | cut -d' ' -f2 | tr '\n' ' ')" "$want " \
    "Last-Event-ID: $mid resumes with every event after it"
curl -sN -m 1 -H "Last-Event-ID: 0" "$api/api/v1/stream" >"$work/all.out" 2>/dev/null
is "$(grep -c '^id: ' "$work/all.out")" "$(curl -fsS "$api/api/v1/events?limit=500" | jpy "len(d['items'])")" \
    "Last-Event-ID: 0 replays the whole log"
curl -sN -m 1 -H "Last-Event-ID: bogus" "$api/api/v1/stream" >"$work/bogus.out" 2>/dev/null
is "$(grep -c '^id: ' "$work/bogus.out")" 0 "a malformed Last-Event-ID starts at the newest event"

# ---- an event too big for a stream -------------------------------------------
# Written into the state as another strata process would (the CLI shares
# it): a 200 KiB payload goes without it, and the client stays.
curl -sN -m 4 "$api/api/v1/stream" >"$work/big.out" 2>/dev/null &
big_pid=$!
sleep 0.5
$py - "$work/strata.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
with db:
    db.execute("INSERT INTO events (time, type, subject, payload) VALUES (?, ?, ?, ?)",
               (1796600000000, "test.big", "big", json.dumps({"blob": "x" * 200000})))
    db.execute("INSERT INTO events (time, type, subject, payload) VALUES (?, ?, ?, ?)",
               (1796600000001, "test.after", "small", "{}"))
PY
wait "$big_pid"
is "$(grep '^data: .*"test.big"' "$work/big.out" | sed 's/^data: //' | jpy '[d["payload"], d["truncated"]]' 2>/dev/null)" \
    '[null, true]' "an event over 64 KiB arrives without its payload, marked truncated"
check "and the stream goes on (the next event follows)" grep -q '"type":"test.after"' "$work/big.out"

# The heartbeat needs 15 s of quiet on a stream: this one opens once the
# last event is out, and runs while the checks below do.
curl -sN -m 17 -H 'Last-Event-ID: 999999999' "$api/api/v1/stream" \
    >"$work/ping.out" 2>/dev/null &
ping_pid=$!
pids+=("$ping_pid")

# ---- the subscriber cap -------------------------------------------------------
# 63 more, with the heartbeat stream: 64 open.
cap=()
for i in $(seq 1 63); do
    curl -sN -m 60 -o "$work/cap$i.out" "$api/api/v1/stream" 2>/dev/null &
    cap+=($!)
    pids+=($!)
done
all_in() { [ "$(grep -l 'strata event stream' "$work"/cap*.out 2>/dev/null | wc -l)" = 63 ]; }
check "63 more streams open (each got the stream's greeting)" wait_until 30 all_in
is "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$api/api/v1/stream")" 503 \
    "with 64 streams open a 65th is refused: 503"
curl -s -D - -o "$work/cap.out" -m 2 "$api/api/v1/stream" >"$work/cap.h"
check "with Retry-After, and a JSON error saying why" bash -c \
    "grep -qi '^retry-after: ' '$work/cap.h' && grep -q 'too many event streams' '$work/cap.out'"
is "$(curl -s -o /dev/null -w '%{http_code}' "$api/api/v1/bases")" 200 "the rest of the API still answers"
kill "${cap[@]}" 2>/dev/null
wait "${cap[@]}" 2>/dev/null
free_again() { [ "$(curl -sN -o /dev/null -w '%{http_code}' -m 1 "$api/api/v1/stream")" = 200 ]; }
t0=$(now_ms)
check "clients that hang up free their places (seen at the next 250 ms tick)" wait_until 5 free_again
echo "# places free again after $(($(now_ms) - t0)) ms"

# ---- the heartbeat, and SIGTERM ----------------------------------------------
wait "$ping_pid" 2>/dev/null
check "an idle stream gets a comment heartbeat within 17 s" grep -q '^: ping' "$work/ping.out"
curl -sN -m 30 "$api/api/v1/stream" >"$work/term.out" 2>/dev/null &
term_pid=$!
sleep 0.5
t0=$(now_ms)
kill -TERM "$dpid"
wait "$dpid"
rc=$?
is "$rc" 0 "SIGTERM with a stream open: the daemon exits 0"
wait "$term_pid"
crc=$?
is "$crc" 0 "and the stream ends cleanly (curl exit 0, not its 30 s timeout)"
echo "# stopped in $(($(now_ms) - t0)) ms"
finish
