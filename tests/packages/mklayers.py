#!/usr/bin/python3
"""mklayers.py - the layers tests/test-packages.c reads: real tar streams
(PAX, as image builders write them) compressed with gzip, zstd or not at
all, for the OCI layer semantics and for bad input.

  mklayers.py DIR

writes into DIR:
  edge-1.tar.gz   a dpkg status (a 1.0, b 1.0), status.d/ with a file named
                  past tar's 100 characters (PAX) and one more, os-release
                  at usr/lib with etc/os-release a symbolic link to it
  edge-2.tar.zst  a new status (a 2.0, b 1.0, c 1.0: last writer wins) and
                  a whiteout of the long-named status.d file
  edge-3.tar      an opaque status.d/ with one new file (d 1.0), and
                  etc/os-release replaced by a file that usr/lib/os-release
                  hard-links to
  gone-1.tar.gz   a status and os-release
  gone-2.tar.gz   a whiteout of var/lib/dpkg (the database is gone)
  truncated.tar.gz, corrupt.tar.zst, huge.tar (a header declaring 1 TiB),
  bigstatus.tar (a status declaring 65 MiB), malformed.tar.gz (a status
  whose line 3 is no field), badlink.tar (status hard-linked to a file
  that is no package database)
  alpine-1.tar.gz an apk installed database and Alpine's os-release
  rpm.tar         a Berkeley DB rpm database (not supported)
  many.tar.gz     10001 files in var/lib/dpkg/status.d/
Only the standard library and the zstd command; run with /usr/bin/python3.
"""
import gzip
import io
import os
import subprocess
import sys
import tarfile

MTIME = 1700000000
LONG = "var/lib/dpkg/status.d/" + "x" * 120 + "-long-name"


def stanza(name, version, arch="amd64", status="install ok installed",
           extra=""):
    return ("Package: %s\nStatus: %s\nPriority: optional\nArchitecture: %s\n"
            "Version: %s\n%sDescription: %s\n multi-line description\n .\n"
            " more\n\n" % (name, status, arch, version, extra, name))


