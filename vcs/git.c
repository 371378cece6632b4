/*
 * git.c - the boundary with libgit2: one-time initialisation, the remote
 * callbacks (credentials with a retry cap, certificate and host-key
 * checks, push status), the conversion of libgit2's thread-local error
 * into a strata_error without credentials in it, and the mirror lock
 * (which also clears what a killed process left in the mirror).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "vcs-int.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
do_init(void)
{
    /* Never shut down: libgit2's state lives as long as the process. */
    git_libgit2_init();
    /* Every socket libgit2 opens is strata's, within deadlines. */
    strata_vcs__stream_register();
}

void
strata_vcs__init(void)
{
    pthread_once(&init_once, do_init);
}

/* ---- credentials and certificates ------------------------------------ */

static int
refuse(strata_vcs__auth *auth)
{
    auth->refused = 1;
    git_error_set_str(GIT_ERROR_NET, "credentials refused");
    return GIT_EAUTH;
}

static int
on_credentials(git_credential **out, const char *url,
               const char *username_from_url, unsigned int allowed,
               void *payload)
{
    strata_vcs__auth *auth = payload;
    const strata_vcs_repo *repo = auth->repo;
    const char *user;

    (void) url;
    user = username_from_url != NULL && username_from_url[0] != '\0'
               ? username_from_url
               : repo->username;
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) && repo->ssh_key != NULL) {
        if (auth->sshkey_tries++ >= STRATA_VCS__AUTH_TRIES)
            return refuse(auth);
        return git_credential_ssh_key_new(out, user != NULL ? user : "git",
                                          repo->ssh_pubkey, repo->ssh_key,
                                          repo->ssh_passphrase);
    }
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && repo->token != NULL) {
        if (auth->userpass_tries++ >= STRATA_VCS__AUTH_TRIES)
            return refuse(auth);
        /* Forges accept any user name with a token; git's is a habit. */
        return git_credential_userpass_plaintext_new(
            out, repo->username != NULL ? repo->username : "git", repo->token);
    }
    if (allowed & GIT_CREDENTIAL_USERNAME) {
        if (auth->username_tries++ >= STRATA_VCS__AUTH_TRIES)
            return refuse(auth);
        return git_credential_username_new(out, user != NULL ? user : "git");
    }
    auth->missing = 1;
    git_error_set_str(GIT_ERROR_NET,
                      "the server asks for credentials and none are set");
    return GIT_EAUTH;
}

static int
hex_equal(const unsigned char *bin, size_t n, const char *hex)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    if (strlen(hex) != 2 * n)
        return 0;
    for (i = 0; i < n; i++) {
        if (tolower((unsigned char) hex[2 * i]) != digits[bin[i] >> 4] ||
            tolower((unsigned char) hex[2 * i + 1]) != digits[bin[i] & 15])
            return 0;
    }
    return 1;
}

static int
on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
    strata_vcs__auth *auth = payload;
    const strata_vcs_repo *repo = auth->repo;

    (void) valid;
    (void) host;
    if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
        const git_cert_hostkey *hk = (const git_cert_hostkey *) cert;

        if (repo->ssh_host_sha256 == NULL)
            return 0; /* libgit2 1.5's own behaviour: accept */
        if ((hk->type & GIT_CERT_SSH_SHA256) &&
            hex_equal(hk->hash_sha256, sizeof(hk->hash_sha256),
                      repo->ssh_host_sha256))
            return 0;
        auth->hostkey_mismatch = 1;
        git_error_set_str(GIT_ERROR_SSH, "host key does not match the pin");
        return GIT_ECERTIFICATE;
    }
    if (repo->insecure)
        return 0;
    /* Leave the decision to libgit2, which verifies the chain. */
    return GIT_PASSTHROUGH;
}

static int
on_push_ref(const char *refname, const char *status, void *payload)
{
    strata_vcs__auth *auth = payload;

    if (status != NULL && auth->push_status[0] == '\0')
        snprintf(auth->push_status, sizeof(auth->push_status), "'%s': %s",
                 refname, status);
    return 0;
}

/*
 * Progress of any kind keeps a slow but moving transfer alive (over ssh
 * these are the only signs of it: libssh2 reads the socket itself), and
 * an expired guard stops a transfer that uses no socket (file://).
 */
