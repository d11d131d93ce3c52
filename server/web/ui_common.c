/* ui_common.c — the dashboard's small formatters: numbers, sizes, ages and
 * UTC times, badges whose classes come from fixed lists, and text that is
 * always escaped (see ui_internal.h). */
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

/* ---------------------------------------------------------------------------
 * Small formatters
 * ------------------------------------------------------------------------ */

/* s itself when it is one of allowed (NULL-terminated), else "unknown": CSS
 * class suffixes come from fixed lists, never from data. */
static const char *class_of(const char *s, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(s, *allowed) == 0) return *allowed;
    return "unknown";
}

/* Maps a cluster status to one of a fixed set of CSS class suffixes. */
const char *ui__status_class(const char *s)
{
    static const char *const allowed[] = {"ok", "degraded", "down", NULL};
    return class_of(s, allowed);
}

/* Maps an event/problem severity to one of a fixed set of CSS class suffixes. */
const char *ui__severity_class(const char *s)
{
    static const char *const allowed[] = {"info", "warning", "critical", NULL};
    return class_of(s, allowed);
}

/* Escaped text, or a dash when the string is empty. */
void ui__put_text(sbuf *b, const char *s)
{
    if (s[0] == '\0')
        sbuf_puts(b, UI_DASH);
    else
        sbuf_html(b, s);
}

/* Escaped address in a monospace span, or a dash. */
void ui__put_addr(sbuf *b, const char *addr)
{
    if (addr[0] == '\0') {
        sbuf_puts(b, UI_DASH);
    } else {
        sbuf_puts(b, "<span class=\"addr\">");
        sbuf_html(b, addr);
        sbuf_puts(b, "</span>");
    }
}

void ui__put_int(sbuf *b, int64_t v)
{
    if (v < 0)
        sbuf_puts(b, UI_DASH);
    else
        sbuf_printf(b, "%lld", (long long)v);
}

/* Bytes in binary units ("1.5 MiB"); negative is unknown. */
void ui__put_bytes(sbuf *b, int64_t v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double x = (double)v;
    int u = 0;

    if (v < 0) {
        sbuf_puts(b, UI_DASH);
    } else if (v < 1024) {
        sbuf_printf(b, "%lld B", (long long)v);
    } else {
        while (x >= 1024.0 && u < 5) {
            x /= 1024.0;
            u++;
        }
        sbuf_printf(b, "%.1f %s", x, units[u]);
    }
}

/* An age in seconds as "5s ago", "12m ago", "3h ago", "2d ago". */
void ui__put_ago(sbuf *b, int64_t secs)
{
    if (secs < 0) secs = 0; /* clock skew between hosts: never "in the future" */
    if (secs < 120)
        sbuf_printf(b, "%llds ago", (long long)secs);
    else if (secs < 2 * 3600)
        sbuf_printf(b, "%lldm ago", (long long)(secs / 60));
    else if (secs < 2 * 86400)
        sbuf_printf(b, "%lldh ago", (long long)(secs / 3600));
    else
        sbuf_printf(b, "%lldd ago", (long long)(secs / 86400));
}

/* A wall-clock time (ms since the epoch) in UTC: "2024-05-01 12:03:04 UTC" with
 * full set, else "12:03:04" when it is today (UTC) and "05-01 12:03:04" when not.
 * gmtime_r, not gmtime: handlers run on many threads. */
void ui__put_utc(sbuf *b, int64_t ms, int64_t now_ms, int full)
{
    char tmp[40];
    struct tm tm, today;
    time_t s = (time_t)(ms / 1000), now = (time_t)(now_ms / 1000);
    size_t n = 0;

    /* literal formats in each call, so -Wformat can check them */
    if (ms > 0 && gmtime_r(&s, &tm) && gmtime_r(&now, &today)) {
        if (full)
            n = strftime(tmp, sizeof tmp, "%Y-%m-%d %H:%M:%S UTC", &tm);
        else if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
            n = strftime(tmp, sizeof tmp, "%H:%M:%S", &tm);
        else
            n = strftime(tmp, sizeof tmp, "%m-%d %H:%M:%S", &tm);
    }
    sbuf_puts(b, n > 0 ? tmp : UI_DASH);
}

/* A badge for a cluster status ("ok", "degraded", "down"). */
void ui__put_status_badge(sbuf *b, const char *status)
{
    sbuf_printf(b, "<span class=\"badge st-%s\">", ui__status_class(status));
    ui__put_text(b, status);
    sbuf_puts(b, "</span>");
}

