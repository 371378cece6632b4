/*
 * test-vcs.c - integration tests for vcs/ against real git: bare
 * repositories made by the git CLI (tests/vcs/seed.sh) in a temp dir,
 * reached over file://, as a local path, and over `git daemon` (started
 * here on a free 127.0.0.1 port and killed at exit, also when a check
 * fails). Results are cross-checked with `git -C src.git ...`.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "harness-server.h"
#include "harness.h"
#include "vcs.h"

extern char **environ;

/* Process state on purpose: the atexit() handlers must find these. */
static char tmpdir[64];
static pid_t daemon_pid = -1;
static int daemon_port;
static pid_t http_pid = -1;
static int http_port;
static pid_t https_pid = -1;

/* ---- helpers ---------------------------------------------------------- */

static void
cleanup(void)
{
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = -1;
    }
    if (http_pid > 0) {
        kill(http_pid, SIGTERM);
        waitpid(http_pid, NULL, 0);
        http_pid = -1;
    }
    if (https_pid > 0) {
        kill(https_pid, SIGTERM);
        waitpid(https_pid, NULL, 0);
        https_pid = -1;
    }
    if (tmpdir[0] != '\0' && getenv("STRATA_TEST_KEEP") == NULL) {
        char *cmd = strata_xasprintf("rm -rf '%s'", tmpdir);

        if (system(cmd) != 0)
            fprintf(stderr, "# cannot remove %s\n", tmpdir);
        free(cmd);
    }
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command; returns its exit status. */
static int
sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int st;

    va_start(ap, fmt);
    cmd = strata_xvasprintf(fmt, ap);
    va_end(ap);
    st = system(cmd);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a shell command and returns its stdout (caller frees), trimmed. */
static char *
sh_out(const char *fmt, ...)
{
    strata_buf b = STRATA_BUF_INIT;
    char chunk[4096];
    va_list ap;
    size_t n;
    char *cmd;
    FILE *f;

    va_start(ap, fmt);
    cmd = strata_xvasprintf(fmt, ap);
    va_end(ap);
    f = popen(cmd, "r");
    CHECK(f != NULL);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strata_buf_add(&b, chunk, n);
    pclose(f);
    free(cmd);
    while (b.len > 0 && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == ' '))
        b.ptr[--b.len] = '\0';
    return strata_buf_detach(&b);
}

/* git -C DIR/src.git ..., with no user or system config. */
#define GIT "HOME=%s GIT_CONFIG_NOSYSTEM=1 git -C %s/src.git "

static char *
git_out(const char *args)
{
    return sh_out(GIT "%s", tmpdir, tmpdir, args);
}

static void
seed(const char *what)
{
    CHECK_EQ(
        sh("sh '%s/seed.sh' %s '%s' >&2", STRATA_TEST_VCS_DIR, what, tmpdir),
        0);
}

static int
free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    CHECK(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
    CHECK_EQ(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int
can_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t) port);
    ok = connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void
