/*
 * email.c - the email backend: one message over SMTP with libcurl, built
 * with curl's MIME API as multipart/alternative (text/plain, then
 * text/html; quoted-printable UTF-8) inside the top-level part curl makes,
 * with Date, From, To, Subject (RFC 2047 when not ASCII), Message-ID
 * (<delivery@from-domain>, the same on every retry, so mail clients and
 * receivers can drop duplicates) and X-Strata-Delivery headers.
 *
 * smtp:// URLs upgrade with STARTTLS when the server offers it
 * (CURLUSESSL_TRY); smtps:// is TLS from the start; credentials come from
 * the URL (smtp://user:password@host:587), which is a secret. The
 * transfer is blocking libcurl easy, so it runs in uv_queue_work; the loop
 * thread builds every string first and reads the result after.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "notify-int.h"

typedef struct mail {
    uv_work_t work;
    strata_notify__attempt *a;
    char *url;
    char *mail_from; /* the bare address */
    struct curl_slist *rcpts;
    struct curl_slist *headers;
    char *text;
    char *html;
    char *ca_file;
    long timeout_ms;
    int starttls;
    /* Set by the worker. */
    CURLcode rc;
    long smtp_code;
    char errbuf[CURL_ERROR_SIZE];
} mail;

/* The address inside "Name <addr>", or s itself. New string. */
static char *
bare_address(const char *s)
{
    const char *lt = strrchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;

    if (lt != NULL && gt != NULL)
        return strata_xstrndup(lt + 1, (size_t) (gt - lt - 1));
    return strata_xstrdup(s);
}

/* A header value on one line: CR and LF would let text inject headers. */
static char *
one_line(const char *s)
{
    char *o = strata_xstrdup(s), *p;

    for (p = o; *p != '\0'; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    return o;
}

/* "Subject: ..." with RFC 2047 base64 when s is not plain ASCII. */
static char *
subject_header(const char *s)
{
    char *line = one_line(s), *enc, *hdr;
    const unsigned char *p;
    int ascii = 1;
    size_t n = strlen(line);

    for (p = (const unsigned char *) line; *p != '\0'; p++)
        if (*p >= 0x80)
            ascii = 0;
    if (ascii) {
        hdr = strata_xasprintf("Subject: %s", line);
        free(line);
        return hdr;
    }
    enc = strata_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *) enc, (const unsigned char *) line,
                    (int) n);
    hdr = strata_xasprintf("Subject: =?UTF-8?B?%s?=", enc);
    free(enc);
    free(line);
    return hdr;
}

/* RFC 5322 date in English whatever the locale: "Thu, 26 Nov 2026 ...". */
static char *
date_header(int64_t ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t) (ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    return strata_xasprintf("Date: %s, %02d %s %04d %02d:%02d:%02d +0000",
                            days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                            tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                            tm.tm_sec);
}

