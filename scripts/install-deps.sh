#!/usr/bin/env bash
# Installs what strata needs to build, test and run its demo on Debian 12.
# Idempotent; needs root (or sudo). Set STRATA_SKIP_APT=1 to skip.
set -euo pipefail

[ "${STRATA_SKIP_APT:-0}" = 1 ] && exit 0

pkgs=(
  # build
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  clang-format
  # libraries
  libuv1-dev libcurl4-openssl-dev libjansson-dev libyaml-dev libgit2-dev
  libsqlite3-dev libssl-dev zlib1g-dev libh2o-dev
  libarchive-dev  # packages/: layers streamed (gzip, zstd, tar)
  libpcre2-dev  # references.matchers: user-defined regular expressions
  zstd  # tests/test-packages.c packs zstd layers
  tzdata  # schedule windows read time zones from /usr/share/zoneinfo
  # real services and peers the tests start on loopback
  docker-registry git apache2-utils skopeo buildah python3 python3-jwt
  python3-cryptography python3-aiosmtpd sqlite3 curl ca-certificates
  openssl  # keys and signatures in tests/e2e (sign.sh, webhook-formats.sh)
  wrk  # bounded load in tests/test-api.c
  chromium  # renders the HTML report (tests/report/browser.sh), runs the dashboard (tests/dashboard/)
  # the man pages rendered and the completions run in their shells
  # (tests/docs/check.sh)
  man-db groff-base bash-completion zsh fish
  systemd  # systemd-analyze verify and security (tests/deploy/systemd.sh)
  python3-yaml python3-jsonschema  # tests/deploy/kubernetes.py, k8s.py roles
  rpm  # rpmbuild and rpm --justdb make a real rpmdb (tests/test-packages.c)
  buildah mmdebstrap  # the Containerfile, from a Debian base made here
  dpkg-dev debhelper lintian  # debian/ (tests/deploy/debian.sh)
)
# node and npm run sigstore-js, the independent producer of the bundles
# tests/test-verify-sigstore-js.c verifies (node >= 18.17); a node from
# elsewhere with its own npm (NodeSource) is kept as it is.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package starts a registry service on :5000; strata's tests
# start their own on free ports, so stop it when systemd is present.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q docker-registry 2>/dev/null; then
  $SUDO systemctl stop docker-registry || true
fi
