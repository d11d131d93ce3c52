/* rdbwalk.c — the RDB walker (see rdbwalk.h). Follows redis 7's src/rdb.c:
 * rdbLoadRioWithLoadingCtx for the opcodes, rdbLoadObject for the value
 * encodings, rdbLoadLen / rdbGenericLoadStringObject for the primitives. */
#define _POSIX_C_SOURCE 200809L
#include "redis/rdbwalk.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/utf8.h"
#include "core/banned.h" /* last: after every system header */

/* redis' rdb.h */
enum {
    T_STRING = 0,
    T_LIST = 1,
    T_SET = 2,
    T_ZSET = 3,
    T_HASH = 4,
    T_ZSET_2 = 5,
    T_MODULE_PRE_GA = 6,
    T_MODULE_2 = 7,
    T_HASH_ZIPMAP = 9,
    T_LIST_ZIPLIST = 10,
    T_SET_INTSET = 11,
    T_ZSET_ZIPLIST = 12,
    T_HASH_ZIPLIST = 13,
    T_LIST_QUICKLIST = 14,
    T_STREAM_LISTPACKS = 15,
    T_HASH_LISTPACK = 16,
    T_ZSET_LISTPACK = 17,
    T_LIST_QUICKLIST_2 = 18,
    T_STREAM_LISTPACKS_2 = 19,
    T_SET_LISTPACK = 20,
    T_STREAM_LISTPACKS_3 = 21,
};
enum {
    OP_FUNCTION2 = 245,
    OP_FUNCTION_PRE_GA = 246,
    OP_MODULE_AUX = 247,
    OP_IDLE = 248,
    OP_FREQ = 249,
    OP_AUX = 250,
    OP_RESIZEDB = 251,
    OP_EXPIRETIME_MS = 252,
    OP_EXPIRETIME = 253,
    OP_SELECTDB = 254,
    OP_EOF = 255,
};
#define RDB_VERSION_MAX 12 /* 7.4 writes 12; newer files may hold what we cannot skip */
#define ENC_INT8 0
#define ENC_INT16 1
#define ENC_INT32 2
#define ENC_LZF 3

typedef struct rd {
    const unsigned char *base, *p, *end;
    rdbwalk_result *out;
    int64_t nonfirst; /* keys seen that were not the first of their database */
    int64_t stride;   /* the sample keeps non-first keys whose index is a multiple */
} rd;

/* Sets the error once (the first reason is the one that matters) with the
 * offset it was met at. Returns -1. */
static int fail(rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rd *r, const char *fmt, ...)
{
    va_list ap;
    char msg[160];
    if (r->out->err[0]) return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->out->err, sizeof(r->out->err), "%s at offset %llu", msg,
             (unsigned long long)(r->p - r->base));
    return -1;
}

static int need(rd *r, uint64_t n)
{
    if ((uint64_t)(r->end - r->p) < n)
        return fail(r, "truncated: %llu bytes needed", (unsigned long long)n);
    return 0;
}

static int skip(rd *r, uint64_t n)
{
    if (need(r, n) < 0) return -1;
    r->p += n;
    return 0;
}

static int byte(rd *r, unsigned *v)
{
    if (need(r, 1) < 0) return -1;
    *v = *r->p++;
    return 0;
}

/* rdbLoadLenByRef: *enc is 1 when the value is a string encoding
 * (ENC_*), not a length. */
static int length(rd *r, uint64_t *v, int *enc)
{
    unsigned b, type;
    int i;
    if (enc) *enc = 0;
    if (byte(r, &b) < 0) return -1;
    type = (b & 0xC0) >> 6;
    if (type == 3) {
        if (!enc) return fail(r, "string encoding where a length was expected");
        *enc = 1;
        *v = b & 0x3F;
        return 0;
    }
    if (type == 0) {
        *v = b & 0x3F;
        return 0;
    }
    if (type == 1) {
        unsigned b2;
        if (byte(r, &b2) < 0) return -1;
        *v = ((uint64_t)(b & 0x3F) << 8) | b2;
        return 0;
    }
    if (b != 0x80 && b != 0x81) return fail(r, "unknown length encoding 0x%02x", b);
    if (need(r, b == 0x80 ? 4 : 8) < 0) return -1;
    *v = 0;
    for (i = 0; i < (b == 0x80 ? 4 : 8); i++) /* big endian */
        *v = (*v << 8) | *r->p++;
    return 0;
}

