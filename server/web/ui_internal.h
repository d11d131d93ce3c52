/* ui_internal.h — what the dashboard's files (web/ui_*.c) share and
 * nothing else sees: the limits, the small formatters (every one escapes what
 * it writes), the shared row contexts and the renderers one screen borrows
 * from another. Each screen is its own file: the cluster list
 * (ui_clusters.c with ui_nodes.c and ui_cluster.c), a job (ui_job.c), the
 * history (ui_history.c), the notification outbox (ui_notifications.c). */
#ifndef HP_UI_INTERNAL_H
#define HP_UI_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/sbuf.h"
#include "db/db.h"
#include "ha/ha.h"
#include "model/event.h"
#include "model/policy.h"
#include "model/topology.h"
#include "web/http.h"
#include "web/ui.h"

#define UI_DASH "\xe2\x80\x93" /* en dash: "unknown" */
#define UI_EVENTS 10           /* latest events shown per cluster (rows: grouped reports) */
#define UI_EVENTS_READ 60      /* ... read for them (three Sentinels report most) */
#define UI_GROUP_MS 2000       /* reports of one event by several Sentinels: within this */
#define UI_JOBS 5              /* latest jobs shown per cluster */
#define UI_HIST_EVENTS 50      /* events per history page (limit= overrides) */
#define UI_HIST_FAILOVERS 20   /* failovers per history page */
#define UI_HIST_AUDIT 50       /* audit records on History, for an admin */
#define UI_HIST_ALERTS 20      /* alerts per history page */
#define UI_HIST_REFRESH_S 5    /* the History tables refresh themselves this often */
#define UI_ALERTS 10           /* active alerts shown per cluster */
#define UI_ALERTS_COUNT 100    /* active alerts counted per cluster */
#define UI_BACKUPS 5           /* newest backups shown per cluster */
#define UI_BACKUPS_COUNT 100   /* backups counted per cluster (polled every second) */
#define UI_DRILLS 3            /* newest failover drills shown per cluster */
#define UI_NOTIFY_FAILED 5     /* failed notifications listed */
#define UI_NOTIFY_RETRYING 3   /* retrying (pending, attempted) ones listed */
#define UI_NOTIFY_COUNT 1000   /* outbox rows counted per state */
#define UI_NOTIFY_TEXT 240     /* bytes of a message's text shown (all in the title) */
#define UI_SHA_SHORT 12        /* hex digits of a sha256 shown (all in the title) */
#define UI_COMPACT_AT 8        /* more clusters: the compact list, problems first */
#define UI_OPEN_TEXT 2048      /* bytes of ?open= (cluster names expanded in it) */
#define UI_PAGE_CACHE 8        /* rendered pages kept (one per open set in use) */

/* Thresholds for colouring cells; the alert rules have their own (configurable)
 * ones. Memory red at the design's default alert (90 %), lag red at its 5 s. */
#define UI_MEM_WARN_PCT 80.0
#define UI_MEM_BAD_PCT 90.0
#define UI_LAG_WARN_S 2.0
#define UI_LAG_BAD_S 5.0
#define UI_STALE_MS 5000 /* a cluster snapshot older than this is flagged */

typedef struct event_ctx {
    sbuf *b;
    int64_t now_ms;
    int with_cluster; /* the history's table has a cluster column */
    int max, shown;   /* rows to render (0 = all); the query asks for one more */
    int64_t last_id;  /* the oldest rendered row's id, for paging */
} event_ctx;
typedef struct jobs_ctx {
    sbuf *b;
    int64_t now_ms;
    int64_t active_id;     /* the newest queued or running job, 0 if none */
    int64_t active_topo;   /* ... of a topology kind (failover, resync, reset) */
    int64_t active_backup; /* ... of the backup group (backup, bgsave) */
} jobs_ctx;
/* The history view's filters and cursors, as parsed from the query string. */
typedef struct hist_query {
    char cluster[HP_NAME_MAX], node[HP_ADDR_MAX]; /* "" = any */
    char type[200];                      /* comma-separated prefixes (db_type_matches), "" = any */
    char severity[40];                   /* comma-separated severities, "" = any */
    char since_text[40], until_text[40]; /* as typed, shown back in the form */
    int tables_only;                     /* part=tables: the self-refreshing tables, no form */
    int64_t since, until;                /* ms, 0 = open */
    int64_t before, fbefore, abefore;    /* event / failover / alert id cursors, 0 = newest */
    int64_t limit;                       /* events per page */
} hist_query;

