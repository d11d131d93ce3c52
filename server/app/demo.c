/* demo.c — the local demo topology (see demo.h). Blocking calls are fine here:
 * this runs before the server starts and after it stops. */
#define _GNU_SOURCE
#include "app/demo.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/spawn.h"
#include "core/banned.h" /* last: after every system header */

#define DEMO_PROCS 6
#define DEMO_MASTER "demo"

struct demo {
    char dir[256];
    pid_t pids[DEMO_PROCS];
    int ports[DEMO_PROCS]; /* 0 master, 1-2 replicas, 3-5 Sentinels */
    char viewer[40], operator_tok[40];
};

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0) return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int random_hex(char *out, size_t outsz)
{
    unsigned char raw[16];
    size_t i;
    if (outsz < 33 || getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) return -1;
    for (i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static int wait_ping(int port, int ms)
{
    struct timeval tv = {0, 200000};
    int waited;
    for (waited = 0; waited < ms; waited += 100) {
        redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (ok) return 0;
        } else if (c) {
            redisFree(c);
        }
        usleep(100 * 1000);
    }
    return -1;
}

demo *demo_start(config *cfg, char *err, size_t errsz)
{
    demo *d = calloc(1, sizeof(*d));
    char path[512], conf[1024], server_bin[4096], sentinel_bin[4096], *argv[4];
    int i, has_sentinel = hp_find_on_path("redis-sentinel", sentinel_bin, sizeof(sentinel_bin));

    if (!d) return NULL;
    if (gettid() != getpid()) {
        /* hp_spawn's parent-death signal follows the forking thread */
        snprintf(err, errsz, "the demo must be started from the main thread");
        goto fail;
    }
    if (!hp_find_on_path("redis-server", server_bin, sizeof(server_bin))) {
        snprintf(err, errsz,
                 "redis-server is not installed (apt-get install redis-server "
                 "redis-sentinel)");
        goto fail;
    }
    snprintf(d->dir, sizeof(d->dir), "/tmp/hapanel-demo-XXXXXX");
    if (!mkdtemp(d->dir)) {
        snprintf(err, errsz, "cannot create a temporary directory: %s", strerror(errno));
        goto fail;
    }
    for (i = 0; i < DEMO_PROCS; i++)
        if ((d->ports[i] = free_port()) < 0) {
            snprintf(err, errsz, "no free loopback port");
            goto fail;
        }
    for (i = 0; i < DEMO_PROCS; i++) {
        int sentinel = i >= 3;
        snprintf(path, sizeof(path), "%s/%s-%d.conf", d->dir, sentinel ? "sentinel" : "redis",
                 d->ports[i]);
        if (!sentinel)
            snprintf(conf, sizeof(conf),
                     "port %d\nbind 127.0.0.1\ndir %s\ndbfilename dump-%d.rdb\n"
                     "logfile %s/redis-%d.log\nsave 60 1000\nappendonly no\n%s%d\n",
                     d->ports[i], d->dir, d->ports[i], d->dir, d->ports[i],
                     i ? "replicaof 127.0.0.1 " : "# master ", d->ports[0]);
        else
            snprintf(conf, sizeof(conf),
                     "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s/sentinel-%d.log\n"
                     "sentinel monitor " DEMO_MASTER " 127.0.0.1 %d 2\n"
                     "sentinel down-after-milliseconds " DEMO_MASTER " 3000\n"
                     "sentinel failover-timeout " DEMO_MASTER " 10000\n",
                     d->ports[i], d->dir, d->dir, d->ports[i], d->ports[0]);
        if (write_file(path, conf) < 0) {
            snprintf(err, errsz, "cannot write %s", path);
            goto fail;
        }
        argv[0] = (char *)(sentinel && has_sentinel ? "redis-sentinel" : "redis-server");
        argv[1] = path;
        argv[2] = sentinel && !has_sentinel ? (char *)"--sentinel" : NULL;
        argv[3] = NULL;
        d->pids[i] = hp_spawn(sentinel && has_sentinel ? sentinel_bin : server_bin, argv,
                              HP_SPAWN_CLOSE_FDS);
        if (d->pids[i] < 0 || wait_ping(d->ports[i], 10000) < 0) {
            snprintf(err, errsz, "%s on port %d did not start (see %s)", argv[0], d->ports[i],
                     d->dir);
            goto fail;
        }
    }
    if (random_hex(d->viewer, sizeof(d->viewer)) < 0 ||
        random_hex(d->operator_tok, sizeof(d->operator_tok)) < 0) {
        snprintf(err, errsz, "no randomness for tokens");
        goto fail;
    }
    snprintf(cfg->sentinel_hosts, sizeof(cfg->sentinel_hosts),
             "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", d->ports[3], d->ports[4], d->ports[5]);
    snprintf(cfg->api_tokens, sizeof(cfg->api_tokens),
             "viewer:demo-viewer:%s,operator:demo-operator:%s", d->viewer, d->operator_tok);
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s/data", d->dir);
    return d;
fail:
    demo_free(d);
    return NULL;
}

const char *demo_viewer_token(const demo *d)
{
    return d->viewer;
}

const char *demo_operator_token(const demo *d)
{
    return d->operator_tok;
}

const char *demo_dir(const demo *d)
{
    return d->dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void demo_free(demo *d)
{
    int i, tries;
    if (!d) return;
    for (i = DEMO_PROCS - 1; i >= 0; i--)
        if (d->pids[i] > 0) kill(d->pids[i], SIGTERM);
    for (i = 0; i < DEMO_PROCS; i++) {
        if (d->pids[i] <= 0) continue;
        for (tries = 0; tries < 50 && waitpid(d->pids[i], NULL, WNOHANG) == 0; tries++)
            usleep(100 * 1000);
        if (tries == 50) {
            kill(d->pids[i], SIGKILL);
            waitpid(d->pids[i], NULL, 0);
        }
    }
    if (d->dir[0] && strcmp(d->dir, "/tmp/hapanel-demo-XXXXXX"))
        nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}
