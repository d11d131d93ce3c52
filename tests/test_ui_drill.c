/* test_ui_drill.c — the cluster card's failover drills (web/ui_drill.c): a
 * drill's timeline is drawn where its report puts the markers, with the
 * write gap as a band between the last ack on the old master and the first
 * on the new, and the figures in words; hostile strings in the row or the
 * report come out as text; a report that is missing, not JSON, not an
 * object, or full of negative, huge or non-numeric figures still renders,
 * with dashes and nothing drawn from nonsense; the section shows the newest
 * three and a button that says when drills are off or a job runs. */
#define _POSIX_C_SOURCE 200809L
#include "web/ui_internal.h"

#include <stdlib.h>
#include <unistd.h>

#include "db/drills.h"
#include "db/internal.h" /* the fixtures write rows directly */
#include "check.h"

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
        n++;
    return n;
}

static void drill_init(hp_drill *dr, const char *state, const char *report)
{
    memset(dr, 0, sizeof(*dr));
    dr->id = 7;
    hp_strlcpy(dr->cluster, "c1", sizeof(dr->cluster));
    hp_strlcpy(dr->mode, "graceful", sizeof(dr->mode));
    hp_strlcpy(dr->state, state, sizeof(dr->state));
    dr->job_id = 42;
    dr->started_at = hp_now_ms() - 60000;
    dr->ended_at = dr->started_at + 8200;
    dr->report = (char *)report;
}

static const char good[] =
    "{\"mode\":\"graceful\",\"old_master\":\"127.0.0.1:6379\",\"new_master\":\"127.0.0.1:6380\","
    "\"writes_acked\":812,\"writes_failed\":3,\"acked_lost\":0,\"write_gap_ms\":412,"
    "\"detection_ms\":120,\"promotion_ms\":950,\"agreement_ms\":2100,\"clients_left_on_old\":0,"
    "\"probe_keys_deleted\":812,\"timeline\":["
    "{\"t_ms\":0,\"kind\":\"probe-started\",\"what\":\"probe started\"},"
    "{\"t_ms\":1000,\"kind\":\"failover-requested\",\"what\":\"failover requested\"},"
    "{\"t_ms\":1000,\"kind\":\"last-ack-old\","
    "\"what\":\"last write acknowledged by 127.0.0.1:6379\"},"
    "{\"t_ms\":1120,\"kind\":\"detection\",\"what\":\"detection\"},"
    "{\"t_ms\":1950,\"kind\":\"promotion\",\"what\":\"promotion\"},"
    "{\"t_ms\":1412,\"kind\":\"first-ack-new\","
    "\"what\":\"first write acknowledged by 127.0.0.1:6380\"},"
    "{\"t_ms\":3100,\"kind\":\"agreement\",\"what\":\"all Sentinels agree\"},"
    "{\"t_ms\":3900,\"kind\":\"probe-stopped\",\"what\":\"probe stopped\"},"
    "{\"t_ms\":4000,\"kind\":\"cleanup\",\"what\":\"cleanup\"}]}";

/* A whole report: the band where the two acks are (x = 16 + t * 568 / 4000),
 * every marker drawn, numbered and listed, the figures in words. */
