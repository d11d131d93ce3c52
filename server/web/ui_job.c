/* ui_job.c — a job as the job panel shows it (GET /ui/jobs/{id}, polled
 * while it runs; a backup's transfer as a progress bar from the job's
 * result), and a cluster's recent jobs (see ui_internal.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/banned.h" /* last: after every system header */

/* ---------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------ */

/* How long a job ran (or has been running), in ms; -1 before it started. */
static int64_t job_elapsed(const db_job_row *j, int64_t now_ms)
{
    if (j->started_at <= 0) return -1;
    return (j->ended_at > 0 ? j->ended_at : now_ms) - j->started_at;
}

/* The message of a job's last step (steps: its JSON array text), escaped. */
static void put_last_step(sbuf *b, const char *steps_json)
{
    cJSON *steps = steps_json ? cJSON_Parse(steps_json) : NULL;
    int n = cJSON_GetArraySize(steps);
    const char *msg =
        n > 0
            ? cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, n - 1), "message"))
            : NULL;

    if (msg)
        sbuf_html(b, msg);
    else
        sbuf_puts(b, "<span class=\"muted\">no step yet</span>");
    cJSON_Delete(steps);
}

/* "master A -> B" for a failover job that succeeded; returns 0 (nothing
 * written) for any other job. */
static int put_failover_summary(sbuf *b, const db_job_row *j)
{
    cJSON *res;
    const char *o, *n;
    int done = 0;

    if (strcmp(j->state, "succeeded") != 0 || !j->result) return 0;
    res = cJSON_Parse(j->result);
    o = cJSON_GetStringValue(cJSON_GetObjectItem(res, "old_master"));
    n = cJSON_GetStringValue(cJSON_GetObjectItem(res, "new_master"));
    if (o && n) {
        sbuf_puts(b, "<span class=\"good\">master</span> ");
        ui__put_addr(b, o);
        sbuf_puts(b, " \xe2\x86\x92 ");
        ui__put_addr(b, n);
        done = 1;
    }
    cJSON_Delete(res);
    return done;
}

/* Backups and BGSAVE form their own job group: one of them per cluster at a
 * time, beside (not instead of) a failover, resync or Sentinel reset. Any other
 * kind counts as a topology job. */
static int backup_kind(const char *kind)
{
    return strcmp(kind, "backup") == 0 || strcmp(kind, "bgsave") == 0;
}

/* A queued job with a time of its own: it waits for it and holds nothing. */
static int job_scheduled(const db_job_row *j)
{
    return j->run_at > 0 && strcmp(j->state, "queued") == 0;
}

/* "scheduled for 14:05 UTC" (the date too when it is not today's, the
 * seconds in the title) and the cancel button behind its confirmation. */
static void put_scheduled(sbuf *b, const db_job_row *j, int64_t now_ms)
{
    time_t t = (time_t)(j->run_at / 1000), now = (time_t)(now_ms / 1000);
    struct tm tm, today;
    char hm[40] = "?";

    gmtime_r(&t, &tm);
    gmtime_r(&now, &today);
    strftime(hm, sizeof hm,
             tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday ? "%H:%M UTC"
                                                                        : "%Y-%m-%d %H:%M UTC",
             &tm);
    sbuf_puts(b, "<span class=\"sched\" title=\"");
    ui__put_utc(b, j->run_at, now_ms, 1);
    sbuf_puts(b, "\">scheduled for ");
    ui__put_text(b, hm);
    sbuf_puts(b, "</span> <button type=\"button\" class=\"act\" data-act=\"cancel-job\" "
                 "data-needs=\"operator\"");
    sbuf_printf(b, " data-job=\"%lld\"", (long long)j->id);
    ui__put_attr(b, "data-cluster", j->cluster);
    ui__put_attr(b, "data-kind", j->kind);
    ui__put_attr(b, "data-at", hm);
    sbuf_puts(b, " title=\"cancel this job before its time\">cancel\xe2\x80\xa6</button> ");
}

