/* test_ui.c — the dashboard fragments escape every value that comes from
 * Redis, a Sentinel or the history: hostile names, errors, event texts, job
 * steps and failover records come out as text, never as markup, also inside
 * the data-* attributes the action buttons carry. The job fragment polls only
 * while the job runs; the history's parameters are validated. Includes ui.c to
 * reach its render functions. */
#define _POSIX_C_SOURCE 200809L
#include "../server/ui.c"

#include <civetweb.h>
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

/* parse_history_query on a query string, through a fake request. */
static int parse_qs(const char *qs, hist_query *h, char *err, size_t errsz)
{
    struct mg_request_info ri;
    hreq r;
    memset(&ri, 0, sizeof ri);
    memset(&r, 0, sizeof r);
    ri.query_string = qs;
    r.ri = &ri;
    return parse_history_query(&r, h, err, errsz);
}

/* How often needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle)) n++;
    return n;
}

static void test_parse_history(void)
{
    hist_query h;
    char err[200];
    int64_t ms = 0;

    CHECK(parse_when("2024-05-01 12:30", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(parse_when("2024-05-01T12:30:00Z", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(parse_when("2024-05-01 12:30 UTC", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(parse_when("1714566600000", 0, &ms) == 0 && ms == 1714566600000LL);
    CHECK(parse_when("2024-05-01", 1, &ms) == 0 && ms == 1714607999999LL); /* until: whole day */
    CHECK(parse_when("2024-02-29", 0, &ms) == 0);
    CHECK(parse_when("2023-02-29", 0, &ms) < 0);
    CHECK(parse_when("2024-04-31", 0, &ms) < 0);
    CHECK(parse_when("2024-05-01 24:00", 0, &ms) < 0);
    CHECK(parse_when("2024-5-1", 0, &ms) < 0);
    CHECK(parse_when("yesterday", 0, &ms) < 0);
    CHECK(parse_when("-5", 0, &ms) < 0);
    CHECK(parse_when("99999999999999999999", 0, &ms) < 0);

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

    render_job_view(&b, &j, now);
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
    render_job_view(&b, &j, now);
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "hx-trigger") == NULL && strstr(b.buf, "hx-get") == NULL);
    CHECK(strstr(b.buf, "job-succeeded") != NULL);
    CHECK(strstr(b.buf, "&lt;o&gt;") && strstr(b.buf, "&lt;n&gt;") && strstr(b.buf, "312 ms"));
    sbuf_release(&b);

    hp_strlcpy(j.state, "failed", sizeof j.state);
    render_job_view(&b, &j, now);
    CHECK(strstr(b.buf, "hx-trigger") == NULL && strstr(b.buf, "job-failed") != NULL);
    sbuf_release(&b);

    hp_strlcpy(j.state, "<s>", sizeof j.state); /* unknown: a fixed class, still polled */
    j.params = (char *)"not json";
    j.steps = NULL;
    j.result = (char *)"[1,";
    render_job_view(&b, &j, now);
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
    CHECK(db_insert_failover(d, &f) == 0);
    for (i = 0; i < 3; i++)
        hp_event_set(&ev[i], name, "+switch-master", "warning", "<src>", "<n>:1", "<ev msg>");
    CHECK(db_insert_events(d, ev, 3) == 0);

    CHECK(parse_qs("cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E&node=%22%3E%3Cq%3E&since=%3Cz",
                   &h, err, sizeof err) < 0);
    render_history(&b, d, NULL, &h, err, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "class=\"formerr\"") != NULL && strstr(b.buf, "since must be") != NULL);
    CHECK(strstr(b.buf, "value=\"&quot;&gt;&lt;q&gt;\"") != NULL);
    CHECK(strstr(b.buf, "value=\"&lt;z\"") != NULL);
    CHECK(strstr(b.buf, "<option value=\"&lt;script&gt;alert(1)&lt;/script&gt;\" selected>") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<q>") == NULL);
    CHECK(strstr(b.buf, "class=\"failovers\"") == NULL); /* no tables after an error */
    sbuf_release(&b);

    CHECK(parse_qs("cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E&limit=2", &h, err, sizeof err) == 0);
    render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "&lt;kind&gt;") && strstr(b.buf, "badge fo-unknown"));
    CHECK(strstr(b.buf, "&lt;old&gt;:1") && strstr(b.buf, "&quot;new&quot;:2"));
    CHECK(strstr(b.buf, "badge job-unknown") && strstr(b.buf, "&lt;st&gt;"));
    CHECK(strstr(b.buf, "&lt;actor&gt;") && strstr(b.buf, "it&#39;s &lt;fine&gt;"));
    CHECK(strstr(b.buf, "4.2 s") && strstr(b.buf, "310 ms"));
    CHECK(strstr(b.buf, "data-job=\"77\"") != NULL);
    CHECK(strstr(b.buf, "&lt;ev msg&gt;") && strstr(b.buf, "title=\"&lt;src&gt;\""));
    CHECK(count(b.buf, "<tr class=\"event") == 2);           /* limit 2 of 4 events */
    CHECK(strstr(b.buf, "older events") != NULL);             /* a third exists */
    CHECK(strstr(b.buf, "&amp;limit=2\" hx-include") != NULL);  /* the page size is kept */
    CHECK(strstr(b.buf, "older failovers") == NULL);          /* only one failover */
    CHECK(strstr(b.buf, "hx-include=\"#hfilters\"") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<st>") == NULL);
    CHECK(strstr(b.buf, "<old>") == NULL && strstr(b.buf, "<ev msg>") == NULL);
    sbuf_release(&b);

    CHECK(parse_qs("cluster=%3Cscript%3Ealert(1)%3C%2Fscript%3E&limit=4", &h, err, sizeof err) == 0);
    render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(count(b.buf, "<tr class=\"event") == 4 && strstr(b.buf, "older events") == NULL);
    sbuf_release(&b);

    CHECK(parse_qs("cluster=nope&type=%3Ct%3E", &h, err, sizeof err) == 0);
    render_history(&b, d, NULL, &h, NULL, hp_now_ms());
    CHECK(strstr(b.buf, "no event matches") && strstr(b.buf, "no failover recorded"));
    CHECK(strstr(b.buf, "value=\"&lt;t&gt;\"") != NULL && strstr(b.buf, "<t>") == NULL);
    sbuf_release(&b);
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
        int64_t id = db_job_insert(d, "<kind>", name, "{}", "<actor>", "'><i>r", hp_now_ms());
        CHECK(id > 0);
        CHECK(db_job_save(d, id, "running", "[{\"ts\":1,\"message\":\"<u>last</u>\"}]", NULL, NULL,
                          NULL, hp_now_ms(), 0) == 0);
    }

    {
        /* a finished failover: its row says old -> new, escaped */
        int64_t id = db_job_insert(d, "failover", name, "{}", "op", "", hp_now_ms() - 5000);
        CHECK(id > 0);
        CHECK(db_job_save(d, id, "succeeded", "[]", NULL,
                          "{\"old_master\":\"<om>:1\",\"new_master\":\"<nm>:2\"}", NULL,
                          hp_now_ms() - 5000, hp_now_ms() - 1000) == 0);
    }
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
    /* action buttons: data only, escaped; classes and words from fixed lists */
    CHECK(strstr(b.buf, "data-act=\"failover\" data-cluster=\"&lt;script&gt;alert(1)&lt;/script&gt;\" "
                        "data-master=\"127.0.0.1:6379\"") != NULL);
    CHECK(strstr(b.buf, "data-act=\"reset\" data-cluster=\"&lt;script&gt;") != NULL);
    CHECK(strstr(b.buf, "data-node=\"h&quot;&gt;&lt;svg onload=alert(2)&gt;:7\"") != NULL);
    CHECK(strstr(b.buf, "data-addr=\"h&quot;&gt;&lt;svg onload=alert(2)&gt;:7\" data-cand=\"ok\"") != NULL);
    CHECK(strstr(b.buf, "<svg") == NULL);
    CHECK(strstr(b.buf, "data-cand=\"master\"") && strstr(b.buf, "data-cand=\"down\""));
    CHECK(count(b.buf, "data-act=\"resync\"") == 2); /* not for the master */
    CHECK(strstr(b.buf, "data-node=\"127.0.0.1:6380\" data-master=\"127.0.0.1:6379\" disabled") != NULL);
    /* recent jobs: escaped, and the running one disables the failover button */
    CHECK(strstr(b.buf, "&lt;kind&gt;") && strstr(b.buf, "&lt;actor&gt;"));
    CHECK(strstr(b.buf, "&#39;&gt;&lt;i&gt;r") && strstr(b.buf, "&lt;u&gt;last&lt;/u&gt;"));
    CHECK(strstr(b.buf, "<u>") == NULL && strstr(b.buf, "<kind>") == NULL);
    CHECK(strstr(b.buf, "badge job-running") != NULL);
    CHECK(strstr(b.buf, "&lt;om&gt;:1</span> \xe2\x86\x92 <span class=\"addr\">&lt;nm&gt;:2") != NULL);
    CHECK(strstr(b.buf, "4.0 s") != NULL); /* how long it took */
    CHECK(strstr(b.buf, "disabled title=\"a job is running on this cluster\"") != NULL);

    /* node flags: the role words are dropped, the rest escaped */
    CHECK(strstr(b.buf, "title=\"Sentinel flags\">s_down,&lt;b&gt;x</span>") != NULL);
    CHECK(strstr(b.buf, "slave") == NULL && strstr(b.buf, "promoted") == NULL);

    test_parse_history();
    test_job_view();
    test_history(d, name);

    sbuf_release(&b);
    cluster_snap_unref(c);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
