/* leader.c — the lease thread, the leader's state and the claims (see ha.h).
 *
 * One thread keeps an etcd lease and, through it, either tries to take the
 * key <prefix>/leader (a txn that creates it only when absent, and otherwise
 * reads who holds it) or, while it holds the key, keeps the lease alive every
 * TTL/3. Leadership ends on this process's own clock: ha_is_leader is true
 * only until the last confirmed keepalive's send time + TTL - margin, so an
 * instance cut off from etcd stops acting before its lease can run out on the
 * etcd side and another instance take over (even while the thread is still
 * blocked in a call).
 *
 * Claims and fenced writes come from other threads (senders, the job clock):
 * each takes an etcd client of its own from a small pool, as a CURL handle is
 * not shared between threads. */
#define _POSIX_C_SOURCE 200809L
#include "ha/ha.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/common.h"
#include "core/log.h"
#include "core/ticker.h"
#include "ha/etcd.h"
#include "model/event.h"
#include "core/banned.h" /* last: after every system header */

#define HA_MAX_CB 8
#define HA_POOL 8
#define HA_MEMOS 32
#define HA_TIMEOUT_MS 1000 /* every etcd call: without quorum etcd says nothing for ~6 s */

struct ha {
    evq *q;
    char endpoints[1024];
    char prefix[160]; /* "<key_prefix>/" */
    char leader_key[192];
    char inst_key[256];
    char self_id[64], self_url[256];
    char token[40]; /* this instance's own (data dir): tells another one of the same name */
    int ttl_s, poll_ms, margin_ms;
    etcd_client *ec; /* the lease thread's */

    pthread_t th;
    int started, stopped; /* stopped: ha_stop ran (main thread only) */
    pthread_mutex_t mu;   /* everything below but the atomics */
    pthread_cond_t cv;    /* a change of leadership, or stop */
    int stop;
    _Atomic int leading;
    _Atomic int64_t lead_until; /* lease_ms: leadership ends here unless renewed */

    /* the lease thread's own */
    int64_t lease, last_keepalive, lease_sent;
    int inst_put, round, etcd_state; /* etcd_state: -1 unknown, 0 down, 1 up */
    int name_taken; /* (mu) instances/<my name> is another live instance's: not a candidate */

    /* status (mu) */
    char leader_id[64], leader_url[256];
    int64_t leader_since_ms, last_ok_ms, term;
    int64_t my_term; /* the leader key's create_revision while we hold it, else 0 */
    uint64_t changes, keepalives, keepalive_failures;

    void (*cb[HA_MAX_CB])(void *ctx, int leader);
    void *cb_ctx[HA_MAX_CB];
    int ncb;
    int in_cb; /* (mu) announce is running callbacks */

    /* the instance list (mu), read by inst_ticker */
    hp_ticker *inst_ticker;
    ha_instance inst[HA_INST_MAX];
    int ninst, inst_more, inst_have, inst_failed;
    int64_t inst_at_ms;

    pthread_mutex_t pool_mu; /* the pool and the memos */
    etcd_client *pool[HA_POOL];
    int npool;

    /* the claims this instance won lately, so that ha_claim_sent confirms
     * one in a single CAS (no read first: the window between a send and its
     * confirmation, where a crash sends the message twice, is one request) */
    struct claim_memo {
        char key[512], value[512]; /* value: the confirmed claim */
        int64_t rev, lease;
    } memo[HA_MEMOS];
    int nmemo;
};

/* ---- small helpers ---- */

/* The clock of the lease: CLOCK_BOOTTIME, which keeps counting while the
 * machine is suspended (CLOCK_MONOTONIC does not): a leader suspended for
 * longer than the TTL, whose lease ran out at etcd meanwhile, must not wake
 * up believing it still leads for the rest of its old lease. */
static int64_t lease_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return hp_mono_ms();
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void push_event(ha *h, const char *type, const char *sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void push_event(ha *h, const char *type, const char *sev, const char *fmt, ...)
{
    hp_event ev;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!strcmp(sev, "info"))
        log_info("ha: %s", msg);
    else
        log_warn("ha: %s", msg);
    if (!h->q) return;
    hp_event_set(&ev, EV_PANEL, "", type, sev, "ha", NULL, msg);
    evq_push(h->q, &ev);
}

static void utc_text(int64_t ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The string member name of the JSON text v into out ("" when absent). */
static void json_str(const char *v, const char *name, char *out, size_t outsz)
{
    cJSON *root = cJSON_Parse(v);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, name);
    snprintf(out, outsz, "%s", cJSON_IsString(s) ? s->valuestring : "");
    cJSON_Delete(root);
}

static int64_t json_i64(const char *v, const char *name)
{
    cJSON *root = cJSON_Parse(v);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, name);
    /* a hostile or broken value: a double out of int64's range is UB to cast */
    int64_t r = cJSON_IsNumber(n) && n->valuedouble > -9e18 && n->valuedouble < 9e18
                    ? (int64_t)n->valuedouble
                    : 0;
    cJSON_Delete(root);
    return r;
}

static etcd_client *pool_take(ha *h)
{
    etcd_client *c = NULL;
    pthread_mutex_lock(&h->pool_mu);
    if (h->npool > 0) c = h->pool[--h->npool];
    pthread_mutex_unlock(&h->pool_mu);
    return c ? c : etcd_client_new(h->endpoints, HA_TIMEOUT_MS);
}

