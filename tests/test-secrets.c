/*
 * test-secrets.c - secrets never reach the logs, the output, the store or
 * the events (issue 21, defect 5). A notification sink's URL is itself a
 * credential (Slack's ".../services/T0/B0/SECRET", a "?token=" or
 * "?sig="): at --log-level debug the HTTP layer names it by scheme and
 * host only, on success and on failure. A repository URL with credentials
 * ("http://user:token@host/...") is fetched and pushed with them (against
 * tests/servers/gitstall.py, which demands them), but `graph scan` prints
 * it without them, and no file under the state directory (the database,
 * its journal, the git cache) nor any event holds the token afterwards.
 */
#include <sys/stat.h>

#include <dirent.h>
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

#define PATH_SECRET "PathSecretT0B0x9"
#define QUERY_SECRET "QuerySecret41c7"
#define USER "ci-bot"
#define TOKEN "RepoTokenSecret5e2d"
#define DEBIAN "docker.io/library/debian:12-slim"
#define IMG "registry.example.com/acme/app"

/* Process state on purpose: the atexit() handler must find them. */
static char tmpdir[64];
static pid_t receiver_pid = -1, gitstall_pid = -1;
static int receiver_port, gitstall_port;

static void
cleanup(void)
{
    pid_t *pids[] = {&receiver_pid, &gitstall_pid};
    size_t i;

    for (i = 0; i < 2; i++) {
        if (*pids[i] > 0) {
            kill(*pids[i], SIGTERM);
            waitpid(*pids[i], NULL, 0);
            *pids[i] = -1;
        }
    }
    if (tmpdir[0] != '\0') {
        char *cmd = strata_xasprintf("rm -rf '%s'", tmpdir);

        if (system(cmd) != 0)
            printf("# cannot remove %s\n", tmpdir);
        free(cmd);
        tmpdir[0] = '\0';
    }
}

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
write_config(const char *name, const char *body)
{
    char *path = strata_xasprintf("%s/%s.yaml", tmpdir, name);
    char *yaml =
        strata_xasprintf("state: %s/%s/strata.db\n%s", tmpdir, name, body);
    char *dir = strata_xasprintf("%s/%s", tmpdir, name);
    strata_error err = {0};

    CHECK_EQ(mkdir(dir, 0700), 0);
    CHECK_OK(strata_write_file(path, yaml, strlen(yaml), &err), &err);
    free(yaml);
    free(dir);
    return path;
}

/* Fails when text holds secret; where names what text is. */
static void
check_clean(const char *text, const char *secret, const char *where)
{
    if (text != NULL && strstr(text, secret) != NULL) {
        printf("# '%s' found in %s\n", secret, where);
        CHECK(!"the secret is nowhere");
    }
}

/* Fails when any file under dir holds the bytes of secret. */
static void
check_tree_clean(const char *dir, const char *secret)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        char *path;
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        path = strata_xasprintf("%s/%s", dir, e->d_name);
        CHECK_EQ(lstat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            check_tree_clean(path, secret);
        } else if (S_ISREG(st.st_mode)) {
            strata_error err = {0};
            char *data = NULL;
            size_t len = 0;

            CHECK_OK(strata_read_file(&data, &len, path, 0, &err), &err);
            if (memmem(data, len, secret, strlen(secret)) != NULL) {
                printf("# '%s' found in %s\n", secret, path);
                CHECK(!"no file holds the secret");
            }
            free(data);
        }
        free(path);
    }
    closedir(d);
}

/* ---- notification URLs at --log-level debug --------------------------- */

