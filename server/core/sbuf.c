/* sbuf.c — growable buffer (see sbuf.h). */
#include "core/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

static int sbuf_grow(sbuf *b, size_t need)
{
    size_t cap;
    char *nb;

    if (b->failed) return -1;
    if (b->len + need + 1 <= b->cap) return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + need + 1)
        cap *= 2;
    nb = realloc(b->buf, cap);
    if (!nb) {
        b->failed = 1;
        return -1;
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

void sbuf_append(sbuf *b, const char *s, size_t n)
{
    if (sbuf_grow(b, n) < 0) return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void sbuf_puts(sbuf *b, const char *s)
{
    sbuf_append(b, s, strlen(s));
}

void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sbuf_grow(b, (size_t)n) < 0) return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sbuf_html(sbuf *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *ent = NULL;
        switch (*s) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        sbuf_append(b, run, (size_t)(s - run));
        sbuf_puts(b, ent);
        run = s + 1;
    }
    sbuf_append(b, run, (size_t)(s - run));
}

int sbuf_failed(const sbuf *b)
{
    return b->failed;
}

char *sbuf_detach(sbuf *b, size_t *len)
{
    char *r = b->buf;
    if (len) *len = b->len;
    if (!r && !b->failed) r = calloc(1, 1);
    b->buf = NULL;
    b->len = b->cap = 0;
    return r;
}

void sbuf_release(sbuf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
