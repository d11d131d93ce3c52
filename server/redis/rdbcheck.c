/* rdbcheck.c — streaming RDB verification (see rdbcheck.h). The CRC covers
 * every byte but the last eight, which hold it (little-endian); since the end
 * is only known at the end, the last eight bytes fed are held back. CRC64 is
 * computed eight bytes at a time (slice-by-8 tables) so verification keeps up
 * with the network. */
#define _POSIX_C_SOURCE 200809L
#include "redis/rdbcheck.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ULL /* 0xad93d23594c935a9 reflected */

static uint64_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
    int i, k;
    if (__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE)) return;
    for (i = 0; i < 256; i++) {
        uint64_t c = (uint64_t)i;
        for (k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++)
        for (k = 1; k < 8; k++)
            crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint64_t crc64_jones(uint64_t crc, const unsigned char *p, size_t len)
{
    crc_init();
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* little-endian hosts (x86-64, arm64) */
        w ^= crc;
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

struct rdbcheck {
    uint64_t crc, size;
    unsigned char head[9];
    unsigned char tail[8]; /* the last bytes fed, not yet in the CRC */
    size_t ntail;
    EVP_MD_CTX *sha;
};

rdbcheck *rdbcheck_new(void)
{
    rdbcheck *v = calloc(1, sizeof(*v));
    if (!v) return NULL;
    v->sha = EVP_MD_CTX_new();
    if (!v->sha || EVP_DigestInit_ex(v->sha, EVP_sha256(), NULL) != 1) {
        rdbcheck_free(v);
        return NULL;
    }
    return v;
}

void rdbcheck_free(rdbcheck *v)
{
    if (!v) return;
    EVP_MD_CTX_free(v->sha);
    free(v);
}

void rdbcheck_feed(rdbcheck *v, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t keep;

    if (!len) return;
    EVP_DigestUpdate(v->sha, p, len);
    if (v->size < sizeof(v->head)) {
        size_t n = sizeof(v->head) - (size_t)v->size;
        memcpy(v->head + v->size, p, n < len ? n : len);
    }
    v->size += len;
    if (len >= 8) {
        /* everything held back, and all but the last 8 new bytes, go in */
        v->crc = crc64_jones(v->crc, v->tail, v->ntail);
        v->crc = crc64_jones(v->crc, p, len - 8);
        memcpy(v->tail, p + len - 8, 8);
        v->ntail = 8;
        return;
    }
    keep = v->ntail + len > 8 ? v->ntail + len - 8 : 0; /* bytes leaving the window */
    v->crc = crc64_jones(v->crc, v->tail, keep);
    memmove(v->tail, v->tail + keep, v->ntail - keep);
    v->ntail -= keep;
    memcpy(v->tail + v->ntail, p, len);
    v->ntail += len;
}

uint64_t rdbcheck_size(const rdbcheck *v)
{
    return v->size;
}

int rdbcheck_finish(rdbcheck *v, char *sha256_hex, char *err, size_t errsz)
{
    unsigned char md[32];
    unsigned int mdlen = 0, i;
    uint64_t stored = 0;

    EVP_DigestFinal_ex(v->sha, md, &mdlen);
    for (i = 0; i < mdlen && i < 32; i++)
        snprintf(sha256_hex + 2 * i, 3, "%02x", md[i]);
    if (v->size < 9 + 1 + 8 || memcmp(v->head, "REDIS", 5) || v->head[5] < '0' ||
        v->head[5] > '9' || v->head[8] < '0' || v->head[8] > '9') {
        snprintf(err, errsz, "not an RDB file (header %s, %llu bytes)",
                 v->size >= 5 && !memcmp(v->head, "REDIS", 5) ? "bad version" : "missing",
                 (unsigned long long)v->size);
        return RDB_BAD;
    }
    for (i = 0; i < 8; i++)
        stored |= (uint64_t)v->tail[i] << (8 * i);
    if (stored == 0) return RDB_NO_CHECKSUM;
    if (stored != v->crc) {
        snprintf(err, errsz, "CRC64 mismatch: file says %016llx, content gives %016llx",
                 (unsigned long long)stored, (unsigned long long)v->crc);
        return RDB_BAD;
    }
    return RDB_OK;
}

int rdbcheck_file(const char *path, char *sha256_hex, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    rdbcheck *v;
    unsigned char buf[65536];
    size_t n;
    int rc;

    if (!f) {
        snprintf(err, errsz, "cannot open %s", path);
        return RDB_BAD;
    }
    v = rdbcheck_new();
    if (!v) {
        fclose(f);
        snprintf(err, errsz, "out of memory");
        return RDB_BAD;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        rdbcheck_feed(v, buf, n);
    rc = ferror(f) ? RDB_BAD : rdbcheck_finish(v, sha256_hex, err, errsz);
    if (ferror(f)) snprintf(err, errsz, "read error on %s", path);
    fclose(f);
    rdbcheck_free(v);
    return rc;
}
