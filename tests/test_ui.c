/* test_ui.c — the dashboard fragments escape every value that comes from
 * Redis, a Sentinel, the configuration or the history: hostile names, errors,
 * event texts, job steps, failover records, alerts and their acks, backups,
 * notification texts and errors come out as text, never as markup, also inside
 * the data-* attributes the action buttons carry. The job fragment polls only
 * while the job runs; the history's parameters are validated. Includes ui.c to
 * reach its render functions. */
#define _POSIX_C_SOURCE 200809L
#include "web/ui_internal.h" /* the renderers, to call them on hostile data */

#include <civetweb.h>
#include <stdlib.h>
#include <unistd.h>

#include "db/internal.h" /* the fixtures write rows directly */
#include "db/backup_restore.h"
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

/* parse_history_query on a query string, through a fake request. */
static int parse_qs(const char *qs, hist_query *h, char *err, size_t errsz)
{
    struct mg_request_info ri;
    hreq r;
    memset(&ri, 0, sizeof ri);
    memset(&r, 0, sizeof r);
    ri.query_string = qs;
    r.ri = &ri;
    return ui__parse_history_query(&r, h, err, errsz);
}

/* How often needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
        n++;
    return n;
}

static void test_parse_history(void)
{
    hist_query h;
    char err[200];
    int64_t ms = 0;

    CHECK(ui__parse_when("2024-05-01 12:30", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(ui__parse_when("2024-05-01T12:30:00Z", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(ui__parse_when("2024-05-01 12:30 UTC", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(ui__parse_when("1714566600000", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(ui__parse_when("2024-05-01", 1, &ms) == 0 &&
          ms == 1714607999999LL); /* until: whole day */
    CHECK(ui__parse_when("2024-02-29", 0, &ms) == 0);
    CHECK(ui__parse_when("2023-02-29", 0, &ms) < 0);
    CHECK(ui__parse_when("2024-04-31", 0, &ms) < 0);
    CHECK(ui__parse_when("2024-05-01 24:00", 0, &ms) < 0);
    CHECK(ui__parse_when("2024-5-1", 0, &ms) < 0);
    CHECK(ui__parse_when("yesterday", 0, &ms) < 0);
    CHECK(ui__parse_when("-5", 0, &ms) < 0);
    CHECK(ui__parse_when("99999999999999999999", 0, &ms) < 0);

    CHECK(parse_qs("cluster=a&type=%2Bsdown&since=&until=&before=", &h, err, sizeof err) == 0);
    CHECK(strcmp(h.cluster, "a") == 0 && strcmp(h.type, "+sdown") == 0);
    CHECK(h.since == 0 && h.until == 0 && h.before == 0 && h.limit == UI_HIST_EVENTS);
    CHECK(parse_qs("before=12&fbefore=3&limit=7&since=2024-05-01", &h, err, sizeof err) == 0);
    CHECK(h.before == 12 && h.fbefore == 3 && h.limit == 7 && h.since == 1714521600000LL);
    CHECK(parse_qs("since=yesterday&cluster=%3Cx%3E", &h, err, sizeof err) < 0);
    CHECK(strstr(err, "since must be") != NULL);
    CHECK(strcmp(h.cluster, "<x>") == 0 && strcmp(h.since_text, "yesterday") == 0); /* kept */
    CHECK(parse_qs("before=0", &h, err, sizeof err) < 0 && strstr(err, "before must be") != NULL);
    CHECK(parse_qs("before=-4", &h, err, sizeof err) < 0);
    CHECK(parse_qs("before=12abc", &h, err, sizeof err) < 0);
    CHECK(parse_qs("before=99999999999999999999999", &h, err, sizeof err) < 0);
    CHECK(parse_qs("limit=5000", &h, err, sizeof err) < 0 && strstr(err, "limit") != NULL);
    CHECK(parse_qs("since=2024-05-02&until=2024-05-01", &h, err, sizeof err) < 0);
    {
        char qs[400];
        memset(qs, 0, sizeof qs);
        memcpy(qs, "cluster=", 8);
        memset(qs + 8, 'x', 300);
        CHECK(parse_qs(qs, &h, err, sizeof err) < 0 && strstr(err, "too long") != NULL);
    }
}

/* The job fragment: escaped everywhere; polls while unfinished, not after. */
static void test_job_view(void)
{
    db_job_row j;
    sbuf b = SBUF_INIT;
    int64_t now = hp_now_ms();

    memset(&j, 0, sizeof j);
    j.id = 42;
    hp_strlcpy(j.kind, "<k>", sizeof j.kind);
    hp_strlcpy(j.cluster, "<script>c</script>", sizeof j.cluster);
    hp_strlcpy(j.state, "running", sizeof j.state);
    hp_strlcpy(j.actor, "<a onclick=x>", sizeof j.actor);
    hp_strlcpy(j.reason, "\"><b>why</b>", sizeof j.reason);
    j.params = (char *)"{\"mode\":\"<m>\",\"target\":\"\\\"><x>\",\"reason\":\"r\"}";
    j.steps = (char *)"[{\"ts\":1714566600123,\"message\":\"<b>step</b> & 'q'\"},"
                      "{\"ts\":1714566601000,\"message\":\"failed: <e>\"}]";
    j.error = (char *)"<err>";
    j.result = (char *)"{\"old_master\":\"<o>\",\"new_master\":\"<n>\",\"writes_paused_ms\":312}";
    j.created_at = now - 3000;
    j.started_at = now - 2000;

    ui__render_job_view(&b, &j, now);
    CHECK(!sbuf_failed(&b) && b.len > 0);
    CHECK(strstr(b.buf, "hx-trigger=\"every 500ms\"") != NULL);
    CHECK(strstr(b.buf, "hx-get=\"/ui/jobs/42\"") != NULL);
    CHECK(strstr(b.buf, "data-state=\"running\"") != NULL);
    CHECK(strstr(b.buf, "&lt;k&gt;") && strstr(b.buf, "&lt;script&gt;c&lt;/script&gt;"));
    CHECK(strstr(b.buf, "&lt;a onclick=x&gt;") != NULL);
    CHECK(strstr(b.buf, "&quot;&gt;&lt;b&gt;why&lt;/b&gt;") != NULL);
    CHECK(strstr(b.buf, "&lt;m&gt;") && strstr(b.buf, "&quot;&gt;&lt;x&gt;"));
    CHECK(strstr(b.buf, "&lt;b&gt;step&lt;/b&gt; &amp; &#39;q&#39;") != NULL);
    CHECK(strstr(b.buf, "12:30:00.123") != NULL); /* step time, UTC, with ms */
    CHECK(strstr(b.buf, "class=\"step-bad\"") != NULL);
    CHECK(strstr(b.buf, "&lt;err&gt;") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<x>") == NULL);
    CHECK(strstr(b.buf, "<b>") == NULL && strstr(b.buf, "<a ") == NULL);
    CHECK(strstr(b.buf, "&lt;o&gt;") == NULL); /* the result shows once the job ended */
    sbuf_release(&b);

    hp_strlcpy(j.state, "succeeded", sizeof j.state);
    j.ended_at = now;
    ui__render_job_view(&b, &j, now);
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "hx-trigger") == NULL && strstr(b.buf, "hx-get") == NULL);
    CHECK(strstr(b.buf, "job-succeeded") != NULL);
    CHECK(strstr(b.buf, "&lt;o&gt;") && strstr(b.buf, "&lt;n&gt;") && strstr(b.buf, "312 ms"));
    sbuf_release(&b);

    hp_strlcpy(j.state, "failed", sizeof j.state);
    ui__render_job_view(&b, &j, now);
    CHECK(strstr(b.buf, "hx-trigger") == NULL && strstr(b.buf, "job-failed") != NULL);
    sbuf_release(&b);

    hp_strlcpy(j.state, "<s>", sizeof j.state); /* unknown: a fixed class, still polled */
    j.params = (char *)"not json";
    j.steps = NULL;
    j.result = (char *)"[1,";
    ui__render_job_view(&b, &j, now);
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "job-unknown") != NULL && strstr(b.buf, "<s>") == NULL);
    CHECK(strstr(b.buf, "&lt;s&gt;") != NULL && strstr(b.buf, "hx-trigger") != NULL);
    sbuf_release(&b);
}

/* The history: filters shown back escaped, hostile failovers and events as
 * text, "older" only when an older page exists. */
