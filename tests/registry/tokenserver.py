#!/usr/bin/python3
"""tokenserver.py - a Docker registry token server for strata's tests.

Implements the distribution token protocol that docker-registry's
`auth.token` expects: GET /token?service=S&scope=... (credentials, if any,
as HTTP Basic) and the OAuth2 form, POST /token with grant_type=password
or grant_type=refresh_token. Answers carry ES256 JWTs whose header has the
signing certificate in x5c; registry.py points the registry's
rootcertbundle at that certificate.

  tokenserver.py serve --dir DIR [--user NAME:PASSWORD[:pull]]...
        [--identity-token TOKEN:NAME]... [--public GLOB]...
        [--expires SECONDS] [--service S] [--issuer I]
      writes DIR/key.pem and DIR/cert.pem, listens on 127.0.0.1 with an
      ephemeral port, prints the port and serves until killed.

Policy, per requested scope "repository:NAME:ACTIONS":
  - a known user gets pull and push (pull only with ":pull");
  - anyone gets pull on repositories matching a --public glob
    (default "library/*");
  - everything else gets no actions (the registry then answers 401);
  - wrong credentials or an unknown refresh token: 401 (GET, password
    grant) or 400 invalid_grant (refresh_token grant), and no token.

Every request is appended to DIR/requests.log as one JSON object
({"method", "grant", "account", "scopes", "status"}; never a secret), so
tests can count token requests. DIR/control.json, when present, is read on
every request: {"expires_in": N} changes what the answer says and
{"jwt_ttl": N} the JWT's real lifetime, and {"expire_next": N} makes the
next N tokens already expired (past the registry's 60 s leeway) while the
answer still promises expires_in: tests use them to check that a 401 for
a cached token brings one refresh.

Needs python3-jwt and python3-cryptography: run with /usr/bin/python3.
"""

