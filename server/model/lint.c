/* lint.c — the Sentinel config lint (see lint.h): one function per check,
 * each reading the snapshot and adding findings. The Sentinels' part reads
 * what each Sentinel answered to SENTINEL MASTERS (quorum, down-after,
 * failover-timeout, how many Sentinels and replicas it knows); the nodes'
 * part reads the CONFIG GET the monitor keeps in snap_node.conf. */
#include "model/lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/banned.h" /* last: after every system header */

enum {
    C_SENTINELS_FEW,
    C_QUORUM,
    C_DISAGREE,
    C_ONE_HOST,
    C_NO_PERSISTENCE,
    C_MIN_REPLICAS,
    C_MAXMEMORY_UNSET,
    C_MAXMEMORY_EVICTS,
    C_REPLICA_WRITABLE,
    C_PRIORITY_ZERO,
    C_MASTERAUTH,
    C_CONFIG,
    C_BACKLOG,
    C_PROTECTED,
    C_SEES_FEWER,
};

const lint_check lint_checks[] = {
    {"sentinels_too_few", "critical", "fewer than 3 Sentinels"},
    {"quorum_not_majority", "warning", "quorum not a majority of the Sentinels"},
    {"sentinels_disagree", "warning",
     "Sentinels disagree on down-after, failover-timeout or quorum"},
    {"sentinels_one_host", "warning", "all Sentinels on one host"},
    {"master_no_persistence", "critical", "master without persistence"},
    {"min_replicas_to_write_zero", "warning", "min-replicas-to-write 0"},
    {"maxmemory_unset", "warning", "maxmemory unset"},
    {"maxmemory_policy_evicts", "warning", "maxmemory-policy evicts keys"},
    {"replica_writable", "warning", "replica with replica-read-only no"},
    {"replicas_priority_zero", "critical", "every replica has priority 0"},
    {"masterauth_missing", "critical", "masterauth missing where requirepass is set"},
    {"config_unavailable", "warning", "CONFIG renamed or disabled: fencing cannot persist"},
    {"repl_backlog_too_small", "warning",
     "repl-backlog too small to survive the down-after window at the write rate"},
    {"protected_mode_off_no_password", "critical", "protected-mode off with no password"},
    {"sentinel_sees_fewer", "warning", "a Sentinel sees fewer Sentinels or replicas than others"},
};
const int lint_nchecks = (int)(sizeof(lint_checks) / sizeof(lint_checks[0]));

typedef struct lint_out {
    const cluster_snap *c;
    lint_finding *v;
    int n, max;
} lint_out;

/* vsnprintf into a fixed field: evidence and fix may be cut, never overrun. */
static void setf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

/* A new finding of check kind about node ("" the cluster), or NULL when out
 * is full. The caller writes its evidence and fix. */
static lint_finding *add(lint_out *o, int kind, const char *severity, const char *node,
                         int sentinel)
{
    lint_finding *f;
    if (o->n >= o->max) return NULL;
    f = &o->v[o->n++];
    memset(f, 0, sizeof(*f));
    f->check = lint_checks[kind].name;
    f->severity = severity ? severity : lint_checks[kind].severity;
    f->title = lint_checks[kind].title;
    hp_strlcpy(f->node, node ? node : "", sizeof(f->node));
    f->sentinel = sentinel;
    return f;
}

/* 1536 -> "1.5 KiB" */
static void fmt_bytes(char *buf, size_t size, double v)
{
    if (v >= 1024.0 * 1024 * 1024)
        snprintf(buf, size, "%.1f GiB", v / (1024.0 * 1024 * 1024));
    else if (v >= 1024.0 * 1024)
        snprintf(buf, size, "%.1f MiB", v / (1024.0 * 1024));
    else if (v >= 1024.0)
        snprintf(buf, size, "%.1f KiB", v / 1024.0);
    else
        snprintf(buf, size, "%.0f B", v);
}

/* A Sentinel that answers and reported this master (its settings known). */
static int sentinel_has_view(const snap_sentinel *s)
{
    return s->up && s->quorum > 0;
}

/* How many Sentinels monitor the master: those hapanel knows, or more when a
 * Sentinel says it knows more (num-other-sentinels + itself). */
static int sentinel_count(const cluster_snap *c)
{
    int i, n = c->nsentinels;
    for (i = 0; i < c->nsentinels; i++)
        if (sentinel_has_view(&c->sentinels[i]) && c->sentinels[i].num_other_sentinels + 1 > n)
            n = c->sentinels[i].num_other_sentinels + 1;
    return n;
}

