#!/usr/bin/env bash
# hold.sh - TAP: pull_requests.evidence.hold_on end to end, with `strata
# run --once`, a real registry behind the fault proxy and a repository
# whose Dockerfile is FROM the watched base:
#   - libc6 jumps a major version (2.36 -> 3.0): the update is held, no pr
#     job, base.held recorded (and delivered to an exec sink) once with
#     the reason and the delta's summary, `strata plan` says why;
#     another run holds it still;
#   - `strata approve BASE` releases it and the pr job runs;
#   - an update that matches nothing (libc6 3.0-1 -> 3.0-2) is planned at
#     once;
#   - a registry that answers 500 for blobs leaves the update
#     awaiting-evidence with the error (not held, not planned, exit 1),
#     and it is planned once the registry answers;
#   - a distribution release change held under [distribution_release];
#   - the daemon reads the delta in a worker and holds (GET /api/v1/bases
#     and `strata jobs` show it, the API a failed read's error and next
#     try too); approving through the API releases it; a failed read is
#     tried again after its backoff, not at every plan tick;
#   - a multi-arch base: each platform its watch lists is read, and a
#     major jump on arm64 alone holds the update;
#   - a bad hold_on value, and hold_on in repos[].pr, are config errors
#     with their position.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

start_registry || {
    nok "registry started"
    finish
}
read -r pport < <($py "$src/tests/servers/faultproxy.py" --upstream "127.0.0.1:$port" 2>"$work/proxy.log" &
    echo $! >"$work/proxy.pid"; wait)
pids+=("$(cat "$work/proxy.pid")")
R=127.0.0.1:$pport
BASE=$R/library/debian:12
API_TOKEN=hold-api-t0ken
fault() { curl -fsS "http://127.0.0.1:$pport/__fault?$1" >/dev/null; }

# seed_status STATUS [VERSION_ID]: pushes library/debian:12 with STATUS as
# its dpkg status and Debian VERSION_ID's os-release; prints its digest.
seed_status() {
    $py - "$1" "${2:-12}" <<'PY' | $py "$reg_py" seed --port "$port" - | jpy 'd["digest"]'
import json, sys
status, vid = sys.argv[1], sys.argv[2]
print(json.dumps({"name": "library/debian", "tag": "12",
                  "created": "2026-01-01T00:00:00Z",
                  "layers": [{"files": {
                      "var/lib/dpkg/status": status,
                      "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux %s"\n'
                                        'ID=debian\nVERSION_ID="%s"\n'
                                        % (vid, vid)}}]}))
PY
}
stanza() { # NAME VERSION
    printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n\n' "$1" "$2"
}

mkrepo web "FROM $BASE
COPY site /srv/site
"
# hold_config HOLD_ON: the world's configuration.
hold_config() {
    cat >"$work/strata.yaml" <<YAML
state: $work/strata.db
watch:
  interval: ${INTERVAL:-1h}
  jitter: 0%
  bases:
    - ref: $BASE
repos:
  - url: file://$work/git/web.git
    images: [{name: $R/acme/web:1}]
    on_base_update: [pr]
pull_requests:
  evidence:
    hold_on: $1
api: {listen: "127.0.0.1:0", token: "hold-api-t0ken"}
notify:
  - name: held
    type: exec
    events: [base.held]
    command: "cat >>$work/held-notify.json; echo >>$work/held-notify.json"
YAML
    cp "$work/strata.yaml" "$work/cli.yaml"
}
once() { S run --once >>"$work/once.log" 2>&1; }
plan_json() { S plan --format json; }
plan_state() { plan_json | jpy "[u['state'] for u in d['updates']]"; }

hold_config "[major]"
v1=$(seed_status "$(stanza bash 5.2.15-2; stanza libc6 2.36-9)")
check "first run: v1 is seen" once
is "$(plan_state)" '[]' "nothing to plan"

