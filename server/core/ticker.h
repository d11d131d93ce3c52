/* ticker.h — a thread that calls one function now and then every period
 * until it is stopped: the backup scheduler, the maintenance timer and the
 * live page's renderer are each one. Stopping wakes it at once (no wait for
 * the period to end) and waits for a call in progress to return. */
#ifndef HP_TICKER_H
#define HP_TICKER_H

typedef struct hp_ticker hp_ticker;

/* Starts the thread: fn(arg) at once, then every period_ms. NULL on failure. */
hp_ticker *hp_ticker_start(void (*fn)(void *), void *arg, int period_ms);
/* Stops it and frees it. NULL is a no-op. */
void hp_ticker_stop(hp_ticker *t);

#endif
