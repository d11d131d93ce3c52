/* edge_parse.c — request heads and chunked bodies (see edge_parse.h). */
#include "web/edge_parse.h"

#include <string.h>
#include <strings.h>

#include "core/banned.h" /* last: after every system header */

static int refuse(edge_head *h, int status, const char *why)
{
    h->status = status;
    h->why = why;
    return -1;
}

/* RFC 9110 tchar */
static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Does the comma-separated list v (vl bytes) hold token t, in any case? */
static int has_token(const char *v, size_t vl, const char *t)
{
    size_t tl = strlen(t), i = 0;
    while (i < vl) {
        size_t s, e;
        while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < vl && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && !strncasecmp(v + s, t, tl)) return 1;
    }
    return 0;
}

static int name_is(const char *n, size_t nl, const char *want)
{
    return nl == strlen(want) && !strncasecmp(n, want, nl);
}

/* The request line: METHOD SP target SP HTTP/1.x; returns its length
 * without CRLF, or -1 (h says why). */
static int request_line(const char *p, size_t ll, edge_head *h)
{
    size_t i = 0, ms, ts;
    while (i < ll && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i > 16 || i >= ll || p[i] != ' ')
        return refuse(h, 400, "the request line is not METHOD /path HTTP/1.x");
    ms = i;
    h->is_head = ms == 4 && !memcmp(p, "HEAD", 4);
    ts = ++i;
    while (i < ll && p[i] != ' ') {
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] == 0x7f)
            return refuse(h, 400, "the request target has a control character");
        i++;
    }
    if (i - ts > EDGE_MAX_TARGET) return refuse(h, 414, "the URL is longer than 4096 bytes");
    if (i == ts || p[ts] != '/' || i >= ll)
        return refuse(h, 400, "the request line is not METHOD /path HTTP/1.x");
    i++;
    if (ll - i != 8 || memcmp(p + i, "HTTP/1.", 7))
        return refuse(h, 400, "the request line is not METHOD /path HTTP/1.x");
    if (p[i + 7] != '0' && p[i + 7] != '1')
        return refuse(h, 505, "only HTTP/1.0 and 1.1 are served");
    h->minor = p[i + 7] - '0';
    return 0;
}

int edge_parse_head(const char *buf, size_t len, edge_head *h)
{
    const char *end = NULL, *p, *line;
    int nhdr = 0, ncl = 0, nte = 0, nfwd = 0, nsig = 0, conn_close = 0, conn_keep = 0;
    size_t i;

    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    /* the blank line that ends the head, within the limit */
    for (i = 3; i < len && i < EDGE_MAX_HEAD; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = buf + i + 1;
            break;
        }
    if (!end) {
        /* a request line longer than the URL limit is refused as such */
        const char *nl = memchr(buf, '\n', len < EDGE_MAX_HEAD ? len : EDGE_MAX_HEAD);
        if (!nl && len > EDGE_MAX_TARGET + 32) {
            const char *sp = memchr(buf, ' ', len > 32 ? 32 : len);
            if (sp && len - (size_t)(sp - buf) > EDGE_MAX_TARGET + 1)
                return refuse(h, 414, "the URL is longer than 4096 bytes");
        }
        if (len >= EDGE_MAX_HEAD) return refuse(h, 431, "the request headers exceed 16 KiB");
        return 0;
    }
    h->head_len = (size_t)(end - buf);
    p = buf;
    line = memchr(p, '\n', (size_t)(end - p));
    if (!line || line == p || line[-1] != '\r')
        return refuse(h, 400, "the request line is not METHOD /path HTTP/1.x");
    if (request_line(p, (size_t)(line - 1 - p), h) < 0) return -1;
    p = line + 1;
    while (p < end - 2) { /* each header line; the final CRLF stays */
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;
        size_t nlen;
        if (!nl || nl == p || nl[-1] != '\r') return refuse(h, 400, "a header line is malformed");
        if (*p == ' ' || *p == '\t')
            return refuse(h, 400, "folded header lines (obs-fold) are not accepted");
        if (++nhdr > EDGE_MAX_HEADERS) return refuse(h, 431, "more than 64 request headers");
        colon = p;
        while (colon < nl && is_tchar((unsigned char)*colon))
            colon++;
        if (colon == p || colon >= nl || *colon != ':')
            return refuse(h, 400, "a header name is malformed");
        nlen = (size_t)(colon - p);
        v = colon + 1;
        ve = nl - 1;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *q = v; q < ve; q++)
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
                return refuse(h, 400, "a header value has a control character");
        if (name_is(p, nlen, "Content-Length")) {
            long long n = 0;
            const char *q;
            if (++ncl > 1)
                return refuse(h, 400, "the request has more than one Content-Length header");
            if (v == ve) return refuse(h, 400, "the Content-Length is not a number");
            for (q = v; q < ve; q++) {
                if (*q < '0' || *q > '9')
                    return refuse(h, 400, "the Content-Length is not a number");
                if (n > 1000000000000LL) return refuse(h, 413, "request body larger than 64 KiB");
                n = n * 10 + (*q - '0');
            }
            h->content_length = n;
        } else if (name_is(p, nlen, "Transfer-Encoding")) {
            if (++nte > 1)
                return refuse(h, 400, "the request has more than one Transfer-Encoding header");
            if (ve - v != 7 || strncasecmp(v, "chunked", 7))
                return refuse(h, 400, "the only Transfer-Encoding accepted is chunked");
            h->chunked = 1;
        } else if (name_is(p, nlen, "Connection")) {
            conn_close |= has_token(v, (size_t)(ve - v), "close");
            conn_keep |= has_token(v, (size_t)(ve - v), "keep-alive");
        } else if (name_is(p, nlen, "Expect")) {
            h->expect_continue = has_token(v, (size_t)(ve - v), "100-continue");
        } else if (name_is(p, nlen, EDGE_HEADER)) {
            return refuse(h, 400, "the X-Hapanel-Edge header is set by hapanel only");
        } else if ((name_is(p, nlen, "X-Hapanel-Forwarded") && ++nfwd > 1) ||
                   (name_is(p, nlen, "X-Hapanel-Forwarded-Sig") && ++nsig > 1)) {
            /* a peer's relayed request (web/forward.h) carries one of each:
             * the workers read the first, a proxy in front may read another */
            return refuse(h, 400, "the request has more than one X-Hapanel-Forwarded header");
        }
        p = nl + 1;
    }
    if (ncl && nte)
        return refuse(h, 400, "the request has both Content-Length and Transfer-Encoding");
    if (h->content_length > EDGE_MAX_BODY) return refuse(h, 413, "request body larger than 64 KiB");
    h->keep_alive = h->minor == 1 ? !conn_close : conn_keep && !conn_close;
    return 1;
}

