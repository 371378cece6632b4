FROM index.docker.io/library/alpine:3.19 AS a
FROM docker.io/nginx
