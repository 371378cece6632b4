FROM ${NOPE:-alpine:3.19}
