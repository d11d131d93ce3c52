/* test_ui.c — the dashboard fragment escapes every value that comes from
 * Redis, a Sentinel or the history: hostile names, errors and event texts come
 * out as text, never as markup. Includes ui.c to reach its render functions. */
#define _POSIX_C_SOURCE 200809L
#include "../server/ui.c"

#include <stdlib.h>
#include <unistd.h>

#include "../db/db.h"
#include "check.h"

static void add_node(cluster_snap *c, const char *addr, int role, int up, const char *error)
{
    snap_node *n = &c->nodes[c->nnodes++];
    memset(n, 0, sizeof(*n));
    hp_strlcpy(n->addr, addr, sizeof(n->addr));
    n->polled = 1;
    n->up = up;
    n->role = up ? role : ROLE_UNKNOWN;
    n->link_up = role == ROLE_REPLICA ? 1 : -1;
    hp_strlcpy(n->error, error, sizeof(n->error));
    n->lag_bytes = n->used_memory = n->maxmemory = n->repl_offset = -1;
    n->lag_seconds = n->mem_fragmentation_ratio = -1;
    n->connected_clients = n->rdb_last_save_time = n->rdb_changes_since_last_save = -1;
    n->aof_enabled = n->priority = -1;
}

int main(void)
{
    const char *name = "<script>alert(1)</script>";
    char dir[] = "/tmp/hapanel-test-ui-XXXXXX", err[256], cmd[300];
    cluster_snap *c = cluster_snap_new(name);
    sbuf b = SBUF_INIT;
    hp_event ev;
    db *d;

    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    hp_event_set(&ev, name, "+sdown", "<b>sev\"", "a\"b' & <c>", "1.2.3.4:5", "x & 'y' \"z\"");
    CHECK(db_insert_events(d, &ev, 1) == 0);

    c->nodes = calloc(2, sizeof(*c->nodes));
    c->sentinels = calloc(1, sizeof(*c->sentinels));
    add_node(c, "127.0.0.1:6379", ROLE_MASTER, 1, "");
    add_node(c, "127.0.0.1:6380", ROLE_REPLICA, 0, "\"><img src=x onerror=alert(1)>");
    c->nsentinels = 1;
    hp_strlcpy(c->sentinels[0].addr, "127.0.0.1:26379", sizeof(c->sentinels[0].addr));
    c->sentinels[0].polled = c->sentinels[0].up = 1;
    hp_strlcpy(c->sentinels[0].sees_master, "127.0.0.1:6379", sizeof(c->sentinels[0].sees_master));
    hp_strlcpy(c->sentinels[0].flags, "master,<i>", sizeof(c->sentinels[0].flags));
    c->sentinels[0].quorum = 1;
    CHECK(cluster_snap_finish(c, hp_now_ms()) == 0);

    render_cluster(&b, d, c, hp_now_ms());
    CHECK(!sbuf_failed(&b) && b.len > 0);
    CHECK(strstr(b.buf, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL);
    CHECK(strstr(b.buf, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") != NULL);
    CHECK(strstr(b.buf, "<img") == NULL);
    CHECK(strstr(b.buf, "master,&lt;i&gt;") != NULL);
    CHECK(strstr(b.buf, "<i>") == NULL);
    CHECK(strstr(b.buf, "x &amp; &#39;y&#39; &quot;z&quot;") != NULL); /* event message */
    CHECK(strstr(b.buf, "sev-unknown") != NULL); /* class from a fixed list */
    CHECK(strstr(b.buf, "<b>sev") == NULL);
    CHECK(strstr(b.buf, "127.0.0.1:6380") != NULL);

    sbuf_release(&b);
    cluster_snap_unref(c);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
