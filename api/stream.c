/*
 * stream.c - responses written bit by bit (Server-Sent Events), on h2o's
 * generator interface.
 *
 * h2o sends one piece of a body at a time: after h2o_send() the bytes
 * handed over must stay put until h2o calls the generator's proceed
 * callback, and only then may the next h2o_send() follow. So a stream
 * keeps two buffers: "sending", what h2o holds, and "queued", what
 * strata_api_stream_write() added since. proceed drops "sending" and
 * hands "queued" over, if any. The queue is capped (max_backlog): a client
 * that does not read is dropped rather than let grow the daemon's memory.
 *
 * A client that goes away makes h2o call the generator's stop callback
 * (h2o_dispose_request); then nothing may be sent, the owner's close
 * callback runs and the stream is freed. A closing server ends every
 * stream with a final send, so that its connections can finish.
 */
#include <sys/socket.h>

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <h2o.h>

#include "api-int.h"

#define DEFAULT_BACKLOG (256 * 1024)

struct strata_api_stream {
    h2o_generator_t gen; /* first: h2o hands it back to proceed and stop */
    strata_api *api;     /* NULL once off the server's list */
    h2o_req_t *hreq;     /* NULL once h2o has dropped the request */
    strata_buf sending, queued;
    size_t max_backlog;
    int in_flight;  /* h2o holds "sending" until proceed */
    int ending;     /* the owner is done: final send when idle */
    int overflowed; /* a write passed max_backlog: the client is too slow */
    strata_api_stream_close_cb cb;
    void *arg;
    strata_api_stream *prev, *next;
};

static void
unlink_stream(strata_api_stream *s)
{
    strata_api_stream **head;

    if (s->api == NULL)
        return;
    head = strata_api__streams(s->api);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else if (*head == s)
        *head = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    s->api = NULL;
}

static void
stream_free(strata_api_stream *s)
{
    unlink_stream(s);
    strata_buf_release(&s->sending);
    strata_buf_release(&s->queued);
    free(s);
}

