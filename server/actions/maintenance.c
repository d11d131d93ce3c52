/* maintenance.c — maintenance windows (see maintenance.h): the start and end
 * recipes, their recovery, and the timer that ends a window at its time.
 * Holding back a failover uses what Sentinel itself obeys: a replica with
 * replica-priority 0 is never promoted (-failover-abort-no-good-slave), the
 * same lever the failover recipe pulls when it disarms an unanswered
 * SENTINEL FAILOVER. The window's rows are the durable state; nothing is
 * changed on a node before the originals are stored in the row and in the
 * job's undo. */
#define _POSIX_C_SOURCE 200809L
#include "actions/maintenance.h"

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions/jobs.h"
#include "actions/steps.h"
#include "core/log.h"
#include "db/db.h"
#include "db/maintenance.h"
#include "redis/rclient.h"
#include "redis/sreply.h"
#include "core/ticker.h"
#include "ha/ha.h"
#include "core/banned.h" /* last: after every system header */

#define MAINT_TICK_S 1
#define MAINT_RETRY_MS 10000 /* an end job that did not close the window is tried again after */

/* ------------------------------------------------------------------ events */

static void maint_event(job *jb, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void maint_event(job *jb, const char *type, const char *fmt, ...)
{
    hp_event e;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hp_event_set(&e, EV_PANEL, job_cluster(jb), type, "info", "panel", NULL, msg);
    e.job_id = job_id(jb);
    evq_push(job_events(jb), &e);
}

/* "HH:MM UTC" of a time in ms. */
static void hhmm(int64_t ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%H:%M UTC", &tm);
}

/* --------------------------------------------------------- Sentinels' view */

/* The cluster's Sentinels: those the job's undo names (a recovery runs
 * before the monitor has found them again), else the snapshot's, waiting a
 * few seconds for the monitor's first polls. Returns how many. */
static int sentinel_addrs(job *jb, char (*addrs)[HP_ADDR_MAX])
{
    const cJSON *it;
    int64_t deadline = hp_mono_ms() + 10000;
    int n = 0;

    cJSON_ArrayForEach(it, cJSON_GetObjectItem(job_undo(jb), "sentinels"))
    {
        if (cJSON_IsString(it) && n < MAX_NODES)
            hp_strlcpy(addrs[n++], it->valuestring, HP_ADDR_MAX);
    }
    while (n == 0 && !job_cancelled(jb)) {
        topo_snap *t = topo_acquire();
        const cluster_snap *c = topo_find(t, job_cluster(jb));
        int i;
        for (i = 0; c && i < c->nsentinels && n < MAX_NODES; i++)
            hp_strlcpy(addrs[n++], c->sentinels[i].addr, HP_ADDR_MAX);
        topo_release(t);
        if (n || hp_mono_ms() >= deadline) break;
        step__sleep_ms(250);
    }
    return n;
}

/* Waits (up to PRIORITY_SEEN_TIMEOUT_MS) until every Sentinel of the
 * cluster that answers reports, in SENTINEL REPLICAS, the priority want
 * gives each replica (zero: want_zero; else each one's value in want).
 * Sentinel re-reads a replica's INFO every 10 s, so this takes up to that.
 * Returns 0 when all seen, -1 with the first that still differs in err. */
static int sentinels_see(job *jb, const cJSON *want, int want_zero, char *err, size_t errsz)
{
    const config *cfg = job_config(jb);
    char addrs[MAX_NODES][HP_ADDR_MAX];
    int64_t deadline = hp_mono_ms() + PRIORITY_SEEN_TIMEOUT_MS;
    int i, n = sentinel_addrs(jb, addrs), seen = 0, answered = 0;

    snprintf(err, errsz, "no Sentinel of %s is known", job_cluster(jb));
    while (!job_cancelled(jb)) {
        seen = answered = 0;
        for (i = 0; i < n; i++) {
            char e1[256];
            rclient *s =
                step__sentinel_connect(job_group(jb), addrs[i], cfg->timeout_ms, e1, sizeof(e1));
            sentinel_entry e[MAX_NODES];
            redisReply *r =
                s ? rclient_cmd(s, e1, sizeof(e1), "SENTINEL REPLICAS %s", job_cluster(jb)) : NULL;
            int k = r ? sreply_entries(r, e, MAX_NODES) : -1, ok = k >= 0, j;
            const cJSON *it;
            freeReplyObject(r);
            rclient_free(s);
            if (!ok) continue;
            answered++;
            cJSON_ArrayForEach(it, want)
            {
                int expect = want_zero ? 0 : it->valueint, found = 0;
                for (j = 0; j < k; j++) {
                    char a[HP_ADDR_MAX];
                    hp_addr_fmt(a, sizeof(a), e[j].ip, e[j].port);
                    if (strcmp(a, it->string)) continue;
                    found = 1;
                    if (e[j].priority != expect) {
                        snprintf(err, errsz,
                                 "Sentinel %.64s still reports slave-priority %d for %.64s",
                                 addrs[i], e[j].priority, it->string);
                        ok = 0;
                    }
                }
                if (!found) {
                    snprintf(err, errsz, "Sentinel %.64s does not list %.64s", addrs[i],
                             it->string);
                    ok = 0;
                }
            }
            seen += ok;
        }
        if (answered > 0 && seen == answered) break;
        if (hp_mono_ms() >= deadline) return -1;
        step__sleep_ms(250);
    }
    if (answered < n)
        job_step(jb,
                 "%d of %d Sentinels did not answer; each re-reads the replicas when it returns",
                 n - answered, n);
    return answered > 0 && seen == answered ? 0 : -1;
}

/* ------------------------------------------------------------------- start */

/* Stores the window's row: a failure to store is logged (the job's undo
 * still holds the originals). */
static void save_row(job *jb, hp_maint *m)
{
    if (evq_maintenance_save(job_events(jb), m) < 0)
        job_step(jb, "warning: the maintenance window could not be stored");
}

/* Puts back the originals (persisted) and closes the row with cause. */
static void put_back(job *jb, hp_maint *m, const char *state, const char *cause)
{
    step__undo_now(jb, 1);
    hp_strlcpy(m->state, state, sizeof(m->state));
    hp_strlcpy(m->end_cause, cause, sizeof(m->end_cause));
    m->ended_at = hp_now_ms();
    save_row(jb, m);
}

/* Every replica in prio (the undo's originals) to replica-priority 0, with
 * CONFIG REWRITE where the node has a config file (a replica restarted in
 * the window keeps 0), checked in its INFO; then every Sentinel must have
 * read it. Any failure puts everything back and closes the row. */
static int hold(job *jb, hp_maint *m)
{
    const config *cfg = job_config(jb);
    const cJSON *prio = cJSON_GetObjectItem(job_undo(jb), "priorities"), *it;
    cJSON *zero = cJSON_CreateObject();
    char err[512] = "", why[256];
    int set = 0, rewritten = 0, rc = -1;

    cJSON_AddStringToObject(zero, "replica-priority", "0");
    job_failpoint(jb, "maintenance-before-hold");
    cJSON_ArrayForEach(it, prio)
    {
        rclient *n =
            step__node_connect(job_group(jb), it->string, cfg->timeout_ms, err, sizeof(err));
        reconf r = {NULL, 0, zero, 0};
        node_info in;
        int persisted = 0;
        if (!n || step__reconfigure(n, &r, &persisted, why, sizeof(why), err, sizeof(err)) < 0 ||
            rclient_info(n, &in, err, sizeof(err)) < 0 || in.priority != 0) {
            if (n && !err[0])
                snprintf(err, sizeof(err), "%s kept its replica-priority", it->string);
            rclient_free(n);
            job_fail(jb, "could not set replica-priority 0 on %s: %s", it->string,
                     why[0] ? why : err);
            goto fail;
        }
        rclient_free(n);
        set++;
        rewritten += persisted;
        job_step(jb, "replica-priority of %s set to 0 (was %d), %s", it->string, it->valueint,
                 persisted ? "persisted with CONFIG REWRITE" : "not rewritten (no config file?)");
    }
    job_failpoint(jb, "maintenance-after-hold");
    job_step(jb, "waiting up to %d s for every Sentinel to read the new priorities",
             PRIORITY_SEEN_TIMEOUT_MS / 1000);
    if (sentinels_see(jb, prio, 1, err, sizeof(err)) < 0) {
        job_fail(jb,
                 "the Sentinels did not read replica-priority 0 in time (%s); what was "
                 "changed is put back",
                 err);
        goto fail;
    }
    job_step(jb,
             "every Sentinel reports slave-priority 0 for the %d replica(s): no failover "
             "until the window ends",
             set);
    hp_strlcpy(m->state, "active", sizeof(m->state));
    save_row(jb, m);
    rc = 0;
    goto out;
fail:
    put_back(jb, m, "failed", "failed");
out:
    cJSON_AddNumberToObject(job_result(jb), "rewritten", rewritten);
    cJSON_Delete(zero);
    return rc;
}

int recipe_maintenance_start(job *jb)
{
    const config *cfg = job_config(jb);
    int64_t until = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(job_params(jb), "until"));
    cJSON *prio = cJSON_CreateObject();
    char when[32];
    hp_maint m;
    ctx x;
    int i, rc = -1;

    memset(&m, 0, sizeof(m));
    if (step__ctx_init(&x, jb) < 0) goto out;
    if (until <= hp_now_ms() || until > hp_now_ms() + MAINT_MAX_MS) {
        job_fail(jb, "the window's end is in the past or more than 24 h ahead");
        goto out;
    }
    if (!x.c->master[0]) {
        job_fail(jb, "the cluster has no master");
        goto out;
    }
    /* Every replica must answer: one left at its priority could be promoted. */
    for (i = 0; i < x.c->nnodes; i++) {
        const char *a = x.c->nodes[i].addr;
        rclient *n;
        node_info in;
        if (!strcmp(a, x.c->master)) continue;
        n = step__node_connect(x.grp, a, cfg->timeout_ms, x.err, sizeof(x.err));
        if (!n || rclient_info(n, &in, x.err, sizeof(x.err)) < 0 || in.priority < 0) {
            rclient_free(n);
            job_fail(jb,
                     "replica %s does not answer (%s): a replica left at its priority could "
                     "be promoted; nothing was changed",
                     a, x.err);
            goto out;
        }
        rclient_free(n);
        cJSON_AddNumberToObject(prio, a, in.priority);
    }
    if (!prio->child) {
        job_fail(jb, "%s has no replica: nothing to hold back", x.c->name);
        goto out;
    }
    /* The originals, stored twice before any change: in the window's row
     * (what the end, the timer and a restart read) and in the job's undo
     * (what this job's recovery reads). */
    {
        char *text = cJSON_PrintUnformatted(prio);
        hp_strlcpy(m.cluster, x.c->name, sizeof(m.cluster));
        m.started_at = hp_now_ms();
        m.until = until;
        hp_strlcpy(m.reason, job_reason(jb), sizeof(m.reason));
        hp_strlcpy(m.actor, job_actor(jb), sizeof(m.actor));
        hp_strlcpy(m.priorities, text ? text : "{}", sizeof(m.priorities));
        hp_strlcpy(m.state, "starting", sizeof(m.state));
        m.start_job = job_id(jb);
        cJSON_free(text);
    }
    if (evq_maintenance_save(job_events(jb), &m) < 0) {
        job_fail(jb, "the maintenance window could not be stored; nothing was changed");
        goto out;
    }
    cJSON_AddNumberToObject(job_undo(jb), "maintenance_id", (double)m.id);
    {
        cJSON *sl = cJSON_AddArrayToObject(job_undo(jb), "sentinels");
        for (i = 0; i < x.c->nsentinels; i++)
            cJSON_AddItemToArray(sl, cJSON_CreateString(x.c->sentinels[i].addr));
    }
    step__undo_put(jb, "priorities", prio);
    prio = NULL;
    hhmm(until, when, sizeof(when));
    job_step(jb, "maintenance window %lld until %s; originals kept: %s", (long long)m.id, when,
             m.priorities);
    rc = hold(jb, &m);
    if (rc == 0) {
        cJSON_AddNumberToObject(job_result(jb), "maintenance_id", (double)m.id);
        cJSON_AddNumberToObject(job_result(jb), "until", (double)(until / 1000));
        cJSON_AddItemToObject(job_result(jb), "priorities", cJSON_Parse(m.priorities));
        maint_event(jb, "maintenance-started",
                    "maintenance of %s until %s by %s%s%s: no automatic failover", m.cluster, when,
                    m.actor[0] ? m.actor : "?", m.reason[0] ? ": " : "", m.reason);
    }
out:
    cJSON_Delete(prio);
    step__ctx_release(&x);
    return rc;
}

