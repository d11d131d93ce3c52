/* drill.c — the failover drill (see drill.h).
 *
 * What it measures is what an application sees, so the probe behaves like
 * one: it asks the Sentinels for the master (the first that answers, in
 * order), writes SET <prefix><drill id>:<n> <n> every probe_interval_ms with
 * a short timeout, and on any error rediscovers and reconnects. Every
 * acknowledgement is kept (n, time, the address that acked it), so after the
 * failover the new master can be asked for each acked key: one missing is a
 * write the application was told had succeeded and that the failover lost.
 * The Sentinels' own account (when they noticed, promoted, switched) comes
 * from a PSUBSCRIBE this recipe opens on each of them, not from the
 * monitor, whose timestamps are its poll's.
 *
 * The drill is not the failover: graceful and force call recipe_failover
 * with its undo and recovery as they are; kill-master sends the kill and
 * lets the Sentinels act. A crash of hapanel mid-drill leaves probe keys
 * (named by the drill id, so the recovery finds them) and maybe a failover
 * in progress, which recipe_failover_recover finishes or puts back. */
#define _POSIX_C_SOURCE 200809L
#include "actions/drill.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/jobs.h"
#include "actions/recipes.h"
#include "actions/steps.h"
#include "db/drills.h"
#include "model/topology.h"
#include "redis/rclient.h"
#include "core/banned.h" /* last: after every system header */

#define PROBE_CALL_MS 200      /* each probe write and discovery call */
#define PROBE_REDISCOVER_MS 50 /* at most this often after an error */
#define BASELINE_MS 1000       /* writes on the old master before the failover */
#define BASELINE_MAX_MS 5000   /* ... waiting this long at most for the first ack */
#define AGREE_POLL_MS 50
#define READBACK_BATCH 500
#define KILL_CALL_MS 300 /* DEBUG SLEEP blocks its connection: we do not wait for it */
#define MAX_ADDRS 16     /* distinct addresses the probe was acked by */
#define MAX_MARKS 24
#define RECOVER_MAX_MS 20000 /* a recovery retries deleting the probe keys this long */
#ifndef MAX_ACKS
/* The acks kept (24 bytes each): past this the probe stops writing, so a
 * drill configured to run for hours at 1 ms cannot eat the panel's memory
 * (the default 10 ms for the default 60 s timeout is ~6,000). */
#define MAX_ACKS (1 << 20)
#endif

typedef struct ack {
    int64_t n, t; /* t: hp_mono_ms() at the acknowledgement */
    int addr;     /* index into drill.addrs */
} ack;

typedef struct mark {
    int64_t t; /* hp_mono_ms() */
    char what[160];
} mark;

typedef struct drill {
    job *jb;
    const config *cfg;
    const cfg_group *grp; /* the cluster's Sentinel group (job_group) */
    char name[HP_NAME_MAX];
    char mode[16];
    char prefix[160]; /* <key_prefix><drill id>: */
    char sentinels[MAX_NODES][HP_ADDR_MAX];
    int nsent;
    char old[HP_ADDR_MAX];
    char reps[MAX_NODES][HP_ADDR_MAX]; /* the replicas, watched for role:master */
    int nreps;
    char kill_cmd[48];
    hp_drill row;
    int64_t t0;

    pthread_mutex_t lock; /* the fields below, shared with the two threads */
    int stop_probe, stop_watch;
    ack *acks;
    size_t nacks, cap;
    char addrs[MAX_ADDRS][HP_ADDR_MAX];
    int naddrs;
    int64_t writes_failed;
    int64_t acks_dropped; /* acknowledged, not kept (MAX_ACKS, MAX_ADDRS, memory) */
    int probe_full;       /* MAX_ACKS reached: the probe stopped writing */
    int watch_ready;      /* the watch has subscribed (or tried) */
    char agree_why[160];  /* why the Sentinels do not agree yet */
    char probe_err[256];
    int armed; /* the failover was requested or the kill sent */
    int64_t t_request, t_detect, t_promote, t_switch, t_agree, t_role;
    char detect_what[48], promoted[HP_ADDR_MAX], switched[HP_ADDR_MAX], agreed[HP_ADDR_MAX];
    char role_master[HP_ADDR_MAX]; /* the replica that first answered role:master */
    char promote_how[24];
    int subscribed; /* Sentinels the watch subscribed to */
    mark marks[MAX_MARKS];
    int nmarks;
} drill;

static int64_t now_ms(void)
{
    return hp_mono_ms();
}

