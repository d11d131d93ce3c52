/* leader.c — the lease thread and the claims (see ha.h).
 * STUB: HA is always off until the etcd client and the lease loop land;
 * every function behaves as for a single panel (h == NULL). */
#include "ha/ha.h"

#include <stdio.h>
#include <string.h>

#include "core/banned.h" /* last: after every system header */

struct ha {
    int unused;
};

ha *ha_new(const config *cfg, evq *q, char *err, size_t errsz)
{
    (void)cfg;
    (void)q;
    if (errsz) err[0] = '\0';
    return NULL;
}

int ha_start(ha *h)
{
    (void)h;
    return 0;
}

void ha_free(ha *h)
{
    (void)h;
}

int ha_is_leader(const ha *h)
{
    return !h;
}

int ha_wait_leader(ha *h, int ms)
{
    (void)ms;
    return !h;
}

void ha_on_change(ha *h, void (*fn)(void *ctx, int leader), void *ctx)
{
    (void)h;
    (void)fn;
    (void)ctx;
}

void ha_status_get(const ha *h, ha_status *out)
{
    (void)h;
    memset(out, 0, sizeof(*out));
}

int ha_claim(ha *h, const char *key, int ttl_s, char *by, size_t bysz)
{
    (void)key;
    (void)ttl_s;
    if (bysz) by[0] = '\0';
    return h ? -1 : 1;
}

int ha_transition(ha *h, const char *key, const char *state, int64_t at_ms, char *by, size_t bysz)
{
    (void)key;
    (void)state;
    (void)at_ms;
    if (bysz) by[0] = '\0';
    return h ? -1 : 1;
}

int ha_put_fenced(ha *h, const char *key, const char *value)
{
    (void)key;
    (void)value;
    return h ? -1 : 0;
}

int ha_delete(ha *h, const char *key)
{
    (void)key;
    return h ? -1 : 0;
}

int ha_list(ha *h, const char *prefix_key,
            void (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    (void)prefix_key;
    (void)fn;
    (void)ctx;
    return h ? -1 : 0;
}