static int len_only(rd *r, uint64_t *v)
{
    return length(r, v, NULL);
}

/* lzf_decompress of liblzf (what redis ships): in_len bytes at in into at most
 * out_len bytes. Returns the bytes written or -1 when the data is not valid
 * LZF or would not fit. */
static long lzf_expand(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len)
{
    const unsigned char *ip = in, *in_end = in + in_len;
    unsigned char *op = out, *out_end = out + out_len;

    while (ip < in_end) {
        unsigned ctrl = *ip++;
        if (ctrl < (1 << 5)) { /* a run of ctrl + 1 literal bytes */
            ctrl++;
            if ((size_t)(out_end - op) < ctrl || (size_t)(in_end - ip) < ctrl) return -1;
            memcpy(op, ip, ctrl);
            op += ctrl;
            ip += ctrl;
        } else { /* a back reference of len + 2 bytes */
            size_t len = ctrl >> 5, back = (size_t)(ctrl & 0x1f) << 8;
            const unsigned char *ref;
            if (ip >= in_end) return -1;
            if (len == 7) {
                len += *ip++;
                if (ip >= in_end) return -1;
            }
            back += *ip++;
            if ((size_t)(op - out) < back + 1 || (size_t)(out_end - op) < len + 2) return -1;
            ref = op - back - 1;
            for (len += 2; len; len--)
                *op++ = *ref++; /* may overlap: byte by byte */
        }
    }
    return (long)(op - out);
}

/* Reads one string. With dst, its bytes (integers as decimal text) go to dst
 * when they fit in dstsz - 1 and *fits says so; without dst it is skipped. */
static int string(rd *r, char *dst, size_t dstsz, size_t *n, int *fits)
{
    uint64_t v = 0; /* set by length() on success; 0 keeps -O2's flow analysis quiet */
    int enc;

    if (fits) *fits = 0;
    if (length(r, &v, &enc) < 0) return -1;
    if (enc) {
        long long iv = 0;
        if (v == ENC_INT8 || v == ENC_INT16 || v == ENC_INT32) {
            int w = v == ENC_INT8 ? 1 : v == ENC_INT16 ? 2 : 4, i;
            uint32_t u = 0;
            if (need(r, (uint64_t)w) < 0) return -1;
            for (i = 0; i < w; i++) /* little endian, signed */
                u |= (uint32_t)r->p[i] << (8 * i);
            r->p += w;
            iv = w == 1 ? (int8_t)u : w == 2 ? (int16_t)u : (int32_t)u;
            if (dst) {
                int k = snprintf(dst, dstsz, "%lld", iv);
                if (k > 0 && (size_t)k < dstsz) {
                    *n = (size_t)k;
                    *fits = 1;
                }
            }
            return 0;
        }
        if (v == ENC_LZF) {
            uint64_t clen = 0, ulen = 0;
            if (len_only(r, &clen) < 0 || len_only(r, &ulen) < 0 || need(r, clen) < 0) return -1;
            if (!clen) return fail(r, "empty LZF string");
            if (dst && ulen < dstsz) {
                long got = lzf_expand(r->p, (size_t)clen, (unsigned char *)dst, (size_t)ulen);
                if (got < 0 || (uint64_t)got != ulen) return fail(r, "corrupt LZF string");
                *n = (size_t)ulen;
                *fits = 1;
            }
            r->p += clen;
            return 0;
        }
        return fail(r, "unknown string encoding %llu", (unsigned long long)v);
    }
    if (need(r, v) < 0) return -1;
    if (dst && v < dstsz) {
        memcpy(dst, r->p, (size_t)v);
        *n = (size_t)v;
        *fits = 1;
    }
    r->p += v;
    return 0;
}

static int skip_string(rd *r)
{
    return string(r, NULL, 0, NULL, NULL);
}

