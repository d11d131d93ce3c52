/* db.h — hapanel's SQLite store: opening it in WAL mode under the data dir,
 * applying the embedded migrations in order (PRAGMA user_version records the
 * last one), and the queries the rest of the program needs. One connection owns
 * all writes and is used only by the writer thread; readers borrow read-only
 * connections from a small pool, so HTTP threads never wait on the writer. */
#ifndef HP_DB_H
#define HP_DB_H

#include <stddef.h>
#include <stdint.h>
#include "../server/event.h"

typedef struct db db;

/* Opens (creating) DIR/hapanel.db and migrates it. On failure returns NULL and
 * writes the reason into err. Caller frees with db_free. */
db *db_open(const char *dir, char *err, size_t errsz);
void db_free(db *d);
/* The schema version after migration. */
int db_schema_version(db *d);

/* Writer-side: stores n events in one transaction and sets their ids.
 * Returns 0 or -1. Only the writer thread calls this. */
int db_insert_events(db *d, hp_event *evs, int n);

typedef struct event_query {
    const char *cluster, *type, *node; /* NULL = any */
    int64_t since, until;              /* ts bounds in ms, 0 = open */
    int64_t before;                    /* id < before, 0 = from the newest */
    int limit;                         /* 1..1000 */
} event_query;

typedef void db_event_fn(void *ctx, const hp_event *e);
/* Calls fn for each matching event, newest first. Returns the number of rows or
 * -1 on error. Safe from any thread. */
int db_query_events(db *d, const event_query *q, db_event_fn *fn, void *ctx);

#endif