/* A start interrupted by a restart: with its originals stored, the window
 * is held again if its time has not come (every step is idempotent), else
 * what it changed is put back. */
int recipe_maintenance_start_recover(job *jb)
{
    cJSON *u = job_undo(jb);
    int64_t id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(u, "maintenance_id"));
    hp_maint m;
    int found = db_maintenance_open(job_db(jb), job_cluster(jb), &m);

    if (found <= 0 || m.id != id || !cJSON_GetObjectItem(u, "priorities")) {
        if (found > 0 && m.id == id) put_back(jb, &m, "failed", "failed");
        step__undo_now(jb, 1);
        job_fail(jb, "the window had not been opened; nothing is held");
        return -1;
    }
    if (m.until <= hp_now_ms()) {
        put_back(jb, &m, "ended", "expired");
        maint_event(jb, "maintenance-ended",
                    "maintenance of %s ended (its time passed while hapanel was down); "
                    "priorities put back",
                    m.cluster);
        job_fail(jb, "the window's time passed while hapanel was down: priorities put back");
        return -1;
    }
    job_step(jb, "the window is still open: holding the replicas again");
    if (hold(jb, &m) < 0) return -1;
    maint_event(jb, "maintenance-started", "maintenance of %s resumed after a restart of hapanel",
                m.cluster);
    return 0;
}

