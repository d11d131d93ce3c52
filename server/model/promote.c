/* promote.c — promotability, Sentinel's selection rules and the failover
 * plan (see promote.h). */
#define _POSIX_C_SOURCE 200809L
#include "model/promote.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/banned.h" /* last: after every system header */

/* ----------------------------------------------------------- Sentinel's view */

int promo_sentinel_rule(const snap_sview *v, const promo_master *m, int64_t age_ms,
                        int skip_priority, char *why, size_t whysz)
{
    int64_t max_down = m->down_after_ms * 10, validity;
    int master_sdown = m->s_down_ms >= 0;

    if (master_sdown) max_down += m->s_down_ms + age_ms;
    if (sreply_has_flag(v->flags, "s_down") || sreply_has_flag(v->flags, "o_down")) {
        snprintf(why, whysz, "Sentinel has it subjectively down (flags %s)", v->flags);
        return 0;
    }
    if (sreply_has_flag(v->flags, "disconnected")) {
        snprintf(why, whysz, "Sentinel's link to it is disconnected");
        return 0;
    }
    if (v->last_ok_ping_ms >= 0 && v->last_ok_ping_ms + age_ms > PROMO_PING_PERIOD_MS * 5) {
        snprintf(why, whysz, "no valid PING reply to Sentinel for %.1f s (limit %d s)",
                 (double)(v->last_ok_ping_ms + age_ms) / 1000.0, PROMO_PING_PERIOD_MS * 5 / 1000);
        return 0;
    }
    if (!skip_priority && v->priority == 0) {
        snprintf(why, whysz, "replica-priority 0 in Sentinel's view (its INFO of it is %.1f s old)",
                 (double)(v->info_refresh_ms + age_ms) / 1000.0);
        return 0;
    }
    validity = master_sdown ? PROMO_PING_PERIOD_MS * 5 : PROMO_INFO_PERIOD_MS * 3;
    if (v->info_refresh_ms >= 0 && v->info_refresh_ms + age_ms > validity) {
        snprintf(why, whysz, "Sentinel's INFO of it is %.1f s old (limit %lld s)",
                 (double)(v->info_refresh_ms + age_ms) / 1000.0, (long long)(validity / 1000));
        return 0;
    }
    if (m->down_after_ms > 0 && v->link_down_ms > max_down) {
        snprintf(why, whysz, "its master link has been down %.1f s (limit %.1f s)",
                 (double)v->link_down_ms / 1000.0, (double)max_down / 1000.0);
        return 0;
    }
    if (why && whysz) why[0] = '\0';
    return 1;
}

int promo_sentinel_compare(const snap_sview *a, const snap_sview *b)
{
    if (a->priority != b->priority) return a->priority < b->priority ? -1 : 1;
    if (a->repl_offset != b->repl_offset) return a->repl_offset > b->repl_offset ? -1 : 1;
    if (!a->runid[0] || !b->runid[0]) return !a->runid[0] ? (b->runid[0] ? 1 : 0) : -1;
    return strcasecmp(a->runid, b->runid);
}

int promo_sentinel_pick(const snap_sview *v, int n, const promo_master *m, int64_t age_ms)
{
    int i, best = -1;
    char why[160];
    for (i = 0; i < n; i++) {
        if (!promo_sentinel_rule(&v[i], m, age_ms, 0, why, sizeof(why))) continue;
        if (best < 0 || promo_sentinel_compare(&v[i], &v[best]) < 0) best = i;
    }
    return best;
}

/* v as Sentinel will see it once it has re-read the replica's INFO. */
static snap_sview refreshed(const snap_sview *v, const cluster_snap *c, int equal_offsets)
{
    snap_sview r = *v;
    const snap_node *n = cluster_snap_node(c, v->addr);
    if (n && n->up && n->priority >= 0) r.priority = n->priority;
    if (equal_offsets)
        r.repl_offset = 0;
    else if (n && n->up && n->repl_offset >= 0)
        r.repl_offset = n->repl_offset;
    r.info_refresh_ms = 0;
    return r;
}