/* db_job_fn: one row of a cluster's recent jobs. */
static void render_job_row(void *ctx, const db_job_row *j)
{
    jobs_ctx *x = ctx;
    sbuf *b = x->b;
    const char *st = ui__job_state_class(j->state);

    /* a scheduled job is not active until it starts: the failover button
     * stays usable and no job panel opens for it */
    if (!ui__job_finished(j->state) && !job_scheduled(j)) {
        int64_t *group = backup_kind(j->kind) ? &x->active_backup : &x->active_topo;
        if (x->active_id == 0) x->active_id = j->id;
        if (*group == 0) *group = j->id;
    }
    sbuf_printf(b, "<tr class=\"jobrow job-%s\"><td>", st);
    ui__put_job_link(b, j->id);
    sbuf_puts(b, "</td><td>");
    ui__put_text(b, j->kind);
    sbuf_puts(b, "</td><td>");
    ui__put_job_badge(b, st, job_scheduled(j) ? "scheduled" : j->state);
    sbuf_puts(b, "</td><td class=\"time\" title=\"");
    ui__put_utc(b, j->created_at, x->now_ms, 1);
    sbuf_puts(b, "\">");
    ui__put_ago(b, (x->now_ms - j->created_at) / 1000);
    sbuf_puts(b, "</td><td class=\"num\">");
    ui__put_duration(b, job_elapsed(j, x->now_ms));
    sbuf_puts(b, "</td><td>");
    ui__put_text(b, j->actor);
    sbuf_puts(b, "</td><td class=\"msg\">");
    if (job_scheduled(j)) put_scheduled(b, j, x->now_ms);
    if (j->reason[0] != '\0') {
        sbuf_puts(b, "<span class=\"reason\">\xe2\x80\x9c");
        sbuf_html(b, j->reason);
        sbuf_puts(b, "\xe2\x80\x9d</span> ");
    }
    if (j->error && j->error[0] != '\0') {
        sbuf_puts(b, "<span class=\"err\">");
        sbuf_html(b, j->error);
        sbuf_puts(b, "</span>");
    } else if (!put_failover_summary(b, j)) {
        put_last_step(b, j->steps);
    }
    sbuf_puts(b, "</td></tr>\n");
}

/* The latest UI_JOBS jobs of the cluster into b; x receives the ids of the
 * ones still queued or running (0 if none). */
void ui__render_recent_jobs(sbuf *b, struct db *d, const cluster_snap *c, int64_t now_ms,
                            jobs_ctx *xp)
{
    jobs_ctx x;
    int n = -1;

    memset(&x, 0, sizeof x);
    x.b = b;
    x.now_ms = now_ms;
    sbuf_puts(b, "<h3>Recent jobs</h3>\n<div class=\"scroll\" tabindex=\"0\" role=\"region\" "
                 "aria-label=\"Recent jobs table\"><table class=\"jobs\"><thead><tr>"
                 "<th>job</th><th>kind</th><th>state</th><th>created</th>"
                 "<th class=\"num\">took</th><th>by</th><th>reason, last step or error</th>"
                 "</tr></thead><tbody>\n");
    if (d) n = db_recent_jobs(d, c->name, UI_JOBS, render_job_row, &x);
    if (n == 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty\">no job has run on this cluster"
                     "</td></tr>\n");
    else if (n < 0)
        sbuf_puts(b, "<tr><td colspan=\"7\" class=\"empty bad\">jobs unavailable "
                     "(database error)</td></tr>\n");
    sbuf_puts(b, "</tbody></table></div>\n");
    *xp = x;
}

/* A JSON value as text: strings escaped, whole numbers without a fraction,
 * booleans as yes/no, anything else as its (escaped) JSON. */
static void put_json_value(sbuf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        ui__put_text(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        sbuf_puts(b, cJSON_IsTrue(v) ? "yes" : "no");
    } else if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (x > -9e15 && x < 9e15 && x == (double)(long long)x)
            sbuf_printf(b, "%lld", (long long)x);
        else
            sbuf_printf(b, "%g", x);
    } else if (!v || cJSON_IsNull(v)) {
        sbuf_puts(b, UI_DASH);
    } else {
        char *t = cJSON_PrintUnformatted(v);
        if (t) sbuf_html(b, t);
        cJSON_free(t);
    }
}

/* A JSON object's fields as "key value" pairs in a <dl>, without skip (a key
 * shown elsewhere, or NULL). Nothing when the object is empty. */
static void put_json_fields(sbuf *b, const char *cls, const cJSON *o, const char *skip)
{
    const cJSON *it;
    int any = 0;

    cJSON_ArrayForEach(it, o)
    {
        if (!it->string || (skip && strcmp(it->string, skip) == 0)) continue;
        if (!any) sbuf_printf(b, "<dl class=\"kv %s\">", cls);
        any = 1;
        sbuf_puts(b, "<div><dt>");
        sbuf_html(b, it->string);
        sbuf_puts(b, "</dt><dd>");
        put_json_value(b, it);
        sbuf_puts(b, "</dd></div>");
    }
    if (any) sbuf_puts(b, "</dl>\n");
}

/* The steps of a job, each with its UTC time and the time since the job
 * started (t0); a last "working" line while it runs. */
