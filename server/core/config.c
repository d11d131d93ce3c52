/* config.c — the settings table and its three readers (see config.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/config.h"

#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/roles.h"
#include "core/log.h"
#include "core/banned.h" /* last: after every system header */

enum { K_STR, K_SECRET, K_INT };

typedef struct cfg_key {
    const char *section, *key, *env;
    int kind;
    size_t off, size;
    int min, max; /* K_INT */
    const char *def, *help;
} cfg_key;

#define S(sec, k, env, member, kind, def, help)                                                    \
    {                                                                                              \
        sec, k, env, kind, offsetof(config, member), sizeof(((config *)0)->member), 0, 0, def,     \
            help                                                                                   \
    }
#define I(sec, k, env, member, lo, hi, def, help)                                                  \
    {                                                                                              \
        sec, k, env, K_INT, offsetof(config, member), sizeof(int), lo, hi, def, help               \
    }

static const cfg_key keys[] = {
    S("sentinel", "hosts", "REDIS_SENTINEL_HOSTS", sentinel_hosts, K_STR, "",
      "Sentinel addresses to start discovery from, host:port,... (required)"),
    S("sentinel", "masters", "REDIS_SENTINEL_MASTER_NAME", master_names, K_STR, "",
      "master names to watch, comma separated; empty watches every master the Sentinels monitor"),
    S("sentinel", "password", "REDIS_SENTINEL_PASSWORD", sentinel_password, K_SECRET, "",
      "password of the Sentinels (requirepass of sentinel.conf); never shown"),
    S("sentinel", "user", "REDIS_SENTINEL_USERNAME", sentinel_user, K_SECRET, "",
      "ACL user of the Sentinels (AUTH user password); empty: the default user"),
    S("redis", "user", "REDIS_USERNAME", redis_user, K_SECRET, "",
      "ACL user of the Redis nodes (AUTH user password); empty: the default user"),
    S("sentinel", "address_map", "HAPANEL_ADDRESS_MAP", address_map_raw, K_STR, "",
      "announced=reachable address pairs, comma separated: connect to the second where "
      "Sentinel or a node names the first (NAT, a port forward, a TLS tunnel such as stunnel)"),
    S("redis", "password", "REDIS_PASSWORD", redis_password, K_SECRET, "",
      "password of the Redis nodes (requirepass); never shown"),
    I("monitor", "poll_interval_ms", "HAPANEL_POLL_INTERVAL_MS", poll_interval_ms, 50, 60000,
      "1000", "how often every node and Sentinel is polled"),
    S("monitor", "resolv_conf", "HAPANEL_RESOLV_CONF", resolv_conf, K_STR, "",
      "resolver file to read instead of /etc/resolv.conf (name servers, search domains)"),
    I("monitor", "timeout_ms", "HAPANEL_TIMEOUT_MS", timeout_ms, 50, 60000, "1000",
      "connect and request timeout; a node missing it twice in a row is shown down"),
    S("http", "listen", "HAPANEL_LISTEN", listen, K_STR, "127.0.0.1:8080",
      "address the dashboard and API listen on, host:port"),
    I("http", "threads", "HAPANEL_HTTP_THREADS", http_threads, 1, 1024, "32",
      "HTTP worker threads: they serve complete requests only (connections wait in the edge)"),
    I("http", "header_timeout_ms", "HAPANEL_HTTP_HEADER_TIMEOUT_MS", http_header_timeout_ms, 100,
      600000, "5000", "a request's headers (and a TLS handshake) must arrive within this"),
    I("http", "body_timeout_ms", "HAPANEL_HTTP_BODY_TIMEOUT_MS", http_body_timeout_ms, 100, 600000,
      "10000", "a request's body (at most 64 KiB) must arrive within this after its headers"),
    I("http", "keepalive_ms", "HAPANEL_HTTP_KEEPALIVE_MS", http_keepalive_ms, 0, 3600000, "30000",
      "an idle keep-alive connection is closed after this"),
    I("http", "max_conns", "HAPANEL_HTTP_MAX_CONNS", http_max_conns, 16, 1000000, "4096",
      "open client connections at most (also bounded by the open-files limit); more get 503"),
    I("http", "max_conns_per_addr", "HAPANEL_HTTP_MAX_CONNS_PER_ADDR", http_max_conns_per_addr, 1,
      1000000, "128",
      "open connections from one source address at most; more get 503 (raise it behind a proxy)"),
    I("http", "max_streams", "HAPANEL_HTTP_MAX_STREAMS", http_max_streams, 1, 1000000, "1000",
      "open live streams (dashboards, event streams) at most; more get 503 and the page polls"),
    S("http", "tls_cert", "HAPANEL_TLS_CERT", tls_cert, K_STR, "",
      "PEM certificate (chain); with tls_key set, the listen port speaks only TLS 1.2+"),
    S("http", "tls_key", "HAPANEL_TLS_KEY", tls_key, K_STR, "", "PEM private key of tls_cert"),
    S("http", "tls_client_ca", "HAPANEL_TLS_CLIENT_CA", tls_client_ca, K_STR, "",
      "PEM CA certificates: when set, clients must present a certificate they signed (mTLS)"),
    S("auth", "tokens", "HAPANEL_API_TOKENS", api_tokens, K_SECRET, "",
      "API tokens, role:token or role:name:token, comma separated; roles viewer, operator, "
      "admin; the token stored as hapanel --hash-token prints it (plain text is warned about)"),
    S("auth", "users", "HAPANEL_USERS", users_raw, K_SECRET, "",
      "dashboard logins, role:name:hash, comma separated; the hash from hapanel --hash-password"),
    I("auth", "metrics_open", "HAPANEL_METRICS_OPEN", metrics_open, 0, 1, "0",
      "1: /metrics needs no credential (for a Prometheus without one); 0: viewer or above"),
    I("auth", "anonymous_read", "HAPANEL_ANONYMOUS_READ", anonymous_read, 0, 1, "0",
      "1: reading the dashboard and the API needs no credential (actions still do)"),
    I("auth", "session_idle_s", "HAPANEL_SESSION_IDLE_S", session_idle_s, 1, 86400 * 7, "1800",
      "a dashboard login ends after this long without a request"),
    I("auth", "session_max_s", "HAPANEL_SESSION_MAX_S", session_max_s, 1, 86400 * 30, "43200",
      "and after this long in any case"),
    I("auth", "login_max_failures", "HAPANEL_LOGIN_MAX_FAILURES", login_max_failures, 1, 1000, "5",
      "failed logins per source address, and per user, per minute before 429"),
    I("audit", "keep_days", "HAPANEL_AUDIT_KEEP_DAYS", audit_keep_days, 1, 36500, "365",
      "audit records older than this are deleted"),
    I("history", "raw_keep_s", "HAPANEL_HISTORY_RAW_KEEP_S", history_raw_keep_s, 1, 604800, "3600",
      "the charts' samples: every poll's is kept this long, then only its minute's bucket"),
    I("history", "minute_keep_h", "HAPANEL_HISTORY_MINUTE_KEEP_H", history_minute_keep_h, 1, 8760,
      "48", "minute buckets (largest lag, memory, clients; mean ops/s) are kept this long"),
    I("history", "hour_keep_days", "HAPANEL_HISTORY_HOUR_KEEP_DAYS", history_hour_keep_days, 1,
      3650, "90", "hour buckets are kept this long"),
    S("storage", "data_dir", "HAPANEL_DATA_DIR", data_dir, K_STR, "/var/lib/hapanel",
      "where hapanel.db (the history) lives"),
    S("log", "level", "HAPANEL_LOG_LEVEL", log_level, K_STR, "info", "error, warn, info or debug"),
    S("backup", "dir", "HAPANEL_BACKUP_DIR", backup_dir, K_STR, "",
      "where RDB backups are written; empty means DATA_DIR/backups"),
    S("backup", "daily_at", "HAPANEL_BACKUP_DAILY_AT", backup_daily_at, K_STR, "03:00",
      "local time HH:MM of the daily backup of every cluster; empty turns it off"),
    I("backup", "interval_minutes", "HAPANEL_BACKUP_INTERVAL_MINUTES", backup_interval_minutes, 0,
      525600, "0", "also back up every N minutes; 0 turns it off"),
    I("backup", "keep_last", "HAPANEL_BACKUP_KEEP_LAST", backup_keep_last, 0, 100000, "7",
      "keep the newest N backups per cluster; 0 keeps any number"),
    S("notify", "webhook_urls", "HAPANEL_WEBHOOK_URLS", webhook_urls, K_STR, "",
      "webhook URLs, comma separated: a channel each (more in [webhook NAME] sections)"),
    S("notify", "webhook_secret", "HAPANEL_WEBHOOK_SECRET", webhook_secret, K_SECRET, "",
      "key of the X-Hapanel-Signature HMAC-SHA256 of those webhooks; never shown"),
    S("notify", "webhook_headers", "HAPANEL_WEBHOOK_HEADERS", webhook_headers, K_SECRET, "",
      "extra headers of those webhooks, 'Name: value' separated by '|'; never shown"),
    S("notify", "webhook_min_severity", "HAPANEL_WEBHOOK_MIN_SEVERITY", webhook_min_severity, K_STR,
      "info", "least severity those webhooks get: info, warning or critical"),
    S("notify", "telegram_bot_token", "HAPANEL_TELEGRAM_BOT_TOKEN", telegram_bot_token, K_SECRET,
      "", "Telegram bot token; with a chat id it makes a channel; never shown"),
    S("notify", "telegram_chat_id", "HAPANEL_TELEGRAM_CHAT_ID", telegram_chat_id, K_STR, "",
      "Telegram chat id"),
    S("notify", "telegram_api_base", "HAPANEL_TELEGRAM_API_BASE", telegram_api_base, K_STR,
      "https://api.telegram.org", "Telegram Bot API base URL"),
    S("notify", "telegram_min_severity", "HAPANEL_TELEGRAM_MIN_SEVERITY", telegram_min_severity,
      K_STR, "warning", "least severity the Telegram chat gets: info, warning or critical"),
    I("notify", "max_attempts", "HAPANEL_NOTIFY_MAX_ATTEMPTS", notify_max_attempts, 1, 100, "10",
      "delivery attempts (exponential backoff from 1 s, at most 5 min apart) before failed"),
    I("alerts", "master_down_s", "HAPANEL_ALERT_MASTER_DOWN_S", alert_master_down_s, 0, 86400, "10",
      "alert when the master is down this long"),
    I("alerts", "replica_down_s", "HAPANEL_ALERT_REPLICA_DOWN_S", alert_replica_down_s, 0, 86400,
      "60", "alert when a replica is down or its link is down this long"),
    I("alerts", "lag_s", "HAPANEL_ALERT_LAG_S", alert_lag_s, 1, 86400, "5",
      "alert when a replica lags more than this many seconds"),
    I("alerts", "memory_pct", "HAPANEL_ALERT_MEMORY_PCT", alert_memory_pct, 1, 100, "90",
      "alert when used_memory exceeds this percentage of maxmemory"),
    I("alerts", "resolve_after_s", "HAPANEL_ALERT_RESOLVE_AFTER_S", alert_resolve_after_s, 0, 86400,
      "30", "anti-flap: an alert resolves only after its condition was clear this long"),
    I("backup", "keep_days", "HAPANEL_BACKUP_KEEP_DAYS", backup_keep_days, 0, 36500, "0",
      "delete backups older than D days (the newest is always kept); 0 turns it off"),
    S("s3", "endpoint", "HAPANEL_S3_ENDPOINT", s3_endpoint, K_STR, "",
      "S3-compatible object store every verified backup is also uploaded to, "
      "http(s)://host[:port]; empty: no off-site copies"),
    S("s3", "bucket", "HAPANEL_S3_BUCKET", s3_bucket, K_STR, "",
      "the bucket (required with endpoint)"),
    S("s3", "prefix", "HAPANEL_S3_PREFIX", s3_prefix, K_STR, "hapanel/",
      "object names are this followed by the backup's file name"),
    S("s3", "region", "HAPANEL_S3_REGION", s3_region, K_STR, "us-east-1",
      "the region the requests are signed for (AWS SigV4)"),
    S("s3", "access_key", "HAPANEL_S3_ACCESS_KEY", s3_access_key, K_SECRET, "",
      "access key id; never shown"),
    S("s3", "secret_key", "HAPANEL_S3_SECRET_KEY", s3_secret_key, K_SECRET, "",
      "secret access key; never shown"),
    I("s3", "keep_last", "HAPANEL_S3_KEEP_LAST", s3_keep_last, -1, 100000, "-1",
      "keep the remote copies of the newest N backups per cluster; -1: as [backup] keep_last "
      "(a backup deleted here is always deleted there too)"),
    I("s3", "keep_days", "HAPANEL_S3_KEEP_DAYS", s3_keep_days, -1, 36500, "-1",
      "delete remote copies older than D days; -1: as [backup] keep_days"),
    I("s3", "path_style", "HAPANEL_S3_PATH_STYLE", s3_path_style, 0, 1, "1",
      "1: endpoint/bucket/key (MinIO, s3rver, Ceph); 0: bucket.host/key (virtual-hosted)"),
    I("s3", "max_attempts", "HAPANEL_S3_MAX_ATTEMPTS", s3_max_attempts, 1, 100, "10",
      "upload attempts (exponential backoff from 1 s, at most 5 min apart) before failed"),
    S("hook", "pre_failover_url", "HAPANEL_PRE_FAILOVER_URL", pre_failover_url, K_STR, "",
      "URL the plan is POSTed to before every switchover hapanel starts; a non-2xx answer or "
      "none within timeout_ms vetoes it; empty: no hook"),
    S("hook", "secret", "HAPANEL_PRE_FAILOVER_SECRET", pre_failover_secret, K_SECRET, "",
      "key of the hook's X-Hapanel-Signature HMAC-SHA256 (as the webhooks'); never shown"),
    I("hook", "timeout_ms", "HAPANEL_PRE_FAILOVER_TIMEOUT_MS", pre_failover_timeout_ms, 100, 600000,
      "5000", "the hook must have answered within this, or the switchover is vetoed"),
    I("lint", "interval_s", "HAPANEL_LINT_INTERVAL_S", lint_interval_s, 1, 86400, "60",
      "how often each node's running config is read (CONFIG GET) for the config lint"),
    /* [drill]: issue 14 item 1 */
    S("restore", "redis_server", "HAPANEL_RESTORE_REDIS_SERVER", restore_redis_server, K_STR,
      "redis-server",
      "the redis-server a restore check loads a backup into (a path, or a name looked up in "
      "PATH)"),
    I("restore", "load_timeout_s", "HAPANEL_RESTORE_LOAD_TIMEOUT_S", restore_load_timeout_s, 1,
      86400, "600",
      "a restore check fails when the scratch server has not loaded the file by then"),
    I("drill", "enabled", "HAPANEL_DRILL_ENABLED", drill_enabled, 0, 1, "0",
      "1: failover drills may be run (they write probe keys to the master and switch it)"),
    S("drill", "key_prefix", "HAPANEL_DRILL_KEY_PREFIX", drill_key_prefix, K_STR,
      "hapanel:drill:", "the drill's probe keys are <prefix><drill id>:<n>, deleted at its end"),
    I("drill", "allow_kill", "HAPANEL_DRILL_ALLOW_KILL", drill_allow_kill, 0, 1, "0",
      "1: the kill-master drill may be run (it stops or hangs the master, as a crash would)"),
    S("drill", "kill_method", "HAPANEL_DRILL_KILL_METHOD", drill_kill_method, K_STR, "sleep",
      "kill-master: sleep (DEBUG SLEEP kill_sleep_s; needs enable-debug-command on the master) "
      "or shutdown (SHUTDOWN NOSAVE: the master stays down until restarted)"),
    I("drill", "kill_sleep_s", "HAPANEL_DRILL_KILL_SLEEP_S", drill_kill_sleep_s, 1, 3600, "10",
      "how long DEBUG SLEEP hangs the master: longer than the Sentinels' down-after"),
    I("drill", "probe_interval_ms", "HAPANEL_DRILL_PROBE_INTERVAL_MS", drill_probe_interval_ms, 1,
      10000, "10", "the drill's probe writes one key this often"),
    I("drill", "settle_ms", "HAPANEL_DRILL_SETTLE_MS", drill_settle_ms, 0, 600000, "2000",
      "the probe keeps writing on the new master this long after every Sentinel names it"),
    I("drill", "timeout_ms", "HAPANEL_DRILL_TIMEOUT_MS", drill_timeout_ms, 1000, 3600000, "60000",
      "a drill whose Sentinels do not all name a new master within this fails"),
    /* [ha]: issue 15 */
    S("ha", "etcd_endpoints", "HAPANEL_ETCD_ENDPOINTS", ha_etcd_endpoints, K_STR, "",
      "etcd members, http://host:port comma separated: the instances sharing them elect one "
      "leader that alone runs jobs and sends notifications; empty: a single instance"),
    S("ha", "key_prefix", "HAPANEL_HA_PREFIX", ha_key_prefix, K_STR, "hapanel",
      "every etcd key is under <prefix>/ (several fleets of panels on one etcd)"),
    I("ha", "lease_ttl_s", "HAPANEL_HA_LEASE_TTL_S", ha_lease_ttl_s, 2, 60, "5",
      "the leader's etcd lease: another instance leads within about this after it dies"),
    S("ha", "instance_name", "HAPANEL_INSTANCE_NAME", ha_instance_name, K_STR, "",
      "this instance's name (health, audit, who sent a notification); empty: hostname:port"),
    S("ha", "advertise_url", "HAPANEL_ADVERTISE_URL", ha_advertise_url, K_STR, "",
      "where the other instances reach this one's API; empty: http(s)://<listen> (required "
      "when listen is 0.0.0.0)"),
    S("ha", "peer_secret", "HAPANEL_HA_PEER_SECRET", ha_peer_secret, K_SECRET, "",
      "key of the HMAC-SHA256 of requests forwarded to the leader, alike on every instance "
      "(required with etcd_endpoints); never shown"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int set_value(config *c, const cfg_key *k, const char *v, char *err, size_t errsz)
{
    char *dst = (char *)c + k->off;

    if (k->kind == K_INT) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < k->min || n > k->max) {
            snprintf(err, errsz, "[%s] %s (%s): '%s' is not a whole number from %d to %d",
                     k->section, k->key, k->env, v, k->min, k->max);
            return -1;
        }
        *(int *)(void *)dst = (int)n;
        return 0;
    }
    if (strlen(v) >= k->size) {
        snprintf(err, errsz, "[%s] %s (%s): value longer than %zu characters", k->section, k->key,
                 k->env, k->size - 1);
        return -1;
    }
    hp_strlcpy(dst, v, k->size);
    return 0;
}

