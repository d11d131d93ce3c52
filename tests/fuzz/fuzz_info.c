/* fuzz_info.c — libFuzzer target: INFO text as a node (or anything on its
 * port) might answer it, through info_parse. */

#include <stddef.h>
#include <stdint.h>

#include "redis/info.h"
#include "core/banned.h" /* last: after every system header */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static node_info out; /* large: not on the stack */
    info_parse((const char *)data, size, &out);
    return 0;
}