static void add_mark(drill *d, int64_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_mark(drill *d, int64_t t, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&d->lock);
    if (d->nmarks < MAX_MARKS) {
        mark *m = &d->marks[d->nmarks++];
        m->t = t;
        va_start(ap, fmt);
        vsnprintf(m->what, sizeof(m->what), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&d->lock);
}

static int flag(drill *d, const int *f)
{
    int v;
    pthread_mutex_lock(&d->lock);
    v = *f;
    pthread_mutex_unlock(&d->lock);
    return v;
}

static int64_t agreed_at(drill *d)
{
    int64_t v;
    pthread_mutex_lock(&d->lock);
    v = d->t_agree;
    pthread_mutex_unlock(&d->lock);
    return v;
}

static void drill_event(job *jb, const char *type, const char *sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void drill_event(job *jb, const char *type, const char *sev, const char *fmt, ...)
{
    hp_event e;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hp_event_set(&e, EV_PANEL, job_cluster(jb), type, sev, "panel", NULL, msg);
    e.job_id = job_id(jb);
    evq_push(job_events(jb), &e);
}

/* ------------------------------------------------------------------ probe */

/* The master as an application finds it: the first Sentinel that answers,
 * in order. 0 with out set, or -1. */
static int discover(const drill *d, char *out, size_t outsz, char *err, size_t errsz)
{
    int i;
    for (i = 0; i < d->nsent; i++) {
        rclient *s = step__sentinel_connect(d->grp, d->sentinels[i], PROBE_CALL_MS, err, errsz);
        int rc = s ? step__sentinel_master_addr(s, d->name, out, outsz, err, errsz) : -1;
        rclient_free(s);
        if (rc == 0) return 0;
    }
    return -1;
}

/* Keeps an acknowledgement; one that cannot be kept (MAX_ACKS, more than
 * MAX_ADDRS addresses, no memory) is counted in acks_dropped, never lost
 * silently. Returns 0, or -1 once MAX_ACKS are kept (stop writing). */
static int record_ack(drill *d, int64_t n, int64_t t, const char *addr)
{
    int i, rc = 0;
    pthread_mutex_lock(&d->lock);
    for (i = 0; i < d->naddrs && strcmp(d->addrs[i], addr); i++)
        ;
    if (i == d->naddrs && d->naddrs < MAX_ADDRS)
        hp_strlcpy(d->addrs[d->naddrs++], addr, HP_ADDR_MAX);
    if (i < MAX_ADDRS && d->nacks == d->cap && d->cap < MAX_ACKS) {
        size_t cap = d->cap ? d->cap * 2 : 4096;
        ack *a;
        if (cap > MAX_ACKS) cap = MAX_ACKS;
        a = realloc(d->acks, cap * sizeof(*a));
        if (a) {
            d->acks = a;
            d->cap = cap;
        }
    }
    if (i < MAX_ADDRS && d->nacks < d->cap)
        d->acks[d->nacks++] = (ack){n, t, i};
    else
        d->acks_dropped++;
    if (d->nacks >= MAX_ACKS) {
        d->probe_full = 1;
        rc = -1;
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static void *probe_main(void *arg)
{
    drill *d = arg;
    rclient *c = NULL;
    char addr[HP_ADDR_MAX] = "", err[256] = "";
    int64_t n = 0, next_discover = 0, next_write = now_ms();
    int interval = d->cfg->drill_probe_interval_ms;

    while (!flag(d, &d->stop_probe)) {
        int64_t t = now_ms();
        if (!c && t >= next_discover) {
            next_discover = t + PROBE_REDISCOVER_MS;
            if (discover(d, addr, sizeof(addr), err, sizeof(err)) == 0)
                c = step__node_connect(d->grp, addr, PROBE_CALL_MS, err, sizeof(err));
            if (!c) {
                pthread_mutex_lock(&d->lock);
                hp_strlcpy(d->probe_err, err, sizeof(d->probe_err));
                pthread_mutex_unlock(&d->lock);
            }
        }
        if (c && !flag(d, &d->probe_full)) {
            redisReply *r;
            int ok;
            n++;
            rclient_deadline(c, now_ms() + PROBE_CALL_MS);
            r = rclient_cmd(c, err, sizeof(err), "SET %s%lld %lld", d->prefix, (long long)n,
                            (long long)n);
            ok = r && r->type == REDIS_REPLY_STATUS && r->str && !strcmp(r->str, "OK");
            freeReplyObject(r);
            if (ok) {
                (void)record_ack(d, n, now_ms(), addr);
            } else {
                /* READONLY, a timeout, a lost connection: as an application
                 * would, ask the Sentinels again */
                pthread_mutex_lock(&d->lock);
                d->writes_failed++;
                hp_strlcpy(d->probe_err, err, sizeof(d->probe_err));
                pthread_mutex_unlock(&d->lock);
                rclient_free(c);
                c = NULL;
            }
        }
        next_write += interval;
        t = now_ms();
        if (next_write < t) next_write = t;
        while ((t = now_ms()) < next_write && !flag(d, &d->stop_probe))
            step__sleep_ms(next_write - t > 20 ? 20 : (int)(next_write - t));
    }
    rclient_free(c);
    return NULL;
}

/* ------------------------------------------------------------------ watch */

/* A raw connection for PSUBSCRIBE (rclient reads one reply per command). */
static redisContext *sub_connect(const drill *d, const char *addr)
{
    char buf[HP_ADDR_MAX], host[HP_HOST_MAX];
    const cfg_group *g = d->grp;
    const char *a = config_map_addr(g, addr, buf, sizeof(buf));
    struct timeval tv = {0, 500 * 1000};
    redisContext *c;
    redisReply *r = NULL;
    int port;

    if (hp_addr_parse(a, host, sizeof(host), &port) < 0) return NULL;
    c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) goto fail;
    redisSetTimeout(c, tv);
    if (g->sentinel_password[0]) {
        r = g->sentinel_user[0]
                ? redisCommand(c, "AUTH %s %s", g->sentinel_user, g->sentinel_password)
                : redisCommand(c, "AUTH %s", g->sentinel_password);
        if (!r || r->type != REDIS_REPLY_STATUS) goto fail;
        freeReplyObject(r);
    }
    r = redisCommand(c, "PSUBSCRIBE *");
    if (!r || r->type != REDIS_REPLY_ARRAY) goto fail;
    freeReplyObject(r);
    return c;
fail:
    freeReplyObject(r);
    if (c) redisFree(c);
    return NULL;
}

/* Whether a Sentinel event's message is about our master: "master <name>
 * ...", "... @ <name> ..." or, for +switch-master, "<name> ...". */
static int about_us(const drill *d, const char *type, const char *msg)
{
    char w[16][HP_ADDR_MAX];
    int n = 0, i;
    const char *p = msg;
    while (*p && n < 16) {
        size_t k = strcspn(p, " ");
        if (k && k < HP_ADDR_MAX) {
            memcpy(w[n], p, k);
            w[n++][k] = '\0';
        }
        p += k;
        p += strspn(p, " ");
    }
    if (n >= 2 && !strcmp(w[0], "master") && !strcmp(w[1], d->name)) return 1;
    if (n >= 1 && !strcmp(type, "+switch-master") && !strcmp(w[0], d->name)) return 1;
    for (i = 0; i + 1 < n; i++)
        if (!strcmp(w[i], "@") && !strcmp(w[i + 1], d->name)) return 1;
    return 0;
}

static void on_sentinel_event(drill *d, const char *type, const char *msg, int64_t t)
{
    int kill = !strcmp(d->mode, "kill-master");
    int start = !strcmp(type, "+try-failover") || !strncmp(type, "+failover-state-", 16);
    int down = !strcmp(type, "+sdown") || !strcmp(type, "+odown");

    if (!about_us(d, type, msg)) return;
    pthread_mutex_lock(&d->lock);
    if (!d->armed) goto out;
    /* graceful and force: the Sentinel starting the failover asked of it;
     * kill-master: the first Sentinel to see the master down */
    if (!d->t_detect && (start || (kill && down && !strncmp(msg, "master ", 7)))) {
        d->t_detect = t;
        hp_strlcpy(d->detect_what, type, sizeof(d->detect_what));
    }
    if (!d->t_promote && !strcmp(type, "+promoted-slave")) {
        char ip[HP_HOST_MAX];
        int port;
        /* "slave <ip:port> <ip> <port> @ <name> ..." */
        if (sscanf(msg, "%*s %*s %63s %d", ip, &port) == 2) {
            d->t_promote = t;
            hp_addr_fmt(d->promoted, sizeof(d->promoted), ip, port);
        }
    }
    if (!d->t_switch && !strcmp(type, "+switch-master")) {
        char ip[HP_HOST_MAX];
        int port;
        /* "<name> <old ip> <old port> <new ip> <new port>" */
        if (sscanf(msg, "%*s %*s %*s %63s %d", ip, &port) == 2) {
            d->t_switch = t;
            hp_addr_fmt(d->switched, sizeof(d->switched), ip, port);
        }
    }
out:
    pthread_mutex_unlock(&d->lock);
}

/* Reads what is buffered on c; -1 when the connection failed. */
static int drain(drill *d, redisContext *c, int read_first)
{
    void *rep;
    if (read_first && redisBufferRead(c) != REDIS_OK) return -1;
    for (;;) {
        redisReply *r;
        if (redisGetReplyFromReader(c, &rep) != REDIS_OK) return -1;
        if (!rep) return 0;
        r = rep;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
            r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "pmessage") &&
            r->element[2]->type == REDIS_REPLY_STRING && r->element[3]->type == REDIS_REPLY_STRING)
            on_sentinel_event(d, r->element[2]->str, r->element[3]->str, now_ms());
        freeReplyObject(r);
    }
}

/* Why the Sentinels do not agree yet, for the drill's failure message. */
static void agree_note(drill *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void agree_note(drill *d, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&d->lock);
    va_start(ap, fmt);
    vsnprintf(d->agree_why, sizeof(d->agree_why), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&d->lock);
}

/* Every Sentinel names the same master, not the old one: 1 with it in out;
 * 0 with the first Sentinel that holds it back in d->agree_why. Each call is
 * bounded (PROBE_CALL_MS per Sentinel): a hung Sentinel costs a timeout,
 * never a hang. */
static int all_agree(drill *d, rclient **conns, char *out, size_t outsz)
{
    char seen[HP_ADDR_MAX], err[256];
    int i;
    out[0] = '\0';
    for (i = 0; i < d->nsent; i++) {
        if (!conns[i])
            conns[i] =
                step__sentinel_connect(d->grp, d->sentinels[i], PROBE_CALL_MS, err, sizeof(err));
        if (!conns[i]) {
            agree_note(d, "Sentinel %s is not reachable", d->sentinels[i]);
            return 0;
        }
        rclient_deadline(conns[i], now_ms() + PROBE_CALL_MS);
        if (step__sentinel_master_addr(conns[i], d->name, seen, sizeof(seen), err, sizeof(err)) <
            0) {
            rclient_free(conns[i]);
            conns[i] = NULL;
            agree_note(d, "Sentinel %s does not answer", d->sentinels[i]);
            return 0;
        }
        if (!strcmp(seen, d->old) || (out[0] && strcmp(seen, out))) {
            agree_note(d, "Sentinel %s names %s", d->sentinels[i], seen);
            return 0;
        }
        hp_strlcpy(out, seen, outsz);
    }
    return out[0] != '\0';
}

/* The first replica to answer role:master in INFO after the failover was
 * asked for: the promotion as the node has it (Sentinel's +promoted-slave
 * comes at its next INFO of it, up to a second later). Only a node seen as
 * a replica first counts: an old master of an earlier failover that
 * Sentinel has not converted yet still says master. */
static void poll_roles(drill *d, rclient **conns, int *was_replica)
{
    char err[256];
    int i, armed = flag(d, &d->armed);
    for (i = 0; i < d->nreps; i++) {
        node_info in;
        if (!conns[i])
            conns[i] = step__node_connect(d->grp, d->reps[i], PROBE_CALL_MS, err, sizeof(err));
        if (!conns[i]) continue;
        rclient_deadline(conns[i], now_ms() + PROBE_CALL_MS);
        if (rclient_info(conns[i], &in, err, sizeof(err)) < 0) {
            rclient_free(conns[i]);
            conns[i] = NULL;
            continue;
        }
        if (in.role == ROLE_REPLICA) was_replica[i] = 1;
        if (in.role == ROLE_MASTER && was_replica[i] && armed) {
            pthread_mutex_lock(&d->lock);
            d->t_role = now_ms();
            hp_strlcpy(d->role_master, d->reps[i], sizeof(d->role_master));
            pthread_mutex_unlock(&d->lock);
            return;
        }
    }
}

static void *watch_main(void *arg)
{
    drill *d = arg;
    redisContext *subs[MAX_NODES] = {0};
    rclient *conns[MAX_NODES] = {0}, *nconns[MAX_NODES] = {0};
    int64_t role_seen = 0, next_roles = 0;
    int was_replica[MAX_NODES] = {0};
    struct pollfd pf[MAX_NODES];
    int64_t next_poll = 0;
    int i;

    for (i = 0; i < d->nsent; i++)
        subs[i] = sub_connect(d, d->sentinels[i]);
    pthread_mutex_lock(&d->lock);
    for (i = 0; i < d->nsent; i++)
        d->subscribed += subs[i] != NULL;
    d->watch_ready = 1;
    pthread_mutex_unlock(&d->lock);
    while (!flag(d, &d->stop_watch)) {
        for (i = 0; i < d->nsent; i++)
            if (subs[i] && drain(d, subs[i], 0) < 0) { /* what the subscribe read ahead */
                redisFree(subs[i]);
                subs[i] = NULL;
            }
        for (i = 0; i < d->nsent; i++) {
            pf[i].fd = subs[i] ? subs[i]->fd : -1;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        poll(pf, (nfds_t)d->nsent, AGREE_POLL_MS);
        for (i = 0; i < d->nsent; i++)
            if (subs[i] && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                drain(d, subs[i], 1) < 0) {
                redisFree(subs[i]);
                subs[i] = NULL;
            }
        pthread_mutex_lock(&d->lock);
        role_seen = d->t_role;
        pthread_mutex_unlock(&d->lock);
        if (!role_seen && now_ms() >= next_roles) {
            next_roles = now_ms() + AGREE_POLL_MS;
            poll_roles(d, nconns, was_replica);
        }
        if (flag(d, &d->armed) && !agreed_at(d) && now_ms() >= next_poll) {
            char master[HP_ADDR_MAX];
            next_poll = now_ms() + AGREE_POLL_MS;
            if (all_agree(d, conns, master, sizeof(master))) {
                pthread_mutex_lock(&d->lock);
                d->t_agree = now_ms();
                hp_strlcpy(d->agreed, master, sizeof(d->agreed));
                pthread_mutex_unlock(&d->lock);
            }
        }
    }
    for (i = 0; i < d->nsent; i++) {
        if (subs[i]) redisFree(subs[i]);
        rclient_free(conns[i]);
    }
    for (i = 0; i < d->nreps; i++)
        rclient_free(nconns[i]);
    return NULL;
}

/* ------------------------------------------------------ after the failover */

/* A raw connection to a node, for the commands with many arguments (MGET,
 * UNLINK): NULL with the reason in err. */
static redisContext *node_raw(const cfg_group *g, const char *addr, char *err, size_t errsz)
{
    char buf[HP_ADDR_MAX], host[HP_HOST_MAX];
    const char *a = config_map_addr(g, addr, buf, sizeof(buf));
    struct timeval tv = {2, 0};
    redisContext *c;
    redisReply *r = NULL;
    int port;

    if (hp_addr_parse(a, host, sizeof(host), &port) < 0) {
        snprintf(err, errsz, "%s is not host:port", addr);
        return NULL;
    }
    c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        snprintf(err, errsz, "%s: %s", addr, c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (g->redis_password[0]) {
        r = g->redis_user[0] ? redisCommand(c, "AUTH %s %s", g->redis_user, g->redis_password)
                             : redisCommand(c, "AUTH %s", g->redis_password);
        if (!r || r->type != REDIS_REPLY_STATUS) {
            snprintf(err, errsz, "%s: AUTH failed", addr); /* never the password */
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    freeReplyObject(r);
    if (c) redisFree(c);
    return NULL;
}

/* Reads every acked key back from master (MGET, READBACK_BATCH at a time):
 * *lost gets those missing or holding another value. 0, or -1 with err. */
static int readback(const drill *d, const char *master, int64_t *lost, char *err, size_t errsz)
{
    redisContext *c = node_raw(d->grp, master, err, errsz);
    const char **argv = NULL;
    size_t *lens = NULL, i, j, k;
    char(*keys)[192] = NULL;
    int rc = -1;

    *lost = 0;
    if (!c) return -1;
    argv = malloc(sizeof(*argv) * (READBACK_BATCH + 1));
    lens = malloc(sizeof(*lens) * (READBACK_BATCH + 1));
    keys = malloc(sizeof(*keys) * READBACK_BATCH);
    if (!argv || !lens || !keys) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    for (i = 0; i < d->nacks; i += READBACK_BATCH) {
        size_t n = d->nacks - i < READBACK_BATCH ? d->nacks - i : READBACK_BATCH;
        redisReply *r;
        argv[0] = "MGET";
        lens[0] = 4;
        for (j = 0; j < n; j++) {
            snprintf(keys[j], sizeof(keys[j]), "%s%lld", d->prefix, (long long)d->acks[i + j].n);
            argv[j + 1] = keys[j];
            lens[j + 1] = strlen(keys[j]);
        }
        r = redisCommandArgv(c, (int)n + 1, argv, lens);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
            snprintf(err, errsz, "%s: MGET failed: %s", master,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            freeReplyObject(r);
            goto out;
        }
        for (k = 0; k < n; k++) {
            char want[24];
            snprintf(want, sizeof(want), "%lld", (long long)d->acks[i + k].n);
            if (r->element[k]->type != REDIS_REPLY_STRING || strcmp(r->element[k]->str, want))
                (*lost)++;
        }
        freeReplyObject(r);
    }
    rc = 0;
out:
    free(argv);
    free(lens);
    free(keys);
    redisFree(c);
    return rc;
}

/* The application clients still connected to the old master: CLIENT LIST
 * TYPE normal without this connection, without connections named hapanel*
 * or sentinel-* (each Sentinel's command connection) and without unnamed ones whose last command is
 * one hapanel's monitor sends (INFO, CONFIG GET): the monitor does not name its connections. -1
 * when it does not answer. */
static int64_t clients_left(const cfg_group *g, const char *addr, int64_t *excluded)
{
    char err[256];
    rclient *c = step__node_connect(g, addr, 500, err, sizeof(err));
    redisReply *me = c ? rclient_cmd(c, err, sizeof(err), "CLIENT ID") : NULL;
    redisReply *r = me ? rclient_cmd(c, err, sizeof(err), "CLIENT LIST TYPE normal") : NULL;
    int64_t n = -1;
    const char *p;

    *excluded = 0;
    if (r && r->type == REDIS_REPLY_STRING && me->type == REDIS_REPLY_INTEGER) {
        n = 0;
        for (p = r->str; *p;) {
            size_t len = strcspn(p, "\n");
            char line[1024], name[128] = "", cmd[64] = "";
            long long id = -1;
            const char *f;
            snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1),
                     p);
            p += len;
            p += *p == '\n';
            if (!line[0] || line[0] == '\r') continue;
            if ((f = strstr(line, "id=")) == line) id = strtoll(f + 3, NULL, 10);
            if ((f = strstr(line, " name=")) != NULL) sscanf(f + 6, "%127[^ ]", name);
            if ((f = strstr(line, " cmd=")) != NULL) sscanf(f + 5, "%63[^ ]", cmd);
            if (id == me->integer) continue;
            if (!strncmp(name, "hapanel", 7) || !strncmp(name, "sentinel-", 9) ||
                (!name[0] && (!strcmp(cmd, "info") || !strcmp(cmd, "config|get")))) {
                (*excluded)++;
                continue;
            }
            n++;
        }
    }
    freeReplyObject(r);
    freeReplyObject(me);
    rclient_free(c);
    return n;
}

#define UNLINK_BATCH 1000
#define DELETE_MAX_MS 30000

/* UNLINK keys[from..to) on c (at most UNLINK_BATCH): the count deleted, or
 * -1 with err. */
static int64_t unlink_some(redisContext *c, const char *master, const redisReply *keys, size_t from,
                           size_t to, char *err, size_t errsz)
{
    const char *argv[UNLINK_BATCH + 1];
    size_t lens[UNLINK_BATCH + 1], n = 0, i;
    redisReply *u;
    int64_t rc = -1;

    argv[n] = "UNLINK";
    lens[n++] = 6;
    for (i = from; i < to && n <= UNLINK_BATCH; i++) {
        argv[n] = keys->element[i]->str;
        lens[n++] = keys->element[i]->len;
    }
    u = redisCommandArgv(c, (int)n, argv, lens);
    if (u && u->type == REDIS_REPLY_INTEGER)
        rc = u->integer;
    else
        snprintf(err, errsz, "%s: UNLINK failed: %s", master,
                 u && u->type == REDIS_REPLY_ERROR ? u->str : c->errstr);
    freeReplyObject(u);
    return rc;
}

/* SCAN MATCH <prefix>* + UNLINK on master (the prefix's glob characters
 * escaped), every key SCAN returns (COUNT is a hint: a batch may hold more,
 * e.g. while the keyspace rehashes), bounded by DELETE_MAX_MS. Returns the
 * keys deleted, or -1 with err. */
static int64_t delete_keys(const cfg_group *g, const char *master, const char *prefix, char *err,
                           size_t errsz)
{
    redisContext *c = node_raw(g, master, err, errsz);
    char pat[400], cursor[32] = "0";
    size_t o = 0;
    const char *s;
    int64_t deleted = 0, deadline = now_ms() + DELETE_MAX_MS;

    if (!c) return -1;
    for (s = prefix; *s && o + 3 < sizeof(pat); s++) {
        if (strchr("*?[]\\", *s)) pat[o++] = '\\';
        pat[o++] = *s;
    }
    pat[o++] = '*';
    pat[o] = '\0';
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pat), *keys;
        size_t i;
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errsz, "%s: SCAN failed: %s", master,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            freeReplyObject(r);
            deleted = -1;
            break;
        }
        hp_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
        keys = r->element[1];
        for (i = 0; i < keys->elements && deleted >= 0; i += UNLINK_BATCH) {
            size_t to = keys->elements - i > UNLINK_BATCH ? i + UNLINK_BATCH : keys->elements;
            int64_t k = unlink_some(c, master, keys, i, to, err, errsz);
            deleted = k < 0 ? -1 : deleted + k;
        }
        freeReplyObject(r);
        if (deleted < 0) break;
        if (strcmp(cursor, "0") && now_ms() >= deadline) {
            snprintf(err, errsz, "%s: %lld keys deleted, the rest not within %d ms", master,
                     (long long)deleted, DELETE_MAX_MS);
            deleted = -1;
            break;
        }
    } while (strcmp(cursor, "0"));
    redisFree(c);
    return deleted;
}

