ARG X=alpine
FROM ${X}:3.19 AS base
ARG Y=busybox
FROM ${Y:-debian}:12 AS z
