/* info.h — parses the text of Redis' INFO reply into the fields hapanel shows
 * and reasons about. Pure: no I/O, no allocation; unit-tested without a server. */
#ifndef HP_INFO_H
#define HP_INFO_H

#include <stddef.h>
#include <stdint.h>
#include "core/common.h"

#define INFO_MAX_REPLICAS 64

/* The role a node's INFO reports. */
typedef enum { ROLE_UNKNOWN = 0, ROLE_MASTER, ROLE_REPLICA } node_role;

const char *role_name(int role); /* "master", "replica", "unknown" */

/* One "slaveN:ip=...,port=...,state=...,offset=...,lag=..." line of a master. */
typedef struct info_replica {
    char ip[HP_HOST_MAX];
    int port;
    char state[16]; /* online, wait_bgsave, send_bulk, ... */
    int64_t offset; /* the replica's last acknowledged offset */
    int64_t lag;    /* seconds since its last ack */
} info_replica;

/* Fields absent from the text stay -1 (numbers) or "" (strings). */
typedef struct node_info {
    int role; /* ROLE_* of topology.h */
    char redis_version[16];
    char redis_mode[16];   /* standalone, sentinel */
    char config_file[256]; /* "" when it runs without one */
    int64_t uptime_s;
    /* replica side */
    char master_host[HP_HOST_MAX];
    int master_port;
    int link_up; /* master_link_status: 1 up, 0 down, -1 absent */
    int64_t link_down_since_s;
    int sync_in_progress;
    int64_t slave_repl_offset;
    int priority;
    /* both */
    int64_t master_repl_offset;
    int connected_slaves;
    int64_t used_memory, maxmemory;
    double mem_fragmentation_ratio;
    int64_t connected_clients;
    int64_t rdb_last_save_time;
    char rdb_last_bgsave_status[8];
    int64_t rdb_changes_since_last_save;
    int rdb_bgsave_in_progress;
    int aof_enabled;
    char aof_last_write_status[8];
    int64_t sync_full;
    int64_t total_commands_processed; /* stats: since start */
    int64_t ops_per_sec;              /* stats: instantaneous_ops_per_sec */
    int loading;
    info_replica replicas[INFO_MAX_REPLICAS];
    int nreplicas;       /* entries filled */
    int nreplicas_total; /* slaveN lines seen, may exceed the array */
} node_info;

/* Parses len bytes of INFO text into out (which it resets first). Returns the
 * number of key:value lines understood, or -1 if text holds none at all. */
int info_parse(const char *text, size_t len, node_info *out);

#endif