static void
bodies(char **out_text, char **out_html, const strata_notify__attempt *a)
{
    strata_buf t = STRATA_BUF_INIT, h = STRATA_BUF_INIT;
    const json_t *event = json_array_get(a->events, 0);
    size_t i, count = json_array_size(a->events);
    char *title, *text;

    strata_notify__message_text(&title, &text, a);
    strata_buf_printf(&t, "%s\n\n", title);
    strata_buf_puts(&h, "<!DOCTYPE html>\n<html><body style=\"font-family: "
                        "sans-serif\">\n<h2>");
    strata_html_escape(&h, title);
    strata_buf_puts(&h, "</h2>\n");
    for (i = 0; i < count; i++) {
        const json_t *e = json_array_get(a->events, i);
        const char *link = strata_notify__link(e);
        json_t *facts = strata_notify__facts(e);
        char *et, *ex;
        size_t j;

        strata_notify_render(&et, &ex, e, a->sink->cfg->title,
                             a->sink->cfg->text);
        if (count > 1) {
            strata_buf_printf(&t, "* %s\n", et);
            strata_buf_puts(&h, "<h3>");
            strata_html_escape(&h, et);
            strata_buf_puts(&h, "</h3>\n");
        }
        strata_buf_printf(&t, "%s\n\n", ex);
        strata_buf_puts(&h, "<p>");
        strata_html_escape(&h, ex);
        strata_buf_puts(&h, "</p>\n<table>\n");
        for (j = 0; j < json_array_size(facts); j++) {
            const char *label =
                json_string_value(json_array_get(json_array_get(facts, j), 0));
            const char *value =
                json_string_value(json_array_get(json_array_get(facts, j), 1));

            strata_buf_printf(&t, "%s: %s\n", label, value);
            strata_buf_puts(&h, "<tr><th align=\"left\">");
            strata_html_escape(&h, label);
            strata_buf_puts(&h, "</th><td><code>");
            strata_html_escape(&h, value);
            strata_buf_puts(&h, "</code></td></tr>\n");
        }
        strata_buf_puts(&h, "</table>\n");
        if (link != NULL) {
            strata_buf_printf(&t, "%s\n", link);
            strata_buf_puts(&h, "<p><a href=\"");
            strata_html_escape(&h, link);
            strata_buf_puts(&h, "\">");
            strata_html_escape(&h, link);
            strata_buf_puts(&h, "</a></p>\n");
        }
        strata_buf_puts(&t, "\n");
        json_decref(facts);
        free(et);
        free(ex);
    }
    strata_buf_printf(&t, "-- \nstrata, %s\n",
                      json_string_value(json_object_get(event, "time")));
    strata_buf_puts(&h, "<p style=\"color: #666\">strata, ");
    strata_html_escape(&h, json_string_value(json_object_get(event, "time")));
    strata_buf_puts(&h, "</p>\n</body></html>\n");
    free(title);
    free(text);
    *out_text = strata_buf_detach(&t);
    *out_html = strata_buf_detach(&h);
}

static curl_mimepart *
text_part(curl_mime *mime, const char *data, const char *type)
{
    curl_mimepart *part = curl_mime_addpart(mime);

    curl_mime_data(part, data, CURL_ZERO_TERMINATED);
    curl_mime_type(part, type);
    curl_mime_encoder(part, "quoted-printable");
    return part;
}

/* On a worker thread: touches only m. */
static void
on_work(uv_work_t *w)
{
    mail *m = w->data;
    CURL *c = curl_easy_init();
    curl_mime *mime = NULL, *alt = NULL;
    curl_mimepart *part;
    struct curl_slist *inline_hdr = NULL;

    if (c == NULL) {
        m->rc = CURLE_FAILED_INIT;
        snprintf(m->errbuf, sizeof(m->errbuf), "cannot start libcurl");
        return;
    }
    mime = curl_mime_init(c);
    alt = curl_mime_init(c);
    text_part(alt, m->text, "text/plain; charset=utf-8");
    text_part(alt, m->html, "text/html; charset=utf-8");
    part = curl_mime_addpart(mime);
    curl_mime_subparts(part, alt);
    curl_mime_type(part, "multipart/alternative");
    inline_hdr = curl_slist_append(NULL, "Content-Disposition: inline");
    curl_mime_headers(part, inline_hdr, 1);

    curl_easy_setopt(c, CURLOPT_URL, m->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->mail_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, m->rcpts);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, m->headers);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    if (m->starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long) CURLUSESSL_TRY);
    if (m->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, m->ca_file);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, m->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, m->errbuf);
    m->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &m->smtp_code);
    curl_easy_cleanup(c);
    curl_mime_free(mime);
}

static void
mail_free(mail *m)
{
    free(m->url);
    free(m->mail_from);
    curl_slist_free_all(m->rcpts);
    curl_slist_free_all(m->headers);
    free(m->text);
    free(m->html);
    free(m->ca_file);
    free(m);
}

