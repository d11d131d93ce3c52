/* internal.h — what the files of db/ share and nothing else sees: the
 * store's state, the reader pool and the row helpers, and the write
 * functions, which only the writer thread (writer.c) calls. Every write of
 * hapanel goes through it; readers use their own pooled read-only
 * connections, so HTTP threads never wait on a write. */
#ifndef HP_DB_INTERNAL_H
#define HP_DB_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define DB_POOL_MAX 16
#define DB_READER_CACHE_KB "256" /* page cache of a reader connection */

typedef struct db_recent db_recent;

struct db {
    char path[4096];
    sqlite3 *w;
    sqlite3_stmt *ins_event;
    int version;
    pthread_mutex_t pool_lock;
    sqlite3 *pool[DB_POOL_MAX];
    int npool;
    db_recent *recent;              /* the dashboard's sets (recent.c) */
    db_samples_keep samples_keep;   /* the charts' retention (samples.c) */
    int64_t (*samples_clock)(void); /* the wall clock, seconds (NULL: time()); tests set it */
};

/* Runs sql on c; 0, or -1 with the reason in err. */
int db__exec(sqlite3 *c, const char *sql, char *err, size_t errsz);

/* --- reads: a pooled read-only connection per query ------------------- */

sqlite3 *db__reader_get(db *d);
void db__reader_put(db *d, sqlite3 *c);

/* A read: rd_open prepares sql on a pooled connection, the caller binds
 * r.st, rd_rows steps to the end calling row() for each row and releases
 * everything. rd_fn is the caller's typed callback, passed through. */
typedef void (*rd_fn)(void);
typedef struct rd {
    db *d;
    sqlite3 *c;
    sqlite3_stmt *st;
} rd;
int db__rd_open(db *d, rd *r, const char *sql);
/* Returns the number of rows, or -1 if stepping failed. */
int db__rd_rows(rd *r, void (*row)(sqlite3_stmt *st, rd_fn fn, void *ctx), rd_fn fn, void *ctx);

/* A query built from the filters that are set, each bound: a filter written
 * "(?1 IS NULL OR cluster = ?1)" keeps SQLite from using any index, so a
 * list would scan the whole table for every page. */
#define QB_MAX_BINDS 12
typedef struct qb {
    char sql[1024];
    size_t len;
    int nwhere, nbind, overflow;
    struct {
        const char *text; /* NULL: int */
        int64_t num;
    } bind[QB_MAX_BINDS];
} qb;
/* Starts with sql (a SELECT ... FROM table). */
void db__qb_init(qb *q, const char *sql);
/* Adds "AND cond" (cond with one ?) bound to text, when text is not NULL. */
void db__qb_text(qb *q, const char *cond, const char *text);
/* Adds "AND cond" bound to num. */
void db__qb_num(qb *q, const char *cond, int64_t num);
/* Adds "AND cond" (no parameter). */
void db__qb_cond(qb *q, const char *cond);
/* Appends the tail (ORDER BY ...) and binds LIMIT to limit. */
void db__qb_limit(qb *q, const char *order, int64_t limit);
/* Prepares and binds q for a read; 0 or -1 (as db__rd_open). */
int db__qb_open(db *d, rd *r, qb *q);

/* The SQL of each list query, built as it will run (for the plan test). */
void db__events_qb(db *d, const event_query *eq, qb *q);
/* db_query_events, counting its work in w (may be NULL): the statements run
 * on the events table and the rows they read (the reads by id of the
 * answer itself aside). For the plan test. */
typedef struct db_events_work {
    int searches;
    long rows;
} db_events_work;
int db__query_events_work(db *d, const event_query *eq, db_event_fn *fn, void *ctx,
                          db_events_work *w);
void db__jobs_qb(const char *cluster, int unfinished, int64_t before, int limit, qb *q);
void db__failovers_qb(const failover_query *fq, qb *q);
void db__backups_qb(const char *cluster, int limit, qb *q);
void db__alerts_qb(int active_only, const char *cluster, int64_t before, int limit, qb *q);
void db__outbox_qb(const char *state, int64_t before, int limit, qb *q);
void db__audit_qb(const audit_query *aq, qb *q);
/* Stores a (sets its id) and, at most hourly, deletes records older than
 * keep_days. */
