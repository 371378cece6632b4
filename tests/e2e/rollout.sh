#!/usr/bin/env bash
# rollout.sh - TAP: a progressive rollout (config `rollout:`) end to end:
# the real daemon, a real registry, one bare git remote per image and the
# GitHub-shaped forge for the first canary's repository. A fleet of
# E2E_FLEET images (40 by default) on one base, each with [pr, rebuild];
# a canary stage of four images, then 25 %, then the rest, with a bake.
# One canary's build fails: the rollout halts and no other image is
# touched; `strata rollout resume` (audited) and it goes on; kill -9 in
# the middle of a stage and the restarted daemon goes on at the same
# stage to the end. Then a second digest arrives mid-rollout and a third
# supersedes it: the second's waiting jobs are cancelled, the third
# starts from its canaries, and the forge still has one pull request.
# The HTTP API lists and shows them and aborts a fifth.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

fleet=${E2E_FLEET:-40}
API_TOKEN=rollout-api-t0ken
export E2E_FORGE_TOKEN=ghp-e2e-token
head=strata/pin-debian-12-slim
read -r fport < <($py "$src/tests/servers/forge.py" --forge github \
    --token "$E2E_FORGE_TOKEN" --repo acme/app00 --branch main --branch "$head" \
    2>"$work/forge.log" &
    echo $! >"$work/forge.pid"; wait)
pids+=("$(cat "$work/forge.pid")")
forge=http://127.0.0.1:$fport

start_registry || {
    nok "registry started"
    finish
}
BASE=$R/library/debian:12-slim
base_v1=$(push_base v1)
names=()
for i in $(seq -f %02g 0 $((fleet - 1))); do
    mkrepo "app$i" "FROM $BASE
COPY app /app
"
    names+=("app$i")
done

# The builder fails for app03 while $work/fail exists, and takes a
# second while $work/slow does (so that kill -9 lands inside a stage).
build_cmd="echo {image} \$STRATA_JOB_KEY >> $work/builds.log; [ -e $work/slow ] && sleep 1; case {image} in *app03*) if [ -e $work/fail ]; then exit 1; fi;; esac; $py $src/scripts/demo-build.py --port ${R##*:} --image {image} --repo {repo} --dockerfile {dockerfile}"
touch "$work/fail"
{
    cat <<YAML
state: $work/strata.db
watch:
  interval: 1s
  jitter: 0%
  bases:
    - ref: $BASE
      rollout:
        stages:
          - images: ["$R/acme/app0[0-3]:1"]
          - percent: 25
        bake: 3s
        failure_budget: {images: 0}
repos:
YAML
    for a in "${names[@]}"; do
        echo "  - url: file://$work/git/$a.git"
        echo "    images: [{name: $R/acme/$a:1}]"
        echo "    on_base_update: [pr, rebuild]"
        if [ "$a" = app00 ]; then
            echo "    forge: {type: github, repo: acme/app00, api_url: \"$forge\"}"
            echo "    auth: {token: \"\${E2E_FORGE_TOKEN}\"}"
        fi
    done
    cat <<YAML
builders:
  default:
    type: exec
    command: "$build_cmd"
api: {listen: "127.0.0.1:0", token: "rollout-api-t0ken"}
YAML
} >"$work/strata.yaml"
cp "$work/strata.yaml" "$work/cli.yaml"
check "config check accepts the rollout policy" S config check

start_daemon "$work/daemon1.log" || {
    nok "daemon started"
    finish
}
ok "daemon up with $fleet images"
graph_ready() {
    [ "$(acurl -fsS "$api/api/v1/images" | jpy "len([i for i in d['items'] if '/acme/app' in i.get('image', i.get('ref', ''))])")" -ge "$fleet" ]
}
wait_until 60 graph_ready || nok "the graph knows the $fleet images"

ro() { # ID EXPR: EXPR over `rollout show ID --format json` (as d)
    S rollout show "$1" --format json | jpy "$2"
}
state_is() { [ "$(ro "$1" "d['state']")" = "$2" ]; }
stage_is() { [ "$(ro "$1" "d['stage']")" = "$2" ]; }
built() { # IMAGE [DIGEST]: how many builds of IMAGE (for that base digest)
    grep "acme/$1:1 " "$work/builds.log" 2>/dev/null | grep -c "${2:-}" || true
}

