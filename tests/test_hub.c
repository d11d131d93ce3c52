/* test_hub.c — the live messages' hand-over (web/hub.h): the stream header
 * round trip with hostile names, the queue's order, its caps (the events
 * dropped counted), and the wake-up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "web/hub.h"
#include "core/banned.h" /* last: after every system header */

static int woken;
static void wake(void *arg)
{
    (void)arg;
    woken++;
}

static void header_round_trip(void)
{
    char v[512], cl[96], ty[48];
    int topic = -1, more = -1;
    int64_t after = -1;
    const char *hostile = "a b\r\nX-Evil: 1\"<>";

    hub_stream_header(v, sizeof(v), HUB_EVENTS, 1234567, hostile, "+sdown,odown", 1);
    CHECK(strchr(v, '\r') == NULL && strchr(v, '\n') == NULL);
    CHECK(hub_stream_parse(v, strlen(v), &topic, &after, cl, sizeof(cl), ty, sizeof(ty), &more) ==
          0);
    CHECK(topic == HUB_EVENTS && after == 1234567 && more == 1);
    CHECK_STR(cl, hostile);
    CHECK_STR(ty, "+sdown,odown");

    hub_stream_header(v, sizeof(v), HUB_UI, 0, NULL, "", 0);
    CHECK_STR(v, "1 0 - - 0");
    CHECK(hub_stream_parse(v, strlen(v), &topic, &after, cl, sizeof(cl), ty, sizeof(ty), &more) ==
          0);
    CHECK(topic == HUB_UI && after == 0 && cl[0] == '\0' && ty[0] == '\0' && more == 0);

    static const char *const bad[] = {"9 0 - - 0",
                                      "0 x - - 0",
                                      "0 1 zz - 0",
                                      "0 1",
                                      "0 1 - -",
                                      "0 1 - - 2",
                                      "0 1 - - 0 x",
                                      "0 9223372036854775808 - - 0",
                                      "0 99999999999999999999 - - 0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(hub_stream_parse(bad[i], strlen(bad[i]), &topic, &after, cl, sizeof(cl), ty,
                               sizeof(ty), &more) < 0);
    /* the largest id there is: 19 digits */
    CHECK(hub_stream_parse("0 9223372036854775807 - - 0", 27, &topic, &after, cl, sizeof(cl), ty,
                           sizeof(ty), &more) == 0 &&
          after == INT64_MAX);
    /* a name longer than the buffer is refused, not cut */
    hub_stream_header(v, sizeof(v), HUB_EVENTS, 1, "0123456789", NULL, 0);
    CHECK(hub_stream_parse(v, strlen(v), &topic, &after, cl, 5, ty, sizeof(ty), &more) < 0);
}

static void queue(void)
{
    hub *h = hub_new();
    hub_msg *m, *n;
    int i, count = 0, lost = -1;
    int64_t prev = 0;
    char text[32];

    CHECK(h != NULL);
    hub_attach(h, wake, NULL);
    for (i = 1; i <= 3; i++) {
        int l = snprintf(text, sizeof(text), "id: %d\n\n", i);
        hub_publish(h, HUB_EVENTS, i, "c", "+sdown", text, (size_t)l);
    }
    CHECK(woken == 3);
    m = hub_take(h, &lost);
    CHECK(lost == 0);
    for (i = 1; m; m = n, i++) {
        n = m->next;
        CHECK(m->id == i && m->topic == HUB_EVENTS && !strcmp(m->cluster, "c"));
        CHECK(m->len == strlen(m->text));
        free(m);
    }
    CHECK(i == 4);
    CHECK(hub_take(h, &lost) == NULL);

    /* detached: no wake-up; past the cap the oldest go */
    hub_attach(h, NULL, NULL);
    for (i = 1; i <= 10050; i++)
        hub_publish(h, HUB_EVENTS, i, "", "", "x", 1);
    CHECK(woken == 3);
    for (m = hub_take(h, &lost); m; m = n, count++) {
        n = m->next;
        CHECK(m->id > prev);
        prev = m->id;
        free(m);
    }
    CHECK(count == 10000 && prev == 10050 && lost == 50);
    CHECK(hub_take(h, &lost) == NULL && lost == 0);

    /* the byte cap: 70 pages of 1 MiB, 64 MiB kept; pages dropped are not events */
    {
        char *big = calloc(1, 1u << 20);
        CHECK(big != NULL);
        for (i = 0; big && i < 70; i++)
            hub_publish(h, HUB_UI, 0, "", "", big, 1u << 20);
        free(big);
        for (count = 0, m = hub_take(h, &lost); m; m = n, count++) {
            n = m->next;
            free(m);
        }
        CHECK(count == 64 && lost == 0);
    }

    hub_count(h, HUB_UI, 2);
    hub_count(h, HUB_UI, -1);
    CHECK(hub_streams(h, HUB_UI) == 1 && hub_streams(h, HUB_EVENTS) == 0);
    CHECK(hub_streams(NULL, HUB_UI) == 0 && hub_streams(h, 7) == 0);
    hub_publish(h, 7, 0, "", "", "x", 1); /* no such topic: ignored */
    CHECK(hub_take(h, &lost) == NULL);
    hub_free(h);
}

int main(void)
{
    header_round_trip();
    queue();
    return check_done();
}
