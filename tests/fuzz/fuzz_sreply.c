/* fuzz_sreply.c — libFuzzer target: what a Sentinel (or anything on its
 * port) answers, as RESP bytes read by hiredis' own reader, through the
 * SENTINEL MASTERS / REPLICAS / SENTINELS entry parsers (with the array
 * limit of redis/reader.h, as hapanel's connections have it); and a published
 * event (channel, then payload after the first newline) through
 * sreply_event. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis/reader.h"
#include "redis/sreply.h"
#include "core/banned.h" /* last: after every system header */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void event(const uint8_t *data, size_t size)
{
    char type[256], payload[1024];
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tl = nl ? (size_t)(nl - data) : size, pl = nl ? size - tl - 1 : 0;
    sentinel_event se;

    if (tl >= sizeof(type)) tl = sizeof(type) - 1;
    if (pl >= sizeof(payload)) pl = sizeof(payload) - 1;
    memcpy(type, data, tl);
    type[tl] = '\0';
    if (pl) memcpy(payload, nl + 1, pl);
    payload[pl] = '\0';
    sreply_event(type, payload, &se);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    int n = 0;

    event(data, size);
    if (!rd) return 0;
    resp_limit_reader(rd); /* as every connection of hapanel's */
    redisReaderFeed(rd, (const char *)data, size);
    while (n++ < 16 && redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
        redisReply *r = reply;
        sentinel_entry e[8];
        sreply_entries(r, e, 8);
        sreply_entry(r, &e[0]);
        if (r->type == REDIS_REPLY_STRING) sreply_has_flag(r->str, "s_down");
        freeReplyObject(reply);
        reply = NULL;
    }
    redisReaderFree(rd);
    return 0;
}