void config_defaults(config *c)
{
    size_t i;
    char err[64];
    memset(c, 0, sizeof(*c));
    for (i = 0; i < NKEYS; i++)
        set_value(c, &keys[i], keys[i].def, err, sizeof(err));
}

typedef struct ini_ctx {
    config *c;
    char *err;
    size_t errsz;
    int failed;
} ini_ctx;

/* [webhook NAME] and [telegram NAME]: a channel each. */
static int channel_value(config *c, const char *section, const char *name, const char *value,
                         char *err, size_t errsz)
{
    int kind = !strncmp(section, "webhook ", 8) ? CH_WEBHOOK : CH_TELEGRAM;
    const char *cname = section + (kind == CH_WEBHOOK ? 8 : 9);
    cfg_channel *ch = NULL;
    char *dst = NULL;
    size_t dstsz = 0;
    int i;

    for (i = 0; i < c->nchannels; i++)
        if (c->channels[i].kind == kind && !strcmp(c->channels[i].name, cname))
            ch = &c->channels[i];
    if (!ch) {
        if (c->nchannels == CFG_MAX_CHANNELS || !*cname || strlen(cname) >= sizeof(ch->name)) {
            snprintf(err, errsz, "[%s]: too many channels or a bad name", section);
            return -1;
        }
        ch = &c->channels[c->nchannels++];
        memset(ch, 0, sizeof(*ch));
        ch->kind = kind;
        ch->min_severity = kind == CH_WEBHOOK ? SEV_INFO : SEV_WARNING;
        hp_strlcpy(ch->name, cname, sizeof(ch->name));
        if (kind == CH_TELEGRAM) hp_strlcpy(ch->url, "https://api.telegram.org", sizeof(ch->url));
    }
    if (!strcmp(name, "min_severity")) {
        ch->min_severity = severity_parse(value);
        if (ch->min_severity < 0) {
            snprintf(err, errsz, "[%s] min_severity: '%s' is not info, warning or critical",
                     section, value);
            return -1;
        }
        return 0;
    }
    if (kind == CH_WEBHOOK && !strcmp(name, "url")) dst = ch->url, dstsz = sizeof(ch->url);
    if (kind == CH_WEBHOOK && !strcmp(name, "secret")) dst = ch->secret, dstsz = sizeof(ch->secret);
    if (kind == CH_WEBHOOK && !strcmp(name, "headers"))
        dst = ch->headers, dstsz = sizeof(ch->headers);
    if (kind == CH_TELEGRAM && !strcmp(name, "api_base")) dst = ch->url, dstsz = sizeof(ch->url);
    if (kind == CH_TELEGRAM && !strcmp(name, "bot_token"))
        dst = ch->token, dstsz = sizeof(ch->token);
    if (kind == CH_TELEGRAM && !strcmp(name, "chat_id"))
        dst = ch->chat_id, dstsz = sizeof(ch->chat_id);
    if (!dst) {
        snprintf(err, errsz, "unknown key [%s] %s", section, name);
        return -1;
    }
    if (strlen(value) >= dstsz) {
        snprintf(err, errsz, "[%s] %s: value too long", section, name);
        return -1;
    }
    hp_strlcpy(dst, value, dstsz);
    return 0;
}

