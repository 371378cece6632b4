#!/usr/bin/env bash
# daemon.sh - TAP: the daemon end to end. With a 1 s poll it sees a new
# base digest, plans it and runs each image's actions exactly once in
# wave order (checked through `strata jobs/events --format json` and GET
# /api/v1/jobs and /api/v1/events); a later SIGHUP with a broken
# configuration keeps the running one (the log says why) and the daemon
# still handles the next base update; SIGTERM drains a running rebuild
# and exits 0 within a bounded time; a SIGHUP with a good configuration
# applies its new build command and notification sinks.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

make_world || {
    nok "world set up"
    finish
}
BUILD_SLEEP=1 write_config 1s
start_daemon || {
    nok "daemon started" "$(tail -n 20 "$work/daemon.log")"
    finish
}
ok "daemon up, API on $api, base first seen"
is "$(count_jobs)" 0 "a first sighting plans nothing"
is "$(curl -s -o /dev/null -w '%{http_code}' "$api/healthz")" 200 "GET /healthz"

# ---- 1. a new base digest: detected, planned, acted on in waves -------------
t0=$(now_ms)
base_v2=$(push_base v2)
check "the update is seen and its 6 jobs succeed" wait_until 60 jobs_settled 6
t1=$(now_ms)
echo "# base push to 6 jobs done: $((t1 - t0)) ms"
jobs_json >"$work/jobs.json"
is "$(jpy "sorted((j['image'], j['action'], j['base_digest']) for j in d) == sorted((i, a, '$base_v2') for i in ['$RUNTIME', '$APP', '$WEB'] for a in ['pr', 'rebuild'])" <"$work/jobs.json")" True \
    "exactly one job per (image, action), all for the new digest"
is "$(jpy "dict((j['image'], j['wave']) for j in d) == {'$RUNTIME': 0, '$WEB': 0, '$APP': 1}" <"$work/jobs.json")" True \
    "waves: runtime and web 0, app 1"
is "$(jpy "max(j['attempts'] for j in d)" <"$work/jobs.json")" 1 "each job ran once"
is "$(sort "$work/builds.log" | cut -d' ' -f1 | uniq -c | awk '{print $1}' | sort -u)" 1 \
    "the builder ran once per image"

events_json >"$work/events.json"
is "$(jpy "[e['payload'].get('new') for e in d if e['type'] == 'base.updated' and e['subject'] == '$BASE']" <"$work/events.json")" \
    "[\"$base_v2\"]" "one base.updated event for the base, for the new digest"
# The runtime strata rebuilt may be seen moving too (a 1 s poll can read
# the push before the job ends), but only to the digest strata built.
rt_built=$(jpy "[j['result'].get('digest') for j in d if j['image'] == '$RUNTIME' and j['action'] == 'rebuild'][0]" <"$work/jobs.json")
is "$(jpy "all(e['payload'].get('new') == '$rt_built' for e in d if e['type'] == 'base.updated' and e['subject'] == '$RUNTIME')" <"$work/events.json")" True \
    "any base.updated of the runtime is the digest strata built"
# Wave order: the runtime's rebuild finished before anything of the app
# started (event order, and job order in the log).
ord=$(jpy "[e['type'] + ' ' + e['subject'] for e in d if e['type'].startswith('rebuild.')]" <"$work/events.json")
is "$(echo "$ord" | jpy "d.index('rebuild.succeeded $RUNTIME') < d.index('rebuild.started $APP')")" True \
    "events: rebuild.succeeded of the runtime before rebuild.started of the app"
app_ids=$(jpy "' '.join(str(j['id']) for j in d if j['image'] == '$APP')" <"$work/jobs.json")
rt_rebuild=$(jpy "[j['id'] for j in d if j['image'] == '$RUNTIME' and j['action'] == 'rebuild'][0]" <"$work/jobs.json")
done_line=$(grep -n "\[job $rt_rebuild\] rebuild .*running -> succeeded" "$work/daemon.log" | cut -d: -f1)
first_app=99999999
for id in $app_ids; do
    l=$(grep -n "\[job $id\] .*claimed -> running" "$work/daemon.log" | head -n 1 | cut -d: -f1)
    [ -n "$l" ] && [ "$l" -lt "$first_app" ] && first_app=$l
done
check "log: the app's jobs were claimed after the runtime's rebuild succeeded" \
    test -n "$done_line" -a "$done_line" -lt "$first_app"
is "$(jpy "all(j['updated'] >= j['created'] for j in d)" <"$work/jobs.json")" True "job times are consistent"

# The API says the same as the CLI.
curl -fsS "$api/api/v1/jobs?limit=500" >"$work/api-jobs.json"
is "$(jpy "sorted((j['id'], j['state']) for j in d['items'])" <"$work/api-jobs.json")" \
    "$(jpy "sorted((j['id'], j['state']) for j in d)" <"$work/jobs.json")" \
    "GET /api/v1/jobs lists the same jobs"
