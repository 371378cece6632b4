FROM golang:1.22
RUN go build -o /app .
FROM gcr.io/distroless/static-debian12
COPY --from=0 /app /app