/* The keys of a [sentinel NAME] section, in the order the sample shows them. */
static const struct gkey {
    const char *key;
    size_t off, size;
    int secret;
    const char *help;
} gkeys[] = {
#define G(k, member, secret, help)                                                                 \
    {                                                                                              \
        k, offsetof(cfg_group, member), sizeof(((cfg_group *)0)->member), secret, help             \
    }
    G("hosts", hosts_raw, 0, "this group's Sentinels, host:port comma separated (required)"),
    G("masters", masters_raw, 0, "its master names to watch, comma separated; empty: all"),
    G("password", sentinel_password, 1, "its Sentinels' password; never shown"),
    G("user", sentinel_user, 1, "its Sentinels' ACL user"),
    G("address_map", address_map_raw, 0, "as [sentinel] address_map, for this group"),
    G("redis_user", redis_user, 1, "its Redis nodes' ACL user; default: [redis] user"),
    G("redis_password", redis_password, 1, "its Redis nodes' password; default: [redis] password"),
#undef G
};
#define NGKEYS (sizeof(gkeys) / sizeof(gkeys[0]))

/* A group name: what a cluster's "group" says in the API, the metrics'
 * label and the dashboard; kept to letters, digits, '.', '_' and '-'. */
static int group_name_ok(const char *n)
{
    size_t i, l = strlen(n);
    if (!l || l >= HP_NAME_MAX || !strcmp(n, "default")) return 0;
    for (i = 0; i < l; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
              (n[i] >= '0' && n[i] <= '9') || n[i] == '.' || n[i] == '_' || n[i] == '-'))
            return 0;
    return 1;
}

