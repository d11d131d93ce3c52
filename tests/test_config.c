#define _POSIX_C_SOURCE 200809L
/* test_config.c — defaults, file, environment precedence, validation messages,
 * and the sample file in the repository naming every key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/config.h"
#include "web/http.h"

static const char *fake_env[][2] = {
    {"REDIS_SENTINEL_HOSTS", "10.1.1.1:26379, 10.1.1.2:26380 ,[::1]:26381"},
    {"HAPANEL_POLL_INTERVAL_MS", "250"},
    {NULL, NULL},
};
static const char *(*active_env)[2] = fake_env;

static const char *getenv_fake(const char *name)
{
    int i;
    for (i = 0; active_env[i][0]; i++)
        if (!strcmp(active_env[i][0], name)) return active_env[i][1];
    return NULL;
}

static const char *bad_env[][2] = {{"HAPANEL_TIMEOUT_MS", "fast"}, {NULL, NULL}};

static char sample[65536];

static void key_in_sample(void *ctx, const char *section, const char *key, const char *env)
{
    char want[128];
    (void)ctx;
    snprintf(want, sizeof(want), "[%s]", section);
    CHECK(strstr(sample, want) != NULL);
    snprintf(want, sizeof(want), "%s = ", key);
    CHECK(strstr(sample, want) != NULL);
    CHECK(strstr(sample, env) != NULL);
}

/* Loads text as a file, then the environment env, then finishes: 0 or -1
 * with the message in err. */
