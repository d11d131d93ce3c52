/* ha.h — hapanel itself highly available: leadership on etcd (issue 15).
 *
 * With [ha] etcd_endpoints set, every instance monitors, stores its own
 * history and serves reads, but only the leader — the holder of the key
 * <prefix>/leader, attached to an etcd lease it keeps alive — runs jobs and
 * scheduled work and sends notifications. Without it there is no ha object
 * (ha_new returns NULL) and every caller treats NULL as "always the leader",
 * so a single panel behaves exactly as before.
 *
 * etcd is reached through its v3 JSON gateway with libcurl (etcd.c); every
 * call has a timeout, and the leader steps down on its own clock when etcd
 * has not confirmed its lease for close to a TTL, before any other instance
 * can take over. */
#ifndef HP_HA_H
#define HP_HA_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "db/writer.h"

typedef struct ha ha;

/* NULL with err[0] == '\0' when HA is off (no endpoints); NULL with err set
 * on a bad setting or no memory. */
ha *ha_new(const config *cfg, evq *q, char *err, size_t errsz);
/* Starts the lease thread. 0 or -1. */
int ha_start(ha *h);
/* Stops the thread and revokes the lease, so a follower takes over at once
 * on a clean stop; h stays valid (not the leader) for the threads that may
 * still read it (the writer's notify hook: ha_status_get), until ha_free.
 * NULL and a second call are fine. */
void ha_stop(ha *h);
/* ha_stop, then frees h. NULL is fine. */
void ha_free(ha *h);

/* 1 while this instance leads (or h is NULL). Thread-safe, cheap. */
int ha_is_leader(const ha *h);
/* Blocks up to ms until this instance leads: 1 leads, 0 not (h NULL: 1). */
int ha_wait_leader(ha *h, int ms);
/* Called from the lease thread on every change of leadership (leader = 1
 * gained, 0 lost). Register before ha_start; at most 8. */
void ha_on_change(ha *h, void (*fn)(void *ctx, int leader), void *ctx);
/* No callback runs after it returns (one under way is waited for): call it
 * before freeing what they point to (jobs_free). NULL is fine. */
void ha_drop_callbacks(ha *h);

typedef struct ha_status {
    int enabled;    /* 0: no [ha] (then everything else is zero) */
    int leader;     /* this instance leads */
    int etcd_ok;    /* the last call to etcd answered */
    int name_taken; /* another live instance holds this instance's name: not a candidate */
    char self_id[64], self_url[256];
    char leader_id[64], leader_url[256]; /* empty: no leader known */
    int64_t leader_since_ms;             /* epoch ms the current leader took the key */
    int64_t last_ok_ms;                  /* epoch ms of the last answer from etcd */
    int64_t term;                        /* the leader key's create_revision */
    uint64_t changes, keepalives, keepalive_failures;
} ha_status;
void ha_status_get(const ha *h, ha_status *out);

/* Claims for exactly-once work (a notification, a scheduled backup's slot),
 * under <prefix>/claims/. key is the part after that. Each returns
 *  1: ours (created now, or already held by this instance),
 *  0: another instance's (its id copied to by),
 * -1: etcd did not answer or this instance does not lead (try again later).
 * ha_claim creates the key only if absent (a txn on create_revision 0),
 * with a lifetime of ttl_s (a lease of its own; 0 = for ever).
 * ha_transition is for a subject's state (a cluster's master, an alert):
 * it succeeds when the stored state differs from state and its time is
 * older than at_ms (absent: succeeds), and stores {state, at, by}.
 *
 * Claims of a message (ha_claim_msg, and every ha_transition) are confirmed
 * after the send: they store "sent": false, and the sender rewrites them
 * with ha_claim_sent once the receiver took the message. Their answers add
 *  HA_CLAIM_DONE: ours and already confirmed (do not send it again),
 *  HA_CLAIM_HELD: another instance's, not confirmed, and that instance is
 *                 alive (its instances/<id> key is there): it sends it; ask
 *                 again later,
 * and 0 only for a claim another instance confirmed (or, for a transition,
 * a later change of the subject). An unconfirmed claim of a dead instance
 * (it may have died between its claim and its send) is taken over by the
 * leader with a CAS (1). Finding a claim already ours needs no lead (a
 * restarted owner resends what it claimed and did not confirm). */
#define HA_CLAIM_DONE 2
#define HA_CLAIM_HELD 3
int ha_claim(ha *h, const char *key, int ttl_s, char *by, size_t bysz);
int ha_claim_msg(ha *h, const char *key, int ttl_s, char *by, size_t bysz);
int ha_transition(ha *h, const char *key, const char *state, int64_t at_ms, char *by, size_t bysz);
/* Confirms this instance's claim of key as sent (a CAS on its
 * mod_revision; a few tries). 0, or -1 (etcd did not answer, or the claim
 * is no longer ours). No lead needed. */
int ha_claim_sent(ha *h, const char *key);

/* Fenced writes for state the next leader needs (jobs mirrored in etcd),
 * under <prefix>/: the txn also checks this instance still holds the leader
 * key (create_revision == term). 0 done, -1 not leader / etcd down. */
int ha_put_fenced(ha *h, const char *key, const char *value);
int ha_delete(ha *h, const char *key);
/* A registered instance, as its instances/<id> key says (leader.c writes it). */
typedef struct ha_instance {
    char id[64], url[256], version[32];
    int64_t started_ms;
} ha_instance;
#define HA_INST_MAX 32          /* instances kept in the list at most */
#define HA_INST_REFRESH_MS 1000 /* the list is read from etcd this often */
/* The registered instances, in name order, as a thread of their own last
 * read them from etcd (every HA_INST_REFRESH_MS, so no caller waits on
 * etcd): up to HA_INST_MAX into out (*n of them; *more: etcd had more),
 * *at_ms: when that list was read (epoch ms), *failed: the latest read
 * failed (the list is older). Returns 1 when a list was read, 0 when none
 * yet (or [ha] is off). No I/O. */
int ha_instances(ha *h, ha_instance *out, int *n, int *more, int64_t *at_ms, int *failed);

/* Every key under <prefix>/<prefix_key>: fn(ctx, key (after <prefix>/), value). 0 or -1. */
int ha_list(ha *h, const char *prefix_key,
            void (*fn)(void *ctx, const char *key, const char *value), void *ctx);

#endif
