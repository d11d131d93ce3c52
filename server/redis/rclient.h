/* rclient.h — a blocking Redis/Sentinel connection with connect and read
 * timeouts, for the job runner's threads (never the monitor's loop). Error
 * replies and I/O failures both come back as NULL with the reason in err, so a
 * recipe reads as a list of steps with one failure path. */
#ifndef HP_RCLIENT_H
#define HP_RCLIENT_H

#include <stddef.h>

#include "redis/info.h"

struct redisReply;
typedef struct rclient rclient;

/* Connects to addr ("host:port") and AUTHs when password is not empty.
 * Returns NULL with the reason in err. Caller frees with rclient_free. */
rclient *rclient_connect(const char *addr, const char *user, const char *password, int timeout_ms,
                         char *err, size_t errsz);
void rclient_free(rclient *c);
const char *rclient_addr(const rclient *c);
/* The socket, for a caller that takes over the connection's raw stream (a
 * replication transfer). Only valid with no reply pending. */
int rclient_fd(const rclient *c);

/* Runs one command. Returns the reply (caller frees with freeReplyObject), or
 * NULL on an error reply or a failure, with the reason in err. */
struct redisReply *rclient_cmd(rclient *c, char *err, size_t errsz, const char *fmt, ...);
/* Runs a command and expects a status reply (+OK ...). Returns 0 or -1. */
int rclient_ok(rclient *c, char *err, size_t errsz, const char *fmt, ...);
/* INFO, parsed. Returns 0 or -1. */
int rclient_info(rclient *c, node_info *out, char *err, size_t errsz);

/* Bounds each following command on c to end by deadline (a hp_mono_ms()
 * time), never later than the connection's own timeout; 0 lifts the bound.
 * A command that would start past the deadline still gets a few ms. */
void rclient_deadline(rclient *c, int64_t deadline);

/* Sends MULTI, the n commands (each built with redisFormatCommand) and EXEC
 * in one write and reads every reply. Returns EXEC's reply (caller frees with
 * freeReplyObject): an array holding each command's own reply, where an
 * error reply means that command failed and the others still ran. Returns
 * NULL with the reason in err when the connection failed or Redis discarded
 * the transaction (EXECABORT: a command unknown or renamed); *aborted is then
 * 1 for a discarded transaction (nothing ran), 0 for a failure. */
struct redisReply *rclient_transaction(rclient *c, char *err, size_t errsz, int n,
                                       char *const cmds[], const int lens[], int *aborted);

#endif