static void pool_give(ha *h, etcd_client *c)
{
    if (!c) return;
    pthread_mutex_lock(&h->pool_mu);
    if (h->npool < HA_POOL) {
        h->pool[h->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->pool_mu);
    etcd_client_free(c);
}

/* ---- public: state ---- */

int ha_is_leader(const ha *h)
{
    if (!h) return 1;
    return atomic_load(&((ha *)h)->leading) && lease_ms() < atomic_load(&((ha *)h)->lead_until);
}

int ha_wait_leader(ha *h, int ms)
{
    struct timespec ts;
    int64_t end;
    if (!h) return 1;
    if (ha_is_leader(h) || ms <= 0) return ha_is_leader(h);
    end = hp_mono_ms() + ms;
    pthread_mutex_lock(&h->mu);
    while (!h->stop && !ha_is_leader(h)) {
        int64_t left = end - hp_mono_ms();
        if (left <= 0) break;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return ha_is_leader(h);
}

void ha_on_change(ha *h, void (*fn)(void *ctx, int leader), void *ctx)
{
    if (!h || !fn) return;
    pthread_mutex_lock(&h->mu);
    if (h->ncb < HA_MAX_CB) {
        h->cb[h->ncb] = fn;
        h->cb_ctx[h->ncb++] = ctx;
    }
    pthread_mutex_unlock(&h->mu);
}

void ha_status_get(const ha *h, ha_status *out)
{
    ha *m = (ha *)h;
    memset(out, 0, sizeof(*out));
    if (!h) return;
    out->leader = ha_is_leader(h);
    pthread_mutex_lock(&m->mu);
    out->enabled = 1;
    out->etcd_ok = m->etcd_state == 1;
    out->name_taken = m->name_taken;
    hp_strlcpy(out->self_id, m->self_id, sizeof(out->self_id));
    hp_strlcpy(out->self_url, m->self_url, sizeof(out->self_url));
    hp_strlcpy(out->leader_id, m->leader_id, sizeof(out->leader_id));
    hp_strlcpy(out->leader_url, m->leader_url, sizeof(out->leader_url));
    out->leader_since_ms = m->leader_since_ms;
    out->last_ok_ms = m->last_ok_ms;
    out->term = m->term;
    out->changes = m->changes;
    out->keepalives = m->keepalives;
    out->keepalive_failures = m->keepalive_failures;
    pthread_mutex_unlock(&m->mu);
}

/* ---- the lease thread ---- */

/* Runs the callbacks (outside mu) and wakes ha_wait_leader. */
static void announce(ha *h, int leader)
{
    void (*cb[HA_MAX_CB])(void *ctx, int leader);
    void *ctx[HA_MAX_CB];
    int n, i;
    pthread_mutex_lock(&h->mu);
    n = h->ncb;
    memcpy(cb, h->cb, sizeof(cb));
    memcpy(ctx, h->cb_ctx, sizeof(ctx));
    h->changes++;
    h->in_cb = n > 0;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (i = 0; i < n; i++)
        cb[i](ctx[i], leader);
    if (n > 0) {
        pthread_mutex_lock(&h->mu);
        h->in_cb = 0;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
}

void ha_drop_callbacks(ha *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->ncb = 0;
    while (h->in_cb)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static void etcd_answered(ha *h)
{
    int was;
    pthread_mutex_lock(&h->mu);
    was = h->etcd_state;
    h->etcd_state = 1;
    h->last_ok_ms = hp_now_ms();
    pthread_mutex_unlock(&h->mu);
    if (was == 0)
        push_event(h, "etcd-reachable", "info", "etcd answers again (%s)",
                   etcd_client_endpoint(h->ec));
}

static void etcd_failed(ha *h)
{
    int was;
    pthread_mutex_lock(&h->mu);
    was = h->etcd_state;
    h->etcd_state = 0;
    pthread_mutex_unlock(&h->mu);
    if (was != 0)
        push_event(h, "etcd-unreachable", "warning", "etcd does not answer: %s",
                   etcd_client_error(h->ec));
}

static void step_down(ha *h, const char *why)
{
    if (!atomic_load(&h->leading)) return;
    atomic_store(&h->leading, 0);
    atomic_store(&h->lead_until, 0);
    pthread_mutex_lock(&h->mu);
    h->leader_id[0] = h->leader_url[0] = '\0';
    h->leader_since_ms = 0;
    h->my_term = 0;
    pthread_mutex_unlock(&h->mu);
    push_event(h, "leader-lost", "warning", "instance %s no longer leads: %s", h->self_id, why);
    announce(h, 0);
}

static void become_leader(ha *h, int64_t term, int64_t since)
{
    char when[40];
    pthread_mutex_lock(&h->mu);
    hp_strlcpy(h->leader_id, h->self_id, sizeof(h->leader_id));
    hp_strlcpy(h->leader_url, h->self_url, sizeof(h->leader_url));
    h->leader_since_ms = since;
    h->term = term;
    h->my_term = term;
    pthread_mutex_unlock(&h->mu);
    atomic_store(&h->lead_until, h->lease_sent + h->ttl_s * 1000LL - h->margin_ms);
    atomic_store(&h->leading, 1);
    h->round = 0;
    utc_text(since, when, sizeof(when));
    push_event(h, "leader-elected", "info", "instance %s leads (term %" PRId64 ") since %s",
               h->self_id, term, when);
    announce(h, 1);
}

/* A new lease; 0 or -1. */
static int get_lease(ha *h)
{
    int64_t t0 = lease_ms();
    if (etcd_grant(h->ec, h->ttl_s, &h->lease) < 0) {
        h->lease = 0;
        return -1;
    }
    h->lease_sent = h->last_keepalive = t0;
    h->inst_put = 0;
    return 0;
}

/* Keeps the lease alive: 1 alive, 0 gone (expired: h->lease cleared), -1
 * no answer. */
static int keepalive(ha *h)
{
    int64_t t0 = lease_ms(), ttl = 0;
    if (etcd_keepalive(h->ec, h->lease, &ttl) < 0) {
        pthread_mutex_lock(&h->mu);
        h->keepalive_failures++;
        pthread_mutex_unlock(&h->mu);
        return -1;
    }
    pthread_mutex_lock(&h->mu);
    h->keepalives++;
    pthread_mutex_unlock(&h->mu);
    if (ttl <= 0) {
        h->lease = 0;
        h->inst_put = 0;
        return 0;
    }
    h->lease_sent = h->last_keepalive = t0;
    return 1;
}

/* Registers instances/<my name> on the lease, unless another live instance
 * holds that name: two instances of one name would both take the other's
 * claims for their own (a page twice, or none). The key holds the token of
 * the instance's data dir, so this instance restarted within a TTL (its old
 * key not yet expired) takes its own key back at once; another one waits,
 * not a candidate, until that key goes (health says instance_name_taken). */
static int put_instance(ha *h)
{
    etcd_cmp absent = {h->inst_key, ETCD_CMP_CREATE, 0};
    etcd_kv cur;
    char value[512], tok[64] = "";
    int ok = 0, taken = 0;
    int64_t rev;
    snprintf(value, sizeof(value),
             "{\"url\":\"%s\",\"started\":%" PRId64 ",\"version\":\"%s\",\"token\":\"%s\"}",
             h->self_url, hp_now_ms(), HP_VERSION, h->token);
    if (etcd_txn_put(h->ec, &absent, 1, h->inst_key, value, h->lease, &ok, &rev, &cur) < 0)
        return -1;
    if (!ok && cur.key) {
        json_str(cur.value, "token", tok, sizeof(tok));
        taken = cur.lease != h->lease && strcmp(tok, h->token);
        etcd_kv_release(&cur);
        if (!taken &&
            etcd_txn_put(h->ec, NULL, 0, h->inst_key, value, h->lease, &ok, &rev, NULL) < 0)
            return -1;
    }
    pthread_mutex_lock(&h->mu);
    if (taken && !h->name_taken)
        log_error("ha: instance name %s is held by another live instance (not this data dir): "
                  "this one is not a candidate until that one is gone; give each instance its "
                  "own [ha] instance_name",
                  h->self_id);
    if (!taken && h->name_taken) log_info("ha: instance name %s is ours again", h->self_id);
    h->name_taken = taken;
    pthread_mutex_unlock(&h->mu);
    h->inst_put = ok && !taken;
    return 0;
}

/* Notes who holds the key (kv, NULL: nobody); leader-changed when it changed. */
static void note_leader(ha *h, const etcd_kv *kv)
{
    char id[64] = "", url[256] = "", was[64];
    int64_t since = 0;
    if (kv) {
        json_str(kv->value, "id", id, sizeof(id));
        json_str(kv->value, "url", url, sizeof(url));
        since = json_i64(kv->value, "since");
    }
    pthread_mutex_lock(&h->mu);
    hp_strlcpy(was, h->leader_id, sizeof(was));
    hp_strlcpy(h->leader_id, id, sizeof(h->leader_id));
    hp_strlcpy(h->leader_url, url, sizeof(h->leader_url));
    h->leader_since_ms = since;
    h->term = kv ? kv->create_rev : 0;
    pthread_mutex_unlock(&h->mu);
    if (strcmp(was, id) && id[0])
        push_event(h, "leader-changed", "info", "leader is now %s (was %s)", id,
                   was[0] ? was : "none");
}

static void follower_round(ha *h)
{
    etcd_cmp absent = {h->leader_key, ETCD_CMP_CREATE, 0};
    etcd_kv cur;
    char value[512];
    int64_t rev = 0, now = hp_now_ms();
    int ok = 0;

    if (!h->lease && get_lease(h) < 0) goto fail;
    if (lease_ms() - h->last_keepalive >= h->ttl_s * 1000 / 3) {
        int k = keepalive(h);
        if (k < 0) goto fail;
        if (k == 0 && get_lease(h) < 0) goto fail;
    }
    if (!h->inst_put && put_instance(h) < 0) goto fail;
    if (!h->inst_put) { /* the name is another instance's: follow, never lead */
        etcd_answered(h);
        if (etcd_get(h->ec, h->leader_key, &cur, &ok) == 0) {
            note_leader(h, ok ? &cur : NULL);
            if (ok) etcd_kv_release(&cur);
        }
        return;
    }
    snprintf(value, sizeof(value),
             "{\"id\":\"%s\",\"url\":\"%s\",\"since\":%" PRId64 ",\"version\":\"%s\",\"pid\":%ld}",
             h->self_id, h->self_url, now, HP_VERSION, (long)getpid());
    if (etcd_txn_put(h->ec, &absent, 1, h->leader_key, value, h->lease, &ok, &rev, &cur) < 0)
        goto fail;
    etcd_answered(h);
    if (ok) {
        become_leader(h, rev, now);
        return;
    }
    if (cur.key && cur.lease == h->lease) { /* still ours (we stepped down on our clock) */
        become_leader(h, cur.create_rev, json_i64(cur.value, "since"));
        etcd_kv_release(&cur);
        return;
    }
    note_leader(h, cur.key ? &cur : NULL);
    etcd_kv_release(&cur);
    return;
fail:
    etcd_failed(h);
    /* the leader we knew holds the key at most a TTL past our last answer
     * (it cannot keep its lease without etcd either): name nobody after that */
    pthread_mutex_lock(&h->mu);
    if (h->leader_id[0] && hp_now_ms() - h->last_ok_ms >= h->ttl_s * 1000LL) {
        h->leader_id[0] = h->leader_url[0] = '\0';
        h->leader_since_ms = 0;
    }
    pthread_mutex_unlock(&h->mu);
}

/* One keep-alive of the leader's lease. Leadership that lapsed on our clock
 * while the call was under way is given up even if etcd answers late: the
 * next round takes it back through the key (still on our lease), with the
 * events and callbacks of a change, rather than resuming silently. */
static void lapse(ha *h, int64_t since)
{
    char why[96];
    snprintf(why, sizeof(why), "etcd did not confirm its lease for %" PRId64 " ms",
             lease_ms() - since);
    step_down(h, why);
}

static void leader_round(ha *h)
{
    int64_t prev = h->last_keepalive;
    int k, lapsed;

    if (lease_ms() >= atomic_load(&h->lead_until)) { /* already over: say so now */
        lapse(h, prev);
        return;
    }
    k = keepalive(h);
    lapsed = lease_ms() >= atomic_load(&h->lead_until);
    if (k < 0)
        etcd_failed(h);
    else
        etcd_answered(h);
    if (k == 0) {
        step_down(h, "its lease expired");
        return;
    }
    if (lapsed) {
        lapse(h, prev);
        return;
    }
    if (k < 0) return;
    atomic_store(&h->lead_until, h->lease_sent + h->ttl_s * 1000LL - h->margin_ms);
    /* every round: a leader key deleted by hand is taken by a follower
     * within its poll; we must notice within a round, not two */
    h->round++;
    {
        etcd_kv kv;
        int found = 0;
        if (etcd_get(h->ec, h->leader_key, &kv, &found) == 0) {
            if (!found)
                step_down(h, "the leader key is gone");
            else if (kv.lease != h->lease)
                step_down(h, "another instance holds the leader key");
            etcd_kv_release(&kv);
        }
    }
}

/* Sleeps ms or until stopped; 1 when stopped. */
static int nap(ha *h, int64_t ms)
{
    struct timespec ts;
    int stop;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->mu);
    if (!h->stop) pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    stop = h->stop;
    pthread_mutex_unlock(&h->mu);
    return stop;
}

static void *lease_main(void *arg)
{
    ha *h = arg;
    char ver[32];
    if (etcd_version(h->ec, ver, sizeof(ver)) == 0)
        log_info("ha: etcd %s at %s; instance %s (%s), lease TTL %d s", ver,
                 etcd_client_endpoint(h->ec), h->self_id, h->self_url, h->ttl_s);
    for (;;) {
        int64_t wait;
        if (atomic_load(&h->leading)) {
            leader_round(h);
        } else {
            follower_round(h);
        }
        if (atomic_load(&h->leading)) {
            int64_t left = atomic_load(&h->lead_until) - lease_ms();
            wait = h->ttl_s * 1000 / 3;
            if (left > 0 && left < wait) wait = left; /* wake up to step down on time */
            if (left <= 0) wait = 1;
        } else {
            wait = h->poll_ms;
        }
        if (nap(h, wait)) break;
    }
    return NULL;
}

/* ---- public: life cycle ---- */

/* The instance's token: <data_dir>/ha-instance-token (made once, 32 hex
 * characters from getrandom), so that a restart is the same instance and a
 * copy elsewhere under the same name is not. A data dir that cannot keep it
 * gives a token for this process only (a restart then waits for its old
 * key to expire, a TTL at most). */
static void load_token(const char *dir, char *out, size_t outsz)
{
    char path[1100], buf[64];
    unsigned char raw[16];
    ssize_t n;
    size_t i;
    int fd;

    snprintf(path, sizeof(path), "%s/ha-instance-token", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n >= 32) {
            buf[32] = '\0';
            if (strspn(buf, "0123456789abcdef") == 32) {
                hp_strlcpy(out, buf, outsz);
                return;
            }
        }
    }
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        snprintf(out, outsz, "%016llx%016llx", (unsigned long long)hp_now_ms(),
                 (unsigned long long)getpid());
        return;
    }
    for (i = 0; i < sizeof(raw) && 2 * i + 2 < outsz; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (write(fd, out, strlen(out)) != (ssize_t)strlen(out)) log_warn("ha: cannot keep %s", path);
    close(fd);
}

ha *ha_new(const config *cfg, evq *q, char *err, size_t errsz)
{
    ha *h;
    pthread_condattr_t ca;

    if (errsz) err[0] = '\0';
    if (!cfg->ha_etcd_endpoints[0]) return NULL;
    h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    h->q = q;
    hp_strlcpy(h->endpoints, cfg->ha_etcd_endpoints, sizeof(h->endpoints));
    snprintf(h->prefix, sizeof(h->prefix), "%s/", cfg->ha_key_prefix);
    snprintf(h->leader_key, sizeof(h->leader_key), "%sleader", h->prefix);
    hp_strlcpy(h->self_id, cfg->ha_instance_name, sizeof(h->self_id));
    hp_strlcpy(h->self_url, cfg->ha_advertise_url, sizeof(h->self_url));
    snprintf(h->inst_key, sizeof(h->inst_key), "%sinstances/%s", h->prefix, h->self_id);
    load_token(cfg->data_dir, h->token, sizeof(h->token));
    h->ttl_s = cfg->ha_lease_ttl_s >= 2 ? cfg->ha_lease_ttl_s : 2;
    h->poll_ms = h->ttl_s * 100 > 200 ? h->ttl_s * 100 : 200;
    h->margin_ms = h->ttl_s * 200 > 1000 ? h->ttl_s * 200 : 1000;
    h->etcd_state = -1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->pool_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->ec = etcd_client_new(h->endpoints, HA_TIMEOUT_MS);
    if (!h->ec || !h->self_id[0] || !h->self_url[0]) {
        snprintf(err, errsz, "cannot make the etcd client (endpoints %.200s)", h->endpoints);
        ha_free(h);
        return NULL;
    }
    return h;
}

static void inst_tick(void *arg);

int ha_start(ha *h)
{
    if (!h) return 0;
    if (pthread_create(&h->th, NULL, lease_main, h) != 0) return -1;
    h->started = 1;
    if (!(h->inst_ticker = hp_ticker_start(inst_tick, h, HA_INST_REFRESH_MS)))
        log_warn("ha: cannot start the thread that reads the instance list");
    return 0;
}

void ha_stop(ha *h)
{
    if (!h || h->stopped) return;
    h->stopped = 1;
    hp_ticker_stop(h->inst_ticker);
    h->inst_ticker = NULL;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->th, NULL);
    }
    atomic_store(&h->leading, 0);
    /* the leader key and instances/<me> go with the lease: a follower leads
     * within one poll instead of a TTL */
    if (h->ec && h->lease) {
        if (etcd_revoke(h->ec, h->lease) == 0)
            log_info("ha: lease revoked: instance %s handed over", h->self_id);
        else
            log_warn("ha: cannot revoke the lease: %s", etcd_client_error(h->ec));
        h->lease = 0;
    }
}