/* A badge for a severity ("info", "warning", "critical"). */
void ui__put_severity_badge(sbuf *b, const char *severity)
{
    sbuf_printf(b, "<span class=\"badge sev-%s\">", ui__severity_class(severity));
    ui__put_text(b, severity);
    sbuf_puts(b, "</span>");
}

/* Maps a job state to one of a fixed set of CSS class suffixes. */
const char *ui__job_state_class(const char *s)
{
    static const char *const allowed[] = {"queued", "running",   "succeeded",
                                          "failed", "cancelled", NULL};
    return class_of(s, allowed);
}

/* A job is over once it succeeded, failed or was cancelled; anything else
 * is still polled. */
int ui__job_finished(const char *state)
{
    return strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "cancelled") == 0;
}

/* A failover's kind and status, mapped to fixed class suffixes. */
const char *ui__failover_kind_class(const char *s)
{
    static const char *const allowed[] = {"automatic", "forced", "graceful", NULL};
    return class_of(s, allowed);
}

const char *ui__failover_status_class(const char *s)
{
    static const char *const allowed[] = {"succeeded", "failed", "aborted", NULL};
    if (strcmp(s, "completed_after_restart") == 0) return "succeeded";
    return class_of(s, allowed);
}

/* A badge for a job state or a failover status (both "job-<word>" classes). */
void ui__put_job_badge(sbuf *b, const char *cls, const char *text)
{
    sbuf_printf(b, "<span class=\"badge job-%s\">", cls);
    ui__put_text(b, text);
    sbuf_puts(b, "</span>");
}

/* ` name="value"` with the value escaped: for data-* attributes that the page's
 * script reads back (cluster names and addresses come from Sentinel). */
void ui__put_attr(sbuf *b, const char *name, const char *value)
{
    sbuf_printf(b, " %s=\"", name);
    sbuf_html(b, value);
    sbuf_puts(b, "\"");
}

/* A button that opens the page's job panel on job id. */
void ui__put_job_link(sbuf *b, int64_t id)
{
    sbuf_printf(b,
                "<button type=\"button\" class=\"joblink\" data-job=\"%lld\" "
                "title=\"show job %lld\">#%lld</button>",
                (long long)id, (long long)id, (long long)id);
}

