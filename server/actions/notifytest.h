/* notifytest.h — the notification test job (see notifytest.c). */
#ifndef HP_NOTIFYTEST_H
#define HP_NOTIFYTEST_H

typedef struct job job;

/* params: {}. Result: {results: [{channel, kind, ok, error}]}. */
int recipe_notify_test(job *jb);

#endif