void ha_free(ha *h)
{
    int i;
    if (!h) return;
    ha_stop(h);
    etcd_client_free(h->ec);
    for (i = 0; i < h->npool; i++)
        etcd_client_free(h->pool[i]);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->pool_mu);
    free(h);
}

/* ---- public: claims and fenced writes ---- */

/* The fence of a claim or fenced write: the term of OUR hold on the leader
 * key. Not h->term, which a follower sets to the current leader's: a thread
 * that passed ha_is_leader just before a step-down and the next follower
 * round would otherwise fence on the new leader's term, and succeed. -1
 * (never a create_revision) when we do not hold it. */
static int64_t cur_term(ha *h)
{
    int64_t t;
    pthread_mutex_lock(&h->mu);
    t = h->my_term > 0 ? h->my_term : -1;
    pthread_mutex_unlock(&h->mu);
    return t;
}

/* A claim's value, {"by", "at"[, "state"][, "sent"]}. A claim without
 * "sent" (ha_claim's) counts as confirmed. */
typedef struct claim_val {
    char by[64], state[128];
    int64_t at;
    int sent;
} claim_val;

static void claim_parse(const char *v, claim_val *cv)
{
    cJSON *root = cJSON_Parse(v ? v : "");
    const cJSON *x;
    memset(cv, 0, sizeof(*cv));
    cv->sent = 1;
    x = cJSON_GetObjectItemCaseSensitive(root, "by");
    if (cJSON_IsString(x)) hp_strlcpy(cv->by, x->valuestring, sizeof(cv->by));
    x = cJSON_GetObjectItemCaseSensitive(root, "state");
    if (cJSON_IsString(x)) hp_strlcpy(cv->state, x->valuestring, sizeof(cv->state));
    x = cJSON_GetObjectItemCaseSensitive(root, "at");
    if (cJSON_IsNumber(x)) cv->at = (int64_t)x->valuedouble;
    x = cJSON_GetObjectItemCaseSensitive(root, "sent");
    if (cJSON_IsBool(x)) cv->sent = cJSON_IsTrue(x);
    cJSON_Delete(root);
}

