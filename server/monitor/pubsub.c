/* pubsub.c — what Sentinels publish (PSUBSCRIBE *): each message an event,
 * and automatic failovers assembled from +odown, +try-failover and
 * +switch-master, one record per failover (see internal.h). */
#define _POSIX_C_SOURCE 200809L
#include "monitor/internal.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/alerts.h"
#include "redis/info.h"
#include "core/log.h"
#include "model/promote.h"
#include "redis/rconn.h"
#include "redis/sreply.h"
#include "model/topology.h"
#include "core/banned.h" /* last: after every system header */

/* ----------------------------------------------------------- Sentinel events */

/* The log says at most EVENT_LOG_BURST Sentinel events a second, and then,
 * about once a second, how many it left out; the history has every one. A
 * line per event in a flood is a write(2) per event on the monitor thread,
 * which reads the pub/sub connections: at 50,000 events/s that was half of
 * its time (writing to a file), and to a pipe (journald, docker) a write
 * blocks once the reader lags, while Redis drops a subscriber that falls
 * 32 MB behind. The monitor thread alone runs these, so no lock. */
#define EVENT_LOG_BURST 200

typedef struct event_log {
    int64_t window_ms;  /* monotonic start of the second being counted */
    int lines;          /* lines written in it */
    uint64_t skipped;   /* events not logged since skipped_ms */
    int64_t skipped_ms; /* monotonic */
    int timer;          /* a flush is scheduled */
} event_log;

static _Thread_local event_log elog;

static void event_log_flush(void)
{
    if (!elog.skipped) return;
    log_info("monitor: %llu more Sentinel events in the last %.1f s, not logged (at most %d a "
             "second are; the history has each one)",
             (unsigned long long)elog.skipped, (double)(hp_mono_ms() - elog.skipped_ms) / 1000.0,
             EVENT_LOG_BURST);
    elog.skipped = 0;
}

static void on_event_log_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    elog.timer = 0;
    event_log_flush();
}

/* Queues e for the history and logs it, within the log's budget. */
static void emit_logged(monitor *m, const hp_event *e)
{
    int64_t now = hp_mono_ms();

    evq_push(m->q, e);
    if (now - elog.window_ms >= 1000) {
        elog.window_ms = now;
        elog.lines = 0;
    }
    if (elog.lines < EVENT_LOG_BURST) {
        elog.lines++;
        log_info("event %s %s %s %s", e->cluster, e->type, e->node, e->message);
        return;
    }
    if (!elog.skipped++) elog.skipped_ms = now;
    if (!elog.timer) {
        struct timeval tv = {1, 0};
        /* freed with the base if the monitor stops first */
        if (event_base_once(m->base, -1, EV_TIMEOUT, on_event_log_timer, NULL, &tv) == 0)
            elog.timer = 1;
    }
}

static const char *event_severity(const char *type)
{
    if (!strcmp(type, "+odown") || !strcmp(type, "+sdown"))
        return !strcmp(type, "+odown") ? "critical" : "warning";
    if (!strcmp(type, "+switch-master") || !strcmp(type, "+try-failover") ||
        !strcmp(type, "+tilt") || !strncmp(type, "-failover-abort", 15) ||
        !strcmp(type, "+failover-end-for-timeout"))
        return "warning";
    return "info";
}

/* Returns 1 if this +switch-master repeats the cluster's last one (another
 * Sentinel publishing the same failover), else remembers it and returns 0.
 * Compared with the last switch only: A -> B, B -> A, A -> B are three
 * failovers however quickly they follow each other. */
static int switch_seen(monitor *m, const sentinel_event *se)
{
    mcluster *mc = mon__cluster_get(m, se->cluster, 0);
    char key[2 * HP_ADDR_MAX + 2];
    int64_t now = hp_mono_ms();

    if (!mc) return 0;
    snprintf(key, sizeof(key), "%s>%s", se->old_master, se->new_master);
    if (mc->last_switch_at && now - mc->last_switch_at < SWITCH_DUP_MS &&
        !strcmp(mc->last_switch, key))
        return 1;
    hp_strlcpy(mc->last_switch, key, sizeof(mc->last_switch));
    mc->last_switch_at = now;
    return 0;
}

/* Assembles automatic failovers from the Sentinel events: the first +odown or
 * +try-failover starts one, the first +switch-master completes it, an abort
 * ends it, and an -odown before any +try-failover (the master came back)
 * forgets it. Failovers run by hapanel's own jobs are recorded by the job. */
