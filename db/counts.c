/* counts.c — rows grouped by one column, for /metrics: jobs by state,
 * failovers by kind, notifications by state (see db.h). */
#include "db/internal.h"
#include "core/banned.h" /* last: after every system header */

static void count_row(sqlite3_stmt *st, rd_fn fn, void *ctx)
{
    char key[64];
    db__col_text(st, 0, key, sizeof(key));
    ((db_count_fn *)fn)(ctx, key, sqlite3_column_int64(st, 1));
}

int db_count_by(db *d, int what, db_count_fn *fn, void *ctx)
{
    /* the whole sets are small (one row per job, failover, message); the
     * outbox's is read from its (state, id) index */
    static const char *const sql[] = {
        "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state",
        "SELECT kind, COUNT(*) FROM failovers GROUP BY kind ORDER BY kind",
        "SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state",
    };
    rd r;
    if (what < 0 || what >= (int)(sizeof(sql) / sizeof(sql[0]))) return -1;
    if (db__rd_open(d, &r, sql[what]) < 0) return -1;
    return db__rd_rows(&r, count_row, (rd_fn)fn, ctx);
}
