/* hub.h — where live messages wait for the HTTP edge: the Server-Sent
 * Events streams (GET /api/v1/events/stream, GET /ui/stream) are held by the
 * edge's thread (edge.c), never by a worker; what they carry is produced on
 * other threads (the history writer's hook for events, the dashboard's
 * renderer for the live page) and handed over here. Publishing never blocks
 * on I/O: it queues the message and wakes the edge. Messages are complete
 * SSE text ("id: ..\nevent: ..\ndata: ..\n\n"), formatted once for every
 * subscriber. */
#ifndef HP_HUB_H
#define HP_HUB_H

#include <stddef.h>
#include <stdint.h>

enum { HUB_EVENTS = 0, HUB_UI = 1, HUB_TOPICS = 2 };
/* HUB_UI messages carry the part of the page in their id: the clusters, or
 * the notification panel. */
enum { HUB_UI_CLUSTERS = 0, HUB_UI_NOTIFY = 1, HUB_UI_PARTS = 2 };

/* The response header a worker's handler sets to turn its answer into a
 * stream: "<topic> <after-id> <cluster-hex|-> <type-hex|->" (hub_stream_header
 * writes it). The edge removes it, relays the answer's body (the backlog),
 * then keeps the connection open and sends the topic's messages after
 * after-id that pass the filters (db_type_matches for the type). more 1: the
 * backlog was cut short; the stream closes once it is out and the client
 * resumes from where it got to. */
#define HUB_STREAM_HEADER "X-Hapanel-Stream"

typedef struct hub_msg {
    struct hub_msg *next;
    int topic;
    int64_t id;       /* HUB_EVENTS: the event's id (ascending); HUB_UI: its HUB_UI_* part */
    char cluster[96]; /* for the filters; "" none */
    char type[48];
    size_t len;
    char text[]; /* len bytes of SSE */
} hub_msg;

typedef struct hub hub;

hub *hub_new(void);
void hub_free(hub *h); /* after whoever publishes or consumes has stopped */

/* Queues a copy of text (thread-safe). At most HUB_PENDING_MAX messages
 * (and HUB_PENDING_BYTES) wait for the edge; past that the oldest go, and
 * hub_take says how many events went, so that the edge closes the events
 * streams, which then resume from the history. */
void hub_publish(hub *h, int topic, int64_t id, const char *cluster, const char *type,
                 const char *text, size_t len);

/* The consumer (the edge): wake(arg) is called, on the publishing thread,
 * after each publish; hub_take() then hands over every waiting message,
 * oldest first (caller frees each with free()), and sets *lost to the
 * events dropped unsent since the last take. hub_attach(h, NULL, NULL)
 * detaches. */
void hub_attach(hub *h, void (*wake)(void *), void *arg);
hub_msg *hub_take(hub *h, int *lost);

/* Open streams per topic, kept by the edge (hub_streams is safe anywhere). */
void hub_count(hub *h, int topic, int delta);
int hub_streams(hub *h, int topic);

/* The stream header's value for a worker's answer (cluster and type may be
 * NULL or ""). */
void hub_stream_header(char *out, size_t outsz, int topic, int64_t after, const char *cluster,
                       const char *type, int more);
/* Parses it; 0 or -1. cluster and type get "" when absent. */
int hub_stream_parse(const char *v, size_t len, int *topic, int64_t *after, char *cluster,
                     size_t csz, char *type, size_t tsz, int *more);

#endif
