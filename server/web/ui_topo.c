/* ui_topo.c — a cluster's topology drawn as the runbooks draw it, as an
 * inline SVG in the cluster's card (see ui_internal.h): the Sentinels in a
 * row on top, the master under them, an arrow from the master to each of
 * its replicas and from a replica to the replicas chained to it (whose
 * master_addr is that replica), each node coloured by its state with its
 * role, lag and memory written on it, the quorum in words and a failover in
 * progress on top. Rendered by the server with the rest of the card, so the
 * page's refresh redraws it in place; no script. Boxes wrap at UI_TOPO_ROW
 * per row and the drawing scales down to the card's width (viewBox, width
 * 100%), never up past its natural size. Every text is escaped; class names
 * come from fixed words. It is not a second source of truth: what it shows
 * is the snapshot's, as the tables below show it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "web/ui_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/banned.h" /* last: after every system header */

#define UI_TOPO_ROW 4 /* boxes per row before wrapping */
#define T_M 10        /* margin */
#define T_W 156       /* box width */
#define T_NH 62       /* a Redis node's box height (four lines) */
#define T_SH 48       /* a Sentinel's box height (three lines) */
#define T_GX 14       /* between boxes of a row */
#define T_GY 30       /* between rows (room for the arrows) */
#define T_HEAD 22     /* the quorum line on top */
#define T_ADDR 22     /* bytes of an address written in a box (all of it in the title) */

/* ---------------------------------------------------------------------------
 * States
 * ------------------------------------------------------------------------ */

/* The node drawn as the master: the Sentinels' master, except while they
 * run a failover and exactly one other node already answers as a master
 * that is up: the promoted replica, drawn as the master when it is
 * promoted, not a second or so later when Sentinel announces
 * +switch-master (the old master is then drawn "demoting"). */
static const char *drawn_master(const cluster_snap *c)
{
    const char *promoted = NULL;
    int i, n = 0;
    for (i = 0; c->failover_in_progress && i < c->nnodes; i++) {
        const snap_node *x = &c->nodes[i];
        if (x->up && x->role == ROLE_MASTER && strcmp(x->addr, c->master) != 0) {
            promoted = x->addr;
            n++;
        }
    }
    return n == 1 ? promoted : c->master;
}

static int is_master_node(const cluster_snap *c, const snap_node *n)
{
    const char *m = drawn_master(c);
    return m[0] != '\0' && strcmp(n->addr, m) == 0;
}

/* The state class of a Redis node and the word written on it. */
static const char *node_state(const cluster_snap *c, const snap_node *n, const char **word)
{
    int replica = !is_master_node(c, n);
    double pct = n->used_memory >= 0 && n->maxmemory > 0
                     ? 100.0 * (double)n->used_memory / (double)n->maxmemory
                     : -1.0;

    if (!n->polled) {
        *word = "unknown";
        return "unknown";
    }
    if (!n->up || strstr(n->sentinel_flags, "s_down") || strstr(n->sentinel_flags, "o_down")) {
        *word = n->up ? "s_down" : "down";
        return "down";
    }
    if (replica && n->role == ROLE_MASTER && strcmp(n->addr, c->master) == 0) {
        *word = "demoting"; /* a replica was promoted in its place */
        return "warn";
    }
    if (replica && n->link_up == 0) {
        *word = "link down";
        return "warn";
    }
    if (replica && n->sync_in_progress == 1) {
        *word = "syncing";
        return "warn";
    }
    if (replica && n->lag_seconds > UI_LAG_WARN_S) {
        *word = "lagging";
        return "warn";
    }
    if (pct >= UI_MEM_WARN_PCT) {
        *word = "memory";
        return "warn";
    }
    if (n->role != ROLE_UNKNOWN && n->sentinel_role != ROLE_UNKNOWN &&
        n->role != n->sentinel_role) {
        *word = "role differs";
        return "warn";
    }
    if (strstr(n->sentinel_flags, "disconnected")) {
        *word = "disconnected";
        return "warn";
    }
    *word = "up";
    return "ok";
}

