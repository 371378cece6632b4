#  ESCAPE = `
FROM alpine:3.19
RUN echo c:\
COPY --from=busybox:1.36 / /
