/* ui.h — the dashboard's server-rendered HTML fragments, fetched by htmx from
 * web/index.html. These are handlers like the API's (same signature, same auth,
 * read-only on the snapshot and the database); they render markup, not JSON, and
 * never a whole page: the page itself is a static file. */
#ifndef HP_UI_H
#define HP_UI_H

#include "core/sbuf.h"
#include "web/http.h"

struct db;
struct config;

/* GET /ui/clusters?open=: one section per cluster of the current snapshot
 * (header, active alerts, problems, nodes, Sentinels, the newest backups,
 * recent jobs, the latest 10 events), or a waiting message when no poll has
 * finished yet. With more than UI_COMPACT_AT (8) clusters, a compact table
 * instead, one row per cluster, problems first, and the full section of each
 * cluster named in open (names separated by newlines) under its row. When
 * the clusters span several Sentinel groups, both are sorted by group first,
 * each group headed by its name and counts (tr.grow in the table, div.group
 * with h2.group-head otherwise), and the overview counts each group; every
 * row and section carries data-group for the page's filter. The
 * history it shows comes from the database's in-memory sets (db_recent_*),
 * and the page is rendered once per snapshot, history change, second and
 * open set, then served from a cache. Every value from Redis, Sentinel, the
 * configuration or the database is HTML-escaped. Returns the status it sent. */
int ui_clusters(hreq *r);
/* The live page's push (web/stream.c): the page of /ui/clusters (no cluster
 * open) appended to out when it differs from the one *stamp names (*stamp is
 * then its stamp). cfg: what the drills' button says (NULL: off). Returns 1
 * appended, 0 unchanged, -1 out of memory. */
int ui_clusters_live(struct db *d, const struct config *cfg, uint64_t *stamp, sbuf *out);
/* The same for the notification panel (GET /ui/notifications), once a
 * second at most. */
int ui_notifications_live(struct db *d, const struct config *cfg, uint64_t *stamp, sbuf *out);
/* Pages /ui/clusters rendered since the start (the others came from its cache). */
uint64_t ui_renders(void);

/* GET /ui/clusters/{name}/charts?range=1h|1d|1w: the cluster's history
 * charts, one server-drawn SVG line chart per metric (lag in bytes and in
 * seconds, memory, clients, ops/s), a line per node, with axis labels, a
 * legend and the range switcher; the fragment refreshes itself every 30 s.
 * Every node and cluster name is escaped. 404 for an unknown cluster, 400 for
 * a bad range (as fragments). */
int ui_charts(hreq *r);

/* GET /ui/jobs/{id}: one job for the page's job panel: kind, cluster, state,
 * parameters, each step with its time, the error and the result. While the job
 * is queued or running the fragment's root element polls this URL every 500 ms
 * (hx-trigger, outerHTML swap); once it succeeded or failed the answer has no
 * trigger, so the polling stops. 404 (as a fragment) for an unknown id. */
int ui_job(hreq *r);

/* GET /ui/history?cluster=&type=&node=&since=&until=&before=&fbefore=&abefore=
 * &limit=: the history view: a filter form, the failovers (filtered by
 * cluster, paged by fbefore), the alerts, active and resolved (filtered by
 * cluster, paged by abefore) and the events (every filter, paged by before),
 * newest first.
 * since/until are UTC times ("2024-05-01 12:30") or ms since the epoch. A bad
 * parameter answers 400 with the form and the message, as a fragment. */
int ui_history(hreq *r);

/* GET /ui/instances: with [ha] on, the panel of hapanel instances: each
 * registered instance (name, URL), which leads and since when, which is this
 * panel, and etcd's state; it polls itself every 5 s. The list from etcd is
 * cached for 2 s (one etcd call per 2 s however many dashboards poll), who
 * leads is this instance's current view. Without [ha]: an empty answer. */
int ui_instances(hreq *r);

/* GET /ui/notifications: the notification health panel: the configured
 * channels, the outbox's pending (and retrying) and failed counts, when a
 * message was last delivered, and the newest failed and retrying messages with
 * their channel, text and last error. Polled by the page every few seconds. */
int ui_notifications(hreq *r);

#endif