start_daemon(void)
{
    char port_arg[32], base_arg[128];
    char *argv[] = {"git",
                    "daemon",
                    "--reuseaddr",
                    "--enable=receive-pack",
                    "--export-all",
                    base_arg,
                    "--listen=127.0.0.1",
                    port_arg,
                    NULL};
    posix_spawn_file_actions_t fa;
    char *log;
    int i;

    daemon_port = free_port();
    snprintf(port_arg, sizeof(port_arg), "--port=%d", daemon_port);
    snprintf(base_arg, sizeof(base_arg), "--base-path=%s", tmpdir);
    /* Its log (a client that ends a session early makes it complain). */
    log = strata_xasprintf("%s/daemon.log", tmpdir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT, 0600);
    CHECK_EQ(posix_spawnp(&daemon_pid, "git", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    free(log);
    for (i = 0; i < 200 && !can_connect(daemon_port); i++)
        usleep(25 * 1000);
    CHECK(can_connect(daemon_port));
}

/*
 * Starts tests/vcs/git-http.py (Basic auth + git http-backend), over TLS
 * with a self-signed certificate when cert is not NULL.
 */
static void
start_http(pid_t *pid, int *port, char *cert, char *key)
{
    char *argv[] = {"/usr/bin/python3",
                    STRATA_TEST_VCS_DIR "/git-http.py",
                    tmpdir,
                    "bot",
                    "tok-SECRET-123",
                    cert,
                    key,
                    NULL};

    *port = harness_server_start(pid, argv);
}

static int
count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;

    if (f == NULL)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static char *
file_url(void)
{
    return strata_xasprintf("file://%s/src.git", tmpdir);
}

static char *
cache(const char *name)
{
    return strata_xasprintf("%s/cache-%s", tmpdir, name);
}

static int
count_entries(const char *dir)
{
    struct dirent *d;
    DIR *dp = opendir(dir);
    int n = 0;

    if (dp == NULL)
        return -1;
    while ((d = readdir(dp)) != NULL) {
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0 &&
            strstr(d->d_name, ".lock") == NULL)
            n++;
    }
    closedir(dp);
    return n;
}

/* ---- names and predicate --------------------------------------------- */

TEST(mirror_name)
{
    char *a =
        strata_vcs_mirror_name("https://git.example.com/acme/Pay ments.git");
    char *b = strata_vcs_mirror_name(
        "https://bot:s3cret@git.example.com/acme/Pay ments.git");
    char *c = strata_vcs_mirror_name("https://git.example.com/acme/other.git");
    char *d = strata_vcs_mirror_name("git@github.com:acme/x.git/");

    CHECK_STR_EQ(a, b); /* credentials don't change the mirror */
    CHECK(strcmp(a, c) != 0);
    CHECK_EQ(strlen(a), 16 + 1 + strlen("Pay_ments"));
    CHECK_STR_EQ(a + 17, "Pay_ments");
    CHECK_STR_EQ(d + 17, "x");
    CHECK(strstr(b, "s3cret") == NULL);
    free(a);
    free(b);
    free(c);
    free(d);
}

TEST(dockerfile_predicate)
{
    static const struct {
        const char *path;
        int match;
    } cases[] = {
        {"Dockerfile", 1},         {"a/b/c/Dockerfile", 1},
        {"Containerfile", 1},      {"build/app.Dockerfile", 1},
        {"Dockerfile.prod", 1},    {"deploy/Dockerfile.prod", 1},
        {"dockerfile", 0},         {"app.dockerfile", 0},
        {"Dockerfile.", 0},        {".Dockerfile", 0},
        {"Dockerfiles/README", 0}, {"MyDockerfile", 0},
        {"containerfile", 0},      {"README.md", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strata_vcs_is_dockerfile(cases[i].path, NULL) != cases[i].match) {
            printf("# path '%s'\n", cases[i].path);
            CHECK(0);
        }
    }
}

/* ---- sync, list, read, diff (file://) --------------------------------- */

static const char *const expected_dockerfiles[] = {
    "Containerfile",          "Dockerfile",
    "build/app.Dockerfile",   "crlf/Dockerfile",
    "deploy/Dockerfile.prod", "services/api/Dockerfile",
};

static strata_vcs_repo *
sync_src(const strata_vcs_source *src, const char *cache_dir)
{
    strata_vcs_repo *repo = NULL;
    strata_error err = {0};

    CHECK_OK(strata_vcs_sync(&repo, src, cache_dir, &err), &err);
    CHECK(repo != NULL);
    return repo;
}

static strata_vcs_repo *
sync_ok(const char *url, const char *cache_dir)
{
    strata_vcs_source src = {.url = url, .branch = "main"};

    return sync_src(&src, cache_dir);
}

TEST(first_sync_clones_bare)
{
    char *url = file_url(), *dir = cache("file");
    strata_vcs_repo *repo = sync_ok(url, dir);
    char *want = git_out("rev-parse main");
    char *bare = sh_out("git -C '%s' rev-parse --is-bare-repository",
                        strata_vcs_repo_path(repo));

    CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
    CHECK(strata_vcs_repo_old_head(repo) == NULL);
    CHECK_STR_EQ(bare, "true");
    CHECK(strncmp(strata_vcs_repo_path(repo), dir, strlen(dir)) == 0);
    CHECK_EQ(count_entries(dir), 1); /* the mirror, nothing half-made */
    strata_vcs_repo_free(repo);
    strata_vcs_repo_free(NULL);
    free(bare);
    free(want);
    free(dir);
    free(url);
}

TEST(list_dockerfiles)
{
    char *url = file_url(), *dir = cache("file");
    strata_vcs_repo *repo = sync_ok(url, dir);
    strata_vcs_blob_list l;
    strata_error err = {0};
    size_t i;

    CHECK_OK(strata_vcs_list_dockerfiles(&l, repo, NULL,
                                         STRATA_VCS_DOCKERFILE_MAX, &err),
             &err);
    for (i = 0; i < l.len; i++)
        printf("# %s %s %llu\n", l.blobs[i].path, l.blobs[i].id,
               (unsigned long long) l.blobs[i].size);
    CHECK_EQ(l.len, sizeof(expected_dockerfiles) / sizeof(char *));
    for (i = 0; i < l.len; i++) {
        char *args = strata_xasprintf("rev-parse main:%s", l.blobs[i].path);
        char *id = git_out(args);

        CHECK_STR_EQ(l.blobs[i].path, expected_dockerfiles[i]);
        CHECK_STR_EQ(l.blobs[i].id, id);
        free(id);
        free(args);
    }
    /* The 2 MiB Dockerfile is set apart; the symlink is never listed. */
    CHECK_EQ(l.nskipped, 1);
    CHECK_STR_EQ(l.skipped[0].path, "big/Dockerfile");
    CHECK(l.skipped[0].size > STRATA_VCS_DOCKERFILE_MAX);
    strata_vcs_blob_list_release(&l);

    /* Without a limit it is listed; without a predicate, everything. */
    CHECK_OK(strata_vcs_list_dockerfiles(&l, repo, NULL, 0, &err), &err);
    CHECK_EQ(l.len, 7);
    CHECK_EQ(l.nskipped, 0);
    strata_vcs_blob_list_release(&l);
    CHECK_OK(strata_vcs_list_blobs(&l, repo, strata_vcs_repo_head(repo), NULL,
                                   NULL, 0, &err),
             &err);
    CHECK_EQ(l.len, 11); /* every regular file, the symlink excluded */
    strata_vcs_blob_list_release(&l);
    strata_vcs_blob_list_release(&l); /* twice is harmless */

    CHECK_EQ(strata_vcs_list_blobs(&l, repo, "nothex", NULL, NULL, 0, &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_vcs_list_blobs(&l, repo,
                                   "0123456789012345678901234567890123456789",
                                   NULL, NULL, 0, &err),
             STRATA_ENOTFOUND);
    strata_vcs_repo_free(repo);
    free(dir);
    free(url);
}

/* Compares bytes with what `git cat-file blob main:path` prints. */
static void
check_same_bytes(const char *data, size_t len, const char *rev_path)
{
    char *file = strata_xasprintf("%s/blob.out", tmpdir);
    strata_error err = {0};
    char *want;
    size_t wlen;

    CHECK_EQ(sh(GIT "cat-file blob '%s' >'%s'", tmpdir, tmpdir, rev_path, file),
             0);
    CHECK_OK(strata_read_file(&want, &wlen, file, 0, &err), &err);
    CHECK_EQ(len, wlen);
    CHECK(memcmp(data, want, len) == 0);
    free(want);
    free(file);
}

TEST(read_blobs)
{
    char *url = file_url(), *dir = cache("file");
    strata_vcs_repo *repo = sync_ok(url, dir);
    strata_error err = {0};
    char *id = git_out("rev-parse main:crlf/Dockerfile");
    char *big = git_out("rev-parse main:big/Dockerfile");
    char *data;
    size_t len;

    CHECK_OK(strata_vcs_read_blob(&data, &len, repo, id, 1024, &err), &err);
    CHECK_EQ(len, strlen("FROM debian:12\r\nRUN echo crlf\r\n"));
    CHECK(memcmp(data, "FROM debian:12\r\nRUN echo crlf\r\n", len) == 0);
    CHECK_EQ(data[len], '\0');
    check_same_bytes(data, len, "main:crlf/Dockerfile");
    free(data);

    CHECK_EQ(strata_vcs_read_blob(&data, &len, repo, big, 1024 * 1024, &err),
             STRATA_ETOOBIG);
    CHECK_CONTAINS(err.msg, "over the limit");
    CHECK(data == NULL);
    /* Every read has a limit: 0 is STRATA_VCS_BLOB_MAX, not "no limit". */
    CHECK_EQ(strata_vcs_read_blob(&data, &len, repo, big, 0, &err),
             STRATA_ETOOBIG);
    CHECK(data == NULL);
    CHECK_OK(
        strata_vcs_read_blob(&data, &len, repo, big, 4 * 1024 * 1024, &err),
        &err);
    check_same_bytes(data, len, "main:big/Dockerfile");
    free(data);

    CHECK_OK(strata_vcs_read_path(&data, &len, repo, NULL, "scripts/run.sh", 0,
                                  &err),
             &err);
    check_same_bytes(data, len, "main:scripts/run.sh");
    free(data);
    CHECK_EQ(strata_vcs_read_path(&data, &len, repo, NULL, "no/such", 0, &err),
             STRATA_ENOTFOUND);
    CHECK_EQ(strata_vcs_read_path(&data, &len, repo, NULL, "Dockerfile.link", 0,
                                  &err),
             STRATA_ENOTFOUND); /* a symlink is not a file to read */
    CHECK_EQ(strata_vcs_read_blob(&data, &len, repo, "xyz", 0, &err),
             STRATA_EINVAL);
    strata_vcs_repo_free(repo);
    free(big);
    free(id);
    free(dir);
    free(url);
}

static const strata_vcs_change *
find_change(const strata_vcs_change *v, size_t n, const char *path)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(v[i].path, path) == 0)
            return &v[i];
    }
    return NULL;
}