/* The value of a claim into out; sent < 0 leaves "sent" out. 0 or -1. */
static int claim_value(const char *by, const char *state, int64_t at, int sent, char *out,
                       size_t outsz)
{
    cJSON *v = cJSON_CreateObject();
    char *vs;
    int rc = -1;
    if (!v) return -1;
    if (state && state[0]) cJSON_AddStringToObject(v, "state", state);
    cJSON_AddNumberToObject(v, "at", (double)at);
    cJSON_AddStringToObject(v, "by", by);
    if (sent >= 0) cJSON_AddBoolToObject(v, "sent", sent);
    vs = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    if (vs && strlen(vs) < outsz) {
        hp_strlcpy(out, vs, outsz);
        rc = 0;
    }
    free(vs);
    return rc;
}

/* Whether instance id is alive: its instances/<id> key, on its lease, is
 * there. 1, 0, -1 etcd did not answer. */
static int owner_alive(ha *h, etcd_client *c, const char *id)
{
    char key[256];
    etcd_kv kv;
    int found = 0;
    snprintf(key, sizeof(key), "%sinstances/%s", h->prefix, id);
    if (etcd_get(c, key, &kv, &found) < 0) return -1;
    if (found) etcd_kv_release(&kv);
    return found;
}

/* Remembers a claim won (mod_revision rev, lease) for its confirmation. */
static void memo_put(ha *h, const char *full, int64_t rev, int64_t lease, const char *state,
                     int64_t at)
{
    struct claim_memo *m;
    pthread_mutex_lock(&h->pool_mu);
    m = &h->memo[h->nmemo++ % HA_MEMOS];
    hp_strlcpy(m->key, full, sizeof(m->key));
    m->rev = rev;
    m->lease = lease;
    if (claim_value(h->self_id, state, at, 1, m->value, sizeof(m->value)) < 0) m->key[0] = '\0';
    pthread_mutex_unlock(&h->pool_mu);
}

