#!/usr/bin/python3
"""gitstall.py - a git remote that misbehaves on purpose: git's smart HTTP
protocol over the real `git http-backend` (run as a CGI per request), on
127.0.0.1 (ephemeral port, printed on the first line of stdout).

    gitstall.py ROOT [--auth USER:TOKEN]

Serves the repositories under ROOT. The first segment of the path says
how each request is answered, so one server holds healthy and hostile
remotes at once (http://127.0.0.1:PORT/MODE/app.git):

  ok          answered normally (fetch and push)
  private     as ok, but only with the Basic credentials of --auth
              (401 and WWW-Authenticate otherwise)
  hang        the request is read, and nothing is ever answered; the
              connection stays open until the client closes it
  drip[-S]    the normal answer, one byte every S seconds (default 5)
  stallpack   the ref advertisement normally; the upload-pack answer's
              headers and the first half of its body, then nothing

Every request is appended to ROOT/gitstall.log as "MODE METHOD PATH
AUTH", AUTH being "basic" when an Authorization header came, else "-".
Only the standard library; run with /usr/bin/python3.
"""
import base64
import http.server
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = sys.argv[1]
AUTH = None
if len(sys.argv) > 3 and sys.argv[2] == "--auth":
    AUTH = "Basic " + base64.b64encode(sys.argv[3].encode()).decode()
LOG_LOCK = threading.Lock()


def backend(handler, path, query, body):
    """Runs git http-backend for one request; (status, headers, body)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": ROOT,
        "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": ROOT,
        "REQUEST_METHOD": handler.command,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": "strata",  # enables receive-pack (push)
        "REMOTE_ADDR": "127.0.0.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if handler.headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = handler.headers["Content-Encoding"]
    if handler.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
    out = subprocess.run(["git", "http-backend"], input=body, env=env,
                         stdout=subprocess.PIPE, check=False).stdout
    head, sep, rest = out.partition(b"\r\n\r\n")
    if not sep:
        head, _, rest = out.partition(b"\n\n")
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        k, _, v = line.partition(":")
        if k.lower() == "status":
            status = int(v.strip().split()[0])
        elif k:
            headers.append((k, v.strip()))
    return status, headers, rest


def raw_response(status, headers, body):
    """The bytes of a whole HTTP/1.1 response."""
    lines = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def record(self, mode):
        auth = "basic" if self.headers.get("Authorization") else "-"
        with LOG_LOCK:
            with open(os.path.join(ROOT, "gitstall.log"), "a") as f:
                f.write(f"{mode} {self.command} {self.path} {auth}\n")

    def wait_for_close(self):
        """Holds the connection, answering nothing, until the peer goes."""
        self.close_connection = True
        try:
            while self.connection.recv(65536):
                pass
        except OSError:
            pass

    def handle_git(self):
        body = self.read_body()
        _, mode, rest = self.path.split("/", 2) if self.path.count("/") >= 2 \
            else ("", "", "")
        path, _, query = ("/" + rest).partition("?")
        name, _, arg = mode.partition("-")
        self.record(mode)
        if name == "hang":
            return self.wait_for_close()
        if name == "private" and self.headers.get("Authorization") != AUTH:
            msg = b"authentication required\n"
            self.send_response(401)
            # libgit2 1.5 cannot skip a 401 body without a Content-Type.
            self.send_header("Content-Type", "text/plain")
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return None
        if name not in ("ok", "private", "drip", "stallpack"):
            self.send_error(404, "unknown mode")
            return None
        status, headers, out = backend(self, path, query, body)
        data = raw_response(status, headers, out)
        self.close_connection = True
        try:
            if name == "drip":
                every = float(arg) if arg else 5.0
                for i in range(len(data)):
                    self.connection.sendall(data[i:i + 1])
                    time.sleep(every)
                return None
            if name == "stallpack" and path.endswith("/git-upload-pack"):
                cut = len(data) - len(out) // 2
                self.connection.sendall(data[:cut])
                return self.wait_for_close()
            self.connection.sendall(data)
        except OSError:
            pass
        return None

    do_GET = handle_git
    do_POST = handle_git


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
