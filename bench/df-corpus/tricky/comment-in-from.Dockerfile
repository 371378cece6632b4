FROM \
# the base
    debian:12 AS base
FROM base