/* [sentinel NAME]: a Sentinel group each (file only, as [webhook NAME]). */
static int group_value(config *c, const char *section, const char *name, const char *value,
                       char *err, size_t errsz)
{
    const char *gname = section + 9;
    cfg_group *g = NULL;
    size_t k;
    int i;

    for (i = 0; i < c->ngroups; i++)
        if (!c->groups[i].is_default && !strcmp(c->groups[i].name, gname)) g = &c->groups[i];
    if (!g) {
        if (!group_name_ok(gname)) {
            snprintf(err, errsz,
                     "[%s]: a group name is 1 to %d letters, digits, '.', '_' or '-', and not "
                     "'default'",
                     section, HP_NAME_MAX - 1);
            return -1;
        }
        if (c->ngroups == CFG_MAX_GROUPS - 1) { /* one slot stays for [sentinel] */
            snprintf(err, errsz, "[%s]: more than %d Sentinel groups", section, CFG_MAX_GROUPS - 1);
            return -1;
        }
        g = &c->groups[c->ngroups++];
        memset(g, 0, sizeof(*g));
        hp_strlcpy(g->name, gname, sizeof(g->name));
    }
    for (k = 0; k < NGKEYS; k++)
        if (!strcmp(gkeys[k].key, name)) break;
    if (k == NGKEYS) {
        snprintf(err, errsz, "unknown key [%s] %s", section, name);
        return -1;
    }
    if (strlen(value) >= gkeys[k].size) {
        snprintf(err, errsz, "[%s] %s: value too long", section, name);
        return -1;
    }
    hp_strlcpy((char *)g + gkeys[k].off, value, gkeys[k].size);
    if (!strcmp(name, "redis_user")) g->redis_user_set = 1;
    if (!strcmp(name, "redis_password")) g->redis_password_set = 1;
    return 0;
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *x = user;
    size_t i;

    if (x->failed) return 0;
    if (!strncmp(section, "sentinel ", 9)) {
        if (group_value(x->c, section, name, value, x->err, x->errsz) < 0) {
            x->failed = 1;
            return 0;
        }
        return 1;
    }
    if (!strncmp(section, "webhook ", 8) || !strncmp(section, "telegram ", 9)) {
        if (channel_value(x->c, section, name, value, x->err, x->errsz) < 0) {
            x->failed = 1;
            return 0;
        }
        return 1;
    }
    for (i = 0; i < NKEYS; i++) {
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, name)) {
            if (set_value(x->c, &keys[i], value, x->err, x->errsz) < 0) {
                x->failed = 1;
                return 0;
            }
            return 1;
        }
    }
    snprintf(x->err, x->errsz, "unknown key [%s] %s", section, name);
    x->failed = 1;
    return 0;
}

int config_load_file(config *c, const char *path, char *err, size_t errsz)
{
    char why[512] = "";
    ini_ctx x = {c, why, sizeof(why), 0};
    int rc = ini_parse(path, on_ini_value, &x);

    if (rc == -1) {
        snprintf(err, errsz, "cannot open config file %s", path);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errsz, "%s line %d: %s", path, rc, x.failed ? why : "syntax error");
        return -1;
    }
    c->nfile_channels = c->nchannels;
    return 0;
}

int config_load_env(config *c, const char *(*getenv_fn)(const char *), char *err, size_t errsz)
{
    size_t i;
    for (i = 0; i < NKEYS; i++) {
        const char *v = getenv_fn(keys[i].env);
        if (v && set_value(c, &keys[i], v, err, errsz) < 0) return -1;
    }
    return 0;
}

/* Splits a comma list into trimmed items; calls fn for each non-empty one.
 * Stops at the first fn failure. */
static int each_item(const char *list,
                     int (*fn)(void *ctx, const char *item, char *err, size_t errsz), void *c,
                     char *err, size_t errsz)
{
    const char *p = list;
    while (*p) {
        char item[512];
        size_t l = strcspn(p, ","), s = 0, e = l;
        while (s < l && (p[s] == ' ' || p[s] == '\t'))
            s++;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e - s >= sizeof(item)) {
            snprintf(err, errsz, "an item of a list is too long");
            return -1;
        }
        memcpy(item, p + s, e - s);
        item[e - s] = '\0';
        if (item[0] && fn(c, item, err, errsz) < 0) return -1;
        p += l;
        if (*p == ',') p++;
    }
    return 0;
}

/* The lists of one group being derived, and how its keys are named in
 * errors: "[sentinel] hosts (REDIS_SENTINEL_HOSTS)" or "[sentinel east] hosts". */
typedef struct glist {
    cfg_group *g;
    char what[160];
} glist;

static void glist_init(glist *x, cfg_group *g, const char *key, const char *env)
{
    x->g = g;
    if (g->is_default)
        snprintf(x->what, sizeof(x->what), "[sentinel] %s (%s)", key, env);
    else
        snprintf(x->what, sizeof(x->what), "[sentinel %s] %s", g->name, key);
}

