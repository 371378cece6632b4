FROM alpine:3.19 AS a
RUN <<EOF
FROM evil:1
COPY --from=evil:2 / /
EOF
RUN <<-EOT bash
	FROM evil:3
	EOT
COPY <<"ONE" <<'TWO' /dst/
FROM evil:4
ONE
FROM evil:5
TWO
RUN 3<<EOF cat /dev/fd/3
FROM evil:6
EOF
RUN ["echo", "<<EOF"]
RUN echo "<<NOTDOC"
ONBUILD RUN <<EOF
FROM evil:7
EOF
FROM busybox:1.36
