/*
 * op.c - the state machine every forge operation runs through. A
 * started operation (struct strata_forge__op) walks states (find, open,
 * update, label, review, comment, close); in each it asks the backend to
 * build one HTTP call, sends it through core's HTTP client, and on the
 * answer either moves on (op_step), waits and resends (5xx, network,
 * rate limits: its own uv timer), or finishes with an error mapped from
 * the status. op_set_state() is the one writer of the state and logs each
 * transition. Backends only build calls and parse replies.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

#define MAX_PAGES 50

typedef enum op_state {
    S_FIND,
    S_OPEN,
    S_UPDATE,
    S_LABEL,
    S_REVIEW,
    S_COMMENT,
    S_CLOSE,
    S_DONE,
} op_state;

static const char *const state_names[] = {
    "find", "open", "update", "label", "review", "comment", "close", "done",
};

typedef struct strata_forge__op op;

struct strata_forge__op {
    op *next;
    strata_forge *forge;
    strata_forge_req req; /* deep copy */
    strata_forge__opview view;
    op_state state;
    int raced; /* the forge said "exists" once; re-finding */
    strata_forge_pr pr;
    strata_forge_cb cb;
    void *arg;
    strata_forge__call call;
    char *url, *body;
    int attempt;
    int in_flight;
    int timer_active;
    uv_timer_t timer;
};

static void op_step(op *o);
static int op_send(op *o, strata_error *err);

static void
op_set_state(op *o, op_state s)
{
    log_debug("forge '%s' '%s': %s -> %s", o->forge->be->name, o->req.repo,
              state_names[o->state], state_names[s]);
    o->state = s;
}

static void
call_reset(strata_forge__call *c)
{
    free(c->path);
    json_decref(c->body);
    memset(c, 0, sizeof(*c));
}

static void
on_timer_close(uv_handle_t *h)
{
    free(h->data);
}

/* Frees what o holds; o itself goes once its timer has closed. */
static void
op_release(op *o)
{
    call_reset(&o->call);
    free(o->url);
    free(o->body);
    strata_forge__req_release(&o->req);
    strata_forge__pr_release(&o->pr);
    if (o->timer_active)
        uv_timer_stop(&o->timer);
    uv_close((uv_handle_t *) &o->timer, on_timer_close);
}

static void
op_unlink(op *o)
{
    op **pp;

    for (pp = &o->forge->ops; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == o) {
            *pp = o->next;
            return;
        }
    }
}

/* Calls the callback once, then releases o (after its timer closed). */
static void
op_finish(op *o, const strata_error *err)
{
    const strata_forge_pr *pr = NULL;

    op_unlink(o);
    if (err == NULL && !(o->req.verb == STRATA_FORGE_FIND && o->pr.number == 0))
        pr = &o->pr;
    if (err != NULL)
        log_debug("forge '%s' '%s': %s", o->forge->be->name, o->req.repo,
                  err->msg);
    o->cb(pr, err, o->arg);
    op_release(o);
}

