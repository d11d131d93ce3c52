/* main.c — hapanel's entry point: reads the configuration, starts the history
 * writer, the monitor and the HTTP server, and stops them in reverse order on
 * SIGINT or SIGTERM. Signals are blocked in every thread and taken here with
 * sigwait, so no handler runs in the middle of other code. */
#define _POSIX_C_SOURCE 200809L
#include <malloc.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "actions/actions.h"
#include "actions/backup.h"
#include "actions/maintenance.h"
#include "core/config.h"
#include "redis/rdbcheck.h"
#include "app/demo.h"
#include "core/dirlock.h"
#include "model/event.h"
#include "web/http.h"
#include "web/auth.h"
#include "actions/jobs.h"
#include "core/log.h"
#include "monitor/monitor.h"
#include "notify/notify.h"
#include "ha/ha.h"
#include <curl/curl.h>
#include "web/route.h"
#include "web/stream.h"
#include "model/topology.h"
#include "core/banned.h" /* last: after every system header */

extern const route api_routes[];
extern const size_t api_nroutes;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hapanel [--config FILE] [--demo]\n"
            "       hapanel --help | --version | --sample-config | --routes | --healthcheck |\n"
            "       hapanel --check-config\n"
            "       hapanel --hash-password | --hash-token < secret\n\n"
            "A control panel for Redis Sentinel: dashboard, REST API and history.\n\n"
            "  --config FILE     read settings from an INI file (environment variables win)\n"
            "  --demo            start a local 1 master + 2 replicas + 3 Sentinels topology on\n"
            "                    free loopback ports and watch it (needs redis-server)\n"
            "  --sample-config   print a configuration file documenting every key\n"
            "  --routes          print the HTTP route table\n"
            "  --hash-password   read a password on stdin, print its stored form for [auth] users\n"
            "  --hash-token      read a token on stdin, print its stored form for [auth] tokens\n"
            "  --healthcheck     exit 0 if the hapanel at HAPANEL_LISTEN answers its health check\n"
            "  --check-config    check the settings (file and environment) and exit: 0 or 2\n"
            "  --verify-rdb FILE check an RDB file's header and CRC64, print its sha256\n"
            "  --version         print the version\n\n"
            "Required: REDIS_SENTINEL_HOSTS (or [sentinel] hosts) and HAPANEL_API_TOKENS\n"
            "(or [auth] tokens), unless --demo.\n");
}

static int jobs_busy_cb(void *ctx, const char *cluster)
{
    return jobs_cluster_busy(ctx, cluster);
}

/* Snapshot-driven alerts open in the database go back to the monitor. The
 * event-driven ones (backup_*) resolve through their own events. */
