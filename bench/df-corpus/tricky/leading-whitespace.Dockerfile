  FROM alpine:3.19
	COPY --from=busybox:1.36 / /
