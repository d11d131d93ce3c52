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
struct ha;
typedef struct notifier notifier;

/* A notifier for cfg's channels; the hook works at once, nothing is sent
 * before notify_start. Returns NULL on failure. */
notifier *notify_new(const config *cfg, struct db *d, evq *q);
/* The fleet's leadership (ha/ha.h; NULL, the default: a single panel,
 * always the leader): then only the leader sends, each message after its
 * claim in etcd. Before notify_start (and before ha_start: it registers an
 * ha_on_change). */
void notify_set_ha(notifier *nt, struct ha *h);
/* Starts one sender thread per configured channel; pending messages of an
 * earlier run are sent. 0, or -1 (notify_stop stops those started). */
int notify_start(notifier *nt);
/* Stops the senders (each finishes the message it is sending): before the
 * writer is freed, since they mark the outbox through it. The hook stays
 * usable: what it adds meanwhile waits in the outbox for the next start. */
void notify_stop(notifier *nt);
void notify_free(notifier *nt);

/* The history writer's hook (evq_set_hook): called on the writer thread after
 * each stored batch, it adds outbox rows. ctx is the notifier. */
void notify_hook(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf);

/* Sends a test message to every channel now and returns one result object
 * per channel: {channel, kind, ok, error}. Caller frees with cJSON_Delete. */
struct cJSON *notify_test(notifier *nt);

/* The signature header of a body signed with key, as every signed request
 * of hapanel carries it (webhooks, the pre-failover hook): the line
 * "X-Hapanel-Signature: sha256=<hex HMAC-SHA256 of body>" written into out
 * (96 bytes suffice). The receiver recomputes it with the shared key. */
void notify_signature(const char *key, const char *body, char *out, size_t outsz);

#endif
