/* ticker.c — a periodic thread (see ticker.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/ticker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/banned.h" /* last: after every system header */

struct hp_ticker {
    void (*fn)(void *);
    void *arg;
    int period_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
};

static void *ticker_main(void *arg)
{
    hp_ticker *t = arg;
    struct timespec ts;

    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        pthread_mutex_unlock(&t->lock);
        t->fn(t->arg);
        pthread_mutex_lock(&t->lock);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += t->period_ms / 1000;
        ts.tv_nsec += (long)(t->period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!t->stop) pthread_cond_timedwait(&t->wake, &t->lock, &ts);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

hp_ticker *hp_ticker_start(void (*fn)(void *), void *arg, int period_ms)
{
    hp_ticker *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->fn = fn;
    t->arg = arg;
    t->period_ms = period_ms > 0 ? period_ms : 1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->wake);
        free(t);
        return NULL;
    }
    return t;
}

void hp_ticker_stop(hp_ticker *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    t->stop = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    free(t);
}
