#!/usr/bin/python3
"""faultproxy.py - an HTTP proxy in front of a registry that injects faults.

  faultproxy.py --upstream 127.0.0.1:PORT
      listens on 127.0.0.1 (ephemeral port), prints the port on stdout and
      forwards every request to the upstream registry.

Control (answered by the proxy itself, never forwarded):
  GET /__fault?mode=M[&methods=HEAD,GET][&path=SUBSTR][&count=N]
               [&retry_after=S][&stall=S]
      mode: none | 429 (with Retry-After) | 500 | baddigest (a well-formed
      but wrong Docker-Content-Digest) | truncate (half the body, with a
      matching Content-Length) | nonjson (an HTML body) | stall (wait S
      seconds before answering). The fault applies to requests whose method
      is listed (default: all) and whose path contains SUBSTR (default:
      "/v2/"), N times (default: forever).
  GET /__set?ratelimit=N      adds "RateLimit-Remaining: N;w=21600" (-1: off)
  GET /__set?paginate=N       serves tags/list in pages of N with Link
                              headers (0: off), as Docker Hub does
  GET /__stats                {"requests": {"HEAD": n, ...}, "max_inflight": n,
                               "bad": n}  (bad: connections that did not
                               speak HTTP, such as TLS handshakes)
  GET /__reset_stats

Only the standard library; run with /usr/bin/python3.
"""

import argparse
import hashlib
import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATE = {
    "mode": "none", "methods": None, "path": "/v2/", "count": -1,
    "retry_after": "1", "stall": 5.0, "ratelimit": -1, "paginate": 0,
}
STATS = {"requests": {}, "inflight": 0, "max_inflight": 0, "bad": 0}
FAKE_DIGEST = "sha256:" + hashlib.sha256(b"not the real manifest").hexdigest()


def take_fault(method, path):
    """The fault mode for this request (consuming one count), or 'none'."""
    with LOCK:
        s = STATE
        if s["mode"] == "none" or s["count"] == 0:
            return "none"
        if s["methods"] is not None and method not in s["methods"]:
            return "none"
        if s["path"] not in path:
            return "none"
        if s["count"] > 0:
            s["count"] -= 1
        return s["mode"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, fmt, *args):
        pass

    def parse_request(self):
        ok = super().parse_request()
        if not ok:
            with LOCK:
                STATS["bad"] += 1
        return ok

    def reply(self, status, body=b"", headers=None, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or []):
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, url):
        q = dict(urllib.parse.parse_qsl(url.query))
        with LOCK:
            if url.path == "/__fault":
                STATE["mode"] = q.get("mode", "none")
                m = q.get("methods")
                STATE["methods"] = set(m.split(",")) if m else None
                STATE["path"] = q.get("path", "/v2/")
                STATE["count"] = int(q.get("count", "-1"))
                STATE["retry_after"] = q.get("retry_after", "1")
                STATE["stall"] = float(q.get("stall", "5"))
            elif url.path == "/__set":
                if "ratelimit" in q:
                    STATE["ratelimit"] = int(q["ratelimit"])
                if "paginate" in q:
                    STATE["paginate"] = int(q["paginate"])
            elif url.path == "/__reset_stats":
                STATS["requests"] = {}
                STATS["max_inflight"] = 0
                STATS["bad"] = 0
            elif url.path != "/__stats":
                self.reply(404, b'{"error":"unknown control"}')
                return
            body = json.dumps({"requests": STATS["requests"],
                               "max_inflight": STATS["max_inflight"],
                               "bad": STATS["bad"]})
        self.reply(200, body.encode())

    def upstream_request(self, method, path, body):
        conn = http.client.HTTPConnection(self.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection")}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        hdrs = [(k, v) for k, v in resp.getheaders()
                if k.lower() not in ("content-length", "connection",
                                     "transfer-encoding", "date",
                                     "content-type")]
        ctype = resp.getheader("Content-Type", "application/json")
        self.upstream_length = resp.getheader("Content-Length", "0")
        conn.close()
        return resp.status, hdrs, data, ctype

    def paginated_tags(self, url, hdrs, data, page):
        """Serves one page of a tags/list answer with a Link header."""
        try:
            doc = json.loads(data)
        except ValueError:
            return hdrs, data
        tags = sorted(doc.get("tags") or [])
        q = dict(urllib.parse.parse_qsl(url.query))
        n = min(int(q.get("n", page)), page)
        start = 0
        if "last" in q and q["last"] in tags:
            start = tags.index(q["last"]) + 1
        chunk = tags[start:start + n]
        doc["tags"] = chunk
        if start + n < len(tags):
            nxt = "%s?%s" % (url.path, urllib.parse.urlencode(
                {"n": n, "last": chunk[-1]}))
            hdrs = hdrs + [("Link", '<%s>; rel="next"' % nxt)]
        return hdrs, json.dumps(doc).encode()

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__"):
            self.control(url)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        with LOCK:
            r = STATS["requests"]
            r[self.command] = r.get(self.command, 0) + 1
            STATS["inflight"] += 1
            STATS["max_inflight"] = max(STATS["max_inflight"],
                                        STATS["inflight"])
        try:
            self.forward(url, body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with LOCK:
                STATS["inflight"] -= 1

    def forward(self, url, body):
        fault = take_fault(self.command, url.path)
        if fault == "429":
            self.reply(429, b'{"errors":[{"code":"TOOMANYREQUESTS",'
                       b'"message":"slow down"}]}',
                       [("Retry-After", STATE["retry_after"])])
            return
        if fault == "500":
            self.reply(500, b'{"errors":[{"code":"UNKNOWN",'
                       b'"message":"injected failure"}]}')
            return
        if fault == "stall":
            time.sleep(STATE["stall"])
        status, hdrs, data, ctype = self.upstream_request(
            self.command, self.path, body)
        if (STATE["paginate"] > 0 and self.command == "GET" and
                url.path.endswith("/tags/list") and status == 200):
            hdrs, data = self.paginated_tags(url, hdrs, data,
                                             STATE["paginate"])
        if fault == "baddigest":
            hdrs = [(k, v) for k, v in hdrs
                    if k.lower() != "docker-content-digest"]
            hdrs.append(("Docker-Content-Digest", FAKE_DIGEST))
        elif fault == "truncate":
            data = data[:len(data) // 2]
        elif fault == "nonjson":
            data = b"<html><body>502 Bad Gateway</body></html>"
            ctype = "text/html"
        if STATE["ratelimit"] >= 0:
            hdrs.append(("RateLimit-Remaining",
                         "%d;w=21600" % STATE["ratelimit"]))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if self.command == "HEAD":
            # HEAD carries the length of the body a GET would get.
            self.send_header("Content-Length", self.upstream_length)
        else:
            self.send_header("Content-Length", str(len(data)))
        for k, v in hdrs:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    a = ap.parse_args()
    Handler.upstream = a.upstream
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
