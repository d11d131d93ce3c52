/* session.c — sessions and failed-login counters (see session.h). */
#include "web/session.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "web/auth.h"
#include "core/banned.h" /* last: after every system header */

#define LIMITS_MAX 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static session_info table[SESSION_MAX];
static int used[SESSION_MAX];

typedef struct limit {
    char key[96];
    int64_t start;
    int fails;
} limit;
static limit limits[LIMITS_MAX];

static int random_hex(char out[SESSION_ID_LEN + 1])
{
    unsigned char b[SESSION_ID_LEN / 2];
    static const char digits[] = "0123456789abcdef";
    if (RAND_bytes(b, sizeof(b)) != 1) return -1;
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[SESSION_ID_LEN] = '\0';
    return 0;
}

static int64_t expiry(const session_info *s, int idle_s, int max_s)
{
    int64_t idle = s->last_ms + (int64_t)idle_s * 1000, abs = s->created_ms + (int64_t)max_s * 1000;
    return idle < abs ? idle : abs;
}

int session_create(const char *user, int role, int64_t now, int idle_s, int max_s,
                   session_info *out)
{
    int i, slot = -1;
    session_info s;

    memset(&s, 0, sizeof(s));
    if (random_hex(s.id) < 0 || random_hex(s.csrf) < 0) return -1;
    hp_strlcpy(s.user, user, sizeof(s.user));
    s.role = role;
    s.created_ms = s.last_ms = now;
    s.expires_ms = expiry(&s, idle_s, max_s);
    pthread_mutex_lock(&lock);
    for (i = 0; i < SESSION_MAX; i++) {
        if (used[i] && expiry(&table[i], idle_s, max_s) <= now) used[i] = 0;
        if (!used[i]) {
            if (slot < 0) slot = i;
        }
    }
    if (slot < 0) { /* full of live sessions: the least recently used goes */
        slot = 0;
        for (i = 1; i < SESSION_MAX; i++)
            if (table[i].last_ms < table[slot].last_ms) slot = i;
    }
    table[slot] = s;
    used[slot] = 1;
    pthread_mutex_unlock(&lock);
    *out = s;
    return 0;
}

/* The slot of id, or -1; called under the lock. Every slot is compared, in
 * constant time, so the time says nothing about the id. */
static int find(const char *id)
{
    int i, found = -1;
    size_t l = strlen(id);
    for (i = 0; i < SESSION_MAX; i++)
        if (used[i] && auth_equal(id, l, table[i].id, SESSION_ID_LEN) && found < 0) found = i;
    return found;
}

int session_get(const char *id, int64_t now, int idle_s, int max_s, session_info *out)
{
    int i, rc = -1;
    if (strlen(id) != SESSION_ID_LEN) return -1;
    pthread_mutex_lock(&lock);
    i = find(id);
    if (i >= 0) {
        if (expiry(&table[i], idle_s, max_s) <= now) {
            used[i] = 0;
        } else {
            table[i].last_ms = now;
            table[i].expires_ms = expiry(&table[i], idle_s, max_s);
            *out = table[i];
            rc = 0;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void session_drop(const char *id)
{
    int i;
    if (strlen(id) != SESSION_ID_LEN) return;
    pthread_mutex_lock(&lock);
    if ((i = find(id)) >= 0) {
        used[i] = 0;
        memset(&table[i], 0, sizeof(table[i]));
    }
    pthread_mutex_unlock(&lock);
}

int session_count(int64_t now, int idle_s, int max_s)
{
    int i, n = 0;
    pthread_mutex_lock(&lock);
    for (i = 0; i < SESSION_MAX; i++)
        if (used[i] && expiry(&table[i], idle_s, max_s) > now) n++;
    pthread_mutex_unlock(&lock);
    return n;
}

int cookie_value(const char *h, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    while (h && *h) {
        const char *end;
        size_t vl;
        while (*h == ' ' || *h == '\t' || *h == ';')
            h++;
        end = strchr(h, ';');
        if (!end) end = h + strlen(h);
        if ((size_t)(end - h) > nl && !strncmp(h, name, nl) && h[nl] == '=') {
            vl = (size_t)(end - h) - nl - 1;
            while (vl && (h[nl + 1 + vl - 1] == ' ' || h[nl + 1 + vl - 1] == '\t'))
                vl--;
            if (vl >= outsz) return 0;
            memcpy(out, h + nl + 1, vl);
            out[vl] = '\0';
            return 1;
        }
        h = end;
    }
    return 0;
}

/* The counter of key, or a free (or the oldest) one; under the lock. */
static limit *limit_of(const char *key, int64_t now, int create)
{
    limit *oldest = &limits[0];
    for (int i = 0; i < LIMITS_MAX; i++) {
        limit *l = &limits[i];
        if (l->key[0] && now - l->start >= LOGIN_WINDOW_MS) l->key[0] = '\0';
        if (l->key[0] && !strcmp(l->key, key)) return l;
        if (l->start < oldest->start || !l->key[0]) oldest = l;
    }
    if (!create) return NULL;
    memset(oldest, 0, sizeof(*oldest));
    hp_strlcpy(oldest->key, key, sizeof(oldest->key));
    oldest->start = now;
    return oldest;
}

int login_blocked(const char *key, int max_failures, int64_t now)
{
    int wait = 0;
    limit *l;
    pthread_mutex_lock(&lock);
    l = limit_of(key, now, 0);
    if (l && l->fails >= max_failures)
        wait = (int)((l->start + LOGIN_WINDOW_MS - now + 999) / 1000);
    pthread_mutex_unlock(&lock);
    return wait > 0 ? wait : 0;
}

void login_failed(const char *key, int64_t now)
{
    limit *l;
    pthread_mutex_lock(&lock);
    if ((l = limit_of(key, now, 1))) l->fails++;
    pthread_mutex_unlock(&lock);
}

void login_succeeded(const char *key)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < LIMITS_MAX; i++)
        if (limits[i].key[0] && !strcmp(limits[i].key, key)) limits[i].key[0] = '\0';
    pthread_mutex_unlock(&lock);
}
