#!/usr/bin/env bash
# mkrpm.sh DIR - a real rpm sqlite database for tests/test-packages.c:
# three tiny packages built with rpmbuild (one with an epoch, one for
# x86_64, one noarch) installed with `rpm -i --justdb` into a fresh
# database, packed as a layer (DIR/rpm-1.tar.gz, at
# usr/lib/sysimage/rpm/rpmdb.sqlite, with a Fedora-like os-release), and
# what `rpm -qa` says of it in DIR/rpm-expected.txt
# ("name<TAB>[epoch:]version-release<TAB>arch", sorted).
set -euo pipefail
d=$1
top=$d/rpmtop
mkdir -p "$top" "$d/rpmdb"
mk() { # name epoch version release arch
  {
    echo "Name: $1"
    [ -n "$2" ] && echo "Epoch: $2"
    echo "Version: $3"
    echo "Release: $4"
    echo "Summary: strata test package $1"
    echo "License: MIT"
    echo "BuildArch: $5"
    printf '%%description\ntest\n%%files\n'
  } >"$d/$1.spec"
  rpmbuild -bb --define "_topdir $top" "$d/$1.spec" >"$d/$1.log" 2>&1
}
mk strata-hello 1 1.2.3 4.fc40 noarch
mk strata-lib "" 2.0~rc1 1.fc40 x86_64
mk strata-tools "" 10.4 0.1.fc40 noarch
rpm --initdb --dbpath "$d/rpmdb"
rpm -i --justdb --nodeps --ignorearch --dbpath "$d/rpmdb" \
  "$top"/RPMS/*/*.rpm 2>/dev/null
rpm -qa --dbpath "$d/rpmdb" \
  --qf '%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\n' |
  LC_ALL=C sort >"$d/rpm-expected.txt"
/usr/bin/python3 - "$d" <<'PY'
import gzip, io, os, sys, tarfile
d = sys.argv[1]
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    t.add(os.path.join(d, "rpmdb", "rpmdb.sqlite"),
          "usr/lib/sysimage/rpm/rpmdb.sqlite")
    osr = b'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n' \
          b'PRETTY_NAME="Fedora Linux 40 (Container Image)"\n'
    ti = tarfile.TarInfo("etc/os-release")
    ti.size = len(osr)
    t.addfile(ti, io.BytesIO(osr))
with open(os.path.join(d, "rpm-1.tar.gz"), "wb") as f:
    f.write(gzip.compress(raw.getvalue(), mtime=0))
PY