/* Nodes whose running config is known: they answer and CONFIG GET did. */
static int conf_known(const snap_node *n)
{
    return n->up && n->conf.state == 1;
}

static int is_master(const snap_node *n)
{
    return n->up && n->role == ROLE_MASTER;
}

static int is_replica(const snap_node *n)
{
    return n->up && n->role == ROLE_REPLICA;
}

/* ---------------------------------------------------------------- Sentinels */

static void check_sentinel_count(lint_out *o)
{
    const cluster_snap *c = o->c;
    int n = sentinel_count(c);
    lint_finding *f;
    if (n >= 3 || !(f = add(o, C_SENTINELS_FEW, NULL, "", 0))) return;
    setf(f->evidence, sizeof(f->evidence), "%d Sentinel%s monitor%s %s", n, n == 1 ? "" : "s",
         n == 1 ? "s" : "", c->name);
    setf(f->fix, sizeof(f->fix),
         "run at least 3 Sentinels, each on a host of its own (sentinel monitor %s <ip> <port> "
         "<quorum>): a failover needs a majority of them, and with %d one lost stops every "
         "failover",
         c->name, n);
}

static void check_quorum(lint_out *o)
{
    const cluster_snap *c = o->c;
    int i, n = sentinel_count(c), majority = n / 2 + 1, qmin = 0, qmax = 0;
    lint_finding *f;
    for (i = 0; i < c->nsentinels; i++) {
        const snap_sentinel *s = &c->sentinels[i];
        if (!sentinel_has_view(s)) continue;
        if (!qmin || s->quorum < qmin) qmin = s->quorum;
        if (s->quorum > qmax) qmax = s->quorum;
    }
    if (!qmin || n == 0) return;
    if (qmax > n) {
        if (!(f = add(o, C_QUORUM, "critical", "", 0))) return;
        setf(f->evidence, sizeof(f->evidence),
             "quorum %d with %d Sentinels: the master is never agreed down (ODOWN), no failover "
             "starts",
             qmax, n);
    } else if (qmin < majority) {
        if (!(f = add(o, C_QUORUM, NULL, "", 0))) return;
        setf(f->evidence, sizeof(f->evidence),
             "quorum %d with %d Sentinels (a majority is %d): fewer Sentinels than a majority "
             "call the master down, so a partition's minority side keeps trying to fail over",
             qmin, n, majority);
    } else {
        return;
    }
    setf(f->fix, sizeof(f->fix), "SENTINEL SET %s quorum %d on every Sentinel", c->name, majority);
}

/* The value of field k (0 down-after, 1 failover-timeout, 2 quorum) of s,
 * or -1 unknown. */
static long long sentinel_setting(const snap_sentinel *s, int k)
{
    long long v = k == 0 ? s->down_after_ms : k == 1 ? s->failover_timeout_ms : s->quorum;
    return v > 0 ? v : -1;
}

static void check_disagree(lint_out *o)
{
    static const char *const names[] = {"down-after-milliseconds", "failover-timeout", "quorum"};
    const cluster_snap *c = o->c;
    int k, i, j;
    for (k = 0; k < 3; k++) {
        long long mode = -1, v;
        int best = 0, odd = -1, known = 0;
        size_t len = 0;
        lint_finding *f;
        /* the value most Sentinels have; the first Sentinel off it is named */
        for (i = 0; i < c->nsentinels; i++) {
            int same = 0;
            if (!sentinel_has_view(&c->sentinels[i])) continue;
            if ((v = sentinel_setting(&c->sentinels[i], k)) < 0) continue;
            known++;
            for (j = 0; j < c->nsentinels; j++)
                if (sentinel_has_view(&c->sentinels[j]) &&
                    sentinel_setting(&c->sentinels[j], k) == v)
                    same++;
            if (same > best) {
                best = same;
                mode = v;
            }
        }
        for (i = 0; i < c->nsentinels && odd < 0; i++)
            if (sentinel_has_view(&c->sentinels[i]) &&
                (v = sentinel_setting(&c->sentinels[i], k)) >= 0 && v != mode)
                odd = i;
        if (odd < 0) continue;
        /* without a majority value no Sentinel is the odd one: the cluster's */
        f = 2 * best > known ? add(o, C_DISAGREE, NULL, c->sentinels[odd].addr, 1)
                             : add(o, C_DISAGREE, NULL, "", 0);
        if (!f) continue;
        for (i = 0; i < c->nsentinels && len + 1 < sizeof(f->evidence); i++) {
            const snap_sentinel *s = &c->sentinels[i];
            if (!sentinel_has_view(s) || (v = sentinel_setting(s, k)) < 0) continue;
            setf(f->evidence + len, sizeof(f->evidence) - len, "%s%s %s %lld", len ? ", " : "",
                 s->addr, names[k], v);
            len += strlen(f->evidence + len);
        }
        setf(f->fix, sizeof(f->fix),
             "SENTINEL SET %s %s %lld%s on every Sentinel (Sentinels do not share it; each "
             "decides on its own value)",
             c->name, names[k], mode, f->node[0] ? "" : " (or another value, the same)");
    }
}