static void test_good(void)
{
    hp_drill dr;
    sbuf b = SBUF_INIT;

    drill_init(&dr, "ok", good);
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "<div class=\"drill drill-succeeded\" data-drill=\"7\" "
                        "data-state=\"succeeded\">") != NULL);
    CHECK(strstr(b.buf, "<span class=\"badge job-succeeded\">ok</span> <strong>graceful</strong> "
                        "drill #7") != NULL);
    CHECK(strstr(b.buf, ", took 8.2 s") && strstr(b.buf, "data-job=\"42\""));
    /* accessible: the drawing is an image with a name, its title the same */
    CHECK(strstr(b.buf, "<svg class=\"drilltl\" role=\"img\" viewBox=\"0 0 600 72\" "
                        "aria-label=\"Timeline of drill #7 (graceful): 9 markers, write gap "
                        "412 ms over 4.0 s\"><title>Timeline of drill #7 (graceful): 9 markers, "
                        "write gap 412 ms over 4.0 s</title>") != NULL);
    CHECK(strstr(b.buf, "<rect class=\"gap\" x=\"158.0\" y=\"28\" width=\"58.5\" height=\"16\">"
                        "<title>write gap: 412 ms") != NULL);
    CHECK(count(b.buf, "<g class=\"mk\">") == 9);
    /* two markers at 1000 ms: their numbers in two rows, not on each other */
    CHECK(strstr(b.buf, "<text x=\"158.0\" y=\"22\">2</text>") != NULL);
    CHECK(strstr(b.buf, "<text x=\"158.0\" y=\"12\">3</text>") != NULL);
    CHECK(strstr(b.buf, "<circle cx=\"16.0\" cy=\"36\" r=\"3\"/>") != NULL);  /* t 0 */
    CHECK(strstr(b.buf, "<circle cx=\"584.0\" cy=\"36\" r=\"3\"/>") != NULL); /* t 4000 */
    CHECK(strstr(b.buf, "<title>6. first write acknowledged by 127.0.0.1:6380, 1412 ms</title>"));
    CHECK(count(b.buf, "<li>") == 9 && strstr(b.buf, "<ol class=\"drillmarks\">"));
    CHECK(strstr(b.buf, "<li><span class=\"t\">1950 ms</span> promotion</li>") != NULL);
    /* the figures in words */
    CHECK(strstr(b.buf, "<dt>write gap</dt><dd>412 ms</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>acked writes lost</dt><dd class=\"good\">0</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>detection</dt><dd>120 ms</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>promotion</dt><dd>950 ms</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>all Sentinels agree</dt><dd>2.1 s</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>clients left on the old master</dt><dd>0</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>writes acked</dt><dd>812</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>writes failed</dt><dd>3</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>probe keys deleted</dt><dd>812</dd>") != NULL);
    CHECK(strstr(b.buf, "<span class=\"addr\">127.0.0.1:6379</span> \xe2\x86\x92 <span "
                        "class=\"addr\">127.0.0.1:6380</span>") != NULL);
    CHECK(strstr(b.buf, "drillerr") == NULL && strstr(b.buf, "kill command") == NULL);
    sbuf_release(&b);
}

/* A report without kinds (the words are matched): without the two ack
 * markers the band comes from write_gap_ms, back from
 * the first ack on the new master; a kill-master drill names its command;
 * lost writes and clients left are flagged. */
static void test_gap_fallback(void)
{
    hp_drill dr;
    sbuf b = SBUF_INIT;

    drill_init(&dr, "ok",
               "{\"write_gap_ms\":1000,\"acked_lost\":4,\"clients_left_on_old\":2,"
               "\"kill_command\":\"SHUTDOWN NOSAVE\",\"timeline\":["
               "{\"t_ms\":0,\"what\":\"probe started\"},"
               "{\"t_ms\":3000,\"what\":\"First ACK on new\"},"
               "{\"t_ms\":4000,\"what\":\"cleanup\"}]}");
    hp_strlcpy(dr.mode, "kill-master", sizeof(dr.mode));
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    /* 2000..3000 ms of 4000 */
    CHECK(strstr(b.buf, "<rect class=\"gap\" x=\"300.0\" y=\"28\" width=\"142.0\"") != NULL);
    CHECK(strstr(b.buf, "<dt>acked writes lost</dt><dd class=\"bad\">4</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>clients left on the old master</dt><dd class=\"bad\">2</dd>"));
    CHECK(strstr(b.buf, "<dt>kill command</dt><dd><code>SHUTDOWN NOSAVE</code></dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>master</dt>") == NULL); /* neither named */
    sbuf_release(&b);

    /* a gap of 0: still a visible band (two units) */
    drill_init(&dr, "ok",
               "{\"write_gap_ms\":0,\"timeline\":[{\"t_ms\":500,\"what\":\"last ack on old\"},"
               "{\"t_ms\":500,\"what\":\"first ack on new\"},{\"t_ms\":1000,\"what\":\"x\"}]}");
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(strstr(b.buf, "<rect class=\"gap\" x=\"300.0\" y=\"28\" width=\"2.0\"") != NULL);
    CHECK(strstr(b.buf, "<dt>write gap</dt><dd>0 ms</dd>") != NULL);
    sbuf_release(&b);
}