is "$(curl -fsS "$api/api/v1/events?type=base.updated" | jpy "len([e for e in d['items'] if e['subject'] == '$BASE'])")" 1 \
    "GET /api/v1/events?type=base.updated: one for the base"
is "$(curl -fsS "$api/api/v1/jobs?limit=2" | jpy "(len(d['items']), d['next'] is not None)")" \
    "(2, True)" "jobs are paginated"

# The app's branch pins the runtime the daemon rebuilt.
rt_now=$(S digest "$RUNTIME")
check "app's strata/pin-debian-12-slim pins the rebuilt runtime" \
    sh -c "git --git-dir '$work/git/app.git' show strata/pin-debian-12-slim:Dockerfile | grep -q '$RUNTIME@$rt_now'"
# Nothing runs twice: the rebuilt runtime's new digest is strata's own doing.
sleep 3
is "$(count_jobs)" 6 "3 s later (3 polls): still 6 jobs"
is "$(count_events base.updated "$BASE")" 1 "and one base.updated for the base"

# ---- 4. SIGHUP with a broken configuration keeps the running one -----------
cp "$work/strata.yaml" "$work/strata.yaml.good"
printf 'watch:\n  interval: banana\n' >>"$work/strata.yaml"
lines=$(wc -l <"$work/daemon.log")
kill -HUP "$dpid"
check "reload refused, the log says why" wait_until 10 sh -c \
    "tail -n +$lines '$work/daemon.log' | grep -q 'reload: keeping the running configuration'"
check "the log names the problem" sh -c \
    "tail -n +$lines '$work/daemon.log' | grep -q 'strata.yaml:[0-9]*:[0-9]*: .*'"
check "the daemon is still running" kill -0 "$dpid"
# The next update is still handled, with the old (good) configuration.
base_v3=$(push_base v3)
check "after the refused reload, the next update's 6 jobs succeed" wait_until 60 jobs_settled 12
is "$(jobs_json | jpy "len([j for j in d if j['base_digest'] == '$base_v3'])")" 6 "6 jobs for v3"

# ---- SIGTERM drains and exits 0 in bounded time -----------------------------
cp "$work/strata.yaml.good" "$work/strata.yaml"
# A slow rebuild is running when SIGTERM arrives: it is drained, not lost.
sed -i 's/sleep 1;/sleep 3;/' "$work/strata.yaml"
# The reload also brings a notification sink the running daemon lacks.
cat >>"$work/strata.yaml" <<YAML
notify:
  - name: hup
    type: exec
    events: [base.updated]
    command: "cat >>$work/hup-notify.json; echo >>$work/hup-notify.json"
YAML
# And web's Dockerfile now builds on the runtime: the rescan the reload
# starts must bring the new edge into the daemon's graph.
printf 'FROM %s\nCOPY site /srv/site\n' "$RUNTIME" >"$work/src/web/Dockerfile"
git -C "$work/src/web" -c user.name=dev -c user.email=dev@example.com \
    commit -qam "web: build on the runtime"
git -C "$work/src/web" push -q "$work/git/web.git" main
web_on() { # PARENT: the daemon's graph has web's Dockerfile FROM PARENT
    curl -fsS "$api/api/v1/graph" |
        jpy "any(e['child'] == '$WEB' and e['parent'] == '$1' and e['method'] == 'dockerfile' for e in d['edges'])" |
        grep -q True
}
web_not_on() { ! web_on "$1"; }
check "before the reload, the daemon's graph has web FROM base" web_on "$BASE"
lines=$(wc -l <"$work/daemon.log")
kill -HUP "$dpid"
wait_until 10 sh -c "tail -n +$lines '$work/daemon.log' | grep -q 'reloaded'"
check "after the reload's rescan, the daemon's graph has web FROM runtime" \
    wait_until 30 web_on "$RUNTIME"
check "and no longer web FROM base" web_not_on "$BASE"
base_v4=$(push_base v4)
check "a rebuild for v4 is running" wait_until 30 sh -c \
    "tail -n +$lines '$work/daemon.log' | grep -q 'rebuild .*claimed -> running'"
check "SIGHUP applied the new notify sink: base.updated for v4 delivered" \
    wait_until 30 grep -q "$base_v4" "$work/hup-notify.json"
# A pr job of v4 may still be reading the base's package delta: SIGTERM
# cuts it short and it goes back to the queue, never left "running".
t0=$(now_ms)
kill -TERM "$dpid"
wait "$dpid"
rc=$?
t1=$(now_ms)
is "$rc" 0 "SIGTERM: exit 0"
check "SIGTERM: stopped within 35 s (took $((t1 - t0)) ms)" test $((t1 - t0)) -lt 35000
check "SIGTERM: the running rebuild finished first (drained)" sh -c \
    "tail -n +$lines '$work/daemon.log' | grep -q 'rebuild .*running -> succeeded'"
is "$(count_jobs running)" 0 "no job left running"
finish