/* A Sentinel's state class and word. */
static const char *sentinel_state(const cluster_snap *c, const snap_sentinel *s, const char **word)
{
    if (!s->polled) {
        *word = "unknown";
        return "unknown";
    }
    if (!s->up) {
        *word = "down";
        return "down";
    }
    if (s->sees_master[0] != '\0' && c->master[0] != '\0' && strcmp(s->sees_master, c->master)) {
        *word = "disagrees";
        return "warn";
    }
    *word = "up";
    return "ok";
}

/* ---------------------------------------------------------------------------
 * Layout: who replicates from whom, and where each box goes
 * ------------------------------------------------------------------------ */

typedef struct tbox {
    double x, y;
} tbox;

/* parent[i]: the node i replicates from (an index, or -1: none known or not
 * one of the cluster's nodes); depth[i]: 0 for a master, 1 for its
 * replicas, 2 for replicas chained to those, ... */
static void tree(const cluster_snap *c, int *parent, int *depth)
{
    int i, k, m = -1;

    for (i = 0; i < c->nnodes; i++)
        if (is_master_node(c, &c->nodes[i])) m = i;
    for (i = 0; i < c->nnodes; i++) {
        const snap_node *n = &c->nodes[i];
        parent[i] = -1;
        depth[i] = 0;
        if (i == m || (n->role == ROLE_MASTER && n->up)) continue; /* a master (or a second one) */
        depth[i] = 1;
        for (k = 0; k < c->nnodes && n->master_addr[0]; k++)
            if (k != i && strcmp(c->nodes[k].addr, n->master_addr) == 0) parent[i] = k;
        /* not known (a replica that is down says nothing): the Sentinels
         * list it as the master's */
        if (parent[i] < 0 && n->master_addr[0] == '\0') parent[i] = m;
    }
    /* depths along the chains, from the top of each: a master (0) or a
     * replica whose master is not known (1); a loop (two replicas of each
     * other) is cut where it is found */
    for (i = 0; i < c->nnodes; i++) {
        int top = i, steps = 0;
        while (parent[top] >= 0 && steps <= c->nnodes) {
            top = parent[top];
            steps++;
        }
        if (steps > c->nnodes) {
            parent[i] = -1;
            depth[i] = 1;
        } else {
            depth[i] = steps + depth[top]; /* a top keeps its own: 0 or 1 */
        }
    }
}

/* Places n boxes of height h in rows of UI_TOPO_ROW centred in width vw
 * from *y down; moves *y past them. */
static void place_rows(tbox *out, int n, double h, double vw, double *y)
{
    int i, row, per;
    for (row = 0; row * UI_TOPO_ROW < n; row++) {
        per = n - row * UI_TOPO_ROW < UI_TOPO_ROW ? n - row * UI_TOPO_ROW : UI_TOPO_ROW;
        for (i = 0; i < per; i++) {
            out[row * UI_TOPO_ROW + i].x =
                (vw - (per * T_W + (per - 1) * T_GX)) / 2.0 + i * (T_W + T_GX);
            out[row * UI_TOPO_ROW + i].y = *y;
        }
        *y += h + T_GY;
    }
}

/* ---------------------------------------------------------------------------
 * Drawing
 * ------------------------------------------------------------------------ */

static void put_line(sbuf *b, double x, double y, const char *cls)
{
    sbuf_printf(b, "<text class=\"%s\" x=\"%.0f\" y=\"%.0f\">", cls, x, y);
}

/* "; Sentinel flags s_down,..." without the words that only name a role
 * (master, slave, promoted: the box says the role), or nothing. */
static void put_flags(sbuf *b, const char *flags)
{
    const char *p = flags;
    int any = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len > 0 && !(len == 6 && !strncmp(p, "master", 6)) &&
            !(len == 5 && !strncmp(p, "slave", 5)) && !(len == 8 && !strncmp(p, "promoted", 8))) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)(len < sizeof word ? len : sizeof word - 1),
                     p);
            sbuf_puts(b, any ? "," : "; Sentinel flags ");
            sbuf_html(b, word);
            any = 1;
        }
        p += len;
        if (*p == ',') p++;
    }
}