static int
on_sideband(const char *str, int len, void *payload)
{
    strata_vcs__auth *auth = payload;

    (void) str;
    (void) len;
    strata_vcs__guard_progress(&auth->guard);
    return strata_vcs__guard_expired(&auth->guard) ? -1 : 0;
}

/* Bytes received and objects indexed: resolving the deltas of a big pack
 * after its last byte came is progress too, with no socket activity. */
static int
on_transfer(const git_indexer_progress *stats, void *payload)
{
    strata_vcs__auth *auth = payload;
    size_t mark = stats->received_bytes + stats->indexed_objects +
                  stats->indexed_deltas + stats->local_objects;

    if (mark != auth->received) {
        auth->received = mark;
        strata_vcs__guard_progress(&auth->guard);
    }
    return strata_vcs__guard_expired(&auth->guard) ? -1 : 0;
}

/* Building the pack of a push, before its first byte is sent. */
static int
on_pack(int stage, uint32_t current, uint32_t total, void *payload)
{
    strata_vcs__auth *auth = payload;

    (void) stage;
    (void) current;
    (void) total;
    strata_vcs__guard_progress(&auth->guard);
    return strata_vcs__guard_expired(&auth->guard) ? -1 : 0;
}

static int
on_push_transfer(unsigned int current, unsigned int total, size_t bytes,
                 void *payload)
{
    strata_vcs__auth *auth = payload;

    (void) current;
    (void) total;
    if (bytes != auth->received) {
        auth->received = bytes;
        strata_vcs__guard_progress(&auth->guard);
    }
    return strata_vcs__guard_expired(&auth->guard) ? -1 : 0;
}

void
strata_vcs__callbacks(git_remote_callbacks *cb, strata_vcs__auth *auth,
                      const strata_vcs_repo *repo)
{
    memset(auth, 0, sizeof(*auth));
    auth->repo = repo;
    git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
    cb->credentials = on_credentials;
    cb->certificate_check = on_certificate;
    cb->push_update_reference = on_push_ref;
    cb->sideband_progress = on_sideband;
    cb->transfer_progress = on_transfer;
    cb->push_transfer_progress = on_push_transfer;
    cb->pack_progress = on_pack;
    cb->payload = auth;
    strata_vcs__guard_enter(&auth->guard, repo);
}

void
strata_vcs__done(strata_vcs__auth *auth)
{
    strata_vcs__guard_leave(&auth->guard);
}

/* ---- errors ----------------------------------------------------------- */

char *
strata_vcs__redact_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *host, *at, *slash;

    if (scheme == NULL)
        return strata_xstrdup(url);
    host = scheme + 3;
    slash = strchr(host, '/');
    at = strchr(host, '@');
    if (at == NULL || (slash != NULL && at > slash))
        return strata_xstrdup(url);
    return strata_xasprintf("%.*s%s", (int) (host - url), url, at + 1);
}

/*
 * Replaces every occurrence of secret (when set and not tiny) in the heap
 * string s by "***"; returns the new string and frees s.
 */
static char *
scrub(char *s, const char *secret)
{
    strata_buf b = STRATA_BUF_INIT;
    const char *p = s, *hit;
    size_t slen;

    if (secret == NULL || (slen = strlen(secret)) < 3 ||
        strstr(s, secret) == NULL)
        return s;
    while ((hit = strstr(p, secret)) != NULL) {
        strata_buf_add(&b, p, (size_t) (hit - p));
        strata_buf_puts(&b, "***");
        p = hit + slen;
    }
    strata_buf_puts(&b, p);
    free(s);
    return strata_buf_detach(&b);
}

