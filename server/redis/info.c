/* info.c — INFO text parser (see info.h). The keys hapanel reads are a table:
 * name, kind, where in node_info; the few with their own syntax (role,
 * master_link_status, slaveN) are handled before the table. */
#include "redis/info.h"

#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

enum { F_I64, F_INT, F_DBL, F_STR, F_BOOL };

typedef struct info_field {
    const char *key;
    size_t klen; /* strlen(key): INFO has ~170 lines, each compared with every key */
    int kind;
    size_t off;
    size_t size; /* F_STR: buffer size */
} info_field;

#define FLD(k, kind, member)                                                                       \
    {                                                                                              \
        k, sizeof(k) - 1, kind, offsetof(node_info, member), sizeof(((node_info *)0)->member)      \
    }

static const info_field fields[] = {
    FLD("redis_version", F_STR, redis_version),
    FLD("redis_mode", F_STR, redis_mode),
    FLD("config_file", F_STR, config_file),
    FLD("uptime_in_seconds", F_I64, uptime_s),
    FLD("master_host", F_STR, master_host),
    FLD("master_port", F_INT, master_port),
    FLD("master_link_down_since_seconds", F_I64, link_down_since_s),
    FLD("master_sync_in_progress", F_INT, sync_in_progress),
    FLD("slave_repl_offset", F_I64, slave_repl_offset),
    FLD("slave_priority", F_INT, priority),
    FLD("replica_priority", F_INT, priority),
    FLD("master_repl_offset", F_I64, master_repl_offset),
    FLD("connected_slaves", F_INT, connected_slaves),
    FLD("used_memory", F_I64, used_memory),
    FLD("maxmemory", F_I64, maxmemory),
    FLD("mem_fragmentation_ratio", F_DBL, mem_fragmentation_ratio),
    FLD("connected_clients", F_I64, connected_clients),
    FLD("rdb_last_save_time", F_I64, rdb_last_save_time),
    FLD("rdb_last_bgsave_status", F_STR, rdb_last_bgsave_status),
    FLD("rdb_changes_since_last_save", F_I64, rdb_changes_since_last_save),
    FLD("rdb_bgsave_in_progress", F_BOOL, rdb_bgsave_in_progress),
    FLD("aof_enabled", F_BOOL, aof_enabled),
    FLD("aof_last_write_status", F_STR, aof_last_write_status),
    FLD("sync_full", F_I64, sync_full),
    FLD("total_commands_processed", F_I64, total_commands_processed),
    FLD("instantaneous_ops_per_sec", F_I64, ops_per_sec),
    FLD("loading", F_BOOL, loading),
};

static void info_reset(node_info *o)
{
    /* Not the replicas array (6 KB): parse_replica clears each entry it fills. */
    memset(o, 0, offsetof(node_info, replicas));
    o->nreplicas = o->nreplicas_total = 0;
    o->role = ROLE_UNKNOWN;
    o->uptime_s = -1;
    o->master_port = -1;
    o->link_up = -1;
    o->link_down_since_s = -1;
    o->slave_repl_offset = -1;
    o->priority = -1;
    o->master_repl_offset = -1;
    o->connected_slaves = -1;
    o->used_memory = o->maxmemory = -1;
    o->mem_fragmentation_ratio = -1;
    o->connected_clients = -1;
    o->rdb_last_save_time = -1;
    o->rdb_changes_since_last_save = -1;
    o->aof_enabled = -1;
    o->sync_full = -1;
    o->total_commands_processed = o->ops_per_sec = -1;
}

/* Copies the value [v, v+vl) into a field; numbers that do not parse are left
 * as they were (unknown). */
