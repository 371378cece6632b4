FROM alpine:3.19
RUN <<-"EOF" sh
	FROM evil.example.com/decoy/e:1
	EOF
COPY --from=busybox:1.36 / /
