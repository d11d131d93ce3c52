/* stream.h — the live streams' producers and their two routes (the edge
 * holds the connections: hub.h, edge.h).
 *
 * GET /api/v1/events/stream?cluster=&type=: the history as Server-Sent
 * Events, one "event" per stored event (id: its id; data: the JSON of GET
 * /api/v1/events), as the writer stores them. With Last-Event-ID (the
 * header, or ?last_event_id=) it first replays what came after that id from
 * the database (up to 2,000 events per connection; the client reconnects
 * for more), so a client that was away misses nothing; without one it
 * starts from now. type: prefixes, comma separated, + or - ignored.
 *
 * GET /ui/stream: the dashboard's live page: an event "clusters" whose data
 * is the HTML of GET /ui/clusters and an event "notify" with the HTML of GET
 * /ui/notifications, each sent at once and then when its text changes,
 * rendered (at most every 100 ms, the panel once a second) by one thread
 * for every open page, and only while a page is open. */
#ifndef HP_STREAM_H
#define HP_STREAM_H

#include "model/event.h"
#include "web/http.h"
#include "web/hub.h"

int h_events_stream(hreq *r);
int ui_stream(hreq *r);

/* Publishes stored events to the events stream (called from the history
 * writer's hook, after each batch, with their ids). */
void stream_events(hub *h, const hp_event *evs, int n);

/* The dashboard's renderer thread. */
typedef struct ui_pusher ui_pusher;
ui_pusher *ui_pusher_start(app *a);
void ui_pusher_stop(ui_pusher *p);

#endif
