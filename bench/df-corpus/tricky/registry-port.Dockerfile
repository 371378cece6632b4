FROM localhost:5000/team/app:1 AS a
FROM 127.0.0.1:5000/base