TEST(second_sync_fetches_changes)
{
    char *url = file_url(), *dir = cache("file");
    strata_vcs_repo *repo = sync_ok(url, dir);
    char *first = strata_xstrdup(strata_vcs_repo_head(repo));
    const strata_vcs_change *c;
    strata_vcs_change *v;
    strata_error err = {0};
    char *want, *id;
    size_t n;

    /* Nothing new: the head stays, old_head is the same commit. */
    CHECK_STR_EQ(strata_vcs_repo_old_head(repo), first);
    strata_vcs_repo_free(repo);

    seed("update");
    repo = sync_ok(url, dir);
    want = git_out("rev-parse main");
    CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
    CHECK_STR_EQ(strata_vcs_repo_old_head(repo), first);
    CHECK(strcmp(first, want) != 0);

    CHECK_OK(strata_vcs_changed_paths(&v, &n, repo,
                                      strata_vcs_repo_old_head(repo),
                                      strata_vcs_repo_head(repo),
                                      strata_vcs_is_dockerfile, NULL, &err),
             &err);
    CHECK_EQ(n, 3); /* README.md changed too, but is filtered out */
    c = find_change(v, n, "services/api/Dockerfile");
    CHECK(c != NULL);
    CHECK_EQ(c->kind, STRATA_VCS_MODIFIED);
    id = git_out("rev-parse main:services/api/Dockerfile");
    CHECK_STR_EQ(c->new_id, id);
    free(id);
    id = git_out("rev-parse main~1:services/api/Dockerfile");
    CHECK_STR_EQ(c->old_id, id);
    free(id);
    c = find_change(v, n, "new/Dockerfile");
    CHECK(c != NULL);
    CHECK_EQ(c->kind, STRATA_VCS_ADDED);
    CHECK_STR_EQ(c->old_id, "");
    c = find_change(v, n, "deploy/Dockerfile.prod");
    CHECK(c != NULL);
    CHECK_EQ(c->kind, STRATA_VCS_DELETED);
    CHECK_STR_EQ(c->new_id, "");
    strata_vcs_changes_free(v, n);

    CHECK_OK(strata_vcs_changed_paths(&v, &n, repo, first,
                                      strata_vcs_repo_head(repo), NULL, NULL,
                                      &err),
             &err);
    CHECK_EQ(n, 4);
    CHECK(find_change(v, n, "README.md") != NULL);
    strata_vcs_changes_free(v, n);

    /* From nothing: every Dockerfile is added. */
    CHECK_OK(strata_vcs_changed_paths(&v, &n, repo, NULL,
                                      strata_vcs_repo_head(repo),
                                      strata_vcs_is_dockerfile, NULL, &err),
             &err);
    CHECK_EQ(n, 7); /* 6 - deploy + new + big (no size limit here) */
    strata_vcs_changes_free(v, n);
    strata_vcs_repo_free(repo);

    /* Open reads the mirror without the network. */
    {
        strata_vcs_source src = {.url = url, .branch = "main"};

        CHECK_OK(strata_vcs_open(&repo, &src, dir, &err), &err);
        CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
        CHECK(strata_vcs_repo_old_head(repo) == NULL);
        strata_vcs_repo_free(repo);
        char *bad = strata_xasprintf("%s/src.git/HEAD/cache", tmpdir);

        CHECK_EQ(strata_vcs_open(&repo, &src, bad, &err), STRATA_EIO);
        free(bad);
    }
    free(want);
    free(first);
    free(dir);
    free(url);
}