/* Takes the memo of full into out: 1, or 0 when there is none. */
static int memo_take(ha *h, const char *full, struct claim_memo *out)
{
    int i, found = 0;
    pthread_mutex_lock(&h->pool_mu);
    for (i = 0; i < HA_MEMOS && !found; i++)
        if (h->memo[i].key[0] && !strcmp(h->memo[i].key, full)) {
            *out = h->memo[i];
            h->memo[i].key[0] = '\0';
            found = 1;
        }
    pthread_mutex_unlock(&h->pool_mu);
    return found;
}

/* The claim kv (value cv) is another instance's and not confirmed: while
 * that instance lives it is left to it (HA_CLAIM_HELD: it sends, or retries,
 * and confirms); once it is dead (it may have died before its send) the
 * leader takes the claim over with a CAS on its mod_revision (1). */
static int take_over(ha *h, etcd_client *c, const char *full, const etcd_kv *kv,
                     const claim_val *cv, int64_t at_ms, char *by, size_t bysz)
{
    char value[512];
    etcd_cmp cmps[2];
    int ok = 0, alive = owner_alive(h, c, cv->by);
    int64_t rev = 0, at = at_ms >= 0 ? at_ms : cv->at;

    if (alive < 0) return -1;
    if (alive) {
        if (bysz) hp_strlcpy(by, cv->by, bysz);
        return HA_CLAIM_HELD;
    }
    if (!ha_is_leader(h)) return -1;
    if (claim_value(h->self_id, cv->state, at, 0, value, sizeof(value)) < 0) return -1;
    cmps[0] = (etcd_cmp){h->leader_key, ETCD_CMP_CREATE, cur_term(h)};
    cmps[1] = (etcd_cmp){full, ETCD_CMP_MOD, kv->mod_rev};
    if (etcd_txn_put(c, cmps, 2, full, value, kv->lease, &ok, &rev, NULL) < 0 || !ok) return -1;
    log_warn("ha: took over the claim %s of %s, which died before confirming it", full, cv->by);
    memo_put(h, full, rev, kv->lease, cv->state, at);
    return 1;
}