static void put_mem(sbuf *b, const snap_node *n)
{
    sbuf_puts(b, "mem ");
    ui__put_bytes(b, n->used_memory);
    sbuf_puts(b, " / ");
    if (n->maxmemory == 0)
        sbuf_puts(b, "no limit");
    else
        ui__put_bytes(b, n->maxmemory);
}

static void put_lag(sbuf *b, const snap_node *n)
{
    sbuf_puts(b, "lag ");
    ui__put_bytes(b, n->lag_bytes);
    if (n->lag_seconds >= 0)
        sbuf_printf(b, " \xc2\xb7 %.1f s", n->lag_seconds);
    else
        sbuf_puts(b, " \xc2\xb7 " UI_DASH);
}

static void draw_node(sbuf *b, const cluster_snap *c, const snap_node *n, const tbox *at,
                      int64_t now_ms)
{
    const char *word, *st = node_state(c, n, &word);
    int master = is_master_node(c, n);
    double x = at->x, y = at->y;

    sbuf_printf(b, "<g class=\"tnode st-%s\"", st);
    ui__put_attr(b, "data-addr", n->addr);
    sbuf_printf(b, " data-role=\"%s\"><title>%s ", master ? "master" : "replica",
                master ? "master" : "replica");
    sbuf_html(b, n->addr);
    if (!master && n->master_addr[0]) {
        sbuf_puts(b, " of ");
        sbuf_html(b, n->master_addr);
    }
    sbuf_printf(b, ": %s", word);
    if (!n->up && n->error[0]) {
        sbuf_puts(b, " (");
        sbuf_html(b, n->error);
        sbuf_puts(b, ")");
    }
    if (!n->up && n->last_ok_ms > 0) {
        sbuf_puts(b, ", last ok ");
        ui__put_ago(b, (now_ms - n->last_ok_ms) / 1000);
    }
    put_flags(b, n->sentinel_flags);
    if (!master) {
        sbuf_puts(b, "; ");
        put_lag(b, n);
    }
    sbuf_puts(b, "; ");
    put_mem(b, n);
    if (n->used_memory >= 0 && n->maxmemory > 0)
        sbuf_printf(b, " (%.0f%%)", 100.0 * (double)n->used_memory / (double)n->maxmemory);
    sbuf_printf(b, "</title><rect x=\"%.0f\" y=\"%.0f\" width=\"%d\" height=\"%d\" rx=\"6\"/>", x,
                y, T_W, T_NH);
    put_line(b, x + 8, y + 15, "tk");
    sbuf_printf(b, "%s \xc2\xb7 %s</text>", master ? "master" : "replica", word);
    put_line(b, x + 8, y + 29, "ta");
    ui__put_cut(b, n->addr, T_ADDR);
    sbuf_puts(b, "</text>");
    put_line(b, x + 8, y + 43, "tv");
    if (master) {
        if (n->connected_replicas >= 0)
            sbuf_printf(b, "%d replica%s connected", n->connected_replicas,
                        n->connected_replicas == 1 ? "" : "s");
        else
            sbuf_puts(b, UI_DASH);
    } else {
        put_lag(b, n);
    }
    sbuf_puts(b, "</text>");
    put_line(b, x + 8, y + 56, "tv");
    put_mem(b, n);
    sbuf_puts(b, "</text></g>\n");
}