static int add_sentinel(void *ctx, const char *item, char *err, size_t errsz)
{
    glist *x = ctx;
    cfg_group *g = x->g;
    char host[HP_HOST_MAX], addr[HP_ADDR_MAX];
    int port, i;
    if (hp_addr_parse(item, host, sizeof(host), &port) < 0) {
        snprintf(err, errsz, "%s: '%s' is not host:port", x->what, item);
        return -1;
    }
    hp_addr_fmt(addr, sizeof(addr), host, port);
    for (i = 0; i < g->nsentinels; i++)
        if (!strcmp(g->sentinels[i], addr)) return 0;
    if (g->nsentinels == CFG_MAX_SENTINELS) {
        snprintf(err, errsz, "%s: more than %d addresses", x->what, CFG_MAX_SENTINELS);
        return -1;
    }
    hp_strlcpy(g->sentinels[g->nsentinels++], addr, HP_ADDR_MAX);
    return 0;
}

/* One side of a pair: "host:port" (normalised) or a host alone (every
 * port). Returns 1 with a port, 0 without, -1 when malformed. */
static int amap_side(const char *s, char *out, size_t outsz)
{
    char host[HP_HOST_MAX];
    int port;
    if (strchr(s, ':') || s[0] == '[') {
        if (hp_addr_parse(s, host, sizeof(host), &port) < 0) return -1;
        hp_addr_fmt(out, outsz, host, port);
        return 1;
    }
    if (!*s || strlen(s) >= HP_HOST_MAX || strpbrk(s, " \t/")) return -1;
    hp_strlcpy(out, s, outsz);
    return 0;
}

/* "host:port=host:port", or "host=host" for every port */
static int add_amap(void *ctx, const char *item, char *err, size_t errsz)
{
    glist *x = ctx;
    cfg_group *c = x->g;
    const char *eq = strchr(item, '=');
    char from[HP_ADDR_MAX];
    int a, b;
    if (!eq || (size_t)(eq - item) >= sizeof(from)) goto bad;
    memcpy(from, item, (size_t)(eq - item));
    from[eq - item] = '\0';
    if (c->namap == CFG_MAX_AMAP) {
        snprintf(err, errsz, "%s: more than %d pairs", x->what, CFG_MAX_AMAP);
        return -1;
    }
    a = amap_side(from, c->amap_from[c->namap], HP_ADDR_MAX);
    b = amap_side(eq + 1, c->amap_to[c->namap], HP_ADDR_MAX);
    if (a < 0 || b < 0 || a != b) goto bad;
    c->namap++;
    return 0;
bad:
    snprintf(err, errsz, "%s: '%.200s' is not host:port=host:port or host=host", x->what, item);
    return -1;
}

const char *config_map_addr(const cfg_group *c, const char *addr, char *buf, size_t bufsz)
{
    char host[HP_HOST_MAX];
    int port, i;
    for (i = 0; i < c->namap; i++) /* an address first: it wins over its host's entry */
        if (!strcmp(c->amap_from[i], addr)) return c->amap_to[i];
    if (!c->namap || hp_addr_parse(addr, host, sizeof(host), &port) < 0) return addr;
    for (i = 0; i < c->namap; i++)
        if (!strchr(c->amap_from[i], ':') && !strcmp(c->amap_from[i], host)) {
            hp_addr_fmt(buf, bufsz, c->amap_to[i], port);
            return buf;
        }
    return addr;
}

static int add_master(void *ctx, const char *item, char *err, size_t errsz)
{
    glist *x = ctx;
    cfg_group *c = x->g;
    if (strlen(item) >= HP_NAME_MAX || c->nmasters == CFG_MAX_MASTERS) {
        snprintf(err, errsz, "%s: too many or too long", x->what);
        return -1;
    }
    hp_strlcpy(c->masters[c->nmasters++], item, HP_NAME_MAX);
    return 0;
}

static int parse_role(const char *s, size_t l)
{
    if (l == 6 && !memcmp(s, "viewer", 6)) return ROLE_VIEWER;
    if (l == 8 && !memcmp(s, "operator", 8)) return ROLE_OPERATOR;
    if (l == 5 && !memcmp(s, "admin", 5)) return ROLE_ADMIN;
    return ROLE_NONE;
}

/* A credential, "role:secret" or "role:name:secret" (a token), or
 * "role:name:hash" (a user, name required, the password hashed). The secret
 * itself is never echoed back. */
static int add_cred(cfg_token *list, int *n, int user, const char *item, char *err, size_t errsz)
{
    const char *what = user ? "[auth] users (HAPANEL_USERS)" : "[auth] tokens (HAPANEL_API_TOKENS)";
    const char *c1 = strchr(item, ':'), *c2;
    cfg_token *t;
    size_t rl;

    if (*n == CFG_MAX_TOKENS) {
        snprintf(err, errsz, "%s: more than %d", what, CFG_MAX_TOKENS);
        return -1;
    }
    t = &list[*n];
    memset(t, 0, sizeof(*t));
    rl = c1 ? (size_t)(c1 - item) : 0;
    if ((t->role = parse_role(item, rl)) == ROLE_NONE) {
        snprintf(err, errsz, "%s: item %d must be %s with role viewer, operator or admin", what,
                 *n + 1, user ? "role:name:hash" : "role:token");
        return -1;
    }
    c2 = strchr(c1 + 1, ':');
    if (c2) {
        size_t nl = (size_t)(c2 - c1 - 1);
        if (nl == 0 || nl >= sizeof(t->name)) goto bad;
        memcpy(t->name, c1 + 1, nl);
        t->name[nl] = '\0';
    } else if (user) {
        goto bad;
    } else {
        snprintf(t->name, sizeof(t->name), "%.*s-%d", (int)rl, item, *n + 1);
        c2 = c1;
    }
    if (!c2[1] || strlen(c2 + 1) >= sizeof(t->secret)) goto bad;
    hp_strlcpy(t->secret, c2 + 1, sizeof(t->secret));
    t->hashed = !strncmp(t->secret, "$sha256$", 8) || !strncmp(t->secret, "$pbkdf2-sha256$", 15);
    if (user && !t->hashed) {
        snprintf(err, errsz,
                 "%s: user %s: the password must be stored hashed (the output of hapanel "
                 "--hash-password)",
                 what, t->name);
        return -1;
    }
    for (int i = 0; i < *n; i++)
        if (!strcmp(list[i].name, t->name)) {
            snprintf(err, errsz, "%s: the name %s is used twice", what, t->name);
            return -1;
        }
    (*n)++;
    return 0;
bad:
    snprintf(err, errsz, "%s: item %d has an empty or too long name or secret", what, *n + 1);
    return -1;
}

static int add_token(void *ctx, const char *item, char *err, size_t errsz)
{
    config *c = ctx;
    return add_cred(c->tokens, &c->ntokens, 0, item, err, errsz);
}

static int add_user(void *ctx, const char *item, char *err, size_t errsz)
{
    config *c = ctx;
    return add_cred(c->users, &c->nusers, 1, item, err, errsz);
}

