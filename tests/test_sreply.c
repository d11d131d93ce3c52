/* test_sreply.c — SENTINEL replies (made by hiredis' own reader from RESP
 * text, as a Sentinel sends them) and event payloads. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "redis/reader.h"
#include "redis/sreply.h"

static redisReply *parse_resp(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    redisReaderFeed(rd, resp, strlen(resp));
    if (redisReaderGetReply(rd, &reply) != REDIS_OK) reply = NULL;
    redisReaderFree(rd);
    return reply;
}

static const char masters_resp[] =
    "*2\r\n"
    "*10\r\n$4\r\nname\r\n$8\r\nmymaster\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$"
    "4\r\n6379\r\n"
    "$5\r\nflags\r\n$6\r\nmaster\r\n$6\r\nquorum\r\n$1\r\n2\r\n"
    "*12\r\n$4\r\nname\r\n$5\r\nother\r\n$2\r\nip\r\n$8\r\n10.0.0.1\r\n$4\r\nport\r\n$4\r\n7000\r\n"
    "$5\r\nflags\r\n$20\r\nmaster,s_down,o_down\r\n$10\r\nnum-slaves\r\n$1\r\n1\r\n"
    "$19\r\nnum-other-sentinels\r\n$1\r\n2\r\n";

static const char replicas_resp[] =
    "*1\r\n*12\r\n$4\r\nname\r\n$14\r\n127.0.0.1:6380\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
    "$4\r\nport\r\n$4\r\n6380\r\n$5\r\nflags\r\n$12\r\nslave,s_down\r\n"
    "$14\r\nslave-priority\r\n$3\r\n100\r\n$17\r\nslave-repl-offset\r\n$5\r\n12345\r\n";

/* What a reader limited as hapanel's connections are (redis/reader.h) makes
 * of resp: 1 a reply, 0 not complete yet, -1 an error (the connection is
 * dropped). */
static int limited_parses(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    int rc;
    resp_limit_reader(rd);
    redisReaderFeed(rd, resp, strlen(resp));
    rc = redisReaderGetReply(rd, &reply) != REDIS_OK ? -1 : reply != NULL;
    freeReplyObject(reply);
    redisReaderFree(rd);
    return rc;
}

int main(void)
{
    sentinel_entry e[4];
    sentinel_event ev;
    redisReply *r;
    int n;

    r = parse_resp(masters_resp);
    CHECK(r != NULL);
    n = sreply_entries(r, e, 4);
    CHECK(n == 2);
    CHECK_STR(e[0].name, "mymaster");
    CHECK_STR(e[0].ip, "127.0.0.1");
    CHECK(e[0].port == 6379);
    CHECK(e[0].quorum == 2);
    CHECK(e[0].num_slaves == -1);
    CHECK_STR(e[1].name, "other");
    CHECK(e[1].num_slaves == 1);
    CHECK(e[1].num_other_sentinels == 2);
    CHECK(sreply_has_flag(e[1].flags, "o_down"));
    CHECK(!sreply_has_flag(e[1].flags, "down"));
    CHECK(sreply_entries(r, e, 1) == 1); /* never more than asked */
    freeReplyObject(r);

    r = parse_resp(replicas_resp);
    n = sreply_entries(r, e, 4);
    CHECK(n == 1);
    CHECK(e[0].port == 6380);
    CHECK(e[0].priority == 100);
    CHECK(e[0].repl_offset == 12345);
    CHECK(sreply_has_flag(e[0].flags, "s_down"));
    freeReplyObject(r);

    r = parse_resp("-ERR No such master with that name\r\n");
    CHECK(sreply_entries(r, e, 4) == -1);
    freeReplyObject(r);
    r = parse_resp("*1\r\n*3\r\n$2\r\nip\r\n$1\r\nx\r\n$4\r\nport\r\n"); /* odd field count */
    CHECK(sreply_entries(r, e, 4) == 0);
    freeReplyObject(r);

    CHECK(sreply_event("+switch-master", "mymaster 127.0.0.1 6379 127.0.0.1 6380", &ev) == 0);
    CHECK_STR(ev.cluster, "mymaster");
    CHECK_STR(ev.old_master, "127.0.0.1:6379");
    CHECK_STR(ev.new_master, "127.0.0.1:6380");
    CHECK(sreply_event("+sdown", "slave 127.0.0.1:6381 127.0.0.1 6381 @ mymaster 127.0.0.1 6379",
                       &ev) == 0);
    CHECK_STR(ev.cluster, "mymaster");
    CHECK_STR(ev.node, "127.0.0.1:6381");
    CHECK(sreply_event("+odown", "master mymaster 127.0.0.1 6379 #quorum 2/2", &ev) == 0);
    CHECK_STR(ev.cluster, "mymaster");
    CHECK_STR(ev.node, "127.0.0.1:6379");
    CHECK(sreply_event("+new-epoch", "7", &ev) == -1);
    CHECK(ev.cluster[0] == '\0');
    CHECK(sreply_event("+switch-master", "short", &ev) == -1);

    /* A hostile array header is refused before hiredis allocates its vector
     * (found by tests/fuzz/fuzz_sreply: "*1745915854" asked for 14 GB). */
    CHECK(limited_parses("*1745915854\r\n$5\r\nflags\r\n") == -1);
    CHECK(limited_parses("*65537\r\n") == -1);
    CHECK(limited_parses("*2\r\n*70000\r\n") == -1); /* nested too */
    CHECK(limited_parses("*65536\r\n") == 0);        /* at the limit: waits for elements */
    CHECK(limited_parses(masters_resp) == 1);
    CHECK(limited_parses("*3\r\n:1\r\n:2\r\n:3\r\n") == 1);
    CHECK(limited_parses("*0\r\n") == 1);
    return check_done();
}
