FROM alpine:3.19
# escape=`
RUN echo `
COPY --from=busybox:1.36 / /