static void test_history(db *d, const char *name)
{
    hist_query h;
    hp_failover f;
    hp_event ev[3];
    sbuf b = SBUF_INIT;
    char err[200];
    int i;

    memset(&f, 0, sizeof f);
    hp_strlcpy(f.cluster, name, sizeof f.cluster);
    hp_strlcpy(f.kind, "<kind>", sizeof f.kind);
    hp_strlcpy(f.old_master, "<old>:1", sizeof f.old_master);
    hp_strlcpy(f.new_master, "\"new\":2", sizeof f.new_master);
    f.started_at = hp_now_ms() - 60000;
    f.ended_at = -1;
    f.duration_ms = 4200;
    f.writes_paused_ms = 310;
    hp_strlcpy(f.status, "<st>", sizeof f.status);
    hp_strlcpy(f.actor, "<actor>", sizeof f.actor);
    hp_strlcpy(f.reason, "it's <fine>", sizeof f.reason);
    f.job_id = 77;
    CHECK(db__insert_failover(d, &f) == 0);
    for (i = 0; i < 3; i++)
        hp_event_set(&ev[i], EV_SENTINEL, name, "+switch-master", "warning", "<src>", "<n>:1",
                     "<ev msg>");
    CHECK(db__insert_events(d, ev, 3) == 0);

    CHECK(parse_qs("cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E&node=%22%3E%3Cq%3E&since=%3Cz", &h,
                   err, sizeof err) < 0);
    ui__render_history(&b, d, NULL, &h, err, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "class=\"formerr\"") != NULL && strstr(b.buf, "since must be") != NULL);
    CHECK(strstr(b.buf, "value=\"&quot;&gt;&lt;q&gt;\"") != NULL);
    CHECK(strstr(b.buf, "value=\"&lt;z\"") != NULL);
    CHECK(strstr(b.buf, "<option value=\"&lt;script&gt;alert(1)&lt;/script&gt;\" selected>") !=
          NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<q>") == NULL);
    CHECK(strstr(b.buf, "class=\"failovers\"") == NULL); /* no tables after an error */
    sbuf_release(&b);

    CHECK(parse_qs("cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E&limit=2", &h, err, sizeof err) ==
          0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "&lt;kind&gt;") && strstr(b.buf, "badge fo-unknown"));
    CHECK(strstr(b.buf, "&lt;old&gt;:1") && strstr(b.buf, "&quot;new&quot;:2"));
    CHECK(strstr(b.buf, "badge job-unknown") && strstr(b.buf, "&lt;st&gt;"));
    CHECK(strstr(b.buf, "&lt;actor&gt;") && strstr(b.buf, "it&#39;s &lt;fine&gt;"));
    CHECK(strstr(b.buf, "4.2 s") && strstr(b.buf, "310 ms"));
    CHECK(strstr(b.buf, "data-job=\"77\"") != NULL);
    CHECK(strstr(b.buf, "&lt;ev msg&gt;") && strstr(b.buf, "title=\"&lt;src&gt;\""));
    CHECK(count(b.buf, "<tr class=\"event") == 2);             /* limit 2 of 4 events */
    CHECK(strstr(b.buf, "older events") != NULL);              /* a third exists */
    CHECK(strstr(b.buf, "&amp;limit=2\" hx-include") != NULL); /* the page size is kept */
    CHECK(strstr(b.buf, "older failovers") == NULL);           /* only one failover */
    CHECK(strstr(b.buf, "hx-include=\"#hfilters\"") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<st>") == NULL);
    CHECK(strstr(b.buf, "<old>") == NULL && strstr(b.buf, "<ev msg>") == NULL);
    sbuf_release(&b);

    CHECK(parse_qs("cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E&limit=4", &h, err, sizeof err) ==
          0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(count(b.buf, "<tr class=\"event") == 4 && strstr(b.buf, "older events") == NULL);
    sbuf_release(&b);

    CHECK(parse_qs("cluster=nope&type=%3Ct%3E", &h, err, sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(strstr(b.buf, "no event matches") && strstr(b.buf, "no failover matches"));
    CHECK(strstr(b.buf, "value=\"&lt;t&gt;\"") != NULL && strstr(b.buf, "<t>") == NULL);
    sbuf_release(&b);
}

/* The job panel on backup and BGSAVE jobs: the transfer's progress (from the
 * steps while it runs, the result once it ended), the summary with a download
 * button, all escaped. */
static void test_backup_job_view(void)
{
    db_job_row j;
    sbuf b = SBUF_INIT;
    int64_t now = hp_now_ms();

    memset(&j, 0, sizeof j);
    j.id = 9;
    hp_strlcpy(j.kind, "backup", sizeof j.kind);
    hp_strlcpy(j.cluster, "c", sizeof j.cluster);
    hp_strlcpy(j.state, "running", sizeof j.state);
    hp_strlcpy(j.actor, "op", sizeof j.actor);
    j.created_at = now - 2000;
    j.started_at = now - 1500;
    j.steps = (char *)"[{\"ts\":1,\"message\":\"streaming 4096 bytes\"},"
                      "{\"ts\":2,\"message\":\"received 1024 of 4096 bytes\"},"
                      "{\"ts\":3,\"message\":\"received 3000 of 4096 bytes<script>\"}]";
    j.result = (char *)"{\"bytes_received\":1024,\"bytes_total\":4096}"; /* stored with each step */
    ui__render_job_view(&b, &j, now);
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "<progress max=\"4096\" value=\"1024\"></progress>") != NULL);
    CHECK(strstr(b.buf, "1.0 KiB of 4.0 KiB") && strstr(b.buf, "(25%)"));
    CHECK(strstr(b.buf, "value=\"3000\"") == NULL); /* not a progress step: text, escaped */
    CHECK(strstr(b.buf, "3000 of 4096 bytes&lt;script&gt;") && strstr(b.buf, "<script") == NULL);
    CHECK(strstr(b.buf, "class=\"jobsum\"") == NULL);
    sbuf_release(&b);

    /* diskless: no total, an indeterminate bar while it runs */
    j.steps = (char *)"[{\"ts\":1,\"message\":\"streaming (diskless, length unknown)\"},"
                      "{\"ts\":2,\"message\":\"received 2048 bytes\"}]";
    j.result = (char *)"{\"bytes_received\":2048}";
    ui__render_job_view(&b, &j, now);
    CHECK(strstr(b.buf, "<progress></progress> 2.0 KiB received") != NULL);
    sbuf_release(&b);

    /* failed half way: where it stopped */
    hp_strlcpy(j.state, "failed", sizeof j.state);
    j.ended_at = now;
    j.error = (char *)"transfer cut <x>";
    j.steps = (char *)"[{\"ts\":1,\"message\":\"streaming 4096 bytes\"}]";
    j.result = (char *)"{\"bytes_received\":2048,\"bytes_total\":4096}";
    ui__render_job_view(&b, &j, now);
    CHECK(strstr(b.buf, "xfer xfer-bad") && strstr(b.buf, "stopped at 2.0 KiB of 4.0 KiB"));
    CHECK(strstr(b.buf, "transfer cut &lt;x&gt;") != NULL && strstr(b.buf, "<x>") == NULL);
    sbuf_release(&b);

    /* succeeded: all of it, a summary with a download button (the result's
     * bytes_received may be stale: size_bytes is what arrived) */
    hp_strlcpy(j.state, "succeeded", sizeof j.state);
    j.error = NULL;
    j.result = (char *)"{\"bytes_received\":100,\"backup_id\":31,\"node\":\"<n>:1\","
                       "\"size_bytes\":4096,\"sha256\":\"<ab>cdef0123456789\",\"verified\":true}";
    ui__render_job_view(&b, &j, now);
    CHECK(strstr(b.buf, "<progress max=\"4096\" value=\"4096\"></progress>") != NULL);
    CHECK(strstr(b.buf, "backup #31") && strstr(b.buf, "&lt;n&gt;:1"));
    CHECK(strstr(b.buf, "class=\"dl\" data-backup=\"31\"") != NULL);
    CHECK(strstr(b.buf, "title=\"sha256 &lt;ab&gt;cdef0123456789\">&lt;ab&gt;cdef0123") != NULL);
    CHECK(strstr(b.buf, "bk-verified") != NULL);
    CHECK(strstr(b.buf, "<n>") == NULL && strstr(b.buf, "<ab>") == NULL);
    sbuf_release(&b);

    /* a BGSAVE job: its node and save time; no transfer bar */
    hp_strlcpy(j.kind, "bgsave", sizeof j.kind);
    j.steps = (char *)"[]";
    j.result = (char *)"{\"node\":\"\\\"><b>:2\",\"rdb_last_save_time\":1714566600}";
    ui__render_job_view(&b, &j, now);
    CHECK(strstr(b.buf, "BGSAVE on <span class=\"addr\">&quot;&gt;&lt;b&gt;:2</span> done") !=
          NULL);
    CHECK(strstr(b.buf, "2024-05-01 12:30:00 UTC") != NULL);
    CHECK(strstr(b.buf, "<progress") == NULL && strstr(b.buf, "<b>") == NULL);
    sbuf_release(&b);
}

/* The cluster's alerts strip and backups section, hostile data escaped. */
static void test_alerts_backups(db *d, cluster_snap *c, const char *name)
{
    alert_row a;
    hp_backup k;
    sbuf b = SBUF_INIT;
    int created, i;
    int64_t warn_id, crit_id;
    const char *w, *cr;

    memset(&a, 0, sizeof a);
    hp_strlcpy(a.cluster, name, sizeof a.cluster);
    hp_strlcpy(a.rule, "<rule>", sizeof a.rule);
    hp_strlcpy(a.node, "\"><n>:1", sizeof a.node);
    hp_strlcpy(a.severity, "warning", sizeof a.severity);
    hp_strlcpy(a.message, "<img src=x> & 'q'", sizeof a.message);
    a.started_at = hp_now_ms() - 90000;
    warn_id = db__alert_open(d, &a, &created);
    CHECK(warn_id > 0 && created);
    CHECK(db__alert_ack(d, warn_id, "<op>", "\"><script>c</script>", hp_now_ms()) == 1);
    hp_strlcpy(a.rule, "master_down", sizeof a.rule);
    hp_strlcpy(a.severity, "critical", sizeof a.severity);
    hp_strlcpy(a.message, "master is down", sizeof a.message);
    crit_id = db__alert_open(d, &a, &created);
    CHECK(crit_id > warn_id);
    hp_strlcpy(a.rule, "lag", sizeof a.rule);
    hp_strlcpy(a.severity, "<sev>", sizeof a.severity);
    CHECK(db__alert_open(d, &a, &created) > 0);
    CHECK(db__alert_resolve(d, name, "lag", a.node, hp_now_ms()) > 0); /* not in the strip */

    memset(&k, 0, sizeof k);
    hp_strlcpy(k.cluster, name, sizeof k.cluster);
    hp_strlcpy(k.node, "<bk>\":3", sizeof k.node);
    hp_strlcpy(k.sha256, "<s>0123456789abcdef", sizeof k.sha256);
    hp_strlcpy(k.path, "/nonexistent/x.rdb", sizeof k.path);
    k.size_bytes = 1536;
    for (i = 0; i < 7; i++) {
        k.created_at = hp_now_ms() - 60000 + i;
        k.verified = i == 6;
        k.job_id = i == 6 ? 5 : 0;
        CHECK(db__insert_backup(d, &k) == 0);
    }
    /* written past the writer: say so as it would after its commit */
    db__recent_mark(d, name, DB_RECENT_ALERTS | DB_RECENT_BACKUPS);
    db__recent_commit(d);

    ui__render_cluster(&b, d, c, NULL, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    /* alerts: active only, critical first, escaped, ack button carries data */
    CHECK(strstr(b.buf, "<div class=\"alertstrip\" data-alerts=\"2\">") != NULL);
    cr = strstr(b.buf, "class=\"alert sev-critical\"");
    w = strstr(b.buf, "class=\"alert sev-warning is-acked\"");
    CHECK(cr && w && cr < w);
    CHECK(strstr(b.buf, "data-rule=\"lag\"") == NULL); /* resolved: history only */
    CHECK(strstr(b.buf, "&lt;rule&gt;") && strstr(b.buf, "&lt;img src=x&gt; &amp; &#39;q&#39;"));
    CHECK(strstr(b.buf, "acked by &lt;op&gt;") != NULL);
    CHECK(strstr(b.buf, "&quot;&gt;&lt;script&gt;c&lt;/script&gt;") != NULL);
    {
        char want[200];
        snprintf(want, sizeof want,
                 "data-act=\"ack\" data-needs=\"operator\" data-alert=\"%lld\" "
                 "data-cluster=\"&lt;script&gt;",
                 (long long)warn_id);
        CHECK(strstr(b.buf, want) != NULL);
    }
    CHECK(strstr(b.buf, "data-node=\"&quot;&gt;&lt;n&gt;:1\" data-severity=\"warning\" "
                        "data-message=\"&lt;img src=x&gt; &amp; &#39;q&#39;\" "
                        "data-acked-by=\"&lt;op&gt;\"") != NULL);
    CHECK(strstr(b.buf, ">re-ack\xe2\x80\xa6</button>") &&
          strstr(b.buf, ">ack\xe2\x80\xa6</button>"));
    /* backups: the newest five, escaped, download and delete per row */
    CHECK(count(b.buf, "<tr class=\"backup\"") == 5);
    CHECK(strstr(b.buf, "the newest 5 of 7") != NULL);
    CHECK(count(b.buf, "class=\"dl\" data-backup=") == 5);
    CHECK(count(b.buf, "data-act=\"delete-backup\"") == 5);
    CHECK(strstr(b.buf, "data-node=\"&lt;bk&gt;&quot;:3\"") != NULL);
    CHECK(strstr(b.buf, "<code class=\"sha\" title=\"sha256 &lt;s&gt;0123456789abcdef\">"
                        "&lt;s&gt;012345678\xe2\x80\xa6</code>") != NULL);
    CHECK(count(b.buf, "bk-verified") == 1 && count(b.buf, "bk-header\"") == 4);
    CHECK(strstr(b.buf, "data-job=\"5\"") != NULL);
    CHECK(strstr(b.buf, "data-size=\"1.5 KiB\"") != NULL);
    /* back up now: from the healthy replica (the other one is down) */
    CHECK(strstr(b.buf, "data-act=\"backup\" data-needs=\"operator\" "
                        "data-cluster=\"&lt;script&gt;alert(1)&lt;/script&gt;\" "
                        "data-source=\"h&quot;&gt;&lt;svg onload=alert(2)&gt;:7\" "
                        "data-role=\"replica\" title=") != NULL);
    /* BGSAVE on every node, disabled on the down one */
    CHECK(count(b.buf, "data-act=\"bgsave\"") == 3);
    CHECK(strstr(b.buf, "data-role=\"master\" title=\"BGSAVE") != NULL);
    CHECK(strstr(b.buf, "data-node=\"127.0.0.1:6380\" data-role=\"replica\" disabled") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<img") == NULL);
    CHECK(strstr(b.buf, "<n>") == NULL && strstr(b.buf, "<bk>") == NULL &&
          strstr(b.buf, "<s>") == NULL);
    sbuf_release(&b);
}

/* A running backup job disables "back up now" and BGSAVE, not the failover;
 * the persistence cell names every field. */
static void test_backup_busy(db *d)
{
    cluster_snap *c = cluster_snap_new("bk");
    sbuf b = SBUF_INIT;
    int64_t id;
    char want[120];

    c->nodes = calloc(2, sizeof(*c->nodes));
    add_node(c, "10.0.0.1:1", ROLE_MASTER, 1, "");
    add_node(c, "10.0.0.2:1", ROLE_REPLICA, 1, "");
    c->nodes[0].rdb_last_save_time = hp_now_ms() / 1000 - 30;
    hp_strlcpy(c->nodes[0].rdb_last_bgsave_status, "<err>",
               sizeof c->nodes[0].rdb_last_bgsave_status);
    c->nodes[0].rdb_changes_since_last_save = 12;
    c->nodes[0].aof_enabled = 0;
    hp_strlcpy(c->nodes[0].aof_last_write_status, "ok", sizeof c->nodes[0].aof_last_write_status);
    c->nodes[1].rdb_bgsave_in_progress = 1;
    hp_strlcpy(c->nodes[1].rdb_last_bgsave_status, "ok", sizeof c->nodes[1].rdb_last_bgsave_status);
    c->nodes[1].aof_enabled = 1;
    hp_strlcpy(c->nodes[1].aof_last_write_status, "err", sizeof c->nodes[1].aof_last_write_status);
    hp_strlcpy(c->master, "10.0.0.1:1", sizeof c->master);
    id = db__job_insert(d, "backup", "bk", "{}", "op", "", hp_now_ms());
    CHECK(id > 0);
    CHECK(db__job_save(d, id, "running", "[]", NULL, NULL, NULL, hp_now_ms(), 0) == 0);

    ui__render_cluster(&b, d, c, NULL, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    snprintf(want, sizeof want, "disabled title=\"backup job #%lld is running on this cluster\"",
             (long long)id);
    CHECK(count(b.buf, want) == 2); /* back up now, the master's BGSAVE */
    CHECK(strstr(b.buf, "data-role=\"replica\" disabled title=\"a BGSAVE is already running") !=
          NULL);
    CHECK(strstr(b.buf,
                 "data-act=\"failover\" data-needs=\"operator\" data-cluster=\"bk\" "
                 "data-master=\"10.0.0.1:1\" title=") != NULL); /* not disabled by a backup */
    CHECK(strstr(b.buf, "no backup of this cluster yet") != NULL);
    CHECK(strstr(b.buf, "alertstrip") == NULL); /* no alert, no strip */
    /* persistence: every INFO field, statuses escaped with fixed classes */
    CHECK(strstr(b.buf, "title=\"rdb_last_save_time: ") && strstr(b.buf, "saved 30s ago"));
    CHECK(strstr(b.buf, "bgsave <span class=\"bad\">&lt;err&gt;</span>") != NULL);
    CHECK(strstr(b.buf, "12 changes") != NULL);
    CHECK(strstr(b.buf, "AOF off, last write <span class=\"good\">ok</span>") != NULL);
    CHECK(strstr(b.buf, "bgsave <span class=\"warn\">running</span> <span class=\"muted\">(last"
                        "</span> <span class=\"good\">ok</span>") != NULL);
    CHECK(strstr(b.buf, "AOF on, write <span class=\"bad\">err</span>") != NULL);
    CHECK(strstr(b.buf, "<err>") == NULL);
    sbuf_release(&b);
    cluster_snap_unref(c);
}

/* The notification panel: counts, the failed and retrying messages with
 * their last error, channel names from the configuration, all escaped. */
static void test_notifications(db *d)
{
    static config cfg;
    sbuf b = SBUF_INIT;
    int64_t now = hp_now_ms();

    ui__render_notifications(&b, d, NULL, now); /* empty outbox, no channel */
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "class=\"notify nt-none\"") && strstr(b.buf, "no channel configured"));
    CHECK(strstr(b.buf, "<table") == NULL);
    sbuf_release(&b);

    memset(&cfg, 0, sizeof cfg);
    cfg.nchannels = 2;
    hp_strlcpy(cfg.channels[0].name, "<ch>\"", sizeof cfg.channels[0].name);
    hp_strlcpy(cfg.channels[1].name, "tg", sizeof cfg.channels[1].name);
    CHECK(db__outbox_add(d, "<ch>\"", "k1", "critical", "{}", "<b>down</b> & out", now - 1000) ==
          1);
    CHECK(db__outbox_add(d, "<ch>\"", "k2", "<sev>", "{}", "second", now - 500) == 1);
    CHECK(db__outbox_add(d, "tg", "k3", "warning", "{}", "retry me", now) == 1);
    CHECK(db__outbox_add(d, "tg", "k4", "info", "{}", "not tried yet", now) == 1);
    CHECK(db__outbox_add(d, "tg", "k5", "info", "{}", "sent", now) == 1);
    CHECK(db__outbox_mark(d, 1, "failed", 3, now, "connect: <refused> \"x\"", 0) == 0);
    CHECK(db__outbox_mark(d, 2, "failed", 3, now, "HTTP 500", 0) == 0);
    CHECK(db__outbox_mark(d, 3, "pending", 1, now + 4000, "<timeout>", 0) == 0);
    CHECK(db__outbox_mark(d, 5, "delivered", 1, now, NULL, now - 2000) == 0);

    ui__render_notifications(&b, d, &cfg, now);
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "class=\"notify nt-bad\" data-pending=\"2\" data-failed=\"2\"") != NULL);
    CHECK(strstr(b.buf, "2 channels: <span class=\"chan\">&lt;ch&gt;&quot;</span>") != NULL);
    CHECK(strstr(b.buf, "2 pending") && strstr(b.buf, "1 retrying"));
    CHECK(strstr(b.buf, "2 failed") && strstr(b.buf, "(2 in the last 24 h)"));
    CHECK(strstr(b.buf, "last delivered <span title=") != NULL);
    CHECK(count(b.buf, "<tr class=\"outbox-failed\">") == 2);
    CHECK(count(b.buf, "<tr class=\"outbox-retrying\">") == 1); /* k4 was never tried */
    CHECK(strstr(b.buf, "&lt;b&gt;down&lt;/b&gt; &amp; out") != NULL);
    CHECK(strstr(b.buf, "connect: &lt;refused&gt; &quot;x&quot;") != NULL);
    CHECK(strstr(b.buf, "&lt;timeout&gt;") && strstr(b.buf, "next in "));
    CHECK(strstr(b.buf, "badge sev-unknown\">&lt;sev&gt;") != NULL);
    CHECK(strstr(b.buf, "not tried yet") == NULL && strstr(b.buf, ">sent<") == NULL);
    CHECK(strstr(b.buf, "<b>") == NULL && strstr(b.buf, "<ch>") == NULL);
    CHECK(strstr(b.buf, "<refused>") == NULL && strstr(b.buf, "<timeout>") == NULL);
    sbuf_release(&b);

    {
        /* a long text is cut on a character boundary; all of it in the title */
        char text[600];
        int i;
        for (i = 0; i + 2 < (int)sizeof text - 1; i += 2)
            memcpy(text + i, "\xc3\xa9", 2);
        text[i] = '\0';
        sbuf_puts(&b, "");
        ui__put_cut(&b, text, UI_NOTIFY_TEXT + 1);
        CHECK(b.len == UI_NOTIFY_TEXT + 3); /* 240 bytes of whole characters + the ellipsis */
        CHECK(memcmp(b.buf + b.len - 3, "\xe2\x80\xa6", 3) == 0);
        sbuf_release(&b);
    }
}

