/* ui_notifications.c — the notification outbox's health (GET
 * /ui/notifications): pending, retrying and failed messages, and in a fleet
 * of panels on etcd who sent what (delivered by this instance, or skipped:
 * sent by another one) (see ui_internal.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/banned.h" /* last: after every system header */

#define UI_NOTIFY_SENT 5       /* newest delivered or skipped rows of a fleet listed */
#define UI_NOTIFY_SENT_SCAN 50 /* newest rows looked at for them */

/* ---------------------------------------------------------------------------
 * Notifications
 * ------------------------------------------------------------------------ */

/* Up to max bytes of s, cut on a UTF-8 character boundary, with an ellipsis
 * when cut; escaped. */
void ui__put_cut(sbuf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    char *t;

    if (n <= max) {
        sbuf_html(b, s);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--; /* not mid-character */
    t = malloc(max + 1);
    if (!t) {
        b->failed = 1;
        return;
    }
    memcpy(t, s, max);
    t[max] = '\0';
    sbuf_html(b, t);
    sbuf_puts(b, "\xe2\x80\xa6");
    free(t);
}

typedef struct outbox_ctx {
    sbuf *rows; /* the listed messages */
    int64_t now_ms;
    int count;       /* rows seen */
    int recent;      /* failed ones created in the last 24 h */
    int retrying;    /* pending ones that were tried and will be again */
    int listed, max; /* rows rendered into rows, at most max */
    int64_t last_delivered;
    sbuf *sent; /* the fleet's "who sent what" rows */
} outbox_ctx;

/* A message row's first cells: its state as a badge (state is one of our
 * fixed words), its age (the creation time in the tooltip), its channel. */
static void put_row_head(sbuf *b, const outbox_row *o, const char *state, int64_t now_ms)
{
    sbuf_printf(b, "<tr class=\"outbox-%s\"><td><span class=\"badge ob-%s\">%s</span>", state,
                state, state);
    sbuf_puts(b, "</td><td class=\"time\" title=\"created ");
    ui__put_utc(b, o->created_at, now_ms, 1);
    sbuf_puts(b, "\">");
    ui__put_ago(b, (now_ms - o->created_at) / 1000);
    sbuf_puts(b, "</td><td>");
    ui__put_text(b, o->channel);
    sbuf_puts(b, "</td>");
}

/* The message's text cell: cut, all of it in the tooltip. */
static void put_text_cell(sbuf *b, const char *text)
{
    sbuf_puts(b, "<td class=\"msg\" title=\"");
    sbuf_html(b, text);
    sbuf_puts(b, "\">");
    ui__put_cut(b, text, UI_NOTIFY_TEXT);
    sbuf_puts(b, "</td>");
}

/* One failed or retrying message: state, age, channel, severity, attempts,
 * the text (cut; all of it in the tooltip) and the last error. */
static void render_outbox_row(outbox_ctx *x, const outbox_row *o, int failed)
{
    sbuf *b = x->rows;
    const char *text = o->text ? o->text : "";

    put_row_head(b, o, failed ? "failed" : "retrying", x->now_ms);
    sbuf_puts(b, "<td>");
    ui__put_severity_badge(b, o->severity);
    sbuf_printf(b, "</td><td class=\"num\">%d", o->attempts);
    if (!failed && o->next_at > 0) {
        sbuf_puts(b, " <span class=\"muted\">next in ");
        ui__put_duration(b, o->next_at > x->now_ms ? o->next_at - x->now_ms : 0);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</td>");
    put_text_cell(b, text);
    sbuf_puts(b, "<td class=\"msg err\">");
    ui__put_text(b, o->last_error);
    sbuf_puts(b, "</td></tr>\n");
}

/* db_outbox_fn for the failed state: counts, lists the newest. */
static void count_failed(void *ctx, const outbox_row *o)
{
    outbox_ctx *x = ctx;
    x->count++;
    if (x->now_ms - o->created_at < 86400000LL) x->recent++;
    if (x->listed < x->max) {
        x->listed++;
        render_outbox_row(x, o, 1);
    }
}

/* db_outbox_fn for the pending state: counts, lists the newest retried. */
static void count_pending(void *ctx, const outbox_row *o)
{
    outbox_ctx *x = ctx;
    x->count++;
    if (o->attempts <= 0) return;
    x->retrying++;
    if (x->listed < x->max) {
        x->listed++;
        render_outbox_row(x, o, 0);
    }
}

/* db_outbox_fn for the skipped state (a fleet: sent by another instance). */
static void count_skipped(void *ctx, const outbox_row *o)
{
    (void)o;
    ((outbox_ctx *)ctx)->count++;
}

/* db_outbox_fn over the newest rows: the delivered and skipped ones that
 * name their sender (only a fleet's rows do), as "who sent what". */
static void sent_row(void *ctx, const outbox_row *o)
{
    outbox_ctx *x = ctx;
    sbuf *b = x->sent;
    const char *text = o->text ? o->text : "";
    int skipped = !strcmp(o->state, "skipped");

    if (x->listed >= x->max || !o->sent_by[0] || (!skipped && strcmp(o->state, "delivered")))
        return;
    x->listed++;
    put_row_head(b, o, skipped ? "skipped" : "delivered", x->now_ms);
    put_text_cell(b, text);
    sbuf_puts(b, "<td class=\"sentby\">");
    ui__put_text(b, o->sent_by);
    sbuf_puts(b, "</td></tr>\n");
}

/* db_outbox_fn for the delivered state: the newest one's time. */
static void note_delivered(void *ctx, const outbox_row *o)
{
    outbox_ctx *x = ctx;
    if (o->delivered_at > x->last_delivered) x->last_delivered = o->delivered_at;
}

/* The notification health panel: the channels, how many messages wait
 * (and how many of those are being retried), how many failed for good, when
 * one was last delivered, and the newest failed and retrying messages with
 * their last error. Its class (nt-ok, nt-warn, nt-bad, nt-none) is chosen
 * here from fixed words. cfg may be NULL (no channel known). */
void ui__render_notifications(sbuf *b, struct db *d, const config *cfg, int64_t now_ms)
{
    sbuf rows = SBUF_INIT, sent = SBUF_INIT;
    outbox_ctx f, p, dl, sk, se;
    int nf = -1, np = -1, nd = -1, nsk = 0, i, nch = cfg ? cfg->nchannels : 0;
    const char *cls;

    memset(&f, 0, sizeof f);
    memset(&p, 0, sizeof p);
    memset(&dl, 0, sizeof dl);
    memset(&sk, 0, sizeof sk);
    memset(&se, 0, sizeof se);
    se.sent = &sent;
    se.now_ms = now_ms;
    se.max = UI_NOTIFY_SENT;
    f.rows = p.rows = &rows;
    f.now_ms = p.now_ms = dl.now_ms = now_ms;
    f.max = UI_NOTIFY_FAILED;
    p.max = UI_NOTIFY_RETRYING;
    if (d) {
        nf = db_query_outbox(d, "failed", 0, UI_NOTIFY_COUNT, count_failed, &f);
        np = db_query_outbox(d, "pending", 0, UI_NOTIFY_COUNT, count_pending, &p);
        nd = db_query_outbox(d, "delivered", 0, 1, note_delivered, &dl);
        /* a fleet's: what another instance sent, and who sent the newest */
        if (db_query_outbox(d, "skipped", 0, UI_NOTIFY_COUNT, count_skipped, &sk) > 0)
            nsk = sk.count;
        db_query_outbox(d, NULL, 0, UI_NOTIFY_SENT_SCAN, sent_row, &se);
    }
    if (nf < 0 || np < 0 || nd < 0)
        cls = "bad";
    else if (f.recent > 0)
        cls = "bad";
    else if (nf > 0 || p.retrying > 0)
        cls = "warn";
    else if (nch > 0)
        cls = "ok";
    else
        cls = np > 0 || nd > 0 ? "warn" : "none";

    sbuf_printf(b,
                "<div class=\"notify nt-%s\" data-pending=\"%d\" data-failed=\"%d\">"
                "<div class=\"ntline\"><span class=\"k\">Notifications</span> ",
                cls, np < 0 ? 0 : np, nf < 0 ? 0 : nf);
    if (nch == 0) {
        sbuf_puts(b, "<span class=\"muted\">no channel configured</span>");
    } else {
        sbuf_printf(b, "<span>%d channel%s: ", nch, nch == 1 ? "" : "s");
        for (i = 0; i < nch; i++) {
            sbuf_puts(b, i ? ", <span class=\"chan\">" : "<span class=\"chan\">");
            sbuf_html(b, cfg->channels[i].name);
            sbuf_puts(b, "</span>");
        }
        sbuf_puts(b, "</span>");
    }
    if (nf < 0 || np < 0 || nd < 0) {
        sbuf_puts(b, " \xc2\xb7 <span class=\"bad\">outbox unavailable (database error)</span>"
                     "</div></div>\n");
        sbuf_release(&rows);
        sbuf_release(&sent);
        return;
    }
    sbuf_printf(b, " \xc2\xb7 <span class=\"badge %s\">%d%s pending</span>",
                p.retrying ? "ob-retrying"
                : np       ? "ob-pending"
                           : "ob-zero",
                np, np >= UI_NOTIFY_COUNT ? "+" : "");
    if (p.retrying) sbuf_printf(b, " <span class=\"warn\">%d retrying</span>", p.retrying);
    sbuf_printf(b, " \xc2\xb7 <span class=\"badge %s\">%d%s failed</span>",
                nf ? "ob-failed" : "ob-zero", nf, nf >= UI_NOTIFY_COUNT ? "+" : "");
    if (nf)
        sbuf_printf(b, " <span class=\"%s\">(%d in the last 24 h)</span>",
                    f.recent ? "bad" : "muted", f.recent);
    if (nsk)
        sbuf_printf(b,
                    " \xc2\xb7 <span class=\"badge ob-skipped\">%d%s skipped</span> "
                    "<span class=\"muted\">(sent by another instance)</span>",
                    nsk, nsk >= UI_NOTIFY_COUNT ? "+" : "");
    sbuf_puts(b, " \xc2\xb7 <span class=\"muted\">last delivered ");
    if (dl.last_delivered > 0) {
        sbuf_puts(b, "<span title=\"");
        ui__put_utc(b, dl.last_delivered, now_ms, 1);
        sbuf_puts(b, "\">");
        ui__put_ago(b, (now_ms - dl.last_delivered) / 1000);
        sbuf_puts(b, "</span>");
    } else {
        sbuf_puts(b, "never");
    }
    sbuf_puts(b, "</span></div>\n");
    if (rows.len) {
        sbuf_puts(b,
                  "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Notification "
                  "outbox table\"><table class=\"outbox\"><thead><tr><th>state</th>"
                  "<th>created</th><th>channel</th><th>severity</th>"
                  "<th class=\"num\">attempts</th><th>message</th><th>last error</th>"
                  "</tr></thead><tbody>\n");
        sbuf_append(b, rows.buf, rows.len);
        sbuf_puts(b, "</tbody></table></div>\n");
    }
    if (sent.len) {
        sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Who sent "
                     "what\"><table class=\"outbox sent\"><thead><tr><th>state</th>"
                     "<th>created</th><th>channel</th><th>message</th><th>sent by</th>"
                     "</tr></thead><tbody>\n");
        sbuf_append(b, sent.buf, sent.len);
        sbuf_puts(b, "</tbody></table></div>\n");
    }
    if (sbuf_failed(&rows) || sbuf_failed(&sent)) b->failed = 1;
    sbuf_release(&rows);
    sbuf_release(&sent);
    sbuf_puts(b, "</div>\n");
}

typedef struct notify_in {
    struct db *d;
    const config *cfg;
    int64_t now_ms;
} notify_in;

static void render_cached(sbuf *b, void *ctx)
{
    const notify_in *in = ctx;
    ui__render_notifications(b, in->d, in->cfg, in->now_ms);
}

/* Rendered once a second at most, whoever asks. */
static ui_cache panels = UI_CACHE_INIT;

int ui_notifications(hreq *r)
{
    notify_in in = {r->app ? r->app->db : NULL, r->app ? r->app->cfg : NULL, hp_now_ms()};
    ui_key key = {0, 0, in.now_ms / 1000, ""};
    return ui__send_cached(r, &panels, &key, render_cached, &in);
}

int ui_notifications_live(struct db *d, const config *cfg, uint64_t *stamp, sbuf *out)
{
    notify_in in = {d, cfg, hp_now_ms()};
    ui_key key = {0, 0, in.now_ms / 1000, ""};
    uint64_t st = (uint64_t)key.sec + 1;
    if (st == *stamp) return 0;
    if (ui__cached(&panels, &key, render_cached, &in, out) < 0) return -1;
    *stamp = st;
    return 1;
}
