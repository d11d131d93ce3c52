/* s3.h — off-site copies of the backups in an S3-compatible object store
 * (issue 14 item 6): the requests (PUT, HEAD, DELETE, GET, signed with
 * libcurl's AWS SigV4), the uploader that works through the durable queue
 * of db/backup_remote.h, remote retention, and the "backup-upload" job that
 * asks for an upload again. Not the backup itself (backup.c) nor the
 * catalogue (db/backups.c). */
#ifndef HP_S3_H
#define HP_S3_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "db/writer.h"
#include "model/event.h"

struct db;
typedef struct job job;

/* 1 when [s3] names an endpoint (off-site copies are on). */
int s3_enabled(const config *cfg);
/* The object name of the backup file at path: the prefix and the file's
 * name. "" (and -1) when it does not fit keysz. */
int s3_key_for(const config *cfg, const char *path, char *key, size_t keysz);

/* One request on key. PUT sends the file at path (size bytes, sha256 hex:
 * the x-amz-content-sha256 the signature covers); GET writes the object to
 * path (at most size bytes when size > 0: a larger object is refused);
 * HEAD sets *length (-1 unknown); DELETE. Returns the HTTP status
 * (2xx ok), or -1 when no answer came; err gets the reason (never a key,
 * a signature or a secret). stop, if not NULL, aborts the transfer once
 * it reads non-zero. */
long s3_request(const config *cfg, const char *method, const char *key, const char *path,
                int64_t size, const char *sha256, int64_t *length, const int *stop, char *err,
                size_t errsz);

/* Remote retention over a cluster's catalogue (newest first, as
 * backup_retention has it): the copies [s3] keep_last / keep_days no longer
 * keep are queued for deletion (the backups stay). Returns how many. */
int s3_retention(const config *cfg, evq *q, const hp_backup *list, int n, job *jb);

typedef struct s3_uploader s3_uploader;
/* Starts the thread that uploads the pending copies and deletes the
 * retired ones (now, and then every second), each with exponential backoff
 * (1 s, 2 s, 4 s ... at most 5 min): an upload is failed after
 * [s3] max_attempts (a backup-upload-failed event, which opens the
 * backup_upload alert), a deletion is retried until it is done. NULL when
 * [s3] is off or the thread cannot start. */
s3_uploader *s3_uploader_new(const config *cfg, struct db *d, evq *q);
/* Stops it (an upload in progress is abandoned and stays pending). NULL is
 * a no-op. */
void s3_uploader_free(s3_uploader *u);

/* params: {backup_id}: the upload starts over from attempt 1 now; the job
 * follows the first attempt and says how it went (later ones go on in the
 * background). */
int recipe_backup_upload(job *jb);

#endif
