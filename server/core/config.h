/* config.h — hapanel's settings: defaults, an INI file (parsed with inih) and
 * environment variables, the environment winning. Every key is one row of a
 * table in config.c (section, key, variable, kind, limits, help), so the file,
 * the environment, validation and the sample file cannot drift apart. Pure but
 * for reading the file: unit-tested with a fake environment. */
#ifndef HP_CONFIG_H
#define HP_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "core/common.h"

#define CFG_MAX_SENTINELS 32
#define CFG_MAX_MASTERS 64
#define CFG_MAX_TOKENS 32
#define CFG_MAX_AMAP 128

typedef struct cfg_token {
    int role;         /* ROLE_* (roles.h) */
    char name[64];    /* for audit; "viewer-1" when not given */
    char secret[256]; /* plain text, $sha256$salt$hash or $pbkdf2-sha256$iter$salt$hash */
    int hashed;
} cfg_token;

#define CFG_MAX_CHANNELS 16

enum { CH_WEBHOOK = 1, CH_TELEGRAM = 2 };
enum { SEV_INFO = 0, SEV_WARNING = 1, SEV_CRITICAL = 2 };

/* Parses "info", "warning", "critical"; -1 for anything else. */
int severity_parse(const char *s);
const char *severity_name(int sev);

/* A notification channel: a webhook or a Telegram chat. */
typedef struct cfg_channel {
    char name[48];
    int kind;           /* CH_WEBHOOK or CH_TELEGRAM */
    char url[512];      /* webhook URL, or Telegram API base */
    char token[256];    /* Telegram bot token: secret, never shown */
    char chat_id[64];   /* Telegram */
    char secret[256];   /* webhook HMAC key: secret, never shown */
    char headers[1024]; /* webhook extra headers, "Name: value" separated by '|' */
    int min_severity;   /* SEV_* */
} cfg_channel;

#define CFG_MAX_GROUPS 16

/* A Sentinel group: the Sentinels of one deployment and what hapanel needs
 * to talk to its Sentinels and its nodes. groups[0] "default" comes from
 * [sentinel] / REDIS_SENTINEL_* (when its hosts are set); every [sentinel
 * NAME] section is one more (file only, as [webhook NAME]). Cluster names
 * (master names) are unique across groups. */
typedef struct cfg_group {
    char name[HP_NAME_MAX];
    char hosts_raw[2048];
    char masters_raw[2048];
    char address_map_raw[8192];
    char sentinel_user[128];
    char sentinel_password[256];            /* secret */
    char redis_user[128];                   /* default: [redis] user */
    char redis_password[256];               /* secret; default: [redis] password */
    int redis_user_set, redis_password_set; /* given in the section */
    int is_default;                         /* groups[0] from [sentinel] / REDIS_SENTINEL_* */
    /* derived by config_finish */
    char sentinels[CFG_MAX_SENTINELS][HP_ADDR_MAX];
    int nsentinels;
    char masters[CFG_MAX_MASTERS][HP_NAME_MAX]; /* empty: every master its Sentinels monitor */
    int nmasters;
    char amap_from[CFG_MAX_AMAP][HP_ADDR_MAX]; /* address_map */
    char amap_to[CFG_MAX_AMAP][HP_ADDR_MAX];
    int namap;
} cfg_group;

