# escape=\
ARG TAG=3.19
FROM alpine:${TAG} AS base
RUN echo a \  
    && echo b
FROM \
  # a comment inside the continuation

  busybox:1.36
COPY --from=base /x /y