static void op_fail(op *o, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
op_fail(op *o, int code, const char *fmt, ...)
{
    strata_error err = {0};
    va_list ap;

    va_start(ap, fmt);
    err.code = code;
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    op_finish(o, &err);
}

static void
on_retry_timer(uv_timer_t *t)
{
    op *o = t->data;

    strata_error err = {0};

    o->timer_active = 0;
    if (op_send(o, &err) != 0)
        op_finish(o, &err);
}

/* Waits delay_ms and sends the same call again, or fails when spent. */
static void
op_retry(op *o, uint64_t delay_ms, int code, const char *why)
{
    strata_forge *f = o->forge;

    if (o->attempt >= f->max_retries || delay_ms > f->max_retry_wait_ms) {
        if (code == STRATA_ERATELIMIT)
            op_fail(o, code, "%s rate limit for '%s' (%s)%s", f->be->name,
                    o->req.repo, why,
                    delay_ms > f->max_retry_wait_ms
                        ? ": lifts later than the longest wait"
                        : ": retries exhausted");
        else
            op_fail(o, code, "%s after %d attempts", why, o->attempt + 1);
        return;
    }
    o->attempt++;
    log_info("forge '%s': %s; retry %d in %llu ms", f->be->name, why,
             o->attempt, (unsigned long long) delay_ms);
    o->timer_active = 1;
    uv_timer_start(&o->timer, on_retry_timer, delay_ms, 0);
}

static uint64_t
backoff_ms(const op *o)
{
    return strata_backoff_ms(o->forge->retry_base_ms, (unsigned) o->attempt,
                             o->forge->max_retry_wait_ms);
}

static int
parse_u64(uint64_t *out, const char *s)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/*
 * The wait a rate-limit answer asks for: Retry-After seconds (GitHub's
 * secondary limits, GitLab, Gitea), else the reset time in epoch seconds
 * (GitHub x-ratelimit-reset, GitLab ratelimit-reset), else backoff.
 */
static uint64_t
rate_wait_ms(const op *o, const strata_http_response *resp)
{
    uint64_t s;
    int64_t now = strata_now_ms();
    const char *reset = strata_http_response_header(resp, "x-ratelimit-reset");

    if (strata_retry_after_ms(&s,
                              strata_http_response_header(resp, "retry-after"),
                              now, UINT64_MAX) == 0)
        return s; /* op_retry gives up on a wait over the limit */
    if (reset == NULL)
        reset = strata_http_response_header(resp, "ratelimit-reset");
    if (parse_u64(&s, reset) == 0)
        return (int64_t) s * 1000 > now ? (uint64_t) ((int64_t) s * 1000 - now)
                                        : 0;
    return backoff_ms(o);
}

static int
is_rate_limited(const strata_http_response *resp)
{
    const char *rem;

    if (resp->status == 429)
        return 1;
    if (resp->status != 403)
        return 0;
    rem = strata_http_response_header(resp, "x-ratelimit-remaining");
    return (rem != NULL && strcmp(rem, "0") == 0) ||
           strata_http_response_header(resp, "retry-after") != NULL;
}

/* The reply's JSON (new), or NULL when it is not JSON. */
static json_t *
reply_json(const strata_http_response *resp)
{
    if (resp->body.len == 0)
        return NULL;
    return json_loadb(resp->body.ptr, resp->body.len, JSON_DECODE_ANY, NULL);
}

static void on_response(const strata_http_response *resp,
                        const strata_error *terr, void *arg);

/* Sends the current call; on error nothing was started. */
static int
op_send(op *o, strata_error *err)
{
    strata_forge *f = o->forge;
    strata_http_header h[8];
    strata_http_request r = {0};
    size_t n = 0, i;
    int rc;

    if (f->closing)
        return strata_error_set(err, STRATA_ECANCELED, "forge client closed");
    if (f->auth != NULL)
        h[n++] = (strata_http_header){f->be->auth_header, f->auth};
    for (i = 0; i < f->be->nextra && n < 6; i++)
        h[n++] = f->be->extra[i];
    if (o->body != NULL)
        h[n++] = (strata_http_header){"Content-Type", "application/json"};
    h[n++] = (strata_http_header){"User-Agent", "strata/" STRATA_VERSION};
    r.method = o->call.method;
    r.url = o->url;
    r.headers = h;
    r.nheaders = n;
    r.body = o->body;
    r.body_len = o->body ? strlen(o->body) : 0;
    r.timeout_ms = f->timeout_ms;
    r.insecure = f->insecure;
    r.ca_file = f->ca_file;
    r.max_body = 16u << 20;
    rc = strata_http_send(f->http, &r, on_response, o, err);
    if (rc == 0)
        o->in_flight = 1;
    return rc;
}

/* Builds the call of the current state and sends it. */
static int
op_call(op *o, strata_error *err)
{
    const strata_forge_backend *be = o->forge->be;
    void (*build)(strata_forge__call *, const strata_forge__opview *) = NULL;

    call_reset(&o->call);
    free(o->url);
    free(o->body);
    o->body = NULL;
    o->attempt = 0;
    o->view.number = o->pr.number ? o->pr.number : o->req.number;
    switch (o->state) {
    case S_FIND:
        build = be->find;
        break;
    case S_OPEN:
        build = be->open;
        break;
    case S_UPDATE:
        build = be->update;
        break;
    case S_LABEL:
        build = be->label;
        break;
    case S_REVIEW:
        build = be->review;
        break;
    case S_COMMENT:
        build = be->comment;
        break;
    case S_CLOSE:
        build = be->close;
        break;
    case S_DONE:
        break;
    }
    assert(build != NULL);
    build(&o->call, &o->view);
    o->url = strata_xasprintf("%s%s", o->forge->api_url, o->call.path);
    if (o->call.body != NULL)
        o->body = json_dumps(o->call.body, JSON_COMPACT);
    return op_send(o, err);
}

/* After the request is open or updated: its labels, then its reviewers. */
static op_state
after_write(const op *o, op_state done)
{
    int separate = !o->forge->be->inline_meta;

    if (done < S_LABEL && separate && o->req.nlabels > 0)
        return S_LABEL;
    if (done < S_REVIEW && separate && o->req.nreviewers > 0)
        return S_REVIEW;
    return S_DONE;
}

/* Decides what follows a successful answer (reply is borrowed). */
static void
op_advance(op *o, const json_t *reply)
{
    const strata_forge_backend *be = o->forge->be;
    strata_forge_pr pr = {0};
    int more = 0, rc;
    strata_forge_verb verb = o->req.verb;

    switch (o->state) {
    case S_FIND:
        rc = be->pick(&pr, &more, reply, &o->view);
        if (rc < 0)
            goto malformed;
        if (rc == 1) {
            strata_forge__pr_release(&o->pr);
            o->pr = pr;
            op_set_state(o, verb == STRATA_FORGE_FIND ? S_DONE : S_UPDATE);
        } else if (more && o->view.page < MAX_PAGES) {
            o->view.page++;
        } else if (verb == STRATA_FORGE_FIND) {
            op_set_state(o, S_DONE);
        } else if (o->raced) {
            op_fail(o, STRATA_ECONFLICT,
                    "%s said a request for '%s' exists in '%s' but none "
                    "is open",
                    be->name, o->req.head, o->req.repo);
            return;
        } else {
            op_set_state(o, S_OPEN);
        }
        break;
    case S_OPEN:
    case S_UPDATE:
    case S_CLOSE:
        if (be->parse(&pr, reply) != 0)
            goto malformed;
        pr.created = o->state == S_OPEN || o->pr.created;
        strata_forge__pr_release(&o->pr);
        o->pr = pr;
        op_set_state(o,
                     o->state == S_CLOSE ? S_DONE : after_write(o, o->state));
        break;
    case S_LABEL:
    case S_REVIEW:
        /* GitLab answers with the request; the others with a list. */
        if (json_is_object(reply) && be->inline_meta) {
            if (be->parse(&pr, reply) != 0)
                goto malformed;
            strata_forge__pr_release(&o->pr);
            o->pr = pr;
        } else if (!json_is_array(reply) && !json_is_object(reply)) {
            goto malformed;
        }
        op_set_state(o,
                     verb == STRATA_FORGE_LABEL || verb == STRATA_FORGE_REVIEW
                         ? S_DONE
                         : after_write(o, o->state));
        break;
    case S_COMMENT:
        if (!json_is_object(reply))
            goto malformed;
        op_set_state(o, verb == STRATA_FORGE_CLOSE ? S_CLOSE : S_DONE);
        break;
    case S_DONE:
        break;
    }
    op_step(o);
    return;
malformed:
    op_fail(o, STRATA_EPROTO, "%s: malformed reply to '%s' (%s %s)", be->name,
            o->call.what, o->call.method, o->call.path);
}

static void
op_step(op *o)
{
    strata_error err = {0};

    if (o->state == S_DONE) {
        if (o->pr.number == 0 && o->req.verb != STRATA_FORGE_FIND)
            o->pr.number = o->req.number;
        op_finish(o, NULL);
        return;
    }
    if (op_call(o, &err) != 0)
        op_finish(o, &err);
}

static void
on_response(const strata_http_response *resp, const strata_error *terr,
            void *arg)
{
    op *o = arg;
    strata_forge *f = o->forge;
    const strata_forge_backend *be = f->be;
    json_t *reply = NULL;
    char msg[300], why[400];
    long st;

    o->in_flight = 0;
    if (terr != NULL) {
        if (!f->closing &&
            (terr->code == STRATA_ENET || terr->code == STRATA_ETIMEOUT))
            op_retry(o, backoff_ms(o), terr->code, terr->msg);
        else
            op_finish(o, terr);
        return;
    }
    st = resp->status;
    reply = reply_json(resp);
    if (st >= 200 && st < 300) {
        if (reply == NULL)
            op_fail(o, STRATA_EPROTO,
                    "%s: malformed reply to '%s' (%s %s): not json", be->name,
                    o->call.what, o->call.method, o->call.path);
        else
            op_advance(o, reply);
        goto out;
    }
    msg[0] = '\0';
    if (reply != NULL)
        be->message(msg, sizeof(msg), reply);
    snprintf(why, sizeof(why), "%s %s %s answered %ld%s%s", be->name,
             o->call.method, o->call.path, st, msg[0] ? ": " : "", msg);
    if (is_rate_limited(resp)) {
        op_retry(o, rate_wait_ms(o, resp), STRATA_ERATELIMIT, why);
    } else if (st == 401 || st == 403) {
        op_fail(o, STRATA_EAUTH, "%s refused access to '%s' (%ld)%s%s",
                be->name, o->req.repo, st, msg[0] ? ": " : "", msg);
    } else if (st == 404) {
        op_fail(o, STRATA_ENOTFOUND,
                "repository '%s' not found or token lacks access (%s %s)%s%s",
                o->req.repo, o->call.method, o->call.path, msg[0] ? ": " : "",
                msg);
    } else if (o->state == S_OPEN && be->exists(st, reply)) {
        if (o->req.verb == STRATA_FORGE_ENSURE && !o->raced) {
            log_info("forge '%s': a request for '%s' appeared in '%s'; "
                     "updating it",
                     be->name, o->req.head, o->req.repo);
            o->raced = 1;
            o->view.page = 1;
            op_set_state(o, S_FIND);
            op_step(o);
        } else {
            op_fail(o, STRATA_EEXISTS,
                    "%s: a request for '%s' is already open in '%s'", be->name,
                    o->req.head, o->req.repo);
        }
    } else if (st >= 500) {
        op_retry(o, backoff_ms(o), STRATA_EHTTP, why);
    } else {
        op_fail(o, STRATA_EHTTP, "%s", why);
    }
out:
    json_decref(reply);
}

/* ---- starting and cancelling ------------------------------------------- */

int
strata_forge__op_start(strata_forge *forge, const strata_forge_req *req,
                       strata_forge_cb cb, void *arg, strata_error *err)
{
    op *o;
    int rc;

    o = strata_xcalloc(1, sizeof(*o));
    o->forge = forge;
    strata_forge__req_copy(&o->req, req);
    o->view.req = &o->req;
    o->view.page = 1;
    o->cb = cb;
    o->arg = arg;
    uv_timer_init(forge->loop, &o->timer);
    o->timer.data = o;
    switch (req->verb) {
    case STRATA_FORGE_FIND:
    case STRATA_FORGE_ENSURE:
        o->state = S_FIND;
        break;
    case STRATA_FORGE_OPEN:
        o->state = S_OPEN;
        break;
    case STRATA_FORGE_UPDATE:
        o->state = S_UPDATE;
        break;
    case STRATA_FORGE_LABEL:
        o->state = S_LABEL;
        break;
    case STRATA_FORGE_REVIEW:
        o->state = S_REVIEW;
        break;
    case STRATA_FORGE_COMMENT:
        o->state = S_COMMENT;
        break;
    case STRATA_FORGE_CLOSE:
        o->state = req->comment ? S_COMMENT : S_CLOSE;
        break;
    }
    o->next = forge->ops;
    forge->ops = o;
    /*
     * The first call is built and handed to the HTTP client now; its
     * transfer only runs on the loop, so the callback never runs from
     * inside this call. If it cannot start, the callback never runs.
     */
    rc = op_call(o, err);
    if (rc != 0) {
        op_unlink(o);
        op_release(o);
    }
    return rc;
}

void
strata_forge__op_cancel_idle(strata_forge *forge)
{
    op *o, *next;

    /* Operations waiting on a timer end here; those in flight end when
     * the HTTP client cancels their transfers. */
    for (o = forge->ops; o != NULL; o = next) {
        next = o->next;
        if (!o->in_flight)
            op_fail(o, STRATA_ECANCELED, "forge client closed");
    }
}

size_t
strata_forge_active(const strata_forge *forge)
{
    const op *o;
    size_t n = 0;

    for (o = forge->ops; o != NULL; o = o->next)
        n++;
    return n;
}
