# escape=`
FROM `
  alpine:3.19
RUN dir c:\
COPY --from=nginx:1.25 c:\ c:\
