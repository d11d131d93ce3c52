/* dirlock.c — the data dir lock (see dirlock.h). */
#define _DEFAULT_SOURCE /* flock */
#include "core/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/banned.h" /* last: after every system header */

#define DIRLOCK_FILE "hapanel.lock"

/* The pid in the lock file, or 0. The holder writes it just after it took
 * the lock, so an empty file means "a moment ago": look again, briefly. */
static long read_holder(int fd)
{
    char buf[32];
    ssize_t n = 0;
    long pid;
    int tries;
    struct timespec ts = {0, 20 * 1000 * 1000};

    for (tries = 0; tries < 10; tries++) {
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n > 0) break;
        nanosleep(&ts, NULL);
    }
    if (n <= 0) return 0;
    buf[n] = '\0';
    pid = strtol(buf, NULL, 10);
    return pid > 0 ? pid : 0;
}

int dirlock_take(const char *dir, int *fd, long *holder, char *err, size_t errsz)
{
    char path[1024], pid[32];
    struct stat st;
    int f = -1, rc = DIRLOCK_ERROR, len;

    *fd = -1;
    *holder = 0;
    if (mkdir(dir, 0750) < 0 && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
        snprintf(err, errsz, "cannot create data dir %s", dir);
        goto out;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/" DIRLOCK_FILE, dir) >= sizeof(path)) {
        snprintf(err, errsz, "data dir path too long");
        goto out;
    }
    f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0) {
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (flock(f, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            *holder = read_holder(f);
            rc = DIRLOCK_BUSY;
        } else {
            snprintf(err, errsz, "cannot lock %s: %s", path, strerror(errno));
        }
        goto out;
    }
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(f, 0) < 0 || pwrite(f, pid, (size_t)len, 0) != len) {
        snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    *fd = f;
    f = -1;
    rc = DIRLOCK_OK;
out:
    if (f >= 0) close(f); /* also drops the lock when the pid could not be written */
    return rc;
}

void dirlock_release(int fd)
{
    if (fd >= 0) close(fd);
}
