/* test_dirlock.c — the data dir lock: a second taker is refused and told the
 * holder's pid; after release the lock can be taken again. (flock locks
 * belong to open files, so two takes in one process conflict like two
 * processes would.) */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/dirlock.h"

int main(void)
{
    char tmpl[] = "/tmp/hapanel-test-dirlock-XXXXXX", dir[128], path[160], buf[32] = "";
    char err[256] = "";
    int fd1 = -1, fd2 = -1;
    long holder = -1;
    FILE *f;

    CHECK(mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof(dir), "%s/data", tmpl); /* created by the take */
    snprintf(path, sizeof(path), "%s/hapanel.lock", dir);

    CHECK(dirlock_take(dir, &fd1, &holder, err, sizeof(err)) == DIRLOCK_OK);
    CHECK(fd1 >= 0 && holder == 0);
    f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) {
        CHECK(fgets(buf, sizeof(buf), f) != NULL);
        fclose(f);
    }
    CHECK(strtol(buf, NULL, 10) == (long)getpid());

    CHECK(dirlock_take(dir, &fd2, &holder, err, sizeof(err)) == DIRLOCK_BUSY);
    CHECK(fd2 == -1);
    CHECK(holder == (long)getpid());

    dirlock_release(fd1);
    CHECK(dirlock_take(dir, &fd2, &holder, err, sizeof(err)) == DIRLOCK_OK);
    CHECK(fd2 >= 0);
    dirlock_release(fd2);
    dirlock_release(-1);

    CHECK(dirlock_take("/proc/hapanel-no-such-dir/x", &fd1, &holder, err, sizeof(err)) ==
          DIRLOCK_ERROR);
    CHECK(strstr(err, "data dir") != NULL);

    unlink(path);
    rmdir(dir);
    rmdir(tmpl);
    return check_done();
}