# ---- a major jump of libc6: held ------------------------------------------
v2=$(seed_status "$(stanza bash 5.2.15-3; stanza libc6 3.0-1)")
once
is "$(plan_state)" '["held"]' "libc6 2.36 -> 3.0: held"
is "$(plan_json | jpy "d['updates'][0]['hold_reason']")" "libc6 2.36-9 → 3.0-1" \
    "the reason names the package and both versions"
is "$(count_jobs)" 0 "no job is enqueued"
is "$(count_events base.held)" 1 "base.held recorded"
is "$(events_json | jpy "[e['payload']['reason'] for e in d if e['type'] == 'base.held']")" \
    '["libc6 2.36-9 \u2192 3.0-1"]' "base.held carries the reason"
check "base.held carries the delta's summary line" bash -c \
    "'$strata' -c '$work/cli.yaml' events --format json | grep -q '2 packages upgraded'"
is "$(head -n 1 "$work/held-notify.json" | jpy "[d['type'], d['reason'], d['packages'], d['severity']]")" \
    '["base.held", "libc6 2.36-9 \u2192 3.0-1", "2 packages upgraded, 0 added, no removals; Debian GNU/Linux 12", "warning"]' \
    "the notification sink got base.held with the reason and the summary"
S plan >"$work/plan.txt"
check "strata plan shows the state and the reason" grep -q "^held $BASE@$v2" "$work/plan.txt"
check "... held: libc6 2.36-9 → 3.0-1 (strata approve BASE)" \
    grep -q "  held: libc6 2.36-9 → 3.0-1 (strata approve $BASE)" "$work/plan.txt"
check "... and the package summary" grep -q "  packages: 2 packages upgraded" "$work/plan.txt"
once
is "$(plan_state)" '["held"]' "another run: still held"
is "$(count_events base.held)" 1 "no second base.held"
is "$(count_jobs)" 0 "still no job"

# ---- approve releases it ----------------------------------------------------
check "strata approve BASE" S approve "$BASE"
check "the next run succeeds" once
is "$(count_jobs succeeded)" 1 "the pr job ran"
check "the pin was pushed" bash -c "git -C '$work/git/web.git' branch | grep -q strata/"
is "$(plan_state)" '[]' "nothing left to plan"

# ---- no match: planned at once ---------------------------------------------
v3=$(seed_status "$(stanza bash 5.2.15-3; stanza libc6 3.0-2)")
check "a minor update runs at once" once
is "$(count_jobs)" 2 "its pr job is enqueued"
is "$(count_events base.held)" 1 "and nothing held"

# ---- the registry fails: awaiting-evidence, never a decision ----------------
fault "mode=500&path=/blobs/"
v4=$(seed_status "$(stanza bash 5.2.15-4; stanza libc6 3.0-2)")
if once; then nok "a failed read makes run --once exit 1"; else ok "a failed read makes run --once exit 1"; fi
is "$(plan_state)" '["awaiting-evidence"]' "registry 500: awaiting-evidence"
check "the error is shown" bash -c \
    "'$strata' -c '$work/cli.yaml' plan | grep -q '  packages: not read (attempt 1): .*500'"
is "$(count_jobs)" 2 "not planned"
is "$(count_events base.held)" 1 "not held"
once
is "$(plan_json | jpy "d['updates'][0]['evidence']['attempts']")" 2 "the next run reads again (attempt 2)"
fault "mode=none"
check "the registry answers again: the run succeeds" once
is "$(count_jobs)" 3 "the update is planned"
is "$(count_events base.held)" 1 "and not held"

# ---- distribution release: 12 -> 13 ------------------------------------------
hold_config "[distribution_release]"
v5=$(seed_status "$(stanza bash 5.2.15-4; stanza libc6 3.0-2)" 13)
once
is "$(plan_state)" '["held"]' "VERSION_ID 12 -> 13: held under [distribution_release]"
is "$(plan_json | jpy "d['updates'][0]['hold_reason']")" "distribution release 12 → 13" \
    "the reason names both releases"
is "$(count_events base.held)" 2 "base.held recorded for it"

