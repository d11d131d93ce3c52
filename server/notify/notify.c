/* notify.c — notifications (see notify.h).
 *
 * Durability: the history writer calls notify_hook() after each stored batch;
 * the hook turns what deserves a message into outbox rows, one per channel
 * and thing ((channel, key) is unique), before anything is sent. Each channel
 * has its own sender thread, so a dead or slow endpoint only delays its own
 * queue. A sender takes the oldest due row, posts it with libcurl (connect
 * and total timeouts), and marks it delivered, or schedules a retry with
 * exponential backoff, or marks it failed after max_attempts. Delivered rows
 * are never sent again, across restarts; pending ones resume at start.
 *
 * A fleet of panels on etcd (issue 15, ha.h): every instance keeps writing
 * outbox rows, each with a global key computed alike everywhere from the
 * content (see struct gkey), but only the leader sends, and only after it
 * claimed the row per channel in etcd (<prefix>/claims/<channel>/<gkey>):
 * a row another instance claimed is marked skipped, sent_by that instance.
 * A claimed row stays this instance's: its retries are sent even if the
 * lead was lost meanwhile (nobody else will send it), after a look that the
 * claim is still its own. A claim is confirmed after the send (2xx):
 * "sent": false until then, so that when its owner dies between the claim
 * and the send the next leader takes it over and sends it (nothing lost);
 * a duplicate is left only when the owner dies after the 2xx and before the
 * confirmation. A follower's sender checks every few seconds which of its
 * pending rows others claimed and confirmed and marks those skipped, so that
 * a follower that leads after hours has no backlog to walk; what nobody
 * claimed waits for it. */
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
#include <unistd.h>

#include "db/db.h"
#include "db/maintenance.h"
#include "ha/ha.h"
#include "core/log.h"
#include "model/topology.h"
#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

#define CONNECT_TIMEOUT_MS 3000
#define TOTAL_TIMEOUT_MS 10000
#define BACKOFF_MAX_MS 300000
#define IDLE_WAIT_MS 5000
#define FOLLOWER_WAIT_MS 1000 /* a follower looks again (and is woken on a change) */
#define CLAIM_RETRY_MS 1000   /* etcd did not answer a claim: not an attempt */
#define CLAIM_TTL_S (7 * 86400)
#define HOUSEKEEP_MS 5000
#define HOUSEKEEP_BATCH 32

typedef struct sender {
    struct notifier *owner;
    const cfg_channel *ch;
    pthread_t thread;
    int started;
    int64_t housekept_ms; /* the follower's last look at the claims */
} sender;

struct notifier {
    const config *cfg;
    db *d;  /* reads: the next due message */
    evq *q; /* writes: rows added and marked, through the writer */
    ha *ha; /* NULL: a single panel, always the leader */
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

/* ------------------------------------------------------------------ claims */

/* This instance's name in the fleet (sent_by, job claims). */
static void self_id(const notifier *nt, char *out, size_t outsz)
{
    ha_status st;
    ha_status_get(nt->ha, &st);
    hp_strlcpy(out, st.self_id[0] ? st.self_id : nt->cfg->ha_instance_name, outsz);
}

/* Waits up to ms for a new row, a change of leadership or the stop. */
static void nap(notifier *nt, uint64_t gen, int64_t ms)
{
    pthread_mutex_lock(&nt->lock);
    if (!nt->stop && nt->generation == gen) {
        struct timespec ts;
        if (ms < 1) ms = 1;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&nt->wake, &nt->lock, &ts);
    }
    pthread_mutex_unlock(&nt->lock);
}

static void wake_senders(notifier *nt)
{
    pthread_mutex_lock(&nt->lock);
    nt->generation++;
    pthread_cond_broadcast(&nt->wake);
    pthread_mutex_unlock(&nt->lock);
}

/* ha_on_change: a new leader sends at once what waits. */
static void leadership_changed(void *ctx, int leader)
{
    (void)leader;
    wake_senders(ctx);
}