/* The band follows the markers' kind fields (actions/drill.c writes
 * "last-ack-old" and "first-ack-new"), not their words: a text that reads
 * like an ack marker under another kind does not move it, and reworded or
 * translated texts keep it. The words are only read when no marker has a
 * kind (a report from before the kinds). */
static void test_kinds(void)
{
    hp_drill dr;
    sbuf b = SBUF_INIT;

    drill_init(&dr, "ok",
               "{\"write_gap_ms\":400,\"timeline\":["
               "{\"t_ms\":0,\"kind\":\"probe-started\",\"what\":\"sonde\"},"
               "{\"t_ms\":1000,\"kind\":\"last-ack-old\",\"what\":\"derniere ecriture\"},"
               "{\"t_ms\":1100,\"kind\":\"detection\",\"what\":\"first ack of a Sentinel\"},"
               "{\"t_ms\":1200,\"kind\":\"promotion\",\"what\":\"last ack heard\"},"
               "{\"t_ms\":1400,\"kind\":\"first-ack-new\",\"what\":\"premiere ecriture\"},"
               "{\"t_ms\":2000,\"kind\":\"cleanup\",\"what\":\"fin\"}]}");
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    /* x = 16 + t * 568 / 2000: 1000 -> 300.0, 1400 -> 413.6 */
    CHECK(strstr(b.buf, "<rect class=\"gap\" x=\"300.0\" y=\"28\" width=\"113.6\"") != NULL);
    sbuf_release(&b);

    /* kinds present but no ack kinds: the words are not read, the band comes
     * from write_gap_ms with nothing to hang it on: none */
    drill_init(&dr, "ok",
               "{\"write_gap_ms\":400,\"timeline\":["
               "{\"t_ms\":0,\"kind\":\"probe-started\",\"what\":\"probe started\"},"
               "{\"t_ms\":900,\"kind\":\"detection\",\"what\":\"last ack on old\"},"
               "{\"t_ms\":2000,\"kind\":\"cleanup\",\"what\":\"first ack on new\"}]}");
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(strstr(b.buf, "<rect class=\"gap\"") == NULL);
    sbuf_release(&b);

    /* a kind that is not a string is no kind; hostile kinds are never output */
    drill_init(&dr, "ok",
               "{\"timeline\":[{\"t_ms\":10,\"kind\":5,\"what\":\"last ack on old\"},"
               "{\"t_ms\":30,\"kind\":[1],\"what\":\"first ack on new\"},"
               "{\"t_ms\":40,\"kind\":\"<script>\",\"what\":\"x\"}]}");
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(strstr(b.buf, "<rect class=\"gap\"") == NULL && strstr(b.buf, "<script") == NULL);
    sbuf_release(&b);
}

/* Hostile text in the row and the report is text; the state's class comes
 * from a fixed list. */