/* Hands the queue to h2o, or ends the body when the owner is done. */
static void
flush(strata_api_stream *s)
{
    h2o_iovec_t buf;
    h2o_req_t *h = s->hreq;
    strata_buf t;

    if (s->in_flight || h == NULL)
        return;
    if (s->queued.len == 0 && !s->ending)
        return;
    t = s->sending;
    s->sending = s->queued;
    s->queued = t;
    strata_buf_reset(&s->queued);
    buf = h2o_iovec_init(s->sending.len ? s->sending.ptr : "", s->sending.len);
    if (s->ending && s->queued.len == 0) {
        /* The last send: h2o forgets the generator, so proceed and stop
         * never come; what h2o still writes lives in "sending", which is
         * copied to the request's pool first. */
        h2o_iovec_t copy = h2o_strdup(&h->pool, buf.base, buf.len);
        s->hreq = NULL;
        stream_free(s);
        h2o_send(h, &copy, copy.len ? 1 : 0, H2O_SEND_STATE_FINAL);
        return;
    }
    s->in_flight = 1; /* before: h2o may call proceed inside h2o_send */
    h2o_send(h, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* The connection's socket, or -1 (HTTP/2 shares one among streams, and
 * h2o reads it all along). */
static int
conn_fd(const strata_api_stream *s)
{
    h2o_socket_t *sock;

    if (s->hreq == NULL || s->hreq->version >= 0x200 ||
        s->hreq->conn->callbacks->get_socket == NULL ||
        (sock = s->hreq->conn->callbacks->get_socket(s->hreq->conn)) == NULL)
        return -1;
    return h2o_socket_get_fd(sock);
}

static void
on_proceed(h2o_generator_t *gen, h2o_req_t *hreq)
{
    strata_api_stream *s = (strata_api_stream *) gen;

    s->in_flight = 0;
    strata_buf_reset(&s->sending);
    flush(s);
}

/* The client went away (or h2o gave up on it): nothing more is sent. */
static void
on_stop(h2o_generator_t *gen, h2o_req_t *hreq)
{
    strata_api_stream *s = (strata_api_stream *) gen;
    int ending = s->ending;

    s->hreq = NULL;
    s->ending = 1; /* the callback may not end it again */
    unlink_stream(s);
    if (!ending && s->cb != NULL)
        s->cb(s, s->arg);
    stream_free(s);
}

int
strata_api_stream_begin(strata_api_stream **out, strata_api_req *req,
                        const char *content_type, size_t max_backlog,
                        strata_api_stream_close_cb cb, void *arg,
                        strata_error *err)
{
    strata_api_stream *s, **head;
    strata_api *api = NULL;
    h2o_req_t *h;

    *out = NULL;
    h = strata_api__req_take(&api, req);
    if (h == NULL || api == NULL)
        return strata_error_set(err, STRATA_ECANCELED,
                                "the client has gone or the server is "
                                "closing");
    s = strata_xcalloc(1, sizeof(*s));
    s->gen.proceed = on_proceed;
    s->gen.stop = on_stop;
    s->api = api;
    s->hreq = h;
    s->max_backlog = max_backlog ? max_backlog : DEFAULT_BACKLOG;
    s->cb = cb;
    s->arg = arg;
    strata_buf_init(&s->sending);
    strata_buf_init(&s->queued);
    head = strata_api__streams(api);
    s->next = *head;
    if (*head != NULL)
        (*head)->prev = s;
    *head = s;

    h->res.status = 200;
    h->res.reason = "OK";
    h->res.content_length = SIZE_MAX;
    if (content_type != NULL) {
        h2o_iovec_t ct = h2o_strdup(&h->pool, content_type, SIZE_MAX);
        h2o_add_header(&h->pool, &h->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       ct.base, ct.len);
    }
    h2o_add_header(&h->pool, &h->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_start_response(h, &s->gen);
    *out = s;
    return 0;
}

int
strata_api_stream_write(strata_api_stream *s, const void *data, size_t len,
                        strata_error *err)
{
    assert(!s->ending);
    if (s->hreq == NULL)
        return strata_error_set(err, STRATA_ECANCELED, "the client has gone");
    if (s->queued.len + s->sending.len + len > s->max_backlog) {
        s->overflowed = 1;
        return strata_error_set(err, STRATA_ETOOBIG,
                                "the client is %zu bytes behind (limit %zu)",
                                s->queued.len + s->sending.len, s->max_backlog);
    }
    strata_buf_add(&s->queued, data, len);
    flush(s);
    return 0;
}

int
strata_api_stream_peer_closed(const strata_api_stream *s)
{
    ssize_t n;
    char c;
    int fd;

    if (s->hreq == NULL)
        return 1;
    if ((fd = conn_fd(s)) < 0)
        return 0;
    /* A peek takes nothing from h2o: a pipelined request stays queued. */
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 ||
           (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

size_t
strata_api_stream_backlog(const strata_api_stream *s)
{
    return s->queued.len + s->sending.len;
}

void
strata_api_stream_end(strata_api_stream *s)
{
    if (s == NULL)
        return;
    assert(!s->ending);
    s->ending = 1;
    if (s->hreq == NULL) {
        stream_free(s);
        return;
    }
    /*
     * A client too slow to take what h2o holds would keep the connection
     * (and the bytes) for as long as it likes: its socket is shut down,
     * so h2o's write fails and h2o closes the connection (then stop frees
     * s). Otherwise proceed sends the rest and the end.
     */
    if (s->overflowed && s->in_flight) {
        int fd = conn_fd(s);

        if (fd >= 0) {
            shutdown(fd, SHUT_RDWR);
            return;
        }
    }
    flush(s);
}

void
strata_api_stream_abort(strata_api_stream *s)
{
    if (s == NULL)
        return;
    s->overflowed = 1;
    if (s->hreq != NULL && !s->in_flight) {
        int fd = conn_fd(s);

        /* Nothing in flight: shut the socket; h2o's next read or the
         * final write fails and it closes the connection. */
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
    }
    strata_api_stream_end(s);
}

void
strata_api__stream_close_all(strata_api *api)
{
    strata_api_stream **head = strata_api__streams(api);
    int fd;

    while (*head != NULL) {
        strata_api_stream *s = *head;
        strata_api_stream_close_cb cb = s->cb;
        void *arg = s->arg;

        unlink_stream(s);
        /* The owner forgets s in its callback (unless it ended s itself
         * already, and forgot it then); the end is sent (or follows the
         * piece h2o holds) and s freed by flush/proceed. */
        s->cb = NULL;
        if (cb != NULL && !s->ending)
            cb(s, arg);
        s->ending = 1;
        if (s->hreq == NULL) {
            stream_free(s);
        } else if (s->in_flight && (fd = conn_fd(s)) >= 0) {
            /* A client that is not taking what h2o holds would keep the
             * connection, and the server from closing: cut it. */
            shutdown(fd, SHUT_RDWR);
        } else {
            flush(s);
        }
    }
}