static void check_one_host(lint_out *o)
{
    const cluster_snap *c = o->c;
    char first[HP_HOST_MAX] = "", host[HP_HOST_MAX];
    int i, port, n = 0;
    lint_finding *f;
    for (i = 0; i < c->nsentinels; i++) {
        if (hp_addr_parse(c->sentinels[i].addr, host, sizeof(host), &port) < 0) return;
        if (n++ == 0)
            hp_strlcpy(first, host, sizeof(first));
        else if (strcmp(first, host))
            return;
    }
    if (n < 2 || !(f = add(o, C_ONE_HOST, NULL, "", 0))) return;
    setf(f->evidence, sizeof(f->evidence), "all %d Sentinels are on %s", n, first);
    setf(f->fix, sizeof(f->fix),
         "run each Sentinel on a host (failure domain) of its own: one host lost takes every "
         "Sentinel, and no failover happens");
}

/* Sentinels that know fewer Sentinels or replicas than another does: their
 * hello messages or their view of the replicas do not get through. */
static void check_sees_fewer(lint_out *o)
{
    const cluster_snap *c = o->c;
    int i, max_s = -1, max_r = -1;
    lint_finding *f;
    for (i = 0; i < c->nsentinels; i++) {
        const snap_sentinel *s = &c->sentinels[i];
        if (!sentinel_has_view(s)) continue;
        if (s->num_other_sentinels > max_s) max_s = s->num_other_sentinels;
        if (s->num_replicas > max_r) max_r = s->num_replicas;
    }
    for (i = 0; i < c->nsentinels; i++) {
        const snap_sentinel *s = &c->sentinels[i];
        int fewer_s, fewer_r;
        if (!sentinel_has_view(s)) continue;
        fewer_s = s->num_other_sentinels >= 0 && s->num_other_sentinels < max_s;
        fewer_r = s->num_replicas >= 0 && s->num_replicas < max_r;
        if (!(fewer_s || fewer_r) || !(f = add(o, C_SEES_FEWER, NULL, s->addr, 1))) continue;
        if (fewer_s && fewer_r)
            setf(f->evidence, sizeof(f->evidence),
                 "it knows %d other Sentinels and %d replicas; another knows %d and %d",
                 s->num_other_sentinels, s->num_replicas, max_s, max_r);
        else if (fewer_s)
            setf(f->evidence, sizeof(f->evidence),
                 "it knows %d other Sentinels; another Sentinel knows %d", s->num_other_sentinels,
                 max_s);
        else
            setf(f->evidence, sizeof(f->evidence),
                 "it knows %d replicas; another Sentinel knows %d", s->num_replicas, max_r);
        setf(f->fix, sizeof(f->fix),
             "check that it reaches every node and Sentinel at the addresses they announce "
             "(replica-announce-ip, sentinel announce-ip; a firewall), then SENTINEL RESET %s on "
             "it",
             c->name);
    }
}

/* -------------------------------------------------------------------- nodes */

static void check_persistence(lint_out *o, const snap_node *n)
{
    lint_finding *f;
    if (!is_master(n) || !conf_known(n) || n->conf.appendonly != 0 || n->conf.save[0]) return;
    if (!(f = add(o, C_NO_PERSISTENCE, NULL, n->addr, 0))) return;
    setf(f->evidence, sizeof(f->evidence), "appendonly no and save \"\" on the master");
    setf(f->fix, sizeof(f->fix),
         "CONFIG SET appendonly yes (or save points) and CONFIG REWRITE: a master restarted "
         "empty before down-after passes is not failed over, and every replica copies the "
         "empty data set");
}

static void check_min_replicas(lint_out *o, const snap_node *n)
{
    lint_finding *f;
    if (!is_master(n) || !conf_known(n) || n->conf.min_replicas_to_write != 0) return;
    if (!(f = add(o, C_MIN_REPLICAS, NULL, n->addr, 0))) return;
    setf(f->evidence, sizeof(f->evidence), "min-replicas-to-write 0 on the master");
    setf(f->fix, sizeof(f->fix),
         "CONFIG SET min-replicas-to-write 1 and min-replicas-max-lag 10 on every node (and "
         "CONFIG REWRITE): a master cut off from its replicas keeps acknowledging writes that "
         "the failover then throws away");
}

