/* rdbwalk.h — walks an RDB snapshot key by key, as redis 7's rdbLoad reads
 * it, without building any value: it counts the keys of each database and
 * the keys with an expiry, and keeps a deterministic sample of key names
 * with their types, so a restore check has figures to compare with. Every
 * value type Redis 7.0-7.2 writes is skipped by its encoding; module data
 * (whose layout only the module knows) ends the walk early, reported as
 * partial. Bounded by the input: every length is checked against the bytes
 * left, so a corrupt file ends with an error, never a crash or a loop. It is
 * not a checksum check (rdbcheck.h does that) and decodes no value.
 * Pure: no I/O except rdbwalk_file's read-only mapping; unit-tested. */
#ifndef HP_RDBWALK_H
#define HP_RDBWALK_H

#include <stddef.h>
#include <stdint.h>

#define RDBWALK_SAMPLE_MAX 16
#define RDBWALK_KEY_MAX 256 /* a longer (or non-UTF-8) name is counted, never sampled */
#define RDBWALK_DBS_MAX 64

typedef struct rdbwalk_key {
    int db;
    int type;       /* the RDB value type (RDB_TYPE_* of redis' rdb.h) */
    int has_expiry; /* 1 when an EXPIRETIME(_MS) preceded it */
    int64_t index;  /* its place among the non-first keys (the sampling order) */
    int pinned;     /* the first key of its database */
    char name[RDBWALK_KEY_MAX + 1];
} rdbwalk_key;

typedef struct rdbwalk_db {
    int db;
    int64_t keys, expires;
} rdbwalk_db;

typedef struct rdbwalk_result {
    int version; /* of the header, "REDIS0010" -> 10 */
    int64_t keys, expires;
    int ndbs;
    rdbwalk_db dbs[RDBWALK_DBS_MAX]; /* in the order met */
    int nsample;
    rdbwalk_key sample[RDBWALK_SAMPLE_MAX]; /* in file order */
    int partial;   /* 1: stopped before the end (module data): figures are lower bounds */
    char err[200]; /* why it stopped (partial or error) */
} rdbwalk_result;

enum { RDBWALK_OK = 0, RDBWALK_PARTIAL = 1, RDBWALK_BAD = -1 };

/* Walks the len bytes at buf into *out (overwritten). Returns RDBWALK_OK
 * (walked to the EOF opcode), RDBWALK_PARTIAL (stopped at module data: the
 * figures so far are kept, out->err says why) or RDBWALK_BAD (corrupt or
 * unknown content: out->err says what and where; figures are unusable). */
int rdbwalk_buf(const unsigned char *buf, size_t len, rdbwalk_result *out);
/* The same on a file, mapped read-only (memory stays flat whatever its
 * size); a file that cannot be read is RDBWALK_BAD. */
int rdbwalk_file(const char *path, rdbwalk_result *out);
/* What Redis' TYPE answers for a key of RDB type t ("string", "list", "set",
 * "zset", "hash", "stream"), or NULL for a type it does not know. */
const char *rdbwalk_type_name(int t);

#endif
