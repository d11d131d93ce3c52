/* api_lint.c — GET /api/v1/clusters/{name}/lint: the config lint (model/lint.h)
 * run on the current snapshot. The nodes' running config in it is what the
 * monitor read with CONFIG GET at most [lint] interval_s ago; this handler
 * talks to no Redis. */
#include "web/api_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "model/lint.h"
#include "model/topology.h"
#include "web/http.h"
#include "core/banned.h" /* last: after every system header */

/* The body of the answer for c (caller frees with cJSON_Delete), or NULL
 * when out of memory. */
static cJSON *lint_json(const cluster_snap *c, const lint_finding *f, int n, int interval_s)
{
    cJSON *root = cJSON_CreateObject(), *counts, *arr, *pending;
    int i, crit = 0, warn = 0, info = 0;
    int64_t oldest = 0;

    if (!root) return NULL;
    cJSON_AddStringToObject(root, "cluster", c->name);
    cJSON_AddNumberToObject(root, "interval_s", interval_s);
    pending = cJSON_AddArrayToObject(root, "pending");
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *nd = &c->nodes[i];
        if (!nd->up) continue;
        if (nd->conf.state == 0)
            cJSON_AddItemToArray(pending, cJSON_CreateString(nd->addr));
        else if (!oldest || nd->conf.read_at_ms < oldest)
            oldest = nd->conf.read_at_ms;
    }
    cJSON_AddBoolToObject(root, "complete", cJSON_GetArraySize(pending) == 0);
    if (oldest)
        cJSON_AddNumberToObject(root, "config_read_at", (double)oldest);
    else
        cJSON_AddNullToObject(root, "config_read_at");
    counts = cJSON_AddObjectToObject(root, "counts");
    arr = cJSON_AddArrayToObject(root, "findings");
    for (i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!strcmp(f[i].severity, "critical"))
            crit++;
        else if (!strcmp(f[i].severity, "warning"))
            warn++;
        else
            info++;
        cJSON_AddStringToObject(o, "check", f[i].check);
        cJSON_AddStringToObject(o, "severity", f[i].severity);
        cJSON_AddStringToObject(o, "title", f[i].title);
        /* a node finding names the node, a Sentinel finding the Sentinel,
         * a cluster finding neither */
        if (f[i].node[0] && !f[i].sentinel)
            cJSON_AddStringToObject(o, "node", f[i].node);
        else
            cJSON_AddNullToObject(o, "node");
        if (f[i].node[0] && f[i].sentinel)
            cJSON_AddStringToObject(o, "sentinel", f[i].node);
        else
            cJSON_AddNullToObject(o, "sentinel");
        cJSON_AddStringToObject(o, "evidence", f[i].evidence);
        cJSON_AddStringToObject(o, "fix", f[i].fix);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddNumberToObject(counts, "critical", crit);
    cJSON_AddNumberToObject(counts, "warning", warn);
    cJSON_AddNumberToObject(counts, "info", info);
    return root;
}

int h_lint(hreq *r)
{
    topo_snap *t = topo_acquire();
    const cluster_snap *c = topo_find(t, r->params[0]);
    lint_finding *f = NULL;
    cJSON *root = NULL;
    int st, n;

    if (!c) {
        st = http_error(r, 404, "not_found", "no cluster of that name");
        goto out;
    }
    f = malloc(sizeof(*f) * LINT_MAX); /* ~45 KiB: not on a worker's stack */
    if (!f) {
        st = http_error(r, 500, "internal", "out of memory");
        goto out;
    }
    n = lint_run(c, f, LINT_MAX);
    root = lint_json(c, f, n, r->app && r->app->cfg ? r->app->cfg->lint_interval_s : 0);
    st = root ? http_json(r, 200, root) : http_error(r, 500, "internal", "out of memory");
out:
    cJSON_Delete(root);
    free(f);
    topo_release(t);
    return st;
}
