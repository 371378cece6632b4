FROM alpine:3.19
RUN --mount=from=golang:1.22,target=/go true
RUN --mount=type=cache,from=cache.example.com/seed:1,target=/root/.cache true
