#!/usr/bin/env bash
# diff.sh - TAP: GET /api/v1/diff against the real daemon and a real
# registry. A watched base moves from one digest to another whose dpkg
# status differs (one package upgraded, one added, one removed, libc6 a
# major version up); the API answers what `strata diff --format json`
# prints for the same two digests (docs/diff.schema.json, checked with
# python3-jsonschema when it is installed), for explicit digests and for
# the base's last update, and refuses a bad query with a clear 400 or 404.
# Once both digests' findings are recorded (strata scan report, as a
# rescan records them), the same answer links the CVE fixed and the new
# one to their packages.
. "$(dirname "$0")/lib.sh"
need docker-registry curl

# seed_status TAG STATUS: pushes library/debian:TAG with STATUS as its
# dpkg status and Debian 12's os-release; prints its digest.
seed_status() {
    $py - "$1" "$2" <<'PY' | $py "$reg_py" seed --port "$port" - | jpy 'd["digest"]'
import json, sys
print(json.dumps({"name": "library/debian", "tag": sys.argv[1],
                  "created": "2026-01-01T00:00:00Z",
                  "layers": [{"files": {
                      "var/lib/dpkg/status": sys.argv[2],
                      "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 '
                                        '(bookworm)"\nID=debian\n'
                                        'VERSION_ID="12"\n'}}]}))
PY
}
stanza() { # NAME VERSION
    printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n\n' "$1" "$2"
}

start_registry || {
    nok "registry started"
    finish
}
BASE=$R/library/debian:12
v1=$(seed_status 12 "$(stanza bash 5.2.15-2; stanza libc6 2.36-9; stanza sed 4.9-1)")
cat >"$work/strata.yaml" <<YAML
state: $work/strata.db
watch:
  interval: 1s
  jitter: 0%
  bases:
    - ref: $BASE
api: {listen: "127.0.0.1:0"}
YAML
cp "$work/strata.yaml" "$work/cli.yaml"
start_daemon || {
    nok "daemon started"
    finish
}
v2=$(seed_status 12 "$(stanza bash 5.2.15-3; stanza libc6 3.0-1; stanza tzdata 2024a-0)")
two_digests() { S diff "$BASE" --format json >/dev/null 2>&1; }
check "the daemon saw the base move" wait_until 30 two_digests

q="base=$BASE"
code=$(acurl -sS -o "$work/api.json" -w '%{http_code}' \
    "$api/api/v1/diff?$q&from=$v1&to=$v2")
is "$code" 200 "GET /api/v1/diff with from and to: 200"
S diff "$BASE@$v1" "$BASE@$v2" --format json >"$work/cli.json"
same_json() {
    $py -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"
}
check "it answers what strata diff --format json prints" same_json "$work/api.json" "$work/cli.json"
is "$(jpy '[d["counts"][k] for k in ("upgraded", "added", "removed", "downgraded")]' <"$work/api.json")" \
    "[2, 1, 1, 0]" "counts: 2 upgraded, 1 added, 1 removed"
is "$(jpy '[c["name"] for c in d["changes"] if c["major"]]' <"$work/api.json")" '["libc6"]' "libc6's major jump is flagged"
if $py -c 'import jsonschema' 2>/dev/null; then
    check "it follows docs/diff.schema.json" $py -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' \
        "$work/api.json" "$src/docs/diff.schema.json"
else
    ok "# SKIP python3-jsonschema is not installed"
fi

code=$(acurl -sS -o "$work/last.json" -w '%{http_code}' "$api/api/v1/diff?$q")
is "$code" 200 "GET /api/v1/diff?base= alone: the last update, 200"
check "the last update is the same delta" same_json "$work/last.json" "$work/cli.json"

# trivy_report OUT PKG VERSION ID SEVERITY: a Trivy report shaped as
# Trivy's own debian-buster one, its finding moved to PKG.
trivy_report() {
    $py - "$src/tests/scanners/upstream/trivy-debian-buster.json" "$@" <<'PY'
import json, sys
src, out, pkg, version, vid, sev = sys.argv[1:]
d = json.load(open(src))
v = d["Results"][0]["Vulnerabilities"][1]
v.update(PkgName=pkg, InstalledVersion=version, VulnerabilityID=vid, Severity=sev)
d["Results"][0]["Vulnerabilities"] = [v]
json.dump(d, open(out, "w"))
PY
}
# The findings of both digests, as a rescan records them: the API links them.
trivy_report "$work/t1.json" bash 5.2.15-2 CVE-2019-18224 CRITICAL
trivy_report "$work/t2.json" tzdata 2024a-0 CVE-2024-28085 HIGH
S scan report "$work/t1.json" --image "$BASE" --digest "$v1" >/dev/null 2>&1
S scan report "$work/t2.json" --image "$BASE" --digest "$v2" >/dev/null 2>&1
code=$(acurl -sS -o "$work/api-cve.json" -w '%{http_code}' \
    "$api/api/v1/diff?$q&from=$v1&to=$v2")
is "$code" 200 "GET /api/v1/diff once both digests were scanned: 200"
S diff "$BASE@$v1" "$BASE@$v2" --format json >"$work/cli-cve.json"
check "it answers what strata diff prints, findings linked" same_json "$work/api-cve.json" "$work/cli-cve.json"
is "$(jpy '[d["vulnerabilities"]["fixed"], d["vulnerabilities"]["new"]]' <"$work/api-cve.json")" \
    "[1, 1]" "1 CVE fixed, 1 new"
is "$(jpy '[(c["name"], [v["id"] for v in c["fixes"] + c["brings"]]) for c in d["changes"][:2]]' <"$work/api-cve.json")" \
    '[["bash", ["CVE-2019-18224"]], ["tzdata", ["CVE-2024-28085"]]]' \
    "the fix first (bash), then what brought the new one (tzdata)"
if $py -c 'import jsonschema' 2>/dev/null; then
    check "it follows docs/diff.schema.json" $py -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' \
        "$work/api-cve.json" "$src/docs/diff.schema.json"
else
    ok "# SKIP python3-jsonschema is not installed"
fi

code=$(acurl -sS -o "$work/e1.json" -w '%{http_code}' "$api/api/v1/diff")
is "$code" 400 "no base: 400"
check "it says what is missing" grep -q "missing 'base'" "$work/e1.json"
code=$(acurl -sS -o "$work/e2.json" -w '%{http_code}' "$api/api/v1/diff?$q&from=$v1")
is "$code" 400 "from without to: 400"
code=$(acurl -sS -o "$work/e3.json" -w '%{http_code}' "$api/api/v1/diff?$q&from=nonsense&to=$v2")
is "$code" 400 "a malformed digest: 400"
check "it names the parameter" grep -q "bad 'from'" "$work/e3.json"
code=$(acurl -sS -o "$work/e4.json" -w '%{http_code}' \
    "$api/api/v1/diff?$q&from=sha256:$(printf '0%.0s' $(seq 64))&to=$v2")
is "$code" 404 "a digest the registry does not have: 404"
code=$(acurl -sS -o "$work/e5.json" -w '%{http_code}' "$api/api/v1/diff?base=$R/library/other:1")
is "$code" 404 "a base with no recorded update: 404"
finish