def tar(entries):
    """entries: (name, content | ("link", target) | ("sym", target) |
    ("dir",)) -> PAX tar bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, what in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.mode = 0o644
            if isinstance(what, tuple) and what[0] == "link":
                ti.type = tarfile.LNKTYPE
                ti.linkname = what[1]
                t.addfile(ti)
            elif isinstance(what, tuple) and what[0] == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = what[1]
                t.addfile(ti)
            elif isinstance(what, tuple) and what[0] == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                data = what.encode()
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return raw.getvalue()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def main():
    d = sys.argv[1]
    osr = 'PRETTY_NAME="Test Linux 1 (one)"\nID=testlinux\nVERSION_ID="1"\n'
    write(os.path.join(d, "edge-1.tar.gz"), gzip.compress(tar([
        ("./var/", ("dir",)),
        ("./var/lib/dpkg/status",
         stanza("a", "1.0") + stanza("b", "1.0") +
         stanza("gone", "1.0", status="deinstall ok config-files")),
        ("./var/lib/dpkg/status.d/e", stanza("e", "1.0")),
        ("./var/lib/dpkg/status.d/e.md5sums", "not a stanza\n"),
        ("./" + LONG, stanza("longname", "1.0")),
        ("./usr/lib/os-release", osr),
        ("./etc/os-release", ("sym", "../usr/lib/os-release")),
        ("./opt/var/lib/dpkg/status", "not the database\n"),
    ]), mtime=0))
    write(os.path.join(d, "edge-2.tar.zst"), zstd(tar([
        ("var/lib/dpkg/status",
         stanza("a", "2.0") + stanza("b", "1.0") + stanza("c", "1.0")),
        (os.path.dirname(LONG) + "/.wh." + os.path.basename(LONG), ""),
    ])))
    write(os.path.join(d, "edge-3.tar"), tar([
        ("var/lib/dpkg/status.d/", ("dir",)),
        ("var/lib/dpkg/status.d/.wh..wh..opq", ""),
        ("var/lib/dpkg/status.d/d", stanza("d", "1.0", arch="all")),
        ("etc/os-release",
         'PRETTY_NAME="Test Linux 2 (two)"\nID=testlinux\nVERSION_ID=2\n'),
        ("usr/lib/os-release", ("link", "etc/os-release")),
    ]))
    write(os.path.join(d, "gone-1.tar.gz"), gzip.compress(tar([
        ("var/lib/dpkg/status", stanza("a", "1.0")),
        ("etc/os-release", osr),
    ]), mtime=0))
    write(os.path.join(d, "gone-2.tar.gz"), gzip.compress(tar([
        ("var/lib/.wh.dpkg", ""),
    ]), mtime=0))
    good = gzip.compress(tar([
        ("var/lib/dpkg/status", stanza("a", "1.0") * 2000),
    ]), mtime=0)
    write(os.path.join(d, "truncated.tar.gz"), good[:len(good) // 2])
    z = bytearray(zstd(tar([
        ("var/lib/dpkg/status", stanza("a", "1.0") * 2000),
    ])))
    for i in range(len(z) // 2, len(z) // 2 + 64):
        z[i] ^= 0x5a
    write(os.path.join(d, "corrupt.tar.zst"), bytes(z))
    # A header that declares 1 TiB, followed by a few bytes and no more.
    ti = tarfile.TarInfo("usr/share/bomb")
    ti.size = 1 << 40
    ti.mtime = MTIME
    write(os.path.join(d, "huge.tar"),
          ti.tobuf(tarfile.PAX_FORMAT) + b"x" * 4096)
    ti = tarfile.TarInfo("var/lib/dpkg/status")
    ti.size = 65 << 20
    ti.mtime = MTIME
    write(os.path.join(d, "bigstatus.tar"),
          ti.tobuf(tarfile.PAX_FORMAT) + b"x" * 4096)
    write(os.path.join(d, "malformed.tar.gz"), gzip.compress(tar([
        ("var/lib/dpkg/status",
         "Package: a\nStatus: install ok installed\ngarbage line\n"),
    ]), mtime=0))
    # Alpine: lib/apk/db/installed as apk writes it (files and checksums
    # between the fields), os-release a link as in alpine:3.19.
    apk = ("C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:383152\n"
           "I:622592\nT:the musl c library\nU:https://musl.libc.org/\n"
           "L:MIT\no:musl\nm:Maintainer <m@example.org>\nt:1700000000\n"
           "c:abc\nF:lib\nR:libc.musl-x86_64.so.1\na:0:0:777\n"
           "Z:Q1xyz=\n\n"
           "C:Q1def=\nP:busybox\nV:1.36.1-r15\nA:x86_64\no:busybox\n"
           "D:so:libc.musl-x86_64.so.1\n\n"
           "P:alpine-baselayout-data\nV:3.4.3-r2\nA:x86_64\n"
           "o:alpine-baselayout\n")
    write(os.path.join(d, "alpine-1.tar.gz"), gzip.compress(tar([
        ("lib/apk/db/installed", apk),
        ("usr/lib/os-release",
         'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n'
         'PRETTY_NAME="Alpine Linux v3.19"\n'),
        ("etc/os-release", ("sym", "../usr/lib/os-release")),
    ]), mtime=0))
    # A tar bomb of another kind: 10001 status.d files.
    write(os.path.join(d, "many.tar.gz"), gzip.compress(tar([
        ("var/lib/dpkg/status.d/p%d" % i, "Package: p\n")
        for i in range(10001)]), mtime=0))
    write(os.path.join(d, "rpm.tar"), tar([
        ("var/lib/rpm/Packages", "berkeley db bytes"),
    ]))
    write(os.path.join(d, "badlink.tar"), tar([
        ("var/lib/dpkg/status-old", stanza("a", "1.0")),
        ("var/lib/dpkg/status", ("link", "var/lib/dpkg/status-old")),
    ]))


if __name__ == "__main__":
    main()
