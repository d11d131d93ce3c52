/* api_backups.c — backups: take one, list, download, delete; BGSAVE. */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/writer.h"
#include "core/embed.h"
#include "web/http.h"
#include "web/metrics.h"
#include "actions/jobs.h"
#include "monitor/monitor.h"
#include "notify/notify.h"
#include "model/promote.h"
#include "web/route.h"
#include "core/sbuf.h"
#include "model/topology.h"
#include "web/ui.h"
#include "core/banned.h" /* last: after every system header */

/* ------------------------------------------------------------------ backups */

int h_backup_create(hreq *r)
{
    static const field_spec spec[] = {{"node", cJSON_String}, {"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    cJSON *body = NULL, *params = NULL;
    const char *node;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    node = api__str_field(body, "node");
    params = cJSON_CreateObject();
    if (node) {
        const snap_node *n = cluster_snap_node(c, node);
        if (!n) {
            st = http_error(r, 404, "not_found", "no node of that address in this cluster");
            goto out;
        }
        if (!n->up) {
            st = http_error(r, 412, "precondition_failed", "%s is down", n->addr);
            goto out;
        }
        cJSON_AddStringToObject(params, "node", n->addr);
    }
    st = api__submit(r, "backup", c->name, params, api__str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}

static void add_backup(void *ctx, const hp_backup *b)
{
    cJSON *o = cJSON_CreateObject();
    char url[64];
    cJSON_AddNumberToObject(o, "id", (double)b->id);
    cJSON_AddStringToObject(o, "cluster", b->cluster);
    cJSON_AddStringToObject(o, "node", b->node);
    cJSON_AddNumberToObject(o, "created_at", (double)b->created_at);
    cJSON_AddNumberToObject(o, "size_bytes", (double)b->size_bytes);
    cJSON_AddStringToObject(o, "sha256", b->sha256);
    cJSON_AddBoolToObject(o, "verified", b->verified);
    api__opt_num(o, "job_id", b->job_id > 0 ? b->job_id : -1);
    snprintf(url, sizeof(url), "/api/v1/backups/%lld/download", (long long)b->id);
    cJSON_AddStringToObject(o, "download", url);
    cJSON_AddItemToObject(o, "remote", api__backup_remote(b)); /* item 6 */
    api__backup_restore(o, b);                                 /* item 7 */
    cJSON_AddItemToArray(ctx, o);
}

int h_backup_list(hreq *r)
{
    topo_snap *t = topo_acquire();
    int known = topo_find(t, r->params[0]) != NULL, st, n;
    int64_t limit = 100;
    cJSON *root, *arr;

    topo_release(t);
    if ((st = api__query_int(r, "limit", 1, 1000, &limit))) return st;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "backups");
    n = db_query_backups(r->app->db, r->params[0], (int)limit, add_backup, arr);
    if (n < 0)
        st = http_error(r, 503, "unavailable", "the database is not readable");
    else if (n == 0 && !known)
        st = http_error(r, 404, "not_found", "no cluster of that name");
    else
        st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

int api__find_backup(hreq *r, hp_backup *b)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    int found;
    if (*end || id <= 0) return http_error(r, 404, "not_found", "no backup with that id");
    found = db_get_backup(r->app->db, id, b);
    if (found < 0) return http_error(r, 503, "unavailable", "the database is not readable");
    if (!found) return http_error(r, 404, "not_found", "no backup with that id");
    return 1;
}

int h_backup_download(hreq *r)
{
    hp_backup b;
    char from[16] = "";
    int st = api__find_backup(r, &b);
    if (st != 1) return st;
    if ((st = api__query_text(r, "from", from, sizeof(from))) > 1) return st;
    if (st == 1 && strcmp(from, "local")) /* item 6: the off-site copy */
        return api__backup_download_remote(r, &b, from);
    return http_send_file(r, b.path, "application/octet-stream", strrchr(b.path, '/') + 1);
}

int h_backup_delete(hreq *r)
{
    hp_backup b;
    cJSON *root;
    int st = api__find_backup(r, &b);
    if (st != 1) return st;
    /* The writer removes the row, records the event, then the file. */
    if (evq_backup_delete(r->app->q, &b, r->actor) < 0)
        return http_error(r, 503, "unavailable", "the catalogue could not be changed");
    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "deleted", (double)b.id);
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

int h_bgsave(hreq *r)
{
    static const field_spec spec[] = {{"reason", cJSON_String}};
    topo_snap *t = NULL;
    const cluster_snap *c;
    const snap_node *n;
    cJSON *body = NULL, *params = NULL;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    t = topo_acquire();
    c = topo_find(t, r->params[0]);
    n = c ? cluster_snap_node(c, r->params[1]) : NULL;
    if (!n) {
        st = http_error(r, 404, "not_found",
                        c ? "no node of that address in this cluster" : "no cluster of that name");
        goto out;
    }
    if (!n->up) {
        st = http_error(r, 412, "precondition_failed", "%s is down", n->addr);
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "node", n->addr);
    st = api__submit(r, "bgsave", c->name, params, api__str_field(body, "reason"));
out:
    topo_release(t);
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}