/* The claim key of r on channel ch, under <prefix>/claims/. */
static void claim_key(const cfg_channel *ch, const char *gkey, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", ch->name, gkey);
}

/* Claims r for this instance (a claim confirmed after the send, ha.h): 1
 * ours, to send; 0 sent by another instance (its id in by); HA_CLAIM_DONE
 * ours and sent; HA_CLAIM_HELD another live instance's, not yet sent; -1
 * not now (etcd did not answer, or the lead is gone). */
static int claim(notifier *nt, const sender *s, const outbox_row *r, char *by, size_t bysz)
{
    char key[320];
    claim_key(s->ch, r->gkey, key, sizeof(key));
    if (r->gstate[0]) return ha_transition(nt->ha, key, r->gstate, r->gat, by, bysz);
    return ha_claim_msg(nt->ha, key, CLAIM_TTL_S, by, bysz);
}

/* What the claim of one key holds, read by a follower (ha_list). */
typedef struct claim_seen {
    const char *want; /* the key after <prefix>/ */
    int found;
    char by[64], state[HP_ADDR_MAX];
    int64_t at;
    int sent; /* confirmed after the send (a claim without "sent": yes) */
} claim_seen;

/* ha_list's fn: the claim's value is {"by", "at"[, "state"]} (leader.c). */
static void on_claim(void *ctx, const char *key, const char *value)
{
    claim_seen *c = ctx;
    cJSON *o, *v;

    if (strcmp(key, c->want)) return; /* a longer key under the same prefix */
    c->found = 1;
    o = cJSON_Parse(value ? value : "");
    v = cJSON_GetObjectItemCaseSensitive(o, "by");
    if (cJSON_IsString(v)) hp_strlcpy(c->by, v->valuestring, sizeof(c->by));
    v = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (cJSON_IsString(v)) hp_strlcpy(c->state, v->valuestring, sizeof(c->state));
    v = cJSON_GetObjectItemCaseSensitive(o, "at");
    if (cJSON_IsNumber(v)) c->at = (int64_t)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(o, "sent");
    c->sent = !cJSON_IsBool(v) || cJSON_IsTrue(v);
    cJSON_Delete(o);
}

/* A pending row a follower checks: what the claim needs and the mark. */
typedef struct pending_ref {
    int64_t id, next_at, gat;
    int attempts;
    char gkey[192], gstate[HP_ADDR_MAX];
} pending_ref;

typedef struct pending_refs {
    pending_ref r[HOUSEKEEP_BATCH];
    int n;
} pending_refs;

static void collect_pending(void *ctx, const outbox_row *o)
{
    pending_refs *p = ctx;
    pending_ref *x;
    if (p->n >= HOUSEKEEP_BATCH) return;
    x = &p->r[p->n++];
    x->id = o->id;
    x->next_at = o->next_at;
    x->gat = o->gat;
    x->attempts = o->attempts;
    hp_strlcpy(x->gkey, o->gkey, sizeof(x->gkey));
    hp_strlcpy(x->gstate, o->gstate, sizeof(x->gstate));
}

/* A follower's look at the claims of its pending rows older than two lease
 * TTLs (the leader had the time to claim them): those another instance
 * claimed AND confirmed as sent are marked skipped, sent_by it (so are the
 * rows a later change of their subject made stale). A claim not yet
 * confirmed stays pending here: its owner, alive, confirms it soon, or, dead
 * before its send maybe, the next leader takes it over. A claim of this
 * instance's own (claimed before a crash, the local mark lost) is marked
 * claimed here, so that this instance resends it even as a follower, or
 * delivered when it was confirmed. What nobody claimed stays pending: the
 * leader did not see it, or there is no leader; this instance sends it when
 * it leads. Reads only, claims nothing. */