# ---- v2: the canary fails, the rollout halts ------------------------------
base_v2=$(push_base v2)
t0=$(now_ms)
check "v2: a rollout starts" wait_until 60 sh -c "'$strata' -c '$work/cli.yaml' rollout list | grep -q '$base_v2'"
check "v2: it halts once app03's rebuild fails" wait_until 90 state_is 1 halted
pct=$(((25 * fleet + 99) / 100))
is "$(ro 1 "[s['images'] for s in d['stages']]")" "[4, $pct, $((fleet - 4 - pct))]" \
    "stages of 4, 25 % of $fleet and the rest"
is "$(ro 1 "sorted(set(i['state'] for i in d['images'] if i['stage'] > 0))")" \
    '["waiting for its stage"]' "nothing after the canaries has run"
is "$(ro 1 "sorted(i['state'] for i in d['images'] if i['stage'] == 0)")" \
    '["failed", "rebuilt", "rebuilt", "rebuilt"]' "three canaries rebuilt, app03 failed"
others=0
for a in "${names[@]:4}"; do others=$((others + $(built "$a"))); done
is "$others" 0 "no build of any other image"
is "$(events_json | jpy "[e['payload']['summary'] for e in d if e['type'] == 'rollout.halted']")" \
    "[\"$BASE@$base_v2 reached 3 of $fleet images; 1 failed: $R/acme/app03:1\"]" \
    "rollout.halted carries the summary"
check "strata jobs says why the rest waits" sh -c \
    "'$strata' -c '$work/cli.yaml' jobs | grep -q 'waiting: rollout 1 is halted\|waiting: rollout stage 2 of 3 starts after stage 1 succeeds'"

# ---- resume, kill -9 mid-stage, it completes --------------------------------
rm -f "$work/fail"
touch "$work/slow"
check "strata rollout resume 1" env STRATA_APPROVER=e2e-tester "$strata" -c "$work/cli.yaml" rollout resume 1
is "$(events_json | jpy "[e['payload']['by'] for e in d if e['type'] == 'rollout.resumed']")" \
    '["e2e-tester"]' "rollout.resumed names who"
check "stage 2 starts after the bake" wait_until 60 stage_is 1 1
stage2_begun() {
    [ "$(ro 1 "len([i for i in d['images'] if i['stage'] == 1 and i['state'] == 'rebuilt'])")" -ge 2 ]
}
check "stage 2 has begun: two of its images rebuilt" wait_until 60 stage2_begun
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
rm -f "$work/slow"
is "$(ro 1 "[d['state'], d['stage'], d['stages'][1]['finished']]")" \
    '["running", 1, null]' "kill -9 inside stage 2"
done_at_kill=$(ro 1 "' '.join(i['image'].split('/')[-1].split(':')[0] for i in d['images'] if i['stage'] == 1 and i['state'] == 'rebuilt')")
start_daemon "$work/daemon2.log" || nok "daemon restarted"
is "$(ro 1 "[d['state'], d['stage']]")" '["running", 1]' \
    "after the restart the rollout is where it was: stage 2"
check "the rollout completes" wait_until 120 state_is 1 completed
t1=$(now_ms)
is "$(events_json | jpy "[e['payload']['summary'] for e in d if e['type'] == 'rollout.completed']")" \
    "[\"$BASE@$base_v2 reached $((fleet - 1)) of $fleet images; 1 failed: $R/acme/app03:1\"]" \
    "rollout.completed: one summary"
is "$(events_json | jpy "[e['payload']['stage'] for e in d if e['type'] == 'rollout.stage_succeeded']")" \
    "[1, 2, 3]" "each stage succeeded once, in order"
is "$(ro 1 "all(s['started'] and s['finished'] and s['started'] <= s['finished'] for s in d['stages'])")" \
    True "each stage's start and finish are recorded"
is "$(ro 1 "all(d['stages'][k]['finished'] + 3000 <= d['stages'][k + 1]['started'] for k in range(2))")" \
    True "each later stage started after the previous one's 3 s bake"