/* Skips n strings. Each takes at least one byte, so a huge n ends at the
 * end of the input. */
static int skip_strings(rd *r, uint64_t n)
{
    while (n--)
        if (skip_string(r) < 0) return -1;
    return 0;
}

/* rdbLoadDoubleValue (the old ZSET's scores): a length byte, or 253-255 for
 * nan/+inf/-inf with nothing after. */
static int skip_old_double(rd *r)
{
    unsigned b;
    if (byte(r, &b) < 0) return -1;
    return b >= 253 ? 0 : skip(r, b);
}

static int skip_stream(rd *r, int type)
{
    uint64_t n = 0, groups = 0, i, v = 0;

    if (len_only(r, &n) < 0) return -1;
    while (n--) { /* listpacks: the master id (16 bytes) and the listpack */
        char id[32];
        size_t idlen = 0;
        int fits;
        if (string(r, id, sizeof(id), &idlen, &fits) < 0) return -1;
        if (!fits || idlen != 16) return fail(r, "stream node key is not a 16-byte id");
        if (skip_string(r) < 0) return -1;
    }
    /* length, last id; v2+: first id, max deleted id, entries added */
    for (i = 0; i < (type >= T_STREAM_LISTPACKS_2 ? 8u : 3u); i++)
        if (len_only(r, &v) < 0) return -1;
    if (len_only(r, &groups) < 0) return -1;
    while (groups--) {
        uint64_t pel = 0, consumers = 0;
        if (skip_string(r) < 0) return -1; /* the group's name */
        for (i = 0; i < (type >= T_STREAM_LISTPACKS_2 ? 3u : 2u); i++)
            if (len_only(r, &v) < 0) return -1; /* last id; v2+: entries read */
        if (len_only(r, &pel) < 0) return -1;
        while (pel--) /* raw id, delivery time (ms), delivery count */
            if (skip(r, 16 + 8) < 0 || len_only(r, &v) < 0) return -1;
        if (len_only(r, &consumers) < 0) return -1;
        while (consumers--) {
            if (skip_string(r) < 0 || skip(r, 8) < 0) return -1;           /* name, seen time */
            if (type >= T_STREAM_LISTPACKS_3 && skip(r, 8) < 0) return -1; /* active time */
            if (len_only(r, &pel) < 0) return -1;
            while (pel--)
                if (skip(r, 16) < 0) return -1;
        }
    }
    return 0;
}

/* Skips one value of RDB type t. Returns 0, -1 (corrupt), or 1 at module
 * data, which only the module can read. */
static int skip_value(rd *r, int t)
{
    uint64_t n = 0;

    switch (t) {
    case T_STRING:
    case T_HASH_ZIPMAP:
    case T_LIST_ZIPLIST:
    case T_SET_INTSET:
    case T_ZSET_ZIPLIST:
    case T_HASH_ZIPLIST:
    case T_HASH_LISTPACK:
    case T_ZSET_LISTPACK:
    case T_SET_LISTPACK:
        return skip_string(r); /* one blob */
    case T_LIST:
    case T_SET:
    case T_LIST_QUICKLIST: /* nodes, each a ziplist blob */
        return len_only(r, &n) < 0 ? -1 : skip_strings(r, n);
    case T_HASH:
        return len_only(r, &n) < 0  ? -1
               : n > UINT64_MAX / 2 ? fail(r, "bad hash length")
                                    : skip_strings(r, 2 * n);
    case T_ZSET:
        if (len_only(r, &n) < 0) return -1;
        while (n--)
            if (skip_string(r) < 0 || skip_old_double(r) < 0) return -1;
        return 0;
    case T_ZSET_2: /* scores as binary doubles */
        if (len_only(r, &n) < 0) return -1;
        while (n--)
            if (skip_string(r) < 0 || skip(r, 8) < 0) return -1;
        return 0;
    case T_LIST_QUICKLIST_2: /* nodes: container kind, then the blob */
        if (len_only(r, &n) < 0) return -1;
        while (n--) {
            uint64_t container = 0;
            if (len_only(r, &container) < 0 || skip_string(r) < 0) return -1;
        }
        return 0;
    case T_STREAM_LISTPACKS:
    case T_STREAM_LISTPACKS_2:
    case T_STREAM_LISTPACKS_3:
        return skip_stream(r, t);
    case T_MODULE_2:
    case T_MODULE_PRE_GA:
        fail(r, "cannot walk module data");
        return 1;
    default:
        return fail(r, "unknown value type %d", t);
    }
}