static void track_failover(monitor *m, const char *type, const sentinel_event *se)
{
    mcluster *mc = se->cluster[0] ? mon__cluster_get(m, se->cluster, 0) : NULL;
    hp_failover f;

    if (!mc) return;
    if (!strcmp(type, "+odown") || !strcmp(type, "+try-failover")) {
        if (!mc->failover_started) mc->failover_started = hp_now_ms();
        if (!strcmp(type, "+try-failover")) mc->failover_tried = 1;
        return;
    }
    if (!strcmp(type, "-odown")) {
        if (!mc->failover_tried) mc->failover_started = 0;
        return;
    }
    memset(&f, 0, sizeof(f));
    if (!strcmp(type, "+switch-master")) {
        hp_strlcpy(f.status, "succeeded", sizeof(f.status));
        hp_strlcpy(f.old_master, se->old_master, sizeof(f.old_master));
        hp_strlcpy(f.new_master, se->new_master, sizeof(f.new_master));
        f.watched = mc->last && !strcmp(mc->last->master, se->old_master);
    } else if (!strncmp(type, "-failover-abort", 15) && mc->failover_started) {
        hp_strlcpy(f.status, "aborted", sizeof(f.status));
        if (mc->last) hp_strlcpy(f.old_master, mc->last->master, sizeof(f.old_master));
    } else {
        return;
    }
    if (!m->busy || !m->busy(m->busy_ctx, se->cluster)) {
        hp_strlcpy(f.cluster, se->cluster, sizeof(f.cluster));
        hp_strlcpy(f.kind, "automatic", sizeof(f.kind));
        f.ended_at = hp_now_ms();
        f.started_at = mc->failover_started ? mc->failover_started : f.ended_at;
        f.duration_ms = f.ended_at - f.started_at;
        f.writes_paused_ms = -1;
        hp_strlcpy(f.actor, "sentinel", sizeof(f.actor));
        evq_push_failover(m->q, &f);
    }
    mc->failover_started = 0;
    mc->failover_tried = 0;
}

/* The event channel of a Sentinel that stayed reachable was closed and is open
 * again: what it published in between is lost, and nothing counts it. The
 * usual cause is Redis itself closing a subscriber that fell behind its
 * client-output-buffer-limit pubsub (32 MB, or 8 MB for 60 s), in a flood
 * faster than this host can read. Recorded as an events-dropped event (it
 * opens the events_dropped alert) with no count. */
static void channel_gap(monitor *m, msentinel *s)
{
    hp_event e;
    char source[HP_ADDR_MAX + 16], msg[512];
    int64_t gap = hp_mono_ms() - s->sub_lost_ms;

    s->sub_lost_ms = 0;
    /* Its command connection failed or was reopened too: it was restarted
     * or unreachable, which sentinel-down and -up tell; Redis closes a slow
     * subscriber alone. */
    if (s->sub_gap_down || rconn_connects(s->conn) != s->sub_conn_connects) return;
    snprintf(source, sizeof(source), "sentinel %s", s->addr);
    snprintf(msg, sizeof(msg),
             "events of Sentinel %s lost: its event channel was closed (%s) for %.1f s while "
             "the Sentinel stayed reachable; what it published meanwhile is not in the history "
             "(Redis closes a "
             "subscriber that falls behind client-output-buffer-limit pubsub)",
             s->addr, s->sub_error, (double)gap / 1000.0);
    log_warn("monitor: %s", msg);
    hp_event_set(&e, EV_EVENTS_DROPPED, "", "events-dropped", "warning", source, s->addr, msg);
    e.count = 0; /* not known */
    mon__emit(m, &e);
}

void mon__on_sentinel_event(rconn *c, redisReply *r, void *priv)
{
    msentinel *s = priv;
    monitor *m = s->m;
    const char *type, *payload;
    sentinel_event se;
    char source[HP_ADDR_MAX + 16], msg[512];
    hp_event e;

    (void)c;
    if (m->stopping) return;
    if (!r) {
        log_debug("monitor: Sentinel %s: event channel closed: %s", s->addr, rconn_error(c));
        if (s->sub_live) {
            s->sub_live = 0;
            s->sub_lost_ms = hp_mono_ms();
            s->sub_gap_down = 0;
            s->sub_conn_connects = rconn_connects(s->conn);
            hp_strlcpy(s->sub_error, rconn_error(c), sizeof(s->sub_error));
        }
        return;
    }
    if (!s->sub_live) { /* the confirmation of the subscription, or a first message */
        s->sub_live = 1;
        if (s->sub_lost_ms) channel_gap(m, s);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[2]->type != REDIS_REPLY_STRING || r->element[3]->type != REDIS_REPLY_STRING)
        return;
    type = r->element[2]->str;
    payload = r->element[3]->str;
    if (!strncmp(type, "__sentinel__", 12)) return;
    sreply_event(type, payload, &se);
    if (se.cluster[0] && !mon__name_wanted(m, s->group, se.cluster)) return;
    if (se.cluster[0]) { /* a master name another group owns: its events are that group's */
        const mcluster *owner = mon__cluster_get(m, se.cluster, 0);
        if (owner && owner->group != s->group) return;
    }
    __atomic_add_fetch(&m->sentinel_events, 1, __ATOMIC_RELAXED);
    snprintf(source, sizeof(source), "sentinel %s", s->addr);
    if (!strcmp(type, "+switch-master")) {
        if (switch_seen(m, &se)) return;
        track_failover(m, type, &se);
        snprintf(msg, sizeof(msg), "failover of %s: master %s -> %s", se.cluster, se.old_master,
                 se.new_master);
        /* Poll at once: the new roles show within one round trip. */
        event_active(m->burst, EV_TIMEOUT, 0);
    } else {
        snprintf(msg, sizeof(msg), "%s %s", type, payload);
        track_failover(m, type, &se);
    }
    hp_event_set(&e, EV_SENTINEL, se.cluster, type, event_severity(type), source, se.node, msg);
    hp_strlcpy(e.payload, payload, sizeof(e.payload));
    hp_strlcpy(e.old_master, se.old_master, sizeof(e.old_master));
    hp_strlcpy(e.new_master, se.new_master, sizeof(e.new_master));
    emit_logged(m, &e); /* mon__emit, with the log limited in a flood */
}
