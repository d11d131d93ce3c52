/* notify.c — notifications (see notify.h).
 *
 * Durability: the history writer calls notify_hook() after each stored batch;
 * the hook turns what deserves a message into outbox rows, one per channel
 * and thing ((channel, key) is unique), before anything is sent. Each channel
 * has its own sender thread, so a dead or slow endpoint only delays its own
 * queue. A sender takes the oldest due row, posts it with libcurl (connect
 * and total timeouts), and marks it delivered, or schedules a retry with
 * exponential backoff, or marks it failed after max_attempts. Delivered rows
 * are never sent again, across restarts; pending ones resume at start. */
#define _POSIX_C_SOURCE 200809L
#include "notify/notify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "db/maintenance.h"
#include "core/log.h"
#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

#define CONNECT_TIMEOUT_MS 3000
#define TOTAL_TIMEOUT_MS 10000
#define BACKOFF_MAX_MS 300000
#define IDLE_WAIT_MS 5000

typedef struct sender {
    struct notifier *owner;
    const cfg_channel *ch;
    pthread_t thread;
    int started;
} sender;

struct notifier {
    const config *cfg;
    db *d;  /* reads: the next due message */
    evq *q; /* writes: rows added and marked, through the writer */
    sender senders[CFG_MAX_CHANNELS];
    int nsenders;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    uint64_t generation; /* bumped on every new outbox row */
};

/* ---------------------------------------------------------------- sending */

/* HMAC-SHA256 of body with key, as the header line (see notify.h). */
void notify_signature(const char *key, const char *body, char *out, size_t outsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    size_t o;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, strlen(body), md, &len);
    o = (size_t)snprintf(out, outsz, "X-Hapanel-Signature: sha256=");
    for (i = 0; i < len && o + 3 <= outsz; i++, o += 2)
        snprintf(out + o, 3, "%02x", md[i]);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Posts one message on ch. Returns 0 when the endpoint answered 2xx; else -1
 * with a reason (never a token or secret) in err. */
static int post(const cfg_channel *ch, const char *key, const char *payload, const char *text,
                char *err, size_t errsz)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024], line[1100], cerr[CURL_ERROR_SIZE] = "";
    char *body = NULL;
    long status = 0;
    CURLcode rc;
    int ok = -1;

    if (!c) {
        snprintf(err, errsz, "curl unavailable");
        return -1;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    if (ch->kind == CH_TELEGRAM) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "chat_id", ch->chat_id);
        cJSON_AddStringToObject(o, "text", text);
        cJSON_AddBoolToObject(o, "disable_web_page_preview", 1);
        hp_json_fix_utf8(o); /* rows stored before texts were repaired */
        body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        snprintf(url, sizeof(url), "%s/bot%s/sendMessage", ch->url, ch->token);
    } else {
        const char *p = ch->headers;
        body = strdup(payload);
        utf8_fix_str(body); /* rows stored before payloads were repaired; signed as sent */
        hp_strlcpy(url, ch->url, sizeof(url));
        snprintf(line, sizeof(line), "X-Hapanel-Delivery: %s", key);
        h = curl_slist_append(h, line);
        if (ch->secret[0] && body) {
            notify_signature(ch->secret, body, line, sizeof(line));
            h = curl_slist_append(h, line);
        }
        while (*p) { /* "Name: value|Name: value" */
            size_t l = strcspn(p, "|");
            if (l && l < sizeof(line)) {
                memcpy(line, p, l);
                line[l] = '\0';
                h = curl_slist_append(h, line);
            }
            p += l;
            if (*p) p++;
        }
    }
    if (!body) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)TOTAL_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hapanel/" HP_VERSION);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        /* curl's message names host and port, never the path with the token */
        snprintf(err, errsz, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        snprintf(err, errsz, "HTTP %ld", status);
        goto out;
    }
    ok = 0;
out:
    memset(url, 0, sizeof(url)); /* may hold the bot token */
    cJSON_free(body);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return ok;
}

