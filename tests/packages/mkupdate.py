#!/usr/bin/python3
"""mkupdate.py - two digests of a real Debian base for
tests/test-packages.c: the base's own root filesystem as layer 1, and a
second layer that installs a changed dpkg status over it (as an upgrade
would), with each status also written where `dpkg-query --admindir` can
read it.

  mkupdate.py BASE.TAR DIR

BASE.TAR is a root filesystem tar (mmdebstrap's); when it does not exist,
one is made from this machine's own /var/lib/dpkg/status and os-release.
Writes DIR/l1.tar.gz (BASE.TAR, gzip), DIR/l2.tar.zst (the new status and
a 256 KiB file), DIR/admin1/status and DIR/admin2/status, and prints as
JSON what changed: {"upgraded": [...], "downgraded": [...], "removed":
[...], "added": [...], "major": [...], "source": "mmdebstrap"|"host"}.
"""
import io
import json
import os
import random
import subprocess
import sys
import tarfile


def stanzas(text):
    return [s for s in text.split("\n\n") if s.strip()]


def field(s, name):
    for line in s.split("\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def set_field(s, name, value):
    out = []
    for line in s.split("\n"):
        if line.lower().startswith(name.lower() + ":"):
            line = "%s: %s" % (name, value)
        out.append(line)
    return "\n".join(out)


def host_base(path):
    """A root filesystem tar with this machine's dpkg database."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        t.add("/var/lib/dpkg/status", "var/lib/dpkg/status")
        t.add(os.path.realpath("/etc/os-release"), "usr/lib/os-release")
        ti = tarfile.TarInfo("etc/os-release")
        ti.type = tarfile.SYMTYPE
        ti.linkname = "../usr/lib/os-release"
        t.addfile(ti)


def main():
    base, d = sys.argv[1], sys.argv[2]
    source = "mmdebstrap"
    if not os.path.exists(base):
        source = "host"
        base = os.path.join(d, "host-base.tar")
        host_base(base)
    with tarfile.open(base) as t:
        m = None
        for name in ("./var/lib/dpkg/status", "var/lib/dpkg/status"):
            try:
                m = t.getmember(name)
                break
            except KeyError:
                pass
        old = t.extractfile(m).read().decode()
    with open(base, "rb") as f, open(os.path.join(d, "l1.tar.gz"),
                                     "wb") as g:
        subprocess.run(["gzip", "-n", "-6", "-c"], stdin=f, stdout=g,
                       check=True)
    st = stanzas(old)
    installed = [s for s in st
                 if field(s, "Status") == "install ok installed"]
    names = sorted(field(s, "Package") for s in installed)
    pick = [n for n in ("bash", "sed", "hostname") if n in names]
    others = [n for n in names if n not in pick and n != "libc6"]
    while len(pick) < 3:
        pick.append(others.pop(0))
    upg, down, rm = pick
    major = ["libc6"] if "libc6" in names else []
    changed = {"upgraded": [upg] + major, "downgraded": [down],
               "removed": [rm], "added": ["strata-test-pkg"],
               "major": major, "source": source}
    new = []
    for s in st:
        p = field(s, "Package")
        if p == upg:
            s = set_field(s, "Version", field(s, "Version") + "+strata1")
        elif p == "libc6":
            s = set_field(s, "Version", "3.0-1")
        elif p == down:
            s = set_field(s, "Version", "0.1-1")
        elif p == rm:
            continue
        new.append(s)
    new.append("Package: strata-test-pkg\nStatus: install ok installed\n"
               "Priority: optional\nMaintainer: strata <strata@example.org>\n"
               "Architecture: all\nVersion: 1.0-1\n"
               "Description: added by the update\n")
    newtext = "\n\n".join(new) + "\n"
    for sub, text in (("admin1", old), ("admin2", newtext)):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, sub, "status"), "w") as f:
            f.write(text)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = newtext.encode()
        ti = tarfile.TarInfo("var/lib/dpkg/status")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
        blob = random.Random(1).randbytes(256 * 1024)
        ti = tarfile.TarInfo("usr/share/strata-test/blob")
        ti.size = len(blob)
        t.addfile(ti, io.BytesIO(blob))
    with open(os.path.join(d, "l2.tar.zst"), "wb") as f:
        f.write(subprocess.run(["zstd", "-q", "-c"], input=raw.getvalue(),
                               check=True, stdout=subprocess.PIPE).stdout)
    print(json.dumps(changed))


if __name__ == "__main__":
    main()