/* --------------------------------------------------------------------- end */

/* The Sentinel group the window's start job recorded, for an end job that
 * recorded none: the scheduler submits it when the window's time comes,
 * also at a start of hapanel before the monitor has seen the cluster (or
 * while its Sentinels are down), and job_group would then fall back to
 * groups[0], whose address map and credentials another group's nodes do
 * not take. */
static void inherit_group(job *jb, const hp_maint *m)
{
    db_job_row r;
    cJSON *p;

    if (cJSON_GetObjectItem(job_params(jb), "group") || m->start_job <= 0 ||
        db_job_get(job_db(jb), m->start_job, &r) != 1)
        return;
    p = cJSON_Parse(r.params ? r.params : "{}");
    job_inherit_group(jb, cJSON_GetStringValue(cJSON_GetObjectItem(p, "group")));
    cJSON_Delete(p);
    db_job_row_release(&r);
}

int recipe_maintenance_end(job *jb)
{
    const config *cfg = job_config(jb);
    const char *cause = step__param_str(jb, "cause");
    cJSON *prio, *restored = cJSON_CreateObject(), *it;
    char err[512];
    hp_maint m;
    int found = db_maintenance_open(job_db(jb), job_cluster(jb), &m), left = 0;

    if (!cause[0]) cause = "delete";
    if (found < 0) {
        cJSON_Delete(restored);
        job_fail(jb, "the maintenance table is not readable");
        return -1;
    }
    if (found == 0) {
        cJSON_Delete(restored);
        job_step(jb, "no maintenance window is open on %s: nothing to put back", job_cluster(jb));
        return 0;
    }
    m.end_job = job_id(jb);
    inherit_group(jb, &m);
    prio = cJSON_Parse(m.priorities);
    if (!prio) prio = cJSON_CreateObject();
    cJSON_AddNumberToObject(job_undo(jb), "maintenance_id", (double)m.id);
    step__undo_put(jb, "priorities", cJSON_Duplicate(prio, 1));
    job_step(jb, "ending maintenance window %lld (%s): putting back %s", (long long)m.id, cause,
             m.priorities);
    job_failpoint(jb, "maintenance-before-restore");
    step__undo_now(jb, 1);
    /* What each replica has now, for the result: a node that was down keeps
     * 0 until someone sets it (the step above says how). */
    cJSON_ArrayForEach(it, prio)
    {
        rclient *n =
            step__node_connect(job_group(jb), it->string, cfg->timeout_ms, err, sizeof(err));
        node_info in;
        if (n && rclient_info(n, &in, err, sizeof(err)) == 0) {
            cJSON_AddNumberToObject(restored, it->string, in.priority);
            left += in.priority != it->valueint;
        } else {
            left++;
        }
        rclient_free(n);
    }
    if (!left && sentinels_see(jb, prio, 0, err, sizeof(err)) == 0)
        job_step(jb, "every Sentinel reports the original priorities again");
    else if (!left)
        job_step(jb, "warning: %s (Sentinel reads it at its next INFO)", err);
    hp_strlcpy(m.state, "ended", sizeof(m.state));
    hp_strlcpy(m.end_cause, cause, sizeof(m.end_cause));
    m.ended_at = hp_now_ms();
    save_row(jb, &m);
    cJSON_AddNumberToObject(job_result(jb), "maintenance_id", (double)m.id);
    cJSON_AddItemToObject(job_result(jb), "priorities", restored);
    cJSON_AddNumberToObject(job_result(jb), "not_restored", left);
    maint_event(jb, "maintenance-ended", "maintenance of %s ended (%s)%s", m.cluster,
                !strcmp(cause, "expired") ? "its time came" : "ended by hand",
                left ? "; some priorities could not be put back: see the job" : "");
    cJSON_Delete(prio);
    return 0;
}

