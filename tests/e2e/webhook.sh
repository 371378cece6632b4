#!/usr/bin/env bash
# webhook.sh - TAP: a registry push webhook (api.webhooks, kind
# distribution) with a 1 h poll interval, so only the webhook can explain
# a check: a delivery with a wrong token gets 401 and changes nothing; the
# right token gets 202 and the update is checked, planned and acted on at
# once.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

make_world || {
    nok "world set up"
    finish
}
EXTRA_YAML='api:
  listen: "127.0.0.1:0"
  webhooks:
    - {name: reg, kind: distribution, secret: "s3cret-hook-token"}' \
    write_config 1h
# With a 1 h interval the daemon spreads its first checks over the hour:
# one cycle records the first sighting, as an earlier run would have.
S run --once >"$work/once.log" 2>&1
start_daemon || {
    nok "daemon started"
    finish
}
ok "daemon up with a 1 h poll"
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
updated() { [ "$(count_events base.updated)" = 1 ]; }
queued() { [ "$(count_jobs)" -ge 4 ]; }
check "the webhook triggers the check at once (base.updated within 5 s)" \
    wait_until 5 updated
t1=$(now_ms)
echo "# webhook to base.updated in the store: $((t1 - t0)) ms (as seen by polling the CLI)"
check "its jobs are queued" wait_until 5 queued
is "$(events_json | jpy "[e['payload'].get('new') for e in d if e['type'] == 'base.updated']")" \
    "[\"$base_v2\"]" "the update is the pushed digest"
check "and the 6 jobs succeed" wait_until 60 jobs_settled 6
finish
