ARG BASE="debian:12-slim"
FROM ${BASE} AS a
FROM "alpine:3.19"
