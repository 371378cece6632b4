#!/usr/bin/python3
"""hostile.py - a scriptable hostile registry and token server.

  hostile.py
      listens on two ephemeral ports of 127.0.0.1 (the registry, and an
      "other host" to redirect to) and prints "PORT OTHER_PORT" on its
      first line of standard output. Both ports share one script and one
      record. Serves until killed. Only the standard library; run it with
      /usr/bin/python3.

The test scripts it over the admin side (never recorded, never scripted):

  POST /_admin/script   {"rules": [RULE, ...]}   replaces the script
  POST /_admin/reset    forgets the script and the record
  GET  /_admin/requests {"requests": [{"method", "path", "headers"
                        (lowercased names), "listener" ("main" or
                        "other"), "time" (seconds, monotonic),
                        "body_len"}], "count": n}
  GET  /_admin/info     {"port": P, "other_port": Q}

Each request is answered by the first rule that matches it (and has
count left); with none, 404 with a registry error body. A RULE:

  match:   "method" ("GET", or a list), "path" (a regular expression
           searched in the request target, query included), "listener",
           "if_header" {name: regex} (every one must match; an absent
           header is ""), "unless_header" {name: regex} (a present header
           matching any one skips the rule), "count" (times it fires;
           default: forever)
  answer:  "status" (200), "headers" {name: value}, "body" (text) or
           "body_json" (any JSON) or "body_size" N bytes of "body_byte"
           ("x"), "digest": true adds Docker-Content-Digest: sha256 of
           the body; "redirect" URL (a 307 with that Location unless
           "status" says otherwise)
  hostile: "content_length" (a number to declare instead of the real
           length, or "none" for a body that ends with the connection),
           "chunked" (Transfer-Encoding: chunked), "endless" (the body
           never ends: the answer stops only when the client goes, or
           after "max_seconds", default 120), "stall" (seconds to wait
           before answering), "drip_ms" (the body one byte at a time,
           every N ms), "drip_headers" (the status line and headers too),
           "close" (drop the connection without an answer)

In header values and text bodies, {port} and {other_port} are replaced
by the two ports, so a rule can name a token realm or a redirect target.
HEAD gets the headers a GET would get (the declared length included) and
no body.
"""

import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"rules": [], "requests": [], "port": 0, "other_port": 0}
CHUNK = 64 * 1024


def subst(text):
    return (text.replace("{port}", str(STATE["port"]))
            .replace("{other_port}", str(STATE["other_port"])))


def matches(rule, method, path, headers, listener):
    m = rule.get("method")
    if m is not None:
        if isinstance(m, str):
            m = [m]
        if method not in m:
            return False
    if "path" in rule and not re.search(rule["path"], path):
        return False
    if "listener" in rule and rule["listener"] != listener:
        return False
    for name, rx in rule.get("if_header", {}).items():
        if not re.search(rx, headers.get(name.lower(), "")):
            return False
    for name, rx in rule.get("unless_header", {}).items():
        v = headers.get(name.lower())
        if v is not None and re.search(rx, v):
            return False
    return True


