/* hub.c — the live messages' hand-over to the edge (see hub.h). */
#include "web/hub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/banned.h" /* last: after every system header */

#define HUB_PENDING_MAX 10000
#define HUB_PENDING_BYTES (64u << 20)

struct hub {
    pthread_mutex_t lock;
    hub_msg *head, *tail;
    int npending;
    size_t pending_bytes;
    int lost; /* events dropped since the last take */
    void (*wake)(void *);
    void *arg;
    int streams[HUB_TOPICS];
};

hub *hub_new(void)
{
    hub *h = calloc(1, sizeof(*h));
    if (h) pthread_mutex_init(&h->lock, NULL);
    return h;
}

static void free_list(hub_msg *m)
{
    while (m) {
        hub_msg *n = m->next;
        free(m);
        m = n;
    }
}

void hub_free(hub *h)
{
    if (!h) return;
    free_list(h->head);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void hub_publish(hub *h, int topic, int64_t id, const char *cluster, const char *type,
                 const char *text, size_t len)
{
    hub_msg *m;
    if (!h || topic < 0 || topic >= HUB_TOPICS) return;
    m = malloc(sizeof(*m) + len + 1);
    if (!m) return;
    m->next = NULL;
    m->topic = topic;
    m->id = id;
    hp_strlcpy(m->cluster, cluster ? cluster : "", sizeof(m->cluster));
    hp_strlcpy(m->type, type ? type : "", sizeof(m->type));
    m->len = len;
    memcpy(m->text, text, len);
    m->text[len] = '\0';
    pthread_mutex_lock(&h->lock);
    if (h->tail)
        h->tail->next = m;
    else
        h->head = m;
    h->tail = m;
    h->npending++;
    h->pending_bytes += len;
    while (h->head != m &&
           (h->npending > HUB_PENDING_MAX || h->pending_bytes > HUB_PENDING_BYTES)) {
        hub_msg *old = h->head;
        h->head = old->next;
        h->npending--;
        h->pending_bytes -= old->len;
        if (old->topic == HUB_EVENTS) h->lost++;
        free(old);
    }
    if (h->wake) h->wake(h->arg); /* under the lock: detaching waits for it */
    pthread_mutex_unlock(&h->lock);
}

void hub_attach(hub *h, void (*wake)(void *), void *arg)
{
    pthread_mutex_lock(&h->lock);
    h->wake = wake;
    h->arg = arg;
    pthread_mutex_unlock(&h->lock);
}

hub_msg *hub_take(hub *h, int *lost)
{
    hub_msg *m;
    pthread_mutex_lock(&h->lock);
    m = h->head;
    h->head = h->tail = NULL;
    h->npending = 0;
    h->pending_bytes = 0;
    *lost = h->lost;
    h->lost = 0;
    pthread_mutex_unlock(&h->lock);
    return m;
}

void hub_count(hub *h, int topic, int delta)
{
    if (h) __atomic_add_fetch(&h->streams[topic], delta, __ATOMIC_RELAXED);
}

int hub_streams(hub *h, int topic)
{
    return h && topic >= 0 && topic < HUB_TOPICS
               ? __atomic_load_n(&h->streams[topic], __ATOMIC_RELAXED)
               : 0;
}

static void put_hex(char **p, char *end, const char *s)
{
    if (!s || !*s) {
        if (*p < end) *(*p)++ = '-';
        return;
    }
    for (; *s && *p + 2 < end; s++) {
        snprintf(*p, 3, "%02x", (unsigned char)*s);
        *p += 2;
    }
}

void hub_stream_header(char *out, size_t outsz, int topic, int64_t after, const char *cluster,
                       const char *type, int more)
{
    int n = snprintf(out, outsz, "%d %lld ", topic, (long long)after);
    char *p, *end = out + outsz - 1;
    if (n < 0 || (size_t)n >= outsz) {
        out[0] = '\0';
        return;
    }
    p = out + n;
    put_hex(&p, end, cluster);
    if (p < end) *p++ = ' ';
    put_hex(&p, end, type);
    if (p + 2 < end) {
        *p++ = ' ';
        *p++ = more ? '1' : '0';
    }
    *p = '\0';
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One space-separated hex word (or "-") of [*p, end) into out. */
static int get_hex(const char **p, const char *end, char *out, size_t osz)
{
    size_t o = 0;
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p < end && **p == '-') {
        (*p)++;
        out[0] = '\0';
        return 0;
    }
    while (*p + 1 < end && hexval((*p)[0]) >= 0 && hexval((*p)[1]) >= 0) {
        if (o + 1 >= osz) return -1;
        out[o++] = (char)(hexval((*p)[0]) * 16 + hexval((*p)[1]));
        *p += 2;
    }
    out[o] = '\0';
    return o ? 0 : -1;
}

int hub_stream_parse(const char *v, size_t len, int *topic, int64_t *after, char *cluster,
                     size_t csz, char *type, size_t tsz, int *more)
{
    const char *p = v, *end = v + len;
    long long t = 0;
    unsigned long long a = 0; /* 19 digits fit; more than INT64_MAX is refused */
    int digits = 0;
    while (p < end && *p == ' ')
        p++;
    for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
        t = t * 10 + (*p - '0');
    if (!digits || t >= HUB_TOPICS || p >= end || *p != ' ') return -1;
    for (p++, digits = 0; p < end && *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
        a = a * 10 + (unsigned)(*p - '0');
    if (!digits || a > (unsigned long long)INT64_MAX) return -1;
    if (get_hex(&p, end, cluster, csz) < 0 || get_hex(&p, end, type, tsz) < 0) return -1;
    while (p < end && *p == ' ')
        p++;
    if (p + 1 != end || (*p != '0' && *p != '1')) return -1;
    *more = *p == '1';
    *topic = (int)t;
    *after = (int64_t)a;
    return 0;
}
