/* backup_remote.h — the off-site copies' durable queue (issue 14 item 6,
 * migrations/0012): the upload of each backup taken while [s3] is set
 * (columns on its backups row), and the remote deletions retention and
 * DELETE ask for (backup_remote_deletes, whose rows outlive the backup's).
 * The rows only: what is sent to the object store is actions/s3.c. Written
 * by the writer thread only (evq_backup_remote), read from the pool. */
#ifndef HP_DB_BACKUP_REMOTE_H
#define HP_DB_BACKUP_REMOTE_H

#include <stdint.h>

#include "db/db.h"

/* One remote object to delete. */
typedef struct hp_remote_delete {
    int64_t id, backup_id;
    char cluster[HP_NAME_MAX];
    char remote_key[512];
    int attempts;
    int64_t next_at;
} hp_remote_delete;

/* The backup whose upload is due soonest, if due by now: 1 (into b), 0
 * none due, -1 error. *next_due gets the earliest pending attempt (0 none). */
int db_backup_upload_next(db *d, int64_t now, hp_backup *b, int64_t *next_due);
/* The same for the remote deletions. */
int db_remote_delete_next(db *d, int64_t now, hp_remote_delete *r, int64_t *next_due);
/* Rows in backup_remote_deletes (for /metrics and the tests), or -1. */
int db_remote_delete_count(db *d);

enum {
    BR_UPLOAD_MARK = 1, /* an upload attempt's outcome: state, attempts, next_at, error,
                           uploaded_at; an object uploaded for a row gone meanwhile is
                           queued for deletion (answer 0, else 1) */
    BR_UPLOAD_RESET,    /* upload again from attempt 1 at next_at (key: the object's
                           name when the backup has none yet); answer 1, or 0 when the
                           copy is uploaded or being deleted */
    BR_RETIRE,          /* remote retention: delete the copy, keep the backup */
    BR_DELETE_DONE,     /* id: the deletion's row; the backup's copy is 'deleted' */
    BR_DELETE_RETRY,    /* id: the deletion's row: attempts, next_at, error */
};

typedef struct backup_remote_op {
    int what;            /* BR_* */
    int64_t id;          /* the backup's id (the deletion's for BR_DELETE_*) */
    int64_t backup_id;   /* BR_DELETE_*: the backup's, whose row may be gone */
    const char *cluster; /* the backup's */
    const char *key;     /* the object's name */
    const char *state;   /* BR_UPLOAD_MARK: pending, uploaded, failed */
    const char *error;   /* NULL: none */
    int attempts;
    int64_t next_at, uploaded_at, now;
} backup_remote_op;

/* On the writer thread: the upload row of b, queued when b->remote_key is
 * set (called by the backup's insert, in its transaction). 0 or -1. */
int db__backup_remote_queue(db *d, const hp_backup *b);
/* On the writer thread, before backup id's row is removed: its remote copy
 * (pending, uploaded or being deleted) is queued for deletion. 0 or -1. */
int db__backup_remote_forget(db *d, int64_t id);
/* On the writer thread: applies op. Returns its answer (see BR_*) or -1. */
int64_t db__backup_remote_apply(db *d, const backup_remote_op *op);

struct evq;
/* Applies op through the writer and waits: its answer, or -1. */
int evq_backup_remote(struct evq *q, const backup_remote_op *op);

#endif