static int policy_evicts(const char *p)
{
    return !strncmp(p, "allkeys-", 8) || !strncmp(p, "volatile-", 9);
}

static void check_maxmemory(lint_out *o, const snap_node *n)
{
    lint_finding *f;
    if (!is_master(n) || !conf_known(n)) return;
    if (n->conf.maxmemory == 0) {
        if (!(f = add(o, C_MAXMEMORY_UNSET, NULL, n->addr, 0))) return;
        setf(f->evidence, sizeof(f->evidence), "maxmemory 0 (no limit) on the master");
        setf(f->fix, sizeof(f->fix),
             "CONFIG SET maxmemory to what the host can hold (leave room for a fork's "
             "copy-on-write) on every node: without it the kernel's OOM killer stops the "
             "master, not a refused write");
    } else if (policy_evicts(n->conf.maxmemory_policy)) {
        if (!(f = add(o, C_MAXMEMORY_EVICTS, NULL, n->addr, 0))) return;
        setf(f->evidence, sizeof(f->evidence), "maxmemory-policy %s with maxmemory %lld",
             n->conf.maxmemory_policy, (long long)n->conf.maxmemory);
        setf(f->fix, sizeof(f->fix),
             "if the use is a queue, data is lost: keys are evicted when memory is full. "
             "CONFIG SET maxmemory-policy noeviction on every node (writes are then refused "
             "instead), unless it is a cache");
    }
}

static void check_replica_writable(lint_out *o, const snap_node *n)
{
    lint_finding *f;
    if (!is_replica(n) || !conf_known(n) || n->conf.replica_read_only != 0) return;
    if (!(f = add(o, C_REPLICA_WRITABLE, NULL, n->addr, 0))) return;
    setf(f->evidence, sizeof(f->evidence), "replica-read-only no on a replica");
    setf(f->fix, sizeof(f->fix),
         "CONFIG SET replica-read-only yes and CONFIG REWRITE: writes to a replica are not "
         "replicated and vanish at its next sync");
}

/* The replica's priority: from its CONFIG when read, else from its INFO. */
static int replica_priority(const snap_node *n)
{
    return conf_known(n) && n->conf.replica_priority >= 0 ? n->conf.replica_priority : n->priority;
}

static void check_priorities(lint_out *o)
{
    const cluster_snap *c = o->c;
    int i, replicas = 0, zero = 0;
    lint_finding *f;
    for (i = 0; i < c->nnodes; i++) {
        if (!is_replica(&c->nodes[i])) continue;
        replicas++;
        if (replica_priority(&c->nodes[i]) == 0) zero++;
    }
    if (replicas == 0 || zero < replicas || !(f = add(o, C_PRIORITY_ZERO, NULL, "", 0))) return;
    setf(f->evidence, sizeof(f->evidence), "replica-priority 0 on all %d replica%s", replicas,
         replicas == 1 ? "" : "s");
    setf(f->fix, sizeof(f->fix),
         "CONFIG SET replica-priority 100 (and CONFIG REWRITE) on the replicas that may become "
         "master: Sentinel never promotes a replica of priority 0, so no failover can succeed");
}

static void check_masterauth(lint_out *o)
{
    const cluster_snap *c = o->c;
    const char *with = NULL;
    int i;
    for (i = 0; i < c->nnodes && !with; i++)
        if (conf_known(&c->nodes[i]) && c->nodes[i].conf.requirepass_set == 1)
            with = c->nodes[i].addr;
    if (!with) return;
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        lint_finding *f;
        if (!conf_known(n) || n->conf.masterauth_set != 0) continue;
        if (!(f = add(o, C_MASTERAUTH, NULL, n->addr, 0))) return;
        setf(f->evidence, sizeof(f->evidence), "masterauth is empty here; requirepass is set%s%s",
             strcmp(with, n->addr) ? " on " : " here", strcmp(with, n->addr) ? with : "");
        setf(f->fix, sizeof(f->fix),
             "CONFIG SET masterauth to the nodes' password (masteruser too for an ACL user) and "
             "CONFIG REWRITE: once a replica of a node that asks a password (or demoted after "
             "a failover) it cannot sync");
    }
}

