/* spawn.c — see spawn.h. */
#define _GNU_SOURCE
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/banned.h" /* last: after every system header */

/* In the child: closes every descriptor above 2 but keep (errfd, which is
 * close-on-exec: it goes at the execve, and tells the parent why when
 * execve fails). close_range where the kernel has it, else each one below
 * maxfd. */
static void close_above_2(int keep, int maxfd)
{
    int fd;
#ifdef SYS_close_range
    if ((keep <= 3 || syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0) &&
        syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    for (fd = 3; fd < maxfd; fd++)
        if (fd != keep) close(fd);
}

/* The child's side: only async-signal-safe calls between fork and exec. If
 * anything fails, errno goes back through errfd and the child exits. */
static void child_exec(const char *path, char *const argv[], int flags, pid_t parent, int errfd,
                       int maxfd) __attribute__((noreturn));
static void child_exec(const char *path, char *const argv[], int flags, pid_t parent, int errfd,
                       int maxfd)
{
    struct sigaction dfl;
    sigset_t none;
    ssize_t w;
    int fd, e;

    setpgid(0, 0); /* Ctrl-C on the terminal reaches hapanel only, which stops them */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) goto fail;
    /* hapanel may have died between fork and prctl: then no signal comes */
    if (getppid() != parent) _exit(1);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* main blocks SIGINT/SIGTERM for sigwait */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL); /* hapanel ignores it; an ignored signal survives exec */
    fd = open("/dev/null", O_RDWR);
    if (fd < 0 || dup2(fd, 0) < 0) goto fail;
    if ((flags & HP_SPAWN_QUIET) && (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)) goto fail;
    if (fd > 2) close(fd);
    if (flags & HP_SPAWN_CLOSE_FDS) close_above_2(errfd, maxfd);
    execve(path, argv, environ);
fail:
    e = errno;
    w = write(errfd, &e, sizeof(e)); /* nothing to do if even that fails */
    (void)w;
    _exit(127);
}

pid_t hp_spawn(const char *path, char *const argv[], int flags)
{
    pid_t parent = getpid(), pid;
    int pfd[2], e = 0;
    ssize_t n;
    struct rlimit rl;
    int maxfd = 65536; /* where close_range is missing: descriptors above it stay */

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)maxfd)
        maxfd = (int)rl.rlim_cur;
    if (pipe2(pfd, O_CLOEXEC) < 0) return -1;
    pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        child_exec(path, argv, flags, parent, pfd[1], maxfd);
    }
    e = errno;
    close(pfd[1]);
    if (pid < 0) {
        errno = e; /* fork's */
        goto out;
    }
    /* The pipe closes on a successful exec: nothing to read means it ran. */
    e = 0;
    do
        n = read(pfd[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        waitpid(pid, NULL, 0);
        errno = e;
        pid = -1;
    }
out:
    e = errno;
    close(pfd[0]);
    errno = e;
    return pid;
}

int hp_find_on_path(const char *prog, char *out, size_t outsz)
{
    const char *path = getenv("PATH"), *p;
    struct stat st;

    if (!path || !path[0]) path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p;) {
        size_t n = strcspn(p, ":");
        int w = snprintf(out, outsz, "%.*s/%s", (int)n, p, prog);
        if (n && w > 0 && (size_t)w < outsz && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
            access(out, X_OK) == 0)
            return 1;
        p += n;
        if (*p == ':') p++;
    }
    return 0;
}
