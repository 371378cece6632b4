#!/bin/sh
# seed.sh - makes the git repositories tests/test-vcs.c works on, with the
# real git CLI. Isolated from the user's and the system's git config.
#   seed.sh init DIR    DIR/src.git (bare, branch main) and DIR/work (a clone)
#                       with Dockerfiles at several depths, a Containerfile,
#                       build/app.Dockerfile, deploy/Dockerfile.prod, files
#                       that must not match, a 2 MiB Dockerfile, CRLF bytes,
#                       an executable and a symlink
#   seed.sh update DIR  a second commit on main: one Dockerfile modified,
#                       one added, one deleted, a non-matching file modified
set -eu
cmd=$1
dir=$2
export HOME="$dir" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Seed \
  GIT_AUTHOR_EMAIL=seed@example.com GIT_COMMITTER_NAME=Seed \
  GIT_COMMITTER_EMAIL=seed@example.com
g() { git -c core.autocrlf=false -c init.defaultBranch=main "$@"; }

case $cmd in
init)
  g init -q --bare "$dir/src.git"
  g init -q "$dir/work"
  cd "$dir/work"
  mkdir -p build services/api deploy docs big crlf scripts
  printf 'FROM debian:12-slim\nRUN true\n' >Dockerfile
  printf 'FROM docker.io/library/alpine:3.19\n' >Containerfile
  printf 'FROM golang:1.22 AS build\nFROM gcr.io/distroless/static\n' \
    >build/app.Dockerfile
  printf 'FROM python:3.12-slim\n' >services/api/Dockerfile
  printf 'FROM nginx:1.25\n' >deploy/Dockerfile.prod
  printf 'FROM not-a-dockerfile\n' >docs/dockerfile
  printf 'FROM nor-this\n' >docs/app.dockerfile
  printf '# readme\n' >README.md
  printf 'FROM debian:12\r\nRUN echo crlf\r\n' >crlf/Dockerfile
  printf '#!/bin/sh\necho hi\n' >scripts/run.sh
  chmod +x scripts/run.sh
  ln -s Dockerfile Dockerfile.link
  { echo 'FROM busybox'; i=0; while [ $i -lt 32768 ]; do
      echo "# padding line $i ........................................"
      i=$((i + 1)); done; } >big/Dockerfile
  g add -A
  g commit -q -m "initial"
  g remote add origin "$dir/src.git"
  g push -q origin main
  ;;
update)
  cd "$dir/work"
  printf 'FROM python:3.13-slim\n' >services/api/Dockerfile
  mkdir -p new
  printf 'FROM rust:1.80\n' >new/Dockerfile
  g rm -q deploy/Dockerfile.prod
  printf '# readme, edited\n' >README.md
  g add -A
  g commit -q -m "update"
  g push -q origin main
  ;;
*)
  echo "usage: seed.sh init|update DIR" >&2
  exit 2
  ;;
esac
