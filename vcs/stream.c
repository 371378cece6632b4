/*
 * stream.c - the deadlines of git's network operations. libgit2 1.5 reads
 * its sockets with blocking calls and no timeout, so a remote that
 * accepts and never answers, or drips a byte every few seconds, holds a
 * fetch for ever. strata registers its own plain socket stream with
 * libgit2 (git_stream_register): every TCP connection libgit2 opens, for
 * http, https (its TLS stream wraps this one), git:// and ssh, is made
 * here, within the deadlines of the operation that opens it.
 *
 * An operation enters a guard on its thread (thread-local "current"):
 * its start, its timeout, its stall time, its cancel flag. Sockets made
 * while it is current belong to it. Reads and writes record progress.
 * One watchdog thread looks at every open socket ten times a second and
 * shuts down (shutdown(2)) those whose guard has expired: a read blocked
 * in libgit2, in mbedTLS or in libssh2 (which reads the descriptor
 * itself) then returns at once, and the operation fails with the
 * guard's reason. Connecting polls in short slices, so it needs no help.
 *
 * The registry, the socket list and the watchdog are process-wide
 * because libgit2's stream registration is: a registration has no
 * payload, hence the thread-local guard.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2/sys/stream.h>

#include "vcs-int.h"

/* How often the watchdog looks, and the slice a connect polls for. */
#define TICK_MS 100

/*
 * The layout of libgit2's git_socket_stream (streams/socket.h): its ssh
 * transport takes the descriptor from `s` behind the git_stream it is
 * given, so this struct must begin exactly so.
 */
typedef struct sock_stream {
    git_stream parent;
    char *host;
    char *port;
    int s;
    /* strata's own fields follow libgit2's. */
    strata_vcs__guard *guard; /* NULL once the guard has left */
    atomic_int shut;          /* the watchdog shut it down */
    struct sock_stream *next; /* the watchdog's list */
} sock_stream;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;
static sock_stream *streams;      /* every stream made here */
static strata_vcs__guard *guards; /* every guard entered, any thread */
static _Thread_local strata_vcs__guard *current;

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- cancel flags --------------------------------------------------- */

strata_vcs_cancel *
strata_vcs_cancel_new(void)
{
    strata_vcs_cancel *c = strata_xcalloc(1, sizeof(*c));

    atomic_init(&c->set, 0);
    return c;
}

void
strata_vcs_cancel_free(strata_vcs_cancel *c)
{
    free(c);
}

void
strata_vcs_cancel_set(strata_vcs_cancel *c)
{
    if (c != NULL)
        atomic_store(&c->set, 1);
}

void
strata_vcs_cancel_reset(strata_vcs_cancel *c)
{
    if (c != NULL)
        atomic_store(&c->set, 0);
}

int
strata_vcs_cancel_is_set(const strata_vcs_cancel *c)
{
    return c != NULL && atomic_load(&((strata_vcs_cancel *) c)->set);
}

/* ---- guards --------------------------------------------------------- */

static int
check(strata_vcs__guard *g, int64_t now)
{
    int why = atomic_load(&g->expired), none = 0;

    if (why != 0)
        return why;
    if (strata_vcs_cancel_is_set(g->cancel))
        why = STRATA_VCS__CANCELED;
    else if (now - g->started_ms >= g->timeout_ms)
        why = STRATA_VCS__TIMEOUT;
    else if (now - atomic_load(&g->progress_ms) >= g->stall_ms)
        why = STRATA_VCS__STALLED;
    if (why != 0)
        atomic_compare_exchange_strong(&g->expired, &none, why);
    return atomic_load(&g->expired);
}

int
strata_vcs__guard_expired(strata_vcs__guard *g)
{
    return g != NULL ? check(g, mono_ms()) : 0;
}

void
strata_vcs__guard_progress(strata_vcs__guard *g)
{
    if (g != NULL)
        atomic_store(&g->progress_ms, mono_ms());
}

