/* db.h — hapanel's SQLite store: opening it in WAL mode under the data dir,
 * applying the embedded migrations in order (PRAGMA user_version records the
 * last one), the rows and the read queries. One connection owns all writes
 * and only the writer thread uses it: every write goes through db/writer.h.
 * Readers borrow read-only connections from a small pool, so HTTP threads
 * never wait on the writer. One file per table (events.c, jobs.c, ...) over
 * the private db/internal.h. */
#ifndef HP_DB_H
#define HP_DB_H

#include <stddef.h>
#include <stdint.h>
#include "model/event.h"

typedef struct db db;

/* Opens (creating) DIR/hapanel.db and migrates it. On failure returns NULL and
 * writes the reason into err. Caller frees with db_free. */
db *db_open(const char *dir, char *err, size_t errsz);
void db_free(db *d);
/* The schema version after migration. */
int db_schema_version(db *d);

typedef struct event_query {
    const char *cluster, *type, *node; /* NULL = any */
    int64_t since, until;              /* ts bounds in ms, 0 = open */
    int64_t before;                    /* id < before, 0 = from the newest */
    int64_t after;                     /* id > after, 0 = any */
    int oldest_first;                  /* 1: ascending ids (the event stream's backlog) */
    int limit;                         /* 1..1000 */
    const char *severity;              /* NULL = any */
    /* Several values, comma-separated (NULL = any): types are terms that
     * match as db_type_matches says, severities words of info, warning,
     * critical. Each exact (type, severity) pair is one indexed search; the
     * results are merged by id. Past 64 pairs, one walk of the id order,
     * each row checked, to the limit: the same answer. */
    const char *types, *severities;
} event_query;

/* A comma-separated filter split into its terms (blanks around a term
 * dropped, empty terms skipped). */
#define DB_TERMS_MAX 8
#define DB_TERM_LEN 48
typedef struct db_terms {
    int n;
    char t[DB_TERMS_MAX][DB_TERM_LEN];
} db_terms;
/* Returns the number of terms, or -1 when there are more than DB_TERMS_MAX
 * or one is DB_TERM_LEN bytes or longer. */
int db_terms_split(const char *s, db_terms *out);
/* 1 when type matches one of the terms of the comma-separated list (an
 * empty list matches everything). A term that starts with + or - is a
 * prefix of the type as written ("+s": +sdown, +switch-master); one that
 * does not is a prefix of the type without its leading + or - ("sdown":
 * +sdown and -sdown; "node": node-down and node-up). A term that ends with
 * $ is the whole type ("+failover-end$": not +failover-end-for-timeout). */
int db_type_matches(const char *terms, const char *type);
/* The severities of a comma-separated list as a mask (1 info, 2 warning,
 * 4 critical; 0 for an empty list), or -1 when a word is none of them. */
int db_severity_mask(const char *list);

typedef void db_event_fn(void *ctx, const hp_event *e);
/* Calls fn for each matching event, newest first. Returns the number of rows or
 * -1 on error. Safe from any thread. */
int db_query_events(db *d, const event_query *q, db_event_fn *fn, void *ctx);

/* --- failovers -------------------------------------------------------- */

/* 1 when the latest stored failover of cluster is from old_master to
 * new_master and ended at or after since_ms, 0 if not, -1 on error. */
int db_failover_seen(db *d, const char *cluster, const char *old_master, const char *new_master,
                     int64_t since_ms);

typedef struct failover_query {
    const char *cluster; /* NULL = any */
    int64_t before;      /* id < before, 0 = newest */
    int limit;
    const char *node;     /* the old or the new master, NULL = any */
    int64_t since, until; /* started_at bounds in ms, 0 = open */
    /* As event_query's. A type term matches a failover's kind or the words
     * "failover" and "+switch-master"; a failover's severity is critical when
     * it failed or was aborted, else warning (automatic, forced) or info
     * (graceful). */
    const char *types, *severities;
} failover_query;

typedef void db_failover_fn(void *ctx, const hp_failover *f);
int db_query_failovers(db *d, const failover_query *q, db_failover_fn *fn, void *ctx);

/* --- jobs --------------------------------------------------------------- */

/* A job as stored. The text fields are JSON (params, steps, result, undo) or
 * plain text (error); all malloc'd, released by db_job_row_release. */
typedef struct db_job_row {
    int64_t id;
    char kind[32];
    char cluster[HP_NAME_MAX];
    char state[16];
    char actor[64];
    char reason[256];
    char *params, *steps, *error, *result, *undo;
    int64_t created_at, started_at, ended_at; /* 0 = not yet */
    int64_t run_at;                           /* a scheduled job's start; 0 = at once */
} db_job_row;

void db_job_row_release(db_job_row *r);

/* Reads one job: 1 found (release r), 0 not found, -1 error. */
int db_job_get(db *d, int64_t id, db_job_row *r);

typedef void db_job_fn(void *ctx, const db_job_row *r);
/* Jobs newest first; cluster NULL = any; unfinished = only queued/running. */
int db_query_jobs(db *d, const char *cluster, int unfinished, int64_t before, int limit,
                  db_job_fn *fn, void *ctx);