/* ui_common.c: a cache of rendered pages. An entry is found by its key (two
 * numbers, the second, a text: what the page was rendered from); the lock
 * is held while one renders, so concurrent requests for the same key wait
 * for that render instead of repeating it. */
typedef struct ui_key {
    uint64_t a, b;
    int64_t sec;
    const char *text; /* at most UI_OPEN_TEXT - 1 bytes */
} ui_key;
typedef struct ui_page {
    uint64_t a, b, used;
    int64_t sec;
    char text[UI_OPEN_TEXT];
    char *body;
    size_t len;
} ui_page;
typedef struct ui_cache {
    pthread_mutex_t lock;
    ui_page pages[UI_PAGE_CACHE];
    uint64_t clock, renders;
} ui_cache;
#define UI_CACHE_INIT                                                                              \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, 0                                                     \
    }
typedef void ui_render_fn(sbuf *b, void *ctx);
/* Sends the page of key, rendering it with fn(ctx) first when it is not
 * cached (or 500 if that ran out of memory). Returns the status sent. */
int ui__send_cached(hreq *r, ui_cache *c, const ui_key *key, ui_render_fn *fn, void *ctx);
/* The page of key (rendered first when not cached) appended to out: 0, or
 * -1 out of memory. */
int ui__cached(ui_cache *c, const ui_key *key, ui_render_fn *fn, void *ctx, sbuf *out);
uint64_t ui__cache_renders(ui_cache *c);

/* ui_cluster.c */
void ui__put_ack(sbuf *b, const alert_row *a, int64_t now_ms);
void ui__put_download_button(sbuf *b, int64_t id);
void ui__put_sha(sbuf *b, const char *sha);
void ui__put_verified(sbuf *b, int verified);
void ui__render_alert_strip(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms);
void ui__render_backups(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms,
                        int64_t backup_job);
/* The card's maintenance fact: the badge with the time left and the "end
 * maintenance" button while a window is open, else the "maintenance" button
 * (disabled while a topology job runs). */
void ui__render_maintenance(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms, int busy);

/* ui_lint.c: the card's config lint findings (model/lint.h), critical first */
void ui__render_lint(sbuf *b, const cluster_snap *c);

/* ui_drill.c: the cluster card's failover drills (issue 14 item 1). One
 * drill: its state, its figures in words and its timeline as an SVG, drawn
 * from dr->report (JSON text; NULL, partial or nonsense still renders). */
void ui__render_drill(sbuf *b, const hp_drill *dr, int64_t now_ms);
/* The card's section: the "run failover drill" button (disabled, saying
 * why, when cfg is NULL or [drill] enabled is off, while busy: a topology
 * job runs, or with no master) and the newest UI_DRILLS drills. */
void ui__render_drills(sbuf *b, struct db *d, const cluster_snap *c, const config *cfg,
                       int64_t now_ms, int busy);

/* ui_charts.c: the cluster card's button that opens its charts (the page's
 * script loads them into #charts, outside the live view) */
void ui__put_charts_button(sbuf *b, const char *cluster);

/* ui_clusters.c */
/* The whole of GET /ui/clusters for snapshot t (NULL or empty: the waiting
 * message): the overview, then the clusters, by Sentinel group when they
 * span several (a header per group, data-group on every row and section). */
void ui__render_page(sbuf *b, struct db *d, const config *cfg, const topo_snap *t, const char *open,
                     int64_t now_ms);
/* cfg: the drills' button (NULL: drills shown as off) */
void ui__render_cluster(sbuf *b, struct db *d, const cluster_snap *c, const config *cfg,
                        int64_t now_ms);