again=
for a in $done_at_kill; do
    [ "$(built "$a" "$base_v2")" = 1 ] || again="$again $a"
done
is "$again" "" "images rebuilt before the kill were not rebuilt after it ($(echo $done_at_kill | wc -w) of them)"
echo "# v2: $fleet images in 3 stages, two 3 s bakes, a halt: $(((t1 - t0) / 1000)) s"

# ---- v3 and v4: the newer digest supersedes, one pull request -------------
is "$(curl -fsS "$forge/_admin/state" | jpy "[(p['number'], p['state']) for p in d['pulls']]")" \
    '[[1, "open"]]' "v2: app00 has one pull request"
base_v3=$(push_base v3)
check "v3: rollout 2 starts" wait_until 60 state_is 2 running
check "v3: its canaries are done (bake under way)" wait_until 60 sh -c "[ \"\$('$strata' -c '$work/cli.yaml' rollout show 2 --format json | $py -c 'import json,sys; d=json.load(sys.stdin); print(d[\"stages\"][0][\"finished\"] is not None)')\" = True ]"
base_v4=$(push_base v4)
check "v4: rollout 2 is superseded" wait_until 60 state_is 2 superseded
is "$(ro 2 "sorted(set(i['state'] for i in d['images'] if i['stage'] > 0))")" \
    '["cancelled"]' "v3's waiting images were cancelled"
is "$(events_json | jpy "[e['payload']['by'] for e in d if e['type'] == 'rollout.superseded']")" \
    "[\"$base_v4\"]" "rollout.superseded names the newer digest"
check "v4: rollout 3 completes from its first stage" wait_until 120 state_is 3 completed
is "$(curl -fsS "$forge/_admin/state" | jpy "[(p['number'], p['state']) for p in d['pulls']]")" \
    '[[1, "open"]]' "app00 still has one pull request, the same #1"
is "$(curl -fsS "$forge/_admin/state" | jpy "'${base_v4:0:19}' in d['pulls'][0]['title']")" True \
    "#1 now names v4"
is "$(curl -fsS "$forge/_admin/state" | jpy "d['violations']")" "[]" "every forge request had GitHub's shape"
is "$(acurl -fsS "$api/api/v1/rollouts" | jpy "[r['state'] for r in d['items']]")" \
    '["completed", "superseded", "completed"]' "GET /api/v1/rollouts"
is "$(acurl -fsS "$api/api/v1/rollouts/3" | jpy "d['digest']")" "$base_v4" "GET /api/v1/rollouts/3"
check "/metrics has the rollout gauges" sh -c "acurl() { curl -H 'Authorization: Bearer $API_TOKEN' \"\$@\"; }; acurl -fsS '$api/metrics' | grep -q '^strata_rollout_stage{rollout=\"3\".*state=\"completed\"} 3$'"
post() { # PATH [TOKEN]: the status of a POST
    curl -s -o "$work/post.json" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer ${2:-$API_TOKEN}" -H 'Content-Type: application/json' \
        -d '{}' "$api$1"
}
is "$(post /api/v1/rollouts/3/resume)" 409 "POST resume of a completed rollout: 409"
is "$(post /api/v1/rollouts/3/abort wrong-token)" 401 "POST without the token: 401"
is "$(post /api/v1/rollouts/9/abort)" 404 "POST for no such rollout: 404"

# ---- v5: aborted over the API ------------------------------------------------
base_v5=$(push_base v5)
check "v5: rollout 4 starts" wait_until 60 state_is 4 running
is "$(post /api/v1/rollouts/4/abort)" 200 "POST /api/v1/rollouts/4/abort"
is "$(ro 4 "d['state']")" aborted "rollout 4 is aborted"
is "$(events_json | jpy "[e['payload']['by'] for e in d if e['type'] == 'rollout.aborted']")" \
    '["api token"]' "rollout.aborted names the API token"
v5_left() {
    [ "$(jobs_json | jpy "len([j for j in d if j['base_digest'] == '$base_v5' and j['state'] in ('queued', 'running')])")" = 0 ]
}
check "v5: nothing left queued once the running jobs end" wait_until 30 v5_left
finish