/* -------------------------------------------------------------- the tally */

static rdbwalk_db *db_entry(rd *r, int db)
{
    rdbwalk_result *o = r->out;
    int i;
    for (i = 0; i < o->ndbs; i++)
        if (o->dbs[i].db == db) return &o->dbs[i];
    if (o->ndbs == RDBWALK_DBS_MAX) {
        fail(r, "more than %d databases", RDBWALK_DBS_MAX);
        return NULL;
    }
    memset(&o->dbs[o->ndbs], 0, sizeof(o->dbs[0]));
    o->dbs[o->ndbs].db = db;
    return &o->dbs[o->ndbs++];
}

/* Halves the non-first keys of a full sample (keeping the indexes that are
 * multiples of twice the stride). Returns 1 when something was dropped. */
static int thin(rd *r)
{
    rdbwalk_result *o = r->out;
    int i, j = 0, dropped = 0;
    if (r->stride > INT64_MAX / 2) return 0;
    r->stride *= 2;
    for (i = 0; i < o->nsample; i++) {
        if (!o->sample[i].pinned && o->sample[i].index % r->stride) {
            dropped = 1;
            continue;
        }
        if (j != i) o->sample[j] = o->sample[i];
        j++;
    }
    o->nsample = j;
    return dropped;
}

/* Whether the key with this place joins the sample; makes room when it
 * does. The result does not depend on anything but the order of the keys:
 * the first key of each database, then non-first keys evenly spaced. */
static int wanted(rd *r, int first, int64_t index)
{
    rdbwalk_result *o = r->out;
    int rounds;
    if (!first && index % r->stride) return 0;
    for (rounds = 0; o->nsample == RDBWALK_SAMPLE_MAX && rounds < 64; rounds++) {
        thin(r);
        if (!first && index % r->stride) return 0;
    }
    return o->nsample < RDBWALK_SAMPLE_MAX;
}

/* One key: its name (kept when it joins the sample), then its value. */
static int walk_key(rd *r, int t, int db, int has_expiry)
{
    rdbwalk_result *o = r->out;
    rdbwalk_db *e = db_entry(r, db);
    char name[RDBWALK_KEY_MAX + 1];
    size_t n = 0;
    int fits = 0, first, rc;
    int64_t index = 0;

    if (!e) return -1;
    first = e->keys == 0;
    if (!first) index = r->nonfirst++;
    if (string(r, name, sizeof(name), &n, &fits) < 0) return -1;
    rc = skip_value(r, t);
    if (rc < 0) return -1;
    if (rc > 0) return 1; /* not counted: its value is unread */
    e->keys++;
    o->keys++;
    if (has_expiry) {
        e->expires++;
        o->expires++;
    }
    /* A name that is not text (or holds NUL) would not survive the JSON
     * catalogue: counted, not sampled. */
    if (fits && !memchr(name, '\0', n) && utf8_valid(name, n) && rdbwalk_type_name(t) &&
        wanted(r, first, index)) {
        rdbwalk_key *k = &o->sample[o->nsample++];
        memset(k, 0, sizeof(*k));
        k->db = db;
        k->type = t;
        k->has_expiry = has_expiry;
        k->index = index;
        k->pinned = first;
        memcpy(k->name, name, n);
        k->name[n] = '\0';
    }
    return 0;
}

