FROM node:20 AS Build
FROM nginx:1.25
COPY --from=BUILD /app /usr/share/nginx/html