/* ui_common.c */
typedef struct ui_alerts {
    int n, critical, warning; /* active alerts; n -1: unknown */
} ui_alerts;
void ui__alert_tally(struct db *d, const char *cluster, ui_alerts *t);
const char *ui__shown_status(const cluster_snap *c, const ui_alerts *t);
void ui__put_event_badge(sbuf *b, const hp_event *e);
void ui__put_quorum(sbuf *b, const cluster_snap *c);
void ui__put_url_arg(sbuf *b, const char *name, const char *value, const char **sep);
const char *ui__failover_kind_class(const char *s);
const char *ui__failover_status_class(const char *s);
int ui__job_finished(const char *state);
const char *ui__job_state_class(const char *s);
void ui__put_addr(sbuf *b, const char *addr);
void ui__put_ago(sbuf *b, int64_t secs);
void ui__put_attr(sbuf *b, const char *name, const char *value);
void ui__put_bytes(sbuf *b, int64_t v);
void ui__put_duration(sbuf *b, int64_t ms);
void ui__put_int(sbuf *b, int64_t v);
void ui__put_job_badge(sbuf *b, const char *cls, const char *text);
void ui__put_job_link(sbuf *b, int64_t id);
void ui__put_severity_badge(sbuf *b, const char *severity);
void ui__put_status_badge(sbuf *b, const char *status);
void ui__put_text(sbuf *b, const char *s);
void ui__put_utc(sbuf *b, int64_t ms, int64_t now_ms, int full);
void ui__put_utc_ms(sbuf *b, int64_t ms);
const char *ui__severity_class(const char *s);
const char *ui__status_class(const char *s);

/* ui_events.c: event rows, the reports of one event by several Sentinels
 * grouped into one row that names them (see the file). Add the events
 * newest first (ui__evrow_add is a db_event_fn); finish renders what is
 * pending and frees. max_rows: rows rendered at most; max_events: events
 * taken at most (the query's probe for an older page is not); 0 = all. */
typedef struct ui_evrows ui_evrows;
ui_evrows *ui__evrows_new(sbuf *b, int64_t now_ms, int with_cluster, int max_rows, int max_events);
void ui__evrow_add(void *ctx, const hp_event *e);
/* Returns the rows rendered; *last_id: the oldest event taken (paging). */
int ui__evrows_finish(ui_evrows *x, int64_t *last_id);
void ui__render_event_list(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms);

/* ui_topo.c: the cluster's topology as an inline SVG */
void ui__render_topology(sbuf *b, const cluster_snap *c, int64_t now_ms);

/* ui_history.c */
int ui__parse_history_query(const hreq *r, hist_query *h, char *err, size_t errsz);
int ui__parse_when(const char *s, int end_of_day, int64_t *out);
void ui__render_history(sbuf *b, struct db *d, const topo_snap *t, const hist_query *h,
                        const char *err, int64_t now_ms);

/* ui_instances.c: the panel of hapanel instances (HA on). The list as read
 * from etcd's instances/ keys; the panel for status hs and list l (have 0:
 * none read yet; list_failed: the last read found etcd silent, the list is
 * from list_at_ms). */
#define UI_INST_MAX HA_INST_MAX  /* instances listed at most */
typedef ha_instance ui_inst_row; /* as ha_instances lists it */
typedef struct ui_inst_list {
    ui_inst_row rows[UI_INST_MAX];
    int n, more; /* more: etcd had more than UI_INST_MAX */
} ui_inst_list;
void ui__render_instances(sbuf *b, const ha_status *hs, const ui_inst_list *l, int have,
                          int64_t list_at_ms, int list_failed, int64_t now_ms);

/* ui_job.c */
void ui__render_job_view(sbuf *b, const db_job_row *j, int64_t now_ms);
void ui__render_recent_jobs(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms,
                            jobs_ctx *xp);
int ui__send_fragment(hreq *r, int status, sbuf *b);

/* ui_nodes.c */
void ui__render_nodes(sbuf *b, const cluster_snap *c, int64_t now_ms, int64_t backup_job);
void ui__render_problems(sbuf *b, const cluster_snap *c);
void ui__render_sentinels(sbuf *b, const cluster_snap *c, int64_t now_ms);

/* ui_notifications.c */
void ui__put_cut(sbuf *b, const char *s, size_t max);
void ui__render_notifications(sbuf *b, struct db *d, const config *cfg, int64_t now_ms);

#endif
