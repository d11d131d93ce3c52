/* api_auth.c — logins, sessions and what only an admin reads: the audit
 * trail, the settings, the credentials (see session.h, auth.h). Also the
 * audit record every state-changing request leaves (api__audit). */
#define _POSIX_C_SOURCE 200809L
#include "web/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/roles.h"
#include "db/writer.h"
#include "web/auth.h"
#include "web/session.h"
#include "core/banned.h" /* last: after every system header */

int h_login(hreq *r)
{
    static const field_spec spec[] = {{"user", cJSON_String}, {"password", cJSON_String}};
    const config *c = r->app->cfg;
    cJSON *body = NULL, *root;
    const char *user, *pw;
    char ka[96], ku[96], extra[256];
    session_info si;
    int64_t now = hp_now_ms();
    int st, wa, wu, role, known;

    if ((st = http_body_json(r, &body))) return st;
    if ((st = api__check_fields(r, body, spec, sizeof(spec) / sizeof(spec[0])))) goto out;
    user = api__str_field(body, "user");
    pw = api__str_field(body, "password");
    if (!user || !pw || !*user || strlen(user) > 63 || strlen(pw) > 1024) {
        st = http_error(r, 400, "bad_request", "user and password are required strings");
        goto out;
    }
    hp_strlcpy(r->actor, user, sizeof(r->actor));
    snprintf(ka, sizeof(ka), "a:%s", r->peer);
    /* per user only for configured users: made-up names would otherwise
     * push the counters of real ones out of the table */
    known = 0;
    for (int i = 0; i < c->nusers; i++)
        if (!strcmp(c->users[i].name, user)) known = 1;
    snprintf(ku, sizeof(ku), "u:%s", known ? user : "");
    wa = login_blocked(ka, c->login_max_failures, now);
    wu = known ? login_blocked(ku, c->login_max_failures, now) : 0;
    if (wa || wu) {
        int wait = wa > wu ? wa : wu;
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", wait);
        st = http_error_extra(r, 429, extra, "too_many_attempts",
                              "too many failed logins %s; retry in %d s",
                              wa ? "from this address" : "for this user", wait);
        goto out;
    }
    role = auth_user(c, user, pw, strlen(pw));
    if (role == ROLE_NONE) {
        login_failed(ka, now);
        if (known) login_failed(ku, now);
        st = http_error(r, 401, "unauthorized", "unknown user or wrong password");
        goto out;
    }
    login_succeeded(ka);
    login_succeeded(ku);
    if (session_create(user, role, now, c->session_idle_s, c->session_max_s, &si) < 0) {
        st = http_error(r, 500, "internal", "no random bytes for a session");
        goto out;
    }
    r->role = role;
    r->via = "session";
    http_cookie(r, si.id, c->session_max_s, extra, sizeof(extra));
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "user", si.user);
    cJSON_AddStringToObject(root, "role", access_role_name(role));
    cJSON_AddStringToObject(root, "csrf", si.csrf);
    cJSON_AddNumberToObject(root, "expires_at", (double)si.expires_ms);
    st = http_json_extra(r, 200, extra, root);
    cJSON_Delete(root);
out:
    cJSON_Delete(body);
    return st;
}

int h_logout(hreq *r)
{
    char extra[256];
    cJSON *root = cJSON_CreateObject();
    int st;
    if (!strcmp(r->via, "session")) session_drop(r->session);
    http_clear_cookie(r, extra, sizeof(extra));
    cJSON_AddBoolToObject(root, "logged_out", !strcmp(r->via, "session"));
    st = http_json_extra(r, 200, extra, root);
    cJSON_Delete(root);
    return st;
}

