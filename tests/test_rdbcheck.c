/* test_rdbcheck.c — CRC64 (Redis' check value), and the streaming verifier on
 * a synthetic RDB fed whole and in odd pieces, with a flipped byte, without a
 * checksum and with a bad header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "redis/rdbcheck.h"

static int verify(const unsigned char *buf, size_t len, size_t piece, char *sha)
{
    rdbcheck *v = rdbcheck_new();
    char err[256];
    size_t off;
    int rc;
    for (off = 0; off < len; off += piece)
        rdbcheck_feed(v, buf + off, len - off < piece ? len - off : piece);
    rc = rdbcheck_finish(v, sha, err, sizeof(err));
    rdbcheck_free(v);
    return rc;
}

int main(void)
{
    unsigned char f[4096];
    size_t n = 0, i, pieces[] = {1, 3, 7, 8, 9, 100, 4096};
    uint64_t crc;
    char sha[65], sha2[65];

    CHECK(crc64_jones(0, (const unsigned char *)"123456789", 9) == 0xe9c6d914c4b8d9caULL);
    CHECK(crc64_jones(crc64_jones(0, (const unsigned char *)"1234", 4),
                      (const unsigned char *)"56789", 5) == 0xe9c6d914c4b8d9caULL);

    memcpy(f, "REDIS0010", 9);
    n = 9;
    for (i = 0; i < 3000; i++)
        f[n++] = (unsigned char)(i * 7 + 3);
    f[n++] = 0xff; /* RDB EOF opcode */
    crc = crc64_jones(0, f, n);
    for (i = 0; i < 8; i++)
        f[n++] = (unsigned char)(crc >> (8 * i));

    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
        CHECK(verify(f, n, pieces[i], sha) == RDB_OK);
    CHECK(strlen(sha) == 64);
    verify(f, n, 5, sha2);
    CHECK_STR(sha, sha2); /* the digest does not depend on how it was fed */

    f[1500] ^= 0x01; /* one flipped bit in the middle */
    CHECK(verify(f, n, 1000, sha) == RDB_BAD);
    f[1500] ^= 0x01;
    f[n - 1] ^= 0x80; /* in the stored CRC itself */
    CHECK(verify(f, n, 1000, sha) == RDB_BAD);
    f[n - 1] ^= 0x80;
    CHECK(verify(f, n - 1, 1000, sha) == RDB_BAD); /* truncated by one byte */

    memset(f + n - 8, 0, 8); /* rdbchecksum no */
    CHECK(verify(f, n, 64, sha) == RDB_NO_CHECKSUM);
    memcpy(f, "RADIS0010", 9);
    CHECK(verify(f, n, 64, sha) == RDB_BAD);
    CHECK(verify((const unsigned char *)"REDIS", 5, 1, sha) == RDB_BAD);
    CHECK(verify((const unsigned char *)"", 0, 1, sha) == RDB_BAD);
    return check_done();
}
