/* rclient.c — blocking client with timeouts (see rclient.h). */
#define _POSIX_C_SOURCE 200809L
#include "redis/rclient.h"
#include "redis/reader.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

struct rclient {
    redisContext *c;
    char addr[HP_ADDR_MAX];
    int timeout_ms; /* the connection's own per-command timeout */
    int bound_ms;   /* the socket timeout now set */
};

static void set_timeout(rclient *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (ms == c->bound_ms) return;
    redisSetTimeout(c->c, tv);
    c->bound_ms = ms;
}

rclient *rclient_connect(const char *addr, const char *user, const char *password, int timeout_ms,
                         char *err, size_t errsz)
{
    char host[HP_HOST_MAX];
    int port;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    rclient *c;

    if (hp_addr_parse(addr, host, sizeof(host), &port) < 0) {
        snprintf(err, errsz, "%s is not host:port", addr);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    hp_strlcpy(c->addr, addr, sizeof(c->addr));
    c->c = redisConnectWithTimeout(host, port, tv);
    if (!c->c || c->c->err) {
        snprintf(err, errsz, "%s: %s", addr, c->c ? c->c->errstr : "out of memory");
        goto fail;
    }
    resp_limit_reader(c->c->reader);
    c->timeout_ms = timeout_ms;
    c->bound_ms = -1;
    set_timeout(c, timeout_ms);
    if (password && password[0]) {
        redisReply *r = user && user[0] ? redisCommand(c->c, "AUTH %s %s", user, password)
                                        : redisCommand(c->c, "AUTH %s", password);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!ok) {
            snprintf(err, errsz, "%s: AUTH failed", addr); /* never the password */
            goto fail;
        }
    }
    return c;
fail:
    rclient_free(c);
    return NULL;
}

void rclient_free(rclient *c)
{
    if (!c) return;
    if (c->c) redisFree(c->c);
    free(c);
}

int rclient_fd(const rclient *c)
{
    return c->c->fd;
}

const char *rclient_addr(const rclient *c)
{
    return c->addr;
}

static redisReply *vcmd(rclient *c, char *err, size_t errsz, const char *fmt, va_list ap)
{
    redisReply *r = redisvCommand(c->c, fmt, ap);
    if (!r) {
        /* A socket timeout reads "Resource temporarily unavailable". */
        snprintf(err, errsz, "%s: %s", c->addr,
                 c->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                     ? "no answer (timed out)"
                 : c->c->errstr[0] ? c->c->errstr
                                   : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errsz, "%s: %s", c->addr, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *rclient_cmd(rclient *c, char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    va_start(ap, fmt);
    r = vcmd(c, err, errsz, fmt, ap);
    va_end(ap);
    return r;
}

int rclient_ok(rclient *c, char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    int rc = 0;
    va_start(ap, fmt);
    r = vcmd(c, err, errsz, fmt, ap);
    va_end(ap);
    if (!r) return -1;
    if (r->type != REDIS_REPLY_STATUS) {
        snprintf(err, errsz, "%s: unexpected reply", c->addr);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

int rclient_info(rclient *c, node_info *out, char *err, size_t errsz)
{
    redisReply *r = rclient_cmd(c, err, errsz, "INFO");
    int rc = -1;
    if (!r) return -1;
    if (r->type == REDIS_REPLY_STRING && info_parse(r->str, r->len, out) >= 0)
        rc = 0;
    else
        snprintf(err, errsz, "%s: INFO unreadable", c->addr);
    freeReplyObject(r);
    return rc;
}

void rclient_deadline(rclient *c, int64_t deadline)
{
    int64_t left;
    if (!deadline) {
        set_timeout(c, c->timeout_ms);
        return;
    }
    left = deadline - hp_mono_ms();
    if (left < 20) left = 20;
    set_timeout(c, left < c->timeout_ms ? (int)left : c->timeout_ms);
}

redisReply *rclient_transaction(rclient *c, char *err, size_t errsz, int n, char *const cmds[],
                                const int lens[], int *aborted)
{
    redisReply *r = NULL, *exec = NULL;
    int i, failed = 0;

    *aborted = 0;
    if (redisAppendCommand(c->c, "MULTI") != REDIS_OK) goto io;
    for (i = 0; i < n; i++)
        if (redisAppendFormattedCommand(c->c, cmds[i], (size_t)lens[i]) != REDIS_OK) goto io;
    if (redisAppendCommand(c->c, "EXEC") != REDIS_OK) goto io;
    /* MULTI's +OK, one +QUEUED (or an error) per command, then EXEC's. */
    for (i = 0; i < n + 2; i++) {
        if (redisGetReply(c->c, (void **)&r) != REDIS_OK || !r) goto io;
        if (i == n + 1) {
            exec = r;
            break;
        }
        if (r->type == REDIS_REPLY_ERROR && !failed) {
            snprintf(err, errsz, "%s: %s", c->addr, r->str);
            failed = 1;
        }
        freeReplyObject(r);
        r = NULL;
    }
    if (exec->type == REDIS_REPLY_ARRAY) return exec;
    if (!failed)
        snprintf(err, errsz, "%s: %s", c->addr,
                 exec->type == REDIS_REPLY_ERROR ? exec->str : "EXEC refused");
    *aborted = exec->type == REDIS_REPLY_ERROR && !strncmp(exec->str, "EXECABORT", 9);
    freeReplyObject(exec);
    return NULL;
io:
    snprintf(err, errsz, "%s: %s", c->addr, c->c->errstr[0] ? c->c->errstr : "no reply");
    return NULL;
}