static void restore_alert(void *ctx, const alert_row *a)
{
    if (strncmp(a->rule, "backup_", 7))
        monitor_restore_alert(ctx, a->cluster, a->rule, a->node, a->severity, a->started_at);
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

/* glibc's malloc gives every thread that allocates an arena of its own, up to
 * eight per core, and each arena keeps what was freed in it: with 32 HTTP
 * workers that was 115-166 MB resident under load for what needs 20. Two
 * arenas (the monitor and the writer rarely contend with the workers for
 * long) keep hapanel small; MALLOC_ARENA_MAX, when set, is obeyed instead. */
#define MALLOC_TRIM_S 30

static void malloc_defaults(void)
{
    if (!env_get("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
    /* Fixed, not glibc's sliding threshold: after one large block is freed
     * glibc serves every block up to its size from the heap, where a page
     * (a history page, a metrics text) leaves holes that small ones pin. */
    if (!env_get("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

/* Every client connection is a descriptor: the soft limit (often 1024) is
 * raised to the hard one, so that the edge's max_conns can be met. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The history writer's hook, after each stored batch: the outbox
 * (notifications), then the live event stream. */
typedef struct history_hook_ctx {
    notifier *nt;
    hub *hb;
} history_hook_ctx;

static void history_hook(void *ctx, const hp_event *evs, int n, const hp_failover *fs, int nf)
{
    history_hook_ctx *h = ctx;
    notify_hook(h->nt, evs, n, fs, nf);
    stream_events(h->hb, evs, n);
}

static void print_routes(void)
{
    size_t i;
    for (i = 0; i < api_nroutes; i++)
        printf("%-6s %-40s %-8s %s\n", api_routes[i].method, api_routes[i].pattern,
               access_role_name(api_routes[i].role), api_routes[i].summary);
}

/* --hash-password / --hash-token: reads one line (the secret) from stdin,
 * without echo on a terminal, and prints its stored form. */
static int hash_secret(int iter)
{
    char line[1024], out[AUTH_HASH_MAX];
    struct termios old, quiet;
    int tty = isatty(0) && tcgetattr(0, &old) == 0;
    size_t n;

    if (tty) {
        fprintf(stderr, "%s: ", iter ? "password" : "token");
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(0, TCSANOW, &quiet);
    }
    if (!fgets(line, sizeof(line), stdin)) line[0] = '\0';
    if (tty) {
        tcsetattr(0, TCSANOW, &old);
        fputc('\n', stderr);
    }
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "hapanel: nothing to hash (give the secret on stdin)\n");
        return 2;
    }
    if (auth_hash(line, n, iter, out) < 0) {
        fprintf(stderr, "hapanel: no random bytes for a salt\n");
        return 1;
    }
    memset(line, 0, sizeof(line));
    printf("%s\n", out);
    return 0;
}

int main(int argc, char **argv)
{
    static config cfg;
    const char *cfg_path = NULL;
    char err[512];
    int i, want_demo = 0, want_probe = 0, want_check = 0, rc = 1, sig, curl_ready = 0, lock_fd = -1,
           lrc;
    long holder = 0;
    sigset_t sigs;
    demo *dm = NULL;
    db *d = NULL;
    evq *q = NULL;
    monitor *mon = NULL;
    jobs *jb = NULL;
    backup_sched *bs = NULL;
    maint_sched *ms = NULL;
    notifier *nt = NULL;
    ha *hav = NULL;
    http_server *srv = NULL;
    hub *hb = NULL;
    ui_pusher *pusher = NULL;
    history_hook_ctx hook;
    app a;
    hp_event ev;

    malloc_defaults();
    raise_nofile();
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("hapanel %s\n", HP_VERSION);
            return 0;
        } else if (!strcmp(argv[i], "--sample-config")) {
            config_write_sample(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--hash-password")) {
            return hash_secret(AUTH_PBKDF2_ITER);
        } else if (!strcmp(argv[i], "--hash-token")) {
            return hash_secret(0);
        } else if (!strcmp(argv[i], "--routes")) {
            print_routes();
            return 0;
        } else if (!strcmp(argv[i], "--verify-rdb") && i + 1 < argc) {
            char sha[65] = "";
            int v = rdbcheck_file(argv[i + 1], sha, err, sizeof(err));
            if (v == RDB_BAD) {
                fprintf(stderr, "hapanel: %s: %s\n", argv[i + 1], err);
                return 1;
            }
            printf("%s: %s, sha256 %s\n", argv[i + 1],
                   v == RDB_OK ? "header and CRC64 good" : "header good, no CRC64 stored", sha);
            return 0;
        } else if (!strcmp(argv[i], "--healthcheck")) {
            want_probe = 1;
        } else if (!strcmp(argv[i], "--check-config")) {
            want_check = 1;
        } else if (!strcmp(argv[i], "--demo")) {
            want_demo = 1;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            cfg_path = argv[++i];
        } else {
            fprintf(stderr, "hapanel: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    config_defaults(&cfg);
    if ((cfg_path && config_load_file(&cfg, cfg_path, err, sizeof(err)) < 0) ||
        config_load_env(&cfg, env_get, err, sizeof(err)) < 0) {
        fprintf(stderr, "hapanel: config: %s\n", err);
        return 2;
    }
    if (want_probe) return http_probe(cfg.listen, cfg.tls_cert[0] != 0, 3000) == 0 ? 0 : 1;
    if (want_check) {
        if (config_finish(&cfg, err, sizeof(err)) < 0) {
            fprintf(stderr, "hapanel: config: %s\n", err);
            return 2;
        }
        printf("hapanel: config ok: %d Sentinel address(es) in %d group(s), %d token(s), %d "
               "user(s), %d notification channel(s), listen %s%s\n",
               cfg.nsentinels, cfg.ngroups, cfg.ntokens, cfg.nusers, cfg.nchannels, cfg.listen,
               cfg.tls_cert[0] ? " (TLS)" : "");
        return 0;
    }
    /* Block the stop signals before any thread exists; all threads inherit it. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (want_demo) {
        fprintf(stderr,
                "hapanel: starting the demo topology (1 master, 2 replicas, 3 Sentinels)...\n");
        dm = demo_start(&cfg, err, sizeof(err));
        if (!dm) {
            fprintf(stderr, "hapanel: demo: %s\n", err);
            return 1;
        }
    }
    if (config_finish(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "hapanel: config: %s\n", err);
        rc = 2;
        goto out;
    }
    log_set_level(log_level_parse(cfg.log_level));

    /* Before the database and the job recovery: a second panel on this
     * data dir would store every event twice and "recover" (undo) the first
     * one's running jobs. */
    lrc = dirlock_take(cfg.data_dir, &lock_fd, &holder, err, sizeof(err));
    if (lrc == DIRLOCK_BUSY) {
        if (holder > 0)
            fprintf(stderr, "hapanel: data dir %s is in use by another hapanel (pid %ld)\n",
                    cfg.data_dir, holder);
        else
            fprintf(stderr, "hapanel: data dir %s is in use by another hapanel\n", cfg.data_dir);
        rc = 2;
        goto out;
    }
    if (lrc < 0) {
        log_error("storage: %s", err);
        goto out;
    }
    for (i = 0; i < cfg.ntokens; i++)
        if (!cfg.tokens[i].hashed)
            log_warn("auth: token %s is stored in plain text; store what `hapanel --hash-token` "
                     "prints for it instead",
                     cfg.tokens[i].name);
    d = db_open(cfg.data_dir, err, sizeof(err));
    if (!d) {
        log_error("storage: %s", err);
        goto out;
    }
    {
        db_samples_keep keep = {cfg.history_raw_keep_s, cfg.history_minute_keep_h * 3600LL,
                                cfg.history_hour_keep_days * 86400LL};
        db_samples_set_keep(d, &keep); /* before the writer, which reads it */
    }
    q = evq_new(d);
    if (!q) goto out;
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    hav = ha_new(&cfg, q, err, sizeof(err)); /* NULL without [ha]: always the leader */
    if (!hav && err[0]) {
        log_error("ha: %s", err);
        goto out;
    }
    nt = notify_new(&cfg, d, q);
    if (nt) notify_set_ha(nt, hav); /* before ha_start: it registers for leader changes */
    if (!nt || notify_start(nt) < 0) {
        log_error("notify: cannot start the senders");
        goto out;
    }
    hb = hub_new();
    if (!hb) goto out;
    hook.nt = nt;
    hook.hb = hb;
    evq_set_hook(q, history_hook, &hook);
    topo_init();
    mon = monitor_new(&cfg, q);
    if (!mon) {
        log_error("monitor: cannot start");
        goto out;
    }
    {
        job_env env = {&cfg, d, q, nt, hav};
        jb = jobs_new(&env, hp_job_kinds, hp_njob_kinds);
    }
    if (!jb) {
        log_error("jobs: cannot start the job runner");
        goto out;
    }
    monitor_set_busy(mon, jobs_busy_cb, jb);
    if (db_query_alerts(d, 1, NULL, 0, 10000, restore_alert, mon) < 0)
        log_warn("alerts: cannot read the open alerts");
    bs = backup_sched_new(&cfg, d, jb, q);
    if (!bs) {
        log_error("backup: cannot start the scheduler");
        goto out;
    }
    ms = maint_sched_new(&cfg, d, jb);
    if (!ms) {
        log_error("maintenance: cannot start the timer");
        goto out;
    }
    /* After everything that registers ha_on_change; until the lease thread
     * has won the key, hav says "not the leader" and nothing acts. */
    if (hav && ha_start(hav) < 0) {
        log_error("ha: cannot start the lease thread");
        goto out;
    }
    memset(&a, 0, sizeof(a));
    a.cfg = &cfg;
    a.db = d;
    a.q = q;
    a.mon = mon;
    a.jobs = jb;
    a.notifier = nt;
    a.hub = hb;
    a.ha = hav;
    a.started_ms = hp_now_ms();
    srv = http_start(&a, cfg.listen, cfg.http_threads, err, sizeof(err));
    if (!srv && dm && !getenv("HAPANEL_LISTEN")) {
        /* The demo must start: if the default port is taken, take any. */
        log_warn("http: %s; the demo takes a free port instead", err);
        snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:0");
        srv = http_start(&a, cfg.listen, cfg.http_threads, err, sizeof(err));
    }
    if (!srv) {
        log_error("http: %s", err);
        goto out;
    }
    pusher = ui_pusher_start(&a); /* without it the pages poll */
    if (monitor_start(mon) < 0) goto out;
    hp_event_set(&ev, EV_PANEL, "", "panel-started", "info", "panel", NULL,
                 "hapanel " HP_VERSION " started");
    evq_push(q, &ev);
    log_info("hapanel %s: %d Sentinel address(es) in %d group(s), history in %s/hapanel.db "
             "(schema %d)",
             HP_VERSION, cfg.nsentinels, cfg.ngroups, cfg.data_dir, db_schema_version(d));
    log_info("listening on %s://%.*s:%d/%s", cfg.tls_cert[0] ? "https" : "http",
             (int)strcspn(cfg.listen, ":"), cfg.listen, http_port(srv),
             cfg.tls_client_ca[0] ? " (client certificates required)" : "");
    if (dm) {
        char host[64];
        snprintf(host, sizeof(host), "%.*s", (int)strcspn(cfg.listen, ":"), cfg.listen);
        printf(
            "\nhapanel demo is running (Redis and Sentinel files in %s).\n\n"
            "  Dashboard:       http://%s:%d/#token=%s\n"
            "  Viewer token:    %s\n"
            "  Operator token:  %s\n"
            "  Try:             curl -H 'Authorization: Bearer %s' http://%s:%d/api/v1/clusters\n\n"
            "Press Ctrl-C to stop hapanel and the demo topology.\n\n",
            demo_dir(dm), host, http_port(srv), demo_viewer_token(dm), demo_viewer_token(dm),
            demo_operator_token(dm), demo_viewer_token(dm), host, http_port(srv));
        fflush(stdout);
    }
    /* Waiting for a signal; meanwhile what the workers freed goes back to
     * the system every MALLOC_TRIM_S, so that RSS follows the load down. */
    for (;;) {
        struct timespec ts = {MALLOC_TRIM_S, 0};
        sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) break;
        if (sig < 0) malloc_trim(0);
    }
    log_info("stopping (signal %d)", sig);
    rc = 0;
out:
    ui_pusher_stop(pusher);
    http_stop(srv);
    maint_sched_free(ms);
    backup_sched_free(bs);
    ha_drop_callbacks(hav); /* they point into jb and nt: none may run once jb is freed */
    jobs_free(jb);
    notify_stop(nt); /* the senders write through q */
    /* after jobs and senders stopped, before the rest of the stop: revoking
     * the lease hands over at once (freed after the writer's notify hook,
     * which reads it, is done) */
    ha_stop(hav);
    monitor_free(mon);
    if (q) {
        hp_event_set(&ev, EV_PANEL, "", "panel-stopped", "info", "panel", NULL, "hapanel stopped");
        evq_push(q, &ev);
    }
    evq_free(q); /* its hook may still queue messages: free the notifier after */
    notify_free(nt);
    ha_free(hav); /* after evq_free and notify_free: their hook reads it */
    hub_free(hb); /* after the writer (its hook publishes) and the edge */
    if (curl_ready) curl_global_cleanup();
    db_free(d);
    dirlock_release(lock_fd); /* after the database is closed */
    topo_shutdown();
    demo_free(dm);
    memset(&cfg, 0, sizeof(cfg)); /* passwords and tokens */
    return rc;
}
