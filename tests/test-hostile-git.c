/*
 * test-hostile-git.c - git remotes that do not play fair (issue 21,
 * defects 7 and 8). tests/servers/gitstall.py serves real repositories
 * over git's smart HTTP protocol and, by the first segment of the path,
 * answers normally, never answers, drips a byte a second or stops in the
 * middle of the pack; a listening socket that never accepts plays an ssh
 * and a git:// server that never speaks. Every fetch, push and listing
 * must end within its deadlines (scan.fetch_timeout, scan.stall_timeout)
 * or soon after its cancel flag is set from another thread, and `strata
 * graph scan` must report the stalled remotes as failed and still scan
 * the healthy one. A remote holding a 512 MiB Dockerfile (a 2.4 MB pack
 * of zeros) must cost no more than 64 MiB of memory, to scan it and to
 * run the pull-request action on it: every read of a blob has a limit.
 *
 * The pull-request part runs in a child (this binary, re-executed with
 * "pr-child DIR PORT") so that its peak RSS is its own.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "core.h"
#include "harness-exec.h"
#include "harness-server.h"
#include "harness.h"
#include "jobs.h"
#include "store.h"
#include "vcs.h"

#define USER "ci-bot"
#define TOKEN "gitstall-secret-7f3a"
#define DEBIAN "docker.io/library/debian:12-slim"
#define IMG "registry.example.com/acme/app"
#define HUGE_SIZE (512LL * 1024 * 1024)
#define RSS_LIMIT_KB (64 * 1024)

/* Process state on purpose: the atexit() handler must find them. */
static char tmpdir[64];
static pid_t server_pid = -1;
static int port;

static void
cleanup(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
    if (tmpdir[0] != '\0') {
        char *cmd = strata_xasprintf("rm -rf '%s'", tmpdir);

        if (system(cmd) != 0)
            printf("# cannot remove %s\n", tmpdir);
        free(cmd);
        tmpdir[0] = '\0';
    }
}

/* "sha256:" and 64 times c. */
static const char *
dg(char c)
{
    static char d[4][72];
    static int next;
    char *s = d[next++ % 4];

    memcpy(s, "sha256:", 7);
    memset(s + 7, c, 64);
    s[71] = '\0';
    return s;
}

static char *
url_of(const char *mode, const char *repo)
{
    return strata_xasprintf("http://127.0.0.1:%d/%s/%s.git", port, mode, repo);
}

/*
 * root/app.git: a Dockerfile pinned to debian at dg('1').
 * root/huge.git: the same, and big/Dockerfile of 512 MiB (a line, then
 * zeros), written straight into the bare repository: no work tree, no
 * 512 MiB on disk.
 */
static void
make_remotes(void)
{
    harness_sh("cd %s && mkdir root && git init -q --bare -b main "
               "root/app.git && git init -q -b main src && cd src && "
               "printf 'FROM %s@%s\\nRUN make\\n' > Dockerfile && "
               "git add Dockerfile && git -c user.name=dev -c "
               "user.email=dev@example.com commit -qm initial && "
               "git push -q ../root/app.git main",
               tmpdir, DEBIAN, dg('1'));
    harness_sh(
        "cd %s/root && git init -q --bare -b main huge.git && cd huge.git "
        "&& big=$( { printf 'FROM busybox\\n'; head -c %lld /dev/zero; } | "
        "git -c core.bigFileThreshold=1m hash-object -w --stdin) && "
        "small=$(printf 'FROM %s@%s\\n' | git hash-object -w --stdin) && "
        "sub=$(printf '100644 blob %%s\\tDockerfile\\n' $big | git mktree) "
        "&& tree=$(printf '100644 blob %%s\\tDockerfile\\n040000 tree "
        "%%s\\tbig\\n' $small $sub | git mktree) && c=$(git -c "
        "user.name=dev -c user.email=dev@example.com commit-tree -m huge "
        "$tree) && git update-ref refs/heads/main $c",
        tmpdir, HUGE_SIZE - 13, DEBIAN, dg('1'));
}

static void
start_gitstall(void)
{
    char *root = strata_xasprintf("%s/root", tmpdir);
    char *argv[] = {"/usr/bin/python3", STRATA_TEST_GITSTALL, root,
                    "--auth",           USER ":" TOKEN,       NULL};

    port = harness_server_start(&server_pid, argv);
    free(root);
}

