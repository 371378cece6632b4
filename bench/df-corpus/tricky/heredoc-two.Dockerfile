FROM alpine:3.19
COPY <<A <<B /etc/
FROM evil.example.com/decoy/c:1
A
FROM evil.example.com/decoy/d:1
B
FROM busybox:1.36
