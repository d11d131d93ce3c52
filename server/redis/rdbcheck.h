/* rdbcheck.h — checks an RDB snapshot as it streams past: the "REDIS00NN"
 * header and the trailing CRC64 (Jones polynomial, reflected; what Redis
 * writes when rdbchecksum is on), plus its SHA-256 for the catalogue. Fed in
 * pieces of any size, so a backup verifies without reading the file twice.
 * Pure: no I/O; unit-tested. */
#ifndef HP_RDBCHECK_H
#define HP_RDBCHECK_H

#include <stddef.h>
#include <stdint.h>

/* crc64 of buf continuing from crc (start with 0). crc64(0, "123456789", 9)
 * is 0xe9c6d914c4b8d9ca. */
uint64_t crc64_jones(uint64_t crc, const unsigned char *buf, size_t len);

typedef struct rdbcheck rdbcheck;

/* Caller frees with rdbcheck_free. */
rdbcheck *rdbcheck_new(void);
void rdbcheck_free(rdbcheck *v);
void rdbcheck_feed(rdbcheck *v, const void *buf, size_t len);

enum { RDB_OK = 0, RDB_NO_CHECKSUM = 1, RDB_BAD = -1 };
/* After the last byte: RDB_OK (header and CRC64 good), RDB_NO_CHECKSUM (header
 * good, the server wrote no checksum), or RDB_BAD with the reason in err.
 * sha256_hex (65 bytes) receives the digest of every byte fed. */
int rdbcheck_finish(rdbcheck *v, char *sha256_hex, char *err, size_t errsz);
/* Total bytes fed so far. */
uint64_t rdbcheck_size(const rdbcheck *v);

/* Checks a file on disk the same way. */
int rdbcheck_file(const char *path, char *sha256_hex, char *err, size_t errsz);

#endif
