/* stream.c — the live streams' producers and routes (see stream.h). */
#define _POSIX_C_SOURCE 200809L
#include "web/stream.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/log.h"
#include "core/sbuf.h"
#include "db/db.h"
#include "web/api_internal.h"
#include "web/ui.h"
#include "core/ticker.h"
#include "core/banned.h" /* last: after every system header */

#define BACKLOG_PAGE 500
#define BACKLOG_MAX 2000
#define PUSH_EVERY_MS 100 /* how often the renderer looks for a change */

/* "id: N\nevent: event\ndata: {...}\n\n" */
static int event_sse(sbuf *b, const hp_event *e)
{
    cJSON *o = api__event_json(e);
    char *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!json) return -1;
    sbuf_printf(b, "id: %lld\nevent: event\ndata: %s\n\n", (long long)e->id, json);
    cJSON_free(json);
    return 0;
}

void stream_events(hub *h, const hp_event *evs, int n)
{
    sbuf b = SBUF_INIT;
    for (int i = 0; i < n && h; i++) {
        b.len = 0;
        if (evs[i].id <= 0 || event_sse(&b, &evs[i]) < 0 || sbuf_failed(&b)) continue;
        hub_publish(h, HUB_EVENTS, evs[i].id, evs[i].cluster, evs[i].type, b.buf, b.len);
    }
    sbuf_release(&b);
}

/* --- GET /api/v1/events/stream ------------------------------------------ */

typedef struct backlog {
    sbuf *b;
    const char *type;
    int64_t last; /* the newest id read */
    int n;
} backlog;

static void add_backlog(void *ctx, const hp_event *e)
{
    backlog *bl = ctx;
    bl->last = e->id;
    bl->n++;
    if (!bl->type || db_type_matches(bl->type, e->type)) event_sse(bl->b, e);
}

static void newest(void *ctx, const hp_event *e)
{
    *(int64_t *)ctx = e->id;
}

/* The newest event's id of all clusters (0 for none), or -1. */
static int64_t newest_id(db *d)
{
    event_query q;
    int64_t id = 0;
    memset(&q, 0, sizeof(q));
    q.limit = 1;
    return db_query_events(d, &q, newest, &id) < 0 ? -1 : id;
}

/* The resume point: Last-Event-ID, or ?last_event_id=; 0 none, 1 set, or the
 * 400 sent. */
static int resume_point(hreq *r, int64_t *after)
{
    const char *h = http_header(r, "Last-Event-ID");
    char *end;
    long long v;
    int st;
    if (!h || !*h) {
        *after = -1;
        if ((st = api__query_int(r, "last_event_id", 0, INT64_MAX, after))) return st;
        return *after >= 0;
    }
    errno = 0;
    v = strtoll(h, &end, 10);
    if (errno || *end || v < 0)
        return http_error(r, 400, "bad_request", "Last-Event-ID: an event id (a whole number)");
    *after = v;
    return 1;
}

/* The answer that turns into a stream: the backlog and the header. */
static int send_stream(hreq *r, int topic, int64_t after, const char *cluster, const char *type,
                       int more, const char *body, size_t len)
{
    char hdr[400], extra[448];
    hub_stream_header(hdr, sizeof(hdr), topic, after, cluster, type, more);
    snprintf(extra, sizeof(extra), HUB_STREAM_HEADER ": %s\r\n", hdr);
    return http_send_extra(r, 200, "text/event-stream; charset=utf-8", extra, body, len);
}

int h_events_stream(hreq *r)
{
    char cluster[HP_NAME_MAX] = "", type[64] = "";
    sbuf b = SBUF_INIT;
    event_query q;
    backlog bl;
    db_terms terms;
    int64_t after = 0, top;
    int st, has, more = 0;

    if (!r->app->hub)
        return http_error(r, 503, "unavailable", "live streams are not available here");
    if ((has = api__query_text(r, "cluster", cluster, sizeof(cluster))) > 1) return has;
    if ((has = api__query_text(r, "type", type, sizeof(type))) > 1) return has;
    if (type[0] && db_terms_split(type, &terms) < 0)
        return http_error(r, 400, "bad_request",
                          "type: at most %d comma-separated terms of under %d bytes", DB_TERMS_MAX,
                          DB_TERM_LEN);
    if ((st = resume_point(r, &after)) > 1) return st;
    /* the newest of all first: what is stored after it comes from the edge */
    if ((top = newest_id(r->app->db)) < 0)
        return http_error(r, 503, "unavailable", "the history database is not readable");
    sbuf_puts(&b, "retry: 1000\n\n");
    if (st == 1) {
        if (after > top) after = top; /* an id from before a restore: from the newest */
        memset(&q, 0, sizeof(q));
        memset(&bl, 0, sizeof(bl));
        q.cluster = cluster[0] ? cluster : NULL;
        q.oldest_first = 1;
        q.limit = BACKLOG_PAGE;
        bl.b = &b;
        bl.type = type[0] ? type : NULL;
        bl.last = after;
        do {
            bl.n = 0;
            q.after = bl.last;
            if (db_query_events(r->app->db, &q, add_backlog, &bl) < 0) {
                sbuf_release(&b);
                return http_error(r, 503, "unavailable", "the history database is not readable");
            }
        } while (bl.n == BACKLOG_PAGE && bl.last - after < BACKLOG_MAX);
        /* cut short: the client comes back for the rest; else it has every
         * event up to the newest of all (the filters passed over the rest) */
        more = bl.n == BACKLOG_PAGE;
        after = more || bl.last > top ? bl.last : top;
        if (after > 0) sbuf_printf(&b, "id: %lld\n\n", (long long)after);
    } else {
        after = top;
    }
    if (sbuf_failed(&b)) {
        sbuf_release(&b);
        return http_error(r, 500, "internal", "out of memory");
    }
    st = send_stream(r, HUB_EVENTS, after, cluster, type, more, b.buf, b.len);
    sbuf_release(&b);
    return st;
}