static int load_text(config *c, const char *text, const char *(*env)[2], char *err, size_t errsz)
{
    char path[] = "/tmp/hapanel-test-config-XXXXXX";
    int fd = mkstemp(path), rc;
    FILE *f;
    CHECK(fd >= 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    config_defaults(c);
    active_env = env;
    rc = config_load_file(c, path, err, errsz);
    if (rc == 0) rc = config_load_env(c, getenv_fake, err, errsz);
    if (rc == 0) rc = config_finish(c, err, errsz);
    unlink(path);
    active_env = fake_env;
    return rc;
}

static void setting_count(void *ctx, const char *section, const char *key, const char *env,
                          const char *value, int secret_set)
{
    int *n = ctx;
    (void)env;
    if (!strcmp(section, "sentinel west") && !strcmp(key, "password")) {
        CHECK(value == NULL); /* a secret: only whether it is set */
        CHECK(secret_set == 1);
        n[0]++;
    }
    if (!strcmp(section, "sentinel west") && !strcmp(key, "hosts")) {
        CHECK_STR(value, "127.0.0.1:36379");
        n[1]++;
    }
}

/* [sentinel NAME] groups (issue 15 item 1). */
static void groups_cases(void)
{
    static config c; /* ~600 KB: not on the stack */
    char err[512], mb[HP_ADDR_MAX];
    static const char *no_env[][2] = {{NULL, NULL}};
    const char *tok = "[auth]\ntokens = viewer:abc\n";
    char text[2048];
    int n[2] = {0, 0};

    /* the environment's [sentinel] plus two sections: three groups, default first */
    snprintf(text, sizeof(text),
             "%s[redis]\npassword = rp\n[sentinel east]\nhosts = 10.2.0.1:26379, 10.2.0.2:26379\n"
             "masters = orders, carts\naddress_map = 10.2.0.9=127.0.0.1\n"
             "[sentinel west]\nhosts = 127.0.0.1:36379\npassword = wsecret\n"
             "redis_password = wrp\naddress_map = 10.3.0.9:6379=127.0.0.1:7000\n",
             tok);
    CHECK(load_text(&c, text, fake_env, err, sizeof(err)) == 0);
    CHECK(c.ngroups == 3);
    CHECK_STR(c.groups[0].name, "default");
    CHECK(c.groups[0].is_default && c.groups[0].nsentinels == 3);
    CHECK_STR(c.groups[1].name, "east");
    CHECK(c.groups[1].nsentinels == 2 && c.groups[1].nmasters == 2);
    CHECK_STR(c.groups[1].masters[1], "carts");
    CHECK_STR(c.groups[2].name, "west");
    CHECK(c.nsentinels == 6);
    CHECK_STR(c.groups[2].sentinel_password, "wsecret");
    CHECK_STR(c.groups[2].redis_password, "wrp");
    CHECK_STR(c.groups[1].redis_password, "rp"); /* default: [redis] password */
    CHECK(c.groups[0].sentinel_password[0] == '\0');
    CHECK(config_group_named(&c, "west") == &c.groups[2]);
    CHECK(config_group_named(&c, "north") == NULL);
    CHECK(config_group(&c, 3) == NULL && config_group(&c, -1) == NULL);
    CHECK(config_group_of_master(&c, "carts") == 1);
    CHECK(config_group_of_master(&c, "mymaster") == -1);
    /* per-group maps: east's entry is not west's */
    CHECK_STR(config_map_addr(&c.groups[1], "10.2.0.9:6379", mb, sizeof(mb)), "127.0.0.1:6379");
    CHECK_STR(config_map_addr(&c.groups[2], "10.2.0.9:6379", mb, sizeof(mb)), "10.2.0.9:6379");
    CHECK_STR(config_map_addr(&c.groups[2], "10.3.0.9:6379", mb, sizeof(mb)), "127.0.0.1:7000");
    /* idempotent: a second finish gives the same groups */
    CHECK(config_finish(&c, err, sizeof(err)) == 0);
    CHECK(c.ngroups == 3 && c.groups[0].is_default && !strcmp(c.groups[2].name, "west"));
    config_each_setting(&c, setting_count, n);
    CHECK(n[0] == 1 && n[1] == 1);

    /* named groups alone are enough */
    snprintf(text, sizeof(text), "%s[sentinel east]\nhosts = 10.2.0.1:26379\n", tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) == 0);
    CHECK(c.ngroups == 1 && !c.groups[0].is_default);
    /* no group at all */
    CHECK(load_text(&c, tok, no_env, err, sizeof(err)) < 0);
    CHECK(strstr(err, "no Sentinel group") && strstr(err, "[sentinel NAME]"));
    /* a group without hosts names its section */
    snprintf(text, sizeof(text), "%s[sentinel east]\nmasters = a\n", tok);
    CHECK(load_text(&c, text, fake_env, err, sizeof(err)) < 0);
    CHECK(strstr(err, "[sentinel east] hosts is required") != NULL);
    /* a static clash names both sections */
    snprintf(text, sizeof(text),
             "%s[sentinel]\nhosts = 10.1.0.1:26379\nmasters = orders\n[sentinel east]\n"
             "hosts = 10.2.0.1:26379\nmasters = carts\n[sentinel west]\nhosts = 10.3.0.1:26379\n"
             "masters = x, orders\n",
             tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) < 0);
    CHECK(strstr(err, "'orders'") && strstr(err, "[sentinel] masters") &&
          strstr(err, "[sentinel west] masters") && strstr(err, "unique"));
    /* one Sentinel in two groups */
    snprintf(text, sizeof(text),
             "%s[sentinel east]\nhosts = 10.2.0.1:26379\n[sentinel west]\nhosts = 10.2.0.1:26379\n",
             tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) < 0);
    CHECK(strstr(err, "10.2.0.1:26379") && strstr(err, "[sentinel east]") &&
          strstr(err, "[sentinel west]"));
    /* two sites announcing the same address, each mapped to its own
     * Sentinel: two Sentinels, accepted */
    snprintf(text, sizeof(text),
             "%s[sentinel east]\nhosts = 10.0.0.5:26379\naddress_map = 10.0.0.5=192.0.2.1\n"
             "[sentinel west]\nhosts = 10.0.0.5:26379\naddress_map = 10.0.0.5=192.0.2.2\n",
             tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) == 0);
    CHECK(c.ngroups == 2 && c.nsentinels == 2);
    /* two announced addresses reached at one Sentinel: one Sentinel in two groups */
    snprintf(text, sizeof(text),
             "%s[sentinel east]\nhosts = 10.0.0.5:26379\naddress_map = 10.0.0.5=192.0.2.1\n"
             "[sentinel west]\nhosts = 192.0.2.1:26379\n",
             tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) < 0);
    CHECK(strstr(err, "192.0.2.1:26379") && strstr(err, "[sentinel east]") &&
          strstr(err, "[sentinel west]"));
    /* [sentinel east] twice is one group, its keys merged */
    snprintf(text, sizeof(text),
             "%s[sentinel east]\nhosts = 10.2.0.1:26379\n[sentinel west]\nhosts = 10.3.0.1:26379\n"
             "[sentinel east]\nmasters = orders\n",
             tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) == 0);
    CHECK(c.ngroups == 2 && !strcmp(c.groups[0].name, "east") && c.groups[0].nmasters == 1 &&
          c.groups[0].nsentinels == 1);
    /* CFG_MAX_GROUPS: [sentinel] and 15 sections; a 16th section is refused */
    {
        static char many[8192];
        size_t off = (size_t)snprintf(many, sizeof(many), "%s", tok);
        int g;
        for (g = 0; g < CFG_MAX_GROUPS - 1; g++)
            off += (size_t)snprintf(many + off, sizeof(many) - off,
                                    "[sentinel g%d]\nhosts = 10.9.%d.1:26379\n", g, g);
        CHECK(load_text(&c, many, fake_env, err, sizeof(err)) == 0);
        CHECK(c.ngroups == CFG_MAX_GROUPS && c.groups[0].is_default);
        CHECK_STR(c.groups[CFG_MAX_GROUPS - 1].name, "g14");
        snprintf(many + off, sizeof(many) - off, "[sentinel g99]\nhosts = 10.9.99.1:26379\n");
        CHECK(load_text(&c, many, fake_env, err, sizeof(err)) < 0);
        CHECK(strstr(err, "[sentinel g99]") && strstr(err, "more than 15"));
    }
    /* unknown key, bad names, a bad address in a section, no secret in an error */
    snprintf(text, sizeof(text), "%s[sentinel east]\nhosts = 10.2.0.1:26379\nbogus = 1\n", tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) < 0);
    CHECK(strstr(err, "unknown key [sentinel east] bogus") != NULL);
    snprintf(text, sizeof(text), "%s[sentinel default]\nhosts = 10.2.0.1:26379\n", tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) < 0 && strstr(err, "group name"));
    snprintf(text, sizeof(text), "%s[sentinel <b>]\nhosts = 10.2.0.1:26379\n", tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) < 0 && strstr(err, "group name"));
    snprintf(text, sizeof(text), "%s[sentinel east]\npassword = topsecret\nhosts = nope\n", tok);
    CHECK(load_text(&c, text, no_env, err, sizeof(err)) < 0);
    CHECK(strstr(err, "[sentinel east] hosts: 'nope'") && !strstr(err, "topsecret"));
}