int severity_parse(const char *s)
{
    if (!strcmp(s, "info")) return SEV_INFO;
    if (!strcmp(s, "warning")) return SEV_WARNING;
    if (!strcmp(s, "critical")) return SEV_CRITICAL;
    return -1;
}

const char *severity_name(int sev)
{
    return sev == SEV_CRITICAL ? "critical" : sev == SEV_WARNING ? "warning" : "info";
}

static int add_webhook(void *ctx, const char *item, char *err, size_t errsz)
{
    config *c = ctx;
    cfg_channel *ch;
    if (c->nchannels == CFG_MAX_CHANNELS || strlen(item) >= sizeof(ch->url)) {
        snprintf(err, errsz, "[notify] webhook_urls (HAPANEL_WEBHOOK_URLS): too many or too long");
        return -1;
    }
    ch = &c->channels[c->nchannels];
    memset(ch, 0, sizeof(*ch));
    ch->kind = CH_WEBHOOK;
    snprintf(ch->name, sizeof(ch->name), "webhook-%d", c->nchannels + 1);
    hp_strlcpy(ch->url, item, sizeof(ch->url));
    hp_strlcpy(ch->secret, c->webhook_secret, sizeof(ch->secret));
    hp_strlcpy(ch->headers, c->webhook_headers, sizeof(ch->headers));
    ch->min_severity = severity_parse(c->webhook_min_severity);
    c->nchannels++;
    return 0;
}

/* The channels from the environment keys, after those of the file's sections;
 * then every channel's values checked. */
static int finish_channels(config *c, char *err, size_t errsz)
{
    int i, nfile = c->nfile_channels;

    c->nchannels = nfile;
    if (severity_parse(c->webhook_min_severity) < 0 ||
        severity_parse(c->telegram_min_severity) < 0) {
        snprintf(err, errsz, "[notify] *_min_severity: use info, warning or critical");
        return -1;
    }
    if (each_item(c->webhook_urls, add_webhook, c, err, errsz) < 0) return -1;
    if (c->telegram_bot_token[0] || c->telegram_chat_id[0]) {
        cfg_channel *ch;
        if (!c->telegram_bot_token[0] || !c->telegram_chat_id[0]) {
            snprintf(err, errsz,
                     "[notify] telegram_bot_token (HAPANEL_TELEGRAM_BOT_TOKEN) and "
                     "telegram_chat_id (HAPANEL_TELEGRAM_CHAT_ID) go together");
            return -1;
        }
        if (c->nchannels == CFG_MAX_CHANNELS) {
            snprintf(err, errsz, "too many notification channels");
            return -1;
        }
        ch = &c->channels[c->nchannels++];
        memset(ch, 0, sizeof(*ch));
        ch->kind = CH_TELEGRAM;
        hp_strlcpy(ch->name, "telegram", sizeof(ch->name));
        hp_strlcpy(ch->url, c->telegram_api_base, sizeof(ch->url));
        hp_strlcpy(ch->token, c->telegram_bot_token, sizeof(ch->token));
        hp_strlcpy(ch->chat_id, c->telegram_chat_id, sizeof(ch->chat_id));
        ch->min_severity = severity_parse(c->telegram_min_severity);
    }
    for (i = 0; i < c->nchannels; i++) {
        const cfg_channel *ch = &c->channels[i];
        if (strncmp(ch->url, "http://", 7) && strncmp(ch->url, "https://", 8)) {
            snprintf(err, errsz, "channel %s: %s must start with http:// or https://", ch->name,
                     ch->kind == CH_WEBHOOK ? "url" : "api_base");
            return -1;
        }
        if (ch->kind == CH_TELEGRAM && (!ch->token[0] || !ch->chat_id[0])) {
            snprintf(err, errsz, "channel %s: bot_token and chat_id are required", ch->name);
            return -1;
        }
    }
    return 0;
}

/* host:port where port may be 0 (any free port: tests and the demo use it). */
static int listen_ok(const char *l)
{
    const char *colon = strrchr(l, ':');
    char *end;
    long p;
    if (!colon || colon == l) return 0;
    p = strtol(colon + 1, &end, 10);
    return end != colon + 1 && !*end && p >= 0 && p <= 65535;
}

/* [s3] with an endpoint: a bucket, and names that go into the signed URL
 * as they are (the object's key is the prefix and a file name made of
 * letters, digits, '-', '_' and '.'), so nothing needs escaping. */
static int s3_check(const config *c, char *err, size_t errsz)
{
    size_t i;
    const char *host = strstr(c->s3_endpoint, "://");
    if ((strncmp(c->s3_endpoint, "http://", 7) && strncmp(c->s3_endpoint, "https://", 8)) ||
        !host[3] || strpbrk(host + 3, "@?# \t\r\n")) {
        /* no user:password@ (the keys are access_key and secret_key, never
         * in a URL that is logged), no query or fragment (the signed path) */
        snprintf(err, errsz,
                 "[s3] endpoint (HAPANEL_S3_ENDPOINT): not an http(s)://host[:port] URL (no "
                 "user@, '?' or '#')");
        return -1;
    }
    if (!c->s3_bucket[0] ||
        strspn(c->s3_bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(c->s3_bucket)) {
        snprintf(err, errsz,
                 "[s3] bucket (HAPANEL_S3_BUCKET): required with an endpoint, lower-case letters, "
                 "digits, '.' and '-'");
        return -1;
    }
    for (i = 0; c->s3_prefix[i]; i++) {
        char ch = c->s3_prefix[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("-_./", ch)) ||
            (ch == '/' && (i == 0 || c->s3_prefix[i - 1] == '/'))) {
            snprintf(err, errsz,
                     "[s3] prefix (HAPANEL_S3_PREFIX): letters, digits, '-', '_', '.' and single "
                     "'/' not at the start");
            return -1;
        }
    }
    if (!c->s3_access_key[0] || !c->s3_secret_key[0]) {
        snprintf(err, errsz,
                 "[s3] access_key and secret_key (HAPANEL_S3_ACCESS_KEY, HAPANEL_S3_SECRET_KEY) "
                 "are required with an endpoint");
        return -1;
    }
    if (!c->s3_region[0] ||
        strspn(c->s3_region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->s3_region)) {
        snprintf(err, errsz, "[s3] region (HAPANEL_S3_REGION): lower-case letters, digits, '-'");
        return -1;
    }
    return 0;
}

/* One [ha] etcd_endpoints item: http(s)://host:port, nothing after. */
static int add_etcd_endpoint(void *ctx, const char *item, char *err, size_t errsz)
{
    config *c = ctx;
    const char *h = !strncmp(item, "http://", 7)    ? item + 7
                    : !strncmp(item, "https://", 8) ? item + 8
                                                    : NULL;
    char host[HP_HOST_MAX];
    int port;
    (void)c;
    if (!h || strchr(h, '/') || strchr(h, '@') || hp_addr_parse(h, host, sizeof(host), &port) < 0) {
        snprintf(
            err, errsz,
            "[ha] etcd_endpoints (HAPANEL_ETCD_ENDPOINTS): '%.200s' is not http(s)://host:port",
            item);
        return -1;
    }
    return 0;
}