int h_session(hreq *r)
{
    const config *c = r->app->cfg;
    cJSON *root = cJSON_CreateObject();
    session_info si;
    int st;
    cJSON_AddStringToObject(root, "user", r->actor);
    cJSON_AddStringToObject(root, "role", access_role_name(r->role));
    cJSON_AddStringToObject(root, "via", r->via);
    if (!strcmp(r->via, "session") &&
        session_get(r->session, hp_now_ms(), c->session_idle_s, c->session_max_s, &si) == 0) {
        cJSON_AddStringToObject(root, "csrf", si.csrf);
        cJSON_AddNumberToObject(root, "expires_at", (double)si.expires_ms);
    }
    cJSON_AddBoolToObject(root, "can_act", r->role >= ROLE_OPERATOR);
    cJSON_AddBoolToObject(root, "is_admin", r->role >= ROLE_ADMIN);
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

/* --- admin ---------------------------------------------------------------- */

static void add_audit(void *ctx, const audit_rec *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)a->id);
    cJSON_AddNumberToObject(o, "ts", (double)a->ts);
    cJSON_AddStringToObject(o, "actor", a->actor);
    cJSON_AddStringToObject(o, "role", a->role);
    cJSON_AddStringToObject(o, "via", a->via);
    cJSON_AddStringToObject(o, "source", a->source);
    cJSON_AddStringToObject(o, "action", a->action);
    cJSON_AddStringToObject(o, "target", a->target);
    api__add_json_text(o, "params", a->params, 0);
    cJSON_AddNumberToObject(o, "status", a->status);
    cJSON_AddStringToObject(o, "outcome", a->outcome);
    cJSON_AddItemToArray(ctx, o);
}

/* ?actor=&action=&outcome=&since=&until=&before=&limit=: 0, or the 400 sent. */
static int read_audit_query(hreq *r, audit_query *q, char *actor, char *action, char *outcome,
                            size_t sz, int64_t *limit)
{
    int64_t since = 0, until = 0, before = 0;
    int st, has;
    memset(q, 0, sizeof(*q));
    *limit = 100;
    if ((st = api__query_int(r, "since", 0, INT64_MAX, &since)) ||
        (st = api__query_int(r, "until", 0, INT64_MAX, &until)) ||
        (st = api__query_int(r, "before", 1, INT64_MAX, &before)) ||
        (st = api__query_int(r, "limit", 1, 1000, limit)))
        return st;
    if ((has = api__query_text(r, "actor", actor, sz)) > 1) return has;
    if (has) q->actor = actor;
    if ((has = api__query_text(r, "action", action, sz)) > 1) return has;
    if (has) q->action = action;
    if ((has = api__query_text(r, "outcome", outcome, sz)) > 1) return has;
    if (has) q->outcome = outcome;
    q->since = since;
    q->until = until;
    q->before = before;
    q->limit = (int)*limit + 1;
    return 0;
}

int h_audit(hreq *r)
{
    char actor[128], action[128], outcome[128];
    audit_query q;
    int64_t limit;
    cJSON *root, *arr;
    int st, n;

    if ((st = read_audit_query(r, &q, actor, action, outcome, sizeof(actor), &limit))) return st;
    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "audit");
    n = db_query_audit(r->app->db, &q, add_audit, arr);
    return api__send_page(r, root, arr, n, limit);
}

static void add_setting(void *ctx, const char *section, const char *key, const char *env,
                        const char *value, int secret_set)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "section", section);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "env", env);
    if (value) {
        cJSON_AddStringToObject(o, "value", value);
    } else {
        cJSON_AddNullToObject(o, "value");
        cJSON_AddBoolToObject(o, "secret", 1);
        cJSON_AddBoolToObject(o, "set", secret_set);
    }
    cJSON_AddItemToArray(ctx, o);
}

int h_settings(hreq *r)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "settings");
    int st;
    config_each_setting(r->app->cfg, add_setting, arr);
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}

static void add_creds(cJSON *arr, const cfg_token *list, int n, int tokens)
{
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", list[i].name);
        cJSON_AddStringToObject(o, "role", access_role_name(list[i].role));
        if (tokens) cJSON_AddBoolToObject(o, "hashed", list[i].hashed);
        cJSON_AddItemToArray(arr, o);
    }
}

int h_users(hreq *r)
{
    const config *c = r->app->cfg;
    cJSON *root = cJSON_CreateObject();
    int st;
    add_creds(cJSON_AddArrayToObject(root, "tokens"), c->tokens, c->ntokens, 1);
    add_creds(cJSON_AddArrayToObject(root, "users"), c->users, c->nusers, 0);
    cJSON_AddNumberToObject(root, "sessions",
                            session_count(hp_now_ms(), c->session_idle_s, c->session_max_s));
    st = http_json(r, 200, root);
    cJSON_Delete(root);
    return st;
}