/* What a claim found in place means for this instance (see ha.h); at_ms:
 * a transition's time (-1: a create-if-absent claim). A transition of ours
 * is this row's only when it stored exactly its time (another row of ours
 * made the same change: that one is sent, not this one). */
static int decide(ha *h, etcd_client *c, const char *full, const etcd_kv *kv, int confirm,
                  int64_t at_ms, char *by, size_t bysz)
{
    claim_val cv;
    claim_parse(kv->value, &cv);
    if (!strcmp(cv.by, h->self_id)) {
        if (at_ms < 0 || cv.at == at_ms) {
            if (confirm && cv.sent) return HA_CLAIM_DONE;
            if (confirm) memo_put(h, full, kv->mod_rev, kv->lease, cv.state, cv.at);
            return 1;
        }
        if (bysz) hp_strlcpy(by, cv.by, bysz);
        return 0;
    }
    if (!confirm || cv.sent) {
        if (bysz) hp_strlcpy(by, cv.by, bysz);
        return 0;
    }
    return take_over(h, c, full, kv, &cv, at_ms, by, bysz);
}

static int claim_create(ha *h, const char *key, int ttl_s, int confirm, char *by, size_t bysz)
{
    char full[512], value[256];
    etcd_cmp cmps[2];
    etcd_client *c;
    etcd_kv cur;
    int64_t lease = 0, rev = 0, now;
    int ok = 0, rc = -1;

    if (bysz) by[0] = '\0';
    if (!h) return 1;
    if (!confirm && !ha_is_leader(h)) return -1;
    snprintf(full, sizeof(full), "%sclaims/%s", h->prefix, key);
    if (!(c = pool_take(h))) return -1;
    if (confirm) { /* ours already, or another's: no lead needed to know */
        int found = 0;
        if (etcd_get(c, full, &cur, &found) < 0) goto out;
        if (found) {
            rc = decide(h, c, full, &cur, confirm, -1, by, bysz);
            etcd_kv_release(&cur);
            goto out;
        }
        if (!ha_is_leader(h)) goto out;
    }
    now = hp_now_ms();
    if (claim_value(h->self_id, NULL, now, confirm ? 0 : -1, value, sizeof(value)) < 0) goto out;
    cmps[0] = (etcd_cmp){h->leader_key, ETCD_CMP_CREATE, cur_term(h)};
    cmps[1] = (etcd_cmp){full, ETCD_CMP_CREATE, 0};
    if (ttl_s > 0 && etcd_grant(c, ttl_s, &lease) < 0) goto out;
    if (etcd_txn_put(c, cmps, 2, full, value, lease, &ok, &rev, &cur) < 0) goto out;
    if (ok) {
        rc = 1;
        if (confirm) memo_put(h, full, rev, lease, NULL, now);
        goto out;
    }
    if (lease) etcd_revoke(c, lease);
    if (cur.key) /* someone's (or ours, from an earlier try) */
        rc = decide(h, c, full, &cur, confirm, -1, by, bysz);
    /* else the fence failed: no longer the leader */
    etcd_kv_release(&cur);
out:
    if (rc < 0 && etcd_client_error(c)[0]) log_warn("ha: claim %s: %s", key, etcd_client_error(c));
    pool_give(h, c);
    return rc;
}

