/* httpstats.h — answers counted by status class (1xx..5xx), for /metrics:
 * the workers' answers (http.c) and the edge's own refusals (edge.c: 408,
 * 413, 503, ...). Lock-free counters. */
#ifndef HP_HTTPSTATS_H
#define HP_HTTPSTATS_H

#include <stdint.h>

void httpstats_count(int status);
/* out[0] is 1xx ... out[4] is 5xx. */
void httpstats_get(uint64_t out[5]);

#endif
