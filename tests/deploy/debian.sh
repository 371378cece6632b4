#!/usr/bin/env bash
# debian.sh - TAP: debian/ builds a package with `dpkg-buildpackage -us
# -uc -b` from a copy of the source tree, lintian finds no error in it,
# it holds what it promises (the binary, every man page, the three
# completions, the systemd unit, the configuration as a conffile), and it
# installs with apt and dpkg into a fresh Debian 12 chroot made with
# mmdebstrap, where strata runs: --version, config check on the packaged
# configuration, and the daemon answering /healthz. Nothing is installed
# on this machine. Slow: suite 'package'.
# env: STRATA_EXE, E2E_SRC (the source root); DEBIAN_MIRROR (default
# http://deb.debian.org/debian).
. "$(dirname "$0")/../e2e/lib.sh"
need dpkg-buildpackage dh lintian mmdebstrap curl
[ "$(id -u)" = 0 ] || skip_all "needs root (mmdebstrap --mode=root, chroot)"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
tree=$work/strata-$version

# The tree as git has it, with what is new but not ignored; else all of
# it but the build directories.
mkdir -p "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        (cd "$src" && tar --null -T - -cf -) | tar -C "$tree" -xf -
else
    tar -C "$src" --exclude='./build*' -cf - . | tar -C "$tree" -xf -
fi
start=$(date +%s)
if (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b builds the package ($(($(date +%s) - start)) s)"
else
    tail -20 "$work/build.log" | sed 's/^/# /'
    nok "dpkg-buildpackage -us -uc -b builds the package"
    finish
fi
deb=$(ls "$work"/strata_"$version"_*.deb)
changes=$(ls "$work"/strata_"$version"_*.changes)

lintian --fail-on error "$changes" >"$work/lintian.log" 2>&1
rc=$?
sed 's/^/# lintian: /' "$work/lintian.log" | grep -v 'running with root'
is "$rc" 0 "lintian finds no error"

files=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
has() { printf '%s\n' "$files" | grep -qx "./$1"; }
missing=
ncmd=$("$strata" --help | sed -n '/^commands:/,/^$/p' | sed '1d;/^$/d' | wc -l)
for f in usr/bin/strata lib/systemd/system/strata.service etc/strata/strata.yaml \
    usr/share/man/man1/strata.1.gz usr/share/man/man5/strata.yaml.5.gz \
    usr/share/man/man5/strata-catalog.5.gz \
    usr/share/bash-completion/completions/strata \
    usr/share/zsh/vendor-completions/_strata \
    usr/share/fish/vendor_completions.d/strata.fish; do
    has "$f" || missing="$missing $f"
done
nman=$(printf '%s\n' "$files" | grep -c '^./usr/share/man/man1/strata-.*\.1\.gz$')
[ -z "$missing" ] && [ "$nman" = "$ncmd" ]
check "the package holds strata, the unit, the configuration, $nman command pages for $ncmd commands, strata(1), the two section 5 pages and three completions${missing:+ (missing:$missing)}" test $? = 0
dpkg-deb -e "$deb" "$work/control"
check "/etc/strata/strata.yaml is a conffile" grep -qx /etc/strata/strata.yaml "$work/control/conffiles"
deps=$(dpkg-deb -f "$deb" Depends)
case $deps in *libgit2*libh2o* | *libh2o*libgit2*) ok "Depends comes from the libraries strata links: $deps" ;;
*) nok "Depends comes from the libraries strata links" "got: $deps" ;; esac

# Installed into a fresh Debian 12 by apt (which resolves Depends from
# the mirror) and dpkg, inside the chroot.
if mmdebstrap --variant=minbase --mode=root --include=curl \
    --customize-hook="copy-in $deb /tmp" \
    --customize-hook="chroot \"\$1\" apt-get install -y --no-install-recommends /tmp/$(basename "$deb")" \
    --customize-hook='rm -f "$1"/tmp/*.deb' \
    bookworm "$work/chroot" "$mirror" >"$work/mmdebstrap.log" 2>&1; then
    ok "apt and dpkg install the package into a fresh Debian 12 chroot"
else
    tail -10 "$work/mmdebstrap.log" | sed 's/^/# /'
    nok "apt and dpkg install the package into a fresh Debian 12 chroot"
    finish
fi
ch() { chroot "$work/chroot" "$@"; }
is "$(ch strata --version)" "strata $version" "strata --version runs in the chroot"
is "$(ch dpkg-query -W -f '${Status}' strata)" "install ok installed" "dpkg has strata installed"
check "strata-pin(1) is installed in the chroot" ch test -f /usr/share/man/man1/strata-pin.1.gz
check "the packaged configuration passes config check" ch strata -c /etc/strata/strata.yaml config check

# The daemon on the packaged configuration (the unit's StateDirectory is
# made by hand: there is no systemd in a chroot), on a free port of this
# machine (a chroot shares its network).
hport=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ch mkdir -p /var/lib/strata
chroot "$work/chroot" strata -c /etc/strata/strata.yaml run --listen "127.0.0.1:$hport" \
    >"$work/daemon.log" 2>&1 &
dpid=$!
pids+=("$dpid")
if wait_until 20 curl -fsS -o /dev/null "http://127.0.0.1:$hport/healthz"; then
    ok "the installed daemon answers /healthz"
else
    nok "the installed daemon answers /healthz"
fi
kill -TERM "$dpid" 2>/dev/null
wait "$dpid"
is "$?" 0 "the installed daemon stops cleanly on SIGTERM"
finish