int ha_claim(ha *h, const char *key, int ttl_s, char *by, size_t bysz)
{
    return claim_create(h, key, ttl_s, 0, by, bysz);
}

int ha_claim_msg(ha *h, const char *key, int ttl_s, char *by, size_t bysz)
{
    return claim_create(h, key, ttl_s, 1, by, bysz);
}

int ha_transition(ha *h, const char *key, const char *state, int64_t at_ms, char *by, size_t bysz)
{
    char full[512], value[512];
    etcd_client *c;
    int tries, rc = -1;

    if (bysz) by[0] = '\0';
    if (!h) return 1;
    snprintf(full, sizeof(full), "%sclaims/%s", h->prefix, key);
    if (claim_value(h->self_id, state, at_ms, 0, value, sizeof(value)) < 0) return -1;
    if (!(c = pool_take(h))) return -1;
    for (tries = 0; tries < 3; tries++) {
        etcd_cmp cmps[2];
        etcd_kv kv, cur;
        int found = 0, ok = 0;
        int64_t rev = 0, mod = 0;

        if (etcd_get(c, full, &kv, &found) < 0) break;
        if (found) {
            claim_val cv;
            claim_parse(kv.value, &cv);
            mod = kv.mod_rev;
            if (!strcmp(cv.state, state)) { /* the same transition */
                rc = decide(h, c, full, &kv, 1, at_ms, by, bysz);
                etcd_kv_release(&kv);
                break;
            }
            etcd_kv_release(&kv);
            if (cv.at >= at_ms) { /* a later change of the subject: ours is stale */
                rc = 0;
                if (bysz) hp_strlcpy(by, cv.by, bysz);
                break;
            }
        }
        if (!ha_is_leader(h)) break;
        cmps[0] = (etcd_cmp){h->leader_key, ETCD_CMP_CREATE, cur_term(h)};
        cmps[1] =
            found ? (etcd_cmp){full, ETCD_CMP_MOD, mod} : (etcd_cmp){full, ETCD_CMP_CREATE, 0};
        if (etcd_txn_put(c, cmps, 2, full, value, 0, &ok, &rev, &cur) < 0) break;
        if (ok) {
            rc = 1;
            memo_put(h, full, rev, 0, state, at_ms);
            break;
        }
        /* the key did not change: then the fence failed (not the leader) */
        if ((!found && !cur.key) || (found && cur.key && cur.mod_rev == mod)) {
            etcd_kv_release(&cur);
            break;
        }
        etcd_kv_release(&cur);
    }
    pool_give(h, c);
    return rc;
}