static int
classify(int rc, int klass, const strata_vcs__auth *auth)
{
    if (auth != NULL && (auth->refused || auth->missing))
        return STRATA_EAUTH;
    switch (rc) {
    case GIT_EAUTH:
        return STRATA_EAUTH;
    case GIT_ECERTIFICATE:
        return STRATA_ENET;
    case GIT_ENOTFOUND:
        return STRATA_ENOTFOUND;
    case GIT_EEXISTS:
        return STRATA_EEXISTS;
    case GIT_ENONFASTFORWARD:
    case GIT_ELOCKED:
    case GIT_EMODIFIED:
        return STRATA_ECONFLICT;
    case GIT_EUSER:
        return STRATA_ECANCELED;
    default:
        break;
    }
    switch (klass) {
    case GIT_ERROR_NET:
    case GIT_ERROR_SSL:
    case GIT_ERROR_SSH:
    case GIT_ERROR_HTTP:
        return STRATA_ENET;
    case GIT_ERROR_OS:
        /* In a network operation, an OS error is the socket's. */
        return auth != NULL ? STRATA_ENET : STRATA_EIO;
    case GIT_ERROR_FILESYSTEM:
        return STRATA_EIO;
    case GIT_ERROR_REFERENCE:
    case GIT_ERROR_REPOSITORY:
        return STRATA_ENOTFOUND;
    default:
        return STRATA_EINTERNAL;
    }
}

int
strata_vcs__error(strata_error *err, int rc, const strata_vcs_repo *repo,
                  const strata_vcs__auth *auth, const char *what)
{
    const git_error *e = git_error_last(); /* thread-local: read it now */
    int expired = auth != NULL ? atomic_load(&auth->guard.expired) : 0;
    char *msg;
    int code;

    code = classify(rc, e != NULL ? e->klass : GIT_ERROR_NONE, auth);
    if (expired != 0) {
        char why[128];

        /* Whatever libgit2 made of the shut socket, this is the cause. */
        strata_vcs__guard_reason(why, sizeof(why), &auth->guard);
        msg = strata_xstrdup(why);
        code = expired == STRATA_VCS__CANCELED ? STRATA_ECANCELED
                                               : STRATA_ETIMEOUT;
    } else if (auth != NULL && auth->refused)
        msg = strata_xstrdup("authentication failed: the server refused "
                             "the credentials");
    else if (auth != NULL && auth->missing)
        msg = strata_xstrdup("authentication required and no credentials "
                             "are configured");
    else if (auth != NULL && auth->hostkey_mismatch)
        msg = strata_xstrdup("ssh host key does not match 'ssh_host_sha256'");
    else
        msg = strata_xstrdup(e != NULL && e->message != NULL ? e->message
                                                             : "unknown error");
    /* libgit2 may quote the URL it was given; never echo a secret. */
    if (repo != NULL) {
        const char *s = strstr(repo->url, "://");

        if (s != NULL) {
            const char *at = strchr(s + 3, '@');
            const char *slash = strchr(s + 3, '/');

            if (at != NULL && (slash == NULL || at < slash)) {
                char *userinfo = strata_xstrndup(s + 3, (size_t) (at - s - 3));

                msg = scrub(msg, userinfo);
                free(userinfo);
            }
        }
        msg = scrub(msg, repo->token);
        msg = scrub(msg, repo->ssh_passphrase);
    }
    git_error_clear();
    strata_error_set(err, code, "%s '%s': %s", what,
                     repo != NULL ? repo->shown_url : "?", msg);
    free(msg);
    return code;
}

/* ---- small shared helpers --------------------------------------------- */

/* A name libgit2 gives the lock file of what it writes: "<file>.lock". */
static int
is_lock_name(const char *name)
{
    size_t len = strlen(name);

    return len > 5 && strcmp(name + len - 5, ".lock") == 0;
}

/*
 * Removes the lock files in dir and, when recurse (at most 16 levels:
 * references are "refs/strata/push/strata/<branch>"), in the directories
 * below it.
 */