TEST(sync_local_path)
{
    char *path = strata_xasprintf("%s/work", tmpdir); /* not bare */
    char *dir = cache("local");
    strata_vcs_repo *repo = sync_ok(path, dir);
    char *want = sh_out("git -C '%s' rev-parse HEAD", path);

    CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
    strata_vcs_repo_free(repo);
    free(want);
    free(dir);
    free(path);
}

/*
 * A strata killed while libgit2 wrote a reference leaves its lock file
 * ("refs/remotes/origin/main.lock", "packed-refs.lock"), and one killed
 * in a first clone leaves "<mirror>.tmp-*": every later fetch of that
 * reference failed with "failed to lock file". Holding the mirror's
 * flock, strata removes them; while another holds it, it waits (here:
 * cancelled while waiting) and removes nothing.
 */
TEST(stale_locks_cleared)
{
    char *url = file_url(), *dir = cache("stale");
    strata_vcs_repo *repo = sync_ok(url, dir);
    char *mirror = strata_xstrdup(strata_vcs_repo_path(repo));
    char *flock_path = strata_xasprintf("%s.lock", mirror);
    static const char *const stale[] = {
        "refs/remotes/origin/main.lock",
        "packed-refs.lock",
        "refs/strata/push/strata/pin-x.lock",
    };
    strata_vcs_source src = {.url = url, .branch = "main"};
    strata_vcs_cancel *cancel = strata_vcs_cancel_new();
    strata_error err = {0};
    char *want, *tmp;
    size_t i;
    int fd;

    strata_vcs_repo_free(repo);
    CHECK_EQ(sh("mkdir -p '%s/refs/strata/push/strata' '%s.tmp-Ab12Cd/refs'",
                mirror, mirror),
             0);
    for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++)
        CHECK_EQ(sh("echo 0123 > '%s/%s'", mirror, stale[i]), 0);
    /* A new commit on main, for the fetch to write the reference. */
    {
        int rc = sh("cd '%s/src.git' && export HOME='%s' "
                    "GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t "
                    "GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t "
                    "GIT_COMMITTER_EMAIL=t@example.com && c=$(git "
                    "commit-tree -p main -m stale 'main^{tree}') && git "
                    "update-ref refs/heads/main $c",
                    tmpdir, tmpdir);

        CHECK_EQ(rc, 0);
    }
    want = git_out("rev-parse main");

    /* Another process holds the mirror: nothing is touched. */
    fd = open(flock_path, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(flock(fd, LOCK_EX), 0);
    src.cancel = cancel;
    strata_vcs_cancel_set(cancel);
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_ECANCELED);
    CHECK(strstr(err.msg, "waiting") != NULL);
    tmp = strata_xasprintf("%s/%s", mirror, stale[0]);
    CHECK_EQ(access(tmp, F_OK), 0);
    free(tmp);
    close(fd);

    /* Then strata holds it: the stale files go, the fetch works. */
    src.cancel = NULL;
    CHECK_OK(strata_vcs_sync(&repo, &src, dir, &err), &err);
    CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
    for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        tmp = strata_xasprintf("%s/%s", mirror, stale[i]);
        if (access(tmp, F_OK) == 0)
            printf("# still there: %s\n", tmp);
        CHECK(access(tmp, F_OK) != 0);
        free(tmp);
    }
    tmp = strata_xasprintf("%s.tmp-Ab12Cd", mirror);
    CHECK(access(tmp, F_OK) != 0);
    free(tmp);
    CHECK_EQ(count_entries(dir), 1);
    strata_vcs_repo_free(repo);
    strata_vcs_cancel_free(cancel);
    free(want);
    free(flock_path);
    free(mirror);
    free(dir);
    free(url);
}

