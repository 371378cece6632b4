#!/usr/bin/python3
"""receiver.py - the loopback webhook receiver tests/test-notify.c posts to.

Listens on 127.0.0.1 on an ephemeral port, prints the port on stdout once
it accepts connections, and serves until killed. Every POST is checked
against the documented shape of the provider its path names and recorded:

  /slack/...     Slack incoming webhook: "text" fallback, Block Kit blocks
                 (header plain_text <= 150, section text <= 3000 or
                 fields <= 10 of <= 2000, context elements <= 10, <= 50
                 blocks); answers 200 "ok" like Slack
  /teams/...     Teams webhook / Workflow: {"type": "message",
                 "attachments": [{"contentType":
                 "application/vnd.microsoft.card.adaptive", "content":
                 AdaptiveCard}]}; answers 202 like a Workflow
  /discord/...   Discord execute webhook: content <= 2000, embeds <= 10
                 (title 256, description 4096, fields 25 of 256/1024,
                 6000 in all); answers 204
  /webhook/...   strata's generic webhook: a JSON object with "type"; with
                 ?secret=S the X-Strata-Signature must be the HMAC-SHA256
                 of the raw body under S; answers 200

Every request must carry X-Strata-Delivery and Content-Type
application/json. An invalid request is answered 400 with the reason.

Failure scripts in the query string: ?fail=N&status=CODE answers the
first N requests to that exact URL with CODE (and Retry-After: R when
&retry_after=R is given) before behaving normally.

GET /_log returns every request seen so far as a JSON array of
{"path", "query", "headers" (lowercased names), "body", "valid", "error",
"status", "sig_ok"}.
"""
import hashlib
import hmac
import json
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOG = []
COUNTS = {}
LOCK = threading.Lock()


class Invalid(Exception):
    pass


def need(cond, why):
    if not cond:
        raise Invalid(why)


def is_str(v, maxlen=None, empty=False):
    return isinstance(v, str) and (empty or v != "") and \
        (maxlen is None or len(v) <= maxlen)


def check_slack(b):
    need(isinstance(b, dict), "slack: body is not an object")
    need(is_str(b.get("text")), "slack: no fallback 'text'")
    blocks = b.get("blocks")
    need(isinstance(blocks, list) and 1 <= len(blocks) <= 50,
         "slack: 'blocks' must be a list of 1..50")
    for blk in blocks:
        t = blk.get("type")
        need(t in ("header", "section", "context", "divider", "actions"),
             "slack: unknown block type %r" % t)
        if t == "header":
            txt = blk.get("text", {})
            need(txt.get("type") == "plain_text",
                 "slack: header text must be plain_text")
            need(is_str(txt.get("text"), 150), "slack: header text > 150")
        elif t == "section":
            txt, fields = blk.get("text"), blk.get("fields")
            need(txt is not None or fields is not None,
                 "slack: section without text or fields")
            if txt is not None:
                need(txt.get("type") in ("mrkdwn", "plain_text"),
                     "slack: bad section text type")
                need(is_str(txt.get("text"), 3000), "slack: section > 3000")
            if fields is not None:
                need(isinstance(fields, list) and 1 <= len(fields) <= 10,
                     "slack: 1..10 fields")
                for f in fields:
                    need(f.get("type") in ("mrkdwn", "plain_text") and
                         is_str(f.get("text"), 2000), "slack: bad field")
        elif t == "context":
            els = blk.get("elements")
            need(isinstance(els, list) and 1 <= len(els) <= 10,
                 "slack: context needs 1..10 elements")
            for e in els:
                need(e.get("type") in ("mrkdwn", "plain_text", "image"),
                     "slack: bad context element")


CARD_ELEMENTS = ("TextBlock", "FactSet", "ColumnSet", "Container", "Image",
                 "RichTextBlock", "ActionSet")


def check_teams(b):
    need(isinstance(b, dict) and b.get("type") == "message",
         "teams: type must be 'message'")
    atts = b.get("attachments")
    need(isinstance(atts, list) and len(atts) >= 1, "teams: no attachments")
    for a in atts:
        need(a.get("contentType") ==
             "application/vnd.microsoft.card.adaptive",
             "teams: wrong contentType")
        card = a.get("content")
        need(isinstance(card, dict) and card.get("type") == "AdaptiveCard",
             "teams: content is not an AdaptiveCard")
        need(is_str(card.get("version")), "teams: card without version")
        body = card.get("body")
        need(isinstance(body, list) and body, "teams: card without body")
        for el in body:
            need(el.get("type") in CARD_ELEMENTS,
                 "teams: unknown element %r" % el.get("type"))
            if el["type"] == "TextBlock":
                need(is_str(el.get("text")), "teams: TextBlock without text")
            if el["type"] == "FactSet":
                for f in el.get("facts", []):
                    need(is_str(f.get("title")) and is_str(f.get("value")),
                         "teams: bad fact")
        for act in card.get("actions", []):
            need(act.get("type") == "Action.OpenUrl" and
                 is_str(act.get("url")) and is_str(act.get("title")),
                 "teams: bad action")


