/* lint.h — the Sentinel config lint: what in the running configuration of a
 * cluster's nodes and Sentinels would make a failover fail, lose data or not
 * happen, each finding with its severity, the evidence (the settings as they
 * are) and the fix. A pure function of one snapshot (the monitor reads the
 * nodes' CONFIG every [lint] interval_s into snap_node.conf, the Sentinels'
 * settings with SENTINEL MASTERS): no I/O, so GET /api/v1/clusters/{name}/lint,
 * the dashboard and /metrics run it on the snapshot they hold. It is not an
 * alert rule: nothing here changes over a failover's seconds. */
#ifndef HP_LINT_H
#define HP_LINT_H

#include "model/topology.h"

#define LINT_MAX 64 /* findings of one cluster at most (the rest are dropped) */

typedef struct lint_finding {
    const char *check;      /* one of lint_checks[].name */
    const char *severity;   /* critical, warning or info */
    const char *title;      /* the check's one-line description */
    char node[HP_ADDR_MAX]; /* the node or Sentinel it is about; "" the cluster */
    int sentinel;           /* 1: node is a Sentinel's address */
    char evidence[320];
    char fix[320];
} lint_finding;

/* Every check, in the order lint_run applies them: its name (the API's and
 * the metric's check label), its usual severity and its title. */
typedef struct lint_check {
    const char *name, *severity, *title;
} lint_check;
extern const lint_check lint_checks[];
extern const int lint_nchecks;

/* Runs every check on c and writes up to max findings to out (caller's).
 * Returns how many were written. Nodes that do not answer, and nodes whose
 * config was not read yet, are left out of the checks that need them. */
int lint_run(const cluster_snap *c, lint_finding *out, int max);

/* Nodes of c that answer and whose config was not read yet (the lint is
 * incomplete until it is 0). */
int lint_pending(const cluster_snap *c);

#endif