static void render_steps(sbuf *b, const cJSON *steps, int64_t t0, const char *state)
{
    const cJSON *s;
    int n = 0;

    sbuf_puts(b, "<ol class=\"steps\">\n");
    cJSON_ArrayForEach(s, steps)
    {
        const cJSON *ts = cJSON_GetObjectItem(s, "ts");
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(s, "message"));
        int64_t t = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble : 0;
        const char *cls = !msg                             ? ""
                          : strncmp(msg, "failed", 6) == 0 ? " class=\"step-bad\""
                          : strcmp(msg, "done") == 0       ? " class=\"step-good\""
                                                           : "";
        n++;
        sbuf_printf(b, "<li%s><span class=\"t\" title=\"", cls);
        ui__put_utc(b, t, t, 1);
        sbuf_puts(b, "\">");
        ui__put_utc_ms(b, t);
        sbuf_puts(b, "</span> <span class=\"el\">");
        if (t > 0 && t0 > 0) {
            sbuf_puts(b, "+");
            ui__put_duration(b, t >= t0 ? t - t0 : 0);
        }
        sbuf_puts(b, "</span> <span class=\"m\">");
        ui__put_text(b, msg ? msg : "");
        sbuf_puts(b, "</span></li>\n");
    }
    if (strcmp(state, "running") == 0)
        sbuf_puts(b, "<li class=\"pending\"><span class=\"spin\" aria-hidden=\"true\"></span> "
                     "working\xe2\x80\xa6</li>\n");
    else if (strcmp(state, "queued") == 0)
        sbuf_puts(b, "<li class=\"pending\">queued, waiting for the job runner\xe2\x80\xa6</li>\n");
    else if (n == 0)
        sbuf_puts(b, "<li class=\"muted\">no step recorded</li>\n");
    sbuf_puts(b, "</ol>\n");
}

/* A whole, non-negative JSON number as int64, else -1. */
static int64_t json_count(const cJSON *v)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15) return -1;
    return (int64_t)v->valuedouble;
}

/* Whether msg is exactly fmt with one or two numbers (%lld), which go to a and
 * b: "%n" makes sure nothing follows. */
/* How far a backup's transfer got: bytes received and the total (-1 each
 * when unknown; the total stays unknown for a diskless transfer), from the
 * job's result, which the job stores with every step (bytes_received,
 * bytes_total; size_bytes once it succeeded). Returns 0 when nothing is
 * known. */
static int backup_progress(const cJSON *result, int64_t *got, int64_t *total)
{
    int64_t size = json_count(cJSON_GetObjectItem(result, "size_bytes"));

    *got = json_count(cJSON_GetObjectItem(result, "bytes_received"));
    *total = json_count(cJSON_GetObjectItem(result, "bytes_total"));
    if (*total > 0 && *got < 0) *got = 0;
    if (size >= 0) *got = *total = size; /* done: all of it arrived */
    return *got >= 0 || *total > 0;
}

/* A backup job's transfer as a progress bar and "X of Y (Z %)". The bar has
 * no value (indeterminate) while the total is unknown. */
static void render_backup_progress(sbuf *b, const db_job_row *j, const cJSON *result)
{
    int64_t got, total;
    int running = !ui__job_finished(j->state);

    if (!backup_progress(result, &got, &total)) return;
    if (got < 0) got = 0;
    sbuf_printf(b, "<div class=\"xfer%s\"><span class=\"k\">transfer</span> ",
                strcmp(j->state, "failed") == 0 ? " xfer-bad" : "");
    if (total > 0) {
        int64_t shown = got > total ? total : got;
        double pct = 100.0 * (double)shown / (double)total;
        sbuf_printf(b, "<progress max=\"%lld\" value=\"%lld\"></progress> ", (long long)total,
                    (long long)shown);
        if (strcmp(j->state, "failed") == 0) sbuf_puts(b, "stopped at ");
        ui__put_bytes(b, got);
        sbuf_puts(b, " of ");
        ui__put_bytes(b, total);
        sbuf_printf(b, " <span class=\"muted\">(%.0f%%)</span>", pct);
    } else {
        if (running) sbuf_puts(b, "<progress></progress> ");
        ui__put_bytes(b, got);
        sbuf_puts(b, " received <span class=\"muted\">(diskless transfer: the total is not "
                     "known in advance)</span>");
    }
    sbuf_puts(b, "</div>\n");
}

/* What a finished backup or BGSAVE job produced, said plainly: the backup's
 * size, source, check and sha256 with a download button; the node and save
 * time of a BGSAVE. Returns 0 (nothing written) for other jobs. */
