FROM alpine:3.19 AS first
ARG LATE=debian:12
FROM ${LATE:-ubuntu:22.04}