static void set_field(node_info *o, const info_field *f, const char *v, size_t vl)
{
    char tmp[64], *end;
    char *dst = (char *)o + f->off;

    if (f->kind == F_STR) {
        size_t n = vl < f->size - 1 ? vl : f->size - 1;
        memcpy(dst, v, n);
        dst[n] = '\0';
        return;
    }
    if (vl == 0 || vl >= sizeof(tmp)) return;
    memcpy(tmp, v, vl);
    tmp[vl] = '\0';
    if (f->kind == F_DBL) {
        double d = strtod(tmp, &end);
        if (*end == '\0') *(double *)(void *)dst = d;
    } else {
        long long n = strtoll(tmp, &end, 10);
        if (*end != '\0') return;
        if (f->kind == F_I64)
            *(int64_t *)(void *)dst = n;
        else
            *(int *)(void *)dst = (int)n;
    }
}

/* "ip=127.0.0.1,port=6380,state=online,offset=123,lag=0" */
static void parse_replica(node_info *o, const char *v, size_t vl)
{
    info_replica *r;
    const char *p = v, *end = v + vl;

    o->nreplicas_total++;
    if (o->nreplicas >= INFO_MAX_REPLICAS) return;
    r = &o->replicas[o->nreplicas];
    memset(r, 0, sizeof(*r));
    r->port = -1;
    r->offset = r->lag = -1;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *eq;
        char num[32];
        size_t kl, nl;
        if (!comma) comma = end;
        eq = memchr(p, '=', (size_t)(comma - p));
        if (eq) {
            const char *val = eq + 1;
            kl = (size_t)(eq - p);
            nl = (size_t)(comma - val);
            if (kl == 2 && !memcmp(p, "ip", 2)) {
                size_t n = nl < sizeof(r->ip) - 1 ? nl : sizeof(r->ip) - 1;
                memcpy(r->ip, val, n);
                r->ip[n] = '\0';
            } else if (kl == 5 && !memcmp(p, "state", 5)) {
                size_t n = nl < sizeof(r->state) - 1 ? nl : sizeof(r->state) - 1;
                memcpy(r->state, val, n);
                r->state[n] = '\0';
            } else if (nl < sizeof(num)) {
                memcpy(num, val, nl);
                num[nl] = '\0';
                if (kl == 4 && !memcmp(p, "port", 4))
                    r->port = atoi(num);
                else if (kl == 6 && !memcmp(p, "offset", 6))
                    r->offset = strtoll(num, NULL, 10);
                else if (kl == 3 && !memcmp(p, "lag", 3))
                    r->lag = strtoll(num, NULL, 10);
            }
        }
        p = comma + 1;
    }
    if (r->ip[0] && r->port > 0) o->nreplicas++;
}

static int parse_line(node_info *o, const char *k, size_t kl, const char *v, size_t vl)
{
    size_t i;

    if (kl == 4 && !memcmp(k, "role", 4)) {
        if (vl == 6 && !memcmp(v, "master", 6))
            o->role = ROLE_MASTER;
        else if (vl == 5 && !memcmp(v, "slave", 5))
            o->role = ROLE_REPLICA;
        return 1;
    }
    if (kl == 18 && !memcmp(k, "master_link_status", 18)) {
        o->link_up = vl == 2 && !memcmp(v, "up", 2);
        return 1;
    }
    if (kl > 5 && !memcmp(k, "slave", 5) && k[5] >= '0' && k[5] <= '9') {
        parse_replica(o, v, vl);
        return 1;
    }
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (fields[i].klen == kl && !memcmp(fields[i].key, k, kl)) {
            set_field(o, &fields[i], v, vl);
            return 1;
        }
    }
    return 0;
}

int info_parse(const char *text, size_t len, node_info *out)
{
    const char *p = text, *end = text + len;
    int kv = 0, known = 0;

    info_reset(out);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *colon;
        if (le > p && le[-1] == '\r') le--;
        if (le > p && *p != '#') {
            colon = memchr(p, ':', (size_t)(le - p));
            if (colon) {
                kv++;
                known +=
                    parse_line(out, p, (size_t)(colon - p), colon + 1, (size_t)(le - colon - 1));
            }
        }
        p = nl ? nl + 1 : end;
    }
    return kv ? known : -1;
}

const char *role_name(int role)
{
    switch (role) {
    case ROLE_MASTER:
        return "master";
    case ROLE_REPLICA:
        return "replica";
    default:
        return "unknown";
    }
}
