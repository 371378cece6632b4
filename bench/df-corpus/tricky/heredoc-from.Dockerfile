# syntax=docker/dockerfile:1
FROM alpine:3.19
RUN <<EOF
FROM evil.example.com/decoy/a:1
COPY --from=evil.example.com/decoy/b:1 / /
EOF
FROM debian:12
