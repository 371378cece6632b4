#!/usr/bin/env bash
# automerge.sh - TAP: auto-merge in the real daemon (pull_requests.automerge
# on the app repository, whose forge is tests/servers/forge.py playing
# GitHub): a base update opens the request and the pr job waits in the
# queue while its checks run ("waiting" in `strata jobs`); once they are
# green the daemon claims it again on its own, merges the request at its
# head commit, deletes strata's branch and records pr.merged, once; the
# other repositories (plain git remotes) are untouched by it. A kill -9
# while the job waits loses nothing: after the restart it goes on.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

export E2E_FORGE_TOKEN=ghp-e2e-automerge
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
    auth: {token: \"\${E2E_FORGE_TOKEN}\"}
    pr: {automerge: {enabled: true, method: squash}}" write_config 1s "[pr]"
start_daemon "$work/daemon.log" || {
    nok "daemon started"
    finish
}
ok "daemon up, forge on $forge"
state() { curl -fsS "$forge/_admin/state"; }
pulls() { # EXPR over the list of pull requests (as d)
    state | jpy "(lambda d: $1)(d['pulls'])"
}
app_job() { # EXPR over the app's pr job (as j)
    jobs_json | jpy "[(lambda j: $1)(j) for j in d if j['image'] == '$APP' and j['action'] == 'pr']"
}
app_waits() {
    app_job "(j['state'], (j.get('waiting') or '')[:32])" |
        grep -q '"queued", "auto-merge of #1: checks pen'
}
two_done() { [ "$(count_jobs succeeded)" = 2 ]; }

push_base v2 >/dev/null
check "v2: the app's pr job opened #1 and waits for its checks" wait_until 60 app_waits
is "$(pulls "[(p['number'], p['state'], p['head']) for p in d]")" \
    "[[1, \"open\", \"$head\"]]" "exactly one pull request, #1, open"
check "the other two pr jobs (plain remotes) succeed" wait_until 30 two_done
is "$(count_events pr.merged)" 0 "nothing merged while the checks run"
check "strata's branch is on the app's remote" \
    git --git-dir "$work/git/app.git" show-ref -q "refs/heads/$head"

# kill -9 while the job waits: the wait is in the store, nothing is lost.
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
start_daemon "$work/daemon2.log" || nok "daemon restarted"
check "after kill -9 and a restart, the job still waits for #1's checks" \
    wait_until 10 app_waits
curl -fsS -o /dev/null -d '{"repo": "acme/app", "number": 1, "checks": "green"}' \
    "$forge/_admin/merge/checks"
check "green: the daemon merges #1 on its next check" wait_until 90 jobs_settled 3
is "$(pulls "[(p['number'], p['merged'], p['merge_method']) for p in d]")" \
    "[[1, true, \"squash\"]]" "#1 merged, squashed"
is "$(pulls "[m[0] for m in d[0]['merges']]")" "[200]" "one merge call, answered 200"
is "$(count_events pr.merged)" 1 "one pr.merged event"
is "$(events_json | jpy "[e['payload']['method'] for e in d if e['type'] == 'pr.merged']")" \
    '["squash"]' "pr.merged names the method"
check "strata's branch is deleted" sh -c \
    "! git --git-dir '$work/git/app.git' show-ref -q 'refs/heads/$head'"
check "main is the remote's own" git --git-dir "$work/git/app.git" show-ref -q refs/heads/main
is "$(app_job "j['result']['automerge']['state']")" '["merged"]' "the job's result says merged"
is "$(state | jpy "d['violations']")" "[]" "every request had GitHub's documented shape"
finish