# ---- the daemon: reads in a worker, holds, approve releases ---------------------
INTERVAL=1s hold_config "[major]"
start_daemon || {
    nok "daemon started"
    finish
}
held_thrice() { [ "$(count_events base.held)" = 3 ]; }
v6=$(seed_status "$(stanza bash 5.2.15-4; stanza libc6 4.0-1)" 13)
check "the daemon holds libc6 3.0 -> 4.0 (base.held)" wait_until 60 held_thrice
is "$(plan_state)" '["held"]' "strata plan: held"
is "$(plan_json | jpy "d['updates'][0]['hold_reason']")" "distribution release 12 → 13; libc6 3.0-2 → 4.0-1" \
    "the daemon's reason: the planned digest (v4) to v6, both reasons"
is "$(count_jobs)" 3 "no job while held"
# GET /api/v1/bases: the base's pending update, from the planner's dry run.
bases_update() { acurl -fsS "$api/api/v1/bases" | jpy "[b.get('update') for b in d['items'] if b['ref'] == '$BASE'][0]"; }
bases_update >"$work/bases-held.json"
is "$(jpy "[d['state'], d['old'], d['new']]" <"$work/bases-held.json")" "[\"held\", \"$v4\", \"$v6\"]" \
    "GET /api/v1/bases: the base's update is held, from v4 to v6"
is "$(jpy "d['hold_reason']" <"$work/bases-held.json")" "distribution release 12 → 13; libc6 3.0-2 → 4.0-1" \
    "... with the reason"
is "$(jpy "['upgraded' in d['evidence']['summary'], d['evidence']['majors'], d['evidence']['release']]" <"$work/bases-held.json")" \
    '[true, ["libc6 3.0-2 \u2192 4.0-1"], "12 \u2192 13"]' \
    "... and the package evidence (summary, majors, release)"
is "$(acurl -fsS "$api/api/v1/bases" | jpy "[[b['current_digest'], 'last_check' in b] for b in d['items'] if b['ref'] == '$BASE'][0]")" \
    "[\"$v6\", true]" "... and the base's other fields as before"
S jobs >"$work/jobs.txt"
check "strata jobs: a held line with the reason and how to approve" grep -qxF \
    "held  $BASE@$v6  hold_on: distribution release 12 → 13; libc6 3.0-2 → 4.0-1 (strata approve $BASE)" "$work/jobs.txt"