static void housekeep(notifier *nt, sender *s, const char *me)
{
    pending_refs p;
    int64_t ttl_ms = (int64_t)(nt->cfg->ha_lease_ttl_s > 0 ? nt->cfg->ha_lease_ttl_s : 5) * 1000;
    int i, same, skipped = 0;

    p.n = 0;
    if (db_outbox_unclaimed(nt->d, s->ch->name, hp_now_ms() - 2 * ttl_ms, HOUSEKEEP_BATCH,
                            collect_pending, &p) < 0)
        return;
    for (i = 0; i < p.n && !ha_is_leader(nt->ha); i++) {
        const pending_ref *x = &p.r[i];
        char key[320], full[340];
        claim_seen c;
        int taken;

        memset(&c, 0, sizeof(c));
        claim_key(s->ch, x->gkey, key, sizeof(key));
        snprintf(full, sizeof(full), "claims/%s", key);
        c.want = full;
        if (ha_list(nt->ha, full, on_claim, &c) < 0) break; /* etcd down: next time */
        if (!c.found || !c.by[0]) continue;
        /* the same rule as ha_transition's: this row's change is the stored
         * one (then only once confirmed), or older than it */
        same = !x->gstate[0] || !strcmp(c.state, x->gstate);
        if (same && !strcmp(c.by, me) && (!x->gstate[0] || c.at == x->gat)) {
            if (c.sent)
                evq_outbox_mark(nt->q, x->id, "delivered", x->attempts, x->next_at, NULL,
                                hp_now_ms(), me);
            else
                evq_outbox_claimed(nt->q, x->id, me, hp_now_ms());
            continue;
        }
        taken = same ? c.sent : c.at >= x->gat;
        if (!taken) continue;
        evq_outbox_mark(nt->q, x->id, "skipped", x->attempts, x->next_at, NULL, 0, c.by);
        skipped++;
    }
    if (skipped)
        log_info("notify: %d message(s) to %s were sent by other instances", skipped, s->ch->name);
}

/* For a test: HAPANEL_FAILPOINT "notify-after-claim[:<gkey prefix>]" exits
 * (as a crash would) between a won claim and its send, on the first row
 * whose global key starts with the prefix (none: any row). */
static void failpoint_after_claim(const outbox_row *r)
{
    static const char name[] = "notify-after-claim";
    const char *fp = getenv("HAPANEL_FAILPOINT");
    size_t nl = sizeof(name) - 1;
    if (!fp || strncmp(fp, name, nl)) return;
    if (fp[nl] != '\0' && (fp[nl] != ':' || strncmp(r->gkey, fp + nl + 1, strlen(fp + nl + 1))))
        return;
    log_error("notify: failpoint %s: %s claimed, exiting before its send as a crash would", name,
              r->key);
    _exit(70);
}

