/* notify.h — Telegram and webhook notifications through a durable outbox in
 * SQLite. What notifies: every failover (once per channel, with its kind and
 * old -> new master), a failover job's start and failure, and alerts firing
 * and resolving (backups going stale or failing among them: the writer opens
 * those rows, see alerts_of_event). It writes only outbox rows, through the
 * writer. */
#ifndef HP_NOTIFY_H
#define HP_NOTIFY_H

#include "core/config.h"
#include "db/writer.h"

struct db;
struct cJSON;
typedef struct notifier notifier;

/* Starts one sender thread per configured channel; pending messages of an
 * earlier run are sent. Returns NULL on failure. */
notifier *notify_new(const config *cfg, struct db *d, evq *q);
void notify_free(notifier *nt);

/* The history writer's hook (evq_set_hook): called on the writer thread after
 * each stored batch, it adds outbox rows. ctx is the notifier. */
void notify_hook(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf);

/* Sends a test message to every channel now and returns one result object
 * per channel: {channel, kind, ok, error}. Caller frees with cJSON_Delete. */
struct cJSON *notify_test(notifier *nt);

#endif
