#!/usr/bin/env bash
# webhook-formats.sh - TAP: the registry webhook formats of issue 24
# through the daemon's real route POST /hooks/registry/NAME, one endpoint
# per kind (cloudevents, quay, ghcr, ecr, acr, artifact-registry twice: a
# signed OIDC token and a URL token), with a 1 h poll so only a webhook can
# explain a check. Each documented payload (tests/watchers/) is accepted
# with its sender's credentials (202 and the pushes it names), refused
# with forged or missing ones (401, nothing changes) and refused when
# malformed (400). A binary-mode CloudEvent naming the watched base
# triggers its check at once: base.updated with the pushed digest. The
# Pub/Sub token is an RS256 JWT signed here with the openssl command
# against a key the daemon reads from a file; nothing is fetched.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl openssl

make_world || {
    nok "world set up"
    finish
}
fx=$src/tests/watchers
AUD="https://strata.example.com/hooks/registry/gar"
SA="pubsub-push@my-project.iam.gserviceaccount.com"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$work/google.key" 2>/dev/null &&
    openssl pkey -in "$work/google.key" -pubout -out "$work/google.pem" ||
    {
        nok "a test signing key"
        finish
    }
EXTRA_YAML="api:
  listen: \"127.0.0.1:0\"
  webhooks:
    - {name: ce, kind: cloudevents, secret: \"ce-s3cret\"}
    - {name: quay, kind: quay, secret: \"quay-s3cret\"}
    - {name: ghcr, kind: ghcr, secret: \"ghcr-s3cret\"}
    - {name: ecr, kind: ecr, header: x-api-key, secret: \"ecr-s3cret\"}
    - {name: acr, kind: acr, username: acr, secret: \"acr-s3cret\"}
    - {name: gar, kind: artifact-registry, keys: \"$work/google.pem\",
       audience: \"$AUD\", service_account: \"$SA\"}
    - {name: gar-token, kind: artifact-registry, secret: \"gar-s3cret\"}" \
    write_config 1h
start_daemon || {
    nok "daemon up with a webhook of each kind"
    finish
}
ok "daemon up with a webhook of each kind"

# post NAME BODY-FILE [CURL-ARGS...]: the HTTP status; the answer in hook.out
post() {
    local name=$1 body=$2
    shift 2
    curl -sS -o "$work/hook.out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' "$@" \
        --data-binary @"$body" "$api/hooks/registry/$name"
}
pushes() { jpy "d['pushes']" <"$work/hook.out"; }
error_has() { grep -q "$1" "$work/hook.out"; }

# ---- CloudEvents ------------------------------------------------------------
is "$(post ce "$fx/cloudevents-harbor-push.json" \
    -H 'Content-Type: application/cloudevents+json' \
    -H 'Authorization: Bearer ce-s3cret')" 202 "cloudevents structured: 202"
is "$(pushes)" 2 "  with Harbor's two tags"
is "$(post ce "$fx/cloudevents-harbor-push.json" \
    -H 'Authorization: Bearer wrong')" 401 "cloudevents, a wrong token: 401"
is "$(post ce "$fx/cloudevents-harbor-push.json")" 401 "cloudevents, no token: 401"
printf '{"specversion": "0.3", "type": "x", "id": "1", "source": "/"}' \
    >"$work/ce-old.json"
is "$(post ce "$work/ce-old.json" -H 'Authorization: ce-s3cret')" 400 \
    "cloudevents 0.3: 400"
check "  saying why" error_has "specversion '0.3' is not 1.0"

# The validation handshake Event Grid sends before CloudEvents deliveries.
handshake() {
    curl -sS -o /dev/null -D "$work/hs.headers" -w '%{http_code}' \
        -X OPTIONS "$@"
}
is "$(handshake -H 'WebHook-Request-Origin: eventgrid.azure.net' \
    "$api/hooks/registry/ce")" 200 "cloudevents validation handshake: 200"
check "  allowing the origin it named" \
    grep -qi '^webhook-allowed-origin: eventgrid.azure.net' "$work/hs.headers"
is "$(handshake "$api/hooks/registry/ce")" 400 \
    "a handshake with no WebHook-Request-Origin: 400"
is "$(handshake -H 'WebHook-Request-Origin: a b' "$api/hooks/registry/ce")" \
    400 "a handshake with an origin that is no host name: 400"
is "$(handshake -H 'WebHook-Request-Origin: eventgrid.azure.net' \
    "$api/hooks/registry/quay")" 405 "a handshake for a quay hook: 405"
is "$(handshake -H 'WebHook-Request-Origin: eventgrid.azure.net' \
    "$api/hooks/registry/nope")" 404 "a handshake for no hook: 404"

# ---- Quay -------------------------------------------------------------------
is "$(post 'quay?token=quay-s3cret' "$fx/quay-push.json")" 202 "quay with its URL token: 202"
is "$(pushes)" 1 "  one tag pushed"
is "$(post quay "$fx/quay-push.json")" 401 "quay without a token: 401"
check "  saying Quay cannot sign" error_has "Quay cannot sign"
is "$(post 'quay?token=nope' "$fx/quay-push.json")" 401 "quay, a wrong token: 401"

# ---- GHCR -------------------------------------------------------------------
hub_sig() { # KEY FILE
    $py -c 'import hmac, hashlib, sys
print("sha256=" + hmac.new(sys.argv[1].encode(), open(sys.argv[2], "rb").read(),
      hashlib.sha256).hexdigest())' "$1" "$2"
}
is "$(post ghcr "$fx/ghcr-registry-package-tagged.json" \
    -H 'X-GitHub-Event: registry_package' \
    -H "X-Hub-Signature-256: $(hub_sig ghcr-s3cret "$fx/ghcr-registry-package-tagged.json")")" \
    202 "ghcr registry_package, signed: 202"
is "$(pushes)" 1 "  one tagged version"
is "$(post ghcr "$fx/ghcr-registry-package-tagged.json" \
    -H 'X-GitHub-Event: registry_package' \
    -H "X-Hub-Signature-256: $(hub_sig wrong "$fx/ghcr-registry-package-tagged.json")")" \
    401 "ghcr, signed with another secret: 401"
echo '{"zen": "Design for failure.", "hook_id": 1}' >"$work/ping.json"
is "$(post ghcr "$work/ping.json" -H 'X-GitHub-Event: ping' \
    -H "X-Hub-Signature-256: $(hub_sig ghcr-s3cret "$work/ping.json")")" \
    202 "ghcr ping: 202"
is "$(pushes)" 0 "  no pushes"

# ---- ECR through an EventBridge API destination ------------------------------
is "$(post ecr "$fx/ecr-image-push.json" -H 'x-api-key: ecr-s3cret')" 202 \
    "ecr with the connection's API key: 202"
is "$(pushes)" 1 "  one image pushed"
is "$(post ecr "$fx/ecr-image-push.json" -H 'Authorization: Bearer ecr-s3cret')" \
    401 "ecr with the key in another header: 401"
is "$(post ecr "$fx/ecr-image-push-doc.json" -H 'x-api-key: ecr-s3cret')" 400 \
    "ecr's documented example (a 60-digit digest): 400"
check "  naming where" error_has "webhook detail"

# ---- ACR --------------------------------------------------------------------
is "$(post acr "$fx/acr-push.json" -u acr:acr-s3cret)" 202 "acr with basic auth: 202"
is "$(pushes)" 1 "  one push"
is "$(post acr "$fx/acr-push.json" -u acr:wrong)" 401 "acr, a wrong password: 401"
is "$(post acr "$fx/acr-push.json" -u someone:acr-s3cret)" 401 "acr, another user: 401"

# ---- Artifact Registry through a Pub/Sub push -------------------------------
b64url() { $py -c 'import base64, sys
print(base64.urlsafe_b64encode(sys.stdin.buffer.read()).decode().rstrip("="))'; }
jwt() { # EXP-OFFSET AUDIENCE: an RS256 token signed with google.key
    local now h c
    now=$(date +%s)
    h=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
    c=$(printf '{"aud":"%s","email":"%s","email_verified":true,"exp":%d,"iat":%d,"iss":"https://accounts.google.com","sub":"1"}' \
        "$2" "$SA" $((now + $1)) $((now + $1 - 3600)) | b64url)
    printf '%s.%s.%s' "$h" "$c" "$(printf '%s.%s' "$h" "$c" |
        openssl dgst -sha256 -sign "$work/google.key" -binary | b64url)"
}
is "$(post gar "$fx/gar-pubsub-insert.json" -H "Authorization: Bearer $(jwt 3600 "$AUD")")" \
    202 "artifact-registry with Google's signed token: 202"
is "$(pushes)" 1 "  one tag inserted"
is "$(post gar "$fx/gar-pubsub-insert.json" -H "Authorization: Bearer $(jwt -3600 "$AUD")")" \
    401 "an expired token: 401"
is "$(post gar "$fx/gar-pubsub-insert.json" \
    -H "Authorization: Bearer $(jwt 3600 https://elsewhere.example/)")" \
    401 "a token for another audience: 401"
check "  saying so" error_has "another audience"
is "$(post 'gar?token=gar-s3cret' "$fx/gar-pubsub-insert.json")" 401 \
    "a URL token where a signed token is configured: 401"
is "$(post 'gar-token?token=gar-s3cret' "$fx/gar-pubsub-insert.json")" 202 \
    "artifact-registry with a URL token: 202"
is "$(post 'gar-token?token=gar-s3cret' "$fx/gar-pubsub-delete.json")" 202 \
    "  a DELETE: 202"
is "$(pushes)" 0 "  and no pushes"
printf '{"message": {"data": "@@@"}}' >"$work/gar-bad.json"
is "$(post 'gar-token?token=gar-s3cret' "$work/gar-bad.json")" 400 \
    "a malformed envelope: 400"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$work/huge.json"
code=$(post 'gar-token?token=gar-s3cret' "$work/huge.json")
check "a body over 1 MiB is refused (HTTP $code)" test "$code" -ge 400 -a "$code" -lt 500

sleep 1
is "$(count_events base.updated)" 0 "no delivery so far named the watched base"

# ---- a binary CloudEvent that names the watched base ------------------------
base_v2=$(push_base v2)
printf '{"resources": [{"digest": "%s", "tag": "12-slim",
  "resource_url": "%s/library/debian:12-slim"}],
  "repository": {"name": "debian", "namespace": "library",
  "repo_full_name": "library/debian", "repo_type": "public"}}' \
    "$base_v2" "$R" >"$work/ce-data.json"
is "$(post ce "$work/ce-data.json" -H 'Authorization: ce-s3cret' \
    -H 'ce-specversion: 1.0' -H 'ce-type: harbor.artifact.pushed' \
    -H 'ce-id: 9f6c' -H 'ce-source: /projects/1/webhook/policies/6')" 202 \
    "cloudevents binary naming the watched base: 202"
is "$(jpy "d['triggered']" <"$work/hook.out")" 1 "  it triggers the watch"
updated() { [ "$(count_events base.updated "$BASE")" = 1 ]; }
check "  and the check runs at once (base.updated within 5 s)" wait_until 5 updated
is "$(events_json | jpy "[e['payload'].get('new') for e in d if e['type'] == 'base.updated']")" \
    "[\"$base_v2\"]" "  the update is the pushed digest"
check "no secret in the daemon's log" \
    bash -c "! grep -q -e ce-s3cret -e quay-s3cret -e ghcr-s3cret -e ecr-s3cret -e acr-s3cret -e gar-s3cret '$dlog'"
finish