static void *sender_main(void *arg)
{
    sender *s = arg;
    notifier *nt = s->owner;
    char me[64] = "";

    if (nt->ha) self_id(nt, me, sizeof(me));
    for (;;) {
        outbox_row r;
        int64_t now = hp_now_ms(), due = 0, wait;
        int got, leader = ha_is_leader(nt->ha);
        uint64_t gen;

        pthread_mutex_lock(&nt->lock);
        gen = nt->generation;
        if (nt->stop) {
            pthread_mutex_unlock(&nt->lock);
            break;
        }
        pthread_mutex_unlock(&nt->lock);

        if (nt->ha && !leader && now - s->housekept_ms >= HOUSEKEEP_MS) {
            s->housekept_ms = now;
            housekeep(nt, s, me);
        }
        got = db_outbox_next(nt->d, s->ch->name, now, &r, &due);
        if (got == 1 && nt->ha && (r.gkey[0] || !r.claimed_at)) {
            char by[64] = "";
            /* only the leader claims; what this instance claimed it sends
             * even when it no longer leads (nobody else will), after a look
             * that the claim is still its own */
            int c = leader || r.claimed_at ? 1 : -2;
            if (c == 1 && r.gkey[0]) c = claim(nt, s, &r, by, sizeof(by));
            if (c == 0) {
                evq_outbox_mark(nt->q, r.id, "skipped", r.attempts, r.next_at, NULL, 0,
                                by[0] ? by : "?");
                log_info("notify: %s to %s was sent by %s", r.key, s->ch->name,
                         by[0] ? by : "another instance");
                outbox_row_release(&r);
                continue;
            }
            if (c == HA_CLAIM_DONE) { /* sent before a crash, the mark lost */
                evq_outbox_mark(nt->q, r.id, "delivered", r.attempts, r.next_at, NULL, hp_now_ms(),
                                me);
                outbox_row_release(&r);
                continue;
            }
            if (c == HA_CLAIM_HELD) { /* its owner sends it: look again in a while */
                int64_t ttl_ms = (int64_t)nt->cfg->ha_lease_ttl_s * 1000;
                evq_outbox_mark(nt->q, r.id, "pending", r.attempts,
                                hp_now_ms() + (ttl_ms > 0 ? ttl_ms : 5000), NULL, 0, NULL);
                log_info("notify: %s to %s is being sent by %s", r.key, s->ch->name, by);
                outbox_row_release(&r);
                continue;
            }
            if (c < 0) {
                outbox_row_release(&r);
                nap(nt, gen, c == -2 ? FOLLOWER_WAIT_MS : CLAIM_RETRY_MS);
                continue;
            }
            if (r.gkey[0] && !r.claimed_at && evq_outbox_claimed(nt->q, r.id, me, hp_now_ms()) < 0)
                log_warn("notify: %s to %s: cannot record the claim", r.key, s->ch->name);
            if (r.gkey[0]) failpoint_after_claim(&r);
        }
        if (got == 1) {
            char err[256] = "";
            int ok = post(s->ch, r.key, r.payload, r.text, err, sizeof(err)) == 0;
            int attempts = r.attempts + 1;
            const char *by = me[0] ? me : NULL;
            if (ok) {
                if (nt->ha && r.gkey[0]) { /* the claim says sent: nobody takes it over */
                    char key[320];
                    claim_key(s->ch, r.gkey, key, sizeof(key));
                    ha_claim_sent(nt->ha, key);
                }
                evq_outbox_mark(nt->q, r.id, "delivered", attempts, r.next_at, NULL, hp_now_ms(),
                                by);
                log_info("notify: %s delivered to %s", r.key, s->ch->name);
            } else if (attempts >= nt->cfg->notify_max_attempts) {
                evq_outbox_mark(nt->q, r.id, "failed", attempts, r.next_at, err, 0, NULL);
                log_warn("notify: %s to %s failed for good after %d attempts: %s", r.key,
                         s->ch->name, attempts, err);
            } else {
                int64_t backoff = 1000LL << (attempts - 1 < 20 ? attempts - 1 : 20);
                if (backoff > BACKOFF_MAX_MS) backoff = BACKOFF_MAX_MS;
                evq_outbox_mark(nt->q, r.id, "pending", attempts, hp_now_ms() + backoff, err, 0,
                                NULL);
                log_warn("notify: %s to %s: %s; retry %d in %lld ms", r.key, s->ch->name, err,
                         attempts + 1, (long long)backoff);
            }
            outbox_row_release(&r);
            continue;
        }
        /* Nothing due: sleep until the next retry, a new row, or a while
         * (a follower: until its next look at the claims). */
        wait = due ? due - hp_now_ms() : IDLE_WAIT_MS;
        if (wait > IDLE_WAIT_MS) wait = IDLE_WAIT_MS;
        if (nt->ha && !leader && wait > HOUSEKEEP_MS) wait = HOUSEKEEP_MS;
        nap(nt, gen, wait);
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

/* The Sentinel group of cluster into out: the snapshot's (the writer's hook
 * has no snapshot of its own), else the group whose masters= lists it, else
 * the only group; "" when unknown (a panel event, a cluster no longer
 * monitored in a config of several groups): the payload then has no
 * "group". */
static void cluster_group(const notifier *nt, const char *cluster, char *out, size_t outsz)
{
    topo_snap *t;
    const cluster_snap *c;
    int g;

    out[0] = '\0';
    if (!cluster[0]) return;
    t = topo_acquire();
    c = topo_find(t, cluster);
    if (c) hp_strlcpy(out, c->group_name, outsz);
    topo_release(t);
    if (out[0]) return;
    g = config_group_of_master(nt->cfg, cluster);
    if (g < 0 && nt->cfg->ngroups == 1) g = 0;
    if (g >= 0) hp_strlcpy(out, nt->cfg->groups[g].name, outsz);
}

/* What a chat text names: "group/cluster" when the config has several
 * groups (the same cluster name cannot be in two, but a reader of the
 * page needs to know which deployment it is), else the cluster alone. */
static void subject(const notifier *nt, const char *cluster, const char *group, char *out,
                    size_t outsz)
{
    if (nt->cfg->ngroups > 1 && group[0] && cluster[0])
        snprintf(out, outsz, "%s/%s", group, cluster);
    else
        hp_strlcpy(out, cluster, outsz);
}

/* The global key of a message (see migrations/0014): the same on every
 * instance of a fleet for the same thing, so that its claim in etcd is one.
 * gstate "" asks for a create-if-absent claim; otherwise the claim is a
 * transition of the subject to gstate at gat (ha_transition). */
typedef struct gkey {
    char key[192];
    char state[HP_ADDR_MAX];
    int64_t at;
} gkey;

/* Queues one message for every channel that wants its severity. Takes
 * ownership of payload (a JSON object). g: its global key. text (a caller's buffer) and the
 * payload are made valid UTF-8 in place first: they quote cluster names and
 * Sentinel messages, which may hold any bytes, and a receiver that decodes
 * strictly would refuse the body (or Telegram the text) on every retry. */
static void enqueue(notifier *nt, const char *key, const gkey *g, int severity, cJSON *payload,
                    char *text)
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
        if (evq_outbox_add(nt->q, ch->name, key, severity_name(severity), body, text, hp_now_ms(),
                           g->key, g->state, g->at) == 1)
            added++;
    }
    cJSON_free(body);
    if (added) wake_senders(nt);
}

