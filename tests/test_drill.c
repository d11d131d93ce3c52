/* test_drill.c — the failover drill's pure parts (actions/drill.c): the ack
 * list is bounded (past MAX_ACKS the probe stops, and an ack that cannot be
 * kept is counted, never silently lost), the Sentinel events are read for
 * our master only and only once the drill is armed, and the timeline carries
 * each marker's kind apart from its words. The recipe itself runs against
 * real servers in tests/it_drill.py. */
#define _POSIX_C_SOURCE 200809L
#define MAX_ACKS 8 /* small, to reach the bound */
#include "../server/actions/drill.c"

#include "check.h"

static drill *new_drill(const char *mode)
{
    drill *d = calloc(1, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    hp_strlcpy(d->name, "mymaster", sizeof(d->name));
    hp_strlcpy(d->mode, mode, sizeof(d->mode));
    return d;
}

static void free_drill(drill *d)
{
    free(d->acks);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void test_acks_bounded(void)
{
    drill *d = new_drill("graceful");
    char a[HP_ADDR_MAX];
    int i;

    for (i = 1; i < MAX_ACKS; i++)
        CHECK(record_ack(d, i, 100 + i, "10.0.0.1:6379") == 0);
    CHECK(record_ack(d, MAX_ACKS, 200, "10.0.0.1:6379") == -1); /* the last kept: stop */
    CHECK(d->probe_full == 1 && d->nacks == MAX_ACKS && d->cap == MAX_ACKS);
    CHECK(record_ack(d, MAX_ACKS + 1, 201, "10.0.0.1:6379") == -1);
    CHECK(d->nacks == MAX_ACKS && d->acks_dropped == 1);
    CHECK(d->acks[MAX_ACKS - 1].n == MAX_ACKS && d->acks[MAX_ACKS - 1].t == 200);
    free_drill(d);

    /* more distinct addresses than MAX_ADDRS: counted, not kept */
    d = new_drill("graceful");
    for (i = 0; i < MAX_ADDRS + 1 && i < MAX_ACKS - 1; i++) {
        snprintf(a, sizeof(a), "10.0.0.%d:6379", i);
        (void)record_ack(d, i + 1, i, a);
    }
    CHECK(d->naddrs == (MAX_ACKS - 1 < MAX_ADDRS ? MAX_ACKS - 1 : MAX_ADDRS));
    CHECK(d->acks_dropped == 0);
    free_drill(d);
}

static void test_events(void)
{
    drill *d = new_drill("graceful");

    /* not armed yet: nothing counts */
    on_sentinel_event(d, "+try-failover", "master mymaster 10.0.0.1 6379", 50);
    CHECK(d->t_detect == 0);
    d->armed = 1;
    /* another master, a Sentinel's own sdown, a replica's: not ours or not
     * a detection for a graceful drill */
    on_sentinel_event(d, "+try-failover", "master mymaster2 10.0.0.9 6379", 60);
    on_sentinel_event(d, "+sdown", "master mymaster 10.0.0.1 6379", 61);
    CHECK(d->t_detect == 0);
    on_sentinel_event(d, "+failover-state-select-slave", "master mymaster 10.0.0.1 6379", 70);
    CHECK(d->t_detect == 70 && !strcmp(d->detect_what, "+failover-state-select-slave"));
    on_sentinel_event(d, "+try-failover", "master mymaster 10.0.0.1 6379", 80);
    CHECK(d->t_detect == 70); /* the first */
    on_sentinel_event(d, "+promoted-slave",
                      "slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster2 10.0.0.1 6379", 85);
    CHECK(d->t_promote == 0);
    on_sentinel_event(d, "+promoted-slave",
                      "slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster 10.0.0.1 6379", 90);
    CHECK(d->t_promote == 90 && !strcmp(d->promoted, "10.0.0.2:6380"));
    on_sentinel_event(d, "+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6380", 95);
    CHECK(d->t_switch == 95 && !strcmp(d->switched, "10.0.0.2:6380"));
    /* garbage is ignored, never read past */
    on_sentinel_event(d, "+switch-master", "mymaster", 99);
    on_sentinel_event(d, "+promoted-slave", "", 99);
    CHECK(d->t_switch == 95 && d->t_promote == 90);
    free_drill(d);

    d = new_drill("kill-master");
    d->armed = 1;
    on_sentinel_event(d, "+sdown", "sentinel 1a 10.0.0.7 26379 @ mymaster 10.0.0.1 6379", 10);
    on_sentinel_event(d, "+sdown", "slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster 10.0.0.1 6379",
                      11);
    CHECK(d->t_detect == 0);
    on_sentinel_event(d, "+sdown", "master mymaster 10.0.0.1 6379", 20);
    CHECK(d->t_detect == 20 && !strcmp(d->detect_what, "+sdown"));
    free_drill(d);
}

static void test_timeline(void)
{
    drill *d = new_drill("graceful");
    cJSON *tl, *m;

    d->t0 = 1000;
    add_mark(d, 1500, "first-ack-new|first write acknowledged by %s", "10.0.0.2:6380");
    add_mark(d, 1000, "probe-started|probe started");
    add_mark(d, 1200, "last-ack-old|last write acknowledged by %s", "10.0.0.1:6379");
    tl = timeline(d);
    CHECK(cJSON_GetArraySize(tl) == 3);
    m = cJSON_GetArrayItem(tl, 0);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "kind")), "probe-started"));
    CHECK(cJSON_GetObjectItem(m, "t_ms")->valuedouble == 0);
    m = cJSON_GetArrayItem(tl, 1);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "kind")), "last-ack-old"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "what")),
                  "last write acknowledged by 10.0.0.1:6379"));
    m = cJSON_GetArrayItem(tl, 2);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "kind")), "first-ack-new"));
    CHECK(cJSON_GetObjectItem(m, "t_ms")->valuedouble == 500);
    cJSON_Delete(tl);
    free_drill(d);
}

int main(void)
{
    test_acks_bounded();
    test_events();
    test_timeline();
    return check_done();
}