/* ---- pull-request branches -------------------------------------------- */

static const char api_new[] = "FROM python:3.13-slim@sha256:"
                              "0123456789abcdef0123456789abcdef"
                              "0123456789abcdef0123456789abcdef\n";
static const char crlf_new[] = "FROM debian:12@sha256:"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                               "RUN echo crlf\r\n";
static const char run_new[] = "#!/bin/sh\necho pinned\n";

static void
pr_opts(strata_vcs_commit_opts *o, strata_vcs_edit *edits, const char *branch)
{
    edits[0] =
        (strata_vcs_edit){"services/api/Dockerfile", api_new, strlen(api_new)};
    edits[1] = (strata_vcs_edit){"crlf/Dockerfile", crlf_new, strlen(crlf_new)};
    edits[2] = (strata_vcs_edit){"scripts/run.sh", run_new, strlen(run_new)};
    edits[3] = (strata_vcs_edit){"pins/new.Dockerfile", "FROM x\n", 7};
    memset(o, 0, sizeof(*o));
    o->base_branch = "main";
    o->branch = branch;
    o->edits = edits;
    o->nedits = 4;
    o->message = "Pin base images\n\nDigests from strata.\n";
    o->author_name = "strata bot";
    o->author_email = "strata@example.com";
    o->signoff = 1;
}