static void
on_after_work(uv_work_t *w, int status)
{
    mail *m = w->data;
    strata_notify__attempt *a = m->a;
    strata_notify__result r = {0};
    const char *why =
        m->errbuf[0] != '\0' ? m->errbuf : curl_easy_strerror(m->rc);

    r.status = m->smtp_code;
    if (status != 0)
        strata_notify__fail(&r, STRATA_ECANCELED, 0, "sink '%s': cancelled",
                            a->sink->cfg->name);
    else if (m->rc == CURLE_OK)
        r.ok = 1;
    else
        /* SMTP 5xx is permanent (unknown mailbox, auth refused); 4xx not. */
        strata_notify__fail(&r,
                            m->rc == CURLE_OPERATION_TIMEDOUT ? STRATA_ETIMEOUT
                            : m->rc == CURLE_LOGIN_DENIED     ? STRATA_EAUTH
                                                              : STRATA_ENET,
                            m->smtp_code >= 500, "sink '%s': %s (SMTP %ld)",
                            a->sink->cfg->name, why, m->smtp_code);
    mail_free(m);
    a->backend_state = NULL;
    strata_notify__attempt_done(a, &r);
}

static int
mail_send(strata_notify__attempt *a, strata_error *err)
{
    const strata_config_notify *cfg = a->sink->cfg;
    mail *m = strata_xcalloc(1, sizeof(*m));
    strata_buf to = STRATA_BUF_INIT;
    const char *url = strata_secret_reveal(cfg->url), *at;
    char *title, *text, *line, *from;
    size_t i;
    int rc;

    m->a = a;
    m->work.data = m;
    m->url = strata_xstrdup(url);
    m->starttls = strncmp(url, "smtp://", 7) == 0;
    m->timeout_ms = (long) a->n->opts.timeout_ms;
    if (a->n->opts.ca_file != NULL)
        m->ca_file = strata_xstrdup(a->n->opts.ca_file);
    from = one_line(cfg->from);
    m->mail_from = bare_address(from);
    strata_buf_puts(&to, "To: ");
    for (i = 0; i < cfg->to.count; i++) {
        char *addr = bare_address(cfg->to.items[i]);
        char *shown = one_line(cfg->to.items[i]);

        line = strata_xasprintf("<%s>", addr);
        m->rcpts = curl_slist_append(m->rcpts, line);
        strata_buf_printf(&to, "%s%s", i > 0 ? ", " : "", shown);
        free(line);
        free(addr);
        free(shown);
    }
    strata_notify__message_text(&title, &text, a);
    at = strrchr(m->mail_from, '@');
    line = date_header(strata_now_ms());
    m->headers = curl_slist_append(m->headers, line);
    free(line);
    line = strata_xasprintf("From: %s", from);
    m->headers = curl_slist_append(m->headers, line);
    free(line);
    m->headers = curl_slist_append(m->headers, to.ptr);
    strata_buf_release(&to);
    line = subject_header(title);
    m->headers = curl_slist_append(m->headers, line);
    free(line);
    line = strata_xasprintf("Message-ID: <%s@%s>", a->delivery,
                            at != NULL && at[1] != '\0' ? at + 1
                                                        : "strata.invalid");
    m->headers = curl_slist_append(m->headers, line);
    free(line);
    line = strata_xasprintf("X-Strata-Delivery: %s", a->delivery);
    m->headers = curl_slist_append(m->headers, line);
    free(line);
    free(title);
    free(text);
    free(from);
    bodies(&m->text, &m->html, a);
    a->backend_state = m;
    if ((rc = uv_queue_work(a->n->loop, &m->work, on_work, on_after_work)) !=
        0) {
        a->backend_state = NULL;
        mail_free(m);
        return strata_error_set(err, STRATA_EINTERNAL,
                                "sink '%s': cannot queue the mail: %s",
                                cfg->name, uv_strerror(rc));
    }
    return 0;
}

const strata_notify__backend strata_notify__email = {
    .type = "email",
    .send = mail_send,
};