void
strata_vcs__guard_reason(char *out, size_t outlen, const strata_vcs__guard *g)
{
    int why = atomic_load(&((strata_vcs__guard *) g)->expired);

    if (why == STRATA_VCS__CANCELED)
        snprintf(out, outlen, "cancelled");
    else if (why == STRATA_VCS__TIMEOUT)
        snprintf(out, outlen, "the remote did not finish within %lld s",
                 (long long) (g->timeout_ms / 1000));
    else if (why == STRATA_VCS__STALLED)
        snprintf(out, outlen, "the remote sent nothing for %lld s",
                 (long long) (g->stall_ms / 1000));
    else
        snprintf(out, outlen, "no deadline passed");
}

/* Shuts down the sockets of expired guards; runs for the process's life. */
static void *
watchdog(void *arg)
{
    struct timespec tick = {0, TICK_MS * 1000000L};
    sock_stream *st;
    int64_t now;

    (void) arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (guards == NULL)
            pthread_cond_wait(&wake, &lock);
        now = mono_ms();
        for (st = streams; st != NULL; st = st->next) {
            if (st->guard == NULL || st->s < 0 || atomic_load(&st->shut) ||
                check(st->guard, now) == 0)
                continue;
            /* Under the lock: the descriptor cannot be closed and reused
             * meanwhile (sock_close takes the lock first). */
            shutdown(st->s, SHUT_RDWR);
            atomic_store(&st->shut, 1);
        }
        pthread_mutex_unlock(&lock);
        nanosleep(&tick, NULL);
    }
    return NULL;
}

static void
start_watchdog(void)
{
    pthread_attr_t attr;
    pthread_t t;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, watchdog, NULL) != 0)
        abort(); /* as strata_xmalloc does when resources run out */
    pthread_attr_destroy(&attr);
}

void
strata_vcs__guard_enter(strata_vcs__guard *g, const strata_vcs_repo *repo)
{
    int64_t now = mono_ms();

    pthread_once(&watchdog_once, start_watchdog);
    g->cancel = repo->cancel;
    g->started_ms = now;
    g->timeout_ms = (int64_t) repo->timeout_ms;
    g->stall_ms = (int64_t) repo->stall_ms;
    atomic_init(&g->progress_ms, now);
    atomic_init(&g->expired, 0);
    g->outer = current;
    current = g;
    pthread_mutex_lock(&lock);
    g->next = guards;
    guards = g;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
}

void
strata_vcs__guard_leave(strata_vcs__guard *g)
{
    strata_vcs__guard **pp;
    sock_stream *st;

    pthread_mutex_lock(&lock);
    for (pp = &guards; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    /* A stream libgit2 keeps open past the operation has no deadline
     * left; it never points to a guard that is gone. */
    for (st = streams; st != NULL; st = st->next) {
        if (st->guard == g)
            st->guard = g->outer;
    }
    pthread_mutex_unlock(&lock);
    current = g->outer;
}

/* ---- the stream ----------------------------------------------------- */

/* Sets libgit2's error to the guard's reason; returns -1. */
static int
expired_error(const sock_stream *st)
{
    char why[128];

    strata_vcs__guard_reason(why, sizeof(why), st->guard);
    git_error_set_str(GIT_ERROR_NET, why);
    return -1;
}

static int
set_net_error(const char *what, const sock_stream *st, int e)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "%s '%s:%s': %s", what, st->host, st->port,
             strerror(e));
    git_error_set_str(GIT_ERROR_NET, msg);
    return -1;
}

/*
 * Connects fd (non-blocking) to addr, polling in slices so that the
 * guard's deadlines and cancel flag are seen. 0, or -1 with errno.
 */