int promo_expected(const snap_sview *v, int n, const promo_master *m, int64_t age_ms,
                   const cluster_snap *c, int equal_offsets)
{
    int i, best = -1;
    snap_sview bv, cur;
    char why[160];
    memset(&bv, 0, sizeof(bv));
    for (i = 0; i < n; i++) {
        /* The rules on its own view decide whether SENTINEL FAILOVER is
         * accepted at all; then the refreshed INFO decides the pick. */
        if (!promo_sentinel_rule(&v[i], m, age_ms, 0, why, sizeof(why))) continue;
        cur = refreshed(&v[i], c, equal_offsets);
        if (!promo_sentinel_rule(&cur, m, 0, 0, why, sizeof(why))) continue;
        if (best < 0 || promo_sentinel_compare(&cur, &bv) < 0) {
            best = i;
            bv = cur;
        }
    }
    return best;
}

void promo_sview_from_entry(snap_sview *o, const char *sentinel, const sentinel_entry *e)
{
    memset(o, 0, sizeof(*o));
    hp_strlcpy(o->sentinel, sentinel, sizeof(o->sentinel));
    hp_addr_fmt(o->addr, sizeof(o->addr), e->ip, e->port);
    hp_strlcpy(o->flags, e->flags, sizeof(o->flags));
    o->priority = e->priority;
    o->repl_offset = e->repl_offset;
    o->info_refresh_ms = e->info_refresh_ms;
    o->last_ok_ping_ms = e->last_ok_ping_ms;
    o->link_down_ms = e->link_down_ms;
    hp_strlcpy(o->link_status, e->link_status, sizeof(o->link_status));
    if (e->master_host[0])
        hp_addr_fmt(o->master_addr, sizeof(o->master_addr), e->master_host, e->master_port);
    hp_strlcpy(o->runid, e->runid, sizeof(o->runid));
}

/* ---------------------------------------------------------------------- plan */