int main(void)
{
    config c;
    char err[512], path[] = "/tmp/hapanel-test-config-XXXXXX", mb[HP_ADDR_MAX];
    FILE *f;
    int fd;
    size_t n;

    config_defaults(&c);
    CHECK(c.poll_interval_ms == 1000);
    CHECK_STR(c.listen, "127.0.0.1:8080");

    fd = mkstemp(path);
    CHECK(fd >= 0);
    f = fdopen(fd, "w");
    fputs("[sentinel]\nhosts = 192.0.2.1:26379\nmasters = a, b\n[monitor]\npoll_interval_ms = 500\n"
          "[auth]\ntokens = viewer:abc,operator:ops:def\n",
          f);
    fclose(f);
    CHECK(config_load_file(&c, path, err, sizeof(err)) == 0);
    CHECK(c.poll_interval_ms == 500);
    CHECK(config_load_env(&c, getenv_fake, err, sizeof(err)) == 0);
    CHECK(config_finish(&c, err, sizeof(err)) == 0);
    CHECK(c.poll_interval_ms == 250); /* the environment wins */
    CHECK(c.groups[0].nsentinels == 3);
    CHECK_STR(c.groups[0].sentinels[1], "10.1.1.2:26380");
    CHECK_STR(c.groups[0].sentinels[2], "[::1]:26381");
    CHECK(c.groups[0].nmasters == 2);
    CHECK_STR(c.groups[0].masters[1], "b");
    CHECK(c.ntokens == 2);
    CHECK(c.tokens[1].role == ROLE_OPERATOR);
    CHECK_STR(c.tokens[1].name, "ops");

    /* Bad values: a message naming the key; secrets are not echoed. */
    active_env = bad_env;
    CHECK(config_load_env(&c, getenv_fake, err, sizeof(err)) < 0);
    CHECK(strstr(err, "HAPANEL_TIMEOUT_MS") != NULL);
    hp_strlcpy(c.api_tokens, "root:supersecret", sizeof(c.api_tokens));
    CHECK(config_finish(&c, err, sizeof(err)) < 0);
    CHECK(strstr(err, "HAPANEL_API_TOKENS") != NULL);
    CHECK(strstr(err, "supersecret") == NULL);
    hp_strlcpy(c.api_tokens, "viewer:x", sizeof(c.api_tokens));
    hp_strlcpy(c.sentinel_hosts, "nohost", sizeof(c.sentinel_hosts));
    CHECK(config_finish(&c, err, sizeof(err)) < 0);
    CHECK(strstr(err, "REDIS_SENTINEL_HOSTS") != NULL);
    hp_strlcpy(c.sentinel_hosts, "", sizeof(c.sentinel_hosts));
    CHECK(config_finish(&c, err, sizeof(err)) < 0);
    hp_strlcpy(c.sentinel_hosts, "h:1", sizeof(c.sentinel_hosts));
    hp_strlcpy(c.listen, "127.0.0.1:99999", sizeof(c.listen));
    CHECK(config_finish(&c, err, sizeof(err)) < 0);
    CHECK(strstr(err, "HAPANEL_LISTEN") != NULL);

    f = fopen(path, "w");
    fputs("[sentinel]\nhostz = x\n", f);
    fclose(f);
    CHECK(config_load_file(&c, path, err, sizeof(err)) < 0);
    CHECK(strstr(err, "hostz") != NULL);
    CHECK(config_load_file(&c, "/nonexistent/hapanel.ini", err, sizeof(err)) < 0);
    unlink(path);

    /* The address map: announced addresses to reachable ones. */
    hp_strlcpy(c.listen, "127.0.0.1:8080", sizeof(c.listen));
    hp_strlcpy(c.address_map_raw,
               "10.0.0.5:6379=127.0.0.1:16379, [::1]:7000=127.0.0.1:17000,10.0.0.5=gw.local,"
               "redis-1=10.9.9.9",
               sizeof(c.address_map_raw));
    CHECK(config_finish(&c, err, sizeof(err)) == 0);
    CHECK(c.groups[0].namap == 4);
    CHECK_STR(config_map_addr(&c.groups[0], "10.0.0.5:6379", mb, sizeof(mb)), "127.0.0.1:16379");
    CHECK_STR(config_map_addr(&c.groups[0], "10.0.0.5:6380", mb, sizeof(mb)), "gw.local:6380");
    CHECK_STR(config_map_addr(&c.groups[0], "redis-1:26379", mb, sizeof(mb)), "10.9.9.9:26379");
    CHECK_STR(config_map_addr(&c.groups[0], "redis-2:6379", mb, sizeof(mb)), "redis-2:6379");
    hp_strlcpy(c.address_map_raw, "10.0.0.5=127.0.0.1:1", sizeof(c.address_map_raw));
    CHECK(config_finish(&c, err, sizeof(err)) < 0); /* a host for an address */
    hp_strlcpy(c.address_map_raw, "10.0.0.5:6379", sizeof(c.address_map_raw));
    CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "HAPANEL_ADDRESS_MAP"));
    hp_strlcpy(c.address_map_raw, "10.0.0.5:6379=nohost", sizeof(c.address_map_raw));
    CHECK(config_finish(&c, err, sizeof(err)) < 0);
    hp_strlcpy(c.address_map_raw, "", sizeof(c.address_map_raw));

    /* [ha]: endpoints are http(s)://host:port, a peer secret goes with them,
     * the name and the advertise URL default to hostname:port and listen. */
    CHECK(config_finish(&c, err, sizeof(err)) == 0);
    CHECK(c.ha_instance_name[0] == '\0' && c.ha_lease_ttl_s == 5); /* off: nothing derived */
    hp_strlcpy(c.ha_etcd_endpoints, "http://127.0.0.1:2379, https://etcd-2:2379",
               sizeof(c.ha_etcd_endpoints));
    CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "HAPANEL_HA_PEER_SECRET"));
    hp_strlcpy(c.ha_peer_secret, "s3cret-peer", sizeof(c.ha_peer_secret));
    CHECK(config_finish(&c, err, sizeof(err)) == 0);
    CHECK(strstr(c.ha_instance_name, ":8080") != NULL);
    CHECK_STR(c.ha_advertise_url, "http://127.0.0.1:8080");
    CHECK_STR(c.ha_key_prefix, "hapanel");
    hp_strlcpy(c.ha_etcd_endpoints, "127.0.0.1:2379", sizeof(c.ha_etcd_endpoints));
    CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "HAPANEL_ETCD_ENDPOINTS"));
    hp_strlcpy(c.ha_etcd_endpoints, "http://127.0.0.1:2379/v3", sizeof(c.ha_etcd_endpoints));
    CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "HAPANEL_ETCD_ENDPOINTS"));
    hp_strlcpy(c.ha_etcd_endpoints, "http://127.0.0.1:2379", sizeof(c.ha_etcd_endpoints));
    hp_strlcpy(c.ha_instance_name, "p 1", sizeof(c.ha_instance_name));
    CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "HAPANEL_INSTANCE_NAME"));
    hp_strlcpy(c.ha_instance_name, "p1", sizeof(c.ha_instance_name));
    hp_strlcpy(c.ha_advertise_url, "", sizeof(c.ha_advertise_url));
    hp_strlcpy(c.listen, "0.0.0.0:8080", sizeof(c.listen));
    CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "HAPANEL_ADVERTISE_URL"));
    CHECK(strstr(err, "s3cret-peer") == NULL);
    hp_strlcpy(c.ha_advertise_url, "http://panel-1:8080", sizeof(c.ha_advertise_url));
    CHECK(config_finish(&c, err, sizeof(err)) == 0);
    {
        static const char *ttl_env[][2] = {{"HAPANEL_HA_LEASE_TTL_S", "1"}, {NULL, NULL}};
        active_env = ttl_env;
        CHECK(config_load_env(&c, getenv_fake, err, sizeof(err)) < 0 &&
              strstr(err, "HAPANEL_HA_LEASE_TTL_S"));
    }
    hp_strlcpy(c.listen, "127.0.0.1:8080", sizeof(c.listen));
    hp_strlcpy(c.ha_etcd_endpoints, "", sizeof(c.ha_etcd_endpoints));

    /* The sample in the repository documents every key. */
    f = fopen(HP_SOURCE_DIR "/hapanel.sample.ini", "r");
    CHECK(f != NULL);
    if (f) {
        n = fread(sample, 1, sizeof(sample) - 1, f);
        sample[n] = '\0';
        fclose(f);
        config_each_key(key_in_sample, NULL);
        CHECK(strstr(sample, "[sentinel east]") != NULL);
    }
    groups_cases();
    return check_done();
}