static int
connect_within(sock_stream *st, int fd, const struct addrinfo *ai)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof(int);
    int rc, soerr = 0;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    for (;;) {
        if (st->guard != NULL && strata_vcs__guard_expired(st->guard)) {
            errno = ETIMEDOUT;
            return -1;
        }
        rc = poll(&p, 1, TICK_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

static int
sock_connect(git_stream *stream)
{
    sock_stream *st = (sock_stream *) stream;
    struct addrinfo hints, *info = NULL, *ai;
    int fd = -1, rc, e = ECONNREFUSED;

    if (st->guard != NULL && strata_vcs__guard_expired(st->guard))
        return expired_error(st);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    if ((rc = getaddrinfo(st->host, st->port, &hints, &info)) != 0) {
        char msg[512];

        snprintf(msg, sizeof(msg), "cannot resolve '%s': %s", st->host,
                 gai_strerror(rc));
        git_error_set_str(GIT_ERROR_NET, msg);
        return -1;
    }
    for (ai = info; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect_within(st, fd, ai) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
        if (st->guard != NULL && strata_vcs__guard_expired(st->guard))
            break;
    }
    freeaddrinfo(info);
    if (fd < 0) {
        if (st->guard != NULL && strata_vcs__guard_expired(st->guard))
            return expired_error(st);
        return set_net_error("cannot connect to", st, e);
    }
    /* Blocking from now on: the watchdog ends a read that waits too long. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    pthread_mutex_lock(&lock);
    st->s = fd;
    pthread_mutex_unlock(&lock);
    strata_vcs__guard_progress(st->guard);
    return 0;
}

static ssize_t
sock_read(git_stream *stream, void *data, size_t len)
{
    sock_stream *st = (sock_stream *) stream;
    ssize_t n;

    if (st->guard != NULL && strata_vcs__guard_expired(st->guard))
        return expired_error(st);
    do
        n = recv(st->s, data, len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        strata_vcs__guard_progress(st->guard);
        return n;
    }
    if (atomic_load(&st->shut) ||
        (st->guard != NULL && strata_vcs__guard_expired(st->guard)))
        return expired_error(st);
    if (n < 0)
        return set_net_error("cannot read from", st, errno);
    return 0;
}

static ssize_t
sock_write(git_stream *stream, const char *data, size_t len, int flags)
{
    sock_stream *st = (sock_stream *) stream;
    ssize_t n;

    if (st->guard != NULL && strata_vcs__guard_expired(st->guard))
        return expired_error(st);
    do
        n = send(st->s, data, len, flags | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        strata_vcs__guard_progress(st->guard);
        return n;
    }
    if (atomic_load(&st->shut) ||
        (st->guard != NULL && strata_vcs__guard_expired(st->guard)))
        return expired_error(st);
    return set_net_error("cannot write to", st, n < 0 ? errno : EPIPE);
}

static int
sock_close(git_stream *stream)
{
    sock_stream *st = (sock_stream *) stream;
    int fd;

    pthread_mutex_lock(&lock);
    fd = st->s;
    st->s = -1;
    pthread_mutex_unlock(&lock);
    return fd >= 0 ? close(fd) : 0;
}

static void
sock_free(git_stream *stream)
{
    sock_stream *st = (sock_stream *) stream, **pp;

    sock_close(stream);
    pthread_mutex_lock(&lock);
    for (pp = &streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    free(st->host);
    free(st->port);
    free(st);
}

static int
sock_new(git_stream **out, const char *host, const char *port)
{
    sock_stream *st = strata_xcalloc(1, sizeof(*st));

    st->parent.version = GIT_STREAM_VERSION;
    st->parent.connect = sock_connect;
    st->parent.read = sock_read;
    st->parent.write = sock_write;
    st->parent.close = sock_close;
    st->parent.free = sock_free;
    st->host = strata_xstrdup(host);
    st->port = strata_xstrdup(port != NULL ? port : "");
    st->s = -1;
    atomic_init(&st->shut, 0);
    pthread_mutex_lock(&lock);
    st->guard = current;
    st->next = streams;
    streams = st;
    pthread_mutex_unlock(&lock);
    *out = &st->parent;
    return 0;
}

void
strata_vcs__stream_register(void)
{
    git_stream_registration reg = {0};

    reg.version = GIT_STREAM_VERSION;
    reg.init = sock_new;
    if (git_stream_register(GIT_STREAM_STANDARD, &reg) != 0)
        abort(); /* only on allocation failure inside libgit2 */
}
