/* demo.h — `hapanel --demo`: a local 1 master + 2 replicas + 3 Sentinels
 * topology started from the installed redis-server and redis-sentinel on free
 * loopback ports in a temporary directory, so a newcomer sees the panel work at
 * once. Everything it starts is stopped and removed by demo_free. */
#ifndef HP_DEMO_H
#define HP_DEMO_H

#include <stddef.h>
#include "core/config.h"

typedef struct demo demo;

/* Starts the topology and points cfg at it (Sentinel hosts, data dir, fresh
 * random tokens). Returns NULL with the reason in err. */
demo *demo_start(config *cfg, char *err, size_t errsz);
/* The viewer token generated for the demo (to print once on the terminal). */
const char *demo_viewer_token(const demo *d);
const char *demo_operator_token(const demo *d);
const char *demo_dir(const demo *d);
/* Stops every process, removes the directory, frees d. NULL is a no-op. */
void demo_free(demo *d);

#endif
