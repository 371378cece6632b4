/*
 * serve.c - answers GET / and GET /dashboard/... from the table that
 * embed.py compiled from dashboard/assets/. The pages are the same for
 * everyone and hold no data, so they are served without the API token
 * (a browser cannot send a header when it loads a page); what the page
 * then reads goes through the API's token check like any client's. The
 * server adds the Content-Security-Policy and nosniff headers to every
 * answer (api/server.c).
 */
#include <string.h>

#include "dashboard-int.h"

const strata_dashboard_asset *
strata_dashboard_find(const char *path)
{
    const strata_dashboard_asset *a;

    for (a = strata_dashboard__assets; a->path != NULL; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

void
strata_dashboard_serve(strata_api_req *req, void *arg)
{
    const char *path = strata_api_req_path(req);
    const strata_dashboard_asset *a = strata_dashboard_find(path);

    (void) arg;
    if (a == NULL) {
        strata_api_respond_error(req, 404, "no such path '%s'", path);
        return;
    }
    /* Always revalidated: a new strata binary brings new assets. */
    strata_api_req_add_header(req, "cache-control", "no-cache");
    strata_api_respond(req, 200, a->content_type, a->data, a->len);
}