static void
remove_locks(const char *dir, int recurse)
{
    DIR *d;
    struct dirent *e;

    if (recurse > 16 || (d = opendir(dir)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char *path;
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        path = strata_xasprintf("%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0) {
            free(path);
            continue;
        }
        if (S_ISDIR(st.st_mode) && recurse > 0)
            remove_locks(path, recurse + 1);
        else if (S_ISREG(st.st_mode) && is_lock_name(e->d_name) &&
                 unlink(path) == 0)
            log_warn("removed '%s', left by a strata that died", path);
        free(path);
    }
    closedir(d);
}

/*
 * Holding the mirror's flock, nothing else works on the mirror: a libgit2
 * lock file in it ("refs/strata/remote/main.lock", "packed-refs.lock")
 * was left by a process killed in the middle of writing it, and would
 * fail every later write of that reference ("failed to lock file"). So
 * is the directory of a first clone that was killed ("<mirror>.tmp-*").
 * libgit2 writes lock files beside references (refs/...) and beside the
 * files at the top of the repository (HEAD, config, packed-refs).
 */
static void
clear_stale(const strata_vcs_repo *repo)
{
    const char *slash = strrchr(repo->path, '/');
    char *refs = strata_xasprintf("%s/refs", repo->path);
    char *cache, *prefix;
    DIR *d;
    struct dirent *e;

    remove_locks(repo->path, 0);
    remove_locks(refs, 1);
    free(refs);
    if (slash == NULL)
        return;
    cache = strata_xstrndup(repo->path, (size_t) (slash - repo->path));
    prefix = strata_xasprintf("%s.tmp-", slash + 1);
    if ((d = opendir(cache)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
                char *path = strata_xasprintf("%s/%s", cache, e->d_name);

                log_warn("removing '%s', a clone left by a strata that died",
                         path);
                strata_vcs__rm_rf(path);
                free(path);
            }
        }
        closedir(d);
    }
    free(prefix);
    free(cache);
}

int
strata_vcs__lock(int *out_fd, const strata_vcs_repo *repo, strata_error *err)
{
    char *lock = strata_xasprintf("%s.lock", repo->path);
    int fd, waited = 0;

    *out_fd = -1;
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;

        strata_error_set(err, STRATA_EIO, "cannot open '%s': %s", lock,
                         strerror(e));
        free(lock);
        return STRATA_EIO;
    }
    /* Another holder is bounded by its own deadlines; a cancel (the
     * daemon stopping) need not wait for them. */
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        struct timespec tick = {0, 50 * 1000000L};

        if (errno != EINTR && errno != EWOULDBLOCK) {
            int e = errno;

            close(fd);
            strata_error_set(err, STRATA_EIO, "cannot lock '%s': %s", lock,
                             strerror(e));
            free(lock);
            return STRATA_EIO;
        }
        if (strata_vcs_cancel_is_set(repo->cancel)) {
            close(fd);
            strata_error_set(err, STRATA_ECANCELED,
                             "cancelled while waiting for '%s'", lock);
            free(lock);
            return STRATA_ECANCELED;
        }
        if (!waited++)
            log_info("waiting for '%s': another strata process (or job) "
                     "works on the mirror of '%s'",
                     lock, repo->shown_url);
        nanosleep(&tick, NULL);
    }
    free(lock);
    clear_stale(repo);
    *out_fd = fd;
    return 0;
}

void
strata_vcs__unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

int
strata_vcs__remote(git_remote **out, strata_vcs_repo *repo, strata_error *err)
{
    git_remote_create_options opts;
    int rc;

    git_remote_create_options_init(&opts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    opts.repository = repo->git;
    opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
                 GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    rc = git_remote_create_with_opts(out, repo->url, &opts);
    if (rc < 0)
        return strata_vcs__error(err, rc, repo, NULL, "opening the remote of");
    return 0;
}

int
strata_vcs__commit(git_commit **out, strata_vcs_repo *repo, const char *hex,
                   strata_error *err)
{
    git_oid oid;
    size_t i;
    int rc;

    *out = NULL;
    if (hex == NULL)
        hex = repo->head;
    for (i = 0; hex[i] != '\0'; i++) {
        if (!isxdigit((unsigned char) hex[i]))
            break;
    }
    if (i != GIT_OID_HEXSZ || hex[i] != '\0' || git_oid_fromstr(&oid, hex))
        return strata_error_set(err, STRATA_EINVAL, "bad commit id '%s'", hex);
    rc = git_commit_lookup(out, repo->git, &oid);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no commit '%s' in the mirror of '%s'", hex,
                                repo->shown_url);
    }
    if (rc < 0)
        return strata_vcs__error(err, rc, repo, NULL, "reading commit from");
    return 0;
}

int
strata_vcs__valid_branch(const char *name)
{
    char *ref;
    int valid = 0;

    if (name == NULL || name[0] == '\0' || name[0] == '-')
        return 0;
    ref = strata_xasprintf("refs/heads/%s", name);
    if (git_reference_name_is_valid(&valid, ref) < 0)
        valid = 0;
    free(ref);
    return valid;
}
