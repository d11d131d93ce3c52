/* httpstats.c — answers by status class (see httpstats.h). */
#include "web/httpstats.h"

#include "core/banned.h" /* last: after every system header */

static uint64_t counts[5];

void httpstats_count(int status)
{
    int c = status / 100 - 1;
    if (c >= 0 && c < 5) __atomic_add_fetch(&counts[c], 1, __ATOMIC_RELAXED);
}

void httpstats_get(uint64_t out[5])
{
    for (int i = 0; i < 5; i++)
        out[i] = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
}