static void *sender_main(void *arg)
{
    sender *s = arg;
    notifier *nt = s->owner;

    for (;;) {
        outbox_row r;
        int64_t now = hp_now_ms(), due = 0;
        int got;
        uint64_t gen;

        pthread_mutex_lock(&nt->lock);
        gen = nt->generation;
        if (nt->stop) {
            pthread_mutex_unlock(&nt->lock);
            break;
        }
        pthread_mutex_unlock(&nt->lock);

        got = db_outbox_next(nt->d, s->ch->name, now, &r, &due);
        if (got == 1) {
            char err[256] = "";
            int ok = post(s->ch, r.key, r.payload, r.text, err, sizeof(err)) == 0;
            int attempts = r.attempts + 1;
            if (ok) {
                evq_outbox_mark(nt->q, r.id, "delivered", attempts, r.next_at, NULL, hp_now_ms());
                log_info("notify: %s delivered to %s", r.key, s->ch->name);
            } else if (attempts >= nt->cfg->notify_max_attempts) {
                evq_outbox_mark(nt->q, r.id, "failed", attempts, r.next_at, err, 0);
                log_warn("notify: %s to %s failed for good after %d attempts: %s", r.key,
                         s->ch->name, attempts, err);
            } else {
                int64_t backoff = 1000LL << (attempts - 1 < 20 ? attempts - 1 : 20);
                if (backoff > BACKOFF_MAX_MS) backoff = BACKOFF_MAX_MS;
                evq_outbox_mark(nt->q, r.id, "pending", attempts, hp_now_ms() + backoff, err, 0);
                log_warn("notify: %s to %s: %s; retry %d in %lld ms", r.key, s->ch->name, err,
                         attempts + 1, (long long)backoff);
            }
            outbox_row_release(&r);
            continue;
        }
        /* Nothing due: sleep until the next retry, a new row, or a while. */
        pthread_mutex_lock(&nt->lock);
        if (!nt->stop && nt->generation == gen) {
            struct timespec ts;
            int64_t wait = due ? due - hp_now_ms() : IDLE_WAIT_MS;
            if (wait > IDLE_WAIT_MS) wait = IDLE_WAIT_MS;
            if (wait < 1) wait = 1;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&nt->wake, &nt->lock, &ts);
        }
        pthread_mutex_unlock(&nt->lock);
    }
    return NULL;
}

/* ---------------------------------------------------------------- messages */