typedef struct config {
    /* raw values, as set by file or environment */
    char sentinel_hosts[2048];
    char master_names[2048];
    char redis_password[256];
    char redis_user[128];
    char address_map_raw[8192];
    char sentinel_user[128];
    char sentinel_password[256];
    char listen[128];
    int http_threads;
    int http_header_timeout_ms;
    int http_body_timeout_ms;
    int http_keepalive_ms;
    int http_max_conns;
    int http_max_conns_per_addr;
    int http_max_streams;
    char tls_cert[1024];
    char tls_key[1024];
    char tls_client_ca[1024];
    char data_dir[1024];
    char api_tokens[4096];
    char users_raw[4096];
    int metrics_open;
    int anonymous_read;
    int session_idle_s;
    int session_max_s;
    int login_max_failures;
    int audit_keep_days;
    int history_raw_keep_s; /* the charts' samples: every poll's, minutes, hours */
    int history_minute_keep_h;
    int history_hour_keep_days;
    int poll_interval_ms;
    int lint_interval_s; /* [lint]: how often each node's running config is read */
    char resolv_conf[1024];
    int timeout_ms;
    char log_level[16];
    char backup_dir[1024];
    char backup_daily_at[8];
    int backup_interval_minutes;
    int backup_keep_last;
    int backup_keep_days;
    /* [s3]: off-site copies of the backups (actions/s3.c; issue 14 item 6) */
    char s3_endpoint[512]; /* empty: no off-site copies */
    char s3_bucket[128];
    char s3_prefix[256];
    char s3_region[64];
    char s3_access_key[256];
    char s3_secret_key[256];
    int s3_keep_last; /* -1: as [backup] keep_last */
    int s3_keep_days; /* -1: as [backup] keep_days */
    int s3_path_style;
    int s3_max_attempts;
    /* notifications from the environment (a channel each) */
    char webhook_urls[2048];
    char webhook_secret[256];
    char webhook_headers[1024];
    char webhook_min_severity[16];
    char telegram_bot_token[256];
    char telegram_chat_id[64];
    char telegram_api_base[256];
    char telegram_min_severity[16];
    int notify_max_attempts;
    /* [hook]: the pre-failover veto (actions/hook.c) */
    char pre_failover_url[1024];
    char pre_failover_secret[256];
    int pre_failover_timeout_ms;
    /* [restore]: the restore checks of the backups (actions/restore.c; issue 14 item 7) */
    char restore_redis_server[1024];
    int restore_load_timeout_s;
    /* [drill]: the failover drills (actions/drill.c; issue 14 item 1) */
    int drill_enabled;
    char drill_key_prefix[64];
    int drill_allow_kill;
    char drill_kill_method[16]; /* "sleep" (DEBUG SLEEP) or "shutdown" (SHUTDOWN NOSAVE) */
    int drill_kill_sleep_s;
    int drill_probe_interval_ms;
    int drill_settle_ms;
    int drill_timeout_ms;
    /* [ha]: hapanel itself highly available on etcd (ha/leader.c; issue 15) */
    char ha_etcd_endpoints[1024]; /* empty: a single instance, always the leader */
    char ha_key_prefix[128];
    int ha_lease_ttl_s;
    char ha_instance_name[64];  /* config_finish: hostname:port when empty (and HA on) */
    char ha_advertise_url[256]; /* config_finish: http(s)://<listen> when empty (and HA on) */
    char ha_peer_secret[256];   /* secret: HMAC key of forwarded requests */
    /* alert rules */
    int alert_master_down_s;
    int alert_replica_down_s;
    int alert_lag_s;
    int alert_memory_pct;
    int alert_resolve_after_s;
    /* derived by config_finish */
    cfg_group groups[CFG_MAX_GROUPS]; /* [sentinel] first (if set), then [sentinel NAME]s */
    int ngroups;
    int nsentinels; /* over every group */
    cfg_token tokens[CFG_MAX_TOKENS];
    int ntokens;
    cfg_token users[CFG_MAX_TOKENS]; /* dashboard logins */
    int nusers;
    cfg_channel channels[CFG_MAX_CHANNELS]; /* [webhook NAME], [telegram NAME], environment */
    int nchannels;
    int nfile_channels; /* how many of them came from the file's sections */
} config;

void config_defaults(config *c);
/* Reads an INI file. Returns 0, or -1 with a message naming the file, line or
 * key in err. */
int config_load_file(config *c, const char *path, char *err, size_t errsz);
/* Applies the environment through getenv_fn (getenv in the program). */
int config_load_env(config *c, const char *(*getenv_fn)(const char *), char *err, size_t errsz);
/* Validates and derives the lists. Returns 0 or -1 with a message naming the key. */
int config_finish(config *c, char *err, size_t errsz);
/* Writes a commented sample file with every key, its variable and default. */
void config_write_sample(FILE *f);
/* Calls fn for each key: section, key, environment variable. */
void config_each_key(void (*fn)(void *ctx, const char *section, const char *key, const char *env),
                     void *ctx);

/* The address to connect to for addr ("host:port", as Sentinel or a node
 * announces it): its group's address_map entry (the address's own, else
 * its host's, with addr's port, written into buf), else addr itself. */
const char *config_map_addr(const cfg_group *g, const char *addr, char *buf, size_t bufsz);
/* groups[idx], or NULL when out of range. */
const cfg_group *config_group(const config *c, int idx);
/* The group of that name, or NULL. */
const cfg_group *config_group_named(const config *c, const char *name);
/* The group whose masters= lists master, or -1 (none lists it, or every
 * group takes every master). */
int config_group_of_master(const config *c, const char *master);
/* Calls fn for each key with its current value; a secret's value is NULL
 * (only whether it is set is told). */
typedef void config_setting_fn(void *ctx, const char *section, const char *key, const char *env,
                               const char *value, int secret_set);
void config_each_setting(const config *c, config_setting_fn *fn, void *ctx);
#endif
