/* actions.c — the kinds of job hapanel runs, handed to the job runner (see
 * jobs.h): which recipe runs each, which group it belongs to (one job per
 * group and cluster at a time), and what finishes it after a crash. */
#include "actions/actions.h"

#include "actions/backup.h"
#include "actions/drill.h"
#include "actions/s3.h"
#include "actions/maintenance.h"
#include "actions/notifytest.h"
#include "actions/recipes.h"
#include "actions/restore.h"
#include "core/banned.h" /* last: after every system header */

const job_kind hp_job_kinds[] = {
    {"failover", JOB_GROUP_TOPOLOGY, recipe_failover_scheduled, recipe_failover_recover},
    {"resync", JOB_GROUP_TOPOLOGY, recipe_resync, NULL},
    {"sentinel-reset", JOB_GROUP_TOPOLOGY, recipe_sentinel_reset, NULL},
    {"backup", "backup", recipe_backup, NULL},
    {"bgsave", "backup", recipe_bgsave, NULL},
    {"verify-restore", "backup", recipe_verify_restore, recipe_verify_restore_recover},
    {"backup-upload", "s3", recipe_backup_upload, NULL}, /* the queue row is the state */
    {"notify-test", "notify", recipe_notify_test, NULL},
    {"maintenance-start", JOB_GROUP_TOPOLOGY, recipe_maintenance_start,
     recipe_maintenance_start_recover},
    {"maintenance-end", JOB_GROUP_TOPOLOGY, recipe_maintenance_end, recipe_maintenance_end},
    {"drill", JOB_GROUP_TOPOLOGY, recipe_drill, recipe_drill_recover},
};

const size_t hp_njob_kinds = sizeof(hp_job_kinds) / sizeof(hp_job_kinds[0]);