TEST(debug_log_names_sinks_by_host_only)
{
    char *body = strata_xasprintf(
        "notify:\n"
        "  - {type: slack, name: ok, url: "
        "'http://127.0.0.1:%d/slack/services/T0/B0/" PATH_SECRET
        "?sig=" QUERY_SECRET "'}\n"
        "  - {type: webhook, name: refused, url: "
        "'http://127.0.0.1:%d/webhook/" PATH_SECRET "?fail=9&status=500"
        "&token=" QUERY_SECRET "'}\n"
        "  - {type: webhook, name: down, url: "
        "'http://127.0.0.1:1/hook/" PATH_SECRET "?token=" QUERY_SECRET "'}\n",
        receiver_port, receiver_port);
    char *cfg = write_config("notify", body);
    const char *sinks[] = {"ok", "refused", "down"};
    const int want[] = {0, 1, 1};
    char line[128];
    size_t i;

    for (i = 0; i < 3; i++) {
        char *argv[] = {getenv("STRATA_EXE"),
                        "--log-level",
                        "debug",
                        "-c",
                        cfg,
                        "notify",
                        "test",
                        (char *) sinks[i],
                        NULL};
        harness_run r;

        harness_exec(&r, tmpdir, argv, 60, NULL, NULL);
        printf("# notify test %s: exit %d\n", sinks[i], r.status);
        CHECK_EQ(r.status, want[i]);
        /* Before: "http POST 'http://.../services/T0/B0/SECRET?sig=SECRET'" */
        check_clean(r.err, PATH_SECRET, "the log");
        check_clean(r.err, QUERY_SECRET, "the log");
        check_clean(r.out, PATH_SECRET, "stdout");
        check_clean(r.out, QUERY_SECRET, "stdout");
        /* The request was logged, by scheme and host. */
        snprintf(line, sizeof(line), "debug http POST 'http://127.0.0.1:%d'",
                 i < 2 ? receiver_port : 1);
        CHECK_CONTAINS(r.err, line);
        harness_run_release(&r);
    }
    free(cfg);
    free(body);
}

/* ---- repository URLs with credentials --------------------------------- */

static void
make_remote(void)
{
    harness_sh("cd %s && mkdir root && git init -q --bare -b main "
               "root/app.git && git init -q -b main src && cd src && "
               "printf 'FROM %s@%s\\n' > Dockerfile && git add Dockerfile && "
               "git -c user.name=dev -c user.email=dev@example.com commit "
               "-qm initial && git push -q ../root/app.git main",
               tmpdir, DEBIAN, dg('1'));
}

static char *
private_url(int with_credentials)
{
    return strata_xasprintf("http://%s127.0.0.1:%d/private/app.git",
                            with_credentials ? USER ":" TOKEN "@" : "",
                            gitstall_port);
}

TEST(graph_scan_strips_repository_credentials)
{
    char *url = private_url(1), *clean = private_url(0);
    char *body = strata_xasprintf("repos:\n  - url: '%s'\n", url);
    char *cfg = write_config("scan", body);
    char *dir = strata_xasprintf("%s/scan", tmpdir), *log = NULL, *path;
    char *scan[] = {getenv("STRATA_EXE"),
                    "--log-level",
                    "debug",
                    "-c",
                    cfg,
                    "graph",
                    "scan",
                    NULL};
    char *show[] = {getenv("STRATA_EXE"), "-c",   cfg, "graph", "show",
                    "--format",           "json", NULL};
    strata_error err = {0};
    harness_run r;

    harness_exec(&r, tmpdir, scan, 60, NULL, NULL);
    printf("# graph scan: exit %d\n#   %s", r.status, r.out);
    CHECK_EQ(r.status, 0);
    /* Before: "http://ci-bot:RepoTokenSecret5e2d@127.0.0.1:.../app.git". */
    check_clean(r.out, TOKEN, "the scan's output");
    check_clean(r.err, TOKEN, "the scan's log");
    CHECK_CONTAINS(r.out, clean);
    CHECK_CONTAINS(r.out, "1 dockerfiles, 1 parsed");
    harness_run_release(&r);
    /* The credentials were used: the remote refuses requests without. */
    path = strata_xasprintf("%s/root/gitstall.log", tmpdir);
    CHECK_OK(strata_read_file(&log, NULL, path, 0, &err), &err);
    CHECK_CONTAINS(log, "private POST /private/app.git/git-upload-pack basic");
    harness_exec(&r, tmpdir, show, 60, NULL, NULL);
    CHECK_EQ(r.status, 0);
    check_clean(r.out, TOKEN, "graph show");
    CHECK_CONTAINS(r.out, clean);
    harness_run_release(&r);
    /* Before: five copies in strata.db (edges, nodes, the scan key). */
    check_tree_clean(dir, TOKEN);
    free(log);
    free(path);
    free(dir);
    free(cfg);
    free(body);
    free(clean);
    free(url);
}

