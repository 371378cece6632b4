#!/usr/bin/env bash
# forge.sh - TAP: the pr action against a GitHub-shaped forge
# (tests/servers/forge.py, which checks every request's documented shape):
# a base update opens exactly one pull request; the next update updates
# the same one (same number); kill -9 while the forge holds back its answer
# to the create call (the request exists, strata never heard of it) and a
# restart still ends with exactly one open pull request.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

export E2E_FORGE_TOKEN=ghp-e2e-token
head=strata/pin-debian-12-slim
read -r fport < <($py "$src/tests/servers/forge.py" --forge github \
    --token "$E2E_FORGE_TOKEN" --repo acme/app --branch main --branch "$head" \
    2>"$work/forge.log" &
    echo $! >"$work/forge.pid"; wait)
pids+=("$(cat "$work/forge.pid")")
forge=http://127.0.0.1:$fport
make_world || {
    nok "world set up"
    finish
}
APP_REPO_YAML="    forge: {type: github, repo: acme/app, api_url: \"$forge\"}
    auth: {token: \"\${E2E_FORGE_TOKEN}\"}" write_config 1s "[pr]"
start_daemon "$work/daemon1.log" || {
    nok "daemon started"
    finish
}
ok "daemon up, forge on $forge"
state() { curl -fsS "$forge/_admin/state"; }
pulls() { # EXPR over the list of pull requests (as d)
    state | jpy "(lambda d: $1)(d['pulls'])"
}

base_v2=$(push_base v2)
check "v2: the 3 pr jobs succeed" wait_until 60 jobs_settled 3
is "$(pulls "[(p['number'], p['state'], p['head'], p['base']) for p in d]")" \
    "[[1, \"open\", \"$head\", \"main\"]]" "v2: exactly one pull request, #1"
check "v2: its title names the new digest" sh -c "curl -fsS $forge/_admin/state | grep -q '${base_v2:0:19}'"
is "$(count_events pr.opened)" 1 "v2: one pr.opened event"

base_v3=$(push_base v3)
check "v3: the 3 pr jobs succeed" wait_until 60 jobs_settled 6
is "$(pulls "[(p['number'], p['state']) for p in d]")" "[[1, \"open\"]]" \
    "v3: still one pull request, the same #1"
is "$(pulls "'${base_v3:0:19}' in d[0]['title']")" True "v3: #1 now names the new digest"
is "$(count_events pr.updated)" 1 "v3: one pr.updated event"
check "v3: runtime's branch pins v3" sh -c \
    "git --git-dir '$work/git/runtime.git' show $head:Dockerfile | grep -q '$BASE@$base_v3'"

# Someone merges/closes #1; the next update must open one new request. The
# forge creates it but holds the answer back; strata dies meanwhile.
curl -fsS -o /dev/null -X PATCH -H "Authorization: Bearer $E2E_FORGE_TOKEN" \
    -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' \
    -H 'Content-Type: application/json' -d '{"state": "closed"}' \
    "$forge/repos/acme/app/pulls/1"
curl -fsS -o /dev/null -X POST -d '{"path_regex": "^/repos/acme/app/pulls$", "method": "POST", "seconds": 30}' \
    "$forge/_admin/delay"
created() { [ "$(pulls "len(d)")" = 2 ]; }
base_v4=$(push_base v4)
check "v4: the forge has created #2 (answer held back)" wait_until 60 created
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
is "$(jobs_json | jpy "[j['state'] for j in d if j['image'] == '$APP' and j['base_digest'] == '$base_v4']")" \
    '["running"]' "v4: the app's pr job was running when strata died"
start_daemon "$work/daemon2.log" || nok "daemon restarted"
check "after the restart, the 3 v4 pr jobs succeed" wait_until 60 jobs_settled 9
is "$(pulls "[(p['number'], p['state']) for p in d]")" "[[1, \"closed\"], [2, \"open\"]]" \
    "exactly one open pull request (#2), none opened twice"
is "$(pulls "'${base_v4:0:19}' in d[1]['title']")" True "#2 names v4"
is "$(state | jpy "[l[2] for l in d['log'] if l[0] == 'POST' and l[1] == '/repos/acme/app/pulls']")" \
    "[201, 201]" "two create calls in all (#1, #2): the restart found #2"
is "$(state | jpy "d['violations']")" "[]" "every request had GitHub's documented shape"
is "$(jobs_json | jpy "len(set(j['key'] for j in d))")" 9 "one job per (image, action, base digest)"
finish
