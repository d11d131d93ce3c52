/* fuzz_rdb.c — libFuzzer target: an RDB stream as a backup receives it,
 * fed to the checker (header, CRC64, SHA-256) in pieces whose size the
 * first byte chooses, as the network cuts them. */

#include <stddef.h>
#include <stdint.h>

#include "redis/rdbcheck.h"
#include "core/banned.h" /* last: after every system header */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rdbcheck *v;
    size_t step, off = 0;
    char sha[65], err[256];

    if (size < 1) return 0;
    step = (size_t)data[0] % 64 + 1;
    v = rdbcheck_new();
    if (!v) return 0;
    for (off = 1; off < size; off += step)
        rdbcheck_feed(v, data + off, size - off < step ? size - off : step);
    rdbcheck_finish(v, sha, err, sizeof(err));
    rdbcheck_free(v);
    return 0;
}