static void utc(int64_t ms, char *buf, size_t bufsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, bufsz, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Queues one message for every channel that wants its severity. Takes
 * ownership of payload (a JSON object). text (a caller's buffer) and the
 * payload are made valid UTF-8 in place first: they quote cluster names and
 * Sentinel messages, which may hold any bytes, and a receiver that decodes
 * strictly would refuse the body (or Telegram the text) on every retry. */
static void enqueue(notifier *nt, const char *key, int severity, cJSON *payload, char *text)
{
    char *body;
    int i, added = 0;

    utf8_fix_str(text);
    cJSON_AddStringToObject(payload, "delivery", key);
    cJSON_AddStringToObject(payload, "text", text);
    hp_json_fix_utf8(payload);
    body = cJSON_PrintUnformatted(payload);
    cJSON_Delete(payload);
    if (!body) return;
    for (i = 0; i < nt->cfg->nchannels; i++) {
        const cfg_channel *ch = &nt->cfg->channels[i];
        if (severity < ch->min_severity) continue;
        if (evq_outbox_add(nt->q, ch->name, key, severity_name(severity), body, text,
                           hp_now_ms()) == 1)
            added++;
    }
    cJSON_free(body);
    if (added) {
        pthread_mutex_lock(&nt->lock);
        nt->generation++;
        pthread_cond_broadcast(&nt->wake);
        pthread_mutex_unlock(&nt->lock);
    }
}

static void failover_message(notifier *nt, const hp_failover *f)
{
    cJSON *p = cJSON_CreateObject();
    char key[64], text[512], when[40];
    int sev = !strcmp(f->kind, "graceful") ? SEV_WARNING : SEV_CRITICAL;

    if (strcmp(f->status, "succeeded")) sev = SEV_CRITICAL; /* a failover that did not complete */
    utc(f->ended_at > 0 ? f->ended_at : f->started_at, when, sizeof(when));
    snprintf(key, sizeof(key), "failover:%lld", (long long)f->id);
    snprintf(text, sizeof(text), "hapanel: %s: %s failover %s: %s -> %s at %s%s%s", f->cluster,
             f->kind, f->status, f->old_master[0] ? f->old_master : "?",
             f->new_master[0] ? f->new_master : "?", when, f->actor[0] ? " by " : "", f->actor);
    cJSON_AddStringToObject(p, "type", "failover");
    cJSON_AddStringToObject(p, "cluster", f->cluster);
    cJSON_AddStringToObject(p, "severity", severity_name(sev));
    cJSON_AddNumberToObject(p, "ts", (double)(f->ended_at > 0 ? f->ended_at : f->started_at));
    cJSON_AddStringToObject(p, "message", text);
    cJSON_AddItemToObject(p, "details", hp_failover_json(f));
    enqueue(nt, key, sev, p, text);
}

/* The event as a webhook receives it. */
static cJSON *event_payload(const hp_event *e)
{
    cJSON *p = cJSON_CreateObject(), *d = hp_event_details_json(e);
    cJSON_AddNumberToObject(p, "event_id", (double)e->id);
    cJSON_AddStringToObject(p, "type", e->type);
    cJSON_AddStringToObject(p, "cluster", e->cluster);
    cJSON_AddStringToObject(p, "severity", e->severity);
    cJSON_AddNumberToObject(p, "ts", (double)e->ts);
    cJSON_AddStringToObject(p, "node", e->node);
    cJSON_AddStringToObject(p, "message", e->message);
    cJSON_AddItemToObject(p, "details", d ? d : cJSON_CreateObject());
    return p;
}

/* An alert the writer opened or resolved for e: a message, once (the row
 * was created or resolved now). */
static void alert_message(notifier *nt, const hp_event *e, const ev_alert *a)
{
    int sev = a->open && e->kind == EV_ALERT_FIRED ? severity_parse(e->severity) : SEV_WARNING;
    char key[96], text[760], mtext[48] = "";
    hp_maint mw;
    cJSON *p;

    if (a->id <= 0 || !a->changed) return; /* already open, or nothing to resolve */
    if (!a->open && e->kind == EV_ALERT_RESOLVED) sev = severity_parse(e->severity);
    snprintf(key, sizeof(key), "alert:%lld:%s", (long long)a->id, a->open ? "fired" : "resolved");
    /* In a maintenance window an alert is expected (a master restarted on
     * purpose): it still goes out, and says so. */
    if (e->cluster[0] && db_maintenance_open(nt->d, e->cluster, &mw) == 1 &&
        mw.until > hp_now_ms()) {
        time_t t = (time_t)(mw.until / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(mtext, sizeof(mtext), " (maintenance until %H:%M UTC)", &tm);
    }
    snprintf(text, sizeof(text), "hapanel: %s: %s %s%s%s: %s%s",
             e->cluster[0] ? e->cluster : "panel", /* events_dropped is the panel's own */
             a->open ? "ALERT" : "RESOLVED", a->rule, a->node[0] ? " " : "", a->node, e->message,
             mtext);
    p = event_payload(e);
    cJSON_AddNumberToObject(p, "alert_id", (double)a->id);
    if (mtext[0]) {
        cJSON *mo = cJSON_AddObjectToObject(p, "maintenance");
        cJSON_AddNumberToObject(mo, "until", (double)(mw.until / 1000));
        cJSON_AddStringToObject(mo, "reason", mw.reason);
    }
    enqueue(nt, key, sev < 0 ? SEV_WARNING : sev, p, text);
}

void notify_hook(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf)
{
    notifier *nt = ctx;
    int i, k;

    for (i = 0; i < nf; i++)
        if (fs[i].id > 0) failover_message(nt, &fs[i]); /* 0: a duplicate, not stored */
    for (i = 0; i < n; i++) {
        const hp_event *e = &evs[i];
        char key[96], text[700];

        for (k = 0; k < e->nalerts; k++)
            alert_message(nt, e, &e->alerts[k]);
        if (!strcmp(e->job_kind, "failover") &&
            (e->kind == EV_JOB_STARTED || e->kind == EV_JOB_FAILED)) {
            snprintf(key, sizeof(key), "job:%lld:%s", (long long)e->job_id,
                     e->kind == EV_JOB_STARTED ? "started" : "failed");
            snprintf(text, sizeof(text), "hapanel: %s: %s", e->cluster, e->message);
            enqueue(nt, key, e->kind == EV_JOB_FAILED ? SEV_WARNING : SEV_INFO, event_payload(e),
                    text);
        }
    }
}

/* ------------------------------------------------------------------ public */

notifier *notify_new(const config *cfg, db *d, evq *q)
{
    notifier *nt = calloc(1, sizeof(*nt));
    int i;

    if (!nt) return NULL;
    nt->cfg = cfg;
    nt->d = d;
    nt->q = q;
    pthread_mutex_init(&nt->lock, NULL);
    pthread_cond_init(&nt->wake, NULL);
    for (i = 0; i < cfg->nchannels; i++) {
        sender *s = &nt->senders[nt->nsenders];
        s->owner = nt;
        s->ch = &cfg->channels[i];
        if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
            notify_free(nt);
            return NULL;
        }
        s->started = 1;
        nt->nsenders++;
    }
    if (cfg->nchannels)
        log_info("notify: %d channel(s); pending messages resume now", cfg->nchannels);
    return nt;
}

void notify_stop(notifier *nt)
{
    int i;
    if (!nt) return;
    pthread_mutex_lock(&nt->lock);
    nt->stop = 1;
    pthread_cond_broadcast(&nt->wake);
    pthread_mutex_unlock(&nt->lock);
    for (i = 0; i < nt->nsenders; i++)
        if (nt->senders[i].started) {
            pthread_join(nt->senders[i].thread, NULL);
            nt->senders[i].started = 0;
        }
}

void notify_free(notifier *nt)
{
    if (!nt) return;
    notify_stop(nt);
    pthread_mutex_destroy(&nt->lock);
    pthread_cond_destroy(&nt->wake);
    free(nt);
}

cJSON *notify_test(notifier *nt)
{
    cJSON *arr = cJSON_CreateArray();
    int64_t now = hp_now_ms();
    char key[64], when[40], text[200];
    int i;

    utc(now, when, sizeof(when));
    snprintf(key, sizeof(key), "test:%lld", (long long)now);
    snprintf(text, sizeof(text), "hapanel: test message at %s", when);
    for (i = 0; i < nt->cfg->nchannels; i++) {
        const cfg_channel *ch = &nt->cfg->channels[i];
        cJSON *p = cJSON_CreateObject(), *r = cJSON_CreateObject();
        char *body, err[256] = "";
        int ok;
        cJSON_AddStringToObject(p, "type", "test");
        cJSON_AddStringToObject(p, "severity", "info");
        cJSON_AddNumberToObject(p, "ts", (double)now);
        cJSON_AddStringToObject(p, "message", text);
        cJSON_AddStringToObject(p, "delivery", key);
        cJSON_AddStringToObject(p, "text", text);
        hp_json_fix_utf8(p);
        body = cJSON_PrintUnformatted(p);
        ok = body && post(ch, key, body, text, err, sizeof(err)) == 0;
        cJSON_AddStringToObject(r, "channel", ch->name);
        cJSON_AddStringToObject(r, "kind", ch->kind == CH_TELEGRAM ? "telegram" : "webhook");
        cJSON_AddBoolToObject(r, "ok", ok);
        if (ok)
            cJSON_AddNullToObject(r, "error");
        else
            cJSON_AddStringToObject(r, "error", err);
        cJSON_AddItemToArray(arr, r);
        cJSON_free(body);
        cJSON_Delete(p);
    }
    return arr;
}