static void
on_drained(strata_runner *r, void *arg)
{
    (void) r;
    *(int *) arg = 1;
}

TEST(pr_events_carry_no_credentials)
{
    char *url = private_url(1), *clean = private_url(0);
    char *yaml = strata_xasprintf("state: %s/pr/strata.db\n"
                                  "repos:\n"
                                  "  - url: '%s'\n"
                                  "    images: [{name: '%s:1'}]\n"
                                  "    on_base_update: [pr]\n",
                                  tmpdir, url, IMG);
    char *dir = strata_xasprintf("%s/pr", tmpdir);
    char *db = strata_xasprintf("%s/strata.db", dir);
    char *cache_dir = strata_xasprintf("%s/cache", dir);
    strata_store_observation ob = {0};
    strata_store_job_spec spec = {0};
    strata_store_job *job = NULL;
    strata_config *config = NULL;
    strata_store *store = NULL;
    strata_runner *runner = NULL;
    strata_runner_env env = {0};
    strata_error err = {0};
    json_t *events = NULL, *ev;
    uv_loop_t loop;
    int64_t id = 0;
    int created = 0, drained = 0;
    size_t i;
    char *s;

    CHECK_EQ(mkdir(dir, 0700), 0);
    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml),
                                       "strata.yaml", dir, NULL, &err),
             &err);
    /* The configuration keeps the credentials apart, for git only. */
    CHECK_STR_EQ(strata_config_data_get(config)->repos[0].url, clean);
    CHECK_STR_EQ(
        strata_config_repo_fetch_url(&strata_config_data_get(config)->repos[0]),
        url);
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
    /* Fetched and pushed through a remote that demands the credentials. */
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    s = json_dumps(job->result, JSON_COMPACT);
    check_clean(s, TOKEN, "the job's result");
    free(s);
    strata_store_job_free(job);
    CHECK_OK(strata_store_event_list(&events, store, 0, 0, NULL, &err), &err);
    CHECK(json_array_size(events) > 0);
    json_array_foreach (events, i, ev) {
        s = json_dumps(ev, JSON_COMPACT);
        check_clean(s, TOKEN, "an event");
        if (strstr(s, "pr.branch_pushed") != NULL)
            CHECK_CONTAINS(s, clean);
        free(s);
    }
    json_decref(events);
    strata_runner_close(runner);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    strata_store_close(store);
    strata_config_free(config);
    harness_sh("cd %s/root/app.git && git show "
               "strata/pin-debian-12-slim:Dockerfile | grep -q '%s'",
               tmpdir, dg('2'));
    check_tree_clean(dir, TOKEN);
    free(cache_dir);
    free(db);
    free(dir);
    free(yaml);
    free(clean);
    free(url);
}

int
main(void)
{
    char *root;

    if (getenv("STRATA_EXE") == NULL)
        SKIP_ALL("STRATA_EXE is not set");
    if (system("git --version > /dev/null 2>&1") != 0)
        SKIP_ALL("git is not installed");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/strata-secrets-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    atexit(cleanup);
    make_remote();
    {
        char *argv[] = {"/usr/bin/python3", STRATA_TEST_RECEIVER, NULL};

        receiver_port = harness_server_start(&receiver_pid, argv);
    }
    root = strata_xasprintf("%s/root", tmpdir);
    {
        char *argv[] = {"/usr/bin/python3", STRATA_TEST_GITSTALL, root,
                        "--auth",           USER ":" TOKEN,       NULL};

        gitstall_port = harness_server_start(&gitstall_pid, argv);
    }
    free(root);
    RUN(debug_log_names_sinks_by_host_only);
    RUN(graph_scan_strips_repository_credentials);
    RUN(pr_events_carry_no_credentials);
    return harness_done();
}