static void failover_message(notifier *nt, const hp_failover *f)
{
    cJSON *p = cJSON_CreateObject();
    char key[64], text[512], when[40], group[HP_NAME_MAX], subj[2 * HP_NAME_MAX];
    int sev = !strcmp(f->kind, "graceful") ? SEV_WARNING : SEV_CRITICAL;
    gkey g;

    if (strcmp(f->status, "succeeded")) sev = SEV_CRITICAL; /* a failover that did not complete */
    utc(f->ended_at > 0 ? f->ended_at : f->started_at, when, sizeof(when));
    snprintf(key, sizeof(key), "failover:%lld", (long long)f->id);
    /* A switch is the cluster's master becoming new_master, whoever saw it
     * (a job's failover seen by a follower is an automatic one there); one
     * without a new master (aborted, a job's failure) has its own key. */
    memset(&g, 0, sizeof(g));
    g.at = f->ended_at > 0 ? f->ended_at : f->started_at;
    if (f->new_master[0]) {
        snprintf(g.key, sizeof(g.key), "master/%s", f->cluster);
        hp_strlcpy(g.state, f->new_master, sizeof(g.state));
    } else if (f->job_id > 0) {
        char me[64];
        self_id(nt, me, sizeof(me));
        snprintf(g.key, sizeof(g.key), "job/%s/%lld/failover", me, (long long)f->job_id);
    } else {
        /* no identity across instances: one per cluster and minute */
        snprintf(g.key, sizeof(g.key), "abort/%s/%lld", f->cluster, (long long)(g.at / 60000));
    }
    cluster_group(nt, f->cluster, group, sizeof(group));
    subject(nt, f->cluster, group, subj, sizeof(subj));
    snprintf(text, sizeof(text), "hapanel: %s: %s failover %s: %s -> %s at %s%s%s", subj, f->kind,
             f->status, f->old_master[0] ? f->old_master : "?",
             f->new_master[0] ? f->new_master : "?", when, f->actor[0] ? " by " : "", f->actor);
    cJSON_AddStringToObject(p, "type", "failover");
    cJSON_AddStringToObject(p, "cluster", f->cluster);
    if (group[0]) cJSON_AddStringToObject(p, "group", group);
    cJSON_AddStringToObject(p, "severity", severity_name(sev));
    cJSON_AddNumberToObject(p, "ts", (double)(f->ended_at > 0 ? f->ended_at : f->started_at));
    cJSON_AddStringToObject(p, "message", text);
    cJSON_AddItemToObject(p, "details", hp_failover_json(f));
    enqueue(nt, key, &g, sev, p, text);
}

