/* backup_restore.h — the backups' key figures and restore checks (issue 14
 * item 7, migrations/0013): what the RDB walker counted in a backup's file,
 * and the outcome of the last restore check. The rows only: the walk is
 * redis/rdbwalk.c, the check actions/restore.c. Written by the writer thread
 * only (evq_backup_restore), read from the pool. */
#ifndef HP_DB_BACKUP_RESTORE_H
#define HP_DB_BACKUP_RESTORE_H

#include <stdint.h>

#include "db/db.h"

enum {
    BRS_FIGURES = 1, /* keys, expires, sample, walk_error (keys < 0: stored as NULL) */
    BRS_CHECKED,     /* checked_at, ok, detail */
};

typedef struct backup_restore_op {
    int what;            /* BRS_* */
    int64_t id;          /* the backup's */
    const char *cluster; /* the backup's (its dashboard set changes) */
    int64_t keys, expires;
    const char *sample;     /* JSON text, or NULL */
    const char *walk_error; /* NULL: none */
    int64_t checked_at;
    int ok;
    const char *detail;
} backup_restore_op;

/* The sample of backup id as stored (JSON text): 1 with *json set (caller
 * frees with free; NULL when there is none), 0 no such backup, -1 error. */
int db_backup_sample(db *d, int64_t id, char **json);

/* On the writer thread: applies op. 1 the row was changed, 0 it is gone,
 * -1 error. */
int64_t db__backup_restore_apply(db *d, const backup_restore_op *op);

struct evq;
/* Applies op through the writer and waits: its answer, or -1. */
int evq_backup_restore(struct evq *q, const backup_restore_op *op);

#endif
