ARG V=12
ARG BASE=debian:${V}-slim
FROM ${BASE}
