/* maintenance.h — maintenance windows as stored (migrations/0009): one row
 * per window, open while ended_at is 0. The row is the durable copy of what
 * the window changed (each replica's replica-priority before it), so the
 * end, expiry and the next start after a crash can put it back. Written by
 * the writer thread only (evq_maintenance_save), read from the pool. */
#ifndef HP_DB_MAINTENANCE_H
#define HP_DB_MAINTENANCE_H

#include <stdint.h>

#include "db/db.h"

typedef struct hp_maint {
    int64_t id; /* 0: not stored yet */
    char cluster[HP_NAME_MAX];
    int64_t started_at, until, ended_at; /* ms; ended_at 0 while open */
    char reason[256];
    char actor[64];
    char priorities[1024]; /* JSON {addr: priority}: the originals */
    char state[16];        /* starting, active, ended, failed */
    int64_t start_job, end_job;
    char end_cause[16]; /* delete, expired, failed */
} hp_maint;

/* The open window of cluster into m: 1 found, 0 none, -1 error. */
int db_maintenance_open(db *d, const char *cluster, hp_maint *m);
typedef void db_maint_fn(void *ctx, const hp_maint *m);
/* Every open window (of any cluster). Returns rows or -1. */
int db_maintenance_each_open(db *d, db_maint_fn *fn, void *ctx);

/* On the writer thread: inserts m (id 0, then set) or updates its row. 0/-1. */
int64_t db__maintenance_save(db *d, hp_maint *m);

struct evq;
/* Stores m through the writer and waits (as evq_audit): 0, or -1. */
int evq_maintenance_save(struct evq *q, hp_maint *m);

#endif
