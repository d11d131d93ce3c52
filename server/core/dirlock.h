/* dirlock.h — one hapanel per data dir. Two panels on one database would
 * each store every event, and the second one's start-up recovery would mark
 * the first one's running job "interrupted by a restart" and undo it in the
 * middle. The lock is an flock on DATA_DIR/hapanel.lock: the kernel drops it
 * when the process ends, however it ends, so a lock file left by a killed
 * panel never blocks the next one. The file holds the holder's pid, for the
 * message the second one prints. */
#ifndef HP_DIRLOCK_H
#define HP_DIRLOCK_H

#include <stddef.h>

enum { DIRLOCK_OK = 0, DIRLOCK_ERROR = -1, DIRLOCK_BUSY = -2 };

/* Creates dir if it is missing, opens dir/hapanel.lock (close-on-exec),
 * takes an exclusive lock without waiting and writes this process's pid into
 * the file. Returns DIRLOCK_OK with the open file in *fd: keep it open as long
 * as the process uses dir, closing it releases the lock. DIRLOCK_BUSY: another
 * process holds the lock; *holder is its pid, or 0 when the file does not say
 * yet. DIRLOCK_ERROR: the reason is in err. */
int dirlock_take(const char *dir, int *fd, long *holder, char *err, size_t errsz);

/* Releases the lock taken by dirlock_take (closes fd); a negative fd is a
 * no-op. The file stays: removing it could race with the next panel. */
void dirlock_release(int fd);

#endif