def take_rule(method, path, headers, listener):
    """The first matching rule with count left (consuming one), or None."""
    with LOCK:
        for rule in STATE["rules"]:
            if rule.get("count", -1) == 0:
                continue
            if matches(rule, method, path, headers, listener):
                if rule.get("count", -1) > 0:
                    rule["count"] -= 1
                return dict(rule)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    listener = "main"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ---------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_raw(self, data, drip_s):
        if drip_s <= 0:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            time.sleep(drip_s)

    def plain(self, status, body, ctype="application/json"):
        head = ("HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                "\r\n" % (status, ctype, len(body))).encode()
        self.wfile.write(head + body)

    # ---- the admin side ---------------------------------------------------

    def admin(self, path, body):
        with LOCK:
            if path == "/_admin/script":
                STATE["rules"] = json.loads(body or b"{}").get("rules", [])
                out = {"rules": len(STATE["rules"])}
            elif path == "/_admin/reset":
                STATE["rules"] = []
                STATE["requests"] = []
                out = {}
            elif path == "/_admin/requests":
                out = {"requests": STATE["requests"],
                       "count": len(STATE["requests"])}
            elif path == "/_admin/info":
                out = {"port": STATE["port"],
                       "other_port": STATE["other_port"]}
            else:
                self.plain(404, b'{"error":"unknown admin path"}')
                return
        self.plain(200, json.dumps(out).encode())

    # ---- answers ----------------------------------------------------------

    def body_of(self, rule):
        """(bytes or None, generated length or None)."""
        if "body_json" in rule:
            return subst(json.dumps(rule["body_json"])).encode(), None
        if "body" in rule:
            return subst(rule["body"]).encode(), None
        if "body_size" in rule:
            return None, int(rule["body_size"])
        return b"", None

    def answer(self, rule):
        if rule.get("stall"):
            time.sleep(float(rule["stall"]))
        if rule.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = int(rule.get("status", 307 if "redirect" in rule else 200))
        body, gen_len = self.body_of(rule)
        byte = rule.get("body_byte", "x").encode()[:1] or b"x"
        endless = bool(rule.get("endless"))
        chunked = bool(rule.get("chunked"))
        headers = [(k, subst(str(v)))
                   for k, v in rule.get("headers", {}).items()]
        if "redirect" in rule:
            headers.append(("Location", subst(rule["redirect"])))
        if rule.get("digest"):
            h = hashlib.sha256()
            if body is not None:
                h.update(body)
            else:
                block = byte * CHUNK
                left = gen_len
                while left > 0:
                    h.update(block[:min(left, CHUNK)])
                    left -= CHUNK
            headers.append(("Docker-Content-Digest", "sha256:" + h.hexdigest()))
        length = len(body) if body is not None else gen_len
        declared = rule.get("content_length", length)
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif declared == "none" or (endless and "content_length" not in rule):
            self.close_connection = True
            headers.append(("Connection", "close"))
        else:
            headers.append(("Content-Length", str(declared)))
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        head = "HTTP/1.1 %d Hostile\r\n" % status
        head += "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n"
        drip_s = float(rule.get("drip_ms", 0)) / 1000.0
        self.send_raw(head.encode(), drip_s if rule.get("drip_headers") else 0)
        if self.command == "HEAD":
            return
        deadline = time.monotonic() + float(rule.get("max_seconds", 120))

        def out(data):
            if not data:
                return  # an empty chunk would end a chunked body
            if chunked:
                data = b"%x\r\n%s\r\n" % (len(data), data)
            self.send_raw(data, drip_s)

        if body is not None and not endless:
            if body:
                out(body)
        else:
            block = byte * (1 if drip_s > 0 else CHUNK)
            left = gen_len if not endless else None
            if body is not None:
                out(body)
            while (left is None or left > 0) and time.monotonic() < deadline:
                n = len(block) if left is None else min(left, len(block))
                out(block[:n])
                if left is not None:
                    left -= n
            if endless:
                self.close_connection = True
                return
        if chunked:
            self.send_raw(b"0\r\n\r\n", 0)
        if declared == "none" or (not chunked and declared != length):
            self.close_connection = True

    def handle_any(self):
        path = self.path
        body = self.read_body()
        if path.startswith("/_admin/"):
            self.admin(path, body)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            STATE["requests"].append({
                "method": self.command, "path": path, "headers": headers,
                "listener": self.listener, "time": time.monotonic(),
                "body_len": len(body)})
        rule = take_rule(self.command, path, headers, self.listener)
        if rule is None:
            self.plain(404, b'{"errors":[{"code":"NAME_UNKNOWN",'
                       b'"message":"nothing scripted here"}]}')
            return
        try:
            self.answer(rule)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class OtherHandler(Handler):
    listener = "other"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # Clients that give up on a hostile answer are what we expect.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError,
                                              ConnectionResetError,
                                              socket.timeout)):
            super().handle_error(request, client_address)


def watch_parent():
    """Exits when the test that started us is gone, however it ended."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    threading.Thread(target=watch_parent, daemon=True).start()
    main_srv = Server(("127.0.0.1", 0), Handler)
    other_srv = Server(("127.0.0.1", 0), OtherHandler)
    STATE["port"] = main_srv.server_address[1]
    STATE["other_port"] = other_srv.server_address[1]
    threading.Thread(target=other_srv.serve_forever, daemon=True).start()
    print("%d %d" % (STATE["port"], STATE["other_port"]), flush=True)
    try:
        main_srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
