/*
 * test-core.c - unit tests for core/: errors, buffers, durations, files,
 * digests and log level names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core.h"
#include "harness.h"

TEST(error_set_and_wrap)
{
    strata_error err = {0};

    CHECK_EQ(strata_error_set(&err, STRATA_ENOTFOUND, "no image '%s'", "x"),
             STRATA_ENOTFOUND);
    CHECK_STR_EQ(err.msg, "no image 'x'");
    CHECK_EQ(strata_error_wrap(&err, "loading '%s'", "a.yaml"),
             STRATA_ENOTFOUND);
    CHECK_STR_EQ(err.msg, "loading 'a.yaml': no image 'x'");
    CHECK_EQ(strata_error_set(NULL, STRATA_EIO, "ignored"), STRATA_EIO);
    strata_error_clear(&err);
    CHECK_EQ(err.code, 0);
    CHECK_STR_EQ(strata_error_name(STRATA_ETIMEOUT), "timeout");
}

TEST(buf_grows_and_escapes)
{
    strata_buf b = STRATA_BUF_INIT;
    char *s;
    int i;

    CHECK_STR_EQ(strata_buf_cstr(&b), "");
    for (i = 0; i < 1000; i++)
        strata_buf_printf(&b, "%d,", i);
    CHECK_EQ(b.len, strlen(b.ptr));
    strata_buf_reset(&b);
    strata_buf_json_string(&b, "a\"b\\c\n\x01");
    CHECK_STR_EQ(b.ptr, "\"a\\\"b\\\\c\\n\\u0001\"");
    s = strata_buf_detach(&b);
    CHECK(b.ptr == NULL);
    free(s);
    s = strata_buf_detach(&b);
    CHECK_STR_EQ(s, "");
    free(s);
}

TEST(durations)
{
    uint64_t ms = 0;

    CHECK_EQ(strata_parse_duration(&ms, "15m"), 0);
    CHECK_EQ(ms, 15 * 60 * 1000);
    CHECK_EQ(strata_parse_duration(&ms, "1h30m"), 0);
    CHECK_EQ(ms, 90 * 60 * 1000);
    CHECK_EQ(strata_parse_duration(&ms, "500ms"), 0);
    CHECK_EQ(ms, 500);
    CHECK_EQ(strata_parse_duration(&ms, "2d"), 0);
    CHECK_EQ(ms, 2 * 86400 * 1000LL);
    CHECK_EQ(strata_parse_duration(&ms, "0"), 0);
    CHECK_EQ(ms, 0);
    CHECK_EQ(strata_parse_duration(&ms, "15"), STRATA_EINVAL);
    CHECK_EQ(strata_parse_duration(&ms, "m"), STRATA_EINVAL);
    CHECK_EQ(strata_parse_duration(&ms, "5x"), STRATA_EINVAL);
    CHECK_EQ(strata_parse_duration(&ms, ""), STRATA_EINVAL);
    CHECK_EQ(strata_parse_duration(&ms, "99999999999999999999999h"),
             STRATA_EINVAL);
}

TEST(files_roundtrip)
{
    char path[] = "/tmp/strata-test-core-XXXXXX";
    strata_error err = {0};
    char *data = NULL;
    size_t len = 0;
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(strata_write_file(path, "hello\n", 6, &err), &err);
    CHECK_OK(strata_read_file(&data, &len, path, 0, &err), &err);
    CHECK_EQ(len, 6);
    CHECK_STR_EQ(data, "hello\n");
    free(data);
    CHECK_EQ(strata_read_file(&data, &len, path, 3, &err), STRATA_ETOOBIG);
    CHECK_CONTAINS(err.msg, "larger than 3 bytes");
    unlink(path);
    CHECK_EQ(strata_read_file(&data, &len, path, 0, &err), STRATA_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "cannot open");
}

TEST(sha256_and_time)
{
    char hex[65];
    char when[32];

    strata_sha256_hex(hex, "", 0);
    CHECK_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                      "27ae41e4649b934ca495991b7852b855");
    strata_format_time(when, sizeof(when), 0);
    CHECK_STR_EQ(when, "1970-01-01T00:00:00Z");
}

TEST(log_levels)
{
    strata_log_level lvl = STRATA_LOG_INFO;

    CHECK_EQ(strata_log_parse_level(&lvl, "debug"), 0);
    CHECK_EQ(lvl, STRATA_LOG_DEBUG);
    CHECK_EQ(strata_log_parse_level(&lvl, "warning"), 0);
    CHECK_EQ(lvl, STRATA_LOG_WARN);
    CHECK_EQ(strata_log_parse_level(&lvl, "loud"), STRATA_EINVAL);
}

TEST(strmap_put_get_iterate)
{
    strata_strmap *m = strata_strmap_new();
    const char *k;
    void *v;
    size_t it = 0, seen = 0;
    char key[32];
    long i;

    CHECK(strata_strmap_get(m, "x") == NULL);
    for (i = 1; i <= 5000; i++) {
        snprintf(key, sizeof(key), "k%ld", i);
        CHECK(strata_strmap_put(m, key, (void *) i) == NULL);
    }
    CHECK_EQ(strata_strmap_len(m), 5000);
    CHECK_EQ((long) strata_strmap_get(m, "k4321"), 4321);
    CHECK_EQ((long) strata_strmap_put(m, "k7", (void *) 70L), 7);
    CHECK_EQ((long) strata_strmap_get(m, "k7"), 70);
    CHECK(!strata_strmap_has(m, "k0"));
    while (strata_strmap_next(m, &it, &k, &v))
        seen++;
    CHECK_EQ(seen, 5000);
    strata_strmap_free(m);
    strata_strmap_free(NULL);
}

typedef struct proc_seen {
    int calls;
    int64_t status;
    int timed_out;
    char output[256];
} proc_seen;

static void
on_proc(const strata_proc_result *res, void *arg)
{
    proc_seen *seen = arg;

    seen->calls++;
    seen->status = res->exit_status;
    seen->timed_out = res->timed_out;
    snprintf(seen->output, sizeof(seen->output), "%s", res->output);
}

TEST(proc_runs_feeds_and_times_out)
{
    const char *cat[] = {"sh", "-c", "cat; echo err >&2; exit 3", NULL};
    /* The shell's child must die with it: else the pipe stays open and
     * this test runs into meson's timeout. */
    const char *slow[] = {"sh", "-c", "sleep 300; true", NULL};
    const char *missing[] = {"/nonexistent/strata-x", NULL};
    strata_proc_opts o = {0};
    proc_seen a = {0}, b = {0}, c = {0};
    strata_error err = {0};
    uv_loop_t loop;

    uv_loop_init(&loop);
    o.argv = cat;
    o.input = "hello\n";
    o.input_len = 6;
    CHECK_OK(strata_proc_spawn(&loop, &o, on_proc, &a, &err), &err);
    memset(&o, 0, sizeof(o));
    o.argv = slow;
    o.timeout_ms = 100;
    CHECK_OK(strata_proc_spawn(&loop, &o, on_proc, &b, &err), &err);
    o.argv = missing;
    CHECK_EQ(strata_proc_spawn(&loop, &o, on_proc, &c, &err), STRATA_EIO);
    CHECK_CONTAINS(err.msg, "cannot run '/nonexistent/strata-x'");
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(a.status, 3);
    CHECK_STR_EQ(a.output, "hello\nerr\n");
    CHECK_EQ(b.calls, 1);
    CHECK_EQ(b.timed_out, 1);
    CHECK_EQ(c.calls, 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
}