static int render_backup_summary(sbuf *b, const db_job_row *j, const cJSON *result, int64_t now_ms)
{
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(result, "node"));
    int64_t id = json_count(cJSON_GetObjectItem(result, "backup_id"));

    if (strcmp(j->state, "succeeded") != 0 || !node) return 0;
    if (strcmp(j->kind, "backup") == 0 && id > 0) {
        const char *sha = cJSON_GetStringValue(cJSON_GetObjectItem(result, "sha256"));
        sbuf_printf(b, "<p class=\"jobsum\">backup #%lld \xc2\xb7 ", (long long)id);
        ui__put_bytes(b, json_count(cJSON_GetObjectItem(result, "size_bytes")));
        sbuf_puts(b, " from ");
        ui__put_addr(b, node);
        sbuf_puts(b, " ");
        ui__put_verified(b, cJSON_IsTrue(cJSON_GetObjectItem(result, "verified")));
        sbuf_puts(b, " ");
        ui__put_sha(b, sha ? sha : "");
        sbuf_puts(b, " ");
        ui__put_download_button(b, id);
        sbuf_puts(b, "</p>\n");
        return 1;
    }
    if (strcmp(j->kind, "bgsave") == 0) {
        int64_t saved = json_count(cJSON_GetObjectItem(result, "rdb_last_save_time"));
        sbuf_puts(b, "<p class=\"jobsum\">BGSAVE on ");
        ui__put_addr(b, node);
        sbuf_puts(b, " done");
        if (saved > 0) {
            sbuf_puts(b, " \xc2\xb7 saved ");
            ui__put_utc(b, saved * 1000, now_ms, 1);
        }
        sbuf_puts(b, "</p>\n");
        return 1;
    }
    return 0;
}

/* One job as the job panel shows it. While it is queued or running the
 * element polls its own URL every 500 ms and is replaced by the answer
 * (outerHTML); once it succeeded or failed the answer carries no hx-trigger,
 * which ends the polling. */
