/* hook.c — the pre-failover hook (see hook.h): one signed POST with libcurl
 * on the job's runner thread, bounded by [hook] timeout_ms, connect
 * included. The failover recipe calls it once, after the plan passed and
 * before its first change (steering, the write fence), so a veto leaves
 * Redis and Sentinel as they were. Not a notification: it is not queued
 * nor retried; what matters is the answer now. */
#define _POSIX_C_SOURCE 200809L
#include "actions/hook.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/jobs.h"
#include "notify/notify.h"
#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

#define REASON_MAX 200 /* bytes of the answer kept as the hook's reason */

/* The start of the answer's body, kept as the reason of a veto. */
typedef struct answer {
    char text[REASON_MAX + 1];
    size_t len;
} answer;

static size_t keep_start(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    size_t got = size * n, room = REASON_MAX - a->len;
    if (room > got) room = got;
    memcpy(a->text + a->len, p, room);
    a->len += room;
    a->text[a->len] = '\0';
    return got; /* the rest is read and dropped: the total timeout bounds it */
}

/* The answer as one line of text: valid UTF-8, control characters as spaces,
 * surrounding blanks trimmed. */
static void tidy(char *s)
{
    char *p, *e;
    utf8_fix_str(s);
    for (p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    for (p = s; *p == ' '; p++)
        ;
    memmove(s, p, strlen(p) + 1);
    for (e = s + strlen(s); e > s && e[-1] == ' '; e--)
        e[-1] = '\0';
}

/* scheme://host:port of url, without user information, path or query (they
 * may hold a credential), for the steps. */
static void url_origin(const char *url, char *out, size_t outsz)
{
    const char *h = strstr(url, "://"), *at;
    size_t l;
    if (!h) {
        hp_strlcpy(out, "(hook)", outsz);
        return;
    }
    h += 3;
    l = strcspn(h, "/?#");
    at = memchr(h, '@', l);
    if (at) {
        l -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    snprintf(out, outsz, "%.*s%.*s", (int)(strstr(url, "://") + 3 - url), url, (int)l, h);
}

cJSON *hook_payload(const job *jb, const plan *p, const cluster_snap *c)
{
    cJSON *o = plan_json(p, c, hp_now_ms());
    cJSON_AddStringToObject(o, "event", "pre_failover");
    cJSON_AddStringToObject(o, "group", c->group_name); /* the cluster's Sentinel group */
    cJSON_AddNumberToObject(o, "job_id", (double)job_id(jb));
    cJSON_AddStringToObject(o, "actor", job_actor(jb));
    cJSON_AddStringToObject(o, "reason", job_reason(jb));
    cJSON_AddNumberToObject(o, "at", (double)hp_now_ms());
    cJSON_AddStringToObject(o, "expected", p->rq.target[0] ? p->rq.target : p->choice);
    return o;
}

int hook_post(const char *url, const char *secret, int timeout_ms, const char *body, long *status,
              char *why, size_t whysz)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char line[128], cerr[CURL_ERROR_SIZE] = "";
    answer a = {"", 0};
    CURLcode rc;
    int ok = -1;

    *status = 0;
    if (!c) {
        snprintf(why, whysz, "curl unavailable");
        return -1;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "X-Hapanel-Event: pre_failover");
    if (secret[0]) {
        notify_signature(secret, body, line, sizeof(line));
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_start);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hapanel/" HP_VERSION);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, whysz, "no answer within %d ms", timeout_ms);
        goto out;
    }
    if (rc != CURLE_OK) {
        /* curl's message names host and port, never the path */
        snprintf(why, whysz, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (*status < 200 || *status > 299) {
        tidy(a.text);
        snprintf(why, whysz, "HTTP %ld%s%s", *status, a.text[0] ? ": " : "", a.text);
        goto out;
    }
    ok = 0;
out:
    memset(line, 0, sizeof(line));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return ok;
}

int hook_pre_failover(job *jb, const plan *p, const cluster_snap *c)
{
    const config *cfg = job_config(jb);
    cJSON *body, *res;
    char *text, origin[256], why[512] = "";
    long status = 0;
    int64_t t0;
    int rc;

    if (!cfg->pre_failover_url[0]) return 0;
    url_origin(cfg->pre_failover_url, origin, sizeof(origin));
    body = hook_payload(jb, p, c);
    hp_json_fix_utf8(body); /* the signature is over the bytes sent */
    text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) {
        job_fail(jb, "pre-failover hook: out of memory; nothing was changed");
        return -1;
    }
    job_step(jb, "asking the pre-failover hook at %s (answer within %d ms)", origin,
             cfg->pre_failover_timeout_ms);
    t0 = hp_mono_ms();
    rc = hook_post(cfg->pre_failover_url, cfg->pre_failover_secret, cfg->pre_failover_timeout_ms,
                   text, &status, why, sizeof(why));
    cJSON_free(text);
    res = cJSON_AddObjectToObject(job_result(jb), "pre_failover_hook");
    cJSON_AddStringToObject(res, "answer", rc == 0 ? "allowed" : "vetoed");
    if (status) cJSON_AddNumberToObject(res, "status", (double)status);
    cJSON_AddNumberToObject(res, "ms", (double)(hp_mono_ms() - t0));
    if (rc == 0) {
        job_step(jb, "the pre-failover hook allowed the switchover (HTTP %ld)", status);
        return 0;
    }
    cJSON_AddStringToObject(res, "reason", why);
    job_step(jb, "the pre-failover hook vetoed the switchover: %s", why);
    job_fail(jb, "vetoed by the pre-failover hook at %s: %s; nothing was changed", origin, why);
    return -1;
}