/* The history's alerts: active and resolved, acks, paging by abefore. */
static void test_history_alerts(db *d, const char *name)
{
    hist_query h;
    sbuf b = SBUF_INIT;
    char err[200];

    CHECK(parse_qs("cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &h, err, sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "class=\"alerthist\"") != NULL);
    CHECK(count(b.buf, "<tr class=\"alertrow") == 3);
    CHECK(strstr(b.buf, "badge al-resolved") && strstr(b.buf, "badge al-active"));
    CHECK(strstr(b.buf, "sev-unknown al-resolved") != NULL); /* the "<sev>" one */
    CHECK(strstr(b.buf, "acked by &lt;op&gt;") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<img") == NULL);
    CHECK(strstr(b.buf, "older alerts") == NULL);
    sbuf_release(&b);
    (void)name;

    CHECK(parse_qs("abefore=2&cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &h, err, sizeof err) ==
          0);
    CHECK(h.abefore == 2);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(count(b.buf, "<tr class=\"alertrow") == 1);
    CHECK(strstr(b.buf, "newest alerts") != NULL);
    CHECK(strstr(b.buf, "?abefore=") == NULL); /* "newest" drops the cursor */
    sbuf_release(&b);
    CHECK(parse_qs("abefore=x", &h, err, sizeof err) < 0 && strstr(err, "abefore must be"));
}

/* The y of the first <rect> after the node box whose data-addr is addr. */
static double box_y(const char *buf, const char *addr)
{
    char want[120];
    const char *p;
    double x = -1, y = -1;
    snprintf(want, sizeof want, "data-addr=\"%s\"", addr);
    p = strstr(buf, want);
    if (p) p = strstr(p, "<rect x=\"");
    if (!p || sscanf(p, "<rect x=\"%lf\" y=\"%lf\"", &x, &y) != 2) return -1;
    return y;
}

static void add_sentinel(cluster_snap *c, const char *addr, const char *sees, int up)
{
    snap_sentinel *s = &c->sentinels[c->nsentinels++];
    memset(s, 0, sizeof(*s));
    hp_strlcpy(s->addr, addr, sizeof(s->addr));
    s->polled = 1;
    s->up = up;
    hp_strlcpy(s->sees_master, sees, sizeof(s->sees_master));
    hp_strlcpy(s->flags, "master", sizeof(s->flags));
    s->quorum = 2;
    s->down_after_ms = s->s_down_ms = s->views_at_ms = -1;
}

/* The topology drawing: a master, a replica of it and a replica chained to
 * that one (down), three Sentinels, a hostile cluster name: six boxes with
 * their state classes, two arrows (one broken), the Sentinels above the
 * master above its replica above the chained one, the quorum in words,
 * everything escaped. Then many replicas: rows wrap at UI_TOPO_ROW. */
static void test_topology(void)
{
    const char *name = "t<&>\"q";
    cluster_snap *c = cluster_snap_new(name);
    sbuf b = SBUF_INIT;
    double ys, ym, y1, y2;
    int i;

    c->nodes = calloc(3, sizeof(*c->nodes));
    c->sentinels = calloc(3, sizeof(*c->sentinels));
    add_node(c, "10.0.0.1:6379", ROLE_MASTER, 1, "");
    add_node(c, "10.0.0.2:6379", ROLE_REPLICA, 1, "");
    add_node(c, "10.0.0.3:6379", ROLE_REPLICA, 0, "connection refused <x>");
    c->nodes[0].used_memory = 1048576;
    c->nodes[0].maxmemory = 104857600;
    c->nodes[0].connected_replicas = 1;
    hp_strlcpy(c->nodes[1].master_addr, "10.0.0.1:6379", sizeof c->nodes[1].master_addr);
    c->nodes[1].lag_bytes = 2048;
    c->nodes[1].lag_seconds = 0.4;
    c->nodes[1].used_memory = 1048576;
    c->nodes[1].maxmemory = 0;
    hp_strlcpy(c->nodes[2].master_addr, "10.0.0.2:6379", sizeof c->nodes[2].master_addr);
    hp_strlcpy(c->nodes[2].sentinel_flags, "slave,s_down", sizeof c->nodes[2].sentinel_flags);
    for (i = 0; i < 3; i++) {
        char a[32];
        snprintf(a, sizeof a, "10.0.0.9:2637%d", 9 - i);
        add_sentinel(c, a, "10.0.0.1:6379", 1);
    }
    CHECK(cluster_snap_finish(c, hp_now_ms()) == 0);
    c->failover_in_progress = 1;

    ui__render_topology(&b, c, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(count(b.buf, "<svg class=\"topo\" role=\"img\" aria-label=\"") == 1);
    CHECK(strstr(b.buf, "aria-label=\"t&lt;&amp;&gt;&quot;q topology: master 10.0.0.1:6379, 2 "
                        "replicas (1 down), 3 of 3 Sentinels up, 2 needed, failover in "
                        "progress\"") != NULL);
    CHECK(strstr(b.buf, "viewBox=\"0 0 ") && strstr(b.buf, "width=\"100%\""));
    CHECK(count(b.buf, "<g class=\"tnode ") == 6 && count(b.buf, "<title>") == 6);
    CHECK(count(b.buf, "data-role=\"sentinel\"") == 3 &&
          count(b.buf, "data-role=\"master\"") == 1 && count(b.buf, "data-role=\"replica\"") == 2);
    CHECK(strstr(b.buf, "<g class=\"tnode st-ok\" data-addr=\"10.0.0.1:6379\" "
                        "data-role=\"master\"><title>master 10.0.0.1:6379: up") != NULL);
    CHECK(strstr(b.buf,
                 "<g class=\"tnode st-ok\" data-addr=\"10.0.0.2:6379\" "
                 "data-role=\"replica\"><title>replica 10.0.0.2:6379 of 10.0.0.1:6379: up") !=
          NULL);
    CHECK(strstr(b.buf, "<g class=\"tnode st-down\" data-addr=\"10.0.0.3:6379\" "
                        "data-role=\"replica\"><title>replica 10.0.0.3:6379 of 10.0.0.2:6379: "
                        "down (connection refused &lt;x&gt;)") != NULL);
    CHECK(count(b.buf, "class=\"tnode st-ok\" data-addr=\"10.0.0.9:2637") == 3);
    CHECK(count(b.buf, "<g class=\"tlink") == 2 && count(b.buf, "<g class=\"tlink broken\"") == 1);
    CHECK(strstr(b.buf, "lag 2.0 KiB \xc2\xb7 0.4 s") != NULL);
    CHECK(strstr(b.buf, "mem 1.0 MiB / 100.0 MiB") && strstr(b.buf, "mem 1.0 MiB / no limit"));
    CHECK(strstr(b.buf, ">3 of 3 Sentinels up, 2 needed</text>") != NULL);
    CHECK(strstr(b.buf, "failover in progress</text></g>") != NULL);
    CHECK(strstr(b.buf, "Sentinel flags s_down") && strstr(b.buf, "slave") == NULL);
    CHECK(strstr(b.buf, "t<&>") == NULL && strstr(b.buf, "<x>") == NULL);
    ys = box_y(b.buf, "10.0.0.9:26379");
    ym = box_y(b.buf, "10.0.0.1:6379");
    y1 = box_y(b.buf, "10.0.0.2:6379");
    y2 = box_y(b.buf, "10.0.0.3:6379");
    CHECK(ys >= 0 && ys < ym && ym < y1 && y1 < y2); /* Sentinels, master, replica, chained */
    CHECK(box_y(b.buf, "10.0.0.9:26377") == ys);     /* the Sentinels in one row */
    sbuf_release(&b);

    /* a Sentinel down and one that sees another master: the quorum says so */
    for (i = 0; i < c->nsentinels; i++) {
        snap_sentinel *s = &c->sentinels[i];
        if (!strcmp(s->addr, "10.0.0.9:26378")) s->up = 0;
        if (!strcmp(s->addr, "10.0.0.9:26377"))
            hp_strlcpy(s->sees_master, "10.0.0.2:6379", sizeof s->sees_master);
    }
    c->quorum_reachable = 1;
    c->quorum_ok = 0;
    ui__render_topology(&b, c, hp_now_ms());
    CHECK(strstr(b.buf, "2 of 3 Sentinels up (1 agree on the master), 2 needed") != NULL);
    CHECK(strstr(b.buf, "class=\"tquorum bad\"") && strstr(b.buf, "quorum LOST"));
    CHECK(strstr(b.buf, "<g class=\"tnode st-down\" data-addr=\"10.0.0.9:26378\"") != NULL);
    CHECK(strstr(b.buf, "<g class=\"tnode st-warn\" data-addr=\"10.0.0.9:26377\"") != NULL);
    sbuf_release(&b);
    cluster_snap_unref(c);

    /* nine replicas of one master: four boxes a row, so the drawing is four
     * boxes wide and the replicas take three rows */
    c = cluster_snap_new("wide");
    c->nodes = calloc(10, sizeof(*c->nodes));
    c->sentinels = calloc(1, sizeof(*c->sentinels));
    add_node(c, "10.1.0.1:6379", ROLE_MASTER, 1, "");
    for (i = 0; i < 9; i++) {
        char a[32];
        snprintf(a, sizeof a, "10.1.0.%d:6379", 10 + i);
        add_node(c, a, ROLE_REPLICA, 1, "");
        hp_strlcpy(c->nodes[c->nnodes - 1].master_addr, "10.1.0.1:6379",
                   sizeof c->nodes[0].master_addr);
    }
    add_sentinel(c, "10.1.0.9:26379", "10.1.0.1:6379", 1);
    CHECK(cluster_snap_finish(c, hp_now_ms()) == 0);
    ui__render_topology(&b, c, hp_now_ms());
    CHECK(strstr(b.buf, "viewBox=\"0 0 686 ") != NULL); /* 2*10 + 4*156 + 3*14 */
    CHECK(strstr(b.buf, "style=\"max-width:686px\"") != NULL);
    CHECK(count(b.buf, "<g class=\"tlink\"") == 9);
    CHECK(box_y(b.buf, "10.1.0.10:6379") == box_y(b.buf, "10.1.0.13:6379"));
    CHECK(box_y(b.buf, "10.1.0.14:6379") > box_y(b.buf, "10.1.0.13:6379")); /* wrapped */
    CHECK(box_y(b.buf, "10.1.0.18:6379") > box_y(b.buf, "10.1.0.17:6379"));
    sbuf_release(&b);
    cluster_snap_unref(c);

    /* a switchover, between the promotion and Sentinel's +switch-master: the
     * promoted replica answers as a master while the Sentinels still name the
     * old one; it is drawn as the master, the old one as demoting. Without a
     * failover in progress a second master is not promoted in the drawing. */
    c = cluster_snap_new("sw");
    c->nodes = calloc(3, sizeof(*c->nodes));
    c->sentinels = calloc(1, sizeof(*c->sentinels));
    add_node(c, "10.2.0.1:6379", ROLE_MASTER, 1, "");
    add_node(c, "10.2.0.2:6379", ROLE_MASTER, 1, "");
    add_node(c, "10.2.0.3:6379", ROLE_REPLICA, 1, "");
    hp_strlcpy(c->nodes[2].master_addr, "10.2.0.1:6379", sizeof c->nodes[2].master_addr);
    add_sentinel(c, "10.2.0.9:26379", "10.2.0.1:6379", 1);
    CHECK(cluster_snap_finish(c, hp_now_ms()) == 0);
    CHECK(!strcmp(c->master, "10.2.0.1:6379"));
    ui__render_topology(&b, c, hp_now_ms());
    CHECK(strstr(b.buf, "data-addr=\"10.2.0.1:6379\" data-role=\"master\"") != NULL);
    CHECK(count(b.buf, "data-role=\"master\"") == 1);
    sbuf_release(&b);
    c->failover_in_progress = 1;
    ui__render_topology(&b, c, hp_now_ms());
    CHECK(strstr(b.buf, "data-addr=\"10.2.0.2:6379\" data-role=\"master\"") != NULL);
    CHECK(strstr(b.buf, "<g class=\"tnode st-warn\" data-addr=\"10.2.0.1:6379\" "
                        "data-role=\"replica\"") != NULL);
    CHECK(strstr(b.buf, "demoting") != NULL && count(b.buf, "data-role=\"master\"") == 1);
    sbuf_release(&b);
    cluster_snap_unref(c);

    /* two replicas that name each other as their master: drawn, the loop cut */
    c = cluster_snap_new("loop");
    c->nodes = calloc(3, sizeof(*c->nodes));
    add_node(c, "10.3.0.1:6379", ROLE_MASTER, 1, "");
    add_node(c, "10.3.0.2:6379", ROLE_REPLICA, 1, "");
    add_node(c, "10.3.0.3:6379", ROLE_REPLICA, 1, "");
    hp_strlcpy(c->nodes[1].master_addr, "10.3.0.3:6379", sizeof c->nodes[1].master_addr);
    hp_strlcpy(c->nodes[2].master_addr, "10.3.0.2:6379", sizeof c->nodes[2].master_addr);
    CHECK(cluster_snap_finish(c, hp_now_ms()) == 0);
    ui__render_topology(&b, c, hp_now_ms());
    CHECK(!sbuf_failed(&b) && count(b.buf, "<g class=\"tnode ") == 3);
    CHECK(count(b.buf, "<g class=\"tlink") == 1);
    sbuf_release(&b);
    cluster_snap_unref(c);
}

/* Inserts an event of a Sentinel (source "sentinel <sentinel>") or of the
 * panel (sentinel NULL) at ts. */
static void put_event(db *d, const char *cluster, const char *type, const char *sev,
                      const char *sentinel, const char *node, const char *msg, int64_t ts)
{
    hp_event e;
    char src[64];
    snprintf(src, sizeof src, "sentinel %s", sentinel ? sentinel : "");
    hp_event_set(&e, sentinel ? EV_SENTINEL : EV_TOPOLOGY, cluster, type, sev,
                 sentinel ? src : "panel", node, msg);
    e.ts = ts;
    CHECK(db__insert_events(d, &e, 1) == 0);
}

/* The latest events: three Sentinels' reports of one +sdown are one row
 * naming them; payloads in words (the raw one in the tooltip); an alert's
 * resolution is "resolved", not its firing's critical. */
static void test_events_grouped(db *d)
{
    cluster_snap *c = cluster_snap_new("grp");
    sbuf b = SBUF_INIT;
    int64_t t = hp_now_ms() - 60000;
    const char *sd = "+sdown slave 10.0.0.3:6379 10.0.0.3 6379 @ grp 10.0.0.1 6379";

    put_event(d, "grp", "+sdown", "warning", "10.0.0.9:26379", "10.0.0.3:6379", sd, t);
    put_event(d, "grp", "+sdown", "warning", "10.0.0.9:26380", "10.0.0.3:6379", sd, t + 300);
    put_event(d, "grp", "+odown", "critical", "10.0.0.9:26380", "10.0.0.1:6379",
              "+odown master grp 10.0.0.1 6379 #quorum 2/2", t + 500);
    put_event(d, "grp", "+sdown", "warning", "10.0.0.9:26381", "10.0.0.3:6379", sd, t + 900);
    put_event(d, "grp", "alert-resolved", "critical", NULL, "10.0.0.1:6379",
              "master_down on 10.0.0.1:6379 resolved", t + 5000);
    put_event(d, "grp", "+sdown", "warning", "10.0.0.9:26379", "10.0.0.3:6379", sd, t + 20000);
    db__recent_mark(d, "grp", DB_RECENT_EVENTS);
    db__recent_commit(d);

    ui__render_event_list(&b, d, c, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(count(b.buf, "<tr class=\"event") == 4); /* 6 reports, 4 events */
    CHECK(count(b.buf, "data-reporters=\"3\"") == 1 && count(b.buf, "data-reporters=\"1\"") == 2);
    CHECK(count(b.buf, "data-reporters=\"0\"") == 1); /* the panel's own */
    CHECK(strstr(b.buf, "reported by <span class=\"addr\">10.0.0.9:26381</span>, "
                        "<span class=\"addr\">10.0.0.9:26380</span>, "
                        "<span class=\"addr\">10.0.0.9:26379</span>") != NULL);
    CHECK(strstr(b.buf, "reported by Sentinel <span class=\"addr\">10.0.0.9:26380</span>") != NULL);
    CHECK(count(b.buf, ">replica 10.0.0.3:6379 is not answering (subjectively down)") == 2);
    CHECK(strstr(b.buf, "title=\"+sdown slave 10.0.0.3:6379 10.0.0.3 6379 @ grp") != NULL);
    CHECK(strstr(b.buf, "master 10.0.0.1:6379 is down by quorum (objectively down): 2 Sentinels "
                        "agree, 2 needed") != NULL);
    CHECK(strstr(b.buf, "<tr class=\"event sev-resolved\"") != NULL);
    CHECK(strstr(b.buf, "class=\"badge sev-resolved\"") != NULL);
    CHECK(count(b.buf, "badge sev-critical") == 1); /* the +odown only */
    sbuf_release(&b);
    cluster_snap_unref(c);
}

/* History: type prefixes (signed or not), several types, severity, node and
 * time filter events, failovers and alerts; the tables refresh themselves
 * with the filters they were rendered with; bad filters are refused. */
static void test_history_filters(db *d)
{
    hist_query h;
    hp_failover f;
    alert_row a;
    sbuf b = SBUF_INIT;
    char err[200];
    int64_t t = hp_now_ms() - 3600000;
    int created;
    const char *ev;

    put_event(d, "hf", "+sdown", "warning", "s:1", "n:1", "+sdown slave n:1 n 1 @ hf m 1", t);
    put_event(d, "hf", "-sdown", "info", "s:1", "n:1", "-sdown slave n:1 n 1 @ hf m 1", t + 10);
    put_event(d, "hf", "+odown", "critical", "s:1", "m:1", "+odown master hf m 1", t + 20);
    put_event(d, "hf", "+switch-master", "warning", "s:1", "n:1", "failover of hf", t + 30);
    put_event(d, "hf", "node-down", "warning", NULL, "n:2", "n:2 unreachable", t + 40);
    memset(&f, 0, sizeof f);
    hp_strlcpy(f.cluster, "hf", sizeof f.cluster);
    hp_strlcpy(f.kind, "automatic", sizeof f.kind);
    hp_strlcpy(f.old_master, "m:1", sizeof f.old_master);
    hp_strlcpy(f.new_master, "n:1", sizeof f.new_master);
    hp_strlcpy(f.status, "succeeded", sizeof f.status);
    hp_strlcpy(f.actor, "sentinel", sizeof f.actor);
    f.started_at = t + 30;
    f.ended_at = f.duration_ms = f.writes_paused_ms = -1;
    CHECK(db__insert_failover(d, &f) == 0);
    hp_strlcpy(f.kind, "graceful", sizeof f.kind);
    hp_strlcpy(f.old_master, "n:1", sizeof f.old_master);
    hp_strlcpy(f.new_master, "m:1", sizeof f.new_master);
    hp_strlcpy(f.status, "failed", sizeof f.status);
    hp_strlcpy(f.actor, "op-graceful", sizeof f.actor);
    f.started_at = t + 600000;
    CHECK(db__insert_failover(d, &f) == 0);
    memset(&a, 0, sizeof a);
    hp_strlcpy(a.cluster, "hf", sizeof a.cluster);
    hp_strlcpy(a.rule, "replica_down", sizeof a.rule);
    hp_strlcpy(a.node, "n:2", sizeof a.node);
    hp_strlcpy(a.severity, "warning", sizeof a.severity);
    hp_strlcpy(a.message, "replica n:2 down", sizeof a.message);
    a.started_at = t + 40;
    a.fired_at = t + 60040;
    CHECK(db__alert_open(d, &a, &created) > 0);
    hp_strlcpy(a.rule, "master_down", sizeof a.rule);
    hp_strlcpy(a.node, "m:1", sizeof a.node);
    hp_strlcpy(a.severity, "critical", sizeof a.severity);
    hp_strlcpy(a.message, "master m:1 down", sizeof a.message);
    a.fired_at = 0;
    CHECK(db__alert_open(d, &a, &created) > 0);

    CHECK(parse_qs("cluster=hf&type=sdown", &h, err, sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    ev = strstr(b.buf, "<table class=\"events\"");
    CHECK(ev && count(ev, "<tr class=\"event") == 2); /* +sdown and -sdown */
    CHECK(strstr(ev, ">+sdown<") && strstr(ev, ">-sdown<") && !strstr(ev, ">+odown<"));
    CHECK(strstr(b.buf, "no failover matches") && strstr(b.buf, "no alert matches"));
    CHECK(strstr(b.buf,
                 "<div id=\"htables\" hx-get=\"/ui/history?part=tables&amp;cluster=hf"
                 "&amp;type=sdown\" hx-trigger=\"every 5s\" hx-swap=\"outerHTML\">") != NULL);
    sbuf_release(&b);

    CHECK(parse_qs("cluster=hf&type=%2Bs", &h, err, sizeof err) == 0); /* +s: as written */
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    ev = strstr(b.buf, "<table class=\"events\"");
    CHECK(ev && count(ev, "<tr class=\"event") == 2); /* +sdown, +switch-master */
    CHECK(strstr(ev, ">+switch-master<") && !strstr(ev, ">-sdown<"));
    CHECK(count(b.buf, "<tr class=\"failover") == 2); /* +switch-master matches every failover */
    sbuf_release(&b);

    CHECK(parse_qs("cluster=hf&type=odown,+switch,%20node&severity=warning,critical", &h, err,
                   sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    ev = strstr(b.buf, "<table class=\"events\"");
    CHECK(ev && count(ev, "<tr class=\"event") == 3); /* +odown, +switch-master, node-down */
    CHECK(count(b.buf, "<tr class=\"failover") == 2);
    CHECK(strstr(b.buf, "<option value=\"warning,critical\" selected>") != NULL);
    sbuf_release(&b);

    CHECK(parse_qs("cluster=hf&severity=critical", &h, err, sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    ev = strstr(b.buf, "<table class=\"events\"");
    CHECK(ev && count(ev, "<tr class=\"event") == 1 && strstr(ev, ">+odown<"));
    CHECK(count(b.buf, "<tr class=\"failover") == 1 && strstr(b.buf, "op-graceful")); /* failed */
    CHECK(count(b.buf, "<tr class=\"alertrow") == 1 && strstr(b.buf, ">master_down<"));
    sbuf_release(&b);

    CHECK(parse_qs("cluster=hf&type=replica,graceful", &h, err, sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(count(b.buf, "<tr class=\"alertrow") == 1 && strstr(b.buf, ">replica_down<"));
    CHECK(strstr(b.buf, "fired after 1m 00s") != NULL); /* the condition began a minute before */
    CHECK(count(b.buf, "<tr class=\"failover") == 1 && strstr(b.buf, "op-graceful"));
    sbuf_release(&b);

    CHECK(parse_qs("cluster=hf&type=alert&node=n:2", &h, err, sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(count(b.buf, "<tr class=\"alertrow") == 1); /* alert: every alert, of node n:2 */
    CHECK(strstr(b.buf, "no event matches") && strstr(b.buf, "no failover matches"));
    sbuf_release(&b);

    CHECK(parse_qs("cluster=hf&node=n:1", &h, err, sizeof err) == 0);
    ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(count(b.buf, "<tr class=\"failover") == 2); /* the old or the new master */
    sbuf_release(&b);

    /* time: the graceful failover started 10 min after the rest */
    {
        char qs[120];
        snprintf(qs, sizeof qs, "cluster=hf&since=%lld", (long long)(t + 300000));
        CHECK(parse_qs(qs, &h, err, sizeof err) == 0);
        ui__render_history(&b, d, NULL, &h, NULL, hp_now_ms());
        CHECK(count(b.buf, "<tr class=\"failover") == 1 && strstr(b.buf, "op-graceful"));
        CHECK(strstr(b.buf, "no event matches") != NULL);
        CHECK(count(b.buf, "<tr class=\"alertrow") == 2); /* both still active */
        sbuf_release(&b);
    }

    CHECK(parse_qs("part=tables&cluster=hf", &h, err, sizeof err) == 0 && h.tables_only);
    /* the matching itself */
    CHECK(db_type_matches("sdown", "+sdown") && db_type_matches("sdown", "-sdown"));
    CHECK(db_type_matches("+s", "+switch-master") && !db_type_matches("+s", "-sdown"));
    CHECK(db_type_matches(" x , node", "node-up") && !db_type_matches("node", "+sdown"));
    CHECK(db_type_matches("+failover-end", "+failover-end-for-timeout"));
    CHECK(!db_type_matches("+failover-end$", "+failover-end-for-timeout"));
    CHECK(db_type_matches("failover-end$", "+failover-end") && db_type_matches("", "any"));
    CHECK(db_severity_mask("warning, critical") == 6 && db_severity_mask("") == 0);
    CHECK(db_severity_mask("info,loud") < 0);
    CHECK(parse_qs("severity=bogus", &h, err, sizeof err) < 0 && strstr(err, "severity must"));
    CHECK(parse_qs("type=a,b,c,d,e,f,g,h,i", &h, err, sizeof err) < 0 && strstr(err, "at most 8"));
}

/* A cluster whose topology is fine is not green while an alert is active;
 * the alert says when its condition began and when it fired. */
static void test_badge_alerts(db *d)
{
    cluster_snap *c = cluster_snap_new("okc");
    sbuf b = SBUF_INIT;
    alert_row a;
    int created;
    int64_t id, now = hp_now_ms();

    c->nodes = calloc(1, sizeof(*c->nodes));
    c->sentinels = calloc(1, sizeof(*c->sentinels));
    add_node(c, "10.2.0.1:6379", ROLE_MASTER, 1, "");
    add_sentinel(c, "10.2.0.9:26379", "10.2.0.1:6379", 1);
    c->sentinels[0].quorum = 1;
    CHECK(cluster_snap_finish(c, now) == 0);
    CHECK(strcmp(c->status, "ok") == 0);
    ui__render_cluster(&b, d, c, NULL, now);
    CHECK(strstr(b.buf, "<section class=\"cluster st-ok\"") != NULL);
    sbuf_release(&b);

    memset(&a, 0, sizeof a);
    hp_strlcpy(a.cluster, "okc", sizeof a.cluster);
    hp_strlcpy(a.rule, "backup_stale", sizeof a.rule);
    hp_strlcpy(a.severity, "warning", sizeof a.severity);
    hp_strlcpy(a.message, "no backup", sizeof a.message);
    a.started_at = now - 90000;
    a.fired_at = now - 60000;
    id = db__alert_open(d, &a, &created);
    CHECK(id > 0);
    db__recent_mark(d, "okc", DB_RECENT_ALERTS);
    db__recent_commit(d);
    ui__render_cluster(&b, d, c, NULL, now);
    CHECK(strstr(b.buf, "<section class=\"cluster st-degraded\"") != NULL);
    CHECK(strstr(b.buf, "<span class=\"badge st-degraded\" title=\"the topology is ok; 1 alert is "
                        "active (0 critical, 1 warning)\">degraded</span>") != NULL);
    CHECK(strstr(b.buf, "since ") && strstr(b.buf, "(90s ago)") && strstr(b.buf, ", after 30.0 s"));
    sbuf_release(&b);

    CHECK(db__alert_resolve(d, "okc", "backup_stale", "", now) == id);
    db__recent_mark(d, "okc", DB_RECENT_ALERTS);
    db__recent_commit(d);
    ui__render_cluster(&b, d, c, NULL, now);
    CHECK(strstr(b.buf, "<section class=\"cluster st-ok\"") != NULL);
    sbuf_release(&b);
    cluster_snap_unref(c);
}

/* A healthy one-node cluster of group grp, for the page tests. */
static cluster_snap *group_cluster(const char *name, const char *grp, int up, int64_t now)
{
    cluster_snap *c = cluster_snap_new(name);
    c->nodes = calloc(1, sizeof(*c->nodes));
    c->sentinels = calloc(1, sizeof(*c->sentinels));
    add_node(c, "10.3.0.1:6379", ROLE_MASTER, up, up ? "" : "refused");
    add_sentinel(c, "10.3.0.9:26379", up ? "10.3.0.1:6379" : "", 1);
    c->sentinels[0].quorum = 1;
    hp_strlcpy(c->group_name, grp, sizeof(c->group_name));
    CHECK(cluster_snap_finish(c, now) == 0);
    return c;
}

/* The page of n clusters named names[i] in groups[i] (given in name order). */
static void render_groups(sbuf *b, db *d, int n, const char *const *names,
                          const char *const *groups, int64_t now)
{
    cluster_snap **cs = calloc((size_t)n, sizeof(*cs));
    topo_snap *t;
    int i;
    for (i = 0; i < n; i++)
        cs[i] = group_cluster(names[i], groups[i], names[i][0] != 'z', now);
    t = topo_snap_new(cs, n, now);
    CHECK(t != NULL);
    ui__render_page(b, d, NULL, t, "", now);
    topo_release(t);
}

/* Issue 15: the clusters by Sentinel group. The compact table sorts rows by
 * group, then problems first, with a header row per group and data-group on
 * every row; a hostile group name is escaped in both; one group: no headers.
 * The full sections go into one div per group. */
static void test_groups(db *d)
{
    static const char *const names[] = {"a1", "a2", "b1", "b2", "c1", "c2", "c3", "c4", "zdown"};
    static const char *const groups[] = {"west", "east", "west", "east", "<script>\"&'",
                                         "west", "east", "west", "east"};
    static const char *const one[] = {"a1", "a2", "b1", "b2", "c1", "c2", "c3", "c4", "zdown"};
    static const char *const same[] = {"east", "east", "east", "east", "east",
                                       "east", "east", "east", "east"};
    sbuf b = SBUF_INIT;
    int64_t now = hp_now_ms();
    const char *e, *h, *w, *r;

    render_groups(&b, d, 9, names, groups, now); /* 9 > UI_COMPACT_AT: the table */
    CHECK(!sbuf_failed(&b) && strstr(b.buf, "<table class=\"clist\">") != NULL);
    CHECK(count(b.buf, "<tr class=\"grow\"") == 3);
    CHECK(count(b.buf, "<tr class=\"crow ") == 9);
    CHECK(count(b.buf, "<tbody class=\"gbody\"") == 3);
    /* sorted by group name: the hostile one ("<" sorts first), east, west */
    h = strstr(b.buf, "<tr class=\"grow\" data-group=\"&lt;script&gt;&quot;&amp;&#39;\">");
    e = strstr(b.buf, "<tr class=\"grow\" data-group=\"east\">");
    w = strstr(b.buf, "<tr class=\"grow\" data-group=\"west\">");
    CHECK(h && e && w && h < e && e < w);
    /* the header counts its group; the down cluster first within east */
    CHECK(strstr(b.buf, "east \xc2\xb7 4 clusters \xc2\xb7 <span class=\"bad\">1 down</span>") !=
          NULL);
    CHECK(strstr(b.buf, "west \xc2\xb7 4 clusters</th>") != NULL);
    CHECK(strstr(b.buf, "&lt;script&gt;&quot;&amp;&#39; \xc2\xb7 1 cluster</th>") != NULL);
    r = strstr(b.buf, "data-cluster=\"zdown\" data-group=\"east\"");
    CHECK(r && r > e && r < strstr(e, "data-cluster=\"a2\""));
    CHECK(strstr(b.buf, "<tr class=\"crow st-ok\" data-cluster=\"c1\" "
                        "data-group=\"&lt;script&gt;&quot;&amp;&#39;\">") != NULL);
    CHECK(strstr(b.buf, "<script>") == NULL && strstr(b.buf, "\"&'") == NULL);
    /* the overview counts each group */
    CHECK(strstr(b.buf, "<span class=\"ogroups\">3 groups:") != NULL);
    CHECK(strstr(b.buf, "<span class=\"ogroup\" data-group=\"west\">west \xc2\xb7 4 clusters") !=
          NULL);
    sbuf_release(&b);

    /* one group: the table as before, no headers, rows by status then name */
    render_groups(&b, d, 9, one, same, now);
    CHECK(count(b.buf, "class=\"grow\"") == 0 && count(b.buf, "gbody") == 0);
    CHECK(strstr(b.buf, "ogroups") == NULL);
    CHECK(count(b.buf, "data-group=\"east\"") == 9);
    r = strstr(b.buf, "<tr class=\"crow st-down\" data-cluster=\"zdown\"");
    CHECK(r && r < strstr(b.buf, "data-cluster=\"a1\""));
    sbuf_release(&b);

    /* few clusters, two groups: a div and a heading per group, sorted */
    render_groups(&b, d, 3, names + 1, groups + 1, now); /* a2 east, b1 west, b2 east */
    CHECK(strstr(b.buf, "class=\"clist\"") == NULL);
    CHECK(count(b.buf, "<div class=\"group\"") == 2);
    e = strstr(b.buf, "<div class=\"group\" data-group=\"east\"><h2 class=\"group-head\">east "
                      "\xc2\xb7 2 clusters</h2>");
    w = strstr(b.buf, "<div class=\"group\" data-group=\"west\">");
    CHECK(e && w && e < w);
    r = strstr(b.buf, "data-cluster=\"b2\" data-group=\"east\"");
    CHECK(r && r > e && r < w);
    sbuf_release(&b);

    /* few clusters, one group: no group div */
    render_groups(&b, d, 2, one, same, now);
    CHECK(strstr(b.buf, "class=\"group\"") == NULL && strstr(b.buf, "group-head") == NULL);
    CHECK(count(b.buf, "<section class=\"cluster") == 2);
    sbuf_release(&b);
}

/* Issue 15: the panel of hapanel instances: both listed, the leader with its
 * since time, this panel marked, every name and URL escaped; a leader the
 * (older) list does not have yet still shows; etcd silent says so. */
static void test_instances(void)
{
    ha_status hs;
    ui_inst_list l;
    sbuf b = SBUF_INIT;
    int64_t now = hp_now_ms();
    char since[64];

    memset(&hs, 0, sizeof hs);
    memset(&l, 0, sizeof l);
    hs.enabled = 1;
    hs.etcd_ok = 1;
    hs.term = 42;
    hp_strlcpy(hs.self_id, "p2", sizeof hs.self_id);
    hp_strlcpy(hs.leader_id, "p<1>", sizeof hs.leader_id);
    hp_strlcpy(hs.leader_url, "http://h1:1/\"x", sizeof hs.leader_url);
    hs.leader_since_ms = now - 65000;
    hp_strlcpy(l.rows[0].id, "p<1>", sizeof l.rows[0].id);
    hp_strlcpy(l.rows[0].url, "http://h1:1/\"x<b>", sizeof l.rows[0].url);
    hp_strlcpy(l.rows[1].id, "p2", sizeof l.rows[1].id);
    hp_strlcpy(l.rows[1].url, "http://h2:2", sizeof l.rows[1].url);
    l.n = 2;
    ui__render_instances(&b, &hs, &l, 1, now, 0, now);
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "hx-get=\"/ui/instances\" hx-trigger=\"every 5s\"") != NULL);
    CHECK(count(b.buf, "<li class=\"inst") == 2);
    snprintf(since, sizeof since, "data-since=\"%lld\"", (long long)hs.leader_since_ms);
    CHECK(strstr(b.buf, "<li class=\"inst inst-leader\" data-role=\"leader\" "
                        "data-instance=\"p&lt;1&gt;\"") != NULL);
    CHECK(strstr(b.buf, since) != NULL && strstr(b.buf, "(65s ago)") != NULL);
    CHECK(strstr(b.buf, "http://h1:1/&quot;x&lt;b&gt;") != NULL && strstr(b.buf, "<b>") == NULL);
    CHECK(strstr(b.buf, "<li class=\"inst inst-self\" data-role=\"follower\" "
                        "data-instance=\"p2\">") != NULL);
    CHECK(count(b.buf, "this panel") == 1 && count(b.buf, ">follower<") == 1);
    CHECK(strstr(b.buf, "<span class=\"k\">etcd</span> <span class=\"badge st-ok\">ok</span>"));
    CHECK(strstr(b.buf, "did not answer") == NULL);
    sbuf_release(&b);

    /* a new leader the cached list lacks; etcd silent for the last read */
    hp_strlcpy(hs.leader_id, "p3", sizeof hs.leader_id);
    hp_strlcpy(hs.leader_url, "http://h3:3", sizeof hs.leader_url);
    hs.etcd_ok = 0;
    hs.last_ok_ms = now - 3000;
    ui__render_instances(&b, &hs, &l, 1, now - 4000, 1, now);
    CHECK(count(b.buf, "<li class=\"inst") == 3);
    CHECK(strstr(b.buf, "data-role=\"leader\" data-instance=\"p3\"") != NULL);
    CHECK(count(b.buf, "data-role=\"leader\"") == 1);
    CHECK(strstr(b.buf, "badge st-down\">unreachable") != NULL);
    CHECK(strstr(b.buf, "etcd did not answer the list of instances; it is from 4s ago") != NULL);
    sbuf_release(&b);

    /* no list read yet: this panel alone, from its status */
    ui__render_instances(&b, &hs, &l, 0, 0, 1, now);
    CHECK(count(b.buf, "<li class=\"inst") == 2); /* the leader p3 and this panel p2 */
    CHECK(strstr(b.buf, "data-instance=\"p2\"") != NULL);
    sbuf_release(&b);
}

/* Item 7: a backup's key figures and restore check in its row, the reason
 * of a failed check escaped, and the "verify restore" button. */
static void test_backup_restore_row(db *d, cluster_snap *c, const char *name)
{
    hp_backup k;
    backup_restore_op op;
    sbuf b = SBUF_INIT;

    memset(&k, 0, sizeof k);
    hp_strlcpy(k.cluster, name, sizeof k.cluster);
    hp_strlcpy(k.node, "10.0.0.9:6379", sizeof k.node);
    hp_strlcpy(k.sha256, "00ff", sizeof k.sha256);
    hp_strlcpy(k.path, "/nonexistent/r.rdb", sizeof k.path);
    k.created_at = hp_now_ms() - 1000;
    CHECK(db__insert_backup(d, &k) == 0);
    memset(&op, 0, sizeof op);
    op.what = BRS_FIGURES;
    op.id = k.id;
    op.cluster = name;
    op.keys = 1234;
    op.expires = 56;
    op.sample = "[]";
    op.walk_error = "cannot walk <module> data";
    CHECK(db__backup_restore_apply(d, &op) == 1);
    op.what = BRS_CHECKED;
    op.checked_at = hp_now_ms();
    op.ok = 0;
    op.detail = "the sampled key \"<img src=x>\" is missing";
    CHECK(db__backup_restore_apply(d, &op) == 1);
    db__recent_commit(d);
    ui__render_cluster(&b, d, c, NULL, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "restore check failed: the sampled key &quot;&lt;img src=x&gt;&quot; is "
                        "missing") != NULL);
    CHECK(strstr(b.buf, "<img") == NULL);
    CHECK(strstr(b.buf, "1,234 keys") != NULL || strstr(b.buf, "1234 keys") != NULL);
    CHECK(strstr(b.buf, "partial: cannot walk &lt;module&gt; data") != NULL);
    CHECK(strstr(b.buf, "data-act=\"verify-restore\" data-needs=\"operator\"") != NULL);
    sbuf_release(&b);

    op.ok = 1;
    op.detail = "1234 keys loaded";
    CHECK(db__backup_restore_apply(d, &op) == 1);
    db__recent_commit(d);
    ui__render_cluster(&b, d, c, NULL, hp_now_ms());
    CHECK(strstr(b.buf, "restorable, checked ") != NULL);
    CHECK(strstr(b.buf, "restore check failed") == NULL);
    sbuf_release(&b);
    op.id = 999999; /* a backup gone meanwhile: nothing changes */
    CHECK(db__backup_restore_apply(d, &op) == 0);
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
    hp_event_set(&ev, EV_SENTINEL, name, "+sdown", "<b>sev\"", "a\"b' & <c>", "1.2.3.4:5",
                 "x & 'y' \"z\"");
    CHECK(db__insert_events(d, &ev, 1) == 0);

    c->nodes = calloc(3, sizeof(*c->nodes));
    c->sentinels = calloc(1, sizeof(*c->sentinels));
    add_node(c, "127.0.0.1:6379", ROLE_MASTER, 1, "");
    add_node(c, "127.0.0.1:6380", ROLE_REPLICA, 0, "\"><img src=x onerror=alert(1)>");
    add_node(c, "h\"><svg onload=alert(2)>:7", ROLE_REPLICA, 1, "");
    hp_strlcpy(c->nodes[1].sentinel_flags, "slave,s_down,<b>x", sizeof(c->nodes[1].sentinel_flags));
    hp_strlcpy(c->nodes[2].sentinel_flags, "slave,promoted", sizeof(c->nodes[2].sentinel_flags));
    c->nsentinels = 1;
    hp_strlcpy(c->sentinels[0].addr, "127.0.0.1:26379", sizeof(c->sentinels[0].addr));
    c->sentinels[0].polled = c->sentinels[0].up = 1;
    hp_strlcpy(c->sentinels[0].sees_master, "127.0.0.1:6379", sizeof(c->sentinels[0].sees_master));
    hp_strlcpy(c->sentinels[0].flags, "master,<i>", sizeof(c->sentinels[0].flags));
    c->sentinels[0].quorum = 1;
    CHECK(cluster_snap_finish(c, hp_now_ms()) == 0);

    {
        /* a job of this cluster with hostile texts, still running */
        int64_t id = db__job_insert(d, "<kind>", name, "{}", "<actor>", "'><i>r", hp_now_ms());
        CHECK(id > 0);
        CHECK(db__job_save(d, id, "running", "[{\"ts\":1,\"message\":\"<u>last</u>\"}]", NULL, NULL,
                           NULL, hp_now_ms(), 0) == 0);
    }

    {
        /* a finished failover: its row says old -> new, escaped */
        int64_t id = db__job_insert(d, "failover", name, "{}", "op", "", hp_now_ms() - 5000);
        CHECK(id > 0);
        CHECK(db__job_save(d, id, "succeeded", "[]", NULL,
                           "{\"old_master\":\"<om>:1\",\"new_master\":\"<nm>:2\"}", NULL,
                           hp_now_ms() - 5000, hp_now_ms() - 1000) == 0);
    }
    ui__render_cluster(&b, d, c, NULL, hp_now_ms());
    CHECK(!sbuf_failed(&b) && b.len > 0);
    CHECK(strstr(b.buf, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL);
    CHECK(strstr(b.buf, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") != NULL);
    CHECK(strstr(b.buf, "<img") == NULL);
    CHECK(strstr(b.buf, "master,&lt;i&gt;") != NULL);
    CHECK(strstr(b.buf, "<i>") == NULL);
    CHECK(strstr(b.buf, "x &amp; &#39;y&#39; &quot;z&quot;") != NULL); /* event message */
    CHECK(strstr(b.buf, "sev-unknown") != NULL);                       /* class from a fixed list */
    CHECK(strstr(b.buf, "<b>sev") == NULL);
    CHECK(strstr(b.buf, "127.0.0.1:6380") != NULL);
    /* action buttons: data only, escaped; classes and words from fixed lists */
    CHECK(strstr(b.buf, "data-act=\"failover\" data-needs=\"operator\" "
                        "data-cluster=\"&lt;script&gt;alert(1)&lt;/script&gt;\" "
                        "data-master=\"127.0.0.1:6379\"") != NULL);
    CHECK(strstr(b.buf, "data-act=\"reset\" data-needs=\"operator\" "
                        "data-cluster=\"&lt;script&gt;") != NULL);
    /* every action button says the role it needs (the page hides the rest) */
    CHECK(count(b.buf, "<button type=\"button\" class=\"act") ==
          count(b.buf, "data-needs=\"operator\""));
    CHECK(count(b.buf, "data-needs=\"operator\"") >= 6);
    /* the quorum in words, in the header and the drawing */
    CHECK(count(b.buf, "1 of 1 Sentinel up, 1 needed") >= 2);
    CHECK(strstr(b.buf, "1/1") == NULL);
    CHECK(strstr(b.buf, "data-node=\"h&quot;&gt;&lt;svg onload=alert(2)&gt;:7\"") != NULL);
    CHECK(
        strstr(b.buf, "data-addr=\"h&quot;&gt;&lt;svg onload=alert(2)&gt;:7\" data-cand=\"ok\"") !=
        NULL);
    CHECK(count(b.buf, "<svg") == 1 && strstr(b.buf, "<svg onload") == NULL); /* the drawing */
    CHECK(strstr(b.buf, "data-addr=\"h&quot;&gt;&lt;svg onload=alert(2)&gt;:7\" "
                        "data-role=\"replica\"><title>replica h&quot;&gt;&lt;svg") != NULL);
    CHECK(strstr(b.buf, "data-cand=\"master\"") && strstr(b.buf, "data-cand=\"down\""));
    CHECK(count(b.buf, "data-act=\"resync\"") == 2); /* not for the master */
    CHECK(strstr(b.buf, "data-node=\"127.0.0.1:6380\" data-master=\"127.0.0.1:6379\" disabled") !=
          NULL);
    /* recent jobs: escaped, and the running one disables the failover button */
    CHECK(strstr(b.buf, "&lt;kind&gt;") && strstr(b.buf, "&lt;actor&gt;"));
    CHECK(strstr(b.buf, "&#39;&gt;&lt;i&gt;r") && strstr(b.buf, "&lt;u&gt;last&lt;/u&gt;"));
    CHECK(strstr(b.buf, "<u>") == NULL && strstr(b.buf, "<kind>") == NULL);
    CHECK(strstr(b.buf, "badge job-running") != NULL);
    CHECK(strstr(b.buf, "&lt;om&gt;:1</span> \xe2\x86\x92 <span class=\"addr\">&lt;nm&gt;:2") !=
          NULL);
    CHECK(strstr(b.buf, "4.0 s") != NULL); /* how long it took */
    CHECK(strstr(b.buf, "disabled title=\"a job is running on this cluster\"") != NULL);

    /* node flags: the role words are dropped, the rest escaped */
    CHECK(strstr(b.buf, "title=\"Sentinel flags\">s_down,&lt;b&gt;x</span>") != NULL);
    CHECK(strstr(b.buf, "slave") == NULL && strstr(b.buf, "promoted") == NULL);

    test_parse_history();
    test_job_view();
    test_history(d, name);
    test_backup_job_view();
    test_alerts_backups(d, c, name);
    test_backup_busy(d);
    test_notifications(d);
    test_history_alerts(d, name);
    test_topology();
    test_events_grouped(d);
    test_history_filters(d);
    test_badge_alerts(d);
    test_backup_restore_row(d, c, name);
    test_groups(d);
    test_instances();

    sbuf_release(&b);
    cluster_snap_unref(c);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