void ui__render_job_view(sbuf *b, const db_job_row *j, int64_t now_ms)
{
    const char *st = ui__job_state_class(j->state);
    int done = ui__job_finished(j->state);
    cJSON *params = j->params ? cJSON_Parse(j->params) : NULL;
    cJSON *steps = j->steps ? cJSON_Parse(j->steps) : NULL;
    cJSON *result = j->result ? cJSON_Parse(j->result) : NULL;
    const char *reason = j->reason;
    const char *old_m = cJSON_GetStringValue(cJSON_GetObjectItem(result, "old_master"));
    const char *new_m = cJSON_GetStringValue(cJSON_GetObjectItem(result, "new_master"));
    const cJSON *paused = cJSON_GetObjectItem(result, "writes_paused_ms");
    long long id = (long long)j->id;

    sbuf_printf(b,
                "<div class=\"jobview job-%s\" id=\"job-%lld\" data-job=\"%lld\" data-state=\"%s\"",
                st, id, id, st);
    if (!done)
        sbuf_printf(b, " hx-get=\"/ui/jobs/%lld\" hx-trigger=\"every 500ms\" hx-swap=\"outerHTML\"",
                    id);
    sbuf_printf(b, ">\n<header class=\"jobhead\"><strong>Job #%lld</strong> <span class=\"kind\">",
                id);
    ui__put_text(b, j->kind);
    sbuf_puts(b, "</span> on <strong class=\"jobcluster\">");
    ui__put_text(b, j->cluster);
    sbuf_puts(b, "</strong> ");
    ui__put_job_badge(b, st, j->state);
    sbuf_puts(b, " <span class=\"muted\">");
    if (done) {
        sbuf_puts(b, "took ");
        ui__put_duration(b, job_elapsed(j, now_ms));
    } else if (j->started_at > 0) {
        sbuf_puts(b, "running for ");
        ui__put_duration(b, job_elapsed(j, now_ms));
    } else {
        sbuf_puts(b, "queued ");
        ui__put_ago(b, (now_ms - j->created_at) / 1000);
    }
    sbuf_puts(b, "</span></header>\n<p class=\"jobmeta\">by ");
    ui__put_text(b, j->actor);
    sbuf_puts(b, " \xc2\xb7 created ");
    ui__put_utc(b, j->created_at, now_ms, 1);
    if (done && j->ended_at > 0) {
        sbuf_puts(b, " \xc2\xb7 ended ");
        ui__put_utc(b, j->ended_at, now_ms, 0);
    }
    if (reason[0] != '\0') {
        sbuf_puts(b, "<br>reason: <span class=\"reason\">");
        sbuf_html(b, reason);
        sbuf_puts(b, "</span>");
    }
    sbuf_puts(b, "</p>\n");
    put_json_fields(b, "params", params, "reason");

    if (strcmp(j->kind, "backup") == 0) render_backup_progress(b, j, result);
    render_steps(b, steps, j->started_at > 0 ? j->started_at : j->created_at, st);

    if (j->error && j->error[0] != '\0') {
        sbuf_puts(b, "<p class=\"joberr\" role=\"alert\"><strong>error</strong> ");
        sbuf_html(b, j->error);
        sbuf_puts(b, "</p>\n");
    }
    if (cJSON_IsFalse(cJSON_GetObjectItem(result, "persisted"))) {
        /* The role change holds only until the node restarts. */
        const char *note = cJSON_GetStringValue(cJSON_GetObjectItem(result, "persisted_note"));
        const char *who = strcmp(j->kind, "failover") == 0
                              ? old_m
                              : cJSON_GetStringValue(cJSON_GetObjectItem(result, "node"));
        sbuf_puts(b, "<p class=\"jobwarn\" role=\"alert\"><strong>not persisted</strong> ");
        if (who) ui__put_addr(b, who);
        sbuf_puts(b,
                  strcmp(j->kind, "failover") == 0
                      ? " would come back as a master after a restart, until Sentinel converts it"
                      : " would come back with the role its config file gives it after a restart");
        if (note) {
            sbuf_puts(b, " (");
            sbuf_html(b, note);
            sbuf_puts(b, ")");
        }
        sbuf_puts(b, "</p>\n");
    }
    if (done && strcmp(st, "succeeded") == 0 && old_m && new_m) { /* a failover: say it plainly */
        sbuf_puts(b, "<p class=\"jobsum\">master ");
        ui__put_addr(b, old_m);
        sbuf_puts(b, " \xe2\x86\x92 ");
        ui__put_addr(b, new_m);
        if (cJSON_IsNumber(paused)) {
            sbuf_puts(b, " \xc2\xb7 writes paused ");
            ui__put_duration(b, (int64_t)paused->valuedouble);
        }
        sbuf_puts(b, "</p>\n");
    } else if (done) {
        render_backup_summary(b, j, result, now_ms);
        if (cJSON_GetArraySize(result) > 0) {
            sbuf_puts(b, "<div class=\"jobres\"><span class=\"k\">result</span>");
            put_json_fields(b, "result", result, NULL);
            sbuf_puts(b, "</div>\n");
        }
    }
    sbuf_puts(b, "</div>\n");
    cJSON_Delete(params);
    cJSON_Delete(steps);
    cJSON_Delete(result);
}

/* Sends an HTML fragment (or 500 if rendering ran out of memory). */
int ui__send_fragment(hreq *r, int status, sbuf *b)
{
    if (sbuf_failed(b))
        return http_error(r, 500, "internal", "out of memory rendering the dashboard");
    return http_send(r, status, "text/html; charset=utf-8", b->buf ? b->buf : "", b->len);
}

int ui_job(hreq *r)
{
    sbuf b = SBUF_INIT;
    struct db *d = r->app ? r->app->db : NULL;
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    db_job_row j;
    int status = 200, found;

    if (r->params[0][0] == '\0' || *end || id <= 0) {
        status = 404;
        sbuf_puts(&b, "<div class=\"jobview job-unknown\"><p class=\"bad\">There is no job with "
                      "that id.</p></div>\n");
    } else if ((found = d ? db_job_get(d, id, &j) : -1) < 0) {
        /* a busy or broken database: keep polling, more slowly */
        status = 503;
        sbuf_printf(&b,
                    "<div class=\"jobview job-unknown\" hx-get=\"/ui/jobs/%lld\" "
                    "hx-trigger=\"every 2s\" hx-swap=\"outerHTML\"><p class=\"bad\">Job #%lld: "
                    "the history database is not readable; retrying\xe2\x80\xa6</p></div>\n",
                    id, id);
    } else if (!found && (status = http_forward_if_missing(r))) {
        /* a follower: the leader runs the job, and answered */
        return status;
    } else if (!found) {
        status = 404;
        sbuf_printf(&b,
                    "<div class=\"jobview job-unknown\"><p class=\"bad\">There is no job "
                    "#%lld.</p></div>\n",
                    id);
    } else {
        ui__render_job_view(&b, &j, hp_now_ms());
        db_job_row_release(&j);
    }
    status = ui__send_fragment(r, status, &b);
    sbuf_release(&b);
    return status;
}
