/* reader.c — see reader.h. */

#include <pthread.h>
#include <stddef.h>

#include "redis/reader.h"
#include "core/banned.h" /* last: after every system header */

static redisReplyObjectFunctions limited;
static void *(*create_array)(const redisReadTask *, int);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *create_limited_array(const redisReadTask *task, int elements)
{
    if (elements < 0 || elements > RESP_MAX_ELEMENTS) return NULL; /* the reader: out of memory */
    return create_array(task, elements);
}

/* hiredis' defaults, read from a reader of its own: every reader shares them. */
static void init(void)
{
    redisReader *t = redisReaderCreate();
    if (!t || !t->fn) {
        redisReaderFree(t);
        return;
    }
    limited = *t->fn;
    create_array = t->fn->createArray;
    limited.createArray = create_limited_array;
    redisReaderFree(t);
}

void resp_limit_reader(redisReader *r)
{
    pthread_once(&once, init);
    if (r && r->fn && create_array && r->fn->createArray == create_array) r->fn = &limited;
}