/* --- backups ----------------------------------------------------------- */

typedef void db_backup_fn(void *ctx, const hp_backup *b);
/* Backups newest first; cluster NULL = any. Returns rows or -1. */
int db_query_backups(db *d, const char *cluster, int limit, db_backup_fn *fn, void *ctx);
/* 1 found, 0 not, -1 error. */
int db_get_backup(db *d, int64_t id, hp_backup *b);

/* --- drills (issue 14 item 1, drills.c) ---------------------------------- */

/* A failover drill as stored (migrations/0011): the row is written at the
 * start (state running) and again at the end (ok or failed) with its report. */
typedef struct hp_drill {
    int64_t id;
    char cluster[HP_NAME_MAX];
    char mode[16];                        /* graceful, force, kill-master */
    int64_t job_id, started_at, ended_at; /* ms; ended_at 0 while running */
    char state[12];                       /* running, ok, failed */
    char *report;                         /* JSON text or NULL */
} hp_drill;

typedef void db_drill_fn(void *ctx, const hp_drill *dr);
/* Drills newest first; cluster NULL = any; limit 1..1000. dr->report is valid
 * during the call only. Returns rows or -1. Safe from any thread. */
int db_query_drills(db *d, const char *cluster, int limit, db_drill_fn *fn, void *ctx);

/* --- notification outbox -------------------------------------------------- */

typedef struct outbox_row {
    int64_t id;
    char channel[48];
    char key[96];
    char severity[12];
    char *payload, *text; /* malloc'd; outbox_row_release */
    char state[12];
    int attempts;
    int64_t next_at, created_at, delivered_at;
    char last_error[256];
    /* issue 15 (migrations/0014), a fleet of panels on etcd: the key every
     * instance computes alike for the same thing ("" on a single panel's
     * row), the state and time its claim stores (gstate "": a
     * create-if-absent claim), when this instance won the claim (0: not),
     * and who sent it ("" unknown; state skipped: another instance) */
    char gkey[192];
    char gstate[HP_ADDR_MAX];
    int64_t gat, claimed_at;
    char sent_by[64];
} outbox_row;

void outbox_row_release(outbox_row *r);
/* The oldest pending message of channel due by now: 1 (release r), 0 none,
 * -1 error. *next_due receives the earliest next_at of pending ones (0: none). */
int db_outbox_next(db *d, const char *channel, int64_t now, outbox_row *r, int64_t *next_due);
typedef void db_outbox_fn(void *ctx, const outbox_row *r);
int db_query_outbox(db *d, const char *state, int64_t before, int limit, db_outbox_fn *fn,
                    void *ctx);
/* The pending rows of channel that have a global key, are not claimed here
 * and were created before `before` (ms), oldest first, at most limit: what a
 * follower checks against the claims in etcd. Rows or -1. */
int db_outbox_unclaimed(db *d, const char *channel, int64_t before, int limit, db_outbox_fn *fn,
                        void *ctx);

/* --- alerts --------------------------------------------------------------- */

typedef struct alert_row {
    int64_t id;
    char cluster[HP_NAME_MAX];
    char rule[32];
    char node[HP_ADDR_MAX];
    char severity[12];
    char message[512];
    int64_t started_at, resolved_at; /* resolved_at 0: active */
    /* started_at is when the rule's condition began to hold, fired_at when
     * the rule fired (after its hold time); before migration 0008 both are
     * the firing time */
    int64_t fired_at;
    char acked_by[64];
    int64_t acked_at;
    char ack_comment[512];
} alert_row;

typedef void db_alert_fn(void *ctx, const alert_row *a);
int db_query_alerts(db *d, int active_only, const char *cluster, int64_t before, int limit,
                    db_alert_fn *fn, void *ctx);

/* The history's alert filters. A type term matches the rule (master_down,
 * replica_down, ...) as a prefix, or every alert when it matches the event
 * types alert-fired / alert-resolved (db_type_matches); since/until keep the
 * alerts active at some time in the window. */
typedef struct alert_query {
    int active_only;
    const char *cluster, *node;     /* NULL = any */
    const char *types, *severities; /* comma-separated, NULL = any */
    int64_t since, until;           /* ms, 0 = open */
    int64_t before;                 /* id < before, 0 = newest */
    int limit;
} alert_query;
int db_find_alerts(db *d, const alert_query *q, db_alert_fn *fn, void *ctx);

/* --- the live page's sets (recent.c) --------------------------------------
 * What the dashboard shows of a cluster, from memory: its latest events and
 * jobs, its active alerts, its newest backups, newest first, as the
 * db_query_* above would answer (at most DB_RECENT_MAX rows). A set is read
 * from the table once, and again only after the writer stored a change to it,
 * so a refresh without a change costs no SQL. Returns the number of rows
 * given to fn, or -1. Safe from any thread; fn runs under the sets' lock and
 * must not call back into them. */
