/* common.c — clocks, bounded copies and address helpers (see common.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/common.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/banned.h" /* last: after every system header */

int64_t hp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hp_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When src is cut at c and src[c] continues a character that started in the
 * last 3 bytes copied, the cut moves back to that character's first byte:
 * half a character is an invalid sequence, and cJSON would print it as is. */
static size_t char_boundary(const char *src, size_t n, size_t c)
{
    size_t k;
    for (k = c; k > 0 && c - k < 4; k--) {
        unsigned char b = (unsigned char)src[k - 1];
        if ((b & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
        if (b >= 0xC0 && utf8_seq_len(src + k - 1, n - (k - 1)) > c - (k - 1)) return k - 1;
        break;
    }
    return c;
}

size_t hp_strlcpy(char *dst, const char *src, size_t dstsz)
{
    size_t n = strlen(src);
    if (dstsz > 0) {
        size_t c = n < dstsz - 1 ? n : dstsz - 1;
        if (c < n) c = char_boundary(src, n, c);
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

void hp_addr_fmt(char *dst, size_t dstsz, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(dst, dstsz, "[%s]:%d", host, port);
    else
        snprintf(dst, dstsz, "%s:%d", host, port);
}

int hp_addr_parse(const char *addr, char *host, size_t hostsz, int *port)
{
    const char *colon, *h = addr;
    size_t hl;
    char *end;
    long p;

    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':') return -1;
        h = addr + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) return -1;
        hl = (size_t)(colon - addr);
    }
    if (hl == 0 || hl >= hostsz) return -1;
    p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p < 1 || p > 65535) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int hp_failpoint_is(const char *name)
{
    const char *fp = getenv("HAPANEL_FAILPOINT");
    return fp && !strcmp(fp, name);
}

void hp_failpoint_slow_start(void)
{
    if (hp_failpoint_is("slow-loop-start")) {
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep(&ts, NULL);
    }
}
