/* sreply.h — reads the replies of SENTINEL MASTERS, SENTINEL REPLICAS <name> and
 * SENTINEL SENTINELS <name> (arrays of flat field/value arrays) and the payload of
 * the events Sentinel publishes on its pub/sub channels. Pure: works on hiredis
 * reply objects and strings, does no I/O, so it is unit-tested with replies made
 * by hiredis' own reader. */
#ifndef HP_SREPLY_H
#define HP_SREPLY_H

#include <stdint.h>
#include "core/common.h"

struct redisReply;

/* One entry of SENTINEL MASTERS / REPLICAS / SENTINELS. Absent numbers are -1. */
typedef struct sentinel_entry {
    char name[HP_NAME_MAX]; /* masters: the master name; others: "ip:port" */
    char ip[HP_HOST_MAX];
    int port;
    char flags[96];
    int quorum;                    /* masters */
    int num_slaves;                /* masters */
    int num_other_sentinels;       /* masters */
    char failover_state[32];       /* masters */
    int priority;                  /* replicas: slave-priority */
    char master_host[HP_HOST_MAX]; /* replicas */
    int master_port;
    char link_status[8]; /* replicas: master-link-status ok/err */
    int64_t repl_offset; /* replicas: slave-repl-offset */
    char runid[48];
    /* What Sentinel's replica selection reads (sentinelSelectSlave), in ms:
     * since its last INFO of the instance, since its last valid PING reply,
     * and how long the instance reports its master link down. */
    int64_t info_refresh_ms, last_ok_ping_ms, link_down_ms;
    int64_t down_after_ms;       /* masters: down-after-milliseconds */
    int64_t failover_timeout_ms; /* masters: failover-timeout */
    int64_t s_down_ms;           /* masters: s-down-time, how long it is subjectively down */
} sentinel_entry;

/* Fills up to max entries from an array reply; returns how many, or -1 when the
 * reply is not an array of field/value arrays. */
int sreply_entries(const struct redisReply *r, sentinel_entry *out, int max);

/* Reads one flat field/value array (the reply of SENTINEL MASTER <name>).
 * Returns 0, or -1 when it is not one. */
int sreply_entry(const struct redisReply *r, sentinel_entry *out);

/* Returns 1 when flags (a comma list like "s_down,slave") contains word. */
int sreply_has_flag(const char *flags, const char *word);

/* A Sentinel event payload split into its parts:
 *   "<type> <name> <ip> <port> @ <master-name> <master-ip> <master-port>"
 *   "master <name> <ip> <port> ..."  (instance is the master itself)
 *   "<master-name> <old-ip> <old-port> <new-ip> <new-port>"  (+switch-master) */
typedef struct sentinel_event {
    char cluster[HP_NAME_MAX];    /* master name the event concerns, "" if unknown */
    char node[HP_ADDR_MAX];       /* instance the event is about, "" if none */
    char old_master[HP_ADDR_MAX]; /* +switch-master only */
    char new_master[HP_ADDR_MAX];
} sentinel_event;

/* Parses the payload of an event published on channel type. Returns 0, or -1
 * when the payload is not of a known shape (the event is still worth keeping). */
int sreply_event(const char *type, const char *payload, sentinel_event *out);

#endif
