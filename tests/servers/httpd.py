#!/usr/bin/python3
"""httpd.py - the loopback HTTP/1.1 server tests/test-http.c talks to.

Listens on 127.0.0.1 on an ephemeral port, prints the port on stdout once
it accepts connections, and serves until killed. Keep-alive is on
(HTTP/1.1 with Content-Length everywhere). Routes:

  /hello              200 "hello world", X-Test: yes
  /headers            200 with awkward headers (padding, empty, repeated)
  /redirect           302 -> /hello
  /loop               302 -> /loop, forever
  /slow?s=SECONDS     sleeps, then 200 "late"
  /big?n=BYTES        200 with n bytes of "x"
  /echo               200 "METHOD body", request headers echoed as X-Echo-*
  /conn               200 with the client's port (tells connections apart)
  anything else       404 "not found"

HEAD works on every route and sends no body.

With "--tls DIR" it serves HTTPS instead, with a fresh self-signed
certificate for IP 127.0.0.1 that it writes to DIR/cert.pem (made with the
openssl command line tool).
"""
import os
import ssl
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = url.path
        if path == "/hello":
            self.reply(200, b"hello world",
                       [("X-Test", "yes"), ("Content-Type", "text/plain")])
        elif path == "/headers":
            self.reply(200, b"ok", [("X-Mixed-Case", "  padded value  "),
                                    ("X-Empty", ""),
                                    ("X-Twice", "first"),
                                    ("X-Twice", "second")])
        elif path == "/redirect":
            self.reply(302, b"moved", [("Location", "/hello"),
                                       ("X-Hop", "1")])
        elif path == "/loop":
            self.reply(302, b"", [("Location", "/loop")])
        elif path == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
            self.reply(200, b"late")
        elif path == "/big":
            self.reply(200, b"x" * int(query["n"][0]))
        elif path == "/echo":
            echoed = [("X-Echo-" + k, v) for k, v in self.headers.items()]
            self.reply(200, self.command.encode() + b" " + body, echoed)
        elif path == "/conn":
            self.reply(200, str(self.client_address[1]).encode())
        else:
            self.reply(404, b"not found")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = route


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # 200 clients connect at once

    def handle_error(self, request, client_address):
        # Clients that give up (timeouts, size limits) are expected.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError,
                                              ConnectionResetError)):
            super().handle_error(request, client_address)


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 3 and sys.argv[1] == "--tls":
        cert, key = make_cert(sys.argv[2])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