/* The branch differs from main only in the edited files, bytes exact. */
static void
check_pushed_branch(const char *branch, const char *commit)
{
    char *args, *s;

    args = strata_xasprintf("rev-parse refs/heads/%s", branch);
    s = git_out(args);
    CHECK_STR_EQ(s, commit);
    free(s);
    free(args);
    args = strata_xasprintf("rev-parse %s~1", branch);
    s = git_out(args);
    free(args);
    args = git_out("rev-parse main");
    CHECK_STR_EQ(s, args); /* parent is the base head */
    free(s);
    free(args);
    args =
        strata_xasprintf("diff-tree -r --name-status main %s | sort", branch);
    s = git_out(args);
    CHECK_STR_EQ(s, "A\tpins/new.Dockerfile\n"
                    "M\tcrlf/Dockerfile\n"
                    "M\tscripts/run.sh\n"
                    "M\tservices/api/Dockerfile");
    free(s);
    free(args);
    /* The executable keeps its mode; every other entry is untouched. */
    args = strata_xasprintf(
        "ls-tree %s scripts/run.sh Dockerfile.link | cut -c1-6", branch);
    s = git_out(args);
    CHECK_STR_EQ(s, "120000\n100755");
    free(s);
    free(args);
    {
        char *a = strata_xasprintf("%s:crlf/Dockerfile", branch);
        char *b = strata_xasprintf("%s:services/api/Dockerfile", branch);

        check_same_bytes(crlf_new, strlen(crlf_new), a);
        check_same_bytes(api_new, strlen(api_new), b);
        free(a);
        free(b);
    }
    args = strata_xasprintf("log -1 --format='%%an <%%ae>|%%B' %s", branch);
    s = git_out(args);
    CHECK_STR_EQ(s, "strata bot <strata@example.com>|Pin base images\n\n"
                    "Digests from strata.\n\n"
                    "Signed-off-by: strata bot <strata@example.com>");
    free(s);
    free(args);
}

static void
commit_branch_flow(const strata_vcs_source *src, const char *cache_name)
{
    char *dir = cache(cache_name);
    strata_vcs_repo *repo = sync_src(src, dir);
    strata_vcs_commit_result res;
    strata_vcs_commit_opts o;
    strata_vcs_edit edits[4];
    strata_error err = {0};
    char *main_before = git_out("rev-parse main");
    char *s;
    int deleted;

    pr_opts(&o, edits, "strata/pin-debian");
    CHECK_OK(strata_vcs_commit_branch(&res, repo, &o, &err), &err);
    CHECK_EQ(res.result, STRATA_VCS_PUSHED);
    CHECK_STR_EQ(res.base, main_before);
    check_pushed_branch("strata/pin-debian", res.commit);

    /* Same edits again: nothing is pushed, the branch stays. */
    {
        strata_vcs_commit_result again;
        char *first = strata_xstrdup(res.commit);

        CHECK_OK(strata_vcs_commit_branch(&again, repo, &o, &err), &err);
        CHECK_EQ(again.result, STRATA_VCS_UNCHANGED);
        CHECK_STR_EQ(again.commit, first);
        s = git_out("rev-parse refs/heads/strata/pin-debian");
        CHECK_STR_EQ(s, first);
        free(s);
        free(first);
    }

    /* A different edit rewrites the branch (force) from the base. */
    edits[3] = (strata_vcs_edit){"pins/new.Dockerfile", "FROM y\n", 7};
    CHECK_OK(strata_vcs_commit_branch(&res, repo, &o, &err), &err);
    CHECK_EQ(res.result, STRATA_VCS_PUSHED);
    s = git_out("show refs/heads/strata/pin-debian:pins/new.Dockerfile");
    CHECK_STR_EQ(s, "FROM y");
    free(s);
    s = git_out("rev-parse strata/pin-debian~1");
    CHECK_STR_EQ(s, main_before);
    free(s);

    /* Edits equal to the base: nothing to propose. */
    {
        strata_vcs_edit same = {"Dockerfile", "FROM debian:12-slim\nRUN true\n",
                                strlen("FROM debian:12-slim\nRUN true\n")};
        strata_vcs_commit_opts o2 = o;

        o2.edits = &same;
        o2.nedits = 1;
        o2.branch = "strata/noop";
        CHECK_OK(strata_vcs_commit_branch(&res, repo, &o2, &err), &err);
        CHECK_EQ(res.result, STRATA_VCS_NOOP);
        CHECK_STR_EQ(res.commit, main_before);
        CHECK(sh(GIT "rev-parse -q --verify refs/heads/strata/noop >/dev/null",
                 tmpdir, tmpdir) != 0);
    }

    /* Only strata/ branches may be force-pushed; main stays as it was. */
    o.branch = "main";
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "refusing to force-push 'main'");
    o.branch = "feature/strata/x";
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_EINVAL);
    o.branch = "strata/";
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_EINVAL);
    o.branch = "strata/bad..name";
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_EINVAL);
    o.branch = "strata/x";
    edits[0].path = "../escape";
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_EINVAL);
    edits[0].path = ".git/config";
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_EINVAL);
    edits[0].path = "services/api/Dockerfile";
    o.base_branch = "no-such-branch";
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no-such-branch");
    s = git_out("rev-parse main");
    CHECK_STR_EQ(s, main_before);
    free(s);

    /* Delete: refused outside strata/, idempotent inside. */
    CHECK_EQ(strata_vcs_delete_branch(&deleted, repo, "main", &err),
             STRATA_EINVAL);
    CHECK_OK(
        strata_vcs_delete_branch(&deleted, repo, "strata/pin-debian", &err),
        &err);
    CHECK_EQ(deleted, 1);
    CHECK(sh(GIT "rev-parse -q --verify refs/heads/strata/pin-debian "
                 ">/dev/null",
             tmpdir, tmpdir) != 0);
    CHECK_OK(
        strata_vcs_delete_branch(&deleted, repo, "strata/pin-debian", &err),
        &err);
    CHECK_EQ(deleted, 0);
    s = git_out("rev-parse main");
    CHECK_STR_EQ(s, main_before);
    free(s);

    strata_vcs_repo_free(repo);
    free(main_before);
    free(dir);
}

