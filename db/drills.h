/* drills.h — writing the failover drills' rows (migrations/0011); the row
 * type and the list query are in db.h, where the dashboard reads them.
 * Written by the writer thread only (evq_drill_save), read from the pool. */
#ifndef HP_DB_DRILLS_H
#define HP_DB_DRILLS_H

#include <stdint.h>

#include "db/db.h"

/* One drill by id into dr: 1 found (free dr->report), 0 not, -1 error. */
int db_get_drill(db *d, int64_t id, hp_drill *dr);
/* The drill row of job job_id into dr: 1 found (free dr->report), 0, -1. */
int db_drill_of_job(db *d, int64_t job_id, hp_drill *dr);

/* On the writer thread: inserts dr (id 0, then set) or updates its row. */
int64_t db__drill_save(db *d, hp_drill *dr);

struct evq;
/* Stores dr through the writer and waits (as evq_maintenance_save): 0 or -1.
 * dr->report is copied, the caller keeps it. */
int evq_drill_save(struct evq *q, hp_drill *dr);

#endif