int rdbwalk_buf(const unsigned char *buf, size_t len, rdbwalk_result *out)
{
    rd r;
    int db = 0, has_expiry = 0, i;
    unsigned op;
    uint64_t v = 0, v2 = 0;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    r.base = r.p = buf;
    r.end = buf + len;
    r.out = out;
    r.stride = 1;
    if (len < 9 || memcmp(buf, "REDIS", 5)) return fail(&r, "not an RDB file (no REDIS header)");
    for (i = 5; i < 9; i++) {
        if (buf[i] < '0' || buf[i] > '9') return fail(&r, "bad RDB version in the header");
        out->version = out->version * 10 + (buf[i] - '0');
    }
    if (out->version < 1 || out->version > RDB_VERSION_MAX)
        return fail(&r, "RDB version %d is not one this walker knows", out->version);
    r.p += 9;
    for (;;) {
        int rc;
        if (byte(&r, &op) < 0) return -1;
        switch (op) {
        case OP_EOF:
            return RDBWALK_OK; /* the CRC64 after it is rdbcheck's business */
        case OP_SELECTDB:
            if (len_only(&r, &v) < 0) return -1;
            if (v > 1000000) return fail(&r, "database number %llu", (unsigned long long)v);
            db = (int)v;
            has_expiry = 0;
            continue;
        case OP_RESIZEDB:
            if (len_only(&r, &v) < 0 || len_only(&r, &v2) < 0) return -1;
            continue;
        case OP_AUX:
            if (skip_string(&r) < 0 || skip_string(&r) < 0) return -1;
            continue;
        case OP_EXPIRETIME:
            if (skip(&r, 4) < 0) return -1;
            has_expiry = 1;
            continue;
        case OP_EXPIRETIME_MS:
            if (skip(&r, 8) < 0) return -1;
            has_expiry = 1;
            continue;
        case OP_FREQ:
            if (skip(&r, 1) < 0) return -1;
            continue;
        case OP_IDLE:
            if (len_only(&r, &v) < 0) return -1;
            continue;
        case OP_FUNCTION2:
            if (skip_string(&r) < 0) return -1;
            continue;
        case OP_FUNCTION_PRE_GA:
            return fail(&r, "functions of Redis 7.0 release candidates are not supported");
        case OP_MODULE_AUX:
            fail(&r, "cannot walk module data (module aux)");
            out->partial = 1;
            return RDBWALK_PARTIAL;
        default:
            rc = walk_key(&r, (int)op, db, has_expiry);
            if (rc < 0) return -1;
            if (rc > 0) {
                out->partial = 1;
                return RDBWALK_PARTIAL;
            }
            has_expiry = 0;
            continue;
        }
    }
}

int rdbwalk_file(const char *path, rdbwalk_result *out)
{
    struct stat stt;
    void *map;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    memset(out, 0, sizeof(*out));
    if (fd < 0 || fstat(fd, &stt) < 0 || stt.st_size < 9) {
        snprintf(out->err, sizeof(out->err), "%s: %s",
                 fd < 0 ? "cannot open the file" : "not an RDB file",
                 fd < 0 ? "no access or missing" : "too short");
        if (fd >= 0) close(fd);
        return RDBWALK_BAD;
    }
    map = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(out->err, sizeof(out->err), "cannot map the file");
        return RDBWALK_BAD;
    }
    rc = rdbwalk_buf(map, (size_t)stt.st_size, out);
    munmap(map, (size_t)stt.st_size);
    return rc;
}

const char *rdbwalk_type_name(int t)
{
    switch (t) {
    case T_STRING:
        return "string";
    case T_LIST:
    case T_LIST_ZIPLIST:
    case T_LIST_QUICKLIST:
    case T_LIST_QUICKLIST_2:
        return "list";
    case T_SET:
    case T_SET_INTSET:
    case T_SET_LISTPACK:
        return "set";
    case T_ZSET:
    case T_ZSET_2:
    case T_ZSET_ZIPLIST:
    case T_ZSET_LISTPACK:
        return "zset";
    case T_HASH:
    case T_HASH_ZIPMAP:
    case T_HASH_ZIPLIST:
    case T_HASH_LISTPACK:
        return "hash";
    case T_STREAM_LISTPACKS:
    case T_STREAM_LISTPACKS_2:
    case T_STREAM_LISTPACKS_3:
        return "stream";
    default:
        return NULL;
    }
}
