/* actions.h — the table of job kinds (see actions.c). */
#ifndef HP_ACTIONS_H
#define HP_ACTIONS_H

#include <stddef.h>

#include "actions/jobs.h"

extern const job_kind hp_job_kinds[];
extern const size_t hp_njob_kinds;

#endif
