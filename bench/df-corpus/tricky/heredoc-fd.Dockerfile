FROM alpine:3.19
RUN 3<<EOF cat /dev/fd/3
FROM evil.example.com/decoy/f:1
EOF
COPY --from=busybox:1.36 / /