/* The helpers every module shares: one home each (core/crypto.c,
 * retry.c, url.c, escape.c). */
TEST(hex_and_hmac)
{
    unsigned char mac[32], raw[3];
    char hex[65];

    /* RFC 4231, test case 2. */
    strata_hmac_sha256(mac, "Jefe", 4, "what do ya want for nothing?", 28);
    strata_hex_encode(hex, mac, sizeof(mac));
    CHECK_STR_EQ(hex, "5bdcc146bf60754e6a042426089575c7"
                      "5a003f089d2739839dec58b964ec3843");
    strata_hmac_sha256_hex(hex, "Jefe", "what do ya want for nothing?", 28);
    CHECK_STR_EQ(hex, "5bdcc146bf60754e6a042426089575c7"
                      "5a003f089d2739839dec58b964ec3843");
    CHECK(strata_hmac_sha256_verify(hex, 64, "Jefe",
                                    "what do ya want for nothing?", 28));
    hex[0] = '5';
    hex[1] = 'B';
    CHECK(strata_hmac_sha256_verify(hex, 64, "Jefe",
                                    "what do ya want for nothing?", 28));
    CHECK(!strata_hmac_sha256_verify(hex, 64, "Jefe", "what do ya want", 15));
    CHECK(!strata_hmac_sha256_verify(hex, 63, "Jefe",
                                     "what do ya want for nothing?", 28));
    CHECK(!strata_hmac_sha256_verify("zz", 2, "k", "", 0));
    /* An empty body and an empty key are valid inputs. */
    strata_hmac_sha256_hex(hex, "", NULL, 0);
    CHECK_STR_EQ(hex, "b613679a0814d9ec772f95d778c35fc5"
                      "ff1697c493715653c6c712144292c5ad");
    CHECK_EQ(strata_hex_decode(raw, 3, "00fFa0", 6), 0);
    CHECK(raw[0] == 0 && raw[1] == 0xff && raw[2] == 0xa0);
    CHECK_EQ(strata_hex_decode(raw, 3, "00fFa", 5), STRATA_EINVAL);
    CHECK_EQ(strata_hex_decode(raw, 3, "00fFag", 6), STRATA_EINVAL);
    CHECK_EQ(strata_hex_value('g'), -1);
    CHECK(strata_ct_equal("abc", "abc", 3));
    CHECK(!strata_ct_equal("abc", "abd", 3));
}

