FROM \  
    alpine:3.19 AS a
COPY --from=busybox:1.36 \	
  / /
