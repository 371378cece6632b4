# a comment first
# escape=`
FROM alpine:3.19 AS a
RUN echo `
COPY --from=busybox:1.36 / /
