#!/usr/bin/env bash
# load.sh - TAP: the HTTP API under wrk (10 s, two runs at once: GET
# /api/v1/jobs and GET /healthz, 4 connections each) while the daemon
# processes a base update: no non-2xx answer, no socket error, and the
# update's jobs still all succeed.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl wrk

make_world || {
    nok "world set up"
    finish
}
BUILD_SLEEP=1 write_config 1s
start_daemon || {
    nok "daemon started"
    finish
}
ok "daemon up"
base_v2=$(push_base v2)
wrk -t1 -c4 -d10s "$api/api/v1/jobs?limit=100" >"$work/wrk-jobs.txt" 2>&1 &
w1=$!
wrk -t1 -c4 -d10s "$api/healthz" >"$work/wrk-healthz.txt" 2>&1 &
w2=$!
wait "$w1"
is "$?" 0 "wrk /api/v1/jobs ran"
wait "$w2"
is "$?" 0 "wrk /healthz ran"
for f in jobs healthz; do
    out="$work/wrk-$f.txt"
    sed 's/^/# /' "$out" | grep -E 'Requests/sec|requests in|Non-2xx|Socket'
    check "$f: no non-2xx answer" sh -c "! grep -q 'Non-2xx or 3xx responses' '$out'"
    check "$f: no socket error" sh -c "! grep -q 'Socket errors' '$out'"
    check "$f: requests were served" sh -c "grep -Eq '^ *[1-9][0-9]* requests in' '$out'"
done
check "meanwhile the update was worked on: 6 jobs succeed" wait_until 60 jobs_settled 6
is "$(count_events base.updated "$BASE")" 1 "one base.updated event for the base"
# The runtime is a base too (of app): its rebuild may be seen moving, but
# only to the digest strata built.
rt_built=$(jobs_json | jpy "[j['result'].get('digest') for j in d if j['image'] == '$RUNTIME' and j['action'] == 'rebuild'][0]")
is "$(events_json | jpy "all(e['payload'].get('new') == '$rt_built' for e in d if e['type'] == 'base.updated' and e['subject'] == '$RUNTIME')")" \
    True "any base.updated of the runtime is the digest strata built"
finish