TEST(commit_branch_file)
{
    char *url = file_url();
    strata_vcs_source src = {.url = url, .branch = "main"};

    commit_branch_flow(&src, "file");
    free(url);
}

/* ---- git daemon -------------------------------------------------------- */

TEST(git_daemon_sync_and_push)
{
    char *url;
    char *dir = cache("daemon");
    strata_vcs_repo *repo;
    strata_vcs_blob_list l;
    strata_error err = {0};
    char *want = git_out("rev-parse main");

    start_daemon();
    url = strata_xasprintf("git://127.0.0.1:%d/src.git", daemon_port);
    repo = sync_ok(url, dir);
    CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
    CHECK_OK(strata_vcs_list_dockerfiles(&l, repo, NULL,
                                         STRATA_VCS_DOCKERFILE_MAX, &err),
             &err);
    CHECK_EQ(l.len, 6); /* after "update": - deploy + new */
    CHECK_EQ(l.nskipped, 1);
    strata_vcs_blob_list_release(&l);
    strata_vcs_repo_free(repo);
    repo = sync_ok(url, dir); /* incremental, nothing new */
    CHECK_STR_EQ(strata_vcs_repo_old_head(repo), want);
    strata_vcs_repo_free(repo);
    {
        strata_vcs_source src = {.url = url, .branch = "main"};

        commit_branch_flow(&src, "daemon");
    }
    free(want);
    free(url);
    free(dir);
}

/* ---- smart HTTP with Basic credentials -------------------------------- */

TEST(smart_http_credentials)
{
    char *url, *dir = cache("http"), *log;
    strata_vcs_source src = {
        .branch = "main", .username = "bot", .token = "tok-SECRET-123"};
    strata_vcs_repo *repo = NULL;
    strata_error err = {0};
    char *want = git_out("rev-parse main");
    int refused;

    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("# no /usr/bin/python3: smart HTTP not tested\n");
        free(want);
        free(dir);
        return;
    }
    start_http(&http_pid, &http_port, NULL, NULL);
    url = strata_xasprintf("http://127.0.0.1:%d/src.git", http_port);
    log = strata_xasprintf("%s/http-401.log", tmpdir);
    src.url = url;

    /* The right token: clone, then push and delete a branch. */
    repo = sync_src(&src, dir);
    CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
    strata_vcs_repo_free(repo);
    commit_branch_flow(&src, "http");

    /* A wrong token fails fast with EAUTH and never loops. */
    src.token = "tok-WRONG-456";
    refused = count_lines(log);
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_EAUTH);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "refused the credentials");
    CHECK_CONTAINS(err.msg, url);
    CHECK(strstr(err.msg, "tok-") == NULL);
    refused = count_lines(log) - refused;
    printf("# %d requests refused\n", refused);
    CHECK(refused >= 2 && refused <= 4); /* first ask + at most 2 tries */

    /* No token at all: EAUTH, saying none is configured. */
    src.token = NULL;
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_EAUTH);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "no credentials are configured");

    /* A token in the URL is never shown either. */
    free(url);
    url = strata_xasprintf("http://bot:tok-WRONG-789@127.0.0.1:%d/src.git",
                           http_port);
    src.url = url;
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_EAUTH);
    CHECK(strstr(err.msg, "tok-") == NULL);
    CHECK(strstr(err.msg, "bot:") == NULL);
    free(log);
    free(url);
    free(want);
    free(dir);
}