TEST(backoff_and_retry_after)
{
    uint64_t ms;
    int64_t now = 1700000000000; /* 2023-11-14T22:13:20Z */

    CHECK_EQ(strata_backoff_ms(1000, 0, 60000), 1000);
    CHECK_EQ(strata_backoff_ms(1000, 3, 60000), 8000);
    CHECK_EQ(strata_backoff_ms(1000, 6, 60000), 60000);
    CHECK_EQ(strata_backoff_ms(1000, 4000000000u, 60000), 60000);
    CHECK_EQ(strata_backoff_ms(UINT64_MAX / 2 + 1, 5, UINT64_MAX), UINT64_MAX);
    CHECK_EQ(strata_retry_after_ms(&ms, "120", now, 3600000), 0);
    CHECK_EQ(ms, 120000);
    CHECK_EQ(strata_retry_after_ms(&ms, " 7 ", now, 3600000), 0);
    CHECK_EQ(ms, 7000);
    /* Clamped, and no overflow on absurd values. */
    CHECK_EQ(
        strata_retry_after_ms(&ms, "99999999999999999999999", now, 3600000), 0);
    CHECK_EQ(ms, 3600000);
    /* An HTTP-date, 90 s from now; one in the past means now. */
    CHECK_EQ(strata_retry_after_ms(&ms, "Tue, 14 Nov 2023 22:14:50 GMT", now,
                                   3600000),
             0);
    CHECK_EQ(ms, 90000);
    CHECK_EQ(strata_retry_after_ms(&ms, "Tue, 14 Nov 2023 22:00:00 GMT", now,
                                   3600000),
             0);
    CHECK_EQ(ms, 0);
    CHECK_EQ(strata_retry_after_ms(&ms, "soon", now, 3600000), STRATA_EINVAL);
    CHECK_EQ(strata_retry_after_ms(&ms, "-5", now, 3600000), STRATA_EINVAL);
    CHECK_EQ(strata_retry_after_ms(&ms, "5s", now, 3600000), STRATA_EINVAL);
    CHECK_EQ(strata_retry_after_ms(&ms, NULL, now, 3600000), STRATA_ENOTFOUND);
}

TEST(urls_and_escaping)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t len;
    char *s;

    s = strata_url_escape("a b/c?d=é~");
    CHECK_STR_EQ(s, "a%20b%2Fc%3Fd%3D%C3%A9~");
    free(s);
    s = strata_url_decode(&len, "a+b%2Fc%3d", 10, 1);
    CHECK_STR_EQ(s, "a b/c=");
    free(s);
    s = strata_url_decode(&len, "a+b", 3, 0);
    CHECK_STR_EQ(s, "a+b");
    free(s);
    s = strata_url_decode(&len, "x%00y", 5, 1);
    CHECK(s != NULL && len == 3 && strlen(s) == 1);
    free(s);
    CHECK(strata_url_decode(NULL, "%", 1, 1) == NULL);
    CHECK(strata_url_decode(NULL, "%4", 2, 1) == NULL);
    CHECK(strata_url_decode(NULL, "%zz", 3, 1) == NULL);

    strata_html_escape(&b, "<a href=\"x\" title='y'>&</a>");
    CHECK_STR_EQ(b.ptr, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;"
                        "&lt;/a&gt;");
    strata_buf_reset(&b);
    strata_shell_quote(&b, "it's $(rm -rf /)");
    CHECK_STR_EQ(b.ptr, "'it'\\''s $(rm -rf /)'");
    strata_buf_reset(&b);
    strata_prom_label_escape(&b, "a\"b\\c\nd");
    CHECK_STR_EQ(b.ptr, "a\\\"b\\\\c\\nd");
    strata_buf_release(&b);
}