check "the daemon logged the delta it read" grep -q "evidence of $BASE" "$work/daemon.log"
code=$(acurl -sS -o "$work/approve.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -d "{\"ref\": \"$BASE\"}" "$api/api/v1/bases/approve")
is "$code" 200 "POST /api/v1/bases/approve"
four_done() { jobs_settled 4; }
check "approved: the daemon plans it and the pr job runs" wait_until 60 four_done
is "$(grep -c base.held "$work/held-notify.json")" 3 "each hold notified once"
is "$(bases_update)" None "GET /api/v1/bases: planned, the base has no pending update"
check "strata jobs: no held line once approved" bash -c "! '$strata' -c '$work/cli.yaml' jobs | grep -q '^held '"

# The registry fails under the daemon: awaiting-evidence, read again only
# after its backoff (30 s), not at every plan tick (5 s); then planned.
fault "mode=500&path=/blobs/"
v7=$(seed_status "$(stanza bash 5.2.15-4; stanza libc6 4.0-2)" 13)
attempts() { plan_json | jpy "d['updates'][0]['evidence'].get('attempts') if d['updates'] else None"; }
first_failure() { [ "$(attempts)" = 1 ]; }
check "registry 500 under the daemon: awaiting-evidence, attempt 1" wait_until 30 first_failure
is "$(plan_state)" '["awaiting-evidence"]' "not held, not planned"
bases_update >"$work/bases-error.json"
is "$(jpy "[d['state'], d['evidence']['attempts'], '500' in d['evidence']['error']]" <"$work/bases-error.json")" \
    '["awaiting-evidence", 1, true]' "GET /api/v1/bases: awaiting-evidence, with the read's error"
is "$(jpy "d['evidence']['retry_at'] - d['evidence']['time']" <"$work/bases-error.json")" 30000 \
    "... and when it is read again (retry_at: 30 s after the failure)"
sleep 11
is "$(attempts)" 1 "11 s later (two plan ticks): not read again before its backoff"
fault "mode=none"
five_done() { jobs_settled 5; }
check "after the backoff it is read again and planned" wait_until 60 five_done
is "$(count_events base.held)" 3 "and never held"
kill -TERM "$dpid"
check "the daemon stops" wait_until 30 bash -c "! kill -0 $dpid"

# ---- a multi-arch base: every platform its watch lists is read ------------------
# amd64 has a minor update, arm64's libc6 jumps a major version: held,
# with arm64's reason (the summaries, "1 package upgraded" on each, are
# one line; different ones would be "PLATFORM: summary; ...").
MB=$R/library/multi:1
seed_multi() { # AMD64_LIBC ARM64_LIBC
    $py - "$(stanza libc6 "$1")" "$(stanza libc6 "$2")" <<'PY' | $py "$reg_py" seed --port "$port" - | jpy 'd["digest"]'
import json, sys
amd, arm = sys.argv[1], sys.argv[2]
print(json.dumps({"name": "library/multi", "tag": "1",
                  "platforms": ["linux/amd64", "linux/arm64"],
                  "layers": [{"files": {"etc/os-release": 'ID=debian\nVERSION_ID="12"\n'},
                              "platform_files": {
                                  "linux/amd64": {"var/lib/dpkg/status": amd},
                                  "linux/arm64": {"var/lib/dpkg/status": arm}}}]}))
PY
}
mkrepo multi "FROM $MB
"
cat >"$work/multi.yaml" <<YAML
state: $work/multi.db
watch:
  interval: 1h
  bases:
    - ref: $MB
      platforms: [linux/amd64, linux/arm64]
repos:
  - url: file://$work/git/multi.git
    images: [{name: $R/acme/multi:1}]
    on_base_update: [pr]
pull_requests:
  evidence:
    hold_on: [major]
YAML
M() { "$strata" -c "$work/multi.yaml" "$@"; }
seed_multi 2.36-9 2.36-9 >/dev/null
check "multi-arch: first run" M run --once
seed_multi 2.36-10 3.0-1 >/dev/null
M run --once >>"$work/once.log" 2>&1
M plan --format json >"$work/multi-plan.json"
is "$(jpy "d['updates'][0]['state']" <"$work/multi-plan.json")" held \
    "arm64's libc6 2.36 -> 3.0 holds the update (amd64's is minor)"
is "$(jpy "d['updates'][0]['hold_reason']" <"$work/multi-plan.json")" "libc6 2.36-9 → 3.0-1" \
    "the reason is arm64's"
is "$(jpy "d['updates'][0]['evidence']['platform']" <"$work/multi-plan.json")" "linux/amd64, linux/arm64" \
    "both platforms were read"
is "$(jpy "d['updates'][0]['evidence']['summary']" <"$work/multi-plan.json")" \
    "1 package upgraded, 0 added, no removals; debian 12" \
    "one summary line when every platform's reads the same"

# ---- configuration errors -----------------------------------------------------
hold_config "[major, majr]"
S config check >"$work/check.out" 2>&1
is "$?" 2 "an unknown hold_on value: exit 2"
check "... at its position, with the values known" \
    grep -q "cli.yaml:13:22: unknown value 'majr' for 'hold_on' (expected one of: distribution_release, major, downgrade, removal)" "$work/check.out"
cat >"$work/cli.yaml" <<YAML
state: $work/strata.db
repos:
  - url: file://$work/git/web.git
    pr:
      evidence: {hold_on: [major]}
YAML
S config check >"$work/check2.out" 2>&1
is "$?" 2 "hold_on in repos[].pr: exit 2"
check "... an error naming the key and where it belongs" \
    grep -q "cli.yaml:5:[0-9]*: 'hold_on' holds a base's whole update.*pull_requests.evidence" "$work/check2.out"
finish