#define DB_RECENT_MAX 100
int db_recent_events(db *d, const char *cluster, int limit, db_event_fn *fn, void *ctx);
int db_recent_jobs(db *d, const char *cluster, int limit, db_job_fn *fn, void *ctx);
int db_recent_alerts(db *d, const char *cluster, int limit, db_alert_fn *fn, void *ctx);
int db_recent_backups(db *d, const char *cluster, int limit, db_backup_fn *fn, void *ctx);
/* Grows whenever one of the cluster's sets changed (cluster NULL: any
 * cluster's): what a cache of the rendered page keys on. */
uint64_t db_recent_version(db *d, const char *cluster);

/* --- audit ------------------------------------------------------------- */

typedef struct audit_rec {
    int64_t id, ts;
    char actor[64], role[16], via[80], source[48]; /* via: "forwarded:<instance>" too */
    char action[128], target[256];
    char *params; /* JSON text; owned by the caller when writing, by db when reading */
    int status;
    char outcome[16];
} audit_rec;

typedef struct audit_query {
    const char *actor, *action, *outcome; /* NULL = any; exact matches */
    int64_t since, until;                 /* ts bounds in ms, 0 = open */
    int64_t before;                       /* id < before, 0 = from the newest */
    int limit;
} audit_query;

typedef void db_audit_fn(void *ctx, const audit_rec *a);
/* Calls fn for each matching record, newest first (a->params valid during
 * the call only). Returns the number of rows or -1. Safe from any thread. */
int db_query_audit(db *d, const audit_query *q, db_audit_fn *fn, void *ctx);

/* --- counts for /metrics ------------------------------------------------ */

enum { DB_COUNT_JOBS_BY_STATE, DB_COUNT_FAILOVERS_BY_KIND, DB_COUNT_OUTBOX_BY_STATE };
typedef void db_count_fn(void *ctx, const char *key, int64_t n);
/* Calls fn for each value of the column what names with its row count.
 * Returns the number of values or -1. Safe from any thread. */
int db_count_by(db *d, int what, db_count_fn *fn, void *ctx);

/* --- samples: the history charts (samples.c) ------------------------------
 * One row per node per poll, stored by the writer (evq_push_samples), rolled
 * up into minute and hour buckets as each completes and deleted past each
 * resolution's retention, by the writer too, a minute's work at a time. */

/* One node's figures at one poll; -1 where unknown (a master's lag). */
typedef struct db_sample {
    char cluster[HP_NAME_MAX];
    char node[HP_ADDR_MAX];
    int64_t ts; /* seconds since the epoch */
    int64_t lag_bytes, lag_ms, used_memory, maxmemory, clients, ops;
} db_sample;

/* A sample's milliseconds from seconds as the monitor has them (a lag from
 * INFO may be any number): -1 for a negative or NaN value (none), whole
 * milliseconds up to DB_SAMPLE_MS_MAX (about 31,700 years), that for
 * anything larger. The cast of an out-of-range double is undefined. */
#define DB_SAMPLE_MS_MAX 1000000000000000LL
int64_t db_sample_ms(double seconds);

/* How long each resolution is kept, in seconds. */
typedef struct db_samples_keep {
    int64_t raw_s, minute_s, hour_s;
} db_samples_keep;
/* Sets the retention ([history] settings); call before the writer starts.
 * Until then: raw 1 h, minutes 2 days, hours 90 days. */
void db_samples_set_keep(db *d, const db_samples_keep *k);
void db_samples_get_keep(db *d, db_samples_keep *k);

/* The metrics a series can show. */
enum {
    DB_METRIC_LAG_BYTES,
    DB_METRIC_LAG_SECONDS,
    DB_METRIC_MEMORY,
    DB_METRIC_CLIENTS,
    DB_METRIC_OPS,
    DB_METRIC_COUNT
};
/* "lag_bytes" ... "ops" -> DB_METRIC_*, or -1. */
int db_metric_parse(const char *name);
const char *db_metric_name(int metric);

#define DB_STEP_RAW 1 /* every poll (at most one point per second) */
#define DB_STEP_MINUTE 60
#define DB_STEP_HOUR 3600
/* The finest step whose rows are still kept back to from (now: the clock,
 * seconds) and whose points over [from, to] number at most max_points; 0
 * when not even hours fit. */
int db_series_auto_step(db *d, int64_t from, int64_t to, int64_t now, int max_points);

typedef struct series_query {
    const char *cluster;
    const char *node; /* NULL: every node of the cluster */
    int metric;       /* DB_METRIC_* */
    int step;         /* DB_STEP_* */
    int64_t from, to; /* seconds, inclusive */
    int max_points;   /* per node, at most */
} series_query;

/* Called once per node that has samples of the cluster, in address order,
 * with its n points (n may be 0), oldest first; ts in seconds, v in the
 * metric's unit (bytes, seconds, clients, ops/s). The arrays are valid
 * during the call only. */
typedef void db_series_fn(void *ctx, const char *node, const int64_t *ts, const double *v, int n);
/* Returns the number of nodes given to fn, or -1 on error. Safe from any
 * thread. */
int db_query_series(db *d, const series_query *q, db_series_fn *fn, void *ctx);
/* 1 when samples of cluster were ever stored (and not all expired), 0 not,
 * -1 error. */
int db_samples_known(db *d, const char *cluster);
#endif