/* ----------------------------------------------------------------- report */

static void opt_ms(cJSON *o, const char *k, int64_t from, int64_t to)
{
    if (from && to)
        cJSON_AddNumberToObject(o, k, (double)(to - from));
    else
        cJSON_AddNullToObject(o, k);
}

/* A number, or null when negative (unknown). */
static void num_opt(cJSON *o, const char *k, int64_t v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, k, (double)v);
    else
        cJSON_AddNullToObject(o, k);
}

static int mark_cmp(const void *a, const void *b)
{
    const mark *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* The timeline's markers (kind, text) at their times, sorted. */
static cJSON *timeline(drill *d)
{
    cJSON *a = cJSON_CreateArray();
    int i;
    qsort(d->marks, (size_t)d->nmarks, sizeof(d->marks[0]), mark_cmp);
    for (i = 0; i < d->nmarks; i++) {
        cJSON *o = cJSON_CreateObject();
        const char *sp = strchr(d->marks[i].what, '|');
        cJSON_AddNumberToObject(o, "t_ms", (double)(d->marks[i].t - d->t0));
        cJSON_AddStringToObject(o, "what", sp ? sp + 1 : d->marks[i].what);
        if (sp) {
            char kind[32];
            snprintf(kind, sizeof(kind), "%.*s", (int)(sp - d->marks[i].what), d->marks[i].what);
            cJSON_AddStringToObject(o, "kind", kind);
        }
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* Stores the row (state and report): 0, or -1 (with a warning step). */
static int save_row(drill *d, const char *state, cJSON *report)
{
    char *text = report ? cJSON_PrintUnformatted(report) : NULL;
    int rc = 0;
    hp_strlcpy(d->row.state, state, sizeof(d->row.state));
    d->row.report = text;
    if (evq_drill_save(job_events(d->jb), &d->row) < 0) {
        job_step(d->jb, "warning: the drill's row could not be stored");
        rc = -1;
    }
    d->row.report = NULL;
    cJSON_free(text);
    return rc;
}

/* ----------------------------------------------------------------- recipe */

static void stop_threads(drill *d, int *probe_on, int *watch_on, pthread_t probe, pthread_t watch)
{
    if (*probe_on) {
        pthread_mutex_lock(&d->lock);
        d->stop_probe = 1;
        pthread_mutex_unlock(&d->lock);
        pthread_join(probe, NULL);
        *probe_on = 0;
        add_mark(d, now_ms(), "probe-stopped|probe stopped");
    }
    if (*watch_on) {
        pthread_mutex_lock(&d->lock);
        d->stop_watch = 1;
        pthread_mutex_unlock(&d->lock);
        pthread_join(watch, NULL);
        *watch_on = 0;
    }
}

/* Sends the kill on its own connection: SHUTDOWN NOSAVE gets no answer,
 * DEBUG SLEEP holds the connection; either way it is closed unread. */
static void send_kill(drill *d)
{
    char err[256];
    rclient *c = step__node_connect(d->grp, d->old, KILL_CALL_MS * 2, err, sizeof(err));
    redisReply *r;
    if (!c) {
        job_step(d->jb, "could not connect to %s to send %s: %s", d->old, d->kill_cmd, err);
        return;
    }
    rclient_deadline(c, now_ms() + KILL_CALL_MS);
    if (!strcmp(d->cfg->drill_kill_method, "sleep"))
        r = rclient_cmd(c, err, sizeof(err), "DEBUG SLEEP %d", d->cfg->drill_kill_sleep_s);
    else
        r = rclient_cmd(c, err, sizeof(err), "SHUTDOWN NOSAVE");
    freeReplyObject(r);
    rclient_free(c);
    job_step(d->jb, "%s sent to the master %s", d->kill_cmd, d->old);
}

static int drill_run(drill *d, cJSON *rep, char *why, size_t whysz)
{
    const config *cfg = d->cfg;
    job *jb = d->jb;
    int kill = !strcmp(d->mode, "kill-master"), probe_on = 0, watch_on = 0, rc = -1;
    pthread_t probe = 0, watch = 0;
    int64_t t, t_probe, t_kill = 0, lost = -1, deleted = -1, excluded = 0, cl = -1;
    int64_t last_old = 0, first_new = 0, acked, failed;
    char new_master[HP_ADDR_MAX] = "", err[512] = "";
    size_t i;
    int failover_rc = 0;

    if (kill && !strcmp(cfg->drill_kill_method, "sleep")) {
        rclient *c = step__node_connect(d->grp, d->old, cfg->timeout_ms, err, sizeof(err));
        if (!c || rclient_ok(c, err, sizeof(err), "DEBUG SLEEP 0") < 0) {
            snprintf(why, whysz,
                     "DEBUG is refused by the master %s (%s): kill_method sleep needs "
                     "enable-debug-command (yes or local) in its config; or set [drill] "
                     "kill_method = shutdown",
                     d->old, err);
            rclient_free(c);
            return -1;
        }
        rclient_free(c);
        job_step(jb, "DEBUG SLEEP 0 accepted by %s: the kill can be sent", d->old);
    }
    if (pthread_create(&watch, NULL, watch_main, d) == 0) watch_on = 1;
    t_probe = now_ms();
    if (pthread_create(&probe, NULL, probe_main, d) == 0) probe_on = 1;
    if (!probe_on || !watch_on) {
        snprintf(why, whysz, "could not start the probe's threads");
        goto out;
    }
    add_mark(d, t_probe, "probe-started|probe started");
    job_step(jb, "probe started: SET %s<n> every %d ms on the master the Sentinels name", d->prefix,
             cfg->drill_probe_interval_ms);
    /* the baseline; and the Sentinels subscribed, or their events of the
     * failover would be missed (each subscription is bounded: 500 ms) */
    while ((t = now_ms()) < t_probe + BASELINE_MAX_MS && !job_cancelled(jb)) {
        size_t n;
        int ready;
        pthread_mutex_lock(&d->lock);
        n = d->nacks;
        ready = d->watch_ready;
        pthread_mutex_unlock(&d->lock);
        if (n > 0 && ready && t >= t_probe + BASELINE_MS) break;
        step__sleep_ms(20);
    }
    pthread_mutex_lock(&d->lock);
    acked = (int64_t)d->nacks;
    hp_strlcpy(err, d->probe_err, sizeof(err));
    pthread_mutex_unlock(&d->lock);
    if (!acked) {
        snprintf(why, whysz, "the probe could not write to the master in %d ms: %s",
                 BASELINE_MAX_MS, err[0] ? err : "no answer");
        goto out;
    }
    job_step(jb, "baseline: %lld writes acknowledged before the failover", (long long)acked);
    job_failpoint(jb, "drill-probing");
    if (job_cancelled(jb)) {
        /* hapanel is stopping: no failover on its way out; the probe keys
         * are still deleted below */
        snprintf(why, whysz, "hapanel is stopping: the drill ended before its failover");
        job_step(jb, "%s", why);
        goto cleanup;
    }

    pthread_mutex_lock(&d->lock);
    d->armed = 1;
    d->t_request = now_ms();
    pthread_mutex_unlock(&d->lock);
    if (kill) {
        t_kill = d->t_request;
        add_mark(d, t_kill, "kill-sent|%s sent to %s", d->kill_cmd, d->old);
        send_kill(d);
    } else {
        add_mark(d, d->t_request, "failover-requested|%s failover requested", d->mode);
        job_step(jb, "running the %s failover", d->mode);
        failover_rc = recipe_failover(jb);
        if (failover_rc < 0) {
            /* its job_fail says why; the drill ends with what it measured */
            snprintf(why, whysz, "the %s failover failed (the job's steps say why)", d->mode);
        }
    }
    if (failover_rc == 0) {
        while (!agreed_at(d) && now_ms() < d->t_request + cfg->drill_timeout_ms &&
               !job_cancelled(jb))
            step__sleep_ms(20);
        if (!agreed_at(d)) {
            char held[sizeof(d->agree_why)];
            pthread_mutex_lock(&d->lock);
            hp_strlcpy(held, d->agree_why, sizeof(held));
            pthread_mutex_unlock(&d->lock);
            snprintf(why, whysz, "the Sentinels did not all name a new master within %d ms%s%s%s",
                     cfg->drill_timeout_ms, job_cancelled(jb) ? " (hapanel is stopping)" : "",
                     held[0] ? ": " : "", held);
        } else {
            add_mark(d, d->t_agree, "agreement|all %d Sentinels name %s", d->nsent, d->agreed);
            job_step(jb, "all %d Sentinels name %s as master", d->nsent, d->agreed);
        }
    }
    job_failpoint(jb, "drill-settling");
    if (!why[0]) {
        int64_t end = now_ms() + cfg->drill_settle_ms;
        while (now_ms() < end && !job_cancelled(jb))
            step__sleep_ms(20);
    }
cleanup:
    stop_threads(d, &probe_on, &watch_on, probe, watch);

    hp_strlcpy(new_master, d->agreed, sizeof(new_master));
    if (!new_master[0] && discover(d, new_master, sizeof(new_master), err, sizeof(err)) < 0)
        new_master[0] = '\0';
    for (i = 0; i < d->nacks; i++) {
        const char *a = d->addrs[d->acks[i].addr];
        if (!strcmp(a, d->old) && (!first_new || d->acks[i].t < first_new)) last_old = d->acks[i].t;
        if (new_master[0] && strcmp(new_master, d->old) && !strcmp(a, new_master) && !first_new)
            first_new = d->acks[i].t;
    }
    if (last_old) add_mark(d, last_old, "last-ack-old|last write acknowledged by %s", d->old);
    if (first_new)
        add_mark(d, first_new, "first-ack-new|first write acknowledged by %s", new_master);
    if (d->t_detect) add_mark(d, d->t_detect, "detection|a Sentinel reported %s", d->detect_what);
    if (d->t_role && (!d->t_promote || d->t_role < d->t_promote)) {
        d->t_promote = d->t_role; /* the node itself said it before Sentinel did */
        hp_strlcpy(d->promoted, d->role_master, sizeof(d->promoted));
        hp_strlcpy(d->promote_how, "INFO role:master", sizeof(d->promote_how));
    } else if (d->t_promote) {
        hp_strlcpy(d->promote_how, "+promoted-slave", sizeof(d->promote_how));
    } else if (d->t_switch) {
        d->t_promote = d->t_switch;
        hp_strlcpy(d->promoted, d->switched, sizeof(d->promoted));
        hp_strlcpy(d->promote_how, "+switch-master", sizeof(d->promote_how));
    }
    if (d->t_promote)
        add_mark(d, d->t_promote, "promotion|%s promoted (%s)", d->promoted, d->promote_how);

    if (new_master[0] && d->nacks) {
        if (readback(d, new_master, &lost, err, sizeof(err)) < 0) {
            job_step(jb, "could not read the acked writes back: %s", err);
            lost = -1;
        } else {
            job_step(jb, "%lld of %zu acknowledged writes read back from %s, %lld lost",
                     (long long)((int64_t)d->nacks - lost), d->nacks, new_master, (long long)lost);
        }
    }
    if (kill && !strcmp(cfg->drill_kill_method, "sleep")) {
        /* the old master answers again once its sleep is over */
        int64_t wake = t_kill + (int64_t)cfg->drill_kill_sleep_s * 1000 + 500;
        while (now_ms() < wake && !job_cancelled(jb))
            step__sleep_ms(50);
    }
    if (strcmp(new_master, d->old)) {
        cl = clients_left(d->grp, d->old, &excluded);
        if (cl >= 0)
            job_step(jb, "%lld clients still connected to the old master %s", (long long)cl,
                     d->old);
        else
            job_step(jb, "the old master %s does not answer: its clients not counted", d->old);
    }
    if (new_master[0]) {
        deleted = delete_keys(d->grp, new_master, d->prefix, err, sizeof(err));
        if (deleted < 0)
            job_step(jb, "warning: the probe keys %s* could not be deleted: %s", d->prefix, err);
        else
            job_step(jb, "%lld probe keys deleted from %s", (long long)deleted, new_master);
        add_mark(d, now_ms(), "cleanup|%lld probe keys deleted", (long long)deleted);
    }
    if (!why[0] && lost < 0) snprintf(why, whysz, "the acked writes could not be read back");
    if (d->probe_full)
        job_step(jb, "warning: the probe stopped writing after %d acknowledged writes (its limit)",
                 MAX_ACKS);
    rc = why[0] ? -1 : 0;
out:
    stop_threads(d, &probe_on, &watch_on, probe, watch);
    pthread_mutex_lock(&d->lock);
    acked = (int64_t)d->nacks;
    failed = d->writes_failed;
    pthread_mutex_unlock(&d->lock);
    if (kill) cJSON_AddStringToObject(rep, "kill_command", d->kill_cmd);
    cJSON_AddStringToObject(rep, "old_master", d->old);
    if (new_master[0])
        cJSON_AddStringToObject(rep, "new_master", new_master);
    else
        cJSON_AddNullToObject(rep, "new_master");
    cJSON_AddNumberToObject(rep, "writes_acked", (double)acked);
    cJSON_AddNumberToObject(rep, "writes_failed", (double)failed);
    if (d->acks_dropped) cJSON_AddNumberToObject(rep, "acks_not_kept", (double)d->acks_dropped);
    if (d->probe_full) cJSON_AddBoolToObject(rep, "probe_stopped_at_limit", 1);
    num_opt(rep, "acked_lost", lost);
    opt_ms(rep, "write_gap_ms", last_old, first_new);
    opt_ms(rep, "detection_ms", d->t_request, d->t_detect);
    opt_ms(rep, "promotion_ms", d->t_request, d->t_promote);
    if (d->promote_how[0]) cJSON_AddStringToObject(rep, "promotion_seen_by", d->promote_how);
    opt_ms(rep, "agreement_ms", d->t_request, d->t_agree);
    num_opt(rep, "clients_left_on_old", cl);
    cJSON_AddStringToObject(rep, "clients_counted",
                            "CLIENT LIST TYPE normal on the old master, without the Sentinels' "
                            "(named sentinel-*) and hapanel's own connections (named hapanel*, "
                            "or unnamed with INFO or CONFIG GET as their last command: the "
                            "monitor's)");
    num_opt(rep, "clients_excluded", cl >= 0 ? excluded : -1);
    num_opt(rep, "probe_keys_deleted", deleted);
    cJSON_AddNumberToObject(rep, "probe_interval_ms", cfg->drill_probe_interval_ms);
    cJSON_AddNumberToObject(rep, "sentinels_subscribed", d->subscribed);
    if (d->detect_what[0]) cJSON_AddStringToObject(rep, "detection_event", d->detect_what);
    cJSON_AddItemToObject(rep, "timeline", timeline(d));
    return rc;
}

int recipe_drill(job *jb)
{
    const config *cfg = job_config(jb);
    drill *d = calloc(1, sizeof(*d));
    cJSON *rep = cJSON_CreateObject(), *res = job_result(jb), *fo = NULL, *it;
    char why[512] = "";
    ctx x;
    int i, rc = -1, kill;

    if (!d || !rep) {
        job_fail(jb, "out of memory");
        goto done;
    }
    pthread_mutex_init(&d->lock, NULL);
    d->jb = jb;
    d->cfg = cfg;
    d->grp = job_group(jb);
    d->t0 = now_ms();
    hp_strlcpy(d->name, job_cluster(jb), sizeof(d->name));
    hp_strlcpy(d->mode, step__param_str(jb, "mode"), sizeof(d->mode));
    kill = !strcmp(d->mode, "kill-master");
    if (!cfg->drill_enabled) {
        job_fail(jb, "drills are disabled: [drill] enabled = 0 (HAPANEL_DRILL_ENABLED)");
        goto done;
    }
    if (strcmp(d->mode, "graceful") && strcmp(d->mode, "force") && !kill) {
        job_fail(jb, "unknown drill mode '%s'", d->mode);
        goto done;
    }
    if (kill && !cfg->drill_allow_kill) {
        job_fail(jb, "kill-master drills are not allowed: [drill] allow_kill = 0");
        goto done;
    }
    if (kill && !strcmp(cfg->drill_kill_method, "sleep"))
        snprintf(d->kill_cmd, sizeof(d->kill_cmd), "DEBUG SLEEP %d", cfg->drill_kill_sleep_s);
    else if (kill)
        snprintf(d->kill_cmd, sizeof(d->kill_cmd), "SHUTDOWN NOSAVE");
    if (step__ctx_init(&x, jb) < 0) goto done;
    hp_strlcpy(d->old, x.c->master, sizeof(d->old));
    for (i = 0; i < x.c->nsentinels && d->nsent < MAX_NODES; i++)
        hp_strlcpy(d->sentinels[d->nsent++], x.c->sentinels[i].addr, HP_ADDR_MAX);
    for (i = 0; i < x.c->nnodes && d->nreps < MAX_NODES; i++)
        if (strcmp(x.c->nodes[i].addr, d->old))
            hp_strlcpy(d->reps[d->nreps++], x.c->nodes[i].addr, HP_ADDR_MAX);
    step__ctx_release(&x);
    if (!d->old[0] || !d->nsent) {
        job_fail(jb, "%s has no master the Sentinels agree on: no drill", d->name);
        goto done;
    }

    /* the row first: it names the probe keys, for a recovery */
    hp_strlcpy(d->row.cluster, d->name, sizeof(d->row.cluster));
    hp_strlcpy(d->row.mode, d->mode, sizeof(d->row.mode));
    d->row.job_id = job_id(jb);
    d->row.started_at = hp_now_ms();
    cJSON_AddStringToObject(rep, "mode", d->mode);
    save_row(d, "running", rep);
    if (!d->row.id) {
        job_fail(jb, "the drill could not be stored; nothing was done");
        goto done;
    }
    snprintf(d->prefix, sizeof(d->prefix), "%s%lld:", cfg->drill_key_prefix, (long long)d->row.id);
    cJSON_AddStringToObject(rep, "probe_prefix", d->prefix);
    cJSON_AddNumberToObject(res, "drill_id", (double)d->row.id);
    if (save_row(d, "running", rep) < 0) {
        /* a recovery finds the probe keys by this row's probe_prefix */
        job_fail(jb, "the drill's probe prefix could not be stored; nothing was done");
        d->row.ended_at = hp_now_ms();
        cJSON_AddStringToObject(rep, "error", "the probe prefix could not be stored");
        (void)save_row(d, "failed", rep);
        goto done;
    }
    drill_event(jb, "drill-started", "info", "%s drill %lld started on %s (master %s)", d->mode,
                (long long)d->row.id, d->name, d->old);

    rc = drill_run(d, rep, why, sizeof(why));

    d->row.ended_at = hp_now_ms();
    if (rc < 0) cJSON_AddStringToObject(rep, "error", why);
    save_row(d, rc == 0 ? "ok" : "failed", rep);
    /* the job's result: the report and drill_id; what the failover recipe
     * put there goes under "failover" */
    while ((it = res->child) != NULL) {
        it = cJSON_DetachItemViaPointer(res, it);
        if (!strcmp(it->string, "drill_id")) {
            cJSON_Delete(it);
            continue;
        }
        if (!fo) fo = cJSON_CreateObject();
        cJSON_AddItemToObject(fo, it->string, it);
    }
    for (it = rep->child; it; it = it->next)
        cJSON_AddItemToObject(res, it->string, cJSON_Duplicate(it, 1));
    cJSON_AddNumberToObject(res, "drill_id", (double)d->row.id);
    if (fo) cJSON_AddItemToObject(res, "failover", fo);
    if (rc == 0) {
        const cJSON *gap = cJSON_GetObjectItem(rep, "write_gap_ms");
        const cJSON *lost = cJSON_GetObjectItem(rep, "acked_lost");
        char g[32] = "unknown";
        if (cJSON_IsNumber(gap)) snprintf(g, sizeof(g), "%.0f ms", gap->valuedouble);
        drill_event(jb, "drill-finished", "info", "%s drill: write gap %s, %.0f acked writes lost",
                    d->mode, g, cJSON_IsNumber(lost) ? lost->valuedouble : -1.0);
    } else {
        drill_event(jb, "drill-failed", "warning", "%s drill failed: %s", d->mode, why);
        job_fail(jb, "%s", why);
    }
done:
    if (d) {
        free(d->acks);
        pthread_mutex_destroy(&d->lock);
        free(d);
    }
    cJSON_Delete(rep);
    return rc;
}

/* ----------------------------------------------------------------- recover */

int recipe_drill_recover(job *jb)
{
    const config *cfg = job_config(jb);
    const cfg_group *grp = job_group(jb);
    cJSON *u = job_undo(jb), *rep = NULL;
    hp_drill row;
    char master[HP_ADDR_MAX] = "", err[512] = "", *text;
    const char *prefix;
    int64_t deleted = -1, deadline;
    int i, found = db_drill_of_job(job_db(jb), job_id(jb), &row);

    if (found <= 0) {
        /* the drill had not been stored: nothing was written */
        if (u && u->child) recipe_failover_recover(jb);
        job_fail(jb, "interrupted by a restart of hapanel");
        return -1;
    }
    if (strcmp(row.state, "running")) {
        /* it had ended (its keys deleted, its row final) when hapanel died:
         * the row stays as it was */
        job_fail(jb, "drill %lld had ended (%s) when hapanel stopped", (long long)row.id,
                 row.state);
        cJSON_AddNumberToObject(job_result(jb), "drill_id", (double)row.id);
        free(row.report);
        return -1;
    }
    if (strcmp(row.mode, "kill-master") && u && u->child) {
        job_step(jb, "the drill's %s failover had started: finishing or putting it back", row.mode);
        recipe_failover_recover(jb);
    }
    rep = row.report ? cJSON_Parse(row.report) : NULL;
    if (!rep) rep = cJSON_CreateObject();
    prefix = cJSON_GetStringValue(cJSON_GetObjectItem(rep, "probe_prefix"));
    /* the master the Sentinels name now; after a kill-master drill cut short
     * they may still name the dead one for a while: retried, bounded */
    deadline = now_ms() +
               (cfg->drill_timeout_ms < RECOVER_MAX_MS ? cfg->drill_timeout_ms : RECOVER_MAX_MS);
    while (prefix) {
        master[0] = '\0';
        for (i = 0; i < grp->nsentinels; i++) { /* the configured seeds of the cluster's group */
            rclient *s =
                step__sentinel_connect(grp, grp->sentinels[i], cfg->timeout_ms, err, sizeof(err));
            int ok = s && step__sentinel_master_addr(s, job_cluster(jb), master, sizeof(master),
                                                     err, sizeof(err)) == 0;
            rclient_free(s);
            if (ok) break;
            master[0] = '\0';
        }
        if (master[0]) deleted = delete_keys(grp, master, prefix, err, sizeof(err));
        if (deleted >= 0 || now_ms() >= deadline || job_cancelled(jb)) break;
        step__sleep_ms(500);
    }
    if (prefix && master[0]) {
        if (deleted >= 0)
            job_step(jb, "%lld probe keys %s* deleted from %s", (long long)deleted, prefix, master);
        else
            job_step(jb, "warning: the probe keys %s* could not be deleted: %s", prefix, err);
    } else if (prefix) {
        job_step(jb, "warning: no Sentinel names a master: the probe keys %s* are left", prefix);
    }
    cJSON_DeleteItemFromObject(rep, "error");
    cJSON_DeleteItemFromObject(rep, "probe_keys_deleted");
    cJSON_AddStringToObject(rep, "error", "interrupted by a restart of hapanel");
    if (deleted >= 0)
        cJSON_AddNumberToObject(rep, "probe_keys_deleted", (double)deleted);
    else
        cJSON_AddNullToObject(rep, "probe_keys_deleted");
    text = cJSON_PrintUnformatted(rep);
    free(row.report);
    row.report = text;
    hp_strlcpy(row.state, "failed", sizeof(row.state));
    row.ended_at = hp_now_ms();
    if (evq_drill_save(job_events(jb), &row) < 0)
        job_step(jb, "warning: the drill's row could not be stored");
    row.report = NULL;
    cJSON_free(text);
    cJSON_AddNumberToObject(job_result(jb), "drill_id", (double)row.id);
    drill_event(jb, "drill-failed", "warning",
                "%s drill %lld failed: interrupted by a restart of hapanel", row.mode,
                (long long)row.id);
    job_fail(jb, "drill %lld interrupted by a restart of hapanel; %lld probe keys deleted",
             (long long)row.id, (long long)deleted);
    cJSON_Delete(rep);
    return -1;
}
