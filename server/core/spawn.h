/* spawn.h — starting a helper program (a redis-server for the demo, a
 * scratch redis-server for a restore check) that dies with hapanel however
 * hapanel dies: a SIGKILLed hapanel runs no cleanup, and a child left behind
 * keeps its port and memory. posix_spawn cannot set a parent-death signal,
 * hence fork and exec. */
#ifndef HP_SPAWN_H
#define HP_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

enum {
    /* stdout and stderr to /dev/null too (stdin always is) */
    HP_SPAWN_QUIET = 1,
    /* no descriptor of hapanel's above 2 (a listening socket held by a
     * child would outlive hapanel) */
    HP_SPAWN_CLOSE_FDS = 2,
};

/* Starts path (argv[0] its name, argv NULL-terminated) in its own process
 * group, signals unblocked and SIGPIPE at its default, stdin from
 * /dev/null. The kernel SIGKILLs it when the THREAD that called this ends,
 * so call it from a thread that lives as long as the child should. Returns
 * the pid, or -1 with errno when it could not be started (exec failed). */
pid_t hp_spawn(const char *path, char *const argv[], int flags);

/* Finds an executable regular file named prog in PATH (or /usr/local/bin,
 * /usr/bin, /bin without PATH). 1 with its path in out, else 0. */
int hp_find_on_path(const char *prog, char *out, size_t outsz);

#endif