/* ---- TLS: verified unless insecure ------------------------------------- */

TEST(tls_verified_unless_insecure)
{
    char *cert = strata_xasprintf("%s/cert.pem", tmpdir);
    char *key = strata_xasprintf("%s/key.pem", tmpdir);
    char *dir = cache("https");
    strata_vcs_source src = {
        .branch = "main", .username = "bot", .token = "tok-SECRET-123"};
    strata_vcs_repo *repo = NULL;
    strata_error err = {0};
    char *url, *want;
    int port;

    if (access("/usr/bin/python3", X_OK) != 0 ||
        sh("command -v openssl >/dev/null") != 0) {
        printf("# no python3 or openssl: TLS not tested\n");
        goto out;
    }
    CHECK_EQ(sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
                "-subj /CN=127.0.0.1 -keyout '%s' -out '%s' 2>/dev/null",
                key, cert),
             0);
    start_http(&https_pid, &port, cert, key);
    url = strata_xasprintf("https://127.0.0.1:%d/src.git", port);
    src.url = url;
    /* A self-signed certificate is refused by default... */
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_ENET);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "certificate");
    CHECK(strstr(err.msg, "tok-") == NULL);
    CHECK_EQ(count_entries(dir), 0);
    /* ...and accepted only with the explicit insecure flag. */
    src.insecure = 1;
    repo = sync_src(&src, dir);
    want = git_out("rev-parse main");
    CHECK_STR_EQ(strata_vcs_repo_head(repo), want);
    strata_vcs_repo_free(repo);
    free(want);
    free(url);
out:
    free(dir);
    free(key);
    free(cert);
}

/* ---- errors ------------------------------------------------------------ */

TEST(errors_name_url_without_secrets)
{
    char *dir = cache("errors");
    int port = free_port(); /* nothing listens there */
    char *https =
        strata_xasprintf("https://bot:hunter22@127.0.0.1:%d/acme/x.git", port);
    char *git = strata_xasprintf("git://127.0.0.1:%d/src.git", port);
    strata_vcs_source src = {.url = https,
                             .branch = "main",
                             .username = "bot",
                             .token = "tok-SECRET-123"};
    strata_vcs_repo *repo = NULL;
    strata_error err = {0};
    char *missing;

    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_ENET);
    printf("# %s\n", err.msg);
    CHECK(repo == NULL);
    CHECK_CONTAINS(err.msg, "https://127.0.0.1:");
    CHECK(strstr(err.msg, "hunter22") == NULL);
    CHECK(strstr(err.msg, "tok-SECRET") == NULL);
    CHECK(strstr(err.msg, "bot:") == NULL);
    CHECK_EQ(count_entries(dir), 0); /* the failed clone left nothing */

    src.url = git;
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_ENET);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, git);
    CHECK(strstr(err.msg, "tok-SECRET") == NULL);

    missing = strata_xasprintf("file://%s/missing.git", tmpdir);
    src.url = missing;
    CHECK(strata_vcs_sync(&repo, &src, dir, &err) < 0);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, missing);
    free(missing);

    missing = strata_xasprintf("%s/missing-path", tmpdir);
    src.url = missing;
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_ENOTFOUND);
    free(missing);

    missing = file_url();
    src.url = missing;
    src.branch = "no-such-branch";
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no-such-branch");
    CHECK_EQ(count_entries(dir), 0);
    src.branch = "bad..branch";
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_EINVAL);
    src.branch = "main";
    src.url = "";
    CHECK_EQ(strata_vcs_sync(&repo, &src, dir, &err), STRATA_EINVAL);
    free(missing);
    free(git);
    free(https);
    free(dir);
}

int
main(void)
{
    char *v = sh_out("git --version 2>/dev/null");

    if (strncmp(v, "git version", 11) != 0)
        SKIP_ALL("git is not installed");
    free(v);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/strata-vcs-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    atexit(cleanup);
    seed("init");

    RUN(mirror_name);
    RUN(dockerfile_predicate);
    RUN(first_sync_clones_bare);
    RUN(list_dockerfiles);
    RUN(read_blobs);
    RUN(second_sync_fetches_changes);
    RUN(sync_local_path);
    RUN(stale_locks_cleared);
    RUN(commit_branch_file);
    RUN(git_daemon_sync_and_push);
    RUN(smart_http_credentials);
    RUN(tls_verified_unless_insecure);
    RUN(errors_name_url_without_secrets);
    return harness_done();
}