def check_discord(b):
    need(isinstance(b, dict), "discord: body is not an object")
    content, embeds = b.get("content"), b.get("embeds")
    need(content is not None or embeds, "discord: no content and no embeds")
    if content is not None:
        need(is_str(content, 2000, True), "discord: content > 2000")
    total = 0
    if embeds is not None:
        need(isinstance(embeds, list) and len(embeds) <= 10,
             "discord: at most 10 embeds")
        for e in embeds:
            need(is_str(e.get("title", "x"), 256), "discord: title > 256")
            need(is_str(e.get("description", "x"), 4096),
                 "discord: description > 4096")
            total += len(e.get("title", "")) + len(e.get("description", ""))
            if "color" in e:
                need(isinstance(e["color"], int) and
                     0 <= e["color"] <= 0xFFFFFF, "discord: bad color")
            if "timestamp" in e:
                datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
            fields = e.get("fields", [])
            need(len(fields) <= 25, "discord: at most 25 fields")
            for f in fields:
                need(is_str(f.get("name"), 256) and
                     is_str(f.get("value"), 1024), "discord: bad field")
                need(isinstance(f.get("inline", False), bool),
                     "discord: inline must be a boolean")
                total += len(f["name"]) + len(f["value"])
            if "footer" in e:
                need(is_str(e["footer"].get("text"), 2048),
                     "discord: bad footer")
                total += len(e["footer"]["text"])
    need(total <= 6000, "discord: embeds over 6000 characters")


def check_webhook(b):
    need(isinstance(b, dict) and is_str(b.get("type")),
         "webhook: body is not an event")
    if b["type"] == "digest":
        need(isinstance(b.get("events"), list) and
             b.get("count") == len(b["events"]) and
             len(b.get("deliveries", [])) == len(b["events"]),
             "webhook: bad digest")
    else:
        need(is_str(b.get("id")) and is_str(b.get("time")),
             "webhook: event without id or time")


CHECKS = {"slack": check_slack, "teams": check_teams,
          "discord": check_discord, "webhook": check_webhook}
OK = {"slack": (200, b"ok"), "teams": (202, b""), "discord": (204, b""),
      "webhook": (200, b"{}")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def do_GET(self):
        if urlsplit(self.path).path == "/_log":
            with LOCK:
                data = json.dumps(LOG).encode()
            self.reply(200, data, [("Content-Type", "application/json")])
        else:
            self.reply(404, b"not found")

    def do_POST(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        kind = url.path.strip("/").split("/")[0]
        entry = {"path": url.path, "query": query, "headers": headers,
                 "body": None, "valid": False, "error": None,
                 "status": 0, "sig_ok": None}
        with LOCK:
            COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
            n = COUNTS[self.path]
        try:
            need(kind in CHECKS, "unknown path")
            need(headers.get("content-type", "").startswith(
                "application/json"), "not application/json")
            need(is_str(headers.get("x-strata-delivery")),
                 "no X-Strata-Delivery")
            body = json.loads(raw)
            entry["body"] = body
            CHECKS[kind](body)
            if "secret" in query:
                want = "sha256=" + hmac.new(query["secret"].encode(), raw,
                                            hashlib.sha256).hexdigest()
                got = headers.get("x-strata-signature", "")
                entry["sig_ok"] = hmac.compare_digest(want, got)
                need(entry["sig_ok"], "bad X-Strata-Signature")
            entry["valid"] = True
        except (Invalid, ValueError, AttributeError, TypeError) as e:
            entry["error"] = str(e)
        if not entry["valid"]:
            status, body, extra = 400, entry["error"].encode(), []
        elif n <= int(query.get("fail", 0)):
            status, body = int(query.get("status", 500)), b"scripted failure"
            extra = [("Retry-After", query["retry_after"])] \
                if "retry_after" in query else []
        else:
            (status, body), extra = OK[kind], []
        entry["status"] = status
        with LOCK:
            LOG.append(entry)
        self.reply(status, body, extra)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