/* --- GET /ui/stream and its renderer ------------------------------------ */

int ui_stream(hreq *r)
{
    static const char body[] = "retry: 2000\n\n";
    if (!r->app->hub)
        return http_error(r, 503, "unavailable", "live streams are not available here");
    return send_stream(r, HUB_UI, 0, NULL, NULL, 0, body, sizeof(body) - 1);
}

/* One part of the page: rendered when its stamp moved, published when its
 * text differs from the last one sent. */
typedef struct part {
    const char *event;
    uint64_t stamp, sent;
} part;

struct ui_pusher {
    app *a;
    hp_ticker *ticker;
    part parts[HUB_UI_PARTS];
    sbuf page, msg; /* kept between ticks: no allocation per render */
};

/* The page as one SSE event: every line of the HTML a data: line (a CR,
 * which SSE reads as a line end, becomes a space). */
static void page_sse(sbuf *out, const char *event, const char *html, size_t len)
{
    size_t i = 0;
    sbuf_printf(out, "event: %s\n", event);
    while (i < len) {
        size_t j = i;
        sbuf_puts(out, "data: ");
        while (j < len && html[j] != '\n') {
            if (html[j] == '\r') {
                if (j > i) sbuf_append(out, html + i, j - i);
                sbuf_puts(out, " ");
                i = j + 1;
            }
            j++;
        }
        if (j > i) sbuf_append(out, html + i, j - i);
        sbuf_puts(out, "\n");
        i = j + 1;
    }
    sbuf_puts(out, "\n");
}

static uint64_t text_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static void push_part(ui_pusher *p, part *pt, int which, sbuf *page, sbuf *msg)
{
    uint64_t h;
    int rc;
    page->len = msg->len = 0;
    rc = which == HUB_UI_CLUSTERS ? ui_clusters_live(p->a->db, p->a->cfg, &pt->stamp, page)
                                  : ui_notifications_live(p->a->db, p->a->cfg, &pt->stamp, page);
    if (rc == 1 && (h = text_hash(page->buf, page->len)) != pt->sent) {
        page_sse(msg, pt->event, page->buf, page->len);
        if (!sbuf_failed(msg)) {
            hub_publish(p->a->hub, HUB_UI, which, "", "", msg->buf, msg->len);
            pt->sent = h;
        }
    }
    if (sbuf_failed(page) || sbuf_failed(msg)) {
        sbuf_release(page);
        sbuf_release(msg);
    }
}

/* Every PUSH_EVERY_MS, on the ticker's thread: nothing while no page
 * streams; else each part that changed. */
static void pusher_tick(void *arg)
{
    ui_pusher *p = arg;
    int i;
    if (!hub_streams(p->a->hub, HUB_UI)) {
        for (i = 0; i < HUB_UI_PARTS; i++) /* the next page opened gets fresh renders */
            p->parts[i].stamp = p->parts[i].sent = 0;
        return;
    }
    for (i = 0; i < HUB_UI_PARTS; i++)
        push_part(p, &p->parts[i], i, &p->page, &p->msg);
}

ui_pusher *ui_pusher_start(app *a)
{
    ui_pusher *p;
    if (!a->hub || !(p = calloc(1, sizeof(*p)))) return NULL;
    p->a = a;
    p->parts[HUB_UI_CLUSTERS].event = "clusters";
    p->parts[HUB_UI_NOTIFY].event = "notify";
    p->page = p->msg = (sbuf)SBUF_INIT;
    if (!(p->ticker = hp_ticker_start(pusher_tick, p, PUSH_EVERY_MS))) {
        log_warn("http: cannot start the live page's renderer; pages poll instead");
        free(p);
        return NULL;
    }
    return p;
}

void ui_pusher_stop(ui_pusher *p)
{
    if (!p) return;
    hp_ticker_stop(p->ticker);
    sbuf_release(&p->page);
    sbuf_release(&p->msg);
    free(p);
}
