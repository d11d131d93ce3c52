/* api_restore.c — the restore check of a backup (issue 14 item 7): starting
 * it, and the key figures and last outcome GET backups shows. The check
 * itself is a job (actions/restore.c). */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actions/restore.h"
#include "db/db.h"
#include "web/http.h"
#include "core/banned.h" /* last: after every system header */

void api__backup_restore(cJSON *o, const hp_backup *b)
{
    cJSON *rs;
    api__opt_num(o, "keys", b->keys);
    api__opt_num(o, "expires", b->keys >= 0 ? b->expires : -1);
    if (b->walk_error[0])
        cJSON_AddStringToObject(o, "walk_error", b->walk_error);
    else
        cJSON_AddNullToObject(o, "walk_error");
    if (!b->restore_checked_at) {
        cJSON_AddNullToObject(o, "restore");
        return;
    }
    rs = cJSON_AddObjectToObject(o, "restore");
    cJSON_AddBoolToObject(rs, "ok", b->restore_ok);
    cJSON_AddNumberToObject(rs, "checked_at", (double)b->restore_checked_at);
    cJSON_AddStringToObject(rs, "detail", b->restore_detail);
}

int h_backup_verify_restore(hreq *r)
{
    static const field_spec spec[] = {{"reason", cJSON_String}};
    cJSON *body = NULL, *params = NULL;
    char server[1100];
    hp_backup b;
    int st;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    if ((st = api__find_backup(r, &b)) != 1) goto out;
    /* Said now rather than by a job that can only fail: the panel's host
     * has no redis-server to load the file into. */
    if (restore_find_server(r->app->cfg, server, sizeof(server)) < 0) {
        st = http_error(r, 412, "precondition_failed", "%s", server);
        goto out;
    }
    params = cJSON_CreateObject();
    cJSON_AddNumberToObject(params, "backup_id", (double)b.id);
    st = api__submit(r, "verify-restore", b.cluster, params, api__str_field(body, "reason"));
out:
    cJSON_Delete(body);
    cJSON_Delete(params);
    return st;
}
