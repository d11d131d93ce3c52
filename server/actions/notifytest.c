/* notifytest.c — the notification test as a job: a message to every
 * channel, each channel's result in the job's result. A job, not a request:
 * a dead or slow endpoint may take its whole timeout (10 s per channel). */
#include "actions/notifytest.h"

#include <cjson/cJSON.h>

#include "actions/jobs.h"
#include "notify/notify.h"
#include "core/banned.h" /* last: after every system header */

int recipe_notify_test(job *jb)
{
    cJSON *results = notify_test(job_notifier(jb)), *it;
    int failed = 0, n = 0;

    cJSON_ArrayForEach(it, results)
    {
        n++;
        if (!cJSON_IsTrue(cJSON_GetObjectItem(it, "ok"))) failed++;
        job_step(jb, "%s (%s): %s%s", cJSON_GetStringValue(cJSON_GetObjectItem(it, "channel")),
                 cJSON_GetStringValue(cJSON_GetObjectItem(it, "kind")),
                 cJSON_IsTrue(cJSON_GetObjectItem(it, "ok")) ? "delivered" : "failed: ",
                 cJSON_IsTrue(cJSON_GetObjectItem(it, "ok"))
                     ? ""
                     : cJSON_GetStringValue(cJSON_GetObjectItem(it, "error")));
    }
    cJSON_AddItemToObject(job_result(jb), "results", results);
    if (failed) {
        job_fail(jb, "%d of %d channel(s) failed", failed, n);
        return -1;
    }
    return 0;
}
