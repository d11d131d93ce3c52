/* ui.h — the dashboard's server-rendered HTML fragments, fetched by htmx from
 * web/index.html. These are handlers like the API's (same signature, same auth,
 * read-only on the snapshot and the database); they render markup, not JSON, and
 * never a whole page: the page itself is a static file. */
#ifndef HP_UI_H
#define HP_UI_H

#include "http.h"

/* GET /ui/clusters: one section per cluster of the current snapshot (header,
 * problems, nodes, Sentinels, the latest 10 events), or a waiting message when
 * no poll has finished yet. Every value from Redis, Sentinel, the configuration
 * or the database is HTML-escaped. Returns the status it sent. */
int ui_clusters(hreq *r);

#endif