/* A source for url with the given deadlines (ms). */
static strata_vcs_source
source(const char *url, uint64_t timeout_ms, uint64_t stall_ms)
{
    strata_vcs_source src = {0};

    src.url = url;
    src.branch = "main";
    src.timeout_ms = timeout_ms;
    src.stall_ms = stall_ms;
    return src;
}

static char *
cache(const char *name)
{
    return strata_xasprintf("%s/cache-%s", tmpdir, name);
}

/* Syncs src into a fresh cache; returns the code, err filled, and time. */
static int
sync_timed(const strata_vcs_source *src, const char *name, double *seconds,
           strata_error *err)
{
    strata_vcs_repo *repo = NULL;
    char *dir = cache(name);
    double start = harness_now();
    int rc;

    strata_error_clear(err);
    rc = strata_vcs_sync(&repo, src, dir, err);
    *seconds = harness_now() - start;
    printf("# %s: %d in %.2f s%s%s\n", name, rc, *seconds, rc ? ": " : "",
           rc ? err->msg : "");
    strata_vcs_repo_free(repo);
    free(dir);
    return rc;
}

/* ---- healthy remotes through strata's socket stream ------------------ */

TEST(healthy_remote_fetches)
{
    char *ok = url_of("ok", "app"), *priv = url_of("private", "app");
    strata_vcs_source src = source(ok, 0, 0);
    strata_error err = {0};
    double s;

    CHECK_OK(sync_timed(&src, "ok", &s, &err), &err);
    /* The deadlines do not cut a fetch that moves, a second one too. */
    CHECK_OK(sync_timed(&src, "ok", &s, &err), &err);
    src = source(priv, 0, 0);
    CHECK_EQ(sync_timed(&src, "priv-none", &s, &err), STRATA_EAUTH);
    src.username = USER;
    src.token = TOKEN;
    CHECK_OK(sync_timed(&src, "priv", &s, &err), &err);
    free(ok);
    free(priv);
}

/* ---- defect 8: stalled remotes --------------------------------------- */

TEST(remote_that_never_answers)
{
    char *url = url_of("hang", "app");
    strata_vcs_source src = source(url, 60000, 1000);
    strata_error err = {0};
    double s;

    CHECK_EQ(sync_timed(&src, "hang", &s, &err), STRATA_ETIMEOUT);
    CHECK_CONTAINS(err.msg, url);
    CHECK_CONTAINS(err.msg, "the remote sent nothing for 1 s");
    CHECK(s >= 0.9 && s < 3.0);
    free(url);
}

TEST(remote_that_drips)
{
    /* A byte a second: never stalled, never done. */
    char *url = url_of("drip-1", "app");
    strata_vcs_source src = source(url, 3000, 2500);
    strata_error err = {0};
    double s;

    CHECK_EQ(sync_timed(&src, "drip", &s, &err), STRATA_ETIMEOUT);
    CHECK_CONTAINS(err.msg, "the remote did not finish within 3 s");
    CHECK(s >= 2.9 && s < 5.0);
    free(url);
}

TEST(remote_that_stalls_mid_pack)
{
    char *url = url_of("stallpack", "app");
    char *log = NULL, *path = strata_xasprintf("%s/root/gitstall.log", tmpdir);
    strata_vcs_source src = source(url, 60000, 1000);
    strata_error err = {0};
    double s;

    CHECK_EQ(sync_timed(&src, "stallpack", &s, &err), STRATA_ETIMEOUT);
    CHECK_CONTAINS(err.msg, "the remote sent nothing for 1 s");
    CHECK(s < 3.0);
    /* It did get as far as the pack. */
    CHECK_OK(strata_read_file(&log, NULL, path, 0, &err), &err);
    CHECK_CONTAINS(log, "stallpack POST /stallpack/app.git/git-upload-pack");
    free(log);
    free(path);
    free(url);
}

/* Prints text as TAP diagnostics, each line behind "#   ". */
static void
diag(const char *text)
{
    const char *p = text, *nl;

    while (*p != '\0') {
        nl = strchr(p, '\n');
        printf("#   %.*s\n", (int) (nl ? nl - p : (ptrdiff_t) strlen(p)), p);
        p = nl ? nl + 1 : p + strlen(p);
    }
}

/* A loopback port that accepts connections (the kernel's backlog) and
 * never reads or writes: an ssh or git daemon that never speaks. */
