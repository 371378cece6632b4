#!/usr/bin/python3
"""check-sbom.py - checks an SBOM that `strata sbom` wrote.

  check-sbom.py cyclonedx-json FILE   validates FILE against the CycloneDX
                                      1.6 JSON schema in schemas/ (with
                                      python3-jsonschema, draft 7)
  check-sbom.py diff-json FILE SCHEMA validates `strata diff --format json`
                                      output against docs/diff.schema.json
  check-sbom.py spdx-json FILE        validates FILE against the official
                                      SPDX 2.3 JSON schema in schemas/,
                                      then checks SPDX 2.3's rules the
                                      schema cannot say: the required
                                      document and package fields, SPDXID
                                      syntax, unique identifiers, every
                                      relationship naming a known element,
                                      a DESCRIBES relationship, and purl
                                      external references

Prints one line per problem and exits 1 when there is any. Run with
/usr/bin/python3 (Debian's jsonschema).
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def cyclonedx(doc):
    import jsonschema

    d = os.path.join(HERE, "schemas")
    store = {}
    for name in ("bom-1.6.SNAPSHOT.schema.json", "spdx.SNAPSHOT.schema.json",
                 "jsf-0.82.SNAPSHOT.schema.json"):
        with open(os.path.join(d, name)) as f:
            s = json.load(f)
        store[s["$id"]] = s
        store["http://cyclonedx.org/schema/" + name] = s
    schema = store["http://cyclonedx.org/schema/bom-1.6.schema.json"]
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    v = jsonschema.Draft7Validator(schema, resolver=resolver,
                                   format_checker=jsonschema.FormatChecker())
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message)
            for e in v.iter_errors(doc)]


SPDXID = re.compile(r"^SPDXRef-[0-9a-zA-Z.\-]+$")
PURL = re.compile(r"^pkg:[a-z.+-]+/[^@?#]+@[^?#]+(\?[^#]*)?$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def spdx(doc):
    import jsonschema

    with open(os.path.join(HERE, "schemas", "spdx-2.3.schema.json")) as f:
        v = jsonschema.Draft7Validator(
            json.load(f), format_checker=jsonschema.FormatChecker())
    p = ["schema: %s: %s" % ("/".join(str(x) for x in e.absolute_path),
                             e.message) for e in v.iter_errors(doc)]
    for k in ("spdxVersion", "dataLicense", "SPDXID", "name",
              "documentNamespace", "creationInfo"):
        if k not in doc:
            p.append("document: no %s" % k)
    if doc.get("spdxVersion") != "SPDX-2.3":
        p.append("spdxVersion is not SPDX-2.3")
    if doc.get("dataLicense") != "CC0-1.0":
        p.append("dataLicense is not CC0-1.0")
    if doc.get("SPDXID") != "SPDXRef-DOCUMENT":
        p.append("SPDXID is not SPDXRef-DOCUMENT")
    ns = doc.get("documentNamespace", "")
    if not re.match(r"^[a-z]+://", ns) or "#" in ns:
        p.append("documentNamespace is not a URI without '#'")
    ci = doc.get("creationInfo", {})
    if not TIME.match(ci.get("created", "")):
        p.append("creationInfo.created is not YYYY-MM-DDThh:mm:ssZ")
    if not ci.get("creators") or not all(
            re.match(r"^(Tool|Person|Organization): ", c)
            for c in ci.get("creators", [])):
        p.append("creationInfo.creators is empty or malformed")
    ids = {"SPDXRef-DOCUMENT"}
    for i, pkg in enumerate(doc.get("packages", [])):
        for k in ("name", "SPDXID", "downloadLocation"):
            if k not in pkg:
                p.append("packages/%d: no %s" % (i, k))
        sid = pkg.get("SPDXID", "")
        if not SPDXID.match(sid):
            p.append("packages/%d: bad SPDXID %r" % (i, sid))
        if sid in ids:
            p.append("packages/%d: SPDXID %r used twice" % (i, sid))
        ids.add(sid)
        for r in pkg.get("externalRefs", []):
            if r.get("referenceCategory") not in ("SECURITY",
                                                   "PACKAGE-MANAGER",
                                                   "PERSISTENT-ID", "OTHER"):
                p.append("packages/%d: bad referenceCategory" % i)
            if r.get("referenceType") == "purl" and not PURL.match(
                    r.get("referenceLocator", "")):
                p.append("packages/%d: bad purl %r" %
                         (i, r.get("referenceLocator")))
    describes = False
    for i, r in enumerate(doc.get("relationships", [])):
        for k in ("spdxElementId", "relatedSpdxElement"):
            if r.get(k) not in ids:
                p.append("relationships/%d: unknown %s %r" % (i, k, r.get(k)))
        if r.get("relationshipType") == "DESCRIBES" and \
                r.get("spdxElementId") == "SPDXRef-DOCUMENT":
            describes = True
    if not describes:
        p.append("no DESCRIBES relationship from the document")
    return p


def main():
    kind, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        doc = json.load(f)
    if kind == "diff-json":
        import jsonschema

        with open(sys.argv[3]) as f:
            v = jsonschema.Draft7Validator(json.load(f))
        problems = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path),
                                e.message) for e in v.iter_errors(doc)]
    elif kind == "cyclonedx-json":
        problems = cyclonedx(doc)
    else:
        problems = spdx(doc)
    for line in problems:
        print(line)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
