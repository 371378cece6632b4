FROM alpine:3.19
COPY --from nginx:1.25 / /