static void test_hostile(void)
{
    hp_drill dr;
    sbuf b = SBUF_INIT;

    drill_init(&dr, "<s>\"",
               "{\"old_master\":\"\\\"><img src=x onerror=alert(1)>\","
               "\"new_master\":\"<script>alert(2)</script>\",\"kill_command\":\"<b>k</b>\","
               "\"error\":\"<i>boom</i>\",\"write_gap_ms\":5,\"timeline\":["
               "{\"t_ms\":1,\"what\":\"<script>alert(3)</script>\"},"
               "{\"t_ms\":2,\"what\":\"\\\" onmouseover=\\\"x\"}]}");
    hp_strlcpy(dr.mode, "<img src=y>", sizeof(dr.mode));
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(strstr(b.buf, "data-state=\"unknown\"") && strstr(b.buf, "badge job-unknown"));
    CHECK(strstr(b.buf, "&lt;s&gt;&quot;</span>") != NULL);
    CHECK(strstr(b.buf, "<strong>&lt;img src=y&gt;</strong>") != NULL);
    CHECK(strstr(b.buf, "aria-label=\"Timeline of drill #7 (&lt;img src=y&gt;)") != NULL);
    CHECK(strstr(b.buf, "&lt;script&gt;alert(3)&lt;/script&gt;") != NULL);
    CHECK(strstr(b.buf, "&quot; onmouseover=&quot;x") != NULL);
    CHECK(strstr(b.buf, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") != NULL);
    CHECK(strstr(b.buf, "<code>&lt;b&gt;k&lt;/b&gt;</code>") != NULL);
    CHECK(strstr(b.buf, "<script") == NULL && strstr(b.buf, "<img") == NULL &&
          strstr(b.buf, "<b>") == NULL && strstr(b.buf, "\" onmouseover") == NULL);
    CHECK(strstr(b.buf, "drillerr") == NULL); /* not "failed": an unknown state */
    sbuf_release(&b);

    /* a failed drill says why, escaped and cut */
    {
        char rep[2000];
        char big[900];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        snprintf(rep, sizeof(rep), "{\"error\":\"<i>DEBUG refused</i> %s\"}", big);
        drill_init(&dr, "failed", rep);
        ui__render_drill(&b, &dr, hp_now_ms());
        CHECK(strstr(b.buf, "<p class=\"drillerr bad\">failed: &lt;i&gt;DEBUG refused&lt;/i&gt; "
                            "xxx") != NULL);
        CHECK(strstr(b.buf, "x\xe2\x80\xa6</p>") != NULL);
        CHECK(strstr(b.buf, "badge job-failed\">failed</span>") && !strstr(b.buf, "<i>"));
        CHECK(strstr(b.buf, "<svg") == NULL); /* no marker: nothing to draw */
        sbuf_release(&b);
    }
}

/* Nonsense in the report: dashes, never a negative, NaN or infinite
 * figure, and no marker drawn from a time that is not one. */
static void test_nonsense(void)
{
    hp_drill dr;
    sbuf b = SBUF_INIT;

    drill_init(&dr, "ok",
               "{\"write_gap_ms\":-5,\"acked_lost\":\"zero\",\"detection_ms\":1e300,"
               "\"promotion_ms\":1e19,\"agreement_ms\":[1],\"clients_left_on_old\":-1,"
               "\"writes_acked\":1e999,\"writes_failed\":null,\"probe_keys_deleted\":{},"
               "\"old_master\":5,\"new_master\":[\"x\"],\"timeline\":["
               "{\"t_ms\":-100,\"what\":\"negative\"},{\"t_ms\":\"soon\",\"what\":\"a string\"},"
               "{\"t_ms\":1e30,\"what\":\"huge\"},5,\"text\",null,{\"what\":7},"
               "{\"t_ms\":250.7,\"what\":\"fractional\"},{\"t_ms\":500}]}");
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(!sbuf_failed(&b));
    CHECK(count(b.buf, "title=\"the report's value is not a figure\">" UI_DASH "</dd>") == 8);
    CHECK(strstr(b.buf, "<dt>writes failed</dt><dd class=\"muted\" title=\"not in the "
                        "report\">" UI_DASH "</dd>") != NULL);
    CHECK(strstr(b.buf, "<dt>master</dt>") == NULL); /* neither is a string */
    CHECK(count(b.buf, "<g class=\"mk\">") == 2);    /* 250 and 500 */
    CHECK(count(b.buf, "time unknown</span>") == 7);
    CHECK(strstr(b.buf, "<li><span class=\"t\">250 ms</span> fractional</li>") != NULL);
    CHECK(strstr(b.buf, "<li><span class=\"t\">500 ms</span> (no text)</li>") != NULL);
    CHECK(strstr(b.buf, "<rect class=\"gap\"") == NULL);
    CHECK(strstr(b.buf, "aria-label=\"Timeline of drill #7 (graceful): 9 markers over 500 ms\""));
    CHECK(strstr(b.buf, "nan") == NULL && strstr(b.buf, "inf") == NULL &&
          strstr(b.buf, "\"-") == NULL && strstr(b.buf, ">-") == NULL);
    sbuf_release(&b);

    /* more markers than drawn */
    {
        sbuf r = SBUF_INIT;
        int i;
        sbuf_puts(&r, "{\"timeline\":[");
        for (i = 0; i < 30; i++)
            sbuf_printf(&r, "%s{\"t_ms\":%d,\"what\":\"m%d\"}", i ? "," : "", i * 10, i);
        sbuf_puts(&r, "]}");
        drill_init(&dr, "ok", r.buf);
        ui__render_drill(&b, &dr, hp_now_ms());
        CHECK(count(b.buf, "<g class=\"mk\">") == 24);
        CHECK(strstr(b.buf, "6 more markers not shown") != NULL);
        CHECK(strstr(b.buf, " m23</li>") && !strstr(b.buf, " m24</li>"));
        sbuf_release(&b);
        sbuf_release(&r);
    }

    /* a timeline that is not an array, an empty object */
    drill_init(&dr, "ok", "{\"timeline\":{\"t_ms\":1},\"write_gap_ms\":20}");
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(strstr(b.buf, "<svg") == NULL && strstr(b.buf, "drillmarks") == NULL);
    CHECK(strstr(b.buf, "<dt>write gap</dt><dd>20 ms</dd>") != NULL);
    sbuf_release(&b);
    drill_init(&dr, "ok", "{}");
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(count(b.buf, "title=\"not in the report\">") == 9 && !strstr(b.buf, "<svg"));
    sbuf_release(&b);
}

/* Rows without a usable report: running (none yet), cut by a crash, not an
 * object, not JSON; odd times. */
static void test_no_report(void)
{
    static const char *const bad[] = {"not json", "[1,2]", "\"text\"", "{\"a\":", "", NULL};
    hp_drill dr;
    sbuf b = SBUF_INIT;
    int i;

    drill_init(&dr, "running", NULL);
    dr.ended_at = 0;
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(strstr(b.buf, "badge job-running\">running</span>") != NULL);
    CHECK(strstr(b.buf, "running: the figures come when it ends") != NULL);
    CHECK(strstr(b.buf, "took") == NULL && strstr(b.buf, "data-job=\"42\""));
    sbuf_release(&b);

    for (i = 0; bad[i]; i++) {
        drill_init(&dr, "failed", bad[i]);
        ui__render_drill(&b, &dr, hp_now_ms());
        CHECK(!sbuf_failed(&b));
        CHECK(strstr(b.buf, "the report cannot be read (not a JSON object)") != NULL);
        CHECK(strstr(b.buf, "failed: no reason in the report (see the job)") != NULL);
        sbuf_release(&b);
    }

    drill_init(&dr, "ok", NULL);
    dr.started_at = 0;
    dr.ended_at = -5;
    dr.job_id = 0;
    dr.mode[0] = '\0';
    ui__render_drill(&b, &dr, hp_now_ms());
    CHECK(strstr(b.buf, "<p class=\"muted\">no report</p>") != NULL);
    CHECK(strstr(b.buf, "<strong>" UI_DASH "</strong>") != NULL);
    CHECK(strstr(b.buf, "took") == NULL && strstr(b.buf, "data-job") == NULL);
    CHECK(strstr(b.buf, " ago") == NULL);
    sbuf_release(&b);
}

static void save(db *d, const char *cluster, const char *state, const char *report)
{
    hp_drill dr;
    drill_init(&dr, state, report);
    dr.id = 0;
    hp_strlcpy(dr.cluster, cluster, sizeof(dr.cluster));
    CHECK(db__drill_save(d, &dr) == 0 && dr.id > 0);
}

/* The card's section: the newest three of the cluster's drills, the
 * button off without [drill] enabled (and saying so), disabled while a
 * job runs, its data escaped. */
static void test_section(db *d)
{
    cluster_snap *c = cluster_snap_new("<c>\"");
    config *cfg = calloc(1, sizeof(*cfg));
    sbuf b = SBUF_INIT;

    hp_strlcpy(c->master, "10.0.0.1:6379", sizeof(c->master));
    ui__render_drills(&b, d, c, NULL, hp_now_ms(), 0);
    CHECK(strstr(b.buf, "no drill of this cluster yet") != NULL);
    CHECK(strstr(b.buf, "data-act=\"drill\" data-needs=\"operator\" data-cluster=\"&lt;c&gt;"
                        "&quot;\" data-master=\"10.0.0.1:6379\"") != NULL);
    CHECK(strstr(b.buf, " disabled title=\"drills are off: [drill] enabled = 1") != NULL);
    CHECK(strstr(b.buf, "<span class=\"note\">off: ") != NULL);
    sbuf_release(&b);

    save(d, "<c>\"", "ok", good);
    save(d, "other", "ok", good);
    save(d, "<c>\"", "failed", "{\"error\":\"one\"}");
    save(d, "<c>\"", "ok", "{\"write_gap_ms\":300}");
    save(d, "<c>\"", "running", NULL);

    cfg->drill_enabled = 1;
    cfg->drill_allow_kill = 1;
    cfg->drill_kill_sleep_s = 10;
    hp_strlcpy(cfg->drill_key_prefix, "hp:\"<d>", sizeof(cfg->drill_key_prefix));
    hp_strlcpy(cfg->drill_kill_method, "sleep", sizeof(cfg->drill_kill_method));
    ui__render_drills(&b, d, c, cfg, hp_now_ms(), 0);
    CHECK(!sbuf_failed(&b));
    CHECK(count(b.buf, "<div class=\"drill ") == 3);
    CHECK(strstr(b.buf, "the newest 3; GET /api/v1/drills?cluster= lists them all") != NULL);
    {
        const char *run = strstr(b.buf, "drill-running"), *ok = strstr(b.buf, "drill-succeeded"),
                   *bad = strstr(b.buf, "drill-failed");
        CHECK(run && ok && bad && run < ok && ok < bad); /* newest first */
    }
    CHECK(strstr(b.buf, "<svg") == NULL); /* the one with a timeline is the 4th */
    CHECK(strstr(b.buf, "data-prefix=\"hp:&quot;&lt;d&gt;\" data-allow-kill=\"1\" "
                        "data-kill-method=\"sleep\" data-kill-sleep=\"10\" title=\"") != NULL);
    CHECK(strstr(b.buf, "disabled") == NULL && strstr(b.buf, "class=\"note\"") == NULL);
    CHECK(strstr(b.buf, "<c>") == NULL && strstr(b.buf, "<d>") == NULL);
    sbuf_release(&b);

    ui__render_drills(&b, d, c, cfg, hp_now_ms(), 1);
    CHECK(strstr(b.buf, "disabled title=\"a job is running on this cluster\"") != NULL);
    sbuf_release(&b);
    c->master[0] = '\0';
    ui__render_drills(&b, d, c, cfg, hp_now_ms(), 0);
    CHECK(strstr(b.buf, "disabled title=\"no master known") != NULL);
    sbuf_release(&b);

    /* no database: the section and the button, no rows */
    ui__render_drills(&b, NULL, c, cfg, hp_now_ms(), 0);
    CHECK(strstr(b.buf, "drills unavailable") && !strstr(b.buf, "<div class=\"drill "));
    sbuf_release(&b);

    /* in the cluster's card, with and without drills */
    CHECK(cluster_snap_finish(c, hp_now_ms()) == 0);
    ui__render_cluster(&b, d, c, cfg, hp_now_ms());
    CHECK(!sbuf_failed(&b) && count(b.buf, "data-act=\"drill\"") == 1);
    CHECK(count(b.buf, "<div class=\"drill ") == 3);
    CHECK(count(b.buf, "<button type=\"button\" class=\"act") ==
          count(b.buf, "data-needs=\"operator\""));
    sbuf_release(&b);
    {
        cluster_snap *e = cluster_snap_new("empty");
        CHECK(cluster_snap_finish(e, hp_now_ms()) == 0);
        ui__render_cluster(&b, d, e, NULL, hp_now_ms());
        CHECK(strstr(b.buf, "no drill of this cluster yet") && strstr(b.buf, "drills are off"));
        sbuf_release(&b);
        cluster_snap_unref(e);
    }
    free(cfg);
    cluster_snap_unref(c);
}

int main(void)
{
    char dir[] = "/tmp/hapanel-test-ui-drill-XXXXXX", err[256], cmd[300];
    db *d;

    test_good();
    test_gap_fallback();
    test_kinds();
    test_hostile();
    test_nonsense();
    test_no_report();

    CHECK(mkdtemp(dir) != NULL);
    d = db_open(dir, err, sizeof(err));
    CHECK(d != NULL);
    if (d) test_section(d);
    db_free(d);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_done();
}
