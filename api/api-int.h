/*
 * api-int.h - what the files of api/ share and nobody else sees.
 */
#ifndef STRATA_API_INT_H
#define STRATA_API_INT_H

#include "api.h"

/* Shared by the api-*.c files only. */
struct st_h2o_req_t;
const strata_api_options *strata_api__opts(const strata_api *api);
strata_api_req **strata_api__pending(strata_api *api);
void strata_api__finished(strata_api *api, const char *method, const char *path,
                          int status, double seconds);
strata_api_req *strata_api__req_new(strata_api *api, struct st_h2o_req_t *hreq);
void strata_api__req_set_rest(strata_api_req *req, size_t prefix_len);
void strata_api__req_done(strata_api_req *req);
void strata_api__req_cancel_all(strata_api *api);
/*
 * Marks req answered (by a stream) and releases it like a respond call
 * would; returns its h2o request, or NULL when the client has gone or the
 * server is closing. *api_out is the server (NULL once closed).
 */
struct st_h2o_req_t *strata_api__req_take(strata_api **api_out,
                                          strata_api_req *req);
/* stream.c: the server's open streams, and ending them all at close. */
strata_api_stream **strata_api__streams(strata_api *api);
void strata_api__stream_close_all(strata_api *api);
/* Dispatches req; authorized says whether it passed the API token check
 * (or needed none). Routes with own_auth are served either way. */
void strata_api__route(strata_api *api, strata_api_req *req, int authorized);

#endif
