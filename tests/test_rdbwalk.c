/* test_rdbwalk.c — the RDB walker on hand-made snapshots: every value
 * encoding of Redis 7.0-7.2 skipped, keys and expiries counted per database,
 * integer and LZF key names decoded, the sample spaced and deterministic,
 * module data reported as partial, and every truncation and many garbled
 * bytes ending in an error or a result, never a crash (run under ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "redis/rdbwalk.h"

typedef struct buf {
    unsigned char b[65536];
    size_t n;
} buf;

static void put(buf *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void u8(buf *f, unsigned v)
{
    f->b[f->n++] = (unsigned char)v;
}

static void len(buf *f, unsigned v)
{
    if (v < 64)
        u8(f, v);
    else if (v < 16384) {
        u8(f, 0x40 | (v >> 8));
        u8(f, v & 0xff);
    } else {
        u8(f, 0x80);
        u8(f, v >> 24);
        u8(f, (v >> 16) & 0xff);
        u8(f, (v >> 8) & 0xff);
        u8(f, v & 0xff);
    }
}

static void str(buf *f, const char *s)
{
    len(f, (unsigned)strlen(s));
    put(f, s, strlen(s));
}

static void zeros(buf *f, size_t n)
{
    memset(f->b + f->n, 0, n);
    f->n += n;
}

/* A stream of type t with one listpack node, one group with one pending
 * entry and one consumer owning it. */
static void stream(buf *f, int t)
{
    int i;
    len(f, 1);
    len(f, 16);
    zeros(f, 16);                           /* the node's master id */
    str(f, "listpack-bytes");               /* the listpack */
    for (i = 0; i < (t >= 19 ? 8 : 3); i++) /* length, last id, (first, max deleted, added) */
        len(f, 1);
    len(f, 1);              /* groups */
    str(f, "grp");          /* its name */
    len(f, 1);              /* last id ms */
    len(f, 0);              /* last id seq */
    if (t >= 19) len(f, 1); /* entries read */
    len(f, 1);              /* PEL */
    zeros(f, 16 + 8);       /* raw id, delivery time */
    len(f, 1);              /* delivery count */
    len(f, 1);              /* consumers */
    str(f, "alice");
    zeros(f, 8); /* seen time */
    if (t >= 21) zeros(f, 8);
    len(f, 1); /* its PEL */
    zeros(f, 16);
}

/* Every kind of value once, in two databases. */
static void sample_file(buf *f)
{
    f->n = 0;
    put(f, "REDIS0011", 9);
    u8(f, 250); /* AUX */
    str(f, "redis-ver");
    str(f, "7.2.4");
    u8(f, 245); /* FUNCTION2 */
    str(f, "#!lua name=lib\nredis.register_function('f', function() return 1 end)");
    u8(f, 254); /* SELECTDB 0 */
    len(f, 0);
    u8(f, 251); /* RESIZEDB */
    len(f, 20);
    len(f, 2);
    u8(f, 0); /* string "first" = "v" */
    str(f, "first");
    str(f, "v");
    u8(f, 252); /* EXPIRETIME_MS, then a string with an int value */
    zeros(f, 8);
    u8(f, 0);
    str(f, "ttl");
    u8(f, 0xC1); /* INT16 */
    u8(f, 0x39);
    u8(f, 0x30);
    u8(f, 0); /* key 42 as INT8 */
    u8(f, 0xC0);
    u8(f, 42);
    str(f, "x");
    u8(f, 0); /* key "abcabcabc" as LZF: literal "abc", then 6 back from 3 */
    u8(f, 0xC3);
    len(f, 6);
    len(f, 9);
    put(f,
        "\x02"
        "abc\x80\x02",
        6);
    str(f, "v");
    u8(f, 1); /* LIST, plain */
    str(f, "l");
    len(f, 2);
    str(f, "a");
    str(f, "b");
    u8(f, 2); /* SET, plain */
    str(f, "s");
    len(f, 1);
    str(f, "m");
    u8(f, 3); /* ZSET, old doubles: "1.5", +inf */
    str(f, "z1");
    len(f, 2);
    str(f, "a");
    str(f, "1.5");
    str(f, "b");
    u8(f, 254);
    u8(f, 4); /* HASH, plain */
    str(f, "h");
    len(f, 1);
    str(f, "f");
    str(f, "v");
    u8(f, 5); /* ZSET_2 */
    str(f, "z2");
    len(f, 1);
    str(f, "a");
    zeros(f, 8);
    u8(f, 248); /* IDLE, then a listpack hash */
    len(f, 1000);
    u8(f, 16);
    str(f, "hl");
    str(f, "lp");
    u8(f, 249); /* FREQ, then a ziplist zset */
    u8(f, 5);
    u8(f, 12);
    str(f, "zz");
    str(f, "zl");
    u8(f, 14); /* LIST_QUICKLIST: 2 ziplists */
    str(f, "q1");
    len(f, 2);
    str(f, "zl1");
    str(f, "zl2");
    u8(f, 18); /* LIST_QUICKLIST_2: container 2 (packed) */
    str(f, "q2");
    len(f, 1);
    len(f, 2);
    str(f, "lp");
    u8(f, 11); /* SET_INTSET */
    str(f, "si");
    str(f, "intset");
    u8(f, 20); /* SET_LISTPACK */
    str(f, "sl");
    str(f, "lp");
    u8(f, 13); /* HASH_ZIPLIST */
    str(f, "hz");
    str(f, "zl");
    u8(f, 17); /* ZSET_LISTPACK */
    str(f, "zp");
    str(f, "lp");
    u8(f, 15);
    str(f, "st1");
    stream(f, 15);
    u8(f, 19);
    str(f, "st2");
    stream(f, 19);
    u8(f, 253); /* EXPIRETIME (seconds) on a stream v3 */
    zeros(f, 4);
    u8(f, 21);
    str(f, "st3");
    stream(f, 21);
    u8(f, 254); /* SELECTDB 3 */
    len(f, 3);
    u8(f, 10); /* LIST_ZIPLIST */
    str(f, "inthree");
    str(f, "zl");
    u8(f, 9); /* HASH_ZIPMAP */
    str(f, "zm");
    str(f, "zipmap");
    u8(f, 255);
    zeros(f, 8); /* no checksum */
}