/* ------------------------------------------------------------------- timer */

struct maint_sched {
    const config *cfg;
    struct db *d;
    jobs *j;
    hp_ticker *ticker;
    struct {
        int64_t id, at; /* the window, and when its end was last submitted (mono ms) */
    } sent[64];
};

static void due_one(void *ctx, const hp_maint *m)
{
    maint_sched *s = ctx;
    int64_t now = hp_mono_ms(), id;
    size_t i, slot = 0;
    cJSON *params;

    if (m->until > hp_now_ms()) return;
    for (i = 0; i < sizeof(s->sent) / sizeof(s->sent[0]); i++) {
        if (s->sent[i].id == m->id) {
            if (now - s->sent[i].at < MAINT_RETRY_MS) return;
            slot = i;
            break;
        }
        if (s->sent[i].at < s->sent[slot].at) slot = i;
    }
    params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "cause", "expired");
    /* BUSY: its start (or its recovery) still runs; the next tick retries. */
    if (jobs_submit(s->j, "maintenance-end", m->cluster, params, "scheduler",
                    "maintenance window ended", &id) == JOBS_OK) {
        s->sent[slot].id = m->id;
        s->sent[slot].at = now;
        log_info("maintenance: window %lld of %s has ended: job %lld puts the priorities back",
                 (long long)m->id, m->cluster, (long long)id);
    }
    cJSON_Delete(params);
}

/* With HA only the leader ends windows (they are in its table; a window a
 * dead leader opened is this one's only after its job's recovery). */
static void sched_tick(void *arg)
{
    maint_sched *s = arg;
    if (!ha_is_leader(jobs_ha(s->j))) return;
    db_maintenance_each_open(s->d, due_one, s);
}

maint_sched *maint_sched_new(const config *cfg, struct db *d, struct jobs *j)
{
    maint_sched *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->cfg = cfg;
    s->d = d;
    s->j = j;
    if (!(s->ticker = hp_ticker_start(sched_tick, s, MAINT_TICK_S * 1000))) {
        free(s);
        return NULL;
    }
    return s;
}

void maint_sched_free(maint_sched *s)
{
    if (!s) return;
    hp_ticker_stop(s->ticker);
    free(s);
}