static void draw_sentinel(sbuf *b, const cluster_snap *c, const snap_sentinel *s, const tbox *at)
{
    const char *word, *st = sentinel_state(c, s, &word);
    double x = at->x, y = at->y;

    sbuf_printf(b, "<g class=\"tnode st-%s\"", st);
    ui__put_attr(b, "data-addr", s->addr);
    sbuf_puts(b, " data-role=\"sentinel\"><title>Sentinel ");
    sbuf_html(b, s->addr);
    sbuf_printf(b, ": %s", word);
    if (!s->up && s->error[0]) {
        sbuf_puts(b, " (");
        sbuf_html(b, s->error);
        sbuf_puts(b, ")");
    }
    if (s->sees_master[0]) {
        sbuf_puts(b, "; sees master ");
        sbuf_html(b, s->sees_master);
    }
    if (s->flags[0]) {
        sbuf_puts(b, "; flags ");
        sbuf_html(b, s->flags);
    }
    if (s->quorum >= 0) sbuf_printf(b, "; quorum %d", s->quorum);
    if (s->failover_in_progress > 0) sbuf_puts(b, "; failover in progress");
    sbuf_printf(b, "</title><rect x=\"%.0f\" y=\"%.0f\" width=\"%d\" height=\"%d\" rx=\"6\"/>", x,
                y, T_W, T_SH);
    put_line(b, x + 8, y + 15, "tk");
    sbuf_printf(b, "Sentinel \xc2\xb7 %s</text>", word);
    put_line(b, x + 8, y + 29, "ta");
    ui__put_cut(b, s->addr, T_ADDR);
    sbuf_puts(b, "</text>");
    put_line(b, x + 8, y + 42, "tv");
    if (s->failover_in_progress > 0) {
        sbuf_puts(b, "failover in progress");
    } else if (s->sees_master[0] && strcmp(word, "disagrees") == 0) {
        sbuf_puts(b, "sees ");
        ui__put_cut(b, s->sees_master, T_ADDR - 5);
    } else if (strstr(s->flags, "o_down")) {
        sbuf_puts(b, "master o_down");
    } else if (strstr(s->flags, "s_down")) {
        sbuf_puts(b, "master s_down");
    } else if (s->up) {
        sbuf_puts(b, "watching");
    } else {
        sbuf_puts(b, UI_DASH);
    }
    sbuf_puts(b, "</text></g>\n");
}

/* The square root of v > 0 by Newton's method: the one use of libm here
 * (an arrowhead's direction) is not worth linking it. */
static double root(double v)
{
    double r = v > 1 ? v / 2 : 1;
    int i;
    for (i = 0; i < 40; i++)
        r = (r + v / r) / 2;
    return r;
}

/* An arrow from the bottom of box p to the top of box q. */
static void draw_arrow(sbuf *b, const tbox *p, const tbox *q, int broken)
{
    double x1 = p->x + T_W / 2.0, y1 = p->y + T_NH, x2 = q->x + T_W / 2.0, y2 = q->y;
    double dx = x2 - x1, dy = y2 - y1, len = root(dx * dx + dy * dy), ux, uy;

    if (len < 1) return;
    ux = dx / len;
    uy = dy / len;
    sbuf_printf(b,
                "<g class=\"tlink%s\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"/></g>\n",
                broken ? " broken" : "", x1, y1, x2 - ux * 8, y2 - uy * 8, x2, y2,
                x2 - ux * 9 - uy * 4.5, y2 - uy * 9 + ux * 4.5, x2 - ux * 9 + uy * 4.5,
                y2 - uy * 9 - ux * 4.5);
}

/* The aria-label: the picture in one sentence. */
static void put_label(sbuf *b, const cluster_snap *c)
{
    int i, replicas = 0, down = 0;
    for (i = 0; i < c->nnodes; i++) {
        if (is_master_node(c, &c->nodes[i])) continue;
        replicas++;
        down += c->nodes[i].polled && !c->nodes[i].up;
    }
    sbuf_html(b, c->name);
    sbuf_puts(b, " topology: ");
    if (c->master[0]) {
        const snap_node *m = cluster_snap_node(c, c->master);
        sbuf_puts(b, "master ");
        sbuf_html(b, c->master);
        sbuf_puts(b, m && m->polled && !m->up ? " (down)" : "");
    } else {
        sbuf_puts(b, "no master");
    }
    sbuf_printf(b, ", %d replica%s", replicas, replicas == 1 ? "" : "s");
    if (down) sbuf_printf(b, " (%d down)", down);
    sbuf_puts(b, ", ");
    ui__put_quorum(b, c);
    if (c->failover_in_progress) sbuf_puts(b, ", failover in progress");
}

