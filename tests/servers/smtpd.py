#!/usr/bin/python3
"""smtpd.py - a real SMTP server (aiosmtpd) for tests/test-notify.c.

Usage: smtpd.py DIR. Listens on 127.0.0.1 on a free port, prints the port
once it accepts connections, and saves every message it receives as
DIR/N.eml plus DIR/N.json, a summary made with Python's email parser:
{"mail_from", "rcpt_tos", "headers": {name: value} (decoded), "date_ok",
"content_type", "parts": [content types of the leaves], "alternative"
(the types inside the multipart/alternative), "text", "html"}.
Recipients starting with "nobody@" are refused with 550 (a permanent
failure).
"""
import email
import email.policy
import email.utils
import json
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.content)
        msg = email.message_from_bytes(envelope.content,
                                       policy=email.policy.default)
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k: str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "parts": [p.get_content_type() for p in msg.walk()
                      if not p.is_multipart()],
            "alternative": [],
            "text": None,
            "html": None,
            "date_ok": False,
        }
        try:
            email.utils.parsedate_to_datetime(msg["Date"])
            summary["date_ok"] = True
        except (TypeError, ValueError):
            pass
        for part in msg.walk():
            if part.get_content_type() == "multipart/alternative":
                summary["alternative"] = [p.get_content_type()
                                          for p in part.iter_parts()]
            elif part.get_content_type() == "text/plain":
                summary["text"] = part.get_content()
            elif part.get_content_type() == "text/html":
                summary["html"] = part.get_content()
        tmp = base + ".json.tmp"
        with open(tmp, "w") as f:
            json.dump(summary, f)
        os.rename(tmp, base + ".json")
        return "250 Message accepted for delivery"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    handler = Handler(sys.argv[1])
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
