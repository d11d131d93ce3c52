/* drill.h — failover drills (issue 14 item 1): a job that runs a real
 * failover (graceful, forced, or by killing the master) while a probe thread
 * writes to the master the way an application does, and reports what the
 * application saw: the write gap, acknowledged writes lost, how long the
 * Sentinels took to detect, promote and agree, and the clients left on the
 * old master. The report is stored in SQLite (db/drills.h). */
#ifndef HP_ACTIONS_DRILL_H
#define HP_ACTIONS_DRILL_H

typedef struct job job;

/* params: {mode: "graceful"|"force"|"kill-master", target?} — the API has
 * checked [drill] enabled, allow_kill and the confirmation. */
int recipe_drill(job *jb);
/* After a crash of hapanel mid-drill: the failover part finished or put
 * back (recipe_failover_recover), the probe keys deleted, the drill row
 * marked failed. */
int recipe_drill_recover(job *jb);

#endif
