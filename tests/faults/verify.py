#!/usr/bin/python3
"""verify.py - after a cycle (crashed and restarted, or not), checks what
the fault-injection tests promise, and prints one line per broken promise:

  - the state database passes PRAGMA integrity_check;
  - every expected job exists once and succeeded (no job failed, none is
    left queued or running);
  - the outbox is drained: every message sent, none dead or pending;
  - every expected notification reached the sink at least once, and all
    its deliveries carry one delivery key and one event id;
  - each repository has one pinned branch with one commit on it.

Usage: verify.py DB SINK_LOG GIT_DIR BASE DIGEST IMAGE=REPO...
Exit status 0 when everything holds, 1 otherwise.
"""
import json
import sqlite3
import subprocess
import sys


def main():
    db, sink, gitdir, base, digest = sys.argv[1:6]
    images = dict(a.split("=", 1) for a in sys.argv[6:])
    problems = []

    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    res = [r[0] for r in con.execute("PRAGMA integrity_check")]
    if res != ["ok"]:
        problems.append("integrity_check: %s" % "; ".join(res[:3]))

    jobs = con.execute(
        "SELECT image, action, base_digest, state, attempts FROM jobs"
    ).fetchall()
    want = {(img, act) for img in images for act in ("pr", "notify")}
    seen = {}
    for img, act, dg, state, attempts in jobs:
        if dg != digest:
            problems.append("job %s %s for another digest %s" % (act, img, dg))
            continue
        seen.setdefault((img, act), []).append(state)
    for k in sorted(want):
        states = seen.get(k, [])
        if states != ["succeeded"]:
            problems.append("job %s %s: %s" % (k[1], k[0], states or "missing"))
    for k in sorted(set(seen) - want):
        problems.append("unexpected job %s %s" % (k[1], k[0]))

    left = con.execute(
        "SELECT state, count(*) FROM outbox WHERE state != 'sent' GROUP BY state"
    ).fetchall()
    if left:
        problems.append("outbox not drained: %s" % dict(left))
    con.close()

    # Each notification: the base's, and one per image (the notify jobs).
    deliveries = {}
    try:
        lines = open(sink).read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        key, _, body = line.partition(" ")
        try:
            ev = json.loads(body)
        except ValueError:
            problems.append("sink: a line that is not an event: %r" % line[:80])
            continue
        if ev.get("type") != "base.updated":
            continue
        who = ev.get("image") or ev.get("base")
        deliveries.setdefault(who, []).append((key, ev.get("id")))
    for who in [base] + sorted(images):
        got = deliveries.get(who, [])
        if not got:
            problems.append("notification for %s never delivered" % who)
        keys = {k for k, _ in got}
        ids = {i for _, i in got}
        if len(keys) > 1 or len(ids) > 1:
            problems.append(
                "notification for %s delivered under %d keys and %d ids"
                % (who, len(keys), len(ids))
            )
    for who in sorted(set(deliveries) - set(images) - {base}):
        problems.append("unexpected notification for %s" % who)

    for img, repo in sorted(images.items()):
        git = ["git", "--git-dir", "%s/%s.git" % (gitdir, repo)]
        refs = subprocess.run(
            git + ["for-each-ref", "--format=%(refname)", "refs/heads/strata/"],
            capture_output=True, text=True,
        ).stdout.split()
        if len(refs) != 1:
            problems.append("%s: pinned branches %s" % (repo, refs))
            continue
        n = subprocess.run(
            git + ["rev-list", "--count", "main.." + refs[0]],
            capture_output=True, text=True,
        ).stdout.strip()
        if n != "1":
            problems.append("%s: %s commits on %s" % (repo, n, refs[0]))

    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
