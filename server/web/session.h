/* session.h — dashboard logins: sessions kept in memory (a restart logs
 * everyone out), each with a random id (the cookie hp_session), a random
 * CSRF token (sent back in X-CSRF-Token on every state-changing request),
 * an idle and an absolute expiry; and the counter of failed logins per
 * source address and per configured user that turns the next attempts away
 * for a minute (1,024 counters, the oldest replaced). Thread-safe (one lock); ids and tokens are 32
 * random bytes in hex, compared in constant time. */
#ifndef HP_SESSION_H
#define HP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SESSION_ID_LEN 64
#define SESSION_MAX 1024 /* past it, the least recently used goes */
#define LOGIN_WINDOW_MS 60000

typedef struct session_info {
    char id[SESSION_ID_LEN + 1];
    char csrf[SESSION_ID_LEN + 1];
    char user[64];
    int role;
    int64_t created_ms, last_ms, expires_ms; /* expires: the sooner of the two */
} session_info;

/* A new session for user; fills *out. 0, or -1 (no randomness). */
int session_create(const char *user, int role, int64_t now, int idle_s, int max_s,
                   session_info *out);
/* The live session of id (touched: its idle time restarts), or -1 when
 * there is none or it expired (it is then removed). */
int session_get(const char *id, int64_t now, int idle_s, int max_s, session_info *out);
void session_drop(const char *id);
/* Sessions alive now (for the tests and the metrics). */
int session_count(int64_t now, int idle_s, int max_s);

/* The cookie name=value in a Cookie header, into out; 1 found, 0 not. */
int cookie_value(const char *header, const char *name, char *out, size_t outsz);

/* Failed logins: 0 when key may try now, else the seconds to wait. */
int login_blocked(const char *key, int max_failures, int64_t now);
void login_failed(const char *key, int64_t now);
void login_succeeded(const char *key);

#endif
