/* rclient.c — blocking client with timeouts (see rclient.h). */
#define _POSIX_C_SOURCE 200809L
#include "rclient.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

struct rclient {
    redisContext *c;
    char addr[HP_ADDR_MAX];
};

rclient *rclient_connect(const char *addr, const char *password, int timeout_ms, char *err,
                         size_t errsz)
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
    redisSetTimeout(c->c, tv);
    if (password && password[0]) {
        redisReply *r = redisCommand(c->c, "AUTH %s", password);
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
        snprintf(err, errsz, "%s: %s", c->addr, c->c->errstr[0] ? c->c->errstr : "no reply");
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
