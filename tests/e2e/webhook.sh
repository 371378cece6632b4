#!/usr/bin/env bash
# webhook.sh - TAP: a registry push webhook (api.webhooks, kind
# distribution) with a 1 h poll interval, so only the webhook can explain
# a check: a delivery with a wrong token gets 401 and changes nothing; the
# right token gets 202 and the update is checked, planned and acted on at
# once. Then a GitHub-shaped git push webhook (kind github, HMAC-signed):
# a wrong signature gets 401, a ping 200, a push to another branch 202
# without a rescan, and a push to the configured branch rescans at once
# (the scan interval is 1 h here), so a Dockerfile change pushed to the
# repository reaches the daemon's graph. The daemon has an API token:
# webhooks are verified by their own secrets, never by the API token,
# which GitHub or a registry cannot send (issue 21, defect 1), while the
# API itself answers 401 without it.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

make_world || {
    nok "world set up"
    finish
}
API_TOKEN=api-t0ken-s3cret
EXTRA_YAML='api:
  listen: "127.0.0.1:0"
  token: "api-t0ken-s3cret"
  webhooks:
    - {name: reg, kind: distribution, secret: "s3cret-hook-token"}
    - {name: git, kind: github, secret: "git-hook-s3cret"}
scan: {interval: 1h}' \
    write_config 1h
# A 1 h poll: the daemon reads a watch it never read at once, so the base
# has its baseline (start_daemon waits for it) before the push comes.
start_daemon || {
    nok "daemon started, the new watch read at once despite a 1 h poll"
    finish
}
ok "daemon up with a 1 h poll, the new watch read at once"
is "$(curl -s -o /dev/null -w '%{http_code}' "$api/api/v1/jobs")" 401 \
    "the API wants its token"
is "$(curl -s -o /dev/null -w '%{http_code}' "$api/no/such/path")" 401 \
    "and says nothing of other paths without it"
is "$(acurl -s -o /dev/null -w '%{http_code}' "$api/api/v1/jobs")" 200 \
    "and answers with it"
base_v2=$(push_base v2)
envelope() {
    printf '{"events": [{"id": "e1", "timestamp": "2026-11-26T14:12:02Z",
      "action": "push", "target": {"mediaType":
      "application/vnd.oci.image.manifest.v1+json", "size": 500,
      "digest": "%s", "repository": "library/debian",
      "url": "http://%s/v2/library/debian/manifests/%s", "tag": "12-slim"},
      "request": {"id": "r1", "addr": "127.0.0.1:1", "host": "%s",
      "method": "PUT", "useragent": "test"}, "actor": {},
      "source": {"addr": "registry-0:5000", "instanceID": "i"}}]}' \
        "$base_v2" "$R" "$base_v2" "$R"
}
hook() { # AUTHORIZATION
    envelope | curl -sS -o "$work/hook.out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/vnd.docker.distribution.events.v1+json' \
        -H "Authorization: $1" --data-binary @- "$api/hooks/registry/reg"
}
is "$(hook 'Bearer wrong-token')" 401 "a wrong token: 401"
is "$(hook '')" 401 "no token: 401"
sleep 2
is "$(count_events base.updated)" 0 "after the refused deliveries: no base.updated"
is "$(count_jobs)" 0 "and no job"
t0=$(now_ms)
is "$(hook 'Bearer s3cret-hook-token')" 202 "the right token: 202"
is "$(jpy "d['triggered']" <"$work/hook.out")" 1 "the push names a watched reference"
updated() { [ "$(count_events base.updated "$BASE")" = 1 ]; }
queued() { [ "$(count_jobs)" -ge 4 ]; }
check "the webhook triggers the check at once (base.updated within 5 s)" \
    wait_until 5 updated
t1=$(now_ms)
echo "# webhook to base.updated in the store: $((t1 - t0)) ms (as seen by polling the CLI)"
check "its jobs are queued" wait_until 5 queued
is "$(events_json | jpy "[e['payload'].get('new') for e in d if e['type'] == 'base.updated' and e['subject'] == '$BASE']")" \
    "[\"$base_v2\"]" "the update is the pushed digest"
check "and the 6 jobs succeed" wait_until 60 jobs_settled 6

# ---- a git push webhook rescans the repositories ----------------------------
printf 'FROM %s\nCOPY site /srv/site\n' "$RUNTIME" >"$work/src/web/Dockerfile"
git -C "$work/src/web" -c user.name=dev -c user.email=dev@example.com \
    commit -qam "web: build on the runtime"
git -C "$work/src/web" push -q "$work/git/web.git" main
push_payload() { # REF
    printf '{"ref": "%s", "before": "0", "after": "1", "repository":
      {"full_name": "acme/web", "clone_url": "file://%s/git/web.git",
       "html_url": "https://forge.example/acme/web"}}' "$1" "$work"
}
git_hook() { # EVENT KEY BODY-FILE: the HTTP status
    local sig
    sig=$($py -c 'import hmac, hashlib, sys
print("sha256=" + hmac.new(sys.argv[1].encode(), open(sys.argv[2], "rb").read(),
      hashlib.sha256).hexdigest())' "$2" "$3")
    curl -sS -o "$work/git-hook.out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H "X-GitHub-Event: $1" \
        -H "X-Hub-Signature-256: $sig" --data-binary @"$3" "$api/hooks/git/git"
}
web_on() { # PARENT: the daemon's graph has web's Dockerfile FROM PARENT
    acurl -fsS "$api/api/v1/graph" |
        jpy "any(e['child'] == '$WEB' and e['parent'] == '$1' and e['method'] == 'dockerfile' for e in d['edges'])" |
        grep -q True
}
push_payload refs/heads/main >"$work/push-main.json"
push_payload refs/heads/feature >"$work/push-feature.json"
echo '{"zen": "Keep it logically awesome.", "hook_id": 1}' >"$work/ping.json"
is "$(git_hook push wrong-secret "$work/push-main.json")" 401 "git push hook, wrong signature: 401"
is "$(git_hook ping git-hook-s3cret "$work/ping.json")" 200 "a ping: 200"
is "$(git_hook push git-hook-s3cret "$work/push-feature.json")" 202 "a push to another branch: 202"
is "$(jpy "d['rescan']" <"$work/git-hook.out")" False "and no rescan"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$work/push-main.json" \
    "$api/hooks/registry/git")" 404 "the git hook is not a registry hook"
sleep 2
check "no rescan yet: web still FROM base" web_on "$BASE"
is "$(git_hook push git-hook-s3cret "$work/push-main.json")" 202 "a push to main: 202"
is "$(jpy "d['repos']" <"$work/git-hook.out")" 1 "it names one configured repository"
check "the rescan brings web FROM runtime into the daemon's graph" \
    wait_until 30 web_on "$RUNTIME"
finish
