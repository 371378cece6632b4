FROM alpine:3.19
ONBUILD COPY --from=nginx:1.25 / /