int db__audit_insert(db *d, audit_rec *a, int keep_days);

void db__col_text(sqlite3_stmt *st, int i, char *dst, size_t dstsz);
char *db__col_dup(sqlite3_stmt *st, int i);
int64_t db__col_opt_i64(sqlite3_stmt *st, int i);
void db__bind_opt_i64(sqlite3_stmt *st, int i, int64_t v);

/* --- writes: on the writer thread only, inside its transaction ---------- */

/* Stores n events and sets their ids. */
int db__insert_events(db *d, hp_event *evs, int n);
/* Stores f and sets its id. */
int db__insert_failover(db *d, hp_failover *f);
int64_t db__job_insert(db *d, const char *kind, const char *cluster, const char *params,
                       const char *actor, const char *reason, int64_t created_at);
/* The same, to start at run_at (epoch ms; 0: at once). */
int64_t db__job_insert_at(db *d, const char *kind, const char *cluster, const char *params,
                          const char *actor, const char *reason, int64_t created_at,
                          int64_t run_at);
/* NULL text leaves the column as it is. */
int db__job_save(db *d, int64_t id, const char *state, const char *steps, const char *error,
                 const char *result, const char *undo, int64_t started_at, int64_t ended_at);
int db__insert_backup(db *d, hp_backup *b);
int db__delete_backup(db *d, int64_t id);
/* 1 added, 0 already there, -1 error. */
int db__outbox_add(db *d, const char *channel, const char *key, const char *severity,
                   const char *payload, const char *text, int64_t now);
int db__outbox_mark(db *d, int64_t id, const char *state, int attempts, int64_t next_at,
                    const char *last_error, int64_t delivered_at);
/* The same with a global key (gkey, gstate, gat; NULLs: none) and the
 * sender (NULL: unchanged); see migrations/0014. */
int db__outbox_add_g(db *d, const char *channel, const char *key, const char *severity,
                     const char *payload, const char *text, int64_t now, const char *gkey,
                     const char *gstate, int64_t gat);
int db__outbox_mark_by(db *d, int64_t id, const char *state, int attempts, int64_t next_at,
                       const char *last_error, int64_t delivered_at, const char *sent_by);
/* Row id was claimed in etcd by this instance (by) at `at`. 0 or -1. */
int db__outbox_claimed(db *d, int64_t id, const char *by, int64_t at);
/* Opens an alert unless (cluster, rule, node) is open: its id, *created. */
int64_t db__alert_open(db *d, const alert_row *a, int *created);
/* Resolves the open (cluster, rule, node): its id, 0 if none, -1 error. */
int64_t db__alert_resolve(db *d, const char *cluster, const char *rule, const char *node,
                          int64_t at);
/* --- the dashboard's sets (recent.c) ------------------------------------ */
db_recent *db__recent_new(void);
void db__recent_free(db_recent *r);
/* What a change in the writer's open transaction touches (kinds: DB_RECENT_*
 * bits): the cluster's sets, a set showing job id or alert id. */
#define DB_RECENT_EVENTS 1
#define DB_RECENT_JOBS 2
#define DB_RECENT_ALERTS 4
#define DB_RECENT_BACKUPS 8
void db__recent_mark(db *d, const char *cluster, int kinds);
void db__recent_mark_job(db *d, int64_t id);
void db__recent_mark_alert(db *d, int64_t id);
/* After COMMIT: what was marked is read again on its next request. */
void db__recent_commit(db *d);
/* Sets read from the table since the start (for the tests). */
uint64_t db__recent_fills(db *d);

/* --- samples (samples.c) ------------------------------------------------ */
/* Stores n samples of one poll, then, when a minute has completed since the
 * last call, rolls up what completed into minute and hour buckets and deletes
 * what is past its retention. 0, or -1 with the batch's changes to undo. */
int db__samples_store(db *d, const db_sample *s, int n);
/* The SQL of one node's points at step for metric, and the i-th statement
 * of the rollup and retention (NULL past the last), for the plan test. */
void db__series_sql(char *sql, size_t sqlsz, int step, int metric);
const char *db__samples_sql(int i);

/* 1 acknowledged, 0 no such alert, -1 error. */
int db__alert_ack(db *d, int64_t id, const char *who, const char *comment, int64_t at);

#endif
