#!/usr/bin/env bash
# crash.sh - TAP: kill -9 in the middle of a run, twice (during a wave-0
# rebuild, then during the wave-1 rebuild), and restart each time. The
# jobs left running are re-queued and every job ends succeeded, exactly
# one job per (image, action, base digest); each repository has one
# pinned branch with one commit on it; no update is planned twice. A
# build killed with strata runs again (at least once), with the same
# STRATA_JOB_KEY each time, and the job's events are recorded once.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl
# jpy_lines: the lines of stdin as a sorted JSON list.
jpy_lines() { $py -c 'import json, sys; print(json.dumps(sorted(l.strip() for l in sys.stdin if l.strip())))'; }

make_world || {
    nok "world set up"
    finish
}
BUILD_SLEEP=3 write_config 1s
start_daemon "$work/daemon1.log" || {
    nok "daemon started"
    finish
}
ok "daemon up"

base_v2=$(push_base v2)
check "kill -9 while the runtime's rebuild runs" \
    wait_until 60 grep -q "rebuild $RUNTIME: claimed -> running" "$work/daemon1.log"
sleep 0.5
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
# The wave's pr jobs may still run too (each reads the base's package
# delta first, slower under ASan): the two rebuilds must be among them.
is "$(jobs_json | jpy "len([j for j in d if j['state'] == 'running' and j['action'] == 'rebuild'])")" \
    2 "two rebuilds were left running (runtime, web)"
running=$(count_jobs running)

start_daemon "$work/daemon2.log" || nok "daemon restarted"
check "restart: the interrupted jobs are re-queued ($running)" \
    grep -q "re-queued $running jobs left running" "$work/daemon2.log"
check "kill -9 again while the app's (wave 1) rebuild runs" \
    wait_until 60 grep -q "rebuild $APP: claimed -> running" "$work/daemon2.log"
sleep 0.5
kill -9 "$dpid"
wait "$dpid" 2>/dev/null

start_daemon "$work/daemon3.log" || nok "daemon restarted again"
check "second restart: the app's rebuild is re-queued" \
    grep -q "re-queued [1-9] jobs left running" "$work/daemon3.log"
check "every job eventually succeeds" wait_until 90 jobs_settled 6
jobs_json >"$work/jobs.json"
is "$(jpy "len(set(j['key'] for j in d)) == len(d) == 6 and all(j['base_digest'] == '$base_v2' for j in d)" <"$work/jobs.json")" True \
    "exactly one job per (image, action, base digest)"
is "$(jpy "sorted(j['attempts'] for j in d if j['action'] == 'rebuild')" <"$work/jobs.json")" \
    "[2, 2, 2]" "each rebuild was interrupted once and ran again"
is "$(count_events base.updated "$BASE")" 1 "one base.updated event for the base"

# At least once: a build killed with strata ran again (issue 22: "a
# restart never runs an action twice" did not hold), but every run of a
# job carried the same STRATA_JOB_KEY, so a builder can drop the repeat,
# and the job's events were recorded once.
is "$(awk '{print $1}' "$work/builds.log" | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')" \
    "2 " "each interrupted build ran twice"
is "$(awk 'NF == 3 {print $1, $3}' "$work/builds.log" | sort -u | wc -l)" 3 \
    "with one STRATA_JOB_KEY per job, the same in both runs"
is "$(jpy "sorted(j['key'] for j in d if j['action'] == 'rebuild')" <"$work/jobs.json")" \
    "$(awk '{print $3}' "$work/builds.log" | sort -u | jpy_lines)" \
    "STRATA_JOB_KEY is the job's idempotency key"
for img in "$RUNTIME" "$APP" "$WEB"; do
    is "$(count_events rebuild.started "$img")" 1 "$img: one rebuild.started across the rerun"
done
is "$(count_events base.planned "$RUNTIME")" 0 \
    "the runtime's new digest (strata's own push, seen across the crash) is not planned"

for r in runtime app web; do
    g="$work/git/$r.git"
    is "$(git --git-dir "$g" for-each-ref --format='%(refname)' refs/heads/strata/)" \
        refs/heads/strata/pin-debian-12-slim "$r: one pinned branch"
    is "$(git --git-dir "$g" rev-list --count main..strata/pin-debian-12-slim)" 1 \
        "$r: one commit on it (no duplicate)"
done
check "app's branch pins the rebuilt runtime" sh -c \
    "git --git-dir '$work/git/app.git' show strata/pin-debian-12-slim:Dockerfile | grep -q '$RUNTIME@$(S digest "$RUNTIME")'"
check "runtime's branch pins the new base" sh -c \
    "git --git-dir '$work/git/runtime.git' show strata/pin-debian-12-slim:Dockerfile | grep -q '$BASE@$base_v2'"

# The rebuilt runtime's digest is strata's own: nothing more to do.
sleep 3
is "$(count_jobs)" 6 "3 s later: still 6 jobs"
finish