void ui__render_topology(sbuf *b, const cluster_snap *c, int64_t now_ms)
{
    int *parent = NULL, *depth = NULL, *order = NULL, i, k, d, maxd = 0, cols = 1, n;
    tbox *nb = NULL, *sb = NULL, *row = NULL;
    double vw, vh, y;

    if (c->nnodes == 0 && c->nsentinels == 0) return;
    parent = calloc((size_t)c->nnodes + 1, sizeof(*parent));
    depth = calloc((size_t)c->nnodes + 1, sizeof(*depth));
    order = calloc((size_t)c->nnodes + 1, sizeof(*order));
    nb = calloc((size_t)c->nnodes + 1, sizeof(*nb));
    row = calloc((size_t)c->nnodes + 1, sizeof(*row));
    sb = calloc((size_t)c->nsentinels + 1, sizeof(*sb));
    if (!parent || !depth || !order || !nb || !row || !sb) {
        b->failed = 1;
        goto out;
    }
    tree(c, parent, depth);
    for (i = 0; i < c->nnodes; i++)
        if (depth[i] > maxd) maxd = depth[i];
    if (c->nsentinels > cols) cols = c->nsentinels;
    for (d = 0; d <= maxd; d++) {
        for (n = 0, i = 0; i < c->nnodes; i++)
            n += depth[i] == d;
        if (n > cols) cols = n;
    }
    if (cols > UI_TOPO_ROW) cols = UI_TOPO_ROW;
    vw = 2 * T_M + cols * T_W + (cols - 1) * T_GX;

    /* the boxes: Sentinels, then each depth in node order */
    y = T_M + T_HEAD;
    place_rows(sb, c->nsentinels, T_SH, vw, &y);
    for (d = 0; d <= maxd; d++) {
        for (n = 0, i = 0; i < c->nnodes; i++)
            if (depth[i] == d) order[n++] = i;
        if (n == 0) continue;
        place_rows(row, n, T_NH, vw, &y);
        for (k = 0; k < n; k++)
            nb[order[k]] = row[k];
    }
    vh = y - T_GY + T_M;

    sbuf_puts(b, "<div class=\"topowrap\"><svg class=\"topo\" role=\"img\" aria-label=\"");
    put_label(b, c);
    sbuf_printf(b,
                "\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" preserveAspectRatio=\"xMidYMin "
                "meet\" style=\"max-width:%.0fpx\">\n",
                vw, vh, vw);
    sbuf_printf(b, "<text class=\"tquorum%s\" x=\"%d\" y=\"%d\">", c->quorum_ok ? "" : " bad", T_M,
                T_M + 11);
    ui__put_quorum(b, c);
    if (!c->quorum_ok) sbuf_puts(b, " \xe2\x80\x94 quorum LOST");
    sbuf_puts(b, "</text>\n");
    if (c->failover_in_progress)
        sbuf_printf(b,
                    "<g class=\"tfailover\"><rect x=\"%.0f\" y=\"%d\" width=\"140\" height=\"18\" "
                    "rx=\"9\"/><text x=\"%.0f\" y=\"%d\">failover in progress</text></g>\n",
                    vw - T_M - 140, T_M - 2, vw - T_M - 70, T_M + 11);

    for (i = 0; i < c->nnodes; i++)
        if (parent[i] >= 0)
            draw_arrow(b, &nb[parent[i]], &nb[i],
                       !c->nodes[i].up || c->nodes[i].link_up == 0 || !c->nodes[parent[i]].up);
    for (i = 0; i < c->nsentinels; i++)
        draw_sentinel(b, c, &c->sentinels[i], &sb[i]);
    for (i = 0; i < c->nnodes; i++)
        draw_node(b, c, &c->nodes[i], &nb[i], now_ms);
    sbuf_puts(b, "</svg></div>\n");
out:
    free(parent);
    free(depth);
    free(order);
    free(nb);
    free(row);
    free(sb);
}