static const rdbwalk_key *find(const rdbwalk_result *w, const char *name)
{
    int i;
    for (i = 0; i < w->nsample; i++)
        if (!strcmp(w->sample[i].name, name)) return &w->sample[i];
    return NULL;
}

int main(void)
{
    static buf f, g;
    static rdbwalk_result w, w2;
    const rdbwalk_key *k;
    size_t i, eof_at;
    int v, rc;

    sample_file(&f);
    CHECK(rdbwalk_buf(f.b, f.n, &w) == RDBWALK_OK);
    CHECK(w.version == 11);
    CHECK(w.keys == 22);
    CHECK(w.expires == 2);
    CHECK(w.ndbs == 2);
    CHECK(w.dbs[0].db == 0 && w.dbs[0].keys == 20 && w.dbs[0].expires == 2);
    CHECK(w.dbs[1].db == 3 && w.dbs[1].keys == 2 && w.dbs[1].expires == 0);
    CHECK(!w.partial && !w.err[0]);
    /* 22 keys: all but six fit in 16 at first, then the sample is thinned */
    CHECK(w.nsample > 0 && w.nsample <= RDBWALK_SAMPLE_MAX);
    CHECK((k = find(&w, "first")) && k->db == 0 && k->pinned && !k->has_expiry);
    CHECK((k = find(&w, "inthree")) && k->db == 3 && k->pinned);
    CHECK(!strcmp(rdbwalk_type_name(k->type), "list"));
    CHECK(rdbwalk_type_name(7) == NULL);

    /* with every key sampled: names decoded, types and expiries right */
    g.n = 0;
    put(&g, "REDIS0010", 9);
    u8(&g, 0);
    str(&g, "first");
    str(&g, "v");
    u8(&g, 252);
    zeros(&g, 8);
    u8(&g, 0);
    str(&g, "ttl");
    str(&g, "v");
    u8(&g, 0);
    u8(&g, 0xC0);
    u8(&g, 42);
    str(&g, "x");
    u8(&g, 0);
    u8(&g, 0xC2); /* INT32 -1 */
    put(&g, "\xff\xff\xff\xff", 4);
    str(&g, "x");
    u8(&g, 0);
    u8(&g, 0xC3);
    len(&g, 6);
    len(&g, 9);
    put(&g,
        "\x02"
        "abc\x80\x02",
        6);
    str(&g, "v");
    u8(&g, 0);
    str(&g, "bin\xff"); /* not UTF-8: counted, not sampled */
    str(&g, "v");
    u8(&g, 255);
    CHECK(rdbwalk_buf(g.b, g.n, &w) == RDBWALK_OK);
    CHECK(w.keys == 6 && w.expires == 1 && w.nsample == 5);
    CHECK((k = find(&w, "ttl")) && k->has_expiry);
    CHECK(find(&w, "42") != NULL);
    CHECK(find(&w, "-1") != NULL);
    CHECK(find(&w, "abcabcabc") != NULL);

    /* a corrupt LZF back reference (before the start of the output) */
    g.b[g.n - 12] = 0x20;
    CHECK(rdbwalk_buf(g.b, g.n, &w) == RDBWALK_BAD);

    /* 1000 keys in db 0: 16 kept, evenly spread, the same every time */
    g.n = 0;
    put(&g, "REDIS0010", 9);
    for (v = 0; v < 1000; v++) {
        char name[16];
        snprintf(name, sizeof(name), "k%d", v);
        u8(&g, 0);
        str(&g, name);
        str(&g, "v");
    }
    u8(&g, 255);
    CHECK(rdbwalk_buf(g.b, g.n, &w) == RDBWALK_OK);
    CHECK(rdbwalk_buf(g.b, g.n, &w2) == RDBWALK_OK);
    CHECK(w.keys == 1000 && w.nsample >= 8 && w.nsample <= RDBWALK_SAMPLE_MAX);
    CHECK(!strcmp(w.sample[0].name, "k0") && w.sample[0].pinned);
    CHECK(!memcmp(&w, &w2, sizeof(w)));
    CHECK(w.sample[w.nsample - 1].index >= 500); /* reaches the second half */

    /* module data: partial, the keys before it counted */
    g.n = 0;
    put(&g, "REDIS0010", 9);
    u8(&g, 0);
    str(&g, "a");
    str(&g, "v");
    u8(&g, 7);
    str(&g, "mod");
    len(&g, 12345);
    zeros(&g, 40);
    u8(&g, 255);
    CHECK(rdbwalk_buf(g.b, g.n, &w) == RDBWALK_PARTIAL);
    CHECK(w.partial && w.keys == 1 && strstr(w.err, "cannot walk module data"));
    g.n = 9;
    u8(&g, 247); /* module aux */
    len(&g, 1);
    CHECK(rdbwalk_buf(g.b, g.n, &w) == RDBWALK_PARTIAL);

    /* headers */
    CHECK(rdbwalk_buf((const unsigned char *)"REDIS", 5, &w) == RDBWALK_BAD);
    CHECK(rdbwalk_buf((const unsigned char *)"RADIS0010\xff", 10, &w) == RDBWALK_BAD);
    CHECK(rdbwalk_buf((const unsigned char *)"REDIS0099\xff", 10, &w) == RDBWALK_BAD);
    CHECK(rdbwalk_buf((const unsigned char *)"REDIS00x0\xff", 10, &w) == RDBWALK_BAD);
    CHECK(rdbwalk_buf((const unsigned char *)"REDIS0010\x06", 10, &w) == RDBWALK_BAD);
    CHECK(strstr(w.err, "truncated") != NULL);
    /* a huge length with nothing behind it */
    CHECK(rdbwalk_buf((const unsigned char *)"REDIS0010\x00\x81\xff\xff\xff\xff\xff\xff\xff\xff",
                      19, &w) == RDBWALK_BAD);
    CHECK(
        rdbwalk_buf((const unsigned char *)"REDIS0010\x02\x01k\x81\x7f\xff\xff\xff\xff\xff\xff\xff",
                    20, &w) == RDBWALK_BAD);
    CHECK(rdbwalk_buf((const unsigned char *)"REDIS0010\x2a\x01k\x01v", 14, &w) == RDBWALK_BAD);
    CHECK(strstr(w.err, "unknown value type 42") != NULL);

    /* every truncation before the EOF opcode is an error */
    sample_file(&f);
    eof_at = f.n - 9;
    for (i = 0; i <= eof_at; i++) {
        rc = rdbwalk_buf(f.b, i, &w);
        if (rc != RDBWALK_BAD) {
            CHECK(rc == RDBWALK_BAD);
            fprintf(stderr, "cut at %zu: %d\n", i, rc);
            break;
        }
    }
    CHECK(rdbwalk_buf(f.b, eof_at + 1, &w) == RDBWALK_OK);
    /* every byte garbled three ways: any answer, no crash, no overrun */
    for (i = 9; i < f.n; i++) {
        static const unsigned char xs[] = {0xff, 0x80, 0x3f};
        unsigned char keep = f.b[i];
        size_t x;
        for (x = 0; x < sizeof(xs); x++) {
            unsigned char *copy = malloc(f.n);
            memcpy(copy, f.b, f.n);
            copy[i] ^= xs[x];
            rc = rdbwalk_buf(copy, f.n, &w);
            CHECK(rc == RDBWALK_OK || rc == RDBWALK_BAD || rc == RDBWALK_PARTIAL);
            CHECK(w.nsample <= RDBWALK_SAMPLE_MAX && w.keys >= 0);
            free(copy);
        }
        f.b[i] = keep;
    }
    CHECK(rdbwalk_file("/nonexistent/dump.rdb", &w) == RDBWALK_BAD);
    return check_done();
}
