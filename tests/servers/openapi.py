"""openapi.py - holds a test server's requests to a provider's published
API description (tests/servers/openapi/*.json, cut from GitHub's and
Gitea's own descriptions by openapi/subset.py).

    spec = Spec("tests/servers/openapi/github.json", prefix="")
    problems = spec.check("POST", "/repos/acme/app/pulls", query, raw, ctype)

check() answers [] for a request the description allows, else what is
wrong: a path no operation has, a method the path does not take, a path
or query parameter that is missing, undeclared or of the wrong type, a
body where none is taken, or a JSON body that does not match the
operation's schema. Bodies are held to their schema strictly: an object
schema that lists its properties takes no others (the descriptions leave
additionalProperties open, which would let a misspelt field through).
Standard library plus Debian's python3-jsonschema.
"""
import copy
import json
import re

import jsonschema


def _strict(schema):
    """schema with OpenAPI 3.0's nullable as JSON Schema, objects closed."""
    if isinstance(schema, list):
        return [_strict(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    s = {k: _strict(v) for k, v in schema.items()}
    if s.pop("nullable", False) and isinstance(s.get("type"), str):
        s["type"] = [s["type"], "null"]
    if s.get("type") == "object" and "properties" in s and \
            "additionalProperties" not in s:
        s["additionalProperties"] = False
    # Keywords of OpenAPI that JSON Schema does not know.
    for k in ("readOnly", "writeOnly", "discriminator", "xml", "deprecated",
              "x-nullable", "x-omitempty"):
        s.pop(k, None)
    return s


def _value_ok(schema, text):
    """Whether a path or query value (text) reads as schema's type."""
    t = schema.get("type")
    if t == "integer":
        ok = re.fullmatch(r"-?[0-9]+", text) is not None
    elif t == "number":
        ok = re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) is not None
    elif t == "boolean":
        ok = text in ("true", "false")
    else:
        ok = True
    if ok and "enum" in schema:
        ok = text in [str(e).lower() if isinstance(e, bool) else str(e)
                      for e in schema["enum"]]
    return ok


class Spec:
    def __init__(self, path, prefix=""):
        with open(path) as f:
            d = json.load(f)
        self.name = "%s %s (%s)" % (d["forge"], d["version"], d["source"])
        self.prefix = prefix
        self.ops = []
        for op in d["operations"]:
            multi = {p["name"] for p in op["parameters"]
                     if p.get("multi_segment")}
            rx = []
            for p in op["path"].split("/"):
                m = re.fullmatch(r"\{(\w+)\}", p)
                if m is None:
                    rx.append(re.escape(p))
                elif m.group(1) in multi:
                    # GitHub's x-multi-segment: "heads/strata/pin-x"
                    rx.append("(?P<%s>.+?)" % m.group(1))
                else:
                    rx.append("(?P<%s>[^/]+)" % m.group(1))
            op = copy.deepcopy(op)
            op["rx"] = re.compile("/".join(rx))
            if op["body"] is not None:
                op["validator"] = jsonschema.Draft4Validator(
                    _strict(op["body"]["schema"]))
            self.ops.append(op)

    def check(self, method, path, query, raw, content_type):
        """[] when allowed, else the problems (strings)."""
        if not path.startswith(self.prefix):
            return ["%s is outside %s's API (%s)"
                    % (path, self.name, self.prefix)]
        rel = path[len(self.prefix):]
        matched = [(op, op["rx"].fullmatch(rel)) for op in self.ops]
        matched = [(op, m) for op, m in matched if m is not None]
        if not matched:
            return ["no operation of %s serves %s" % (self.name, rel)]
        for op, m in matched:
            if op["method"] == method:
                return self._check_op(op, m, query, raw, content_type)
        return ["%s %s: %s allows only %s" % (
            method, rel, self.name,
            ", ".join(sorted({op["method"] for op, _ in matched})))]

    def _check_op(self, op, m, query, raw, content_type):
        where = "%s %s (%s)" % (op["method"], op["path"], op["operationId"])
        problems = []
        declared = {p["name"]: p for p in op["parameters"]
                    if p["in"] == "query"}
        for p in op["parameters"]:
            if p["in"] == "path" and \
                    not _value_ok(p["schema"], m.group(p["name"])):
                problems.append("%s: path parameter %s=%r is not %s"
                                % (where, p["name"], m.group(p["name"]),
                                   p["schema"].get("type")))
            if p["in"] == "query" and p["required"] and p["name"] not in query:
                problems.append("%s: required query parameter %s missing"
                                % (where, p["name"]))
        for name, values in query.items():
            p = declared.get(name)
            if p is None:
                problems.append("%s: query parameter %s is not in the "
                                "description" % (where, name))
                continue
            for v in values:
                if not _value_ok(p["schema"], v):
                    problems.append("%s: query parameter %s=%r is not %s"
                                    % (where, name, v,
                                       p["schema"].get("type")))
        body = op["body"]
        if not raw:
            if body is not None and body["required"]:
                problems.append("%s: the request body is required" % where)
            return problems
        if body is None:
            problems.append("%s takes no request body" % where)
            return problems
        if not (content_type or "").startswith("application/json"):
            problems.append("%s: body is %r, not application/json"
                            % (where, content_type))
            return problems
        try:
            data = json.loads(raw)
        except ValueError as e:
            return problems + ["%s: body is not JSON: %s" % (where, e)]
        for e in sorted(op["validator"].iter_errors(data), key=str)[:5]:
            at = "/".join(str(x) for x in e.absolute_path) or "(body)"
            problems.append("%s: body %s: %s" % (where, at, e.message))
        return problems