/* [ha] with endpoints: the lease, the names and the defaults derived from
 * the host name and [http] listen. */
static int ha_check(config *c, char *err, size_t errsz)
{
    const char *colon = strrchr(c->listen, ':'), *tls = c->tls_cert[0] ? "https" : "http";
    size_t i;

    if (each_item(c->ha_etcd_endpoints, add_etcd_endpoint, c, err, errsz) < 0) return -1;
    if (!c->ha_peer_secret[0]) {
        snprintf(err, errsz,
                 "[ha] peer_secret (HAPANEL_HA_PEER_SECRET) is required with etcd_endpoints");
        return -1;
    }
    if (!c->ha_key_prefix[0] || c->ha_key_prefix[0] == '/' ||
        strspn(c->ha_key_prefix,
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") !=
            strlen(c->ha_key_prefix)) {
        snprintf(err, errsz,
                 "[ha] key_prefix (HAPANEL_HA_PREFIX): letters, digits, '.', '_', '-' and '/' "
                 "not at the start");
        return -1;
    }
    if (!c->ha_instance_name[0]) {
        char host[128] = "";
        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
            hp_strlcpy(host, "hapanel", sizeof(host));
        host[sizeof(host) - 1] = '\0';
        snprintf(c->ha_instance_name, sizeof(c->ha_instance_name), "%.40s:%s", host,
                 colon ? colon + 1 : "");
    }
    for (i = 0; c->ha_instance_name[i]; i++) {
        char ch = c->ha_instance_name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("._:-", ch))) {
            snprintf(err, errsz,
                     "[ha] instance_name (HAPANEL_INSTANCE_NAME): '%.64s' has a character other "
                     "than letters, digits, '.', '_', ':' and '-'",
                     c->ha_instance_name);
            return -1;
        }
    }
    if (!c->ha_advertise_url[0]) {
        if (!strncmp(c->listen, "0.0.0.0:", 8) || !strncmp(c->listen, "[::]:", 5) ||
            !strncmp(c->listen, ":", 1)) {
            snprintf(err, errsz,
                     "[ha] advertise_url (HAPANEL_ADVERTISE_URL) is required when [http] listen "
                     "is every address (%s)",
                     c->listen);
            return -1;
        }
        snprintf(c->ha_advertise_url, sizeof(c->ha_advertise_url), "%s://%s", tls, c->listen);
    }
    if ((strncmp(c->ha_advertise_url, "http://", 7) &&
         strncmp(c->ha_advertise_url, "https://", 8)) ||
        strpbrk(c->ha_advertise_url, "@?# \t\r\n")) {
        snprintf(err, errsz,
                 "[ha] advertise_url (HAPANEL_ADVERTISE_URL): not an http(s)://host:port URL");
        return -1;
    }
    return 0;
}

/* Derives every group's lists: groups[0] from [sentinel] / REDIS_SENTINEL_*
 * when its hosts are set, then the [sentinel NAME] sections; refuses a group
 * without Sentinels, a Sentinel in two groups and a master name listed by two
 * groups (cluster names are unique across groups). Idempotent. */
static int finish_groups(config *c, char *err, size_t errsz)
{
    int i, j, k, l;
    glist x;

    if (c->ngroups && c->groups[0].is_default) { /* a second call: derive it again */
        memmove(&c->groups[0], &c->groups[1], sizeof(c->groups[0]) * (size_t)(c->ngroups - 1));
        c->ngroups--;
    }
    if (c->sentinel_hosts[0]) {
        cfg_group *g = &c->groups[0];
        memmove(&c->groups[1], &c->groups[0], sizeof(c->groups[0]) * (size_t)c->ngroups);
        c->ngroups++;
        memset(g, 0, sizeof(*g));
        g->is_default = 1;
        hp_strlcpy(g->name, "default", sizeof(g->name));
        hp_strlcpy(g->hosts_raw, c->sentinel_hosts, sizeof(g->hosts_raw));
        hp_strlcpy(g->masters_raw, c->master_names, sizeof(g->masters_raw));
        hp_strlcpy(g->address_map_raw, c->address_map_raw, sizeof(g->address_map_raw));
        hp_strlcpy(g->sentinel_user, c->sentinel_user, sizeof(g->sentinel_user));
        hp_strlcpy(g->sentinel_password, c->sentinel_password, sizeof(g->sentinel_password));
    }
    if (c->ngroups == 0) {
        snprintf(err, errsz,
                 "no Sentinel group: set [sentinel] hosts (REDIS_SENTINEL_HOSTS) or a [sentinel "
                 "NAME] section with hosts");
        return -1;
    }
    c->nsentinels = 0;
    for (i = 0; i < c->ngroups; i++) {
        cfg_group *g = &c->groups[i];
        g->nsentinels = g->nmasters = g->namap = 0;
        if (!g->redis_user_set) hp_strlcpy(g->redis_user, c->redis_user, sizeof(g->redis_user));
        if (!g->redis_password_set)
            hp_strlcpy(g->redis_password, c->redis_password, sizeof(g->redis_password));
        glist_init(&x, g, "address_map", "HAPANEL_ADDRESS_MAP");
        if (each_item(g->address_map_raw, add_amap, &x, err, errsz) < 0) return -1;
        glist_init(&x, g, "hosts", "REDIS_SENTINEL_HOSTS");
        if (each_item(g->hosts_raw, add_sentinel, &x, err, errsz) < 0) return -1;
        if (g->nsentinels == 0) {
            snprintf(err, errsz, "%s is required", x.what);
            return -1;
        }
        glist_init(&x, g, "masters", "REDIS_SENTINEL_MASTER_NAME");
        if (each_item(g->masters_raw, add_master, &x, err, errsz) < 0) return -1;
        c->nsentinels += g->nsentinels;
    }
    for (i = 0; i < c->ngroups; i++)
        for (j = i + 1; j < c->ngroups; j++) {
            const cfg_group *a = &c->groups[i], *b = &c->groups[j];
            glist xa, xb;
            /* Compared where they are reached (each group's address map):
             * two sites may announce the same private address, each mapped
             * to its own Sentinel; one reached address in two groups is one
             * Sentinel in two groups. */
            for (k = 0; k < a->nsentinels; k++)
                for (l = 0; l < b->nsentinels; l++) {
                    char ma[HP_ADDR_MAX], mb[HP_ADDR_MAX];
                    const char *ra = config_map_addr(a, a->sentinels[k], ma, sizeof(ma));
                    const char *rb = config_map_addr(b, b->sentinels[l], mb, sizeof(mb));
                    if (!strcmp(ra, rb)) {
                        glist_init(&xa, (cfg_group *)a, "hosts", "REDIS_SENTINEL_HOSTS");
                        glist_init(&xb, (cfg_group *)b, "hosts", "REDIS_SENTINEL_HOSTS");
                        snprintf(err, errsz,
                                 "Sentinel %s is in %s and %s: a Sentinel belongs to one group", ra,
                                 xa.what, xb.what);
                        return -1;
                    }
                }
            for (k = 0; k < a->nmasters; k++)
                for (l = 0; l < b->nmasters; l++)
                    if (!strcmp(a->masters[k], b->masters[l])) {
                        glist_init(&xa, (cfg_group *)a, "masters", "REDIS_SENTINEL_MASTER_NAME");
                        glist_init(&xb, (cfg_group *)b, "masters", "REDIS_SENTINEL_MASTER_NAME");
                        snprintf(err, errsz,
                                 "master name '%s' is in %s and %s: cluster names must be unique "
                                 "across Sentinel groups",
                                 a->masters[k], xa.what, xb.what);
                        return -1;
                    }
        }
    return 0;
}