/* A duration: "850 ms", "3.2 s", "4m 05s", "2h 03m"; negative is unknown. */
void ui__put_duration(sbuf *b, int64_t ms)
{
    if (ms < 0)
        sbuf_puts(b, UI_DASH);
    else if (ms < 1000)
        sbuf_printf(b, "%lld ms", (long long)ms);
    else if (ms < 60000)
        sbuf_printf(b, "%.1f s", (double)ms / 1000.0);
    else if (ms < 3600000)
        sbuf_printf(b, "%lldm %02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        sbuf_printf(b, "%lldh %02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

/* A UTC time of day with milliseconds ("12:03:04.123"), for job steps. */
void ui__put_utc_ms(sbuf *b, int64_t ms)
{
    char tmp[16];
    struct tm tm;
    time_t s = (time_t)(ms / 1000);

    if (ms > 0 && gmtime_r(&s, &tm) && strftime(tmp, sizeof tmp, "%H:%M:%S", &tm) > 0)
        sbuf_printf(b, "%s.%03lld", tmp, (long long)(ms % 1000));
    else
        sbuf_puts(b, UI_DASH);
}

/* "?name=value" (then "&amp;name=value": *sep moves on) for a URL inside an
 * HTML attribute, the value percent-encoded (nothing but unreserved
 * characters left), so neither the URL nor the attribute can be broken out
 * of. Nothing for an empty value. */
void ui__put_url_arg(sbuf *b, const char *name, const char *value, const char **sep)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)value;

    if (!value || !value[0]) return;
    sbuf_printf(b, "%s%s=", *sep, name);
    *sep = "&amp;";
    for (; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            sbuf_printf(b, "%c", *p);
        else
            sbuf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

/* The quorum in words: "3 of 3 Sentinels up, 2 needed" (Sentinels up and
 * agreeing on the master, of those known; the configured quorum), with
 * "(2 agree on the master)" when some that are up disagree. Plain text. */
void ui__put_quorum(sbuf *b, const cluster_snap *c)
{
    int i, up = 0;

    for (i = 0; i < c->nsentinels; i++)
        up += c->sentinels[i].up != 0;
    if (up < c->quorum_reachable) up = c->quorum_reachable;
    sbuf_printf(b, "%d of %d Sentinel%s up", up, c->nsentinels, c->nsentinels == 1 ? "" : "s");
    if (c->quorum_reachable < up) sbuf_printf(b, " (%d agree on the master)", c->quorum_reachable);
    if (c->quorum_configured > 0)
        sbuf_printf(b, ", %d needed", c->quorum_configured);
    else
        sbuf_puts(b, ", quorum unknown");
}

/* The badge of an event: its severity, but "resolved" for an alert's
 * resolution, which keeps the firing's severity for the notifications (a
 * resolved critical is good news, not a critical). */
void ui__put_event_badge(sbuf *b, const hp_event *e)
{
    if (strcmp(e->type, "alert-resolved") == 0) {
        sbuf_printf(b,
                    "<span class=\"badge sev-resolved\" title=\"the %s alert resolved\">"
                    "resolved</span>",
                    ui__severity_class(e->severity));
        return;
    }
    ui__put_severity_badge(b, e->severity);
}

static void tally_alert(void *ctx, const alert_row *a)
{
    ui_alerts *t = ctx;
    const char *sev = ui__severity_class(a->severity);
    t->n++;
    if (strcmp(sev, "critical") == 0)
        t->critical++;
    else if (strcmp(sev, "warning") == 0)
        t->warning++;
}

/* The cluster's active alerts by severity (from the in-memory set; n -1
 * when the database cannot say). */
void ui__alert_tally(struct db *d, const char *cluster, ui_alerts *t)
{
    memset(t, 0, sizeof *t);
    if (d && db_recent_alerts(d, cluster, UI_ALERTS_COUNT, tally_alert, t) < 0) t->n = -1;
}

/* The status the page shows: the topology's, but never "ok" while a warning
 * or critical alert is active (the cluster is then "degraded"). One of the
 * fixed words of ui__status_class. */
const char *ui__shown_status(const cluster_snap *c, const ui_alerts *t)
{
    const char *st = ui__status_class(c->status);
    if (strcmp(st, "ok") == 0 && t && (t->critical > 0 || t->warning > 0)) return "degraded";
    return st;
}

/* ---------------------------------------------------------------------------
 * The cache of rendered pages
 * ------------------------------------------------------------------------ */

static int key_is(const ui_page *p, const ui_key *k)
{
    return p->body && p->a == k->a && p->b == k->b && p->sec == k->sec && !strcmp(p->text, k->text);
}

int ui__send_cached(hreq *r, ui_cache *c, const ui_key *key, ui_render_fn *fn, void *ctx)
{
    sbuf b = SBUF_INIT;
    int status;

    if (ui__cached(c, key, fn, ctx, &b) < 0) {
        sbuf_release(&b);
        return http_error(r, 500, "internal", "out of memory rendering the dashboard");
    }
    status = ui__send_fragment(r, 200, &b);
    sbuf_release(&b);
    return status;
}

int ui__cached(ui_cache *c, const ui_key *key, ui_render_fn *fn, void *ctx, sbuf *out)
{
    sbuf b = SBUF_INIT;
    ui_page *p = NULL, *lru = &c->pages[0];
    int i;

    pthread_mutex_lock(&c->lock); /* held while rendering: the others wait for it */
    for (i = 0; i < UI_PAGE_CACHE && !p; i++) {
        if (key_is(&c->pages[i], key)) p = &c->pages[i];
        if (c->pages[i].used < lru->used) lru = &c->pages[i];
    }
    if (!p) {
        fn(&b, ctx);
        c->renders++;
        if (sbuf_failed(&b)) {
            pthread_mutex_unlock(&c->lock);
            sbuf_release(&b);
            return -1;
        }
        p = lru;
        free(p->body);
        p->body = b.buf;
        p->len = b.len;
        b = (sbuf)SBUF_INIT;
        p->a = key->a;
        p->b = key->b;
        p->sec = key->sec;
        hp_strlcpy(p->text, key->text, sizeof(p->text));
    }
    p->used = ++c->clock;
    sbuf_append(out, p->body ? p->body : "", p->len); /* sent outside the lock */
    pthread_mutex_unlock(&c->lock);
    return sbuf_failed(out) ? -1 : 0;
}

uint64_t ui__cache_renders(ui_cache *c)
{
    uint64_t n;
    pthread_mutex_lock(&c->lock);
    n = c->renders;
    pthread_mutex_unlock(&c->lock);
    return n;
}
