FROM golang:1.22 AS alpine
FROM alpine
COPY --from=alpine /go/bin /bin