/* core/url.c: what may be stored, and what may be logged, of a URL. */
TEST(url_forms)
{
    static const char *strip[][2] = {
        {"https://user:tok@git.example.com/o/r.git",
         "https://git.example.com/o/r.git"},
        {"https://TOKEN@github.com/o/r", "https://github.com/o/r"},
        {"HTTP://a:b@c@host:8080/x?y=1", "HTTP://host:8080/x?y=1"},
        {"ssh://git@host/o/r.git", "ssh://git@host/o/r.git"},
        {"ssh://git:pw@host:22/o/r", "ssh://git@host:22/o/r"},
        {"git@github.com:o/r.git", "git@github.com:o/r.git"},
        {"/srv/git/r.git", "/srv/git/r.git"},
        {"https://host/path@at?q=a@b", "https://host/path@at?q=a@b"},
        {"", ""},
    };
    static const char *logged[][3] = {
        /* url, logged, logged when secret */
        {"https://hooks.slack.com/services/T0/B0/SECRET?sig=S2",
         "https://hooks.slack.com/services/T0/B0/SECRET",
         "https://hooks.slack.com"},
        {"http://u:p@127.0.0.1:5000/v2/x/blobs/sha256:1?X-Amz-Signature=s",
         "http://127.0.0.1:5000/v2/x/blobs/sha256:1", "http://127.0.0.1:5000"},
        {"https://host?token=t#frag", "https://host", "https://host"},
        {"https://host/a#frag", "https://host/a", "https://host"},
        {"not a url?x", "not a url?x", "not a url?x"},
    };
    size_t i;
    char *s;

    for (i = 0; i < sizeof(strip) / sizeof(strip[0]); i++) {
        s = strata_url_strip_credentials(strip[i][0]);
        CHECK_STR_EQ(s, strip[i][1]);
        CHECK_EQ(strata_url_has_credentials(strip[i][0]),
                 strcmp(strip[i][0], strip[i][1]) != 0);
        free(s);
    }
    s = strata_url_strip_userinfo("ssh://git@host/o/r");
    CHECK_STR_EQ(s, "ssh://host/o/r");
    free(s);
    for (i = 0; i < sizeof(logged) / sizeof(logged[0]); i++) {
        s = strata_url_for_log(logged[i][0], 0);
        CHECK_STR_EQ(s, logged[i][1]);
        free(s);
        s = strata_url_for_log(logged[i][0], 1);
        CHECK_STR_EQ(s, logged[i][2]);
        free(s);
    }
    s = strata_url_for_log(NULL, 0);
    CHECK_STR_EQ(s, "");
    free(s);
}

/* strata_read_file_beneath: no symbolic link, no way out of the dir. */
TEST(read_file_beneath)
{
    char dir[] = "/tmp/strata-beneath-XXXXXX", cmd[512], *data = NULL;
    strata_error err = {0};
    size_t len = 0;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && mkdir -p in/sub && echo ok > in/sub/f && "
             "echo secret > out && ln -s ../out in/link && ln -s sub in/dir",
             dir);
    CHECK_EQ(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/in", dir);
    CHECK_OK(strata_read_file_beneath(&data, &len, cmd, "sub/f", 100, &err),
             &err);
    CHECK_EQ(len, 3);
    free(data);
    CHECK_EQ(strata_read_file_beneath(&data, &len, cmd, "link", 100, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "symbolic link");
    CHECK_EQ(strata_read_file_beneath(&data, &len, cmd, "dir/f", 100, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "symbolic link");
    CHECK_EQ(strata_read_file_beneath(&data, &len, cmd, "../out", 100, &err),
             STRATA_EINVAL);
    CHECK_EQ(
        strata_read_file_beneath(&data, &len, cmd, "/etc/passwd", 100, &err),
        STRATA_EINVAL);
    CHECK_EQ(strata_read_file_beneath(&data, &len, cmd, "sub", 100, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "not a regular file");
    CHECK_EQ(strata_read_file_beneath(&data, &len, cmd, "sub/f", 2, &err),
             STRATA_ETOOBIG);
    CHECK_EQ(strata_read_file_beneath(&data, &len, cmd, "nope", 100, &err),
             STRATA_ENOTFOUND);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
}

int
main(void)
{
    RUN(error_set_and_wrap);
    RUN(buf_grows_and_escapes);
    RUN(durations);
    RUN(files_roundtrip);
    RUN(sha256_and_time);
    RUN(log_levels);
    RUN(strmap_put_get_iterate);
    RUN(proc_runs_feeds_and_times_out);
    RUN(hex_and_hmac);
    RUN(backoff_and_retry_after);
    RUN(urls_and_escaping);
    RUN(read_file_beneath);
    RUN(url_forms);
    return harness_done();
}
