#!/usr/bin/python3
"""sign.py - puts signatures of an image into a registry, in the layouts
signers use, for strata's verification tests. Signatures are made with the
openssl CLI (never with strata), so what strata verifies is independent of
how it signs.

  sign.py --port P LAYOUT NAME DIGEST [options]

NAME is the repository ("base"), DIGEST the image's manifest digest.
LAYOUT:
  cosign    cosign's "sha256-<hex>.sig" tag: a simple-signing payload layer
            with the dev.cosignproject.cosign/signature annotation
  att       cosign's "sha256-<hex>.att" tag: a DSSE envelope of an in-toto
            statement about DIGEST (--predicate-type)
  bundle    a Sigstore bundle v0.3 (a key-based message signature over the
            manifest) attached as a referrer: an artifact manifest whose
            subject is DIGEST, listed in the referrers tag schema's index
            "sha256-<hex>" (the registry has no referrers API); --bundle
            FILE attaches a bundle made elsewhere (sigstore-js) instead
  garbage   a .sig manifest whose layer is not a payload
  huge      a .sig manifest of about 300 KiB (many annotations)
  loop      a referrers tag index that lists DIGEST itself, and a referrer
            whose subject is another digest
Options:
  --key FILE.pem         the private key (cosign, att, bundle)
  --ref REPO             the payload's docker-reference (default:
                         127.0.0.1:P/NAME)
  --payload-digest D     the digest the payload names (default DIGEST)
  --tamper               change the payload after signing
  --predicate-type T     att: default https://slsa.dev/provenance/v1

Only the standard library and openssl; run with /usr/bin/python3.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry  # noqa: E402

EMPTY = b"{}"
EMPTY_MT = "application/vnd.oci.empty.v1+json"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
INTOTO = "application/vnd.in-toto+json"


def openssl_sign(key, data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key,
                               f.name], check=True,
                              stdout=subprocess.PIPE).stdout


def b64(b):
    return base64.b64encode(b).decode()


def descriptor(mt, data, annotations=None):
    d = {"mediaType": mt, "digest": registry.sha256(data), "size": len(data)}
    if annotations:
        d["annotations"] = annotations
    return d


def manifest(c, name, layers, artifact_type=None, subject=None):
    """An OCI image manifest with an empty config and the given layers."""
    c.push_blob(name, EMPTY)
    for _, data, _ in layers:
        c.push_blob(name, data)
    m = {"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
         "config": descriptor(EMPTY_MT, EMPTY),
         "layers": [descriptor(mt, data, ann) for mt, data, ann in layers]}
    if artifact_type:
        m["artifactType"] = artifact_type
    if subject:
        m["subject"] = subject
    return json.dumps(m, separators=(",", ":")).encode()


def tag_of(digest, suffix=""):
    return "sha256-" + digest.split(":", 1)[1] + suffix


def payload(ref, digest):
    return json.dumps({
        "critical": {"identity": {"docker-reference": ref},
                     "image": {"docker-manifest-digest": digest},
                     "type": "cosign container image signature"},
        "optional": None}, separators=(",", ":")).encode()


def image_subject(c, name, digest):
    _, h, body = c.request("GET", "/v2/%s/manifests/%s" % (name, digest),
                           headers={"Accept": registry.ACCEPT})
    mt = json.loads(body).get("mediaType") or h.get("Content-Type")
    return body, {"mediaType": mt, "digest": digest, "size": len(body)}


def attach_referrer(c, name, digest, subject, artifact_type, layers):
    """A referrer manifest pushed by digest and listed in the tag schema."""
    body = manifest(c, name, layers, artifact_type, subject)
    rd = c.put_manifest(name, registry.sha256(body), body,
                        registry.OCI_MANIFEST)
    tag = tag_of(digest)
    try:
        _, _, old = c.request("GET", "/v2/%s/manifests/%s" % (name, tag),
                              headers={"Accept": registry.OCI_INDEX})
        index = json.loads(old)
    except SystemExit:
        index = {"schemaVersion": 2, "mediaType": registry.OCI_INDEX,
                 "manifests": []}
    index["manifests"].append({"mediaType": registry.OCI_MANIFEST,
                               "digest": rd, "size": len(body),
                               "artifactType": artifact_type})
    ib = json.dumps(index, separators=(",", ":")).encode()
    c.put_manifest(name, tag, ib, registry.OCI_INDEX)
    return rd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("layout")
    ap.add_argument("name")
    ap.add_argument("digest")
    ap.add_argument("--key")
    ap.add_argument("--ref")
    ap.add_argument("--payload-digest")
    ap.add_argument("--tamper", action="store_true")
    ap.add_argument("--predicate-type",
                    default="https://slsa.dev/provenance/v1")
    ap.add_argument("--bundle")
    a = ap.parse_args()
    c = registry.Client(a.port)
    ref = a.ref or "127.0.0.1:%d/%s" % (a.port, a.name)
    pd = a.payload_digest or a.digest
    out = {}
    if a.layout == "cosign":
        p = payload(ref, pd)
        sig = b64(openssl_sign(a.key, p))
        if a.tamper:
            p = p.replace(b"cosign container", b"cosign  container")
        body = manifest(c, a.name, [(SIMPLESIGNING, p, {
            "dev.cosignproject.cosign/signature": sig})])
        out["digest"] = c.put_manifest(a.name, tag_of(a.digest, ".sig"), body,
                                       registry.OCI_MANIFEST)
    elif a.layout == "att":
        st = json.dumps({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": ref,
                         "digest": {"sha256": pd.split(":", 1)[1]}}],
            "predicateType": a.predicate_type,
            "predicate": {"buildDefinition": {"buildType": "test"}}},
            separators=(",", ":")).encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(INTOTO), INTOTO.encode(), len(st),
                                       st)
        env = json.dumps({"payloadType": INTOTO, "payload": b64(st),
                          "signatures": [{"keyid": "",
                                          "sig": b64(openssl_sign(a.key,
                                                                  pae))}]},
                         separators=(",", ":")).encode()
        body = manifest(c, a.name, [(DSSE, env, {
            "dev.cosignproject.cosign/signature": "",
            "predicateType": a.predicate_type})])
        out["digest"] = c.put_manifest(a.name, tag_of(a.digest, ".att"), body,
                                       registry.OCI_MANIFEST)
    elif a.layout == "bundle":
        mbody, subject = image_subject(c, a.name, a.digest)
        if a.bundle:
            with open(a.bundle, "rb") as f:
                bundle = f.read()
        else:
            import hashlib
            bundle = json.dumps({
                "mediaType": BUNDLE_V03,
                "verificationMaterial": {"publicKey": {"hint": "test"}},
                "messageSignature": {
                    "messageDigest": {
                        "algorithm": "SHA2_256",
                        "digest": b64(hashlib.sha256(mbody).digest())},
                    "signature": b64(openssl_sign(a.key, mbody))}},
                separators=(",", ":")).encode()
        out["digest"] = attach_referrer(c, a.name, a.digest, subject,
                                        BUNDLE_V03,
                                        [(BUNDLE_V03, bundle, None)])
    elif a.layout == "garbage":
        body = manifest(c, a.name, [(SIMPLESIGNING, b"\x00not a payload\xff",
                                     {"dev.cosignproject.cosign/signature":
                                      "!!"})])
        out["digest"] = c.put_manifest(a.name, tag_of(a.digest, ".sig"), body,
                                       registry.OCI_MANIFEST)
    elif a.layout == "huge":
        ann = {"k%05d" % i: "x" * 300 for i in range(1000)}
        body = manifest(c, a.name, [(SIMPLESIGNING, b"{}", ann)])
        out["digest"] = c.put_manifest(a.name, tag_of(a.digest, ".sig"), body,
                                       registry.OCI_MANIFEST)
        out["size"] = len(body)
    elif a.layout == "loop":
        mbody, subject = image_subject(c, a.name, a.digest)
        other = dict(subject)
        other["digest"] = "sha256:" + "0" * 64
        rd = attach_referrer(c, a.name, a.digest, other, BUNDLE_V03,
                             [(BUNDLE_V03, b"{}", None)])
        _, _, old = c.request("GET", "/v2/%s/manifests/%s" %
                              (a.name, tag_of(a.digest)),
                              headers={"Accept": registry.OCI_INDEX})
        index = json.loads(old)
        index["manifests"].append({"mediaType": subject["mediaType"],
                                   "digest": a.digest,
                                   "size": subject["size"],
                                   "artifactType": BUNDLE_V03})
        ib = json.dumps(index, separators=(",", ":")).encode()
        c.put_manifest(a.name, tag_of(a.digest), ib, registry.OCI_INDEX)
        out["digest"] = rd
    else:
        raise SystemExit("sign.py: unknown layout '%s'" % a.layout)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