static int
silent_listener(int *out_port)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    CHECK(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
    CHECK_EQ(listen(fd, 8), 0);
    CHECK_EQ(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    *out_port = ntohs(a.sin_port);
    return fd;
}

/*
 * The ssh case, in a child (this binary, "ssh-child PORT"): libgit2 1.5
 * leaks 32 bytes when an ssh handshake fails, whatever ends it (stock
 * libgit2 against a server that closes at once does too), so under
 * LeakSanitizer it runs where that leak is not ours to count.
 */
static int
ssh_child(int p)
{
    char *ssh = strata_xasprintf("ssh://git@127.0.0.1:%d/app.git", p);
    strata_vcs_source src = source(ssh, 60000, 1000);
    strata_error err = {0};
    double s;

    /* libssh2 reads the socket itself, waiting for the server's banner:
     * only shutting the socket down ends it. */
    CHECK_EQ(sync_timed(&src, "ssh", &s, &err), STRATA_ETIMEOUT);
    CHECK_CONTAINS(err.msg, "the remote sent nothing for 1 s");
    CHECK(s < 3.0);
    free(ssh);
    return 0;
}

TEST(ssh_and_git_daemon_that_never_speak)
{
    int p, fd = silent_listener(&p);
    char *git = strata_xasprintf("git://127.0.0.1:%d/app.git", p);
    strata_vcs_source src = source(git, 60000, 1000);
    char self[4096], ps[16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *argv[] = {self, "ssh-child", ps, tmpdir, NULL};
    strata_error err = {0};
    harness_run r;
    double s;

    CHECK(n > 0);
    self[n] = '\0';
    snprintf(ps, sizeof(ps), "%d", p);
    setenv("LSAN_OPTIONS", "detect_leaks=0", 1);
    harness_exec(&r, tmpdir, argv, 30, NULL, NULL);
    unsetenv("LSAN_OPTIONS");
    diag(r.out);
    CHECK_EQ(r.status, 0);
    harness_run_release(&r);
    CHECK_EQ(sync_timed(&src, "git", &s, &err), STRATA_ETIMEOUT);
    CHECK_CONTAINS(err.msg, "the remote sent nothing for 1 s");
    CHECK(s < 3.0);
    close(fd);
    free(git);
}

typedef struct bg_sync {
    strata_vcs_source src;
    const char *name;
    strata_error err;
    double seconds;
    int rc;
} bg_sync;

static void *
bg_sync_run(void *arg)
{
    bg_sync *b = arg;

    b->rc = sync_timed(&b->src, b->name, &b->seconds, &b->err);
    return NULL;
}

TEST(cancel_ends_a_running_fetch)
{
    char *hang = url_of("hang", "app"), *ok = url_of("ok", "app");
    strata_vcs_cancel *c = strata_vcs_cancel_new();
    bg_sync b = {0};
    strata_error err = {0};
    pthread_t t;
    double set_at, s;

    /* Far deadlines: only the cancel can end it. */
    b.src = source(hang, 600000, 600000);
    b.src.cancel = c;
    b.name = "cancelled";
    CHECK_EQ(pthread_create(&t, NULL, bg_sync_run, &b), 0);
    usleep(500 * 1000);
    set_at = harness_now();
    strata_vcs_cancel_set(c);
    CHECK_EQ(pthread_join(t, NULL), 0);
    printf("# ended %.3f s after the cancel\n", harness_now() - set_at);
    CHECK(harness_now() - set_at < 1.0);
    CHECK_EQ(b.rc, STRATA_ECANCELED);
    CHECK_CONTAINS(b.err.msg, "cancelled");
    /* A new operation under a set flag fails at once, a healthy one too. */
    b.src = source(ok, 0, 0);
    b.src.cancel = c;
    CHECK_EQ(sync_timed(&b.src, "cancelled-ok", &s, &err), STRATA_ECANCELED);
    CHECK(s < 0.5);
    strata_vcs_cancel_reset(c);
    CHECK_OK(sync_timed(&b.src, "cancelled-ok", &s, &err), &err);
    strata_vcs_cancel_free(c);
    strata_vcs_cancel_free(NULL);
    free(hang);
    free(ok);
}

/* A mirror of ok under the name a hang URL's mirror has. */
static strata_vcs_repo *
mirror_as(strata_vcs_source *src)
{
    char *ok = url_of("ok", "app"), *dir = cache("push");
    char *from = strata_vcs_mirror_name(ok), *to;
    strata_vcs_source s = source(ok, 0, 0);
    strata_vcs_repo *repo = NULL;
    strata_error err = {0};

    CHECK_OK(strata_vcs_sync(&repo, &s, dir, &err), &err);
    strata_vcs_repo_free(repo);
    to = strata_vcs_mirror_name(src->url);
    harness_sh("rm -rf '%s/%s' && cp -r '%s/%s' '%s/%s'", dir, to, dir, from,
               dir, to);
    CHECK_OK(strata_vcs_open(&repo, src, dir, &err), &err);
    free(ok);
    free(dir);
    free(from);
    free(to);
    return repo;
}

TEST(push_side_has_deadlines_too)
{
    char *hang = url_of("hang", "app");
    strata_vcs_source src = source(hang, 60000, 1000);
    strata_vcs_repo *repo = mirror_as(&src);
    strata_vcs_edit edit = {"Dockerfile", "FROM scratch\n", 13};
    strata_vcs_commit_opts o = {0};
    strata_vcs_commit_result res;
    strata_error err = {0};
    int deleted = -1;
    double start = harness_now();

    CHECK_EQ(strata_vcs_delete_branch(&deleted, repo, "strata/pin-x", &err),
             STRATA_ETIMEOUT);
    CHECK_CONTAINS(err.msg, "sent nothing for 1 s");
    CHECK(harness_now() - start < 3.0);
    o.base_branch = "main";
    o.branch = "strata/pin-x";
    o.edits = &edit;
    o.nedits = 1;
    o.message = "pin";
    o.author_name = "bot";
    o.author_email = "bot@example.com";
    start = harness_now();
    CHECK_EQ(strata_vcs_commit_branch(&res, repo, &o, &err), STRATA_ETIMEOUT);
    CHECK(harness_now() - start < 3.0);
    strata_vcs_repo_free(repo);
    free(hang);
}

static char *
write_config(const char *name, const char *repos_yaml, const char *extra)
{
    char *path = strata_xasprintf("%s/%s.yaml", tmpdir, name);
    char *yaml = strata_xasprintf("state: %s/%s.db\n%srepos:\n%s", tmpdir, name,
                                  extra, repos_yaml);
    strata_error err = {0};

    CHECK_OK(strata_write_file(path, yaml, strlen(yaml), &err), &err);
    free(yaml);
    return path;
}

TEST(graph_scan_reports_stalled_remotes_and_scans_the_rest)
{
    char *hang = url_of("hang", "app"), *drip = url_of("drip-1", "app");
    char *stall = url_of("stallpack", "app"), *ok = url_of("ok", "app");
    char *repos = strata_xasprintf("  - url: %s\n  - url: %s\n  - url: %s\n"
                                   "  - url: %s\n",
                                   hang, drip, stall, ok);
    char *cfg = write_config("scan8", repos,
                             "scan: {fetch_timeout: 4s, stall_timeout: 2s}\n");
    char *argv[] = {getenv("STRATA_EXE"), "-c", cfg, "graph", "scan", NULL};
    char want[512];
    harness_run r;

    /* Before the deadlines it never ended (killed after 40 s). */
    harness_exec(&r, tmpdir, argv, 60, NULL, NULL);
    printf("# graph scan: exit %d in %.2f s, %ld KB\n", r.status, r.seconds,
           r.maxrss_kb);
    diag(r.out);
    CHECK_EQ(r.status, 1);
    /* 2 s + 4 s + 2 s of deadlines, and the healthy fetch. */
    CHECK(r.seconds < 14.0);
    snprintf(want, sizeof(want),
             "%s: failed: fetching '%s': the remote sent nothing for 2 s", hang,
             hang);
    CHECK_CONTAINS(r.out, want);
    snprintf(want, sizeof(want),
             "%s: failed: fetching '%s': the remote did not finish within "
             "4 s",
             drip, drip);
    CHECK_CONTAINS(r.out, want);
    snprintf(want, sizeof(want), "%s: failed: fetching '%s': the remote sent",
             stall, stall);
    CHECK_CONTAINS(r.out, want);
    snprintf(want, sizeof(want), "%s ", ok);
    CHECK_CONTAINS(r.out, want);
    CHECK_CONTAINS(r.out, ": 1 dockerfiles, 1 parsed, 0 skipped, 1 edges");
    harness_run_release(&r);
    free(cfg);
    free(repos);
    free(hang);
    free(drip);
    free(stall);
    free(ok);
}

static void
term_after(pid_t pid, void *arg)
{
    usleep(1500 * 1000);
    *(double *) arg = harness_now();
    kill(pid, SIGTERM);
}

TEST(run_once_ends_a_running_fetch_on_sigterm)
{
    char *hang = url_of("hang", "app");
    char *repos = strata_xasprintf("  - url: %s\n", hang);
    char *cfg = write_config("run8", repos,
                             "scan: {fetch_timeout: 10m, stall_timeout: "
                             "10m}\n");
    char *argv[] = {getenv("STRATA_EXE"), "-c", cfg, "run", "--once", NULL};
    double term_at = 0;
    harness_run r;

    /* Before: still running 15 s after SIGTERM, only SIGKILL ended it. */
    harness_exec(&r, tmpdir, argv, 30, term_after, &term_at);
    printf("# run --once: exit %d, %.2f s after SIGTERM\n", r.status,
           harness_now() - term_at);
    CHECK(harness_now() - term_at < 2.0);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.err, "signal 15: stopping");
    CHECK_CONTAINS(r.err, "cancelled");
    harness_run_release(&r);
    free(cfg);
    free(repos);
    free(hang);
}

/* ---- defect 7: a 512 MiB Dockerfile ----------------------------------- */

TEST(huge_dockerfile_scan_stays_small)
{
    char *huge = url_of("ok", "huge");
    char *repos = strata_xasprintf("  - url: %s\n    images: [{name: '%s'}]\n",
                                   huge, IMG);
    char *cfg = write_config("scan7", repos, "");
    char *argv[] = {getenv("STRATA_EXE"), "-c", cfg, "graph", "scan", NULL};
    harness_run r;

    harness_exec(&r, tmpdir, argv, 120, NULL, NULL);
    printf("# graph scan of the 512 MiB Dockerfile: exit %d in %.2f s, peak "
           "RSS %ld KB\n",
           r.status, r.seconds, r.maxrss_kb);
    CHECK_CONTAINS(r.out, "2 dockerfiles, 1 parsed, 1 skipped");
    CHECK_CONTAINS(r.err, "big/Dockerfile: skipped: larger than");
    CHECK(r.maxrss_kb < RSS_LIMIT_KB);
    harness_run_release(&r);
    free(cfg);
    free(repos);
    free(huge);
}

static void
on_drained(strata_runner *r, void *arg)
{
    (void) r;
    *(int *) arg = 1;
}

/*
 * The child: reads the huge blob through every vcs entry point (each
 * must refuse it from the header), then runs the pr action on the huge
 * remote with the real runner: it pins the small Dockerfile, reports the
 * big one and pushes the branch. Exit 0 when every check held.
 */
static int
pr_child(const char *dir, int p)
{
    char *url = strata_xasprintf("http://127.0.0.1:%d/ok/huge.git", p);
    char *yaml = strata_xasprintf("state: %s/pr7.db\n"
                                  "repos:\n"
                                  "  - url: %s\n"
                                  "    images: [{name: '%s:1'}]\n"
                                  "    on_base_update: [pr]\n",
                                  dir, url, IMG);
    char *db = strata_xasprintf("%s/pr7.db", dir);
    char *cache_dir = strata_xasprintf("%s/cache-pr7", dir);
    char *exp = strata_xasprintf("%s/export", dir);
    strata_vcs_source src = source(url, 0, 0);
    strata_store_observation ob = {0};
    strata_store_job_spec spec = {0};
    strata_store_job *job = NULL;
    strata_config *config = NULL;
    strata_store *store = NULL;
    strata_runner *runner = NULL;
    strata_runner_env env = {0};
    strata_vcs_repo *repo = NULL;
    strata_vcs_blob_list list = {0};
    strata_error err = {0};
    uv_loop_t loop;
    char *data = NULL, *s;
    size_t len = 0;
    int64_t id = 0;
    int created = 0, drained = 0;

    CHECK_OK(strata_vcs_sync(&repo, &src, cache_dir, &err), &err);
    CHECK_OK(strata_vcs_list_dockerfiles(&list, repo, NULL,
                                         STRATA_VCS_DOCKERFILE_MAX, &err),
             &err);
    CHECK_EQ(list.len, 1);
    CHECK_EQ(list.nskipped, 1);
    CHECK_EQ(list.skipped[0].size, HUGE_SIZE);
    CHECK_EQ(
        strata_vcs_read_blob(&data, &len, repo, list.skipped[0].id, 0, &err),
        STRATA_ETOOBIG);
    CHECK(data == NULL);
    CHECK_EQ(strata_vcs_read_path(&data, &len, repo, NULL, "big/Dockerfile", 0,
                                  &err),
             STRATA_ETOOBIG);
    CHECK_CONTAINS(err.msg, "over the limit");
    CHECK_EQ(mkdir(exp, 0700), 0);
    CHECK_EQ(strata_vcs_export(repo, NULL, exp, &err), STRATA_ETOOBIG);
    CHECK_CONTAINS(err.msg, "big/Dockerfile");
    strata_vcs_blob_list_release(&list);
    strata_vcs_repo_free(repo);

    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml),
                                       "strata.yaml", dir, NULL, &err),
             &err);
    CHECK_OK(strata_store_open(&store, db, &err), &err);
    ob.ref = DEBIAN;
    ob.digest = dg('1');
    CHECK_OK(strata_store_watch_observe(NULL, NULL, store, &ob, &err), &err);
    ob.digest = dg('2');
    CHECK_OK(strata_store_watch_observe(NULL, NULL, store, &ob, &err), &err);
    spec.image = IMG ":1";
    spec.action = "pr";
    spec.base_ref = DEBIAN;
    spec.base_digest = dg('2');
    spec.max_attempts = 1;
    CHECK_OK(strata_store_job_enqueue(&id, &created, store, &spec, &err), &err);
    CHECK_EQ(uv_loop_init(&loop), 0);
    env.loop = &loop;
    env.config = config;
    env.cfg = strata_config_data_get(config);
    env.store = store;
    env.cache_dir = cache_dir;
    CHECK_OK(strata_runner_new(&runner, &loop, &env, 1, &err), &err);
    strata_runner_drain(runner, on_drained, &drained);
    while (!drained)
        CHECK(uv_run(&loop, UV_RUN_ONCE) >= 0);
    CHECK_OK(strata_store_job_get(&job, store, id, &err), &err);
    if (job->last_error != NULL)
        printf("# job: %s\n", job->last_error);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    s = json_dumps(job->result, JSON_COMPACT);
    printf("# pr result: %.300s\n", s);
    CHECK_CONTAINS(s, "big/Dockerfile: 536870912 bytes, over the limit");
    free(s);
    strata_store_job_free(job);
    strata_runner_close(runner);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    strata_store_close(store);
    strata_config_free(config);
    free(url);
    free(yaml);
    free(db);
    free(cache_dir);
    free(exp);
    return 0;
}