static void check_config(lint_out *o, const snap_node *n)
{
    lint_finding *f;
    if (!n->up || n->conf.state != -1 || !(f = add(o, C_CONFIG, NULL, n->addr, 0))) return;
    setf(f->evidence, sizeof(f->evidence), "CONFIG GET answered: %s", n->conf.error);
    setf(f->fix, sizeof(f->fix),
         "let hapanel's user run CONFIG (no rename-command CONFIG, +config in its ACL): "
         "fencing a demoted master and a resync use CONFIG SET and CONFIG REWRITE, which "
         "otherwise do not persist, and this lint cannot read the node");
}

/* The longest down-after of the Sentinels: the time a replica may be cut off
 * before Sentinel acts, the window the backlog must cover. */
static long long down_after_ms(const cluster_snap *c)
{
    long long v = -1;
    int i;
    for (i = 0; i < c->nsentinels; i++)
        if (sentinel_has_view(&c->sentinels[i]) && c->sentinels[i].down_after_ms > v)
            v = c->sentinels[i].down_after_ms;
    return v;
}

static void check_backlog(lint_out *o, const snap_node *n)
{
    long long da = down_after_ms(o->c);
    double need;
    char rate[32], win[32], have[32], want[32];
    lint_finding *f;
    if (!is_master(n) || !conf_known(n) || n->write_bps <= 0 || da <= 0 ||
        n->conf.repl_backlog_size <= 0)
        return;
    need = (double)n->write_bps * (double)da / 1000.0;
    if (need <= (double)n->conf.repl_backlog_size) return;
    if (!(f = add(o, C_BACKLOG, NULL, n->addr, 0))) return;
    fmt_bytes(rate, sizeof(rate), (double)n->write_bps);
    fmt_bytes(win, sizeof(win), need);
    fmt_bytes(have, sizeof(have), (double)n->conf.repl_backlog_size);
    /* twice what the window needs, in whole MiB */
    fmt_bytes(want, sizeof(want), (double)(((long long)(2 * need) >> 20) + 1) * 1024 * 1024);
    setf(f->evidence, sizeof(f->evidence),
         "the master writes %s/s; over down-after (%lld ms) that is %s, more than "
         "repl-backlog-size %s",
         rate, da, win, have);
    setf(f->fix, sizeof(f->fix),
         "CONFIG SET repl-backlog-size %lld (%s) on every node and CONFIG REWRITE: a replica "
         "cut off for down-after otherwise comes back with a full sync, not a partial one",
         (((long long)(2 * need) >> 20) + 1) << 20, want);
}

static void check_protected(lint_out *o, const snap_node *n)
{
    lint_finding *f;
    if (!conf_known(n) || n->conf.protected_mode != 0 || n->conf.requirepass_set != 0) return;
    if (!(f = add(o, C_PROTECTED, NULL, n->addr, 0))) return;
    setf(f->evidence, sizeof(f->evidence), "protected-mode no and requirepass empty");
    setf(f->fix, sizeof(f->fix),
         "CONFIG SET requirepass (and masterauth) on every node, or protected-mode yes and "
         "bind to the addresses that need it: anyone who reaches the port can REPLICAOF, "
         "FLUSHALL or CONFIG SET it");
}

/* ---------------------------------------------------------------- the lint */

int lint_run(const cluster_snap *c, lint_finding *out, int max)
{
    lint_out o = {c, out, 0, max};
    int i;

    if (!c || max <= 0) return 0;
    check_sentinel_count(&o);
    check_quorum(&o);
    check_disagree(&o);
    check_one_host(&o);
    for (i = 0; i < c->nnodes; i++)
        check_persistence(&o, &c->nodes[i]);
    for (i = 0; i < c->nnodes; i++)
        check_min_replicas(&o, &c->nodes[i]);
    for (i = 0; i < c->nnodes; i++)
        check_maxmemory(&o, &c->nodes[i]);
    for (i = 0; i < c->nnodes; i++)
        check_replica_writable(&o, &c->nodes[i]);
    check_priorities(&o);
    check_masterauth(&o);
    for (i = 0; i < c->nnodes; i++)
        check_config(&o, &c->nodes[i]);
    for (i = 0; i < c->nnodes; i++)
        check_backlog(&o, &c->nodes[i]);
    for (i = 0; i < c->nnodes; i++)
        check_protected(&o, &c->nodes[i]);
    check_sees_fewer(&o);
    return o.n;
}

int lint_pending(const cluster_snap *c)
{
    int i, n = 0;
    for (i = 0; c && i < c->nnodes; i++)
        if (c->nodes[i].up && c->nodes[i].conf.state == 0) n++;
    return n;
}
