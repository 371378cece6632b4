/*
 * escape.c - text made safe for where it goes: HTML (element content and
 * quoted attribute values alike: & < > " and ' are all escaped), a POSIX
 * shell word (single quotes, with ' written as '\''), and a Prometheus
 * label value (backslash, double quote and newline escaped, as the text
 * exposition format requires).
 */
#include "core.h"

void
strata_html_escape(strata_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&':
            strata_buf_puts(b, "&amp;");
            break;
        case '<':
            strata_buf_puts(b, "&lt;");
            break;
        case '>':
            strata_buf_puts(b, "&gt;");
            break;
        case '"':
            strata_buf_puts(b, "&quot;");
            break;
        case '\'':
            strata_buf_puts(b, "&#39;");
            break;
        default:
            strata_buf_putc(b, *s);
        }
    }
}

void
strata_shell_quote(strata_buf *b, const char *s)
{
    strata_buf_putc(b, '\'');
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '\'')
            strata_buf_puts(b, "'\\''");
        else
            strata_buf_putc(b, *s);
    }
    strata_buf_putc(b, '\'');
}

void
strata_prom_label_escape(strata_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            strata_buf_putc(b, '\\');
        if (*s == '\n')
            strata_buf_puts(b, "\\n");
        else
            strata_buf_putc(b, *s);
    }
}
