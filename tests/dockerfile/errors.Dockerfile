ARG V=1
RUN echo before any stage
FROM Bad:Ref AS one
FORM alpine
FROM alpine:3.19 AS two
COPY --from=$V /a /b
COPY --from=7 /a /b
RUN --mount=type=bind,from=nginx:1.25,target=/n true
FROM ${V/1/2}
FROM one two three
FROM debian:12