static plan_check *check(plan *p, const char *name, int state, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static plan_check *check(plan *p, const char *name, int state, const char *fmt, ...)
{
    plan_check *k;
    va_list ap;
    if (p->nchecks == PLAN_MAX_CHECKS) return NULL;
    k = &p->checks[p->nchecks++];
    k->name = name;
    k->state = state;
    va_start(ap, fmt);
    vsnprintf(k->message, sizeof(k->message), fmt, ap);
    va_end(ap);
    return k;
}

/* Appends "; addr: why" to buf (bounded). */
static void add_reason(char *buf, size_t bufsz, const char *addr, const char *why)
{
    size_t l = strlen(buf);
    if (l < bufsz) snprintf(buf + l, bufsz - l, "%s%s %s", l ? "; " : "", addr, why);
}

static const snap_sentinel *runner(const cluster_snap *c)
{
    int i;
    for (i = 0; c->master[0] && i < c->nsentinels; i++) {
        const snap_sentinel *s = &c->sentinels[i];
        if (s->up && !strcmp(s->sees_master, c->master) && s->views_at_ms > 0) return s;
    }
    return NULL;
}

static promo_master master_of(const snap_sentinel *s, int64_t age_ms)
{
    promo_master m;
    m.down_after_ms = s->down_after_ms;
    m.s_down_ms = s->s_down_ms >= 0 ? s->s_down_ms + age_ms : -1;
    return m;
}

static int64_t view_age(const snap_sentinel *s, int64_t now_ms)
{
    return s->views_at_ms > 0 && now_ms > s->views_at_ms ? now_ms - s->views_at_ms : 0;
}

/* The views of Sentinel s into a new array (caller frees); *n their number. */
static snap_sview *views_of(const cluster_snap *c, const char *sentinel, int *n)
{
    snap_sview *v = malloc(sizeof(*v) * (size_t)(c->nsviews + 1));
    int i;
    *n = 0;
    if (!v) return NULL;
    for (i = 0; i < c->nsviews; i++)
        if (!strcmp(c->sviews[i].sentinel, sentinel)) v[(*n)++] = c->sviews[i];
    return v;
}

/* Why Sentinel will pick v[pick] over the other replicas it may choose, in
 * words (compared as it will see them, see promo_expected). */
static void explain_choice(plan *p, const cluster_snap *c, const snap_sview *v, int n, int pick,
                           const promo_master *m, int64_t age)
{
    int i, others = 0, same_prio = 0, same_off = 0, eq = !p->rq.force;
    snap_sview pk = refreshed(&v[pick], c, eq), o;
    char why[160];
    for (i = 0; i < n; i++) {
        if (i == pick || !promo_sentinel_rule(&v[i], m, age, 0, why, sizeof(why))) continue;
        o = refreshed(&v[i], c, eq);
        if (!promo_sentinel_rule(&o, m, 0, 0, why, sizeof(why))) continue;
        others++;
        if (o.priority == pk.priority) {
            same_prio++;
            if (o.repl_offset == pk.repl_offset) same_off++;
        }
    }
    if (!others)
        snprintf(p->choice_why, sizeof(p->choice_why), "the only replica Sentinel %s may promote",
                 p->sentinel);
    else if (!same_prio)
        snprintf(p->choice_why, sizeof(p->choice_why), "lowest replica-priority (%d)", pk.priority);
    else if (!same_off)
        snprintf(p->choice_why, sizeof(p->choice_why),
                 "same replica-priority (%d), highest replication offset now; Sentinel reads the "
                 "offsets again as it starts, so a write meanwhile can change its choice",
                 pk.priority);
    else
        snprintf(p->choice_why, sizeof(p->choice_why),
                 "same replica-priority (%d), and with writes paused the same offset: the lowest "
                 "run id (%.8s) decides",
                 pk.priority, pk.runid);
}

static void check_sentinel_view(plan *p, const cluster_snap *c, const snap_sentinel *s,
                                int64_t now_ms)
{
    int64_t age = view_age(s, now_ms);
    promo_master m = master_of(s, age);
    int n = 0, i, pick;
    snap_sview *v = views_of(c, s->addr, &n);
    char why[160], all[400] = "";

    if (!v) {
        check(p, "sentinel_view", PLAN_FAIL, "out of memory");
        return;
    }
    if (p->rq.target[0]) {
        for (i = 0; i < n && strcmp(v[i].addr, p->rq.target); i++)
            ;
        if (i == n) {
            check(p, "sentinel_view", PLAN_WAIT, "Sentinel %s does not list %s as a replica yet",
                  s->addr, p->rq.target);
        } else if (!promo_sentinel_rule(&v[i], &m, age, 1, why, sizeof(why))) {
            check(p, "sentinel_view", PLAN_WAIT, "Sentinel %s would not promote %s: %s", s->addr,
                  p->rq.target, why);
        } else {
            pick = promo_expected(v, n, &m, age, c, 1);
            hp_strlcpy(p->choice, p->rq.target, sizeof(p->choice));
            if (pick == i)
                snprintf(p->choice_why, sizeof(p->choice_why),
                         "the target, already Sentinel %s's choice; its priority is still set to 1 "
                         "below the others for the failover",
                         s->addr);
            else
                snprintf(p->choice_why, sizeof(p->choice_why),
                         "the target: hapanel sets its replica-priority to 1, below the others, "
                         "and waits until Sentinel %s has read it",
                         s->addr);
            check(p, "sentinel_view", PLAN_OK, "Sentinel %s can promote %s (%s)", s->addr,
                  p->rq.target, p->choice_why);
        }
        goto out;
    }
    /* SENTINEL FAILOVER is refused (-NOGOODSLAVE) unless its own view
     * passes; the pick itself is made on fresh INFO. */
    pick = promo_sentinel_pick(v, n, &m, age);
    if (pick >= 0) pick = promo_expected(v, n, &m, age, c, !p->rq.force);
    if (pick < 0) {
        for (i = 0; i < n; i++) {
            if (!strcmp(v[i].addr, c->master)) continue;
            promo_sentinel_rule(&v[i], &m, age, 0, why, sizeof(why));
            add_reason(all, sizeof(all), v[i].addr, why);
        }
        check(p, "sentinel_view", PLAN_WAIT, "Sentinel %s would promote no replica%s%s", s->addr,
              all[0] ? ": " : " (it lists none)", all);
        goto out;
    }
    hp_strlcpy(p->choice, v[pick].addr, sizeof(p->choice));
    explain_choice(p, c, v, n, pick, &m, age);
    if (!p->rq.force) {
        const snap_node *nd = cluster_snap_node(c, v[pick].addr);
        const char *pw = nd ? policy_promotable(nd, c->master, p->rq.max_lag_bytes)
                            : "is not among the nodes hapanel watches";
        if (pw) {
            check(p, "sentinel_view", PLAN_WAIT,
                  "Sentinel %s would promote %s, which hapanel would not: it %s; name a target",
                  s->addr, v[pick].addr, pw);
            goto out;
        }
    }
    check(p, "sentinel_view", PLAN_OK, "Sentinel %s would promote %s: %s", s->addr, p->choice,
          p->choice_why);
out:
    free(v);
}

void plan_build(const cluster_snap *c, const plan_req *rq, int64_t now_ms, plan *p)
{
    const snap_sentinel *s;
    const snap_node *m;
    char list[400] = "", why_all[400] = "";
    int i, ncand = 0, sup = 0;

    memset(p, 0, sizeof(*p));
    p->rq = *rq;
    if (p->rq.max_lag_bytes < 0) p->rq.max_lag_bytes = POLICY_MAX_LAG_BYTES;
    p->blocker = -1;
    p->down_after_ms = -1;
    p->fence_persists = -1;
    hp_strlcpy(p->old_master, c->master, sizeof(p->old_master));

    if (c->failover_in_progress)
        check(p, "failover_idle", PLAN_FAIL, "a Sentinel failover is already in progress");
    else
        check(p, "failover_idle", PLAN_OK, "no failover in progress");

    s = runner(c);
    for (i = 0; i < c->nsentinels; i++)
        sup += c->sentinels[i].up;
    if (s) {
        hp_strlcpy(p->sentinel, s->addr, sizeof(p->sentinel));
        p->down_after_ms = s->down_after_ms;
        check(p, "sentinel", PLAN_OK, "Sentinel %s will run the failover (down-after %lld ms)",
              s->addr, (long long)s->down_after_ms);
    } else if (!sup) {
        check(p, "sentinel", PLAN_FAIL, "no Sentinel is reachable");
    } else {
        check(p, "sentinel", PLAN_FAIL, "no reachable Sentinel reports the master%s%s",
              c->master[0] ? " " : "", c->master);
    }

    if (c->quorum_ok)
        check(p, "quorum", PLAN_OK, "%d of %d Sentinels agree on the master, quorum %d",
              c->quorum_reachable, c->nsentinels, c->quorum_configured);
    else
        check(p, "quorum", rq->force ? PLAN_WARN : PLAN_FAIL,
              "the Sentinels do not reach quorum (%d of %d agree)%s", c->quorum_reachable,
              c->quorum_configured, rq->force ? "; a forced failover goes ahead without it" : "");

    m = c->master[0] ? cluster_snap_node(c, c->master) : NULL;
    if (m && m->up && m->role == ROLE_MASTER)
        check(p, "master", PLAN_OK,
              rq->force ? "master %s is up: its writes pause and it is fenced as soon as a replica "
                          "is promoted"
                        : "master %s is up; writes pause on it",
              c->master);
    else if (rq->force)
        check(p, "master", PLAN_WARN,
              "master %s is unreachable: Sentinel reconfigures it when it comes back", c->master);
    else
        check(p, "master", PLAN_FAIL,
              "the master %s is unreachable; a graceful switchover needs it: use mode \"force\"",
              c->master);

    if (rq->target[0]) {
        const snap_node *t = cluster_snap_node(c, rq->target);
        const char *why;
        if (!t || !strcmp(rq->target, c->master)) {
            check(p, "target", PLAN_FAIL, "no replica %.80s in this cluster", rq->target);
            p->status = 404;
        } else if (rq->force) {
            check(p, "target", PLAN_FAIL,
                  "target goes with mode graceful; a forced failover lets Sentinel choose");
        } else if ((why = policy_promotable(t, c->master, p->rq.max_lag_bytes))) {
            check(p, "target", PLAN_FAIL, "target %s %s", t->addr, why);
        } else {
            check(p, "target", PLAN_OK, "target %s is an online replica, lag %lld bytes", t->addr,
                  (long long)t->lag_bytes);
        }
    }

    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        const char *why;
        if (!strcmp(n->addr, c->master)) continue;
        why = rq->force ? (n->up ? NULL : "is down")
                        : policy_promotable(n, c->master, p->rq.max_lag_bytes);
        if (why) {
            add_reason(why_all, sizeof(why_all), n->addr, why);
        } else {
            size_t l = strlen(list);
            ncand++;
            if (l < sizeof(list))
                snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : " ", n->addr);
        }
    }
    if (ncand)
        check(p, "replicas", PLAN_OK, "replicas hapanel could promote:%s", list);
    else if (rq->force)
        check(p, "replicas", PLAN_FAIL, "no replica is reachable");
    else
        check(p, "replicas", rq->target[0] ? PLAN_WARN : PLAN_FAIL,
              "no replica can be promoted%s%s", why_all[0] ? ": " : "", why_all);

    if (s) check_sentinel_view(p, c, s, now_ms);

    if (!rq->force || (m && m->up)) {
        int64_t da = p->down_after_ms;
        p->max_pause_ms = rq->max_pause_ms > 0 ? rq->max_pause_ms : da > 0 ? da / 2 : 2000;
        if (p->max_pause_ms > 5000) p->max_pause_ms = 5000;
        if (da > 0 && p->max_pause_ms >= da)
            check(p, "pause", PLAN_FAIL,
                  "max_pause_ms %lld must stay below down-after-milliseconds %lld",
                  (long long)p->max_pause_ms, (long long)da);
        else
            check(p, "pause", PLAN_OK,
                  rq->force ? "writes pause until the promotion (no catch-up wait), at most %lld ms"
                            : "writes pause for the catch-up and the promotion, at most %lld ms",
                  (long long)p->max_pause_ms);
    }

    if (m && m->up) {
        p->fence_persists = !m->no_config_file;
        if (!m->no_config_file)
            check(p, "fence", PLAN_OK,
                  "the fence persists: CONFIG REWRITE records REPLICAOF in %s's config file",
                  m->addr);
        else
            check(p, "fence", PLAN_WARN,
                  "%s runs without a config file: the fence cannot be persisted, and after a "
                  "restart it would come back as a master",
                  m->addr);
    }

    for (i = 0; i < p->nchecks; i++)
        if (p->checks[i].state > p->state) p->state = p->checks[i].state;
    for (i = 0; p->state >= PLAN_WAIT && i < p->nchecks; i++)
        if (p->checks[i].state == p->state) {
            p->blocker = i;
            break;
        }
    if (p->state == PLAN_FAIL && !p->status)
        p->status = !strcmp(p->checks[p->blocker].name, "failover_idle") ? 409 : 412;
}

