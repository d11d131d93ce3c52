/* common.h — small helpers every hapanel module shares: sizes, clocks, bounded
 * string copies. Nothing here allocates or does I/O. */
#ifndef HP_COMMON_H
#define HP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define HP_VERSION "0.3.0"

#define HP_HOST_MAX 64                /* host part of an address, NUL included */
#define HP_ADDR_MAX (HP_HOST_MAX + 8) /* "host:port", NUL included */
#define HP_NAME_MAX 64                /* a Sentinel master name */

/* Milliseconds since the epoch (wall clock), for timestamps shown to people. */
int64_t hp_now_ms(void);
/* For fault-injection tests: 1 when HAPANEL_FAILPOINT names this point. */
int hp_failpoint_is(const char *name);
/* The "slow-loop-start" fault: an event-loop thread waits 300 ms before it
 * enters its loop (a thread scheduled late on a loaded host). */
void hp_failpoint_slow_start(void);
/* Milliseconds of a monotonic clock, for timeouts and durations. */
int64_t hp_mono_ms(void);

/* Copies at most dstsz-1 bytes of src and always NUL-terminates; returns the
 * length of src so truncation can be detected (like BSD strlcpy). */
size_t hp_strlcpy(char *dst, const char *src, size_t dstsz);

/* Formats "host:port" into dst. */
void hp_addr_fmt(char *dst, size_t dstsz, const char *host, int port);

/* Splits "host:port" (or "[v6]:port") into host and port. Returns 0 or -1 when
 * the text is not an address with a port in 1..65535. */
int hp_addr_parse(const char *addr, char *host, size_t hostsz, int *port);

#endif
