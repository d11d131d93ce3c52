/* ui_lint.c — the cluster card's config lint list: the findings of
 * model/lint.h on the card's snapshot, critical first, each with its
 * evidence and fix (GET /api/v1/clusters/{name}/lint has the same). */
#include "web/ui_internal.h"

#include <stdlib.h>
#include <string.h>

#include "model/lint.h"
#include "core/banned.h" /* last: after every system header */

static void put_finding(sbuf *b, const lint_finding *f)
{
    sbuf_printf(b, "<li class=\"sev-%s\" data-check=\"%s\">", ui__severity_class(f->severity),
                f->check); /* check names are ours: [a-z_] */
    ui__put_severity_badge(b, f->severity);
    sbuf_puts(b, " ");
    sbuf_html(b, f->title);
    if (f->node[0]) {
        sbuf_puts(b, f->sentinel ? " <span class=\"muted\">Sentinel</span> " : " ");
        ui__put_addr(b, f->node);
    }
    sbuf_puts(b, ": <span class=\"evidence\">");
    sbuf_html(b, f->evidence);
    sbuf_puts(b, "</span><br><span class=\"note\">fix: ");
    sbuf_html(b, f->fix);
    sbuf_puts(b, "</span></li>\n");
}

void ui__render_lint(sbuf *b, const cluster_snap *c)
{
    static const char *const order[] = {"critical", "warning", NULL};
    lint_finding *f = malloc(sizeof(*f) * LINT_MAX);
    int n, pass, i, pending = lint_pending(c);

    if (!f) {
        b->failed = 1;
        return;
    }
    n = lint_run(c, f, LINT_MAX);
    sbuf_printf(b,
                "<div class=\"lint\" data-findings=\"%d\"><h3>Config lint <span "
                "class=\"count\">%d</span>",
                n, n);
    if (pending)
        sbuf_printf(b, " <span class=\"note\">(the config of %d node%s not read yet)</span>",
                    pending, pending == 1 ? "" : "s");
    sbuf_puts(b, "</h3>\n");
    if (n == 0) {
        sbuf_printf(b, "<p class=\"muted\">nothing found by the %d checks</p></div>\n",
                    lint_nchecks);
        free(f);
        return;
    }
    sbuf_puts(b, "<ul class=\"problems lint\">\n");
    for (pass = 0; pass < 3; pass++)
        for (i = 0; i < n; i++) {
            const char *sev = ui__severity_class(f[i].severity);
            int mine = order[pass] ? strcmp(sev, order[pass]) == 0
                                   : strcmp(sev, "critical") != 0 && strcmp(sev, "warning") != 0;
            if (mine) put_finding(b, &f[i]);
        }
    sbuf_puts(b, "</ul></div>\n");
    free(f);
}