TEST(huge_dockerfile_pr_action_stays_small)
{
    char self[4096], p[16], *pinned;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *argv[] = {self, "pr-child", tmpdir, p, NULL};
    harness_run r;

    CHECK(n > 0);
    self[n] = '\0';
    snprintf(p, sizeof(p), "%d", port);
    harness_exec(&r, tmpdir, argv, 120, NULL, NULL);
    diag(r.out); /* the child's lines, whatever they say */
    printf("# pr action on the 512 MiB Dockerfile: exit %d in %.2f s, peak "
           "RSS %ld KB\n",
           r.status, r.seconds, r.maxrss_kb);
    CHECK_EQ(r.status, 0);
    /* Before the limit: 1,042 MB (the blob inflated, then copied). */
    CHECK(r.maxrss_kb < RSS_LIMIT_KB);
    pinned = strata_xasprintf("cd %s/root/huge.git && git show "
                              "strata/pin-debian-12-slim:Dockerfile | "
                              "grep -q '%s'",
                              tmpdir, dg('2'));
    harness_sh("%s", pinned);
    free(pinned);
    harness_run_release(&r);
}

int
main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "pr-child") == 0)
        return pr_child(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "ssh-child") == 0) {
        snprintf(tmpdir, sizeof(tmpdir), "%s", argv[3]);
        return ssh_child(atoi(argv[2]));
    }
    if (getenv("STRATA_EXE") == NULL)
        SKIP_ALL("STRATA_EXE is not set");
    if (system("git --version > /dev/null 2>&1") != 0)
        SKIP_ALL("git is not installed");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/strata-hostile-git-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    atexit(cleanup);
    make_remotes();
    start_gitstall();
    RUN(healthy_remote_fetches);
    RUN(remote_that_never_answers);
    RUN(remote_that_drips);
    RUN(remote_that_stalls_mid_pack);
    RUN(ssh_and_git_daemon_that_never_speak);
    RUN(cancel_ends_a_running_fetch);
    RUN(push_side_has_deadlines_too);
    RUN(graph_scan_reports_stalled_remotes_and_scans_the_rest);
    RUN(run_once_ends_a_running_fetch_on_sigterm);
    RUN(huge_dockerfile_scan_stays_small);
    RUN(huge_dockerfile_pr_action_stays_small);
    return harness_done();
}