const cfg_group *config_group(const config *c, int idx)
{
    return idx >= 0 && idx < c->ngroups ? &c->groups[idx] : NULL;
}

const cfg_group *config_group_named(const config *c, const char *name)
{
    int i;
    for (i = 0; i < c->ngroups; i++)
        if (!strcmp(c->groups[i].name, name)) return &c->groups[i];
    return NULL;
}

int config_group_of_master(const config *c, const char *master)
{
    int i, k;
    for (i = 0; i < c->ngroups; i++)
        for (k = 0; k < c->groups[i].nmasters; k++)
            if (!strcmp(c->groups[i].masters[k], master)) return i;
    return -1;
}

int config_finish(config *c, char *err, size_t errsz)
{
    c->ntokens = c->nusers = 0;
    if (finish_groups(c, err, errsz) < 0) return -1;
    if (each_item(c->api_tokens, add_token, c, err, errsz) < 0) return -1;
    if (each_item(c->users_raw, add_user, c, err, errsz) < 0) return -1;
    if (finish_channels(c, err, errsz) < 0) return -1;
    if (c->ntokens == 0 && c->nusers == 0) {
        snprintf(err, errsz,
                 "[auth] tokens (HAPANEL_API_TOKENS) or users (HAPANEL_USERS) is required: the "
                 "API is never open without a credential");
        return -1;
    }
    if (!listen_ok(c->listen)) {
        snprintf(err, errsz, "[http] listen (HAPANEL_LISTEN): '%s' is not host:port", c->listen);
        return -1;
    }
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        snprintf(err, errsz,
                 "[http] tls_cert (HAPANEL_TLS_CERT) and tls_key (HAPANEL_TLS_KEY) go together: "
                 "set both or neither");
        return -1;
    }
    if (c->tls_client_ca[0] && !c->tls_cert[0]) {
        snprintf(err, errsz,
                 "[http] tls_client_ca (HAPANEL_TLS_CLIENT_CA) needs tls_cert and tls_key");
        return -1;
    }
    if (c->pre_failover_url[0] && strncmp(c->pre_failover_url, "http://", 7) &&
        strncmp(c->pre_failover_url, "https://", 8)) {
        snprintf(err, errsz,
                 "[hook] pre_failover_url (HAPANEL_PRE_FAILOVER_URL): not an http:// or https:// "
                 "URL");
        return -1;
    }
    if (c->s3_endpoint[0] && s3_check(c, err, errsz) < 0) return -1;
    if (strcmp(c->drill_kill_method, "sleep") && strcmp(c->drill_kill_method, "shutdown")) {
        snprintf(err, errsz,
                 "[drill] kill_method (HAPANEL_DRILL_KILL_METHOD): '%s' is not sleep or shutdown",
                 c->drill_kill_method);
        return -1;
    }
    if (!c->drill_key_prefix[0]) {
        snprintf(err, errsz, "[drill] key_prefix (HAPANEL_DRILL_KEY_PREFIX) is empty");
        return -1;
    }
    if (c->ha_etcd_endpoints[0] && ha_check(c, err, errsz) < 0) return -1;
    if (!c->data_dir[0]) {
        snprintf(err, errsz, "[storage] data_dir (HAPANEL_DATA_DIR) is empty");
        return -1;
    }
    if (log_level_parse(c->log_level) < 0) {
        snprintf(err, errsz,
                 "[log] level (HAPANEL_LOG_LEVEL): '%s' is not error, warn, info or debug",
                 c->log_level);
        return -1;
    }
    if (c->backup_daily_at[0]) {
        int hh = -1, mm = -1;
        char extra;
        if (sscanf(c->backup_daily_at, "%d:%d%c", &hh, &mm, &extra) != 2 || hh < 0 || hh > 23 ||
            mm < 0 || mm > 59) {
            snprintf(err, errsz, "[backup] daily_at (HAPANEL_BACKUP_DAILY_AT): '%s' is not HH:MM",
                     c->backup_daily_at);
            return -1;
        }
    }
    if (c->timeout_ms > c->poll_interval_ms * 10) {
        snprintf(err, errsz,
                 "[monitor] timeout_ms (HAPANEL_TIMEOUT_MS): %d is more than ten poll "
                 "intervals",
                 c->timeout_ms);
        return -1;
    }
    return 0;
}

void config_write_sample(FILE *f)
{
    size_t i;
    const char *sec = "";
    fprintf(f, "; hapanel configuration. Every key can also be set by the environment variable\n"
               "; named beside it, which wins over this file.\n");
    for (i = 0; i < NKEYS; i++) {
        if (strcmp(sec, keys[i].section)) {
            sec = keys[i].section;
            fprintf(f, "\n[%s]\n", sec);
        }
        fprintf(f, "; %s\n; env %s, default \"%s\"\n%s%s = %s\n", keys[i].help, keys[i].env,
                keys[i].def, keys[i].def[0] || keys[i].kind == K_INT ? "" : ";", keys[i].key,
                keys[i].def);
    }
    fprintf(f, "\n; More Sentinel groups, one panel for several deployments: a [sentinel NAME]\n"
               "; section each (file only, no environment variables). Cluster (master) names are\n"
               "; unique across groups.\n;[sentinel east]\n");
    for (i = 0; i < NGKEYS; i++)
        fprintf(f, "; %s\n;%s =\n", gkeys[i].help, gkeys[i].key);
}

void config_each_key(void (*fn)(void *ctx, const char *section, const char *key, const char *env),
                     void *ctx)
{
    size_t i;
    for (i = 0; i < NKEYS; i++)
        fn(ctx, keys[i].section, keys[i].key, keys[i].env);
}

void config_each_setting(const config *c, config_setting_fn *fn, void *ctx)
{
    char num[24];
    for (size_t i = 0; i < NKEYS; i++) {
        const char *v = (const char *)c + keys[i].off;
        if (keys[i].kind == K_INT) {
            snprintf(num, sizeof(num), "%d", *(const int *)(const void *)v);
            v = num;
        }
        fn(ctx, keys[i].section, keys[i].key, keys[i].env, keys[i].kind == K_SECRET ? NULL : v,
           keys[i].kind == K_SECRET && v[0]);
    }
    for (int g = 0; g < c->ngroups; g++) {
        char sect[HP_NAME_MAX + 16];
        if (c->groups[g].is_default) continue; /* the table's [sentinel] rows */
        snprintf(sect, sizeof(sect), "sentinel %s", c->groups[g].name);
        for (size_t k = 0; k < NGKEYS; k++) {
            const char *v = (const char *)&c->groups[g] + gkeys[k].off;
            fn(ctx, sect, gkeys[k].key, "", gkeys[k].secret ? NULL : v, gkeys[k].secret && v[0]);
        }
    }
}