/* The event as a webhook receives it; group: its cluster's Sentinel group
 * ("" leaves "group" out). */
static cJSON *event_payload(const hp_event *e, const char *group)
{
    cJSON *p = cJSON_CreateObject(), *d = hp_event_details_json(e);
    cJSON_AddNumberToObject(p, "event_id", (double)e->id);
    cJSON_AddStringToObject(p, "type", e->type);
    cJSON_AddStringToObject(p, "cluster", e->cluster);
    if (group[0]) cJSON_AddStringToObject(p, "group", group);
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
    char key[96], text[760], mtext[48] = "", group[HP_NAME_MAX], subj[2 * HP_NAME_MAX];
    hp_maint mw;
    cJSON *p;
    gkey g;

    if (a->id <= 0 || !a->changed) return; /* already open, or nothing to resolve */
    if (!a->open && e->kind == EV_ALERT_RESOLVED) sev = severity_parse(e->severity);
    snprintf(key, sizeof(key), "alert:%lld:%s", (long long)a->id, a->open ? "fired" : "resolved");
    memset(&g, 0, sizeof(g));
    snprintf(g.key, sizeof(g.key), "alert/%s/%s/%s", e->cluster, a->rule, a->node);
    hp_strlcpy(g.state, a->open ? "fired" : "resolved", sizeof(g.state));
    g.at = e->ts;
    /* In a maintenance window an alert is expected (a master restarted on
     * purpose): it still goes out, and says so. */
    if (e->cluster[0] && db_maintenance_open(nt->d, e->cluster, &mw) == 1 &&
        mw.until > hp_now_ms()) {
        time_t t = (time_t)(mw.until / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(mtext, sizeof(mtext), " (maintenance until %H:%M UTC)", &tm);
    }
    cluster_group(nt, e->cluster, group, sizeof(group));
    subject(nt, e->cluster, group, subj, sizeof(subj));
    snprintf(text, sizeof(text), "hapanel: %s: %s %s%s%s: %s%s",
             subj[0] ? subj : "panel", /* events_dropped is the panel's own */
             a->open ? "ALERT" : "RESOLVED", a->rule, a->node[0] ? " " : "", a->node, e->message,
             mtext);
    p = event_payload(e, group);
    cJSON_AddNumberToObject(p, "alert_id", (double)a->id);
    if (mtext[0]) {
        cJSON *mo = cJSON_AddObjectToObject(p, "maintenance");
        cJSON_AddNumberToObject(mo, "until", (double)(mw.until / 1000));
        cJSON_AddStringToObject(mo, "reason", mw.reason);
    }
    enqueue(nt, key, &g, sev < 0 ? SEV_WARNING : sev, p, text);
}

/* The fleet's new leader (an event of ha/leader.c, on the instance that
 * won): one message per term. */
static void leader_message(notifier *nt, const hp_event *e)
{
    ha_status st;
    char key[64], text[700];
    int sev = severity_parse(e->severity);
    gkey g;
    cJSON *p;

    ha_status_get(nt->ha, &st);
    memset(&g, 0, sizeof(g));
    snprintf(key, sizeof(key), "leader:%lld", (long long)st.term);
    snprintf(g.key, sizeof(g.key), "ha/term/%lld", (long long)st.term);
    snprintf(text, sizeof(text), "hapanel: %s", e->message);
    p = event_payload(e, "");
    cJSON_AddStringToObject(p, "instance", st.self_id);
    cJSON_AddNumberToObject(p, "term", (double)st.term);
    enqueue(nt, key, &g, sev < 0 ? SEV_WARNING : sev, p, text);
}

void notify_hook(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf)
{
    notifier *nt = ctx;
    int i, k;

    for (i = 0; i < nf; i++)
        if (fs[i].id > 0) failover_message(nt, &fs[i]); /* 0: a duplicate, not stored */
    for (i = 0; i < n; i++) {
        const hp_event *e = &evs[i];
        char key[96], text[700], group[HP_NAME_MAX], subj[2 * HP_NAME_MAX];

        for (k = 0; k < e->nalerts; k++)
            alert_message(nt, e, &e->alerts[k]);
        if (!strcmp(e->job_kind, "failover") &&
            (e->kind == EV_JOB_STARTED || e->kind == EV_JOB_FAILED)) {
            const char *what = e->kind == EV_JOB_STARTED ? "started" : "failed";
            char me[64];
            gkey g;
            /* only the leader runs jobs: its name and the job's id are the
             * job's identity in the fleet */
            memset(&g, 0, sizeof(g));
            self_id(nt, me, sizeof(me));
            snprintf(g.key, sizeof(g.key), "job/%s/%lld/%s", me, (long long)e->job_id, what);
            snprintf(key, sizeof(key), "job:%lld:%s", (long long)e->job_id, what);
            cluster_group(nt, e->cluster, group, sizeof(group));
            subject(nt, e->cluster, group, subj, sizeof(subj));
            snprintf(text, sizeof(text), "hapanel: %s: %s", subj, e->message);
            enqueue(nt, key, &g, e->kind == EV_JOB_FAILED ? SEV_WARNING : SEV_INFO,
                    event_payload(e, group), text);
        }
        if (nt->ha && e->kind == EV_PANEL && !strcmp(e->type, "leader-elected"))
            leader_message(nt, e);
    }
}

/* ------------------------------------------------------------------ public */

notifier *notify_new(const config *cfg, db *d, evq *q)
{
    notifier *nt = calloc(1, sizeof(*nt));

    if (!nt) return NULL;
    nt->cfg = cfg;
    nt->d = d;
    nt->q = q;
    pthread_mutex_init(&nt->lock, NULL);
    pthread_cond_init(&nt->wake, NULL);
    return nt;
}

void notify_set_ha(notifier *nt, ha *h)
{
    nt->ha = h;
    if (h) ha_on_change(h, leadership_changed, nt);
}

int notify_start(notifier *nt)
{
    int i;

    for (i = nt->nsenders; i < nt->cfg->nchannels; i++) {
        sender *s = &nt->senders[nt->nsenders];
        s->owner = nt;
        s->ch = &nt->cfg->channels[i];
        if (pthread_create(&s->thread, NULL, sender_main, s) != 0) return -1;
        s->started = 1;
        nt->nsenders++;
    }
    if (nt->cfg->nchannels)
        log_info("notify: %d channel(s); pending messages resume now%s", nt->cfg->nchannels,
                 nt->ha ? " (sent by the fleet's leader only)" : "");
    return 0;
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
