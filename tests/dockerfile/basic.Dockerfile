# syntax=docker/dockerfile:1.7
# check=skip=JSONArgsRecommended
ARG BASE=debian:12-slim
ARG REG="ghcr.io/acme"
ARG TOOL=${REG}/tool:1.2

FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder
ARG BASE=evil:1
RUN --mount=type=cache,target=/root/.cache \
    --mount=type=bind,from=alpine:3.19,source=/etc,target=/x \
    go build ./...

FROM $TOOL AS tool
COPY --from=builder /out /out

from ${BASE} as runtime
COPY --from=0 /a /a
COPY --from=BUILDER /b /b
COPY --from=quay.io/prom/node-exporter:v1.8.0 /bin/ne /ne
RUN --mount=from=tool,target=/t true
FROM scratch
COPY --from=runtime / /