enum {
    C_SIZE,
    C_SIZE_LF,
    C_DATA,
    C_DATA_CR,
    C_DATA_LF,
    C_TRAILER,
    C_TRAILER_LINE,
    C_TRAILER_LF,
    C_END_LF
};

static int bad(edge_chunks *c, const char *why)
{
    c->why = why;
    return -1;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int edge_chunks_feed(edge_chunks *c, const char *body, size_t len, size_t max)
{
    while (c->off < len) {
        char ch = body[c->off];
        switch (c->state) {
        case C_SIZE:
            if (hexval(ch) >= 0) {
                if (++c->ndigits > 8) return bad(c, "a chunk size is too large");
                c->remain = c->remain * 16 + (unsigned)hexval(ch);
            } else if (ch == '\r' && c->ndigits) {
                c->state = C_SIZE_LF;
            } else if (ch == ';') {
                return bad(c, "chunk extensions are not accepted");
            } else {
                return bad(c, "the chunked request body is malformed");
            }
            break;
        case C_SIZE_LF:
            if (ch != '\n') return bad(c, "the chunked request body is malformed");
            c->total += c->remain;
            if (c->total > max) return bad(c, "request body larger than 64 KiB");
            c->ndigits = 0;
            c->state = c->remain ? C_DATA : C_TRAILER;
            break;
        case C_DATA: {
            size_t n = len - c->off;
            if (n > c->remain) n = (size_t)c->remain;
            c->remain -= n;
            c->off += n;
            if (!c->remain) c->state = C_DATA_CR;
            continue;
        }
        case C_DATA_CR:
            if (ch != '\r') return bad(c, "a chunk is longer than its size");
            c->state = C_DATA_LF;
            break;
        case C_DATA_LF:
            if (ch != '\n') return bad(c, "a chunk is longer than its size");
            c->state = C_SIZE;
            break;
        case C_TRAILER:
            c->state = ch == '\r' ? C_END_LF : C_TRAILER_LINE;
            break;
        case C_TRAILER_LINE:
            if (ch == '\r') c->state = C_TRAILER_LF;
            break;
        case C_TRAILER_LF:
            if (ch != '\n') return bad(c, "the chunked request body is malformed");
            c->state = C_TRAILER;
            break;
        case C_END_LF:
            if (ch != '\n') return bad(c, "the chunked request body is malformed");
            c->off++;
            return 1;
        default:
            return bad(c, "the chunked request body is malformed");
        }
        c->off++;
    }
    return 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 400 ? "OK" : "Error";
    }
}