import argparse
import base64
import datetime
import fnmatch
import json
import math
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_key_and_cert(d):
    """An EC P-256 key and a self-signed certificate for it, in d."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "strata-test-token-signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=False,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    with open(os.path.join(d, "key.pem"), "wb") as f:
        f.write(key_pem)
    with open(os.path.join(d, "cert.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    der = cert.public_bytes(serialization.Encoding.DER)
    return key_pem, base64.b64encode(der).decode()


def parse_scopes(values):
    """["repository:a/b:pull,push", ...] -> [(type, name, [actions])]."""
    out = []
    for v in values:
        for s in v.split(" "):
            if not s:
                continue
            parts = s.split(":")
            if len(parts) < 3:
                continue
            # A name may hold a port ("host:5000/x"): the actions are last.
            out.append((parts[0], ":".join(parts[1:-1]),
                        [a for a in parts[-1].split(",") if a]))
    return out


class Policy:
    def __init__(self, args):
        self.users = {}  # name -> (password, allowed actions)
        for u in args.user or []:
            parts = u.split(":")
            allowed = ["pull", "push"] if len(parts) < 3 else \
                parts[2].split(",")
            self.users[parts[0]] = (parts[1], allowed)
        self.refresh = {}  # refresh token -> account
        for t in args.identity_token or []:
            tok, name = t.rsplit(":", 1)
            self.refresh[tok] = name
        self.public = args.public or ["library/*"]
        self.lock = threading.Lock()

    def check_password(self, name, password):
        u = self.users.get(name)
        return u is not None and secrets.compare_digest(u[0], password)

    def grant(self, account, scopes):
        access = []
        for typ, name, actions in scopes:
            if typ != "repository":
                continue
            if account:
                allowed = self.users[account][1]
            elif any(fnmatch.fnmatchcase(name, g) for g in self.public):
                allowed = ["pull"]
            else:
                allowed = []
            access.append({"type": typ, "name": name,
                           "actions": [a for a in actions if a in allowed]})
        return access

    def new_refresh_token(self, account):
        tok = secrets.token_urlsafe(24)
        with self.lock:
            self.refresh[tok] = account
        return tok


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, grant, account, scopes, status):
        srv = self.server
        line = json.dumps({"method": self.command, "grant": grant,
                           "account": account or "",
                           "scopes": [s for s in scopes], "status": status})
        with srv.log_lock:
            with open(os.path.join(srv.dir, "requests.log"), "a") as f:
                f.write(line + "\n")

    def control(self):
        """DIR/control.json; counts an "expire_next" token down."""
        path = os.path.join(self.server.dir, "control.json")
        with self.server.log_lock:
            try:
                with open(path) as f:
                    ctl = json.load(f)
            except (OSError, ValueError):
                return {}
            if ctl.get("expire_next", 0) > 0:
                left = dict(ctl, expire_next=ctl["expire_next"] - 1)
                with open(path + ".tmp", "w") as f:
                    json.dump(left, f)
                os.rename(path + ".tmp", path)
                ctl["expired"] = True
            return ctl

    def answer(self, status, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def issue(self, account, scope_strings, service, refresh=None):
        srv = self.server
        ctl = self.control()
        expires_in = int(ctl.get("expires_in", srv.expires))
        ttl = int(ctl.get("jwt_ttl", expires_in))
        if ctl.get("expired"):
            ttl = -120
        now = time.time()
        claims = {
            "iss": srv.issuer, "sub": account or "", "aud": service,
            "iat": int(now), "nbf": int(now) - 1,
            # Rounded up, so the JWT never dies before the client expects.
            "exp": int(math.ceil(now)) + ttl,
            "jti": secrets.token_hex(12),
            "access": srv.policy.grant(account, parse_scopes(scope_strings)),
        }
        tok = jwt.encode(claims, srv.key_pem, algorithm="ES256",
                         headers={"x5c": [srv.x5c]})
        body = {"token": tok, "access_token": tok, "expires_in": expires_in,
                "issued_at": datetime.datetime.fromtimestamp(
                    int(now), datetime.timezone.utc).strftime(
                        "%Y-%m-%dT%H:%M:%SZ")}
        if refresh is not None:
            body["refresh_token"] = refresh
        return body

    def basic_account(self):
        """(ok, account): account None when no credentials were sent."""
        h = self.headers.get("Authorization")
        if h is None:
            return True, None
        if not h.startswith("Basic "):
            return False, None
        try:
            raw = base64.b64decode(h[6:], validate=True).decode()
            name, password = raw.split(":", 1)
        except (ValueError, UnicodeDecodeError):
            return False, None
        if not self.server.policy.check_password(name, password):
            return False, None
        return True, name

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        scopes = q.get("scope", [])
        if u.path != "/token":
            return self.answer(404, {"error": "not found"})
        service = q.get("service", [""])[0]
        if service != self.server.service:
            self.record("get", None, scopes, 400)
            return self.answer(400, {"error": "unknown service"})
        ok, account = self.basic_account()
        if not ok:
            self.record("basic", None, scopes, 401)
            return self.answer(401, {"errors": [{
                "code": "UNAUTHORIZED", "message": "invalid credentials"}]},
                {"WWW-Authenticate": 'Basic realm="strata-test-token"'})
        self.record("basic" if account else "anonymous", account, scopes, 200)
        self.answer(200, self.issue(account, scopes, service))

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/token":
            return self.answer(404, {"error": "not found"})
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode(),
                                     keep_blank_values=True)

        def one(k):
            return form.get(k, [""])[0]
        grant = one("grant_type")
        scopes = [one("scope")] if one("scope") else []
        service = one("service")
        if service != self.server.service or not one("client_id"):
            self.record(grant, None, scopes, 400)
            return self.answer(400, {"error": "invalid_request"})
        policy = self.server.policy
        refresh = None
        if grant == "password":
            account = one("username")
            if not policy.check_password(account, one("password")):
                self.record(grant, None, scopes, 401)
                return self.answer(401, {"error": "invalid_grant"})
            if one("access_type") == "offline":
                refresh = policy.new_refresh_token(account)
        elif grant == "refresh_token":
            with policy.lock:
                account = policy.refresh.get(one("refresh_token"))
            if account is None:
                self.record(grant, None, scopes, 400)
                return self.answer(400, {"error": "invalid_grant"})
        else:
            self.record(grant, None, scopes, 400)
            return self.answer(400, {"error": "unsupported_grant_type"})
        self.record(grant, account, scopes, 200)
        self.answer(200, self.issue(account, scopes, service, refresh))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--dir", required=True)
    p.add_argument("--user", action="append")
    p.add_argument("--identity-token", action="append")
    p.add_argument("--public", action="append")
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--service", default="strata-registry")
    p.add_argument("--issuer", default="strata-token-server")
    a = ap.parse_args()

    os.makedirs(a.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.dir = a.dir
    srv.key_pem, srv.x5c = make_key_and_cert(a.dir)
    srv.policy = Policy(a)
    srv.expires = a.expires
    srv.service = a.service
    srv.issuer = a.issuer
    srv.log_lock = threading.Lock()
    open(os.path.join(a.dir, "requests.log"), "w").close()
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