const char *plan_blocker(const plan *p)
{
    return p->blocker >= 0 ? p->checks[p->blocker].message : NULL;
}

const char *plan_state_name(int state)
{
    static const char *const names[] = {"ok", "warn", "wait", "fail"};
    return state >= 0 && state <= PLAN_FAIL ? names[state] : "fail";
}

/* ----------------------------------------------------------------- rendering */

static void num_or_null(cJSON *o, const char *k, int64_t v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, (double)v);
}

static void str_or_null(cJSON *o, const char *k, const char *v)
{
    if (v && v[0])
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static cJSON *render_sview(const snap_sview *v, const snap_sentinel *s, const snap_node *master,
                           int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    int64_t age = view_age(s, now_ms);
    promo_master m = master_of(s, age);
    char why[160];
    int ok = promo_sentinel_rule(v, &m, age, 0, why, sizeof(why));

    cJSON_AddStringToObject(o, "sentinel", v->sentinel);
    cJSON_AddStringToObject(o, "flags", v->flags);
    num_or_null(o, "priority", v->priority);
    num_or_null(o, "repl_offset", v->repl_offset);
    num_or_null(
        o, "lag_bytes",
        master && master->repl_offset >= 0 && v->repl_offset >= 0
            ? (master->repl_offset > v->repl_offset ? master->repl_offset - v->repl_offset : 0)
            : -1);
    num_or_null(o, "info_age_ms", v->info_refresh_ms >= 0 ? v->info_refresh_ms + age : -1);
    num_or_null(o, "ping_age_ms", v->last_ok_ping_ms >= 0 ? v->last_ok_ping_ms + age : -1);
    num_or_null(o, "link_down_ms", v->link_down_ms);
    str_or_null(o, "runid", v->runid);
    cJSON_AddBoolToObject(o, "eligible", ok);
    str_or_null(o, "why_not", ok ? NULL : why);
    return o;
}

cJSON *plan_json(const plan *p, const cluster_snap *c, int64_t now_ms)
{
    cJSON *root = cJSON_CreateObject(), *arr, *reps;
    const snap_node *master = c->master[0] ? cluster_snap_node(c, c->master) : NULL;
    int i, j;

    cJSON_AddStringToObject(root, "cluster", c->name);
    cJSON_AddStringToObject(root, "mode", p->rq.force ? "force" : "graceful");
    str_or_null(root, "target", p->rq.target);
    cJSON_AddBoolToObject(root, "ok", p->state < PLAN_WAIT);
    cJSON_AddStringToObject(root, "state", plan_state_name(p->state));
    str_or_null(root, "blocker", plan_blocker(p));
    str_or_null(root, "old_master", p->old_master);
    str_or_null(root, "sentinel", p->sentinel);
    str_or_null(root, "choice", p->choice);
    str_or_null(root, "choice_why", p->choice_why);
    num_or_null(root, "down_after_ms", p->down_after_ms);
    num_or_null(root, "max_pause_ms", p->max_pause_ms > 0 ? p->max_pause_ms : -1);
    if (p->fence_persists < 0)
        cJSON_AddNullToObject(root, "fence_persists");
    else
        cJSON_AddBoolToObject(root, "fence_persists", p->fence_persists);
    arr = cJSON_AddArrayToObject(root, "checks");
    for (i = 0; i < p->nchecks; i++) {
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "name", p->checks[i].name);
        cJSON_AddStringToObject(k, "state", plan_state_name(p->checks[i].state));
        cJSON_AddStringToObject(k, "message", p->checks[i].message);
        cJSON_AddItemToArray(arr, k);
    }
    reps = cJSON_AddArrayToObject(root, "replicas");
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        cJSON *r, *pv, *sv;
        const char *why;
        if (!strcmp(n->addr, c->master)) continue;
        why = policy_promotable(n, c->master, p->rq.max_lag_bytes);
        r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "addr", n->addr);
        pv = cJSON_AddObjectToObject(r, "panel");
        cJSON_AddBoolToObject(pv, "eligible", why == NULL);
        str_or_null(pv, "why_not", why);
        cJSON_AddStringToObject(pv, "role", role_name(n->role));
        if (n->polled)
            cJSON_AddBoolToObject(pv, "up", n->up);
        else
            cJSON_AddNullToObject(pv, "up");
        num_or_null(pv, "priority", n->priority);
        num_or_null(pv, "repl_offset", n->repl_offset);
        num_or_null(pv, "lag_bytes", n->lag_bytes);
        sv = cJSON_AddArrayToObject(r, "sentinels");
        for (j = 0; j < c->nsviews; j++) {
            const snap_sview *v = &c->sviews[j];
            int k;
            if (strcmp(v->addr, n->addr)) continue;
            for (k = 0; k < c->nsentinels && strcmp(c->sentinels[k].addr, v->sentinel); k++)
                ;
            if (k < c->nsentinels)
                cJSON_AddItemToArray(sv, render_sview(v, &c->sentinels[k], master, now_ms));
        }
        cJSON_AddItemToArray(reps, r);
    }
    return root;
}
