/* sreply.c — Sentinel reply and event payload parsing (see sreply.h). */
#include "redis/sreply.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

static void copy_str(char *dst, size_t dstsz, const redisReply *v)
{
    size_t n = v->len < dstsz - 1 ? v->len : dstsz - 1;
    memcpy(dst, v->str, n);
    dst[n] = '\0';
}

static int64_t to_i64(const redisReply *v)
{
    char tmp[32];
    char *end;
    long long n;

    if (v->type == REDIS_REPLY_INTEGER) return v->integer;
    if (v->len == 0 || v->len >= sizeof(tmp)) return -1;
    memcpy(tmp, v->str, v->len);
    tmp[v->len] = '\0';
    n = strtoll(tmp, &end, 10);
    return *end ? -1 : n;
}

static int key_is(const redisReply *k, const char *s)
{
    size_t n = strlen(s);
    return k->len == n && !memcmp(k->str, s, n);
}

static void entry_reset(sentinel_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->port = e->quorum = e->num_slaves = e->num_other_sentinels = -1;
    e->priority = e->master_port = -1;
    e->repl_offset = -1;
    e->info_refresh_ms = e->last_ok_ping_ms = e->link_down_ms = -1;
    e->down_after_ms = e->s_down_ms = e->failover_timeout_ms = -1;
}

static int read_entry(const redisReply *a, sentinel_entry *e)
{
    size_t i;

    entry_reset(e);
    if (a->type != REDIS_REPLY_ARRAY || a->elements % 2) return -1;
    for (i = 0; i + 1 < a->elements; i += 2) {
        const redisReply *k = a->element[i], *v = a->element[i + 1];
        if (k->type != REDIS_REPLY_STRING && k->type != REDIS_REPLY_STATUS) return -1;
        if (v->type != REDIS_REPLY_STRING && v->type != REDIS_REPLY_STATUS &&
            v->type != REDIS_REPLY_INTEGER)
            continue;
        if (v->type == REDIS_REPLY_INTEGER) {
            if (key_is(k, "port")) e->port = (int)v->integer;
            continue;
        }
        if (key_is(k, "name"))
            copy_str(e->name, sizeof(e->name), v);
        else if (key_is(k, "ip"))
            copy_str(e->ip, sizeof(e->ip), v);
        else if (key_is(k, "port"))
            e->port = (int)to_i64(v);
        else if (key_is(k, "flags"))
            copy_str(e->flags, sizeof(e->flags), v);
        else if (key_is(k, "quorum"))
            e->quorum = (int)to_i64(v);
        else if (key_is(k, "num-slaves"))
            e->num_slaves = (int)to_i64(v);
        else if (key_is(k, "num-other-sentinels"))
            e->num_other_sentinels = (int)to_i64(v);
        else if (key_is(k, "failover-state"))
            copy_str(e->failover_state, sizeof(e->failover_state), v);
        else if (key_is(k, "slave-priority") || key_is(k, "replica-priority"))
            e->priority = (int)to_i64(v);
        else if (key_is(k, "master-host"))
            copy_str(e->master_host, sizeof(e->master_host), v);
        else if (key_is(k, "master-port"))
            e->master_port = (int)to_i64(v);
        else if (key_is(k, "master-link-status"))
            copy_str(e->link_status, sizeof(e->link_status), v);
        else if (key_is(k, "slave-repl-offset"))
            e->repl_offset = to_i64(v);
        else if (key_is(k, "runid"))
            copy_str(e->runid, sizeof(e->runid), v);
        else if (key_is(k, "info-refresh"))
            e->info_refresh_ms = to_i64(v);
        else if (key_is(k, "last-ok-ping-reply"))
            e->last_ok_ping_ms = to_i64(v);
        else if (key_is(k, "master-link-down-time"))
            e->link_down_ms = to_i64(v);
        else if (key_is(k, "down-after-milliseconds"))
            e->down_after_ms = to_i64(v);
        else if (key_is(k, "failover-timeout"))
            e->failover_timeout_ms = to_i64(v);
        else if (key_is(k, "s-down-time"))
            e->s_down_ms = to_i64(v);
    }
    return e->ip[0] && e->port > 0 ? 0 : -1;
}

int sreply_entry(const redisReply *r, sentinel_entry *out)
{
    return r ? read_entry(r, out) : -1;
}

int sreply_entries(const redisReply *r, sentinel_entry *out, int max)
{
    size_t i;
    int n = 0;

    if (!r || r->type != REDIS_REPLY_ARRAY) return -1;
    for (i = 0; i < r->elements && n < max; i++) {
        if (read_entry(r->element[i], &out[n]) == 0) n++;
    }
    return n;
}

int sreply_has_flag(const char *flags, const char *word)
{
    size_t wl = strlen(word);
    const char *p = flags;

    while (p && *p) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == wl && !memcmp(p, word, wl)) return 1;
        p = c ? c + 1 : NULL;
    }
    return 0;
}

/* Splits payload into at most max space-separated words, each copied into
 * w[i] (size HP_ADDR_MAX). Returns the word count. */
static int split_words(const char *payload, char w[][HP_ADDR_MAX], int max)
{
    int n = 0;
    const char *p = payload;

    while (*p && n < max) {
        size_t l;
        while (*p == ' ')
            p++;
        if (!*p) break;
        l = strcspn(p, " ");
        if (l >= HP_ADDR_MAX) l = HP_ADDR_MAX - 1;
        memcpy(w[n], p, l);
        w[n][l] = '\0';
        n++;
        p += strcspn(p, " ");
    }
    return n;
}

int sreply_event(const char *type, const char *payload, sentinel_event *out)
{
    char w[10][HP_ADDR_MAX];
    int n = split_words(payload, w, 10), i;

    memset(out, 0, sizeof(*out));
    if (!strcmp(type, "+switch-master")) {
        if (n < 5) return -1;
        hp_strlcpy(out->cluster, w[0], sizeof(out->cluster));
        hp_addr_fmt(out->old_master, sizeof(out->old_master), w[1], atoi(w[2]));
        hp_addr_fmt(out->new_master, sizeof(out->new_master), w[3], atoi(w[4]));
        hp_strlcpy(out->node, out->new_master, sizeof(out->node));
        return 0;
    }
    if (n >= 4 && !strcmp(w[0], "master")) {
        hp_strlcpy(out->cluster, w[1], sizeof(out->cluster));
        hp_addr_fmt(out->node, sizeof(out->node), w[2], atoi(w[3]));
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!strcmp(w[i], "@") && i + 1 < n) {
            hp_strlcpy(out->cluster, w[i + 1], sizeof(out->cluster));
            if (i >= 4) hp_addr_fmt(out->node, sizeof(out->node), w[2], atoi(w[3]));
            return 0;
        }
    }
    return -1;
}
