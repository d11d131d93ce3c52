/* fuzz_rdbwalk.c — libFuzzer target: any bytes as an RDB file for the
 * walker (every length checked against what is left, never a crash or a
 * loop); the sample never holds more than its bound. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "redis/rdbwalk.h"
#include "core/banned.h" /* last: after every system header */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rdbwalk_result w;
    rdbwalk_buf(data, size, &w);
    if (w.nsample > RDBWALK_SAMPLE_MAX || w.ndbs > RDBWALK_DBS_MAX || w.keys < 0) abort();
    return 0;
}
