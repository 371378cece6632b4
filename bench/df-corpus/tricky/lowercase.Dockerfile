from golang:1.22 As build
from scratch
copy --from=build /app /app
copy --from=busybox:1.36 /bin/busybox /bin/