int ha_claim_sent(ha *h, const char *key)
{
    char full[512], value[512];
    struct claim_memo m;
    etcd_client *c;
    int tries, rc = -1;

    if (!h) return 0;
    snprintf(full, sizeof(full), "%sclaims/%s", h->prefix, key);
    if (!(c = pool_take(h))) return -1;
    if (memo_take(h, full, &m)) { /* one CAS on the revision the claim wrote */
        etcd_cmp cmp = {full, ETCD_CMP_MOD, m.rev};
        int ok = 0;
        int64_t rev = 0;
        if (etcd_txn_put(c, &cmp, 1, full, m.value, m.lease, &ok, &rev, NULL) == 0 && ok) rc = 0;
    }
    for (tries = 0; tries < 3 && rc < 0; tries++) {
        etcd_kv kv;
        claim_val cv;
        int found = 0, ok = 0;
        int64_t rev = 0;

        if (tries) {
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (etcd_get(c, full, &kv, &found) < 0) continue;
        if (!found) break;
        claim_parse(kv.value, &cv);
        if (strcmp(cv.by, h->self_id)) { /* taken over meanwhile: the page went twice */
            log_warn("ha: claim %s was taken over by %s before this instance confirmed its send",
                     key, cv.by);
            etcd_kv_release(&kv);
            break;
        }
        if (cv.sent) {
            etcd_kv_release(&kv);
            rc = 0;
            break;
        }
        if (claim_value(cv.by, cv.state, cv.at, 1, value, sizeof(value)) == 0) {
            etcd_cmp cmp = {full, ETCD_CMP_MOD, kv.mod_rev};
            if (etcd_txn_put(c, &cmp, 1, full, value, kv.lease, &ok, &rev, NULL) == 0 && ok) rc = 0;
        }
        etcd_kv_release(&kv);
    }
    if (rc < 0) log_warn("ha: cannot confirm the claim %s: %s", key, etcd_client_error(c));
    pool_give(h, c);
    return rc;
}

int ha_put_fenced(ha *h, const char *key, const char *value)
{
    char full[512];
    etcd_cmp fence;
    etcd_client *c;
    int ok = 0;
    int64_t rev;

    if (!h) return 0;
    if (!ha_is_leader(h)) return -1;
    snprintf(full, sizeof(full), "%s%s", h->prefix, key);
    fence = (etcd_cmp){h->leader_key, ETCD_CMP_CREATE, cur_term(h)};
    if (!(c = pool_take(h))) return -1;
    if (etcd_txn_put(c, &fence, 1, full, value, 0, &ok, &rev, NULL) < 0) ok = 0;
    pool_give(h, c);
    return ok ? 0 : -1;
}

int ha_delete(ha *h, const char *key)
{
    char full[512];
    etcd_client *c;
    int rc;
    if (!h) return 0;
    snprintf(full, sizeof(full), "%s%s", h->prefix, key);
    if (!(c = pool_take(h))) return -1;
    rc = etcd_delete(c, full, NULL);
    pool_give(h, c);
    return rc;
}

typedef struct list_ctx {
    size_t skip;
    void (*fn)(void *ctx, const char *key, const char *value);
    void *ctx;
} list_ctx;

static void list_one(void *ctx, const etcd_kv *kv)
{
    list_ctx *l = ctx;
    if (strlen(kv->key) >= l->skip) l->fn(l->ctx, kv->key + l->skip, kv->value);
}

typedef struct inst_list_ctx {
    void (*fn)(void *ctx, const ha_instance *in);
    void *ctx;
} inst_list_ctx;

/* ha_list's fn for instances/: the value put_instance wrote, parsed. */
static void inst_one(void *ctx, const char *key, const char *value)
{
    inst_list_ctx *x = ctx;
    ha_instance in;
    memset(&in, 0, sizeof(in));
    hp_strlcpy(in.id, strncmp(key, "instances/", 10) ? key : key + 10, sizeof(in.id));
    json_str(value, "url", in.url, sizeof(in.url));
    json_str(value, "version", in.version, sizeof(in.version));
    in.started_ms = json_i64(value, "started");
    x->fn(x->ctx, &in);
}

/* The instance list being read. */
typedef struct inst_read {
    ha_instance rows[HA_INST_MAX];
    int n, more;
} inst_read;

/* inst_one's fn: one instance into the list being read. */
static void inst_add(void *ctx, const ha_instance *in)
{
    inst_read *l = ctx;
    if (l->n < HA_INST_MAX)
        l->rows[l->n++] = *in;
    else
        l->more = 1;
}

/* inst_ticker's call: reads instances/ from etcd (its own pooled client,
 * bounded like every call) and stores the list; on failure the old list
 * stays, flagged. Not on the lease thread, whose keep-alives must not wait
 * on it. */
static void inst_tick(void *arg)
{
    ha *h = arg;
    inst_read *l = calloc(1, sizeof(*l));
    inst_list_ctx x = {inst_add, l};
    int rc = l ? ha_list(h, "instances/", inst_one, &x) : -1;
    pthread_mutex_lock(&h->mu);
    if (rc == 0) {
        memcpy(h->inst, l->rows, sizeof(h->inst[0]) * (size_t)l->n);
        h->ninst = l->n;
        h->inst_more = l->more;
        h->inst_have = 1;
        h->inst_at_ms = hp_now_ms();
    }
    h->inst_failed = rc < 0;
    pthread_mutex_unlock(&h->mu);
    free(l);
}

int ha_instances(ha *h, ha_instance *out, int *n, int *more, int64_t *at_ms, int *failed)
{
    int have;
    *n = *more = *failed = 0;
    *at_ms = 0;
    if (!h) return 0;
    pthread_mutex_lock(&h->mu);
    have = h->inst_have;
    memcpy(out, h->inst, sizeof(h->inst[0]) * (size_t)h->ninst);
    *n = h->ninst;
    *more = h->inst_more;
    *at_ms = h->inst_at_ms;
    *failed = h->inst_failed;
    pthread_mutex_unlock(&h->mu);
    return have;
}

int ha_list(ha *h, const char *prefix_key,
            void (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    char full[512];
    etcd_client *c;
    list_ctx l;
    int rc;
    if (!h) return 0;
    snprintf(full, sizeof(full), "%s%s", h->prefix, prefix_key);
    l.skip = strlen(h->prefix);
    l.fn = fn;
    l.ctx = ctx;
    if (!(c = pool_take(h))) return -1;
    rc = etcd_get_prefix(c, full, list_one, &l);
    pool_give(h, c);
    return rc;
}
