/* restore.h — the restore check of a backup (issue 14 item 7): the RDB file
 * is loaded into a scratch redis-server on the panel's own host (loopback,
 * a free port, a temp dir under the data dir, nothing saved), and what it
 * loaded is compared with the key figures the RDB walker stored in the
 * catalogue (redis/rdbwalk.h): DBSIZE within [keys - expires, keys] (keys
 * that expired since the backup are dropped at load) and every sampled key
 * without an expiry present with its type. The server is always stopped
 * and the temp dir always removed, after a crash of hapanel too (the kind's
 * recover function). It never connects to the monitored Redis. */
#ifndef HP_ACTIONS_RESTORE_H
#define HP_ACTIONS_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "db/writer.h"

typedef struct job job;

/* The redis-server [restore] redis_server names: a path, or a name looked up
 * in PATH. Returns 0 with the executable's path in buf, or -1 with why in
 * buf (not found, not executable). */
int restore_find_server(const config *cfg, char *buf, size_t bufsz);

/* Walks the backup's file and stores its key figures on the backup row
 * (keys, expires, sample, walk_error), with a step and the figures in the
 * result of jb when jb is not NULL. Returns 0 when figures were stored (a
 * partial walk included), -1 when the file could not be walked (the reason
 * is stored as walk_error and put in err) or nothing could be stored. */
struct hp_backup;
int restore_walk_backup(job *jb, evq *q, const struct hp_backup *b, char *err, size_t errsz);

/* params: {backup_id} — the check, as described above. */
int recipe_verify_restore(job *jb);
/* After a crash: stops the scratch server the undo names and removes its
 * directory; the job fails. */
int recipe_verify_restore_recover(job *jb);

#endif
