/* test_info.c — INFO parsing: a master's and a replica's real INFO text. */
#include <string.h>

#include "check.h"
#include "redis/info.h"
#include "model/topology.h"

static const char master_info[] =
    "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nuptime_in_seconds:42\r\n"
    "# Clients\r\nconnected_clients:7\r\n"
    "# Memory\r\nused_memory:1048576\r\nmaxmemory:104857600\r\nmem_fragmentation_ratio:1.53\r\n"
    "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:12\r\nrdb_bgsave_in_progress:0\r\n"
    "rdb_last_save_time:1700000000\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\n"
    "aof_last_write_status:ok\r\n"
    "# Stats\r\nsync_full:3\r\ntotal_commands_processed:12345\r\ninstantaneous_ops_per_sec:17\r\n"
    "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
    "slave0:ip=127.0.0.1,port=6380,state=online,offset=1000,lag=0\r\n"
    "slave1:ip=127.0.0.1,port=6381,state=wait_bgsave,offset=0,lag=3\r\n"
    "master_failover_state:no-failover\r\nmaster_repl_offset:1200\r\n";

static const char replica_info[] =
    "# Server\nredis_version:7.0.15\n# Replication\nrole:slave\nmaster_host:127.0.0.1\n"
    "master_port:6379\nmaster_link_status:down\nmaster_last_io_seconds_ago:-1\n"
    "master_sync_in_progress:0\nslave_repl_offset:950\nslave_priority:50\n"
    "master_link_down_since_seconds:7\n";

int main(void)
{
    node_info in;
    int n;

    n = info_parse(master_info, strlen(master_info), &in);
    CHECK(n > 15);
    CHECK(in.role == ROLE_MASTER);
    CHECK_STR(in.redis_version, "7.0.15");
    CHECK(in.uptime_s == 42);
    CHECK(in.connected_clients == 7);
    CHECK(in.used_memory == 1048576);
    CHECK(in.maxmemory == 104857600);
    CHECK(in.mem_fragmentation_ratio > 1.52 && in.mem_fragmentation_ratio < 1.54);
    CHECK(in.rdb_changes_since_last_save == 12);
    CHECK(in.rdb_last_save_time == 1700000000);
    CHECK_STR(in.rdb_last_bgsave_status, "ok");
    CHECK(in.aof_enabled == 1);
    CHECK(in.sync_full == 3);
    CHECK(in.total_commands_processed == 12345);
    CHECK(in.ops_per_sec == 17);
    CHECK(in.master_repl_offset == 1200);
    CHECK(in.connected_slaves == 2);
    CHECK(in.nreplicas == 2);
    CHECK_STR(in.replicas[0].ip, "127.0.0.1");
    CHECK(in.replicas[0].port == 6380);
    CHECK_STR(in.replicas[0].state, "online");
    CHECK(in.replicas[0].offset == 1000);
    CHECK(in.replicas[1].lag == 3);
    CHECK(in.link_up == -1);

    n = info_parse(replica_info, strlen(replica_info), &in);
    CHECK(n > 5);
    CHECK(in.role == ROLE_REPLICA);
    CHECK_STR(in.master_host, "127.0.0.1");
    CHECK(in.master_port == 6379);
    CHECK(in.link_up == 0);
    CHECK(in.slave_repl_offset == 950);
    CHECK(in.priority == 50);
    CHECK(in.link_down_since_s == 7);
    CHECK(in.used_memory == -1); /* absent stays unknown */
    CHECK(in.nreplicas == 0);

    /* Garbage and hostile text: no crash, nothing understood. */
    CHECK(info_parse("no colon here\r\n", 15, &in) == -1);
    CHECK(info_parse("", 0, &in) == -1);
    n = info_parse("used_memory:12abc\r\nrole:boss\r\nredis_version:"
                   "0123456789012345678901234567890123456789\r\n",
                   82, &in);
    CHECK(n == 3);
    CHECK(in.used_memory == -1);
    CHECK(in.role == ROLE_UNKNOWN);
    CHECK(strlen(in.redis_version) == sizeof(in.redis_version) - 1);
    /* A text without a final newline still parses its last line. */
    CHECK(info_parse("role:master", 11, &in) == 1 && in.role == ROLE_MASTER);
    return check_done();
}
