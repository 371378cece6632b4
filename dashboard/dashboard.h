/*
 * dashboard.h - the live dashboard the daemon serves at /: one page
 * (index.html, app.js, app.css under dashboard/assets/) compiled into the
 * binary by embed.py, so it needs no files at run time and nothing from
 * the network. The assets hold no data: the page reads the JSON API and
 * the event stream (/api/v1/stream) with the API's own rules.
 */
#ifndef STRATA_DASHBOARD_H
#define STRATA_DASHBOARD_H

#include <stddef.h>

#include "api.h"

typedef struct strata_dashboard_asset {
    const char *path;         /* "/", "/dashboard/app.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} strata_dashboard_asset;

/* The asset served at path, or NULL. Borrowed, static. */
const strata_dashboard_asset *strata_dashboard_find(const char *path);

/*
 * A route handler (arg unused) for GET / and GET /dashboard/...: answers
 * the asset at the request's path, or 404. The answer carries no data,
 * so the route may be served without the API token (own_auth).
 */
void strata_dashboard_serve(strata_api_req *req, void *arg);

#endif
